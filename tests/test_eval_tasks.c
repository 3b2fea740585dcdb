/* Task files (tests/data/eval/), their malformed-line errors, the hellaswag
 * task draw, task scores against a direct computation from full forward
 * passes on stories260K, and the cost metrics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/cost.h"
#include "eval/tasks.h"
#include "harness.h"
#include "model/llama.h"

static const char *data_path(const char *name) {
    static char buf[4][1024];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 1024, "%s/tests/data/eval/%s", PRESSO_SOURCE_DIR, name);
    return p;
}

static void expect_format_error(presso_task_kind kind, const char *file, const char *want) {
    presso_task_set *t = (presso_task_set *)1;
    presso_status st = presso_task_read(kind, data_path(file), file, false, &t);
    CHECK_MSG(st == PRESSO_ERR_FORMAT && t == NULL, "%s: %s", file, presso_status_name(st));
    CHECK_MSG(strstr(presso_last_error(), want) != NULL, "%s: error '%s' lacks '%s'", file, presso_last_error(), want);
}

static void test_readers(void) {
    presso_task_set *t = NULL;
    CHECK_OK(presso_task_read(PRESSO_TASK_HELLASWAG, data_path("hellaswag_tiny.txt"), "hs", false, &t));
    if (t) {
        CHECK(t->n_items == 3 && t->n_skipped == 0);
        CHECK(t->items[1].line == 7 && t->items[1].gold == 0 && t->items[1].n_choices == 4);
        CHECK(strcmp(t->items[2].choices[1], "the dog found the ball under a tree.") == 0);
        CHECK(strncmp(t->items[0].context, "Making tea: ", 12) == 0);
        CHECK_OK(presso_task_select(t, 2, true));
        CHECK(t->n_items == 2 && t->items[1].line == 7);
        presso_task_free(t);
    }
    CHECK_OK(presso_task_read(PRESSO_TASK_MC, data_path("mc_tiny.jsonl"), "mc", false, &t));
    if (t) {
        CHECK(t->n_items == 3); /* the blank line 3 holds no item */
        CHECK(t->items[2].line == 4 && t->items[2].n_choices == 3 && t->items[0].gold == 0);
        CHECK(strcmp(t->items[2].context, "Question: What does a cat say?\n") == 0);
        presso_task_free(t);
    }
    CHECK_OK(presso_task_read(PRESSO_TASK_LAMBADA, data_path("lambada_tiny.jsonl"), "lambada", false, &t));
    if (t) {
        CHECK(t->n_items == 3 && t->items[0].n_choices == 1);
        CHECK(strcmp(t->items[0].choices[0], " ball") == 0);
        CHECK(strcmp(t->items[2].context, "The cat sat on the mat. The cat was happy and it began to purr. Everyone "
                                          "loved the") == 0);
        presso_task_free(t);
    }
    /* Malformed lines: the error names the file and the line. */
    expect_format_error(PRESSO_TASK_HELLASWAG, "hellaswag_bad_gold.txt", "hellaswag_bad_gold.txt:8:");
    expect_format_error(PRESSO_TASK_HELLASWAG, "hellaswag_short.txt", "hellaswag_short.txt:13: incomplete task");
    expect_format_error(PRESSO_TASK_MC, "mc_bad.jsonl", "mc_bad.jsonl:3: bad JSON");
    expect_format_error(PRESSO_TASK_LAMBADA, "lambada_bad.jsonl", "lambada_bad.jsonl:2: no string \"text\"");
    /* skip_bad: counted, never silent. */
    CHECK_OK(presso_task_read(PRESSO_TASK_MC, data_path("mc_bad.jsonl"), "mc", true, &t));
    if (t) {
        CHECK(t->n_items == 3 && t->n_skipped == 4 && t->first_skipped_line == 3);
        CHECK(t->items[2].line == 7);
        presso_task_free(t);
    }
    CHECK_OK(presso_task_read(PRESSO_TASK_HELLASWAG, data_path("hellaswag_bad_gold.txt"), "hs", true, &t));
    if (t) {
        CHECK(t->n_items == 2 && t->n_skipped == 1 && t->first_skipped_line == 8);
        presso_task_free(t);
    }
    /* Each malformed kind on its own line of an otherwise good buffer. */
    const struct {
        const char *text, *want;
    } bad[] = {
        {"{\"query\":\"q\",\"choices\":[\"a\",\"b\"],\"gold\":0}\n"
         "{\"query\":\"q\",\"choices\":[\"a\",\"b\"],\"gold\":2}\n",
         "buf:2: \"gold\" must be an integer index"},
        {"{\"query\":\"q\",\"choices\":[],\"gold\":0}\n", "buf:1: \"choices\" has 0 entries"},
        {"{\"query\":\"q\",\"choices\":[\"a\",3],\"gold\":0}\n", "buf:1: \"choices\" holds an entry"},
        {"\n\n[1,2]\n", "buf:3: not a JSON object"},
        {"{\"choices\":[\"a\",\"b\"],\"gold\":0}\n", "buf:1: no string \"query\""},
        {"{\"query\":\"q\",\"choices\":[\"a\",\"b\"],\"gold\":-1}", "buf:1: \"gold\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        presso_status st = presso_task_parse(PRESSO_TASK_MC, bad[i].text, strlen(bad[i].text), "buf", "mc", false, &t);
        CHECK_MSG(st == PRESSO_ERR_FORMAT && strstr(presso_last_error(), bad[i].want), "case %zu: %s", i,
                  presso_last_error());
    }
    CHECK(presso_task_parse(PRESSO_TASK_MC, "", 0, "empty", "mc", false, &t) == PRESSO_ERR_FORMAT);
}

