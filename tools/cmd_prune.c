/* presso prune IN OUT.gguf --method magnitude|wanda|sparsegpt [--sparsity S | --nm N:M]
 *     [--scope row|layer] [--sparsity-map GLOB=S,...] [--calib FILE] [--calib-count N] [--calib-len L]
 *     [--seed S] [--damp 0.01] [--blocksize 128] [--type f32|f16|bf16 | --quantize TYPE] [-z TOK] [-t THREADS]
 *     [--type-map NAME=TYPE,...] [--allow-requantize] [--json]
 *
 * A method is one row of `methods` below: its pass (compress/pass.h) and
 * which options it takes; the row's run function does the work, so a method
 * that is not a per-layer pass (e.g. structured pruning) is one more row. */
#define _POSIX_C_SOURCE 200809L /* strtok_r */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "compress/driver.h"
#include "compress/grid.h"
#include "compress/prune.h"
#include "core/error.h"
#include "model/model_save.h"
#include "tensor/nonzero.h"
#include "tensor/types.h"

enum { MAX_MAP = 32 };

typedef struct prune_method prune_method;

/* Everything the command line asked for, checked. */
typedef struct {
    const prune_method *method;
    const char *in, *out, *tokenizer, *calib_file, *sparsity_map_spec, *type_map_spec;
    presso_type type;  /* of every block linear (dense, or the --quantize type) */
    bool quantize;     /* --quantize given */
    bool allow_requantize;
    double sparsity, damp;
    int64_t block_cols; /* SparseGPT's lazy batch, the unit of its mask choice */
    int nm_n, nm_m;
    bool per_layer;
    presso_sparsity_override map[MAX_MAP];
    int n_map;
    presso_type_override types[MAX_MAP]; /* --type-map: e.g. token_embd=f16, as the papers keep embeddings */
    int n_types;
    int64_t threads, calib_count, calib_len, seed;
    /* Filled in by the run. */
    presso_compress_params cp;
    presso_calib_set *calib;
} prune_job;

struct prune_method {
    const char *name;
    const presso_pass *pass;
    bool scopes;     /* takes --scope layer (SparseGPT: one threshold per lazy batch over all rows) */
    bool damp;       /* takes --damp */
    bool joint;      /* --quantize goes on the grid inside the pass (GPTQ-style); else RTN after pruning */
    /* Prunes m in place as the job says; returns 0 or a CLI exit code. */
    int (*run)(prune_job *job, presso_model *m);
};

static void print_progress(void *user, const presso_compress_progress *p) {
    (void)user;
    fprintf(stderr, "presso: prune: block %d/%d, %.1f s elapsed, ETA %.1f s\n", p->layer, p->n_layers, p->elapsed,
            p->eta);
}

/* A per-layer pass through the calibration driver (compress/driver.c). */
static int run_pass(prune_job *job, presso_model *m) {
    const presso_pass *pass = job->method->pass;
    if (pass->needs_calibration) {
        if (!m->tokenizer)
            return cli_usage_error("%s: the model has no tokenizer to read the calibration text; pass one with -z",
                                   job->in);
        presso_calib_params cpar = {.file = job->calib_file, .count = (int32_t)job->calib_count,
                                    .len = (int32_t)job->calib_len, .seed = (uint64_t)job->seed};
        if (presso_calib_set_load(m->tokenizer, &cpar, m->config.max_seq_len, &job->calib) != PRESSO_OK)
            return cli_fail();
        fprintf(stderr, "presso: prune: calibrating on %d sequences of %d tokens from %s (%lld tokens, %lld windows)\n",
                job->calib->n_seqs, job->calib->seq_len, job->calib_file, (long long)job->calib->n_text_tokens,
                (long long)job->calib->n_windows);
    }
    job->cp = (presso_compress_params){
        .pass = pass,
        .type = job->type,
        /* a dense output dequantizes a quantized source once: nothing is quantized twice */
        .allow_requantize = job->allow_requantize || !job->quantize,
        .overrides = job->types,
        .n_overrides = job->n_types,
        .opts = {.damp = job->damp, .block_cols = (int)job->block_cols, .n_threads = (int)job->threads,
                 .sparsity = job->sparsity, .nm_n = job->nm_n, .nm_m = job->nm_m, .prune_per_layer = job->per_layer,
                 .sparsity_map = job->map, .n_sparsity_map = job->n_map},
        .progress = print_progress,
    };
    if (presso_compress_model(m, job->calib, &job->cp) != PRESSO_OK) return cli_fail();
    return 0;
}

