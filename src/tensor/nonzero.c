#include "tensor/nonzero.h"

#include <stdlib.h>

#include "core/error.h"
#include "tensor/types.h"

presso_status presso_tensor_count_nonzero(const presso_tensor *t, int64_t *nonzero) {
    *nonzero = 0;
    const presso_type_traits *tr = presso_type_traits_of(t->type);
    const int64_t cols = t->ne[0], rows = cols > 0 ? presso_tensor_nelements(t) / cols : 0;
    const int64_t row_bytes = tr ? presso_row_bytes(t->type, cols) : -1;
    if (!tr || !tr->to_float || row_bytes < 0 || (size_t)(row_bytes * rows) > t->nbytes)
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: cannot decode its %s rows", t->name, tr ? tr->name : "?");
    float *row = malloc(sizeof(float) * (size_t)cols);
    if (!row) return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", t->name);
    int64_t n = 0;
    for (int64_t r = 0; r < rows; r++) {
        tr->to_float((const uint8_t *)t->data + r * row_bytes, row, cols);
        for (int64_t j = 0; j < cols; j++) n += row[j] != 0.0f;
    }
    free(row);
    *nonzero = n;
    return PRESSO_OK;
}
