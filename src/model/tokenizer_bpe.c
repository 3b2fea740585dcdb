/* Rank-driven BPE: repeatedly apply the lowest-rank merge among adjacent
 * symbols, leftmost on ties (HF tokenizers Word::merge_all, llama.cpp
 * llm_tokenizer_bpe_session). Used for the "▁" BPE of HF tokenizer.json and
 * for byte-level BPE, where the GPT-2 pre-tokenizer splits the text into
 * words first and merges never cross a word. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/tokenizer_impl.h"
#include "model/unicode.h"

typedef struct {
    int32_t *id, *prev, *next;
    uint8_t *alive;
    presso_tok_heap heap;
} bpe_work;

static presso_status work_alloc(bpe_work *w, int64_t n) {
    size_t m = n > 0 ? (size_t)n : 1;
    w->id = malloc(m * sizeof *w->id);
    w->prev = malloc(m * sizeof *w->prev);
    w->next = malloc(m * sizeof *w->next);
    w->alive = malloc(m);
    if (!w->id || !w->prev || !w->next || !w->alive)
        return presso_fail(PRESSO_ERR_NOMEM, "tokenizer: out of memory for %lld symbols", (long long)n);
    return PRESSO_OK;
}

static void work_free(bpe_work *w) {
    free(w->id);
    free(w->prev);
    free(w->next);
    free(w->alive);
    free(w->heap.v);
}

static presso_status push_pair(const presso_tokenizer *t, bpe_work *w, int32_t l, int32_t r) {
    int32_t rank, result;
    if (l < 0 || r < 0 || !presso_tok_find_merge(t, w->id[l], w->id[r], &rank, &result)) return PRESSO_OK;
    presso_tok_cand c = presso_tok_make_cand((uint32_t)rank, l, r, result);
    return presso_tok_heap_push(&w->heap, c);
}

static bool mergeable(const presso_tokenizer *t, int32_t id) { return id >= 0 && t->can_merge[id]; }

/* Merges symbols w->id[0..n) in place; the survivors are the chain from 0.
 * Runs between symbols that can never merge are merged one at a time. */
static presso_status bpe_merge(const presso_tokenizer *t, bpe_work *w, int32_t n) {
    presso_status st = PRESSO_OK;
    int32_t tail = -1; /* last survivor of the runs done so far */
    for (int32_t a = 0; st == PRESSO_OK && a < n;) {
        int32_t b = a + 1;
        if (mergeable(t, w->id[a]))
            while (b < n && mergeable(t, w->id[b])) b++;
        for (int32_t k = a; k < b; k++) {
            w->prev[k] = k - 1;
            w->next[k] = k + 1 < b ? k + 1 : -1;
            w->alive[k] = 1;
        }
        w->prev[a] = -1;
        w->heap.n = 0;
        for (int32_t k = a + 1; st == PRESSO_OK && k < b; k++) st = push_pair(t, w, k - 1, k);
        while (st == PRESSO_OK && w->heap.n > 0) {
            presso_tok_cand c = presso_tok_heap_pop(&w->heap);
            int32_t l = presso_tok_cand_left(c), r;
            if (!w->alive[l]) continue;
            if (t->hf_merge_check) {
                /* HF: the pair now at this position must still map to the
                 * same merge result */
                r = w->next[l];
                int32_t rank, result;
                if (r < 0 || !presso_tok_find_merge(t, w->id[l], w->id[r], &rank, &result) || result != c.aux)
                    continue;
            } else {
                /* llama.cpp: left text + right text must equal the merged
                 * text; the left start is fixed, so lengths suffice */
                r = c.right;
                if (!w->alive[r] || w->next[l] != r) continue;
                if (t->length[w->id[l]] + t->length[w->id[r]] != t->length[c.aux]) continue;
            }
            w->id[l] = c.aux;
            w->alive[r] = 0;
            w->next[l] = w->next[r];
            if (w->next[r] >= 0) w->prev[w->next[r]] = l;
            st = push_pair(t, w, w->prev[l], l);
            if (st == PRESSO_OK) st = push_pair(t, w, l, w->next[l]);
        }
        if (tail >= 0) {
            w->next[tail] = a;
            w->prev[a] = tail;
        }
        for (tail = a; w->next[tail] >= 0;) tail = w->next[tail];
        a = b;
    }
    return st;
}

/* ---- HF BPE with the Prepend("▁") + Replace(" ", "▁") normalizer ---- */

