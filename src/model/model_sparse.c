#include "model/model_sparse.h"

#include <stdlib.h>

#include "core/error.h"
#include "tensor/sparse.h"
#include "tensor/types.h"

static presso_status encode_tensor(presso_model *m, presso_tensor *t, presso_type type, int64_t *dense,
                                   int64_t *sparse) {
    const int64_t in = t->ne[0], rows = presso_tensor_nelements(t) / in;
    const presso_type_traits *tr = presso_type_traits_of(t->type);
    if (presso_type_is_sparse(t->type))
        return presso_fail(PRESSO_ERR_INVALID_ARG, "%s: tensor %s is already %s", m->path, t->name, tr->name);
    const int64_t block = presso_type_traits_of(type)->block_size;
    if (in % block != 0)
        return presso_fail(PRESSO_ERR_SHAPE, "%s: tensor %s has rows of %lld; %s rows are a multiple of %lld",
                           m->path, t->name, (long long)in, presso_type_traits_of(type)->name, (long long)block);
    const int64_t out_row = presso_row_bytes(type, in);
    const size_t in_row = (size_t)presso_row_bytes(t->type, in);
    uint8_t *dst = malloc((size_t)(out_row * rows));
    if (!dst) return presso_fail(PRESSO_ERR_NOMEM, "out of memory encoding %s", t->name);
    /* rows in parallel; the first row that breaks the pattern is reported */
    int64_t bad_row = rows, bad_col = 0;
#pragma omp parallel
    {
        float *mine = malloc(sizeof(float) * (size_t)in);
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            int64_t col = 0;
            if (!mine) continue;
            tr->to_float((const uint8_t *)t->data + (size_t)r * in_row, mine, in);
            if (presso_s24_encode_row(type, mine, dst + r * out_row, in, &col) != PRESSO_OK) {
#pragma omp critical
                if (r < bad_row) {
                    bad_row = r;
                    bad_col = col;
                }
            }
        }
        if (!mine) {
#pragma omp critical
            bad_row = -1;
        }
        free(mine);
    }
    if (bad_row != rows) {
        free(dst);
        if (bad_row < 0) return presso_fail(PRESSO_ERR_NOMEM, "out of memory encoding %s", t->name);
        return presso_fail(PRESSO_ERR_INVALID_ARG,
                           "%s: tensor %s is not 2:4 sparse: row %lld, columns %lld..%lld hold more than 2 "
                           "non-zeros (prune it first, e.g. presso prune --nm 2:4, or convert --magnitude)",
                           m->path, t->name, (long long)bad_row, (long long)bad_col, (long long)bad_col + 3);
    }
    PRESSO_TRY(presso_model_own(m, dst));
    *dense += (int64_t)t->nbytes;
    t->type = type;
    t->data = dst;
    t->nbytes = (size_t)(out_row * rows);
    *sparse += (int64_t)t->nbytes;
    return PRESSO_OK;
}

presso_status presso_model_to_s24(presso_model *m, presso_type sparse_type, int64_t *n_bytes_dense,
                                  int64_t *n_bytes_sparse) {
    if (!presso_type_is_sparse(sparse_type))
        return presso_fail(PRESSO_ERR_INVALID_ARG, "type %d is not a 2:4 sparse type", (int)sparse_type);
    int64_t dense = 0, sparse = 0;
    for (int32_t l = 0; l < m->config.n_layers; l++) {
        presso_llama_layer *L = &m->layers[l];
        presso_tensor *ts[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int i = 0; i < 7; i++) PRESSO_TRY(encode_tensor(m, ts[i], sparse_type, &dense, &sparse));
    }
    if (n_bytes_dense) *n_bytes_dense = dense;
    if (n_bytes_sparse) *n_bytes_sparse = sparse;
    return PRESSO_OK;
}
