/* Tokenizers: exact ids against reference goldens (tests/golden/tokens_*.txt
 * from tests/golden/make_token_golden.py), encode/decode round trips over
 * every shared data file, GGUF export/re-import, and hostile inputs. */
#define _POSIX_C_SOURCE 200809L
#include <glob.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "model/tokenizer.h"

#define ROUNDTRIP_PREFIX (200 * 1024)


static const char *DATA_FILES[] = {"tinystories/valid.txt", "tinystories/sample.txt", "wikitext-2/wiki.test.raw",
                                   "lambada/lambada_test.jsonl", "hellaswag/hellaswag_val.txt",
                                   "tasks/arc_easy.jsonl", "tasks/boolq.jsonl", "tasks/copa.jsonl",
                                   "tasks/openbookqa.jsonl", "tasks/piqa.jsonl"};
#define N_DATA (sizeof DATA_FILES / sizeof *DATA_FILES)


static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char *data_path(const char *rel) {
    static char buf[4][1024];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 1024, "%s/data/%s", PRESSO_SHARED_DIR, rel);
    return p;
}

static char *shared_path(const char *rel) {
    static char buf[4][1024];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 1024, "%s/%s", PRESSO_SHARED_DIR, rel);
    return p;
}

/* Decodes ids[from..n) with the previous id as context. */
static char *decode_all(const presso_tokenizer *t, const int32_t *ids, int64_t n, int64_t from, size_t *len) {
    size_t cap = presso_tokenizer_max_piece_len(t);
    char *out = malloc((size_t)(n + 1) * cap + 1);
    size_t m = 0;
    for (int64_t i = from; i < n; i++)
        m += presso_tokenizer_decode(t, i > 0 ? ids[i - 1] : -1, ids[i], out + m, cap);
    *len = m;
    return out;
}

/* encode -> decode gives the input back, on every data file (a prefix of the
 * big ones). */
static void check_roundtrip(const presso_tokenizer *t, const char *what, const char *only) {
    for (size_t f = 0; f < N_DATA; f++) {
        if (only && strcmp(DATA_FILES[f], only) != 0) continue;
        size_t size;
        char *text = presso_test_read_file(data_path(DATA_FILES[f]), &size);
        if (!text) continue;
        size_t len = size < ROUNDTRIP_PREFIX ? size : ROUNDTRIP_PREFIX;
        while (len < size && len > 0 && ((uint8_t)text[len] & 0xC0) == 0x80) len--; /* whole characters */
        int32_t *ids = NULL;
        int64_t n = 0;
        CHECK_OK(presso_tokenizer_encode(t, text, len, true, &ids, &n));
        int64_t from = n > 0 && ids[0] == presso_tokenizer_bos(t) ? 1 : 0;
        size_t dlen;
        char *dec = decode_all(t, ids, n, from, &dlen);
        size_t diff = 0;
        while (diff < len && diff < dlen && dec[diff] == text[diff]) diff++;
        CHECK_MSG(dlen == len && diff == len, "%s round trip of %s: %zu of %zu bytes agree (decoded %zu)", what,
                  DATA_FILES[f], diff, len, dlen);
        free(dec);
        free(ids);
        free(text);
    }
}

