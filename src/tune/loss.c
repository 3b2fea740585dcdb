#include "tune/loss.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"

static const char *const names[] = {"ce", "kd-fwd", "kd-rev", "mix"};

const char *presso_loss_name(presso_loss_kind k) { return (unsigned)k < 4 ? names[k] : "?"; }

presso_status presso_loss_from_name(const char *name, presso_loss_kind *out) {
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, names[i]) == 0) {
            *out = (presso_loss_kind)i;
            return PRESSO_OK;
        }
    return presso_fail(PRESSO_ERR_INVALID_ARG, "unknown loss '%s' (ce, kd-fwd, kd-rev, mix)", name);
}

/* Softmax of z into p (floats) in one pass of expf; returns log Σ exp(z). */
static double softmax(const float *z, int32_t vocab, float *p) {
    float max = z[0];
    for (int32_t i = 1; i < vocab; i++)
        if (z[i] > max) max = z[i];
    double sum = 0.0;
    for (int32_t i = 0; i < vocab; i++) {
        p[i] = expf(z[i] - max);
        sum += p[i];
    }
    const float inv = (float)(1.0 / sum);
    for (int32_t i = 0; i < vocab; i++) p[i] *= inv;
    return max + log(sum);
}

double presso_loss_row(presso_loss_kind kind, float kd_weight, const float *z, const float *zt, int32_t target,
                       int32_t vocab, float scale, float *dz, float *work) {
    const double w_ce = kind == PRESSO_LOSS_CE ? 1.0 : kind == PRESSO_LOSS_MIX ? 1.0 - kd_weight : 0.0;
    const double w_fwd = kind == PRESSO_LOSS_KD_FWD ? 1.0 : kind == PRESSO_LOSS_MIX ? kd_weight : 0.0;
    const double w_rev = kind == PRESSO_LOSS_KD_REV ? 1.0 : 0.0;
    const bool kd = (w_fwd != 0.0 || w_rev != 0.0) && zt;
    float *ps = work, *pt = work + vocab;
    const double lse_s = softmax(z, vocab, ps), lse_t = kd ? softmax(zt, vocab, pt) : 0.0;
    /* CE = −log p_s[y]; d/dz = p_s − onehot(y).
     * KL(p_t‖p_s) = Σ p_t (log p_t − log p_s); d/dz = p_s − p_t.
     * KL(p_s‖p_t) = Σ p_s (log p_s − log p_t); d/dz_j = p_s,j (log p_s,j − log p_t,j − KL).
     * log p = z − lse, in double. */
    double loss = w_ce != 0.0 ? w_ce * (lse_s - (double)z[target]) : 0.0, kl_fwd = 0.0, kl_rev = 0.0;
    if (kd)
        for (int32_t i = 0; i < vocab; i++) {
            const double diff = ((double)zt[i] - lse_t) - ((double)z[i] - lse_s); /* log p_t − log p_s */
            kl_fwd += pt[i] * diff;
            kl_rev -= ps[i] * diff;
        }
    loss += w_fwd * kl_fwd + w_rev * kl_rev;
    if (dz)
        for (int32_t i = 0; i < vocab; i++) {
            double d = w_ce * ((double)ps[i] - (i == target ? 1.0 : 0.0));
            if (kd) {
                const double diff = ((double)z[i] - lse_s) - ((double)zt[i] - lse_t);
                d += w_fwd * ((double)ps[i] - pt[i]) + w_rev * ps[i] * (diff - kl_rev);
            }
            dz[i] = (float)(scale * d);
        }
    return loss;
}
