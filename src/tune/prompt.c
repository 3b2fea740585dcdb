#include "tune/prompt.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "tensor/types.h"

/* Header field offsets (docs/prompt_format.md); little-endian. */
enum {
    OFF_MAGIC = 0, OFF_VERSION = 8, OFF_MODE = 12, OFF_K = 16, OFF_DIM = 20, OFF_LAYERS = 24, OFF_KV_DIM = 28,
    OFF_SHAPE_FP = 32, OFF_WEIGHT_FP = 40, OFF_N_FLOATS = 48, OFF_CHECKSUM = 56, OFF_STEPS = 64,
    OFF_BEST_STEP = 68, OFF_LOSS = 72, OFF_KD_WEIGHT = 76, OFF_LR = 80, OFF_FINAL_LOSS = 84,
    OFF_BEST_EVAL = 88, OFF_SEED = 96, OFF_TOKENS = 104, OFF_MODEL_NAME = 112, OFF_CALIB_SHA = 240,
};

static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
#define FNV_BASIS 0xcbf29ce484222325ull

static uint64_t hash_row(uint64_t h, const presso_tensor *t, int64_t row) {
    const presso_type_traits *tr = presso_type_traits_of(t->type);
    const int64_t n = t->ne[0];
    const int64_t rb = presso_row_bytes(t->type, n);
    if (!tr || rb <= 0 || row >= t->ne[1]) return h;
    float buf[64];
    /* Dequantize whole blocks covering the first 64 values (block size <= 256). */
    float *tmp = malloc(sizeof(float) * (size_t)n);
    if (!tmp) return h;
    tr->to_float((const uint8_t *)t->data + (size_t)(row * rb), tmp, n);
    const int64_t take = n < 64 ? n : 64;
    memcpy(buf, tmp, sizeof(float) * (size_t)take);
    free(tmp);
    return fnv1a(h, buf, sizeof(float) * (size_t)take);
}

void presso_model_fingerprint(const presso_model *m, uint64_t *shapes, uint64_t *weights) {
    const presso_llama_config *c = &m->config;
    const int32_t s[] = {c->dim,      c->hidden_dim, c->n_layers,       c->n_heads, c->n_kv_heads,
                         c->head_dim, c->vocab_size, (int32_t)c->rope_style, c->tied_embeddings ? 1 : 0};
    uint64_t h = fnv1a(FNV_BASIS, s, sizeof s);
    *shapes = fnv1a(h, &c->rope_theta, sizeof c->rope_theta);
    uint64_t w = FNV_BASIS;
    w = hash_row(w, &m->token_embd, m->token_embd.ne[1] > 1 ? 1 : 0);
    if (c->n_layers > 0) w = hash_row(w, &m->layers[0].attn_norm, 0);
    w = hash_row(w, &m->output_norm, 0);
    *weights = w;
}

static int64_t prompt_floats(presso_prompt_mode mode, int64_t k, int64_t dim, int64_t n_layers, int64_t kv_dim) {
    return mode == PRESSO_PROMPT_MODE_PROMPT ? k * dim : 2 * n_layers * k * kv_dim;
}

static presso_status alloc_prompt(presso_prompt_mode mode, int32_t k, int32_t dim, int32_t n_layers, int32_t kv_dim,
                                  presso_prompt **out) {
    *out = NULL;
    presso_prompt *p = calloc(1, sizeof *p);
    if (!p) return presso_fail(PRESSO_ERR_NOMEM, "out of memory for a prompt");
    p->mode = mode;
    p->k = k;
    p->dim = dim;
    p->n_layers = n_layers;
    p->kv_dim = kv_dim;
    p->n_floats = prompt_floats(mode, k, dim, n_layers, kv_dim);
    p->data = calloc((size_t)p->n_floats, sizeof(float));
    if (!p->data) {
        const long long n = (long long)p->n_floats;
        free(p);
        return presso_fail(PRESSO_ERR_NOMEM, "out of memory for a prompt of %lld floats", n);
    }
    *out = p;
    return PRESSO_OK;
}

presso_status presso_prompt_new(const presso_model *m, presso_prompt_mode mode, int32_t k, presso_prompt **out) {
    const presso_llama_config *c = &m->config;
    if (k < 1 || k > PRESSO_PROMPT_MAX_K)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "a prompt of %d vectors (1..%d)", k, PRESSO_PROMPT_MAX_K);
    PRESSO_TRY(alloc_prompt(mode, k, c->dim, c->n_layers, c->n_kv_heads * c->head_dim, out));
    presso_model_fingerprint(m, &(*out)->shape_fingerprint, &(*out)->weight_fingerprint);
    return PRESSO_OK;
}

void presso_prompt_free(presso_prompt *p) {
    if (!p) return;
    free(p->data);
    free(p);
}

