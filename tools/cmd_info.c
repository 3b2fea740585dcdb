/* presso info MODEL [--flops-ctx N] [--json] */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/error.h"
#include "tensor/nonzero.h"
#include "tensor/sparse.h"
#include "eval/cost.h"
#include "tensor/types.h"

static const char *format_name(presso_model_format f) {
    return f == PRESSO_FORMAT_GGUF ? "gguf" : f == PRESSO_FORMAT_HF ? "hf-safetensors" : "llama2c";
}

typedef struct {
    int64_t tensors, params, bytes, nonzero; /* nonzero: decoded weights != 0 (pruning leaves exact zeros) */
} type_stats;

/* Rows of the stats table: ggml's ids, then presso's sparse ids. */
enum { N_SLOTS = PRESSO_TYPE_COUNT + (PRESSO_TYPE_SPARSE_END - PRESSO_TYPE_SPARSE_FIRST) };

static int slot_of(presso_type t) {
    return presso_type_is_sparse((int)t) ? (int)PRESSO_TYPE_COUNT + ((int)t - (int)PRESSO_TYPE_SPARSE_FIRST) : (int)t;
}

static presso_type type_of_slot(int i) {
    return (presso_type)(i < PRESSO_TYPE_COUNT ? i : PRESSO_TYPE_SPARSE_FIRST + (i - PRESSO_TYPE_COUNT));
}

/* Bytes the same parameters take in the dense type of a sparse type's
 * values (f16, or q4_0 for s24_q4): what the sparse encoding saves. */
static int64_t dense_equivalent_bytes(presso_type t, int64_t params) {
    if (t == PRESSO_TYPE_S24_F16) return params * 2;
    if (t == PRESSO_TYPE_S24_Q4) return params / 32 * 18;
    return -1;
}

/* Per role (token_embd, attn_q, ..., ffn_down) as well as per type: pruning
 * shows up by role. */
static const char *const role_names[] = {"token_embd", "output_norm", "output", "attn_norm", "attn_q", "attn_k",
                                         "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"};
enum { N_ROLES = sizeof role_names / sizeof role_names[0] };

static presso_status add_tensor(type_stats *stats, type_stats *roles, int role, const presso_tensor *t) {
    int64_t nz = 0;
    PRESSO_TRY(presso_tensor_count_nonzero(t, &nz));
    roles[role].tensors++;
    roles[role].params += presso_tensor_nelements(t);
    roles[role].bytes += (int64_t)t->nbytes;
    roles[role].nonzero += nz;
    stats[slot_of(t->type)].tensors++;
    stats[slot_of(t->type)].params += presso_tensor_nelements(t);
    stats[slot_of(t->type)].bytes += (int64_t)t->nbytes;
    stats[slot_of(t->type)].nonzero += nz;
    return PRESSO_OK;
}

