/* The same weights loaded from every format give the same logits:
 *  - tinystories-656k (HF safetensors, rotate_half RoPE) against golden
 *    logits from transformers, and against the GGUF presso writes from it
 *    (Q/K rows permuted to llama.cpp's interleaved layout);
 *  - stories260K as llama2.c .bin, as llama.cpp's own GGUF, and as the GGUF
 *    presso writes; F16/Q8_0 exports reopen and stay close. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "model/llama.h"
#include "model/model.h"
#include "model/model_save.h"

static float *logits_of(const presso_model *m, const int32_t *tokens, int32_t n) {
    presso_llama_state *s = NULL;
    float *logits = malloc(sizeof(float) * (size_t)n * (size_t)m->config.vocab_size);
    if (presso_llama_state_new(m, n, n, 2, &s) != PRESSO_OK || !logits ||
        presso_llama_forward(s, tokens, n, logits, 0) != PRESSO_OK) {
        fprintf(stderr, "forward failed: %s\n", presso_last_error());
        free(logits);
        logits = NULL;
    }
    presso_llama_state_free(s);
    return logits;
}

static double max_abs_diff(const float *a, const float *b, int64_t n) {
    double d = 0;
    for (int64_t i = 0; i < n; i++) {
        double x = fabs((double)a[i] - b[i]);
        if (!(x <= d)) d = x; /* NaN propagates as a failure */
    }
    return d;
}

static int read_golden(const char *path, int32_t **tokens, float **logits, uint32_t *n, uint32_t *vocab) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    char magic[4];
    uint32_t version;
    int ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "PRGL", 4) == 0 && fread(&version, 4, 1, f) == 1 &&
             version == 1 && fread(n, 4, 1, f) == 1 && fread(vocab, 4, 1, f) == 1 && *n < 4096 && *vocab < 1000000;
    if (ok) {
        *tokens = malloc(4 * (size_t)*n);
        *logits = malloc(4 * (size_t)*n * *vocab);
        ok = *tokens && *logits && fread(*tokens, 4, *n, f) == *n &&
             fread(*logits, 4, (size_t)*n * *vocab, f) == (size_t)*n * *vocab;
    }
    fclose(f);
    return ok ? 0 : -1;
}

/* Exports m as `type`, reopens it and compares its logits with reference;
 * when same_as is given, also with that file's logits (which must agree
 * exactly: same quantizer, same bytes). */
static void check_export_matches(const presso_model *m, presso_type type, const int32_t *tokens, int32_t n,
                                 const float *reference, double tol, const char *label, const char *same_as) {
    char path[256];
    snprintf(path, sizeof path, "%s/formats_%s_%d.gguf", PRESSO_BINARY_DIR, label, (int)type);
    presso_save_params p = {.type = type};
    CHECK_OK(presso_model_save_gguf(m, path, &p));
    presso_model *g = NULL;
    CHECK_OK(presso_model_open(path, NULL, &g));
    if (!g) return;
    CHECK(g->config.rope_style == PRESSO_ROPE_INTERLEAVED);
    CHECK(presso_tokenizer_vocab_size(g->tokenizer) == m->config.vocab_size);
    float *logits = logits_of(g, tokens, n);
    CHECK(logits != NULL);
    if (logits) {
        double d = max_abs_diff(reference, logits, (int64_t)n * m->config.vocab_size);
        CHECK_MSG(d <= tol, "%s as %s GGUF: max |logit diff| %g > %g", label, presso_type_name(type), d, tol);
        printf("%s -> %s GGUF: max |logit diff| %.3g\n", label, presso_type_name(type), d);
    }
    if (logits && same_as) {
        presso_model *other = NULL;
        CHECK_OK(presso_model_open(same_as, NULL, &other));
        float *theirs = other ? logits_of(other, tokens, n) : NULL;
        CHECK(theirs != NULL);
        if (theirs) {
            double d = max_abs_diff(theirs, logits, (int64_t)n * m->config.vocab_size);
            CHECK_MSG(d == 0, "%s as %s GGUF vs %s: max |logit diff| %g", label, presso_type_name(type), same_as, d);
        }
        free(theirs);
        presso_model_free(other);
    }
    free(logits);
    presso_model_free(g);
    unlink(path);
}

