/* Conversions of the plain float types (F32, F16, BF16) to and from float. */
#include <string.h>

#include "tensor/quants.h"

void presso_f32_to_float(const void *src, float *dst, int64_t n) { memcpy(dst, src, (size_t)n * sizeof(float)); }

void presso_f16_to_float(const void *src, float *dst, int64_t n) {
    const presso_f16 *h = src;
    for (int64_t i = 0; i < n; i++) dst[i] = presso_f16_to_f32(h[i]);
}

void presso_bf16_to_float(const void *src, float *dst, int64_t n) {
    const presso_bf16 *h = src;
    for (int64_t i = 0; i < n; i++) dst[i] = presso_bf16_to_f32(h[i]);
}

void presso_float_to_f32(const float *src, void *dst, int64_t n) { memcpy(dst, src, (size_t)n * sizeof(float)); }

void presso_float_to_f16(const float *src, void *dst, int64_t n) {
    presso_f16 *h = dst;
    for (int64_t i = 0; i < n; i++) h[i] = presso_f32_to_f16(src[i]);
}

void presso_float_to_bf16(const float *src, void *dst, int64_t n) {
    presso_bf16 *h = dst;
    for (int64_t i = 0; i < n; i++) h[i] = presso_f32_to_bf16(src[i]);
}
