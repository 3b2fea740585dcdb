/* presso eval MODEL --task NAME[,NAME...] [--data FILE] [--limit N] [-c CTX]
 *                  [-t THREADS] [--skip-bad] [--in-order] [--items] [--bench] [--json]
 * Zero-shot tasks (src/eval/tasks*.c) and the model's cost (src/eval/cost.c). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "core/timer.h"
#include "eval/bench.h"
#include "eval/cost.h"
#include "eval/tasks.h"

#ifndef PRESSO_SHARED_DIR
#define PRESSO_SHARED_DIR "../shared"
#endif

enum { MAX_TASKS = 32 };

typedef struct {
    const char *name;
    double last;
} progress_state;

static void print_progress(void *user, int64_t done, int64_t total, double acc) {
    progress_state *ps = user;
    const double now = presso_now_seconds();
    if (done != total && now - ps->last < 0.5) return;
    ps->last = now;
    fprintf(stderr, "\rpresso: %s %lld/%lld acc %.4f", ps->name, (long long)done, (long long)total, acc);
    if (done == total) fprintf(stderr, "\n");
    fflush(stderr);
}

static const char *shared_dir(void) {
    const char *env = getenv("PRESSO_SHARED_DIR");
    return env && env[0] ? env : PRESSO_SHARED_DIR;
}

/* The format and default file of a task name: hellaswag, lambada, mc (needs
 * --data), or the stem of a multiple-choice file in shared/data/tasks/. */
static int resolve_task(const char *name, const char *data, presso_task_kind *kind, char *path, size_t cap) {
    const char *dir = shared_dir();
    const char *sub = "data/tasks/", *ext = ".jsonl", *stem = name;
    *kind = PRESSO_TASK_MC;
    if (strcmp(name, "hellaswag") == 0) {
        *kind = PRESSO_TASK_HELLASWAG;
        sub = "data/hellaswag/", stem = "hellaswag_val", ext = ".txt";
    } else if (strcmp(name, "lambada") == 0) {
        *kind = PRESSO_TASK_LAMBADA;
        sub = "data/lambada/", stem = "lambada_test";
    } else if (strcmp(name, "mc") == 0 && !data) {
        return cli_usage_error("--task mc reads a multiple-choice jsonl given with --data FILE");
    }
    const int w = data ? snprintf(path, cap, "%s", data) : snprintf(path, cap, "%s/%s%s%s", dir, sub, stem, ext);
    if (w < 0 || (size_t)w >= cap) return cli_usage_error("task %s: file path too long", name);
    struct stat st;
    if (!data && *kind == PRESSO_TASK_MC && stat(path, &st) != 0)
        return cli_usage_error("unknown task '%s': not hellaswag, lambada or mc, and no %s", name, path);
    return 0;
}

static void add_item_details(cJSON *o, const presso_task_set *t, const presso_task_result *r) {
    cJSON *items = cJSON_AddArrayToObject(o, "items");
    for (int64_t i = 0; i < r->n; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "line", (double)t->items[i].line);
        cJSON_AddNumberToObject(e, "gold", t->items[i].gold);
        cJSON_AddNumberToObject(e, "pred", r->pred[i]);
        if (t->kind == PRESSO_TASK_MC) cJSON_AddNumberToObject(e, "pred_norm", r->pred_norm[i]);
        if (t->kind == PRESSO_TASK_LAMBADA) cJSON_AddBoolToObject(e, "greedy", r->greedy[i]);
        cJSON *s = cJSON_AddArrayToObject(e, "scores");
        for (int64_t j = r->choice_offset[i]; j < r->choice_offset[i + 1]; j++)
            cJSON_AddItemToArray(s, cJSON_CreateNumber(r->score[j]));
        cJSON_AddItemToArray(items, e);
    }
}

