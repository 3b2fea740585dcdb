/* Tiled integer GEMM for prefill (and multi-row decode): MR weight rows x NR
 * activation rows per register tile, so that each weight block is loaded and
 * unpacked once per NR activation rows and each activation block is loaded
 * once per MR weight rows (the register blocking of BLIS micro-kernels and of
 * llamafile's tinyBLAS, which llama.cpp runs for Q4_0/Q8_0 prefill).
 *
 * Every output is bit-identical to kernels_q_avx2.c's vec_dot for the same
 * row and activation row: per block the same integer lane sums (integer adds
 * commute, so their grouping may differ), then the same float steps in the
 * same order (one 8-lane FMA per block with the same broadcast scale product,
 * the same horizontal sum at the end). tests/test_kernels.c asserts it.
 * Compiled with -mavx2 -mfma -mf16c; reached only through dispatch.c. */
#include <immintrin.h>
#include <string.h>

#include "tensor/kernels.h"
#include "tensor/q_avx2.h"
#include "tensor/quants.h"

#define QK_K PRESSO_QK_K
#define TILE static inline __attribute__((always_inline))

/* Block ib of row r of a tile / of activation row c. */
#define WBLK(type, w, ws, r, ib) ((const type *)(const void *)((const uint8_t *)(w) + (size_t)(r) * (ws)) + (ib))
#define ABLK(type, a, as, c, ib) WBLK(type, a, as, c, ib)

/* ---- Q4_0 x Q8_0 ----------------------------------------------------------
 * vec_dot: acc += (dx*dy) * float(madd(maddubs(|q-8|, sign(y, q-8)), 1)).
 * Here the lane sums come as madd(maddubs(q, y) - maddubs(8, y), 1), q the
 * nibble in [0, 15]: the same integers (no int16 step can saturate: |q y|
 * pairs <= 3810), with maddubs(8, y) shared by the MR rows. */
