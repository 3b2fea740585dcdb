/* safetensors reader: the shared tinystories-656k model (values checked
 * against Python's safetensors.numpy), a 2-shard copy of it, and hostile
 * inputs that must each give a clear error naming the file. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/safetensors.h"
#include "harness.h"

static char tmp_dir[256];

/* Checks status == want and that the message holds each needle (NULL ends). */
static void expect_fail_at(int line, presso_status got, presso_status want, const char *needle1,
                           const char *needle2) {
    const char *msg = presso_last_error();
    int ok = got == want && (!needle1 || strstr(msg, needle1)) && (!needle2 || strstr(msg, needle2));
    CHECK_MSG(ok, "line %d: got %s \"%s\", want %s with \"%s\" and \"%s\"", line,
              presso_status_name(got), msg, presso_status_name(want), needle1 ? needle1 : "",
              needle2 ? needle2 : "");
}
#define EXPECT_FAIL(got, want, n1, n2) expect_fail_at(__LINE__, (got), (want), (n1), (n2))


static void write_all(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fwrite(data, 1, size, f) == size);
    fclose(f);
}

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 512, "%s/%s", tmp_dir, name);
    return p;
}

/* A safetensors image: header padded with spaces to 8 bytes (as the reference
 * writer does, so data starts aligned), then data_bytes of data 0, 1, 2, ... */
static uint8_t *make_image(const char *header, size_t data_bytes, size_t *size) {
    size_t hlen = strlen(header);
    size_t padded = (hlen + 7) / 8 * 8;
    *size = 8 + padded + data_bytes;
    uint8_t *buf = malloc(*size);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    memcpy(buf + 8, header, hlen);
    memset(buf + 8 + hlen, ' ', padded - hlen);
    for (size_t i = 0; i < data_bytes; i++) buf[8 + padded + i] = (uint8_t)i;
    return buf;
}

static presso_status open_header(const char *header, size_t data_bytes, presso_safetensors **st) {
    size_t size;
    uint8_t *buf = make_image(header, data_bytes, &size);
    presso_status s = presso_safetensors_open_buffer(buf, size, "hostile.safetensors", st);
    if (s == PRESSO_OK) {
        presso_safetensors_close(*st);
        *st = NULL;
    }
    free(buf);
    return s;
}

