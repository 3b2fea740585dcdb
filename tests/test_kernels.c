/* Every SIMD kernel against its _ref oracle, on odd shapes (lengths that are
 * no multiple of the SIMD width, or of 32 like stories260K's 172), and the
 * matmul's sgemm path against its row-by-row path. The integer dots with
 * quantized activations (llama.cpp's scheme, used by decode): AVX2 against
 * _ref bit for bit where every float step is exact, activation quantizers
 * byte for byte, both against the float dot within measured bounds, and a
 * quantized model's decode logits against its prefill (sgemm) logits. */
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "harness.h"
#include "model/llama.h"
#include "model/model.h"
#include "tensor/kernels.h"
#include "tensor/matmul.h"
#include "tensor/quants.h"
#include "tensor/types.h"

static void fill(presso_rng *rng, float *x, int64_t n, float scale) {
    for (int64_t i = 0; i < n; i++) x[i] = scale * presso_rng_normal(rng);
}

/* |a - b| relative to sum |w_i x_i|, the natural scale of a dot's rounding. */
static double dot_error(presso_vec_dot_fn f, presso_vec_dot_fn ref, presso_type type, const void *row,
                        const float *x, const float *w_float, int64_t n) {
    double scale = 0;
    for (int64_t i = 0; i < n; i++) scale += fabs((double)w_float[i] * x[i]);
    (void)type;
    return fabs((double)f(row, x, n) - (double)ref(row, x, n)) / (scale > 0 ? scale : 1);
}

/* ---- Integer dots with quantized activations (llama.cpp's vec_dot scheme) ---- */

static int rand_int(presso_rng *rng, int m) { /* 0 .. m-1 */
    int v = (int)(presso_rng_uniform(rng) * (float)m);
    return v < m ? v : m - 1;
}

static size_t act_bytes(presso_type act, int64_t n) { return (size_t)presso_row_bytes(act, n); }

/* Activation blocks written directly: levels in [-lim, lim], every scale 1,
 * s (Q8_1) and bsums (Q8_K) consistent with the levels. */
static void fake_act(presso_rng *rng, presso_type act, void *dst, int64_t n, int lim, int constant) {
    for (int64_t i = 0; i < n / (act == PRESSO_TYPE_Q8_K ? 256 : 32); i++) {
        int8_t *qs;
        int len;
        if (act == PRESSO_TYPE_Q8_K) {
            presso_block_q8_K *b = (presso_block_q8_K *)dst + i;
            b->d = 1.0f;
            qs = b->qs, len = 256;
        } else if (act == PRESSO_TYPE_Q8_1) {
            presso_block_q8_1 *b = (presso_block_q8_1 *)dst + i;
            b->d = presso_f32_to_f16(1.0f);
            qs = b->qs, len = 32;
        } else {
            presso_block_q8_0 *b = (presso_block_q8_0 *)dst + i;
            b->d = presso_f32_to_f16(1.0f);
            qs = b->qs, len = 32;
        }
        int sum = 0;
        for (int j = 0; j < len; j++) {
            qs[j] = (int8_t)(constant ? constant : rand_int(rng, 2 * lim + 1) - lim);
            sum += qs[j];
        }
        if (act == PRESSO_TYPE_Q8_1) ((presso_block_q8_1 *)dst)[i].s = presso_f32_to_f16((float)sum);
        if (act == PRESSO_TYPE_Q8_K)
            for (int g = 0; g < 16; g++) {
                int s16 = 0;
                for (int j = 0; j < 16; j++) s16 += qs[16 * g + j];
                ((presso_block_q8_K *)dst)[i].bsums[g] = (int16_t)s16;
            }
    }
}

/* Every float scale of a weight row set to 1 (the level bytes stay as they
 * are), so that all float steps of a dot are exact for moderate sums. */
