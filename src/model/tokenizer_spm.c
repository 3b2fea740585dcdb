/* Score-driven merging (sentencepiece BPE as llama2.c and llama.cpp do it):
 * repeatedly merge the adjacent pair whose concatenation is the vocab token
 * with the highest score, leftmost on ties. A heap over candidate pairs with
 * lazy invalidation gives the same order as run.c's O(n^2) rescans. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/tokenizer_impl.h"
#include "model/unicode.h"

typedef struct {
    int32_t *prev, *next;
    int32_t *id;      /* llama2c: current token id */
    int64_t *start;   /* spm: byte offset in the escaped text */
    int64_t *len;     /* spm: byte length */
} symbols;

static void symbols_free(symbols *s) {
    free(s->prev);
    free(s->next);
    free(s->id);
    free(s->start);
    free(s->len);
}

static presso_status symbols_alloc(symbols *s, int64_t n) {
    size_t m = n > 0 ? (size_t)n : 1;
    s->prev = malloc(m * sizeof *s->prev);
    s->next = malloc(m * sizeof *s->next);
    s->id = malloc(m * sizeof *s->id);
    s->start = malloc(m * sizeof *s->start);
    s->len = malloc(m * sizeof *s->len);
    if (!s->prev || !s->next || !s->id || !s->start || !s->len)
        return presso_fail(PRESSO_ERR_NOMEM, "tokenizer: out of memory for %lld symbols", (long long)n);
    return PRESSO_OK;
}

/* ---- llama2.c run.c encode() ---- */

/* The token whose text is vocab[a] + vocab[b], or -1 (run.c sprintf +
 * str_lookup: pairs are judged by token text, byte tokens included). */
static int32_t pair_token(const presso_tokenizer *t, int32_t a, int32_t b, char *scratch) {
    size_t na = t->length[a], nb = t->length[b];
    memcpy(scratch, t->blob + t->offset[a], na);
    memcpy(scratch + na, t->blob + t->offset[b], nb);
    return presso_tok_lookup(t, scratch, na + nb);
}

static presso_status llama2c_push_pair(const presso_tokenizer *t, presso_tok_heap *h, const symbols *s, int32_t l,
                                       int32_t r, char *scratch) {
    if (l < 0 || r < 0) return PRESSO_OK;
    int32_t id = pair_token(t, s->id[l], s->id[r], scratch);
    /* run.c starts best_score at -1e10 and needs a strictly greater score */
    if (id < 0 || !(t->score[id] > -1e10f)) return PRESSO_OK;
    presso_tok_cand c = presso_tok_make_cand(presso_tok_score_priority(t->score[id]), l, r, id);
    return presso_tok_heap_push(h, c);
}

presso_status presso_tok_encode_llama2c(const presso_tokenizer *t, const char *text, size_t len, bool bos,
                                        presso_idvec *out) {
    int64_t cap = (int64_t)len + 2;
    symbols s = {0};
    presso_tok_heap h = {0};
    size_t maxlen = 0;
    for (int32_t i = 0; i < t->n_vocab; i++)
        if (t->length[i] > maxlen) maxlen = t->length[i];
    char *scratch = malloc(2 * maxlen + 1);
    presso_status st = symbols_alloc(&s, cap);
    if (st == PRESSO_OK && !scratch) st = presso_fail(PRESSO_ERR_NOMEM, "tokenizer: out of memory");
    int64_t n = 0;
    if (st == PRESSO_OK && bos) s.id[n++] = t->bos;
    if (st == PRESSO_OK && len > 0) {
        int32_t space = presso_tok_lookup(t, " ", 1);
        if (space < 0) st = presso_fail(PRESSO_ERR_FORMAT, "llama2.c tokenizer: no \" \" token for the dummy prefix");
        else s.id[n++] = space;
    }
    /* run.c: gather a lead byte and up to 3 continuation bytes, look the
     * group up, else emit each byte as token byte + 3. */
    const uint8_t *u = (const uint8_t *)text;
    size_t i = 0;
    while (st == PRESSO_OK && i < len) {
        size_t g = 1;
        while (i + g < len && (u[i + g] & 0xC0) == 0x80 && g < 4) g++;
        int32_t id = presso_tok_lookup(t, text + i, g);
        if (id >= 0) {
            s.id[n++] = id;
        } else {
            /* at most one id per input byte, so cap = len + 2 holds them all */
            for (size_t k = 0; k < g; k++) {
                int32_t b = (int32_t)u[i + k] + 3;
                if (b >= t->n_vocab) {
                    st = presso_fail(PRESSO_ERR_FORMAT, "llama2.c tokenizer: byte fallback id %d outside vocab of %d",
                                     (int)b, (int)t->n_vocab);
                    break;
                }
                s.id[n++] = b;
            }
        }
        i += g;
    }
    int32_t tail = -1;
    for (int32_t a = 0; st == PRESSO_OK && a < (int32_t)n;) {
        int32_t b = a + 1;
        if (t->can_merge[s.id[a]])
            while (b < (int32_t)n && t->can_merge[s.id[b]]) b++;
        for (int32_t k = a; k < b; k++) {
            s.prev[k] = k - 1;
            s.next[k] = k + 1 < b ? k + 1 : -1;
            s.len[k] = 1; /* alive */
        }
        s.prev[a] = -1;
        h.n = 0;
        for (int32_t k = a + 1; st == PRESSO_OK && k < b; k++) st = llama2c_push_pair(t, &h, &s, k - 1, k, scratch);
        while (st == PRESSO_OK && h.n > 0) {
            presso_tok_cand c = presso_tok_heap_pop(&h);
            int32_t l = presso_tok_cand_left(c), r = c.right;
            if (!s.len[l] || !s.len[r] || s.next[l] != r) continue;
            /* left only grows by absorbing right, so equal total length means
             * the pair is still the one this candidate was made for */
            if (t->length[s.id[l]] + t->length[s.id[r]] != t->length[c.aux]) continue;
            s.id[l] = c.aux;
            s.len[r] = 0;
            s.next[l] = s.next[r];
            if (s.next[r] >= 0) s.prev[s.next[r]] = l;
            st = llama2c_push_pair(t, &h, &s, s.prev[l], l, scratch);
            if (st == PRESSO_OK) st = llama2c_push_pair(t, &h, &s, l, s.next[l], scratch);
        }
        if (tail >= 0) {
            s.next[tail] = a;
            s.prev[a] = tail;
        }
        for (tail = a; s.next[tail] >= 0;) tail = s.next[tail];
        a = b;
    }
    for (int32_t k = 0; st == PRESSO_OK && n > 0 && k >= 0; k = s.next[k]) st = presso_idvec_push(out, s.id[k]);
    symbols_free(&s);
    free(h.v);
    free(scratch);
    return st;
}

