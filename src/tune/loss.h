/* Losses of prompt tuning on one row of logits, with their gradients:
 * next-token cross-entropy (Lester et al. 2021) and distillation from the
 * uncompressed teacher (Hinton et al. 2015) as forward KL(p_t ‖ p_s), reverse
 * KL(p_s ‖ p_t) (Gu et al. 2024, MiniLLM) or a mix (1 − w)·CE + w·KL(p_t ‖ p_s). */
#ifndef PRESSO_TUNE_LOSS_H
#define PRESSO_TUNE_LOSS_H

#include <stdint.h>

#include "presso.h"

typedef enum { PRESSO_LOSS_CE, PRESSO_LOSS_KD_FWD, PRESSO_LOSS_KD_REV, PRESSO_LOSS_MIX } presso_loss_kind;

/* "ce", "kd-fwd", "kd-rev", "mix". */
const char *presso_loss_name(presso_loss_kind k);
presso_status presso_loss_from_name(const char *name, presso_loss_kind *out);

/* Loss of one row: student logits z [vocab], the target token (CE, mix) and
 * the teacher's logits zt [vocab] (KD, mix; NULL for CE). dz (may be NULL)
 * receives scale · dloss/dz. kd_weight is w of the mix. work: 2·vocab
 * floats of scratch (the two softmaxes). */
double presso_loss_row(presso_loss_kind kind, float kd_weight, const float *z, const float *zt, int32_t target,
                       int32_t vocab, float scale, float *dz, float *work);

#endif
