/* The forward pass on stories260K (llama2.c checkpoint) reproduces llama2.c's
 * greedy generation token for token, with the reference and the SIMD kernels,
 * decoding one token at a time and prefilling in one batch. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "model/llama.h"
#include "model/model.h"
#include "tensor/kernels.h"

static int read_golden_ids(const char *path, int32_t *ids, int cap) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[8192];
    if (!fgets(line, sizeof line, f) || !fgets(line, sizeof line, f)) {
        fclose(f);
        return -1;
    }
    fclose(f);
    int n = 0;
    for (char *p = strtok(line, " \n"); p && n < cap; p = strtok(NULL, " \n")) ids[n++] = atoi(p);
    return n;
}

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

int main(void) {
    const char *path = presso_test_shared("models/stories260K/stories260K.bin");
    int32_t golden[256];
    int n_golden = read_golden_ids(PRESSO_SOURCE_DIR "/tests/golden/stories260K_greedy200.ids", golden, 256);
    CHECK(n_golden == 200);
    presso_model *m = calloc(1, sizeof *m);
    snprintf(m->path, sizeof m->path, "%s", path);
    CHECK_OK(presso_model_load_llama2c(m, path));
    CHECK_OK(presso_model_validate(m));
    CHECK(m->config.dim == 64 && m->config.hidden_dim == 172 && m->config.n_layers == 5);
    CHECK(m->config.n_heads == 8 && m->config.n_kv_heads == 4 && m->config.vocab_size == 512);
    CHECK(m->config.tied_embeddings);

    const char *tiers[] = {"ref", "avx2"};
    for (int tier = 0; tier < 2; tier++) {
        if (presso_kernels_select(tiers[tier]) != PRESSO_OK) continue;
        for (int threads = 1; threads <= 2; threads++) {
            presso_llama_state *s = NULL;
            CHECK_OK(presso_llama_state_new(m, 0, 8, threads, &s));
            float logits[512];
            int32_t token = 1; /* BOS */
            int matched = 0;
            for (int i = 0; i < n_golden; i++) {
                CHECK_OK(presso_llama_forward(s, &token, 1, logits, 0));
                token = argmax(logits, 512);
                if (token != golden[i]) break;
                matched++;
            }
            CHECK_MSG(matched == n_golden, "%s kernels, %d threads: %d of %d tokens match llama2.c", tiers[tier],
                      threads, matched, n_golden);
            presso_llama_state_free(s);
        }
    }
    presso_kernels_select("auto");

    /* Batched prefill (sgemm path) gives the same logits as token-by-token decode. */
    int32_t seq[65];
    seq[0] = 1;
    for (int i = 0; i < 64; i++) seq[i + 1] = golden[i];
    presso_llama_state *a = NULL, *b = NULL;
    CHECK_OK(presso_llama_state_new(m, 128, 64, 2, &a));
    CHECK_OK(presso_llama_state_new(m, 128, 64, 1, &b));
    float *batch_logits = malloc(sizeof(float) * 64 * 512), one[512];
    CHECK_OK(presso_llama_forward(a, seq, 64, batch_logits, 0));
    double max_diff = 0;
    for (int i = 0; i < 64; i++) {
        CHECK_OK(presso_llama_forward(b, &seq[i], 1, one, 0));
        for (int v = 0; v < 512; v++) {
            double d = fabs((double)one[v] - batch_logits[i * 512 + v]);
            if (d > max_diff) max_diff = d;
        }
    }
    CHECK_MSG(max_diff < 1e-4, "prefill vs decode max |diff| %g", max_diff);
    /* Errors: a token outside the vocabulary, a batch beyond the state's size. */
    int32_t bad = 512;
    CHECK(presso_llama_forward(b, &bad, 1, one, 0) == PRESSO_ERR_INVALID_ARG);
    CHECK(strstr(presso_last_error(), "512") != NULL);
    CHECK(presso_llama_forward(b, seq, 65, NULL, 65) == PRESSO_ERR_INVALID_ARG);
    free(batch_logits);
    presso_llama_state_free(a);
    presso_llama_state_free(b);
    presso_model_free(m);
    return presso_test_finish();
}
