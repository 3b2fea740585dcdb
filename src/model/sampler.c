#include "model/sampler.h"

#include <math.h>
#include <stdlib.h>

#include "core/error.h"

typedef struct {
    float p;
    int32_t id;
} presso_candidate;

struct presso_sampler {
    presso_sampler_params params;
    int32_t vocab_size;
    presso_rng rng;
    presso_candidate *order; /* candidates, sorted by probability */
};

presso_status presso_sampler_new(const presso_sampler_params *p, int32_t vocab_size, presso_sampler **out) {
    *out = NULL;
    if (!(p->temperature >= 0.0f) || p->temperature > 100.0f)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "temperature %g must be in [0, 100]", (double)p->temperature);
    if (!(p->top_p > 0.0f))
        return presso_fail(PRESSO_ERR_INVALID_ARG, "top-p %g must be in (0, 1]", (double)p->top_p);
    if (vocab_size <= 0) return presso_fail(PRESSO_ERR_INVALID_ARG, "vocabulary size %d", vocab_size);
    presso_sampler *s = calloc(1, sizeof *s);
    if (!s) return presso_fail(PRESSO_ERR_NOMEM, "out of memory");
    s->order = malloc(sizeof(presso_candidate) * (size_t)vocab_size);
    if (!s->order) {
        free(s);
        return presso_fail(PRESSO_ERR_NOMEM, "out of memory");
    }
    s->params = *p;
    s->vocab_size = vocab_size;
    presso_rng_seed(&s->rng, p->seed);
    *out = s;
    return PRESSO_OK;
}

void presso_sampler_free(presso_sampler *s) {
    if (!s) return;
    free(s->order);
    free(s);
}

int32_t presso_argmax(const float *x, int32_t n) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

static int by_probability_desc(const void *a, const void *b) {
    const presso_candidate *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return x->id - y->id; /* a fixed order for equal probabilities */
}

int32_t presso_sampler_sample(presso_sampler *s, float *logits) {
    const int32_t n = s->vocab_size;
    if (s->params.temperature == 0.0f) return presso_argmax(logits, n);
    /* softmax(logits / T) */
    float max = logits[0];
    for (int32_t i = 1; i < n; i++)
        if (logits[i] > max) max = logits[i];
    double sum = 0;
    for (int32_t i = 0; i < n; i++) {
        logits[i] = expf((logits[i] - max) / s->params.temperature);
        sum += logits[i];
    }
    for (int32_t i = 0; i < n; i++) s->order[i] = (presso_candidate){(float)(logits[i] / sum), i};
    qsort(s->order, (size_t)n, sizeof *s->order, by_probability_desc);
    /* Keep the top k, then the smallest prefix whose mass reaches top_p (Holtzman et al. 2020). */
    int32_t keep = s->params.top_k > 0 && s->params.top_k < n ? s->params.top_k : n;
    double mass = 0;
    int32_t cut = keep;
    for (int32_t i = 0; i < keep; i++) {
        mass += s->order[i].p;
        if (s->params.top_p < 1.0f && mass >= s->params.top_p) {
            cut = i + 1;
            break;
        }
    }
    double kept = 0;
    for (int32_t i = 0; i < cut; i++) kept += s->order[i].p;
    const double coin = presso_rng_uniform(&s->rng) * kept;
    double cdf = 0;
    for (int32_t i = 0; i < cut; i++) {
        cdf += s->order[i].p;
        if (coin < cdf) return s->order[i].id;
    }
    return s->order[cut - 1].id;
}