presso_status presso_tok_encode_hf_spm(const presso_tokenizer *t, const char *text, size_t len, presso_idvec *out) {
    size_t cap = (len + 1) * 3;
    char *norm = malloc(cap);
    if (!norm) return presso_fail(PRESSO_ERR_NOMEM, "tokenizer: out of memory");
    size_t m = 0;
    memcpy(norm, "\xe2\x96\x81", 3); /* Prepend only touches non-empty text; len > 0 here */
    m = 3;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(norm + m, "\xe2\x96\x81", 3);
            m += 3;
        } else {
            norm[m++] = text[i];
        }
    }
    presso_status st;
    if (t->ignore_merges) {
        int32_t id = presso_tok_lookup(t, norm, m);
        if (id >= 0) {
            free(norm);
            return presso_idvec_push(out, id);
        }
    }
    bpe_work w = {0};
    st = work_alloc(&w, (int64_t)m);
    int32_t n = 0;
    /* BPE::merge_word: chars in vocab, else their <0xXX> tokens when all
     * exist, else unk (consecutive unks fused into one with fuse_unk). */
    int32_t pending_unk = 0; /* 1 while an unk waits to be added */
    const uint8_t *u = (const uint8_t *)norm;
    for (size_t i = 0; st == PRESSO_OK && i < m;) {
        size_t used;
        presso_utf8_decode(u + i, m - i, &used);
        int32_t id = presso_tok_lookup(t, norm + i, used);
        if (id >= 0) {
            if (pending_unk) {
                w.id[n++] = t->hf_unk;
                pending_unk = 0;
            }
            w.id[n++] = id;
        } else {
            bool done = false;
            if (t->byte_fallback) {
                bool all = true;
                for (size_t k = 0; k < used; k++) all = all && t->byte_token[u[i + k]] >= 0;
                if (all) {
                    /* HF leaves a pending unk pending here, so it lands
                     * after these bytes; keep that order */
                    for (size_t k = 0; k < used; k++) w.id[n++] = t->byte_token[u[i + k]];
                    done = true;
                }
            }
            if (!done && t->hf_unk >= 0) {
                if (pending_unk && !t->fuse_unk) w.id[n++] = t->hf_unk;
                pending_unk = 1;
            }
        }
        i += used;
    }
    if (pending_unk) w.id[n++] = t->hf_unk;
    if (st == PRESSO_OK) st = bpe_merge(t, &w, n);
    for (int32_t k = 0; st == PRESSO_OK && n > 0 && k >= 0; k = w.next[k]) st = presso_idvec_push(out, w.id[k]);
    work_free(&w);
    free(norm);
    return st;
}

/* ---- byte-level BPE ---- */

/* llama.cpp unicode_regex_split_custom_gpt2 over cps[ini, end): the GPT-2
 * pattern 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * Lookahead stops at the chunk end. Appends word end positions to ends. */
static presso_status split_gpt2(const uint32_t *cps, const uint8_t *cls, int64_t ini, int64_t end, int64_t **ends,
                                int64_t *n_ends, int64_t *cap_ends) {
#define CLS(p) ((p) >= ini && (p) < end ? (int)cls[p] : -1)
    int64_t pos = ini;
    while (pos < end) {
        uint32_t c = cps[pos];
        int64_t stop = -1;
        if (c == '\'' && pos + 1 < end) {
            uint32_t c1 = cps[pos + 1];
            if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
                stop = pos + 2;
            } else if (pos + 2 < end) {
                uint32_t c2 = cps[pos + 2];
                if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) stop = pos + 3;
            }
        }
        if (stop < 0) {
            int k2 = c == ' ' ? CLS(pos + 1) : CLS(pos);
            if (k2 == PRESSO_UC_LETTER || k2 == PRESSO_UC_NUMBER || k2 == PRESSO_UC_OTHER) {
                int64_t p = pos + (c == ' ');
                do p++;
                while (CLS(p) == k2);
                stop = p;
            } else {
                int64_t nws = 0;
                while (CLS(pos + nws) == PRESSO_UC_SPACE) nws++;
                if (nws > 1 && pos + nws < end) stop = pos + nws - 1; /* \s+(?!\S) */
                else if (nws > 0) stop = pos + nws;
                else stop = pos + 1;
            }
        }
        if (*n_ends == *cap_ends) {
            int64_t cap = *cap_ends ? *cap_ends * 2 : 256;
            int64_t *v = realloc(*ends, (size_t)cap * sizeof *v);
            if (!v) return presso_fail(PRESSO_ERR_NOMEM, "tokenizer: out of memory splitting words");
            *ends = v;
            *cap_ends = cap;
        }
        (*ends)[(*n_ends)++] = stop;
        pos = stop;
    }
#undef CLS
    return PRESSO_OK;
}

