/* Every SIMD kernel against its _ref oracle, on odd shapes (lengths that are
 * no multiple of the SIMD width, or of 32 like stories260K's 172), and the
 * matmul's sgemm path against its row-by-row path. */
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "harness.h"
#include "tensor/kernels.h"
#include "tensor/matmul.h"
#include "tensor/types.h"

static void fill(presso_rng *rng, float *x, int64_t n, float scale) {
    for (int64_t i = 0; i < n; i++) x[i] = scale * presso_rng_normal(rng);
}

/* |a - b| relative to sum |w_i x_i|, the natural scale of a dot's rounding. */
static double dot_error(presso_vec_dot_fn f, presso_vec_dot_fn ref, presso_type type, const void *row,
                        const float *x, const float *w_float, int64_t n) {
    double scale = 0;
    for (int64_t i = 0; i < n; i++) scale += fabs((double)w_float[i] * x[i]);
    (void)type;
    return fabs((double)f(row, x, n) - (double)ref(row, x, n)) / (scale > 0 ? scale : 1);
}

int main(void) {
    const presso_kernels *ref = presso_kernels_ref(), *avx2 = presso_kernels_avx2();
    if (!avx2) printf("this CPU lacks AVX2: only the reference tier is checked\n");
    presso_rng rng;
    presso_rng_seed(&rng, 7);
    enum { MAX_N = 4096 };
    float *x = malloc(sizeof(float) * MAX_N), *y = malloc(sizeof(float) * MAX_N), *w = malloc(sizeof(float) * MAX_N);
    uint8_t *row = malloc(MAX_N * 4);
    const int64_t lengths[] = {1, 7, 8, 9, 31, 32, 33, 64, 172, 255, 256, 257, 1000, 2048, 4096};
    for (int type = 0; type < PRESSO_TYPE_COUNT; type++) {
        const presso_type_traits *t = presso_type_traits_of(type);
        if (!t || !ref->vec_dot[type]) continue;
        double worst_ref = 0, worst_simd = 0;
        int cases = 0;
        for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
            const int64_t n = lengths[li];
            if (n % t->block_size != 0) continue;
            for (int trial = 0; trial < 4; trial++) {
                const float scale = trial == 3 ? 1e4f : 1.0f;
                fill(&rng, w, n, scale);
                fill(&rng, x, n, 1.0f);
                t->from_float_ref(w, row, n);
                t->to_float(row, w, n); /* the values the row really holds */
                /* The reference dot equals a float dot of the dequantized row, in order. */
                double exact = 0, scale_sum = 0;
                for (int64_t i = 0; i < n; i++) {
                    exact += (double)w[i] * x[i];
                    scale_sum += fabs((double)w[i] * x[i]);
                }
                double e = fabs(ref->vec_dot[type](row, x, n) - exact) / (scale_sum > 0 ? scale_sum : 1);
                if (e > worst_ref) worst_ref = e;
                if (avx2 && avx2->vec_dot[type]) {
                    double s = dot_error(avx2->vec_dot[type], ref->vec_dot[type], (presso_type)type, row, x, w, n);
                    if (s > worst_simd) worst_simd = s;
                }
                cases++;
            }
        }
        CHECK_MSG(cases > 0, "%s: no length tested", t->name);
        CHECK_MSG(worst_ref < 1e-5, "%s ref dot: relative error %g vs double", t->name, worst_ref);
        CHECK_MSG(worst_simd < 1e-5, "%s avx2 dot: relative error %g vs ref", t->name, worst_simd);
        printf("%-5s %2d cases: ref vs double %.2e, avx2 vs ref %.2e\n", t->name, cases, worst_ref, worst_simd);
    }
    /* dot_f32 and axpy_f32. */
    if (avx2) {
        for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
            const int64_t n = lengths[li];
            fill(&rng, x, n, 1.0f);
            fill(&rng, w, n, 1.0f);
            double scale = 0;
            for (int64_t i = 0; i < n; i++) scale += fabs((double)x[i] * w[i]);
            CHECK(fabs(avx2->dot_f32(x, w, n) - ref->dot_f32(x, w, n)) <= 1e-5 * scale);
            memcpy(y, w, sizeof(float) * (size_t)n);
            avx2->axpy_f32(0.75f, x, y, n);
            int bad = 0;
            for (int64_t i = 0; i < n; i++)
                if (fabsf(y[i] - (w[i] + 0.75f * x[i])) > 1e-5f * (1 + fabsf(y[i]))) bad++;
            CHECK_MSG(bad == 0, "axpy n=%lld: %d wrong", (long long)n, bad);
        }
    }
    /* matmul: sgemm panels (n >= 4) against row dots (n = 1), for every type,
     * with more rows than a panel and a ragged last panel. */
    const int64_t in = 96, out = 300, n_tok = 5;
    float *wm = malloc(sizeof(float) * in * out), *xm = malloc(sizeof(float) * in * n_tok);
    float *y_gemm = malloc(sizeof(float) * out * n_tok), *y_row = malloc(sizeof(float) * out);
    float *scratch = malloc(sizeof(float) * (size_t)presso_matmul_scratch_floats(in, 2));
    uint8_t *wq = malloc((size_t)in * out * 4);
    fill(&rng, wm, in * out, 0.5f);
    fill(&rng, xm, in * n_tok, 1.0f);
    for (int type = 0; type < PRESSO_TYPE_COUNT; type++) {
        const presso_type_traits *t = presso_type_traits_of(type);
        if (!t || !ref->vec_dot[type] || in % t->block_size != 0) continue;
        for (int64_t r = 0; r < out; r++) t->from_float_ref(wm + r * in, wq + (size_t)r * (size_t)presso_row_bytes(type, in), in);
        presso_tensor tensor = {.type = (presso_type)type, .n_dims = 2, .ne = {in, out, 1, 1}, .data = wq};
        presso_matmul(&tensor, xm, n_tok, y_gemm, scratch, 2);
        double worst = 0;
        for (int64_t tok = 0; tok < n_tok; tok++) {
            presso_matmul(&tensor, xm + tok * in, 1, y_row, scratch, 1);
            for (int64_t r = 0; r < out; r++) {
                double d = fabs((double)y_row[r] - y_gemm[tok * out + r]);
                if (d > worst) worst = d;
            }
        }
        CHECK_MSG(worst < 1e-4, "%s matmul: sgemm vs row dots differ by %g", t->name, worst);
    }
    /* Selecting tiers by name. */
    CHECK_OK(presso_kernels_select("ref"));
    CHECK(strcmp(presso_kernels_active()->name, "ref") == 0);
    CHECK(presso_kernels_select("sse9") == PRESSO_ERR_INVALID_ARG);
    CHECK_OK(presso_kernels_select("auto"));
    free(x), free(y), free(w), free(row), free(wm), free(xm), free(y_gemm), free(y_row), free(scratch), free(wq);
    return presso_test_finish();
}