static void unit_scales(presso_type type, void *row, int64_t n) {
    const presso_f16 one = presso_f32_to_f16(1.0f);
    const presso_type_traits *t = presso_type_traits_of(type);
    for (int64_t i = 0; i < n / t->block_size; i++) {
        uint8_t *b = (uint8_t *)row + (size_t)i * t->block_bytes;
        switch (type) {
        case PRESSO_TYPE_Q4_0: ((presso_block_q4_0 *)(void *)b)->d = one; break;
        case PRESSO_TYPE_Q5_0: ((presso_block_q5_0 *)(void *)b)->d = one; break;
        case PRESSO_TYPE_Q8_0: ((presso_block_q8_0 *)(void *)b)->d = one; break;
        case PRESSO_TYPE_Q4_1: ((presso_block_q4_1 *)(void *)b)->d = ((presso_block_q4_1 *)(void *)b)->m = one; break;
        case PRESSO_TYPE_Q5_1: ((presso_block_q5_1 *)(void *)b)->d = ((presso_block_q5_1 *)(void *)b)->m = one; break;
        case PRESSO_TYPE_Q2_K: ((presso_block_q2_K *)(void *)b)->d = ((presso_block_q2_K *)(void *)b)->dmin = one; break;
        case PRESSO_TYPE_Q3_K: ((presso_block_q3_K *)(void *)b)->d = one; break;
        case PRESSO_TYPE_Q4_K: ((presso_block_q4_K *)(void *)b)->d = ((presso_block_q4_K *)(void *)b)->dmin = one; break;
        case PRESSO_TYPE_Q5_K: ((presso_block_q5_K *)(void *)b)->d = ((presso_block_q5_K *)(void *)b)->dmin = one; break;
        case PRESSO_TYPE_Q6_K: ((presso_block_q6_K *)(void *)b)->d = one; break;
        default: break;
        }
    }
}

static const int64_t q_lengths[] = {32, 64, 96, 160, 256, 512, 768, 1280, 2048, 4096};

/* AVX2 integer dots against the _ref ones on random level bytes (every bit
 * pattern of qs, qh, scales; Q8_0 weights include -128) with unit scales:
 * the integer math is the whole answer, so the floats must be identical.
 * Then extreme levels (all bytes 0x00/0xFF/0x80/0x55, activations +-127),
 * where the sums outgrow float's 24 bits: 1e-6 relative. */
static void test_qdot_exact(const presso_kernels *ref, const presso_kernels *avx2, presso_rng *rng) {
    uint8_t *row = malloc(4096 * 2), *xq = malloc(4096 * 2);
    for (int type = 0; type < PRESSO_TYPE_COUNT; type++) {
        if (!ref->vec_dot_q[type]) continue;
        const presso_type_traits *t = presso_type_traits_of(type);
        const presso_type act = presso_vec_dot_type((presso_type)type);
        CHECK_MSG(act != PRESSO_TYPE_F32 && ref->quantize_act[act], "%s: no activation type", t->name);
        CHECK_MSG(avx2 == NULL || avx2->vec_dot_q[type], "%s: no avx2 integer dot", t->name);
        if (!avx2) continue;
        int cases = 0, mismatches = 0;
        double worst_extreme = 0;
        for (size_t li = 0; li < sizeof q_lengths / sizeof q_lengths[0]; li++) {
            const int64_t n = q_lengths[li];
            if (n % t->block_size) continue;
            const size_t rb = (size_t)presso_row_bytes((presso_type)type, n);
            for (int trial = 0; trial < 6; trial++) {
                for (size_t i = 0; i < rb; i++) row[i] = (uint8_t)rand_int(rng, 256);
                unit_scales((presso_type)type, row, n);
                fake_act(rng, act, xq, n, trial < 3 ? 63 : 127 / (1 + (int)(n / 512)), 0);
                const float a = avx2->vec_dot_q[type](row, xq, n), r = ref->vec_dot_q[type](row, xq, n);
                if (memcmp(&a, &r, sizeof a) != 0) {
                    if (mismatches++ < 3)
                        fprintf(stderr, "%s n=%lld trial %d: avx2 %.9g ref %.9g\n", t->name, (long long)n, trial, a, r);
                }
                cases++;
            }
            static const uint8_t patterns[] = {0x00, 0xFF, 0x80, 0x55};
            for (int p = 0; p < 4; p++)
                for (int sign = -1; sign <= 1; sign += 2) {
                    memset(row, patterns[p], rb);
                    unit_scales((presso_type)type, row, n);
                    fake_act(rng, act, xq, n, 127, 127 * sign);
                    const double a = avx2->vec_dot_q[type](row, xq, n), r = ref->vec_dot_q[type](row, xq, n);
                    const double e = fabs(a - r) / (fabs(r) > 1 ? fabs(r) : 1);
                    if (e > worst_extreme) worst_extreme = e;
                    cases++;
                }
        }
        CHECK_MSG(mismatches == 0, "%s: avx2 integer dot differs from ref in %d cases", t->name, mismatches);
        CHECK_MSG(worst_extreme < 1e-6, "%s: avx2 integer dot on extreme levels off by %g", t->name, worst_extreme);
        printf("%-5s integer dot: %3d cases, avx2 == ref bit for bit, extremes within %.1e\n", t->name, cases,
               worst_extreme);
    }
    free(row), free(xq);
}

