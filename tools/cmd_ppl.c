/* presso ppl MODEL -f TEXT [-c CTX] [--protocol llamacpp|strided] [--stride S]
 *                 [--chunks N] [--prompt-file PROMPT.bin] [--hard-prompt TEXT]
 *                 [-t THREADS] [--json]
 * With a prompt (learned or hard) every window keeps CTX text tokens, the
 * prompt's positions come first and are never scored. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/timer.h"
#include "eval/perplexity.h"

static void print_progress(void *user, int32_t chunk, int32_t n_chunks, double ppl) {
    (void)n_chunks;
    (void)user;
    fprintf(stderr, "[%d]%.4f,", chunk, ppl); /* llama-perplexity's running output */
    fflush(stderr);
}

int cmd_ppl(int argc, char **argv) {
    const char *path = NULL, *tokenizer = NULL, *text_path = NULL, *protocol = "llamacpp", *v = NULL;
    const char *prompt_path = NULL, *hard_prompt = NULL;
    int64_t ctx = 0, stride = 0, threads = 2, chunks = 0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, NULL, "--json")) json = true;
        else if (cli_option(argv, argc, &i, "-z", "--tokenizer", &v)) {
            if (!v) return cli_usage_error("-z needs a path");
            tokenizer = v;
        } else if (cli_option(argv, argc, &i, "-f", "--file", &v)) {
            if (!v) return cli_usage_error("-f needs a text file");
            text_path = v;
        } else if (cli_option(argv, argc, &i, "-c", "--ctx", &v)) {
            if (!cli_int(a, v, 2, 1 << 20, &ctx)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--prompt-file", &v)) {
            if (!v) return cli_usage_error("--prompt-file needs a path");
            prompt_path = v;
        } else if (cli_option(argv, argc, &i, NULL, "--hard-prompt", &v)) {
            if (!v || !*v) return cli_usage_error("--hard-prompt needs a non-empty text");
            hard_prompt = v;
        } else if (cli_option(argv, argc, &i, NULL, "--stride", &v)) {
            if (!cli_int(a, v, 1, 1 << 20, &stride)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--chunks", &v)) {
            if (!cli_int(a, v, 1, 1 << 30, &chunks)) return 2;
        } else if (cli_option(argv, argc, &i, "-t", "--threads", &v)) {
            if (!cli_int(a, v, 1, 512, &threads)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--protocol", &v)) {
            if (!v || (strcmp(v, "llamacpp") != 0 && strcmp(v, "strided") != 0))
                return cli_usage_error("--protocol is llamacpp or strided");
            protocol = v;
        } else if (a[0] == '-') return cli_usage_error("ppl: unknown option '%s'", a);
        else if (!path) path = a;
        else return cli_usage_error("ppl: unexpected argument '%s'", a);
    }
    if (!path || !text_path) return cli_usage_error("usage: presso ppl MODEL -f TEXT [-c CTX] [--protocol P]");
    const bool llamacpp = strcmp(protocol, "llamacpp") == 0;
    if (llamacpp && stride) return cli_usage_error("--stride goes with --protocol strided");
    size_t len = 0;
    char *text = cli_read_file(text_path, &len);
    if (!text) return 1;
    presso_model *m;
    int rc = cli_open_model_to_run(path, tokenizer, &m);
    if (rc) {
        free(text);
        return rc;
    }
    if (!m->tokenizer) {
        free(text);
        presso_model_free(m);
        return cli_usage_error("%s: the model has no tokenizer; pass one with -z", path);
    }
    if (ctx == 0) ctx = llamacpp ? 512 : m->config.max_seq_len;
    if (ctx > m->config.max_seq_len)
        fprintf(stderr, "presso: warning: context %lld exceeds the model's trained context %d\n", (long long)ctx,
                m->config.max_seq_len);
    int32_t *ids = NULL;
    int64_t n_ids = 0;
    const double t_tok = presso_now_seconds();
    /* llama-perplexity tokenizes the whole text once, with BOS when the vocabulary adds it. */
    const bool add_bos = presso_tokenizer_adds_bos(m->tokenizer);
    if (presso_tokenizer_encode(m->tokenizer, text, len, add_bos, &ids, &n_ids) != PRESSO_OK) {
        free(text);
        presso_model_free(m);
        return cli_fail();
    }
    const double tokenize_seconds = presso_now_seconds() - t_tok;
    free(text);
    presso_prompt *prompt = NULL;
    presso_llama_prefix prefix = {0};
    int32_t *hard_ids = NULL;
    int64_t n_hard = 0;
    if (prompt_path && (rc = cli_load_prompt(prompt_path, m, &prompt, &prefix)) != 0) {
        free(ids);
        presso_model_free(m);
        return rc;
    }
    /* A hard prompt (CTP's baseline): BOS + the text, before every window. */
    if (hard_prompt) {
        if (presso_tokenizer_encode(m->tokenizer, hard_prompt, strlen(hard_prompt), add_bos, &hard_ids, &n_hard) !=
                PRESSO_OK ||
            n_hard > (1 << 20)) {
            free(ids);
            presso_prompt_free(prompt);
            presso_model_free(m);
            return cli_fail();
        }
        prefix.n_tokens = (int32_t)n_hard;
        prefix.tokens = hard_ids;
    }
    const int32_t n_prefix = presso_llama_prefix_len(&prefix);
    if (ctx + n_prefix > m->config.max_seq_len)
        fprintf(stderr, "presso: warning: %d prompt positions + context %lld exceed the model's trained context %d\n",
                n_prefix, (long long)ctx, m->config.max_seq_len);
    presso_ppl_params p = {
        .protocol = llamacpp ? PRESSO_PPL_LLAMACPP : PRESSO_PPL_STRIDED,
        .n_ctx = (int32_t)ctx,
        .stride = (int32_t)stride,
        .max_chunks = (int32_t)chunks,
        .n_threads = (int)threads,
        .bos_id = add_bos ? presso_tokenizer_bos(m->tokenizer) : -1,
        .progress = json ? NULL : print_progress,
        .prefix = n_prefix > 0 ? &prefix : NULL,
    };
    if (!json)
        fprintf(stderr, "presso: %s: %lld tokens (tokenized in %.2f s), protocol %s, ctx %lld, %d prompt positions\n",
                text_path, (long long)n_ids, tokenize_seconds, protocol, (long long)ctx, n_prefix);
    presso_ppl_result r;
    const presso_status pst = presso_perplexity(m, ids, n_ids, &p, &r);
    free(hard_ids);
    if (pst != PRESSO_OK) {
        presso_prompt_free(prompt);
        free(ids);
        presso_model_free(m);
        if (!json) fprintf(stderr, "\n");
        return cli_fail();
    }
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", m->path);
        cJSON_AddStringToObject(o, "file", text_path);
        cJSON_AddStringToObject(o, "protocol", protocol);
        cJSON_AddNumberToObject(o, "ppl", r.ppl);
        cJSON_AddNumberToObject(o, "ppl_err", r.ppl_err);
        cJSON_AddNumberToObject(o, "mean_nll", r.mean_nll);
        cJSON_AddNumberToObject(o, "n_tokens", (double)r.n_tokens);
        cJSON_AddNumberToObject(o, "n_scored", (double)r.n_scored);
        cJSON_AddNumberToObject(o, "n_chunks", r.n_chunks);
        cJSON_AddNumberToObject(o, "ctx", r.n_ctx);
        if (!llamacpp) cJSON_AddNumberToObject(o, "stride", p.stride > 0 ? p.stride : r.n_ctx / 2);
        cJSON_AddNumberToObject(o, "threads", (double)threads);
        cJSON_AddNumberToObject(o, "prompt_positions", n_prefix);
        if (prompt_path) {
            cJSON_AddStringToObject(o, "prompt_file", prompt_path);
            cJSON_AddStringToObject(o, "prompt_mode", prompt->mode == PRESSO_PROMPT_MODE_PROMPT ? "prompt" : "prefix");
        }
        if (hard_prompt) cJSON_AddStringToObject(o, "hard_prompt", hard_prompt);
        cJSON_AddNumberToObject(o, "seconds", r.seconds);
        char *s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        fprintf(stderr, "\n");
        printf("Final estimate: PPL = %.4f +/- %.5f\n", r.ppl, r.ppl_err);
        fprintf(stderr, "presso: %d chunks, %lld tokens scored, %.2f s (%.1f tokens/s)\n", r.n_chunks,
                (long long)r.n_scored, r.seconds, r.seconds > 0 ? (double)r.n_chunks * r.n_ctx / r.seconds : 0.0);
    }
    free(ids);
    presso_prompt_free(prompt);
    presso_model_free(m);
    return 0;
}
