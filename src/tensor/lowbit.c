/* Conversions of the presso-native q3_g32 / q2_g32 types (layout in lowbit.h). */
#include "tensor/lowbit.h"

#include <math.h>
#include <string.h>

int presso_g32_get_code(const uint8_t *qs, int bits, int i) {
    int code = 0;
    for (int k = 0; k < bits; k++) {
        const int bit = bits * i + k;
        code |= ((qs[bit / 8] >> (bit % 8)) & 1) << k;
    }
    return code;
}

void presso_g32_set_code(uint8_t *qs, int bits, int i, int code) {
    for (int k = 0; k < bits; k++) {
        const int bit = bits * i + k;
        const uint8_t mask = (uint8_t)(1u << (bit % 8));
        qs[bit / 8] = (code >> k) & 1 ? (uint8_t)(qs[bit / 8] | mask) : (uint8_t)(qs[bit / 8] & ~mask);
    }
}

/* One block: d, m and the packed codes of 32 values. */
static void quantize_block(const float *x, int bits, presso_f16 *hd, presso_f16 *hm, uint8_t *qs, size_t qs_bytes) {
    const int top = (1 << bits) - 1;
    float lo = x[0], hi = x[0];
    for (int i = 1; i < PRESSO_QK_G32; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
    }
    *hd = presso_f32_to_f16((hi - lo) / (float)top);
    *hm = presso_f32_to_f16(lo);
    const float d = presso_f16_to_f32(*hd), m = presso_f16_to_f32(*hm);
    memset(qs, 0, qs_bytes);
    for (int i = 0; i < PRESSO_QK_G32; i++) {
        int q = 0;
        if (d != 0.0f) {
            const float r = (x[i] - m) / d;
            q = !(r > 0.0f) ? 0 : (r >= (float)top ? top : (int)lrintf(r)); /* NaN -> 0 */
            if (q > top) q = top;
        }
        presso_g32_set_code(qs, bits, i, q);
    }
}

/* The decode path (every matmul row of these types goes through it): the
 * 64 or 96 bits of a block's codes assembled once into two words (byte j is
 * bits 8j..8j+7 of the stream, so this is the same stream on any host), then
 * code i is bits b*i.. of them, as presso_g32_get_code reads it bit by bit. */
static void dequantize_block(presso_f16 hd, presso_f16 hm, const uint8_t *qs, int bits, float *y) {
    const float d = presso_f16_to_f32(hd), m = presso_f16_to_f32(hm);
    const int n_bytes = PRESSO_QK_G32 * bits / 8;
    uint64_t lo = 0, hi = 0;
    for (int j = 0; j < n_bytes && j < 8; j++) lo |= (uint64_t)qs[j] << (8 * j);
    for (int j = 8; j < n_bytes; j++) hi |= (uint64_t)qs[j] << (8 * (j - 8));
    const uint64_t mask = (1u << bits) - 1;
    for (int i = 0; i < PRESSO_QK_G32; i++) {
        const int bit = bits * i;
        uint64_t code;
        if (bit + bits <= 64) code = lo >> bit;
        else if (bit >= 64) code = hi >> (bit - 64);
        else code = (lo >> bit) | (hi << (64 - bit));
        y[i] = (float)(int)(code & mask) * d + m;
    }
}

void presso_quantize_q3_g32_ref(const float *src, void *dst, int64_t n) {
    presso_block_q3_g32 *b = dst;
    for (int64_t i = 0; i < n / PRESSO_QK_G32; i++)
        quantize_block(src + i * PRESSO_QK_G32, 3, &b[i].d, &b[i].m, b[i].qs, sizeof b[i].qs);
}

void presso_dequantize_q3_g32(const void *src, float *dst, int64_t n) {
    const presso_block_q3_g32 *b = src;
    for (int64_t i = 0; i < n / PRESSO_QK_G32; i++) dequantize_block(b[i].d, b[i].m, b[i].qs, 3, dst + i * PRESSO_QK_G32);
}

void presso_quantize_q2_g32_ref(const float *src, void *dst, int64_t n) {
    presso_block_q2_g32 *b = dst;
    for (int64_t i = 0; i < n / PRESSO_QK_G32; i++)
        quantize_block(src + i * PRESSO_QK_G32, 2, &b[i].d, &b[i].m, b[i].qs, sizeof b[i].qs);
}

void presso_dequantize_q2_g32(const void *src, float *dst, int64_t n) {
    const presso_block_q2_g32 *b = src;
    for (int64_t i = 0; i < n / PRESSO_QK_G32; i++) dequantize_block(b[i].d, b[i].m, b[i].qs, 2, dst + i * PRESSO_QK_G32);
}
