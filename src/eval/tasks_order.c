/* The order llama-perplexity --hellaswag draws its tasks in, so that
 * `--limit N` scores the same N tasks as `--hellaswag-tasks N`:
 * std::mt19937 rng(1) and, for each pick, std::uniform_int_distribution<size_t>
 * (0, remaining - 1) as libstdc++ implements it for a 32-bit engine: Lemire's
 * nearly divisionless method ("Fast Random Integer Generation in an Interval",
 * ACM TOMACS 29(1), 2019), 32x32 -> 64-bit products, rejecting low words
 * below (2^32 - range) mod range. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "eval/tasks.h"

enum { MT_N = 624, MT_M = 397 };

typedef struct {
    uint32_t s[MT_N];
    int i;
} mt19937;

/* MT19937 (Matsumoto & Nishimura 1998), seeded as std::mt19937(seed). */
static void mt_seed(mt19937 *g, uint32_t seed) {
    g->s[0] = seed;
    for (int i = 1; i < MT_N; i++) g->s[i] = 1812433253u * (g->s[i - 1] ^ (g->s[i - 1] >> 30)) + (uint32_t)i;
    g->i = MT_N;
}

static uint32_t mt_next(mt19937 *g) {
    if (g->i >= MT_N) {
        for (int k = 0; k < MT_N; k++) {
            const uint32_t y = (g->s[k] & 0x80000000u) | (g->s[(k + 1) % MT_N] & 0x7fffffffu);
            g->s[k] = g->s[(k + MT_M) % MT_N] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
        }
        g->i = 0;
    }
    uint32_t y = g->s[g->i++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

/* A uniform integer in [0, range) with range in 1..2^32-1 (libstdc++ _S_nd). */
static uint32_t uniform_below(mt19937 *g, uint32_t range) {
    uint64_t product = (uint64_t)mt_next(g) * range;
    uint32_t low = (uint32_t)product;
    if (low < range) {
        const uint32_t threshold = (uint32_t)(-range) % range;
        while (low < threshold) {
            product = (uint64_t)mt_next(g) * range;
            low = (uint32_t)product;
        }
    }
    return (uint32_t)(product >> 32);
}

presso_status presso_task_llamacpp_order(int64_t n_tasks, int64_t n_pick, int64_t *order) {
    if (n_tasks < 0 || n_tasks > UINT32_MAX || n_pick < 0 || n_pick > n_tasks)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "cannot pick %lld of %lld tasks", (long long)n_pick,
                           (long long)n_tasks);
    int64_t *left = malloc(sizeof(int64_t) * (size_t)(n_tasks > 0 ? n_tasks : 1));
    if (!left) return presso_fail(PRESSO_ERR_NOMEM, "out of memory for %lld task indices", (long long)n_tasks);
    for (int64_t i = 0; i < n_tasks; i++) left[i] = i;
    mt19937 g;
    mt_seed(&g, 1);
    int64_t n_left = n_tasks;
    for (int64_t i = 0; i < n_pick; i++) {
        /* uniform_int_distribution(0, n_left - 1): range n_left fits 32 bits. */
        const int64_t k = (int64_t)uniform_below(&g, (uint32_t)n_left);
        order[i] = left[k];
        memmove(left + k, left + k + 1, sizeof(int64_t) * (size_t)(n_left - k - 1)); /* the erase */
        n_left--;
    }
    free(left);
    return PRESSO_OK;
}