static void test_real_model(const char *path) {
    presso_safetensors *st = NULL;
    CHECK_OK(presso_safetensors_open(path, &st));
    if (!st) return;
    CHECK(presso_safetensors_tensor_count(st) == 20);
    /* The file stores the tied embedding once, as lm_head.weight ("__metadata__"
     * maps model.embed_tokens.weight to it). */
    const presso_tensor *t = presso_safetensors_find(st, "lm_head.weight");
    CHECK(t != NULL);
    if (t) {
        CHECK(t->type == PRESSO_TYPE_F32);
        CHECK(t->n_dims == 2 && t->ne[0] == 128 && t->ne[1] == 2048 && t->ne[2] == 1 && t->ne[3] == 1);
        CHECK(t->nbytes == 2048 * 128 * 4);
        const float *w = t->data;
        /* Reference: safetensors.numpy.load_file(...)["lm_head.weight"] */
        CHECK(w[0] == -0.68359375f);
        CHECK(w[1] == -0.0258789062f);
        CHECK(w[2] == 0.58984375f);
        CHECK(w[3] == -0.168945312f);
        CHECK(w[1 * 128 + 2] == 0.068359375f); /* a[1][2]: row 1 is ne[0] elements further */
        CHECK(w[2048 * 128 - 1] == -0.421875f);
    }
    CHECK(presso_safetensors_find(st, "model.embed_tokens.weight") == NULL);
    t = presso_safetensors_find(st, "model.layers.1.mlp.down_proj.weight");
    CHECK(t != NULL);
    if (t) {
        CHECK(t->ne[0] == 384 && t->ne[1] == 128 && t->n_dims == 2);
        const float *w = t->data;
        CHECK(w[0] == -0.17578125f && w[1] == -0.578125f && w[2] == 0.0578613281f);
        CHECK(w[384 + 2] == -1.5390625f);
        CHECK(w[384 * 128 - 1] == -0.137695312f);
    }
    t = presso_safetensors_find(st, "model.layers.0.self_attn.k_proj.weight");
    CHECK(t && t->ne[0] == 128 && t->ne[1] == 64); /* 4 kv heads x 16 */
    t = presso_safetensors_find(st, "model.norm.weight");
    CHECK(t && t->n_dims == 1 && t->ne[0] == 128 && t->ne[1] == 1);
    static const char *per_layer[] = {
        "input_layernorm.weight",    "mlp.down_proj.weight",        "mlp.gate_proj.weight",
        "mlp.up_proj.weight",        "post_attention_layernorm.weight", "self_attn.k_proj.weight",
        "self_attn.o_proj.weight",   "self_attn.q_proj.weight",     "self_attn.v_proj.weight"};
    for (int l = 0; l < 2; l++)
        for (size_t i = 0; i < sizeof per_layer / sizeof *per_layer; i++) {
            char name[128];
            snprintf(name, sizeof name, "model.layers.%d.%s", l, per_layer[i]);
            t = presso_safetensors_find(st, name);
            CHECK_MSG(t && strcmp(t->name, name) == 0, "%s", name);
        }
    /* Index order is the header's order; every tensor is found by its name. */
    for (int64_t i = 0; i < presso_safetensors_tensor_count(st); i++) {
        const presso_tensor *ti = presso_safetensors_tensor(st, i);
        CHECK(ti && presso_safetensors_find(st, ti->name) == ti);
    }
    CHECK(strcmp(presso_safetensors_tensor(st, 0)->name, "lm_head.weight") == 0);
    CHECK(presso_safetensors_tensor(st, 20) == NULL && presso_safetensors_tensor(st, -1) == NULL);
    CHECK(presso_safetensors_find(st, "nope") == NULL);
    presso_safetensors_close(st);
    presso_safetensors_close(NULL);
}

/* Two shards + index built from the real file; every tensor must come back
 * byte-identical. */
