/* Integer GEMM / GEMV on repacked weights (repack.h), AVX2: 8 rows per
 * register, so one activation block serves 8 rows and the 8 results come
 * out in the 8 float lanes with no horizontal sum (llama.cpp's
 * ggml_gemv_q4_0_8x8_q8_0 / ggml_gemm_q4_K_8x8_q8_K idea, on presso's own
 * layout). A step multiplies 4 levels of each of the 8 rows (unsigned
 * nibbles, one 32-byte register) by the activation's 4 matching bytes
 * broadcast to all 8 rows: _mm256_maddubs_epi16 then sums pairs, and the 8
 * steps of a 32-run are added in int16 (|sum| <= 8 x 2 x 15 x 128 = 30720,
 * no saturation) before one _mm256_madd_epi16 makes each row's int32.
 *
 * Bit for bit equal to gemm_packed_ref.c (the same integers, then the same
 * float steps per row lane); tests/test_repack.c asserts it. Compiled with
 * -mavx2 -mfma -mf16c; reached only through dispatch.c. */
#include <immintrin.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "tensor/gemm_packed.h"
#include "tensor/kernels.h"
#include "tensor/q_avx2.h"
#include "tensor/repack.h"

#define R PRESSO_REPACK_ROWS
#define QK_K PRESSO_QK_K
#define TILE PRESSO_PACKED_TILE

/* The sums over a run of level x activation (q8: the run's 32 activation
 * bytes) in 16 int16 lanes, row r's in lanes 2r and 2r + 1: one
 * _mm256_madd_epi16 with each row's factor on both lanes of its pair (1 for
 * Q4_0, the sub-block scale for Q4_K) gives the 8 rows' int32 sums. */
TILE __m256i run_sums16(const __m256i q[8], const int8_t *q8) {
    __m256i s16 = _mm256_maddubs_epi16(q[0], presso_bcast4(q8));
#pragma GCC unroll 8
    for (int s = 1; s < 8; s++) s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(q[s], presso_bcast4(q8 + 4 * s)));
    return s16;
}

/* Step s's fifth bits (bit s of each qh byte), moved to bit 4. */
TILE __m256i fifth_bit(__m256i h, int s) {
    const __m256i m = _mm256_set1_epi8(0x10);
    switch (s) {
    case 0: return _mm256_and_si256(_mm256_slli_epi16(h, 4), m);
    case 1: return _mm256_and_si256(_mm256_slli_epi16(h, 3), m);
    case 2: return _mm256_and_si256(_mm256_slli_epi16(h, 2), m);
    case 3: return _mm256_and_si256(_mm256_slli_epi16(h, 1), m);
    case 4: return _mm256_and_si256(h, m);
    case 5: return _mm256_and_si256(_mm256_srli_epi16(h, 1), m);
    case 6: return _mm256_and_si256(_mm256_srli_epi16(h, 2), m);
    default: return _mm256_and_si256(_mm256_srli_epi16(h, 3), m);
    }
}

/* Q4_1, Q5_0, Q5_1 (repack.h): nibble runs, optional fifth bits (levels up
 * to 31: the 8 steps' int16 pairs would reach 2 x 8 x 31 x 128, so two
 * halves of 4 steps), optional mins against Q8_1's s, optional offset
 * (Q5_0's 16) against the block sums. Fields at byte offsets of the packed
 * block (d first); the activation block's levels at a_qs, its s at 2. */
