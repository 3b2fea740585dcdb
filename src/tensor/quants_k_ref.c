/* Reference conversions for the K-quants (256-element super-blocks: Q2_K,
 * Q3_K, Q4_K, Q5_K, Q6_K, Q8_K), bit-exact with llama.cpp's
 * ggml/src/ggml-quants.c (the _ref quantizers, i.e. without an importance
 * matrix). Each super-block holds 8 or 16 sub-blocks whose scales (and mins)
 * are themselves quantized against one fp16 super-scale.
 *
 * Same conventions as quants_ref.c: blocks are memcpy'd through local
 * structs (they sit unaligned in mmaped files), float operations are those of
 * ggml in ggml's order, and non-finite input gives unspecified blocks without
 * undefined behaviour (nearest_int reads float bits, never converts). */
#include <math.h>
#include <string.h>

#include "tensor/quants.h"

#pragma STDC FP_CONTRACT OFF

#define QK_K PRESSO_QK_K

/* ggml's GROUP_MAX_EPS: a group whose largest magnitude is below it is all zero. */
#define GROUP_MAX_EPS 1e-15f

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

/* Follows ggml's nearest_int: round to nearest even by adding 1.5*2^23 and
 * reading the mantissa. Exact for |fval| <= 4194303; beyond that (or for
 * inf/nan) it returns garbage, as in ggml, which callers then clamp. */
static inline int nearest_int(float fval) {
    const float val = fval + 12582912.f;
    const uint32_t bits = presso_f32_to_bits(val);
    return (int)(bits & 0x007fffffu) - 0x00400000;
}

/* The int -> int8_t store ggml does implicitly (two's complement wrap),
 * spelled out so it does not depend on implementation-defined conversion. */
static inline int8_t wrap_i8(int v) { return (int8_t)((int)(((unsigned)v & 0xffu) ^ 0x80u) - 0x80); }

/* The signed 6-bit scale j (-32..31) of Q3_K's 12 packed bytes: low 4 bits
 * in the nibbles of bytes 0..7, high 2 bits in bytes 8..11. Equal to the
 * kmask shuffle of dequantize_row_q3_K. */
static inline int q3_k_scale(const uint8_t scales[12], int j) {
    const int lo = j < 8 ? scales[j] & 0xF : scales[j - 8] >> 4;
    const int hi = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (lo | hi << 4) - 32;
}

/* Follows ggml's make_qx_quants without quant weights: symmetric levels
 * [-nmax, nmax-1] for n values; rmse_type 1..4 weights the least-squares
 * scale refinement by x^2, 1, |x|, sqrt|x| and tries 18 scales around
 * nmax/max; a negative rmse_type returns after the first refinement. */
static float make_qx_quants(int n, int nmax, const float *x, int8_t *L, int rmse_type) {
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
    if (rmse_type == 0) {
        for (int i = 0; i < n; ++i) {
            const int l = nearest_int(iscale * x[i]);
            L[i] = (int8_t)(nmax + imax(-nmax, imin(nmax - 1, l)));
        }
        return 1 / iscale;
    }
    int return_early = 0;
    if (rmse_type < 0) {
        rmse_type = -rmse_type;
        return_early = 1;
    }
#define QX_WEIGHT(v)                                                                               \
    (rmse_type == 1 ? (v) * (v) : rmse_type == 2 ? 1 : rmse_type == 3 ? fabsf(v) : sqrtf(fabsf(v)))
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = nearest_int(iscale * x[i]);
        l = imax(-nmax, imin(nmax - 1, l));
        L[i] = (int8_t)(l + nmax);
        const float w = QX_WEIGHT(x[i]);
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    if (return_early) return suml2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearest_int(iscale * x[i]);
            l = imax(-nmax, imin(nmax - 1, l));
            const float w = QX_WEIGHT(x[i]);
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
#undef QX_WEIGHT
    return scale;
}

/* Follows ggml's make_q3_quants: symmetric levels [-nmax, nmax-1]; with
 * do_rmse, up to 5 passes of coordinate descent on the x^2-weighted error,
 * moving one level at a time while the optimal-scale objective improves. */
