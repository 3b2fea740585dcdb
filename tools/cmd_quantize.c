/* presso quantize IN OUT.gguf --method rtn|gptq|awq|awq+gptq|smoothquant
 *     (--type TYPE | --bits B [--sym|--asym]) [--group G] [--calib FILE]
 *     [--calib-count N] [--calib-len L] [--seed S] [--act-order] [--damp 0.01]
 *     [--awq-grid N] [--awq-clip | --no-awq-clip] [--alpha A] [--type-map NAME=TYPE,...]
 *     [--imatrix FILE | --imatrix-from-calib]
 *     [-z TOK] [-t THREADS] [--allow-requantize] [--json]
 * smoothquant writes W8A8 (presso-native type w8a8, which llama.cpp refuses)
 * and takes no --type. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"
#include "compress/driver.h"
#include "core/error.h"
#include "model/model_save.h"
#include "tensor/types.h"

typedef struct {
    const presso_compress_params *cp;
    const presso_method *method;
    const presso_model *m;
    const presso_calib_set *calib;
    uint64_t seed;
    double damp;
    bool act_order;
    const char *type_map;
    const presso_imatrix *imatrix;
} quantize_meta;

/* presso.* keys: enough to tell how the file was made and to redo it. */
static presso_status write_meta(void *user, presso_gguf_writer *w) {
    const quantize_meta *q = user;
    PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.method", q->method->name));
    PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.pass", q->cp->pass->name));
    PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.type", presso_type_name(q->cp->type)));
    if (q->type_map) PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.type_map", q->type_map));
    if (q->cp->n_fallback) PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.fallback", q->cp->fallbacks));
    if (q->calib) {
        PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.calib.file", q->calib->file));
        PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.calib.sha256", q->calib->sha256));
        PRESSO_TRY(presso_gguf_writer_set_u32(w, "presso.calib.samples", (uint32_t)q->calib->n_seqs));
        PRESSO_TRY(presso_gguf_writer_set_u32(w, "presso.calib.seq_len", (uint32_t)q->calib->seq_len));
        PRESSO_TRY(presso_gguf_writer_set_u64(w, "presso.calib.tokens",
                                              (uint64_t)q->calib->n_seqs * (uint64_t)q->calib->seq_len));
        PRESSO_TRY(presso_gguf_writer_set_u64(w, "presso.calib.seed", q->seed));
    }
    if (q->imatrix) {
        PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.imatrix.file", q->imatrix->path));
        PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.imatrix.dataset", q->imatrix->dataset));
        PRESSO_TRY(presso_gguf_writer_set_u32(w, "presso.imatrix.entries", (uint32_t)q->imatrix->n_entries));
        PRESSO_TRY(presso_gguf_writer_set_u32(w, "presso.imatrix.chunks", (uint32_t)q->imatrix->chunk_count));
    } else if (q->cp->imatrix_from_calib) {
        PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.imatrix.file", "calibration"));
    }
    if (q->cp->n_imatrix) PRESSO_TRY(presso_gguf_writer_set_u32(w, "presso.imatrix.tensors", (uint32_t)q->cp->n_imatrix));
    if (strcmp(q->cp->pass->name, "gptq") == 0) {
        PRESSO_TRY(presso_gguf_writer_set_f32(w, "presso.gptq.damp", (float)q->damp));
        PRESSO_TRY(presso_gguf_writer_set_f32(w, "presso.gptq.damp_max_used", (float)q->cp->max_damp));
        PRESSO_TRY(presso_gguf_writer_set_bool(w, "presso.gptq.act_order", q->act_order));
        PRESSO_TRY(presso_gguf_writer_set_u32(w, "presso.gptq.block_size", 128));
    }
    if (q->cp->transform) {
        /* per block: the α of attn_in, attn_out, ffn_in, ffn_act ("-" where not scaled) */
        char alphas[2048] = "";
        for (int32_t l = 0; l < q->m->config.n_layers; l++)
            for (int p = 0; p < 4; p++) {
                const size_t used = strlen(alphas);
                const double a = q->cp->reports[l].alpha[p];
                if (a < 0) snprintf(alphas + used, sizeof alphas - used, "%s-", used ? (p ? "," : ";") : "");
                else snprintf(alphas + used, sizeof alphas - used, "%s%.4g", used ? (p ? "," : ";") : "", a);
            }
        const char *key = q->cp->transform == &presso_transform_awq ? "presso.awq.alphas" : "presso.smoothquant.alphas";
        PRESSO_TRY(presso_gguf_writer_set_string(w, key, alphas));
    }
    if (q->cp->transform == &presso_transform_awq) {
        PRESSO_TRY(presso_gguf_writer_set_u32(w, "presso.awq.grid", (uint32_t)q->cp->transform_opts.grid));
        PRESSO_TRY(presso_gguf_writer_set_bool(w, "presso.awq.clip", q->cp->transform_opts.clip));
    }
    if (q->cp->transform == &presso_transform_smoothquant) {
        PRESSO_TRY(presso_gguf_writer_set_f32(w, "presso.smoothquant.alpha", (float)q->cp->transform_opts.alpha));
        PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.smoothquant.activations", "int8 per token, dynamic, symmetric"));
    }
    return PRESSO_OK;
}

