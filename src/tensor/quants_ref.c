/* Reference conversions for the 32-element block types (Q4_0, Q4_1, Q5_0,
 * Q5_1, Q8_0, Q8_1), bit-exact with llama.cpp's ggml/src/ggml-quants.c. The
 * K-quants (256-element super-blocks) are in quants_k_ref.c.
 *
 * Blocks come from mmaped files where they are not aligned (an 18-byte Q4_0
 * block after a 32-byte aligned tensor start), so every block is copied into
 * a local struct with memcpy and written back the same way: no misaligned
 * loads, no type punning.
 *
 * Float semantics: the same operations in the same order as ggml, never
 * contracted into FMA (see the note below). Non-finite inputs give
 * unspecified blocks (as in llama.cpp) but never undefined behaviour: every
 * float-to-integer conversion goes through cvt_i8, which is the identity on
 * in-range values and reproduces x86 llama.cpp on the rest. */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "tensor/quants.h"

#pragma STDC FP_CONTRACT OFF

bool presso_floats_all_finite(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        /* Exponent all ones is inf or nan; a bit test cannot be fooled by a
         * compiler that assumes finite math. */
        if ((presso_f32_to_bits(x[i]) & 0x7f800000u) == 0x7f800000u) return false;
    }
    return true;
}

/* ggml converts floats to bytes with plain casts: `(int8_t)(x0 + 8.5f)`,
 * `(uint8_t)(x0 + 0.5f)`, `qs[j] = roundf(x0)`. For finite input the value
 * is in range except in blocks so small (amax below ~1e-37) that id = 1/d
 * overflows to inf and x*id is +-inf or nan. C leaves that undefined; x86-64
 * (cvttss2si, as gcc and numpy compile the casts) yields 0x80000000, whose
 * low byte 0 is what llama.cpp and gguf-py then store. This helper is that
 * conversion without the undefined behaviour: truncation toward zero, low
 * byte kept, 0 for nan and anything outside int32. */
static inline int8_t wrap_i8(int v) { return (int8_t)((int)(((unsigned)v & 0xffu) ^ 0x80u) - 0x80); }

static inline int8_t cvt_i8(float v) {
    if (!(v > -2147483648.0f && v < 2147483648.0f)) return 0; /* nan, inf, out of int32 */
    return wrap_i8((int)v);
}

static inline int min_int(int a, int b) { return a < b ? a : b; }

/* Float semantics note. Q4_0 and Q5_0 round with `(int8_t)(x*id + 8.5f)`, a
 * product then a sum, each rounded to float. A compiler allowed to contract
 * (gcc's default outside ISO mode, with -mfma or on aarch64) fuses them into
 * one FMA and a few blocks change; the K-quants' least-squares searches
 * change far more. presso follows the C as written, unfused (ISO C11 build,
 * FP_CONTRACT OFF above), which is what a non-contracting build of
 * ggml-quants.c produces and what gguf-py 0.19's numpy quantizers compute. */

/* ---- dequantization (ggml's dequantize_row_*) ---- */

/* Follows dequantize_row_q4_0. */
void presso_dequantize_q4_0(const void *src, float *dst, int64_t n) {
    const int qk = PRESSO_QK4_0;
    const uint8_t *p = src;
    for (int64_t i = 0; i < n / qk; i++) {
        presso_block_q4_0 b;
        memcpy(&b, p + i * (int64_t)sizeof b, sizeof b);
        const float d = presso_f16_to_f32(b.d);
        float *y = dst + i * qk;
        for (int j = 0; j < qk / 2; j++) {
            const int x0 = (b.qs[j] & 0x0F) - 8;
            const int x1 = (b.qs[j] >> 4) - 8;
            y[j] = x0 * d;
            y[j + qk / 2] = x1 * d;
        }
    }
}