/* AVX2 activation quantizers against the references, byte for byte, on
 * random, zero, huge-range, outlier, exact-tie, sign-of-max and tiny
 * (denormal-scale) inputs. */
static void test_act_quant(const presso_kernels *ref, const presso_kernels *avx2, presso_rng *rng) {
    if (!avx2) return;
    enum { N = 4096 };
    float *x = malloc(sizeof(float) * N);
    uint8_t *a = malloc(N * 2), *r = malloc(N * 2);
    const presso_type acts[] = {PRESSO_TYPE_Q8_0, PRESSO_TYPE_Q8_1, PRESSO_TYPE_Q8_K};
    for (int ai = 0; ai < 3; ai++) {
        const presso_type act = acts[ai];
        CHECK(avx2->quantize_act[act] != NULL);
        if (!avx2->quantize_act[act]) continue;
        int bad = 0;
        for (int pattern = 0; pattern < 9; pattern++) {
            for (int i = 0; i < N; i++) {
                switch (pattern) {
                case 0: x[i] = presso_rng_normal(rng); break;
                case 1: x[i] = 0; break;
                case 2: x[i] = presso_rng_normal(rng) * powf(10.0f, (float)(rand_int(rng, 61) - 30)); break;
                case 3: x[i] = i == 777 ? 1e6f : presso_rng_normal(rng); break;
                case 4: x[i] = (i % 32 == 5) ? 127.0f : (float)(rand_int(rng, 253) - 126) + 0.5f; break; /* ties */
                case 5: x[i] = (i % 32 == 3) ? -127.0f : (i % 32 == 9 ? 127.0f : (float)(rand_int(rng, 253) - 126) + 0.5f); break;
                case 6: x[i] = presso_rng_normal(rng) * 1e-38f; break; /* scale underflows */
                case 7: x[i] = (i / 256) % 2 ? 0 : presso_rng_normal(rng) * 3e-3f; break; /* zero blocks between */
                default: x[i] = presso_rng_uniform(rng) < 0.9f ? 0 : presso_rng_normal(rng) * 1e4f; break;
                }
            }
            memset(a, 0, N * 2), memset(r, 0, N * 2);
            avx2->quantize_act[act](x, a, N);
            ref->quantize_act[act](x, r, N);
            if (memcmp(a, r, act_bytes(act, N)) != 0) {
                bad++;
                fprintf(stderr, "%s activation quantizer: pattern %d differs from ref\n",
                        presso_type_traits_of(act)->name, pattern);
            }
        }
        CHECK_MSG(bad == 0, "%s: avx2 activation quantizer differs from ref on %d patterns",
                  presso_type_traits_of(act)->name, bad);
    }
    free(x), free(a), free(r);
}

/* The most a quantized-activation dot can differ from the exact dot of the
 * dequantized row with float x: each x_i is within d/2 of its level times d
 * (d the block's activation scale), plus d's rounding to f16 (127 levels *
 * 2^-11 d); for Q8_1 the min meets s = f16(d * sum q), a further
 * |m| * |sum q| * d * 2^-10 per block. */
