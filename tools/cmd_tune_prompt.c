/* presso tune-prompt MODEL --calib FILE -o PROMPT.bin [--teacher T] [--tokens K]
 *     [--steps N] [--lr LR] [--batch B] [--seq L] [--mode prompt|prefix]
 *     [--init random|text:"..."] [--loss ce|kd-fwd|kd-rev|mix] [--kd-weight W]
 *     [--warmup N] [--weight-decay WD] [--clip C] [--min-lr-frac F] [--loss-from P]
 *     [--calib-count N] [--eval FILE | --holdout N] [--eval-every N] [--patience P]
 *     [--log-every N] [--seed S] [-t THREADS] [-z TOKENIZER] [--json]
 * Compress, Then Prompt: learns a soft prompt (or prefix) for a frozen model. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compress/calib.h"
#include "core/timer.h"
#include "tune/tune.h"

typedef struct {
    bool json;
    int64_t log_every;
} progress_ctx;

static void print_progress(void *user, const presso_tune_progress *p) {
    const progress_ctx *c = user;
    if (c->json) return;
    if (p->is_eval) {
        fprintf(stderr, "presso: eval  step %5d/%d  held-out loss %.4f  ppl %.3f%s\n", p->step, p->steps, p->eval_loss,
                p->eval_ppl, p->improved ? "  (best, kept)" : "");
    } else if (p->step % c->log_every == 0 || p->step == p->steps || p->step == 1) {
        fprintf(stderr, "presso: step %5d/%d  loss %.4f  lr %.2e  |g| %.3g  %.0f tok/s  ETA %.0f s\n", p->step,
                p->steps, p->loss, p->lr, p->grad_norm, p->tokens_per_s, p->eta_s);
    }
}

int cmd_tune_prompt(int argc, char **argv) {
    const char *path = NULL, *tokenizer = NULL, *calib_path = NULL, *teacher_path = NULL, *out_path = NULL,
               *eval_path = NULL, *init = "random", *v = NULL;
    int64_t k = 20, steps = 200, batch = 4, seq = 128, warmup = -1, eval_every = 0, patience = 0, seed = 1234,
            threads = 2, calib_count = 0, holdout = 0, log_every = 10, loss_from = 0;
    double lr = 1e-2, kd_weight = 0.5, wd = 0.0, clip = 1.0, min_lr_frac = 0.1;
    presso_prompt_mode mode = PRESSO_PROMPT_MODE_PROMPT;
    presso_loss_kind loss = PRESSO_LOSS_CE;
    bool json = false, loss_given = false, kd_weight_given = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, NULL, "--json")) json = true;
        else if (cli_option(argv, argc, &i, "-z", "--tokenizer", &v)) {
            if (!v) return cli_usage_error("-z needs a path");
            tokenizer = v;
        } else if (cli_option(argv, argc, &i, NULL, "--calib", &v)) {
            if (!v) return cli_usage_error("--calib needs a text file");
            calib_path = v;
        } else if (cli_option(argv, argc, &i, NULL, "--teacher", &v)) {
            if (!v) return cli_usage_error("--teacher needs a model");
            teacher_path = v;
        } else if (cli_option(argv, argc, &i, "-o", "--output", &v)) {
            if (!v) return cli_usage_error("-o needs a path");
            out_path = v;
        } else if (cli_option(argv, argc, &i, NULL, "--eval", &v)) {
            if (!v) return cli_usage_error("--eval needs a text file");
            eval_path = v;
        } else if (cli_option(argv, argc, &i, NULL, "--init", &v)) {
            if (!v || (strcmp(v, "random") != 0 && strncmp(v, "text:", 5) != 0) || strcmp(v, "text:") == 0)
                return cli_usage_error("--init is random or text:\"SOME TEXT\"");
            init = v;
        } else if (cli_option(argv, argc, &i, NULL, "--mode", &v)) {
            if (!v || (strcmp(v, "prompt") != 0 && strcmp(v, "prefix") != 0))
                return cli_usage_error("--mode is prompt or prefix");
            mode = strcmp(v, "prompt") == 0 ? PRESSO_PROMPT_MODE_PROMPT : PRESSO_PROMPT_MODE_PREFIX;
        } else if (cli_option(argv, argc, &i, NULL, "--loss", &v)) {
            if (!v || presso_loss_from_name(v, &loss) != PRESSO_OK)
                return cli_usage_error("--loss is ce, kd-fwd, kd-rev or mix");
            loss_given = true;
        } else if (cli_option(argv, argc, &i, NULL, "--tokens", &v)) {
            if (!cli_int(a, v, 1, PRESSO_PROMPT_MAX_K, &k)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--steps", &v)) {
            if (!cli_int(a, v, 1, 1 << 24, &steps)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--batch", &v)) {
            if (!cli_int(a, v, 1, 1 << 16, &batch)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--seq", &v)) {
            if (!cli_int(a, v, 2, 1 << 20, &seq)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--warmup", &v)) {
            if (!cli_int(a, v, 0, 1 << 24, &warmup)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--loss-from", &v)) {
            if (!cli_int(a, v, 0, 1 << 20, &loss_from)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--eval-every", &v)) {
            if (!cli_int(a, v, 1, 1 << 24, &eval_every)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--patience", &v)) {
            if (!cli_int(a, v, 1, 1 << 24, &patience)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--holdout", &v)) {
            if (!cli_int(a, v, 1, 1 << 20, &holdout)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--calib-count", &v)) {
            if (!cli_int(a, v, 1, 1 << 20, &calib_count)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--log-every", &v)) {
            if (!cli_int(a, v, 1, 1 << 24, &log_every)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--seed", &v)) {
            if (!cli_int(a, v, 0, INT64_MAX, &seed)) return 2;
        } else if (cli_option(argv, argc, &i, "-t", "--threads", &v)) {
            if (!cli_int(a, v, 1, 512, &threads)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--lr", &v)) {
            if (!cli_float(a, v, 1e-8, 100.0, &lr)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--kd-weight", &v)) {
            if (!cli_float(a, v, 0.0, 1.0, &kd_weight)) return 2;
            kd_weight_given = true;
        } else if (cli_option(argv, argc, &i, NULL, "--weight-decay", &v)) {
            if (!cli_float(a, v, 0.0, 10.0, &wd)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--clip", &v)) {
            if (!cli_float(a, v, 0.0, 1e9, &clip)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--min-lr-frac", &v)) {
            if (!cli_float(a, v, 0.0, 1.0, &min_lr_frac)) return 2;
        } else if (a[0] == '-') return cli_usage_error("tune-prompt: unknown option '%s'", a);
        else if (!path) path = a;
        else return cli_usage_error("tune-prompt: unexpected argument '%s'", a);
    }
    if (!path || !calib_path || !out_path)
        return cli_usage_error("usage: presso tune-prompt MODEL --calib FILE -o PROMPT.bin [--teacher T] [--tokens K] "
                               "[--steps N] [--lr LR] [--batch B] [--seq L] [--mode prompt|prefix]");
    /* A teacher without a loss choice means distillation. */
    if (teacher_path && !loss_given) loss = PRESSO_LOSS_KD_FWD;
    if (loss != PRESSO_LOSS_CE && !teacher_path)
        return cli_usage_error("--loss %s needs --teacher (the uncompressed model)", presso_loss_name(loss));
    if (loss == PRESSO_LOSS_CE && teacher_path)
        return cli_usage_error("--teacher is only used by --loss kd-fwd, kd-rev or mix");
    if (kd_weight_given && loss != PRESSO_LOSS_MIX) return cli_usage_error("--kd-weight goes with --loss mix");
    if (eval_path && holdout) return cli_usage_error("--eval and --holdout are two sources of held-out text; pick one");
    if ((eval_path || holdout) && !eval_every) eval_every = steps / 10 > 0 ? steps / 10 : 1;
    if (patience && !(eval_path || holdout)) return cli_usage_error("--patience needs --eval FILE or --holdout N");
    if (eval_every && !(eval_path || holdout)) return cli_usage_error("--eval-every needs --eval FILE or --holdout N");
    if (warmup < 0) warmup = steps / 10;
    if (warmup >= steps) return cli_usage_error("--warmup %lld must be below --steps %lld", (long long)warmup,
                                                (long long)steps);

    presso_model *m = NULL, *teacher = NULL;
    int rc = cli_open_model(path, tokenizer, &m);
    if (rc) return rc;
    presso_calib_set *train = NULL, *eval = NULL;
    presso_prompt *prompt = NULL;
    int32_t *init_ids = NULL;
    int64_t n_init = 0;
    if (!m->tokenizer) {
        rc = cli_usage_error("%s: the model has no tokenizer; pass one with -z", path);
        goto done;
    }
    /* The teacher only gives logits: its own tokenizer (if any) is not used, -z is the student's. */
    if (teacher_path && (rc = cli_open_model(teacher_path, NULL, &teacher)) != 0) goto done;
    if (seq + k > m->config.max_seq_len) {
        rc = cli_usage_error("--seq %lld + --tokens %lld exceed the model's context %d", (long long)seq, (long long)k,
                             m->config.max_seq_len);
        goto done;
    }
    presso_calib_params cp = {.file = calib_path, .count = calib_count ? (int32_t)calib_count : 1 << 20,
                              .len = (int32_t)seq, .seed = (uint64_t)seed};
    if (presso_calib_set_load(m->tokenizer, &cp, (int32_t)seq, &train) != PRESSO_OK) {
        rc = cli_fail();
        goto done;
    }
    if (eval_path) {
        presso_calib_params ep = {.file = eval_path, .count = 1 << 20, .len = train->seq_len, .seed = (uint64_t)seed};
        if (presso_calib_set_load(m->tokenizer, &ep, train->seq_len, &eval) != PRESSO_OK) {
            rc = cli_fail();
            goto done;
        }
        if (eval->seq_len != train->seq_len) {
            rc = cli_usage_error("%s is shorter than one window of %d tokens", eval_path, train->seq_len);
            goto done;
        }
    } else if (holdout) {
        /* The last windows of the calibration text, never trained on. */
        if (holdout >= train->n_seqs) {
            rc = cli_usage_error("--holdout %lld leaves no training windows (%s has %d of %d tokens)",
                                 (long long)holdout, calib_path, train->n_seqs, train->seq_len);
            goto done;
        }
        eval = calloc(1, sizeof *eval);
        if (!eval || !(eval->tokens = malloc(sizeof(int32_t) * (size_t)(holdout * train->seq_len)))) {
            rc = cli_usage_error("out of memory");
            goto done;
        }
        eval->n_seqs = (int32_t)holdout;
        eval->seq_len = train->seq_len;
        train->n_seqs -= (int32_t)holdout;
        memcpy(eval->tokens, train->tokens + (int64_t)train->n_seqs * train->seq_len,
               sizeof(int32_t) * (size_t)(holdout * train->seq_len));
    }
    if (strncmp(init, "text:", 5) == 0 &&
        presso_tokenizer_encode(m->tokenizer, init + 5, strlen(init + 5), false, &init_ids, &n_init) != PRESSO_OK) {
        rc = cli_fail();
        goto done;
    }
    if (strncmp(init, "text:", 5) == 0 && n_init == 0) {
        rc = cli_usage_error("--init text has no tokens");
        goto done;
    }
    progress_ctx pc = {json, log_every};
    presso_tune_params tp = {
        .mode = mode, .k = (int32_t)k, .steps = (int32_t)steps, .batch = (int32_t)batch, .warmup = (int32_t)warmup,
        .loss_from = (int32_t)loss_from,
        .lr = (float)lr, .min_lr_frac = (float)min_lr_frac, .weight_decay = (float)wd, .clip = (float)clip,
        .loss = loss, .kd_weight = (float)kd_weight, .teacher = teacher, .init_tokens = init_ids,
        .n_init_tokens = (int32_t)n_init, .train = train, .eval = eval, .eval_every = (int32_t)eval_every,
        .patience = (int32_t)patience, .seed = (uint64_t)seed, .n_threads = (int)threads,
        .progress = print_progress, .user = &pc,
    };
    if (!json)
        fprintf(stderr, "presso: tune-prompt %s: %s, %lld vectors, loss %s, %d training windows of %d tokens%s%s\n",
                m->name, mode == PRESSO_PROMPT_MODE_PROMPT ? "prompt" : "prefix", (long long)k, presso_loss_name(loss),
                train->n_seqs, train->seq_len, eval ? ", held-out windows: " : "",
                eval ? (eval_path ? eval_path : "holdout") : "");
    presso_tune_result res;
    if (presso_tune_prompt(m, &tp, &prompt, &res) != PRESSO_OK || presso_prompt_save(prompt, out_path) != PRESSO_OK) {
        rc = cli_fail();
        goto done;
    }
    const int64_t peak = presso_peak_rss_bytes();
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", m->path);
        cJSON_AddStringToObject(o, "output", out_path);
        cJSON_AddStringToObject(o, "mode", mode == PRESSO_PROMPT_MODE_PROMPT ? "prompt" : "prefix");
        cJSON_AddStringToObject(o, "loss", presso_loss_name(loss));
        if (teacher_path) cJSON_AddStringToObject(o, "teacher", teacher_path);
        cJSON_AddNumberToObject(o, "tokens", (double)k);
        cJSON_AddNumberToObject(o, "n_params", (double)prompt->n_floats);
        cJSON_AddNumberToObject(o, "steps", res.steps_done);
        cJSON_AddNumberToObject(o, "best_step", res.best_step);
        cJSON_AddBoolToObject(o, "early_stopped", res.early_stopped);
        cJSON_AddNumberToObject(o, "batch", (double)batch);
        cJSON_AddNumberToObject(o, "seq", train->seq_len);
        cJSON_AddNumberToObject(o, "train_windows", train->n_seqs);
        cJSON_AddNumberToObject(o, "lr", lr);
        cJSON_AddNumberToObject(o, "loss_from", (double)loss_from);
        cJSON_AddNumberToObject(o, "final_loss", res.final_loss);
        if (eval) {
            cJSON_AddNumberToObject(o, "no_prompt_eval_loss", res.base_eval_loss);
            cJSON_AddNumberToObject(o, "initial_eval_loss", res.initial_eval_loss);
            cJSON_AddNumberToObject(o, "best_eval_loss", res.best_eval_loss);
        }
        cJSON_AddNumberToObject(o, "tokens_per_s", res.tokens_per_s);
        cJSON_AddNumberToObject(o, "train_seconds", res.seconds);
        cJSON_AddNumberToObject(o, "tokens_seen", (double)res.tokens_seen);
        cJSON_AddNumberToObject(o, "threads", (double)threads);
        cJSON_AddNumberToObject(o, "peak_rss_bytes", (double)peak);
        char *s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        if (eval)
            fprintf(stderr, "presso: held-out loss without a prompt %.4f, with the initial prompt %.4f, best %.4f\n",
                    res.base_eval_loss, res.initial_eval_loss, res.best_eval_loss);
        fprintf(stderr, "presso: %d steps in %.1f s (%.0f training tokens/s, %d threads), peak RSS %.1f MiB%s\n",
                res.steps_done, res.seconds, res.tokens_per_s, (int)threads, (double)peak / (1024.0 * 1024.0),
                res.early_stopped ? ", stopped early" : "");
        printf("wrote %s: %s of %lld vectors (%lld floats), kept step %d\n", out_path,
               mode == PRESSO_PROMPT_MODE_PROMPT ? "prompt" : "prefix", (long long)k, (long long)prompt->n_floats,
               res.best_step);
    }
done:
    presso_prompt_free(prompt);
    free(init_ids);
    if (eval && !eval_path) {
        free(eval->tokens);
        free(eval);
    } else {
        presso_calib_set_free(eval);
    }
    presso_calib_set_free(train);
    presso_model_free(teacher);
    presso_model_free(m);
    return rc;
}
