/* PRESSO_TYPE_W8A8 (tensor/w8a8.h): traits row, round-trip bound, the AVX2
 * kernels against the _ref oracle on odd shapes and misaligned rows
 * (activation bytes identical, int8 dot identical, float dot to 1e-6), and
 * presso_matmul's W8A8 route against a double dot of the dequantized
 * weights and activations (exact up to float rounding). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "harness.h"
#include "tensor/kernels.h"
#include "tensor/matmul.h"
#include "tensor/types.h"
#include "tensor/w8a8.h"

static void fill(presso_rng *rng, float *x, int64_t n, float scale) {
    for (int64_t i = 0; i < n; i++) x[i] = scale * presso_rng_normal(rng);
}

static float scale_of(const void *row) {
    float d;
    memcpy(&d, row, sizeof d);
    return d;
}

static void test_traits(void) {
    const presso_type_traits *t = presso_type_traits_of(PRESSO_TYPE_W8A8);
    CHECK(t && strcmp(t->name, "w8a8") == 0 && t->is_quantized && t->row_header_bytes == 4);
    CHECK(presso_row_bytes(PRESSO_TYPE_W8A8, 128) == 132);
    CHECK(presso_row_bytes(PRESSO_TYPE_W8A8, 7) == 11);
    presso_type parsed;
    CHECK_OK(presso_type_from_name("W8A8", &parsed));
    CHECK(parsed == PRESSO_TYPE_W8A8 && (int)parsed == 1000);
    CHECK(presso_type_traits_of(999) == NULL && presso_type_traits_of(PRESSO_TYPE_COUNT) == NULL &&
          presso_type_traits_of(1099) == NULL); /* 1001, 1002: q3_g32, q2_g32 (lowbit.h) */
}

static void test_roundtrip(presso_rng *rng) {
    float x[300], y[300];
    uint8_t q[304];
    fill(rng, x, 300, 3.0f);
    x[17] = -40.0f;
    presso_w8a8_from_float_ref(x, q, 300);
    presso_w8a8_to_float(q, y, 300);
    const float d = scale_of(q);
    CHECK_NEAR(d, 40.0f / 127.0f, 1e-7);
    CHECK(((const int8_t *)q)[4 + 17] == -127);
    double worst = 0;
    for (int i = 0; i < 300; i++) worst = fmax(worst, fabs(x[i] - y[i]));
    CHECK_MSG(worst <= 0.5 * d * (1 + 1e-6), "round trip error %g > d/2 = %g", worst, 0.5 * d);
    for (int i = 0; i < 300; i++) x[i] = 0.0f; /* all zero: d = 0, levels 0 */
    presso_w8a8_from_float_ref(x, q, 300);
    presso_w8a8_to_float(q, y, 300);
    CHECK(scale_of(q) == 0.0f && y[0] == 0.0f && y[299] == 0.0f);
}

static void test_avx2_vs_ref(presso_rng *rng) {
    const presso_kernels *ref = presso_kernels_ref(), *avx2 = presso_kernels_avx2();
    if (!avx2) {
        printf("no AVX2: reference tier only\n");
        return;
    }
    CHECK(ref->w8a8_dot == presso_w8a8_dot_ref && avx2->w8a8_dot == presso_w8a8_dot_avx2);
    const int64_t lengths[] = {1, 7, 8, 31, 32, 33, 63, 100, 127, 128, 255, 257, 384, 1000, 4099};
    enum { MAX_N = 4099 };
    float *w = malloc(sizeof(float) * MAX_N), *x = malloc(sizeof(float) * MAX_N);
    uint8_t *wq = malloc(MAX_N + 8), *xr = malloc(MAX_N + 8), *xa = malloc(MAX_N + 8);
    int act_diff = 0, dot_diff = 0, cases = 0;
    double worst_f = 0;
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
        const int64_t n = lengths[li];
        for (int trial = 0; trial < 6; trial++) {
            fill(rng, w, n, trial == 4 ? 1e4f : 1.0f);
            fill(rng, x, n, trial == 5 ? 1e-3f : 1.0f);
            if (trial == 2) x[n / 2] = 80.0f;           /* an outlier token channel */
            if (trial == 3) for (int64_t i = 0; i < n; i += 2) x[i] = (float)(i % 7) * 0.5f; /* exact .5 ties */
            uint8_t *wrow = wq + (trial & 1); /* misaligned rows, as inside a mapped GGUF */
            presso_w8a8_from_float_ref(w, wrow, n);
            ref->w8a8_quantize_act(x, xr + 1, n);
            avx2->w8a8_quantize_act(x, xa + 1, n);
            act_diff += memcmp(xr + 1, xa + 1, (size_t)(n + 4)) != 0;
            const float dr = ref->w8a8_dot(wrow, xr + 1, n), da = avx2->w8a8_dot(wrow, xr + 1, n);
            dot_diff += memcmp(&dr, &da, sizeof dr) != 0;
            const double fr = ref->vec_dot[PRESSO_TYPE_W8A8](wrow, x, n), fa = avx2->vec_dot[PRESSO_TYPE_W8A8](wrow, x, n);
            double mag = 0;
            presso_w8a8_to_float(wrow, w, n);
            for (int64_t i = 0; i < n; i++) mag += fabs((double)w[i] * x[i]);
            worst_f = fmax(worst_f, fabs(fr - fa) / (mag > 0 ? mag : 1));
            cases++;
        }
    }
    printf("w8a8: %d cases: activation bytes differ %d, int8 dots differ %d, float dot avx2 vs ref %.2e\n", cases,
           act_diff, dot_diff, worst_f);
    CHECK(act_diff == 0 && dot_diff == 0 && worst_f < 1e-6);
    /* extreme levels: all ±127 over 4099 elements, sums near 2^26: still exact in int32 */
    for (int64_t i = 0; i < MAX_N; i++) w[i] = (i % 3) ? 1.0f : -1.0f, x[i] = (i % 5) ? -2.0f : 2.0f;
    presso_w8a8_from_float_ref(w, wq, MAX_N);
    ref->w8a8_quantize_act(x, xr, MAX_N);
    const float r = ref->w8a8_dot(wq, xr, MAX_N), a = avx2->w8a8_dot(wq, xr, MAX_N);
    CHECK(r == a);
    free(w), free(x), free(wq), free(xr), free(xa);
}

