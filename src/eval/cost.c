#include "eval/cost.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "tensor/nonzero.h"
#include "tensor/types.h"

static bool ends_with(const char *s, const char *suffix) {
    const size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* A file's size; for a Hugging Face directory the sum of its .safetensors. */
static int64_t disk_bytes(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    if (S_ISREG(st.st_mode)) return (int64_t)st.st_size;
    if (!S_ISDIR(st.st_mode)) return 0;
    DIR *d = opendir(path);
    if (!d) return 0;
    int64_t total = 0;
    char full[8192];
    for (struct dirent *e; (e = readdir(d));) {
        if (!ends_with(e->d_name, ".safetensors")) continue;
        snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) total += (int64_t)st.st_size;
    }
    closedir(d);
    return total;
}

presso_status presso_model_cost(const presso_model *m, int32_t n_ctx, presso_cost *out) {
    memset(out, 0, sizeof *out);
    const presso_llama_config *c = &m->config;
    presso_status st = PRESSO_OK;
    int64_t nz = 0;
    for (int32_t l = 0; st == PRESSO_OK && l < c->n_layers; l++) {
        const presso_llama_layer *L = &m->layers[l];
        const presso_tensor *mats[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        const presso_tensor *norms[] = {&L->attn_norm, &L->ffn_norm};
        for (size_t i = 0; st == PRESSO_OK && i < 7; i++) {
            st = presso_tensor_count_nonzero(mats[i], &nz);
            out->n_matmul += presso_tensor_nelements(mats[i]);
            out->n_matmul_nonzero += nz;
            out->n_nonzero += nz;
        }
        for (size_t i = 0; st == PRESSO_OK && i < 2; i++) {
            st = presso_tensor_count_nonzero(norms[i], &nz);
            out->n_nonzero += nz;
        }
    }
    if (st == PRESSO_OK) st = presso_tensor_count_nonzero(&m->output_norm, &nz);
    if (st == PRESSO_OK) {
        out->n_nonzero += nz;
        st = presso_tensor_count_nonzero(&m->output, &nz);
    }
    if (st == PRESSO_OK) {
        out->n_matmul += presso_tensor_nelements(&m->output);
        out->n_matmul_nonzero += nz;
        out->n_nonzero += nz; /* the output head, or the tied embedding counted once */
        if (!c->tied_embeddings) st = presso_tensor_count_nonzero(&m->token_embd, &nz);
        if (st == PRESSO_OK && !c->tied_embeddings) out->n_nonzero += nz;
    }
    if (st != PRESSO_OK) return presso_fail(st, "%s: %s", m->path, presso_last_error());
    out->n_params = presso_model_n_params(m);
    out->weight_bytes = presso_model_weight_bytes(m);
    out->file_bytes = disk_bytes(m->path);
    out->bits_per_weight = out->n_params ? 8.0 * (double)out->weight_bytes / (double)out->n_params : 0;
    out->ratio_vs_f16 = out->weight_bytes ? 2.0 * (double)out->n_params / (double)out->weight_bytes : 0;
    out->flops_ctx = n_ctx > 0 ? n_ctx : c->max_seq_len;
    out->flops_attention = 4.0 * c->n_layers * (double)c->n_heads * c->head_dim * out->flops_ctx;
    out->flops_dense = 2.0 * (double)out->n_matmul + out->flops_attention;
    out->flops_effective = 2.0 * (double)out->n_matmul_nonzero + out->flops_attention;
    return PRESSO_OK;
}
