/* Next-token sampling: greedy, temperature, top-k, top-p (nucleus). */
#ifndef PRESSO_MODEL_SAMPLER_H
#define PRESSO_MODEL_SAMPLER_H

#include <stdint.h>

#include "core/rng.h"
#include "presso.h"

typedef struct {
    float temperature; /* 0: greedy (argmax) */
    int32_t top_k;     /* <= 0: off */
    float top_p;       /* >= 1: off */
    uint64_t seed;
} presso_sampler_params;

typedef struct presso_sampler presso_sampler;

presso_status presso_sampler_new(const presso_sampler_params *p, int32_t vocab_size, presso_sampler **out);
void presso_sampler_free(presso_sampler *s);
/* Picks a token from logits (which it may overwrite). */
int32_t presso_sampler_sample(presso_sampler *s, float *logits);

/* Index of the largest value (the first on ties, as llama2.c). */
int32_t presso_argmax(const float *x, int32_t n);

#endif
