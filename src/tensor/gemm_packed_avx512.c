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

/* Q4_0: the 8 steps by dpbusd, starting from -offset. */
TILE __m256i q4_0_dot(const __m256i q[8], const int8_t *q8, int32_t offset) {
    __m256i dot = _mm256_set1_epi32(-offset);
#pragma GCC unroll 8
    for (int s = 0; s < 8; s++) dot = _mm256_dpbusd_epi32(dot, q[s], presso_bcast4(q8 + 4 * s));
    return dot;
}

/* Q8_0: |w| unsigned against sign(y, w), by dpbusd. */
TILE __m256i q8_0_step(__m256i acc, __m256i w, const int8_t *q8) {
    return _mm256_dpbusd_epi32(acc, _mm256_abs_epi8(w), _mm256_sign_epi8(presso_bcast4(q8), w));
}

/* Q4_K: a sub-block's 8 steps by dpbusd into int32 per row, times the
 * row's 6-bit scale (vpmulld; the AVX2 tier scales its int16 pairs by madd
 * instead). The same integers, so the same bits. */
static inline __m256i q4_K_scales(const uint8_t s[R]) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)s));
}
TILE __m256i q4_K_run(const __m256i q[8], const int8_t *q8, __m256i sc) {
    __m256i sub = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int s = 0; s < 8; s++) sub = _mm256_dpbusd_epi32(sub, q[s], presso_bcast4(q8 + 4 * s));
    return _mm256_mullo_epi32(sub, sc);
}

/* Q6_K: each 16-column chunk's 4 steps by dpbusd, times the chunk's signed
 * scale per row. */
static inline __m256i q6_K_scales(const int8_t s[R]) {
    return _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)s));
}
TILE __m256i q6_K_run(const __m256i u[8], const int8_t *q8, __m256i sc0, __m256i sc1) {
    __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int s = 0; s < 4; s++) {
        lo = _mm256_dpbusd_epi32(lo, u[s], presso_bcast4(q8 + 4 * s));
        hi = _mm256_dpbusd_epi32(hi, u[s + 4], presso_bcast4(q8 + 16 + 4 * s));
    }
    return _mm256_add_epi32(_mm256_mullo_epi32(lo, sc0), _mm256_mullo_epi32(hi, sc1));
}

#include "tensor/gemm_packed_tiles.h"

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
