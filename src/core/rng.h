/* Deterministic pseudo-random numbers (xorshift64*), seeded explicitly. */
#ifndef PRESSO_CORE_RNG_H
#define PRESSO_CORE_RNG_H
#include <stdint.h>
typedef struct { uint64_t state; } presso_rng;
void presso_rng_seed(presso_rng *rng, uint64_t seed);
uint32_t presso_rng_u32(presso_rng *rng);
/* Uniform in [0, 1). */
float presso_rng_uniform(presso_rng *rng);
/* Standard normal (Box-Muller). */
float presso_rng_normal(presso_rng *rng);
#endif