static void print_progress(void *user, const presso_compress_progress *p) {
    (void)user;
    fprintf(stderr, "presso: quantize: block %d/%d, %.1f s elapsed, ETA %.1f s\n", p->layer, p->n_layers, p->elapsed,
            p->eta);
}

static bool same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int cmd_quantize(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *tokenizer = NULL, *method = NULL, *type_name = NULL, *calib_file = NULL,
               *type_map = NULL, *imatrix_file = NULL, *v = NULL;
    int64_t threads = 2, calib_count = PRESSO_CALIB_DEFAULT_COUNT, calib_len = PRESSO_CALIB_DEFAULT_LEN, seed = 1234,
            group = 0, bits = 0, awq_grid = 20;
    double damp = 0.01, alpha = 0.5;
    bool json = false, allow_requantize = false, act_order = false, sym = false, asym = false, damp_set = false,
         calib_opts = false, awq_clip = false, no_awq_clip = false, awq_grid_set = false, alpha_set = false, imatrix_from_calib = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, NULL, "--json")) json = true;
        else if (cli_flag(a, NULL, "--allow-requantize")) allow_requantize = true;
        else if (cli_flag(a, NULL, "--act-order")) act_order = true;
        else if (cli_flag(a, NULL, "--sym")) sym = true;
        else if (cli_flag(a, NULL, "--imatrix-from-calib")) imatrix_from_calib = true;
        else if (cli_flag(a, NULL, "--asym")) asym = true;
        else if (cli_flag(a, NULL, "--awq-clip")) awq_clip = true;
        else if (cli_flag(a, NULL, "--no-awq-clip")) no_awq_clip = true;
        else if (cli_option(argv, argc, &i, "-z", "--tokenizer", &v)) {
            if (!v) return cli_usage_error("-z needs a path");
            tokenizer = v;
        } else if (cli_option(argv, argc, &i, NULL, "--method", &v)) {
            if (!v) return cli_usage_error("--method needs a name (rtn, gptq, awq, awq+gptq, smoothquant)");
            method = v;
        } else if (cli_option(argv, argc, &i, NULL, "--type", &v)) {
            if (!v) return cli_usage_error("--type needs a type");
            type_name = v;
        } else if (cli_option(argv, argc, &i, NULL, "--type-map", &v)) {
            if (!v) return cli_usage_error("--type-map needs NAME=TYPE[,NAME=TYPE...]");
            type_map = v;
        } else if (cli_option(argv, argc, &i, NULL, "--imatrix", &v)) {
            if (!v) return cli_usage_error("--imatrix needs a file (llama-imatrix's .gguf or legacy .dat)");
            imatrix_file = v;
        } else if (cli_option(argv, argc, &i, NULL, "--calib", &v)) {
            if (!v) return cli_usage_error("--calib needs a text file");
            calib_file = v;
        } else if (cli_option(argv, argc, &i, NULL, "--calib-count", &v)) {
            if (!cli_int(a, v, 1, 1 << 20, &calib_count)) return 2;
            calib_opts = true;
        } else if (cli_option(argv, argc, &i, NULL, "--calib-len", &v)) {
            if (!cli_int(a, v, 3, 1 << 20, &calib_len)) return 2;
            calib_opts = true;
        } else if (cli_option(argv, argc, &i, NULL, "--seed", &v)) {
            if (!cli_int(a, v, 0, INT64_MAX, &seed)) return 2;
            calib_opts = true;
        } else if (cli_option(argv, argc, &i, NULL, "--group", &v)) {
            if (!cli_int(a, v, 1, 1 << 20, &group)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--bits", &v)) {
            if (!cli_int(a, v, 1, 16, &bits)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--damp", &v)) {
            if (!cli_float(a, v, 0.0, 1.0, &damp)) return 2;
            damp_set = true;
        } else if (cli_option(argv, argc, &i, NULL, "--awq-grid", &v)) {
            if (!cli_int(a, v, 2, 1000, &awq_grid)) return 2;
            awq_grid_set = true;
        } else if (cli_option(argv, argc, &i, NULL, "--alpha", &v)) {
            if (!cli_float(a, v, 0.0, 1.0, &alpha)) return 2;
            alpha_set = true;
        } else if (cli_option(argv, argc, &i, "-t", "--threads", &v)) {
            if (!cli_int(a, v, 1, 512, &threads)) return 2;
        } else if (a[0] == '-') return cli_usage_error("quantize: unknown option '%s'", a);
        else if (!in) in = a;
        else if (!out) out = a;
        else return cli_usage_error("quantize: unexpected argument '%s'", a);
    }
    const presso_method *meth = method ? presso_method_find(method) : NULL;
    if (method && !meth) {
        char names[256] = "";
        const presso_pass *pruning = presso_pass_find(method);
        if (pruning && pruning->prunes)
            return cli_usage_error("quantize: %s is a pruning method; use presso prune IN OUT --method %s", method,
                                   method);
        for (int i = 0; i < presso_method_count(); i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", presso_method_at(i)->name);
        return cli_usage_error("quantize: unknown method '%s' (%s)", method, names);
    }
    const bool fixed_type = meth && meth->fixed_type != PRESSO_TYPE_COUNT;
    if (!in || !out || !method || (!type_name && !bits && !fixed_type))
        return cli_usage_error("usage: presso quantize IN OUT.gguf --method rtn|gptq|awq|awq+gptq|smoothquant "
                               "--type TYPE [--calib FILE]");
    const presso_pass *pass = presso_pass_find(meth->pass);
    const presso_block_transform *transform = meth->transform;
    if (fixed_type && (bits || (type_name && strcasecmp(type_name, presso_type_name(meth->fixed_type)) != 0)))
        return cli_usage_error("quantize: %s writes %s; drop --type/--bits", meth->name, presso_type_name(meth->fixed_type));
    if (alpha_set && transform != &presso_transform_smoothquant)
        return cli_usage_error("quantize: --alpha is SmoothQuant's migration strength (--method smoothquant); AWQ searches its α");
    if ((awq_grid_set || awq_clip || no_awq_clip) && transform != &presso_transform_awq)
        return cli_usage_error("quantize: --awq-grid and --awq-clip / --no-awq-clip go with --method awq or awq+gptq");
    if (awq_clip && no_awq_clip) return cli_usage_error("--awq-clip and --no-awq-clip exclude each other");
    /* AWQ searches the clipping range by default, as the reference code
     * (llm-awq's run_awq, AutoAWQ's apply_clip) does: on tinystories-656k
     * the clip search lowers the KL divergence from F32 at every width
     * (bench/results/awq_tinystories656k.md). */
    awq_clip = transform == &presso_transform_awq && !no_awq_clip;
    if (sym && asym) return cli_usage_error("--sym and --asym exclude each other");
    presso_compress_params cp = {.pass = pass, .allow_requantize = allow_requantize, .transform = transform,
                                 .transform_opts = {.alpha = alpha, .grid = (int)awq_grid, .clip = awq_clip}};
    if (type_name && bits) return cli_usage_error("give --type or --bits, not both");
    if (fixed_type) {
        if (sym || asym || group) return cli_usage_error("quantize: %s fixes the scheme; drop --sym/--asym/--group", meth->name);
        cp.type = meth->fixed_type;
    } else if (type_name) {
        if (sym || asym) return cli_usage_error("--sym/--asym go with --bits; --type fixes the scheme");
        if (presso_type_from_name(type_name, &cp.type) != PRESSO_OK) return cli_usage_error("%s", presso_last_error());
        const presso_type_traits *t = presso_type_traits_of(cp.type);
        if (!t->is_quantized || !t->from_float_ref || cp.type == PRESSO_TYPE_Q8_1 || cp.type == PRESSO_TYPE_Q8_K)
            return cli_usage_error("quantize: --type %s is not a quantized type presso writes (q4_0, q4_1, q5_0, "
                                   "q5_1, q8_0, q2_k, q3_k, q4_k, q5_k, q6_k, q3_g32, q2_g32, w8a8; use convert for f16/bf16)", type_name);
        if (cp.type == PRESSO_TYPE_W8A8 && strcmp(pass->name, "rtn") != 0)
            return cli_usage_error("quantize: w8a8 is written by rtn or smoothquant (GPTQ needs a block grid)");
        if (presso_quant_check_group(cp.type, (int)group) != PRESSO_OK) return cli_usage_error("%s", presso_last_error());
    } else if (presso_quant_type_for_bits((int)bits, (int)group, asym, &cp.type) != PRESSO_OK) {
        return cli_usage_error("%s", presso_last_error());
    }
    if (imatrix_file && imatrix_from_calib)
        return cli_usage_error("quantize: give --imatrix FILE or --imatrix-from-calib, not both");
    if (imatrix_from_calib && !calib_file)
        return cli_usage_error("quantize: --imatrix-from-calib needs calibration text: --calib FILE");
    const bool needs_calibration = pass->needs_calibration || transform;
    const bool calibrate = needs_calibration || imatrix_from_calib;
    if (needs_calibration && !calib_file)
        return cli_usage_error("quantize: %s needs calibration text: --calib FILE (e.g. "
                               "../shared/data/tinystories/sample.txt; never the evaluation text)", meth->name);
    if (!calibrate && (calib_file || calib_opts))
        return cli_usage_error("quantize: %s uses no calibration; drop --calib/--calib-count/--calib-len/--seed "
                               "(or add --imatrix-from-calib)", meth->name);
    if (strcmp(pass->name, "gptq") != 0 && (act_order || damp_set))
        return cli_usage_error("quantize: --act-order and --damp are GPTQ options");
    presso_type_override overrides[512];
    if (type_map && !cli_parse_type_map(type_map, overrides, 512, &cp.n_overrides)) return 2;
    cp.overrides = overrides;
    cp.imatrix_from_calib = imatrix_from_calib;
    cp.opts = (presso_pass_opts){.damp = damp, .act_order = act_order, .block_cols = 128, .n_threads = (int)threads};
    if (same_file(in, out)) return cli_usage_error("quantize: the output %s is the input; refusing to overwrite it", out);

    presso_imatrix *imatrix = NULL;
    if (imatrix_file) {
        if (presso_imatrix_load(imatrix_file, &imatrix) != PRESSO_OK) return cli_fail();
        cp.imatrix = imatrix;
        fprintf(stderr, "presso: quantize: importance matrix %s: %lld entries over %d chunks%s%s\n", imatrix_file,
                (long long)imatrix->n_entries, imatrix->chunk_count, imatrix->dataset[0] ? " of " : "",
                imatrix->dataset);
    }
    presso_model *m;
    int rc = cli_open_model(in, tokenizer, &m);
    if (rc) {
        presso_imatrix_free(imatrix);
        return rc;
    }
    presso_calib_set *calib = NULL;
    if (calibrate) {
        if (!m->tokenizer) {
            presso_imatrix_free(imatrix);
            presso_model_free(m);
            return cli_usage_error("%s: the model has no tokenizer to read the calibration text; pass one with -z", in);
        }
        presso_calib_params cpar = {.file = calib_file, .count = (int32_t)calib_count, .len = (int32_t)calib_len,
                                    .seed = (uint64_t)seed};
        if (presso_calib_set_load(m->tokenizer, &cpar, m->config.max_seq_len, &calib) != PRESSO_OK) {
            presso_imatrix_free(imatrix);
            presso_model_free(m);
            return cli_fail();
        }
        fprintf(stderr, "presso: quantize: calibrating on %d sequences of %d tokens from %s (%lld tokens, %lld windows)\n",
                calib->n_seqs, calib->seq_len, calib_file, (long long)calib->n_text_tokens, (long long)calib->n_windows);
    }
    cp.progress = print_progress;
    presso_block_report *reports = NULL;
    if (transform) {
        reports = calloc((size_t)m->config.n_layers, sizeof *reports);
        if (!reports) {
            presso_calib_set_free(calib);
            presso_model_free(m);
            fprintf(stderr, "presso: out of memory\n");
            return 1;
        }
        cp.reports = reports;
    }
    quantize_meta meta = {&cp, meth, m, calib, (uint64_t)seed, damp, act_order, type_map, imatrix};
    presso_save_params sp = {.type = cp.type, .keep_types = true, .write_metadata = write_meta, .metadata_user = &meta};
    if (presso_compress_model(m, calib, &cp) != PRESSO_OK || presso_model_save_gguf(m, out, &sp) != PRESSO_OK) {
        free(reports);
        presso_calib_set_free(calib);
        presso_imatrix_free(imatrix);
        presso_model_free(m);
        return cli_fail();
    }
    struct stat st;
    const long long size = stat(out, &st) == 0 ? (long long)st.st_size : -1;
    const int64_t n_params = presso_model_n_params(m), weight_bytes = presso_model_weight_bytes(m);
    const double bpw = n_params ? 8.0 * (double)weight_bytes / (double)n_params : 0.0;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "input", in);
        cJSON_AddStringToObject(o, "output", out);
        cJSON_AddStringToObject(o, "method", meth->name);
        cJSON_AddStringToObject(o, "pass", pass->name);
        cJSON_AddStringToObject(o, "type", presso_type_name(cp.type));
        cJSON_AddNumberToObject(o, "bytes", (double)size);
        cJSON_AddNumberToObject(o, "weight_bytes", (double)weight_bytes);
        cJSON_AddNumberToObject(o, "n_params", (double)n_params);
        cJSON_AddNumberToObject(o, "bits_per_weight", bpw);
        cJSON_AddNumberToObject(o, "seconds", cp.seconds);
        cJSON_AddNumberToObject(o, "n_fallback", cp.n_fallback);
        cJSON_AddStringToObject(o, "fallback_tensors", cp.fallbacks);
        cJSON_AddStringToObject(o, "imatrix", imatrix ? imatrix->path : imatrix_from_calib ? "calibration" : "");
        cJSON_AddNumberToObject(o, "imatrix_tensors", cp.n_imatrix);
        if (calib) {
            cJSON *c = cJSON_AddObjectToObject(o, "calib");
            cJSON_AddStringToObject(c, "file", calib->file);
            cJSON_AddStringToObject(c, "sha256", calib->sha256);
            cJSON_AddNumberToObject(c, "samples", calib->n_seqs);
            cJSON_AddNumberToObject(c, "seq_len", calib->seq_len);
            cJSON_AddNumberToObject(c, "seed", (double)seed);
        }
        if (strcmp(pass->name, "gptq") == 0) {
            cJSON_AddNumberToObject(o, "damp", damp);
            cJSON_AddNumberToObject(o, "damp_max_used", cp.max_damp);
            cJSON_AddBoolToObject(o, "act_order", act_order);
            cJSON_AddNumberToObject(o, "dead_columns", (double)cp.n_dead);
        }
        if (transform) {
            cJSON *t = cJSON_AddObjectToObject(o, transform->name);
            if (transform == &presso_transform_awq) {
                cJSON_AddNumberToObject(t, "grid", (double)awq_grid);
                cJSON_AddBoolToObject(t, "clip", awq_clip);
            } else {
                cJSON_AddNumberToObject(t, "alpha", alpha);
            }
            static const char *const points[4] = {"attn_in", "attn_out", "ffn_in", "ffn_act"};
            cJSON *blocks = cJSON_AddArrayToObject(t, "blocks");
            for (int32_t l = 0; l < m->config.n_layers; l++) {
                cJSON *b = cJSON_CreateObject();
                for (int p = 0; p < 4; p++) {
                    cJSON *e = cJSON_AddObjectToObject(b, points[p]);
                    cJSON_AddNumberToObject(e, "alpha", reports[l].alpha[p]);
                    if (transform == &presso_transform_awq) {
                        cJSON_AddNumberToObject(e, "err_rtn", reports[l].err_before[p]);
                        cJSON_AddNumberToObject(e, "err_awq", reports[l].err_after[p]);
                    }
                }
                cJSON_AddItemToArray(blocks, b);
            }
        }
        char *s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("wrote %s: %s %s, %lld bytes, %.3f bits/weight, %.2f s\n", out, meth->name, presso_type_name(cp.type),
               size, bpw, cp.seconds);
        if (cp.n_fallback)
            printf("%d tensors in another type (rows fit no %s block): %s\n", cp.n_fallback, presso_type_name(cp.type),
                   cp.fallbacks);
        if (cp.max_damp > damp) printf("GPTQ needed dampening up to %g on some layer\n", cp.max_damp);
        if (transform == &presso_transform_awq) {
            double before = 0, after = 0;
            for (int32_t l = 0; l < m->config.n_layers; l++)
                for (int p = 0; p < 4; p++) before += reports[l].err_before[p], after += reports[l].err_after[p];
            printf("AWQ: summed linear output error %.4g at the chosen scales%s vs %.4g for plain RTN (%.1f%% lower)\n",
                   after, awq_clip ? " and clips" : "", before, before > 0 ? 100.0 * (1.0 - after / before) : 0.0);
        }
        if (imatrix || imatrix_from_calib)
            printf("%d tensors quantized with importance weights (%s)\n", cp.n_imatrix,
                   imatrix ? imatrix->path : "from calibration");
    }
    free(reports);
    presso_calib_set_free(calib);
    presso_imatrix_free(imatrix);
    presso_model_free(m);
    return 0;
}
