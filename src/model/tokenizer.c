/* The tokenizer struct shared by every flavour: vocab and merge maps, the
 * public accessors, encode dispatch and the per-token decoder. Loaders live
 * in tokenizer_{llama2c,hf,gguf}.c, merge loops in tokenizer_{spm,bpe}.c. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/tokenizer_impl.h"
#include "model/unicode.h"

/* ---- small containers ---- */

presso_status presso_idvec_push(presso_idvec *a, int32_t id) {
    if (a->n == a->cap) {
        int64_t cap = a->cap ? a->cap * 2 : 64;
        int32_t *v = realloc(a->v, (size_t)cap * sizeof *v);
        if (!v) return presso_fail(PRESSO_ERR_NOMEM, "tokenizer: out of memory growing the id list");
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = id;
    return PRESSO_OK;
}

uint32_t presso_tok_score_priority(float score) {
    if (score != score) return UINT32_MAX; /* NaN: never before a real score */
    float f = -score;
    if (f == 0.0f) f = 0.0f; /* -0 == +0 in the references' float compare */
    uint32_t u;
    memcpy(&u, &f, 4);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* A 4-ary min-heap: a node's children share a cache line, which matters for
 * the single million-symbol "word" of the sentencepiece flavours. */
presso_status presso_tok_heap_push(presso_tok_heap *h, presso_tok_cand c) {
    if (h->n == h->cap) {
        int64_t cap = h->cap ? h->cap * 2 : 64;
        presso_tok_cand *v = realloc(h->v, (size_t)cap * sizeof *v);
        if (!v) return presso_fail(PRESSO_ERR_NOMEM, "tokenizer: out of memory growing the merge queue");
        h->v = v;
        h->cap = cap;
    }
    int64_t i = h->n++;
    while (i > 0) {
        int64_t p = (i - 1) / 4;
        if (h->v[p].key <= c.key) break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = c;
    return PRESSO_OK;
}

presso_tok_cand presso_tok_heap_pop(presso_tok_heap *h) {
    presso_tok_cand top = h->v[0];
    presso_tok_cand last = h->v[--h->n];
    int64_t i = 0;
    for (;;) {
        int64_t c = 4 * i + 1;
        if (c >= h->n) break;
        int64_t best = c, end = c + 4 < h->n ? c + 4 : h->n;
        for (int64_t k = c + 1; k < end; k++)
            if (h->v[k].key < h->v[best].key) best = k;
        if (h->v[best].key >= last.key) break;
        h->v[i] = h->v[best];
        i = best;
    }
    if (h->n > 0) h->v[i] = last;
    return top;
}

/* ---- construction ---- */

presso_tokenizer *presso_tok_new(presso_tok_kind kind, int32_t n_vocab) {
    presso_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->kind = kind;
    t->n_vocab = n_vocab;
    t->bos = t->eos = t->unk = t->pad = t->hf_unk = -1;
    for (int i = 0; i < 256; i++) t->byte_token[i] = t->bytechar_token[i] = -1;
    size_t n = n_vocab > 0 ? (size_t)n_vocab : 1;
    t->offset = calloc(n, sizeof *t->offset);
    t->length = calloc(n, sizeof *t->length);
    t->score = calloc(n, sizeof *t->score);
    t->type = calloc(n, sizeof *t->type);
    t->can_merge = calloc(n, 1);
    if (!t->offset || !t->length || !t->score || !t->type || !t->can_merge) {
        presso_tokenizer_free(t);
        return NULL;
    }
    for (int32_t i = 0; i < n_vocab; i++) t->type[i] = PRESSO_TOKTYPE_NORMAL;
    return t;
}

presso_status presso_tok_set_texts(presso_tokenizer *t, const char *const *texts, const uint32_t *lens) {
    uint64_t total = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) total += (uint64_t)lens[i] + 1;
    free(t->blob);
    t->blob = malloc(total ? total : 1);
    if (!t->blob) return presso_fail(PRESSO_ERR_NOMEM, "tokenizer: out of memory for %llu bytes of token text",
                                     (unsigned long long)total);
    uint64_t o = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        t->offset[i] = (int64_t)o;
        t->length[i] = lens[i];
        if (lens[i]) memcpy(t->blob + o, texts[i], lens[i]);
        t->blob[o + lens[i]] = '\0';
        o += (uint64_t)lens[i] + 1;
    }
    return PRESSO_OK;
}

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static uint64_t table_size(int64_t n) {
    uint64_t cap = 16;
    while (cap < (uint64_t)n * 2) cap <<= 1;
    return cap;
}

presso_status presso_tok_build_vocab(presso_tokenizer *t, bool last_wins) {
    uint64_t cap = table_size(t->n_vocab);
    free(t->vocab.slots);
    t->vocab.slots = malloc(cap * sizeof *t->vocab.slots);
    if (!t->vocab.slots) return presso_fail(PRESSO_ERR_NOMEM, "tokenizer: out of memory for the vocab map");
    memset(t->vocab.slots, 0xff, cap * sizeof *t->vocab.slots);
    t->vocab.mask = cap - 1;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        const char *s = t->blob + t->offset[i];
        size_t n = t->length[i];
        uint64_t h = hash_bytes(s, n) & t->vocab.mask;
        for (;;) {
            int32_t id = t->vocab.slots[h];
            if (id < 0) {
                t->vocab.slots[h] = i;
                break;
            }
            if (t->length[id] == n && memcmp(t->blob + t->offset[id], s, n) == 0) {
                if (last_wins) t->vocab.slots[h] = i;
                break;
            }
            h = (h + 1) & t->vocab.mask;
        }
    }
    static const char hex[] = "0123456789ABCDEF";
    for (int b = 0; b < 256; b++) {
        char name[6] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
        t->byte_token[b] = presso_tok_lookup(t, name, 6);
    }
    return PRESSO_OK;
}