TILE void tile_q32(const uint8_t *w, size_t bsz, size_t off_m, size_t off_qs, size_t off_qh, const bool has_m,
                   const bool has_qh, const int offset, const uint8_t *xq, size_t xs, size_t a_bsz, size_t a_qs,
                   const int32_t *xsum, int64_t nb, float *y, int64_t ldy, const int NR) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[4];
    presso_acc_zero(acc, NR);
    for (int64_t ib = 0; ib < nb; ib++) {
        const uint8_t *b = w + (size_t)ib * bsz;
        __m256i q[8];
        presso_unpack_run(b + off_qs, q);
        if (has_qh) {
            const __m256i h = load32(b + off_qh);
#pragma GCC unroll 8
            for (int s = 0; s < 8; s++) q[s] = _mm256_or_si256(q[s], fifth_bit(h, s));
        }
        const __m256 dx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)b));
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++) {
            const uint8_t *a = xq + (size_t)c * xs + (size_t)ib * a_bsz;
            const int8_t *q8 = (const int8_t *)(a + a_qs);
            __m256i isum;
            if (has_qh) {
                __m256i lo = _mm256_maddubs_epi16(q[0], presso_bcast4(q8)), hi = _mm256_maddubs_epi16(q[4], presso_bcast4(q8 + 16));
#pragma GCC unroll 3
                for (int s = 1; s < 4; s++) {
                    lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(q[s], presso_bcast4(q8 + 4 * s)));
                    hi = _mm256_add_epi16(hi, _mm256_maddubs_epi16(q[s + 4], presso_bcast4(q8 + 16 + 4 * s)));
                }
                isum = _mm256_add_epi32(_mm256_madd_epi16(lo, ones), _mm256_madd_epi16(hi, ones));
            } else {
                isum = _mm256_madd_epi16(run_sums16(q, q8), ones);
            }
            if (offset) isum = _mm256_sub_epi32(isum, _mm256_set1_epi32(offset * xsum[c * nb + ib]));
            presso_f16 dy, sy;
            memcpy(&dy, a, sizeof dy);
            acc[c] = _mm256_fmadd_ps(_mm256_mul_ps(dx, _mm256_set1_ps(f16(dy))), _mm256_cvtepi32_ps(isum), acc[c]);
            if (has_m) {
                memcpy(&sy, a + 2, sizeof sy);
                const __m256 m = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(b + off_m)));
                acc[c] = _mm256_fmadd_ps(m, _mm256_set1_ps(f16(sy)), acc[c]);
            }
        }
    }
    presso_acc_store(acc, y, ldy, NR);
}

#define Q32_ACT8_0 sizeof(presso_block_q8_0), offsetof(presso_block_q8_0, qs)
#define Q32_ACT8_1 sizeof(presso_block_q8_1), offsetof(presso_block_q8_1, qs)

TILE void tile_q4_1x8(const presso_block_q4_1x8 *p, const uint8_t *xq, size_t xs, const int32_t *xsum, int64_t nb,
                      float *y, int64_t ldy, const int NR) {
    tile_q32((const uint8_t *)p, sizeof *p, offsetof(presso_block_q4_1x8, m), offsetof(presso_block_q4_1x8, qs), 0,
             true, false, 0, xq, xs, Q32_ACT8_1, xsum, nb, y, ldy, NR);
}

TILE void tile_q5_0x8(const presso_block_q5_0x8 *p, const uint8_t *xq, size_t xs, const int32_t *xsum, int64_t nb,
                      float *y, int64_t ldy, const int NR) {
    tile_q32((const uint8_t *)p, sizeof *p, 0, offsetof(presso_block_q5_0x8, qs), offsetof(presso_block_q5_0x8, qh),
             false, true, 16, xq, xs, Q32_ACT8_0, xsum, nb, y, ldy, NR);
}

TILE void tile_q5_1x8(const presso_block_q5_1x8 *p, const uint8_t *xq, size_t xs, const int32_t *xsum, int64_t nb,
                      float *y, int64_t ldy, const int NR) {
    tile_q32((const uint8_t *)p, sizeof *p, offsetof(presso_block_q5_1x8, m), offsetof(presso_block_q5_1x8, qs),
             offsetof(presso_block_q5_1x8, qh), true, true, 0, xq, xs, Q32_ACT8_1, xsum, nb, y, ldy, NR);
}

/* [s0, s0, s1, s1, ..., s7, s7] as int16 from 8 bytes: each row's scale on
 * both int16 lanes of its pair, for _mm256_madd_epi16. */
static inline __m256i scales_pairs(const uint8_t s[R]) {
    const __m128i v = _mm_loadl_epi64((const __m128i *)(const void *)s);
    return _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(v, v));
}

/* [s0, s0, ..., s7, s7] as int16 from 8 signed bytes (Q6_K's scales). */
static inline __m256i signed_scales_pairs(const int8_t s[R]) {
    const __m128i v = _mm_loadl_epi64((const __m128i *)(const void *)s);
    return _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(v, v));
}

