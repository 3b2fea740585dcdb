/* Compression core: calibration statistics, the block grids, GPTQ against
 * RTN on a synthetic linear layer, exact packing, act-order, singular
 * Hessians. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress/calib.h"
#include "compress/driver.h"
#include "compress/gptq.h"
#include "compress/grid.h"
#include "compress/pass.h"
#include "core/rng.h"
#include "harness.h"
#include "model/model.h"
#include "tensor/quants.h"
#include "tensor/types.h"

enum { ROWS = 48, COLS = 512, NSAMP = 2048 };

/* Inputs with what makes GPTQ matter in real layers: a shared factor
 * (correlated channels) and channels of very different scale. */
static float *make_inputs(int64_t n, int64_t cols, uint64_t seed) {
    presso_rng rng;
    presso_rng_seed(&rng, seed);
    float *scale = malloc(sizeof(float) * (size_t)cols), *x = malloc(sizeof(float) * (size_t)(n * cols));
    for (int64_t j = 0; j < cols; j++) scale[j] = 0.2f + 3.0f * presso_rng_uniform(&rng) * presso_rng_uniform(&rng);
    for (int64_t t = 0; t < n; t++) {
        const float g1 = presso_rng_normal(&rng), g2 = presso_rng_normal(&rng);
        for (int64_t j = 0; j < cols; j++)
            x[t * cols + j] = scale[j] * (presso_rng_normal(&rng) + 0.9f * (j % 2 ? g1 : g2));
    }
    free(scale);
    return x;
}

static float *make_weights(int64_t rows, int64_t cols, uint64_t seed) {
    presso_rng rng;
    presso_rng_seed(&rng, seed);
    float *w = malloc(sizeof(float) * (size_t)(rows * cols));
    for (int64_t i = 0; i < rows * cols; i++) w[i] = 0.05f * presso_rng_normal(&rng);
    return w;
}

/* Σ over samples ‖(W−Q)x‖² = Σ_r d_r H d_rᵀ. */
static double output_error(const float *w, const float *q, const double *h, int64_t rows, int64_t cols) {
    double total = 0.0;
    double *d = malloc(sizeof(double) * (size_t)cols);
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t j = 0; j < cols; j++) d[j] = (double)w[r * cols + j] - (double)q[r * cols + j];
        for (int64_t i = 0; i < cols; i++) {
            double s = 0.0;
            for (int64_t j = 0; j < cols; j++) s += h[i * cols + j] * d[j];
            total += d[i] * s;
        }
    }
    free(d);
    return total;
}

static void test_sha256(void) {
    char hex[65];
    presso_sha256_hex("abc", 3, hex);
    CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    presso_sha256_hex("", 0, hex);
    CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
    const char *s56 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56 bytes: padding spills */
    presso_sha256_hex(s56, strlen(s56), hex);
    CHECK(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0);
}

static void test_stats(void) {
    const int64_t n = 300, w = 40;
    float *x = make_inputs(n, w, 3);
    presso_calib_stats s;
    CHECK_OK(presso_calib_stats_init(&s, w, true));
    presso_calib_stats_add(&s, x, 100);
    presso_calib_stats_add(&s, x + 100 * w, 200);
    presso_calib_stats_finish(&s);
    CHECK(s.n_samples == n);
    double worst = 0.0, worst_mean = 0.0;
    float worst_max = 0.0f;
    for (int64_t i = 0; i < w; i++) {
        double mean = 0.0;
        float mx = 0.0f;
        for (int64_t t = 0; t < n; t++) {
            mean += fabs(x[t * w + i]);
            if (fabsf(x[t * w + i]) > mx) mx = fabsf(x[t * w + i]);
        }
        worst_mean = fmax(worst_mean, fabs(mean / n - s.mean_abs[i]) / (mean / n));
        worst_max = fmaxf(worst_max, fabsf(mx - s.max_abs[i]));
        for (int64_t j = 0; j < w; j++) {
            double ref = 0.0;
            for (int64_t t = 0; t < n; t++) ref += (double)x[t * w + i] * x[t * w + j];
            worst = fmax(worst, fabs(ref - s.h[i * w + j]) / (fabs(ref) + 1.0));
        }
    }
    CHECK_MSG(worst < 1e-5, "H relative error %g", worst);
    CHECK_MSG(worst_mean < 1e-9, "mean|x| relative error %g", worst_mean);
    CHECK(worst_max == 0.0f);
    presso_calib_stats_free(&s);
    free(x);
}

/* Every grid level set through presso_grid_set reads back bit-exactly
 * through the type's dequantizer, for random values and scales. */
