/* The layer-by-layer driver (as GPTQ's): embed every calibration sequence,
 * then for each block run it on all of them capturing each linear's inputs,
 * hand the block's 7 linears to the pass, swap the model's tensor views to
 * the compressed tensors, and re-run the *compressed* block to produce the
 * next block's inputs. Memory: one block's input statistics plus the
 * activations (n_seqs × seq_len × dim floats).
 *
 * token_embd and output get the target type's reference quantizer (RTN) —
 * a pass only sees the block linears — unless an override names another
 * type. (llama.cpp's K-mixes put output in Q6_K; presso keeps one type by
 * default so a table compares methods, not mixes.) token_embd is quantized
 * first, so calibration sees the embeddings the file will hold.
 *
 * A pruning pass (pass->writes_dense) may target F32/F16/BF16 as well: the
 * block linears go through the pass (without statistics when it needs no
 * calibration, e.g. magnitude); token_embd and output are converted, never
 * pruned. */
#ifndef PRESSO_COMPRESS_DRIVER_H
#define PRESSO_COMPRESS_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "compress/calib.h"
#include "compress/imatrix.h"
#include "compress/pass.h"
#include "compress/transform.h"
#include "model/model.h"

/* A per-tensor type: name is a GGUF base name (token_embd, output, attn_q,
 * attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down) for every layer,
 * or a glob (fnmatch) over tensor names without ".weight", e.g.
 * blk.*.ffn_down or blk.3.attn_v; the last match wins. An overridden type
 * whose block does not fit the rows still falls back. */
typedef struct {
    char name[32];
    presso_type type;
} presso_type_override;

typedef struct {
    int32_t layer, n_layers; /* blocks done so far */
    double elapsed, eta;     /* seconds */
} presso_compress_progress;

typedef struct {
    const presso_pass *pass;
    presso_type type;          /* target type of every matrix */
    presso_pass_opts opts;     /* damp, act_order, block_cols, n_threads (type is set per tensor) */
    bool allow_requantize;     /* accept an already-quantized source (dequantized first) */
    const presso_type_override *overrides;
    int n_overrides;
    /* A block transform run on each block before its linears' pass (AWQ,
     * SmoothQuant; transform.h), with its options; NULL: none. The block's
     * inputs are captured again after it, so the pass sees them transformed. */
    const presso_block_transform *transform;
    presso_transform_opts transform_opts;
    presso_block_report *reports; /* NULL or n_layers entries, filled by the transform */
    const presso_imatrix *imatrix; /* importance per tensor from a llama-imatrix file; NULL: none */
    bool imatrix_from_calib;       /* importance = mean x_j² of each linear's calibration inputs (needs calib) */
    void (*progress)(void *user, const presso_compress_progress *p);
    void *user;
    /* Filled in. */
    int n_fallback;            /* matrices whose rows fit no block of `type` */
    char fallbacks[1024];      /* "blk.0.ffn_down.weight=f16,..." */
    int64_t n_dead;            /* GPTQ: dead input columns over all layers */
    int n_imatrix;             /* matrices quantized with an importance vector */
    double max_damp;           /* GPTQ: the largest dampening any layer needed */
    double seconds;
} presso_compress_params;

/* Compresses m in place (new buffers owned by m). calib may be NULL for a
 * pass that needs no calibration. */
presso_status presso_compress_model(presso_model *m, const presso_calib_set *calib, presso_compress_params *p);

/* The type a matrix with rows of `width` gets for target `type`: the type
 * itself when the width is a multiple of its block, else llama.cpp's
 * fallback (q4_k → q5_0, q5_k → q5_1, q6_k → q8_0; q2_k/q3_k → q4_0 where
 * llama.cpp uses iq4_nl, which presso does not write), else f16. */
presso_type presso_compress_tensor_type(presso_type type, int64_t width);

#endif
