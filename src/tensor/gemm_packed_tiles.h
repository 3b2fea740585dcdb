/* The Q4_0, Q8_0, Q4_K and Q6_K tiles of the repacked kernels, written once
 * for every SIMD tier (a template by inclusion: no include guard). Before
 * including it a tier file defines, for its instructions:
 *   __m256i q4_0_dot(const __m256i q[8], const int8_t *q8, int32_t offset)
 *       int32 per row: sum over the block of level x q8, minus offset
 *   __m256i q8_0_step(__m256i acc, __m256i w, const int8_t *q8)
 *       acc + per row the 4 signed products of step w with q8[0..3]
 *   __m256i q4_K_scales(const uint8_t s[8])     the 8 rows' sub-block scale
 *   __m256i q4_K_run(const __m256i q[8], const int8_t *q8, __m256i sc)
 *       int32 per row: sum over a 32-column run of level x q8, times sc
 *   __m256i q6_K_scales(const int8_t s[8])      the same for Q6_K's int8
 *   __m256i q6_K_run(const __m256i u[8], const int8_t *q8, __m256i sc0, __m256i sc1)
 *       the run's two 16-column chunks, each times its scale
 * Everything else (unpacking, the mins / offset, the float steps) is
 * gemm_packed.h's, so the tiers agree bit for bit. */

PRESSO_PACKED_TILE void tile_q4_0x8(const presso_block_q4_0x8 *p, const uint8_t *xq, size_t xs,
                                    const int32_t *xsum, int64_t nb, float *y, int64_t ldy, const int NR) {
    __m256 acc[4];
    presso_acc_zero(acc, NR);
    for (int64_t ib = 0; ib < nb; ib++) {
        __m256i q[8];
        presso_unpack_run(p[ib].qs, q);
        const __m256 dx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p[ib].d));
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++) {
            const presso_block_q8_0 *a = (const presso_block_q8_0 *)(const void *)(xq + (size_t)c * xs) + ib;
            const __m256i isum = q4_0_dot(q, a->qs, 8 * xsum[c * nb + ib]);
            acc[c] = _mm256_fmadd_ps(_mm256_mul_ps(dx, _mm256_set1_ps(f16(a->d))), _mm256_cvtepi32_ps(isum), acc[c]);
        }
    }
    presso_acc_store(acc, y, ldy, NR);
}

PRESSO_PACKED_TILE void tile_q8_0x8(const presso_block_q8_0x8 *p, const uint8_t *xq, size_t xs,
                                    const int32_t *xsum, int64_t nb, float *y, int64_t ldy, const int NR) {
    (void)xsum;
    __m256 acc[4];
    presso_acc_zero(acc, NR);
    for (int64_t ib = 0; ib < nb; ib++) {
        const __m256 dx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p[ib].d));
        __m256i isum[4];
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++) isum[c] = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int s = 0; s < 8; s++) {
            const __m256i w = load32(p[ib].qs + 32 * s);
#pragma GCC unroll 4
            for (int c = 0; c < NR; c++) {
                const presso_block_q8_0 *a = (const presso_block_q8_0 *)(const void *)(xq + (size_t)c * xs) + ib;
                isum[c] = q8_0_step(isum[c], w, a->qs + 4 * s);
            }
        }
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++) {
            const presso_block_q8_0 *a = (const presso_block_q8_0 *)(const void *)(xq + (size_t)c * xs) + ib;
            acc[c] = _mm256_fmadd_ps(_mm256_mul_ps(dx, _mm256_set1_ps(f16(a->d))), _mm256_cvtepi32_ps(isum[c]), acc[c]);
        }
    }
    presso_acc_store(acc, y, ldy, NR);
}

PRESSO_PACKED_TILE void tile_q4_Kx8(const presso_block_q4_Kx8 *p, const uint8_t *xq, size_t xs,
                                    const int32_t *xsum, int64_t nb, float *y, int64_t ldy, const int NR) {
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
            const __m256i sc = q4_K_scales(p[ib].scales[j]);
#pragma GCC unroll 4
            for (int c = 0; c < NR; c++) {
                const presso_block_q8_K *a = (const presso_block_q8_K *)(const void *)(xq + (size_t)c * xs) + ib;
                isum[c] = _mm256_add_epi32(isum[c], q4_K_run(q, a->qs + 32 * j, sc));
            }
        }
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p[ib].d));
        const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p[ib].dmin));
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++) {
            const presso_block_q8_K *a = (const presso_block_q8_K *)(const void *)(xq + (size_t)c * xs) + ib;
            acc[c] = presso_q4_K_finish(&p[ib], a, d, dmin, isum[c], acc[c]);
        }
    }
    presso_acc_store(acc, y, ldy, NR);
}

PRESSO_PACKED_TILE void tile_q6_Kx8(const presso_block_q6_Kx8 *p, const uint8_t *xq, size_t xs,
                                    const int32_t *xsum, int64_t nb, float *y, int64_t ldy, const int NR) {
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
            const __m256i sc0 = q6_K_scales(p[ib].scales[2 * run]), sc1 = q6_K_scales(p[ib].scales[2 * run + 1]);
#pragma GCC unroll 4
            for (int c = 0; c < NR; c++) {
                const int8_t *q8 = ((const presso_block_q8_K *)(const void *)(xq + (size_t)c * xs) + ib)->qs + 32 * run;
                isum[c] = _mm256_add_epi32(isum[c], q6_K_run(u, q8, sc0, sc1));
            }
        }
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p[ib].d));
#pragma GCC unroll 4
        for (int c = 0; c < NR; c++) {
            const presso_block_q8_K *a = (const presso_block_q8_K *)(const void *)(xq + (size_t)c * xs) + ib;
            acc[c] = presso_q6_K_finish(&p[ib], a, d, isum[c], acc[c]);
        }
    }
    presso_acc_store(acc, y, ldy, NR);
}
