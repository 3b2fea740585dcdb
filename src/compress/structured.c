#include "compress/structured.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/timer.h"
#include "model/llama.h"
#include "tensor/types.h"

int32_t presso_structured_kept(int32_t n, double ratio) {
    const int32_t removed = (int32_t)lround(ratio * (double)n);
    return n - removed < 1 ? 1 : n - removed;
}

/* Σ over calibration tokens of x_j², per column, for one layer's two
 * capture points. */
typedef struct {
    double *ffn_sq;  /* [hidden] */
    double *attn_sq; /* [q_dim] */
} layer_sums;

static void capture_sums(void *user, int32_t layer, presso_capture_point point, const float *x, int32_t n,
                         int64_t width) {
    (void)layer;
    layer_sums *s = user;
    double *acc = point == PRESSO_CAPTURE_FFN_ACT ? s->ffn_sq : point == PRESSO_CAPTURE_ATTN_OUT ? s->attn_sq : NULL;
    if (!acc) return;
    for (int32_t t = 0; t < n; t++)
        for (int64_t j = 0; j < width; j++) acc[j] += (double)x[t * width + j] * (double)x[t * width + j];
}

/* ‖column j of W‖₂² summed over columns [c0, c0+nc) of every row: W is ne
 * {in, out} (rows of `in`), so a column is one input position. */
static void column_norms_sq(const presso_tensor *w, double *out_per_col, float *row) {
    const int64_t in = w->ne[0], rows = w->ne[1];
    const size_t rb = (size_t)presso_row_bytes(w->type, in);
    const presso_type_traits *t = presso_type_traits_of(w->type);
    memset(out_per_col, 0, sizeof(double) * (size_t)in);
    for (int64_t r = 0; r < rows; r++) {
        t->to_float((const uint8_t *)w->data + (size_t)r * rb, row, in);
        for (int64_t j = 0; j < in; j++) out_per_col[j] += (double)row[j] * (double)row[j];
    }
}

typedef struct {
    double score;
    int32_t index;
} ranked;

