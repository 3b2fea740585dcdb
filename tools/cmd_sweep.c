/* presso sweep CONFIG [-o RESULTS.jsonl] [--dry-run] [--retry-failed] [--json]
 *
 * Runs every cell of the config's grid (docs/sweep.md) as presso's own
 * subcommands, children of this same binary (/proc/self/exe through
 * posix_spawn): quantize and/or prune into the work directory, then ppl on
 * each evaluation text, info, bench and (when the cell asks) eval, all with
 * --json. Each finished cell appends one line to the results (one write() on
 * an O_APPEND descriptor + fsync), so a killed sweep resumes where it
 * stopped; a failed cell records its error and is retried only with
 * --retry-failed. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "compress/pass.h"
#include "core/atomic_file.h"
#include "core/timer.h"
#include "eval/results.h"
#include "eval/sweep.h"

extern char **environ;

enum { MAX_ARGS = 96 };

typedef struct {
    const char *argv[MAX_ARGS];
    int n;
    char store[MAX_ARGS][PRESSO_PATH_MAX]; /* copies of formatted arguments */
} arg_list;

static void arg(arg_list *a, const char *s) {
    if (a->n < MAX_ARGS - 1) a->argv[a->n++] = s;
    a->argv[a->n] = NULL;
}

static void argf(arg_list *a, const char *fmt, long long v) {
    if (a->n >= MAX_ARGS - 1) return;
    snprintf(a->store[a->n], sizeof a->store[a->n], fmt, v);
    arg(a, a->store[a->n]);
}

static void args_print(FILE *f, const arg_list *a) {
    for (int i = 0; i < a->n; i++) fprintf(f, "%s%s", i ? " " : "  presso ", a->argv[i]);
    fputc('\n', f);
}

typedef struct {
    const presso_sweep_config *c;
    const presso_sweep_cell *cell;
    char slug[160];
    char work[PRESSO_PATH_MAX];
    char out_path[PRESSO_PATH_MAX], err_path[PRESSO_PATH_MAX];
    char pruned[PRESSO_PATH_MAX + 200], quantized[PRESSO_PATH_MAX + 200]; /* the cell's intermediate models */
    char error[1024];
    bool dry;
} cell_run;

/* The last "presso: error:" line of the child's stderr, else its last line. */
static void child_error(const char *err_path, char *out, size_t cap) {
    out[0] = '\0';
    FILE *f = fopen(err_path, "r");
    if (!f) return;
    char line[1024], last[1024] = "";
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0]) continue;
        if (strstr(line, "error:")) snprintf(out, cap, "%.*s", (int)cap - 1, line);
        snprintf(last, sizeof last, "%s", line);
    }
    fclose(f);
    if (!out[0]) snprintf(out, cap, "%.*s", (int)cap - 1, last);
}

/* Runs `presso ARGS` as a child with stdout and stderr captured in the cell's
 * files; returns the parsed --json output, or NULL with run->error set. */
static cJSON *run_step(cell_run *run, const char *step, arg_list *a) {
    if (run->dry) {
        args_print(stdout, a);
        return NULL;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, run->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, run->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const char *argv[MAX_ARGS + 1];
    argv[0] = "presso";
    for (int i = 0; i <= a->n; i++) argv[i + 1] = a->argv[i];
    pid_t pid;
    int rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        snprintf(run->error, sizeof run->error, "%s: cannot start presso (/proc/self/exe): %s", step, strerror(rc));
        return NULL;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            snprintf(run->error, sizeof run->error, "%s: waitpid failed: %s", step, strerror(errno));
            return NULL;
        }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char why[900];
        child_error(run->err_path, why, sizeof why);
        if (WIFSIGNALED(status))
            snprintf(run->error, sizeof run->error, "%s: killed by signal %d: %s", step, WTERMSIG(status), why);
        else
            snprintf(run->error, sizeof run->error, "%s: exit status %d: %s", step, WEXITSTATUS(status), why);
        return NULL;
    }
    size_t len = 0;
    FILE *f = fopen(run->out_path, "rb");
    char *text = NULL;
    if (f) {
        fclose(f);
        text = cli_read_file(run->out_path, &len);
    }
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        snprintf(run->error, sizeof run->error, "%s: its --json output is not a JSON object (%.900s)", step, run->out_path);
        return NULL;
    }
    return j;
}

