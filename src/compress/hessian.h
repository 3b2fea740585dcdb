/* The inverse-Hessian machinery GPTQ (gptq.c) and SparseGPT (sparsegpt.c)
 * share: H = 2XXᵀ/n from the calibration sums, dead input columns, and the
 * dampened upper Cholesky factor of H⁻¹ both algorithms walk column by
 * column (GPTQ Alg. 1 line 2; SparseGPT Alg. 1 "Hinv"). */
#ifndef PRESSO_COMPRESS_HESSIAN_H
#define PRESSO_COMPRESS_HESSIAN_H

#include <stdbool.h>
#include <stdint.h>

#include "compress/pass.h"
#include "presso.h"

/* Checks that a pass layer carries the Hessian of its inputs, of its width
 * (GPTQ and SparseGPT both need it); who names the method in errors. */
presso_status presso_hessian_check_layer(const presso_pass_layer *layer, const char *who);

/* H = h·2/n_samples [cols][cols]. A column no sample ever activated has
 * H_jj = 0: its weights cannot matter to the calibration output; it gets
 * H_jj = 1 and dead[j] = true. who names the method in errors. */
presso_status presso_hessian_scale(const double *h, int64_t cols, int64_t n_samples, const char *who, double *H,
                                   bool *dead, int64_t *n_dead);

/* U, the upper Cholesky factor of (P H Pᵀ + λ·mean(diag H)·I)⁻¹ in float
 * [cols][cols] (perm NULL: identity order), A a [cols][cols] double scratch.
 * A Hessian that is not positive definite gets 10× more dampening, up to
 * 1.0·mean(diag H), then a clear error; *damp_used is the λ that worked. */
presso_status presso_hessian_inverse_factor(const double *H, int64_t cols, const int64_t *perm, double damp,
                                            const char *who, double *A, float *U, double *damp_used);

/* The lazy batch update of GPTQ / SparseGPT (Frantar et al. 2022, eq. 4 in
 * blocks): once columns i1..i2 of W [rows][cols] are settled with errors
 * Err [rows][ldE] (column i - i1 for column i), W[:, i2:] -= Err · U[i1:i2, i2:],
 * as one GEMM over row chunks on nt threads. */
void presso_hessian_propagate_batch(float *W, int64_t rows, int64_t cols, const float *Err, int64_t ldE,
                                    const float *U, int64_t i1, int64_t i2, int nt);

#endif