static const prune_method methods[] = {
    {"magnitude", &presso_pass_magnitude, true, false, false, run_pass},
    {"wanda", &presso_pass_wanda, true, false, false, run_pass},
    {"sparsegpt", &presso_pass_sparsegpt, true, true, true, run_pass},
};

static const prune_method *find_method(const char *name) {
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(methods[i].name, name) == 0) return &methods[i];
    return NULL;
}

static bool needs_calibration(const prune_method *pm) { return pm->pass && pm->pass->needs_calibration; }

static const char *pattern_name(const prune_job *job, char buf[32]) {
    if (job->nm_m <= 0) return "unstructured";
    snprintf(buf, 32, "%d:%d", job->nm_n, job->nm_m);
    return buf;
}

/* Non-zeros of the block linears (what pruning touches), over the model. */
static presso_status count_linears(const presso_model *m, int64_t *params, int64_t *nonzero) {
    *params = *nonzero = 0;
    for (int32_t l = 0; l < m->config.n_layers; l++) {
        const presso_llama_layer *L = &m->layers[l];
        const presso_tensor *ts[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int i = 0; i < 7; i++) {
            int64_t nz;
            PRESSO_TRY(presso_tensor_count_nonzero(ts[i], &nz));
            *params += presso_tensor_nelements(ts[i]);
            *nonzero += nz;
        }
    }
    return PRESSO_OK;
}

typedef struct {
    const prune_job *job;
    int64_t linear_params, linear_nonzero;
} prune_meta;

/* presso.* keys: enough to tell how the file was made and to redo it. */
static presso_status write_meta(void *user, presso_gguf_writer *w) {
    const prune_meta *pm = user;
    const prune_job *job = pm->job;
    char pat[32];
    PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.method", job->method->name));
    PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.type", presso_type_name(job->type)));
    PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.prune.pattern", pattern_name(job, pat)));
    PRESSO_TRY(presso_gguf_writer_set_f32(w, "presso.prune.sparsity",
                                          (float)(job->nm_m > 0 ? 1.0 - (double)job->nm_n / job->nm_m : job->sparsity)));
    PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.prune.scope", job->per_layer ? "layer" : "row"));
    if (job->sparsity_map_spec)
        PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.prune.sparsity_map", job->sparsity_map_spec));
    if (job->type_map_spec) PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.type_map", job->type_map_spec));
    PRESSO_TRY(presso_gguf_writer_set_u64(w, "presso.prune.linear_params", (uint64_t)pm->linear_params));
    PRESSO_TRY(presso_gguf_writer_set_u64(w, "presso.prune.linear_nonzero", (uint64_t)pm->linear_nonzero));
    if (job->cp.n_fallback) PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.fallback", job->cp.fallbacks));
    if (job->calib) {
        PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.calib.file", job->calib->file));
        PRESSO_TRY(presso_gguf_writer_set_string(w, "presso.calib.sha256", job->calib->sha256));
        PRESSO_TRY(presso_gguf_writer_set_u32(w, "presso.calib.samples", (uint32_t)job->calib->n_seqs));
        PRESSO_TRY(presso_gguf_writer_set_u32(w, "presso.calib.seq_len", (uint32_t)job->calib->seq_len));
        PRESSO_TRY(presso_gguf_writer_set_u64(w, "presso.calib.tokens",
                                              (uint64_t)job->calib->n_seqs * (uint64_t)job->calib->seq_len));
        PRESSO_TRY(presso_gguf_writer_set_u64(w, "presso.calib.seed", (uint64_t)job->seed));
    }
    if (job->method->damp) {
        PRESSO_TRY(presso_gguf_writer_set_f32(w, "presso.sparsegpt.damp", (float)job->damp));
        PRESSO_TRY(presso_gguf_writer_set_f32(w, "presso.sparsegpt.damp_max_used", (float)job->cp.max_damp));
        PRESSO_TRY(presso_gguf_writer_set_u32(w, "presso.sparsegpt.block_size", (uint32_t)job->block_cols));
    }
    return PRESSO_OK;
}