static double jnum(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* Calibration arguments for a method: those the registry says it needs; a
 * method this binary does not know gets them too (its command will either
 * use them or say what is wrong, and the cell records that). */
static void calib_args(const cell_run *run, arg_list *a, const char *method) {
    const presso_pass *p = presso_pass_find(method);
    if ((p && !p->needs_calibration) || !run->c->calib.file[0]) return;
    arg(a, "--calib");
    arg(a, run->c->calib.file);
    if (run->c->calib.count) {
        arg(a, "--calib-count");
        argf(a, "%lld", run->c->calib.count);
    }
    if (run->c->calib.len) {
        arg(a, "--calib-len");
        argf(a, "%lld", run->c->calib.len);
    }
    arg(a, "--seed");
    argf(a, "%lld", run->c->calib.seed);
}

static void list_args(arg_list *a, const cJSON *list) {
    for (const cJSON *e = list ? list->child : NULL; e; e = e->next) arg(a, e->valuestring);
}

static void common_args(const cell_run *run, arg_list *a, const char *model) {
    if (run->c->tokenizer[0] && strcmp(model, run->c->model) == 0) {
        arg(a, "-z");
        arg(a, run->c->tokenizer);
    }
    arg(a, "-t");
    argf(a, "%lld", run->c->threads);
    arg(a, "--json");
}

/* Accuracies in an eval --json output: any object with a string "task" (or
 * "name") and a number "acc" (or "accuracy"); a top-level number counts as
 * the whole run's. */
static void collect_acc(const cJSON *o, cJSON *acc) {
    if (!o) return;
    if (cJSON_IsObject(o)) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "task");
        if (!cJSON_IsString(name)) name = cJSON_GetObjectItemCaseSensitive(o, "name");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "acc");
        if (!cJSON_IsNumber(v)) v = cJSON_GetObjectItemCaseSensitive(o, "accuracy");
        if (cJSON_IsString(name) && cJSON_IsNumber(v) && !cJSON_GetObjectItemCaseSensitive(acc, name->valuestring))
            cJSON_AddNumberToObject(acc, name->valuestring, v->valuedouble);
    }
    for (const cJSON *e = o->child; e; e = e->next)
        if (cJSON_IsObject(e) || cJSON_IsArray(e)) collect_acc(e, acc);
}