static void test_llamacpp_order(void) {
    /* The first picks of std::mt19937(1) + std::uniform_int_distribution<size_t>
     * over 10042 tasks with erase, as printed by a C++ program built with
     * g++ 12.2 (libstdc++), the compiler of the llama.cpp reference binary. */
    int64_t order[400];
    CHECK_OK(presso_task_llamacpp_order(10042, 400, order));
    const int64_t want[] = {4187, 10013, 7233, 9363, 1};
    for (int i = 0; i < 5; i++) CHECK_MSG(order[i] == want[i], "pick %d: %lld, want %lld", i, (long long)order[i],
                                          (long long)want[i]);
    /* Without replacement: a permutation. */
    int64_t perm[50];
    bool seen[50] = {0};
    CHECK_OK(presso_task_llamacpp_order(50, 50, perm));
    int distinct = 0;
    for (int i = 0; i < 50; i++)
        if (perm[i] >= 0 && perm[i] < 50 && !seen[perm[i]]) seen[perm[i]] = true, distinct++;
    CHECK(distinct == 50);
    CHECK(presso_task_llamacpp_order(5, 6, perm) == PRESSO_ERR_INVALID_ARG);
}

/* ---- direct computation: whole sequences from an empty cache ----------- */

static double log_softmax_at(const float *x, int32_t n, int32_t k) {
    double max = x[0], sum = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > max) max = x[i];
    for (int32_t i = 0; i < n; i++) sum += exp((double)x[i] - max);
    return (double)x[k] - max - log(sum);
}

/* Sum of log p(tok[k] | tok[<k]) for k >= from; greedy: every one the argmax. */
static double direct_logprob(const presso_model *m, const int32_t *tok, int64_t n, int64_t from, bool *greedy) {
    const int32_t vocab = m->config.vocab_size;
    presso_llama_state *s = NULL;
    float *logits = malloc(sizeof(float) * (size_t)n * (size_t)vocab);
    double sum = 0;
    *greedy = true;
    if (presso_llama_state_new(m, (int32_t)n, (int32_t)n, 1, &s) == PRESSO_OK && logits &&
        presso_llama_forward(s, tok, (int32_t)n, logits, 0) == PRESSO_OK) {
        for (int64_t k = from; k < n; k++) {
            const float *row = logits + (k - 1) * vocab;
            sum += log_softmax_at(row, vocab, tok[k]);
            int32_t best = 0;
            for (int32_t i = 1; i < vocab; i++)
                if (row[i] > row[best]) best = i;
            *greedy = *greedy && best == tok[k];
        }
    } else {
        sum = NAN;
    }
    presso_llama_state_free(s);
    free(logits);
    return sum;
}

static int32_t *encode(const presso_model *m, const char *a, const char *b, int64_t *n) {
    char text[4096];
    snprintf(text, sizeof text, "%s%s", a, b);
    int32_t *ids = NULL;
    if (presso_tokenizer_encode(m->tokenizer, text, strlen(text), true, &ids, n) != PRESSO_OK) return NULL;
    return ids;
}