presso_status presso_tok_encode_gpt2(const presso_tokenizer *t, const char *text, size_t len, presso_idvec *out) {
    const uint8_t *u = (const uint8_t *)text;
    size_t plen = len + (t->hf_add_prefix_space && len > 0 && text[0] != ' ');
    uint32_t *cps = malloc((plen + 1) * sizeof *cps);
    uint8_t *cls = malloc(plen + 1);
    int64_t *ends = NULL, n_ends = 0, cap_ends = 0;
    uint8_t *bytes = NULL;
    int64_t *cp_byte = NULL;
    bpe_work w = {0};
    presso_status st = PRESSO_OK;
    if (!cps || !cls) st = presso_fail(PRESSO_ERR_NOMEM, "tokenizer: out of memory");
    int64_t n = 0;
    if (st == PRESSO_OK && plen > len) cps[n++] = ' ';
    for (size_t i = 0; st == PRESSO_OK && i < len;) {
        size_t used;
        cps[n++] = presso_utf8_decode(u + i, len - i, &used);
        i += used;
    }
    for (int64_t i = 0; st == PRESSO_OK && i < n; i++) cls[i] = (uint8_t)presso_unicode_class_of(cps[i]);
    /* chunks: with digit splitting every \p{N} is a chunk of its own */
    int64_t start = 0;
    for (int64_t i = 0; st == PRESSO_OK && i <= n; i++) {
        bool cut = i == n || (t->pre == PRESSO_PRE_DIGITS && cls[i] == PRESSO_UC_NUMBER);
        if (!cut) continue;
        if (i > start) st = split_gpt2(cps, cls, start, i, &ends, &n_ends, &cap_ends);
        if (st == PRESSO_OK && i < n) st = split_gpt2(cps, cls, i, i + 1, &ends, &n_ends, &cap_ends);
        start = i + 1;
    }
    /* re-encode (invalid input became U+FFFD, as in llama.cpp) */
    if (st == PRESSO_OK) {
        bytes = malloc((size_t)n * 4 + 1);
        cp_byte = malloc(((size_t)n + 1) * sizeof *cp_byte);
        if (!bytes || !cp_byte) st = presso_fail(PRESSO_ERR_NOMEM, "tokenizer: out of memory");
    }
    int64_t nb = 0;
    for (int64_t i = 0; st == PRESSO_OK && i < n; i++) {
        cp_byte[i] = nb;
        nb += (int64_t)presso_utf8_encode(cps[i], bytes + nb);
    }
    if (st == PRESSO_OK) {
        cp_byte[n] = nb;
        int64_t maxw = 0, prev = 0;
        for (int64_t k = 0; k < n_ends; k++) {
            int64_t wb = cp_byte[ends[k]] - cp_byte[prev];
            if (wb > maxw) maxw = wb;
            prev = ends[k];
        }
        st = work_alloc(&w, maxw * 4 + 1);
    }
    char *mapped = NULL;
    if (st == PRESSO_OK && t->ignore_merges) {
        mapped = malloc((size_t)nb * 2 + 1);
        if (!mapped) st = presso_fail(PRESSO_ERR_NOMEM, "tokenizer: out of memory");
    }
    int64_t wstart = 0;
    for (int64_t k = 0; st == PRESSO_OK && k < n_ends; k++) {
        int64_t b0 = cp_byte[wstart], b1 = cp_byte[ends[k]];
        wstart = ends[k];
        if (mapped) {
            size_t ml = 0;
            for (int64_t b = b0; b < b1; b++) ml += presso_utf8_encode(presso_tok_byte_to_cp(bytes[b]), (uint8_t *)mapped + ml);
            int32_t id = presso_tok_lookup(t, mapped, ml);
            if (id >= 0) {
                st = presso_idvec_push(out, id);
                continue;
            }
        }
        int32_t m = (int32_t)(b1 - b0);
        for (int32_t j = 0; j < m; j++) w.id[j] = t->bytechar_token[bytes[b0 + j]];
        st = bpe_merge(t, &w, m);
        for (int32_t j = 0; st == PRESSO_OK && m > 0 && j >= 0; j = w.next[j]) {
            if (w.id[j] >= 0) {
                st = presso_idvec_push(out, w.id[j]);
                continue;
            }
            /* llama.cpp: a symbol that is no token goes out as the single-byte
             * tokens of its text, where those exist */
            uint8_t mb[4];
            size_t ml = presso_utf8_encode(presso_tok_byte_to_cp(bytes[b0 + j]), mb);
            for (size_t q = 0; st == PRESSO_OK && q < ml; q++) {
                int32_t id = presso_tok_lookup(t, (const char *)mb + q, 1);
                if (id >= 0) st = presso_idvec_push(out, id);
            }
        }
    }
    free(mapped);
    work_free(&w);
    free(cps);
    free(cls);
    free(ends);
    free(bytes);
    free(cp_byte);
    return st;
}