/* ---- llama.cpp llm_tokenizer_spm ---- */

static presso_status spm_push_pair(const presso_tokenizer *t, presso_tok_heap *h, const symbols *s,
                                   const char *text, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return PRESSO_OK;
    int64_t size = s->len[l] + s->len[r];
    int32_t id = presso_tok_lookup(t, text + s->start[l], (size_t)size);
    if (id < 0) return PRESSO_OK;
    presso_tok_cand c = presso_tok_make_cand(presso_tok_score_priority(t->score[id]), l, r, (int32_t)size);
    return presso_tok_heap_push(h, c);
}

presso_status presso_tok_encode_spm(const presso_tokenizer *t, const char *text, size_t len, presso_idvec *out) {
    /* " " prefix (add_space_prefix), then every space becomes U+2581 */
    size_t cap = (len + 1) * 3;
    char *esc = malloc(cap);
    if (!esc) return presso_fail(PRESSO_ERR_NOMEM, "tokenizer: out of memory");
    size_t m = 0;
    if (t->add_space_prefix) {
        memcpy(esc, "\xe2\x96\x81", 3);
        m = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(esc + m, "\xe2\x96\x81", 3);
            m += 3;
        } else {
            esc[m++] = text[i];
        }
    }
    symbols s = {0};
    presso_tok_heap h = {0};
    presso_status st = symbols_alloc(&s, (int64_t)m);
    int32_t n = 0;
    for (size_t o = 0; st == PRESSO_OK && o < m; n++) {
        size_t k = presso_utf8_len_from_lead((uint8_t)esc[o]);
        if (k > m - o) k = m - o;
        s.start[n] = (int64_t)o;
        s.len[n] = (int64_t)k;
        s.id[n] = presso_tok_lookup(t, esc + o, k);
        o += k;
    }
    /* a symbol whose token is never part of a longer token splits the text */
    int32_t tail = -1;
    for (int32_t a = 0; st == PRESSO_OK && a < n;) {
        int32_t b = a + 1;
        if (s.id[a] < 0 || t->can_merge[s.id[a]])
            while (b < n && (s.id[b] < 0 || t->can_merge[s.id[b]])) b++;
        for (int32_t k = a; k < b; k++) {
            s.prev[k] = k - 1;
            s.next[k] = k + 1 < b ? k + 1 : -1;
        }
        s.prev[a] = -1;
        h.n = 0;
        for (int32_t k = a + 1; st == PRESSO_OK && k < b; k++) st = spm_push_pair(t, &h, &s, esc, k - 1, k);
        while (st == PRESSO_OK && h.n > 0) {
            presso_tok_cand c = presso_tok_heap_pop(&h);
            int32_t l = presso_tok_cand_left(c), r = c.right;
            if (!s.len[l] || !s.len[r] || s.len[l] + s.len[r] != c.aux) continue;
            s.len[l] += s.len[r];
            s.len[r] = 0;
            s.next[l] = s.next[r];
            if (s.next[r] >= 0) s.prev[s.next[r]] = l;
            st = spm_push_pair(t, &h, &s, esc, s.prev[l], l);
            if (st == PRESSO_OK) st = spm_push_pair(t, &h, &s, esc, l, s.next[l]);
        }
        if (tail >= 0) {
            s.next[tail] = a;
            s.prev[a] = tail;
        }
        for (tail = a; s.next[tail] >= 0;) tail = s.next[tail];
        a = b;
    }
    /* resegment: a symbol that is no token goes out byte by byte */
    for (int32_t k = 0; st == PRESSO_OK && n > 0 && k >= 0; k = s.next[k]) {
        int32_t id = presso_tok_lookup(t, esc + s.start[k], (size_t)s.len[k]);
        if (id >= 0) {
            st = presso_idvec_push(out, id);
            continue;
        }
        for (int64_t j = 0; st == PRESSO_OK && j < s.len[k]; j++) {
            uint8_t b = (uint8_t)esc[s.start[k] + j];
            int32_t bt = t->byte_token[b];
            if (bt < 0) bt = presso_tok_lookup(t, (const char *)&b, 1);
            if (bt < 0) bt = t->unk; /* llama.cpp throws here (vocab without byte tokens) */
            if (bt >= 0) st = presso_idvec_push(out, bt);
        }
    }
    symbols_free(&s);
    free(h.v);
    free(esc);
    return st;
}