static double qdot_bound(presso_type type, const void *row, const float *w, const void *xq, int64_t n) {
    const presso_type act = presso_vec_dot_type(type);
    const int qk = act == PRESSO_TYPE_Q8_K ? 256 : 32;
    double bound = 0;
    for (int64_t b = 0; b < n / qk; b++) {
        double d, sumq = 0;
        if (act == PRESSO_TYPE_Q8_K) {
            d = fabs(((const presso_block_q8_K *)xq)[b].d);
        } else {
            const presso_block_q8_1 *b1 = (const presso_block_q8_1 *)xq + b;
            const presso_block_q8_0 *b0 = (const presso_block_q8_0 *)xq + b;
            d = presso_f16_to_f32(act == PRESSO_TYPE_Q8_1 ? b1->d : b0->d);
            for (int j = 0; j < 32; j++) sumq += act == PRESSO_TYPE_Q8_1 ? b1->qs[j] : b0->qs[j];
        }
        double sw = 0;
        for (int j = 0; j < qk; j++) sw += fabs(w[b * qk + j]);
        bound += sw * d * (0.5 + 127.0 / 2048);
        if (act == PRESSO_TYPE_Q8_1) { /* Q4_1 and Q5_1 blocks both begin with f16 d, m */
            const size_t bb = presso_type_traits_of(type)->block_bytes;
            presso_f16 m;
            memcpy(&m, (const uint8_t *)row + (size_t)b * bb + sizeof(presso_f16), sizeof m);
            bound += fabs(presso_f16_to_f32(m)) * fabs(sumq) * d * 0x1p-10;
        }
    }
    return bound;
}

/* Quantized-activation dots against the exact dot of the dequantized row
 * with the float activations: within qdot_bound (plus float rounding) on
 * every call; typical errors are printed relative to sum |w x|. */
static void test_qdot_accuracy(const presso_kernels *ref, const presso_kernels *avx2, presso_rng *rng) {
    enum { MAX_N = 4096 };
    float *w = malloc(sizeof(float) * MAX_N), *x = malloc(sizeof(float) * MAX_N);
    uint8_t *row = malloc(MAX_N * 2), *xq = malloc(MAX_N * 2);
    for (int type = 0; type < PRESSO_TYPE_COUNT; type++) {
        if (!ref->vec_dot_q[type]) continue;
        const presso_type_traits *t = presso_type_traits_of(type);
        const presso_type act = presso_vec_dot_type((presso_type)type);
        double worst_q = 0, worst_ratio = 0, worst_simd = 0;
        for (size_t li = 0; li < sizeof q_lengths / sizeof q_lengths[0]; li++) {
            const int64_t n = q_lengths[li];
            if (n % t->block_size) continue;
            for (int trial = 0; trial < 5; trial++) {
                fill(rng, w, n, trial == 3 ? 1e4f : 1.0f);
                fill(rng, x, n, trial == 4 ? 1e-3f : 1.0f);
                if (trial == 2) x[rand_int(rng, (int)n)] = 50.0f; /* one outlier activation */
                t->from_float_ref(w, row, n);
                t->to_float(row, w, n);
                double exact = 0, scale = 0;
                for (int64_t i = 0; i < n; i++) exact += (double)w[i] * x[i], scale += fabs((double)w[i] * x[i]);
                if (scale == 0) scale = 1;
                ref->quantize_act[act](x, xq, n);
                const double q = ref->vec_dot_q[type](row, xq, n);
                const double bound = qdot_bound((presso_type)type, row, w, xq, n) + 1e-6 * scale;
                worst_q = fmax(worst_q, fabs(q - exact) / scale);
                worst_ratio = fmax(worst_ratio, fabs(q - exact) / bound);
                if (avx2) {
                    avx2->quantize_act[act](x, xq, n);
                    worst_simd = fmax(worst_simd, fabs(avx2->vec_dot_q[type](row, xq, n) - q) / scale);
                }
            }
        }
        CHECK_MSG(worst_ratio <= 1, "%s: quantized-activation dot exceeds its error bound (x %g)", t->name, worst_ratio);
        CHECK_MSG(worst_simd < 1e-5, "%s: avx2 quantized-activation dot vs ref %g", t->name, worst_simd);
        printf("%-5s vs exact dot: int8 activations %.2e of sum|wx| (%.2f of the bound); avx2 vs ref %.2e\n",
               t->name, worst_q, worst_ratio, worst_simd);
    }
    free(w), free(x), free(row), free(xq);
}

/* The integer-dot matmul (prefill's tiled gemm_q, decode's multi-row tiles,
 * the ref tier's tiled dots) against the tier's own vec_dot_q called once per
 * output: bit for bit, on odd shapes (rows not a multiple of the tile or the
 * row block, activation rows not a multiple of the tile's columns), with 1
 * and 2 threads; and, where every float step is exact (unit scales, random
 * level bytes), the AVX2 matmul against the _ref dots bit for bit too. */