static float make_q3_quants(int n, int nmax, const float *x, int8_t *L, int do_rmse) {
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
    const float iscale = -nmax / max;
    if (do_rmse) {
        float sumlx = 0, suml2 = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearest_int(iscale * x[i]);
            l = imax(-nmax, imin(nmax - 1, l));
            L[i] = (int8_t)l;
            const float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        for (int itry = 0; itry < 5; ++itry) {
            int n_changed = 0;
            for (int i = 0; i < n; ++i) {
                const float w = x[i] * x[i];
                float slx = sumlx - w * x[i] * L[i];
                if (slx > 0) {
                    float sl2 = suml2 - w * L[i] * L[i];
                    int new_l = nearest_int(x[i] * sl2 / slx);
                    new_l = imax(-nmax, imin(nmax - 1, new_l));
                    if (new_l != L[i]) {
                        slx += w * x[i] * new_l;
                        sl2 += w * new_l * new_l;
                        if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                            L[i] = (int8_t)new_l;
                            sumlx = slx;
                            suml2 = sl2;
                            ++n_changed;
                        }
                    }
                }
            }
            if (!n_changed) break;
        }
        for (int i = 0; i < n; ++i) L[i] = (int8_t)(L[i] + nmax);
        return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
    }
    for (int i = 0; i < n; ++i) {
        int l = nearest_int(iscale * x[i]);
        l = imax(-nmax, imin(nmax - 1, l));
        L[i] = (int8_t)(l + nmax);
    }
    return 1 / iscale;
}

/* Follows ggml's make_qkx2_quants: affine levels [0, nmax] with x ~ scale*L
 * - the_min. Starts from the min/max grid, then tries nstep+1 grids
 * iscale = (rmin + rdelta*is + nmax)/(max - min), fits scale and min by
 * weighted least squares on each, and keeps the one with the lowest weighted
 * squared (or absolute, use_mad) error. */
static float make_qkx2_quants(int n, int nmax, const float *x, const float *weights, uint8_t *L, float *the_min,
                              uint8_t *Laux, float rmin, float rdelta, int nstep, int use_mad) {
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
    if (max == min) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        *the_min = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; ++i) {
        const int l = nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)imax(0, imin(nmax, l));
        float diff = scale * L[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        best_error += weights[i] * diff;
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
            float cur_error = 0;
            for (int i = 0; i < n; ++i) {
                float diff = this_scale * Laux[i] + this_min - x[i];
                diff = use_mad ? fabsf(diff) : diff * diff;
                cur_error += weights[i] * diff;
            }
            if (cur_error < best_error) {
                for (int i = 0; i < n; ++i) L[i] = Laux[i];
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

/* Q2_K/Q3_K store 256 2-bit values as 2 x 128: byte l of each 32-byte run
 * holds elements l, l+32, l+64, l+96 in bits 0-1, 2-3, 4-5, 6-7. */
static void pack_2bit(uint8_t qs[QK_K / 4], const uint8_t L[QK_K]) {
    for (int j = 0; j < QK_K; j += 128) {
        for (int l = 0; l < 32; ++l) {
            qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
        }
    }
}

/* ---- Q2_K: 16 sub-blocks of 16, 2-bit levels, 4-bit scales and mins ---- */

/* Follows quantize_row_q2_K_ref. */
void presso_quantize_q2_K_ref(const float *src, void *dst, int64_t n) {
    uint8_t *out = dst;
    uint8_t L[QK_K], Laux[16];
    float weights[16], mins[QK_K / 16], scales[QK_K / 16];
    const float q4scale = 15.f;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K;
        presso_block_q2_K b;
        float max_scale = 0, max_min = 0; /* the min is subtracted, so scales are >= 0 */
        for (int j = 0; j < QK_K / 16; ++j) {
            for (int l = 0; l < 16; ++l) weights[l] = fabsf(x[16 * j + l]);
            scales[j] = make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, 1);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        if (max_scale > 0) {
            const float iscale = q4scale / max_scale;
            for (int j = 0; j < QK_K / 16; ++j) b.scales[j] = (uint8_t)nearest_int(iscale * scales[j]);
            b.d = presso_f32_to_f16(max_scale / q4scale);
        } else {
            for (int j = 0; j < QK_K / 16; ++j) b.scales[j] = 0;
            b.d = presso_f32_to_f16(0.f);
        }
        if (max_min > 0) {
            const float iscale = q4scale / max_min;
            for (int j = 0; j < QK_K / 16; ++j) {
                const int l = nearest_int(iscale * mins[j]);
                b.scales[j] |= (uint8_t)((unsigned)l << 4);
            }
            b.dmin = presso_f32_to_f16(max_min / q4scale);
        } else {
            b.dmin = presso_f32_to_f16(0.f);
        }
        /* Requantize against the scales as stored (fp16 super-scales, 4-bit sub-scales). */
        for (int j = 0; j < QK_K / 16; ++j) {
            const float d = presso_f16_to_f32(b.d) * (b.scales[j] & 0xF);
            if (!d) continue;
            const float dm = presso_f16_to_f32(b.dmin) * (b.scales[j] >> 4);
            for (int ii = 0; ii < 16; ++ii) {
                const int l = nearest_int((x[16 * j + ii] + dm) / d);
                L[16 * j + ii] = (uint8_t)imax(0, imin(3, l));
            }
        }
        pack_2bit(b.qs, L);
        memcpy(out + i * (int64_t)sizeof b, &b, sizeof b);
    }
}

/* Follows dequantize_row_q2_K. */
void presso_dequantize_q2_K(const void *src, float *dst, int64_t n) {
    const uint8_t *p = src;
    float *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++) {
        presso_block_q2_K b;
        memcpy(&b, p + i * (int64_t)sizeof b, sizeof b);
        const float d = presso_f16_to_f32(b.d);
        const float min = presso_f16_to_f32(b.dmin);
        const uint8_t *q = b.qs;
        int is = 0;
        for (int k = 0; k < QK_K; k += 128) {
            int shift = 0;
            for (int j = 0; j < 4; ++j) {
                uint8_t sc = b.scales[is++];
                float dl = d * (sc & 0xF), ml = min * (sc >> 4);
                for (int l = 0; l < 16; ++l) *y++ = dl * ((q[l] >> shift) & 3) - ml;
                sc = b.scales[is++];
                dl = d * (sc & 0xF);
                ml = min * (sc >> 4);
                for (int l = 0; l < 16; ++l) *y++ = dl * ((q[l + 16] >> shift) & 3) - ml;
                shift += 2;
            }
            q += 32;
        }
    }
}