static void test_grid_roundtrip(void) {
    const presso_type types[] = {PRESSO_TYPE_Q4_0, PRESSO_TYPE_Q4_1, PRESSO_TYPE_Q5_0, PRESSO_TYPE_Q5_1,
                                 PRESSO_TYPE_Q8_0, PRESSO_TYPE_Q2_K, PRESSO_TYPE_Q3_K, PRESSO_TYPE_Q4_K,
                                 PRESSO_TYPE_Q5_K, PRESSO_TYPE_Q6_K, PRESSO_TYPE_Q3_G32, PRESSO_TYPE_Q2_G32};
    presso_rng rng;
    presso_rng_seed(&rng, 11);
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const presso_type_traits *t = presso_type_traits_of(types[k]);
        const int64_t bs = t->block_size;
        float *x = malloc(sizeof(float) * (size_t)bs), *v = malloc(sizeof(float) * (size_t)bs),
              *back = malloc(sizeof(float) * (size_t)bs);
        uint8_t *block = malloc(t->block_bytes);
        int mismatches = 0;
        for (int trial = 0; trial < 50; trial++) {
            for (int64_t i = 0; i < bs; i++) x[i] = presso_rng_normal(&rng) * (trial % 5 == 0 ? 0.001f : 1.0f);
            t->from_float_ref(x, block, bs);
            /* set every element in a scrambled order to values off the block's own data */
            for (int64_t i = 0; i < bs; i++) {
                const int64_t pos = (i * 37 + trial) % bs;
                v[pos] = presso_grid_set(types[k], block, (int)pos, 1.5f * presso_rng_normal(&rng));
            }
            t->to_float(block, back, bs);
            mismatches += memcmp(v, back, sizeof(float) * (size_t)bs) != 0;
        }
        CHECK_MSG(mismatches == 0, "%s: %d blocks differ from the dequantizer", t->name, mismatches);
        free(x), free(v), free(back), free(block);
    }
}

static void test_gptq_vs_rtn(const float *w, const float *x, const double *h) {
    const presso_type types[] = {PRESSO_TYPE_Q8_0, PRESSO_TYPE_Q5_1, PRESSO_TYPE_Q5_0, PRESSO_TYPE_Q4_1,
                                 PRESSO_TYPE_Q4_0, PRESSO_TYPE_Q6_K, PRESSO_TYPE_Q5_K, PRESSO_TYPE_Q4_K,
                                 PRESSO_TYPE_Q3_K, PRESSO_TYPE_Q2_K};
    (void)x;
    printf("%-6s %14s %14s %8s %14s %8s\n", "type", "rtn ‖ΔWX‖²", "gptq", "ratio", "gptq act-ord", "ratio");
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const presso_type type = types[k];
        const presso_type_traits *t = presso_type_traits_of(type);
        const size_t bytes = (size_t)(ROWS * presso_row_bytes(type, COLS));
        uint8_t *rtn = malloc(bytes), *gq = malloc(bytes), *ga = malloc(bytes);
        float *q_rtn = malloc(sizeof(float) * ROWS * COLS), *q = malloc(sizeof(float) * ROWS * COLS),
              *qa = malloc(sizeof(float) * ROWS * COLS), *back = malloc(sizeof(float) * ROWS * COLS);
        t->from_float_ref(w, rtn, (int64_t)ROWS * COLS);
        t->to_float(rtn, q_rtn, (int64_t)ROWS * COLS);
        presso_pass_opts o = {.type = type, .damp = 0.01, .n_threads = 2};
        presso_pass_report rep;
        CHECK_OK(presso_gptq_quantize(w, ROWS, COLS, h, NSAMP, type, &o, gq, q, &rep));
        t->to_float(gq, back, (int64_t)ROWS * COLS);
        CHECK_MSG(memcmp(back, q, sizeof(float) * ROWS * COLS) == 0, "%s: dequantize(blocks) != GPTQ's values",
                  t->name);
        o.act_order = true;
        CHECK_OK(presso_gptq_quantize(w, ROWS, COLS, h, NSAMP, type, &o, ga, qa, &rep));
        t->to_float(ga, back, (int64_t)ROWS * COLS);
        CHECK_MSG(memcmp(back, qa, sizeof(float) * ROWS * COLS) == 0, "%s act-order: dequantize != GPTQ's values",
                  t->name);
        const double e_rtn = output_error(w, q_rtn, h, ROWS, COLS), e_g = output_error(w, q, h, ROWS, COLS),
                     e_a = output_error(w, qa, h, ROWS, COLS);
        printf("%-6s %14.6g %14.6g %8.3f %14.6g %8.3f\n", t->name, e_rtn, e_g, e_g / e_rtn, e_a, e_a / e_rtn);
        CHECK_MSG(e_g <= 0.8 * e_rtn, "%s: GPTQ %g vs RTN %g", t->name, e_g, e_rtn);
        CHECK_MSG(e_a <= 0.8 * e_rtn, "%s: GPTQ act-order %g vs RTN %g", t->name, e_a, e_rtn);
        free(rtn), free(gq), free(ga), free(q_rtn), free(q), free(qa), free(back);
    }
}