static cJSON *task_json(const presso_task_set *t, const presso_task_result *r, bool items) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "task", t->name);
    cJSON_AddStringToObject(o, "file", t->path);
    cJSON_AddNumberToObject(o, "n", (double)r->n);
    cJSON_AddNumberToObject(o, "acc", r->acc);
    cJSON_AddNumberToObject(o, "acc_err", r->acc_err);
    if (t->kind == PRESSO_TASK_MC) {
        cJSON_AddNumberToObject(o, "acc_norm", r->acc_norm);
        cJSON_AddNumberToObject(o, "acc_norm_err", r->acc_norm_err);
    }
    if (t->kind == PRESSO_TASK_LAMBADA) cJSON_AddNumberToObject(o, "ppl", r->ppl);
    cJSON_AddNumberToObject(o, "n_skipped", (double)t->n_skipped);
    if (t->n_skipped) {
        cJSON_AddNumberToObject(o, "first_skipped_line", (double)t->first_skipped_line);
        cJSON_AddStringToObject(o, "first_skipped_why", t->first_skipped_why);
    }
    cJSON_AddNumberToObject(o, "n_truncated", (double)r->n_truncated);
    cJSON_AddNumberToObject(o, "n_tokens", (double)r->n_tokens);
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    if (items) add_item_details(o, t, r);
    return o;
}

static cJSON *cost_json(const presso_cost *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n_params", (double)c->n_params);
    cJSON_AddNumberToObject(o, "n_nonzero", (double)c->n_nonzero);
    cJSON_AddNumberToObject(o, "n_matmul", (double)c->n_matmul);
    cJSON_AddNumberToObject(o, "n_matmul_nonzero", (double)c->n_matmul_nonzero);
    cJSON_AddNumberToObject(o, "weight_bytes", (double)c->weight_bytes);
    cJSON_AddNumberToObject(o, "file_bytes", (double)c->file_bytes);
    cJSON_AddNumberToObject(o, "bits_per_weight", c->bits_per_weight);
    cJSON_AddNumberToObject(o, "ratio_vs_f16", c->ratio_vs_f16);
    cJSON_AddNumberToObject(o, "flops_ctx", c->flops_ctx);
    cJSON_AddNumberToObject(o, "flops_per_token_dense", c->flops_dense);
    cJSON_AddNumberToObject(o, "flops_per_token_effective", c->flops_effective);
    cJSON_AddNumberToObject(o, "flops_per_token_attention", c->flops_attention);
    return o;
}

