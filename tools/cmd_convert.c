/* presso convert IN OUT.gguf --type f32|f16|bf16|q8_0|... [-z TOKENIZER]
 *                [--sparse 2:4 [--magnitude]] [--allow-requantize] [--json]
 *
 * --sparse 2:4 writes the block linears (attn_q/k/v/output, ffn_*) in
 * presso's native 2:4 encoding (docs/formats.md) with values of --type:
 * f16 → s24_f16, q4_0 → s24_q4. The input must already be 2:4 pruned (a
 * tensor that is not is refused, by name). llama.cpp cannot read these
 * files. --magnitude first applies magnitude 2:4 pruning to the block
 * linears (with or without --sparse: without, the file is dense 2:4-pruned
 * and llama.cpp runs it). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "compress/magnitude_nm.h"
#include "core/error.h"
#include "model/model_save.h"
#include "model/model_sparse.h"
#include "tensor/sparse.h"
#include "tensor/types.h"

static bool same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

typedef struct {
    bool magnitude, sparse;
} convert_meta;

static presso_status write_sparse_meta(void *user, presso_gguf_writer *w) {
    const convert_meta *c = user;
    if (c->sparse) PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.sparse.pattern", "2:4"));
    if (c->magnitude) PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.method", "magnitude-2:4"));
    return PRESSO_OK;
}

int cmd_convert(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *tokenizer = NULL, *type = NULL, *sparse = NULL, *v = NULL;
    bool json = false, allow_requantize = false, magnitude = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, NULL, "--json")) json = true;
        else if (cli_flag(a, NULL, "--allow-requantize")) allow_requantize = true;
        else if (cli_flag(a, NULL, "--magnitude")) magnitude = true;
        else if (cli_option(argv, argc, &i, NULL, "--sparse", &v)) {
            if (!v) return cli_usage_error("--sparse needs a pattern (2:4)");
            sparse = v;
        }
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
    presso_type sparse_type = PRESSO_TYPE_F32;
    if (sparse && strcmp(sparse, "2:4") != 0)
        return cli_usage_error("convert: --sparse %s: the native sparse encoding is 2:4", sparse);
    if (sparse && presso_s24_type_for(p.type, &sparse_type) != PRESSO_OK)
        return cli_usage_error("convert: --sparse 2:4 takes --type f16 (s24_f16) or q4_0 (s24_q4), not %s", type);
    if (same_file(in, out)) return cli_usage_error("convert: the output %s is the input; refusing to overwrite it", out);
    presso_model *m;
    int rc = cli_open_model(in, tokenizer, &m);
    if (rc) return rc;
    int64_t dense_bytes = 0, sparse_bytes = 0, sparse_params = 0;
    convert_meta meta = {magnitude, sparse != NULL};
    if (magnitude || sparse) {
        p.write_metadata = write_sparse_meta;
        p.metadata_user = &meta;
    }
    if (magnitude && presso_prune_magnitude_nm(m, 2, 4) != PRESSO_OK) {
        presso_model_free(m);
        return cli_fail();
    }
    if (sparse) {
        p.keep_sparse = true;
        if (presso_model_to_s24(m, sparse_type, NULL, &sparse_bytes) != PRESSO_OK) {
            presso_model_free(m);
            return cli_fail();
        }
        for (int32_t l = 0; l < m->config.n_layers; l++) {
            const presso_llama_layer *L = &m->layers[l];
            const presso_tensor *ts[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
            for (int i = 0; i < 7; i++) sparse_params += presso_tensor_nelements(ts[i]);
        }
        /* the same tensors dense in the value type */
        dense_bytes = sparse_type == PRESSO_TYPE_S24_F16 ? sparse_params * 2 : sparse_params / 32 * 18;
    }
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
        if (sparse) {
            cJSON_AddStringToObject(o, "sparse_type", presso_type_name(sparse_type));
            cJSON_AddNumberToObject(o, "sparse_params", (double)sparse_params);
            cJSON_AddNumberToObject(o, "sparse_bytes", (double)sparse_bytes);
            cJSON_AddNumberToObject(o, "dense_equivalent_bytes", (double)dense_bytes);
        }
        cJSON_AddStringToObject(o, "fallback_tensors", p.fallback_names);
        char *s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("wrote %s: %s, %lld bytes\n", out, presso_type_name(p.type), size);
        if (sparse)
            printf("block linears %s: %lld bytes, %.1f%% of the %lld bytes they take dense in %s\n",
                   presso_type_name(sparse_type), (long long)sparse_bytes,
                   100.0 * (double)sparse_bytes / (double)dense_bytes, (long long)dense_bytes, presso_type_name(p.type));
        if (p.n_fallback)
            printf("%d tensors kept as f16 (row width fits no %s block): %s\n", p.n_fallback, presso_type_name(p.type),
                   p.fallback_names);
    }
    presso_model_free(m);
    return 0;
}
