#include "compress/driver.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/error.h"
#include "core/timer.h"
#include "formats/gguf.h"
#include "model/llama.h"
#include "tensor/quants.h"
#include "tensor/types.h"

presso_type presso_compress_tensor_type(presso_type type, int64_t width) {
    const presso_type_traits *t = presso_type_traits_of(type);
    if (t && width % t->block_size == 0) return type;
    presso_type fallback;
    switch (type) {
    case PRESSO_TYPE_Q2_K: case PRESSO_TYPE_Q3_K: fallback = PRESSO_TYPE_Q4_0; break;
    case PRESSO_TYPE_Q4_K: fallback = PRESSO_TYPE_Q5_0; break;
    case PRESSO_TYPE_Q5_K: fallback = PRESSO_TYPE_Q5_1; break;
    case PRESSO_TYPE_Q6_K: fallback = PRESSO_TYPE_Q8_0; break;
    default: return PRESSO_TYPE_F16;
    }
    return width % presso_type_traits_of(fallback)->block_size == 0 ? fallback : PRESSO_TYPE_F16;
}

/* An override names a base (ffn_down: every layer) or a glob over the
 * tensor's name without ".weight" (blk.*.ffn_down, blk.1[0-9].attn_v); the
 * last one that matches wins. */
static bool override_matches(const presso_type_override *o, const char *name, const char *base) {
    if (strcmp(o->name, base) == 0) return true;
    char stem[64];
    snprintf(stem, sizeof stem, "%s", name);
    char *dot = strstr(stem, ".weight");
    if (dot) *dot = '\0';
    return fnmatch(o->name, stem, 0) == 0;
}

static presso_type tensor_type(const presso_compress_params *p, const char *name, const char *base, int64_t width,
                               bool *overridden) {
    presso_type type = p->type;
    *overridden = false;
    for (int i = 0; i < p->n_overrides; i++)
        if (override_matches(&p->overrides[i], name, base)) {
            type = p->overrides[i].type;
            *overridden = true;
        }
    return presso_compress_tensor_type(type, width);
}

static void note_fallback(presso_compress_params *p, const char *name, presso_type type) {
    p->n_fallback++;
    const size_t used = strlen(p->fallbacks);
    snprintf(p->fallbacks + used, sizeof p->fallbacks - used, "%s%s=%s", used ? "," : "", name,
             presso_type_name(type));
}

/* Drops the resident pages of a source tensor that lives in a read-only
 * file mapping (the model's own mappings, or the GGUF image, which
 * presso_gguf_open always mmaps) once the compressed copy replaces it, so
 * peak RSS stays near one block of the source (the 1B model's 4.4 GB of
 * fp32 never sit in memory at once). Heap buffers are left alone. */
static void release_range(uintptr_t lo, uintptr_t hi, const void *map, size_t map_size) {
    const uintptr_t mlo = (uintptr_t)map, mhi = mlo + map_size;
    const long page_size = sysconf(_SC_PAGESIZE);
    if (!map || page_size <= 0 || lo < mlo || hi > mhi) return;
    const uintptr_t page = (uintptr_t)page_size;
    const uintptr_t a = (lo + page - 1) / page * page, b = hi / page * page;
    if (b > a) (void)madvise((void *)a, (size_t)(b - a), MADV_DONTNEED);
}

static void release_source(const presso_model *m, const void *data, size_t nbytes) {
    const uintptr_t lo = (uintptr_t)data, hi = lo + nbytes;
    for (int i = 0; i < PRESSO_MODEL_MAX_MAPPINGS; i++)
        release_range(lo, hi, m->mappings[i].data, m->mappings[i].size);
    if (m->format == PRESSO_FORMAT_GGUF && m->format_handle)
        release_range(lo, hi, presso_gguf_base(m->format_handle), presso_gguf_file_size(m->format_handle));
}

/* The importance vector of one matrix: from the imatrix file (by tensor
 * name, as llama-quantize looks it up), or mean x_j² of its calibration
 * inputs; NULL when there is none. */
