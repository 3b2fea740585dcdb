/* presso-native 2- and 3-bit group types (GGUF tensor type ids 1001, 1002;
 * llama.cpp has neither and refuses the file as an unknown type). They exist
 * because presso's small models (widths 128, 172, 384) fit no 256-wide
 * K-quant block: groups of 32 fit every width that is a multiple of 32.
 *
 * Asymmetric per-group scale and min, GPTQ's usual scheme (Frantar et al.
 * 2022, §5 "asymmetric min-max grid per group"): a block of 32 weights is
 *   f16 d       step, (max - min) / (2^b - 1)
 *   f16 m       min
 *   qs[]        32 codes q in 0..2^b-1, packed little-endian bit stream:
 *               code i occupies bits b*i .. b*i+b-1 of qs (bit k of the
 *               stream is bit k%8 of qs[k/8])
 * and element i is d*q_i + m (in float: (float)q * d + m).
 *   q3_g32: 2 + 2 + 12 bytes = 16 bytes / 32 weights = 4.0 bits per weight
 *   q2_g32: 2 + 2 +  8 bytes = 12 bytes / 32 weights = 3.0 bits per weight
 * The reference quantizer (RTN) takes min and max of the group, rounds d and
 * m to f16, then each element to the nearest code on that f16 grid. */
#ifndef PRESSO_TENSOR_LOWBIT_H
#define PRESSO_TENSOR_LOWBIT_H

#include <stdint.h>

#include "tensor/quants.h"

#define PRESSO_QK_G32 32

typedef struct {
    presso_f16 d;
    presso_f16 m;
    uint8_t qs[PRESSO_QK_G32 * 3 / 8];
} presso_block_q3_g32;

typedef struct {
    presso_f16 d;
    presso_f16 m;
    uint8_t qs[PRESSO_QK_G32 * 2 / 8];
} presso_block_q2_g32;

_Static_assert(sizeof(presso_block_q3_g32) == 16, "q3_g32 block is 16 bytes");
_Static_assert(sizeof(presso_block_q2_g32) == 12, "q2_g32 block is 12 bytes");

void presso_dequantize_q3_g32(const void *src, float *dst, int64_t n);
void presso_quantize_q3_g32_ref(const float *src, void *dst, int64_t n);
void presso_dequantize_q2_g32(const void *src, float *dst, int64_t n);
void presso_quantize_q2_g32_ref(const float *src, void *dst, int64_t n);

/* Code i of a packed b-bit stream (b = 2 or 3), and writing it. */
int presso_g32_get_code(const uint8_t *qs, int bits, int i);
void presso_g32_set_code(uint8_t *qs, int bits, int i, int code);

#endif
