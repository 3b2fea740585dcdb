/* GGUF block types: byte layouts and the reference (plain C) conversions,
 * bit-exact with llama.cpp's ggml-quants.c. Every SIMD kernel is tested
 * against these. n is always a multiple of the type's block size. */
#ifndef PRESSO_TENSOR_QUANTS_H
#define PRESSO_TENSOR_QUANTS_H

#include <stdbool.h>
#include <stdint.h>

#include "presso.h"
#include "tensor/fp16.h"

#define PRESSO_QK4_0 32
#define PRESSO_QK4_1 32
#define PRESSO_QK5_0 32
#define PRESSO_QK5_1 32
#define PRESSO_QK8_0 32
#define PRESSO_QK8_1 32
#define PRESSO_QK_K 256
#define PRESSO_K_SCALE_SIZE 12

typedef struct { presso_f16 d; uint8_t qs[PRESSO_QK4_0 / 2]; } presso_block_q4_0;
typedef struct { presso_f16 d, m; uint8_t qs[PRESSO_QK4_1 / 2]; } presso_block_q4_1;
typedef struct { presso_f16 d; uint8_t qh[4]; uint8_t qs[PRESSO_QK5_0 / 2]; } presso_block_q5_0;
typedef struct { presso_f16 d, m; uint8_t qh[4]; uint8_t qs[PRESSO_QK5_1 / 2]; } presso_block_q5_1;
typedef struct { presso_f16 d; int8_t qs[PRESSO_QK8_0]; } presso_block_q8_0;
typedef struct { presso_f16 d, s; int8_t qs[PRESSO_QK8_1]; } presso_block_q8_1;
typedef struct { uint8_t scales[PRESSO_QK_K / 16]; uint8_t qs[PRESSO_QK_K / 4]; presso_f16 d, dmin; } presso_block_q2_K;
typedef struct { uint8_t hmask[PRESSO_QK_K / 8]; uint8_t qs[PRESSO_QK_K / 4]; uint8_t scales[12]; presso_f16 d; } presso_block_q3_K;
typedef struct { presso_f16 d, dmin; uint8_t scales[PRESSO_K_SCALE_SIZE]; uint8_t qs[PRESSO_QK_K / 2]; } presso_block_q4_K;
typedef struct { presso_f16 d, dmin; uint8_t scales[PRESSO_K_SCALE_SIZE]; uint8_t qh[PRESSO_QK_K / 8]; uint8_t qs[PRESSO_QK_K / 2]; } presso_block_q5_K;
typedef struct { uint8_t ql[PRESSO_QK_K / 2]; uint8_t qh[PRESSO_QK_K / 4]; int8_t scales[PRESSO_QK_K / 16]; presso_f16 d; } presso_block_q6_K;
typedef struct { float d; int8_t qs[PRESSO_QK_K]; int16_t bsums[PRESSO_QK_K / 16]; } presso_block_q8_K;

_Static_assert(sizeof(presso_block_q4_0) == 18, "q4_0 layout");
_Static_assert(sizeof(presso_block_q4_1) == 20, "q4_1 layout");
_Static_assert(sizeof(presso_block_q5_0) == 22, "q5_0 layout");
_Static_assert(sizeof(presso_block_q5_1) == 24, "q5_1 layout");
_Static_assert(sizeof(presso_block_q8_0) == 34, "q8_0 layout");
_Static_assert(sizeof(presso_block_q8_1) == 36, "q8_1 layout");
_Static_assert(sizeof(presso_block_q2_K) == 84, "q2_K layout");
_Static_assert(sizeof(presso_block_q3_K) == 110, "q3_K layout");
_Static_assert(sizeof(presso_block_q4_K) == 144, "q4_K layout");
_Static_assert(sizeof(presso_block_q5_K) == 176, "q5_K layout");
_Static_assert(sizeof(presso_block_q6_K) == 210, "q6_K layout");
_Static_assert(sizeof(presso_block_q8_K) == 292, "q8_K layout");