static void test_act_order(void) {
    const int64_t n = 6;
    double h[36] = {0};
    const double diag[6] = {1.0, 5.0, 3.0, 5.0, 0.5, 4.0};
    for (int i = 0; i < 6; i++) h[i * 7] = diag[i];
    int64_t perm[6];
    presso_gptq_order(h, n, true, perm);
    const int64_t want[6] = {1, 3, 5, 2, 0, 4}; /* decreasing diag, ties by index */
    CHECK(memcmp(perm, want, sizeof want) == 0);
    presso_gptq_order(h, n, false, perm);
    for (int i = 0; i < 6; i++) CHECK(perm[i] == i);

    /* A diagonal H carries no error between columns: the order must not
     * change a single byte (a wrong permutation would scatter codes). */
    const int64_t cols = 256, rows = 8;
    double *hd = calloc((size_t)(cols * cols), sizeof(double));
    presso_rng rng;
    presso_rng_seed(&rng, 5);
    for (int64_t j = 0; j < cols; j++) hd[j * cols + j] = 0.1 + 10.0 * presso_rng_uniform(&rng);
    float *w = make_weights(rows, cols, 9);
    const presso_type types[] = {PRESSO_TYPE_Q4_0, PRESSO_TYPE_Q5_1, PRESSO_TYPE_Q4_K, PRESSO_TYPE_Q6_K};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const size_t bytes = (size_t)(rows * presso_row_bytes(types[k], cols));
        uint8_t *a = malloc(bytes), *b = malloc(bytes);
        presso_pass_opts o = {.type = types[k], .damp = 0.01, .n_threads = 1};
        presso_pass_report rep;
        CHECK_OK(presso_gptq_quantize(w, rows, cols, hd, 1, types[k], &o, a, NULL, &rep));
        o.act_order = true;
        CHECK_OK(presso_gptq_quantize(w, rows, cols, hd, 1, types[k], &o, b, NULL, &rep));
        CHECK_MSG(memcmp(a, b, bytes) == 0, "%s: act-order changed a diagonal-H result",
                  presso_type_name(types[k]));
        free(a), free(b);
    }
    free(w);
    free(hd);
}

