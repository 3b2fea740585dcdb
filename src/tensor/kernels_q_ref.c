/* Integer dot products of a quantized weight row with quantized activations
 * (llama.cpp's scheme): the activation vector is quantized once per matmul to
 * the row type's vec_dot_type, then each block is an int8 x intN dot and one
 * float multiply by the two scales. Plain C, the oracle for
 * kernels_q_avx2.c. Each function follows the named generic function of
 * llama.cpp's ggml/src/ggml-cpu/quants.c in its integer math and in its
 * float accumulation order. */
#include <string.h>

#include "tensor/kernels.h"
#include "tensor/quants.h"

#define QK_K PRESSO_QK_K
#define F16(h) presso_f16_to_f32(h)

presso_type presso_vec_dot_type(presso_type t) {
    switch (t) {
    case PRESSO_TYPE_Q4_0:
    case PRESSO_TYPE_Q5_0:
    case PRESSO_TYPE_Q8_0: return PRESSO_TYPE_Q8_0;
    case PRESSO_TYPE_Q4_1:
    case PRESSO_TYPE_Q5_1: return PRESSO_TYPE_Q8_1;
    case PRESSO_TYPE_Q2_K:
    case PRESSO_TYPE_Q3_K:
    case PRESSO_TYPE_Q4_K:
    case PRESSO_TYPE_Q5_K:
    case PRESSO_TYPE_Q6_K: return PRESSO_TYPE_Q8_K;
    default: return PRESSO_TYPE_F32;
    }
}

/* ggml_vec_dot_q4_0_q8_0_generic */
static float vec_dot_q4_0_q8_0_ref(const void *row, const void *xq, int64_t n) {
    const presso_block_q4_0 *x = row;
    const presso_block_q8_0 *y = xq;
    float sumf = 0;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < 16; j++) {
            sumi0 += ((x[ib].qs[j] & 0x0F) - 8) * y[ib].qs[j];
            sumi1 += ((x[ib].qs[j] >> 4) - 8) * y[ib].qs[j + 16];
        }
        sumf += (sumi0 + sumi1) * F16(x[ib].d) * F16(y[ib].d);
    }
    return sumf;
}

/* ggml_vec_dot_q4_1_q8_1_generic: the min m meets y's s = d_y * sum(q_y). */
static float vec_dot_q4_1_q8_1_ref(const void *row, const void *xq, int64_t n) {
    const presso_block_q4_1 *x = row;
    const presso_block_q8_1 *y = xq;
    float sumf = 0;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < 16; j++) {
            sumi0 += (x[ib].qs[j] & 0x0F) * y[ib].qs[j];
            sumi1 += (x[ib].qs[j] >> 4) * y[ib].qs[j + 16];
        }
        sumf += (F16(x[ib].d) * F16(y[ib].d)) * (sumi0 + sumi1) + F16(x[ib].m) * F16(y[ib].s);
    }
    return sumf;
}

/* ggml_vec_dot_q5_0_q8_0_generic */
static float vec_dot_q5_0_q8_0_ref(const void *row, const void *xq, int64_t n) {
    const presso_block_q5_0 *x = row;
    const presso_block_q8_0 *y = xq;
    float sumf = 0;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        uint32_t qh;
        memcpy(&qh, x[ib].qh, sizeof qh);
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < 16; j++) {
            const int x0 = (int)((x[ib].qs[j] & 0x0F) | (((qh >> j) & 1u) << 4)) - 16;
            const int x1 = (int)((x[ib].qs[j] >> 4) | (((qh >> (j + 16)) & 1u) << 4)) - 16;
            sumi0 += x0 * y[ib].qs[j];
            sumi1 += x1 * y[ib].qs[j + 16];
        }
        sumf += (F16(x[ib].d) * F16(y[ib].d)) * (sumi0 + sumi1);
    }
    return sumf;
}