static void put_u32(uint8_t *h, int off, uint32_t v) { memcpy(h + off, &v, 4); }
static void put_u64(uint8_t *h, int off, uint64_t v) { memcpy(h + off, &v, 8); }
static void put_f32(uint8_t *h, int off, float v) { memcpy(h + off, &v, 4); }
static uint32_t get_u32(const uint8_t *h, int off) {
    uint32_t v;
    memcpy(&v, h + off, 4);
    return v;
}
static uint64_t get_u64(const uint8_t *h, int off) {
    uint64_t v;
    memcpy(&v, h + off, 8);
    return v;
}
static float get_f32(const uint8_t *h, int off) {
    float v;
    memcpy(&v, h + off, 4);
    return v;
}

presso_status presso_prompt_save(const presso_prompt *p, const char *path) {
    uint8_t h[PRESSO_PROMPT_HEADER_BYTES] = {0};
    memcpy(h + OFF_MAGIC, PRESSO_PROMPT_MAGIC, 8);
    put_u32(h, OFF_VERSION, PRESSO_PROMPT_VERSION);
    put_u32(h, OFF_MODE, (uint32_t)p->mode);
    put_u32(h, OFF_K, (uint32_t)p->k);
    put_u32(h, OFF_DIM, (uint32_t)p->dim);
    put_u32(h, OFF_LAYERS, (uint32_t)p->n_layers);
    put_u32(h, OFF_KV_DIM, (uint32_t)p->kv_dim);
    put_u64(h, OFF_SHAPE_FP, p->shape_fingerprint);
    put_u64(h, OFF_WEIGHT_FP, p->weight_fingerprint);
    put_u64(h, OFF_N_FLOATS, (uint64_t)p->n_floats);
    put_u64(h, OFF_CHECKSUM, fnv1a(FNV_BASIS, p->data, sizeof(float) * (size_t)p->n_floats));
    put_u32(h, OFF_STEPS, p->meta.steps);
    put_u32(h, OFF_BEST_STEP, p->meta.best_step);
    put_u32(h, OFF_LOSS, p->meta.loss);
    put_f32(h, OFF_KD_WEIGHT, p->meta.kd_weight);
    put_f32(h, OFF_LR, p->meta.lr);
    put_f32(h, OFF_FINAL_LOSS, p->meta.final_loss);
    put_f32(h, OFF_BEST_EVAL, p->meta.best_eval_loss);
    put_u64(h, OFF_SEED, p->meta.seed);
    put_u64(h, OFF_TOKENS, p->meta.tokens_seen);
    memcpy(h + OFF_MODEL_NAME, p->meta.model_name, strnlen(p->meta.model_name, 127));
    memcpy(h + OFF_CALIB_SHA, p->meta.calib_sha256, strnlen(p->meta.calib_sha256, 64));

    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return presso_fail(PRESSO_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    presso_status st = PRESSO_OK;
    if (fwrite(h, 1, sizeof h, f) != sizeof h ||
        fwrite(p->data, sizeof(float), (size_t)p->n_floats, f) != (size_t)p->n_floats || fflush(f) != 0)
        st = presso_fail(PRESSO_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
    if (st == PRESSO_OK && fsync(fileno(f)) != 0)
        st = presso_fail(PRESSO_ERR_IO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (fclose(f) != 0 && st == PRESSO_OK) st = presso_fail(PRESSO_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
    if (st == PRESSO_OK && rename(tmp, path) != 0)
        st = presso_fail(PRESSO_ERR_IO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    if (st != PRESSO_OK) remove(tmp);
    return st;
}

presso_status presso_prompt_load(const char *path, presso_prompt **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return presso_fail(PRESSO_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    uint8_t h[PRESSO_PROMPT_HEADER_BYTES];
    presso_status st = PRESSO_OK;
    presso_prompt *p = NULL;
    if (fread(h, 1, sizeof h, f) != sizeof h) {
        st = presso_fail(PRESSO_ERR_FORMAT, "%s: shorter than the %d-byte prompt header", path,
                         PRESSO_PROMPT_HEADER_BYTES);
        goto done;
    }
    if (memcmp(h, PRESSO_PROMPT_MAGIC, 8) != 0) {
        st = presso_fail(PRESSO_ERR_FORMAT, "%s: not a presso prompt file (bad magic)", path);
        goto done;
    }
    const uint32_t version = get_u32(h, OFF_VERSION), mode = get_u32(h, OFF_MODE), k = get_u32(h, OFF_K),
                   dim = get_u32(h, OFF_DIM), layers = get_u32(h, OFF_LAYERS), kv_dim = get_u32(h, OFF_KV_DIM);
    if (version != PRESSO_PROMPT_VERSION) {
        st = presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: prompt file version %u (presso reads %u)", path, version,
                         PRESSO_PROMPT_VERSION);
        goto done;
    }
    if (mode > 1 || k < 1 || k > PRESSO_PROMPT_MAX_K || dim < 1 || dim > (1u << 16) || layers > 1024 ||
        kv_dim > (1u << 16) || (mode == PRESSO_PROMPT_MODE_PREFIX && (layers < 1 || kv_dim < 1))) {
        st = presso_fail(PRESSO_ERR_FORMAT, "%s: header out of range (mode %u, k %u, dim %u, layers %u, kv_dim %u)",
                         path, mode, k, dim, layers, kv_dim);
        goto done;
    }
    const int64_t n_floats = prompt_floats((presso_prompt_mode)mode, k, dim, layers, kv_dim);
    if ((uint64_t)n_floats != get_u64(h, OFF_N_FLOATS)) {
        st = presso_fail(PRESSO_ERR_FORMAT, "%s: header says %llu floats, its shape %lld", path,
                         (unsigned long long)get_u64(h, OFF_N_FLOATS), (long long)n_floats);
        goto done;
    }
    st = alloc_prompt((presso_prompt_mode)mode, (int32_t)k, (int32_t)dim, (int32_t)layers, (int32_t)kv_dim, &p);
    if (st != PRESSO_OK) goto done;
    if (fread(p->data, sizeof(float), (size_t)n_floats, f) != (size_t)n_floats) {
        st = presso_fail(PRESSO_ERR_FORMAT, "%s: truncated: fewer than the %lld floats the header gives", path,
                         (long long)n_floats);
        goto done;
    }
    if (fgetc(f) != EOF) {
        st = presso_fail(PRESSO_ERR_FORMAT, "%s: trailing bytes after the %lld floats", path, (long long)n_floats);
        goto done;
    }
    if (fnv1a(FNV_BASIS, p->data, sizeof(float) * (size_t)n_floats) != get_u64(h, OFF_CHECKSUM)) {
        st = presso_fail(PRESSO_ERR_FORMAT, "%s: payload checksum mismatch (corrupt file)", path);
        goto done;
    }
    for (int64_t i = 0; i < n_floats; i++)
        if (!isfinite(p->data[i])) {
            st = presso_fail(PRESSO_ERR_FORMAT, "%s: value %lld is not finite", path, (long long)i);
            goto done;
        }
    p->shape_fingerprint = get_u64(h, OFF_SHAPE_FP);
    p->weight_fingerprint = get_u64(h, OFF_WEIGHT_FP);
    p->meta.steps = get_u32(h, OFF_STEPS);
    p->meta.best_step = get_u32(h, OFF_BEST_STEP);
    p->meta.loss = get_u32(h, OFF_LOSS);
    p->meta.kd_weight = get_f32(h, OFF_KD_WEIGHT);
    p->meta.lr = get_f32(h, OFF_LR);
    p->meta.final_loss = get_f32(h, OFF_FINAL_LOSS);
    p->meta.best_eval_loss = get_f32(h, OFF_BEST_EVAL);
    p->meta.seed = get_u64(h, OFF_SEED);
    p->meta.tokens_seen = get_u64(h, OFF_TOKENS);
    memcpy(p->meta.model_name, h + OFF_MODEL_NAME, 127);
    p->meta.model_name[127] = '\0';
    memcpy(p->meta.calib_sha256, h + OFF_CALIB_SHA, 64);
    p->meta.calib_sha256[64] = '\0';
done:
    fclose(f);
    if (st != PRESSO_OK) {
        presso_prompt_free(p);
        return st;
    }
    *out = p;
    return PRESSO_OK;
}

presso_status presso_prompt_check(const presso_prompt *p, const presso_model *m, const char *path) {
    const presso_llama_config *c = &m->config;
    if (p->dim != c->dim)
        return presso_fail(PRESSO_ERR_SHAPE, "%s: the prompt is for hidden size %d; %s has hidden size %d", path,
                           p->dim, m->path, c->dim);
    if (p->mode == PRESSO_PROMPT_MODE_PREFIX && (p->n_layers != c->n_layers || p->kv_dim != c->n_kv_heads * c->head_dim))
        return presso_fail(PRESSO_ERR_SHAPE, "%s: the prefix is for %d layers of %d key/value widths; %s has %d of %d",
                           path, p->n_layers, p->kv_dim, m->path, c->n_layers, c->n_kv_heads * c->head_dim);
    uint64_t shapes, weights;
    presso_model_fingerprint(m, &shapes, &weights);
    if (shapes != p->shape_fingerprint)
        return presso_fail(PRESSO_ERR_SHAPE, "%s: the prompt was trained for another model (shape fingerprint "
                           "%016llx, %s has %016llx)", path, (unsigned long long)p->shape_fingerprint, m->path,
                           (unsigned long long)shapes);
    if (weights != p->weight_fingerprint)
        presso_log(PRESSO_LOG_INFO, "%s: trained on other weights of this shape (%s); using it as a transfer", path,
                   p->meta.model_name);
    return PRESSO_OK;
}

void presso_prompt_as_prefix(const presso_prompt *p, presso_llama_prefix *out) {
    memset(out, 0, sizeof *out);
    if (p->mode == PRESSO_PROMPT_MODE_PROMPT) {
        out->n_embd = p->k;
        out->embd = p->data;
    } else {
        out->n_kv = p->k;
        out->keys = p->data;
        out->values = p->data + (int64_t)p->n_layers * p->k * p->kv_dim;
    }
}
