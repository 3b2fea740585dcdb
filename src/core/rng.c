#include "core/rng.h"

#include <math.h>

void presso_rng_seed(presso_rng *rng, uint64_t seed) {
    rng->state = seed ? seed : 0x9E3779B97F4A7C15ull;
}

uint32_t presso_rng_u32(presso_rng *rng) {
    /* xorshift64* (Vigna 2016), the same generator llama2.c samples with. */
    rng->state ^= rng->state >> 12;
    rng->state ^= rng->state << 25;
    rng->state ^= rng->state >> 27;
    return (uint32_t)((rng->state * 0x2545F4914F6CDD1Dull) >> 32);
}

float presso_rng_uniform(presso_rng *rng) { return (float)(presso_rng_u32(rng) >> 8) / 16777216.0f; }

float presso_rng_normal(presso_rng *rng) {
    float u1 = presso_rng_uniform(rng), u2 = presso_rng_uniform(rng);
    if (u1 < 1e-12f) u1 = 1e-12f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853071795864769f * u2);
}
