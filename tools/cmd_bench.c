/* presso bench MODEL [-t THREADS] [-p 128] [-n 64] [-r REPS] [--prompt-file PROMPT.bin] [--json]
 * With a prompt file every test starts after the learned prompt (untimed). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "eval/bench.h"
#include "tensor/kernels.h"

int cmd_bench(int argc, char **argv) {
    const char *path = NULL, *tokenizer = NULL, *v = NULL, *prompt_path = NULL;
    int64_t threads = 2, n_prompt = 128, n_gen = 64, reps = 5;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, NULL, "--json")) json = true;
        else if (cli_option(argv, argc, &i, "-z", "--tokenizer", &v)) {
            if (!v) return cli_usage_error("-z needs a path");
            tokenizer = v;
        } else if (cli_option(argv, argc, &i, NULL, "--prompt-file", &v)) {
            if (!v) return cli_usage_error("--prompt-file needs a path");
            prompt_path = v;
        } else if (cli_option(argv, argc, &i, "-t", "--threads", &v)) {
            if (!cli_int(a, v, 1, 512, &threads)) return 2;
        } else if (cli_option(argv, argc, &i, "-p", "--n-prompt", &v)) {
            if (!cli_int(a, v, 0, 1 << 16, &n_prompt)) return 2;
        } else if (cli_option(argv, argc, &i, "-n", "--n-gen", &v)) {
            if (!cli_int(a, v, 0, 1 << 16, &n_gen)) return 2;
        } else if (cli_option(argv, argc, &i, "-r", "--repetitions", &v)) {
            if (!cli_int(a, v, 1, 1000, &reps)) return 2;
        } else if (a[0] == '-') return cli_usage_error("bench: unknown option '%s'", a);
        else if (!path) path = a;
        else return cli_usage_error("bench: unexpected argument '%s'", a);
    }
    if (!path) return cli_usage_error("usage: presso bench MODEL [-t THREADS] [-p N] [-n N] [-r REPS]");
    if (n_prompt == 0 && n_gen == 0) return cli_usage_error("bench: -p and -n are both 0; nothing to measure");
    presso_model *m;
    int rc = cli_open_model_to_run(path, tokenizer, &m);
    if (rc) return rc;
    presso_prompt *learned = NULL;
    presso_llama_prefix prefix = {0};
    if (prompt_path && (rc = cli_load_prompt(prompt_path, m, &learned, &prefix)) != 0) {
        presso_model_free(m);
        return rc;
    }
    presso_bench_params p = {(int32_t)n_prompt, (int32_t)n_gen, (int32_t)reps, (int)threads, 1234,
                             learned ? &prefix : NULL};
    presso_bench_result r;
    const presso_status bst = presso_bench(m, &p, &r);
    const int32_t n_prefix = presso_llama_prefix_len(p.prefix);
    presso_prompt_free(learned);
    if (bst != PRESSO_OK) {
        presso_model_free(m);
        return cli_fail();
    }
    const int64_t params = presso_model_n_params(m), bytes = presso_model_weight_bytes(m);
    const char *kernels = presso_kernels_active()->name;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", m->path);
        cJSON_AddNumberToObject(o, "n_params", (double)params);
        cJSON_AddNumberToObject(o, "weight_bytes", (double)bytes);
        cJSON_AddNumberToObject(o, "threads", (double)threads);
        cJSON_AddStringToObject(o, "kernels", kernels);
        cJSON_AddNumberToObject(o, "n_prompt", (double)n_prompt);
        cJSON_AddNumberToObject(o, "prompt_positions", n_prefix);
        cJSON_AddNumberToObject(o, "n_gen", (double)n_gen);
        cJSON_AddNumberToObject(o, "reps", (double)reps);
        cJSON_AddNumberToObject(o, "pp_tps", r.pp_tps);
        cJSON_AddNumberToObject(o, "pp_tps_sd", r.pp_tps_sd);
        cJSON_AddNumberToObject(o, "tg_tps", r.tg_tps);
        cJSON_AddNumberToObject(o, "tg_tps_sd", r.tg_tps_sd);
        cJSON_AddNumberToObject(o, "peak_rss_bytes", (double)r.peak_rss_bytes);
        char *s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("| model | size | params | kernels | threads | test | t/s |\n|---|---:|---:|---|---:|---|---:|\n");
        for (int test = 0; test < 2; test++) {
            const int64_t n = test == 0 ? n_prompt : n_gen;
            if (!n) continue;
            printf("| %s | %.2f MiB | %.2f M | %s | %lld | %s%lld | %.2f ± %.2f |\n", m->name,
                   (double)bytes / (1024.0 * 1024.0), (double)params / 1e6, kernels, (long long)threads,
                   test == 0 ? "pp" : "tg", (long long)n, test == 0 ? r.pp_tps : r.tg_tps,
                   test == 0 ? r.pp_tps_sd : r.tg_tps_sd);
        }
        printf("peak RSS: %.1f MiB\n", (double)r.peak_rss_bytes / (1024.0 * 1024.0));
    }
    presso_model_free(m);
    return 0;
}