/* "GLOB=S,GLOB=S" into job->map; false after a usage error. */
static bool parse_sparsity_map(const char *spec, prune_job *job) {
    char buf[2048];
    if (strlen(spec) >= sizeof buf) return cli_usage_error("--sparsity-map is too long"), false;
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strrchr(item, '=');
        if (!eq || eq == item) return cli_usage_error("--sparsity-map: '%s' is not GLOB=SPARSITY", item), false;
        *eq = '\0';
        if (strlen(item) >= sizeof job->map[0].pattern)
            return cli_usage_error("--sparsity-map: pattern '%s' is too long", item), false;
        double s;
        if (!cli_float("--sparsity-map", eq + 1, 0.0, 1.0, &s)) return false;
        if (s >= 1.0) return cli_usage_error("--sparsity-map: sparsity %s of '%s' is not below 1", eq + 1, item), false;
        if (job->n_map == MAX_MAP) return cli_usage_error("--sparsity-map: more than %d entries", MAX_MAP), false;
        snprintf(job->map[job->n_map].pattern, sizeof job->map[0].pattern, "%s", item);
        job->map[job->n_map].sparsity = s;
        job->n_map++;
    }
    return true;
}

/* "N:M" with 0 < N < M <= 256. */
static bool parse_nm(const char *v, int *n, int *m) {
    char tail;
    if (!v || sscanf(v, "%d:%d%c", n, m, &tail) != 2)
        return cli_usage_error("--nm: '%s' is not N:M (e.g. 2:4, 4:8)", v ? v : ""), false;
    if (*n <= 0 || *m > 256 || *n >= *m)
        return cli_usage_error("--nm %s: needs 0 < N < M <= 256 (N non-zeros kept in every M inputs)", v), false;
    return true;
}

