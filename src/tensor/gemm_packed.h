/* What the SIMD tiers of the repacked kernels share (gemm_packed_avx2.c,
 * gemm_packed_avx512.c): the step helpers, the accumulators, and the driver:
 * column tiles of up to 4 activation rows outermost (their blocks stay in L1
 * while the row groups stream past), groups of 8 rows inside; decode is the
 * 1-column tile. Each tier defines tile_<suffix>(p, xq, x_stride, xsum, nb,
 * y, ldy, NR) before PRESSO_DEFINE_GEMM_PACKED. Include only from files
 * compiled with -mavx2 -mfma -mf16c (or more). */
#ifndef PRESSO_TENSOR_GEMM_PACKED_H
#define PRESSO_TENSOR_GEMM_PACKED_H

#include <immintrin.h>
#include <string.h>

#include "tensor/q_avx2.h"
#include "tensor/repack.h"

#define PRESSO_PACKED_TILE static inline __attribute__((always_inline))

/* The activation's 4 bytes of a step, broadcast to the 8 rows. */
static inline __m256i presso_bcast4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm256_set1_epi32(v);
}

/* The 8 steps of one 32-run (4 registers of interleaved nibbles), unpacked:
 * q[s] holds step s's 4 levels of each row. */
PRESSO_PACKED_TILE void presso_unpack_run(const uint8_t *run, __m256i q[8]) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
        const __m256i b = load32(run + 32 * k);
        q[2 * k] = _mm256_and_si256(b, m4);
        q[2 * k + 1] = _mm256_and_si256(_mm256_srli_epi16(b, 4), m4);
    }
}

/* One float accumulator per activation row of the tile (8 rows' lanes). */
PRESSO_PACKED_TILE void presso_acc_zero(__m256 acc[4], const int NR) {
#pragma GCC unroll 4
    for (int c = 0; c < NR; c++) acc[c] = _mm256_setzero_ps();
}

PRESSO_PACKED_TILE void presso_acc_store(const __m256 acc[4], float *y, int64_t ldy, const int NR) {
#pragma GCC unroll 4
    for (int c = 0; c < NR; c++) _mm256_storeu_ps(y + c * ldy, acc[c]);
}

#define PRESSO_DEFINE_GEMM_PACKED(name, suffix, block, QK)                                                      \
    static void name(const void *w, const void *xq, size_t xs, const int32_t *xsum, int64_t n, float *y,        \
                     int64_t ldy, int64_t rows, int64_t cols) {                                                 \
        const int64_t nb = n / (QK);                                                                            \
        for (int64_t c = 0; c < cols; c += 4) {                                                                 \
            const uint8_t *xc = (const uint8_t *)xq + (size_t)c * xs;                                           \
            const int32_t *sc = xsum ? xsum + c * nb : NULL;                                                    \
            for (int64_t g = 0; g < rows / PRESSO_REPACK_ROWS; g++) {                                           \
                const block *p = (const block *)w + g * nb;                                                     \
                float *yg = y + c * ldy + g * PRESSO_REPACK_ROWS;                                               \
                switch (cols - c < 4 ? cols - c : 4) {                                                          \
                case 1: tile_##suffix(p, xc, xs, sc, nb, yg, ldy, 1); break;                                    \
                case 2: tile_##suffix(p, xc, xs, sc, nb, yg, ldy, 2); break;                                    \
                case 3: tile_##suffix(p, xc, xs, sc, nb, yg, ldy, 3); break;                                    \
                default: tile_##suffix(p, xc, xs, sc, nb, yg, ldy, 4); break;                                   \
                }                                                                                               \
            }                                                                                                   \
        }                                                                                                       \
    }

#endif
