/* The repacked kernels of gemm_packed_avx2.c with AVX512-VNNI's
 * _mm256_dpbusd_epi32 (on 256-bit registers, AVX512VL): one instruction
 * multiplies the 4 unsigned levels of each row by the 4 broadcast
 * activation bytes and adds them to the row's int32 lane, where AVX2 needs
 * maddubs, an int16 add and a madd. The same integers and the same float
 * steps, so bit for bit equal to gemm_packed_ref.c (tests/test_repack.c).
 * Q4_0 and Q8_0 (the 32-blocks, where those three instructions are most of
 * the work); the K-quants keep the AVX2 kernels. Compiled with the AVX-512
 * flags (CMakeLists.txt); reached only through dispatch.c. */
#include <immintrin.h>
#include <string.h>

#include "tensor/gemm_packed.h"
#include "tensor/kernels.h"
#include "tensor/q_avx2.h"
#include "tensor/repack.h"

#define R PRESSO_REPACK_ROWS
#define TILE PRESSO_PACKED_TILE

TILE void tile_q4_0x8(const presso_block_q4_0x8 *p, const uint8_t *xq, size_t xs, const int32_t *xsum, int64_t nb,
                      float *y, int64_t ldy, const int NR) {
    __m256 acc[4];
    presso_acc_zero(acc, NR);
    for (int64_t ib = 0; ib < nb; ib++) {
        __m256i q[8];
        presso_unpack_run(p[ib].qs, q);
        const __m256 dx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p[ib].d));
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++) {
            const presso_block_q8_0 *a = (const presso_block_q8_0 *)(const void *)(xq + (size_t)c * xs) + ib;
            __m256i dot = _mm256_set1_epi32(-8 * xsum[c * nb + ib]);
#pragma GCC unroll 8
            for (int s = 0; s < 8; s++) dot = _mm256_dpbusd_epi32(dot, q[s], presso_bcast4(a->qs + 4 * s));
            acc[c] = _mm256_fmadd_ps(_mm256_mul_ps(dx, _mm256_set1_ps(f16(a->d))), _mm256_cvtepi32_ps(dot), acc[c]);
        }
    }
    presso_acc_store(acc, y, ldy, NR);
}

TILE void tile_q8_0x8(const presso_block_q8_0x8 *p, const uint8_t *xq, size_t xs, const int32_t *xsum, int64_t nb,
                      float *y, int64_t ldy, const int NR) {
    (void)xsum;
    __m256 acc[4];
    presso_acc_zero(acc, NR);
    for (int64_t ib = 0; ib < nb; ib++) {
        const __m256 dx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p[ib].d));
        __m256i dot[4];
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++) dot[c] = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int s = 0; s < 8; s++) {
            const __m256i w = load32(p[ib].qs + 32 * s), aw = _mm256_abs_epi8(w);
#pragma GCC unroll 4
            for (int c = 0; c < NR; c++) {
                const presso_block_q8_0 *a = (const presso_block_q8_0 *)(const void *)(xq + (size_t)c * xs) + ib;
                dot[c] = _mm256_dpbusd_epi32(dot[c], aw, _mm256_sign_epi8(presso_bcast4(a->qs + 4 * s), w));
            }
        }
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++) {
            const presso_block_q8_0 *a = (const presso_block_q8_0 *)(const void *)(xq + (size_t)c * xs) + ib;
            acc[c] = _mm256_fmadd_ps(_mm256_mul_ps(dx, _mm256_set1_ps(f16(a->d))), _mm256_cvtepi32_ps(dot[c]), acc[c]);
        }
    }
    presso_acc_store(acc, y, ldy, NR);
}

PRESSO_DEFINE_GEMM_PACKED(gemm_q4_0x8_avx512, q4_0x8, presso_block_q4_0x8, PRESSO_QK4_0)
PRESSO_DEFINE_GEMM_PACKED(gemm_q8_0x8_avx512, q8_0x8, presso_block_q8_0x8, PRESSO_QK8_0)

void presso_gemm_packed_avx512_fill(presso_gemm_packed_fn table[PRESSO_TYPE_COUNT]);
void presso_gemm_packed_avx512_fill(presso_gemm_packed_fn table[PRESSO_TYPE_COUNT]) {
    table[PRESSO_TYPE_Q4_0] = gemm_q4_0x8_avx512;
    table[PRESSO_TYPE_Q8_0] = gemm_q8_0x8_avx512;
}
