#include "tune/adamw.h"

#include <math.h>
#include <stdlib.h>

#include "core/error.h"

presso_status presso_adamw_init(presso_adamw *o, int64_t n, float weight_decay) {
    o->n = n;
    o->t = 0;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-8f;
    o->weight_decay = weight_decay;
    o->m = calloc((size_t)(n > 0 ? n : 1), sizeof(float));
    o->v = calloc((size_t)(n > 0 ? n : 1), sizeof(float));
    if (!o->m || !o->v) {
        presso_adamw_free(o);
        return presso_fail(PRESSO_ERR_NOMEM, "out of memory for AdamW moments of %lld parameters", (long long)n);
    }
    return PRESSO_OK;
}

void presso_adamw_free(presso_adamw *o) {
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
}

void presso_adamw_step(presso_adamw *o, float *params, const float *grads, float lr) {
    o->t++;
    /* Bias corrections of Adam (Kingma & Ba 2015, Alg. 1). */
    const double c1 = 1.0 - pow(o->beta1, (double)o->t), c2 = 1.0 - pow(o->beta2, (double)o->t);
    for (int64_t i = 0; i < o->n; i++) {
        o->m[i] = o->beta1 * o->m[i] + (1.0f - o->beta1) * grads[i];
        o->v[i] = o->beta2 * o->v[i] + (1.0f - o->beta2) * grads[i] * grads[i];
        const double mh = o->m[i] / c1, vh = o->v[i] / c2;
        /* Decoupled decay: applied to θ directly, not through the gradient. */
        params[i] -= (float)(lr * (mh / (sqrt(vh) + o->eps) + o->weight_decay * params[i]));
    }
}

float presso_lr_at(int64_t step, int64_t steps, int64_t warmup, float lr_max, float min_frac) {
    if (warmup > 0 && step < warmup) return lr_max * (float)(step + 1) / (float)warmup;
    const int64_t span = steps - warmup - 1;
    if (span <= 0) return lr_max;
    const double progress = (double)(step - warmup) / (double)span;
    const double cosine = 0.5 * (1.0 + cos(3.14159265358979323846 * (progress > 1.0 ? 1.0 : progress)));
    return (float)(lr_max * (min_frac + (1.0 - min_frac) * cosine));
}

double presso_clip_grad_norm(float *g, int64_t n, double max_norm) {
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++) ss += (double)g[i] * g[i];
    const double norm = sqrt(ss);
    if (max_norm > 0 && norm > max_norm) {
        const float s = (float)(max_norm / norm);
        for (int64_t i = 0; i < n; i++) g[i] *= s;
    }
    return norm;
}
