/* presso-native q3_g32 / q2_g32 (tensor/lowbit.h): hand-made blocks read
 * back as d*q + m with the documented bit packing, the RTN round trip stays
 * within half a step, presso_grid_set agrees bit for bit with the
 * dequantizer, the float dots (ref and AVX2) agree on odd lengths, and GPTQ
 * beats RTN on a real tinystories-656k layer (blk.0 attn_q) at 3 and 2 bits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress/calib.h"
#include "compress/gptq.h"
#include "compress/grid.h"
#include "core/rng.h"
#include "harness.h"
#include "model/llama.h"
#include "tensor/kernels.h"
#include "tensor/lowbit.h"
#include "tensor/types.h"

static const presso_type types[] = {PRESSO_TYPE_Q3_G32, PRESSO_TYPE_Q2_G32};
enum { N_TYPES = 2 };

static int bits_of(presso_type t) { return t == PRESSO_TYPE_Q3_G32 ? 3 : 2; }

/* Layout: sizes, names, and a hand-packed block. */
static void test_layout(void) {
    const presso_type_traits *t3 = presso_type_traits_of(PRESSO_TYPE_Q3_G32), *t2 = presso_type_traits_of(PRESSO_TYPE_Q2_G32);
    CHECK(t3 && t2 && t3->block_size == 32 && t3->block_bytes == 16 && t2->block_size == 32 && t2->block_bytes == 12);
    CHECK(t3->is_quantized && t2->is_quantized);
    CHECK(presso_row_bytes(PRESSO_TYPE_Q3_G32, 384) == 12 * 16 && presso_row_bytes(PRESSO_TYPE_Q2_G32, 160) == 5 * 12);
    CHECK(presso_row_bytes(PRESSO_TYPE_Q3_G32, 48) == -1);
    presso_type p;
    CHECK_OK(presso_type_from_name("Q3_G32", &p));
    CHECK(p == PRESSO_TYPE_Q3_G32 && (int)p == 1001 && PRESSO_TYPE_Q2_G32 == 1002);
    /* q3_g32 with d = 0.5, m = -1: codes 0..7 repeating; code i at bits 3i..3i+2. */
    presso_block_q3_g32 b3 = {.d = presso_f32_to_f16(0.5f), .m = presso_f32_to_f16(-1.0f)};
    for (int i = 0; i < 32; i++) {
        const int c = i % 8;
        for (int k = 0; k < 3; k++)
            if (c >> k & 1) b3.qs[(3 * i + k) / 8] |= (uint8_t)(1u << ((3 * i + k) % 8));
    }
    CHECK(b3.qs[0] == 0x88 && b3.qs[1] == 0xC6 && b3.qs[2] == 0xFA); /* 0,1,2,...,7 little-endian 3-bit stream */
    float y[32];
    presso_dequantize_q3_g32(&b3, y, 32);
    for (int i = 0; i < 32; i++) CHECK_MSG(y[i] == 0.5f * (i % 8) - 1.0f, "q3 element %d: %g", i, y[i]);
    presso_block_q2_g32 b2 = {.d = presso_f32_to_f16(2.0f), .m = presso_f32_to_f16(0.25f)};
    memset(b2.qs, 0xE4, sizeof b2.qs); /* codes 0,1,2,3 per byte, low bits first */
    presso_dequantize_q2_g32(&b2, y, 32);
    for (int i = 0; i < 32; i++) CHECK_MSG(y[i] == 2.0f * (i % 4) + 0.25f, "q2 element %d: %g", i, y[i]);
    /* The reference quantizer recovers a block that sits on a grid. */
    float x[32], back[32];
    for (int i = 0; i < 32; i++) x[i] = 0.5f * (i % 8) - 1.0f;
    presso_block_q3_g32 q;
    presso_quantize_q3_g32_ref(x, &q, 32);
    presso_dequantize_q3_g32(&q, back, 32);
    CHECK(memcmp(&q, &b3, sizeof q) == 0 && memcmp(back, x, sizeof x) == 0);
}

/* RTN: every element within half a step (plus the f16 rounding of m) of
 * its input; the group's min and max within that too. */