static void test_matmul_gemm_q(presso_rng *rng) {
    const int64_t outs[] = {37, 5}, ns[] = {1, 3, 11};
    const char *tiers[] = {"ref", "avx2"};
    for (int type = 0; type < PRESSO_TYPE_COUNT; type++) {
        const presso_vec_dot_q_fn ref_dot = presso_kernels_ref()->vec_dot_q[type];
        if (!ref_dot) continue;
        const presso_type_traits *t = presso_type_traits_of(type);
        const presso_type act = presso_vec_dot_type((presso_type)type);
        const int64_t in = t->block_size == 256 ? 768 : 96;
        const size_t rb = (size_t)presso_row_bytes((presso_type)type, in), ab = act_bytes(act, in);
        int compared = 0, differ = 0, compared_ref = 0, differ_ref = 0;
        for (int ti = 0; ti < 2; ti++) {
            if (presso_kernels_select(tiers[ti]) != PRESSO_OK) continue;
            const presso_kernels *k = presso_kernels_active();
            for (size_t oi = 0; oi < 2; oi++) {
                const int64_t out = outs[oi];
                uint8_t *wq = malloc(rb * (size_t)out), *xq = malloc(ab * 11);
                float *wf = malloc(sizeof(float) * (size_t)(in * out)), *x = malloc(sizeof(float) * (size_t)in * 11);
                float *y = malloc(sizeof(float) * (size_t)out * 11);
                float *scratch = malloc(sizeof(float) * (size_t)presso_matmul_scratch_floats(in, 11, 2));
                fill(rng, wf, in * out, 0.1f);
                for (int64_t r = 0; r < out; r++) t->from_float_ref(wf + r * in, wq + (size_t)r * rb, in);
                fill(rng, x, in * 11, 1.0f);
                x[5] = 30.0f; /* an outlier activation */
                for (int64_t c = 0; c < 11; c++) k->quantize_act[act](x + c * in, xq + (size_t)c * ab, in);
                presso_tensor tensor = {.type = (presso_type)type, .n_dims = 2, .ne = {in, out, 1, 1}, .data = wq};
                for (size_t ni = 0; ni < 3; ni++)
                    for (int threads = 1; threads <= 2; threads++) {
                        const int64_t n = ns[ni];
                        presso_matmul(&tensor, x, n, y, scratch, threads);
                        for (int64_t c = 0; c < n; c++)
                            for (int64_t r = 0; r < out; r++) {
                                const float want = k->vec_dot_q[type](wq + (size_t)r * rb, xq + (size_t)c * ab, in);
                                differ += memcmp(&want, &y[c * out + r], sizeof want) != 0;
                                compared++;
                            }
                    }
                /* Exact float steps: random level bytes, unit scales, activation levels within +-15. */
                if (k->gemm_q && k->gemm_q[type]) {
                    for (size_t i = 0; i < rb * (size_t)out; i++) wq[i] = (uint8_t)rand_int(rng, 256);
                    for (int64_t r = 0; r < out; r++) unit_scales((presso_type)type, wq + (size_t)r * rb, in);
                    fake_act(rng, act, xq, in * 11, 15, 0);
                    k->gemm_q[type](wq, rb, xq, ab, in, y, out, out, 11);
                    for (int64_t c = 0; c < 11; c++)
                        for (int64_t r = 0; r < out; r++) {
                            const float rd = ref_dot(wq + (size_t)r * rb, xq + (size_t)c * ab, in);
                            differ_ref += memcmp(&rd, &y[c * out + r], sizeof rd) != 0;
                            compared_ref++;
                        }
                }
                free(wq), free(xq), free(wf), free(x), free(y), free(scratch);
            }
        }
        CHECK_MSG(differ == 0, "%s: integer matmul differs from one vec_dot_q per output in %d of %d", t->name, differ,
                  compared);
        CHECK_MSG(differ_ref == 0, "%s: integer matmul on exact levels differs from the _ref dots in %d", t->name,
                  differ_ref);
        printf("%-5s integer matmul (n 1/3/11, rows 37/5, 1-2 threads): %d outputs == vec_dot_q bit for bit; "
               "gemm_q on exact levels == _ref: %d\n", t->name, compared, compared_ref);
    }
    presso_kernels_select("auto");
}

