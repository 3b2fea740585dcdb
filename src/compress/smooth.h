/* Per-channel scale folding: the exact reparameterization that AWQ (Lin et
 * al. 2023, §3.2, "scale up salient channels": Q(w·s)·(x/s)) and
 * SmoothQuant (Xiao et al. 2023, Eq. 3: Y = (X diag(s)⁻¹)(diag(s) W))
 * both rest on. The linears that read one input get their input columns
 * multiplied by s, and whatever produces that input divides by s, so the
 * float model computes the same function:
 *
 *   ATTN_IN   attn_q/k/v columns × s,  attn_norm weight ÷ s     (width dim)
 *   ATTN_OUT  attn_output columns × s, attn_v rows ÷ s          (width kv_dim, see below)
 *   FFN_IN    ffn_gate/up columns × s, ffn_norm weight ÷ s      (width dim)
 *   FFN_ACT   ffn_down columns × s,    ffn_up rows ÷ s          (width hidden; silu(g)·(u/s) = (silu(g)·u)/s)
 *
 * ATTN_OUT with grouped-query attention: attn_output's input channel
 * (head h, d) is value channel (h / (n_heads/n_kv_heads), d), a weighted sum
 * of v rows; dividing a v row divides that channel for every query head of
 * its kv group, so one scale per v channel (kv_dim of them), shared by the
 * group's heads, is the only exact fold. presso_smooth_group_max/mean
 * reduce per-head statistics to that width. */
#ifndef PRESSO_COMPRESS_SMOOTH_H
#define PRESSO_COMPRESS_SMOOTH_H

#include <stdint.h>

#include "model/llama.h"
#include "model/model.h"

/* Makes the 9 tensors of block `layer` (norms and linears) model-owned F32
 * copies that can be written in place (dequantizing quantized sources). */
presso_status presso_smooth_own_block(presso_model *m, int32_t layer);

/* The number of scales a point takes: dim, kv_dim, dim, hidden. */
int64_t presso_smooth_width(const presso_model *m, presso_capture_point point);

/* Folds s (presso_smooth_width entries, all finite and > 0) into block
 * `layer`, whose tensors presso_smooth_own_block made writable. */
presso_status presso_smooth_fold(presso_model *m, int32_t layer, presso_capture_point point, const float *s);

/* A writable float view of one block tensor after presso_smooth_own_block;
 * which: 0..6 = attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down. */
float *presso_smooth_linear(presso_model *m, int32_t layer, int which);
/* The tensor itself: which 0..6 as above, 7 attn_norm, 8 ffn_norm. */
presso_tensor *presso_smooth_tensor(presso_model *m, int32_t layer, int which);

/* attn_output input statistics (q_dim wide, per query head) reduced to the
 * kv_dim channels folding can scale: max or mean over the heads of a group. */
void presso_smooth_group_max(const presso_llama_config *c, const float *per_head, float *per_kv);
void presso_smooth_group_mean(const presso_llama_config *c, const double *per_head, double *per_kv);

#endif