int cmd_info(int argc, char **argv) {
    const char *path = NULL, *tokenizer = NULL, *v = NULL;
    bool json = false;
    int64_t flops_ctx = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_flag(argv[i], NULL, "--json")) json = true;
        else if (cli_option(argv, argc, &i, NULL, "--flops-ctx", &v)) {
            if (!cli_int("--flops-ctx", v, 1, 1 << 24, &flops_ctx)) return 2;
        }
        else if (cli_option(argv, argc, &i, "-z", "--tokenizer", &v)) {
            if (!v) return cli_usage_error("-z needs a path");
            tokenizer = v;
        } else if (argv[i][0] == '-') return cli_usage_error("info: unknown option '%s'", argv[i]);
        else if (!path) path = argv[i];
        else return cli_usage_error("info: unexpected argument '%s'", argv[i]);
    }
    if (!path) return cli_usage_error("usage: presso info MODEL [--json]");
    presso_model *m;
    int rc = cli_open_model(path, tokenizer, &m);
    if (rc) return rc;
    const presso_llama_config *c = &m->config;
    type_stats stats[N_SLOTS];
    memset(stats, 0, sizeof stats);
    type_stats roles[N_ROLES];
    memset(roles, 0, sizeof roles);
    presso_status st = add_tensor(stats, roles, 0, &m->token_embd);
    if (st == PRESSO_OK) st = add_tensor(stats, roles, 1, &m->output_norm);
    if (st == PRESSO_OK && !c->tied_embeddings) st = add_tensor(stats, roles, 2, &m->output);
    for (int l = 0; l < c->n_layers && st == PRESSO_OK; l++) {
        const presso_llama_layer *L = &m->layers[l];
        const presso_tensor *all[] = {&L->attn_norm, &L->wq, &L->wk, &L->wv, &L->wo,
                                      &L->ffn_norm, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < 9 && st == PRESSO_OK; i++) st = add_tensor(stats, roles, 3 + (int)i, all[i]);
    }
    if (st != PRESSO_OK) {
        presso_model_free(m);
        return cli_fail();
    }
    int64_t nonzero = 0;
    for (int t = 0; t < N_SLOTS; t++) nonzero += stats[t].nonzero;
    const int64_t params = presso_model_n_params(m), bytes = presso_model_weight_bytes(m);
    presso_cost cost;
    if (presso_model_cost(m, (int32_t)flops_ctx, &cost) != PRESSO_OK) {
        presso_model_free(m);
        return cli_fail();
    }
    const double bpw = params ? 8.0 * (double)bytes / (double)params : 0;
    const char *tok = m->tokenizer ? presso_tokenizer_kind_name(m->tokenizer) : "none";
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "path", m->path);
        cJSON_AddStringToObject(o, "name", m->name);
        cJSON_AddStringToObject(o, "format", format_name(m->format));
        cJSON_AddStringToObject(o, "architecture", "llama");
        cJSON_AddNumberToObject(o, "dim", c->dim);
        cJSON_AddNumberToObject(o, "hidden_dim", c->hidden_dim);
        cJSON_AddNumberToObject(o, "n_layers", c->n_layers);
        cJSON_AddNumberToObject(o, "n_heads", c->n_heads);
        cJSON_AddNumberToObject(o, "n_kv_heads", c->n_kv_heads);
        cJSON_AddNumberToObject(o, "head_dim", c->head_dim);
        cJSON_AddNumberToObject(o, "vocab_size", c->vocab_size);
        cJSON_AddNumberToObject(o, "context_length", c->max_seq_len);
        cJSON_AddNumberToObject(o, "rope_theta", c->rope_theta);
        cJSON_AddNumberToObject(o, "norm_eps", c->norm_eps);
        cJSON_AddStringToObject(o, "rope_layout", c->rope_style == PRESSO_ROPE_HALF ? "rotate_half" : "interleaved");
        cJSON_AddBoolToObject(o, "tied_embeddings", c->tied_embeddings);
        cJSON_AddStringToObject(o, "tokenizer", tok);
        cJSON_AddNumberToObject(o, "n_params", (double)params);
        cJSON_AddNumberToObject(o, "weight_bytes", (double)bytes);
        cJSON_AddNumberToObject(o, "bits_per_weight", bpw);
        cJSON_AddNumberToObject(o, "n_nonzero", (double)nonzero);
        cJSON_AddNumberToObject(o, "sparsity", params ? 1.0 - (double)nonzero / (double)params : 0.0);
        cJSON_AddNumberToObject(o, "file_bytes", (double)cost.file_bytes);
        cJSON_AddNumberToObject(o, "ratio_vs_f16", cost.ratio_vs_f16);
        cJSON_AddNumberToObject(o, "flops_ctx", cost.flops_ctx);
        cJSON_AddNumberToObject(o, "flops_per_token_dense", cost.flops_dense);
        cJSON_AddNumberToObject(o, "flops_per_token_effective", cost.flops_effective);
        cJSON *types = cJSON_AddObjectToObject(o, "tensor_types");
        for (int t = 0; t < N_SLOTS; t++) {
            if (!stats[t].tensors) continue;
            cJSON *e = cJSON_AddObjectToObject(types, presso_type_name(type_of_slot(t)));
            cJSON_AddNumberToObject(e, "tensors", (double)stats[t].tensors);
            cJSON_AddNumberToObject(e, "params", (double)stats[t].params);
            cJSON_AddNumberToObject(e, "bytes", (double)stats[t].bytes);
            cJSON_AddNumberToObject(e, "nonzero", (double)stats[t].nonzero);
            cJSON_AddNumberToObject(e, "sparsity", stats[t].params ? 1.0 - (double)stats[t].nonzero / (double)stats[t].params : 0.0);
            const int64_t dense = dense_equivalent_bytes(type_of_slot(t), stats[t].params);
            if (dense > 0) cJSON_AddNumberToObject(e, "dense_equivalent_bytes", (double)dense);
        }
        cJSON *by_role = cJSON_AddObjectToObject(o, "tensor_roles");
        for (int r = 0; r < N_ROLES; r++) {
            if (!roles[r].tensors) continue;
            cJSON *e = cJSON_AddObjectToObject(by_role, role_names[r]);
            cJSON_AddNumberToObject(e, "tensors", (double)roles[r].tensors);
            cJSON_AddNumberToObject(e, "params", (double)roles[r].params);
            cJSON_AddNumberToObject(e, "nonzero", (double)roles[r].nonzero);
            cJSON_AddNumberToObject(e, "sparsity", 1.0 - (double)roles[r].nonzero / (double)roles[r].params);
        }
        char *s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("model        %s (%s)\n", m->name, m->path);
        printf("format       %s, architecture llama, tokenizer %s\n", format_name(m->format), tok);
        printf("shape        dim %d, hidden %d, layers %d, heads %d (kv %d, head_dim %d), vocab %d, context %d\n",
               c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim, c->vocab_size,
               c->max_seq_len);
        printf("rope         theta %g, %s layout; rms eps %g; %s embeddings\n", (double)c->rope_theta,
               c->rope_style == PRESSO_ROPE_HALF ? "rotate_half" : "interleaved", (double)c->norm_eps,
               c->tied_embeddings ? "tied" : "untied");
        printf("parameters   %lld (%.3f M)\n", (long long)params, (double)params / 1e6);
        printf("weights      %lld bytes (%.2f MiB), %.3f bits per weight\n", (long long)bytes,
               (double)bytes / (1024.0 * 1024.0), bpw);
        printf("non-zero     %lld (sparsity %.2f%%)\n", (long long)nonzero,
               params ? 100.0 * (1.0 - (double)nonzero / (double)params) : 0.0);
        printf("on disk      %lld bytes; compression vs f16 %.2fx\n", (long long)cost.file_bytes, cost.ratio_vs_f16);
        printf("FLOPs/token  %.4g dense, %.4g effective (non-zero weights), attention at context %d\n",
               cost.flops_dense, cost.flops_effective, cost.flops_ctx);
        printf("tensor types\n");
        for (int t = 0; t < N_SLOTS; t++) {
            if (!stats[t].tensors) continue;
            printf("  %-7s %4lld tensors %12lld params %12lld bytes %12lld non-zero (%6.2f%% zero)",
                   presso_type_name(type_of_slot(t)), (long long)stats[t].tensors, (long long)stats[t].params,
                   (long long)stats[t].bytes, (long long)stats[t].nonzero,
                   stats[t].params ? 100.0 * (1.0 - (double)stats[t].nonzero / (double)stats[t].params) : 0.0);
            const int64_t dense = dense_equivalent_bytes(type_of_slot(t), stats[t].params);
            if (dense > 0)
                printf(" (2:4 sparse: %.1f%% of the %lld bytes dense %s takes)",
                       100.0 * (double)stats[t].bytes / (double)dense, (long long)dense,
                       type_of_slot(t) == PRESSO_TYPE_S24_F16 ? "f16" : "q4_0");
            printf("\n");
        }
        if (nonzero < params) { /* a pruned model: where the zeros are */
            printf("sparsity by tensor\n");
            for (int r = 0; r < N_ROLES; r++)
                if (roles[r].tensors && roles[r].params)
                    printf("  %-11s %12lld params %12lld non-zero (%6.2f%% zero)\n", role_names[r],
                           (long long)roles[r].params, (long long)roles[r].nonzero,
                           100.0 * (1.0 - (double)roles[r].nonzero / (double)roles[r].params));
        }
    }
    presso_model_free(m);
    return 0;
}