int cmd_eval(int argc, char **argv) {
    const char *path = NULL, *tokenizer = NULL, *tasks_arg = NULL, *data = NULL, *prompt_path = NULL, *v = NULL;
    int64_t limit = 0, threads = 2, ctx = 0;
    bool json = false, skip_bad = false, in_order = false, items = false, bench = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, NULL, "--json")) json = true;
        else if (cli_flag(a, NULL, "--skip-bad")) skip_bad = true;
        else if (cli_flag(a, NULL, "--in-order")) in_order = true;
        else if (cli_flag(a, NULL, "--items")) items = true;
        else if (cli_flag(a, NULL, "--bench")) bench = true;
        else if (cli_option(argv, argc, &i, "-z", "--tokenizer", &v)) {
            if (!v) return cli_usage_error("-z needs a path");
            tokenizer = v;
        } else if (cli_option(argv, argc, &i, NULL, "--task", &v)) {
            if (!v || !v[0]) return cli_usage_error("--task needs NAME[,NAME...]");
            tasks_arg = v;
        } else if (cli_option(argv, argc, &i, NULL, "--prompt-file", &v)) {
            if (!v) return cli_usage_error("--prompt-file needs a path");
            prompt_path = v;
        } else if (cli_option(argv, argc, &i, NULL, "--data", &v)) {
            if (!v) return cli_usage_error("--data needs a file");
            data = v;
        } else if (cli_option(argv, argc, &i, NULL, "--limit", &v)) {
            if (!cli_int(a, v, 1, (int64_t)1 << 40, &limit)) return 2;
        } else if (cli_option(argv, argc, &i, "-c", "--ctx", &v)) {
            if (!cli_int(a, v, 2, 1 << 20, &ctx)) return 2;
        } else if (cli_option(argv, argc, &i, "-t", "--threads", &v)) {
            if (!cli_int(a, v, 1, 512, &threads)) return 2;
        } else if (a[0] == '-') return cli_usage_error("eval: unknown option '%s'", a);
        else if (!path) path = a;
        else return cli_usage_error("eval: unexpected argument '%s'", a);
    }
    if (!path || !tasks_arg)
        return cli_usage_error("usage: presso eval MODEL --task NAME[,NAME...] [--data FILE] [--limit N] [-t T] [--prompt-file P]");
    /* Resolve every task before loading anything: a typo fails fast. */
    char names[MAX_TASKS][128], files[MAX_TASKS][4096];
    presso_task_kind kinds[MAX_TASKS];
    int n_tasks = 0;
    for (const char *p = tasks_arg; *p;) {
        const char *comma = strchr(p, ',');
        const size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == 0 || n >= sizeof names[0]) return cli_usage_error("--task: empty or overlong name in '%s'", tasks_arg);
        if (n_tasks == MAX_TASKS) return cli_usage_error("--task: at most %d tasks", MAX_TASKS);
        memcpy(names[n_tasks], p, n);
        names[n_tasks][n] = '\0';
        p = comma ? comma + 1 : p + n;
        if (comma && !*p) return cli_usage_error("--task: empty name after the last comma");
        n_tasks++;
    }
    if (data && n_tasks != 1) return cli_usage_error("--data FILE goes with exactly one --task");
    for (int k = 0; k < n_tasks; k++) {
        const int rc = resolve_task(names[k], data, &kinds[k], files[k], sizeof files[k]);
        if (rc) return rc;
    }
    presso_model *m;
    int rc = cli_open_model_to_run(path, tokenizer, &m);
    if (rc) return rc;
    if (!m->tokenizer) {
        presso_model_free(m);
        return cli_usage_error("%s: the model has no tokenizer; pass one with -z", path);
    }
    /* A learned prompt / prefix goes before every item (never scored). */
    presso_prompt *learned = NULL;
    presso_llama_prefix prefix = {0};
    if (prompt_path && (rc = cli_load_prompt(prompt_path, m, &learned, &prefix)) != 0) {
        presso_model_free(m);
        return rc;
    }
    /* lm-eval tasks: the model's trained context (capped to keep one KV
     * cache per thread small), longer contexts lose their left end as in
     * lm-eval. hellaswag: llama-perplexity scores whole tasks whatever the
     * trained context, so at least 2048 positions. */
    const int32_t trained = m->config.max_seq_len;
    const int64_t ctx_mc = ctx ? ctx : (trained < 2048 ? trained : 2048);
    const int64_t ctx_hs = ctx ? ctx : (trained > 2048 ? trained : 2048);
    presso_cost cost;
    if (presso_model_cost(m, (int32_t)ctx_mc, &cost) != PRESSO_OK) {
        presso_prompt_free(learned);
        presso_model_free(m);
        return cli_fail();
    }
    presso_task_set *sets[MAX_TASKS] = {0};
    presso_task_result results[MAX_TASKS];
    memset(results, 0, sizeof results);
    int done = 0;
    presso_status st = PRESSO_OK;
    for (; st == PRESSO_OK && done < n_tasks; done++) {
        st = presso_task_read(kinds[done], files[done], names[done], skip_bad, &sets[done]);
        if (st == PRESSO_OK) st = presso_task_select(sets[done], limit, in_order);
        if (st != PRESSO_OK) break;
        if (sets[done]->n_skipped)
            fprintf(stderr, "presso: %s: %lld malformed items skipped (first: line %lld: %s)\n", files[done],
                    (long long)sets[done]->n_skipped, (long long)sets[done]->first_skipped_line,
                    sets[done]->first_skipped_why);
        progress_state ps = {names[done], 0};
        const int64_t task_ctx = kinds[done] == PRESSO_TASK_HELLASWAG ? ctx_hs : ctx_mc;
        presso_task_params tp = {(int)threads, (int32_t)task_ctx, print_progress, &ps, learned ? &prefix : NULL};
        st = presso_task_eval(m, sets[done], &tp, &results[done]);
        if (st != PRESSO_OK && ps.last > 0) fprintf(stderr, "\n"); /* end the progress line */
    }
    presso_bench_result br = {0};
    if (st == PRESSO_OK && bench) {
        presso_bench_params bp = {128, 64, 3, (int)threads, 1234, learned ? &prefix : NULL};
        st = presso_bench(m, &bp, &br);
    }
    rc = st == PRESSO_OK ? 0 : cli_fail();
    if (rc == 0 && json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", m->path);
        cJSON_AddNumberToObject(o, "ctx", (double)ctx_mc);
        cJSON_AddNumberToObject(o, "ctx_hellaswag", (double)ctx_hs);
        cJSON_AddNumberToObject(o, "threads", (double)threads);
        cJSON_AddItemToObject(o, "cost", cost_json(&cost));
        if (bench) {
            cJSON *b = cJSON_AddObjectToObject(o, "bench");
            cJSON_AddNumberToObject(b, "n_prompt", 128);
            cJSON_AddNumberToObject(b, "n_gen", 64);
            cJSON_AddNumberToObject(b, "pp_tps", br.pp_tps);
            cJSON_AddNumberToObject(b, "pp_tps_sd", br.pp_tps_sd);
            cJSON_AddNumberToObject(b, "tg_tps", br.tg_tps);
            cJSON_AddNumberToObject(b, "tg_tps_sd", br.tg_tps_sd);
            cJSON_AddNumberToObject(b, "peak_rss_bytes", (double)br.peak_rss_bytes);
        }
        cJSON *arr = cJSON_AddArrayToObject(o, "tasks");
        for (int k = 0; k < n_tasks; k++) cJSON_AddItemToArray(arr, task_json(sets[k], &results[k], items));
        char *s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else if (rc == 0) {
        printf("| task | n | acc | acc_norm | ppl | skipped | truncated | s |\n"
               "|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (int k = 0; k < n_tasks; k++) {
            const presso_task_result *r = &results[k];
            char norm[64] = "–", ppl[32] = "–";
            if (sets[k]->kind == PRESSO_TASK_MC)
                snprintf(norm, sizeof norm, "%.4f ± %.4f", r->acc_norm, r->acc_norm_err);
            if (sets[k]->kind == PRESSO_TASK_LAMBADA) snprintf(ppl, sizeof ppl, "%.3f", r->ppl);
            printf("| %s | %lld | %.4f ± %.4f | %s | %s | %lld | %lld | %.1f |\n", names[k], (long long)r->n, r->acc,
                   r->acc_err, norm, ppl, (long long)sets[k]->n_skipped, (long long)r->n_truncated, r->seconds);
        }
        printf("cost: %lld params (%lld non-zero), %.2f MiB weights, %.2f MiB on disk, %.3f bits/weight, "
               "%.2fx vs f16, %.3g FLOPs/token dense, %.3g effective (ctx %d)\n",
               (long long)cost.n_params, (long long)cost.n_nonzero, (double)cost.weight_bytes / 1048576.0,
               (double)cost.file_bytes / 1048576.0, cost.bits_per_weight, cost.ratio_vs_f16, cost.flops_dense,
               cost.flops_effective, cost.flops_ctx);
        if (bench)
            printf("bench: pp128 %.1f ± %.1f tok/s, tg64 %.1f ± %.1f tok/s, peak RSS %.1f MiB\n", br.pp_tps,
                   br.pp_tps_sd, br.tg_tps, br.tg_tps_sd, (double)br.peak_rss_bytes / 1048576.0);
    }
    for (int k = 0; k < n_tasks; k++) {
        presso_task_result_free(&results[k]);
        presso_task_free(sets[k]);
    }
    presso_prompt_free(learned);
    presso_model_free(m);
    return rc;
}
