/* The one interface of a compression pass (as a table of structs, not a
 * switch): the driver (driver.c) hands a pass one linear layer at a time
 * with the statistics of its inputs, and the pass writes the layer's new
 * weights as rows of GGUF blocks. The driver knows nothing about GPTQ; GPTQ
 * knows nothing about files. */
#ifndef PRESSO_COMPRESS_PASS_H
#define PRESSO_COMPRESS_PASS_H

#include <stdbool.h>
#include <stdint.h>

#include "compress/calib.h"
#include "presso.h"

/* A per-tensor sparsity: pattern is a glob (fnmatch) on the tensor's name
 * without ".weight" ("blk.*.ffn_down", "blk.0.attn_?"), or a bare base name
 * (ffn_down) for every layer. The last matching entry wins. */
typedef struct {
    char pattern[64];
    double sparsity;
} presso_sparsity_override;

typedef struct {
    presso_type type; /* block type of this tensor's output (the driver's per-tensor choice) */
    double damp;      /* GPTQ: dampening λ, H += λ·mean(diag H)·I (Frantar et al. 2022, §4 step 3) */
    bool act_order;   /* GPTQ: quantize columns by decreasing diag H */
    int block_cols;   /* GPTQ: lazy batch width B; <= 0: 128 */
    const float *imatrix; /* GPTQ: [in] importance per input column (original order): each block's scales are
                             searched weighted by it (as llama-quantize --imatrix); NULL: reference quantizer */
    int n_threads;
    /* Pruning passes (magnitude.c, wanda.c, sparsegpt.c; see prune.h). */
    double sparsity;      /* fraction of each output row's weights set to zero, [0, 1) */
    int nm_n, nm_m;       /* N:M: at most N non-zeros in each group of M consecutive inputs; 0: unstructured */
    bool prune_per_layer; /* rank scores over the whole matrix (SparseGPT: over each lazy batch), not per output row */
    const presso_sparsity_override *sparsity_map; /* per-tensor sparsity (unstructured only) */
    int n_sparsity_map;
} presso_pass_opts;

typedef struct {
    const char *name;                 /* GGUF tensor name, for messages */
    const float *w;                   /* [out][in] weights as floats */
    int64_t in, out;
    const presso_calib_stats *stats;  /* statistics of the layer's inputs; NULL for passes without calibration */
    const float *imatrix;             /* [in] importance per input column (llama.cpp's imatrix: mean x_j²);
                                         NULL: none. RTN then searches block scales weighted by it. */
} presso_pass_layer;

typedef struct {
    double damp_used; /* GPTQ: λ after any retries on a Hessian that was not positive definite */
    int64_t n_dead;   /* GPTQ: input columns that were zero on all calibration samples */
    double loss;      /* GPTQ: Σ (w-q)²/[H⁻¹]_ii / 2 (the algorithm's own error estimate) */
} presso_pass_report;

/* Writes layer->out rows of layer->in elements of opts->type into dst. */
typedef presso_status (*presso_pass_run_fn)(const presso_pass_layer *layer, const presso_pass_opts *opts, void *dst,
                                            presso_pass_report *report);

typedef struct {
    const char *name;
    const char *summary;
    bool needs_calibration;
    presso_pass_run_fn run;
    bool prunes;       /* a pruning pass (presso prune), not a quantizer (presso quantize) */
    bool writes_dense; /* also writes F32/F16/BF16 (a quantizer only writes block types) */
} presso_pass;

/* NULL when no pass has that name. */
const presso_pass *presso_pass_find(const char *name);
int presso_pass_count(void);
const presso_pass *presso_pass_at(int i);

extern const presso_pass presso_pass_rtn;  /* rtn.c */
extern const presso_pass presso_pass_gptq; /* gptq.c */
extern const presso_pass presso_pass_magnitude; /* magnitude.c */
extern const presso_pass presso_pass_wanda;     /* wanda.c */
extern const presso_pass presso_pass_sparsegpt; /* sparsegpt.c */

/* --bits/--group/--sym|--asym as a GGUF type: 4 → q4_0 (sym) / q4_1 (asym),
 * 5 → q5_0 / q5_1, 8 → q8_0 (sym only); group 32 (or <= 0, the default).
 * Anything else is not representable and is an error saying what is. */
presso_status presso_quant_type_for_bits(int bits, int group, bool asym, presso_type *out);
/* Checks --group against a type's fixed group (32 for the 32-element
 * blocks; 16 or 32 sub-blocks of the K-quants); group <= 0 always passes. */
presso_status presso_quant_check_group(presso_type type, int group);

#endif
