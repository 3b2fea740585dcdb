/* AVX2 kernels of the 2:4 sparse types (sparse.h), tested against
 * sparse_ref.c. Compiled with -mavx2 -mfma -mf16c and reached only through
 * presso_sparse_kernels_active() once cpuid said the CPU has them.
 *
 * The 16 kept positions of a block come out of its 4 index bytes in three
 * ops (broadcast, shift lane s by 2s, mask 3): byte j of the result is the
 * position of kept value j. The activations are then gathered in registers
 * (vpermps for floats, vpshufb for Q8_0 bytes): half the multiply-adds of
 * the dense kernel and about half (f16) / 3/4 (q4) of its weight bytes. */
#include <immintrin.h>
#include <string.h>

#include "tensor/quants.h"
#include "tensor/sparse.h"

static inline float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

/* Byte j (0..15): position (0..3) of kept value j in its group. */
static inline __m128i kept_positions(const uint8_t idx[4]) {
    uint32_t meta;
    memcpy(&meta, idx, 4);
    const __m128i shifted = _mm_srlv_epi32(_mm_set1_epi32((int)meta), _mm_setr_epi32(0, 2, 4, 6));
    return _mm_and_si128(shifted, _mm_set1_epi8(3));
}

static float vec_dot_s24_f16_avx2(const void *row, const float *x, int64_t n) {
    const presso_block_s24_f16 *b = row;
    /* kept j sits in group j/2; an 8-float register holds two groups */
    const __m256i group_off = _mm256_setr_epi32(0, 0, 4, 4, 0, 0, 4, 4);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / PRESSO_QK_S24; i++) {
        const float *xb = x + i * PRESSO_QK_S24;
        const __m128i pos = kept_positions(b[i].idx);
        const __m256i ia = _mm256_add_epi32(_mm256_cvtepu8_epi32(pos), group_off);
        const __m256i ib = _mm256_add_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(pos, 8)), group_off);
        const __m256 ga = _mm256_blend_ps(_mm256_permutevar8x32_ps(_mm256_loadu_ps(xb), ia),
                                          _mm256_permutevar8x32_ps(_mm256_loadu_ps(xb + 8), ia), 0xF0);
        const __m256 gb = _mm256_blend_ps(_mm256_permutevar8x32_ps(_mm256_loadu_ps(xb + 16), ib),
                                          _mm256_permutevar8x32_ps(_mm256_loadu_ps(xb + 24), ib), 0xF0);
        const __m256 va = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)b[i].v));
        const __m256 vb = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(b[i].v + 8)));
        acc0 = _mm256_fmadd_ps(va, ga, acc0);
        acc1 = _mm256_fmadd_ps(vb, gb, acc1);
    }
    return hsum256(_mm256_add_ps(acc0, acc1));
}

/* One s24_q4 block (64 columns, two halves) fills a 256-bit register: lane
 * 0 holds kept 0..7 of half 0 then of half 1, lane 1 kept 8..15 of each —
 * the order the nibbles come out of qs (low nibbles kept 0..7, high 8..15).
 * vpshufb gathers each half's Q8_0 activations within a lane (a lane is 16
 * activations, 4 groups). Levels stay unsigned (0..15): Σ (q-8)·x =
 * maddubs(q, x) - maddubs(8, x), no sign juggling. */
static float vec_dot_s24_q4_avx2(const void *row, const void *xq, int64_t n) {
    const presso_block_s24_q4 *w = row;
    const presso_block_q8_0 *a = xq;
    const int64_t nb = n / PRESSO_QK_S24_Q4;
    /* kept j of a lane's 8 sits in group j/2 of the lane's 4 */
    const __m256i lane_off = _mm256_setr_epi8(0, 0, 4, 4, 8, 8, 12, 12, 0, 0, 4, 4, 8, 8, 12, 12, 0, 0, 4, 4, 8, 8,
                                              12, 12, 0, 0, 4, 4, 8, 8, 12, 12);
    const __m256i shifts = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6), spread = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
    const __m256i three = _mm256_set1_epi8(3), low4 = _mm256_set1_epi8(0x0F), eight = _mm256_set1_epi8(8);
    const __m256i ones = _mm256_set1_epi16(1), pair_scale = _mm256_setr_epi32(0, 0, 1, 1, 0, 0, 1, 1);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const presso_block_s24_q4 *b = &w[i];
        const presso_block_q8_0 *a0 = &a[2 * i], *a1 = &a[2 * i + 1];
        uint64_t meta;
        memcpy(&meta, b->idx, 8);
        /* bytes [half 0 pos 0..15 | half 1 pos 0..15], then qwords reordered
         * to [h0 0..7, h1 0..7 | h0 8..15, h1 8..15] as in-lane byte indices */
        const __m256i m = _mm256_permutevar8x32_epi32(_mm256_castsi128_si256(_mm_cvtsi64_si128((long long)meta)), spread);
        const __m256i pos = _mm256_and_si256(_mm256_srlv_epi32(m, shifts), three);
        const __m256i ctrl = _mm256_add_epi8(_mm256_permute4x64_epi64(pos, 0xD8), lane_off);
        const __m256i x0 = _mm256_loadu_si256((const __m256i *)(const void *)a0->qs);
        const __m256i x1 = _mm256_loadu_si256((const __m256i *)(const void *)a1->qs);
        const __m256i xg = _mm256_blend_epi32(_mm256_shuffle_epi8(x0, ctrl), _mm256_shuffle_epi8(x1, ctrl), 0xCC);
        const __m128i q = _mm_loadu_si128((const __m128i *)(const void *)b->qs);
        const __m256i wq = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), low4);
        const __m256i prod = _mm256_sub_epi16(_mm256_maddubs_epi16(wq, xg), _mm256_maddubs_epi16(eight, xg));
        const __m256 dots = _mm256_cvtepi32_ps(_mm256_madd_epi16(prod, ones));
        /* the four f16 scales in one conversion: [w_0, w_1, x_0, x_1] → d_0, d_1 */
        uint32_t dw;
        memcpy(&dw, b->d, 4);
        const __m128i h = _mm_insert_epi16(_mm_insert_epi16(_mm_cvtsi32_si128((int)dw), a0->d, 2), a1->d, 3);
        const __m128 f = _mm_cvtph_ps(h);
        const __m128 d = _mm_mul_ps(f, _mm_movehl_ps(f, f));
        acc = _mm256_fmadd_ps(dots, _mm256_permutevar8x32_ps(_mm256_castps128_ps256(d), pair_scale), acc);
    }
    return hsum256(acc);
}

static const presso_sparse_kernels avx2_kernels = {"avx2", vec_dot_s24_f16_avx2, vec_dot_s24_q4_avx2};

const presso_sparse_kernels *presso_sparse_kernels_avx2_table(void) { return &avx2_kernels; }