/* Compares ids with a golden file; returns the number of cases checked. */
static int check_golden(const presso_tokenizer *t, const char *golden, const char *what) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/golden/%s", PRESSO_SOURCE_DIR, golden);
    size_t size;
    char *g = presso_test_read_file(path, &size);
    CHECK_MSG(g != NULL, "missing golden file %s", path);
    if (!g) return 0;
    int cases = 0, bad = 0;
    char *save = NULL;
    for (char *line = strtok_r(g, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        *tab = '\0';
        char *input = NULL, *file = NULL;
        size_t len = 0;
        if (line[0] == 'H') {
            const char *hex = line + 2;
            len = strlen(hex) / 2;
            input = malloc(len + 1);
            for (size_t i = 0; i < len; i++) {
                unsigned v;
                sscanf(hex + 2 * i, "%2x", &v);
                input[i] = (char)v;
            }
        } else {
            char rel[256];
            long off, n;
            if (sscanf(line, "F %255s %ld %ld", rel, &off, &n) != 3) continue;
            size_t fsize;
            file = presso_test_read_file(data_path(rel), &fsize);
            if (!file || (size_t)(off + n) > fsize) {
                CHECK_MSG(0, "%s: golden slice %s %ld+%ld not readable", what, rel, off, n);
                free(file);
                continue;
            }
            input = file + off;
            len = (size_t)n;
        }
        int32_t want[4096];
        int nw = 0;
        for (char *p = tab + 1; *p && nw < 4096;) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p) break;
            want[nw++] = (int32_t)v;
            p = end;
        }
        int32_t *ids = NULL;
        int64_t n = 0;
        presso_status st = presso_tokenizer_encode(t, input, len, presso_tokenizer_adds_bos(t), &ids, &n);
        bool same = st == PRESSO_OK && n == nw && (n == 0 || memcmp(ids, want, (size_t)n * sizeof *ids) == 0);
        if (!same && bad++ < 5) {
            fprintf(stderr, "%s: %s: ids differ (%lld vs %d reference)\n  got:", what, line, (long long)n, nw);
            for (int64_t i = 0; i < n && i < 24; i++) fprintf(stderr, " %d", ids[i]);
            fprintf(stderr, "\n  ref:");
            for (int i = 0; i < nw && i < 24; i++) fprintf(stderr, " %d", want[i]);
            fprintf(stderr, "\n");
        }
        cases++;
        free(ids);
        if (file) free(file);
        else free(input);
    }
    CHECK_MSG(bad == 0, "%s: %d of %d golden cases differ from the reference", what, bad, cases);
    CHECK(cases > 100);
    printf("%s: %d golden cases, %d differ\n", what, cases, bad);
    free(g);
    return cases;
}

/* Encodes all of wiki.test.raw and reports the time (tests never fail on a
 * timing; the check is that the whole file encodes to a plausible count). */
static void time_wikitext(const presso_tokenizer *t, const char *what) {
    size_t size;
    char *text = presso_test_read_file(data_path("wikitext-2/wiki.test.raw"), &size);
    if (!text) return;
    int32_t *ids = NULL;
    int64_t n = 0;
    double t0 = now();
    clock_t c0 = clock();
    CHECK_OK(presso_tokenizer_encode(t, text, size, true, &ids, &n));
    double dt = now() - t0, cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    printf("%s: wiki.test.raw (%zu bytes) -> %lld tokens in %.3f s (%.3f s CPU)\n", what, size, (long long)n, dt, cpu);
    CHECK_MSG(n > 200000 && n < (int64_t)size, "%s: %lld tokens for %zu bytes", what, (long long)n, size);
    free(ids);
    free(text);
}

/* Two tokenizers give the same ids on every data file prefix. */
static void check_same_ids(const presso_tokenizer *a, const presso_tokenizer *b, const char *what) {
    for (size_t f = 0; f < N_DATA; f++) {
        size_t size;
        char *text = presso_test_read_file(data_path(DATA_FILES[f]), &size);
        if (!text) continue;
        size_t len = size < ROUNDTRIP_PREFIX ? size : ROUNDTRIP_PREFIX;
        while (len < size && len > 0 && ((uint8_t)text[len] & 0xC0) == 0x80) len--;
        int32_t *ia = NULL, *ib = NULL;
        int64_t na = 0, nb = 0;
        CHECK_OK(presso_tokenizer_encode(a, text, len, true, &ia, &na));
        CHECK_OK(presso_tokenizer_encode(b, text, len, true, &ib, &nb));
        int64_t k = 0;
        while (k < na && k < nb && ia[k] == ib[k]) k++;
        CHECK_MSG(na == nb && k == na, "%s: %s: ids differ at %lld (%lld vs %lld tokens)", what, DATA_FILES[f],
                  (long long)k, (long long)na, (long long)nb);
        free(ia);
        free(ib);
        free(text);
    }
}

/* The same, line by line, on the lines `a` encodes without <unk>: a vocab
 * without byte tokens cannot say those lines the sentencepiece way (llama.cpp
 * throws on them). Returns the number of lines compared. */