static presso_status tensor_importance(const presso_compress_params *p, const char *name, int64_t in,
                                       const presso_calib_stats *stats, const float **imat, float **owned) {
    *imat = NULL;
    *owned = NULL;
    if (p->imatrix) return presso_imatrix_find(p->imatrix, name, in, imat);
    if (!p->imatrix_from_calib || !stats || stats->n_samples == 0) return PRESSO_OK;
    float *v = malloc(sizeof(float) * (size_t)in);
    if (!v) return presso_fail(PRESSO_ERR_NOMEM, "out of memory for the importance of %s", name);
    for (int64_t j = 0; j < in; j++) v[j] = (float)(stats->sum_sq[j] / (double)stats->n_samples);
    *imat = *owned = v;
    return PRESSO_OK;
}

/* Compresses one matrix into a new buffer owned by m and points t at it.
 * A block linear goes through the pass (with its input statistics when the
 * pass calibrates) where the pass writes the tensor's type; token_embd and
 * output (block_linear false) get the type's reference quantizer (RTN). */
static presso_status compress_tensor(presso_model *m, presso_tensor *t, const char *name, const char *base,
                                     bool block_linear, const presso_calib_stats *stats, presso_compress_params *p) {
    const int64_t in = t->ne[0], out = presso_tensor_nelements(t) / in;
    const presso_type_traits *src = presso_type_traits_of(t->type);
    bool overridden;
    const presso_type type = tensor_type(p, name, base, in, &overridden);
    const presso_type want = p->type;
    if (type != want && !overridden) note_fallback(p, name, type);
    const int64_t row_bytes = presso_row_bytes(type, in);
    float *w = malloc(sizeof(float) * (size_t)(in * out));
    void *dst = malloc((size_t)(row_bytes * out));
    if (!w || !dst) {
        free(w);
        free(dst);
        return presso_fail(PRESSO_ERR_NOMEM, "out of memory compressing %s", name);
    }
    const size_t src_row = (size_t)presso_row_bytes(t->type, in);
    for (int64_t r = 0; r < out; r++) src->to_float((const uint8_t *)t->data + (size_t)r * src_row, w + r * in, in);
    presso_status st = PRESSO_OK;
    if (!presso_floats_all_finite(w, in * out)) st = presso_fail(PRESSO_ERR_FORMAT, "%s holds inf or nan", name);
    const presso_type_traits *to = presso_type_traits_of(type);
    const float *imat = NULL;
    float *imat_owned = NULL;
    if (st == PRESSO_OK && to->is_quantized) st = tensor_importance(p, name, in, stats, &imat, &imat_owned);
    if (st == PRESSO_OK) {
        if (imat && presso_quantize_has_weighted(type)) p->n_imatrix++;
        const bool run_pass = block_linear && (stats || !p->pass->needs_calibration) &&
                              (to->is_quantized || p->pass->writes_dense);
        if (!run_pass) {
            for (int64_t r = 0; r < out; r++) {
                const float *x = w + r * in;
                uint8_t *row = (uint8_t *)dst + r * row_bytes;
                if (!imat || !presso_quantize_row_weighted(type, x, row, in, imat)) to->from_float_ref(x, row, in);
            }
        } else {
            presso_pass_opts o = p->opts;
            o.type = type;
            presso_pass_layer layer = {.name = name, .w = w, .in = in, .out = out, .stats = stats, .imatrix = imat};
            presso_pass_report rep = {0};
            st = p->pass->run(&layer, &o, dst, &rep);
            p->n_dead += rep.n_dead;
            if (rep.damp_used > p->max_damp) p->max_damp = rep.damp_used;
        }
    }
    free(imat_owned);
    free(w);
    if (st == PRESSO_OK) st = presso_model_own(m, dst);
    if (st != PRESSO_OK) {
        free(dst);
        return st;
    }
    release_source(m, t->data, t->nbytes);
    t->type = type;
    t->data = dst;
    t->nbytes = (size_t)(row_bytes * out);
    return PRESSO_OK;
}

typedef struct {
    presso_calib_stats stats[4]; /* by presso_capture_point */
} block_capture;

static void capture_inputs(void *user, int32_t layer, presso_capture_point point, const float *x, int32_t n,
                           int64_t width) {
    (void)layer;
    (void)width;
    presso_calib_stats_add(&((block_capture *)user)->stats[point], x, n);
}

