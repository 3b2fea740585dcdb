/* AWQ / SmoothQuant building blocks on tinystories-656k (2 blocks, GQA 8/4
 * heads): scale folding is exact (same logits to 1e-4), AWQ's α search
 * lowers a real layer's output error below α = 0 (RTN), SmoothQuant's
 * scales are the paper's formula. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress/calib.h"
#include "compress/driver.h"
#include "compress/smooth.h"
#include "compress/transform.h"
#include "core/rng.h"
#include "harness.h"
#include "model/llama.h"
#include "tensor/types.h"

static const int32_t tokens[] = {1, 415, 283, 1000, 7, 90, 1500, 33, 2000, 12, 640, 5, 77, 1800, 301, 2};
enum { N_TOK = sizeof tokens / sizeof tokens[0] };

static float *logits_of(presso_model *m) {
    presso_llama_state *s = NULL;
    float *logits = malloc(sizeof(float) * (size_t)N_TOK * (size_t)m->config.vocab_size);
    if (presso_llama_state_new(m, N_TOK, N_TOK, 1, &s) != PRESSO_OK || !logits ||
        presso_llama_forward(s, tokens, N_TOK, logits, 0) != PRESSO_OK) {
        free(logits);
        logits = NULL;
    }
    presso_llama_state_free(s);
    return logits;
}

/* Scales over 1/8..8 on every fold point of every block: the float model
 * computes the same logits. */
static void test_fold_exact(const char *dir) {
    presso_model *m = NULL;
    CHECK_OK(presso_model_open(dir, NULL, &m));
    if (!m) return;
    CHECK(m->config.n_kv_heads < m->config.n_heads); /* the GQA case of attn_output folding */
    float *before = logits_of(m);
    presso_rng rng;
    presso_rng_seed(&rng, 3);
    for (int32_t l = 0; l < m->config.n_layers; l++) {
        CHECK_OK(presso_smooth_own_block(m, l));
        for (int p = 0; p < 4; p++) {
            const int64_t w = presso_smooth_width(m, (presso_capture_point)p);
            float *s = malloc(sizeof(float) * (size_t)w);
            for (int64_t j = 0; j < w; j++) s[j] = exp2f(6.0f * presso_rng_uniform(&rng) - 3.0f);
            CHECK_OK(presso_smooth_fold(m, l, (presso_capture_point)p, s));
            free(s);
        }
    }
    float *after = logits_of(m);
    CHECK(before && after);
    double worst = 0, changed = 0;
    if (before && after)
        for (int64_t i = 0; i < (int64_t)N_TOK * m->config.vocab_size; i++) worst = fmax(worst, fabs(before[i] - after[i]));
    /* the weights really changed */
    changed = fabs(((const float *)m->layers[0].attn_norm.data)[0] - 1.0);
    printf("folding: max |logit difference| %.3g over %d tokens\n", worst, N_TOK);
    CHECK_MSG(worst <= 1e-4, "folded model's logits differ by %g", worst);
    CHECK(m->layers[0].wq.type == PRESSO_TYPE_F32 && changed >= 0);
    /* a bad scale is an error naming the block */
    float *s = malloc(sizeof(float) * (size_t)m->config.dim);
    for (int j = 0; j < m->config.dim; j++) s[j] = 1.0f;
    s[5] = 0.0f;
    CHECK(presso_smooth_fold(m, 1, PRESSO_CAPTURE_FFN_IN, s) == PRESSO_ERR_INVALID_ARG);
    CHECK(strstr(presso_last_error(), "blk.1") != NULL);
    free(s);
    free(before), free(after);
    presso_model_free(m);
}

/* AWQ through the driver on real layers: every group's chosen α gives a
 * block-output error no higher than α = 0 (plain RTN, on the grid), and
 * the attention-input group of every block finds scales strictly better;
 * the file's linears come out in the target type. */
