/* The oracle of the repacked kernels (repack.h): plain C over the packed
 * layout, the same integer sums and float steps as gemm_packed_avx2.c, so
 * that the two agree bit for bit (tests/test_repack.c). */
#include <math.h>

#include "tensor/kernels.h"
#include "tensor/repack.h"

#define R PRESSO_REPACK_ROWS
#define QK_K PRESSO_QK_K
#define F16(h) presso_f16_to_f32(h)

void presso_block_sums_q8_0(const void *xq, int64_t nb, int32_t *sums) {
    const presso_block_q8_0 *a = xq;
    for (int64_t ib = 0; ib < nb; ib++) {
        int32_t s = 0;
        for (int j = 0; j < PRESSO_QK8_0; j++) s += a[ib].qs[j];
        sums[ib] = s;
    }
}

/* Step s (0..7) of a 32-run: level u of row r, element i (0..3) of the
 * step's 4 (levels 4s..4s+3 of the run). */
static int step_level(const uint8_t run[4 * 32], int s, int r, int i) {
    const uint8_t b = run[32 * (s / 2) + 4 * r + i];
    return s % 2 ? b >> 4 : b & 0x0F;
}

/* sub[r] += sum over the 32 levels of one run of row r times q8[0..31]. */
static void run_dots(const uint8_t run[4 * 32], const int8_t *q8, int32_t sub[R]) {
    for (int s = 0; s < 8; s++)
        for (int r = 0; r < R; r++)
            for (int i = 0; i < 4; i++) sub[r] += step_level(run, s, r, i) * q8[4 * s + i];
}

static void gemm_q4_0x8_ref(const void *w, const void *xq, size_t xs, const int32_t *xsum, int64_t n, float *y,
                            int64_t ldy, int64_t rows, int64_t cols) {
    const int64_t nb = n / PRESSO_QK4_0;
    for (int64_t g = 0; g < rows / R; g++) {
        const presso_block_q4_0x8 *p = (const presso_block_q4_0x8 *)w + g * nb;
        for (int64_t c = 0; c < cols; c++) {
            const presso_block_q8_0 *a = (const void *)((const uint8_t *)xq + (size_t)c * xs);
            float acc[R] = {0};
            for (int64_t ib = 0; ib < nb; ib++) {
                int32_t isum[R] = {0};
                run_dots(p[ib].qs, a[ib].qs, isum);
                const float dy = F16(a[ib].d);
                for (int r = 0; r < R; r++)
                    acc[r] = fmaf(F16(p[ib].d[r]) * dy, (float)(isum[r] - 8 * xsum[c * nb + ib]), acc[r]);
            }
            for (int r = 0; r < R; r++) y[c * ldy + g * R + r] = acc[r];
        }
    }
}

static void gemm_q4_Kx8_ref(const void *w, const void *xq, size_t xs, const int32_t *xsum, int64_t n, float *y,
                            int64_t ldy, int64_t rows, int64_t cols) {
    (void)xsum;
    const int64_t nb = n / QK_K;
    for (int64_t g = 0; g < rows / R; g++) {
        const presso_block_q4_Kx8 *p = (const presso_block_q4_Kx8 *)w + g * nb;
        for (int64_t c = 0; c < cols; c++) {
            const presso_block_q8_K *a = (const void *)((const uint8_t *)xq + (size_t)c * xs);
            float acc[R] = {0};
            for (int64_t ib = 0; ib < nb; ib++) {
                int32_t isum[R] = {0}, msum[R] = {0};
                for (int j = 0; j < QK_K / 32; j++) {
                    int32_t sub[R] = {0};
                    run_dots(p[ib].qs + 128 * j, a[ib].qs + 32 * j, sub);
                    const int bsum = a[ib].bsums[2 * j] + a[ib].bsums[2 * j + 1];
                    for (int r = 0; r < R; r++) {
                        isum[r] += p[ib].scales[j][r] * sub[r];
                        msum[r] += p[ib].mins[j / 2][2 * r + j % 2] * bsum;
                    }
                }
                for (int r = 0; r < R; r++) {
                    acc[r] = fmaf(F16(p[ib].d[r]) * a[ib].d, (float)isum[r], acc[r]);
                    acc[r] = fmaf(-(F16(p[ib].dmin[r]) * a[ib].d), (float)msum[r], acc[r]);
                }
            }
            for (int r = 0; r < R; r++) y[c * ldy + g * R + r] = acc[r];
        }
    }
}

