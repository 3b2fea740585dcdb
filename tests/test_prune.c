/* Pruning: exact sparsity per row, per layer and per N:M group for
 * magnitude, Wanda and SparseGPT (on the real layers of tinystories-656k
 * with their real calibration inputs, and through the driver on
 * stories260K's ragged rows); the masks are the lowest scores; SparseGPT's
 * layer output error below Wanda's and magnitude's; joint SparseGPT + q4_0
 * leaves exact zeros and survivors on the q4_0 grid; the sparsity map. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress/calib.h"
#include "compress/driver.h"
#include "compress/pass.h"
#include "compress/prune.h"
#include "compress/sparsegpt.h"
#include "harness.h"
#include "model/llama.h"
#include "model/model.h"
#include "tensor/fp16.h"
#include "tensor/quants.h"
#include "tensor/types.h"

static const char *const story =
    "Once upon a time there was a little dog named Max. Max liked to run and play in the sun all day. One day "
    "he met a cat who was sad because she had lost her ball. Max said, \"Do not be sad, I will help you find "
    "it.\" They looked under the tree and behind the big rock. At last they found the ball in the tall grass. "
    "The cat was very happy and said thank you. From that day on, Max and the cat were best friends and they "
    "played together in the park every day. Lily had a red kite. She took it to the hill with her mom. The "
    "wind was strong and the kite flew high in the sky. Lily laughed and ran, holding the string tight.";

/* Σ over samples ‖(W−Ŵ)x‖² = Σ_r d_r H d_rᵀ. */
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

/* Every row has exactly k zeros; every N:M group g - n zeros (g > n). */
static bool zeros_per_row(const float *q, int64_t rows, int64_t cols, int64_t k) {
    for (int64_t r = 0; r < rows; r++)
        if (presso_count_zeros(q + r * cols, cols) != k) return false;
    return true;
}

static bool zeros_per_group(const float *q, int64_t rows, int64_t cols, int n, int m) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t g0 = 0; g0 < cols; g0 += m) {
            const int64_t g = g0 + m <= cols ? m : cols - g0;
            if (presso_count_zeros(q + r * cols + g0, g) != (g > n ? g - n : 0)) return false;
        }
    return true;
}

/* The real inputs of block 0's linears of a model over a few sequences. */
typedef struct {
    presso_calib_stats stats[4];
} captured;

static void capture(void *user, int32_t layer, presso_capture_point point, const float *x, int32_t n, int64_t width) {
    (void)layer, (void)width;
    presso_calib_stats_add(&((captured *)user)->stats[point], x, n);
}

static bool capture_block0(presso_model *m, captured *cap) {
    presso_calib_params cp = {.count = 4, .len = 64, .seed = 1};
    presso_calib_set *set = NULL;
    CHECK_OK(presso_calib_set_from_text(m->tokenizer, story, strlen(story), &cp, 512, &set));
    if (!set) return false;
    const presso_llama_config *c = &m->config;
    const int64_t widths[4] = {c->dim, (int64_t)c->n_heads * c->head_dim, c->dim, c->hidden_dim};
    for (int i = 0; i < 4; i++) CHECK_OK(presso_calib_stats_init(&cap->stats[i], widths[i], true));
    presso_llama_state *s = NULL;
    CHECK_OK(presso_llama_state_new(m, set->seq_len, set->seq_len, 1, &s));
    float *x = malloc(sizeof(float) * (size_t)set->seq_len * (size_t)c->dim);
    for (int32_t q = 0; q < set->n_seqs && s; q++) {
        presso_llama_embed(m, set->tokens + (int64_t)q * set->seq_len, set->seq_len, x);
        CHECK_OK(presso_llama_block_forward(s, 0, x, set->seq_len, capture, cap));
    }
    for (int i = 0; i < 4; i++) presso_calib_stats_finish(&cap->stats[i]);
    free(x);
    presso_llama_state_free(s);
    presso_calib_set_free(set);
    return true;
}

static float *to_floats(const presso_tensor *t) {
    const int64_t n = presso_tensor_nelements(t);
    float *w = malloc(sizeof(float) * (size_t)n);
    presso_type_traits_of(t->type)->to_float(t->data, w, n);
    return w;
}

