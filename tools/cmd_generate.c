/* presso generate MODEL [-z TOKENIZER] [-p PROMPT] [-n N] [--temp T] [--top-p P]
 *                      [--top-k K] [--seed S] [--prompt-file PROMPT.bin]
 *                      [-t THREADS] [--json]
 * --prompt-file puts a learned soft prompt / prefix before the text prompt. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/timer.h"
#include "model/chat.h"
#include "model/llama.h"
#include "model/sampler.h"

int cmd_generate(int argc, char **argv) {
    const char *path = NULL, *tokenizer = NULL, *prompt = "", *v = NULL;
    int64_t n_gen = 256, threads = 2, top_k = 0, seed = 42;
    double temp = 1.0, top_p = 0.9;
    const char *system = NULL, *prompt_path = NULL;
    bool json = false, chat = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, NULL, "--json")) json = true;
        else if (cli_flag(a, NULL, "--chat")) chat = true;
        else if (cli_option(argv, argc, &i, NULL, "--system", &v)) {
            if (!v) return cli_usage_error("--system needs a text");
            system = v;
        } else if (cli_option(argv, argc, &i, "-z", "--tokenizer", &v)) {
            if (!v) return cli_usage_error("-z needs a path");
            tokenizer = v;
        } else if (cli_option(argv, argc, &i, NULL, "--prompt-file", &v)) {
            if (!v) return cli_usage_error("--prompt-file needs a path");
            prompt_path = v;
        } else if (cli_option(argv, argc, &i, "-p", "--prompt", &v)) {
            if (!v) return cli_usage_error("-p needs a prompt");
            prompt = v;
        } else if (cli_option(argv, argc, &i, "-n", "--n-predict", &v)) {
            if (!cli_int(a, v, 0, 1 << 20, &n_gen)) return 2;
        } else if (cli_option(argv, argc, &i, "-t", "--threads", &v)) {
            if (!cli_int(a, v, 1, 512, &threads)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--temp", &v)) {
            if (!cli_float(a, v, 0, 100, &temp)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--top-p", &v)) {
            if (!cli_float(a, v, 1e-6, 1, &top_p)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--top-k", &v)) {
            if (!cli_int(a, v, 0, 1 << 24, &top_k)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--seed", &v)) {
            if (!cli_int(a, v, 0, INT64_MAX, &seed)) return 2;
        } else if (a[0] == '-') return cli_usage_error("generate: unknown option '%s'", a);
        else if (!path) path = a;
        else return cli_usage_error("generate: unexpected argument '%s'", a);
    }
    if (!path) return cli_usage_error("usage: presso generate MODEL [-z TOKENIZER] [-p PROMPT] [-n N] [--temp T]");
    presso_model *m;
    int rc = cli_open_model_to_run(path, tokenizer, &m);
    if (rc) return rc;
    if (!m->tokenizer) {
        presso_model_free(m);
        return cli_usage_error("%s: the model has no tokenizer; pass one with -z", path);
    }
    const presso_tokenizer *tok = m->tokenizer;
    presso_prompt *learned = NULL;
    presso_llama_prefix prefix = {0};
    if (prompt_path && (rc = cli_load_prompt(prompt_path, m, &learned, &prefix)) != 0) {
        presso_model_free(m);
        return rc;
    }
    const int32_t n_prefix = presso_llama_prefix_len(&prefix);
    int32_t *prompt_ids = NULL;
    int64_t n_prompt = 0;
    if (system && !chat) {
        presso_prompt_free(learned);
        presso_model_free(m);
        return cli_usage_error("--system goes with --chat");
    }
    /* llama2.c's run.c always starts with BOS; so does every tokenizer that adds it.
     * --chat applies the model's (ChatML) template to the prompt as one user turn. */
    presso_status enc = chat ? presso_chat_encode(m, system, prompt, &prompt_ids, &n_prompt)
                             : presso_tokenizer_encode(tok, prompt, strlen(prompt), true, &prompt_ids, &n_prompt);
    if (enc != PRESSO_OK) {
        presso_prompt_free(learned);
        presso_model_free(m);
        return cli_fail();
    }
    if (n_prompt == 0) {
        presso_prompt_free(learned);
        presso_model_free(m);
        free(prompt_ids);
        return cli_usage_error("the prompt is empty and the tokenizer has no BOS token to start from");
    }
    const int64_t total = n_prefix + n_prompt + n_gen;
    const int32_t n_ctx = (int32_t)(total < m->config.max_seq_len ? total : m->config.max_seq_len);
    if (n_prefix + n_prompt >= n_ctx && n_gen > 0) {
        fprintf(stderr, "presso: error: the prompt (%d learned + %lld tokens) fills the model's context of %d\n",
                n_prefix, (long long)n_prompt, m->config.max_seq_len);
        free(prompt_ids);
        presso_prompt_free(learned);
        presso_model_free(m);
        return 1;
    }
    presso_llama_state *s = NULL;
    presso_sampler *sampler = NULL;
    presso_sampler_params sp = {(float)temp, (int32_t)top_k, (float)top_p, (uint64_t)seed};
    float *logits = malloc(sizeof(float) * (size_t)m->config.vocab_size);
    if (!logits || presso_llama_state_new(m, n_ctx, (int32_t)n_prompt, (int)threads, &s) != PRESSO_OK ||
        presso_sampler_new(&sp, m->config.vocab_size, &sampler) != PRESSO_OK) {
        rc = cli_fail();
        goto done;
    }
    const double t0 = presso_now_seconds();
    if (presso_llama_apply_prefix(s, n_prefix > 0 ? &prefix : NULL) != PRESSO_OK ||
        presso_llama_forward(s, prompt_ids, (int32_t)n_prompt, logits, (int32_t)n_prompt - 1) != PRESSO_OK) {
        rc = cli_fail();
        goto done;
    }
    const double t_prompt = presso_now_seconds() - t0;
    /* The prompt as the tokenizer decodes it, then the continuation, streamed. */
    char piece[512];
    size_t text_cap = 4096, text_len = 0;
    char *text = json ? malloc(text_cap) : NULL;
    int32_t prev = -1;
    for (int64_t i = 0; i < n_prompt; i++) {
        size_t k = presso_tokenizer_decode(tok, prev, prompt_ids[i], piece, sizeof piece);
        if (!json && !chat) fwrite(piece, 1, k, stdout); /* a chat shows only the answer */
        prev = prompt_ids[i];
    }
    const int32_t eos = presso_tokenizer_eos(tok), bos = presso_tokenizer_bos(tok);
    const int32_t turn_end = chat ? presso_chat_end_token(m) : -1;
    int64_t generated = 0;
    int32_t *out_ids = malloc(sizeof(int32_t) * (size_t)(n_gen > 0 ? n_gen : 1));
    const double t1 = presso_now_seconds();
    for (; generated < n_gen && out_ids; generated++) {
        const int32_t next = presso_sampler_sample(sampler, logits);
        if (next == eos || next == bos || next == turn_end) break; /* end of text (llama2.c stops at BOS) */
        out_ids[generated] = next;
        size_t k = presso_tokenizer_decode(tok, prev, next, piece, sizeof piece);
        if (json && text) {
            if (text_len + k + 1 > text_cap) {
                text_cap = 2 * (text_len + k + 1);
                char *grown = realloc(text, text_cap);
                if (!grown) break;
                text = grown;
            }
            memcpy(text + text_len, piece, k);
            text_len += k;
        } else {
            fwrite(piece, 1, k, stdout);
            fflush(stdout);
        }
        prev = next;
        if (generated + 1 == n_gen || presso_llama_state_n_past(s) >= n_ctx) {
            generated++;
            break;
        }
        if (presso_llama_forward(s, &next, 1, logits, 0) != PRESSO_OK) {
            rc = cli_fail();
            break;
        }
    }
    const double t_gen = presso_now_seconds() - t1;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        if (text) text[text_len] = '\0';
        cJSON_AddStringToObject(o, "prompt", prompt);
        cJSON_AddStringToObject(o, "text", text ? text : "");
        cJSON *ids = cJSON_AddArrayToObject(o, "tokens");
        for (int64_t i = 0; i < generated; i++) cJSON_AddItemToArray(ids, cJSON_CreateNumber(out_ids[i]));
        cJSON_AddNumberToObject(o, "n_prompt", (double)n_prompt);
        cJSON_AddNumberToObject(o, "prompt_positions", n_prefix);
        if (prompt_path) cJSON_AddStringToObject(o, "prompt_file", prompt_path);
        cJSON_AddNumberToObject(o, "n_generated", (double)generated);
        cJSON_AddNumberToObject(o, "prompt_tps", t_prompt > 0 ? n_prompt / t_prompt : 0);
        cJSON_AddNumberToObject(o, "gen_tps", t_gen > 0 ? generated / t_gen : 0);
        cJSON_AddNumberToObject(o, "threads", (double)threads);
        char *str = cJSON_Print(o);
        printf("%s\n", str);
        free(str);
        cJSON_Delete(o);
    } else {
        printf("\n");
        fflush(stdout);
        fprintf(stderr, "presso: %lld prompt tokens at %.1f tok/s, %lld generated at %.1f tok/s (%lld threads)\n",
                (long long)n_prompt, t_prompt > 0 ? n_prompt / t_prompt : 0.0, (long long)generated,
                t_gen > 0 ? generated / t_gen : 0.0, (long long)threads);
    }
    free(text);
    free(out_ids);
done:
    free(logits);
    free(prompt_ids);
    presso_sampler_free(sampler);
    presso_llama_state_free(s);
    presso_prompt_free(learned);
    presso_model_free(m);
    return rc;
}
