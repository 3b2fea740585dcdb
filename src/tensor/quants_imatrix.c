/* Importance-weighted quantizers: llama.cpp's quantize_row_*_impl with
 * quant_weights (ggml/src/ggml-quants.c), the path llama-quantize --imatrix
 * takes. The importance of input column j is imatrix[j] = mean over
 * calibration tokens of x_j² (llama-imatrix's Σx²/count); the scale search
 * of each block then minimizes Σ_j qw_j (w_j − q_j)² with
 * qw_j = imatrix[j]·sqrt(σ² + w_j²), σ² = the row's (or super-block's)
 * mean w², i.e. the layer's output error Σ_t (Σ_j (w_j − q_j) x_tj)² with
 * the cross terms dropped (a diagonal Hessian, cf. GPTQ's H = 2XXᵀ).
 *
 * Our own code, bit-exact with ggml's: the same float operations in the same
 * order (no contraction), so llama-quantize --imatrix and presso write the
 * same bytes from the same importance vector (tests/test_imatrix_py.sh).
 * Q8_0 has no weighted path in ggml (its importance is ignored): the
 * reference quantizer is used, as llama.cpp does. */
#include <math.h>
#include <string.h>

#include "tensor/quants.h"

#pragma STDC FP_CONTRACT OFF

#define QK_K PRESSO_QK_K
#define GROUP_MAX_EPS 1e-15f

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }
/* the int -> int8_t store ggml does implicitly (two's complement wrap) */
static inline int8_t wrap_i8(int v) { return (int8_t)((int)(((unsigned)v & 0xffu) ^ 0x80u) - 0x80); }

/* ggml's nearest_int (round half to even through the float mantissa). */
static inline int nearest_int(float fval) {
    const float val = fval + 12582912.f;
    const uint32_t bits = presso_f32_to_bits(val);
    return (int)(bits & 0x007fffffu) - 0x00400000;
}

/* make_qx_quants, rmse_type 1 with quant weights qw: symmetric levels
 * [-nmax, nmax-1]; the weighted least-squares scale on the grid nmax/max and
 * on 18 grids (nmax ± 0.1·is)/max, keeping the best Σ qw (x − s·l)². */