int32_t presso_tok_lookup(const presso_tokenizer *t, const char *s, size_t n) {
    if (!t->vocab.slots) return -1;
    uint64_t h = hash_bytes(s, n) & t->vocab.mask;
    for (;;) {
        int32_t id = t->vocab.slots[h];
        if (id < 0) return -1;
        if (t->length[id] == n && memcmp(t->blob + t->offset[id], s, n) == 0) return id;
        h = (h + 1) & t->vocab.mask;
    }
}

presso_status presso_tok_alloc_merges(presso_tokenizer *t, int32_t n) {
    uint64_t cap = table_size(n);
    size_t m = n > 0 ? (size_t)n : 1;
    t->merge_left = malloc(m * sizeof(int32_t));
    t->merge_right = malloc(m * sizeof(int32_t));
    t->merge_result = malloc(m * sizeof(int32_t));
    t->merges.keys = calloc(cap, sizeof *t->merges.keys);
    t->merges.rank = malloc(cap * sizeof *t->merges.rank);
    t->merges.result = malloc(cap * sizeof *t->merges.result);
    if (!t->merge_left || !t->merge_right || !t->merge_result || !t->merges.keys || !t->merges.rank ||
        !t->merges.result)
        return presso_fail(PRESSO_ERR_NOMEM, "tokenizer: out of memory for %d merges", (int)n);
    t->merges.mask = cap - 1;
    t->n_merges = 0;
    return PRESSO_OK;
}

static uint64_t pair_hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
}