static void check_scores(const presso_model *m, presso_task_kind kind, const char *file) {
    presso_task_set *t = NULL;
    CHECK_OK(presso_task_read(kind, data_path(file), file, false, &t));
    if (!t) return;
    presso_task_result r1, r3;
    presso_task_params p1 = {1, 512, NULL, NULL, NULL}, p3 = {3, 512, NULL, NULL, NULL};
    CHECK_OK(presso_task_eval(m, t, &p1, &r1));
    CHECK_OK(presso_task_eval(m, t, &p3, &r3));
    if (!r1.score || !r3.score) {
        presso_task_free(t);
        return;
    }
    /* Reproducible, whatever the thread count. */
    CHECK(r1.acc == r3.acc && memcmp(r1.score, r3.score, sizeof(double) * (size_t)r1.choice_offset[t->n_items]) == 0);
    int64_t right = 0;
    double ll = 0;
    for (int64_t i = 0; i < t->n_items; i++) {
        const presso_task_item *it = &t->items[i];
        int64_t n[8] = {0}, from = INT64_MAX;
        int32_t *seq[8] = {0};
        char ctx[2048];
        if (kind == PRESSO_TASK_HELLASWAG) {
            /* llama.cpp: tokenize(ctx + " " + ending), score after the common prefix, mean. */
            for (int j = 0; j < it->n_choices; j++) {
                char ending[1024];
                snprintf(ending, sizeof ending, " %s", it->choices[j]);
                seq[j] = encode(m, it->context, ending, &n[j]);
            }
            from = 0;
            for (bool same = true; same; from += same) {
                for (int j = 0; j < it->n_choices && same; j++) same = from < n[j] && seq[j][from] == seq[0][from];
            }
        } else {
            /* lm-eval: trailing space of the query joins the continuation " " + choice. */
            snprintf(ctx, sizeof ctx, "%s", it->context);
            size_t len = strlen(ctx);
            char moved[64] = "";
            while (len > 0 && strchr(" \n", ctx[len - 1])) len--;
            snprintf(moved, sizeof moved, "%s%s", it->context + len, kind == PRESSO_TASK_MC ? " " : "");
            ctx[len] = '\0';
            int64_t n_ctx = 0;
            int32_t *ctx_ids = encode(m, ctx, "", &n_ctx);
            for (int j = 0; j < it->n_choices; j++) {
                char cont[1024];
                snprintf(cont, sizeof cont, "%s%s", moved, it->choices[j]);
                seq[j] = encode(m, ctx, cont, &n[j]);
                int64_t k = 0;
                while (k < n_ctx && k < n[j] && seq[j][k] == ctx_ids[k]) k++;
                if (k < from) from = k;
            }
            free(ctx_ids);
        }
        double best = -INFINITY;
        int32_t pred = 0;
        bool greedy = false;
        for (int j = 0; j < it->n_choices; j++) {
            bool g;
            double lp = direct_logprob(m, seq[j], n[j], from, &g);
            if (kind == PRESSO_TASK_HELLASWAG) lp /= (double)(n[j] - from);
            if (j == 0) greedy = g;
            CHECK_NEAR(r1.score[r1.choice_offset[i] + j], lp, 2e-3 + 1e-4 * fabs(lp));
            if (lp > best) best = lp, pred = j;
            free(seq[j]);
        }
        CHECK_MSG(r1.pred[i] == pred, "%s item %lld: pred %d, direct %d", file, (long long)i, r1.pred[i], pred);
        if (kind == PRESSO_TASK_LAMBADA) {
            CHECK(r1.greedy[i] == greedy);
            right += greedy;
            ll += r1.score[r1.choice_offset[i]];
        } else {
            right += pred == it->gold;
        }
    }
    CHECK_NEAR(r1.acc, (double)right / (double)t->n_items, 1e-12);
    CHECK_NEAR(r1.acc_err, sqrt(r1.acc * (1 - r1.acc) / (double)(t->n_items - 1)), 1e-12);
    if (kind == PRESSO_TASK_LAMBADA) CHECK_NEAR(r1.ppl, exp(-ll / (double)t->n_items), 1e-9 * r1.ppl);
    if (kind == PRESSO_TASK_MC) {
        int64_t right_norm = 0;
        for (int64_t i = 0; i < t->n_items; i++) {
            const presso_task_item *it = &t->items[i];
            int32_t best = 0;
            for (int32_t j = 1; j < it->n_choices; j++)
                if (r1.score[r1.choice_offset[i] + j] / (double)strlen(it->choices[j]) >
                    r1.score[r1.choice_offset[i] + best] / (double)strlen(it->choices[best]))
                    best = j;
            CHECK(r1.pred_norm[i] == best);
            right_norm += best == it->gold;
        }
        CHECK_NEAR(r1.acc_norm, (double)right_norm / (double)t->n_items, 1e-12);
    }
    presso_task_result_free(&r1);
    presso_task_result_free(&r3);
    presso_task_free(t);
}