static bool same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int report(const prune_job *job, const presso_model *m, const prune_meta *meta, bool json) {
    struct stat st;
    const long long size = stat(job->out, &st) == 0 ? (long long)st.st_size : -1;
    const int64_t n_params = presso_model_n_params(m), weight_bytes = presso_model_weight_bytes(m);
    const double achieved = meta->linear_params ? 1.0 - (double)meta->linear_nonzero / (double)meta->linear_params : 0;
    char pat[32];
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "input", job->in);
        cJSON_AddStringToObject(o, "output", job->out);
        cJSON_AddStringToObject(o, "method", job->method->name);
        cJSON_AddStringToObject(o, "type", presso_type_name(job->type));
        cJSON_AddBoolToObject(o, "quantized", job->quantize);
        cJSON_AddStringToObject(o, "pattern", pattern_name(job, pat));
        cJSON_AddNumberToObject(o, "sparsity", job->nm_m > 0 ? 1.0 - (double)job->nm_n / job->nm_m : job->sparsity);
        cJSON_AddStringToObject(o, "scope", job->per_layer ? "layer" : "row");
        if (job->sparsity_map_spec) cJSON_AddStringToObject(o, "sparsity_map", job->sparsity_map_spec);
        if (job->type_map_spec) cJSON_AddStringToObject(o, "type_map", job->type_map_spec);
        cJSON_AddNumberToObject(o, "linear_params", (double)meta->linear_params);
        cJSON_AddNumberToObject(o, "linear_nonzero", (double)meta->linear_nonzero);
        cJSON_AddNumberToObject(o, "linear_sparsity", achieved);
        cJSON_AddNumberToObject(o, "bytes", (double)size);
        cJSON_AddNumberToObject(o, "weight_bytes", (double)weight_bytes);
        cJSON_AddNumberToObject(o, "n_params", (double)n_params);
        cJSON_AddNumberToObject(o, "seconds", job->cp.seconds);
        cJSON_AddNumberToObject(o, "n_fallback", job->cp.n_fallback);
        cJSON_AddStringToObject(o, "fallback_tensors", job->cp.fallbacks);
        if (job->calib) {
            cJSON *c = cJSON_AddObjectToObject(o, "calib");
            cJSON_AddStringToObject(c, "file", job->calib->file);
            cJSON_AddStringToObject(c, "sha256", job->calib->sha256);
            cJSON_AddNumberToObject(c, "samples", job->calib->n_seqs);
            cJSON_AddNumberToObject(c, "seq_len", job->calib->seq_len);
            cJSON_AddNumberToObject(c, "seed", (double)job->seed);
        }
        if (job->method->damp) {
            cJSON_AddNumberToObject(o, "damp", job->damp);
            cJSON_AddNumberToObject(o, "damp_max_used", job->cp.max_damp);
            cJSON_AddNumberToObject(o, "blocksize", (double)job->block_cols);
            cJSON_AddNumberToObject(o, "dead_columns", (double)job->cp.n_dead);
        }
        char *s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("wrote %s: %s %s %s, %lld bytes, block linears %.2f%% zero (%lld of %lld non-zero), %.2f s\n", job->out,
               job->method->name, pattern_name(job, pat), presso_type_name(job->type), size, 100.0 * achieved,
               (long long)meta->linear_nonzero, (long long)meta->linear_params, job->cp.seconds);
        if (job->cp.n_fallback)
            printf("%d tensors in another type (rows fit no %s block): %s\n", job->cp.n_fallback,
                   presso_type_name(job->type), job->cp.fallbacks);
    }
    return 0;
}

