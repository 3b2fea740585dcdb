/* The driver shared by the repacked kernels of every tier
 * (gemm_packed_avx2.c, gemm_packed_avx512.c): column tiles of up to 4
 * activation rows outermost (their blocks stay in L1 while the row groups
 * stream past), groups of 8 rows inside; decode is the 1-column tile. Each
 * tier defines tile_<suffix>(p, xq, x_stride, xsum, nb, y, ldy, NR) first.
 * Include only from a kernel file. */
#ifndef PRESSO_TENSOR_GEMM_PACKED_H
#define PRESSO_TENSOR_GEMM_PACKED_H

#include "tensor/repack.h"

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
