/* presso ppl MODEL -f TEXT [-c CTX] [--protocol llamacpp|strided] [--stride S]
 *                 [--chunks N] [--prompt-file PROMPT.bin] [--hard-prompt TEXT]
 *                 [--kl-divergence-base FILE [--kl-divergence]]
 *                 [-t THREADS] [--json]
 * With a prompt (learned or hard) every window keeps CTX text tokens, the
 * prompt's positions come first and are never scored.
 * --kl-divergence-base FILE alone saves the model's log-probabilities of
 * every scored position (llama-perplexity's file, eval/kld.h); with
 * --kl-divergence the model is compared with the saved base on the file's
 * own tokens (no -f): KL divergence, paired ln(PPL ratio), top-token agreement. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/error.h"
#include "core/timer.h"
#include "eval/kld.h"
#include "eval/perplexity.h"

static void print_progress(void *user, int32_t chunk, int32_t n_chunks, double ppl) {
    (void)n_chunks;
    (void)user;
    fprintf(stderr, "[%d]%.4f,", chunk, ppl); /* llama-perplexity's running output */
    fflush(stderr);
}

/* on_scored for --kl-divergence-base: append the chunk's records. */
static presso_status save_scored(void *user, int32_t chunk, const float *logits, int32_t n, int32_t vocab,
                                 const int32_t *targets) {
    (void)chunk, (void)vocab;
    return presso_kld_writer_add(user, logits, n, targets);
}

typedef struct {
    const presso_kld_base *base;
    presso_kld_acc acc;
} kld_compare;

/* on_scored for --kl-divergence: compare each position with the base's record. */
static presso_status compare_scored(void *user, int32_t chunk, const float *logits, int32_t n, int32_t vocab,
                                    const int32_t *targets) {
    kld_compare *k = user;
    const size_t record_bytes = 2 * (size_t)presso_kld_record_slots(vocab);
    const uint8_t *rec = k->base->records + (size_t)chunk * (size_t)n * record_bytes;
    for (int32_t j = 0; j < n; j++)
        presso_kld_add(&k->acc, logits + (int64_t)j * vocab, vocab, rec + (size_t)j * record_bytes, targets[j]);
    return PRESSO_OK;
}

static void print_kld(const presso_kld_summary *s) {
    printf("====== Perplexity statistics ======\n");
    printf("Mean PPL(Q)                   : %10.6f ± %10.6f\n", s->ppl, s->ppl_err);
    printf("Mean PPL(base)                : %10.6f ± %10.6f\n", s->ppl_base, s->ppl_base_err);
    printf("Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f\n", s->ln_ratio, s->ln_ratio_err);
    printf("Mean PPL(Q)-PPL(base)         : %10.6f ± %10.6f\n", s->ppl_diff, s->ppl_diff_err);
    printf("====== KL divergence statistics ======\n");
    printf("Mean    KLD: %10.6f ± %10.6f\n", s->kld, s->kld_err);
    printf("Maximum KLD: %10.6f\n99.9%%   KLD: %10.6f\n99.0%%   KLD: %10.6f\nMedian  KLD: %10.6f\n", s->kld_max,
           s->kld_p999, s->kld_p99, s->kld_median);
    printf("====== Token probability statistics ======\n");
    printf("Mean    Δp: %6.3f ± %5.3f %%\n", 100 * s->p_diff, 100 * s->p_diff_err);
    printf("RMS Δp    : %6.3f ± %5.3f %%\n", 100 * s->p_diff_rms, 100 * s->p_diff_rms_err);
    printf("Same top p: %6.3f ± %5.3f %%\n", 100 * s->same_top, 100 * s->same_top_err);
}

