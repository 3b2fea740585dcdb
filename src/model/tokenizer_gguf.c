/* GGUF tokenizer.ggml.* keys: loading as llama.cpp's llama_vocab::load reads
 * them (defaults included), and writing so llama.cpp tokenizes like presso.
 * Kept apart from the other tokenizer files so they link without the GGUF
 * reader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/tokenizer_impl.h"

/* Pre-tokenizer names whose llama.cpp regexes are the GPT-2 pattern, with and
 * without \p{N} split off first (llama-vocab.cpp). Others are refused. */
static const char *const PRE_GPT2[] = {"gpt-2", "mpt", "olmo"};
static const char *const PRE_DIGITS[] = {"smollm", "starcoder", "refact", "codeshell"};

static bool in_list(const char *s, size_t n, const char *const *list, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (strlen(list[i]) == n && memcmp(list[i], s, n) == 0) return true;
    return false;
}

/* An optional token id key: absent keeps *id; 0xFFFFFFFF / -1 mean none. */
static presso_status opt_id(const presso_gguf *g, const char *key, int32_t n_vocab, int32_t *id) {
    if (presso_gguf_find_key(g, key) < 0) return PRESSO_OK;
    int64_t v;
    PRESSO_TRY(presso_gguf_get_i64(g, key, &v));
    if (v == -1 || v == 0xFFFFFFFFll) {
        *id = -1;
        return PRESSO_OK;
    }
    if (v < 0 || v >= n_vocab)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: %s = %lld is outside the vocab of %d tokens", presso_gguf_path(g),
                           key, (long long)v, (int)n_vocab);
    *id = (int32_t)v;
    return PRESSO_OK;
}

static presso_status opt_bool(const presso_gguf *g, const char *key, bool *v) {
    if (presso_gguf_find_key(g, key) < 0) return PRESSO_OK;
    return presso_gguf_get_bool(g, key, v);
}

static presso_status load_merges(const presso_gguf *g, presso_tokenizer *t) {
    const char *path = presso_gguf_path(g);
    const char *key = "tokenizer.ggml.merges";
    if (presso_gguf_find_key(g, key) < 0)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: gpt2 tokenizer without %s", path, key);
    presso_gguf_value_type et;
    uint64_t n;
    PRESSO_TRY(presso_gguf_get_array_info(g, key, &et, &n));
    if (et != PRESSO_GGUF_STRING) return presso_fail(PRESSO_ERR_FORMAT, "%s: %s is not a string array", path, key);
    if (n > INT32_MAX) return presso_fail(PRESSO_ERR_FORMAT, "%s: %llu merges", path, (unsigned long long)n);
    PRESSO_TRY(presso_tok_alloc_merges(t, (int32_t)n));
    for (uint64_t i = 0; i < n; i++) {
        presso_gguf_string s;
        PRESSO_TRY(presso_gguf_get_array_string(g, key, i, &s));
        /* llama.cpp splits at the first space after position 0 */
        const char *sp = s.len > 1 ? memchr(s.ptr + 1, ' ', s.len - 1) : NULL;
        if (!sp)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: merge %llu \"%.*s\" has no separating space", path,
                               (unsigned long long)i, (int)(s.len > 40 ? 40 : s.len), s.ptr);
        size_t na = (size_t)(sp - s.ptr), nb = s.len - na - 1;
        int32_t l = presso_tok_lookup(t, s.ptr, na), r = presso_tok_lookup(t, sp + 1, nb);
        if (l < 0 || r < 0)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: merge %llu \"%.*s\" refers to a token not in the vocab", path,
                               (unsigned long long)i, (int)(s.len > 40 ? 40 : s.len), s.ptr);
        char *cat = malloc(s.len);
        if (!cat) return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", path);
        memcpy(cat, s.ptr, na);
        memcpy(cat + na, sp + 1, nb);
        int32_t res = presso_tok_lookup(t, cat, na + nb);
        free(cat);
        if (res < 0)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: merge %llu \"%.*s\" makes a token not in the vocab", path,
                               (unsigned long long)i, (int)(s.len > 40 ? 40 : s.len), s.ptr);
        presso_tok_add_merge(t, (int32_t)i, l, r, res, true); /* llama.cpp: emplace keeps the first rank */
    }
    return PRESSO_OK;
}

