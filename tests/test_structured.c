/* Structured pruning (src/compress/structured.c) on tinystories-656k:
 * shapes and config shrink, 0% is the identity, channels / kv groups that
 * contribute nothing are the ones removed (logits unchanged), and the file
 * round-trips through GGUF with the new shapes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress/calib.h"
#include "compress/structured.h"
#include "harness.h"
#include "model/llama.h"
#include "model/model_save.h"

#define MODEL PRESSO_SHARED_DIR "/models/tinystories-656k"

static const int32_t toks[] = {1, 400, 57, 312, 9, 1021, 33, 700, 5, 18, 250, 91, 1500, 44, 2, 66};
enum { N_TOK = (int)(sizeof toks / sizeof toks[0]) };

static float *logits_of(const presso_model *m) {
    presso_llama_state *s = NULL;
    float *out = malloc(sizeof(float) * (size_t)N_TOK * (size_t)m->config.vocab_size);
    if (presso_llama_state_new(m, 64, N_TOK, 1, &s) != PRESSO_OK || !out) {
        free(out);
        presso_llama_state_free(s);
        return NULL;
    }
    if (presso_llama_forward(s, toks, N_TOK, out, 0) != PRESSO_OK) {
        free(out);
        out = NULL;
    }
    presso_llama_state_free(s);
    return out;
}

static double max_abs_diff(const float *a, const float *b, int64_t n) {
    double d = 0.0;
    for (int64_t i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - (double)b[i]));
    return d;
}

/* An owned F32 copy of t (the HF weights are mapped read-only). */
static float *own_copy(presso_model *m, presso_tensor *t) {
    float *c = malloc(t->nbytes);
    memcpy(c, t->data, t->nbytes);
    presso_model_own(m, c);
    t->data = c;
    return c;
}

static presso_calib_set *calib_for(const presso_model *m) {
    static const char text[] =
        "Once upon a time there was a little girl named Lily. She loved to play outside in the park with her "
        "dog. One day she saw a big red ball under a tree and ran to get it. Her mom said, be careful! Lily "
        "smiled and threw the ball to the dog, who caught it and wagged his tail. They played all day long.";
    presso_calib_params cp = {.count = 2, .len = 24, .seed = 1};
    presso_calib_set *c = NULL;
    CHECK_OK(presso_calib_set_from_text(m->tokenizer, text, strlen(text), &cp, 512, &c));
    return c;
}

