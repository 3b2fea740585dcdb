#include "compress/grid.h"

#include <math.h>
#include <string.h>

#include "tensor/lowbit.h"
#include "tensor/quants.h"

bool presso_grid_supported(presso_type type) {
    switch (type) {
    case PRESSO_TYPE_Q4_0: case PRESSO_TYPE_Q4_1: case PRESSO_TYPE_Q5_0: case PRESSO_TYPE_Q5_1:
    case PRESSO_TYPE_Q8_0: case PRESSO_TYPE_Q2_K: case PRESSO_TYPE_Q3_K: case PRESSO_TYPE_Q4_K:
    case PRESSO_TYPE_Q5_K: case PRESSO_TYPE_Q6_K: case PRESSO_TYPE_Q3_G32: case PRESSO_TYPE_Q2_G32: return true;
    default: return false;
    }
}

/* The level index q in lo..hi whose value q*step is nearest v (step of
 * either sign); saturates off the grid; 0 (or the level nearest 0) for a zero step. */
static int nearest_level(float v, float step, int lo, int hi) {
    if (step == 0.0f) return lo > 0 ? lo : (hi < 0 ? hi : 0);
    const float r = v / step;
    if (!(r > (float)lo)) return lo; /* also NaN */
    if (r >= (float)hi) return hi;
    const int q = (int)lrintf(r);
    return q < lo ? lo : (q > hi ? hi : q);
}

/* Q4_K / Q5_K packing of the 6-bit scale and min of sub-block j (ggml's get_scale_min_k4). */
static void scale_min_k4(int j, const uint8_t *q, int *d, int *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
    }
}

/* Q3_K's signed 6-bit scale of sub-block j (as dequantize_row_q3_K). */
static int q3_k_scale(const uint8_t scales[12], int j) {
    const int lo = j < 8 ? scales[j] & 0xF : scales[j - 8] >> 4;
    const int hi = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (lo | hi << 4) - 32;
}

static void set_nibble(uint8_t *byte, bool high, int v) {
    *byte = high ? (uint8_t)((*byte & 0x0F) | (v << 4)) : (uint8_t)((*byte & 0xF0) | v);
}

static void set_bit(uint8_t *byte, int bit, bool on) {
    *byte = on ? (uint8_t)(*byte | (1u << bit)) : (uint8_t)(*byte & ~(1u << bit));
}

/* Element e of a 32-block of Q4_x/Q5_x: low nibble of qs[e] for e < 16, high nibble of qs[e-16] after. */
static void set_q32_nibble(uint8_t *qs, int pos, int code) {
    set_nibble(&qs[pos % 16], pos >= 16, code & 0xF);
}

/* Q2_K / Q3_K: 2-bit codes, element e at byte 32*(e/128) + e%32, shift 2*((e%128)/32). */
static void set_2bit(uint8_t *qs, int pos, int code) {
    uint8_t *b = &qs[32 * (pos / 128) + pos % 32];
    const int shift = 2 * ((pos % 128) / 32);
    *b = (uint8_t)((*b & ~(3u << shift)) | ((unsigned)code << shift));
}

/* Q4_K / Q5_K: low 4 bits of element e in chunk c = e/64: low nibble of qs[32c + r] (r = e%64 < 32) or high nibble of qs[32c + r-32]. */
static void set_k_nibble(uint8_t *qs, int pos, int code) {
    const int c = pos / 64, r = pos % 64;
    set_nibble(&qs[32 * c + r % 32], r >= 32, code & 0xF);
}

/* Every value below is computed with the same operations, in the same
 * order, as the matching dequantize_row_* in tensor/quants_*_ref.c, so the
 * float returned is bit-identical to what the dequantizer later reads. */