/* ---- Q3_K: 16 sub-blocks of 16, 3-bit symmetric levels, 6-bit signed scales ---- */

/* Follows quantize_row_q3_K_ref. */
void presso_quantize_q3_K_ref(const float *src, void *dst, int64_t n) {
    uint8_t *out = dst;
    int8_t L[QK_K];
    float scales[QK_K / 16];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K;
        presso_block_q3_K b;
        float max_scale = 0, amax = 0;
        for (int j = 0; j < QK_K / 16; ++j) {
            scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j, 1);
            const float scale = fabsf(scales[j]);
            if (scale > amax) {
                amax = scale;
                max_scale = scales[j];
            }
        }
        memset(b.scales, 0, sizeof b.scales);
        if (max_scale) {
            const float iscale = -32.f / max_scale;
            for (int j = 0; j < QK_K / 16; ++j) {
                /* ggml stores nearest_int into an int8_t before clamping */
                int l = wrap_i8(nearest_int(iscale * scales[j]));
                l = imax(-32, imin(31, l)) + 32;
                if (j < 8) {
                    b.scales[j] = (uint8_t)(l & 0xF);
                } else {
                    b.scales[j - 8] |= (uint8_t)((l & 0xF) << 4);
                }
                l >>= 4;
                b.scales[j % 4 + 8] |= (uint8_t)(l << (2 * (j / 4)));
            }
            b.d = presso_f32_to_f16(1 / iscale);
        } else {
            b.d = presso_f32_to_f16(0.f);
        }
        for (int j = 0; j < QK_K / 16; ++j) {
            const float d = presso_f16_to_f32(b.d) * q3_k_scale(b.scales, j);
            if (!d) continue;
            for (int ii = 0; ii < 16; ++ii) {
                const int l = nearest_int(x[16 * j + ii] / d);
                L[16 * j + ii] = (int8_t)(imax(-4, imin(3, l)) + 4);
            }
        }
        /* The high bit of element j goes to bit j/32 of hmask[j%32]. */
        memset(b.hmask, 0, sizeof b.hmask);
        uint8_t low[QK_K];
        for (int j = 0; j < QK_K; ++j) {
            int l = L[j];
            if (l > 3) {
                b.hmask[j % (QK_K / 8)] |= (uint8_t)(1u << (j / (QK_K / 8)));
                l -= 4;
            }
            low[j] = (uint8_t)l;
        }
        pack_2bit(b.qs, low);
        memcpy(out + i * (int64_t)sizeof b, &b, sizeof b);
    }
}