/* Runs one cell; fills rec with what was measured. false: run->error says why. */
static bool run_cell(cell_run *run, cJSON *rec) {
    const presso_sweep_config *c = run->c;
    const presso_sweep_cell *cell = run->cell;
    const cJSON *p = cell->params;
    char buf[512], prune[128], method[128];
    presso_sweep_param(cell, "prune", prune, sizeof prune);
    presso_sweep_param(cell, "method", method, sizeof method);
    char *pruned = run->pruned, *quantized = run->quantized;
    const char *model = c->model;
    double compress_seconds = 0;
    if (cell->baseline && c->baseline_type[0]) {
        /* The baseline as a GGUF of the same file path as the compressed
         * cells: tokenized from the GGUF vocabulary and run as they are. */
        arg_list a = {.n = 0};
        arg(&a, "convert");
        arg(&a, model);
        arg(&a, quantized);
        arg(&a, "--type");
        arg(&a, c->baseline_type);
        if (c->tokenizer[0]) {
            arg(&a, "-z");
            arg(&a, c->tokenizer);
        }
        arg(&a, "--json");
        cJSON *j = run_step(run, "convert", &a);
        if (!j && !run->dry) return false;
        if (j) cJSON_AddItemToObject(rec, "convert_output", j);
        model = quantized;
    }
    if (prune[0]) {
        arg_list a = {.n = 0};
        arg(&a, "prune");
        arg(&a, model);
        arg(&a, pruned);
        arg(&a, "--method");
        arg(&a, prune);
        if (cJSON_GetObjectItemCaseSensitive(p, "sparsity")) {
            arg(&a, "--sparsity");
            arg(&a, presso_sweep_param(cell, "sparsity", a.store[a.n], sizeof a.store[a.n]));
        }
        if (cJSON_GetObjectItemCaseSensitive(p, "nm")) {
            arg(&a, "--nm");
            arg(&a, presso_sweep_param(cell, "nm", a.store[a.n], sizeof a.store[a.n]));
        }
        if (cJSON_GetObjectItemCaseSensitive(p, "quantize")) {
            arg(&a, "--quantize");
            arg(&a, presso_sweep_param(cell, "quantize", a.store[a.n], sizeof a.store[a.n]));
        }
        calib_args(run, &a, prune);
        list_args(&a, cJSON_GetObjectItemCaseSensitive(p, "prune_args"));
        common_args(run, &a, model);
        cJSON *j = run_step(run, "prune", &a);
        if (!j && !run->dry) return false;
        if (j) {
            compress_seconds += jnum(j, "seconds") > 0 ? jnum(j, "seconds") : 0;
            cJSON_AddItemToObject(rec, "prune_output", j);
        }
        model = pruned;
    }
    if (method[0]) {
        arg_list a = {.n = 0};
        arg(&a, "quantize");
        arg(&a, model);
        arg(&a, quantized);
        arg(&a, "--method");
        arg(&a, method);
        static const char *const opt[][2] = {{"type", "--type"}, {"bits", "--bits"}, {"group", "--group"}};
        for (int k = 0; k < 3; k++)
            if (cJSON_GetObjectItemCaseSensitive(p, opt[k][0])) {
                arg(&a, opt[k][1]);
                arg(&a, presso_sweep_param(cell, opt[k][0], a.store[a.n], sizeof a.store[a.n]));
            }
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "asym"))) arg(&a, "--asym");
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "act_order"))) arg(&a, "--act-order");
        if (prune[0]) arg(&a, "--allow-requantize");
        calib_args(run, &a, method);
        list_args(&a, cJSON_GetObjectItemCaseSensitive(p, "quantize_args"));
        common_args(run, &a, model);
        cJSON *j = run_step(run, "quantize", &a);
        if (!j && !run->dry) return false;
        if (j) {
            compress_seconds += jnum(j, "seconds") > 0 ? jnum(j, "seconds") : 0;
            cJSON_AddItemToObject(rec, "quantize_output", j);
        }
        model = quantized;
    }
    if (!cell->baseline) cJSON_AddNumberToObject(rec, "compress_seconds", compress_seconds);
    const char *prompt = p && cJSON_GetObjectItemCaseSensitive(p, "prompt") ? cJSON_GetObjectItemCaseSensitive(p, "prompt")->valuestring : NULL;

    cJSON *ppl = cJSON_AddObjectToObject(rec, "ppl"), *ppl_err = cJSON_AddObjectToObject(rec, "ppl_err"),
          *ppl_tokens = cJSON_AddObjectToObject(rec, "ppl_tokens");
    for (int e = 0; e < c->n_evals; e++) {
        const presso_sweep_eval *ev = &c->evals[e];
        arg_list a = {.n = 0};
        arg(&a, "ppl");
        arg(&a, model);
        arg(&a, "-f");
        arg(&a, ev->file);
        if (ev->ctx) {
            arg(&a, "-c");
            argf(&a, "%lld", ev->ctx);
        }
        if (ev->chunks) {
            arg(&a, "--chunks");
            argf(&a, "%lld", ev->chunks);
        }
        if (prompt) {
            arg(&a, "--prompt-file");
            arg(&a, prompt);
        }
        common_args(run, &a, model);
        snprintf(buf, sizeof buf, "ppl %s", ev->name);
        cJSON *j = run_step(run, buf, &a);
        if (!j && !run->dry) return false;
        if (!j) continue;
        cJSON_AddNumberToObject(ppl, ev->name, jnum(j, "ppl"));
        cJSON_AddNumberToObject(ppl_err, ev->name, jnum(j, "ppl_err"));
        cJSON_AddNumberToObject(ppl_tokens, ev->name, jnum(j, "n_scored"));
        cJSON_Delete(j);
    }
    {
        arg_list a = {.n = 0};
        arg(&a, "info");
        arg(&a, model);
        if (c->tokenizer[0] && model == c->model) {
            arg(&a, "-z");
            arg(&a, c->tokenizer);
        }
        arg(&a, "--json");
        cJSON *j = run_step(run, "info", &a);
        if (!j && !run->dry) return false;
        if (j) {
            cJSON_AddNumberToObject(rec, "n_params", jnum(j, "n_params"));
            cJSON_AddNumberToObject(rec, "weight_bytes", jnum(j, "weight_bytes"));
            cJSON_AddNumberToObject(rec, "bits_per_weight", jnum(j, "bits_per_weight"));
            cJSON *types = cJSON_DetachItemFromObjectCaseSensitive(j, "tensor_types");
            if (types) cJSON_AddItemToObject(rec, "tensor_types", types);
            /* Bytes on disk: the file; a Hugging Face directory: its weights. */
            struct stat st;
            const double bytes = stat(model, &st) == 0 && S_ISREG(st.st_mode) ? (double)st.st_size
                                                                              : jnum(j, "weight_bytes");
            cJSON_AddNumberToObject(rec, "model_bytes", bytes);
            cJSON_Delete(j);
        }
    }
    if (c->bench.enabled) {
        arg_list a = {.n = 0};
        arg(&a, "bench");
        arg(&a, model);
        arg(&a, "-p");
        argf(&a, "%lld", c->bench.n_prompt);
        arg(&a, "-n");
        argf(&a, "%lld", c->bench.n_gen);
        arg(&a, "-r");
        argf(&a, "%lld", c->bench.reps);
        common_args(run, &a, model);
        cJSON *j = run_step(run, "bench", &a);
        if (!j && !run->dry) return false;
        if (j) {
            static const char *const keys[] = {"pp_tps", "pp_tps_sd", "tg_tps", "tg_tps_sd", "peak_rss_bytes"};
            for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) cJSON_AddNumberToObject(rec, keys[k], jnum(j, keys[k]));
            cJSON_Delete(j);
        }
    }
    const cJSON *tasks = p ? cJSON_GetObjectItemCaseSensitive(p, "eval") : NULL;
    if (tasks && tasks->child) {
        arg_list a = {.n = 0};
        arg(&a, "eval");
        arg(&a, model);
        arg(&a, "--task");
        arg(&a, presso_sweep_param(cell, "eval", a.store[a.n], sizeof a.store[a.n]));
        if (c->task_limit) {
            arg(&a, "--limit");
            argf(&a, "%lld", c->task_limit);
        }
        if (prompt) {
            arg(&a, "--prompt-file");
            arg(&a, prompt);
        }
        common_args(run, &a, model);
        cJSON *j = run_step(run, "eval", &a);
        if (!j && !run->dry) return false;
        if (j) {
            collect_acc(j, cJSON_AddObjectToObject(rec, "acc"));
            cJSON_AddItemToObject(rec, "eval_output", j);
        }
    }
    return true;
}