/* Follows dequantize_row_q4_1. */
void presso_dequantize_q4_1(const void *src, float *dst, int64_t n) {
    const int qk = PRESSO_QK4_1;
    const uint8_t *p = src;
    for (int64_t i = 0; i < n / qk; i++) {
        presso_block_q4_1 b;
        memcpy(&b, p + i * (int64_t)sizeof b, sizeof b);
        const float d = presso_f16_to_f32(b.d);
        const float m = presso_f16_to_f32(b.m);
        float *y = dst + i * qk;
        for (int j = 0; j < qk / 2; j++) {
            const int x0 = b.qs[j] & 0x0F;
            const int x1 = b.qs[j] >> 4;
            y[j] = x0 * d + m;
            y[j + qk / 2] = x1 * d + m;
        }
    }
}

/* Q5 blocks keep the fifth bit of element j in bit j of a little-endian u32. */
static inline uint32_t load_qh(const uint8_t qh[4]) {
    return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
}

static inline void store_qh(uint8_t qh[4], uint32_t v) {
    for (int k = 0; k < 4; k++) qh[k] = (uint8_t)(v >> (8 * k));
}

/* Follows dequantize_row_q5_0. */
void presso_dequantize_q5_0(const void *src, float *dst, int64_t n) {
    const int qk = PRESSO_QK5_0;
    const uint8_t *p = src;
    for (int64_t i = 0; i < n / qk; i++) {
        presso_block_q5_0 b;
        memcpy(&b, p + i * (int64_t)sizeof b, sizeof b);
        const float d = presso_f16_to_f32(b.d);
        const uint32_t qh = load_qh(b.qh);
        float *y = dst + i * qk;
        for (int j = 0; j < qk / 2; j++) {
            const int xh0 = (int)(((qh >> j) << 4) & 0x10);
            const int xh1 = (int)((qh >> (j + 12)) & 0x10);
            const int x0 = ((b.qs[j] & 0x0F) | xh0) - 16;
            const int x1 = ((b.qs[j] >> 4) | xh1) - 16;
            y[j] = x0 * d;
            y[j + qk / 2] = x1 * d;
        }
    }
}

/* Follows dequantize_row_q5_1. */
void presso_dequantize_q5_1(const void *src, float *dst, int64_t n) {
    const int qk = PRESSO_QK5_1;
    const uint8_t *p = src;
    for (int64_t i = 0; i < n / qk; i++) {
        presso_block_q5_1 b;
        memcpy(&b, p + i * (int64_t)sizeof b, sizeof b);
        const float d = presso_f16_to_f32(b.d);
        const float m = presso_f16_to_f32(b.m);
        const uint32_t qh = load_qh(b.qh);
        float *y = dst + i * qk;
        for (int j = 0; j < qk / 2; j++) {
            const int xh0 = (int)(((qh >> j) << 4) & 0x10);
            const int xh1 = (int)((qh >> (j + 12)) & 0x10);
            const int x0 = (b.qs[j] & 0x0F) | xh0;
            const int x1 = (b.qs[j] >> 4) | xh1;
            y[j] = x0 * d + m;
            y[j + qk / 2] = x1 * d + m;
        }
    }
}

/* Follows dequantize_row_q8_0. */
void presso_dequantize_q8_0(const void *src, float *dst, int64_t n) {
    const int qk = PRESSO_QK8_0;
    const uint8_t *p = src;
    for (int64_t i = 0; i < n / qk; i++) {
        presso_block_q8_0 b;
        memcpy(&b, p + i * (int64_t)sizeof b, sizeof b);
        const float d = presso_f16_to_f32(b.d);
        for (int j = 0; j < qk; j++) dst[i * qk + j] = b.qs[j] * d;
    }
}

/* ggml has no dequantize_row_q8_1 (Q8_1 only ever holds activations for dot
 * products); the values are qs*d as for Q8_0, the sum s is redundant. */
void presso_dequantize_q8_1(const void *src, float *dst, int64_t n) {
    const int qk = PRESSO_QK8_1;
    const uint8_t *p = src;
    for (int64_t i = 0; i < n / qk; i++) {
        presso_block_q8_1 b;
        memcpy(&b, p + i * (int64_t)sizeof b, sizeof b);
        const float d = presso_f16_to_f32(b.d);
        for (int j = 0; j < qk; j++) dst[i * qk + j] = b.qs[j] * d;
    }
}