static int64_t check_same_ids_known_lines(const presso_tokenizer *a, const presso_tokenizer *b, const char *what) {
    int64_t lines = 0, bad = 0;
    for (size_t f = 0; f < N_DATA; f++) {
        size_t size;
        char *text = presso_test_read_file(data_path(DATA_FILES[f]), &size);
        if (!text) continue;
        size_t len = size < ROUNDTRIP_PREFIX ? size : ROUNDTRIP_PREFIX;
        for (size_t s = 0; s < len;) {
            size_t e = s;
            while (e < len && text[e] != '\n') e++;
            int32_t *ia = NULL, *ib = NULL;
            int64_t na = 0, nb = 0;
            presso_tokenizer_encode(a, text + s, e - s, false, &ia, &na);
            bool known = true;
            for (int64_t k = 0; k < na; k++) known = known && ia[k] != presso_tokenizer_unk(a);
            if (known) {
                presso_tokenizer_encode(b, text + s, e - s, false, &ib, &nb);
                if (na != nb || memcmp(ia, ib, (size_t)na * sizeof *ia) != 0) {
                    if (bad++ < 3) fprintf(stderr, "%s: %s: line at byte %zu differs\n", what, DATA_FILES[f], s);
                }
                lines++;
            }
            free(ia);
            free(ib);
            s = e + 1;
        }
        free(text);
    }
    CHECK_MSG(bad == 0, "%s: %lld of %lld lines differ", what, (long long)bad, (long long)lines);
    printf("%s: %lld lines without <unk> compared, %lld differ\n", what, (long long)lines, (long long)bad);
    return lines;
}

/* ---- hostile inputs ---- */

static void expect_fail(presso_status st, presso_status want, const char *must_contain, const char *what) {
    CHECK_MSG(st == want, "%s: got %s, want %s (%s)", what, presso_status_name(st), presso_status_name(want),
              presso_last_error());
    CHECK_MSG(strstr(presso_last_error(), must_contain) != NULL, "%s: message \"%s\" lacks \"%s\"", what,
              presso_last_error(), must_contain);
}

static void put_i32(uint8_t *p, int32_t v) { memcpy(p, &v, 4); }

static void test_hostile_llama2c(void) {
    presso_tokenizer *t = NULL;
    uint8_t buf[64] = {0};
    put_i32(buf, 8);
    /* token 0: score 0, length 3 "abc"; token 1: length -5 */
    put_i32(buf + 8, 3);
    memcpy(buf + 12, "abc", 3);
    put_i32(buf + 19, -5);
    expect_fail(presso_tokenizer_load_llama2c_buffer(buf, 23, "neg.bin", 2, &t), PRESSO_ERR_FORMAT, "neg.bin",
                "negative token length");
    CHECK(t == NULL);
    CHECK(strstr(presso_last_error(), "length -5") != NULL);
    put_i32(buf + 19, 0x7fffffff);
    expect_fail(presso_tokenizer_load_llama2c_buffer(buf, 23, "huge.bin", 2, &t), PRESSO_ERR_FORMAT, "huge.bin",
                "huge token length");
    put_i32(buf + 19, 4);
    expect_fail(presso_tokenizer_load_llama2c_buffer(buf, 25, "trunc.bin", 2, &t), PRESSO_ERR_FORMAT, "truncated",
                "truncated token");
    expect_fail(presso_tokenizer_load_llama2c_buffer(buf, 15, "trunc2.bin", 3, &t), PRESSO_ERR_FORMAT, "trunc2.bin",
                "truncated before token");
    expect_fail(presso_tokenizer_load_llama2c_buffer(buf, 2, "tiny.bin", 2, &t), PRESSO_ERR_FORMAT, "tiny.bin",
                "no header");
    expect_fail(presso_tokenizer_load_llama2c_buffer(buf, 23, "v.bin", 0, &t), PRESSO_ERR_INVALID_ARG, "v.bin",
                "vocab size 0");
    /* the real file, cut short */
    size_t size;
    char *tok = presso_test_read_file(shared_path("models/stories260K/tok512.bin"), &size);
    if (tok) {
        for (size_t cut = 0; cut < size; cut += size / 7 + 1) {
            presso_status st = presso_tokenizer_load_llama2c_buffer((const uint8_t *)tok, cut, "cut.bin", 512, &t);
            CHECK_MSG(st == PRESSO_ERR_FORMAT && t == NULL, "tok512 cut at %zu: %s", cut, presso_status_name(st));
        }
        expect_fail(presso_tokenizer_load_llama2c(shared_path("models/stories260K/tok512.bin"), 600, &t),
                    PRESSO_ERR_FORMAT, "tok512.bin", "vocab size larger than the file");
        free(tok);
    }
    expect_fail(presso_tokenizer_load_llama2c("/nonexistent/tok.bin", 512, &t), PRESSO_ERR_IO, "/nonexistent/tok.bin",
                "missing file");
}