static void gemm_q8_0x8_ref(const void *w, const void *xq, size_t xs, const int32_t *xsum, int64_t n, float *y,
                            int64_t ldy, int64_t rows, int64_t cols) {
    (void)xsum;
    const int64_t nb = n / PRESSO_QK8_0;
    for (int64_t g = 0; g < rows / R; g++) {
        const presso_block_q8_0x8 *p = (const presso_block_q8_0x8 *)w + g * nb;
        for (int64_t c = 0; c < cols; c++) {
            const presso_block_q8_0 *a = (const void *)((const uint8_t *)xq + (size_t)c * xs);
            float acc[R] = {0};
            for (int64_t ib = 0; ib < nb; ib++) {
                const float dy = F16(a[ib].d);
                for (int r = 0; r < R; r++) {
                    int32_t isum = 0;
                    for (int j = 0; j < 32; j++) isum += p[ib].qs[32 * (j / 4) + 4 * r + j % 4] * a[ib].qs[j];
                    acc[r] = fmaf(F16(p[ib].d[r]) * dy, (float)isum, acc[r]);
                }
            }
            for (int r = 0; r < R; r++) y[c * ldy + g * R + r] = acc[r];
        }
    }
}

/* Q6_K: per 16-column chunk c, sum u y times the chunk's scale; the -32
 * offset of the levels as 32 times the chunk's activation sum (bsums). */
static void gemm_q6_Kx8_ref(const void *w, const void *xq, size_t xs, const int32_t *xsum, int64_t n, float *y,
                            int64_t ldy, int64_t rows, int64_t cols) {
    (void)xsum;
    const int64_t nb = n / QK_K;
    for (int64_t g = 0; g < rows / R; g++) {
        const presso_block_q6_Kx8 *p = (const presso_block_q6_Kx8 *)w + g * nb;
        for (int64_t c = 0; c < cols; c++) {
            const presso_block_q8_K *a = (const void *)((const uint8_t *)xq + (size_t)c * xs);
            float acc[R] = {0};
            for (int64_t ib = 0; ib < nb; ib++) {
                int32_t isum[R] = {0}, msum[R] = {0};
                for (int run = 0; run < QK_K / 32; run++)
                    for (int half = 0; half < 2; half++) {
                        const int chunk = 2 * run + half;
                        for (int r = 0; r < R; r++) {
                            int32_t sub = 0;
                            for (int s = 4 * half; s < 4 * half + 4; s++)
                                for (int i = 0; i < 4; i++) {
                                    const int hi = (p[ib].runs[run].qh[32 * (s / 4) + 4 * r + i] >> (2 * (s % 4))) & 3;
                                    const int u = step_level(p[ib].runs[run].ql, s, r, i) | hi << 4;
                                    sub += u * a[ib].qs[32 * run + 4 * s + i];
                                }
                            isum[r] += p[ib].scales[chunk][r] * sub;
                            msum[r] += p[ib].scales[chunk][r] * a[ib].bsums[chunk];
                        }
                    }
                for (int r = 0; r < R; r++)
                    acc[r] = fmaf(F16(p[ib].d[r]) * a[ib].d, (float)(isum[r] - 32 * msum[r]), acc[r]);
            }
            for (int r = 0; r < R; r++) y[c * ldy + g * R + r] = acc[r];
        }
    }
}

/* Q4_1, Q5_0, Q5_1: isum[r] = sum of levels u x q8 over one block, u the run
 * nibble or'ed with the fifth bit (qh, NULL for Q4_1) at bit 4. */
static void q32_sums(const uint8_t *qs, const uint8_t *qh, const int8_t *q8, int32_t isum[R]) {
    for (int r = 0; r < R; r++) isum[r] = 0;
    for (int s = 0; s < 8; s++)
        for (int r = 0; r < R; r++)
            for (int i = 0; i < 4; i++) {
                const int high = qh ? ((qh[4 * r + i] >> s) & 1) << 4 : 0;
                isum[r] += (step_level(qs, s, r, i) | high) * q8[4 * s + i];
            }
}