/* Runs a pass to F32 on one layer; returns the pruned weights. */
static float *run_pass(const presso_pass *pass, const char *name, const float *w, int64_t out, int64_t in,
                       const presso_calib_stats *st, presso_pass_opts o) {
    o.type = PRESSO_TYPE_F32;
    float *q = malloc(sizeof(float) * (size_t)(out * in));
    presso_pass_layer layer = {.name = name, .w = w, .in = in, .out = out, .stats = st};
    presso_pass_report rep;
    CHECK_OK(pass->run(&layer, &o, q, &rep));
    return q;
}

/* Pruned scores never exceed kept ones within a row (ties allowed). */
static bool lowest_pruned(const float *score, const float *q, int64_t out, int64_t in) {
    for (int64_t r = 0; r < out; r++) {
        float max_pruned = -1.0f, min_kept = INFINITY;
        for (int64_t j = 0; j < in; j++) {
            const float s = score[r * in + j];
            if (q[r * in + j] == 0.0f) max_pruned = s > max_pruned ? s : max_pruned;
            else min_kept = s < min_kept ? s : min_kept;
        }
        if (max_pruned > min_kept) return false;
    }
    return true;
}

static void test_real_layers(void) {
    const char *dir = presso_test_shared("models/tinystories-656k");
    presso_model *m = NULL;
    CHECK_OK(presso_model_open(dir, NULL, &m));
    if (!m) return;
    captured cap;
    memset(&cap, 0, sizeof cap);
    if (!capture_block0(m, &cap)) return;
    /* ffn_down: 384 inputs (its real inputs silu(gate)·up), 128 rows; ffn_up: 128 inputs. */
    const presso_tensor *tensors[2] = {&m->layers[0].w_down, &m->layers[0].w_up};
    const presso_calib_stats *stats[2] = {&cap.stats[PRESSO_CAPTURE_FFN_ACT], &cap.stats[PRESSO_CAPTURE_FFN_IN]};
    const presso_pass *passes[3] = {&presso_pass_magnitude, &presso_pass_wanda, &presso_pass_sparsegpt};
    for (int t = 0; t < 2; t++) {
        const int64_t in = tensors[t]->ne[0], out = tensors[t]->ne[1];
        const double *h = stats[t]->h;
        float *w = to_floats(tensors[t]);
        float *mag_score = malloc(sizeof(float) * (size_t)(in * out)), *wanda_score = malloc(sizeof(float) * (size_t)(in * out));
        for (int64_t i = 0; i < in * out; i++) {
            mag_score[i] = fabsf(w[i]);
            wanda_score[i] = fabsf(w[i]) * (float)sqrt(stats[t]->sum_sq[i % in]);
        }
        const double sparsities[3] = {0.5, 0.3, 0.77};
        for (int si = 0; si < 3; si++) {
            double err[3];
            for (int p = 0; p < 3; p++) {
                presso_pass_opts o = {.sparsity = sparsities[si], .damp = 0.01, .block_cols = 128, .n_threads = 2};
                float *q = run_pass(passes[p], "blk.0.ffn", w, out, in, stats[t], o);
                CHECK_MSG(zeros_per_row(q, out, in, presso_prune_count(in, sparsities[si])), "%s s=%g in=%lld",
                          passes[p]->name, sparsities[si], (long long)in);
                err[p] = output_error(w, q, h, out, in);
                if (p == 0) CHECK(lowest_pruned(mag_score, q, out, in));
                if (p == 1) CHECK(lowest_pruned(wanda_score, q, out, in));
                free(q);
            }
            /* OBS updates the survivors: the layer's output error is the lowest
             * (SparseGPT Fig. 1 / Wanda Table 2 ordering on the calibration data). */
            CHECK_MSG(err[2] < err[1] && err[2] < err[0], "in=%lld s=%g: magnitude %g wanda %g sparsegpt %g",
                      (long long)in, sparsities[si], err[0], err[1], err[2]);
            CHECK_MSG(err[1] < err[0], "in=%lld s=%g: wanda %g >= magnitude %g", (long long)in, sparsities[si], err[1],
                      err[0]);
        }
        /* N:M, every method. */
        const int nms[2][2] = {{2, 4}, {4, 8}};
        for (int k = 0; k < 2; k++) {
            for (int p = 0; p < 3; p++) {
                presso_pass_opts o = {.nm_n = nms[k][0], .nm_m = nms[k][1], .damp = 0.01, .block_cols = 128, .n_threads = 2};
                float *q = run_pass(passes[p], "blk.0.ffn", w, out, in, stats[t], o);
                CHECK_MSG(zeros_per_group(q, out, in, nms[k][0], nms[k][1]), "%s %d:%d", passes[p]->name, nms[k][0],
                          nms[k][1]);
                free(q);
            }
        }
        /* Per layer (SparseGPT: the reference code's threshold over each
         * batch's rows × columns): exactly round(n·s) zeros, rows uneven. */
        for (int p = 0; p < 3; p++) {
            presso_pass_opts o = {.sparsity = 0.6, .prune_per_layer = true, .damp = 0.01, .n_threads = 2};
            float *q = run_pass(passes[p], "blk.0.ffn", w, out, in, stats[t], o);
            CHECK_MSG(presso_count_zeros(q, in * out) == presso_prune_count(in * out, 0.6), "%s per layer",
                      passes[p]->name);
            CHECK(!zeros_per_row(q, out, in, presso_prune_count(in, 0.6)));
            if (p == 2) {
                free(q);
                continue;
            }
            float thr_pruned = 0.0f, thr_kept = INFINITY;
            const float *sc = p == 0 ? mag_score : wanda_score;
            for (int64_t i = 0; i < in * out; i++) {
                if (q[i] == 0.0f) thr_pruned = sc[i] > thr_pruned ? sc[i] : thr_pruned;
                else thr_kept = sc[i] < thr_kept ? sc[i] : thr_kept;
            }
            CHECK(thr_pruned <= thr_kept);
            free(q);
        }
        /* Joint SparseGPT + q4_0: the pruned weights decode to exact zeros,
         * the survivors lie on their block's q4_0 grid, and the decoded file
         * is what the pass says it wrote. */
        for (int k = 0; k < 2; k++) {
            presso_pass_opts o = {.type = PRESSO_TYPE_Q4_0, .damp = 0.01, .block_cols = 128, .n_threads = 2,
                                  .nm_n = k ? 2 : 0, .nm_m = k ? 4 : 0};
            const int64_t nb = in / 32;
            presso_block_q4_0 *blocks = malloc(sizeof *blocks * (size_t)(nb * out));
            float *q = malloc(sizeof(float) * (size_t)(in * out)), *dec = malloc(sizeof(float) * (size_t)(in * out));
            uint8_t *mask = malloc((size_t)(in * out));
            presso_pass_report rep;
            CHECK_OK(presso_sparsegpt_prune(w, out, in, h, stats[t]->n_samples, 0.5, &o, blocks, q, mask, &rep));
            presso_dequantize_q4_0(blocks, dec, in * out);
            CHECK(memcmp(q, dec, sizeof(float) * (size_t)(in * out)) == 0);
            bool zeros = true, grid = true, counts = true;
            for (int64_t r = 0; r < out; r++) {
                int64_t pruned = 0;
                for (int64_t j = 0; j < in; j++) {
                    const int64_t i = r * in + j;
                    pruned += mask[i];
                    if (mask[i] && dec[i] != 0.0f) zeros = false;
                    const float d = presso_f16_to_f32(blocks[r * nb + j / 32].d);
                    const float lvl = d != 0.0f ? dec[i] / d : 0.0f;
                    if (lvl != nearbyintf(lvl) || lvl < -8.0f || lvl > 7.0f) grid = false;
                }
                if (pruned != in / 2 || presso_count_zeros(dec + r * in, in) < in / 2) counts = false;
            }
            if (k) { /* 2 of every 4 masked (survivors may also round to 0 on the grid) */
                bool groups = true;
                for (int64_t i = 0; i < in * out; i += 4) groups &= mask[i] + mask[i + 1] + mask[i + 2] + mask[i + 3] == 2;
                CHECK(groups);
            }
            CHECK(zeros && grid && counts);
            /* The joint error is above pruning alone (4 bits cost something) but
             * below magnitude pruning followed by RTN. */
            float *mr = malloc(sizeof(float) * (size_t)(in * out));
            presso_pass_opts om = {.sparsity = 0.5, .nm_n = o.nm_n, .nm_m = o.nm_m, .type = PRESSO_TYPE_Q4_0, .n_threads = 1};
            presso_pass_layer layer = {.name = "l", .w = w, .in = in, .out = out, .stats = stats[t]};
            CHECK_OK(presso_pass_magnitude.run(&layer, &om, blocks, &rep));
            presso_dequantize_q4_0(blocks, mr, in * out);
            CHECK_MSG(output_error(w, q, h, out, in) < output_error(w, mr, h, out, in), "joint vs magnitude+rtn");
            free(mr);
            free(blocks), free(q), free(dec), free(mask);
        }
        free(w), free(mag_score), free(wanda_score);
    }
    for (int i = 0; i < 4; i++) presso_calib_stats_free(&cap.stats[i]);
    presso_model_free(m);
}

