/* Block transforms: a step the layer-by-layer driver (driver.c) runs on a
 * whole transformer block, with the statistics of the block's captured
 * inputs, before the per-linear pass (pass.h) quantizes its linears. AWQ
 * and SmoothQuant are transforms (per-channel scales folded into the block,
 * smooth.h); the driver then re-captures the block's inputs, so the pass
 * sees the Hessians of the transformed block. A method on the command line
 * is a transform (or none) plus a pass plus, for W8A8, a fixed type. */
#ifndef PRESSO_COMPRESS_TRANSFORM_H
#define PRESSO_COMPRESS_TRANSFORM_H

#include <stdbool.h>
#include <stdint.h>

#include "compress/calib.h"
#include "compress/pass.h"
#include "model/llama.h"
#include "model/model.h"

typedef struct {
    double alpha;     /* AWQ: unused (searched); SmoothQuant: migration strength α (default 0.5) */
    int grid;         /* AWQ: α grid points in [0, 1] (default 20) */
    bool clip;        /* AWQ: search each block's clipping range too */
    bool search_ref;  /* AWQ: score every α with a whole block forward (the reference the cached tails
                       * of awq.c are tested against bit for bit); false: the fast path */
} presso_transform_opts;

typedef struct {
    presso_model *m;
    int32_t layer;
    const presso_calib_stats *stats; /* [4] by presso_capture_point: the block's inputs, uncompressed block */
    presso_type types[7];            /* output type of attn_q, k, v, output, ffn_gate, up, down (the driver's choice) */
    const presso_transform_opts *opts;
    int n_threads;
    /* The block's inputs: n_seqs calibration sequences of seq_len tokens,
     * [n_seqs][seq_len][dim], and a state that runs the block on them
     * (presso_llama_block_forward) with the model's current weights. */
    presso_llama_state *state;
    const float *inputs;
    int32_t n_seqs, seq_len;
} presso_block_ctx;

typedef struct {
    double alpha[4];      /* by presso_capture_point: α chosen (AWQ) or used (SmoothQuant); < 0: not scaled */
    double err_before[4]; /* AWQ: the group's output error Σ‖(W−Q(W))X‖² at α = 0 (plain RTN) */
    double err_after[4];  /* AWQ: the same at the chosen α (and clip) */
} presso_block_report;

/* Changes block ctx->layer of ctx->m in place (its tensors may become F32
 * buffers owned by the model; norm weights may change). */
typedef presso_status (*presso_block_transform_fn)(const presso_block_ctx *ctx, presso_block_report *report);

typedef struct {
    const char *name;
    const char *summary;
    presso_block_transform_fn run;
} presso_block_transform;

extern const presso_block_transform presso_transform_awq;         /* awq.c */
extern const presso_block_transform presso_transform_smoothquant; /* smoothquant.c */

/* A --method: transform (NULL: none) + pass; fixed_type PRESSO_TYPE_COUNT
 * when --type/--bits choose the type. */
typedef struct {
    const char *name;
    const presso_block_transform *transform;
    const char *pass;
    presso_type fixed_type;
} presso_method;

/* NULL when no method has that name. */
const presso_method *presso_method_find(const char *name);
int presso_method_count(void);
const presso_method *presso_method_at(int i);

#endif