TILE void tile_q4_0(const void *w, size_t ws, const void *a, size_t as, int64_t nb, float *y, int64_t ldy,
                    const int MR, const int NR) {
    const __m256i ones = _mm256_set1_epi16(1), eights = _mm256_set1_epi8(8);
    __m256 acc[4][4];
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++) acc[r][c] = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < nb; ib++) {
        __m256i q[4];
        __m256 dx[4];
#pragma GCC unroll 4
        for (int r = 0; r < MR; r++) {
            const presso_block_q4_0 *b = WBLK(presso_block_q4_0, w, ws, r, ib);
            q[r] = bytes_from_nibbles_32(b->qs);
            dx[r] = _mm256_set1_ps(f16(b->d));
        }
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++) {
            const presso_block_q8_0 *b = ABLK(presso_block_q8_0, a, as, c, ib);
            const __m256i yv = load32(b->qs);
            const __m256i off = _mm256_maddubs_epi16(eights, yv);
            const __m256 dy = _mm256_set1_ps(f16(b->d));
#pragma GCC unroll 4
            for (int r = 0; r < MR; r++) {
                const __m256i p = _mm256_madd_epi16(_mm256_sub_epi16(_mm256_maddubs_epi16(q[r], yv), off), ones);
                acc[r][c] = _mm256_fmadd_ps(_mm256_mul_ps(dx[r], dy), _mm256_cvtepi32_ps(p), acc[r][c]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++) y[c * ldy + r] = hsum_float_8(acc[r][c]);
}

/* ---- Q4_1 / Q5_1 x Q8_1: unsigned levels, so maddubs(q, y) directly as
 * vec_dot's mul_sum_us8; the block mins m*s summed in a scalar per output in
 * block order, added after the horizontal sum, as vec_dot does. ------------ */
TILE __m256i levels_q4_1(const presso_block_q4_1 *b) { return bytes_from_nibbles_32(b->qs); }
TILE __m256i levels_q5_1(const presso_block_q5_1 *b) {
    const __m256i hi = _mm256_and_si256(bytes_from_bits_32(b->qh), _mm256_set1_epi8(0x10));
    return _mm256_or_si256(bytes_from_nibbles_32(b->qs), hi);
}

#define DEFINE_TILE_MIN(suffix)                                                                                  \
    TILE void tile_##suffix(const void *w, size_t ws, const void *a, size_t as, int64_t nb, float *y, int64_t ldy, \
                            const int MR, const int NR) {                                                        \
        __m256 acc[4][4];                                                                                        \
        float summs[4][4];                                                                                       \
        _Pragma("GCC unroll 4") for (int r = 0; r < MR; r++)                                                     \
            _Pragma("GCC unroll 4") for (int c = 0; c < NR; c++) acc[r][c] = _mm256_setzero_ps(), summs[r][c] = 0; \
        for (int64_t ib = 0; ib < nb; ib++) {                                                                    \
            __m256i q[4];                                                                                        \
            float dx[4], mx[4];                                                                                  \
            _Pragma("GCC unroll 4") for (int r = 0; r < MR; r++) {                                               \
                const presso_block_##suffix *b = WBLK(presso_block_##suffix, w, ws, r, ib);                      \
                q[r] = levels_##suffix(b);                                                                       \
                dx[r] = f16(b->d), mx[r] = f16(b->m);                                                            \
            }                                                                                                    \
            _Pragma("GCC unroll 4") for (int c = 0; c < NR; c++) {                                               \
                const presso_block_q8_1 *b = ABLK(presso_block_q8_1, a, as, c, ib);                              \
                const __m256i yv = load32(b->qs);                                                                \
                const float dy = f16(b->d), sy = f16(b->s);                                                      \
                _Pragma("GCC unroll 4") for (int r = 0; r < MR; r++) {                                           \
                    summs[r][c] += mx[r] * sy;                                                                   \
                    acc[r][c] = _mm256_fmadd_ps(_mm256_set1_ps(dx[r] * dy), _mm256_cvtepi32_ps(mul_sum_us8(q[r], yv)), \
                                                acc[r][c]);                                                      \
                }                                                                                                \
            }                                                                                                    \
        }                                                                                                        \
        _Pragma("GCC unroll 4") for (int r = 0; r < MR; r++)                                                     \
            _Pragma("GCC unroll 4") for (int c = 0; c < NR; c++) y[c * ldy + r] = hsum_float_8(acc[r][c]) + summs[r][c]; \
    }
DEFINE_TILE_MIN(q4_1)
DEFINE_TILE_MIN(q5_1)

/* ---- Q8_0 / Q5_0 x Q8_0: signed levels (Q5_0: 0xF0 or'ed where the fifth
 * bit is clear makes nibble - 16 directly), mul_sum_i8 as vec_dot, |x|
 * shared by the NR columns. ---------------------------------------------- */
TILE __m256i levels_q8_0(const presso_block_q8_0 *b) { return load32(b->qs); }
TILE __m256i levels_q5_0(const presso_block_q5_0 *b) {
    const __m256i hi = _mm256_andnot_si256(bytes_from_bits_32(b->qh), _mm256_set1_epi8((char)0xF0));
    return _mm256_or_si256(bytes_from_nibbles_32(b->qs), hi);
}