static presso_status hf_str(const char *json, presso_tokenizer **t) {
    return presso_tokenizer_load_hf_buffer((const uint8_t *)json, strlen(json), NULL, 0, "bad.json", t);
}

#define SPM_NORM                                                                                                     \
    "\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\xe2\x96\x81\"},"    \
    "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\xe2\x96\x81\"}]},"

static void test_hostile_hf(void) {
    presso_tokenizer *t = NULL;
    expect_fail(hf_str("{", &t), PRESSO_ERR_FORMAT, "bad.json", "truncated JSON");
    expect_fail(hf_str("[]", &t), PRESSO_ERR_FORMAT, "bad.json", "array root");
    expect_fail(hf_str("{\"version\":\"1.0\"}", &t), PRESSO_ERR_FORMAT, "missing \"model\"", "missing model");
    expect_fail(hf_str("{" SPM_NORM "\"model\":{\"type\":\"BPE\",\"vocab\":[],\"merges\":[]}}", &t), PRESSO_ERR_FORMAT,
                "vocab", "vocab of wrong type");
    expect_fail(hf_str("{" SPM_NORM "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":{}}}", &t),
                PRESSO_ERR_FORMAT, "merges", "merges of wrong type");
    expect_fail(hf_str("{" SPM_NORM "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":\"0\"},\"merges\":[]}}", &t),
                PRESSO_ERR_FORMAT, "valid id", "string id");
    expect_fail(hf_str("{" SPM_NORM "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},"
                       "\"merges\":[\"a c\"]}}",
                       &t),
                PRESSO_ERR_FORMAT, "not in the vocab", "merge with unknown token");
    expect_fail(hf_str("{" SPM_NORM "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"a b\"]}}",
                       &t),
                PRESSO_ERR_FORMAT, "makes", "merge result not in vocab");
    expect_fail(hf_str("{" SPM_NORM "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":2},\"merges\":[]}}", &t),
                PRESSO_ERR_FORMAT, "no token has id 1", "hole in ids");
    expect_fail(hf_str("{" SPM_NORM "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":0},\"merges\":[]}}", &t),
                PRESSO_ERR_FORMAT, "two vocab entries", "duplicate id");
    expect_fail(hf_str("{" SPM_NORM "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"ab\"]}}", &t),
                PRESSO_ERR_FORMAT, "no space", "merge without space");
    expect_fail(hf_str("{" SPM_NORM "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[7]}}", &t),
                PRESSO_ERR_FORMAT, "merge 0", "merge of wrong type");
    expect_fail(hf_str("{" SPM_NORM "\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\":0}}}", &t),
                PRESSO_ERR_UNSUPPORTED, "WordPiece", "WordPiece model");
    expect_fail(hf_str("{\"pre_tokenizer\":{\"type\":\"Metaspace\"},\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},"
                       "\"merges\":[]}}",
                       &t),
                PRESSO_ERR_UNSUPPORTED, "bad.json", "Metaspace");
    expect_fail(hf_str("{" SPM_NORM "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[],"
                       "\"unk_token\":\"<unk>\"}}",
                       &t),
                PRESSO_ERR_FORMAT, "unk_token", "unk not in vocab");
    expect_fail(hf_str("{" SPM_NORM "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":1e300},\"merges\":[]}}", &t),
                PRESSO_ERR_FORMAT, "valid id", "huge id");
    const char *ok = "{" SPM_NORM "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[]}}";
    const char *cfg = "{\"bos_token\":\"<s>\"}";
    expect_fail(presso_tokenizer_load_hf_buffer((const uint8_t *)ok, strlen(ok), (const uint8_t *)cfg, strlen(cfg),
                                                "cfg.json", &t),
                PRESSO_ERR_FORMAT, "bos_token", "bos not in vocab");
    CHECK(t == NULL);
    expect_fail(presso_tokenizer_load_hf("/nonexistent/tokenizer.json", NULL, &t), PRESSO_ERR_IO,
                "/nonexistent/tokenizer.json", "missing file");
    /* a minimal valid one: unknown characters fuse into one unk */
    const char *tiny = "{" SPM_NORM "\"model\":{\"type\":\"BPE\",\"vocab\":{\"<unk>\":0,\"a\":1,\"\xe2\x96\x81\":2,"
                       "\"\xe2\x96\x81" "a\":3},\"merges\":[[\"\xe2\x96\x81\",\"a\"]],\"unk_token\":\"<unk>\","
                       "\"fuse_unk\":true}}";
    CHECK_OK(hf_str(tiny, &t));
    if (t) {
        int32_t *ids;
        int64_t n;
        CHECK_OK(presso_tokenizer_encode(t, "a xyz a", 7, false, &ids, &n));
        int32_t want[] = {3, 2, 0, 3};
        CHECK(n == 4 && memcmp(ids, want, sizeof want) == 0);
        free(ids);
        presso_tokenizer_free(t);
    }
}