float presso_grid_set(presso_type type, void *block, int pos, float w) {
    switch (type) {
    case PRESSO_TYPE_Q4_0: {
        presso_block_q4_0 *b = block;
        const float d = presso_f16_to_f32(b->d);
        const int q = nearest_level(w, d, -8, 7);
        set_q32_nibble(b->qs, pos, q + 8);
        return q * d;
    }
    case PRESSO_TYPE_Q4_1: {
        presso_block_q4_1 *b = block;
        const float d = presso_f16_to_f32(b->d), m = presso_f16_to_f32(b->m);
        const int q = nearest_level(w - m, d, 0, 15);
        set_q32_nibble(b->qs, pos, q);
        return q * d + m;
    }
    case PRESSO_TYPE_Q5_0: {
        presso_block_q5_0 *b = block;
        const float d = presso_f16_to_f32(b->d);
        const int q = nearest_level(w, d, -16, 15), code = q + 16;
        set_q32_nibble(b->qs, pos, code);
        set_bit(&b->qh[pos / 8], pos % 8, code & 0x10); /* bit e of the little-endian u32 qh */
        return q * d;
    }
    case PRESSO_TYPE_Q5_1: {
        presso_block_q5_1 *b = block;
        const float d = presso_f16_to_f32(b->d), m = presso_f16_to_f32(b->m);
        const int q = nearest_level(w - m, d, 0, 31);
        set_q32_nibble(b->qs, pos, q);
        set_bit(&b->qh[pos / 8], pos % 8, q & 0x10);
        return q * d + m;
    }
    case PRESSO_TYPE_Q8_0: {
        presso_block_q8_0 *b = block;
        const float d = presso_f16_to_f32(b->d);
        /* -128 is left out as the reference quantizer does: SIMD dot products take |q| in int8. */
        const int q = nearest_level(w, d, -127, 127);
        b->qs[pos] = (int8_t)q;
        return b->qs[pos] * d;
    }
    case PRESSO_TYPE_Q2_K: {
        presso_block_q2_K *b = block;
        const uint8_t sc = b->scales[pos / 16];
        const float dl = presso_f16_to_f32(b->d) * (sc & 0xF), ml = presso_f16_to_f32(b->dmin) * (sc >> 4);
        const int q = nearest_level(w + ml, dl, 0, 3);
        set_2bit(b->qs, pos, q);
        return dl * q - ml;
    }
    case PRESSO_TYPE_Q3_K: {
        presso_block_q3_K *b = block;
        const float dl = presso_f16_to_f32(b->d) * q3_k_scale(b->scales, pos / 16);
        const int q = nearest_level(w, dl, -4, 3); /* dl may be negative: round(w/dl) is still the nearest level */
        const int code = q + 4;
        set_2bit(b->qs, pos, code & 3);
        set_bit(&b->hmask[pos % 32], pos / 32, code > 3);
        return dl * q;
    }
    case PRESSO_TYPE_Q4_K:
    case PRESSO_TYPE_Q5_K: {
        const bool five = type == PRESSO_TYPE_Q5_K;
        presso_block_q4_K *b4 = block;
        presso_block_q5_K *b5 = block;
        const presso_f16 hd = five ? b5->d : b4->d, hmin = five ? b5->dmin : b4->dmin;
        const uint8_t *scales = five ? b5->scales : b4->scales;
        int sc, m;
        scale_min_k4(pos / 32, scales, &sc, &m);
        const float d1 = presso_f16_to_f32(hd) * sc, m1 = presso_f16_to_f32(hmin) * m;
        const int q = nearest_level(w + m1, d1, 0, five ? 31 : 15);
        if (five) {
            set_k_nibble(b5->qs, pos, q);
            const int c = pos / 64, r = pos % 64;
            set_bit(&b5->qh[r % 32], 2 * c + (r >= 32), q & 0x10);
        } else {
            set_k_nibble(b4->qs, pos, q);
        }
        return d1 * q - m1;
    }
    case PRESSO_TYPE_Q6_K: {
        presso_block_q6_K *b = block;
        const float dl = presso_f16_to_f32(b->d) * b->scales[pos / 16];
        const int q = nearest_level(w, dl, -32, 31);
        const int code = q + 32, k = pos / 128, r = pos % 128, quarter = r / 32, l = r % 32;
        set_nibble(&b->ql[64 * k + l + 32 * (quarter & 1)], quarter >= 2, code & 0xF);
        uint8_t *h = &b->qh[32 * k + l];
        *h = (uint8_t)((*h & ~(3u << (2 * quarter))) | ((unsigned)(code >> 4) << (2 * quarter)));
        return dl * q;
    }
    case PRESSO_TYPE_Q3_G32:
    case PRESSO_TYPE_Q2_G32: {
        /* Both blocks begin with f16 d, m; the codes follow (lowbit.h). */
        const bool three = type == PRESSO_TYPE_Q3_G32;
        presso_block_q3_g32 *b3 = block;
        presso_block_q2_g32 *b2 = block;
        const float d = presso_f16_to_f32(three ? b3->d : b2->d), m = presso_f16_to_f32(three ? b3->m : b2->m);
        const int bits = three ? 3 : 2;
        const int q = nearest_level(w - m, d, 0, (1 << bits) - 1);
        presso_g32_set_code(three ? b3->qs : b2->qs, bits, pos, q);
        return (float)q * d + m;
    }
    default: return 0.0f;
    }
}
