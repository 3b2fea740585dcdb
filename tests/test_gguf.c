/* GGUF reader and writer: the shipped stories260K files, a write -> read
 * round trip of every value type and of (streamed) tensors, atomic writes,
 * and a battery of hostile headers that must fail cleanly.
 *
 * Extra modes for tests/test_gguf_py.sh (the gguf-py cross-check):
 *   test_gguf --write-sample FILE   writes the sample file (every value type)
 *   test_gguf --read-sample FILE    checks FILE holds exactly the sample
 *   test_gguf --dump FILE           prints every kv and tensor canonically */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "formats/gguf.h"
#include "harness.h"
#include "tensor/types.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static char tmp_dir[512];

static const char *tmp_path(const char *name) {
    static char buf[8][640];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", tmp_dir, name);
    return p;
}

static bool str_eq(presso_gguf_string s, const char *c) {
    return s.ptr && s.len == strlen(c) && memcmp(s.ptr, c, s.len) == 0;
}

static uint32_t crc32_of(const void *data, size_t n) {
    static uint32_t table[256];
    if (!table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    uint32_t c = 0xffffffffu;
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

/* ---- the sample: every value type, tensors of each float type ------------ */

static const uint8_t s_arr_u8[] = {1, 2, 255};
static const int8_t s_arr_i8[] = {-1, 0, 127};
static const uint16_t s_arr_u16[] = {1, 65535};
static const int16_t s_arr_i16[] = {-32768, 32767};
static const uint32_t s_arr_u32[] = {0, 4294967295u};
static const int32_t s_arr_i32[] = {-5, 5, 7};
static const float s_arr_f32[] = {0.5f, -2.25f, 1e30f};
static const bool s_arr_bool[] = {true, false, true};
static const uint64_t s_arr_u64[] = {1, UINT64_MAX};
static const int64_t s_arr_i64[] = {INT64_MIN, INT64_MAX};
static const double s_arr_f64[] = {1e-300, -0.125};
static const char *const s_arr_str[] = {"a", "", "\xc3\xbcn\xc3\xaf"};
#define SAMPLE_STRING "h\xc3\xa9llo w\xc3\xb6rld"

static const float s_t_f32[6] = {0.0f, 0.5f, 1.0f, -1.5f, 2.0f, 1e-3f}; /* ne {3, 2} */
static const uint16_t s_t_f16[4] = {0x3c00, 0xc000, 0x0001, 0x7bff};    /* ne {4} */
static const uint16_t s_t_bf16[8] = {0x3f80, 0xbf80, 0x4000, 0, 1, 0x7f7f, 0x0080, 0xc2f7}; /* ne {2, 2, 2} */
/* t.stream: F32 ne {2, 1, 3, 2}, element k = k * 0.25 - 1 (written by a fill callback). */

static presso_status fill_stream(void *user, int64_t index, void *dst, size_t nbytes) {
    int *calls = user;
    if (calls) (*calls)++;
    if (index != 42 || nbytes != 12 * sizeof(float))
        return presso_fail(PRESSO_ERR_INTERNAL, "fill_stream: index %lld, %zu bytes", (long long)index, nbytes);
    float *f = dst;
    for (int k = 0; k < 12; k++) f[k] = (float)k * 0.25f - 1.0f;
    return PRESSO_OK;
}

static presso_status build_sample(presso_gguf_writer *w, int *fill_calls) {
    PRESSO_TRY(presso_gguf_writer_set_string(w, "general.architecture", "llama"));
    PRESSO_TRY(presso_gguf_writer_set_u8(w, "sample.u8", 200));
    PRESSO_TRY(presso_gguf_writer_set_i8(w, "sample.i8", -100));
    PRESSO_TRY(presso_gguf_writer_set_u16(w, "sample.u16", 60000));
    PRESSO_TRY(presso_gguf_writer_set_i16(w, "sample.i16", -30000));
    PRESSO_TRY(presso_gguf_writer_set_u32(w, "sample.u32", 4000000000u));
    PRESSO_TRY(presso_gguf_writer_set_i32(w, "sample.i32", -2000000000));
    PRESSO_TRY(presso_gguf_writer_set_f32(w, "sample.f32", 1.5f));
    PRESSO_TRY(presso_gguf_writer_set_bool(w, "sample.bool", true));
    PRESSO_TRY(presso_gguf_writer_set_string(w, "sample.string", SAMPLE_STRING));
    PRESSO_TRY(presso_gguf_writer_set_string(w, "sample.empty_string", ""));
    PRESSO_TRY(presso_gguf_writer_set_u64(w, "sample.u64", 18000000000000000000ull));
    PRESSO_TRY(presso_gguf_writer_set_i64(w, "sample.i64", -9000000000000000000ll));
    PRESSO_TRY(presso_gguf_writer_set_f64(w, "sample.f64", 3.141592653589793));
    PRESSO_TRY(presso_gguf_writer_set_array(w, "sample.arr_u8", PRESSO_GGUF_UINT8, s_arr_u8, 3));
    PRESSO_TRY(presso_gguf_writer_set_array(w, "sample.arr_i8", PRESSO_GGUF_INT8, s_arr_i8, 3));
    PRESSO_TRY(presso_gguf_writer_set_array(w, "sample.arr_u16", PRESSO_GGUF_UINT16, s_arr_u16, 2));
    PRESSO_TRY(presso_gguf_writer_set_array(w, "sample.arr_i16", PRESSO_GGUF_INT16, s_arr_i16, 2));
    PRESSO_TRY(presso_gguf_writer_set_array(w, "sample.arr_u32", PRESSO_GGUF_UINT32, s_arr_u32, 2));
    PRESSO_TRY(presso_gguf_writer_set_array(w, "sample.arr_i32", PRESSO_GGUF_INT32, s_arr_i32, 3));
    PRESSO_TRY(presso_gguf_writer_set_array(w, "sample.arr_f32", PRESSO_GGUF_FLOAT32, s_arr_f32, 3));
    PRESSO_TRY(presso_gguf_writer_set_array(w, "sample.arr_bool", PRESSO_GGUF_BOOL, s_arr_bool, 3));
    PRESSO_TRY(presso_gguf_writer_set_array_string(w, "sample.arr_str", s_arr_str, NULL, 3));
    PRESSO_TRY(presso_gguf_writer_set_array(w, "sample.arr_u64", PRESSO_GGUF_UINT64, s_arr_u64, 2));
    PRESSO_TRY(presso_gguf_writer_set_array(w, "sample.arr_i64", PRESSO_GGUF_INT64, s_arr_i64, 2));
    PRESSO_TRY(presso_gguf_writer_set_array(w, "sample.arr_f64", PRESSO_GGUF_FLOAT64, s_arr_f64, 2));

    presso_tensor t = {.name = "t.f32", .type = PRESSO_TYPE_F32, .n_dims = 2, .ne = {3, 2, 1, 1},
                       .data = s_t_f32, .nbytes = sizeof s_t_f32};
    PRESSO_TRY(presso_gguf_writer_add_tensor(w, &t));
    presso_tensor h = {.name = "t.f16", .type = PRESSO_TYPE_F16, .n_dims = 1, .ne = {4, 1, 1, 1},
                       .data = s_t_f16, .nbytes = sizeof s_t_f16};
    PRESSO_TRY(presso_gguf_writer_add_tensor(w, &h));
    const int64_t ne_stream[4] = {2, 1, 3, 2};
    PRESSO_TRY(presso_gguf_writer_add_tensor_fn(w, "t.stream", PRESSO_TYPE_F32, 4, ne_stream, fill_stream,
                                                fill_calls, 42));
    presso_tensor b = {.name = "t.bf16", .type = PRESSO_TYPE_BF16, .n_dims = 3, .ne = {2, 2, 2, 1},
                       .data = s_t_bf16, .nbytes = sizeof s_t_bf16};
    return presso_gguf_writer_add_tensor(w, &b);
}

static const char *const sample_keys[] = {
    "general.architecture", "sample.u8",      "sample.i8",       "sample.u16",          "sample.i16",
    "sample.u32",           "sample.i32",     "sample.f32",      "sample.bool",         "sample.string",
    "sample.empty_string",  "sample.u64",     "sample.i64",      "sample.f64",          "sample.arr_u8",
    "sample.arr_i8",        "sample.arr_u16", "sample.arr_i16",  "sample.arr_u32",      "sample.arr_i32",
    "sample.arr_f32",       "sample.arr_bool", "sample.arr_str", "sample.arr_u64",      "sample.arr_i64",
    "sample.arr_f64"};
static const presso_gguf_value_type sample_types[] = {
    PRESSO_GGUF_STRING, PRESSO_GGUF_UINT8,  PRESSO_GGUF_INT8,   PRESSO_GGUF_UINT16,  PRESSO_GGUF_INT16,
    PRESSO_GGUF_UINT32, PRESSO_GGUF_INT32,  PRESSO_GGUF_FLOAT32, PRESSO_GGUF_BOOL,   PRESSO_GGUF_STRING,
    PRESSO_GGUF_STRING, PRESSO_GGUF_UINT64, PRESSO_GGUF_INT64,  PRESSO_GGUF_FLOAT64, PRESSO_GGUF_UINT8,
    PRESSO_GGUF_INT8,   PRESSO_GGUF_UINT16, PRESSO_GGUF_INT16,  PRESSO_GGUF_UINT32,  PRESSO_GGUF_INT32,
    PRESSO_GGUF_FLOAT32, PRESSO_GGUF_BOOL,  PRESSO_GGUF_STRING, PRESSO_GGUF_UINT64,  PRESSO_GGUF_INT64,
    PRESSO_GGUF_FLOAT64};

static void check_array(const presso_gguf *g, const char *key, presso_gguf_value_type et, const void *expect,
                        uint64_t count, size_t elem) {
    presso_gguf_value_type t;
    uint64_t n;
    const void *data = NULL;
    CHECK_OK(presso_gguf_get_array_info(g, key, &t, &n));
    CHECK_MSG(t == et && n == count, "%s: type %d count %llu", key, (int)t, (unsigned long long)n);
    CHECK_OK(presso_gguf_get_array_data(g, key, &data));
    CHECK_MSG(data && memcmp(data, expect, (size_t)count * elem) == 0, "%s: bytes differ", key);
}

/* Every key, value, tensor of the sample; `strict` also requires nothing else
 * (gguf-py adds no keys of its own beyond general.architecture). */
static void check_sample(const presso_gguf *g, bool strict) {
    if (strict) CHECK_MSG(presso_gguf_kv_count(g) == (int64_t)N_ELEMS(sample_keys), "%lld keys",
                          (long long)presso_gguf_kv_count(g));
    for (size_t i = 0; i < N_ELEMS(sample_keys); i++) {
        int64_t k = presso_gguf_find_key(g, sample_keys[i]);
        CHECK_MSG(k >= 0, "missing %s", sample_keys[i]);
        if (k < 0) continue;
        CHECK(str_eq(presso_gguf_kv_key(g, k), sample_keys[i]));
        presso_gguf_value v;
        CHECK_OK(presso_gguf_kv_value(g, k, &v));
        presso_gguf_value_type et = v.type == PRESSO_GGUF_ARRAY ? v.elem_type : v.type;
        CHECK_MSG(et == sample_types[i] && (v.type == PRESSO_GGUF_ARRAY) == (strstr(sample_keys[i], "arr_") != NULL),
                  "%s: type %d elem %d", sample_keys[i], (int)v.type, (int)v.elem_type);
    }
    presso_gguf_string s;
    uint32_t u32 = 0;
    uint64_t u64 = 0;
    int64_t i64 = 0;
    float f32 = 0;
    double f64 = 0;
    bool bl = false;
    CHECK_OK(presso_gguf_get_string(g, "general.architecture", &s));
    CHECK(str_eq(s, "llama"));
    CHECK_OK(presso_gguf_get_u32(g, "sample.u8", &u32));
    CHECK(u32 == 200);
    CHECK_OK(presso_gguf_get_i64(g, "sample.i8", &i64));
    CHECK(i64 == -100);
    CHECK_OK(presso_gguf_get_u32(g, "sample.u16", &u32));
    CHECK(u32 == 60000);
    CHECK_OK(presso_gguf_get_i64(g, "sample.i16", &i64));
    CHECK(i64 == -30000);
    CHECK_OK(presso_gguf_get_u32(g, "sample.u32", &u32));
    CHECK(u32 == 4000000000u);
    CHECK_OK(presso_gguf_get_i64(g, "sample.i32", &i64));
    CHECK(i64 == -2000000000);
    CHECK_OK(presso_gguf_get_f32(g, "sample.f32", &f32));
    CHECK(f32 == 1.5f);
    CHECK_OK(presso_gguf_get_bool(g, "sample.bool", &bl));
    CHECK(bl);
    CHECK_OK(presso_gguf_get_string(g, "sample.string", &s));
    CHECK(str_eq(s, SAMPLE_STRING));
    CHECK_OK(presso_gguf_get_string(g, "sample.empty_string", &s));
    CHECK(s.len == 0);
    CHECK_OK(presso_gguf_get_u64(g, "sample.u64", &u64));
    CHECK(u64 == 18000000000000000000ull);
    CHECK_OK(presso_gguf_get_i64(g, "sample.i64", &i64));
    CHECK(i64 == -9000000000000000000ll);
    CHECK_OK(presso_gguf_get_f64(g, "sample.f64", &f64));
    CHECK(f64 == 3.141592653589793);
    check_array(g, "sample.arr_u8", PRESSO_GGUF_UINT8, s_arr_u8, 3, 1);
    check_array(g, "sample.arr_i8", PRESSO_GGUF_INT8, s_arr_i8, 3, 1);
    check_array(g, "sample.arr_u16", PRESSO_GGUF_UINT16, s_arr_u16, 2, 2);
    check_array(g, "sample.arr_i16", PRESSO_GGUF_INT16, s_arr_i16, 2, 2);
    check_array(g, "sample.arr_u32", PRESSO_GGUF_UINT32, s_arr_u32, 2, 4);
    check_array(g, "sample.arr_i32", PRESSO_GGUF_INT32, s_arr_i32, 3, 4);
    check_array(g, "sample.arr_f32", PRESSO_GGUF_FLOAT32, s_arr_f32, 3, 4);
    const uint8_t bools[] = {1, 0, 1};
    check_array(g, "sample.arr_bool", PRESSO_GGUF_BOOL, bools, 3, 1);
    check_array(g, "sample.arr_u64", PRESSO_GGUF_UINT64, s_arr_u64, 2, 8);
    check_array(g, "sample.arr_i64", PRESSO_GGUF_INT64, s_arr_i64, 2, 8);
    check_array(g, "sample.arr_f64", PRESSO_GGUF_FLOAT64, s_arr_f64, 2, 8);
    presso_gguf_value_type et;
    uint64_t n = 0;
    CHECK_OK(presso_gguf_get_array_info(g, "sample.arr_str", &et, &n));
    CHECK(et == PRESSO_GGUF_STRING && n == 3);
    for (uint64_t j = 0; j < 3 && j < n; j++) {
        CHECK_OK(presso_gguf_get_array_string(g, "sample.arr_str", j, &s));
        CHECK_MSG(str_eq(s, s_arr_str[j]), "arr_str[%llu]", (unsigned long long)j);
    }

    CHECK(presso_gguf_tensor_count(g) == 4);
    static const char *const names[] = {"t.f32", "t.f16", "t.stream", "t.bf16"};
    for (int i = 0; i < 4; i++) {
        const presso_tensor *t = presso_gguf_tensor(g, i);
        CHECK_MSG(t && strcmp(t->name, names[i]) == 0, "tensor %d is %s", i, t ? t->name : "(null)");
        CHECK(presso_gguf_find_tensor(g, names[i]) == t);
        if (t) {
            uint64_t off = (uint64_t)((const uint8_t *)t->data - presso_gguf_base(g));
            CHECK_MSG((off - presso_gguf_data_offset(g)) % presso_gguf_alignment(g) == 0, "%s at %llu", t->name,
                      (unsigned long long)off);
        }
    }
    const presso_tensor *t = presso_gguf_find_tensor(g, "t.f32");
    CHECK(t && t->type == PRESSO_TYPE_F32 && t->n_dims == 2 && t->ne[0] == 3 && t->ne[1] == 2 && t->ne[2] == 1 &&
          t->ne[3] == 1 && t->nbytes == sizeof s_t_f32 && memcmp(t->data, s_t_f32, sizeof s_t_f32) == 0);
    t = presso_gguf_find_tensor(g, "t.f16");
    CHECK(t && t->type == PRESSO_TYPE_F16 && t->n_dims == 1 && t->ne[0] == 4 && t->nbytes == 8 &&
          memcmp(t->data, s_t_f16, 8) == 0);
    t = presso_gguf_find_tensor(g, "t.bf16");
    CHECK(t && t->type == PRESSO_TYPE_BF16 && t->n_dims == 3 && t->ne[0] == 2 && t->ne[1] == 2 && t->ne[2] == 2 &&
          t->nbytes == 16 && memcmp(t->data, s_t_bf16, 16) == 0);
    t = presso_gguf_find_tensor(g, "t.stream");
    float expect[12];
    CHECK_OK(fill_stream(NULL, 42, expect, sizeof expect));
    CHECK(t && t->type == PRESSO_TYPE_F32 && t->n_dims == 4 && t->ne[0] == 2 && t->ne[1] == 1 && t->ne[2] == 3 &&
          t->ne[3] == 2 && t->nbytes == sizeof expect && memcmp(t->data, expect, sizeof expect) == 0);
}

/* ---- canonical dump (compared with gguf_py_check.py's) ----------------------- */

static void dump_scalar(presso_gguf_value_type type, const uint8_t *p) {
    uint64_t v = 0;
    size_t n = type == PRESSO_GGUF_UINT8 || type == PRESSO_GGUF_INT8 || type == PRESSO_GGUF_BOOL ? 1
               : type == PRESSO_GGUF_UINT16 || type == PRESSO_GGUF_INT16                          ? 2
               : type == PRESSO_GGUF_UINT32 || type == PRESSO_GGUF_INT32 || type == PRESSO_GGUF_FLOAT32 ? 4
                                                                                                           : 8;
    for (size_t i = n; i-- > 0;) v = (v << 8) | p[i];
    switch (type) {
    case PRESSO_GGUF_INT8: printf("%d", (int)(int8_t)v); break;
    case PRESSO_GGUF_INT16: printf("%d", (int)(int16_t)v); break;
    case PRESSO_GGUF_INT32: printf("%ld", (long)(int32_t)v); break;
    case PRESSO_GGUF_INT64: printf("%lld", (long long)(int64_t)v); break;
    case PRESSO_GGUF_FLOAT32: printf("f%08llx", (unsigned long long)v); break;
    case PRESSO_GGUF_FLOAT64: printf("d%016llx", (unsigned long long)v); break;
    default: printf("%llu", (unsigned long long)v); break;
    }
}

static void dump_string(presso_gguf_string s) {
    putchar('"');
    for (uint64_t i = 0; i < s.len; i++) printf("%02x", (uint8_t)s.ptr[i]);
    putchar('"');
}

static int dump(const char *path) {
    presso_gguf *g;
    if (presso_gguf_open(path, &g) != PRESSO_OK) {
        fprintf(stderr, "%s\n", presso_last_error());
        return 1;
    }
    for (int64_t i = 0; i < presso_gguf_kv_count(g); i++) {
        presso_gguf_value v;
        presso_gguf_kv_value(g, i, &v);
        presso_gguf_string k = presso_gguf_kv_key(g, i);
        printf("kv %.*s %d ", (int)k.len, k.ptr, (int)v.type);
        if (v.type == PRESSO_GGUF_STRING) {
            presso_gguf_string s = {v.data, v.count};
            dump_string(s);
        } else if (v.type == PRESSO_GGUF_ARRAY) {
            printf("%d [", (int)v.elem_type);
            for (uint64_t j = 0; j < v.count; j++) {
                if (j) putchar(',');
                if (v.elem_type == PRESSO_GGUF_STRING) {
                    presso_gguf_string s;
                    presso_gguf_kv_array_string(g, i, j, &s);
                    dump_string(s);
                } else {
                    size_t n = (size_t)(v.raw_len - 12) / (size_t)v.count;
                    dump_scalar(v.elem_type, (const uint8_t *)v.data + j * n);
                }
            }
            putchar(']');
        } else {
            dump_scalar(v.type, v.data);
        }
        putchar('\n');
    }
    for (int64_t i = 0; i < presso_gguf_tensor_count(g); i++) {
        const presso_tensor *t = presso_gguf_tensor(g, i);
        printf("tensor %s %d [", t->name, (int)t->type);
        for (int d = 0; d < t->n_dims; d++) printf(d ? ",%lld" : "%lld", (long long)t->ne[d]);
        printf("] %llu %zu %08x\n", (unsigned long long)((const uint8_t *)t->data - presso_gguf_base(g)), t->nbytes,
               crc32_of(t->data, t->nbytes));
    }
    presso_gguf_close(g);
    return 0;
}

/* ---- the shipped stories260K files --------------------------------------------- */

static void test_shipped(const char *file, presso_type weight_type) {
    char rel[256];
    snprintf(rel, sizeof rel, "models/stories260K/gguf-by-llama.cpp/%s", file);
    const char *path = presso_test_shared(rel);
    presso_gguf *g = NULL;
    presso_status st = presso_gguf_open(path, &g);
    if (!presso_type_traits_of(weight_type)) {
        /* This build's type table lacks the file's quantized type: it must be
         * refused cleanly, naming the file and the type. */
        const char *want = "unknown tensor type";
        CHECK_MSG(st == PRESSO_ERR_FORMAT && strstr(presso_last_error(), path) &&
                      strstr(presso_last_error(), want),
                  "%s: %s", file, presso_last_error());
        CHECK(g == NULL);
        return;
    }
    CHECK_MSG(st == PRESSO_OK, "%s: %s", file, presso_last_error());
    if (!g) return;
    CHECK(presso_gguf_version(g) == 3 || presso_gguf_version(g) == 2);
    CHECK(presso_gguf_alignment(g) == 32);
    CHECK(strcmp(presso_gguf_path(g), path) == 0);
    uint32_t u = 0;
    CHECK_OK(presso_gguf_get_u32(g, "llama.embedding_length", &u));
    CHECK(u == 64);
    CHECK_OK(presso_gguf_get_u32(g, "llama.block_count", &u));
    CHECK(u == 5);
    CHECK_OK(presso_gguf_get_u32(g, "llama.attention.head_count", &u));
    CHECK(u == 8);
    presso_gguf_string s;
    CHECK_OK(presso_gguf_get_string(g, "general.architecture", &s));
    CHECK(str_eq(s, "llama"));
    presso_gguf_value_type et;
    uint64_t n = 0;
    CHECK_OK(presso_gguf_get_array_info(g, "tokenizer.ggml.tokens", &et, &n));
    CHECK(et == PRESSO_GGUF_STRING && n == 512);
    CHECK_OK(presso_gguf_get_array_string(g, "tokenizer.ggml.tokens", 0, &s));
    CHECK(str_eq(s, "<unk>"));
    CHECK_OK(presso_gguf_get_array_string(g, "tokenizer.ggml.tokens", 1, &s));
    CHECK(str_eq(s, "<s>"));
    CHECK(presso_gguf_get_array_string(g, "tokenizer.ggml.tokens", 512, &s) != PRESSO_OK);
    CHECK_OK(presso_gguf_get_array_info(g, "tokenizer.ggml.scores", &et, &n));
    CHECK(et == PRESSO_GGUF_FLOAT32 && n == 512);
    /* A typed getter on the wrong type fails and names the file and key. */
    CHECK(presso_gguf_get_u32(g, "general.architecture", &u) == PRESSO_ERR_FORMAT);
    CHECK(strstr(presso_last_error(), path) && strstr(presso_last_error(), "general.architecture"));
    CHECK(presso_gguf_get_u32(g, "no.such.key", &u) == PRESSO_ERR_FORMAT);
    CHECK(strstr(presso_last_error(), "missing key"));
    CHECK(presso_gguf_find_key(g, "no.such.key") == -1);

    /* 5 blocks x 9 tensors + token_embd, output_norm (output is tied). */
    int64_t nt = presso_gguf_tensor_count(g);
    CHECK_MSG(nt == 48 || nt == 47, "%s: %lld tensors", file, (long long)nt);
    const presso_tensor *t = presso_gguf_find_tensor(g, "token_embd.weight");
    CHECK(t && t->n_dims == 2 && t->ne[0] == 64 && t->ne[1] == 512);
    t = presso_gguf_find_tensor(g, "blk.4.ffn_up.weight");
    CHECK(t && t->n_dims == 2 && t->ne[0] == 64 && t->ne[1] == 172);
    t = presso_gguf_find_tensor(g, "output_norm.weight");
    CHECK(t && t->n_dims == 1 && t->ne[0] == 64 && t->type == PRESSO_TYPE_F32);
    CHECK(presso_gguf_find_tensor(g, "blk.5.ffn_up.weight") == NULL);
    const uint8_t *base = presso_gguf_base(g);
    size_t size = presso_gguf_file_size(g);
    int outside = 0, misaligned = 0, of_weight_type = 0;
    for (int64_t i = 0; i < nt; i++) {
        t = presso_gguf_tensor(g, i);
        const uint8_t *p = t->data;
        if (p < base + presso_gguf_data_offset(g) || t->nbytes > size || p + t->nbytes > base + size) outside++;
        if ((uint64_t)(p - base - presso_gguf_data_offset(g)) % 32 != 0) misaligned++;
        if (t->type == weight_type) of_weight_type++;
        CHECK(t->nbytes == (size_t)presso_row_bytes(t->type, t->ne[0]) * (size_t)(t->ne[1] * t->ne[2] * t->ne[3]));
    }
    CHECK(outside == 0 && misaligned == 0);
    CHECK_MSG(of_weight_type > 0, "%s: no tensor of type %d", file, (int)weight_type);
    if (weight_type == PRESSO_TYPE_F32) {
        t = presso_gguf_find_tensor(g, "output_norm.weight");
        /* RMSNorm gains of a trained model are positive and O(1). */
        const float *w = t->data;
        CHECK(w[0] > 0.01f && w[0] < 100.0f);
    }
    presso_gguf_close(g);
}

/* ---- round trip ------------------------------------------------------------------- */

static void test_round_trip(void) {
    presso_gguf_writer *w = presso_gguf_writer_new();
    CHECK(w != NULL);
    int calls = 0;
    CHECK_OK(build_sample(w, &calls));
    const char *path = tmp_path("sample.gguf");
    CHECK_OK(presso_gguf_writer_write(w, path));
    CHECK(calls == 1);
    CHECK(!presso_test_file_exists(tmp_path("sample.gguf.tmp")));
    /* Writing again gives identical bytes (deterministic). */
    const char *path2 = tmp_path("sample2.gguf");
    CHECK_OK(presso_gguf_writer_write(w, path2));
    CHECK(calls == 2);
    presso_gguf_writer_free(w);
    size_t n1 = 0, n2 = 0;
    uint8_t *b1 = presso_test_read_file(path, &n1), *b2 = presso_test_read_file(path2, &n2);
    CHECK(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0);
    CHECK(n1 % 32 == 0); /* the last tensor is padded too */
    CHECK(b1 && memcmp(b1, "GGUF\x03\0\0\0", 8) == 0);
    free(b2);

    presso_gguf *g = NULL;
    CHECK_OK(presso_gguf_open(path, &g));
    if (g) {
        CHECK(presso_gguf_version(g) == 3 && presso_gguf_alignment(g) == 32);
        CHECK(presso_gguf_file_size(g) == n1);
        check_sample(g, true);
        /* Key order is insertion order. */
        for (int64_t i = 0; i < (int64_t)N_ELEMS(sample_keys); i++)
            CHECK(str_eq(presso_gguf_kv_key(g, i), sample_keys[i]));
        CHECK(presso_gguf_kv_key(g, -1).ptr == NULL && presso_gguf_kv_key(g, 1000).ptr == NULL);
        CHECK(presso_gguf_tensor(g, 4) == NULL && presso_gguf_tensor(g, -1) == NULL);
        /* Integer getters convert between integer types only where the value fits. */
        uint32_t u32;
        uint64_t u64;
        int64_t i64;
        CHECK(presso_gguf_get_u32(g, "sample.i8", &u32) == PRESSO_ERR_FORMAT);
        CHECK(presso_gguf_get_u32(g, "sample.u64", &u32) == PRESSO_ERR_FORMAT);
        CHECK(presso_gguf_get_i64(g, "sample.u64", &i64) == PRESSO_ERR_FORMAT);
        CHECK(presso_gguf_get_u64(g, "sample.i64", &u64) == PRESSO_ERR_FORMAT);
        float f = 0;
        CHECK_OK(presso_gguf_get_f32(g, "sample.f64", &f));
        CHECK(f == (float)3.141592653589793);
        CHECK_OK(presso_gguf_get_u64(g, "sample.u8", &u64));
        CHECK(u64 == 200);
        CHECK(presso_gguf_get_u32(g, "sample.f32", &u32) == PRESSO_ERR_FORMAT);
        CHECK(presso_gguf_get_u32(g, "sample.arr_u32", &u32) == PRESSO_ERR_FORMAT);
        const void *data;
        CHECK(presso_gguf_get_array_data(g, "sample.arr_str", &data) == PRESSO_ERR_FORMAT);
        presso_gguf_string s;
        CHECK(presso_gguf_get_array_string(g, "sample.arr_u8", 0, &s) == PRESSO_ERR_FORMAT);
        presso_gguf_close(g);
    }
    /* The same bytes parse the same through the borrowed-buffer entry point. */
    g = NULL;
    CHECK_OK(presso_gguf_open_buffer(b1, n1, "sample-in-memory", &g));
    if (g) check_sample(g, true);
    presso_gguf_close(g);
    free(b1);
    presso_gguf_close(NULL);
    presso_gguf_writer_free(NULL);
}

static void test_writer_semantics(void) {
    presso_gguf_writer *w = presso_gguf_writer_new();
    /* Replacing a key keeps its position and takes the new type. */
    CHECK_OK(presso_gguf_writer_set_u32(w, "a", 1));
    CHECK_OK(presso_gguf_writer_set_string(w, "b", "x"));
    CHECK_OK(presso_gguf_writer_set_u32(w, "c", 3));
    CHECK_OK(presso_gguf_writer_set_string(w, "a", "replaced"));
    CHECK_OK(presso_gguf_writer_set_u32(w, "general.alignment", 64));
    CHECK_OK(presso_gguf_writer_set_f64(w, "big", 1e300));
    /* Argument checks. */
    CHECK(presso_gguf_writer_set_u32(w, "", 1) == PRESSO_ERR_INVALID_ARG);
    CHECK(presso_gguf_writer_set_array(w, "bad", PRESSO_GGUF_STRING, "x", 1) == PRESSO_ERR_INVALID_ARG);
    float data[2] = {1.0f, 2.0f};
    presso_tensor t = {.name = "x", .type = PRESSO_TYPE_F32, .n_dims = 1, .ne = {2, 1, 1, 1}, .data = data, .nbytes = 8};
    CHECK_OK(presso_gguf_writer_add_tensor(w, &t));
    CHECK(presso_gguf_writer_add_tensor(w, &t) == PRESSO_ERR_INVALID_ARG); /* duplicate name */
    presso_tensor bad = t;
    strcpy(bad.name, "y");
    bad.nbytes = 4;
    CHECK(presso_gguf_writer_add_tensor(w, &bad) == PRESSO_ERR_INVALID_ARG); /* nbytes vs shape */
    bad.nbytes = 8;
    bad.n_dims = 0;
    CHECK(presso_gguf_writer_add_tensor(w, &bad) == PRESSO_ERR_INVALID_ARG);
    bad.n_dims = 1;
    bad.type = (presso_type)4;
    CHECK(presso_gguf_writer_add_tensor(w, &bad) == PRESSO_ERR_INVALID_ARG);
    char long_name[PRESSO_MAX_NAME + 1];
    memset(long_name, 'n', PRESSO_MAX_NAME);
    long_name[PRESSO_MAX_NAME] = '\0';
    CHECK(presso_gguf_writer_add_tensor_fn(w, long_name, PRESSO_TYPE_F32, 1, t.ne, fill_stream, NULL, 0) ==
          PRESSO_ERR_INVALID_ARG);
    long_name[PRESSO_MAX_NAME - 1] = '\0'; /* exactly PRESSO_MAX_NAME - 1 bytes: allowed */
    presso_tensor z = {.type = PRESSO_TYPE_F16, .n_dims = 2, .ne = {8, 0, 1, 1}, .data = NULL, .nbytes = 0};
    strcpy(z.name, long_name);
    CHECK_OK(presso_gguf_writer_add_tensor(w, &z)); /* zero-size tensor */
    CHECK_OK(presso_gguf_writer_add_tensor(w, &(presso_tensor){.name = "after", .type = PRESSO_TYPE_F32, .n_dims = 1,
                                                               .ne = {1, 1, 1, 1}, .data = data, .nbytes = 4}));
    const char *path = tmp_path("semantics.gguf");
    CHECK_OK(presso_gguf_writer_write(w, path));
    presso_gguf *g = NULL;
    CHECK_OK(presso_gguf_open(path, &g));
    if (g) {
        CHECK(presso_gguf_kv_count(g) == 5);
        float f = 0;
        double d = 0;
        CHECK(presso_gguf_get_f32(g, "big", &f) == PRESSO_ERR_FORMAT); /* no silent UB cast */
        CHECK_OK(presso_gguf_get_f64(g, "big", &d));
        CHECK(d == 1e300);
        CHECK(str_eq(presso_gguf_kv_key(g, 0), "a") && presso_gguf_kv_type(g, 0) == PRESSO_GGUF_STRING);
        CHECK(str_eq(presso_gguf_kv_key(g, 1), "b") && str_eq(presso_gguf_kv_key(g, 2), "c"));
        presso_gguf_string s;
        CHECK_OK(presso_gguf_get_string(g, "a", &s));
        CHECK(str_eq(s, "replaced"));
        CHECK(presso_gguf_alignment(g) == 64);
        CHECK(presso_gguf_data_offset(g) % 64 == 0);
        CHECK(presso_gguf_tensor_count(g) == 3);
        for (int64_t i = 0; i < presso_gguf_tensor_count(g); i++) {
            const presso_tensor *ti = presso_gguf_tensor(g, i);
            CHECK((uint64_t)((const uint8_t *)ti->data - presso_gguf_base(g)) % 64 == 0);
        }
        const presso_tensor *tz = presso_gguf_find_tensor(g, long_name);
        CHECK(tz && tz->nbytes == 0 && tz->ne[1] == 0);
        const presso_tensor *ta = presso_gguf_find_tensor(g, "after");
        CHECK(ta && ta->nbytes == 4 && memcmp(ta->data, data, 4) == 0);
        presso_gguf_close(g);
    }
    /* An alignment that is no power of two is refused at write time. */
    CHECK_OK(presso_gguf_writer_set_u32(w, "general.alignment", 48));
    CHECK(presso_gguf_writer_write(w, tmp_path("bad-align.gguf")) == PRESSO_ERR_INVALID_ARG);
    CHECK(!presso_test_file_exists(tmp_path("bad-align.gguf")));
    presso_gguf_writer_free(w);
}

static void test_copy_kvs(void) {
    const char *src_path = presso_test_shared("models/stories260K/gguf-by-llama.cpp/stories260K-f32.gguf");
    presso_gguf *src = NULL;
    CHECK_OK(presso_gguf_open(src_path, &src));
    if (!src) return;
    presso_gguf_writer *w = presso_gguf_writer_new();
    CHECK_OK(presso_gguf_writer_set_u32(w, "first", 1));
    CHECK_OK(presso_gguf_writer_copy_kvs(w, src, "tokenizer."));
    const char *path = tmp_path("copy.gguf");
    CHECK_OK(presso_gguf_writer_write(w, path));
    presso_gguf_writer_free(w);
    presso_gguf *g = NULL;
    CHECK_OK(presso_gguf_open(path, &g));
    if (g) {
        int64_t expected = 1, same = 0;
        for (int64_t i = 0; i < presso_gguf_kv_count(src); i++) {
            presso_gguf_string k = presso_gguf_kv_key(src, i);
            if (k.len < 10 || memcmp(k.ptr, "tokenizer.", 10) != 0) continue;
            expected++;
            char key[256];
            snprintf(key, sizeof key, "%.*s", (int)k.len, k.ptr);
            int64_t j = presso_gguf_find_key(g, key);
            presso_gguf_value a, b;
            if (j < 0 || presso_gguf_kv_value(src, i, &a) != PRESSO_OK || presso_gguf_kv_value(g, j, &b) != PRESSO_OK)
                continue;
            if (a.type == b.type && a.elem_type == b.elem_type && a.count == b.count && a.raw_len == b.raw_len &&
                memcmp(a.raw, b.raw, (size_t)a.raw_len) == 0)
                same++;
        }
        CHECK_MSG(expected >= 5 && presso_gguf_kv_count(g) == expected && same == expected - 1,
                  "%lld keys, expected %lld, %lld identical", (long long)presso_gguf_kv_count(g),
                  (long long)expected, (long long)same);
        presso_gguf_string s;
        CHECK_OK(presso_gguf_get_array_string(g, "tokenizer.ggml.tokens", 511, &s));
        presso_gguf_string s0;
        CHECK_OK(presso_gguf_get_array_string(src, "tokenizer.ggml.tokens", 511, &s0));
        CHECK(s.len == s0.len && memcmp(s.ptr, s0.ptr, s.len) == 0);
        presso_gguf_close(g);
    }
    presso_gguf_close(src);
}

static presso_status fill_fails(void *user, int64_t index, void *dst, size_t nbytes) {
    (void)user;
    (void)index;
    memset(dst, 0xab, nbytes / 2);
    return presso_fail(PRESSO_ERR_IO, "simulated read error");
}

static void test_atomic(void) {
    /* A path whose directory does not exist: IO error, nothing created. */
    presso_gguf_writer *w = presso_gguf_writer_new();
    CHECK_OK(presso_gguf_writer_set_u32(w, "a", 1));
    const char *missing = tmp_path("no-such-dir/x.gguf");
    CHECK(presso_gguf_writer_write(w, missing) == PRESSO_ERR_IO);
    CHECK(strstr(presso_last_error(), "no-such-dir") != NULL);
    CHECK(!presso_test_file_exists(missing) && !presso_test_file_exists(tmp_path("no-such-dir")));
    presso_gguf_writer_free(w);

    /* A failing fill callback leaves the existing file untouched and no .tmp. */
    const char *path = tmp_path("atomic.gguf");
    w = presso_gguf_writer_new();
    CHECK_OK(presso_gguf_writer_set_string(w, "version", "old"));
    CHECK_OK(build_sample(w, NULL));
    CHECK_OK(presso_gguf_writer_write(w, path));
    presso_gguf_writer_free(w);
    size_t n_before = 0, n_after = 0;
    uint8_t *before = presso_test_read_file(path, &n_before);

    w = presso_gguf_writer_new();
    CHECK_OK(presso_gguf_writer_set_string(w, "version", "new"));
    const int64_t ne[2] = {16, 4};
    float ok[16] = {0};
    presso_tensor t = {.name = "ok", .type = PRESSO_TYPE_F32, .n_dims = 1, .ne = {16, 1, 1, 1}, .data = ok, .nbytes = 64};
    CHECK_OK(presso_gguf_writer_add_tensor(w, &t));
    CHECK_OK(presso_gguf_writer_add_tensor_fn(w, "broken", PRESSO_TYPE_F32, 2, ne, fill_fails, NULL, 0));
    presso_status st = presso_gguf_writer_write(w, path);
    CHECK(st == PRESSO_ERR_IO);
    CHECK(strstr(presso_last_error(), "simulated read error") && strstr(presso_last_error(), "broken"));
    presso_gguf_writer_free(w);
    uint8_t *after = presso_test_read_file(path, &n_after);
    CHECK(before && after && n_before == n_after && memcmp(before, after, n_before) == 0);
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(!presso_test_file_exists(tmp));
    free(before);
    free(after);
}

/* ---- hostile inputs ----------------------------------------------------------------- */

typedef struct {
    uint8_t *p;
    size_t len, cap;
} buf;

static void put(buf *b, const void *src, size_t n) {
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}
static void put_le(buf *b, uint64_t v, int n) {
    uint8_t t[8];
    for (int i = 0; i < n; i++) t[i] = (uint8_t)(v >> (8 * i));
    put(b, t, (size_t)n);
}
static void put_str(buf *b, const char *s) {
    put_le(b, strlen(s), 8);
    put(b, s, strlen(s));
}

/* A small valid file, with knobs to break one thing at a time. */
typedef struct {
    uint32_t version;
    bool n_tensors_set, n_kv_set;
    uint64_t n_tensors, n_kv;
    bool alignment_set;
    uint32_t alignment_type;
    uint64_t alignment;
    uint32_t val_type;       /* type tag of "x.val" (normally u32) */
    uint32_t arr_elem_type;  /* element type of "x.arr" (normally string) */
    bool dup_key;
    uint32_t t1_type, t1_ndims;
    uint64_t t1_ne[5];
    uint64_t t1_offset;
    const char *t1_name;
    bool long_name;
} spec;

static spec valid_spec(void) {
    spec s;
    memset(&s, 0, sizeof s);
    s.version = 3;
    s.alignment_set = true;
    s.alignment_type = PRESSO_GGUF_UINT32;
    s.alignment = 32;
    s.val_type = PRESSO_GGUF_UINT32;
    s.arr_elem_type = PRESSO_GGUF_STRING;
    s.t1_type = PRESSO_TYPE_F32;
    s.t1_ndims = 1;
    s.t1_ne[0] = 8;
    s.t1_offset = 32;
    s.t1_name = "b";
    return s;
}

static buf build(const spec *s) {
    buf b = {0};
    put(&b, "GGUF", 4);
    put_le(&b, s->version, 4);
    put_le(&b, s->n_tensors_set ? s->n_tensors : 2, 8);
    put_le(&b, s->n_kv_set ? s->n_kv : (uint64_t)((s->alignment_set ? 4 : 3) + (s->dup_key ? 1 : 0)), 8);
    put_str(&b, "general.architecture");
    put_le(&b, PRESSO_GGUF_STRING, 4);
    put_str(&b, "llama");
    if (s->alignment_set) {
        put_str(&b, "general.alignment");
        put_le(&b, s->alignment_type, 4);
        put_le(&b, s->alignment, s->alignment_type == PRESSO_GGUF_UINT64 ? 8 : 4);
    }
    put_str(&b, "x.arr");
    put_le(&b, PRESSO_GGUF_ARRAY, 4);
    put_le(&b, s->arr_elem_type, 4);
    put_le(&b, 2, 8);
    if (s->arr_elem_type == PRESSO_GGUF_STRING) {
        put_str(&b, "a");
        put_str(&b, "bc");
    } else {
        put_le(&b, 0x0101010101010101ull, 8); /* enough bytes for 2 elements of any size */
        put_le(&b, 0x0101010101010101ull, 8);
    }
    put_str(&b, "x.val");
    put_le(&b, s->val_type, 4);
    put_le(&b, 7, 4);
    if (s->dup_key) {
        put_str(&b, "x.val");
        put_le(&b, PRESSO_GGUF_UINT32, 4);
        put_le(&b, 8, 4);
    }
    /* tensor "a": f32 {4, 2} at 0 */
    put_str(&b, "a");
    put_le(&b, 2, 4);
    put_le(&b, 4, 8);
    put_le(&b, 2, 8);
    put_le(&b, PRESSO_TYPE_F32, 4);
    put_le(&b, 0, 8);
    /* tensor "b": the knobs, normally f32 {8} at 32 */
    if (s->long_name) {
        char name[PRESSO_MAX_NAME + 1];
        memset(name, 'x', PRESSO_MAX_NAME);
        name[PRESSO_MAX_NAME] = '\0';
        put_str(&b, name);
    } else {
        put_str(&b, s->t1_name);
    }
    put_le(&b, s->t1_ndims, 4);
    for (uint32_t d = 0; d < s->t1_ndims && d < 5; d++) put_le(&b, s->t1_ne[d], 8);
    put_le(&b, s->t1_type, 4);
    put_le(&b, s->t1_offset, 8);
    uint64_t a = s->alignment_set && s->alignment && !(s->alignment & (s->alignment - 1)) ? s->alignment : 32;
    while (b.len % a) put_le(&b, 0, 1);
    for (int i = 0; i < 16; i++) { /* 64 bytes of data: 2 tensors of 32 */
        float f = (float)i;
        put(&b, &f, 4);
    }
    return b;
}

/* Opens a copy sized exactly to n (so ASan catches any over-read). */
static presso_status open_copy(const uint8_t *p, size_t n, presso_gguf **g) {
    uint8_t *copy = malloc(n ? n : 1);
    if (n) memcpy(copy, p, n);
    presso_status st = presso_gguf_open_buffer(n ? copy : NULL, n, "hostile.gguf", g);
    if (*g) { /* touch everything the getters expose */
        for (int64_t i = 0; i < presso_gguf_tensor_count(*g); i++) {
            const presso_tensor *t = presso_gguf_tensor(*g, i);
            if (t->nbytes) (void)crc32_of(t->data, t->nbytes);
        }
        presso_gguf_close(*g);
        *g = NULL;
    }
    free(copy);
    return st;
}

static void expect_refused(const char *label, const buf *b, const char *want) {
    presso_gguf *g = NULL;
    presso_status st = open_copy(b->p, b->len, &g);
    const char *msg = presso_last_error();
    CHECK_MSG(st == PRESSO_ERR_FORMAT && strstr(msg, "hostile.gguf") && strstr(msg, "offset") &&
                  (!want || strstr(msg, want)),
              "%s: status %s, message '%s', wanted '%s'", label, presso_status_name(st), msg, want ? want : "");
}

static void patch_le(buf *b, size_t at, uint64_t v, int n) {
    for (int i = 0; i < n; i++) b->p[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static void test_hostile(void) {
    spec s = valid_spec();
    buf b = build(&s);
    presso_gguf *g = NULL;
    CHECK_OK(presso_gguf_open_buffer(b.p, b.len, "hostile.gguf", &g));
    if (g) {
        CHECK(presso_gguf_tensor_count(g) == 2 && presso_gguf_kv_count(g) == 4);
        CHECK(presso_gguf_find_tensor(g, "b") && ((const float *)presso_gguf_find_tensor(g, "b")->data)[0] == 8.0f);
        presso_gguf_close(g);
    }
    /* Truncation at every byte: refused, never a crash or an over-read. */
    int accepted = 0, wrong = 0;
    for (size_t n = 0; n < b.len; n++) {
        presso_status st = open_copy(b.p, n, &g);
        if (st == PRESSO_OK) accepted++;
        else if (st != PRESSO_ERR_FORMAT || !strstr(presso_last_error(), "hostile.gguf")) wrong++;
    }
    CHECK_MSG(accepted == 0 && wrong == 0, "truncations: %d accepted, %d with a wrong status", accepted, wrong);

    buf x = build(&s);
    memcpy(x.p, "GGUX", 4);
    expect_refused("bad magic", &x, "bad magic");
    free(x.p);

    struct knob {
        const char *label, *want;
        spec s;
    } knobs[40];
    int nk = 0;
#define KNOB(label_, want_, stmt)                                                                                   \
    do {                                                                                                           \
        knobs[nk].label = label_;                                                                                  \
        knobs[nk].want = want_;                                                                                    \
        knobs[nk].s = valid_spec();                                                                                \
        spec *k = &knobs[nk].s;                                                                                    \
        stmt;                                                                                                      \
        nk++;                                                                                                      \
    } while (0)
    KNOB("version 1", "version 1 is not supported", k->version = 1);
    KNOB("version 4", "unsupported GGUF version 4", k->version = 4);
    KNOB("version 0", "unsupported GGUF version 0", k->version = 0);
    KNOB("big-endian", "big-endian", k->version = 0x03000000u);
    KNOB("huge n_tensors", "tensor count 18446744073709551615 exceeds file size",
         (k->n_tensors_set = true, k->n_tensors = UINT64_MAX));
    KNOB("large n_tensors", "tensor count", (k->n_tensors_set = true, k->n_tensors = 1ull << 40));
    KNOB("huge n_kv", "key/value count 9223372036854775808 exceeds file size",
         (k->n_kv_set = true, k->n_kv = 1ull << 63));
    KNOB("n_kv one too many", NULL, (k->n_kv_set = true, k->n_kv = 5));
    KNOB("n_tensors one too many", NULL, (k->n_tensors_set = true, k->n_tensors = 3));
    KNOB("unknown value type", "unknown value type 13", k->val_type = 13);
    KNOB("unknown value type 2^32-1", "unknown value type 4294967295", k->val_type = UINT32_MAX);
    KNOB("unknown array element type", "unknown array element type 99", k->arr_elem_type = 99);
    KNOB("nested array", "nested arrays are not supported", k->arr_elem_type = PRESSO_GGUF_ARRAY);
    KNOB("duplicate key", "duplicate key 'x.val'", k->dup_key = true);
    KNOB("tensor type 4", "unknown tensor type 4", k->t1_type = 4);
    KNOB("tensor type 200", "unknown tensor type 200", k->t1_type = 200);
    KNOB("tensor type 2^31", "unknown tensor type 2147483648", k->t1_type = 1u << 31);
    KNOB("n_dims 0", "n_dims 0", k->t1_ndims = 0);
    KNOB("n_dims 5", "n_dims 5", (k->t1_ndims = 5, k->t1_ne[1] = k->t1_ne[2] = k->t1_ne[3] = k->t1_ne[4] = 1));
    KNOB("ne product overflow", "overflows",
         (k->t1_ndims = 3, k->t1_ne[0] = 1ull << 32, k->t1_ne[1] = 1ull << 32, k->t1_ne[2] = 1ull << 32));
    KNOB("byte size overflow", "overflows", (k->t1_ndims = 2, k->t1_ne[0] = 1ull << 62, k->t1_ne[1] = 1));
    KNOB("negative ne", "negative", (k->t1_ndims = 1, k->t1_ne[0] = UINT64_MAX));
    KNOB("misaligned offset", "not a multiple of the alignment", k->t1_offset = 4);
    KNOB("offset past EOF", "past the end", k->t1_offset = 64);
    KNOB("offset wraps", "not a multiple", k->t1_offset = UINT64_MAX);
    KNOB("offset wraps aligned", "past the end", k->t1_offset = UINT64_MAX - 31);
    KNOB("tensor too large", "past the end", k->t1_ne[0] = 9);
    KNOB("duplicate tensor name", "duplicate tensor name 'a'", k->t1_name = "a");
    KNOB("long tensor name", "is longer than 127", k->long_name = true);
    KNOB("alignment 0", "general.alignment 0 is not a power of two", k->alignment = 0);
    KNOB("alignment 3", "general.alignment 3 is not a power of two", k->alignment = 3);
    KNOB("alignment u64", "general.alignment has type u64", k->alignment_type = PRESSO_GGUF_UINT64);
#undef KNOB
    for (int i = 0; i < nk; i++) {
        buf h = build(&knobs[i].s);
        expect_refused(knobs[i].label, &h, knobs[i].want);
        free(h.p);
    }
    /* Zero-size dims are allowed (and take no bytes). */
    spec zs = valid_spec();
    zs.t1_ndims = 2;
    zs.t1_ne[0] = 8;
    zs.t1_ne[1] = 0;
    zs.t1_offset = 64; /* exactly at the end: an empty range is inside the file */
    buf zb = build(&zs);
    CHECK(open_copy(zb.p, zb.len, &g) == PRESSO_OK);
    free(zb.p);
    /* Alignment 64 honoured: tensor b at 32 is then misaligned. */
    spec as = valid_spec();
    as.alignment = 64;
    buf ab = build(&as);
    expect_refused("offset 32 with alignment 64", &ab, "alignment 64");
    free(ab.p);
    /* Version 2 reads like version 3. */
    spec v2 = valid_spec();
    v2.version = 2;
    buf vb = build(&v2);
    CHECK(open_copy(vb.p, vb.len, &g) == PRESSO_OK);
    free(vb.p);

    /* Length fields patched in place: key string, string value, array length,
     * string element. Offsets follow build()'s layout. */
    const size_t key0 = 24;                        /* "general.architecture" length */
    const size_t val0 = key0 + 8 + 20 + 4;         /* "llama" length */
    const size_t arr = val0 + 8 + 5 + 8 + 17 + 4 + 4 + 8 + 5 + 4 + 4; /* x.arr count */
    buf p = build(&s);
    patch_le(&p, key0, UINT64_MAX, 8);
    expect_refused("key length 2^64-1", &p, "offset 24: key 0: string length 18446744073709551615 exceeds file size");
    free(p.p);
    p = build(&s);
    patch_le(&p, val0, p.len, 8);
    expect_refused("string value length", &p, "exceeds file size");
    free(p.p);
    p = build(&s);
    CHECK(p.p[arr] == 2 && p.p[arr - 4] == PRESSO_GGUF_STRING);
    patch_le(&p, arr, 1ull << 61, 8);
    expect_refused("array length", &p, "array length 2305843009213693952 exceeds file size");
    free(p.p);
    p = build(&s);
    patch_le(&p, arr + 8, UINT64_MAX - 3, 8);
    expect_refused("array element length", &p, "element 0: string length");
    free(p.p);
    free(b.p);
}

/* The shipped file, truncated at every byte up to the end of its header and at
 * a sample of points inside the tensor data. */
static void test_truncated_model(void) {
    const char *path = presso_test_shared("models/stories260K/gguf-by-llama.cpp/stories260K-f32.gguf");
    size_t n = 0;
    uint8_t *all = presso_test_read_file(path, &n);
    CHECK(all != NULL);
    if (!all) return;
    presso_gguf *g = NULL;
    CHECK_OK(presso_gguf_open_buffer(all, n, "stories.gguf", &g));
    size_t header = g ? (size_t)presso_gguf_data_offset(g) : 0;
    presso_gguf_close(g);
    int accepted = 0, wrong = 0;
    for (size_t len = 0; len < n; len = len <= header ? len + 1 : len + 4099) {
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, all, len);
        presso_status st = presso_gguf_open_buffer(copy, len, "stories.gguf", &g);
        if (st == PRESSO_OK) {
            accepted++;
            presso_gguf_close(g);
        } else if (st != PRESSO_ERR_FORMAT || !strstr(presso_last_error(), "stories.gguf")) {
            wrong++;
        }
        free(copy);
    }
    CHECK_MSG(header > 1000 && accepted == 0 && wrong == 0, "header %zu: %d accepted, %d wrong", header, accepted,
              wrong);
    /* And a file on disk: an empty one and a truncated one. */
    const char *empty = tmp_path("empty.gguf");
    FILE *f = fopen(empty, "wb");
    if (f) fclose(f);
    CHECK(presso_gguf_open(empty, &g) == PRESSO_ERR_FORMAT && g == NULL);
    CHECK(strstr(presso_last_error(), "empty.gguf") != NULL);
    CHECK(presso_gguf_open(tmp_path("does-not-exist.gguf"), &g) == PRESSO_ERR_IO && g == NULL);
    const char *cut = tmp_path("cut.gguf");
    f = fopen(cut, "wb");
    if (f) {
        fwrite(all, 1, n - 1, f);
        fclose(f);
    }
    CHECK(presso_gguf_open(cut, &g) == PRESSO_ERR_FORMAT && g == NULL);
    CHECK(strstr(presso_last_error(), "cut.gguf") && strstr(presso_last_error(), "past the end"));
    free(all);
}

static int write_sample(const char *path) {
    presso_gguf_writer *w = presso_gguf_writer_new();
    presso_status st = build_sample(w, NULL);
    if (st == PRESSO_OK) st = presso_gguf_writer_write(w, path);
    presso_gguf_writer_free(w);
    if (st != PRESSO_OK) fprintf(stderr, "%s\n", presso_last_error());
    return st == PRESSO_OK ? 0 : 1;
}

static int read_sample(const char *path) {
    presso_gguf *g = NULL;
    CHECK_OK(presso_gguf_open(path, &g));
    if (g) check_sample(g, true);
    presso_gguf_close(g);
    return presso_test_finish();
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--write-sample") == 0) return write_sample(argv[2]);
    if (argc == 3 && strcmp(argv[1], "--read-sample") == 0) return read_sample(argv[2]);
    if (argc == 3 && strcmp(argv[1], "--dump") == 0) return dump(argv[2]);

    snprintf(tmp_dir, sizeof tmp_dir, "%s/test_gguf_tmp.XXXXXX", PRESSO_BINARY_DIR);
    if (!mkdtemp(tmp_dir)) {
        snprintf(tmp_dir, sizeof tmp_dir, "/tmp/test_gguf_tmp.XXXXXX");
        if (!mkdtemp(tmp_dir)) {
            perror("mkdtemp");
            return 1;
        }
    }
    test_round_trip();
    test_writer_semantics();
    test_atomic();
    test_hostile();
    test_shipped("stories260K-f32.gguf", PRESSO_TYPE_F32);
    test_shipped("stories260K-f16.gguf", PRESSO_TYPE_F16);
    test_shipped("stories260K-q8_0.gguf", PRESSO_TYPE_Q8_0);
    test_shipped("stories260K-q4_0.gguf", PRESSO_TYPE_Q4_0);
    /* Rows of 64 fit no 256-wide K-quant block: llama.cpp wrote this "Q4_K_M" file with Q5_0 instead. */
    test_shipped("stories260K-q4_k_m.gguf", PRESSO_TYPE_Q5_0);
    test_copy_kvs();
    test_truncated_model();

    static const char *const files[] = {"sample.gguf", "sample2.gguf", "semantics.gguf", "atomic.gguf",
                                        "copy.gguf",   "empty.gguf",   "cut.gguf"};
    for (size_t i = 0; i < N_ELEMS(files); i++) unlink(tmp_path(files[i]));
    rmdir(tmp_dir);
    return presso_test_finish();
}