static void test_singular(void) {
    const int64_t rows = 4, cols = 64;
    float *w = make_weights(rows, cols, 21);
    uint8_t *dst = malloc((size_t)(rows * presso_row_bytes(PRESSO_TYPE_Q4_0, cols)));
    float *q = malloc(sizeof(float) * (size_t)(rows * cols));
    presso_pass_report rep;
    /* 8 samples for 64 columns: H has rank 8; without dampening Cholesky fails and GPTQ adds more. */
    float *x = make_inputs(8, cols, 4);
    presso_calib_stats s;
    CHECK_OK(presso_calib_stats_init(&s, cols, true));
    presso_calib_stats_add(&s, x, 8);
    presso_calib_stats_finish(&s);
    presso_pass_opts o = {.type = PRESSO_TYPE_Q4_0, .damp = 0.0, .n_threads = 1};
    CHECK_OK(presso_gptq_quantize(w, rows, cols, s.h, s.n_samples, PRESSO_TYPE_Q4_0, &o, dst, q, &rep));
    CHECK_MSG(rep.damp_used > 0.0, "damp used %g", rep.damp_used);
    bool finite = true;
    for (int64_t i = 0; i < rows * cols; i++) finite &= isfinite(q[i]);
    CHECK(finite);
    /* A dead input column (zero on every sample) is zeroed, not a failure. */
    for (int64_t t = 0; t < 8; t++) x[t * cols + 5] = 0.0f;
    presso_calib_stats_free(&s);
    CHECK_OK(presso_calib_stats_init(&s, cols, true));
    presso_calib_stats_add(&s, x, 8);
    presso_calib_stats_finish(&s);
    o.damp = 0.01;
    CHECK_OK(presso_gptq_quantize(w, rows, cols, s.h, s.n_samples, PRESSO_TYPE_Q4_0, &o, dst, q, &rep));
    CHECK(rep.n_dead == 1);
    CHECK(q[5] == 0.0f && q[cols + 5] == 0.0f);
    /* A Hessian with nan, and no samples at all: clear errors. */
    s.h[3 * cols + 3] = NAN;
    CHECK(presso_gptq_quantize(w, rows, cols, s.h, s.n_samples, PRESSO_TYPE_Q4_0, &o, dst, q, &rep) ==
          PRESSO_ERR_INVALID_ARG);
    CHECK(strstr(presso_last_error(), "nan") != NULL);
    CHECK(presso_gptq_quantize(w, rows, cols, s.h, 0, PRESSO_TYPE_Q4_0, &o, dst, q, &rep) == PRESSO_ERR_INVALID_ARG);
    /* An indefinite H (negative eigenvalue, not from any X) fails even with
     * the largest dampening, with a message that says so. */
    double *bad = calloc((size_t)(cols * cols), sizeof(double));
    for (int64_t j = 0; j < cols; j++) bad[j * cols + j] = 1.0;
    bad[1] = bad[cols] = 50.0;
    CHECK(presso_gptq_quantize(w, rows, cols, bad, 1, PRESSO_TYPE_Q4_0, &o, dst, q, &rep) == PRESSO_ERR_INVALID_ARG);
    CHECK_MSG(strstr(presso_last_error(), "not positive definite") != NULL, "%s", presso_last_error());
    /* Rows that fit no block, and a type without a grid. */
    CHECK(presso_gptq_quantize(w, 1, 48, bad, 1, PRESSO_TYPE_Q4_0, &o, dst, q, &rep) == PRESSO_ERR_SHAPE);
    CHECK(presso_gptq_quantize(w, 1, 64, bad, 1, PRESSO_TYPE_F16, &o, dst, q, &rep) == PRESSO_ERR_UNSUPPORTED);
    free(bad);
    presso_calib_stats_free(&s);
    free(x), free(w), free(dst), free(q);
}

static void test_type_mapping(void) {
    presso_type t;
    CHECK_OK(presso_quant_type_for_bits(4, 32, false, &t));
    CHECK(t == PRESSO_TYPE_Q4_0);
    CHECK_OK(presso_quant_type_for_bits(4, 0, true, &t));
    CHECK(t == PRESSO_TYPE_Q4_1);
    CHECK_OK(presso_quant_type_for_bits(5, 32, false, &t));
    CHECK(t == PRESSO_TYPE_Q5_0);
    CHECK_OK(presso_quant_type_for_bits(5, 32, true, &t));
    CHECK(t == PRESSO_TYPE_Q5_1);
    CHECK_OK(presso_quant_type_for_bits(8, 32, false, &t));
    CHECK(t == PRESSO_TYPE_Q8_0);
    CHECK(presso_quant_type_for_bits(8, 32, true, &t) == PRESSO_ERR_UNSUPPORTED);
    CHECK(presso_quant_type_for_bits(4, 128, false, &t) == PRESSO_ERR_UNSUPPORTED);
    CHECK(presso_quant_type_for_bits(3, 32, false, &t) == PRESSO_ERR_UNSUPPORTED);
    CHECK(strstr(presso_last_error(), "q3_k") != NULL);
    CHECK(presso_quant_type_for_bits(7, 32, false, &t) == PRESSO_ERR_UNSUPPORTED);
    CHECK_OK(presso_quant_type_for_bits(3, 32, true, &t)); /* presso-native 32-group low-bit types */
    CHECK(t == PRESSO_TYPE_Q3_G32);
    CHECK_OK(presso_quant_type_for_bits(2, 0, true, &t));
    CHECK(t == PRESSO_TYPE_Q2_G32);
    CHECK(presso_quant_type_for_bits(2, 64, true, &t) == PRESSO_ERR_UNSUPPORTED);
    CHECK_OK(presso_quant_check_group(PRESSO_TYPE_Q3_G32, 32));
    CHECK(presso_quant_check_group(PRESSO_TYPE_Q2_G32, 128) == PRESSO_ERR_UNSUPPORTED);
    CHECK_OK(presso_quant_check_group(PRESSO_TYPE_Q4_K, 32));
    CHECK(presso_quant_check_group(PRESSO_TYPE_Q4_0, 64) == PRESSO_ERR_UNSUPPORTED);
    CHECK(presso_pass_find("gptq") == &presso_pass_gptq && presso_pass_find("rtn") == &presso_pass_rtn);
    CHECK(presso_pass_find("awq-typo") == NULL);
    CHECK(presso_pass_gptq.needs_calibration && !presso_pass_rtn.needs_calibration);
}