/* ---- reference quantization (ggml's quantize_row_*_ref) ---- */

/* The value of largest magnitude, sign kept (first one on ties), as the
 * absmax loops of quantize_row_q4_0_ref / q5_0_ref. */
static float signed_absmax(const float *x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    return max;
}

/* Follows quantize_row_q4_0_ref: scale d = max/-8 so the largest magnitude
 * maps to -8, the end of [-8, 7] with the most room. */
void presso_quantize_q4_0_ref(const float *src, void *dst, int64_t n) {
    const int qk = PRESSO_QK4_0;
    uint8_t *p = dst;
    for (int64_t i = 0; i < n / qk; i++) {
        const float *x = src + i * qk;
        presso_block_q4_0 b;
        const float max = signed_absmax(x, qk);
        const float d = max / -8;
        const float id = d ? 1.0f / d : 0.0f;
        b.d = presso_f32_to_f16(d);
        for (int j = 0; j < qk / 2; j++) {
            const float x0 = x[j] * id;
            const float x1 = x[qk / 2 + j] * id;
            /* ggml: const uint8_t xi0 = MIN(15, (int8_t)(x0 + 8.5f)) */
            const uint8_t xi0 = (uint8_t)min_int(15, cvt_i8(x0 + 8.5f));
            const uint8_t xi1 = (uint8_t)min_int(15, cvt_i8(x1 + 8.5f));
            b.qs[j] = (uint8_t)(xi0 | xi1 << 4);
        }
        memcpy(p + i * (int64_t)sizeof b, &b, sizeof b);
    }
}

/* min and max of a block; FLT_MAX seeds as ggml (nan elements are skipped). */
static void block_min_max(const float *x, int n, float *min_out, float *max_out) {
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
    }
    *min_out = min;
    *max_out = max;
}