/* Follows dequantize_row_q3_K. */
void presso_dequantize_q3_K(const void *src, float *dst, int64_t n) {
    const uint8_t *p = src;
    float *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++) {
        presso_block_q3_K b;
        memcpy(&b, p + i * (int64_t)sizeof b, sizeof b);
        const float d_all = presso_f16_to_f32(b.d);
        const uint8_t *q = b.qs;
        const uint8_t *hm = b.hmask;
        uint8_t m = 1;
        int is = 0;
        for (int k = 0; k < QK_K; k += 128) {
            int shift = 0;
            for (int j = 0; j < 4; ++j) {
                float dl = d_all * q3_k_scale(b.scales, is++);
                for (int l = 0; l < 16; ++l) *y++ = dl * (((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
                dl = d_all * q3_k_scale(b.scales, is++);
                for (int l = 0; l < 16; ++l) *y++ = dl * (((q[l + 16] >> shift) & 3) - ((hm[l + 16] & m) ? 0 : 4));
                shift += 2;
                m = (uint8_t)(m << 1);
            }
            q += 32;
        }
    }
}

/* ---- Q4_K / Q5_K: 8 sub-blocks of 32, affine, 6-bit scales and mins ---- */

/* The shared front half of quantize_row_q4_K_ref / q5_K_ref: per-sub-block
 * affine fits (make_qkx2_quants weighted by rms + |x|), the 6-bit packing of
 * scales and mins, and the requantization of L against the stored scales. */
static void quantize_k_scale_min(const float *x, int nmax, float rmin, float rdelta, int nstep, uint8_t L[QK_K],
                                 uint8_t scales_out[PRESSO_K_SCALE_SIZE], presso_f16 *d_out, presso_f16 *dmin_out) {
    uint8_t Laux[32];
    float weights[32], mins[QK_K / 32], scales[QK_K / 32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 32; ++j) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
        const float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; ++l) weights[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, rdelta, nstep, 0);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    memset(scales_out, 0, PRESSO_K_SCALE_SIZE);
    for (int j = 0; j < QK_K / 32; ++j) {
        uint8_t ls = (uint8_t)nearest_int(inv_scale * scales[j]);
        uint8_t lm = (uint8_t)nearest_int(inv_min * mins[j]);
        ls = (uint8_t)imin(63, ls);
        lm = (uint8_t)imin(63, lm);
        presso_set_scale_min_k4(scales_out, j, ls, lm);
    }
    *d_out = presso_f32_to_f16(max_scale / 63.f);
    *dmin_out = presso_f32_to_f16(max_min / 63.f);
    for (int j = 0; j < QK_K / 32; ++j) {
        uint8_t sc, m;
        presso_get_scale_min_k4(j, scales_out, &sc, &m);
        const float d = presso_f16_to_f32(*d_out) * sc;
        if (!d) continue;
        const float dm = presso_f16_to_f32(*dmin_out) * m;
        for (int ii = 0; ii < 32; ++ii) {
            const int l = nearest_int((x[32 * j + ii] + dm) / d);
            L[32 * j + ii] = (uint8_t)imax(0, imin(nmax, l));
        }
    }
}

/* Follows quantize_row_q4_K_ref. */
void presso_quantize_q4_K_ref(const float *src, void *dst, int64_t n) {
    uint8_t *out = dst;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++) {
        presso_block_q4_K b;
        quantize_k_scale_min(src + i * QK_K, 15, -1.f, 0.1f, 20, L, b.scales, &b.d, &b.dmin);
        /* 64 elements per 32 bytes: low nibbles the first 32, high nibbles the next. */
        uint8_t *q = b.qs;
        for (int j = 0; j < QK_K; j += 64) {
            for (int l = 0; l < 32; ++l) q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
            q += 32;
        }
        memcpy(out + i * (int64_t)sizeof b, &b, sizeof b);
    }
}

