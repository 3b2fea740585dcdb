/* A tensor view: shape, type and a pointer to its bytes (usually inside a
 * mapped file; the tensor never owns them). ne[0] is the contiguous row
 * length, as in ggml/GGUF: a linear layer's weight is ne = {in, out}. */
#ifndef PRESSO_TENSOR_TENSOR_H
#define PRESSO_TENSOR_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "presso.h"

#define PRESSO_MAX_DIMS 4
#define PRESSO_MAX_NAME 128

typedef struct {
    char name[PRESSO_MAX_NAME];
    presso_type type;
    int n_dims;
    int64_t ne[PRESSO_MAX_DIMS]; /* unused dims are 1 */
    const void *data;
    size_t nbytes;
    /* NULL, or the same weights row-interleaved for the CPU matmul
     * (repack.h), made by presso_model_repack for running a model: matmul
     * reads it instead of data. Whoever changes data must clear it. */
    const void *packed;
} presso_tensor;

static inline int64_t presso_tensor_nelements(const presso_tensor *t) {
    return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}

#endif
