/* AdamW (Loshchilov & Hutter 2019: Adam with decoupled weight decay), the
 * learning-rate schedule (linear warm-up, then cosine decay to lr·min_frac)
 * and global gradient-norm clipping (Pascanu et al. 2013). */
#ifndef PRESSO_TUNE_ADAMW_H
#define PRESSO_TUNE_ADAMW_H

#include <stdint.h>

#include "presso.h"

typedef struct {
    int64_t n;
    float *m, *v;
    int64_t t;
    float beta1, beta2, eps, weight_decay;
} presso_adamw;

presso_status presso_adamw_init(presso_adamw *o, int64_t n, float weight_decay);
void presso_adamw_free(presso_adamw *o);
/* One update of params from grads at learning rate lr:
 * θ ← θ − lr (m̂ / (sqrt(v̂) + eps) + wd·θ). */
void presso_adamw_step(presso_adamw *o, float *params, const float *grads, float lr);

/* lr at step (0-based) of steps: linear warm-up over warmup steps, then
 * cosine from lr_max down to lr_max·min_frac at the last step. */
float presso_lr_at(int64_t step, int64_t steps, int64_t warmup, float lr_max, float min_frac);

/* Scales g so that ‖g‖₂ <= max_norm (max_norm <= 0: no clipping); returns
 * the norm before clipping. */
double presso_clip_grad_norm(float *g, int64_t n, double max_norm);

#endif