/* ggml's get_scale_min_k4: the 6-bit scale and min of sub-block j from the
 * 12 packed bytes of Q4_K/Q5_K. */
static inline void presso_get_scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
    }
}

/* The inverse packing, as written inline in quantize_row_q4_K_ref (scales
 * must start zeroed: the high bits are or'ed in). */
static inline void presso_set_scale_min_k4(uint8_t *scales, int j, uint8_t ls, uint8_t lm) {
    if (j < 4) {
        scales[j] = ls;
        scales[j + 4] = lm;
    } else {
        scales[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
        scales[j - 4] |= (uint8_t)((ls >> 4) << 6);
        scales[j - 0] |= (uint8_t)((lm >> 4) << 6);
    }
}

/* Plain float types. */
void presso_f32_to_float(const void *src, float *dst, int64_t n);
void presso_f16_to_float(const void *src, float *dst, int64_t n);
void presso_bf16_to_float(const void *src, float *dst, int64_t n);
void presso_float_to_f32(const float *src, void *dst, int64_t n);
void presso_float_to_f16(const float *src, void *dst, int64_t n);
void presso_float_to_bf16(const float *src, void *dst, int64_t n);

/* Dequantization (ggml's dequantize_row_*). */
void presso_dequantize_q4_0(const void *src, float *dst, int64_t n);
void presso_dequantize_q4_1(const void *src, float *dst, int64_t n);
void presso_dequantize_q5_0(const void *src, float *dst, int64_t n);
void presso_dequantize_q5_1(const void *src, float *dst, int64_t n);
void presso_dequantize_q8_0(const void *src, float *dst, int64_t n);
void presso_dequantize_q8_1(const void *src, float *dst, int64_t n);
void presso_dequantize_q2_K(const void *src, float *dst, int64_t n);
void presso_dequantize_q3_K(const void *src, float *dst, int64_t n);
void presso_dequantize_q4_K(const void *src, float *dst, int64_t n);
void presso_dequantize_q5_K(const void *src, float *dst, int64_t n);
void presso_dequantize_q6_K(const void *src, float *dst, int64_t n);
void presso_dequantize_q8_K(const void *src, float *dst, int64_t n);

/* False when any of the n floats is inf or nan. The quantizers below do not
 * crash on non-finite input but their output is then unspecified (as in
 * llama.cpp): callers refuse such tensors with an error first. */
bool presso_floats_all_finite(const float *x, int64_t n);

/* Reference quantizers (ggml's quantize_row_*_ref), byte-identical output. */
void presso_quantize_q4_0_ref(const float *src, void *dst, int64_t n);
void presso_quantize_q4_1_ref(const float *src, void *dst, int64_t n);
void presso_quantize_q5_0_ref(const float *src, void *dst, int64_t n);
void presso_quantize_q5_1_ref(const float *src, void *dst, int64_t n);
void presso_quantize_q8_0_ref(const float *src, void *dst, int64_t n);
void presso_quantize_q8_1_ref(const float *src, void *dst, int64_t n);
void presso_quantize_q2_K_ref(const float *src, void *dst, int64_t n);
void presso_quantize_q3_K_ref(const float *src, void *dst, int64_t n);
void presso_quantize_q4_K_ref(const float *src, void *dst, int64_t n);
void presso_quantize_q5_K_ref(const float *src, void *dst, int64_t n);
void presso_quantize_q6_K_ref(const float *src, void *dst, int64_t n);
void presso_quantize_q8_K_ref(const float *src, void *dst, int64_t n);

/* Importance-weighted quantizers (quants_imatrix.c): ggml's
 * quantize_row_*_impl with quant_weights, i.e. what llama-quantize --imatrix
 * writes; imatrix holds n per-column importances (mean x² over calibration).
 * One row of n elements (a multiple of the block size). False, writing
 * nothing, for a type without a weighted path (Q8_0 and the float types:
 * llama.cpp ignores the importance there). */
bool presso_quantize_has_weighted(presso_type type);
bool presso_quantize_row_weighted(presso_type type, const float *x, void *dst, int64_t n, const float *imatrix);

#endif
