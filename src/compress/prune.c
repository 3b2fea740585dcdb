#include "compress/prune.h"

#include <fnmatch.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tensor/types.h"

int64_t presso_prune_count(int64_t n, double sparsity) {
    if (!(sparsity > 0.0)) return 0;
    const int64_t k = (int64_t)floor((double)n * sparsity + 0.5);
    return k < 0 ? 0 : (k > n ? n : k);
}

/* "blk.3.ffn_down.weight" matches "blk.*.ffn_down", "blk.3.ffn_down.weight" and "ffn_down". */
static bool name_matches(const char *pattern, const char *name) {
    char stem[160];
    snprintf(stem, sizeof stem, "%s", name);
    char *dot = strrchr(stem, '.');
    if (dot && strcmp(dot, ".weight") == 0) *dot = '\0';
    if (fnmatch(pattern, stem, 0) == 0 || fnmatch(pattern, name, 0) == 0) return true;
    const char *base = stem;
    if (strncmp(stem, "blk.", 4) == 0 && (base = strchr(stem + 4, '.')) != NULL) base++;
    else base = stem;
    return fnmatch(pattern, base, 0) == 0;
}

double presso_prune_sparsity_for(const presso_pass_opts *opts, const char *name) {
    double s = opts->sparsity;
    for (int i = 0; i < opts->n_sparsity_map; i++)
        if (name_matches(opts->sparsity_map[i].pattern, name)) s = opts->sparsity_map[i].sparsity;
    return s;
}

presso_status presso_prune_check_opts(const presso_pass_opts *opts, const char *name, double sparsity) {
    if (opts->nm_m > 0) {
        if (opts->nm_n <= 0 || opts->nm_n >= opts->nm_m)
            return presso_fail(PRESSO_ERR_INVALID_ARG, "%s: N:M pattern %d:%d needs 0 < N < M", name, opts->nm_n,
                               opts->nm_m);
        if (opts->n_sparsity_map > 0)
            return presso_fail(PRESSO_ERR_INVALID_ARG, "%s: a per-tensor sparsity map goes with unstructured "
                               "sparsity, not N:M", name);
        if (opts->prune_per_layer)
            return presso_fail(PRESSO_ERR_INVALID_ARG, "%s: N:M groups are within rows; per-layer ranking does "
                               "not apply", name);
        return PRESSO_OK;
    }
    if (!(sparsity >= 0.0 && sparsity < 1.0))
        return presso_fail(PRESSO_ERR_INVALID_ARG, "%s: sparsity %g is outside [0, 1)", name, sparsity);
    return PRESSO_OK;
}

bool presso_prune_type_keeps_zeros(presso_type type) {
    switch (type) {
    case PRESSO_TYPE_F32: case PRESSO_TYPE_F16: case PRESSO_TYPE_BF16: case PRESSO_TYPE_Q4_0: case PRESSO_TYPE_Q5_0:
    case PRESSO_TYPE_Q8_0: case PRESSO_TYPE_Q3_K: case PRESSO_TYPE_Q6_K: return true;
    default: return false;
    }
}

static int by_score(const void *a, const void *b) {
    const presso_prune_item *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

void presso_prune_select(const float *score, int64_t n, int64_t k, presso_prune_item *scratch, uint8_t *mask) {
    memset(mask, 0, (size_t)n);
    if (k <= 0) return;
    if (k >= n) {
        memset(mask, 1, (size_t)n);
        return;
    }
    for (int64_t j = 0; j < n; j++) scratch[j] = (presso_prune_item){score[j], j};
    qsort(scratch, (size_t)n, sizeof *scratch, by_score);
    for (int64_t j = 0; j < k; j++) mask[scratch[j].index] = 1;
}

void presso_prune_select_nm(const float *score, int64_t n, int n_keep, int m, presso_prune_item *scratch,
                            uint8_t *mask) {
    for (int64_t g0 = 0; g0 < n; g0 += m) {
        const int64_t g = g0 + m <= n ? m : n - g0;
        presso_prune_select(score + g0, g, g - n_keep, scratch, mask + g0);
    }
}

presso_status presso_prune_mask(const float *score, int64_t rows, int64_t cols, double sparsity,
                                const presso_pass_opts *opts, uint8_t *mask) {
    const bool layer = opts->prune_per_layer && opts->nm_m <= 0;
    const int64_t n_scratch = layer ? rows * cols : cols;
    const int nt = opts->n_threads > 0 ? opts->n_threads : 1;
    presso_prune_item *scratch = malloc(sizeof *scratch * (size_t)(layer ? n_scratch : n_scratch * nt));
    if (!scratch) return presso_fail(PRESSO_ERR_NOMEM, "out of memory ranking %lld weights", (long long)n_scratch);
    if (layer) {
        presso_prune_select(score, rows * cols, presso_prune_count(rows * cols, sparsity), scratch, mask);
    } else {
        const int64_t k = presso_prune_count(cols, sparsity);
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            presso_prune_item *s = scratch + (int64_t)omp_get_thread_num() * cols;
            if (opts->nm_m > 0) presso_prune_select_nm(score + r * cols, cols, opts->nm_n, opts->nm_m, s, mask + r * cols);
            else presso_prune_select(score + r * cols, cols, k, s, mask + r * cols);
        }
    }
    free(scratch);
    return PRESSO_OK;
}

presso_status presso_prune_write(const float *w, const uint8_t *mask, int64_t rows, int64_t cols,
                                 const presso_pass_opts *opts, const char *name, void *dst) {
    const presso_type_traits *t = presso_type_traits_of(opts->type);
    const int64_t row_bytes = presso_row_bytes(opts->type, cols);
    if (!t || !t->from_float_ref || row_bytes < 0)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "%s: rows of %lld do not fit %s", name, (long long)cols,
                           t ? t->name : "?");
    if (!presso_prune_type_keeps_zeros(opts->type))
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: %s cannot hold an exact zero (its grid has an offset); "
                           "prune to f32/f16/bf16, q4_0, q5_0, q8_0, q3_k or q6_k", name, t->name);
    const int nt = opts->n_threads > 0 ? opts->n_threads : 1;
    float *row = malloc(sizeof(float) * (size_t)(cols * nt));
    if (!row) return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", name);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        float *x = row + (int64_t)omp_get_thread_num() * cols;
        for (int64_t j = 0; j < cols; j++) x[j] = mask[r * cols + j] ? 0.0f : w[r * cols + j];
        t->from_float_ref(x, (uint8_t *)dst + r * row_bytes, cols);
    }
    free(row);
    return PRESSO_OK;
}

int64_t presso_count_zeros(const float *w, int64_t n) {
    int64_t z = 0;
    for (int64_t j = 0; j < n; j++) z += w[j] == 0.0f;
    return z;
}