int cmd_prune(int argc, char **argv) {
    /* Structured pruning changes shapes rather than zeroing weights: its own
     * options and driver (cmd_prune_structured.c). */
    for (int i = 1; i < argc; i++) {
        const bool split = strcmp(argv[i], "--method") == 0 && i + 1 < argc;
        const char *name = split ? argv[i + 1] : strncmp(argv[i], "--method=", 9) == 0 ? argv[i] + 9 : NULL;
        if (name && strcmp(name, "structured") == 0) return cmd_prune_structured(argc, argv);
    }
    prune_job job = {.type = PRESSO_TYPE_F32, .sparsity = 0.5, .damp = 0.01, .block_cols = 128, .threads = 2,
                     .calib_count = PRESSO_CALIB_DEFAULT_COUNT, .calib_len = PRESSO_CALIB_DEFAULT_LEN, .seed = 1234};
    const char *method = NULL, *type_name = NULL, *quant_name = NULL, *scope = NULL, *v = NULL;
    bool json = false, sparsity_set = false, damp_set = false, block_set = false, calib_opts = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, NULL, "--json")) json = true;
        else if (cli_flag(a, NULL, "--allow-requantize")) job.allow_requantize = true;
        else if (cli_option(argv, argc, &i, "-z", "--tokenizer", &v)) {
            if (!v) return cli_usage_error("-z needs a path");
            job.tokenizer = v;
        } else if (cli_option(argv, argc, &i, NULL, "--method", &v)) {
            if (!v) return cli_usage_error("--method needs a name (magnitude, wanda, sparsegpt, structured)");
            method = v;
        } else if (cli_option(argv, argc, &i, NULL, "--sparsity", &v)) {
            if (!cli_float(a, v, 0.0, 1.0, &job.sparsity)) return 2;
            if (job.sparsity >= 1.0) return cli_usage_error("--sparsity: %s is not below 1 (it is the fraction of "
                                                            "weights set to zero, in [0, 1))", v);
            sparsity_set = true;
        } else if (cli_option(argv, argc, &i, NULL, "--nm", &v)) {
            if (!parse_nm(v, &job.nm_n, &job.nm_m)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--scope", &v)) {
            if (!v || (strcmp(v, "row") != 0 && strcmp(v, "layer") != 0))
                return cli_usage_error("--scope needs row or layer");
            scope = v;
        } else if (cli_option(argv, argc, &i, NULL, "--sparsity-map", &v)) {
            if (!v) return cli_usage_error("--sparsity-map needs GLOB=SPARSITY[,GLOB=SPARSITY...]");
            job.sparsity_map_spec = v;
        } else if (cli_option(argv, argc, &i, NULL, "--type-map", &v)) {
            if (!v) return cli_usage_error("--type-map needs NAME=TYPE[,NAME=TYPE...]");
            job.type_map_spec = v;
        } else if (cli_option(argv, argc, &i, NULL, "--type", &v)) {
            if (!v) return cli_usage_error("--type needs f32, f16 or bf16");
            type_name = v;
        } else if (cli_option(argv, argc, &i, NULL, "--quantize", &v)) {
            if (!v) return cli_usage_error("--quantize needs a type (q4_0, q5_0, q8_0, q3_k, q6_k)");
            quant_name = v;
        } else if (cli_option(argv, argc, &i, NULL, "--calib", &v)) {
            if (!v) return cli_usage_error("--calib needs a text file");
            job.calib_file = v;
        } else if (cli_option(argv, argc, &i, NULL, "--calib-count", &v)) {
            if (!cli_int(a, v, 1, 1 << 20, &job.calib_count)) return 2;
            calib_opts = true;
        } else if (cli_option(argv, argc, &i, NULL, "--calib-len", &v)) {
            if (!cli_int(a, v, 3, 1 << 20, &job.calib_len)) return 2;
            calib_opts = true;
        } else if (cli_option(argv, argc, &i, NULL, "--seed", &v)) {
            if (!cli_int(a, v, 0, INT64_MAX, &job.seed)) return 2;
            calib_opts = true;
        } else if (cli_option(argv, argc, &i, NULL, "--damp", &v)) {
            if (!cli_float(a, v, 0.0, 1.0, &job.damp)) return 2;
            damp_set = true;
        } else if (cli_option(argv, argc, &i, NULL, "--blocksize", &v)) {
            if (!cli_int(a, v, 1, 1 << 16, &job.block_cols)) return 2;
            block_set = true;
        } else if (cli_option(argv, argc, &i, "-t", "--threads", &v)) {
            if (!cli_int(a, v, 1, 512, &job.threads)) return 2;
        } else if (a[0] == '-') return cli_usage_error("prune: unknown option '%s'", a);
        else if (!job.in) job.in = a;
        else if (!job.out) job.out = a;
        else return cli_usage_error("prune: unexpected argument '%s'", a);
    }
    if (!job.in || !job.out || !method)
        return cli_usage_error("usage: presso prune IN OUT.gguf --method magnitude|wanda|sparsegpt [--sparsity S | "
                               "--nm N:M] [--calib FILE] [--quantize TYPE]");
    job.method = find_method(method);
    if (!job.method) {
        char names[256] = "";
        for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", methods[i].name);
        return cli_usage_error("prune: unknown method '%s' (%s)", method, names);
    }
    const prune_method *pm = job.method;
    if (job.nm_m > 0 && sparsity_set)
        return cli_usage_error("prune: --nm %d:%d fixes the sparsity at %g; drop --sparsity", job.nm_n, job.nm_m,
                               1.0 - (double)job.nm_n / job.nm_m);
    if (job.nm_m > 0) job.sparsity = 1.0 - (double)job.nm_n / job.nm_m;
    if (job.sparsity_map_spec) {
        if (job.nm_m > 0) return cli_usage_error("prune: --sparsity-map goes with unstructured sparsity, not --nm");
        if (!parse_sparsity_map(job.sparsity_map_spec, &job)) return 2;
    }
    if (scope) {
        if (!pm->scopes) return cli_usage_error("prune: %s chooses its mask per output row; --scope is for "
                                                "magnitude and wanda", pm->name);
        job.per_layer = strcmp(scope, "layer") == 0;
        if (job.per_layer && job.nm_m > 0) return cli_usage_error("prune: --scope layer does not go with --nm");
    }
    if (damp_set && !pm->damp) return cli_usage_error("prune: --damp is a SparseGPT option");
    if (block_set && !pm->damp) return cli_usage_error("prune: --blocksize is a SparseGPT option");
    if (type_name && quant_name) return cli_usage_error("prune: give --type (dense) or --quantize, not both");
    if (type_name) {
        if (presso_type_from_name(type_name, &job.type) != PRESSO_OK) return cli_usage_error("%s", presso_last_error());
        if (presso_type_traits_of(job.type)->is_quantized)
            return cli_usage_error("prune: --type %s is quantized; --type takes f32, f16 or bf16 (use --quantize %s)",
                                   type_name, type_name);
    }
    if (quant_name) {
        if (presso_type_from_name(quant_name, &job.type) != PRESSO_OK) return cli_usage_error("%s", presso_last_error());
        const presso_type_traits *t = presso_type_traits_of(job.type);
        if (!t->is_quantized) return cli_usage_error("prune: --quantize %s is not a quantized type (use --type)", quant_name);
        if (!presso_prune_type_keeps_zeros(job.type) || (pm->joint && !presso_grid_supported(job.type)))
            return cli_usage_error("prune: --quantize %s cannot hold the pruned zeros exactly (its grid has an "
                                   "offset); use q4_0, q5_0, q8_0, q3_k or q6_k", quant_name);
        job.quantize = true;
    }
    if (job.type_map_spec) {
        if (!cli_parse_type_map(job.type_map_spec, job.types, MAX_MAP, &job.n_types)) return 2;
        /* token_embd / output are not pruned: any type; a pruned linear's type must hold its zeros */
        for (int i = 0; i < job.n_types; i++) {
            const presso_type_override *o = &job.types[i];
            if (strcmp(o->name, "token_embd") == 0 || strcmp(o->name, "output") == 0) continue;
            const bool quantized = presso_type_traits_of(o->type)->is_quantized;
            if (!presso_prune_type_keeps_zeros(o->type) || (quantized && pm->joint && !presso_grid_supported(o->type)))
                return cli_usage_error("prune: --type-map %s=%s cannot hold the pruned zeros exactly; a pruned "
                                       "linear takes f32, f16, bf16, q4_0, q5_0, q8_0, q3_k or q6_k", o->name,
                                       presso_type_name(o->type));
            if (quantized && !job.quantize)
                return cli_usage_error("prune: --type-map %s=%s quantizes a pruned linear; give --quantize TYPE too",
                                       o->name, presso_type_name(o->type));
        }
    }
    if (needs_calibration(pm) && !job.calib_file)
        return cli_usage_error("prune: %s needs calibration text: --calib FILE (e.g. "
                               "../shared/data/tinystories/sample.txt; never the evaluation text)", pm->name);
    if (!needs_calibration(pm) && (job.calib_file || calib_opts))
        return cli_usage_error("prune: %s uses no calibration; drop --calib/--calib-count/--calib-len/--seed",
                               pm->name);
    if (same_file(job.in, job.out))
        return cli_usage_error("prune: the output %s is the input; refusing to overwrite it", job.out);

    presso_model *m;
    int rc = cli_open_model(job.in, job.tokenizer, &m);
    if (rc) return rc;
    rc = pm->run(&job, m);
    prune_meta meta = {&job, 0, 0};
    if (rc == 0 && count_linears(m, &meta.linear_params, &meta.linear_nonzero) != PRESSO_OK) rc = cli_fail();
    if (rc == 0) {
        presso_save_params sp = {.type = job.type, .keep_types = true, .write_metadata = write_meta,
                                 .metadata_user = &meta};
        if (presso_model_save_gguf(m, job.out, &sp) != PRESSO_OK) rc = cli_fail();
    }
    if (rc == 0) rc = report(&job, m, &meta, json);
    presso_calib_set_free(job.calib);
    presso_model_free(m);
    return rc;
}