/* presso_matmul's decode path (n < 4 rows, integer dots) against a double
 * reference of the dequantized weights, per tier; and n = 3 rows equal to
 * three n = 1 calls. */
static void test_matmul_decode(presso_rng *rng) {
    const int64_t in = 2048, out = 40;
    float *wm = malloc(sizeof(float) * in * out), *wd = malloc(sizeof(float) * in * out);
    float *xm = malloc(sizeof(float) * in * 3), *y3 = malloc(sizeof(float) * out * 3), *y1 = malloc(sizeof(float) * out);
    float *scratch = malloc(sizeof(float) * (size_t)presso_matmul_scratch_floats(in, 3, 1));
    uint8_t *wq = malloc((size_t)in * out * 4);
    fill(rng, wm, in * out, 0.05f);
    fill(rng, xm, in * 3, 1.0f);
    xm[100] = 40.0f;
    const char *tiers[] = {"ref", "avx2"};
    for (int ti = 0; ti < 2; ti++) {
        if (presso_kernels_select(tiers[ti]) != PRESSO_OK) continue;
        for (int type = 0; type < PRESSO_TYPE_COUNT; type++) {
            const presso_type_traits *t = presso_type_traits_of(type);
            if (!t || !presso_kernels_active()->vec_dot_q[type]) continue;
            const size_t rb = (size_t)presso_row_bytes((presso_type)type, in);
            for (int64_t r = 0; r < out; r++) {
                t->from_float_ref(wm + r * in, wq + (size_t)r * rb, in);
                t->to_float(wq + (size_t)r * rb, wd + r * in, in);
            }
            presso_tensor tensor = {.type = (presso_type)type, .n_dims = 2, .ne = {in, out, 1, 1}, .data = wq};
            presso_matmul(&tensor, xm, 3, y3, scratch, 2);
            double worst = 0;
            int differ = 0;
            for (int64_t tok = 0; tok < 3; tok++) {
                presso_matmul(&tensor, xm + tok * in, 1, y1, scratch, 1);
                for (int64_t r = 0; r < out; r++) {
                    double exact = 0, scale = 0;
                    for (int64_t i = 0; i < in; i++) {
                        exact += (double)wd[r * in + i] * xm[tok * in + i];
                        scale += fabs((double)wd[r * in + i] * xm[tok * in + i]);
                    }
                    worst = fmax(worst, fabs(y1[r] - exact) / scale);
                    if (y1[r] != y3[tok * out + r]) differ++;
                }
            }
            CHECK_MSG(worst < 6e-3, "%s matmul (%s) decode path vs float reference: %g", t->name, tiers[ti], worst);
            CHECK_MSG(differ == 0, "%s matmul (%s): 3-row decode differs from 1-row in %d outputs", t->name, tiers[ti],
                      differ);
            if (ti == 1) printf("%-5s matmul decode (in %lld) vs float reference: %.2e\n", t->name, (long long)in, worst);
        }
    }
    presso_kernels_select("auto");
    free(wm), free(wd), free(xm), free(y3), free(y1), free(scratch), free(wq);
}

/* A quantized model's logits decoded token by token (row dots) against the
 * same tokens in one batch (the tiled integer GEMM): identical. */