static presso_status load(const presso_gguf *g, presso_tokenizer **out) {
    const char *path = presso_gguf_path(g);
    presso_gguf_string model;
    PRESSO_TRY(presso_gguf_get_string(g, "tokenizer.ggml.model", &model));
    presso_tok_kind kind;
    presso_pre_kind pre = PRESSO_PRE_GPT2;
    char pre_name[64] = "";
    if (model.len == 5 && memcmp(model.ptr, "llama", 5) == 0) {
        kind = PRESSO_TOK_SPM;
    } else if (model.len == 4 && memcmp(model.ptr, "gpt2", 4) == 0) {
        kind = PRESSO_TOK_GPT2;
        presso_gguf_string p = {"", 0};
        if (presso_gguf_find_key(g, "tokenizer.ggml.pre") >= 0)
            PRESSO_TRY(presso_gguf_get_string(g, "tokenizer.ggml.pre", &p));
        if (in_list(p.ptr, p.len, PRE_DIGITS, sizeof PRE_DIGITS / sizeof *PRE_DIGITS)) {
            pre = PRESSO_PRE_DIGITS;
        } else if (!in_list(p.ptr, p.len, PRE_GPT2, sizeof PRE_GPT2 / sizeof *PRE_GPT2)) {
            return presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: tokenizer.ggml.pre \"%.*s\" is not supported "
                               "(supported: gpt-2, mpt, olmo, smollm, starcoder, refact, codeshell)",
                               path, (int)(p.len > 60 ? 60 : p.len), p.ptr);
        }
        snprintf(pre_name, sizeof pre_name, "%.*s", (int)p.len, p.ptr);
    } else {
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: tokenizer.ggml.model \"%.*s\" is not supported", path,
                           (int)(model.len > 60 ? 60 : model.len), model.ptr);
    }

    presso_gguf_value_type et;
    uint64_t n;
    PRESSO_TRY(presso_gguf_get_array_info(g, "tokenizer.ggml.tokens", &et, &n));
    if (et != PRESSO_GGUF_STRING)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: tokenizer.ggml.tokens is not a string array", path);
    if (n == 0 || n > (1u << 24))
        return presso_fail(PRESSO_ERR_FORMAT, "%s: tokenizer.ggml.tokens has %llu entries", path,
                           (unsigned long long)n);
    const void *scores = NULL, *types = NULL;
    presso_gguf_value_type score_type = PRESSO_GGUF_FLOAT32;
    if (presso_gguf_find_key(g, "tokenizer.ggml.scores") >= 0) {
        uint64_t ns;
        PRESSO_TRY(presso_gguf_get_array_info(g, "tokenizer.ggml.scores", &score_type, &ns));
        if (score_type != PRESSO_GGUF_FLOAT32 && score_type != PRESSO_GGUF_INT32)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: tokenizer.ggml.scores is not a float32 array", path);
        if (ns != n)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: %llu scores for %llu tokens", path, (unsigned long long)ns,
                               (unsigned long long)n);
        PRESSO_TRY(presso_gguf_get_array_data(g, "tokenizer.ggml.scores", &scores));
    }
    if (presso_gguf_find_key(g, "tokenizer.ggml.token_type") >= 0) {
        uint64_t nt;
        PRESSO_TRY(presso_gguf_get_array_info(g, "tokenizer.ggml.token_type", &et, &nt));
        if (et != PRESSO_GGUF_INT32)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: tokenizer.ggml.token_type is not an int32 array", path);
        if (nt != n)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: %llu token types for %llu tokens", path,
                               (unsigned long long)nt, (unsigned long long)n);
        PRESSO_TRY(presso_gguf_get_array_data(g, "tokenizer.ggml.token_type", &types));
    }

    presso_tokenizer *t = presso_tok_new(kind, (int32_t)n);
    const char **texts = malloc(n * sizeof *texts);
    uint32_t *lens = malloc(n * sizeof *lens);
    char (*empty)[32] = calloc(n, sizeof *empty);
    presso_status st = PRESSO_OK;
    if (!t || !texts || !lens || !empty) st = presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory for %llu tokens", path,
                                                          (unsigned long long)n);
    for (uint64_t i = 0; st == PRESSO_OK && i < n; i++) {
        presso_gguf_string s;
        st = presso_gguf_get_array_string(g, "tokenizer.ggml.tokens", i, &s);
        if (st != PRESSO_OK) break;
        if (s.len > (1u << 20)) {
            st = presso_fail(PRESSO_ERR_FORMAT, "%s: token %llu is %llu bytes long", path, (unsigned long long)i,
                             (unsigned long long)s.len);
            break;
        }
        if (s.len == 0) { /* llama.cpp renames empty tokens */
            snprintf(empty[i], sizeof empty[i], "[EMPTY_%llu]", (unsigned long long)i);
            texts[i] = empty[i];
            lens[i] = (uint32_t)strlen(empty[i]);
        } else {
            texts[i] = s.ptr;
            lens[i] = (uint32_t)s.len;
        }
        if (scores) {
            if (score_type == PRESSO_GGUF_FLOAT32) {
                memcpy(&t->score[i], (const char *)scores + 4 * i, 4);
            } else {
                int32_t v;
                memcpy(&v, (const char *)scores + 4 * i, 4);
                t->score[i] = (float)v;
            }
        }
        if (types) {
            int32_t v;
            memcpy(&v, (const char *)types + 4 * i, 4);
            t->type[i] = v;
        }
    }
    if (st == PRESSO_OK) st = presso_tok_set_texts(t, texts, lens);
    if (st == PRESSO_OK) st = presso_tok_build_vocab(t, true); /* llama.cpp token_to_id: last duplicate wins */
    if (st == PRESSO_OK && kind == PRESSO_TOK_SPM) st = presso_tok_build_can_merge_spm(t);
    if (st == PRESSO_OK) st = presso_tok_build_user(t);
    if (st == PRESSO_OK && kind == PRESSO_TOK_GPT2) {
        st = load_merges(g, t);
        presso_tok_build_bytechars(t);
        t->pre = pre;
        snprintf(t->pre_name, sizeof t->pre_name, "%s", pre_name);
    }
    if (st == PRESSO_OK) {
        /* llama.cpp defaults, then the file's keys */
        bool spm = kind == PRESSO_TOK_SPM;
        t->bos = spm ? 1 : 11;
        t->eos = spm ? 2 : 11;
        t->unk = spm ? 0 : -1;
        if (t->bos >= t->n_vocab) t->bos = -1;
        if (t->eos >= t->n_vocab) t->eos = -1;
        t->add_bos = spm;
        t->add_space_prefix = spm;
        st = opt_id(g, "tokenizer.ggml.bos_token_id", t->n_vocab, &t->bos);
        if (st == PRESSO_OK) st = opt_id(g, "tokenizer.ggml.eos_token_id", t->n_vocab, &t->eos);
        if (st == PRESSO_OK) st = opt_id(g, "tokenizer.ggml.unknown_token_id", t->n_vocab, &t->unk);
        if (st == PRESSO_OK) st = opt_id(g, "tokenizer.ggml.padding_token_id", t->n_vocab, &t->pad);
        if (st == PRESSO_OK) st = opt_bool(g, "tokenizer.ggml.add_bos_token", &t->add_bos);
        if (st == PRESSO_OK) st = opt_bool(g, "tokenizer.ggml.add_eos_token", &t->add_eos);
        if (st == PRESSO_OK) st = opt_bool(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix);
    }
    free(texts);
    free(lens);
    free(empty);
    if (st != PRESSO_OK) {
        presso_tokenizer_free(t);
        return presso_fail_context(st, "loading the tokenizer of %s: ", path);
    }
    *out = t;
    return PRESSO_OK;
}