#define DEFINE_TILE_SIGNED(suffix)                                                                               \
    TILE void tile_##suffix(const void *w, size_t ws, const void *a, size_t as, int64_t nb, float *y, int64_t ldy, \
                            const int MR, const int NR) {                                                        \
        __m256 acc[4][4];                                                                                        \
        _Pragma("GCC unroll 4") for (int r = 0; r < MR; r++)                                                     \
            _Pragma("GCC unroll 4") for (int c = 0; c < NR; c++) acc[r][c] = _mm256_setzero_ps();               \
        for (int64_t ib = 0; ib < nb; ib++) {                                                                    \
            __m256i q[4], aq[4];                                                                                 \
            __m256 dx[4];                                                                                        \
            _Pragma("GCC unroll 4") for (int r = 0; r < MR; r++) {                                               \
                const presso_block_##suffix *b = WBLK(presso_block_##suffix, w, ws, r, ib);                      \
                q[r] = levels_##suffix(b);                                                                       \
                aq[r] = _mm256_sign_epi8(q[r], q[r]);                                                            \
                dx[r] = _mm256_set1_ps(f16(b->d));                                                               \
            }                                                                                                    \
            _Pragma("GCC unroll 4") for (int c = 0; c < NR; c++) {                                               \
                const presso_block_q8_0 *b = ABLK(presso_block_q8_0, a, as, c, ib);                              \
                const __m256i yv = load32(b->qs);                                                                \
                const __m256 dy = _mm256_set1_ps(f16(b->d));                                                     \
                _Pragma("GCC unroll 4") for (int r = 0; r < MR; r++) {                                           \
                    const __m256i p = mul_sum_us8(aq[r], _mm256_sign_epi8(yv, q[r]));                            \
                    acc[r][c] = _mm256_fmadd_ps(_mm256_mul_ps(dx[r], dy), _mm256_cvtepi32_ps(p), acc[r][c]);     \
                }                                                                                                \
            }                                                                                                    \
        }                                                                                                        \
        _Pragma("GCC unroll 4") for (int r = 0; r < MR; r++)                                                     \
            _Pragma("GCC unroll 4") for (int c = 0; c < NR; c++) y[c * ldy + r] = hsum_float_8(acc[r][c]);      \
    }
DEFINE_TILE_SIGNED(q8_0)
DEFINE_TILE_SIGNED(q5_0)

/* ---- Q4_K x Q8_K: per super-block one 8-lane FMA of the scaled sums and one
 * 4-lane FMA of mins x pair-summed bsums, as vec_dot_q45_K_avx2. ---------- */
TILE void tile_q4_K(const void *w, size_t ws, const void *a, size_t as, int64_t nb, float *y, int64_t ldy,
                    const int MR, const int NR) {
    const __m256i m4 = _mm256_set1_epi8(0xF);
    __m256 acc[4][4];
    __m128 acc_m[4][4];
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++) acc[r][c] = _mm256_setzero_ps(), acc_m[r][c] = _mm_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        uint32_t u[4][4];
        __m128i mins[4];
        float xd[4], xdmin[4];
#pragma GCC unroll 4
        for (int r = 0; r < MR; r++) {
            const presso_block_q4_K *b = WBLK(presso_block_q4_K, w, ws, r, i);
            q4_K_scales_mins(b->scales, u[r]);
            mins[r] = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(const void *)(u[r] + 2)));
            xd[r] = f16(b->d), xdmin[r] = f16(b->dmin);
        }
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++) {
            const presso_block_q8_K *b = ABLK(presso_block_q8_K, a, as, c, i);
            const __m256i bsums = load32(b->bsums);
            const __m128i q8s = _mm_hadd_epi16(_mm256_castsi256_si128(bsums), _mm256_extracti128_si256(bsums, 1));
#pragma GCC unroll 4
            for (int r = 0; r < MR; r++)
                acc_m[r][c] = _mm_fmadd_ps(_mm_set1_ps(-(b->d * xdmin[r])), _mm_cvtepi32_ps(_mm_madd_epi16(mins[r], q8s)),
                                           acc_m[r][c]);
        }
        __m256i sumi[4][4];
#pragma GCC unroll 4
        for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
            for (int c = 0; c < NR; c++) sumi[r][c] = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            __m256i ql[4], qh[4], sl[4], sh[4];
#pragma GCC unroll 4
            for (int r = 0; r < MR; r++) {
                const __m256i bits = load32(WBLK(presso_block_q4_K, w, ws, r, i)->qs + 32 * j);
                ql[r] = _mm256_and_si256(bits, m4);
                qh[r] = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
                const uint8_t *scales = (const uint8_t *)u[r];
                sl[r] = _mm256_set1_epi16(scales[2 * j]);
                sh[r] = _mm256_set1_epi16(scales[2 * j + 1]);
            }
