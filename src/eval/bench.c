#include "eval/bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "core/timer.h"
#include "model/llama.h"

static void mean_sd(const double *x, int n, double *mean, double *sd) {
    double sum = 0, sq = 0;
    for (int i = 0; i < n; i++) sum += x[i];
    *mean = sum / n;
    for (int i = 0; i < n; i++) sq += (x[i] - *mean) * (x[i] - *mean);
    *sd = n > 1 ? sqrt(sq / (n - 1)) : 0.0;
}

/* One timed run: prompt processing (batch) or generation (one token a call). */
static presso_status run_once(presso_llama_state *s, const presso_llama_prefix *prefix, const int32_t *tokens,
                              int32_t n, int batch, float *logits, double *tps) {
    PRESSO_TRY(presso_llama_apply_prefix(s, prefix));
    const double t0 = presso_now_seconds();
    if (batch) {
        PRESSO_TRY(presso_llama_forward(s, tokens, n, logits, n - 1));
    } else {
        for (int32_t i = 0; i < n; i++) PRESSO_TRY(presso_llama_forward(s, &tokens[i], 1, logits, 0));
    }
    const double dt = presso_now_seconds() - t0;
    *tps = dt > 0 ? n / dt : 0;
    return PRESSO_OK;
}

presso_status presso_bench(const presso_model *m, const presso_bench_params *p, presso_bench_result *out) {
    memset(out, 0, sizeof *out);
    if (p->n_prompt < 0 || p->n_gen < 0 || p->n_prompt + p->n_gen == 0 || p->reps < 1 || p->reps > 1000)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "bench needs -p >= 0, -n >= 0 (not both 0) and 1..1000 reps");
    const int32_t longest = p->n_prompt > p->n_gen ? p->n_prompt : p->n_gen;
    presso_llama_state *s = NULL;
    const int32_t n_prefix = presso_llama_prefix_len(p->prefix);
    PRESSO_TRY(presso_llama_state_new(m, longest + n_prefix, longest, p->n_threads, &s));
    int32_t *tokens = malloc(sizeof(int32_t) * (size_t)longest);
    float *logits = malloc(sizeof(float) * (size_t)m->config.vocab_size);
    double *tps = malloc(sizeof(double) * (size_t)p->reps);
    presso_status st = PRESSO_OK;
    if (!tokens || !logits || !tps) st = presso_fail(PRESSO_ERR_NOMEM, "out of memory");
    presso_rng rng;
    presso_rng_seed(&rng, p->seed);
    for (int32_t i = 0; st == PRESSO_OK && i < longest; i++)
        tokens[i] = (int32_t)(presso_rng_u32(&rng) % (uint32_t)m->config.vocab_size);
    for (int test = 0; test < 2 && st == PRESSO_OK; test++) {
        const int32_t n = test == 0 ? p->n_prompt : p->n_gen;
        if (n == 0) continue;
        double warm;
        st = run_once(s, p->prefix, tokens, n, test == 0, logits, &warm);
        for (int r = 0; r < p->reps && st == PRESSO_OK; r++)
            st = run_once(s, p->prefix, tokens, n, test == 0, logits, &tps[r]);
        if (st != PRESSO_OK) break;
        if (test == 0) mean_sd(tps, p->reps, &out->pp_tps, &out->pp_tps_sd);
        else mean_sd(tps, p->reps, &out->tg_tps, &out->tg_tps_sd);
    }
    out->peak_rss_bytes = presso_peak_rss_bytes();
    free(tokens);
    free(logits);
    free(tps);
    presso_llama_state_free(s);
    return st;
}