static void test_sharded(const char *model_path) {
    presso_safetensors *ref = NULL;
    CHECK_OK(presso_safetensors_open(model_path, &ref));
    if (!ref) return;
    int64_t n = presso_safetensors_tensor_count(ref);
    char *index = malloc(1 << 16);
    int ilen = snprintf(index, 1 << 16, "{\"metadata\": {\"total_size\": 0}, \"weight_map\": {");
    for (int shard = 0; shard < 2; shard++) {
        /* shard 0 gets the odd-indexed tensors, shard 1 the even ones */
        char *header = malloc(1 << 16);
        int hlen = snprintf(header, 1 << 16, "{\"__metadata__\":{\"format\":\"pt\"}");
        size_t data_bytes = 0;
        for (int64_t i = 0; i < n; i++) {
            const presso_tensor *t = presso_safetensors_tensor(ref, i);
            if (i % 2 == shard) continue;
            char shape[128];
            int sl = 0;
            for (int d = t->n_dims - 1; d >= 0; d--) /* back to safetensors order */
                sl += snprintf(shape + sl, sizeof shape - (size_t)sl, "%s%lld", d == t->n_dims - 1 ? "" : ",",
                               (long long)t->ne[d]);
            hlen += snprintf(header + hlen, (size_t)(1 << 16) - (size_t)hlen,
                             ",\"%s\":{\"dtype\":\"F32\",\"shape\":[%s],\"data_offsets\":[%zu,%zu]}",
                             t->name, shape, data_bytes, data_bytes + t->nbytes);
            data_bytes += t->nbytes;
            ilen += snprintf(index + ilen, (size_t)(1 << 16) - (size_t)ilen, "%s\"%s\": \"shard-%d.safetensors\"",
                             ilen > 60 ? ", " : "", t->name, shard + 1);
        }
        hlen += snprintf(header + hlen, (size_t)(1 << 16) - (size_t)hlen, "}");
        size_t size;
        uint8_t *img = make_image(header, data_bytes, &size);
        size_t off = size - data_bytes;
        for (int64_t i = 0; i < n; i++) {
            const presso_tensor *t = presso_safetensors_tensor(ref, i);
            if (i % 2 == shard) continue;
            memcpy(img + off, t->data, t->nbytes);
            off += t->nbytes;
        }
        char name[64];
        snprintf(name, sizeof name, "shard-%d.safetensors", shard + 1);
        write_all(tmp_path(name), img, size);
        free(img);
        free(header);
    }
    snprintf(index + ilen, (size_t)(1 << 16) - (size_t)ilen, "}}");
    write_all(tmp_path("model.safetensors.index.json"), index, strlen(index));

    presso_safetensors *st = NULL;
    for (int via_dir = 0; via_dir < 2; via_dir++) {
        CHECK_OK(presso_safetensors_open(via_dir ? tmp_dir : tmp_path("model.safetensors.index.json"), &st));
        if (!st) continue;
        CHECK(presso_safetensors_tensor_count(st) == n);
        for (int64_t i = 0; i < n; i++) {
            const presso_tensor *a = presso_safetensors_tensor(ref, i);
            const presso_tensor *b = presso_safetensors_find(st, a->name);
            CHECK_MSG(b && b->type == a->type && b->nbytes == a->nbytes && b->n_dims == a->n_dims &&
                          memcmp(b->ne, a->ne, sizeof a->ne) == 0 && memcmp(b->data, a->data, a->nbytes) == 0,
                      "%s differs in the sharded copy", a->name);
        }
        presso_safetensors_close(st);
        st = NULL;
    }

    /* An index given by a bare relative name: shards are found beside it. */
    {
        char cwd[1024];
        CHECK(getcwd(cwd, sizeof cwd) != NULL);
        CHECK(chdir(tmp_dir) == 0);
        CHECK_OK(presso_safetensors_open("model.safetensors.index.json", &st));
        CHECK(st && presso_safetensors_tensor_count(st) == n);
        presso_safetensors_close(st);
        st = NULL;
        CHECK(chdir(cwd) == 0);
    }

    /* Broken indexes. The first tensor (odd index 1 -> shard-1) is moved around. */
    const char *first = presso_safetensors_tensor(ref, 1)->name;
    char *bad = malloc(1 << 16);
    char *p = strstr(index, first);
    size_t pre = (size_t)(p - index) + strlen(first) + 4; /* past `": "` + `"` */
    /* the index names the wrong shard */
    memcpy(bad, index, strlen(index) + 1);
    bad[pre + 6] = '2';
    write_all(tmp_path("wrong.index.json"), bad, strlen(bad));
    EXPECT_FAIL(presso_safetensors_open(tmp_path("wrong.index.json"), &st), PRESSO_ERR_FORMAT, first,
                "names another shard");
    CHECK(st == NULL);
    /* the index lists a tensor no shard has */
    snprintf(bad, 1 << 16, "{\"weight_map\": {\"ghost\": \"shard-1.safetensors\", %s", strstr(index, "\"weight_map\": {") + 15);
    write_all(tmp_path("ghost.index.json"), bad, strlen(bad));
    EXPECT_FAIL(presso_safetensors_open(tmp_path("ghost.index.json"), &st), PRESSO_ERR_FORMAT, "ghost",
                "ghost.index.json");
    /* a shard leaves out a tensor the index lists */
    snprintf(bad, 1 << 16, "{\"weight_map\": {\"%s\": \"shard-1.safetensors\"}}", first);
    write_all(tmp_path("partial.index.json"), bad, strlen(bad));
    EXPECT_FAIL(presso_safetensors_open(tmp_path("partial.index.json"), &st), PRESSO_ERR_FORMAT,
                "does not list it", "partial.index.json");
    /* duplicate keys in weight_map */
    snprintf(bad, 1 << 16, "{\"weight_map\": {\"%s\": \"shard-1.safetensors\", \"%s\": \"shard-1.safetensors\"}}",
             first, first);
    write_all(tmp_path("dup.index.json"), bad, strlen(bad));
    EXPECT_FAIL(presso_safetensors_open(tmp_path("dup.index.json"), &st), PRESSO_ERR_FORMAT, "twice", first);
    /* a shard outside the model directory */
    write_all(tmp_path("escape.index.json"), "{\"weight_map\": {\"x\": \"../etc/passwd\"}}", 38);
    EXPECT_FAIL(presso_safetensors_open(tmp_path("escape.index.json"), &st), PRESSO_ERR_FORMAT,
                "escape.index.json", "shard file name");
    /* a missing shard */
    write_all(tmp_path("missing.index.json"), "{\"weight_map\": {\"x\": \"nope.safetensors\"}}", 41);
    EXPECT_FAIL(presso_safetensors_open(tmp_path("missing.index.json"), &st), PRESSO_ERR_IO,
                "missing.index.json", "nope.safetensors");
    write_all(tmp_path("nomap.index.json"), "{\"metadata\": {}}", 16);
    EXPECT_FAIL(presso_safetensors_open(tmp_path("nomap.index.json"), &st), PRESSO_ERR_FORMAT,
                "nomap.index.json", "weight_map");
    write_all(tmp_path("notjson.index.json"), "{\"weight_map\": ", 15);
    EXPECT_FAIL(presso_safetensors_open(tmp_path("notjson.index.json"), &st), PRESSO_ERR_FORMAT,
                "notjson.index.json", "not valid JSON");
    write_all(tmp_path("empty.index.json"), "{\"weight_map\": {}}", 18);
    EXPECT_FAIL(presso_safetensors_open(tmp_path("empty.index.json"), &st), PRESSO_ERR_FORMAT,
                "empty.index.json", "empty");
    const char *names[] = {"wrong", "ghost", "partial", "dup", "escape", "missing", "nomap", "notjson", "empty"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char f[64];
        snprintf(f, sizeof f, "%s.index.json", names[i]);
        unlink(tmp_path(f));
    }
    free(bad);
    free(index);
    presso_safetensors_close(ref);
}