static void test_roundtrip(void) {
    presso_rng rng;
    presso_rng_seed(&rng, 5);
    enum { N = 32 * 64 };
    float *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N);
    uint8_t *blocks = malloc(16 * (N / 32));
    for (int k = 0; k < N_TYPES; k++) {
        const presso_type_traits *t = presso_type_traits_of(types[k]);
        const int top = (1 << bits_of(types[k])) - 1;
        for (int i = 0; i < N; i++) x[i] = presso_rng_normal(&rng) * (i < N / 2 ? 0.02f : 3.0f) + (i % 97 == 0 ? 5.0f : 0.0f);
        t->from_float_ref(x, blocks, N);
        t->to_float(blocks, y, N);
        double worst = 0.0, sum_sq = 0.0;
        for (int g = 0; g < N / 32; g++) {
            float lo = x[g * 32], hi = lo;
            for (int i = 1; i < 32; i++) lo = fminf(lo, x[g * 32 + i]), hi = fmaxf(hi, x[g * 32 + i]);
            const float step = (hi - lo) / (float)top;
            for (int i = 0; i < 32; i++) {
                const double e = fabs((double)x[g * 32 + i] - y[g * 32 + i]);
                sum_sq += e * e;
                /* f16 d and m: relative error 2^-11 on each; the top code may saturate by that */
                const double bound = 0.5 * step + (fabs(lo) + top * step) * 1.5e-3 + 1e-7;
                if (e / bound > worst) worst = e / bound;
            }
        }
        printf("%s: worst error / bound %.3f, rms %.4g\n", t->name, worst, sqrt(sum_sq / N));
        CHECK_MSG(worst <= 1.0, "%s: an element is %.3f× its error bound", t->name, worst);
    }
    free(x), free(y), free(blocks);
}

/* presso_grid_set (GPTQ's rounding) returns exactly what the dequantizer reads. */
static void test_grid(void) {
    presso_rng rng;
    presso_rng_seed(&rng, 9);
    for (int k = 0; k < N_TYPES; k++) {
        const presso_type_traits *t = presso_type_traits_of(types[k]);
        CHECK(presso_grid_supported(types[k]));
        float x[32], v[32], back[32];
        uint8_t block[16];
        int mismatches = 0;
        for (int trial = 0; trial < 200; trial++) {
            for (int i = 0; i < 32; i++) x[i] = presso_rng_normal(&rng) * (trial % 5 == 0 ? 0.001f : 1.0f);
            t->from_float_ref(x, block, 32);
            for (int i = 0; i < 32; i++) {
                const int pos = (i * 13 + trial) % 32;
                v[pos] = presso_grid_set(types[k], block, pos, 1.5f * presso_rng_normal(&rng));
            }
            t->to_float(block, back, 32);
            mismatches += memcmp(v, back, sizeof v) != 0;
        }
        CHECK_MSG(mismatches == 0, "%s: %d blocks differ from the dequantizer", t->name, mismatches);
    }
}

/* vec_dot (float activations): AVX2 against ref and against a double dot of
 * the dequantized row, on odd block counts. */
static void test_dots(void) {
    const presso_kernels *ref = presso_kernels_ref(), *avx2 = presso_kernels_avx2();
    presso_rng rng;
    presso_rng_seed(&rng, 3);
    static const int64_t lengths[] = {32, 96, 160, 352, 416, 2016};
    float *w = malloc(sizeof(float) * 2016), *x = malloc(sizeof(float) * 2016), *deq = malloc(sizeof(float) * 2016);
    uint8_t *row = malloc(16 * 63);
    for (int k = 0; k < N_TYPES; k++) {
        const presso_type_traits *t = presso_type_traits_of(types[k]);
        CHECK(ref->vec_dot[types[k]] != NULL && presso_vec_dot_type(types[k]) == PRESSO_TYPE_F32);
        for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
            const int64_t n = lengths[li];
            for (int64_t i = 0; i < n; i++) w[i] = presso_rng_normal(&rng), x[i] = presso_rng_normal(&rng);
            t->from_float_ref(w, row, n);
            t->to_float(row, deq, n);
            double exact = 0.0, mag = 0.0;
            for (int64_t i = 0; i < n; i++) exact += (double)deq[i] * x[i], mag += fabs((double)deq[i] * x[i]);
            const float r = ref->vec_dot[types[k]](row, x, n);
            CHECK_MSG(fabs(r - exact) <= 1e-5 * mag + 1e-6, "%s n=%lld ref %g vs %g", t->name, (long long)n, r, exact);
            if (avx2) {
                CHECK(avx2->vec_dot[types[k]] != NULL);
                const float a = avx2->vec_dot[types[k]](row, x, n);
                CHECK_MSG(fabs(a - r) <= 1e-5 * mag + 1e-6, "%s n=%lld avx2 %g vs ref %g", t->name, (long long)n, a, r);
            }
        }
    }
    free(w), free(x), free(deq), free(row);
}