/* The driver with RTN writes exactly the reference quantizer's bytes (what
 * llama-quantize writes), swaps every view, and the calibration set is
 * seeded and BOS-led. */
static void test_driver_rtn(void) {
    const char *dir = presso_test_shared("models/tinystories-656k");
    presso_model *m = NULL, *ref = NULL;
    CHECK_OK(presso_model_open(dir, NULL, &m));
    CHECK_OK(presso_model_open(dir, NULL, &ref));
    if (!m || !ref) return;
    presso_compress_params p = {.pass = &presso_pass_rtn, .type = PRESSO_TYPE_Q4_0, .opts = {.n_threads = 2}};
    CHECK_OK(presso_compress_model(m, NULL, &p));
    CHECK(p.n_fallback == 0);
    const presso_tensor *got[3] = {&m->token_embd, &m->layers[1].wk, &m->layers[0].w_down};
    const presso_tensor *src[3] = {&ref->token_embd, &ref->layers[1].wk, &ref->layers[0].w_down};
    for (int i = 0; i < 3; i++) {
        const int64_t n = presso_tensor_nelements(src[i]);
        CHECK(got[i]->type == PRESSO_TYPE_Q4_0);
        uint8_t *want = malloc((size_t)(n / 32 * 18));
        presso_quantize_q4_0_ref(src[i]->data, want, n);
        CHECK(got[i]->nbytes == (size_t)(n / 32 * 18) && memcmp(want, got[i]->data, got[i]->nbytes) == 0);
        free(want);
    }
    CHECK(m->output.data == m->token_embd.data); /* tied */
    /* A quantized source is refused without allow_requantize. */
    p.pass = &presso_pass_rtn;
    CHECK(presso_compress_model(m, NULL, &p) == PRESSO_ERR_INVALID_ARG);
    CHECK(strstr(presso_last_error(), "allow-requantize") != NULL);

    const char *text = "Once upon a time there was a little dog. The dog liked to run and play in the sun all day. "
                       "One day it met a cat who was sad, and the two of them went to the park to find a ball.";
    presso_calib_params cp = {.count = 3, .len = 6, .seed = 7};
    presso_calib_set *a = NULL, *b = NULL, *c = NULL;
    CHECK_OK(presso_calib_set_from_text(ref->tokenizer, text, strlen(text), &cp, 512, &a));
    CHECK_OK(presso_calib_set_from_text(ref->tokenizer, text, strlen(text), &cp, 512, &b));
    cp.seed = 8;
    CHECK_OK(presso_calib_set_from_text(ref->tokenizer, text, strlen(text), &cp, 512, &c));
    if (a && b && c) {
        CHECK(a->n_seqs == 3 && a->seq_len == 6 && a->n_windows > 3);
        CHECK(memcmp(a->tokens, b->tokens, sizeof(int32_t) * 18) == 0);
        CHECK(memcmp(a->tokens, c->tokens, sizeof(int32_t) * 18) != 0);
        if (a->bos) CHECK(a->tokens[0] == presso_tokenizer_bos(ref->tokenizer) && a->tokens[6] == a->tokens[0]);
    }
    presso_calib_set_free(a), presso_calib_set_free(b), presso_calib_set_free(c);
    cp.len = 100000; /* capped by the text: one shorter sequence; by the model: max_len */
    CHECK_OK(presso_calib_set_from_text(ref->tokenizer, text, strlen(text), &cp, 512, &a));
    if (a) CHECK(a->n_seqs == 1 && a->seq_len < 80);
    presso_calib_set_free(a);
    CHECK(presso_calib_set_from_text(ref->tokenizer, "", 0, &cp, 512, &a) == PRESSO_ERR_INVALID_ARG);
    presso_model_free(m);
    presso_model_free(ref);
}

int main(void) {
    test_sha256();
    test_stats();
    test_grid_roundtrip();
    test_type_mapping();
    float *x = make_inputs(NSAMP, COLS, 1);
    float *w = make_weights(ROWS, COLS, 2);
    presso_calib_stats s;
    CHECK_OK(presso_calib_stats_init(&s, COLS, true));
    for (int64_t t = 0; t < NSAMP; t += 512) presso_calib_stats_add(&s, x + t * COLS, 512);
    presso_calib_stats_finish(&s);
    test_gptq_vs_rtn(w, x, s.h);
    presso_calib_stats_free(&s);
    free(x), free(w);
    test_act_order();
    test_singular();
    test_driver_rtn();
    return presso_test_finish();
}