static void make_slug(const char *key, char *out, size_t cap) {
    size_t n = 0;
    for (const char *s = key; *s && n + 20 < cap; s++)
        out[n++] = (char)((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                                  *s == '.' || *s == '-'
                              ? *s
                              : '_');
    uint32_t h = 2166136261u; /* FNV-1a: distinct keys that map to one slug still get distinct files */
    for (const char *s = key; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    snprintf(out + n, cap - n, "-%08x", h);
}

static void cleanup_cell(const cell_run *run, bool ok) {
    if (!run->cell->keep) {
        unlink(run->pruned);
        unlink(run->quantized);
    }
    unlink(run->out_path);
    if (ok) unlink(run->err_path); /* a failed cell keeps its stderr for reading */
}

int cmd_sweep(int argc, char **argv) {
    const char *config_path = NULL, *results_opt = NULL, *v = NULL;
    bool dry = false, retry_failed = false, json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, NULL, "--dry-run")) dry = true;
        else if (cli_flag(a, NULL, "--retry-failed")) retry_failed = true;
        else if (cli_flag(a, NULL, "--json")) json = true;
        else if (cli_option(argv, argc, &i, "-o", "--output", &v)) {
            if (!v) return cli_usage_error("-o needs a results file (.jsonl)");
            results_opt = v;
        } else if (a[0] == '-') return cli_usage_error("sweep: unknown option '%s'", a);
        else if (!config_path) config_path = a;
        else return cli_usage_error("sweep: unexpected argument '%s'", a);
    }
    if (!config_path) return cli_usage_error("usage: presso sweep CONFIG [-o RESULTS.jsonl] [--dry-run] [--retry-failed]");
    presso_sweep_config *c;
    if (presso_sweep_config_load(config_path, &c) != PRESSO_OK) return cli_fail();
    char results[PRESSO_PATH_MAX], work[PRESSO_PATH_MAX];
    if (results_opt) snprintf(results, sizeof results, "%s", results_opt);
    else if (c->results[0]) snprintf(results, sizeof results, "%s", c->results);
    else {
        const size_t n = strlen(config_path);
        const bool dot_json = n > 5 && strcmp(config_path + n - 5, ".json") == 0;
        snprintf(results, sizeof results, "%.*s.jsonl", (int)(dot_json ? n - 5 : n), config_path);
    }
    if (c->work_dir[0]) snprintf(work, sizeof work, "%s", c->work_dir);
    else {
        const size_t n = strlen(results);
        const bool dot = n > 6 && strcmp(results + n - 6, ".jsonl") == 0;
        snprintf(work, sizeof work, "%.*s.work", (int)(dot ? n - 6 : n), results);
    }
    presso_results *done;
    if (presso_results_load(results, true, true, &done) != PRESSO_OK) {
        presso_sweep_config_free(c);
        return cli_fail();
    }
    if (done->torn_line) {
        fprintf(stderr, "presso: warning: %s:%lld: the last record is cut short or corrupt; dropping it (its cell runs again)\n",
                results, (long long)done->torn_line);
        if (!dry && truncate(results, (off_t)done->valid_bytes) != 0) {
            fprintf(stderr, "presso: error: %s: cannot truncate the torn record: %s\n", results, strerror(errno));
            presso_results_free(done);
            presso_sweep_config_free(c);
            return 1;
        }
    }
    if (!dry && mkdir(work, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "presso: error: %s: cannot create the work directory: %s\n", work, strerror(errno));
        presso_results_free(done);
        presso_sweep_config_free(c);
        return 1;
    }
    int n_run = 0, n_skipped = 0, n_failed = 0, n_todo = 0;
    const double t_sweep = presso_now_seconds();
    int rc = 0;
    for (int i = 0; i < c->n_cells && rc == 0; i++) {
        const presso_sweep_cell *cell = &c->cells[i];
        const cJSON *prev = presso_results_find(done, cell->key);
        const cJSON *prev_setup = prev ? cJSON_GetObjectItemCaseSensitive(prev, "setup") : NULL;
        const bool same_setup = cJSON_IsString(prev_setup) && strcmp(prev_setup->valuestring, c->setup) == 0;
        const cJSON *prev_status = prev ? cJSON_GetObjectItemCaseSensitive(prev, "status") : NULL;
        const bool prev_ok = cJSON_IsString(prev_status) && strcmp(prev_status->valuestring, "ok") == 0;
        if (prev && same_setup && (prev_ok || !retry_failed)) {
            if (!json) fprintf(stderr, "presso: sweep: [%d/%d] %s: %s, skipped\n", i + 1, c->n_cells, cell->label,
                               prev_ok ? "done" : "failed before (--retry-failed runs it again)");
            n_skipped++;
            if (dry) printf("# %s: %s (%s)\n", cell->key, prev_ok ? "done" : "failed", cell->label);
            continue;
        }
        if (prev && !same_setup && !json)
            fprintf(stderr, "presso: sweep: [%d/%d] %s: measured under another setup; running it again\n", i + 1,
                    c->n_cells, cell->label);
        cell_run run = {.c = c, .cell = cell, .dry = dry};
        make_slug(cell->key, run.slug, sizeof run.slug);
        snprintf(run.work, sizeof run.work, "%s", work);
        snprintf(run.out_path, sizeof run.out_path, "%.*s/%s.out", (int)(sizeof run.out_path - 200), work, run.slug);
        snprintf(run.err_path, sizeof run.err_path, "%.*s/%s.log", (int)(sizeof run.err_path - 200), work, run.slug);
        snprintf(run.pruned, sizeof run.pruned, "%.*s/%s.pruned.gguf", (int)(sizeof run.pruned - 200), work, run.slug);
        snprintf(run.quantized, sizeof run.quantized, "%.*s/%s.gguf", (int)(sizeof run.quantized - 200), work, run.slug);
        if (dry) {
            printf("# %s: to run (%s)\n", cell->key, cell->label);
            cJSON *scratch = cJSON_CreateObject();
            run_cell(&run, scratch);
            cJSON_Delete(scratch);
            n_todo++;
            continue;
        }
        if (!json) fprintf(stderr, "presso: sweep: [%d/%d] %s ...\n", i + 1, c->n_cells, cell->label);
        cJSON *rec = cJSON_CreateObject();
        cJSON_AddStringToObject(rec, "key", cell->key);
        cJSON_AddStringToObject(rec, "label", cell->label);
        cJSON_AddStringToObject(rec, "setup", c->setup);
        cJSON_AddBoolToObject(rec, "baseline", cell->baseline);
        char m[160] = "baseline", t[64] = "", sp[64] = "", tmp[128];
        if (!cell->baseline) {
            const char *pr = presso_sweep_param(cell, "prune", tmp, sizeof tmp);
            char qm[64];
            presso_sweep_param(cell, "method", qm, sizeof qm);
            snprintf(m, sizeof m, "%s%s%s", pr, pr[0] && qm[0] ? "+" : "", qm);
            presso_sweep_param(cell, "type", t, sizeof t);
            if (!t[0]) presso_sweep_param(cell, "quantize", t, sizeof t);
            if (!t[0] && cJSON_GetObjectItemCaseSensitive(cell->params, "bits"))
                snprintf(t, sizeof t, "%sbit", presso_sweep_param(cell, "bits", tmp, sizeof tmp));
            presso_sweep_param(cell, "nm", sp, sizeof sp);
            if (!sp[0] && cJSON_GetObjectItemCaseSensitive(cell->params, "sparsity"))
                snprintf(sp, sizeof sp, "%g%%", cJSON_GetObjectItemCaseSensitive(cell->params, "sparsity")->valuedouble * 100);
            cJSON_AddItemToObject(rec, "params", cJSON_Duplicate(cell->params, 1));
        }
        if (cell->baseline && c->baseline_type[0]) snprintf(t, sizeof t, "%s", c->baseline_type);
        cJSON_AddStringToObject(rec, "method", m);
        if (t[0]) cJSON_AddStringToObject(rec, "type", t);
        if (sp[0]) cJSON_AddStringToObject(rec, "sparsity", sp);
        cJSON_AddStringToObject(rec, "model", c->model);
        const double t0 = presso_now_seconds();
        const bool ok = run_cell(&run, rec);
        cJSON_AddStringToObject(rec, "status", ok ? "ok" : "failed");
        if (!ok) cJSON_AddStringToObject(rec, "error", run.error);
        cJSON_AddNumberToObject(rec, "seconds", presso_now_seconds() - t0);
        char when[32];
        const time_t now = time(NULL);
        struct tm tmv;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tmv));
        cJSON_AddStringToObject(rec, "finished", when);
        char *line = cJSON_PrintUnformatted(rec);
        const size_t len = line ? strlen(line) : 0;
        char *with_nl = line ? realloc(line, len + 2) : NULL;
        if (!with_nl) {
            free(line);
            cJSON_Delete(rec);
            fprintf(stderr, "presso: error: out of memory writing a result\n");
            rc = 1;
            break;
        }
        with_nl[len] = '\n';
        with_nl[len + 1] = '\0';
        if (presso_append_record(results, with_nl, len + 1) != PRESSO_OK) rc = cli_fail();
        free(with_nl);
        if (!json) {
            if (ok) {
                fprintf(stderr, "presso: sweep: [%d/%d] %s: ok in %.1f s:", i + 1, c->n_cells, cell->label,
                        presso_now_seconds() - t0);
                const cJSON *ppl = cJSON_GetObjectItemCaseSensitive(rec, "ppl");
                for (const cJSON *e = ppl ? ppl->child : NULL; e; e = e->next)
                    fprintf(stderr, " ppl %s %.4f,", e->string, e->valuedouble);
                fprintf(stderr, " %.3f bits/weight\n", jnum(rec, "bits_per_weight"));
            } else {
                fprintf(stderr, "presso: sweep: [%d/%d] %s: FAILED: %s (log: %s)\n", i + 1, c->n_cells, cell->label,
                        run.error, run.err_path);
            }
        }
        cJSON_Delete(rec);
        cleanup_cell(&run, ok);
        n_run++;
        n_failed += !ok;
    }
    if (!dry) rmdir(work); /* only when empty: kept models and failure logs stay */
    const double seconds = presso_now_seconds() - t_sweep;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "config", config_path);
        cJSON_AddStringToObject(o, "results", results);
        cJSON_AddStringToObject(o, "work_dir", work);
        cJSON_AddStringToObject(o, "setup", c->setup);
        cJSON_AddNumberToObject(o, "cells", c->n_cells);
        cJSON_AddNumberToObject(o, "run", n_run);
        cJSON_AddNumberToObject(o, "skipped", n_skipped);
        cJSON_AddNumberToObject(o, "failed", n_failed);
        if (dry) cJSON_AddNumberToObject(o, "to_run", n_todo);
        cJSON_AddBoolToObject(o, "dry_run", dry);
        cJSON_AddNumberToObject(o, "seconds", seconds);
        char *s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else if (!dry) {
        printf("sweep %s: %d cells: %d run (%d failed), %d already done; %.1f s; results in %s\n", config_path,
               c->n_cells, n_run, n_failed, n_skipped, seconds, results);
    } else {
        printf("# dry run: %d cells, %d to run, %d done or failed before\n", c->n_cells, n_todo, n_skipped);
    }
    presso_results_free(done);
    presso_sweep_config_free(c);
    return rc;
}