static void add_kld_json(cJSON *o, const presso_kld_summary *s, const char *base_path) {
    cJSON *k = cJSON_AddObjectToObject(o, "kld");
    cJSON_AddStringToObject(k, "base", base_path);
    cJSON_AddNumberToObject(k, "ppl_base", s->ppl_base);
    cJSON_AddNumberToObject(k, "ppl_base_err", s->ppl_base_err);
    cJSON_AddNumberToObject(k, "ln_ppl_ratio", s->ln_ratio);
    cJSON_AddNumberToObject(k, "ln_ppl_ratio_err", s->ln_ratio_err);
    cJSON_AddNumberToObject(k, "ppl_diff", s->ppl_diff);
    cJSON_AddNumberToObject(k, "ppl_diff_err", s->ppl_diff_err);
    cJSON_AddNumberToObject(k, "mean", s->kld);
    cJSON_AddNumberToObject(k, "mean_err", s->kld_err);
    cJSON_AddNumberToObject(k, "median", s->kld_median);
    cJSON_AddNumberToObject(k, "p99", s->kld_p99);
    cJSON_AddNumberToObject(k, "p999", s->kld_p999);
    cJSON_AddNumberToObject(k, "max", s->kld_max);
    cJSON_AddNumberToObject(k, "p_diff_rms", s->p_diff_rms);
    cJSON_AddNumberToObject(k, "same_top", s->same_top);
    cJSON_AddNumberToObject(k, "same_top_err", s->same_top_err);
    cJSON_AddNumberToObject(k, "n_tokens", (double)s->count);
}