/* Follows dequantize_row_q4_K. */
void presso_dequantize_q4_K(const void *src, float *dst, int64_t n) {
    const uint8_t *p = src;
    float *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++) {
        presso_block_q4_K b;
        memcpy(&b, p + i * (int64_t)sizeof b, sizeof b);
        const float d = presso_f16_to_f32(b.d);
        const float min = presso_f16_to_f32(b.dmin);
        const uint8_t *q = b.qs;
        int is = 0;
        uint8_t sc, m;
        for (int j = 0; j < QK_K; j += 64) {
            presso_get_scale_min_k4(is + 0, b.scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            presso_get_scale_min_k4(is + 1, b.scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
            q += 32;
            is += 2;
        }
    }
}

/* Follows quantize_row_q5_K_ref. */
void presso_quantize_q5_K_ref(const float *src, void *dst, int64_t n) {
    uint8_t *out = dst;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++) {
        presso_block_q5_K b;
        quantize_k_scale_min(src + i * QK_K, 31, -0.5f, 0.1f, 15, L, b.scales, &b.d, &b.dmin);
        /* As Q4_K, plus the fifth bit of the pair (n+j, n+j+32) in bits 2k, 2k+1 of qh[j]. */
        memset(b.qh, 0, sizeof b.qh);
        uint8_t *ql = b.qs;
        uint8_t m1 = 1, m2 = 2;
        for (int k = 0; k < QK_K; k += 64) {
            for (int j = 0; j < 32; ++j) {
                int l1 = L[k + j];
                if (l1 > 15) {
                    l1 -= 16;
                    b.qh[j] |= m1;
                }
                int l2 = L[k + j + 32];
                if (l2 > 15) {
                    l2 -= 16;
                    b.qh[j] |= m2;
                }
                ql[j] = (uint8_t)(l1 | (l2 << 4));
            }
            m1 = (uint8_t)(m1 << 2);
            m2 = (uint8_t)(m2 << 2);
            ql += 32;
        }
        memcpy(out + i * (int64_t)sizeof b, &b, sizeof b);
    }
}

