/* The repacked kernels of gemm_packed_avx2.c with AVX512-VNNI's
 * _mm256_dpbusd_epi32 (on 256-bit registers, AVX512VL): one instruction
 * multiplies the 4 unsigned levels of each row by the 4 broadcast
 * activation bytes and adds them to the row's int32 lane, where AVX2 needs
 * maddubs, an int16 add and a madd. The same integers and the same float
 * steps, so bit for bit equal to gemm_packed_ref.c (tests/test_repack.c).
 * Q4_0, Q8_0, Q4_K and Q6_K (the types of llama.cpp's Q4_0 / Q4_K_M /
 * Q8_0 files); Q4_1 and Q5_x keep the AVX2 kernels. Compiled with the AVX-512
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

/* Q4_K: a sub-block's 8 steps by dpbusd into int32 per row, times the
 * row's 6-bit scale (vpmulld; the AVX2 tile scales its int16 pairs by
 * madd instead). The same integers, so the same bits. */
TILE void tile_q4_Kx8(const presso_block_q4_Kx8 *p, const uint8_t *xq, size_t xs, const int32_t *xsum, int64_t nb,
                      float *y, int64_t ldy, const int NR) {
    (void)xsum;
    __m256 acc[4];
    presso_acc_zero(acc, NR);
    for (int64_t ib = 0; ib < nb; ib++) {
        __m256i isum[4];
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++) isum[c] = _mm256_setzero_si256();
        for (int j = 0; j < PRESSO_QK_K / 32; j++) {
            __m256i q[8];
            presso_unpack_run(p[ib].qs + 128 * j, q);
            const __m256i sc = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p[ib].scales[j]));
#pragma GCC unroll 4
            for (int c = 0; c < NR; c++) {
                const int8_t *q8 = ((const presso_block_q8_K *)(const void *)(xq + (size_t)c * xs) + ib)->qs + 32 * j;
                __m256i sub = _mm256_setzero_si256();
#pragma GCC unroll 8
                for (int s = 0; s < 8; s++) sub = _mm256_dpbusd_epi32(sub, q[s], presso_bcast4(q8 + 4 * s));
                isum[c] = _mm256_add_epi32(isum[c], _mm256_mullo_epi32(sub, sc));
            }
        }
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p[ib].d));
        const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p[ib].dmin));
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++)
            acc[c] = presso_q4_K_finish(&p[ib], (const presso_block_q8_K *)(const void *)(xq + (size_t)c * xs) + ib, d,
                                        dmin, isum[c], acc[c]);
    }
    presso_acc_store(acc, y, ldy, NR);
}

/* Q6_K: each 16-column chunk's 4 steps by dpbusd, times the chunk's signed
 * scale per row. */
TILE void tile_q6_Kx8(const presso_block_q6_Kx8 *p, const uint8_t *xq, size_t xs, const int32_t *xsum, int64_t nb,
                      float *y, int64_t ldy, const int NR) {
    (void)xsum;
    __m256 acc[4];
    presso_acc_zero(acc, NR);
    for (int64_t ib = 0; ib < nb; ib++) {
        __m256i isum[4];
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++) isum[c] = _mm256_setzero_si256();
        for (int run = 0; run < PRESSO_QK_K / 32; run++) {
            __m256i u[8];
            presso_unpack_run(p[ib].runs[run].ql, u);
            const __m256i h0 = load32(p[ib].runs[run].qh), h1 = load32(p[ib].runs[run].qh + 32);
#pragma GCC unroll 8
            for (int s = 0; s < 8; s++) u[s] = _mm256_or_si256(u[s], presso_q6_high(s < 4 ? h0 : h1, s % 4));
            const __m256i sc0 =
                _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p[ib].scales[2 * run]));
            const __m256i sc1 =
                _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p[ib].scales[2 * run + 1]));
#pragma GCC unroll 4
            for (int c = 0; c < NR; c++) {
                const int8_t *q8 = ((const presso_block_q8_K *)(const void *)(xq + (size_t)c * xs) + ib)->qs + 32 * run;
                __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
#pragma GCC unroll 4
                for (int s = 0; s < 4; s++) {
                    lo = _mm256_dpbusd_epi32(lo, u[s], presso_bcast4(q8 + 4 * s));
                    hi = _mm256_dpbusd_epi32(hi, u[s + 4], presso_bcast4(q8 + 16 + 4 * s));
                }
                isum[c] = _mm256_add_epi32(isum[c],
                                           _mm256_add_epi32(_mm256_mullo_epi32(lo, sc0), _mm256_mullo_epi32(hi, sc1)));
            }
        }
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p[ib].d));
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++)
            acc[c] = presso_q6_K_finish(&p[ib], (const presso_block_q8_K *)(const void *)(xq + (size_t)c * xs) + ib, d,
                                        isum[c], acc[c]);
    }
    presso_acc_store(acc, y, ldy, NR);
}

PRESSO_DEFINE_GEMM_PACKED(gemm_q4_0x8_avx512, q4_0x8, presso_block_q4_0x8, PRESSO_QK4_0)
PRESSO_DEFINE_GEMM_PACKED(gemm_q8_0x8_avx512, q8_0x8, presso_block_q8_0x8, PRESSO_QK8_0)
PRESSO_DEFINE_GEMM_PACKED(gemm_q4_Kx8_avx512, q4_Kx8, presso_block_q4_Kx8, PRESSO_QK_K)
PRESSO_DEFINE_GEMM_PACKED(gemm_q6_Kx8_avx512, q6_Kx8, presso_block_q6_Kx8, PRESSO_QK_K)

void presso_gemm_packed_avx512_fill(presso_gemm_packed_fn table[PRESSO_TYPE_COUNT]);
void presso_gemm_packed_avx512_fill(presso_gemm_packed_fn table[PRESSO_TYPE_COUNT]) {
    table[PRESSO_TYPE_Q4_0] = gemm_q4_0x8_avx512;
    table[PRESSO_TYPE_Q8_0] = gemm_q8_0x8_avx512;
    table[PRESSO_TYPE_Q4_K] = gemm_q4_Kx8_avx512;
    table[PRESSO_TYPE_Q6_K] = gemm_q6_Kx8_avx512;
}