void presso_tok_add_merge(presso_tokenizer *t, int32_t rank, int32_t left, int32_t right, int32_t result,
                          bool first_wins) {
    t->merge_left[t->n_merges] = left;
    t->merge_right[t->n_merges] = right;
    t->merge_result[t->n_merges] = result;
    t->n_merges++;
    t->can_merge[left] = t->can_merge[right] = 1;
    uint64_t key = (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
    uint64_t h = pair_hash(key) & t->merges.mask;
    while (t->merges.keys[h] && t->merges.keys[h] != key) h = (h + 1) & t->merges.mask;
    if (t->merges.keys[h] && first_wins) return;
    t->merges.keys[h] = key;
    t->merges.rank[h] = rank;
    t->merges.result[h] = result;
}

bool presso_tok_find_merge(const presso_tokenizer *t, int32_t left, int32_t right, int32_t *rank,
                           int32_t *result) {
    if (!t->merges.keys || left < 0 || right < 0) return false;
    uint64_t key = (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
    uint64_t h = pair_hash(key) & t->merges.mask;
    while (t->merges.keys[h]) {
        if (t->merges.keys[h] == key) {
            *rank = t->merges.rank[h];
            *result = t->merges.result[h];
            return true;
        }
        h = (h + 1) & t->merges.mask;
    }
    return false;
}

presso_status presso_tok_build_can_merge_spm(presso_tokenizer *t) {
    memset(t->can_merge, 0, (size_t)t->n_vocab);
    for (int32_t i = 0; i < t->n_vocab; i++) {
        const char *s = t->blob + t->offset[i];
        for (uint32_t k = 1; k < t->length[i]; k++) {
            int32_t a = presso_tok_lookup(t, s, k), b = presso_tok_lookup(t, s + k, t->length[i] - k);
            if (a >= 0) t->can_merge[a] = 1;
            if (b >= 0) t->can_merge[b] = 1;
        }
    }
    return PRESSO_OK;
}

presso_status presso_tok_build_user(presso_tokenizer *t) {
    free(t->user);
    t->user = NULL;
    t->n_user = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) t->n_user += t->type[i] == PRESSO_TOKTYPE_USER_DEFINED;
    if (!t->n_user) return PRESSO_OK;
    t->user = malloc((size_t)t->n_user * sizeof *t->user);
    if (!t->user) return presso_fail(PRESSO_ERR_NOMEM, "tokenizer: out of memory");
    int32_t k = 0;
    for (int32_t i = 0; i < t->n_vocab; i++)
        if (t->type[i] == PRESSO_TOKTYPE_USER_DEFINED) t->user[k++] = i;
    /* longest first, then by id (insertion sort: few such tokens) */
    for (int32_t i = 1; i < t->n_user; i++) {
        int32_t x = t->user[i], j = i;
        while (j > 0 && t->length[t->user[j - 1]] < t->length[x]) {
            t->user[j] = t->user[j - 1];
            j--;
        }
        t->user[j] = x;
    }
    return PRESSO_OK;
}

/* GPT-2 bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the
 * other 68 are shifted to U+0100.. in byte order. */
uint32_t presso_tok_byte_to_cp(uint8_t b) {
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE)) return b;
    uint32_t n = 0;
    for (int c = 0; c < b; c++) {
        if (!((c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE))) n++;
    }
    return 256 + n;
}

static int cp_to_byte(uint32_t cp) {
    if (cp < 256) {
        uint8_t b = (uint8_t)cp;
        return presso_tok_byte_to_cp(b) == cp ? (int)b : -1;
    }
    if (cp >= 256 + 68) return -1;
    uint32_t n = 0;
    for (int c = 0; c < 256; c++) {
        if (presso_tok_byte_to_cp((uint8_t)c) >= 256) {
            if (n == cp - 256) return c;
            n++;
        }
    }
    return -1;
}

void presso_tok_build_bytechars(presso_tokenizer *t) {
    for (int b = 0; b < 256; b++) {
        uint8_t u[4];
        size_t n = presso_utf8_encode(presso_tok_byte_to_cp((uint8_t)b), u);
        t->bytechar_token[b] = presso_tok_lookup(t, (const char *)u, n);
    }
}

/* ---- public API ---- */

void presso_tokenizer_free(presso_tokenizer *t) {
    if (!t) return;
    free(t->blob);
    free(t->offset);
    free(t->length);
    free(t->score);
    free(t->type);
    free(t->can_merge);
    free(t->user);
    free(t->vocab.slots);
    free(t->merge_left);
    free(t->merge_right);
    free(t->merge_result);
    free(t->merges.keys);
    free(t->merges.rank);
    free(t->merges.result);
    free(t);
}

int32_t presso_tokenizer_vocab_size(const presso_tokenizer *t) { return t->n_vocab; }
int32_t presso_tokenizer_bos(const presso_tokenizer *t) { return t->bos; }
int32_t presso_tokenizer_eos(const presso_tokenizer *t) { return t->eos; }
int32_t presso_tokenizer_unk(const presso_tokenizer *t) { return t->unk; }
bool presso_tokenizer_adds_bos(const presso_tokenizer *t) { return t->add_bos && t->bos >= 0; }