/* ggml_vec_dot_q5_1_q8_1_generic */
static float vec_dot_q5_1_q8_1_ref(const void *row, const void *xq, int64_t n) {
    const presso_block_q5_1 *x = row;
    const presso_block_q8_1 *y = xq;
    float sumf = 0;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        uint32_t qh;
        memcpy(&qh, x[ib].qh, sizeof qh);
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < 16; j++) {
            const int x0 = (int)((x[ib].qs[j] & 0x0F) | (((qh >> j) & 1u) << 4));
            const int x1 = (int)((x[ib].qs[j] >> 4) | (((qh >> (j + 16)) & 1u) << 4));
            sumi0 += x0 * y[ib].qs[j];
            sumi1 += x1 * y[ib].qs[j + 16];
        }
        sumf += (F16(x[ib].d) * F16(y[ib].d)) * (sumi0 + sumi1) + F16(x[ib].m) * F16(y[ib].s);
    }
    return sumf;
}

/* ggml_vec_dot_q8_0_q8_0_generic */
static float vec_dot_q8_0_q8_0_ref(const void *row, const void *xq, int64_t n) {
    const presso_block_q8_0 *x = row;
    const presso_block_q8_0 *y = xq;
    float sumf = 0;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        int sumi = 0;
        for (int j = 0; j < 32; j++) sumi += x[ib].qs[j] * y[ib].qs[j];
        sumf += sumi * (F16(x[ib].d) * F16(y[ib].d));
    }
    return sumf;
}

/* ggml_vec_dot_q2_K_q8_K_generic: 16 groups of 16 with a 4-bit scale and a
 * 4-bit min each; the mins meet Q8_K's 16-element sums (bsums). */
static float vec_dot_q2_K_q8_K_ref(const void *row, const void *xq, int64_t n) {
    const presso_block_q2_K *x = row;
    const presso_block_q8_K *y = xq;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *q2 = x[i].qs, *sc = x[i].scales;
        const int8_t *q8 = y[i].qs;
        int summs = 0;
        for (int j = 0; j < 16; j++) summs += y[i].bsums[j] * (sc[j] >> 4);
        const float dall = y[i].d * F16(x[i].d), dmin = y[i].d * F16(x[i].dmin);
        int isum = 0, is = 0;
        for (int k = 0; k < QK_K / 128; k++) {
            for (int shift = 0; shift < 8; shift += 2) {
                int isuml = 0;
                for (int l = 0; l < 16; l++) isuml += q8[l] * ((q2[l] >> shift) & 3);
                isum += (sc[is++] & 0xF) * isuml;
                isuml = 0;
                for (int l = 16; l < 32; l++) isuml += q8[l] * ((q2[l] >> shift) & 3);
                isum += (sc[is++] & 0xF) * isuml;
                q8 += 32;
            }
            q2 += 32;
        }
        sumf += dall * isum - dmin * summs;
    }
    return sumf;
}

