/* Runtime kernel selection from cpuid: one binary runs on every x86-64. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tensor/kernels.h"

const presso_kernels *presso_kernels_avx2_table(void); /* kernels_avx2.c */

static const presso_kernels *active;

const presso_kernels *presso_kernels_avx2(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        return presso_kernels_avx2_table();
    return NULL;
}

presso_status presso_kernels_select(const char *name) {
    if (!name || strcmp(name, "auto") == 0) {
        const presso_kernels *k = presso_kernels_avx2();
        active = k ? k : presso_kernels_ref();
        return PRESSO_OK;
    }
    if (strcmp(name, "ref") == 0) {
        active = presso_kernels_ref();
        return PRESSO_OK;
    }
    if (strcmp(name, "avx2") == 0) {
        const presso_kernels *k = presso_kernels_avx2();
        if (!k) return presso_fail(PRESSO_ERR_UNSUPPORTED, "this CPU lacks AVX2/FMA/F16C");
        active = k;
        return PRESSO_OK;
    }
    return presso_fail(PRESSO_ERR_INVALID_ARG, "unknown kernel tier '%s' (auto, ref, avx2)", name);
}

const presso_kernels *presso_kernels_active(void) {
    if (!active && presso_kernels_select(getenv("PRESSO_KERNELS")) != PRESSO_OK) presso_kernels_select("auto");
    return active;
}
