/* A model's block linears in a 2:4 sparse type (tensor/sparse.h): the
 * write side of the native sparse encoding. */
#ifndef PRESSO_MODEL_MODEL_SPARSE_H
#define PRESSO_MODEL_MODEL_SPARSE_H

#include "model/model.h"

/* Encodes attn_q/k/v/output and ffn_gate/up/down of every layer as
 * sparse_type (S24_F16 or S24_Q4) into buffers owned by m. Every one of them
 * must already be 2:4 (at most 2 non-zeros in each 4 consecutive inputs):
 * the first that is not fails the call, naming tensor, row and columns, and
 * m is then unusable. token_embd and output are left as they are. *n_bytes_dense
 * and *n_bytes_sparse (may be NULL) receive the converted tensors' sizes. */
presso_status presso_model_to_s24(presso_model *m, presso_type sparse_type, int64_t *n_bytes_dense,
                                  int64_t *n_bytes_sparse);

#endif