/* presso_matmul on a W8A8 tensor = d_w d_x Σ q_w q_x per row and token, on
 * both tiers, decode (1 row) and prefill (5 rows) alike. */
static void test_matmul(presso_rng *rng) {
    const int64_t in = 100, out = 37, n = 5;
    const int64_t rb = presso_row_bytes(PRESSO_TYPE_W8A8, in);
    float *wm = malloc(sizeof(float) * in * out), *xm = malloc(sizeof(float) * in * n);
    float *y = malloc(sizeof(float) * out * n), *y1 = malloc(sizeof(float) * out);
    float *scratch = malloc(sizeof(float) * (size_t)presso_matmul_scratch_floats(in, n, 2));
    uint8_t *wq = malloc((size_t)(rb * out)), *xq = malloc((size_t)rb);
    float *wd = malloc(sizeof(float) * in), *xd = malloc(sizeof(float) * in);
    fill(rng, wm, in * out, 0.3f);
    fill(rng, xm, in * n, 1.0f);
    for (int64_t r = 0; r < out; r++) presso_w8a8_from_float_ref(wm + r * in, wq + r * rb, in);
    presso_tensor t = {.type = PRESSO_TYPE_W8A8, .n_dims = 2, .ne = {in, out, 1, 1}, .data = wq};
    const char *tiers[] = {"ref", "avx2"};
    for (int ti = 0; ti < 2; ti++) {
        if (presso_kernels_select(tiers[ti]) != PRESSO_OK) continue;
        presso_matmul(&t, xm, n, y, scratch, 2);
        double worst = 0, worst_row = 0;
        for (int64_t tok = 0; tok < n; tok++) {
            presso_w8a8_quantize_act_ref(xm + tok * in, xq, in);
            presso_w8a8_to_float(xq, xd, in);
            presso_matmul(&t, xm + tok * in, 1, y1, scratch, 1);
            for (int64_t r = 0; r < out; r++) {
                presso_w8a8_to_float(wq + r * rb, wd, in);
                double exact = 0, mag = 0;
                for (int64_t i = 0; i < in; i++) exact += (double)wd[i] * xd[i], mag += fabs((double)wd[i] * xd[i]);
                worst = fmax(worst, fabs(y[tok * out + r] - exact) / mag);
                worst_row = fmax(worst_row, fabs(y1[r] - y[tok * out + r]));
            }
        }
        printf("w8a8 matmul (%s): vs double %.2e, 1-row vs 5-row %.2e\n", tiers[ti], worst, worst_row);
        CHECK(worst < 1e-6 && worst_row == 0.0);
    }
    presso_kernels_select("auto");
    free(wm), free(xm), free(y), free(y1), free(scratch), free(wq), free(xq), free(wd), free(xd);
}

int main(void) {
    presso_rng rng;
    presso_rng_seed(&rng, 11);
    test_traits();
    test_roundtrip(&rng);
    test_avx2_vs_ref(&rng);
    test_matmul(&rng);
    return presso_test_finish();
}
