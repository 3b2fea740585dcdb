/* Compute kernels in tiers (as BLIS): kernels_ref.c is the readable oracle,
 * kernels_avx2.c (and later avx512) the fast versions, chosen once at run
 * time from cpuid in dispatch.c — never by #ifdef at a call site. */
#ifndef PRESSO_TENSOR_KERNELS_H
#define PRESSO_TENSOR_KERNELS_H

#include <stdint.h>

#include "presso.h"

/* dot(row of weights in their stored type, float vector), n elements
 * (a multiple of the type's block size). */
typedef float (*presso_vec_dot_fn)(const void *row, const float *x, int64_t n);

typedef struct {
    const char *name;
    presso_vec_dot_fn vec_dot[PRESSO_TYPE_COUNT]; /* NULL: type not supported */
    float (*dot_f32)(const float *a, const float *b, int64_t n);
    void (*axpy_f32)(float a, const float *x, float *y, int64_t n); /* y += a x */
} presso_kernels;

const presso_kernels *presso_kernels_ref(void);
/* NULL when this CPU lacks AVX2+FMA+F16C. */
const presso_kernels *presso_kernels_avx2(void);

/* The kernels every caller uses: the best this CPU supports, unless
 * PRESSO_KERNELS=ref|avx2 in the environment or presso_kernels_select()
 * says otherwise. */
const presso_kernels *presso_kernels_active(void);
/* "auto", "ref" or "avx2"; PRESSO_ERR_UNSUPPORTED when the CPU lacks it. */
presso_status presso_kernels_select(const char *name);

#endif