/* ---- GGUF ---- */

static void tmp_path(char *buf, size_t cap, const char *name) {
    snprintf(buf, cap, "%s/test_tokenizer_%d_%s.gguf", PRESSO_BINARY_DIR, (int)getpid(), name);
}

/* Writes t as GGUF tokenizer keys, loads them back. */
static presso_tokenizer *export_import(const presso_tokenizer *t, const char *name) {
    char path[1200];
    tmp_path(path, sizeof path, name);
    presso_gguf_writer *w = presso_gguf_writer_new();
    presso_tokenizer *back = NULL;
    presso_gguf *g = NULL;
    CHECK_OK(presso_tokenizer_write_gguf(t, w));
    CHECK_OK(presso_gguf_writer_write(w, path));
    presso_gguf_writer_free(w);
    CHECK_OK(presso_gguf_open(path, &g));
    if (g) CHECK_OK(presso_tokenizer_load_gguf(g, &back));
    presso_gguf_close(g);
    unlink(path);
    return back;
}

static void check_export(const presso_tokenizer *t, const char *what, bool llama2c) {
    presso_tokenizer *back = export_import(t, what);
    if (!back) return;
    CHECK(presso_tokenizer_vocab_size(back) == presso_tokenizer_vocab_size(t));
    CHECK(presso_tokenizer_bos(back) == presso_tokenizer_bos(t));
    CHECK(presso_tokenizer_eos(back) == presso_tokenizer_eos(t));
    CHECK(presso_tokenizer_adds_bos(back) == presso_tokenizer_adds_bos(t));
    char name[128];
    snprintf(name, sizeof name, "%s exported to GGUF vs itself", what);
    if (llama2c) {
        /* run.c and llama.cpp merge slightly differently (run.c judges pairs
         * by token text, byte tokens included): compare the export with the
         * file llama.cpp itself converted from tok512.bin instead */
        presso_gguf *g = NULL;
        presso_tokenizer *ref = NULL;
        CHECK_OK(presso_gguf_open(shared_path("models/stories260K/gguf-by-llama.cpp/stories260K-f32.gguf"), &g));
        if (g) CHECK_OK(presso_tokenizer_load_gguf(g, &ref));
        if (ref) check_same_ids(back, ref, "llama2c exported vs llama.cpp's conversion");
        presso_tokenizer_free(ref);
        presso_gguf_close(g);
    } else if (presso_tokenizer_unk(t) >= 0 && strcmp(presso_tokenizer_kind_name(t), "hf-bpe-spm") == 0) {
        CHECK(check_same_ids_known_lines(t, back, name) > 1000);
    } else {
        check_same_ids(t, back, name);
    }
    presso_tokenizer_free(back);
}

