/* What the pruning passes share (magnitude.c, wanda.c, sparsegpt.c): how
 * many weights a row loses at a sparsity, the per-tensor sparsity map, and
 * the mask that drops the lowest scores per output row, per N:M group or
 * per layer. A mask byte of 1 means "pruned" (the weight becomes 0). */
#ifndef PRESSO_COMPRESS_PRUNE_H
#define PRESSO_COMPRESS_PRUNE_H

#include <stdbool.h>
#include <stdint.h>

#include "compress/pass.h"
#include "presso.h"

typedef struct {
    float score;
    int64_t index;
} presso_prune_item;

/* Weights pruned out of n at a sparsity: round(n·s), so every row (or
 * layer) has exactly this many zeros. */
int64_t presso_prune_count(int64_t n, double sparsity);

/* The sparsity of tensor `name` ("blk.3.ffn_down.weight"): the last
 * sparsity_map entry that matches, else opts->sparsity. */
double presso_prune_sparsity_for(const presso_pass_opts *opts, const char *name);

/* Checks a pass's pruning options for a layer of `in` inputs: sparsity in
 * [0, 1), 0 < N < M for N:M, no per-tensor map with N:M. */
presso_status presso_prune_check_opts(const presso_pass_opts *opts, const char *name, double sparsity);

/* True when `type` holds an exact 0 for a pruned weight: the float types
 * and the symmetric block types (q4_0, q5_0, q8_0, q3_k, q6_k). The types
 * with a min offset (q4_1, q5_1, q2_k, q4_k, q5_k) turn 0 into -m + q·d. */
bool presso_prune_type_keeps_zeros(presso_type type);

/* mask[j] = 1 for the k entries of score[0..n) with the smallest scores
 * (ties: lower index first), 0 for the rest. scratch holds n items. */
void presso_prune_select(const float *score, int64_t n, int64_t k, presso_prune_item *scratch, uint8_t *mask);

/* N:M (Mishra et al. 2021; SparseGPT §3.3): in every group of m
 * consecutive entries starting at a multiple of m, the smallest g - n_keep
 * (g = the group's size, m except maybe the last) are pruned. */
void presso_prune_select_nm(const float *score, int64_t n, int n_keep, int m, presso_prune_item *scratch,
                            uint8_t *mask);

/* The mask of a [rows][cols] score matrix under opts at `sparsity`: N:M
 * when opts->nm_m > 0, else round(cols·s) per row, or round(rows·cols·s)
 * over the matrix with opts->prune_per_layer. */
presso_status presso_prune_mask(const float *score, int64_t rows, int64_t cols, double sparsity,
                                const presso_pass_opts *opts, uint8_t *mask);

/* Zeroes the masked weights of w [rows][cols] and writes the rows as
 * opts->type (the type's reference quantizer: RTN for a block type). */
presso_status presso_prune_write(const float *w, const uint8_t *mask, int64_t rows, int64_t cols,
                                 const presso_pass_opts *opts, const char *name, void *dst);

/* Zeros per row of w (for reports and tests). */
int64_t presso_count_zeros(const float *w, int64_t n);

#endif