/* Q4_0: the 8 steps summed in int16, one madd to int32 per row. */
TILE __m256i q4_0_dot(const __m256i q[8], const int8_t *q8, int32_t offset) {
    return _mm256_sub_epi32(_mm256_madd_epi16(run_sums16(q, q8), _mm256_set1_epi16(1)), _mm256_set1_epi32(offset));
}

/* Q8_0: signed levels, so each step is vec_dot's sign trick
 * (maddubs(|w|, sign(y, w))); a pair of products reaches 2 x 127 x 127, so
 * every step goes to int32 at once. */
TILE __m256i q8_0_step(__m256i acc, __m256i w, const int8_t *q8) {
    const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(presso_bcast4(q8), w));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

/* Q4_K: the 8 steps summed in int16 (levels <= 15), then madd by each
 * row's scale on both lanes of its pair. */
static inline __m256i q4_K_scales(const uint8_t s[R]) { return scales_pairs(s); }
TILE __m256i q4_K_run(const __m256i q[8], const int8_t *q8, __m256i sc) {
    return _mm256_madd_epi16(run_sums16(q, q8), sc);
}

/* Q6_K: 6-bit levels u in [0, 63]; two steps' pairs still fit int16 (2 x 2
 * x 63 x 128 = 32256), so each 16-column chunk is two int16 sums, each
 * scaled by madd. */
static inline __m256i q6_K_scales(const int8_t s[R]) { return signed_scales_pairs(s); }
TILE __m256i q6_K_run(const __m256i u[8], const int8_t *q8, __m256i sc0, __m256i sc1) {
    __m256i part[4];
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++)
        part[k] = _mm256_add_epi16(_mm256_maddubs_epi16(u[2 * k], presso_bcast4(q8 + 8 * k)),
                                   _mm256_maddubs_epi16(u[2 * k + 1], presso_bcast4(q8 + 8 * k + 4)));
    const __m256i lo = _mm256_add_epi32(_mm256_madd_epi16(part[0], sc0), _mm256_madd_epi16(part[1], sc0));
    const __m256i hi = _mm256_add_epi32(_mm256_madd_epi16(part[2], sc1), _mm256_madd_epi16(part[3], sc1));
    return _mm256_add_epi32(lo, hi);
}

#include "tensor/gemm_packed_tiles.h"

PRESSO_DEFINE_GEMM_PACKED(gemm_q4_0x8_avx2, q4_0x8, presso_block_q4_0x8, PRESSO_QK4_0)
PRESSO_DEFINE_GEMM_PACKED(gemm_q8_0x8_avx2, q8_0x8, presso_block_q8_0x8, PRESSO_QK8_0)
PRESSO_DEFINE_GEMM_PACKED(gemm_q4_1x8_avx2, q4_1x8, presso_block_q4_1x8, 32)
PRESSO_DEFINE_GEMM_PACKED(gemm_q5_0x8_avx2, q5_0x8, presso_block_q5_0x8, 32)
PRESSO_DEFINE_GEMM_PACKED(gemm_q5_1x8_avx2, q5_1x8, presso_block_q5_1x8, 32)
PRESSO_DEFINE_GEMM_PACKED(gemm_q4_Kx8_avx2, q4_Kx8, presso_block_q4_Kx8, QK_K)
PRESSO_DEFINE_GEMM_PACKED(gemm_q6_Kx8_avx2, q6_Kx8, presso_block_q6_Kx8, QK_K)

const presso_gemm_packed_fn presso_gemm_packed_avx2_table[PRESSO_TYPE_COUNT] = {
    [PRESSO_TYPE_Q4_0] = gemm_q4_0x8_avx2,
    [PRESSO_TYPE_Q8_0] = gemm_q8_0x8_avx2,
    [PRESSO_TYPE_Q4_1] = gemm_q4_1x8_avx2,
    [PRESSO_TYPE_Q5_0] = gemm_q5_0x8_avx2,
    [PRESSO_TYPE_Q5_1] = gemm_q5_1x8_avx2,
    [PRESSO_TYPE_Q4_K] = gemm_q4_Kx8_avx2,
    [PRESSO_TYPE_Q6_K] = gemm_q6_Kx8_avx2,
};