int main(void) {
    presso_model *m = NULL;
    if (presso_model_open(MODEL, NULL, &m) != PRESSO_OK) {
        fprintf(stderr, "skip: %s: %s\n", MODEL, presso_last_error());
        return 77;
    }
    const int64_t V = m->config.vocab_size;
    CHECK(presso_structured_kept(384, 0.3) == 269 && presso_structured_kept(4, 0.25) == 3);
    CHECK(presso_structured_kept(8, 0.99) == 1);

    /* 0%: the identity, bit for bit. */
    float *ref = logits_of(m);
    presso_structured_params p0 = {.n_threads = 1};
    CHECK_OK(presso_structured_prune(m, NULL, &p0));
    float *same = logits_of(m);
    CHECK(ref && same && memcmp(ref, same, sizeof(float) * (size_t)(N_TOK * V)) == 0);
    free(same);
    free(ref);
    presso_model_free(m);

    /* Channels whose ffn_down column is zero and a kv group whose attn_output
     * columns are zero score 0, so exactly they go: the logits stay the same
     * (up to summation order). */
    CHECK_OK(presso_model_open(MODEL, NULL, &m));
    const int32_t hidden = m->config.hidden_dim, hd = m->config.head_dim;
    const int32_t per_group = m->config.n_heads / m->config.n_kv_heads;
    const int32_t removed_ff = hidden - presso_structured_kept(hidden, 0.3);
    for (int32_t l = 0; l < m->config.n_layers; l++) {
        presso_llama_layer *L = &m->layers[l];
        float *down = own_copy(m, &L->w_down), *wo = own_copy(m, &L->wo);
        for (int64_t r = 0; r < L->w_down.ne[1]; r++)
            for (int32_t j = 0; j < removed_ff; j++) down[r * hidden + (7 * j + 3 * l) % hidden] = 0.0f;
        const int32_t dead_group = (l + 1) % m->config.n_kv_heads;
        for (int64_t r = 0; r < L->wo.ne[1]; r++)
            for (int64_t i = (int64_t)dead_group * per_group * hd; i < (int64_t)(dead_group + 1) * per_group * hd; i++)
                wo[r * L->wo.ne[0] + i] = 0.0f;
    }
    ref = logits_of(m);
    presso_calib_set *calib = calib_for(m);
    presso_structured_params p = {.ffn_ratio = 0.3, .heads_ratio = 0.25, .n_threads = 2};
    CHECK_OK(presso_structured_prune(m, calib, &p));
    CHECK(p.hidden_before == 384 && p.hidden_after == 269 && m->config.hidden_dim == 269);
    CHECK(p.heads_after == 6 && p.kv_heads_after == 3 && m->config.n_heads == 6 && m->config.n_kv_heads == 3);
    CHECK(m->layers[1].w_gate.ne[1] == 269 && m->layers[1].w_down.ne[0] == 269);
    CHECK(m->layers[0].wq.ne[1] == 6 * hd && m->layers[0].wk.ne[1] == 3 * hd && m->layers[0].wo.ne[0] == 6 * hd);
    float *pruned = logits_of(m);
    CHECK(ref && pruned);
    if (ref && pruned) CHECK_MSG(max_abs_diff(ref, pruned, N_TOK * V) < 1e-4, "max diff %g",
                                 max_abs_diff(ref, pruned, N_TOK * V));

    /* The pruned model written as GGUF reopens with its new shapes and the
     * same logits. */
    char path[512];
    snprintf(path, sizeof path, "%s/test_structured.gguf", PRESSO_BINARY_DIR);
    presso_save_params sp = {.type = PRESSO_TYPE_F32, .keep_types = true};
    CHECK_OK(presso_model_save_gguf(m, path, &sp));
    presso_model *back = NULL;
    CHECK_OK(presso_model_open(path, NULL, &back));
    if (back) {
        CHECK(back->config.hidden_dim == 269 && back->config.n_heads == 6 && back->config.n_kv_heads == 3);
        float *again = logits_of(back);
        CHECK_MSG(again && pruned && max_abs_diff(again, pruned, N_TOK * V) < 1e-4, "max diff %g",
                  again && pruned ? max_abs_diff(again, pruned, N_TOK * V) : -1.0);
        free(again);
        presso_model_free(back);
    }
    remove(path);
    free(ref);
    free(pruned);

    /* Real pruning (nothing zeroed) gives finite logits; bad ratios and
     * quantized inputs are refused with a message. */
    presso_model_free(m);
    CHECK_OK(presso_model_open(MODEL, NULL, &m));
    presso_structured_params p5 = {.ffn_ratio = 0.5, .n_threads = 2};
    CHECK_OK(presso_structured_prune(m, calib, &p5));
    CHECK(m->config.hidden_dim == 192);
    float *half = logits_of(m);
    bool finite = half != NULL;
    for (int64_t i = 0; half && i < N_TOK * V; i++) finite &= isfinite(half[i]) != 0;
    CHECK(finite);
    free(half);
    presso_structured_params bad = {.ffn_ratio = 1.0};
    CHECK(presso_structured_prune(m, calib, &bad) == PRESSO_ERR_INVALID_ARG);
    presso_structured_params nocal = {.ffn_ratio = 0.2};
    CHECK(presso_structured_prune(m, NULL, &nocal) == PRESSO_ERR_INVALID_ARG);
    presso_structured_params few = {.heads_ratio = 0.05};
    CHECK(presso_structured_prune(m, calib, &few) == PRESSO_ERR_INVALID_ARG &&
          strstr(presso_last_error(), "kv group") != NULL);
    presso_calib_set_free(calib);
    presso_model_free(m);
    return presso_test_finish();
}