/* The 16 6-bit scales of a Q3_K block, unpacked as ggml's kmask code does. */
static void q3_K_scales(const uint8_t packed[12], int8_t out[16]) {
    uint32_t a[4];
    memcpy(a, packed, 12);
    const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f, tmp = a[2];
    a[2] = ((a[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
    a[3] = ((a[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
    a[0] = (a[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
    a[1] = (a[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
    memcpy(out, a, 16);
}

/* The 8 6-bit scales and 8 6-bit mins of a Q4_K/Q5_K block (get_scale_min_k4
 * done four at a time, as ggml's utmp code). */
static void q4_K_scales_mins(const uint8_t packed[12], uint8_t scales[8], uint8_t mins[8]) {
    uint32_t u[4];
    memcpy(u, packed, 12);
    const uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
    u[3] = ((u[2] >> 4) & kmask2) | (((u[1] >> 6) & kmask3) << 4);
    const uint32_t uaux = u[1] & kmask1;
    u[1] = (u[2] & kmask2) | (((u[0] >> 6) & kmask3) << 4);
    u[2] = uaux;
    u[0] &= kmask1;
    memcpy(scales, u, 8);
    memcpy(mins, u + 2, 8);
}

/* The tail shared by the generic Q3_K..Q6_K dots: 8 int32 lanes of
 * scale * q8 * q, 16 elements (two runs of 8) per scale. */
static void accumulate_lanes(int32_t lanes[8], const int8_t *q8, const int8_t *a, int scale) {
    for (int half = 0; half < 2; half++)
        for (int l = 0; l < 8; l++) lanes[l] += scale * (int16_t)(q8[half * 8 + l] * a[half * 8 + l]);
}

/* ggml_vec_dot_q3_K_q8_K_generic: q = 2 low bits - (high bit clear ? 4 : 0),
 * one 6-bit scale (minus 32) per 16. */
static float vec_dot_q3_K_q8_K_ref(const void *row, const void *xq, int64_t n) {
    const presso_block_q3_K *x = row;
    const presso_block_q8_K *y = xq;
    float sums[8] = {0};
    for (int64_t i = 0; i < n / QK_K; i++) {
        int8_t a[QK_K], scales[16];
        const uint8_t *q3 = x[i].qs, *hm = x[i].hmask;
        for (int g = 0; g < 8; g++) /* 32-element group g: bits 2*(g%4) of qs[32*(g/4)...], hmask bit g */
            for (int l = 0; l < 32; l++)
                a[32 * g + l] = (int8_t)(((q3[32 * (g / 4) + l] >> (2 * (g % 4))) & 3) - ((hm[l] >> g) & 1 ? 0 : 4));
        q3_K_scales(x[i].scales, scales);
        int32_t lanes[8] = {0};
        for (int j = 0; j < 16; j++) accumulate_lanes(lanes, y[i].qs + 16 * j, a + 16 * j, scales[j] - 32);
        const float d = F16(x[i].d) * y[i].d;
        for (int l = 0; l < 8; l++) sums[l] += d * lanes[l];
    }
    float sumf = 0;
    for (int l = 0; l < 8; l++) sumf += sums[l];
    return sumf;
}

/* ggml_vec_dot_q4_K_q8_K_generic and ggml_vec_dot_q5_K_q8_K_generic: 8 groups
 * of 32 with a 6-bit scale and min; Q5_K adds a fifth bit from qh. */
static float vec_dot_q45_K_ref(const void *row, const void *xq, int64_t n, int five_bits) {
    const presso_block_q8_K *y = xq;
    const size_t block_bytes = five_bits ? sizeof(presso_block_q5_K) : sizeof(presso_block_q4_K);
    float sums[8] = {0}, sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *blk = (const uint8_t *)row + (size_t)i * block_bytes;
        const presso_block_q4_K *x4 = (const void *)blk;
        const presso_block_q5_K *x5 = (const void *)blk;
        const uint8_t *q4 = five_bits ? x5->qs : x4->qs, *packed = five_bits ? x5->scales : x4->scales;
        const presso_f16 xd = five_bits ? x5->d : x4->d, xdmin = five_bits ? x5->dmin : x4->dmin;
        int8_t a[QK_K];
        for (int j = 0; j < 4; j++)
            for (int l = 0; l < 32; l++) {
                a[64 * j + l] = (int8_t)(q4[32 * j + l] & 0xF);
                a[64 * j + 32 + l] = (int8_t)(q4[32 * j + l] >> 4);
                if (five_bits) {
                    a[64 * j + l] += (x5->qh[l] >> (2 * j)) & 1 ? 16 : 0;
                    a[64 * j + 32 + l] += (x5->qh[l] >> (2 * j + 1)) & 1 ? 16 : 0;
                }
            }
        uint8_t scales[8], mins[8];
        q4_K_scales_mins(packed, scales, mins);
        int sumi = 0;
        for (int j = 0; j < 16; j++) sumi += y[i].bsums[j] * mins[j / 2];
        int32_t lanes[8] = {0};
        for (int j = 0; j < 16; j++) accumulate_lanes(lanes, y[i].qs + 16 * j, a + 16 * j, scales[j / 2]);
        const float d = F16(xd) * y[i].d;
        for (int l = 0; l < 8; l++) sums[l] += d * lanes[l];
        sumf -= F16(xdmin) * y[i].d * sumi;
    }
    for (int l = 0; l < 8; l++) sumf += sums[l];
    return sumf;
}

static float vec_dot_q4_K_q8_K_ref(const void *row, const void *xq, int64_t n) { return vec_dot_q45_K_ref(row, xq, n, 0); }
static float vec_dot_q5_K_q8_K_ref(const void *row, const void *xq, int64_t n) { return vec_dot_q45_K_ref(row, xq, n, 1); }

/* ggml_vec_dot_q6_K_q8_K_generic: q = 4 bits of ql | 2 bits of qh << 4, minus
 * 32; one int8 scale per 16. */
static float vec_dot_q6_K_q8_K_ref(const void *row, const void *xq, int64_t n) {
    const presso_block_q6_K *x = row;
    const presso_block_q8_K *y = xq;
    float sums[8] = {0};
    for (int64_t i = 0; i < n / QK_K; i++) {
        int8_t a[QK_K];
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        for (int j = 0; j < QK_K; j += 128, ql += 64, qh += 32)
            for (int l = 0; l < 32; l++) {
                a[j + l + 0] = (int8_t)((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                a[j + l + 32] = (int8_t)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                a[j + l + 64] = (int8_t)((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                a[j + l + 96] = (int8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            }
        int32_t lanes[8] = {0};
        for (int j = 0; j < 16; j++) accumulate_lanes(lanes, y[i].qs + 16 * j, a + 16 * j, x[i].scales[j]);
        const float d = F16(x[i].d) * y[i].d;
        for (int l = 0; l < 8; l++) sums[l] += d * lanes[l];
    }
    float sumf = 0;
    for (int l = 0; l < 8; l++) sumf += sums[l];
    return sumf;
}

const presso_vec_dot_q_fn presso_vec_dot_q_ref_table[PRESSO_TYPE_COUNT] = {
    [PRESSO_TYPE_Q4_0] = vec_dot_q4_0_q8_0_ref, [PRESSO_TYPE_Q4_1] = vec_dot_q4_1_q8_1_ref,
    [PRESSO_TYPE_Q5_0] = vec_dot_q5_0_q8_0_ref, [PRESSO_TYPE_Q5_1] = vec_dot_q5_1_q8_1_ref,
    [PRESSO_TYPE_Q8_0] = vec_dot_q8_0_q8_0_ref, [PRESSO_TYPE_Q2_K] = vec_dot_q2_K_q8_K_ref,
    [PRESSO_TYPE_Q3_K] = vec_dot_q3_K_q8_K_ref, [PRESSO_TYPE_Q4_K] = vec_dot_q4_K_q8_K_ref,
    [PRESSO_TYPE_Q5_K] = vec_dot_q5_K_q8_K_ref, [PRESSO_TYPE_Q6_K] = vec_dot_q6_K_q8_K_ref,
};

/* Activations: presso's reference quantizers, which are llama.cpp's
 * quantize_row_q8_{0,1,K}_ref and what its generic CPU path
 * (quantize_row_q8_0_generic etc.) calls. Q8_1's s is d * the sum of the
 * rounded ints, as in both of llama.cpp's paths. llama.cpp's x86 path
 * (arch/x86/quants.c) differs in two details: it rounds ties to even where
 * roundf rounds them away from zero, and it scales by 127/amax rather than
 * 1/(amax/127), so one level can differ at an exact tie or in the last ulp
 * of x*id. presso uses the reference rounding on every tier. */
const presso_quantize_act_fn presso_quantize_act_ref_table[PRESSO_TYPE_COUNT] = {
    [PRESSO_TYPE_Q8_0] = presso_quantize_q8_0_ref,
    [PRESSO_TYPE_Q8_1] = presso_quantize_q8_1_ref,
    [PRESSO_TYPE_Q8_K] = presso_quantize_q8_K_ref,
};
