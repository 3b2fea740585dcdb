/* The Pareto front (src/eval/pareto.c): hand-made sets with a known front in
 * every goal direction, ties, duplicates and non-finite points, and random
 * sets against the O(n²) definition. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/rng.h"
#include "eval/pareto.h"
#include "harness.h"

/* The definition: i is on the front when no j is at least as good on both
 * axes and strictly better on one. */
static bool dominated(const double *x, const double *y, int64_t n, int64_t i, presso_pareto_goal gx,
                      presso_pareto_goal gy) {
    if (!isfinite(x[i]) || !isfinite(y[i])) return true;
    for (int64_t j = 0; j < n; j++) {
        if (j == i || !isfinite(x[j]) || !isfinite(y[j])) continue;
        const double dx = gx == PRESSO_MAXIMIZE ? x[j] - x[i] : x[i] - x[j]; /* > 0: j better on x */
        const double dy = gy == PRESSO_MAXIMIZE ? y[j] - y[i] : y[i] - y[j];
        if (dx >= 0 && dy >= 0 && (dx > 0 || dy > 0)) return true;
    }
    return false;
}

int main(void) {
    /* Size (bits/weight) vs perplexity, both minimized: the baseline (32, 5.69),
     * q8_0 (8.5, 5.70), gptq q4_0 (4.5, 6.0), rtn q4_0 (4.5, 6.2: same size,
     * worse), q5_0 (5.5, 5.95: between q4_0 and q8_0 on both axes: on the
     * front), a point worse than q8_0 on both axes (9, 5.8), one without a
     * perplexity. */
    {
        const double x[] = {32, 8.5, 4.5, 4.5, 5.5, 9, 5.5};
        const double y[] = {5.69, 5.70, 6.0, 6.2, 5.95, 5.8, NAN};
        const bool want[] = {true, true, true, false, true, false, false};
        bool f[7];
        int64_t order[7], n_front = -1;
        CHECK_OK(presso_pareto_front(x, y, 7, PRESSO_MINIMIZE, PRESSO_MINIMIZE, f, order, &n_front));
        for (int i = 0; i < 7; i++) CHECK_MSG(f[i] == want[i], "point %d: on_front %d, want %d", i, f[i], want[i]);
        CHECK(n_front == 4);
        /* The polyline goes by increasing x: q4_0 gptq, q5_0, q8_0, baseline. */
        const int64_t want_order[] = {2, 4, 1, 0};
        for (int k = 0; k < 4 && n_front == 4; k++) CHECK_MSG(order[k] == want_order[k], "order[%d] = %lld", k, (long long)order[k]);
    }
    /* Accuracy vs tokens/s, both maximized; and perplexity (min) vs tokens/s (max). */
    {
        const double tps[] = {100, 300, 200, 300, 50};
        const double acc[] = {0.60, 0.50, 0.58, 0.45, 0.61};
        bool f[5];
        int64_t order[5], n_front = 0;
        CHECK_OK(presso_pareto_front(tps, acc, 5, PRESSO_MAXIMIZE, PRESSO_MAXIMIZE, f, order, &n_front));
        const bool want[] = {true, true, true, false, true};
        for (int i = 0; i < 5; i++) CHECK_MSG(f[i] == want[i], "max/max point %d: %d", i, f[i]);
        CHECK(n_front == 4);
        const int64_t want_order[] = {4, 0, 2, 1}; /* increasing tokens/s */
        for (int k = 0; k < 4 && n_front == 4; k++) CHECK_MSG(order[k] == want_order[k], "max order[%d] = %lld", k, (long long)order[k]);
        const double ppl[] = {6.0, 7.0, 6.5, 6.9, 5.9};
        CHECK_OK(presso_pareto_front(tps, ppl, 5, PRESSO_MAXIMIZE, PRESSO_MINIMIZE, f, NULL, &n_front));
        CHECK(f[0] && !f[1] && f[2] && f[3] && f[4]); /* 300 tok/s at 6.9 beats 300 at 7.0 */
        CHECK(n_front == 4);
    }
    /* Exact duplicates are all on the front (neither beats the other); an
     * empty set and an all-NaN set have an empty front. */
    {
        const double x[] = {1, 1, 2}, y[] = {3, 3, 1};
        bool f[3];
        int64_t n_front = 0;
        CHECK_OK(presso_pareto_front(x, y, 3, PRESSO_MINIMIZE, PRESSO_MINIMIZE, f, NULL, &n_front));
        CHECK(f[0] && f[1] && f[2] && n_front == 3);
        CHECK_OK(presso_pareto_front(NULL, NULL, 0, PRESSO_MINIMIZE, PRESSO_MINIMIZE, NULL, NULL, &n_front));
        CHECK(n_front == 0);
        const double nx[] = {NAN, INFINITY}, ny[] = {1, 2};
        CHECK_OK(presso_pareto_front(nx, ny, 2, PRESSO_MINIMIZE, PRESSO_MINIMIZE, f, NULL, &n_front));
        CHECK(!f[0] && !f[1] && n_front == 0);
        CHECK(presso_pareto_front(x, y, -1, PRESSO_MINIMIZE, PRESSO_MINIMIZE, f, NULL, NULL) == PRESSO_ERR_INVALID_ARG);
    }
    /* Random sets (with ties from a coarse grid) against the definition, every goal pair. */
    {
        presso_rng rng;
        presso_rng_seed(&rng, 7);
        enum { N = 200 };
        double x[N], y[N];
        bool f[N];
        int64_t order[N], n_front;
        int mismatches = 0, trials = 0;
        for (int t = 0; t < 40; t++) {
            const int n = 1 + (int)(presso_rng_u32(&rng) % N);
            for (int i = 0; i < n; i++) {
                x[i] = (double)(presso_rng_u32(&rng) % 50);
                y[i] = (double)(presso_rng_u32(&rng) % 50);
                if (presso_rng_u32(&rng) % 97 == 0) y[i] = NAN;
            }
            for (int g = 0; g < 4; g++) {
                const presso_pareto_goal gx = g & 1 ? PRESSO_MAXIMIZE : PRESSO_MINIMIZE;
                const presso_pareto_goal gy = g & 2 ? PRESSO_MAXIMIZE : PRESSO_MINIMIZE;
                CHECK_OK(presso_pareto_front(x, y, n, gx, gy, f, order, &n_front));
                int64_t count = 0;
                for (int i = 0; i < n; i++) {
                    count += f[i];
                    mismatches += f[i] == dominated(x, y, n, i, gx, gy);
                }
                trials++;
                CHECK_MSG(count == n_front, "n_front %lld, flags %lld", (long long)n_front, (long long)count);
                for (int64_t k = 1; k < n_front; k++) CHECK(x[order[k - 1]] <= x[order[k]]);
            }
        }
        CHECK_MSG(mismatches == 0, "%d points disagree with the definition over %d sets", mismatches, trials);
    }
    return presso_test_finish();
}