/* Writes a small GGUF with tokenizer keys, customised by `variant`. */
static presso_status write_bad(const char *path, int variant) {
    const char *tokens[] = {"<unk>", "<s>", "</s>", "a", "b", "ab", "\xc4\xa0", ("\xc4\xa0" "a")};
    float scores[] = {0, 0, 0, -1, -2, -3, -4, -5};
    int32_t types[] = {2, 3, 3, 1, 1, 1, 1, 1};
    const char *merges[] = {"a b", "\xc4\xa0 a"};
    const char *bad_merges[] = {"a zz"};
    bool gpt2 = variant >= 10;
    presso_gguf_writer *w = presso_gguf_writer_new();
    presso_gguf_writer_set_string(w, "tokenizer.ggml.model", variant == 4 ? "bert" : gpt2 ? "gpt2" : "llama");
    presso_gguf_writer_set_array_string(w, "tokenizer.ggml.tokens", tokens, NULL, 8);
    presso_gguf_writer_set_array(w, "tokenizer.ggml.scores", PRESSO_GGUF_FLOAT32, scores, variant == 1 ? 7 : 8);
    presso_gguf_writer_set_array(w, "tokenizer.ggml.token_type", PRESSO_GGUF_INT32, types, variant == 3 ? 9 - 2 : 8);
    presso_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", variant == 2 ? 8 : 1);
    presso_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", variant == 5 ? 1000000 : 2);
    if (gpt2) {
        presso_gguf_writer_set_string(w, "tokenizer.ggml.pre", variant == 11 ? "qwen2" : "smollm");
        if (variant != 13)
            presso_gguf_writer_set_array_string(w, "tokenizer.ggml.merges", variant == 12 ? bad_merges : merges,
                                                NULL, variant == 12 ? 1 : 2);
    }
    presso_status st = presso_gguf_writer_write(w, path);
    presso_gguf_writer_free(w);
    return st;
}

