/* Backward pass through a frozen llama model, for prompt and prefix tuning
 * (Lester et al. 2021; Li & Liang 2021; Compress, Then Prompt, Xu et al.
 * 2023): gradients of a loss on the logits with respect to the input
 * embedding rows and to per-layer prefix keys/values. Weights are never
 * differentiated: every linear, whatever its type, is a fixed operator
 * (y = x Wᵀ forward, dx = dy W backward), dequantized one panel of rows at a
 * time. One sequence per forward; the activations of that sequence are kept
 * (about rows × (4·dim + 2·q_dim + 3·hidden) floats per layer). Activations
 * are fp32 and every linear takes the float route by default (no 8-bit
 * activation rounding), so the loss is a smooth function of the inputs;
 * presso_grad_set_act_rounding makes the forward round them as inference
 * does. */
#ifndef PRESSO_MODEL_LLAMA_GRAD_H
#define PRESSO_MODEL_LLAMA_GRAD_H

#include <stdbool.h>
#include <stdint.h>

#include "model/model.h"

typedef struct presso_grad_state presso_grad_state;

/* max_rows: most input rows one forward takes; max_prefix: most prefix
 * key/value positions. */
presso_status presso_grad_state_new(const presso_model *m, int32_t max_rows, int32_t max_prefix, int n_threads,
                                    presso_grad_state **out);
void presso_grad_state_free(presso_grad_state *g);

/* on: every linear whose inference matmul quantizes its activations (a block
 * type's integer-dot route, e.g. Q8_0 activations for Q4_0 weights) sees its
 * input rows rounded the same way in the forward, so the forward computes
 * what presso_llama_forward does; the backward passes gradients straight
 * through the rounding. Off (the default): float activations, a smooth loss
 * (what finite-difference checks need). */
void presso_grad_set_act_rounding(presso_grad_state *g, bool on);

/* Forward of one sequence: x [n][dim] input rows at positions
 * n_prefix .. n_prefix+n-1; every row also attends to n_prefix prefix
 * positions whose keys (after RoPE, as a KV cache holds them) and values are
 * pre_k / pre_v [n_layers][n_prefix][kv_dim] (NULL when n_prefix is 0).
 * Logits of rows first_logit..n-1 go to logits [n - first_logit][vocab]. */
presso_status presso_grad_forward(presso_grad_state *g, const float *x, int32_t n, const float *pre_k,
                                  const float *pre_v, int32_t n_prefix, float *logits, int32_t first_logit);

/* Backward of the last forward, from dlogits (the logits' layout): writes
 * dx [n][dim] (NULL: not wanted) and adds the prefix gradients into
 * dpre_k / dpre_v (NULL: not wanted). */
presso_status presso_grad_backward(presso_grad_state *g, const float *dlogits, float *dx, float *dpre_k,
                                   float *dpre_v);

/* Keys (after RoPE) and values of layer `layer` in the last forward, prefix
 * positions first: [n_prefix + n][kv_dim]. */
void presso_grad_layer_kv(const presso_grad_state *g, int32_t layer, const float **keys, const float **values);

/* ---- the ops, exposed so tests/test_grad.c checks each one ---------- */

/* RMSNorm (Zhang & Sennrich 2019) of one row: y = w ∘ x · rstd,
 * rstd = 1/sqrt(mean(x²) + eps). */
float presso_grad_rmsnorm_fwd(const float *x, const float *w, int64_t n, float eps, float *y);
/* dx = rstd (w ∘ dy) − x · rstd³/n · Σ_i dy_i w_i x_i. */
void presso_grad_rmsnorm_bwd(const float *x, const float *w, int64_t n, float rstd, const float *dy, float *dx);

/* Rotates n_heads heads of one row by the angles of one position (RoPE, Su
 * et al. 2021); inverse rotates back, which is also RoPE's backward (the
 * rotation is orthogonal). */
void presso_grad_rope(float *vec, int32_t n_heads, int32_t head_dim, const float *cos_row, const float *sin_row,
                      presso_rope_style style, bool inverse);

/* SwiGLU (Shazeer 2020): h = silu(g) · u. */
void presso_grad_swiglu_fwd(const float *gate, const float *up, int64_t n, float *h);
void presso_grad_swiglu_bwd(const float *gate, const float *up, const float *dh, int64_t n, float *dgate,
                            float *dup);

/* Causal grouped-query attention: q [n][n_heads·hd]; k, v [n_prefix+n][kv_dim]
 * (prefix rows first); row t attends to key rows 0..n_prefix+t. scratch:
 * presso_grad_attention_scratch_floats floats. */
int64_t presso_grad_attention_scratch_floats(int32_t n_keys, int n_threads);
void presso_grad_attention_fwd(const presso_llama_config *c, const float *q, const float *k, const float *v,
                               int32_t n, int32_t n_prefix, float *out, float *scratch, int n_threads);
/* Overwrites dq [n][q_dim], dk and dv [n_prefix+n][kv_dim]. */
void presso_grad_attention_bwd(const presso_llama_config *c, const float *q, const float *k, const float *v,
                               int32_t n, int32_t n_prefix, const float *dout, float *dq, float *dk, float *dv,
                               float *scratch, int n_threads);

/* y [n][out] = x [n][in] Wᵀ, float activations; dx [n][in] = dy W, added
 * into dx when accumulate. W (ne {in, out}) of any type is dequantized one
 * panel of PRESSO_MATMUL_PANEL_ROWS rows at a time into scratch
 * (presso_grad_linear_scratch_floats). */
int64_t presso_grad_linear_scratch_floats(int64_t in);
void presso_grad_linear_fwd(const presso_tensor *w, const float *x, int64_t n, float *y, float *scratch,
                            int n_threads);
void presso_grad_linear_bwd(const presso_tensor *w, const float *dy, int64_t n, float *dx, bool accumulate,
                            float *scratch, int n_threads);

#endif