static void test_decode_vs_prefill(const char *relative) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", PRESSO_SHARED_DIR, relative);
    if (!presso_test_file_exists(path)) {
        printf("decode vs prefill: %s not present, not checked\n", path);
        return;
    }
    presso_model *m = NULL;
    CHECK_OK(presso_model_open(path, NULL, &m));
    if (!m) return;
    enum { T = 24 };
    const int32_t vocab = m->config.vocab_size;
    int32_t tokens[T];
    for (int i = 0; i < T; i++) tokens[i] = 1 + (i * 37 + 11) % (vocab - 1);
    float *batch = malloc(sizeof(float) * T * (size_t)vocab), *one = malloc(sizeof(float) * T * (size_t)vocab);
    presso_llama_state *s = NULL;
    CHECK_OK(presso_llama_state_new(m, 64, T, 1, &s));
    if (s) {
        CHECK_OK(presso_llama_forward(s, tokens, T, batch, 0));
        presso_llama_state_reset(s);
        for (int i = 0; i < T; i++) CHECK_OK(presso_llama_forward(s, tokens + i, 1, one + (size_t)i * vocab, 0));
        double worst = 0;
        int same_argmax = 0;
        for (int i = 0; i < T; i++) {
            const float *b = batch + (size_t)i * vocab, *o = one + (size_t)i * vocab;
            double lo = b[0], hi = b[0], d = 0;
            int ab = 0, ao = 0;
            for (int v = 0; v < vocab; v++) {
                lo = fmin(lo, b[v]), hi = fmax(hi, b[v]);
                d = fmax(d, fabs((double)b[v] - o[v]));
                if (b[v] > b[ab]) ab = v;
                if (o[v] > o[ao]) ao = v;
            }
            worst = fmax(worst, d / (hi - lo));
            same_argmax += ab == ao;
        }
        /* Decode and prefill both run the integer dots, prefill tiled: every
         * matmul output is the same vec_dot_q bit for bit, so are the logits. */
        CHECK_MSG(worst == 0, "%s: decode logits differ from prefill by %g of the logit range", relative, worst);
        CHECK_MSG(same_argmax >= T - 2, "%s: argmax agrees at %d of %d positions", relative, same_argmax, T);
        printf("decode vs prefill %s: max |dlogit| %.2e of the range, argmax equal %d/%d\n", relative, worst,
               same_argmax, T);
    }
    presso_llama_state_free(s);
    presso_model_free(m);
    free(batch), free(one);
}

