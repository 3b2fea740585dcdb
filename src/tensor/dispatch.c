/* Runtime kernel selection from cpuid: one binary runs on every x86-64. */
#include <cpuid.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tensor/kernels.h"

const presso_kernels *presso_kernels_avx2_table(void); /* kernels_avx2.c */
void presso_gemm_packed_avx512_fill(presso_gemm_packed_fn table[PRESSO_TYPE_COUNT]); /* gemm_packed_avx512.c */

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

/* AVX-512 F/BW/VL + VNNI, and an OS that saves the opmask and ZMM state
 * (XCR0 bits 5-7). */
static bool cpu_has_avx512_vnni(void) {
    unsigned a, b, c, d;
    if (!cpu_has_avx2_fma_f16c() || __get_cpuid_max(0, NULL) < 7) return false;
    unsigned xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0_lo & 0xE6u) != 0xE6u) return false;
    __cpuid_count(7, 0, a, b, c, d);
    const bool f = b & (1u << 16), bw = b & (1u << 30), vl = b & (1u << 31), vnni = c & (1u << 11);
    return f && bw && vl && vnni;
}

/* The AVX2 tier with the repacked Q4_0 / Q8_0 / Q4_K / Q6_K kernels on VNNI
 * (gemm_packed_avx512.c); built once, on first use, under pthread_once so
 * that library callers may select kernels from several threads. */
static presso_kernels avx512_tier;
static presso_gemm_packed_fn avx512_packed[PRESSO_TYPE_COUNT];

static void build_avx512_tier(void) {
    avx512_tier = *presso_kernels_avx2_table();
    memcpy(avx512_packed, presso_gemm_packed_avx2_table, sizeof avx512_packed);
    presso_gemm_packed_avx512_fill(avx512_packed);
    avx512_tier.name = "avx512";
    avx512_tier.gemm_packed = avx512_packed;
}

const presso_kernels *presso_kernels_avx512(void) {
    static pthread_once_t built = PTHREAD_ONCE_INIT;
    if (!cpu_has_avx512_vnni()) return NULL;
    pthread_once(&built, build_avx512_tier);
    return &avx512_tier;
}

presso_status presso_kernels_select(const char *name) {
    if (!name || strcmp(name, "auto") == 0) {
        const presso_kernels *k = presso_kernels_avx512();
        if (!k) k = presso_kernels_avx2();
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
    if (strcmp(name, "avx512") == 0) {
        const presso_kernels *k = presso_kernels_avx512();
        if (!k) return presso_fail(PRESSO_ERR_UNSUPPORTED, "this CPU lacks AVX-512 F/BW/VL with VNNI");
        active = k;
        return PRESSO_OK;
    }
    return presso_fail(PRESSO_ERR_INVALID_ARG, "unknown kernel tier '%s' (auto, ref, avx2, avx512)", name);
}

const presso_kernels *presso_kernels_active(void) {
    if (!active && presso_kernels_select(getenv("PRESSO_KERNELS")) != PRESSO_OK) presso_kernels_select("auto");
    return active;
}