int main(void) {
    /* tinystories-656k: HF safetensors vs transformers' logits. */
    const char *hf_dir = presso_test_shared("models/tinystories-656k");
    int32_t *golden_tokens = NULL;
    float *golden_logits = NULL;
    uint32_t n = 0, vocab = 0;
    CHECK(read_golden(PRESSO_SOURCE_DIR "/tests/golden/tinystories656k_logits.bin", &golden_tokens, &golden_logits,
                      &n, &vocab) == 0);
    presso_model *hf = NULL;
    CHECK_OK(presso_model_open(hf_dir, NULL, &hf));
    if (hf && golden_logits) {
        CHECK(hf->config.rope_style == PRESSO_ROPE_HALF && hf->config.vocab_size == (int32_t)vocab);
        /* The tokenizer gives the ids transformers used. */
        const char *prompt = "Once upon a time, there was a little girl named Lily.";
        int32_t *ids = NULL;
        int64_t n_ids = 0;
        CHECK_OK(presso_tokenizer_encode(hf->tokenizer, prompt, strlen(prompt), true, &ids, &n_ids));
        CHECK(n_ids == (int64_t)n && ids && memcmp(ids, golden_tokens, 4 * (size_t)n) == 0);
        free(ids);
        float *logits = logits_of(hf, golden_tokens, (int32_t)n);
        CHECK(logits != NULL);
        if (logits) {
            double d = max_abs_diff(golden_logits, logits, (int64_t)n * vocab);
            CHECK_MSG(d <= 1e-4, "HF safetensors vs transformers: max |logit diff| %g", d);
            printf("tinystories-656k HF vs transformers: max |logit diff| %.3g\n", d);
            check_export_matches(hf, PRESSO_TYPE_F32, golden_tokens, (int32_t)n, logits, 1e-4, "tinystories656k", NULL);
            check_export_matches(hf, PRESSO_TYPE_F16, golden_tokens, (int32_t)n, logits, 2e-2, "tinystories656k", NULL);
            check_export_matches(hf, PRESSO_TYPE_Q8_0, golden_tokens, (int32_t)n, logits, 0.5, "tinystories656k", NULL);
        }
        free(logits);
    }
    presso_model_free(hf);

    /* stories260K: llama2.c .bin vs llama.cpp's GGUF vs presso's GGUF. */
    const char *bin = presso_test_shared("models/stories260K/stories260K.bin");
    const char *ref_gguf = presso_test_shared("models/stories260K/gguf-by-llama.cpp/stories260K-f32.gguf");
    presso_model *l2c = NULL, *lcpp = NULL;
    CHECK_OK(presso_model_open(bin, NULL, &l2c));
    CHECK_OK(presso_model_open(ref_gguf, NULL, &lcpp));
    if (l2c && lcpp) {
        int32_t tokens[48];
        for (int i = 0; i < 48; i++) tokens[i] = i == 0 ? 1 : (int32_t)((i * 37 + 11) % 512);
        float *a = logits_of(l2c, tokens, 48), *b = logits_of(lcpp, tokens, 48);
        CHECK(a && b);
        if (a && b) {
            double d = max_abs_diff(a, b, 48 * 512);
            CHECK_MSG(d <= 1e-4, "llama2.c .bin vs llama.cpp GGUF: max |logit diff| %g", d);
            printf("stories260K .bin vs llama.cpp f32 GGUF: max |logit diff| %.3g\n", d);
            check_export_matches(l2c, PRESSO_TYPE_F32, tokens, 48, a, 1e-4, "stories260K", ref_gguf);
            check_export_matches(l2c, PRESSO_TYPE_F16, tokens, 48, a, 2e-2, "stories260K",
                                 presso_test_shared("models/stories260K/gguf-by-llama.cpp/stories260K-f16.gguf"));
            /* Q8_0 costs some accuracy; the bytes equal llama-quantize's, so the logits equal its file's. */
            check_export_matches(l2c, PRESSO_TYPE_Q8_0, tokens, 48, a, 0.5, "stories260K",
                                 presso_test_shared("models/stories260K/gguf-by-llama.cpp/stories260K-q8_0.gguf"));
        }
        free(a);
        free(b);
        /* Both tokenizers encode the same text to the same ids. */
        const char *text = "Lily and Ben went to the park. They saw a big dog!";
        int32_t *x = NULL, *y = NULL;
        int64_t nx = 0, ny = 0;
        CHECK_OK(presso_tokenizer_encode(l2c->tokenizer, text, strlen(text), true, &x, &nx));
        CHECK_OK(presso_tokenizer_encode(lcpp->tokenizer, text, strlen(text), true, &y, &ny));
        CHECK(nx == ny && nx > 0 && memcmp(x, y, 4 * (size_t)nx) == 0);
        free(x);
        free(y);
    }
    /* A compressed model owns one buffer per tensor: hundreds for a real
     * model (SmolLM2: 211), all freed with it (ASan checks the leak). */
    if (l2c) {
        for (int i = 0; i < 300; i++) CHECK_OK(presso_model_own(l2c, malloc(16)));
        CHECK(l2c->n_buffers == 300);
    }
    presso_model_free(l2c);
    presso_model_free(lcpp);
    free(golden_tokens);
    free(golden_logits);
    return presso_test_finish();
}