/* Runs block l of the model on every calibration sequence (a copy of its
 * inputs; the outputs are not kept), gathering each capture point's
 * statistics into cap. */
static presso_status capture_block(presso_llama_state *s, int32_t l, const presso_calib_set *calib, const float *acts,
                                   float *scratch, int64_t seq_floats, const int64_t widths[4], block_capture *cap) {
    presso_status st = PRESSO_OK;
    for (int i = 0; i < 4 && st == PRESSO_OK; i++) st = presso_calib_stats_init(&cap->stats[i], widths[i], true);
    for (int32_t q = 0; q < calib->n_seqs && st == PRESSO_OK; q++) {
        memcpy(scratch, acts + q * seq_floats, sizeof(float) * (size_t)seq_floats);
        st = presso_llama_block_forward(s, l, scratch, calib->seq_len, capture_inputs, cap);
    }
    for (int i = 0; i < 4; i++) presso_calib_stats_finish(&cap->stats[i]);
    return st;
}

static presso_status check_sources(const presso_model *m, const presso_compress_params *p) {
    if (p->allow_requantize) return PRESSO_OK;
    const presso_llama_config *c = &m->config;
    for (int32_t l = -1; l < c->n_layers; l++) {
        const presso_tensor *ts[9];
        int n = 0;
        if (l < 0) {
            ts[n++] = &m->token_embd;
            ts[n++] = &m->output;
        } else {
            const presso_llama_layer *L = &m->layers[l];
            const presso_tensor *all[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
            for (int i = 0; i < 7; i++) ts[n++] = all[i];
        }
        for (int i = 0; i < n; i++)
            if (presso_type_traits_of(ts[i]->type)->is_quantized)
                return presso_fail(PRESSO_ERR_INVALID_ARG,
                                   "%s: tensor %s is already %s; quantizing it again loses quality twice "
                                   "(pass --allow-requantize to do it anyway)",
                                   m->path, ts[i]->name, presso_type_name(ts[i]->type));
    }
    return PRESSO_OK;
}

presso_status presso_compress_model(presso_model *m, const presso_calib_set *calib, presso_compress_params *p) {
    const double t0 = presso_now_seconds();
    p->n_fallback = 0;
    p->fallbacks[0] = '\0';
    p->n_dead = 0;
    p->max_damp = 0.0;
    p->n_imatrix = 0;
    const presso_llama_config *c = &m->config;
    const bool calibrate = p->pass->needs_calibration || p->transform || p->imatrix_from_calib;
    const presso_type_traits *target = presso_type_traits_of(p->type);
    if (!target || !target->from_float_ref || (!target->is_quantized && !p->pass->writes_dense))
        return presso_fail(PRESSO_ERR_INVALID_ARG, "the target type must be a quantized type");
    if (calibrate && (!calib || calib->n_seqs <= 0))
        return presso_fail(PRESSO_ERR_INVALID_ARG, "%s needs calibration text",
                           p->transform                     ? p->transform->name
                           : p->pass->needs_calibration     ? p->pass->name
                                                            : "an importance matrix from calibration");
    PRESSO_TRY(check_sources(m, p));
    if (calibrate)
        for (int64_t i = 0; i < (int64_t)calib->n_seqs * calib->seq_len; i++)
            if (calib->tokens[i] < 0 || calib->tokens[i] >= c->vocab_size)
                return presso_fail(PRESSO_ERR_INVALID_ARG, "calibration token %d is outside the model's vocabulary "
                                   "(%d); is the tokenizer the model's?", calib->tokens[i], c->vocab_size);

    PRESSO_TRY(compress_tensor(m, &m->token_embd, "token_embd.weight", "token_embd", false, NULL, p));
    if (c->tied_embeddings) m->output = m->token_embd;

    presso_llama_state *s = NULL;
    float *acts = NULL, *scratch = NULL;
    const int64_t dim = c->dim, q_dim = (int64_t)c->n_heads * c->head_dim;
    int64_t seq_floats = 0;
    if (calibrate) {
        PRESSO_TRY(presso_llama_state_new(m, calib->seq_len, calib->seq_len, p->opts.n_threads, &s));
        seq_floats = (int64_t)calib->seq_len * dim;
        acts = malloc(sizeof(float) * (size_t)(seq_floats * calib->n_seqs));
        scratch = malloc(sizeof(float) * (size_t)seq_floats);
        if (!acts || !scratch) {
            free(acts);
            free(scratch);
            presso_llama_state_free(s);
            return presso_fail(PRESSO_ERR_NOMEM, "out of memory for the activations of %d calibration sequences",
                               calib->n_seqs);
        }
        for (int32_t q = 0; q < calib->n_seqs; q++)
            presso_llama_embed(m, calib->tokens + (int64_t)q * calib->seq_len, calib->seq_len, acts + q * seq_floats);
    }
    presso_status st = PRESSO_OK;
    static const char *const bases[7] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
    static const presso_capture_point points[7] = {PRESSO_CAPTURE_ATTN_IN, PRESSO_CAPTURE_ATTN_IN,
                                                   PRESSO_CAPTURE_ATTN_IN, PRESSO_CAPTURE_ATTN_OUT,
                                                   PRESSO_CAPTURE_FFN_IN,  PRESSO_CAPTURE_FFN_IN,
                                                   PRESSO_CAPTURE_FFN_ACT};
    for (int32_t l = 0; l < c->n_layers && st == PRESSO_OK; l++) {
        presso_llama_layer *L = &m->layers[l];
        presso_tensor *ts[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        block_capture cap;
        memset(&cap, 0, sizeof cap);
        const int64_t widths[4] = {dim, q_dim, dim, c->hidden_dim};
        /* inputs of the uncompressed block */
        if (calibrate) st = capture_block(s, l, calib, acts, scratch, seq_floats, widths, &cap);
        if (p->transform && st == PRESSO_OK) {
            presso_block_ctx ctx = {.m = m, .layer = l, .stats = cap.stats, .opts = &p->transform_opts,
                                    .n_threads = p->opts.n_threads, .state = s, .inputs = acts,
                                    .n_seqs = calib->n_seqs, .seq_len = calib->seq_len};
            for (int i = 0; i < 7; i++) {
                char name[64];
                bool overridden;
                snprintf(name, sizeof name, "blk.%d.%s.weight", (int)l, bases[i]);
                ctx.types[i] = tensor_type(p, name, bases[i], ts[i]->ne[0], &overridden);
            }
            presso_block_report rep = {.alpha = {-1, -1, -1, -1}};
            st = p->transform->run(&ctx, &rep);
            if (p->reports) p->reports[l] = rep;
            presso_llama_state_reload_norms(s);
            for (int i = 0; i < 4; i++) presso_calib_stats_free(&cap.stats[i]);
            /* the pass sees the transformed block's inputs (X/s for scaled channels) */
            if (st == PRESSO_OK) st = capture_block(s, l, calib, acts, scratch, seq_floats, widths, &cap);
        }
        for (int i = 0; i < 7 && st == PRESSO_OK; i++) {
            char name[64];
            snprintf(name, sizeof name, "blk.%d.%s.weight", (int)l, bases[i]);
            st = compress_tensor(m, ts[i], name, bases[i], true, calibrate ? &cap.stats[points[i]] : NULL, p);
        }
        for (int i = 0; i < 4; i++) presso_calib_stats_free(&cap.stats[i]);
        /* the next block's inputs come from this block as compressed */
        if (calibrate)
            for (int32_t q = 0; q < calib->n_seqs && st == PRESSO_OK; q++)
                st = presso_llama_block_forward(s, l, acts + q * seq_floats, calib->seq_len, NULL, NULL);
        if (p->progress && st == PRESSO_OK) {
            const double elapsed = presso_now_seconds() - t0;
            presso_compress_progress pr = {l + 1, c->n_layers, elapsed, elapsed / (l + 1) * (c->n_layers - l - 1)};
            p->progress(p->user, &pr);
        }
    }
    free(acts);
    free(scratch);
    presso_llama_state_free(s);
    if (st == PRESSO_OK && !c->tied_embeddings)
        st = compress_tensor(m, &m->output, "output.weight", "output", false, NULL, p);
    p->seconds = presso_now_seconds() - t0;
    return st;
}
