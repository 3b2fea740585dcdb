/* presso info MODEL [--flops-ctx N] [--json] */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "eval/cost.h"
#include "tensor/types.h"

static const char *format_name(presso_model_format f) {
    return f == PRESSO_FORMAT_GGUF ? "gguf" : f == PRESSO_FORMAT_HF ? "hf-safetensors" : "llama2c";
}

typedef struct {
    int64_t tensors, params, bytes;
} type_stats;

static void add_tensor(type_stats *stats, const presso_tensor *t) {
    stats[t->type].tensors++;
    stats[t->type].params += presso_tensor_nelements(t);
    stats[t->type].bytes += (int64_t)t->nbytes;
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
    type_stats stats[PRESSO_TYPE_COUNT];
    memset(stats, 0, sizeof stats);
    add_tensor(stats, &m->token_embd);
    add_tensor(stats, &m->output_norm);
    if (!c->tied_embeddings) add_tensor(stats, &m->output);
    for (int l = 0; l < c->n_layers; l++) {
        const presso_llama_layer *L = &m->layers[l];
        const presso_tensor *all[] = {&L->attn_norm, &L->wq, &L->wk, &L->wv, &L->wo,
                                      &L->ffn_norm, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < 9; i++) add_tensor(stats, all[i]);
    }
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
        cJSON_AddNumberToObject(o, "n_nonzero", (double)cost.n_nonzero);
        cJSON_AddNumberToObject(o, "file_bytes", (double)cost.file_bytes);
        cJSON_AddNumberToObject(o, "ratio_vs_f16", cost.ratio_vs_f16);
        cJSON_AddNumberToObject(o, "flops_ctx", cost.flops_ctx);
        cJSON_AddNumberToObject(o, "flops_per_token_dense", cost.flops_dense);
        cJSON_AddNumberToObject(o, "flops_per_token_effective", cost.flops_effective);
        cJSON *types = cJSON_AddObjectToObject(o, "tensor_types");
        for (int t = 0; t < PRESSO_TYPE_COUNT; t++) {
            if (!stats[t].tensors) continue;
            cJSON *e = cJSON_AddObjectToObject(types, presso_type_name((presso_type)t));
            cJSON_AddNumberToObject(e, "tensors", (double)stats[t].tensors);
            cJSON_AddNumberToObject(e, "params", (double)stats[t].params);
            cJSON_AddNumberToObject(e, "bytes", (double)stats[t].bytes);
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
        printf("non-zero     %lld weights (%.2f%% sparse)\n", (long long)cost.n_nonzero,
               params ? 100.0 * (double)(params - cost.n_nonzero) / (double)params : 0.0);
        printf("on disk      %lld bytes; compression vs f16 %.2fx\n", (long long)cost.file_bytes, cost.ratio_vs_f16);
        printf("FLOPs/token  %.4g dense, %.4g effective (non-zero weights), attention at context %d\n",
               cost.flops_dense, cost.flops_effective, cost.flops_ctx);
        printf("tensor types\n");
        for (int t = 0; t < PRESSO_TYPE_COUNT; t++)
            if (stats[t].tensors)
                printf("  %-6s %4lld tensors %12lld params %12lld bytes\n", presso_type_name((presso_type)t),
                       (long long)stats[t].tensors, (long long)stats[t].params, (long long)stats[t].bytes);
    }
    presso_model_free(m);
    return 0;
}