int main(void) {
    const presso_kernels *ref = presso_kernels_ref(), *avx2 = presso_kernels_avx2();
    if (!avx2) printf("this CPU lacks AVX2: only the reference tier is checked\n");
    presso_rng rng;
    presso_rng_seed(&rng, 7);
    enum { MAX_N = 4096 };
    float *x = malloc(sizeof(float) * MAX_N), *y = malloc(sizeof(float) * MAX_N), *w = malloc(sizeof(float) * MAX_N);
    uint8_t *row = malloc(MAX_N * 4);
    const int64_t lengths[] = {1, 7, 8, 9, 31, 32, 33, 64, 172, 255, 256, 257, 1000, 2048, 4096};
    for (int type = 0; type < PRESSO_TYPE_COUNT; type++) {
        const presso_type_traits *t = presso_type_traits_of(type);
        if (!t || !ref->vec_dot[type]) continue;
        double worst_ref = 0, worst_simd = 0;
        int cases = 0;
        for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
            const int64_t n = lengths[li];
            if (n % t->block_size != 0) continue;
            for (int trial = 0; trial < 4; trial++) {
                const float scale = trial == 3 ? 1e4f : 1.0f;
                fill(&rng, w, n, scale);
                fill(&rng, x, n, 1.0f);
                t->from_float_ref(w, row, n);
                t->to_float(row, w, n); /* the values the row really holds */
                /* The reference dot equals a float dot of the dequantized row, in order. */
                double exact = 0, scale_sum = 0;
                for (int64_t i = 0; i < n; i++) {
                    exact += (double)w[i] * x[i];
                    scale_sum += fabs((double)w[i] * x[i]);
                }
                double e = fabs(ref->vec_dot[type](row, x, n) - exact) / (scale_sum > 0 ? scale_sum : 1);
                if (e > worst_ref) worst_ref = e;
                if (avx2 && avx2->vec_dot[type]) {
                    double s = dot_error(avx2->vec_dot[type], ref->vec_dot[type], (presso_type)type, row, x, w, n);
                    if (s > worst_simd) worst_simd = s;
                }
                cases++;
            }
        }
        CHECK_MSG(cases > 0, "%s: no length tested", t->name);
        CHECK_MSG(worst_ref < 1e-5, "%s ref dot: relative error %g vs double", t->name, worst_ref);
        CHECK_MSG(worst_simd < 1e-5, "%s avx2 dot: relative error %g vs ref", t->name, worst_simd);
        printf("%-5s %2d cases: ref vs double %.2e, avx2 vs ref %.2e\n", t->name, cases, worst_ref, worst_simd);
    }
    /* dot_f32 and axpy_f32. */
    if (avx2) {
        for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
            const int64_t n = lengths[li];
            fill(&rng, x, n, 1.0f);
            fill(&rng, w, n, 1.0f);
            double scale = 0;
            for (int64_t i = 0; i < n; i++) scale += fabs((double)x[i] * w[i]);
            CHECK(fabs(avx2->dot_f32(x, w, n) - ref->dot_f32(x, w, n)) <= 1e-5 * scale);
            memcpy(y, w, sizeof(float) * (size_t)n);
            avx2->axpy_f32(0.75f, x, y, n);
            int bad = 0;
            for (int64_t i = 0; i < n; i++)
                if (fabsf(y[i] - (w[i] + 0.75f * x[i])) > 1e-5f * (1 + fabsf(y[i]))) bad++;
            CHECK_MSG(bad == 0, "axpy n=%lld: %d wrong", (long long)n, bad);
        }
    }
    /* matmul: sgemm panels (n >= 4) against row dots (n = 1), for every type,
     * with more rows than a panel and a ragged last panel. */
    const int64_t in = 96, out = 300, n_tok = 5;
    float *wm = malloc(sizeof(float) * in * out), *xm = malloc(sizeof(float) * in * n_tok);
    float *y_gemm = malloc(sizeof(float) * out * n_tok), *y_row = malloc(sizeof(float) * out);
    float *scratch = malloc(sizeof(float) * (size_t)presso_matmul_scratch_floats(in, n_tok, 2));
    uint8_t *wq = malloc((size_t)in * out * 4);
    fill(&rng, wm, in * out, 0.5f);
    fill(&rng, xm, in * n_tok, 1.0f);
    for (int type = 0; type < PRESSO_TYPE_COUNT; type++) {
        const presso_type_traits *t = presso_type_traits_of(type);
        if (!t || !ref->vec_dot[type] || in % t->block_size != 0) continue;
        for (int64_t r = 0; r < out; r++) t->from_float_ref(wm + r * in, wq + (size_t)r * (size_t)presso_row_bytes(type, in), in);
        presso_tensor tensor = {.type = (presso_type)type, .n_dims = 2, .ne = {in, out, 1, 1}, .data = wq};
        presso_matmul(&tensor, xm, n_tok, y_gemm, scratch, 2);
        /* Row dots of block types quantize the activations (int8 per block):
         * there the two paths agree to the activation rounding, relative to
         * sum |w x|; float types to float rounding. */
        const int quantized = ref->vec_dot_q[type] != NULL;
        double worst = 0;
        for (int64_t tok = 0; tok < n_tok; tok++) {
            presso_matmul(&tensor, xm + tok * in, 1, y_row, scratch, 1);
            for (int64_t r = 0; r < out; r++) {
                double d = fabs((double)y_row[r] - y_gemm[tok * out + r]);
                if (quantized) {
                    double scale = 0;
                    for (int64_t i = 0; i < in; i++) scale += fabs((double)wm[r * in + i] * xm[tok * in + i]);
                    d /= scale;
                }
                if (d > worst) worst = d;
            }
        }
        CHECK_MSG(worst < (quantized ? 6e-3 : 1e-4), "%s matmul: sgemm vs row dots differ by %g", t->name, worst);
    }
    test_act_quant(ref, avx2, &rng);
    test_qdot_exact(ref, avx2, &rng);
    test_qdot_accuracy(ref, avx2, &rng);
    test_matmul_decode(&rng);
    test_matmul_gemm_q(&rng);
    test_decode_vs_prefill("models/stories260K/gguf-by-llama.cpp/stories260K-q8_0.gguf");
    test_decode_vs_prefill("models/stories260K/gguf-by-llama.cpp/stories260K-q4_0.gguf");
    test_decode_vs_prefill("models/stories260K/gguf-by-llama.cpp/stories260K-q4_k_m.gguf");
    /* Selecting tiers by name. */
    CHECK_OK(presso_kernels_select("ref"));
    CHECK(strcmp(presso_kernels_active()->name, "ref") == 0);
    CHECK(presso_kernels_select("sse9") == PRESSO_ERR_INVALID_ARG);
    CHECK_OK(presso_kernels_select("auto"));
    free(x), free(y), free(w), free(row), free(wm), free(xm), free(y_gemm), free(y_row), free(scratch), free(wq);
    return presso_test_finish();
}