const char *presso_tokenizer_kind_name(const presso_tokenizer *t) {
    switch (t->kind) {
    case PRESSO_TOK_LLAMA2C: return "llama2c-spm";
    case PRESSO_TOK_SPM: return "gguf-spm";
    case PRESSO_TOK_HF_SPM: return "hf-bpe-spm";
    case PRESSO_TOK_GPT2: return t->pre == PRESSO_PRE_DIGITS ? "gpt2-bpe (digits split)" : "gpt2-bpe";
    }
    return "?";
}

typedef struct {
    size_t off, len;
    int32_t token; /* >= 0: a user-defined token; else raw text */
} fragment;

/* Splits text at occurrences of user-defined tokens, longest token first,
 * leftmost occurrence first (llama.cpp tokenizer_st_partition). */
static presso_status partition(const presso_tokenizer *t, const char *text, size_t len, fragment **out,
                               int64_t *n_out) {
    int64_t n = 1, cap = 16;
    fragment *f = malloc((size_t)cap * sizeof *f);
    if (!f) return presso_fail(PRESSO_ERR_NOMEM, "tokenizer: out of memory");
    f[0] = (fragment){0, len, -1};
    for (int32_t u = 0; u < t->n_user; u++) {
        int32_t id = t->user[u];
        const char *s = t->blob + t->offset[id];
        size_t sl = t->length[id];
        if (sl == 0) continue;
        for (int64_t i = 0; i < n; i++) {
            if (f[i].token >= 0 || f[i].len < sl) continue;
            const char *hit = memmem(text + f[i].off, f[i].len, s, sl);
            if (!hit) continue;
            if (n + 2 > cap) {
                cap *= 2;
                fragment *g = realloc(f, (size_t)cap * sizeof *f);
                if (!g) {
                    free(f);
                    return presso_fail(PRESSO_ERR_NOMEM, "tokenizer: out of memory");
                }
                f = g;
            }
            size_t at = (size_t)(hit - text);
            fragment left = {f[i].off, at - f[i].off, -1}, tok = {at, sl, id};
            fragment right = {at + sl, f[i].off + f[i].len - at - sl, -1};
            int64_t add = (left.len > 0) + 1 + (right.len > 0);
            memmove(f + i + add, f + i + 1, (size_t)(n - i - 1) * sizeof *f);
            int64_t k = i;
            if (left.len > 0) f[k++] = left;
            f[k++] = tok;
            if (right.len > 0) f[k] = right;
            n += add - 1;
            i = k - 1; /* continue with the right part */
        }
    }
    *out = f;
    *n_out = n;
    return PRESSO_OK;
}

static presso_status encode_raw(const presso_tokenizer *t, const char *text, size_t len, bool space_prefix,
                                presso_idvec *out) {
    switch (t->kind) {
    case PRESSO_TOK_SPM: {
        /* llama.cpp: the "▁" prefix goes on text that starts the input or
         * follows a special token */
        presso_tokenizer tmp = *t;
        tmp.add_space_prefix = t->add_space_prefix && space_prefix;
        return presso_tok_encode_spm(&tmp, text, len, out);
    }
    case PRESSO_TOK_HF_SPM: return presso_tok_encode_hf_spm(t, text, len, out);
    case PRESSO_TOK_GPT2: return presso_tok_encode_gpt2(t, text, len, out);
    default: return presso_fail(PRESSO_ERR_INTERNAL, "tokenizer: bad kind %d", (int)t->kind);
    }
}

