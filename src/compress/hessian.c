#include "compress/hessian.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>

#include "core/error.h"
#include "core/log.h"

presso_status presso_hessian_scale(const double *h, int64_t cols, int64_t n_samples, const char *who, double *H,
                                   bool *dead, int64_t *n_dead) {
    if (n_samples <= 0) return presso_fail(PRESSO_ERR_INVALID_ARG, "%s needs calibration samples (got none)", who);
    /* 2XXᵀ/n is the reference implementations' scaling: it leaves the result
     * unchanged and keeps the dampening relative. */
    for (int64_t i = 0; i < cols * cols; i++) H[i] = h[i] * (2.0 / (double)n_samples);
    *n_dead = 0;
    for (int64_t j = 0; j < cols; j++) {
        dead[j] = false;
        if (!isfinite(H[j * cols + j]))
            return presso_fail(PRESSO_ERR_INVALID_ARG, "%s: the calibration Hessian holds inf or nan", who);
        if (H[j * cols + j] == 0.0) {
            H[j * cols + j] = 1.0;
            dead[j] = true;
            (*n_dead)++;
        }
    }
    return PRESSO_OK;
}

/* Upper Cholesky factor U of A⁻¹ (A⁻¹ = UᵀU), in place: Cholesky of A, its
 * inverse, then Cholesky of that. Non-zero when A is not positive definite. */
static int inverse_cholesky_upper(double *a, int64_t n) {
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, a, (lapack_int)n) != 0) return 1;
    if (LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, a, (lapack_int)n) != 0) return 1;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i + 1; j < n; j++) a[i * n + j] = a[j * n + i];
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', (lapack_int)n, a, (lapack_int)n) != 0) return 1;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < i; j++) a[i * n + j] = 0.0;
    return 0;
}

presso_status presso_hessian_inverse_factor(const double *H, int64_t cols, const int64_t *perm, double damp,
                                            const char *who, double *A, float *U, double *damp_used) {
    double mean_diag = 0.0;
    for (int64_t j = 0; j < cols; j++) mean_diag += H[j * cols + j];
    mean_diag /= (double)cols;
    for (;;) {
        for (int64_t i = 0; i < cols; i++)
            for (int64_t k = 0; k < cols; k++)
                A[i * cols + k] = perm ? H[perm[i] * cols + perm[k]] : H[i * cols + k];
        /* dampening λ·mean(diag H) (GPTQ §4 step 3; SparseGPT §3.2, λ = 0.01) */
        for (int64_t i = 0; i < cols; i++) A[i * cols + i] += damp * mean_diag;
        if (inverse_cholesky_upper(A, cols) == 0) break;
        const double next = damp > 0 ? damp * 10.0 : 1e-4;
        if (next > 1.0)
            return presso_fail(PRESSO_ERR_INVALID_ARG, "%s: the Hessian of a %lld-column layer is not positive "
                               "definite even with dampening %g x mean(diag H); calibrate on more or other text",
                               who, (long long)cols, damp);
        presso_log(PRESSO_LOG_INFO, "%s: Hessian not positive definite with dampening %g; retrying with %g", who, damp,
                   next);
        damp = next;
    }
    *damp_used = damp;
    for (int64_t i = 0; i < cols * cols; i++) U[i] = (float)A[i];
    return PRESSO_OK;
}

presso_status presso_hessian_check_layer(const presso_pass_layer *layer, const char *who) {
    if (!layer->stats || !layer->stats->h)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "%s: %s needs the Hessian of the layer's inputs", layer->name, who);
    if (layer->stats->width != layer->in)
        return presso_fail(PRESSO_ERR_SHAPE, "%s: statistics of width %lld for a layer of %lld inputs", layer->name,
                           (long long)layer->stats->width, (long long)layer->in);
    return PRESSO_OK;
}

void presso_hessian_propagate_batch(float *W, int64_t rows, int64_t cols, const float *Err, int64_t ldE,
                                    const float *U, int64_t i1, int64_t i2, int nt) {
    if (i2 >= cols) return;
    const int64_t chunk = (rows + nt - 1) / nt;
#pragma omp parallel for num_threads(nt) schedule(static) if (rows * (cols - i2) * (i2 - i1) >= (1 << 20))
    for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
        const int64_t n = r0 + chunk < rows ? chunk : rows - r0;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)(cols - i2), (int)(i2 - i1), -1.0f,
                    Err + r0 * ldE, (int)ldE, U + i1 * cols + i2, (int)cols, 1.0f, W + r0 * cols + i2, (int)cols);
    }
}