int cmd_ppl(int argc, char **argv) {
    const char *path = NULL, *tokenizer = NULL, *text_path = NULL, *protocol = "llamacpp", *v = NULL;
    const char *prompt_path = NULL, *hard_prompt = NULL, *kld_path = NULL;
    int64_t ctx = 0, stride = 0, threads = 2, chunks = 0;
    bool json = false, kld_compare_mode = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, NULL, "--json")) json = true;
        else if (cli_flag(a, NULL, "--kl-divergence")) kld_compare_mode = true;
        else if (cli_option(argv, argc, &i, NULL, "--kl-divergence-base", &v)) {
            if (!v) return cli_usage_error("--kl-divergence-base needs a file");
            kld_path = v;
        } else if (cli_option(argv, argc, &i, "-z", "--tokenizer", &v)) {
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
    const bool llamacpp = strcmp(protocol, "llamacpp") == 0;
    if (kld_compare_mode && !kld_path)
        return cli_usage_error("--kl-divergence compares with a saved base: add --kl-divergence-base FILE");
    if (kld_path && !llamacpp) return cli_usage_error("--kl-divergence-base goes with --protocol llamacpp");
    if (kld_compare_mode && text_path)
        return cli_usage_error("-f is not read with --kl-divergence: the tokens come from %s", kld_path);
    if (!path || (!text_path && !kld_compare_mode))
        return cli_usage_error("usage: presso ppl MODEL -f TEXT [-c CTX] [--protocol P]");
    if (llamacpp && stride) return cli_usage_error("--stride goes with --protocol strided");
    /* One exit below: everything is released at `done`. */
    int rc = 1;
    presso_kld_base base = {0};
    presso_model *m = NULL;
    char *text = NULL;
    int32_t *ids = NULL, *hard_ids = NULL;
    int64_t n_ids = 0, n_hard = 0;
    presso_prompt *prompt = NULL;
    presso_llama_prefix prefix = {0};
    presso_kld_writer writer = {0};
    kld_compare cmp = {.base = &base};
    presso_kld_summary ks = {0};
    presso_ppl_result r;
    if (kld_compare_mode) {
        if (presso_kld_base_open(kld_path, &base) != PRESSO_OK) goto failed;
        if (ctx && ctx != base.n_ctx) {
            rc = cli_usage_error("-c %lld differs from the context %d that %s was computed with", (long long)ctx,
                                 base.n_ctx, kld_path);
            goto done;
        }
        ctx = base.n_ctx;
    }
    size_t len = 0;
    if (!kld_compare_mode && !(text = cli_read_file(text_path, &len))) goto done;
    if ((rc = cli_open_model_to_run(path, tokenizer, &m)) != 0) goto done;
    rc = 1;
    if (!m->tokenizer) {
        rc = cli_usage_error("%s: the model has no tokenizer; pass one with -z", path);
        goto done;
    }
    if (ctx == 0) ctx = llamacpp ? 512 : m->config.max_seq_len;
    if (ctx > m->config.max_seq_len)
        fprintf(stderr, "presso: warning: context %lld exceeds the model's trained context %d\n", (long long)ctx,
                m->config.max_seq_len);
    const double t_tok = presso_now_seconds();
    /* llama-perplexity tokenizes the whole text once, with BOS when the vocabulary adds it;
     * with --kl-divergence the tokens are the base file's. */
    const bool add_bos = presso_tokenizer_adds_bos(m->tokenizer);
    const presso_status tok_st = kld_compare_mode
                                     ? presso_kld_base_tokens(&base, kld_path, m->config.vocab_size, &ids, &n_ids)
                                     : presso_tokenizer_encode(m->tokenizer, text, len, add_bos, &ids, &n_ids);
    if (tok_st != PRESSO_OK) goto failed;
    const double tokenize_seconds = presso_now_seconds() - t_tok;
    if (prompt_path && (rc = cli_load_prompt(prompt_path, m, &prompt, &prefix)) != 0) goto done;
    /* A hard prompt (CTP's baseline): BOS + the text, before every window. */
    if (hard_prompt) {
        if (presso_tokenizer_encode(m->tokenizer, hard_prompt, strlen(hard_prompt), add_bos, &hard_ids, &n_hard) !=
                PRESSO_OK ||
            n_hard > (1 << 20))
            goto failed;
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
                kld_compare_mode ? kld_path : text_path, (long long)n_ids, tokenize_seconds, protocol, (long long)ctx,
                n_prefix);
    /* the base file: written as the chunks are scored, or read to compare with */
    const int32_t n_chunk = presso_ppl_llamacpp_chunks(n_ids, p.n_ctx, p.max_chunks);
    presso_status pst = PRESSO_OK;
    if (kld_path && !kld_compare_mode && n_chunk > 0) { /* no chunk: presso_perplexity says why */
        pst = presso_kld_writer_open(&writer, kld_path, p.n_ctx, m->config.vocab_size, n_chunk, ids);
        p.on_scored = save_scored;
        p.scored_user = &writer;
    } else if (kld_compare_mode) {
        pst = presso_kld_acc_init(&cmp.acc, (int64_t)n_chunk * presso_kld_scored_per_chunk(p.n_ctx));
        p.on_scored = compare_scored;
        p.scored_user = &cmp;
    }
    if (pst == PRESSO_OK) pst = presso_perplexity(m, ids, n_ids, &p, &r);
    if (writer.path) pst = presso_kld_writer_close(&writer, pst);
    if (pst != PRESSO_OK) {
        if (!json) fprintf(stderr, "\n");
        goto failed;
    }
    if (kld_compare_mode) presso_kld_summarize(&cmp.acc, &ks);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", m->path);
        /* with --kl-divergence the tokens come from the base file */
        cJSON_AddStringToObject(o, "file", text_path ? text_path : kld_path);
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
        if (kld_compare_mode) add_kld_json(o, &ks, kld_path);
        else if (kld_path) cJSON_AddStringToObject(o, "kld_base_written", kld_path);
        cJSON_AddNumberToObject(o, "seconds", r.seconds);
        char *s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        fprintf(stderr, "\n");
        printf("Final estimate: PPL = %.4f +/- %.5f\n", r.ppl, r.ppl_err);
        if (kld_compare_mode) print_kld(&ks);
        else if (kld_path) fprintf(stderr, "presso: base log-probabilities saved to %s\n", kld_path);
        fprintf(stderr, "presso: %d chunks, %lld tokens scored, %.2f s (%.1f tokens/s)\n", r.n_chunks,
                (long long)r.n_scored, r.seconds, r.seconds > 0 ? (double)r.n_chunks * r.n_ctx / r.seconds : 0.0);
    }
    rc = 0;
    goto done;
failed:
    rc = cli_fail();
done:
    presso_kld_acc_free(&cmp.acc);
    presso_kld_base_close(&base);
    free(text), free(ids), free(hard_ids);
    presso_prompt_free(prompt);
    presso_model_free(m);
    return rc;
}
