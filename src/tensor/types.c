#include "tensor/types.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "tensor/quants.h"

#define QUANT_ROW(id, nm, qk, block, suffix)                                                       \
    [id] = {nm, qk, sizeof(block), true, presso_dequantize_##suffix, presso_quantize_##suffix##_ref}

static const presso_type_traits type_table[PRESSO_TYPE_COUNT] = {
    [PRESSO_TYPE_F32] = {"f32", 1, 4, false, presso_f32_to_float, presso_float_to_f32},
    [PRESSO_TYPE_F16] = {"f16", 1, 2, false, presso_f16_to_float, presso_float_to_f16},
    [PRESSO_TYPE_BF16] = {"bf16", 1, 2, false, presso_bf16_to_float, presso_float_to_bf16},
    /* Quantized block types: rows added with their reference conversions (quants_ref.c). */
};

const presso_type_traits *presso_type_traits_of(int type_id) {
    if (type_id < 0 || type_id >= PRESSO_TYPE_COUNT) return NULL;
    const presso_type_traits *t = &type_table[type_id];
    return t->name ? t : NULL;
}

int64_t presso_row_bytes(presso_type type, int64_t n) {
    const presso_type_traits *t = presso_type_traits_of(type);
    if (!t || n < 0 || n % t->block_size != 0) return -1;
    return n / t->block_size * (int64_t)t->block_bytes;
}

const char *presso_type_name(presso_type t) {
    const presso_type_traits *traits = presso_type_traits_of(t);
    return traits ? traits->name : NULL;
}

presso_status presso_type_from_name(const char *name, presso_type *out) {
    for (int i = 0; i < PRESSO_TYPE_COUNT; i++) {
        if (type_table[i].name && strcasecmp(type_table[i].name, name) == 0) {
            *out = (presso_type)i;
            return PRESSO_OK;
        }
    }
    return presso_fail(PRESSO_ERR_INVALID_ARG, "unknown tensor type '%s'", name);
}