static void test_hostile_gguf(void) {
    static const struct {
        int variant;
        presso_status want;
        const char *msg;
    } cases[] = {
        {0, PRESSO_OK, ""},
        {1, PRESSO_ERR_FORMAT, "7 scores for 8 tokens"},
        {2, PRESSO_ERR_FORMAT, "bos_token_id = 8"},
        {3, PRESSO_ERR_FORMAT, "token types"},
        {4, PRESSO_ERR_UNSUPPORTED, "\"bert\""},
        {5, PRESSO_ERR_FORMAT, "eos_token_id = 1000000"},
        {10, PRESSO_OK, ""},
        {11, PRESSO_ERR_UNSUPPORTED, "\"qwen2\""},
        {12, PRESSO_ERR_FORMAT, "not in the vocab"},
        {13, PRESSO_ERR_FORMAT, "merges"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char path[1200], what[64];
        snprintf(what, sizeof what, "bad%d", cases[i].variant);
        tmp_path(path, sizeof path, what);
        CHECK_OK(write_bad(path, cases[i].variant));
        presso_gguf *g = NULL;
        presso_tokenizer *t = NULL;
        CHECK_OK(presso_gguf_open(path, &g));
        if (g) {
            presso_status st = presso_tokenizer_load_gguf(g, &t);
            if (cases[i].want == PRESSO_OK) {
                CHECK_MSG(st == PRESSO_OK, "%s: %s", what, presso_last_error());
            } else {
                expect_fail(st, cases[i].want, cases[i].msg, what);
                CHECK(strstr(presso_last_error(), path) != NULL);
                CHECK(t == NULL);
            }
        }
        if (t && cases[i].variant == 10) {
            int32_t *ids;
            int64_t n;
            CHECK_OK(presso_tokenizer_encode(t, "ab a", 4, false, &ids, &n));
            CHECK(n == 2 && ids[0] == 5 && ids[1] == 7);
            free(ids);
        }
        presso_tokenizer_free(t);
        presso_gguf_close(g);
        unlink(path);
    }
}

static const char *smollm2_path(void) {
    static char found[1024];
    const char *env = getenv("PRESSO_SMOLLM2_GGUF");
    if (env && presso_test_file_exists(env)) return env;
    const char *home = getenv("HOME");
    if (!home) return NULL;
    char pattern[1024];
    snprintf(pattern, sizeof pattern, "%s/.cache/presso/models/SmolLM2*.gguf", home);
    glob_t g0;
    if (glob(pattern, 0, NULL, &g0) == 0 && g0.gl_pathc > 0) {
        snprintf(found, sizeof found, "%s", g0.gl_pathv[0]);
        globfree(&g0);
        return found;
    }
    snprintf(pattern, sizeof pattern, "%s/.cache/presso/venv/lib/python3.11/site-packages/*/*[Ss]mol[Ll][Mm]2*.gguf",
             home);
    glob_t gl;
    const char *res = NULL;
    if (glob(pattern, 0, NULL, &gl) == 0) {
        if (gl.gl_pathc > 0) {
            snprintf(found, sizeof found, "%s", gl.gl_pathv[0]);
            res = found;
        }
        globfree(&gl);
    }
    return res;
}

/* The metadata of a GGUF without its tensors (tensor count patched to 0), so
 * the tokenizer test does not depend on the reader knowing every weight type. */
static presso_status load_gguf_tokenizer_only(const char *path, presso_tokenizer **t) {
    *t = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return PRESSO_ERR_IO;
    size_t cap = 32u << 20;
    uint8_t *buf = malloc(cap);
    size_t n = buf ? fread(buf, 1, cap, f) : 0;
    fclose(f);
    if (n < 24) {
        free(buf);
        return PRESSO_ERR_IO;
    }
    memset(buf + 8, 0, 8);
    presso_gguf *g = NULL;
    presso_status st = presso_gguf_open_buffer(buf, n, path, &g);
    if (st == PRESSO_OK) st = presso_tokenizer_load_gguf(g, t);
    presso_gguf_close(g);
    free(buf);
    return st;
}

static void test_smollm2(void) {
    const char *path = smollm2_path();
    if (!path) {
        printf("SmolLM2 GGUF not found (PRESSO_SMOLLM2_GGUF, ~/.cache/presso/models or the venv): skipped\n");
        return;
    }
    presso_tokenizer *t = NULL;
    CHECK_OK(load_gguf_tokenizer_only(path, &t));
    if (!t) return;
    CHECK(strcmp(presso_tokenizer_kind_name(t), "gpt2-bpe (digits split)") == 0);
    CHECK(presso_tokenizer_vocab_size(t) == 49152 && !presso_tokenizer_adds_bos(t));
    check_golden(t, "tokens_smollm2.txt", "smollm2");
    check_roundtrip(t, "smollm2", NULL);
    time_wikitext(t, "smollm2");
    check_export(t, "smollm2", false);
    /* the same vocab as a byte-level tokenizer.json (made by
     * make_token_golden.py and checked there against HF tokenizers) */
    char json[1024], cfg[1024];
    const char *env = getenv("PRESSO_SMOLLM2_TOKENIZER_JSON");
    if (env) snprintf(json, sizeof json, "%s", env);
    else snprintf(json, sizeof json, "%s/.cache/presso/smollm2-tokenizer.json", getenv("HOME") ? getenv("HOME") : "");
    snprintf(cfg, sizeof cfg, "%.*s_config.json", (int)strlen(json) - 5, json);
    if (presso_test_file_exists(json)) {
        presso_tokenizer *h = NULL;
        CHECK_OK(presso_tokenizer_load_hf(json, presso_test_file_exists(cfg) ? cfg : NULL, &h));
        if (h) {
            CHECK(strcmp(presso_tokenizer_kind_name(h), presso_tokenizer_kind_name(t)) == 0);
            check_same_ids(t, h, "smollm2 GGUF vs tokenizer.json");
            check_golden(h, "tokens_smollm2.txt", "smollm2 tokenizer.json");
            check_roundtrip(h, "smollm2 tokenizer.json", NULL);
        }
        presso_tokenizer_free(h);
    } else {
        printf("%s not present: byte-level tokenizer.json checks skipped\n", json);
    }
    presso_tokenizer_free(t);
}

static void test_gguf(void) {
    test_hostile_gguf();
    presso_gguf *g = NULL;
    presso_tokenizer *t = NULL;
    CHECK_OK(presso_gguf_open(shared_path("models/stories260K/gguf-by-llama.cpp/stories260K-f32.gguf"), &g));
    if (g) CHECK_OK(presso_tokenizer_load_gguf(g, &t));
    presso_gguf_close(g);
    if (t) {
        CHECK(presso_tokenizer_vocab_size(t) == 512 && presso_tokenizer_bos(t) == 1 && presso_tokenizer_adds_bos(t));
        check_golden(t, "tokens_gguf_spm.txt", "gguf-spm");
        check_roundtrip(t, "gguf-spm", NULL);
        time_wikitext(t, "gguf-spm");
        presso_tokenizer *back = export_import(t, "spm");
        if (back) check_same_ids(t, back, "gguf-spm exported vs itself");
        presso_tokenizer_free(back);
        presso_tokenizer_free(t);
    }
    test_smollm2();
}

static void test_llama2c(void) {
    presso_tokenizer *t = NULL;
    CHECK_OK(presso_tokenizer_load_llama2c(shared_path("models/stories260K/tok512.bin"), 512, &t));
    if (!t) return;
    CHECK(presso_tokenizer_vocab_size(t) == 512);
    CHECK(presso_tokenizer_bos(t) == 1 && presso_tokenizer_eos(t) == 2 && presso_tokenizer_adds_bos(t));
    CHECK(strcmp(presso_tokenizer_kind_name(t), "llama2c-spm") == 0);
    int32_t *ids;
    int64_t n;
    CHECK_OK(presso_tokenizer_encode(t, "", 0, true, &ids, &n));
    CHECK(n == 1 && ids[0] == 1);
    free(ids);
    CHECK_OK(presso_tokenizer_encode(t, "", 0, false, &ids, &n));
    CHECK(n == 0 && ids != NULL);
    free(ids);
    char buf[16];
    CHECK(presso_tokenizer_decode(t, -1, 1, buf, sizeof buf) == 0);   /* BOS */
    CHECK(presso_tokenizer_decode(t, -1, 13, buf, sizeof buf) == 1 && buf[0] == '\n'); /* <0x0A> */
    check_golden(t, "tokens_llama2c.txt", "llama2c");
    check_roundtrip(t, "llama2c", NULL);
    time_wikitext(t, "llama2c");
    check_export(t, "llama2c", true);
    presso_tokenizer_free(t);
}

static void test_hf656k(void) {
    presso_tokenizer *t = NULL;
    CHECK_OK(presso_tokenizer_load_hf(shared_path("models/tinystories-656k/tokenizer.json"),
                                      shared_path("models/tinystories-656k/tokenizer_config.json"), &t));
    if (!t) return;
    CHECK(presso_tokenizer_vocab_size(t) == 2048);
    CHECK(presso_tokenizer_bos(t) == 1 && presso_tokenizer_eos(t) == 2 && presso_tokenizer_adds_bos(t));
    CHECK(strcmp(presso_tokenizer_kind_name(t), "hf-bpe-spm") == 0);
    check_golden(t, "tokens_hf656k.txt", "hf656k");
    /* no byte tokens in this vocab: text outside its alphabet (sample.txt has
     * curly quotes) becomes <unk>, in HF tokenizers too */
    check_roundtrip(t, "hf656k", "tinystories/valid.txt");
    time_wikitext(t, "hf656k");
    check_export(t, "hf656k", false);
    presso_tokenizer_free(t);
}

int main(void) {
    presso_test_shared("models/stories260K/tok512.bin");
    test_hostile_llama2c();
    test_hostile_hf();
    test_llama2c();
    test_hf656k();
    test_gguf();
    return presso_test_finish();
}