presso_status presso_tokenizer_load_gguf(const presso_gguf *g, presso_tokenizer **out) {
    *out = NULL;
    return load(g, out);
}

/* ---- writing ---- */

/* HF merges as sentencepiece scores: the token made by merge r scores -r, so
 * the highest-score pair llama.cpp picks is the lowest-rank merge HF picks.
 * Tokens no merge makes (characters, bytes, specials) score -1e9: single
 * characters are never a pair, and a special token that happens to be one
 * must not beat a real merge. Exact on all shared text the vocab covers;
 * a vocab without <0xXX> tokens (tinystories-656k) has no sentencepiece way
 * to say other characters: HF fuses them into one <unk>, llama.cpp throws,
 * presso's SPM loader gives one <unk> per byte. */
static void hf_scores(const presso_tokenizer *t, float *score) {
    for (int32_t i = 0; i < t->n_vocab; i++) score[i] = -1e9f; /* no merge makes it: last resort */
    for (int32_t r = t->n_merges - 1; r >= 0; r--) score[t->merge_result[r]] = -(float)r - 1.0f;
}

presso_status presso_tokenizer_write_gguf(const presso_tokenizer *t, presso_gguf_writer *w) {
    int32_t n = t->n_vocab;
    bool spm = t->kind != PRESSO_TOK_GPT2;
    const char **texts = malloc((size_t)n * sizeof *texts);
    uint64_t *lens = malloc((size_t)n * sizeof *lens);
    float *score = malloc((size_t)n * sizeof *score);
    char *esc = NULL;
    presso_status st = PRESSO_OK;
    if (!texts || !lens || !score) st = presso_fail(PRESSO_ERR_NOMEM, "tokenizer: out of memory writing GGUF keys");
    if (st == PRESSO_OK && t->kind == PRESSO_TOK_LLAMA2C) {
        /* llama2.c texts keep real spaces; GGUF "llama" vocabs spell them
         * U+2581 (as llama.cpp's convert-llama2c-to-ggml writes them) */
        uint64_t total = 0;
        for (int32_t i = 0; i < n; i++) total += (uint64_t)t->length[i] * 3 + 8;
        esc = malloc(total);
        if (!esc) st = presso_fail(PRESSO_ERR_NOMEM, "tokenizer: out of memory writing GGUF keys");
        uint64_t o = 0;
        for (int32_t i = 0; st == PRESSO_OK && i < n; i++) {
            const char *s = t->blob + t->offset[i];
            texts[i] = esc + o;
            if (t->type[i] == PRESSO_TOKTYPE_CONTROL && (strcmp(s, "\n<s>\n") == 0 || strcmp(s, "\n</s>\n") == 0)) {
                size_t k = t->length[i] - 2;
                memcpy(esc + o, s + 1, k);
                lens[i] = k;
                o += k;
                continue;
            }
            uint64_t start = o;
            for (uint32_t j = 0; j < t->length[i]; j++) {
                if (s[j] == ' ') {
                    memcpy(esc + o, "\xe2\x96\x81", 3);
                    o += 3;
                } else {
                    esc[o++] = s[j];
                }
            }
            lens[i] = o - start;
        }
    } else if (st == PRESSO_OK) {
        for (int32_t i = 0; i < n; i++) {
            texts[i] = t->blob + t->offset[i];
            lens[i] = t->length[i];
        }
    }
    if (st == PRESSO_OK) {
        if (t->kind == PRESSO_TOK_HF_SPM) hf_scores(t, score);
        else memcpy(score, t->score, (size_t)n * sizeof *score);
    }
    if (st == PRESSO_OK) st = presso_gguf_writer_set_string(w, "tokenizer.ggml.model", spm ? "llama" : "gpt2");
    if (st == PRESSO_OK && !spm) st = presso_gguf_writer_set_string(w, "tokenizer.ggml.pre", t->pre_name);
    if (st == PRESSO_OK) st = presso_gguf_writer_set_array_string(w, "tokenizer.ggml.tokens", texts, lens, (uint64_t)n);
    if (st == PRESSO_OK && spm)
        st = presso_gguf_writer_set_array(w, "tokenizer.ggml.scores", PRESSO_GGUF_FLOAT32, score, (uint64_t)n);
    if (st == PRESSO_OK)
        st = presso_gguf_writer_set_array(w, "tokenizer.ggml.token_type", PRESSO_GGUF_INT32, t->type, (uint64_t)n);
    if (st == PRESSO_OK && !spm) {
        char **m = calloc(t->n_merges ? (size_t)t->n_merges : 1, sizeof *m);
        if (!m) st = presso_fail(PRESSO_ERR_NOMEM, "tokenizer: out of memory writing merges");
        for (int32_t i = 0; st == PRESSO_OK && i < t->n_merges; i++) {
            uint32_t a = t->length[t->merge_left[i]], b = t->length[t->merge_right[i]];
            m[i] = malloc((size_t)a + b + 2);
            if (!m[i]) {
                st = presso_fail(PRESSO_ERR_NOMEM, "tokenizer: out of memory writing merges");
                break;
            }
            memcpy(m[i], t->blob + t->offset[t->merge_left[i]], a);
            m[i][a] = ' ';
            memcpy(m[i] + a + 1, t->blob + t->offset[t->merge_right[i]], b);
            m[i][a + b + 1] = '\0';
        }
        if (st == PRESSO_OK)
            st = presso_gguf_writer_set_array_string(w, "tokenizer.ggml.merges", (const char *const *)m, NULL,
                                                     (uint64_t)t->n_merges);
        for (int32_t i = 0; i < t->n_merges; i++) free(m[i]);
        free(m);
    }
    /* absent ids are left out (llama.cpp then applies its defaults) */
    if (st == PRESSO_OK && t->bos >= 0) st = presso_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)t->bos);
    if (st == PRESSO_OK && t->eos >= 0) st = presso_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)t->eos);
    if (st == PRESSO_OK && t->unk >= 0)
        st = presso_gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", (uint32_t)t->unk);
    if (st == PRESSO_OK && t->pad >= 0)
        st = presso_gguf_writer_set_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)t->pad);
    if (st == PRESSO_OK) st = presso_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", t->add_bos);
    if (st == PRESSO_OK) st = presso_gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", t->add_eos);
    if (st == PRESSO_OK && spm) st = presso_gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", t->add_space_prefix);
    free(texts);
    free(lens);
    free(score);
    free(esc);
    return st;
}