#pragma GCC unroll 4
            for (int c = 0; c < NR; c++) {
                const int8_t *q8 = ABLK(presso_block_q8_K, a, as, c, i)->qs + 64 * j;
                const __m256i y0 = load32(q8), y1 = load32(q8 + 32);
#pragma GCC unroll 4
                for (int r = 0; r < MR; r++) {
                    const __m256i pl = _mm256_madd_epi16(sl[r], _mm256_maddubs_epi16(ql[r], y0));
                    const __m256i ph = _mm256_madd_epi16(sh[r], _mm256_maddubs_epi16(qh[r], y1));
                    sumi[r][c] = _mm256_add_epi32(sumi[r][c], _mm256_add_epi32(pl, ph));
                }
            }
        }
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++) {
            const float dy = ABLK(presso_block_q8_K, a, as, c, i)->d;
#pragma GCC unroll 4
            for (int r = 0; r < MR; r++)
                acc[r][c] = _mm256_fmadd_ps(_mm256_set1_ps(xd[r] * dy), _mm256_cvtepi32_ps(sumi[r][c]), acc[r][c]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++) y[c * ldy + r] = hsum_float_8(acc[r][c]) + hsum_float_4(acc_m[r][c]);
}

/* ---- Q6_K x Q8_K: the 6-bit level by maddubs minus maddubs(32, y) (shared
 * by the MR rows), the int8 scale per 16 by madd, as vec_dot_q6_K_q8_K_avx2. */
static inline __m256i q6_K_levels(const presso_block_q6_K *b, int half, int k) {
    const __m256i m4 = _mm256_set1_epi8(0xF), m2 = _mm256_set1_epi8(3);
    const uint8_t *ql = b->ql + 64 * half, *qh = b->qh + 32 * half;
    const __m256i lo = load32(ql + 32 * (k & 1)), bh = load32(qh);
    const __m256i nib = k < 2 ? _mm256_and_si256(lo, m4) : _mm256_and_si256(_mm256_srli_epi16(lo, 4), m4);
    const __m256i hi = _mm256_and_si256(k == 0 ? bh : _mm256_srli_epi16(bh, 2 * k), m2);
    return _mm256_or_si256(nib, _mm256_slli_epi16(hi, 4));
}