presso_status presso_tokenizer_encode(const presso_tokenizer *t, const char *text, size_t len, bool add_bos,
                                      int32_t **ids, int64_t *n_ids) {
    *ids = NULL;
    *n_ids = 0;
    if (!text && len) return presso_fail(PRESSO_ERR_INVALID_ARG, "tokenizer: NULL text with length %zu", len);
    presso_idvec out = {0};
    presso_status st = PRESSO_OK;
    bool bos = add_bos && t->bos >= 0;
    if (t->kind == PRESSO_TOK_LLAMA2C) {
        /* run.c merges across BOS too, so BOS goes into the merge loop */
        st = presso_tok_encode_llama2c(t, text, len, bos, &out);
    } else {
        if (bos) st = presso_idvec_push(&out, t->bos);
        if (st == PRESSO_OK && len > 0) {
            if (t->n_user == 0) {
                st = encode_raw(t, text, len, true, &out);
            } else {
                fragment *f = NULL;
                int64_t nf = 0;
                st = partition(t, text, len, &f, &nf);
                bool prev_special = true;
                for (int64_t i = 0; st == PRESSO_OK && i < nf; i++) {
                    if (f[i].token >= 0) {
                        st = presso_idvec_push(&out, f[i].token);
                        prev_special = true;
                    } else {
                        st = encode_raw(t, text + f[i].off, f[i].len, prev_special, &out);
                        prev_special = false;
                    }
                }
                free(f);
            }
        }
    }
    if (st != PRESSO_OK) {
        free(out.v);
        return st;
    }
    if (!out.v) out.v = malloc(sizeof(int32_t)); /* a valid pointer even for no ids */
    if (!out.v) return presso_fail(PRESSO_ERR_NOMEM, "tokenizer: out of memory");
    *ids = out.v;
    *n_ids = out.n;
    return PRESSO_OK;
}

static size_t put(char *buf, size_t cap, size_t n, const char *s, size_t k) {
    for (size_t i = 0; i < k && n + i < cap; i++) buf[n + i] = s[i];
    return n + k < cap ? n + k : cap;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* "<0xXX>" -> XX, else -1. */
static int byte_piece(const char *s, size_t n) {
    if (n != 6 || s[0] != '<' || s[1] != '0' || s[2] != 'x' || s[5] != '>') return -1;
    int hi = hexval(s[3]), lo = hexval(s[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

size_t presso_tokenizer_decode(const presso_tokenizer *t, int32_t prev, int32_t id, char *buf, size_t cap) {
    if (id < 0 || id >= t->n_vocab) return 0;
    const char *s = t->blob + t->offset[id];
    size_t n = t->length[id];
    int type = t->type[id];
    if (type == PRESSO_TOKTYPE_CONTROL || type == PRESSO_TOKTYPE_UNKNOWN || type == PRESSO_TOKTYPE_UNUSED)
        return 0;
    size_t out = 0;
    if (type == PRESSO_TOKTYPE_USER_DEFINED) return put(buf, cap, 0, s, n);
    if (t->kind == PRESSO_TOK_GPT2) {
        for (size_t i = 0; i < n;) {
            size_t used;
            uint32_t cp = presso_utf8_decode((const uint8_t *)s + i, n - i, &used);
            int b = cp_to_byte(cp);
            if (b >= 0) {
                char c = (char)b;
                out = put(buf, cap, out, &c, 1);
            } else {
                out = put(buf, cap, out, s + i, used);
            }
            i += used;
        }
        return out;
    }
    int b = byte_piece(s, n);
    if (type == PRESSO_TOKTYPE_BYTE || (t->kind == PRESSO_TOK_LLAMA2C && b >= 0)) {
        if (b < 0) return 0;
        char c = (char)b;
        return put(buf, cap, 0, &c, 1);
    }
    /* The dummy-prefix space is dropped after BOS (sentencepiece; run.c
     * decode()); the "▁"-prefix flavours also drop it at the very start. */
    bool strip = prev >= 0 && prev == t->bos;
    if (t->kind != PRESSO_TOK_LLAMA2C && prev < 0) strip = true;
    if (t->kind == PRESSO_TOK_SPM && !t->add_space_prefix) strip = false;
    for (size_t i = 0; i < n;) {
        if (t->kind != PRESSO_TOK_LLAMA2C && i + 3 <= n && memcmp(s + i, "\xe2\x96\x81", 3) == 0) {
            if (!(strip && out == 0)) out = put(buf, cap, out, " ", 1);
            strip = false;
            i += 3;
            continue;
        }
        if (strip && out == 0 && s[i] == ' ') {
            strip = false;
            i++;
            continue;
        }
        strip = false;
        out = put(buf, cap, out, s + i, 1);
        i++;
    }
    return out;
}

size_t presso_tokenizer_max_piece_len(const presso_tokenizer *t) {
    size_t m = 1;
    for (int32_t i = 0; i < t->n_vocab; i++)
        if (t->length[i] > m) m = t->length[i];
    return m;
}

int32_t presso_tokenizer_token_id(const presso_tokenizer *t, const char *text) {
    return presso_tok_lookup(t, text, strlen(text));
}
