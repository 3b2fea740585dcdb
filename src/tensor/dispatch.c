/* Runtime kernel selection from cpuid: one binary runs on every x86-64. */
#include <cpuid.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tensor/kernels.h"

const presso_kernels *presso_kernels_avx2_table(void); /* kernels_avx2.c */

static const presso_kernels *active;

/* AVX2 + FMA + F16C, and an OS that saves the YMM state (XCR0 bits 1-2). */
static bool cpu_has_avx2_fma_f16c(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28), f16c = c & (1u << 29);
    if (!(fma && osxsave && avx && f16c)) return false;
    unsigned xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0_lo & 6u) != 6u) return false;
    if (__get_cpuid_max(0, NULL) < 7) return false;
    __cpuid_count(7, 0, a, b, c, d);
    return b & (1u << 5);
}

const presso_kernels *presso_kernels_avx2(void) {
    return cpu_has_avx2_fma_f16c() ? presso_kernels_avx2_table() : NULL;
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
