#include "tensor/types.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "tensor/lowbit.h"
#include "tensor/quants.h"
#include "tensor/sparse.h"
#include "tensor/w8a8.h"

#define QUANT_ROW(id, nm, qk, block, suffix)                                                       \
    [id] = {nm, qk, sizeof(block), true, 0, presso_dequantize_##suffix, presso_quantize_##suffix##_ref}

static const presso_type_traits type_table[PRESSO_TYPE_COUNT] = {
    [PRESSO_TYPE_F32] = {"f32", 1, 4, false, 0, presso_f32_to_float, presso_float_to_f32},
    [PRESSO_TYPE_F16] = {"f16", 1, 2, false, 0, presso_f16_to_float, presso_float_to_f16},
    [PRESSO_TYPE_BF16] = {"bf16", 1, 2, false, 0, presso_bf16_to_float, presso_float_to_bf16},
    /* Quantized block types (ggml's names); conversions in quants_ref.c and quants_k_ref.c. */
    QUANT_ROW(PRESSO_TYPE_Q4_0, "q4_0", PRESSO_QK4_0, presso_block_q4_0, q4_0),
    QUANT_ROW(PRESSO_TYPE_Q4_1, "q4_1", PRESSO_QK4_1, presso_block_q4_1, q4_1),
    QUANT_ROW(PRESSO_TYPE_Q5_0, "q5_0", PRESSO_QK5_0, presso_block_q5_0, q5_0),
    QUANT_ROW(PRESSO_TYPE_Q5_1, "q5_1", PRESSO_QK5_1, presso_block_q5_1, q5_1),
    QUANT_ROW(PRESSO_TYPE_Q8_0, "q8_0", PRESSO_QK8_0, presso_block_q8_0, q8_0),
    QUANT_ROW(PRESSO_TYPE_Q8_1, "q8_1", PRESSO_QK8_1, presso_block_q8_1, q8_1),
    QUANT_ROW(PRESSO_TYPE_Q2_K, "q2_K", PRESSO_QK_K, presso_block_q2_K, q2_K),
    QUANT_ROW(PRESSO_TYPE_Q3_K, "q3_K", PRESSO_QK_K, presso_block_q3_K, q3_K),
    QUANT_ROW(PRESSO_TYPE_Q4_K, "q4_K", PRESSO_QK_K, presso_block_q4_K, q4_K),
    QUANT_ROW(PRESSO_TYPE_Q5_K, "q5_K", PRESSO_QK_K, presso_block_q5_K, q5_K),
    QUANT_ROW(PRESSO_TYPE_Q6_K, "q6_K", PRESSO_QK_K, presso_block_q6_K, q6_K),
    QUANT_ROW(PRESSO_TYPE_Q8_K, "q8_K", PRESSO_QK_K, presso_block_q8_K, q8_K),
    /* presso-native (id 1000; llama.cpp refuses it): a row is [fp32 scale][int8 x n] (w8a8.h). */
    [PRESSO_TYPE_W8A8] = {"w8a8", 1, 1, true, PRESSO_W8A8_ROW_HEADER, presso_w8a8_to_float, presso_w8a8_from_float_ref},
    /* presso-native (ids 1001/1002; llama.cpp refuses them): 32-groups, f16 d and m, packed codes (lowbit.h). */
    [PRESSO_TYPE_Q3_G32] = {"q3_g32", PRESSO_QK_G32, sizeof(presso_block_q3_g32), true, 0, presso_dequantize_q3_g32,
                            presso_quantize_q3_g32_ref},
    [PRESSO_TYPE_Q2_G32] = {"q2_g32", PRESSO_QK_G32, sizeof(presso_block_q2_g32), true, 0, presso_dequantize_q2_g32,
                            presso_quantize_q2_g32_ref},
};

/* presso-native sparse rows (sparse.h), ids from PRESSO_TYPE_SPARSE_FIRST.
 * No from_float_ref: a dense row only becomes sparse through
 * presso_s24_encode_row, which refuses rows that break the pattern. */
static const presso_type_traits sparse_table[PRESSO_TYPE_SPARSE_END - PRESSO_TYPE_SPARSE_FIRST] = {
    [PRESSO_TYPE_S24_F16 - PRESSO_TYPE_SPARSE_FIRST] = {"s24_f16", PRESSO_QK_S24, sizeof(presso_block_s24_f16), false, 0,
                                                        presso_dequantize_s24_f16, NULL},
    [PRESSO_TYPE_S24_Q4 - PRESSO_TYPE_SPARSE_FIRST] = {"s24_q4", PRESSO_QK_S24_Q4, sizeof(presso_block_s24_q4), true, 0,
                                                       presso_dequantize_s24_q4, NULL},
};

const presso_type_traits *presso_type_traits_of(int type_id) {
    if (presso_type_is_sparse(type_id)) return &sparse_table[type_id - PRESSO_TYPE_SPARSE_FIRST];
    if (type_id < 0 || type_id >= PRESSO_TYPE_COUNT) return NULL;
    const presso_type_traits *t = &type_table[type_id];
    return t->name ? t : NULL;
}

int64_t presso_row_bytes(presso_type type, int64_t n) {
    const presso_type_traits *t = presso_type_traits_of(type);
    if (!t || n < 0 || n % t->block_size != 0) return -1;
    return n / t->block_size * (int64_t)t->block_bytes + (int64_t)t->row_header_bytes;
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
    for (int i = PRESSO_TYPE_SPARSE_FIRST; i < PRESSO_TYPE_SPARSE_END; i++) {
        if (strcasecmp(sparse_table[i - PRESSO_TYPE_SPARSE_FIRST].name, name) == 0) {
            *out = (presso_type)i;
            return PRESSO_OK;
        }
    }
    return presso_fail(PRESSO_ERR_INVALID_ARG, "unknown tensor type '%s'", name);
}