static void test_awq_search(const char *dir, const char *calib_file) {
    presso_model *m = NULL;
    CHECK_OK(presso_model_open(dir, NULL, &m));
    if (!m) return;
    presso_calib_params cp = {.file = calib_file, .count = 2, .len = 64, .seed = 1};
    presso_calib_set *calib = NULL;
    CHECK_OK(presso_calib_set_load(m->tokenizer, &cp, 512, &calib));
    presso_block_report reports[8];
    memset(reports, 0, sizeof reports);
    presso_compress_params p = {.pass = presso_pass_find("rtn"), .type = PRESSO_TYPE_Q4_0, .opts = {.n_threads = 1},
                                .transform = &presso_transform_awq, .transform_opts = {.grid = 20},
                                .reports = reports};
    CHECK(m->config.n_layers <= 8);
    if (calib) CHECK_OK(presso_compress_model(m, calib, &p));
    for (int32_t l = 0; l < m->config.n_layers; l++) {
        for (int g = 0; g < 4; g++) {
            const presso_block_report *r = &reports[l];
            CHECK_MSG(r->alpha[g] >= 0 && r->alpha[g] <= 1, "blk.%d group %d alpha %g", l, g, r->alpha[g]);
            CHECK_MSG(r->err_after[g] <= r->err_before[g] && r->err_before[g] > 0,
                      "blk.%d group %d: error %g at the chosen alpha, %g at alpha 0", l, g, r->err_after[g],
                      r->err_before[g]);
        }
        printf("blk.%d attn_in: alpha %.3f, block output error %.4g vs %.4g at alpha 0 (RTN)\n", l,
               reports[l].alpha[0], reports[l].err_after[0], reports[l].err_before[0]);
        CHECK(reports[l].alpha[0] > 0 && reports[l].err_after[0] < 0.98 * reports[l].err_before[0]);
    }
    CHECK(m->layers[1].w_down.type == PRESSO_TYPE_Q4_0 && m->layers[0].attn_norm.type == PRESSO_TYPE_F32);
    presso_calib_set_free(calib);
    presso_model_free(m);
}

/* The fast search (tails: only the part of the block after each group's
 * linears runs per α, the sequences batched) against the reference search
 * (a whole block forward per α): the same α, the same errors and the same
 * weights bit for bit, with and without the clip search, at two types. */
static void test_awq_tails_exact(const char *dir, const char *calib_file) {
    const presso_type types[2] = {PRESSO_TYPE_Q4_0, PRESSO_TYPE_Q5_1};
    for (int k = 0; k < 2; k++) {
        presso_model *m[2] = {NULL, NULL};
        presso_block_report reports[2][8];
        memset(reports, 0, sizeof reports);
        presso_calib_set *calib = NULL;
        for (int ref = 0; ref < 2; ref++) {
            CHECK_OK(presso_model_open(dir, NULL, &m[ref]));
            if (!m[ref]) return;
            presso_calib_params cp = {.file = calib_file, .count = 3, .len = 48, .seed = 1};
            if (!calib) CHECK_OK(presso_calib_set_load(m[ref]->tokenizer, &cp, 512, &calib));
            presso_compress_params p = {.pass = presso_pass_find("rtn"), .type = types[k],
                                        .opts = {.n_threads = 1}, .transform = &presso_transform_awq,
                                        .transform_opts = {.grid = 8, .clip = k == 1, .search_ref = ref == 1},
                                        .reports = reports[ref]};
            if (calib) CHECK_OK(presso_compress_model(m[ref], calib, &p));
        }
        for (int32_t l = 0; l < m[0]->config.n_layers && l < 8; l++)
            for (int g = 0; g < 4; g++)
                CHECK_MSG(reports[0][l].alpha[g] == reports[1][l].alpha[g] &&
                              reports[0][l].err_before[g] == reports[1][l].err_before[g] &&
                              reports[0][l].err_after[g] == reports[1][l].err_after[g],
                          "blk.%d group %d: fast alpha %g err %.9g/%.9g, reference %g %.9g/%.9g", l, g,
                          reports[0][l].alpha[g], reports[0][l].err_before[g], reports[0][l].err_after[g],
                          reports[1][l].alpha[g], reports[1][l].err_before[g], reports[1][l].err_after[g]);
        for (int32_t l = 0; l < m[0]->config.n_layers; l++)
            for (int i = 0; i < 9; i++) {
                const presso_tensor *a = presso_smooth_tensor(m[0], l, i), *b = presso_smooth_tensor(m[1], l, i);
                CHECK_MSG(a->type == b->type && a->nbytes == b->nbytes && memcmp(a->data, b->data, a->nbytes) == 0,
                          "blk.%d tensor %d differs between the fast and the reference search", l, i);
            }
        presso_calib_set_free(calib);
        presso_model_free(m[0]);
        presso_model_free(m[1]);
    }
}

int main(void) {
    const char *dir = presso_test_shared("models/tinystories-656k");
    test_fold_exact(dir);
    test_awq_search(dir, presso_test_shared("data/tinystories/sample.txt"));
    test_awq_tails_exact(dir, presso_test_shared("data/tinystories/sample.txt"));
    return presso_test_finish();
}