TILE void tile_q6_K(const void *w, size_t ws, const void *a, size_t as, int64_t nb, float *y, int64_t ldy,
                    const int MR, const int NR) {
    const __m256i m32s = _mm256_set1_epi8(32);
    __m256 acc[4][4];
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++) acc[r][c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        __m256i sumi[4][4];
#pragma GCC unroll 4
        for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
            for (int c = 0; c < NR; c++) sumi[r][c] = _mm256_setzero_si256();
        for (int half = 0; half < 2; half++) {
#pragma GCC unroll 4
            for (int k = 0; k < 4; k++) {
                __m256i q[4], sc[4];
#pragma GCC unroll 4
                for (int r = 0; r < MR; r++) {
                    const presso_block_q6_K *b = WBLK(presso_block_q6_K, w, ws, r, i);
                    q[r] = q6_K_levels(b, half, k);
                    const int8_t *s = b->scales + 8 * half;
                    sc[r] = scales_16_16(s[2 * k], s[2 * k + 1]);
                }
#pragma GCC unroll 4
                for (int c = 0; c < NR; c++) {
                    const __m256i y8 = load32(ABLK(presso_block_q8_K, a, as, c, i)->qs + 128 * half + 32 * k);
                    const __m256i off = _mm256_maddubs_epi16(m32s, y8);
#pragma GCC unroll 4
                    for (int r = 0; r < MR; r++) {
                        const __m256i p16 = _mm256_sub_epi16(_mm256_maddubs_epi16(q[r], y8), off);
                        sumi[r][c] = _mm256_add_epi32(sumi[r][c], _mm256_madd_epi16(sc[r], p16));
                    }
                }
            }
        }
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++) {
            const float dy = ABLK(presso_block_q8_K, a, as, c, i)->d;
#pragma GCC unroll 4
            for (int r = 0; r < MR; r++) {
                const float dx = f16(WBLK(presso_block_q6_K, w, ws, r, i)->d);
                acc[r][c] = _mm256_fmadd_ps(_mm256_set1_ps(dx * dy), _mm256_cvtepi32_ps(sumi[r][c]), acc[r][c]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++) y[c * ldy + r] = hsum_float_8(acc[r][c]);
}

/* rows x cols outputs: full MR x NR tiles, then the ragged rows with 1-row
 * tiles (the same arithmetic, so still bit for bit). Columns outermost: NR
 * activation rows stay in L1 while the rows stream past. Leftover single
 * columns (all of decode) take the row-by-row dot itself: with one activation
 * row there is nothing to share, and measured the plain dot streams the
 * weights faster than 1-column tiles (9 against 6 GB/s for Q4_0, 1 thread). */
#define DEFINE_GEMM(suffix, type_id, QK, MR, NR)                                                             \
    static void gemm_##suffix##_avx2(const void *w, size_t ws, const void *a, size_t as, int64_t n, float *y, \
                                     int64_t ldy, int64_t rows, int64_t cols) {                              \
        const int64_t nb = n / (QK);                                                                         \
        int64_t c = 0;                                                                                       \
        for (; c + (NR) <= cols; c += (NR)) {                                                                \
            const uint8_t *ac = (const uint8_t *)a + (size_t)c * as;                                         \
            int64_t r = 0;                                                                                   \
            for (; r + (MR) <= rows; r += (MR))                                                              \
                tile_##suffix((const uint8_t *)w + (size_t)r * ws, ws, ac, as, nb, y + c * ldy + r, ldy, MR, NR); \
            for (; r < rows; r++)                                                                            \
                tile_##suffix((const uint8_t *)w + (size_t)r * ws, ws, ac, as, nb, y + c * ldy + r, ldy, 1, NR); \
        }                                                                                                    \
        const presso_vec_dot_q_fn dot = presso_vec_dot_q_avx2_table[type_id];                                \
        for (int64_t r = 0; r < rows && c < cols; r++)                                                       \
            for (int64_t cc = c; cc < cols; cc++)                                                            \
                y[cc * ldy + r] = dot((const uint8_t *)w + (size_t)r * ws, (const uint8_t *)a + (size_t)cc * as, n); \
    }

/* Tile shapes: 4x2, 3x3 and 2x2 measured alike for Q4_0 and Q8_0 (within the
 * noise of the shared machine, ~4 cycles per 32-element block pair). */
DEFINE_GEMM(q4_0, PRESSO_TYPE_Q4_0, 32, 4, 2)
DEFINE_GEMM(q4_1, PRESSO_TYPE_Q4_1, 32, 4, 2)
DEFINE_GEMM(q5_0, PRESSO_TYPE_Q5_0, 32, 4, 2)
DEFINE_GEMM(q5_1, PRESSO_TYPE_Q5_1, 32, 4, 2)
DEFINE_GEMM(q8_0, PRESSO_TYPE_Q8_0, 32, 2, 4)
DEFINE_GEMM(q4_K, PRESSO_TYPE_Q4_K, QK_K, 2, 4)
DEFINE_GEMM(q6_K, PRESSO_TYPE_Q6_K, QK_K, 2, 4)

const presso_gemm_q_fn presso_gemm_q_avx2_table[PRESSO_TYPE_COUNT] = {
    [PRESSO_TYPE_Q4_0] = gemm_q4_0_avx2,
    [PRESSO_TYPE_Q4_1] = gemm_q4_1_avx2,
    [PRESSO_TYPE_Q5_0] = gemm_q5_0_avx2,
    [PRESSO_TYPE_Q5_1] = gemm_q5_1_avx2,
    [PRESSO_TYPE_Q8_0] = gemm_q8_0_avx2,
    [PRESSO_TYPE_Q4_K] = gemm_q4_K_avx2,
    [PRESSO_TYPE_Q6_K] = gemm_q6_K_avx2,
};
