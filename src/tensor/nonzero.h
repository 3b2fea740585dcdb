/* Non-zero weights of a tensor, counted on its decoded values (a pruned
 * weight of a symmetric block type decodes to exactly 0), for info and the
 * pruning reports. */
#ifndef PRESSO_TENSOR_NONZERO_H
#define PRESSO_TENSOR_NONZERO_H

#include <stdint.h>

#include "presso.h"
#include "tensor/tensor.h"

presso_status presso_tensor_count_nonzero(const presso_tensor *t, int64_t *nonzero);

#endif