static void test_truncated(const char *model_path) {
    size_t size;
    uint8_t *full = presso_test_read_file(model_path, &size);
    CHECK(full != NULL);
    if (!full) return;
    presso_safetensors *st = NULL;
    CHECK_OK(presso_safetensors_open_buffer(full, size, "full", &st));
    presso_safetensors_close(st);
    /* Every cut inside the header and a spread of cuts through the data: the
     * last tensor ends at the last byte, so every shorter file is refused. */
    int bad = 0, cuts = 0;
    for (size_t cut = 0; cut < size; cut += cut < 4096 ? 1 : 4093) {
        uint8_t *copy = malloc(cut + 1); /* exact size, so ASan sees any over-read */
        memcpy(copy, full, cut);
        presso_status s = presso_safetensors_open_buffer(copy, cut, "cut.safetensors", &st);
        if (s != PRESSO_ERR_FORMAT || !strstr(presso_last_error(), "cut.safetensors")) bad++;
        if (s == PRESSO_OK) presso_safetensors_close(st);
        free(copy);
        cuts++;
    }
    CHECK_MSG(bad == 0, "%d of %d truncations not refused cleanly", bad, cuts);
    /* The same through a real file: the error names it. */
    write_all(tmp_path("truncated.safetensors"), full, size - 1);
    EXPECT_FAIL(presso_safetensors_open(tmp_path("truncated.safetensors"), &st), PRESSO_ERR_FORMAT,
                "truncated.safetensors", "model.norm.weight");
    write_all(tmp_path("truncated.safetensors"), full, 1000);
    EXPECT_FAIL(presso_safetensors_open(tmp_path("truncated.safetensors"), &st), PRESSO_ERR_FORMAT,
                "truncated.safetensors", "header length 2160");
    write_all(tmp_path("truncated.safetensors"), full, 5);
    EXPECT_FAIL(presso_safetensors_open(tmp_path("truncated.safetensors"), &st), PRESSO_ERR_FORMAT,
                "truncated.safetensors", "too short");
    write_all(tmp_path("truncated.safetensors"), full, 0);
    EXPECT_FAIL(presso_safetensors_open(tmp_path("truncated.safetensors"), &st), PRESSO_ERR_FORMAT,
                "truncated.safetensors", "too short");
    unlink(tmp_path("truncated.safetensors"));
    free(full);
}