static void test_scores(const presso_model *m) {
    check_scores(m, PRESSO_TASK_HELLASWAG, "hellaswag_tiny.txt");
    check_scores(m, PRESSO_TASK_MC, "mc_tiny.jsonl");
    check_scores(m, PRESSO_TASK_LAMBADA, "lambada_tiny.jsonl");
    /* A context cut to fit: the item is still scored, and counted. */
    presso_task_set *t = NULL;
    CHECK_OK(presso_task_read(PRESSO_TASK_LAMBADA, data_path("lambada_tiny.jsonl"), "lambada", false, &t));
    if (t) {
        presso_task_result r;
        presso_task_params p = {1, 12, NULL, NULL, NULL};
        CHECK_OK(presso_task_eval(m, t, &p, &r));
        CHECK(r.n == 3 && r.n_truncated == 3);
        presso_task_result_free(&r);
        presso_task_free(t);
    }
}

static void test_cost(const presso_model *m, const char *bin, const char *tok) {
    presso_cost c;
    CHECK_OK(presso_model_cost(m, 100, &c));
    const presso_llama_config *k = &m->config;
    const int64_t kv = (int64_t)k->n_kv_heads * k->head_dim, q = (int64_t)k->n_heads * k->head_dim;
    const int64_t per_layer = k->dim * q * 2 + k->dim * kv * 2 + 3 * (int64_t)k->dim * k->hidden_dim;
    CHECK(c.n_matmul == k->n_layers * per_layer + (int64_t)k->dim * k->vocab_size);
    CHECK(c.n_params == presso_model_n_params(m) && c.n_nonzero <= c.n_params && c.n_nonzero > c.n_params * 9 / 10);
    CHECK_NEAR(c.flops_dense, 2.0 * (double)c.n_matmul + 4.0 * k->n_layers * (double)q * 100, 0.5);
    CHECK_NEAR(c.bits_per_weight, 32.0, 1e-9); /* an f32 checkpoint */
    CHECK_NEAR(c.ratio_vs_f16, 0.5, 1e-9);
    size_t size = 0;
    uint8_t *image = presso_test_read_file(bin, &size);
    CHECK(image && (int64_t)size == c.file_bytes);
    if (!image) return;
    /* Zero 100 weights of layer 0's wq (llama2.c layout: header, embeddings,
     * attention norms, wq): the non-zero counts drop by exactly those. */
    const size_t off = 28 + 4 * ((size_t)k->vocab_size * k->dim + (size_t)k->n_layers * k->dim);
    int was_nonzero = 0;
    for (int i = 0; i < 100; i++) {
        float v;
        memcpy(&v, image + off + 4 * i, 4);
        was_nonzero += v != 0.0f;
        memset(image + off + 4 * i, 0, 4);
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/test_eval_sparse.bin", PRESSO_BINARY_DIR);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(image, 1, size, f) == size);
    if (f) fclose(f);
    presso_model *sparse = NULL;
    CHECK_OK(presso_model_open(path, tok, &sparse));
    presso_cost cs;
    if (sparse) {
        CHECK_OK(presso_model_cost(sparse, 100, &cs));
        CHECK(cs.n_nonzero == c.n_nonzero - was_nonzero && cs.n_matmul_nonzero == c.n_matmul_nonzero - was_nonzero);
        CHECK_NEAR(cs.flops_effective, c.flops_effective - 2.0 * was_nonzero, 0.5);
        CHECK(cs.flops_dense == c.flops_dense);
    }
    presso_model_free(sparse);
    remove(path);
    free(image);
}

int main(void) {
    test_readers();
    test_llamacpp_order();
    const char *bin = presso_test_shared("models/stories260K/stories260K.bin");
    const char *tok = presso_test_shared("models/stories260K/tok512.bin");
    presso_model *m = NULL;
    CHECK_OK(presso_model_open(bin, tok, &m));
    if (m) {
        test_scores(m);
        test_cost(m, bin, tok);
    }
    presso_model_free(m);
    return presso_test_finish();
}
