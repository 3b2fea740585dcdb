#include "eval/cost.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "tensor/types.h"

/* Non-zero elements of a tensor, counted on its dequantized rows. */
static presso_status count_nonzero(const presso_tensor *t, float *row, int64_t *out) {
    const presso_type_traits *tr = presso_type_traits_of(t->type);
    const int64_t width = t->ne[0], rows = presso_tensor_nelements(t) / (width > 0 ? width : 1);
    const int64_t row_bytes = presso_row_bytes(t->type, width);
    if (!tr || row_bytes < 0)
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "tensor %s: rows of %lld elements do not fit type %d", t->name,
                           (long long)width, (int)t->type);
    int64_t nz = 0;
    for (int64_t r = 0; r < rows; r++) {
        tr->to_float((const uint8_t *)t->data + r * row_bytes, row, width);
        for (int64_t i = 0; i < width; i++) nz += row[i] != 0.0f;
    }
    *out = nz;
    return PRESSO_OK;
}

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
    int64_t widest = c->dim > c->hidden_dim ? c->dim : c->hidden_dim;
    if (c->n_heads * c->head_dim > widest) widest = (int64_t)c->n_heads * c->head_dim;
    float *row = malloc(sizeof(float) * (size_t)widest);
    if (!row) return presso_fail(PRESSO_ERR_NOMEM, "out of memory");
    presso_status st = PRESSO_OK;
    int64_t nz = 0;
    for (int32_t l = 0; st == PRESSO_OK && l < c->n_layers; l++) {
        const presso_llama_layer *L = &m->layers[l];
        const presso_tensor *mats[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        const presso_tensor *norms[] = {&L->attn_norm, &L->ffn_norm};
        for (size_t i = 0; st == PRESSO_OK && i < 7; i++) {
            st = count_nonzero(mats[i], row, &nz);
            out->n_matmul += presso_tensor_nelements(mats[i]);
            out->n_matmul_nonzero += nz;
            out->n_nonzero += nz;
        }
        for (size_t i = 0; st == PRESSO_OK && i < 2; i++) {
            st = count_nonzero(norms[i], row, &nz);
            out->n_nonzero += nz;
        }
    }
    if (st == PRESSO_OK) st = count_nonzero(&m->output_norm, row, &nz);
    if (st == PRESSO_OK) {
        out->n_nonzero += nz;
        st = count_nonzero(&m->output, row, &nz);
    }
    if (st == PRESSO_OK) {
        out->n_matmul += presso_tensor_nelements(&m->output);
        out->n_matmul_nonzero += nz;
        out->n_nonzero += nz; /* the output head, or the tied embedding counted once */
        if (!c->tied_embeddings) st = count_nonzero(&m->token_embd, row, &nz);
        if (st == PRESSO_OK && !c->tied_embeddings) out->n_nonzero += nz;
    }
    free(row);
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