static void test_hostile_headers(void) {
    presso_safetensors *st = NULL;
    /* header length: huge, one past the end */
    uint8_t huge[16] = {0, 0, 0, 0, 0, 0, 0, 0x80, '{', '}'};
    EXPECT_FAIL(presso_safetensors_open_buffer(huge, sizeof huge, "huge.safetensors", &st),
                PRESSO_ERR_FORMAT, "huge.safetensors", "header length 9223372036854775808");
    uint8_t past[10] = {3, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    EXPECT_FAIL(presso_safetensors_open_buffer(past, sizeof past, "past.safetensors", &st),
                PRESSO_ERR_FORMAT, "past.safetensors", "past the end");
    uint8_t exact[10] = {2, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    CHECK_OK(presso_safetensors_open_buffer(exact, sizeof exact, "exact.safetensors", &st));
    CHECK(st && presso_safetensors_tensor_count(st) == 0);
    presso_safetensors_close(st);
    /* over the 100 MB cap in a (sparse) file that is really that large */
    {
        const char *path = tmp_path("bigheader.safetensors");
        FILE *f = fopen(path, "wb");
        uint64_t len = 100 * 1000 * 1000 + 1;
        uint8_t le[8];
        for (int i = 0; i < 8; i++) le[i] = (uint8_t)(len >> (8 * i));
        fwrite(le, 1, 8, f);
        fclose(f);
        CHECK(truncate(path, (off_t)len + 64) == 0);
        EXPECT_FAIL(presso_safetensors_open(path, &st), PRESSO_ERR_FORMAT, "bigheader.safetensors",
                    "100 MB");
        unlink(path);
    }
    /* not JSON / not an object / embedded NUL */
    EXPECT_FAIL(open_header("{\"a\": ", 0, &st), PRESSO_ERR_FORMAT, "hostile.safetensors", "not valid JSON");
    EXPECT_FAIL(open_header("[1, 2]", 0, &st), PRESSO_ERR_FORMAT, "hostile.safetensors", "not a JSON object");
    EXPECT_FAIL(open_header("", 0, &st), PRESSO_ERR_FORMAT, "hostile.safetensors", "not valid JSON");
    {
        uint8_t nul[16] = {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', 0, 'j', 'u', 'n', 'k', ' '};
        EXPECT_FAIL(presso_safetensors_open_buffer(nul, sizeof nul, "nul.safetensors", &st),
                    PRESSO_ERR_FORMAT, "nul.safetensors", "NUL byte at header byte 2");
        /* cJSON alone would take NUL padding as whitespace */
        uint8_t pad[16] = {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', 0, 0, 0, 0, 0, 0};
        EXPECT_FAIL(presso_safetensors_open_buffer(pad, sizeof pad, "pad.safetensors", &st),
                    PRESSO_ERR_FORMAT, "pad.safetensors", "NUL byte");
    }
    EXPECT_FAIL(open_header("{\"w\": 5}", 0, &st), PRESSO_ERR_FORMAT, "'w'", "not a JSON object");
    /* dtypes */
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"I8\", \"shape\": [4], \"data_offsets\": [0, 4]}}", 4, &st),
                PRESSO_ERR_UNSUPPORTED, "'w'", "dtype I8");
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F64\", \"shape\": [1], \"data_offsets\": [0, 8]}}", 8, &st),
                PRESSO_ERR_UNSUPPORTED, "'w'", "dtype F64");
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"f32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, &st),
                PRESSO_ERR_UNSUPPORTED, "hostile.safetensors", "dtype f32");
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": 0, \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, &st),
                PRESSO_ERR_FORMAT, "'w'", "dtype");
    EXPECT_FAIL(open_header("{\"w\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4, &st),
                PRESSO_ERR_FORMAT, "'w'", "dtype");
    /* offsets */
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 12]}}", 8, &st),
                PRESSO_ERR_FORMAT, "'w'", "past the data");
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 0]}}", 8, &st),
                PRESSO_ERR_FORMAT, "'w'", "begin > end");
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 4]}}", 8, &st),
                PRESSO_ERR_FORMAT, "'w'", "needs 8");
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F16\", \"shape\": [3, 2], \"data_offsets\": [0, 8]}}", 16, &st),
                PRESSO_ERR_FORMAT, "'w'", "needs 12");
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [-8, 0]}}", 8, &st),
                PRESSO_ERR_FORMAT, "'w'", "data_offsets");
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0.5, 8.5]}}", 9, &st),
                PRESSO_ERR_FORMAT, "'w'", "data_offsets");
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8, 16]}}", 16, &st),
                PRESSO_ERR_FORMAT, "'w'", "data_offsets");
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0]}}", 8, &st),
                PRESSO_ERR_FORMAT, "'w'", "data_offsets");
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": \"0,8\"}}", 8, &st),
                PRESSO_ERR_FORMAT, "'w'", "data_offsets");
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 1e300]}}", 8, &st),
                PRESSO_ERR_FORMAT, "'w'", "data_offsets");
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [2, 10]}}", 10, &st),
                PRESSO_ERR_UNSUPPORTED, "'w'", "aligned");
    /* shapes */
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F32\", \"shape\": [-2], \"data_offsets\": [0, 8]}}", 8, &st),
                PRESSO_ERR_FORMAT, "'w'", "shape entry 0");
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F32\", \"shape\": [2, 1.5], \"data_offsets\": [0, 12]}}", 12, &st),
                PRESSO_ERR_FORMAT, "'w'", "shape entry 1");
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F32\", \"shape\": [\"2\"], \"data_offsets\": [0, 8]}}", 8, &st),
                PRESSO_ERR_FORMAT, "'w'", "shape entry 0");
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F32\", \"shape\": 2, \"data_offsets\": [0, 8]}}", 8, &st),
                PRESSO_ERR_FORMAT, "'w'", "shape");
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F32\", \"shape\": [1, 1, 1, 1, 2], \"data_offsets\": [0, 8]}}", 8, &st),
                PRESSO_ERR_UNSUPPORTED, "'w'", "5 dimensions");
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], \"data_offsets\": [0, 0]}}", 0, &st),
                PRESSO_ERR_FORMAT, "'w'", "overflows");
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904], \"data_offsets\": [0, 0]}}", 0, &st),
                PRESSO_ERR_FORMAT, "'w'", "shape entry 0"); /* past 2^53 */
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F32\", \"shape\": [4503599627370496, 4096], \"data_offsets\": [0, 0]}}", 0, &st),
                PRESSO_ERR_FORMAT, "'w'", "overflows");
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F32\", \"shape\": [2305843009213693952], \"data_offsets\": [0, 0]}}", 0, &st),
                PRESSO_ERR_FORMAT, "'w'", "shape entry 0");
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F32\", \"shape\": [1125899906842624, 4096], \"data_offsets\": [0, 0]}}", 0, &st),
                PRESSO_ERR_FORMAT, "'w'", "byte size overflows");
    /* duplicates: a tensor name twice, a key twice inside an entry */
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                            " \"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8, &st),
                PRESSO_ERR_FORMAT, "'w'", "twice");
    EXPECT_FAIL(open_header("{\"w\": {\"dtype\": \"F32\", \"dtype\": \"I8\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, &st),
                PRESSO_ERR_FORMAT, "'w'", "duplicate key \"dtype\"");
    /* names */
    {
        char header[512], name[200];
        memset(name, 'n', 128);
        name[128] = '\0';
        snprintf(header, sizeof header, "{\"%s\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", name);
        EXPECT_FAIL(open_header(header, 4, &st), PRESSO_ERR_UNSUPPORTED, "hostile.safetensors", "max 127");
        name[127] = '\0';
        snprintf(header, sizeof header, "{\"%s\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", name);
        CHECK_OK(open_header(header, 4, &st));
    }
    EXPECT_FAIL(open_header("{\"\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, &st),
                PRESSO_ERR_FORMAT, "hostile.safetensors", "empty name");

    /* Valid oddities: metadata, F16/BF16, scalar, empty tensor, 4 dims, trailing spaces. */
    const char *ok = "{\"__metadata__\": {\"format\": \"pt\"},"
                     " \"h\": {\"dtype\": \"F16\", \"shape\": [2, 3], \"data_offsets\": [0, 12]},"
                     " \"b\": {\"dtype\": \"BF16\", \"shape\": [3], \"data_offsets\": [12, 18]},"
                     " \"s\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [20, 24]},"
                     " \"e\": {\"dtype\": \"F32\", \"shape\": [0, 5], \"data_offsets\": [24, 24]},"
                     " \"q\": {\"dtype\": \"F32\", \"shape\": [1, 2, 1, 3], \"data_offsets\": [24, 48]},"
                     " \"extra\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4], \"note\": 1}}";
    size_t size;
    uint8_t *img = make_image(ok, 48, &size);
    CHECK_OK(presso_safetensors_open_buffer(img, size, "ok.safetensors", &st));
    if (st) {
        CHECK(presso_safetensors_tensor_count(st) == 6);
        const presso_tensor *t = presso_safetensors_find(st, "h");
        CHECK(t && t->type == PRESSO_TYPE_F16 && t->n_dims == 2 && t->ne[0] == 3 && t->ne[1] == 2 &&
              t->nbytes == 12 && t->data == img + size - 48);
        t = presso_safetensors_find(st, "b");
        CHECK(t && t->type == PRESSO_TYPE_BF16 && t->n_dims == 1 && t->ne[0] == 3 && t->nbytes == 6);
        t = presso_safetensors_find(st, "s");
        CHECK(t && t->n_dims == 1 && t->ne[0] == 1 && t->nbytes == 4 && presso_tensor_nelements(t) == 1);
        t = presso_safetensors_find(st, "e");
        CHECK(t && t->n_dims == 2 && t->ne[0] == 5 && t->ne[1] == 0 && t->nbytes == 0);
        t = presso_safetensors_find(st, "q");
        CHECK(t && t->n_dims == 4 && t->ne[0] == 3 && t->ne[1] == 1 && t->ne[2] == 2 && t->ne[3] == 1);
        CHECK(presso_safetensors_find(st, "__metadata__") == NULL);
        presso_safetensors_close(st);
    }
    free(img);
}

static void test_paths(void) {
    presso_safetensors *st = NULL;
    EXPECT_FAIL(presso_safetensors_open("/nonexistent/model.safetensors", &st), PRESSO_ERR_IO,
                "/nonexistent/model.safetensors", NULL);
    CHECK(st == NULL);
    EXPECT_FAIL(presso_safetensors_open(tmp_dir, &st), PRESSO_ERR_IO, tmp_dir, "neither");
}

int main(void) {
    const char *model = presso_test_shared("models/tinystories-656k/model.safetensors");
    snprintf(tmp_dir, sizeof tmp_dir, "%s", "/tmp/presso_test_st_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_paths(); /* before the shards exist: the directory is empty */
    test_real_model(model);
    {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s", model);
        *strrchr(dir, '/') = '\0';
        test_real_model(dir); /* a directory holding model.safetensors */
    }
    test_truncated(model);
    test_hostile_headers();
    test_sharded(model);
    unlink(tmp_path("shard-1.safetensors"));
    unlink(tmp_path("shard-2.safetensors"));
    unlink(tmp_path("model.safetensors.index.json"));
    rmdir(tmp_dir);
    return presso_test_finish();
}