static int by_score_desc(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int by_index(const void *a, const void *b) {
    const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

/* The `keep` best-scoring of n units, in ascending index order (the kept
 * channels stay in their original order, so the function is unchanged up
 * to the removed units). */
static presso_status select_kept(const double *score, int32_t n, int32_t keep, int32_t *kept) {
    ranked *r = malloc(sizeof(ranked) * (size_t)n);
    if (!r) return presso_fail(PRESSO_ERR_NOMEM, "out of memory ranking %d units", n);
    for (int32_t i = 0; i < n; i++) r[i] = (ranked){score ? score[i] : 0.0, i};
    if (score) qsort(r, (size_t)n, sizeof *r, by_score_desc);
    for (int32_t i = 0; i < keep; i++) kept[i] = r[i].index;
    qsort(kept, (size_t)keep, sizeof *kept, by_index);
    free(r);
    return PRESSO_OK;
}

/* A new tensor holding rows [k*unit, (k+1)*unit) of t for each kept unit k. */
static presso_status keep_rows(presso_model *m, presso_tensor *t, const int32_t *kept, int32_t n_kept, int64_t unit) {
    const size_t rb = (size_t)presso_row_bytes(t->type, t->ne[0]);
    uint8_t *dst = malloc(rb * (size_t)(n_kept * unit) + 1);
    if (!dst) return presso_fail(PRESSO_ERR_NOMEM, "out of memory pruning %s", t->name);
    for (int32_t k = 0; k < n_kept; k++)
        memcpy(dst + (size_t)(k * unit) * rb, (const uint8_t *)t->data + (size_t)(kept[k] * unit) * rb, rb * (size_t)unit);
    PRESSO_TRY(presso_model_own(m, dst));
    t->ne[1] = n_kept * unit;
    t->data = dst;
    t->nbytes = rb * (size_t)(n_kept * unit);
    return PRESSO_OK;
}

/* A new tensor holding columns [k*unit, (k+1)*unit) of every row of t for
 * each kept unit k: bytes copied, so exact for the float types. */
static presso_status keep_cols(presso_model *m, presso_tensor *t, const int32_t *kept, int32_t n_kept, int64_t unit) {
    const size_t es = presso_type_traits_of(t->type)->block_bytes;
    const int64_t in = t->ne[0], rows = t->ne[1], new_in = n_kept * unit;
    uint8_t *dst = malloc(es * (size_t)(new_in * rows) + 1);
    if (!dst) return presso_fail(PRESSO_ERR_NOMEM, "out of memory pruning %s", t->name);
    const uint8_t *src = t->data;
    for (int64_t r = 0; r < rows; r++)
        for (int32_t k = 0; k < n_kept; k++)
            memcpy(dst + (size_t)(r * new_in + k * unit) * es, src + (size_t)(r * in + kept[k] * unit) * es,
                   es * (size_t)unit);
    PRESSO_TRY(presso_model_own(m, dst));
    t->ne[0] = new_in;
    t->data = dst;
    t->nbytes = es * (size_t)(new_in * rows);
    return PRESSO_OK;
}

static presso_status check_float(const presso_model *m, const presso_tensor *t) {
    if (presso_type_traits_of(t->type)->block_size != 1)
        return presso_fail(PRESSO_ERR_UNSUPPORTED,
                           "%s: tensor %s is %s; structured pruning takes float weights (f32/f16/bf16): prune the "
                           "float model, then quantize",
                           m->path, t->name, presso_type_name(t->type));
    return PRESSO_OK;
}

/* Per-layer column sums of squares at FFN_ACT and ATTN_OUT over the whole
 * calibration set, on the unpruned model. sums: n_layers entries. */
static presso_status gather(const presso_model *m, const presso_calib_set *calib, int n_threads, layer_sums *sums) {
    const presso_llama_config *c = &m->config;
    presso_llama_state *s = NULL;
    PRESSO_TRY(presso_llama_state_new(m, calib->seq_len, calib->seq_len, n_threads, &s));
    const int64_t seq_floats = (int64_t)calib->seq_len * c->dim;
    float *acts = malloc(sizeof(float) * (size_t)(seq_floats * calib->n_seqs));
    if (!acts) {
        presso_llama_state_free(s);
        return presso_fail(PRESSO_ERR_NOMEM, "out of memory for the activations of %d calibration sequences",
                           calib->n_seqs);
    }
    for (int32_t q = 0; q < calib->n_seqs; q++)
        presso_llama_embed(m, calib->tokens + (int64_t)q * calib->seq_len, calib->seq_len, acts + q * seq_floats);
    presso_status st = PRESSO_OK;
    for (int32_t l = 0; l < c->n_layers && st == PRESSO_OK; l++)
        for (int32_t q = 0; q < calib->n_seqs && st == PRESSO_OK; q++)
            st = presso_llama_block_forward(s, l, acts + q * seq_floats, calib->seq_len, capture_sums, &sums[l]);
    free(acts);
    presso_llama_state_free(s);
    return st;
}

static presso_status prune_layer(presso_model *m, int32_t l, const layer_sums *sums, int32_t keep_ff,
                                 int32_t keep_groups, float *row, double *colsq) {
    const presso_llama_config *c = &m->config;
    presso_llama_layer *L = &m->layers[l];
    const int32_t hidden = c->hidden_dim, groups = c->n_kv_heads, per_group = c->n_heads / c->n_kv_heads;
    const int64_t hd = c->head_dim;
    presso_status st = PRESSO_OK;
    int32_t *kept = malloc(sizeof(int32_t) * (size_t)(hidden > groups ? hidden : groups));
    double *score = malloc(sizeof(double) * (size_t)(hidden > groups ? hidden : groups));
    if (!kept || !score) st = presso_fail(PRESSO_ERR_NOMEM, "out of memory scoring layer %d", l);

    /* MLP channels: ‖a_j‖₂ · ‖W_down[:, j]‖₂. */
    if (st == PRESSO_OK) {
        const bool ranked_ff = sums && keep_ff < hidden;
        if (ranked_ff) {
            column_norms_sq(&L->w_down, colsq, row);
            for (int32_t j = 0; j < hidden; j++) score[j] = sqrt(sums[l].ffn_sq[j]) * sqrt(colsq[j]);
        }
        st = select_kept(ranked_ff ? score : NULL, hidden, keep_ff, kept);
    }
    if (st == PRESSO_OK) st = keep_rows(m, &L->w_gate, kept, keep_ff, 1);
    if (st == PRESSO_OK) st = keep_rows(m, &L->w_up, kept, keep_ff, 1);
    if (st == PRESSO_OK) st = keep_cols(m, &L->w_down, kept, keep_ff, 1);

    /* kv groups: Σ_h∈g ‖o_h‖₂ · ‖W_o[:, h]‖_F. */
    if (st == PRESSO_OK) {
        const bool ranked_heads = sums && keep_groups < groups;
        if (ranked_heads) {
            column_norms_sq(&L->wo, colsq, row);
            for (int32_t g = 0; g < groups; g++) {
                score[g] = 0.0;
                for (int32_t h = g * per_group; h < (g + 1) * per_group; h++) {
                    double act = 0.0, wn = 0.0;
                    for (int64_t i = h * hd; i < (h + 1) * hd; i++) {
                        act += sums[l].attn_sq[i];
                        wn += colsq[i];
                    }
                    score[g] += sqrt(act) * sqrt(wn);
                }
            }
        }
        st = select_kept(ranked_heads ? score : NULL, groups, keep_groups, kept);
    }
    /* A kept group keeps its per_group query heads (consecutive: head h reads
     * kv head h / per_group), so q rows and o columns move in units of
     * per_group·head_dim and k/v rows in units of head_dim. */
    if (st == PRESSO_OK) st = keep_rows(m, &L->wq, kept, keep_groups, per_group * hd);
    if (st == PRESSO_OK) st = keep_rows(m, &L->wk, kept, keep_groups, hd);
    if (st == PRESSO_OK) st = keep_rows(m, &L->wv, kept, keep_groups, hd);
    if (st == PRESSO_OK) st = keep_cols(m, &L->wo, kept, keep_groups, per_group * hd);
    free(kept);
    free(score);
    return st;
}

presso_status presso_structured_prune(presso_model *m, const presso_calib_set *calib, presso_structured_params *p) {
    const double t0 = presso_now_seconds();
    presso_llama_config *c = &m->config;
    if (!(p->ffn_ratio >= 0.0 && p->ffn_ratio < 1.0) || !(p->heads_ratio >= 0.0 && p->heads_ratio < 1.0))
        return presso_fail(PRESSO_ERR_INVALID_ARG, "structured pruning ratios must be in [0, 1) (ffn %g, heads %g)",
                           p->ffn_ratio, p->heads_ratio);
    const int32_t keep_ff = presso_structured_kept(c->hidden_dim, p->ffn_ratio);
    const int32_t keep_groups = presso_structured_kept(c->n_kv_heads, p->heads_ratio);
    const bool scoring = keep_ff < c->hidden_dim || keep_groups < c->n_kv_heads;
    if (scoring && (!calib || calib->n_seqs <= 0))
        return presso_fail(PRESSO_ERR_INVALID_ARG, "structured pruning needs calibration text to rank channels");
    if (p->heads_ratio > 0.0 && keep_groups == c->n_kv_heads)
        return presso_fail(PRESSO_ERR_INVALID_ARG,
                           "--heads-ratio %g removes no kv group of %d (heads are removed a whole kv group at a "
                           "time: %d query heads each); use at least %g",
                           p->heads_ratio, c->n_kv_heads, c->n_heads / c->n_kv_heads, 0.5 / c->n_kv_heads);
    if (scoring)
        for (int64_t i = 0; i < (int64_t)calib->n_seqs * calib->seq_len; i++)
            if (calib->tokens[i] < 0 || calib->tokens[i] >= c->vocab_size)
                return presso_fail(PRESSO_ERR_INVALID_ARG, "calibration token %d is outside the model's vocabulary "
                                   "(%d); is the tokenizer the model's?", calib->tokens[i], c->vocab_size);
    for (int32_t l = 0; l < c->n_layers; l++) {
        const presso_llama_layer *L = &m->layers[l];
        const presso_tensor *ts[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int i = 0; i < 7; i++) PRESSO_TRY(check_float(m, ts[i]));
    }
    p->hidden_before = c->hidden_dim;
    p->heads_before = c->n_heads;
    p->kv_heads_before = c->n_kv_heads;

    const int64_t q_dim = (int64_t)c->n_heads * c->head_dim;
    const int64_t widest = c->hidden_dim > q_dim ? c->hidden_dim : q_dim;
    layer_sums *sums = scoring ? calloc((size_t)c->n_layers, sizeof *sums) : NULL;
    float *row = malloc(sizeof(float) * (size_t)widest);
    double *colsq = malloc(sizeof(double) * (size_t)widest);
    presso_status st = PRESSO_OK;
    if ((scoring && !sums) || !row || !colsq) st = presso_fail(PRESSO_ERR_NOMEM, "out of memory for pruning scores");
    for (int32_t l = 0; scoring && l < c->n_layers && st == PRESSO_OK; l++) {
        sums[l].ffn_sq = calloc((size_t)c->hidden_dim, sizeof(double));
        sums[l].attn_sq = calloc((size_t)q_dim, sizeof(double));
        if (!sums[l].ffn_sq || !sums[l].attn_sq) st = presso_fail(PRESSO_ERR_NOMEM, "out of memory for scores");
    }
    if (st == PRESSO_OK && scoring) st = gather(m, calib, p->n_threads, sums);
    for (int32_t l = 0; l < c->n_layers && st == PRESSO_OK; l++)
        st = prune_layer(m, l, sums, keep_ff, keep_groups, row, colsq);
    if (st == PRESSO_OK) {
        c->n_heads = keep_groups * (c->n_heads / c->n_kv_heads);
        c->n_kv_heads = keep_groups;
        c->hidden_dim = keep_ff;
        st = presso_model_validate(m);
    }
    for (int32_t l = 0; sums && l < c->n_layers; l++) {
        free(sums[l].ffn_sq);
        free(sums[l].attn_sq);
    }
    free(sums);
    free(row);
    free(colsq);
    p->hidden_after = c->hidden_dim;
    p->heads_after = c->n_heads;
    p->kv_heads_after = c->n_kv_heads;
    p->seconds = presso_now_seconds() - t0;
    return st;
}
