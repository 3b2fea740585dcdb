/* PRESSO_TYPE_W8A8 conversions and reference kernels (layout in w8a8.h). */
#include "tensor/w8a8.h"

#include <math.h>
#include <string.h>

static float row_scale(const void *row) {
    float d;
    memcpy(&d, row, sizeof d);
    return d;
}

/* Symmetric int8 with d = max|x| / 127 (SmoothQuant §2, "per-token" /
 * "per-channel" symmetric quantization). Rounding is to nearest, ties to
 * even (nearbyintf in the default rounding mode), which is what the AVX2
 * tier's _mm256_round_ps does: both tiers give the same bytes. A non-finite
 * row gives d = inf/nan and unspecified levels, as the ggml quantizers do;
 * callers check finiteness first. */
static void quantize_row(const float *x, void *dst, int64_t n) {
    float amax = 0.0f;
    for (int64_t i = 0; i < n; i++) amax = fmaxf(amax, fabsf(x[i]));
    const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    memcpy(dst, &d, sizeof d);
    int8_t *q = (int8_t *)dst + PRESSO_W8A8_ROW_HEADER;
    for (int64_t i = 0; i < n; i++) {
        float v = nearbyintf(x[i] * id);
        v = v > 127.0f ? 127.0f : (v < -127.0f ? -127.0f : v);
        q[i] = (int8_t)(v == v ? v : 0.0f);
    }
}

void presso_w8a8_from_float_ref(const float *src, void *dst, int64_t n) { quantize_row(src, dst, n); }
void presso_w8a8_quantize_act_ref(const float *x, void *dst, int64_t n) { quantize_row(x, dst, n); }

void presso_w8a8_to_float(const void *src, float *dst, int64_t n) {
    const float d = row_scale(src);
    const int8_t *q = (const int8_t *)src + PRESSO_W8A8_ROW_HEADER;
    for (int64_t i = 0; i < n; i++) dst[i] = d * (float)q[i];
}

float presso_w8a8_dot_ref(const void *w_row, const void *x_row, int64_t n) {
    const int8_t *a = (const int8_t *)w_row + PRESSO_W8A8_ROW_HEADER, *b = (const int8_t *)x_row + PRESSO_W8A8_ROW_HEADER;
    int32_t sum = 0;
    for (int64_t i = 0; i < n; i++) sum += (int32_t)a[i] * (int32_t)b[i];
    return row_scale(w_row) * row_scale(x_row) * (float)sum;
}

float presso_w8a8_vec_dot_f32_ref(const void *w_row, const float *x, int64_t n) {
    const int8_t *q = (const int8_t *)w_row + PRESSO_W8A8_ROW_HEADER;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += (float)q[i] * x[i];
    return row_scale(w_row) * sum;
}