/* ‖(W - Q) Xᵀ‖² over the real inputs X [n][cols]. */
static double output_error(const float *w, const float *q, const float *x, int64_t n, int64_t rows, int64_t cols) {
    double err = 0.0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t s = 0; s < n; s++) {
            double d = 0.0;
            for (int64_t c = 0; c < cols; c++) d += ((double)w[r * cols + c] - q[r * cols + c]) * x[s * cols + c];
            err += d * d;
        }
    return err;
}

/* blk.0 attn_q of tinystories-656k on its real inputs (RMS-normed
 * embeddings of sample.txt): GPTQ's layer output error well below RTN's. */
static void test_gptq_real_layer(void) {
    presso_model *m = NULL;
    CHECK_OK(presso_model_open(presso_test_shared("models/tinystories-656k"), NULL, &m));
    if (!m) return;
    presso_calib_params cp = {.file = presso_test_shared("data/tinystories/sample.txt"), .count = 4, .len = 128, .seed = 1};
    presso_calib_set *calib = NULL;
    CHECK_OK(presso_calib_set_load(m->tokenizer, &cp, 512, &calib));
    if (!calib) {
        presso_model_free(m);
        return;
    }
    const int64_t cols = m->config.dim, n = (int64_t)calib->n_seqs * calib->seq_len;
    const presso_tensor *wq = &m->layers[0].wq;
    const int64_t rows = wq->ne[1];
    CHECK(wq->ne[0] == cols && cols % 32 == 0 && cols % 256 != 0);
    float *x = malloc(sizeof(float) * (size_t)(n * cols)), *w = malloc(sizeof(float) * (size_t)(rows * cols)),
          *norm = malloc(sizeof(float) * (size_t)cols);
    presso_llama_embed(m, calib->tokens, (int32_t)n, x);
    presso_type_traits_of(m->layers[0].attn_norm.type)->to_float(m->layers[0].attn_norm.data, norm, cols);
    for (int64_t s = 0; s < n; s++) { /* RMSNorm, as the forward pass before attn_q */
        double ss = 0.0;
        for (int64_t c = 0; c < cols; c++) ss += (double)x[s * cols + c] * x[s * cols + c];
        const float inv = 1.0f / sqrtf((float)(ss / (double)cols) + m->config.norm_eps);
        for (int64_t c = 0; c < cols; c++) x[s * cols + c] *= inv * norm[c];
    }
    const presso_type_traits *wt = presso_type_traits_of(wq->type);
    for (int64_t r = 0; r < rows; r++)
        wt->to_float((const uint8_t *)wq->data + r * presso_row_bytes(wq->type, cols), w + r * cols, cols);
    presso_calib_stats s;
    CHECK_OK(presso_calib_stats_init(&s, cols, true));
    presso_calib_stats_add(&s, x, n);
    presso_calib_stats_finish(&s);
    for (int k = 0; k < N_TYPES; k++) {
        const presso_type_traits *t = presso_type_traits_of(types[k]);
        const size_t bytes = (size_t)(rows * presso_row_bytes(types[k], cols));
        uint8_t *rtn = malloc(bytes), *gq = malloc(bytes);
        float *q_rtn = malloc(sizeof(float) * (size_t)(rows * cols)), *q = malloc(sizeof(float) * (size_t)(rows * cols)),
              *back = malloc(sizeof(float) * (size_t)(rows * cols));
        t->from_float_ref(w, rtn, rows * cols);
        t->to_float(rtn, q_rtn, rows * cols);
        presso_pass_opts o = {.type = types[k], .damp = 0.01, .n_threads = 2};
        presso_pass_report rep;
        CHECK_OK(presso_gptq_quantize(w, rows, cols, s.h, s.n_samples, types[k], &o, gq, q, &rep));
        t->to_float(gq, back, rows * cols);
        CHECK_MSG(memcmp(back, q, sizeof(float) * (size_t)(rows * cols)) == 0, "%s: dequantize != GPTQ's values", t->name);
        const double e_rtn = output_error(w, q_rtn, x, n, rows, cols), e_g = output_error(w, q, x, n, rows, cols);
        printf("%s blk.0 attn_q (%lld samples): output error RTN %.5g, GPTQ %.5g (ratio %.3f)\n", t->name,
               (long long)n, e_rtn, e_g, e_g / e_rtn);
        CHECK_MSG(e_rtn > 0 && e_g < 0.8 * e_rtn, "%s: GPTQ %g vs RTN %g", t->name, e_g, e_rtn);
        free(rtn), free(gq), free(q_rtn), free(q), free(back);
    }
    presso_calib_stats_free(&s);
    free(x), free(w), free(norm);
    presso_calib_set_free(calib);
    presso_model_free(m);
}

int main(void) {
    test_layout();
    test_roundtrip();
    test_grid();
    test_dots();
    test_gptq_real_layer();
    return presso_test_finish();
}