/* Follows dequantize_row_q5_K. */
void presso_dequantize_q5_K(const void *src, float *dst, int64_t n) {
    const uint8_t *p = src;
    float *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++) {
        presso_block_q5_K b;
        memcpy(&b, p + i * (int64_t)sizeof b, sizeof b);
        const float d = presso_f16_to_f32(b.d);
        const float min = presso_f16_to_f32(b.dmin);
        const uint8_t *ql = b.qs;
        const uint8_t *qh = b.qh;
        int is = 0;
        uint8_t sc, m;
        unsigned u1 = 1, u2 = 2;
        for (int j = 0; j < QK_K; j += 64) {
            presso_get_scale_min_k4(is + 0, b.scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            presso_get_scale_min_k4(is + 1, b.scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
            ql += 32;
            is += 2;
            u1 <<= 2;
            u2 <<= 2;
        }
    }
}

/* ---- Q6_K: 16 sub-blocks of 16, 6-bit symmetric levels, int8 scales ---- */

/* Follows quantize_row_q6_K_ref. */
void presso_quantize_q6_K_ref(const float *src, void *dst, int64_t n) {
    uint8_t *out = dst;
    int8_t L[QK_K];
    float scales[QK_K / 16];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K;
        presso_block_q6_K b;
        float max_scale = 0, max_abs_scale = 0;
        for (int ib = 0; ib < QK_K / 16; ++ib) {
            const float scale = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, 1);
            scales[ib] = scale;
            const float abs_scale = fabsf(scale);
            if (abs_scale > max_abs_scale) {
                max_abs_scale = abs_scale;
                max_scale = scale;
            }
        }
        if (max_abs_scale < GROUP_MAX_EPS) {
            memset(&b, 0, sizeof b);
            b.d = presso_f32_to_f16(0.f);
            memcpy(out + i * (int64_t)sizeof b, &b, sizeof b);
            continue;
        }
        const float iscale = -128.f / max_scale;
        b.d = presso_f32_to_f16(1 / iscale);
        for (int ib = 0; ib < QK_K / 16; ++ib) b.scales[ib] = wrap_i8(imin(127, nearest_int(iscale * scales[ib])));
        for (int j = 0; j < QK_K / 16; ++j) {
            const float d = presso_f16_to_f32(b.d) * b.scales[j];
            if (!d) continue;
            for (int ii = 0; ii < 16; ++ii) {
                const int l = nearest_int(x[16 * j + ii] / d);
                L[16 * j + ii] = (int8_t)(imax(-32, imin(31, l)) + 32);
            }
        }
        /* Per 128 elements: low nibbles of (l, l+64) and (l+32, l+96) in ql,
         * the four high 2-bit pairs in qh[l]. L is in [0, 63] here. */
        uint8_t *ql = b.ql, *qh = b.qh;
        for (int j = 0; j < QK_K; j += 128) {
            for (int l = 0; l < 32; ++l) {
                const unsigned l0 = (uint8_t)L[j + l], l1 = (uint8_t)L[j + l + 32];
                const unsigned l2 = (uint8_t)L[j + l + 64], l3 = (uint8_t)L[j + l + 96];
                ql[l + 0] = (uint8_t)((l0 & 0xF) | (l2 & 0xF) << 4);
                ql[l + 32] = (uint8_t)((l1 & 0xF) | (l3 & 0xF) << 4);
                qh[l] = (uint8_t)((l0 >> 4) | ((l1 >> 4) << 2) | ((l2 >> 4) << 4) | ((l3 >> 4) << 6));
            }
            ql += 64;
            qh += 32;
        }
        memcpy(out + i * (int64_t)sizeof b, &b, sizeof b);
    }
}

/* Follows dequantize_row_q6_K. */
void presso_dequantize_q6_K(const void *src, float *dst, int64_t n) {
    const uint8_t *p = src;
    float *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++) {
        presso_block_q6_K b;
        memcpy(&b, p + i * (int64_t)sizeof b, sizeof b);
        const float d = presso_f16_to_f32(b.d);
        const uint8_t *ql = b.ql, *qh = b.qh;
        const int8_t *sc = b.scales;
        for (int k = 0; k < QK_K; k += 128) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = ((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l + 0] = d * sc[is + 0] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
            y += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }
}

/* ---- Q8_K: one float scale per 256, int8 levels, 16-element sums ---- */

/* Follows quantize_row_q8_K_ref (iscale = -127/max, the current ggml; before
 * 2024 it was -128/max). For an all-zero block ggml leaves bsums unwritten;
 * here they are zero so the output is deterministic. */
void presso_quantize_q8_K_ref(const float *src, void *dst, int64_t n) {
    uint8_t *out = dst;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K;
        presso_block_q8_K b;
        float max = 0, amax = 0;
        for (int j = 0; j < QK_K; ++j) {
            const float ax = fabsf(x[j]);
            if (ax > amax) {
                amax = ax;
                max = x[j];
            }
        }
        if (!amax) {
            memset(&b, 0, sizeof b);
            memcpy(out + i * (int64_t)sizeof b, &b, sizeof b);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < QK_K; ++j) b.qs[j] = wrap_i8(imin(127, nearest_int(iscale * x[j])));
        for (int j = 0; j < QK_K / 16; ++j) {
            int sum = 0;
            for (int ii = 0; ii < 16; ++ii) sum += b.qs[j * 16 + ii];
            b.bsums[j] = (int16_t)sum;
        }
        b.d = 1 / iscale;
        memcpy(out + i * (int64_t)sizeof b, &b, sizeof b);
    }
}

/* Follows dequantize_row_q8_K. */
void presso_dequantize_q8_K(const void *src, float *dst, int64_t n) {
    const uint8_t *p = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        presso_block_q8_K b;
        memcpy(&b, p + i * (int64_t)sizeof b, sizeof b);
        for (int j = 0; j < QK_K; ++j) dst[i * QK_K + j] = b.d * b.qs[j];
    }
}