/* Through the driver on stories260K: every block linear (ffn_down rows of
 * 172 end in a short 4:8 group) has the exact pattern; token_embd is left
 * dense; an f16 target keeps the zeros. */
static void test_driver(void) {
    const char *bin = presso_test_shared("models/stories260K/stories260K.bin");
    const presso_pass *passes[3] = {&presso_pass_magnitude, &presso_pass_wanda, &presso_pass_sparsegpt};
    presso_model *probe = NULL;
    CHECK_OK(presso_model_open(bin, NULL, &probe));
    if (!probe) return;
    presso_calib_params cp = {.count = 4, .len = 64, .seed = 3};
    presso_calib_set *set = NULL;
    CHECK_OK(presso_calib_set_from_text(probe->tokenizer, story, strlen(story), &cp, 512, &set));
    for (int p = 0; p < 3; p++) {
        for (int k = 0; k < 2; k++) {
            presso_model *m = NULL;
            CHECK_OK(presso_model_open(bin, NULL, &m));
            if (!m) continue;
            presso_compress_params par = {.pass = passes[p], .type = k ? PRESSO_TYPE_F16 : PRESSO_TYPE_F32,
                                          .opts = {.sparsity = 0.4, .nm_n = k ? 4 : 0, .nm_m = k ? 8 : 0, .damp = 0.01,
                                                   .n_threads = 2}};
            CHECK_OK(presso_compress_model(m, passes[p]->needs_calibration ? set : NULL, &par));
            for (int32_t l = 0; l < m->config.n_layers; l++) {
                const presso_llama_layer *L = &m->layers[l];
                const presso_tensor *ts[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
                for (int i = 0; i < 7; i++) {
                    CHECK(ts[i]->type == par.type);
                    float *q = to_floats(ts[i]);
                    const int64_t in = ts[i]->ne[0], out = ts[i]->ne[1];
                    if (k) CHECK_MSG(zeros_per_group(q, out, in, 4, 8), "%s layer %d tensor %d 4:8", passes[p]->name, l, i);
                    else CHECK_MSG(zeros_per_row(q, out, in, presso_prune_count(in, 0.4)), "%s layer %d tensor %d",
                                   passes[p]->name, l, i);
                    free(q);
                }
            }
            float *e = to_floats(&m->token_embd);
            CHECK(presso_count_zeros(e, presso_tensor_nelements(&m->token_embd)) == 0);
            free(e);
            presso_model_free(m);
        }
    }
    presso_calib_set_free(set);
    presso_model_free(probe);
}

static void test_sparsity_map(void) {
    const presso_sparsity_override map[3] = {{"blk.*.ffn_down", 0.3}, {"attn_q", 0.1}, {"blk.1.attn_q", 0.7}};
    presso_pass_opts o = {.sparsity = 0.5, .sparsity_map = map, .n_sparsity_map = 3};
    CHECK(presso_prune_sparsity_for(&o, "blk.4.ffn_down.weight") == 0.3);
    CHECK(presso_prune_sparsity_for(&o, "blk.4.ffn_up.weight") == 0.5);
    CHECK(presso_prune_sparsity_for(&o, "blk.0.attn_q.weight") == 0.1);
    CHECK(presso_prune_sparsity_for(&o, "blk.1.attn_q.weight") == 0.7); /* the last match wins */
    CHECK(presso_prune_count(384, 0.5) == 192 && presso_prune_count(10, 0.25) == 3 && presso_prune_count(7, 0.0) == 0);
    presso_pass_opts bad = {.sparsity = 1.0};
    CHECK(presso_prune_check_opts(&bad, "x", 1.0) == PRESSO_ERR_INVALID_ARG);
    presso_pass_opts nm = {.nm_n = 5, .nm_m = 4};
    CHECK(presso_prune_check_opts(&nm, "x", 0.0) == PRESSO_ERR_INVALID_ARG);
    CHECK(!presso_prune_type_keeps_zeros(PRESSO_TYPE_Q4_1) && presso_prune_type_keeps_zeros(PRESSO_TYPE_Q4_0));
}

int main(void) {
    test_sparsity_map();
    test_real_layers();
    test_driver();
    return presso_test_finish();
}