/* Q5_0: d (u - 16), the 16 taken out with the block sums. */
static void gemm_q5_0x8_ref(const void *w, const void *xq, size_t xs, const int32_t *xsum, int64_t n, float *y,
                            int64_t ldy, int64_t rows, int64_t cols) {
    const int64_t nb = n / 32;
    for (int64_t g = 0; g < rows / R; g++) {
        const presso_block_q5_0x8 *p = (const presso_block_q5_0x8 *)w + g * nb;
        for (int64_t c = 0; c < cols; c++) {
            const presso_block_q8_0 *a = (const void *)((const uint8_t *)xq + (size_t)c * xs);
            float acc[R] = {0};
            for (int64_t ib = 0; ib < nb; ib++) {
                int32_t isum[R];
                q32_sums(p[ib].qs, p[ib].qh, a[ib].qs, isum);
                const float dy = F16(a[ib].d);
                for (int r = 0; r < R; r++)
                    acc[r] = fmaf(F16(p[ib].d[r]) * dy, (float)(isum[r] - 16 * xsum[c * nb + ib]), acc[r]);
            }
            for (int r = 0; r < R; r++) y[c * ldy + g * R + r] = acc[r];
        }
    }
}

/* Q4_1 / Q5_1: d u + m against Q8_1 (s = d_y sum y): the scaled sum, then
 * m s, as vec_dot adds the mins. */
#define DEFINE_MIN_REF(name, block, qh_of)                                                                   \
    static void name(const void *w, const void *xq, size_t xs, const int32_t *xsum, int64_t n, float *y,   \
                     int64_t ldy, int64_t rows, int64_t cols) {                                            \
        (void)xsum;                                                                                        \
        const int64_t nb = n / 32;                                                                         \
        for (int64_t g = 0; g < rows / R; g++) {                                                           \
            const block *p = (const block *)w + g * nb;                                                    \
            for (int64_t c = 0; c < cols; c++) {                                                           \
                const presso_block_q8_1 *a = (const void *)((const uint8_t *)xq + (size_t)c * xs);         \
                float acc[R] = {0};                                                                        \
                for (int64_t ib = 0; ib < nb; ib++) {                                                      \
                    int32_t isum[R];                                                                       \
                    q32_sums(p[ib].qs, qh_of(p[ib]), a[ib].qs, isum);                                      \
                    const float dy = F16(a[ib].d), sy = F16(a[ib].s);                                      \
                    for (int r = 0; r < R; r++) {                                                          \
                        acc[r] = fmaf(F16(p[ib].d[r]) * dy, (float)isum[r], acc[r]);                       \
                        acc[r] = fmaf(F16(p[ib].m[r]), sy, acc[r]);                                        \
                    }                                                                                      \
                }                                                                                          \
                for (int r = 0; r < R; r++) y[c * ldy + g * R + r] = acc[r];                               \
            }                                                                                              \
        }                                                                                                  \
    }
#define NO_QH(b) ((const uint8_t *)NULL)
#define QH(b) ((b).qh)
DEFINE_MIN_REF(gemm_q4_1x8_ref, presso_block_q4_1x8, NO_QH)
DEFINE_MIN_REF(gemm_q5_1x8_ref, presso_block_q5_1x8, QH)

const presso_gemm_packed_fn presso_gemm_packed_ref_table[PRESSO_TYPE_COUNT] = {
    [PRESSO_TYPE_Q4_0] = gemm_q4_0x8_ref,
    [PRESSO_TYPE_Q4_1] = gemm_q4_1x8_ref,
    [PRESSO_TYPE_Q5_0] = gemm_q5_0x8_ref,
    [PRESSO_TYPE_Q5_1] = gemm_q5_1x8_ref,
    [PRESSO_TYPE_Q8_0] = gemm_q8_0x8_ref,
    [PRESSO_TYPE_Q4_K] = gemm_q4_Kx8_ref,
    [PRESSO_TYPE_Q6_K] = gemm_q6_Kx8_ref,
};
