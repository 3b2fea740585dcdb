/* presso convert IN OUT.gguf --type f32|f16|bf16|q8_0|... [-z TOKENIZER]
 *                [--allow-requantize] [--json] */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "model/model_save.h"
#include "tensor/types.h"

static bool same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int cmd_convert(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *tokenizer = NULL, *type = NULL, *v = NULL;
    bool json = false, allow_requantize = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, NULL, "--json")) json = true;
        else if (cli_flag(a, NULL, "--allow-requantize")) allow_requantize = true;
        else if (cli_option(argv, argc, &i, "-z", "--tokenizer", &v)) {
            if (!v) return cli_usage_error("-z needs a path");
            tokenizer = v;
        } else if (cli_option(argv, argc, &i, NULL, "--type", &v)) {
            if (!v) return cli_usage_error("--type needs a type");
            type = v;
        } else if (a[0] == '-') return cli_usage_error("convert: unknown option '%s'", a);
        else if (!in) in = a;
        else if (!out) out = a;
        else return cli_usage_error("convert: unexpected argument '%s'", a);
    }
    if (!in || !out || !type) return cli_usage_error("usage: presso convert IN OUT.gguf --type f32|f16|bf16|q8_0");
    presso_save_params p = {.allow_requantize = allow_requantize};
    if (presso_type_from_name(type, &p.type) != PRESSO_OK) return cli_usage_error("%s", presso_last_error());
    const presso_type_traits *t = presso_type_traits_of(p.type);
    if (!t->from_float_ref || p.type == PRESSO_TYPE_Q8_1 || p.type == PRESSO_TYPE_Q8_K)
        return cli_usage_error("convert: presso cannot write %s files", type);
    if (same_file(in, out)) return cli_usage_error("convert: the output %s is the input; refusing to overwrite it", out);
    presso_model *m;
    int rc = cli_open_model(in, tokenizer, &m);
    if (rc) return rc;
    if (presso_model_save_gguf(m, out, &p) != PRESSO_OK) {
        presso_model_free(m);
        return cli_fail();
    }
    struct stat st;
    const long long size = stat(out, &st) == 0 ? (long long)st.st_size : -1;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "input", in);
        cJSON_AddStringToObject(o, "output", out);
        cJSON_AddStringToObject(o, "type", presso_type_name(p.type));
        cJSON_AddNumberToObject(o, "bytes", (double)size);
        cJSON_AddNumberToObject(o, "n_fallback_f16", p.n_fallback);
        cJSON_AddStringToObject(o, "fallback_tensors", p.fallback_names);
        char *s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("wrote %s: %s, %lld bytes\n", out, presso_type_name(p.type), size);
        if (p.n_fallback)
            printf("%d tensors kept as f16 (row width fits no %s block): %s\n", p.n_fallback, presso_type_name(p.type),
                   p.fallback_names);
    }
    presso_model_free(m);
    return 0;
}
