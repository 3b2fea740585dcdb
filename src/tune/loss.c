#include "tune/loss.h"

#include <math.h>
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

double presso_loss_row(presso_loss_kind kind, float kd_weight, const float *z, const float *zt, int32_t target,
                       int32_t vocab, float scale, float *dz) {
    /* No scratch (no VLA): log-probabilities are recomputed where needed. */
    double loss = 0.0;
    float max_s = z[0], max_t = zt ? zt[0] : 0.0f;
    for (int32_t i = 1; i < vocab; i++) {
        if (z[i] > max_s) max_s = z[i];
        if (zt && zt[i] > max_t) max_t = zt[i];
    }
    double sum_s = 0.0, sum_t = 0.0;
    for (int32_t i = 0; i < vocab; i++) {
        sum_s += exp((double)z[i] - max_s);
        if (zt) sum_t += exp((double)zt[i] - max_t);
    }
    const double lse_s = max_s + log(sum_s), lse_t = zt ? max_t + log(sum_t) : 0.0;
    const double w_ce = kind == PRESSO_LOSS_CE ? 1.0 : kind == PRESSO_LOSS_MIX ? 1.0 - kd_weight : 0.0;
    const double w_fwd = kind == PRESSO_LOSS_KD_FWD ? 1.0 : kind == PRESSO_LOSS_MIX ? kd_weight : 0.0;
    const double w_rev = kind == PRESSO_LOSS_KD_REV ? 1.0 : 0.0;
    /* CE = −log p_s[y]; d/dz = p_s − onehot(y).
     * KL(p_t‖p_s) = Σ p_t (log p_t − log p_s); d/dz = p_s − p_t.
     * KL(p_s‖p_t) = Σ p_s (log p_s − log p_t); d/dz_j = p_s,j (log p_s,j − log p_t,j − KL). */
    if (w_ce != 0.0) loss += w_ce * (lse_s - (double)z[target]);
    double kl_rev = 0.0;
    if (w_fwd != 0.0 || w_rev != 0.0)
        for (int32_t i = 0; i < vocab; i++) {
            const double ls = (double)z[i] - lse_s, lt = (double)zt[i] - lse_t;
            if (w_fwd != 0.0) loss += w_fwd * exp(lt) * (lt - ls);
            if (w_rev != 0.0) kl_rev += exp(ls) * (ls - lt);
        }
    loss += w_rev * kl_rev;
    if (dz)
        for (int32_t i = 0; i < vocab; i++) {
            const double ls = (double)z[i] - lse_s, ps = exp(ls);
            double d = w_ce * (ps - (i == target ? 1.0 : 0.0));
            if (zt) {
                const double lt = (double)zt[i] - lse_t;
                d += w_fwd * (ps - exp(lt));
                d += w_rev * ps * (ls - lt - kl_rev);
            }
            dz[i] = (float)(scale * d);
        }
    return loss;
}
