/* Speed and memory, measured as llama-bench does: "pp" processes n_prompt
 * tokens in one batch from an empty cache, "tg" generates n_gen tokens one at
 * a time from an empty cache; each test runs once to warm up, then reps
 * times; tokens/s is reported as mean and sample standard deviation. */
#ifndef PRESSO_EVAL_BENCH_H
#define PRESSO_EVAL_BENCH_H

#include <stdint.h>

#include "model/llama.h"
#include "model/model.h"

typedef struct {
    int32_t n_prompt, n_gen, reps;
    int n_threads;
    uint64_t seed; /* for the random token ids */
    /* Run (untimed) before every test, e.g. a soft prompt; NULL: none. */
    const presso_llama_prefix *prefix;
} presso_bench_params;

typedef struct {
    double pp_tps, pp_tps_sd; /* 0 when n_prompt is 0 */
    double tg_tps, tg_tps_sd; /* 0 when n_gen is 0 */
    int64_t peak_rss_bytes;
} presso_bench_result;

presso_status presso_bench(const presso_model *m, const presso_bench_params *p, presso_bench_result *out);

#endif