static float make_qx_quants_w(int n, int nmax, const float *x, int8_t *L, const float *qw) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; ++i) {
        const float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < GROUP_MAX_EPS) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.f;
    }
    float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = nearest_int(iscale * x[i]);
        l = imax(-nmax, imin(nmax - 1, l));
        L[i] = (int8_t)(l + nmax);
        const float w = qw[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearest_int(iscale * x[i]);
            l = imax(-nmax, imin(nmax - 1, l));
            const float w = qw[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; ++i) {
                const int l = nearest_int(iscale * x[i]);
                L[i] = (int8_t)(nmax + imax(-nmax, imin(nmax - 1, l)));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* make_qkx3_quants with weights, use_mad false: affine levels [0, nmax],
 * x ≈ scale·L − the_min; weighted least squares for scale and min on the
 * min/max grid and nstep+1 widened grids, keeping the lowest weighted error. */
static float make_qkx3_quants_w(int n, int nmax, const float *x, const float *weights, uint8_t *L, float *the_min,
                                uint8_t *Laux, float rmin, float rdelta, int nstep) {
    float min = x[0], max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        const float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) min = 0;
    if (max <= min) {
        memset(L, 0, (size_t)n);
        *the_min = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_mad = 0;
    for (int i = 0; i < n; ++i) {
        const int l = nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)imax(0, imin(nmax, l));
        float diff = scale * L[i] + min - x[i];
        diff = diff * diff;
        best_mad += weights[i] * diff;
    }
    if (nstep < 1) {
        *the_min = -min;
        return scale;
    }
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearest_int(iscale * (x[i] - min));
            l = imax(0, imin(nmax, l));
            Laux[i] = (uint8_t)l;
            const float w = weights[i];
            sum_l += w * l;
            sum_l2 += w * l * l;
            sum_xl += w * l * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float mad = 0;
            for (int i = 0; i < n; ++i) {
                float diff = this_scale * Laux[i] + this_min - x[i];
                diff = diff * diff;
                mad += weights[i] * diff;
            }
            if (mad < best_mad) {
                memcpy(L, Laux, (size_t)n);
                best_mad = mad;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

/* make_qp_quants: non-negative levels [0, nmax] for the sub-block scales
 * (or mins) of a super-block, weighted by the sub-blocks' total importance:
 * 8 trial grids, then up to 5 passes of coordinate descent. */
static float make_qp_quants(int n, int nmax, const float *x, uint8_t *L, const float *quant_weights) {
    float max = 0;
    for (int i = 0; i < n; ++i) max = max > x[i] ? max : x[i];
    if (max < GROUP_MAX_EPS) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.f;
    }
    float iscale = nmax / max;
    for (int i = 0; i < n; ++i) L[i] = (uint8_t)nearest_int(iscale * x[i]);
    const float scale = 1 / iscale;
    float best_mse = 0;
    for (int i = 0; i < n; ++i) {
        const float diff = x[i] - scale * L[i];
        best_mse += quant_weights[i] * diff * diff;
    }
    for (int is = -4; is <= 4; ++is) {
        if (is == 0) continue;
        const float iscale_is = (0.1f * is + nmax) / max;
        const float scale_is = 1 / iscale_is;
        float mse = 0;
        for (int i = 0; i < n; ++i) {
            const int l = imin(nmax, nearest_int(iscale_is * x[i]));
            const float diff = x[i] - scale_is * l;
            mse += quant_weights[i] * diff * diff;
        }
        if (mse < best_mse) {
            best_mse = mse;
            iscale = iscale_is;
        }
    }
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        const int l = imin(nmax, nearest_int(iscale * x[i]));
        L[i] = (uint8_t)l;
        const float w = quant_weights[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    for (int itry = 0; itry < 5; ++itry) {
        int n_changed = 0;
        for (int i = 0; i < n; ++i) {
            const float w = quant_weights[i];
            float slx = sumlx - w * x[i] * L[i];
            float sl2 = suml2 - w * L[i] * L[i];
            if (slx > 0 && sl2 > 0) {
                const int new_l = imin(nmax, nearest_int(x[i] * sl2 / slx));
                if (new_l != L[i]) {
                    slx += w * x[i] * new_l;
                    sl2 += w * new_l * new_l;
                    if (slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = (uint8_t)new_l;
                        sumlx = slx;
                        suml2 = sl2;
                        ++n_changed;
                    }
                }
            }
        }
        if (!n_changed) break;
    }
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/* Σx²/n over a whole row, in ggml's order (the σ² of the 32-element types). */
static float row_sigma2(const float *x, int64_t n) {
    float sum_x2 = 0;
    for (int64_t j = 0; j < n; ++j) sum_x2 += x[j] * x[j];
    return sum_x2 / n;
}

static void q4_0_row(const float *x, presso_block_q4_0 *y, int64_t n, const float *imat) {
    float weight[32];
    int8_t L[32];
    const float sigma2 = row_sigma2(x, n);
    for (int64_t ib = 0; ib < n / 32; ++ib) {
        const float *xb = x + 32 * ib, *qw = imat + 32 * ib;
        for (int j = 0; j < 32; ++j) weight[j] = qw[j] * sqrtf(sigma2 + xb[j] * xb[j]);
        presso_block_q4_0 b;
        b.d = presso_f32_to_f16(make_qx_quants_w(32, 8, xb, L, weight));
        for (int j = 0; j < 16; ++j) b.qs[j] = (uint8_t)(L[j] | (L[j + 16] << 4));
        memcpy(&y[ib], &b, sizeof b);
    }
}

static void q4_1_row(const float *x, presso_block_q4_1 *y, int64_t n, const float *imat) {
    float weight[32];
    uint8_t L[32], Laux[32];
    const float sigma2 = row_sigma2(x, n);
    for (int64_t ib = 0; ib < n / 32; ++ib) {
        const float *xb = x + 32 * ib, *qw = imat + 32 * ib;
        for (int j = 0; j < 32; ++j) weight[j] = qw[j] * sqrtf(sigma2 + xb[j] * xb[j]);
        float min;
        const float d = make_qkx3_quants_w(32, 15, xb, weight, L, &min, Laux, -0.9f, 0.05f, 36);
        presso_block_q4_1 b;
        b.d = presso_f32_to_f16(d);
        b.m = presso_f32_to_f16(-min);
        for (int j = 0; j < 16; ++j) b.qs[j] = (uint8_t)(L[j] | (L[j + 16] << 4));
        memcpy(&y[ib], &b, sizeof b);
    }
}

/* The 5th bits of 32 codes into the little-endian u32 qh (bit j for element j). */
static void pack_q5(const uint8_t *L, uint8_t qs[16], uint8_t qh_out[4]) {
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
        qs[j] = (uint8_t)((L[j] & 0x0F) | ((L[j + 16] & 0x0F) << 4));
        qh |= ((L[j] & 0x10u) >> 4) << j;
        qh |= ((L[j + 16] & 0x10u) >> 4) << (j + 16);
    }
    for (int k = 0; k < 4; k++) qh_out[k] = (uint8_t)(qh >> (8 * k));
}

static void q5_0_row(const float *x, presso_block_q5_0 *y, int64_t n, const float *imat) {
    float weight[32];
    int8_t L[32];
    uint8_t U[32];
    const float sigma2 = row_sigma2(x, n);
    for (int64_t ib = 0; ib < n / 32; ++ib) {
        const float *xb = x + 32 * ib, *qw = imat + 32 * ib;
        for (int j = 0; j < 32; ++j) weight[j] = qw[j] * sqrtf(sigma2 + xb[j] * xb[j]);
        presso_block_q5_0 b;
        b.d = presso_f32_to_f16(make_qx_quants_w(32, 16, xb, L, weight));
        for (int j = 0; j < 32; ++j) U[j] = (uint8_t)L[j];
        pack_q5(U, b.qs, b.qh);
        memcpy(&y[ib], &b, sizeof b);
    }
}

static void q5_1_row(const float *x, presso_block_q5_1 *y, int64_t n, const float *imat) {
    float weight[32];
    uint8_t L[32], Laux[32];
    const float sigma2 = row_sigma2(x, n);
    for (int64_t ib = 0; ib < n / 32; ++ib) {
        const float *xb = x + 32 * ib, *qw = imat + 32 * ib;
        for (int j = 0; j < 32; ++j) weight[j] = qw[j] * sqrtf(sigma2 + xb[j] * xb[j]);
        float min;
        const float d = make_qkx3_quants_w(32, 31, xb, weight, L, &min, Laux, -0.9f, 0.05f, 36);
        presso_block_q5_1 b;
        b.d = presso_f32_to_f16(d);
        b.m = presso_f32_to_f16(-min);
        pack_q5(L, b.qs, b.qh);
        memcpy(&y[ib], &b, sizeof b);
    }
}

/* Q2_K/Q3_K: 2-bit codes of 256 elements, four per byte across 32-strides. */
static void pack_2bit(uint8_t qs[QK_K / 4], const uint8_t *L) {
    for (int j = 0; j < QK_K; j += 128)
        for (int l = 0; l < 32; ++l)
            qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
}

/* quantize_row_q2_K_impl: σ² = Σx²/256 of the super-block; sub-block
 * (16) scale and min by make_qkx3_quants, then the 16 scales and mins as
 * 4-bit levels by make_qp_quants weighted by each sub-block's Σqw. */
static void q2_K_row(const float *x, presso_block_q2_K *y, int64_t n, const float *imat) {
    uint8_t L[QK_K], Laux[16], Ls[16], Lm[16];
    float mins[16], scales[16], sw[16], weight[16];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        memset(sw, 0, sizeof sw);
        float sumx2 = 0;
        for (int j = 0; j < QK_K; ++j) sumx2 += x[j] * x[j];
        const float sigma2 = sumx2 / QK_K;
        for (int j = 0; j < 16; ++j) {
            const float *qw = imat + QK_K * i + 16 * j;
            for (int l = 0; l < 16; ++l) weight[l] = qw[l] * sqrtf(sigma2 + x[16 * j + l] * x[16 * j + l]);
            for (int l = 0; l < 16; ++l) sw[j] += weight[l];
            scales[j] = make_qkx3_quants_w(16, 3, x + 16 * j, weight, L + 16 * j, &mins[j], Laux, -0.9f, 0.05f, 36);
        }
        float dm = make_qp_quants(16, 15, scales, Ls, sw);
        float mm = make_qp_quants(16, 15, mins, Lm, sw);
        presso_block_q2_K b;
        b.d = presso_f32_to_f16(dm);
        b.dmin = presso_f32_to_f16(mm);
        dm = presso_f16_to_f32(b.d);
        mm = presso_f16_to_f32(b.dmin);
        for (int j = 0; j < 16; ++j) b.scales[j] = (uint8_t)(Ls[j] | (Lm[j] << 4));
        for (int j = 0; j < 16; ++j) {
            const float d = dm * (b.scales[j] & 0xF);
            if (!d) continue;
            const float m = mm * (b.scales[j] >> 4);
            for (int ii = 0; ii < 16; ++ii) {
                const int l = nearest_int((x[16 * j + ii] + m) / d);
                L[16 * j + ii] = (uint8_t)imax(0, imin(3, l));
            }
        }
        pack_2bit(b.qs, L);
        memcpy(&y[i], &b, sizeof b);
    }
}

/* quantize_row_q3_K_impl: σ² = 2Σx²/256; sub-block scales by weighted
 * make_qx_quants (levels −4..3), the 16 scales as signed 6-bit levels by
 * make_qx_quants weighted by Σqw, then every element re-rounded on the
 * final scales. */
static void q3_K_row(const float *x, presso_block_q3_K *y, int64_t n, const float *imat) {
    int8_t L[QK_K], Ls[16];
    float scales[16], weight[16], sw[16];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float sumx2 = 0;
        for (int j = 0; j < QK_K; ++j) sumx2 += x[j] * x[j];
        const float sigma2 = 2 * sumx2 / QK_K;
        for (int j = 0; j < 16; ++j) {
            const float *qw = imat + QK_K * i + 16 * j;
            for (int l = 0; l < 16; ++l) weight[l] = qw[l] * sqrtf(sigma2 + x[16 * j + l] * x[16 * j + l]);
            float sumw = 0;
            for (int l = 0; l < 16; ++l) sumw += weight[l];
            sw[j] = sumw;
            scales[j] = make_qx_quants_w(16, 4, x + 16 * j, L + 16 * j, weight);
        }
        presso_block_q3_K b;
        memset(b.scales, 0, sizeof b.scales);
        const float d_block = make_qx_quants_w(16, 32, scales, Ls, sw);
        for (int j = 0; j < 16; ++j) {
            int l = Ls[j];
            if (j < 8) b.scales[j] = (uint8_t)(l & 0xF);
            else b.scales[j - 8] |= (uint8_t)((l & 0xF) << 4);
            l >>= 4;
            b.scales[j % 4 + 8] |= (uint8_t)(l << (2 * (j / 4)));
        }
        b.d = presso_f32_to_f16(d_block);
        for (int j = 0; j < 16; ++j) {
            const int lo = j < 8 ? b.scales[j] & 0xF : b.scales[j - 8] >> 4;
            const int sc = (lo | (((b.scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
            const float d = presso_f16_to_f32(b.d) * sc;
            if (!d) continue;
            for (int ii = 0; ii < 16; ++ii) {
                const int l = nearest_int(x[16 * j + ii] / d);
                L[16 * j + ii] = (int8_t)(imax(-4, imin(3, l)) + 4);
            }
        }
        memset(b.hmask, 0, sizeof b.hmask);
        uint8_t U[QK_K];
        for (int j = 0; j < QK_K; ++j) {
            int l = L[j];
            if (l > 3) {
                b.hmask[j % 32] |= (uint8_t)(1u << (j / 32));
                l -= 4;
            }
            U[j] = (uint8_t)l;
        }
        pack_2bit(b.qs, U);
        memcpy(&y[i], &b, sizeof b);
    }
}

/* quantize_row_q4_K_impl / q5_K_impl: σ² = 2Σx²/256; sub-block (32) scale
 * and min by weighted make_qkx3_quants, then the 8 scales and mins as 6-bit
 * levels by make_qp_quants weighted by Σqw, then re-rounding. */
static void qk_scale_min_row(const float *x, const float *qw_block, int nmax, uint8_t L[QK_K], presso_f16 *hd,
                             presso_f16 *hmin, uint8_t scales_out[PRESSO_K_SCALE_SIZE]) {
    uint8_t Laux[32], Ls[8], Lm[8];
    float weights[32], sw[8], mins[8], scales[8];
    float sum_x2 = 0;
    for (int l = 0; l < QK_K; ++l) sum_x2 += x[l] * x[l];
    const float sigma2 = 2 * sum_x2 / QK_K;
    for (int j = 0; j < 8; ++j) {
        const float *qw = qw_block + 32 * j;
        for (int l = 0; l < 32; ++l) weights[l] = qw[l] * sqrtf(sigma2 + x[32 * j + l] * x[32 * j + l]);
        float sumw = 0;
        for (int l = 0; l < 32; ++l) sumw += weights[l];
        sw[j] = sumw;
        scales[j] = make_qkx3_quants_w(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -0.9f, 0.05f, 36);
    }
    const float d_block = make_qp_quants(8, 63, scales, Ls, sw);
    const float m_block = make_qp_quants(8, 63, mins, Lm, sw);
    memset(scales_out, 0, PRESSO_K_SCALE_SIZE);
    for (int j = 0; j < 8; ++j) {
        /* Q5_K clamps to 63; Q4_K's make_qp_quants levels are already <= 63 */
        const uint8_t ls = (uint8_t)imin(63, Ls[j]), lm = (uint8_t)imin(63, Lm[j]);
        presso_set_scale_min_k4(scales_out, j, ls, lm);
    }
    *hd = presso_f32_to_f16(d_block);
    *hmin = presso_f32_to_f16(m_block);
    for (int j = 0; j < 8; ++j) {
        uint8_t sc, m;
        presso_get_scale_min_k4(j, scales_out, &sc, &m);
        const float d = presso_f16_to_f32(*hd) * sc;
        if (!d) continue;
        const float dm = presso_f16_to_f32(*hmin) * m;
        for (int ii = 0; ii < 32; ++ii) {
            const int l = nearest_int((x[32 * j + ii] + dm) / d);
            L[32 * j + ii] = (uint8_t)imax(0, imin(nmax, l));
        }
    }
}

static void q4_K_row(const float *x, presso_block_q4_K *y, int64_t n, const float *imat) {
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        presso_block_q4_K b;
        qk_scale_min_row(x, imat + QK_K * i, 15, L, &b.d, &b.dmin, b.scales);
        uint8_t *q = b.qs;
        for (int j = 0; j < QK_K; j += 64, q += 32)
            for (int l = 0; l < 32; ++l) q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
        memcpy(&y[i], &b, sizeof b);
    }
}

static void q5_K_row(const float *x, presso_block_q5_K *y, int64_t n, const float *imat) {
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        presso_block_q5_K b;
        qk_scale_min_row(x, imat + QK_K * i, 31, L, &b.d, &b.dmin, b.scales);
        memset(b.qh, 0, sizeof b.qh);
        uint8_t *ql = b.qs, m1 = 1, m2 = 2;
        for (int k = 0; k < QK_K; k += 64, ql += 32, m1 = (uint8_t)(m1 << 2), m2 = (uint8_t)(m2 << 2)) {
            for (int j = 0; j < 32; ++j) {
                int l1 = L[k + j], l2 = L[k + j + 32];
                if (l1 > 15) {
                    l1 -= 16;
                    b.qh[j] |= m1;
                }
                if (l2 > 15) {
                    l2 -= 16;
                    b.qh[j] |= m2;
                }
                ql[j] = (uint8_t)(l1 | (l2 << 4));
            }
        }
        memcpy(&y[i], &b, sizeof b);
    }
}

/* quantize_row_q6_K_impl: sub-block (16) scales by make_qx_quants weighted
 * by the importance alone (ggml's σ² term is commented out there), the
 * scales as int8 against the largest, then re-rounding. */
static void q6_K_row(const float *x, presso_block_q6_K *y, int64_t n, const float *imat) {
    int8_t L[QK_K];
    float scales[16];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float max_scale = 0, max_abs_scale = 0;
        for (int ib = 0; ib < 16; ++ib) {
            const float scale = make_qx_quants_w(16, 32, x + 16 * ib, L + 16 * ib, imat + QK_K * i + 16 * ib);
            scales[ib] = scale;
            const float abs_scale = fabsf(scale);
            if (abs_scale > max_abs_scale) {
                max_abs_scale = abs_scale;
                max_scale = scale;
            }
        }
        presso_block_q6_K b;
        if (max_abs_scale < GROUP_MAX_EPS) {
            memset(&b, 0, sizeof b);
            b.d = presso_f32_to_f16(0.f);
            memcpy(&y[i], &b, sizeof b);
            continue;
        }
        const float iscale = -128.f / max_scale;
        b.d = presso_f32_to_f16(1 / iscale);
        for (int ib = 0; ib < 16; ++ib) {
            b.scales[ib] = wrap_i8(imin(127, nearest_int(iscale * scales[ib])));
        }
        for (int j = 0; j < 16; ++j) {
            const float d = presso_f16_to_f32(b.d) * b.scales[j];
            if (!d) continue;
            for (int ii = 0; ii < 16; ++ii) {
                const int l = nearest_int(x[16 * j + ii] / d);
                L[16 * j + ii] = (int8_t)(imax(-32, imin(31, l)) + 32);
            }
        }
        uint8_t *ql = b.ql, *qh = b.qh;
        for (int j = 0; j < QK_K; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; ++l) {
                const uint8_t q1 = L[j + l] & 0xF, q2 = L[j + l + 32] & 0xF, q3 = L[j + l + 64] & 0xF,
                              q4 = L[j + l + 96] & 0xF;
                ql[l] = (uint8_t)(q1 | (q3 << 4));
                ql[l + 32] = (uint8_t)(q2 | (q4 << 4));
                qh[l] = (uint8_t)((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                                  ((L[j + l + 96] >> 4) << 6));
            }
        }
        memcpy(&y[i], &b, sizeof b);
    }
}

bool presso_quantize_has_weighted(presso_type type) {
    switch (type) {
    case PRESSO_TYPE_Q4_0: case PRESSO_TYPE_Q4_1: case PRESSO_TYPE_Q5_0: case PRESSO_TYPE_Q5_1:
    case PRESSO_TYPE_Q2_K: case PRESSO_TYPE_Q3_K: case PRESSO_TYPE_Q4_K: case PRESSO_TYPE_Q5_K:
    case PRESSO_TYPE_Q6_K: return true;
    default: return false;
    }
}

bool presso_quantize_row_weighted(presso_type type, const float *x, void *dst, int64_t n, const float *imatrix) {
    switch (type) {
    case PRESSO_TYPE_Q4_0: q4_0_row(x, dst, n, imatrix); return true;
    case PRESSO_TYPE_Q4_1: q4_1_row(x, dst, n, imatrix); return true;
    case PRESSO_TYPE_Q5_0: q5_0_row(x, dst, n, imatrix); return true;
    case PRESSO_TYPE_Q5_1: q5_1_row(x, dst, n, imatrix); return true;
    case PRESSO_TYPE_Q2_K: q2_K_row(x, dst, n, imatrix); return true;
    case PRESSO_TYPE_Q3_K: q3_K_row(x, dst, n, imatrix); return true;
    case PRESSO_TYPE_Q4_K: q4_K_row(x, dst, n, imatrix); return true;
    case PRESSO_TYPE_Q5_K: q5_K_row(x, dst, n, imatrix); return true;
    case PRESSO_TYPE_Q6_K: q6_K_row(x, dst, n, imatrix); return true;
    default: return false;
    }
}