/* Follows quantize_row_q4_1_ref: affine, 16 levels from min to max. */
void presso_quantize_q4_1_ref(const float *src, void *dst, int64_t n) {
    const int qk = PRESSO_QK4_1;
    uint8_t *p = dst;
    for (int64_t i = 0; i < n / qk; i++) {
        const float *x = src + i * qk;
        presso_block_q4_1 b;
        float min, max;
        block_min_max(x, qk, &min, &max);
        const float d = (max - min) / ((1 << 4) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        b.d = presso_f32_to_f16(d);
        b.m = presso_f32_to_f16(min);
        for (int j = 0; j < qk / 2; j++) {
            const float x0 = (x[j] - min) * id;
            const float x1 = (x[qk / 2 + j] - min) * id;
            /* ggml: const uint8_t xi0 = MIN(15, (int8_t)(x0 + 0.5f)) */
            const uint8_t xi0 = (uint8_t)min_int(15, cvt_i8(x0 + 0.5f));
            const uint8_t xi1 = (uint8_t)min_int(15, cvt_i8(x1 + 0.5f));
            b.qs[j] = (uint8_t)(xi0 | xi1 << 4);
        }
        memcpy(p + i * (int64_t)sizeof b, &b, sizeof b);
    }
}

/* Follows quantize_row_q5_0_ref: as Q4_0 with 32 levels, max -> -16. */
void presso_quantize_q5_0_ref(const float *src, void *dst, int64_t n) {
    const int qk = PRESSO_QK5_0;
    uint8_t *p = dst;
    for (int64_t i = 0; i < n / qk; i++) {
        const float *x = src + i * qk;
        presso_block_q5_0 b;
        const float max = signed_absmax(x, qk);
        const float d = max / -16;
        const float id = d ? 1.0f / d : 0.0f;
        b.d = presso_f32_to_f16(d);
        uint32_t qh = 0;
        for (int j = 0; j < qk / 2; j++) {
            const float x0 = x[j] * id;
            const float x1 = x[qk / 2 + j] * id;
            /* ggml: (uint8_t)MIN(31, (int8_t)(x0 + 16.5f)) */
            const unsigned xi0 = (uint8_t)min_int(31, cvt_i8(x0 + 16.5f));
            const unsigned xi1 = (uint8_t)min_int(31, cvt_i8(x1 + 16.5f));
            b.qs[j] = (uint8_t)((xi0 & 0x0F) | (xi1 & 0x0F) << 4);
            qh |= ((xi0 & 0x10u) >> 4) << j;
            qh |= ((xi1 & 0x10u) >> 4) << (j + qk / 2);
        }
        store_qh(b.qh, qh);
        memcpy(p + i * (int64_t)sizeof b, &b, sizeof b);
    }
}

/* Follows quantize_row_q5_1_ref. */
void presso_quantize_q5_1_ref(const float *src, void *dst, int64_t n) {
    const int qk = PRESSO_QK5_1;
    uint8_t *p = dst;
    for (int64_t i = 0; i < n / qk; i++) {
        const float *x = src + i * qk;
        presso_block_q5_1 b;
        float min, max;
        block_min_max(x, qk, &min, &max);
        const float d = (max - min) / ((1 << 5) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        b.d = presso_f32_to_f16(d);
        b.m = presso_f32_to_f16(min);
        uint32_t qh = 0;
        for (int j = 0; j < qk / 2; j++) {
            const float x0 = (x[j] - min) * id;
            const float x1 = (x[qk / 2 + j] - min) * id;
            /* ggml: const uint8_t xi0 = (uint8_t)(x0 + 0.5f) */
            const unsigned xi0 = (uint8_t)cvt_i8(x0 + 0.5f);
            const unsigned xi1 = (uint8_t)cvt_i8(x1 + 0.5f);
            b.qs[j] = (uint8_t)((xi0 & 0x0F) | (xi1 & 0x0F) << 4);
            qh |= ((xi0 & 0x10u) >> 4) << j;
            qh |= ((xi1 & 0x10u) >> 4) << (j + qk / 2);
        }
        store_qh(b.qh, qh);
        memcpy(p + i * (int64_t)sizeof b, &b, sizeof b);
    }
}

/* ggml's `amax = MAX(amax, fabsf(v))`, the macro's comparison kept. */
static float block_absmax(const float *x, int n) {
    float amax = 0.0f;
    for (int j = 0; j < n; j++) amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);
    return amax;
}

/* Follows quantize_row_q8_0_ref: symmetric, amax -> 127. */
void presso_quantize_q8_0_ref(const float *src, void *dst, int64_t n) {
    const int qk = PRESSO_QK8_0;
    uint8_t *p = dst;
    for (int64_t i = 0; i < n / qk; i++) {
        const float *x = src + i * qk;
        presso_block_q8_0 b;
        const float amax = block_absmax(x, qk);
        const float d = amax / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        b.d = presso_f32_to_f16(d);
        for (int j = 0; j < qk; j++) b.qs[j] = cvt_i8(roundf(x[j] * id));
        memcpy(p + i * (int64_t)sizeof b, &b, sizeof b);
    }
}

/* Follows quantize_row_q8_1_ref: as Q8_0 plus s = d * sum(qs), the sum
 * accumulated in ggml's interleaved order. */
void presso_quantize_q8_1_ref(const float *src, void *dst, int64_t n) {
    const int qk = PRESSO_QK8_1;
    uint8_t *p = dst;
    for (int64_t i = 0; i < n / qk; i++) {
        const float *x = src + i * qk;
        presso_block_q8_1 b;
        const float amax = block_absmax(x, qk);
        const float d = amax / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        b.d = presso_f32_to_f16(d);
        int sum = 0;
        for (int j = 0; j < qk / 2; j++) {
            b.qs[j] = cvt_i8(roundf(x[j] * id));
            b.qs[qk / 2 + j] = cvt_i8(roundf(x[qk / 2 + j] * id));
            sum += b.qs[j];
            sum += b.qs[qk / 2 + j];
        }
        b.s = presso_f32_to_f16(sum * d);
        memcpy(p + i * (int64_t)sizeof b, &b, sizeof b);
    }
}
