/* presso prune IN OUT.gguf --method structured [--ffn-ratio 0.3] [--heads-ratio 0.25]
 *     --calib FILE [--calib-count N] [--calib-len L] [--seed S] [-z TOK] [-t THREADS] [--json]
 *
 * Structured pruning (src/compress/structured.c): a smaller dense GGUF with
 * new feed_forward_length / head_count / head_count_kv that llama.cpp runs.
 * cmd_prune_structured is the `--method structured` half of `presso prune`;
 * the unstructured methods live in cmd_prune.c, which hands structured here. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "compress/structured.h"
#include "core/error.h"
#include "model/model_save.h"
#include "tensor/types.h"

typedef struct {
    const presso_structured_params *sp;
    const presso_calib_set *calib;
    uint64_t seed;
} structured_meta;

static presso_status write_meta(void *user, presso_gguf_writer *w) {
    const structured_meta *q = user;
    PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.method", "structured"));
    PRESSO_TRY(presso_gguf_writer_set_f32(w, "presso.prune.ffn_ratio", (float)q->sp->ffn_ratio));
    PRESSO_TRY(presso_gguf_writer_set_f32(w, "presso.prune.heads_ratio", (float)q->sp->heads_ratio));
    PRESSO_TRY(presso_gguf_writer_set_u32(w, "presso.prune.hidden_before", (uint32_t)q->sp->hidden_before));
    PRESSO_TRY(presso_gguf_writer_set_u32(w, "presso.prune.heads_before", (uint32_t)q->sp->heads_before));
    if (q->calib) {
        PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.calib.file", q->calib->file));
        PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.calib.sha256", q->calib->sha256));
        PRESSO_TRY(presso_gguf_writer_set_u32(w, "presso.calib.samples", (uint32_t)q->calib->n_seqs));
        PRESSO_TRY(presso_gguf_writer_set_u32(w, "presso.calib.seq_len", (uint32_t)q->calib->seq_len));
        PRESSO_TRY(presso_gguf_writer_set_u64(w, "presso.calib.seed", q->seed));
    }
    return PRESSO_OK;
}

static bool same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int cmd_prune_structured(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *tokenizer = NULL, *method = NULL, *calib_file = NULL, *v = NULL;
    int64_t threads = 2, calib_count = 32, calib_len = 128, seed = 1234;
    double ffn_ratio = 0.0, heads_ratio = 0.0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, NULL, "--json")) json = true;
        else if (cli_option(argv, argc, &i, "-z", "--tokenizer", &v)) {
            if (!v) return cli_usage_error("-z needs a path");
            tokenizer = v;
        } else if (cli_option(argv, argc, &i, NULL, "--method", &v)) {
            if (!v) return cli_usage_error("--method needs a name");
            method = v;
        } else if (cli_option(argv, argc, &i, NULL, "--ffn-ratio", &v)) {
            if (!cli_float(a, v, 0.0, 0.99, &ffn_ratio)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--heads-ratio", &v)) {
            if (!cli_float(a, v, 0.0, 0.99, &heads_ratio)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--calib", &v)) {
            if (!v) return cli_usage_error("--calib needs a text file");
            calib_file = v;
        } else if (cli_option(argv, argc, &i, NULL, "--calib-count", &v)) {
            if (!cli_int(a, v, 1, 1 << 20, &calib_count)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--calib-len", &v)) {
            if (!cli_int(a, v, 3, 1 << 20, &calib_len)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--seed", &v)) {
            if (!cli_int(a, v, 0, INT64_MAX, &seed)) return 2;
        } else if (cli_option(argv, argc, &i, "-t", "--threads", &v)) {
            if (!cli_int(a, v, 1, 512, &threads)) return 2;
        } else if (a[0] == '-') return cli_usage_error("prune: unknown option '%s'", a);
        else if (!in) in = a;
        else if (!out) out = a;
        else return cli_usage_error("prune: unexpected argument '%s'", a);
    }
    if (!in || !out || !method)
        return cli_usage_error("usage: presso prune IN OUT.gguf --method structured [--ffn-ratio R] [--heads-ratio R] "
                               "--calib FILE");
    if (strcmp(method, "structured") != 0)
        return cli_usage_error("prune: unknown method '%s' (structured)", method);
    const bool removes = ffn_ratio > 0.0 || heads_ratio > 0.0;
    if (removes && !calib_file)
        return cli_usage_error("prune: structured pruning ranks channels on calibration text: --calib FILE (e.g. "
                               "../shared/data/tinystories/sample.txt; never the evaluation text)");
    if (same_file(in, out)) return cli_usage_error("prune: the output %s is the input; refusing to overwrite it", out);

    presso_model *m;
    int rc = cli_open_model(in, tokenizer, &m);
    if (rc) return rc;
    presso_calib_set *calib = NULL;
    if (calib_file) {
        if (!m->tokenizer) {
            presso_model_free(m);
            return cli_usage_error("%s: the model has no tokenizer to read the calibration text; pass one with -z", in);
        }
        presso_calib_params cpar = {.file = calib_file, .count = (int32_t)calib_count, .len = (int32_t)calib_len,
                                    .seed = (uint64_t)seed};
        if (presso_calib_set_load(m->tokenizer, &cpar, m->config.max_seq_len, &calib) != PRESSO_OK) {
            presso_model_free(m);
            return cli_fail();
        }
    }
    presso_structured_params sp = {.ffn_ratio = ffn_ratio, .heads_ratio = heads_ratio, .n_threads = (int)threads};
    structured_meta meta = {&sp, calib, (uint64_t)seed};
    /* general.file_type follows the weights' own type (kept as they are). */
    presso_save_params save = {.type = m->layers[0].wq.type, .keep_types = true, .write_metadata = write_meta,
                               .metadata_user = &meta};
    if (presso_structured_prune(m, calib, &sp) != PRESSO_OK || presso_model_save_gguf(m, out, &save) != PRESSO_OK) {
        presso_calib_set_free(calib);
        presso_model_free(m);
        return cli_fail();
    }
    struct stat st;
    const long long size = stat(out, &st) == 0 ? (long long)st.st_size : -1;
    const int64_t n_params = presso_model_n_params(m);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "input", in);
        cJSON_AddStringToObject(o, "output", out);
        cJSON_AddStringToObject(o, "method", "structured");
        cJSON_AddNumberToObject(o, "ffn_ratio", ffn_ratio);
        cJSON_AddNumberToObject(o, "heads_ratio", heads_ratio);
        cJSON_AddNumberToObject(o, "hidden_before", sp.hidden_before);
        cJSON_AddNumberToObject(o, "hidden_after", sp.hidden_after);
        cJSON_AddNumberToObject(o, "heads_before", sp.heads_before);
        cJSON_AddNumberToObject(o, "heads_after", sp.heads_after);
        cJSON_AddNumberToObject(o, "kv_heads_before", sp.kv_heads_before);
        cJSON_AddNumberToObject(o, "kv_heads_after", sp.kv_heads_after);
        cJSON_AddNumberToObject(o, "n_params", (double)n_params);
        cJSON_AddNumberToObject(o, "bytes", (double)size);
        cJSON_AddNumberToObject(o, "seconds", sp.seconds);
        if (calib) {
            cJSON *c = cJSON_AddObjectToObject(o, "calib");
            cJSON_AddStringToObject(c, "file", calib->file);
            cJSON_AddNumberToObject(c, "samples", calib->n_seqs);
            cJSON_AddNumberToObject(c, "seq_len", calib->seq_len);
            cJSON_AddNumberToObject(c, "seed", (double)seed);
        }
        char *s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("wrote %s: structured, hidden %d -> %d, heads %d/%d -> %d/%d, %lld params, %lld bytes, %.2f s\n", out,
               sp.hidden_before, sp.hidden_after, sp.heads_before, sp.kv_heads_before, sp.heads_after,
               sp.kv_heads_after, (long long)n_params, size, sp.seconds);
    }
    presso_calib_set_free(calib);
    presso_model_free(m);
    return 0;
}
