/* The repacked layouts and their kernels (tensor/repack.h): pack -> unpack
 * gives the file's bytes back; the AVX2 and AVX512-VNNI kernels equal
 * gemm_packed_ref.c bit for bit; both equal the row-major integer dot (vec_dot_q ref) exactly
 * where every float step is exact (unit scales) and within float rounding
 * otherwise; presso_matmul on a repacked tensor gives the same bits for any
 * activation-row count and thread count; a repacked model's perplexity
 * equals the row-major one's within rounding. */
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "harness.h"
#include "model/llama.h"
#include "model/model.h"
#include "tensor/kernels.h"
#include "tensor/matmul.h"
#include "tensor/repack.h"
#include "tensor/types.h"

static const presso_type packed_types[] = {PRESSO_TYPE_Q4_0, PRESSO_TYPE_Q4_1, PRESSO_TYPE_Q5_0, PRESSO_TYPE_Q5_1,
                                           PRESSO_TYPE_Q8_0, PRESSO_TYPE_Q4_K, PRESSO_TYPE_Q6_K};

static void fill(presso_rng *rng, float *x, int64_t n, float scale) {
    for (int64_t i = 0; i < n; i++) x[i] = scale * presso_rng_normal(rng);
}

/* Random rows of TYPE quantized from gaussian weights (with an outlier per
 * row, as real weights have). */
static uint8_t *random_rows(presso_rng *rng, presso_type type, int64_t rows, int64_t cols) {
    const presso_type_traits *t = presso_type_traits_of(type);
    const size_t rb = (size_t)presso_row_bytes(type, cols);
    uint8_t *q = malloc(rb * (size_t)rows);
    float *w = malloc(sizeof(float) * (size_t)cols);
    for (int64_t r = 0; r < rows; r++) {
        fill(rng, w, cols, 0.05f);
        w[(r * 7) % cols] = 0.8f;
        t->from_float_ref(w, q + (size_t)r * rb, cols);
    }
    free(w);
    return q;
}

/* Every block scale 1 (d, and Q4_K's dmin; sub-block scales and mins left
 * as quantized): each float step of every kernel is then exact. */
static void unit_scales(presso_type type, uint8_t *q, int64_t rows, int64_t cols) {
    const size_t rb = (size_t)presso_row_bytes(type, cols);
    const presso_f16 one = presso_f32_to_f16(1.0f);
    for (int64_t r = 0; r < rows; r++) {
        if (type == PRESSO_TYPE_Q4_0)
            for (int64_t b = 0; b < cols / 32; b++) ((presso_block_q4_0 *)(void *)(q + (size_t)r * rb))[b].d = one;
        else if (type == PRESSO_TYPE_Q8_0)
            for (int64_t b = 0; b < cols / 32; b++) ((presso_block_q8_0 *)(void *)(q + (size_t)r * rb))[b].d = one;
        else if (type == PRESSO_TYPE_Q5_0)
            for (int64_t b = 0; b < cols / 32; b++) ((presso_block_q5_0 *)(void *)(q + (size_t)r * rb))[b].d = one;
        else if (type == PRESSO_TYPE_Q4_1)
            for (int64_t b = 0; b < cols / 32; b++) {
                presso_block_q4_1 *k = (presso_block_q4_1 *)(void *)(q + (size_t)r * rb) + b;
                k->d = one, k->m = one;
            }
        else if (type == PRESSO_TYPE_Q5_1)
            for (int64_t b = 0; b < cols / 32; b++) {
                presso_block_q5_1 *k = (presso_block_q5_1 *)(void *)(q + (size_t)r * rb) + b;
                k->d = one, k->m = one;
            }
        else if (type == PRESSO_TYPE_Q6_K)
            for (int64_t b = 0; b < cols / 256; b++) ((presso_block_q6_K *)(void *)(q + (size_t)r * rb))[b].d = one;
        else
            for (int64_t b = 0; b < cols / 256; b++) {
                presso_block_q4_K *k = (presso_block_q4_K *)(void *)(q + (size_t)r * rb) + b;
                k->d = one, k->dmin = one;
            }
    }
}

static void test_round_trip(presso_rng *rng) {
    for (size_t ti = 0; ti < sizeof packed_types / sizeof packed_types[0]; ti++) {
        const presso_type type = packed_types[ti];
        const int64_t rows = 24, cols = presso_type_traits_of(type)->block_size == 256 ? 512 : 96;
        CHECK(presso_repack_supported(type, rows, cols));
        CHECK(!presso_repack_supported(type, rows + 4, cols));
        CHECK(!presso_repack_supported(type, rows, cols + 16));
        CHECK(!presso_repack_supported(PRESSO_TYPE_Q3_K, rows, 256));
        const size_t rb = (size_t)presso_row_bytes(type, cols);
        uint8_t *q = random_rows(rng, type, rows, cols);
        /* every level and scale value occurs: random bytes in the level runs too */
        const size_t bytes = (size_t)(rows / 8) * presso_repack_group_bytes(type, cols);
        CHECK(bytes == rb * (size_t)rows + (type == PRESSO_TYPE_Q4_K ? (size_t)(rows / 8) * (size_t)(cols / 256) * 32 : 0));
        uint8_t *p = malloc(bytes), *back = malloc(rb * (size_t)rows);
        presso_repack(type, q, rb, rows, cols, p);
        memset(back, 0xAB, rb * (size_t)rows);
        presso_unpack(type, p, rows, cols, back, rb);
        CHECK_MSG(memcmp(q, back, rb * (size_t)rows) == 0, "%s: unpack(repack(rows)) != rows",
                  presso_type_traits_of(type)->name);
        free(q), free(p), free(back);
    }
}

/* Kernels: avx2 == ref bit for bit; unit scales: == vec_dot_q ref exactly;
 * real scales: within 2e-6 of sum |terms|. */
static void test_kernels(presso_rng *rng) {
    const presso_kernels *ref = presso_kernels_ref(), *avx2 = presso_kernels_avx2(), *avx512 = presso_kernels_avx512();
    for (size_t ti = 0; ti < sizeof packed_types / sizeof packed_types[0]; ti++) {
        const presso_type type = packed_types[ti];
        const char *name = presso_type_traits_of(type)->name;
        const presso_type act = presso_vec_dot_type(type);
        const int64_t rows = 32, cols = presso_type_traits_of(type)->block_size == 256 ? 768 : 160, ncols = 7,
                      nb = cols / 32;
        const size_t rb = (size_t)presso_row_bytes(type, cols), ab = (size_t)presso_row_bytes(act, cols);
        uint8_t *xq = malloc(ab * ncols), *p = malloc((size_t)(rows / 8) * presso_repack_group_bytes(type, cols));
        int32_t *xsum = malloc(sizeof(int32_t) * (size_t)(nb * ncols));
        float *x = malloc(sizeof(float) * (size_t)(cols * ncols)), *y_ref = malloc(sizeof(float) * rows * ncols),
              *y_simd = malloc(sizeof(float) * rows * ncols);
        int simd_differ = 0, vnni_differ = 0, exact_differ = 0;
        double worst = 0;
        for (int unit = 0; unit < 2; unit++) {
            uint8_t *q = random_rows(rng, type, rows, cols);
            if (unit) unit_scales(type, q, rows, cols);
            fill(rng, x, cols * ncols, 1.0f);
            x[3] = 40.0f; /* an activation outlier: levels up to +-127 */
            for (int64_t c = 0; c < ncols; c++) {
                ref->quantize_act[act](x + c * cols, xq + (size_t)c * ab, cols);
                if (unit && act == PRESSO_TYPE_Q8_0)
                    for (int64_t b = 0; b < nb; b++)
                        ((presso_block_q8_0 *)(void *)(xq + (size_t)c * ab))[b].d = presso_f32_to_f16(1.0f);
                if (unit && act == PRESSO_TYPE_Q8_1)
                    for (int64_t b = 0; b < nb; b++) { /* d 1 and s = sum of the levels (exact in f16) */
                        presso_block_q8_1 *a = (presso_block_q8_1 *)(void *)(xq + (size_t)c * ab) + b;
                        int sum = 0;
                        for (int j = 0; j < 32; j++) sum += a->qs[j];
                        a->d = presso_f32_to_f16(1.0f), a->s = presso_f32_to_f16((float)sum);
                    }
                if (unit && act == PRESSO_TYPE_Q8_K)
                    for (int64_t b = 0; b < cols / 256; b++) ((presso_block_q8_K *)(void *)(xq + (size_t)c * ab))[b].d = 1.0f;
                presso_block_sums_q8_0(xq + (size_t)c * ab, nb, xsum + c * nb); /* read by Q4_0 only */
            }
            presso_repack(type, q, rb, rows, cols, p);
            ref->gemm_packed[type](p, xq, ab, xsum, cols, y_ref, rows, rows, ncols);
            if (avx2) {
                avx2->gemm_packed[type](p, xq, ab, xsum, cols, y_simd, rows, rows, ncols);
                simd_differ += memcmp(y_ref, y_simd, sizeof(float) * rows * ncols) != 0;
                /* one column at a time (decode) gives the same bits */
                for (int64_t c = 0; c < ncols; c++) {
                    float one[32];
                    avx2->gemm_packed[type](p, xq + (size_t)c * ab, ab, xsum + c * nb, cols, one, rows, rows, 1);
                    simd_differ += memcmp(one, y_ref + c * rows, sizeof(float) * rows) != 0;
                }
            }
            if (avx512) {
                avx512->gemm_packed[type](p, xq, ab, xsum, cols, y_simd, rows, rows, ncols);
                vnni_differ += memcmp(y_ref, y_simd, sizeof(float) * rows * ncols) != 0;
                for (int64_t c = 0; c < ncols; c++) {
                    float one[32];
                    avx512->gemm_packed[type](p, xq + (size_t)c * ab, ab, xsum + c * nb, cols, one, rows, rows, 1);
                    vnni_differ += memcmp(one, y_ref + c * rows, sizeof(float) * rows) != 0;
                }
            }
            for (int64_t c = 0; c < ncols; c++)
                for (int64_t r = 0; r < rows; r++) {
                    const float want = ref->vec_dot_q[type](q + (size_t)r * rb, xq + (size_t)c * ab, cols);
                    const float got = y_ref[c * rows + r];
                    if (unit) exact_differ += want != got;
                    else {
                        /* scale of the dot's rounding: sum |w x| of the dequantized row */
                        float wf[768];
                        presso_type_traits_of(type)->to_float(q + (size_t)r * rb, wf, cols);
                        double s = 0;
                        for (int64_t i = 0; i < cols; i++) s += fabs((double)wf[i] * x[c * cols + i]);
                        const double e = fabs((double)want - got) / (s > 0 ? s : 1);
                        if (e > worst) worst = e;
                    }
                }
            free(q);
        }
        CHECK_MSG(simd_differ == 0, "%s: avx2 repacked kernel differs from ref in %d calls", name, simd_differ);
        CHECK_MSG(vnni_differ == 0, "%s: avx512 repacked kernel differs from ref in %d calls", name, vnni_differ);
        CHECK_MSG(exact_differ == 0, "%s: repacked kernel on unit scales differs from vec_dot_q in %d", name,
                  exact_differ);
        CHECK_MSG(worst < 2e-6, "%s: repacked kernel vs vec_dot_q: %g of sum |w x|", name, worst);
        printf("%-5s repacked kernels: avx2 == ref bit for bit (%s), avx512 == ref (%s), unit scales == vec_dot_q "
               "exactly, real scales within %.2g of sum |w x|\n", name, avx2 ? "checked" : "no avx2",
               avx512 ? "checked" : "no avx512-vnni", worst);
        free(xq), free(p), free(xsum), free(x), free(y_ref), free(y_simd);
    }
}

/* presso_matmul on a repacked tensor: any activation-row count (decode,
 * prefill tiles, ragged tiles) and 1-2 threads give the same bits as the
 * kernel on one activation row, in both tiers. */
static void test_matmul(presso_rng *rng) {
    const char *tiers[] = {"ref", "avx2", "avx512"};
    for (size_t ti = 0; ti < sizeof packed_types / sizeof packed_types[0]; ti++) {
        const presso_type type = packed_types[ti];
        const int64_t rows = 200, cols = 512; /* 200: 3 row blocks of 64 and a ragged 8 */
        const size_t rb = (size_t)presso_row_bytes(type, cols);
        uint8_t *q = random_rows(rng, type, rows, cols);
        uint8_t *p = malloc((size_t)(rows / 8) * presso_repack_group_bytes(type, cols));
        presso_repack(type, q, rb, rows, cols, p);
        float *x = malloc(sizeof(float) * cols * 9), *y = malloc(sizeof(float) * rows * 9),
              *y1 = malloc(sizeof(float) * rows), *yr = malloc(sizeof(float) * rows * 9);
        float *scratch = malloc(sizeof(float) * (size_t)presso_matmul_scratch_floats(cols, 9, 2));
        fill(rng, x, cols * 9, 1.0f);
        presso_tensor plain = {.type = type, .n_dims = 2, .ne = {cols, rows, 1, 1}, .data = q};
        presso_tensor packed = plain;
        packed.packed = p;
        int differ = 0;
        double worst = 0;
        for (int tier = 0; tier < 3; tier++) {
            if (presso_kernels_select(tiers[tier]) != PRESSO_OK) continue;
            const int64_t ns[] = {1, 3, 4, 9};
            for (int threads = 1; threads <= 2; threads++)
                for (size_t ni = 0; ni < 4; ni++) {
                    presso_matmul(&packed, x, ns[ni], y, scratch, threads);
                    presso_matmul(&plain, x, ns[ni], yr, scratch, threads);
                    for (int64_t c = 0; c < ns[ni]; c++) {
                        presso_matmul(&packed, x + c * cols, 1, y1, scratch, 1);
                        differ += memcmp(y1, y + c * rows, sizeof(float) * rows) != 0;
                        double range = 0, diff = 0;
                        for (int64_t r = 0; r < rows; r++) {
                            range = fmax(range, fabs((double)yr[c * rows + r]));
                            diff = fmax(diff, fabs((double)y[c * rows + r] - yr[c * rows + r]));
                        }
                        if (diff / range > worst) worst = diff / range;
                    }
                }
        }
        presso_kernels_select("auto");
        CHECK_MSG(differ == 0, "%s: repacked matmul depends on the row count or threads (%d)",
                  presso_type_traits_of(type)->name, differ);
        CHECK_MSG(worst < 1e-5, "%s: repacked matmul vs row-major matmul: %g of the output range",
                  presso_type_traits_of(type)->name, worst);
        free(q), free(p), free(x), free(y), free(y1), free(yr), free(scratch);
    }
}

/* The whole model: stories260K as llama.cpp wrote it in Q4_0 (every linear
 * but ffn_down repacks), logits with and without the repack. */
static void test_model(void) {
    const char *path = "models/stories260K/gguf-by-llama.cpp/stories260K-q4_0.gguf";
    char full[4096];
    snprintf(full, sizeof full, "%s/%s", PRESSO_SHARED_DIR, path);
    presso_model *a = NULL, *b = NULL;
    if (presso_model_open(full, NULL, &a) != PRESSO_OK) {
        printf("skipped model check: %s not found\n", path);
        return;
    }
    CHECK_OK(presso_model_open(full, NULL, &b));
    presso_repack_stats st;
    CHECK_OK(presso_model_repack(b, &st));
    CHECK_MSG(st.tensors >= 20, "repacked only %lld tensors", (long long)st.tensors);
    CHECK(b->layers[0].wq.packed != NULL && a->layers[0].wq.packed == NULL);
    const int32_t T = 24;
    int32_t tokens[24];
    for (int i = 0; i < T; i++) tokens[i] = 1 + (i * 37) % 500;
    const int32_t vocab = a->config.vocab_size;
    float *la = malloc(sizeof(float) * (size_t)T * vocab), *lb = malloc(sizeof(float) * (size_t)T * vocab);
    presso_llama_state *sa = NULL, *sb = NULL;
    CHECK_OK(presso_llama_state_new(a, 64, T, 1, &sa));
    CHECK_OK(presso_llama_state_new(b, 64, T, 1, &sb));
    if (sa && sb) {
        CHECK_OK(presso_llama_forward(sa, tokens, T, la, 0));
        CHECK_OK(presso_llama_forward(sb, tokens, T, lb, 0));
        double worst = 0, range = 0;
        for (int64_t i = 0; i < (int64_t)T * vocab; i++) {
            const double d = fabs((double)la[i] - lb[i]);
            if (d > worst) worst = d;
            if (fabs(la[i]) > range) range = fabs(la[i]);
        }
        CHECK_MSG(worst < 1e-3 * range, "repacked model logits differ by %g (range %g)", worst, range);
        printf("stories260K q4_0: %lld tensors repacked (%lld bytes); logits vs row-major: max |diff| %.3g of %.3g\n",
               (long long)st.tensors, (long long)st.bytes, worst, range);
    }
    presso_llama_state_free(sa), presso_llama_state_free(sb);
    presso_model_free(a), presso_model_free(b);
    free(la), free(lb);
}

int main(void) {
    presso_rng rng;
    presso_rng_seed(&rng, 20261203);
    test_round_trip(&rng);
    test_kernels(&rng);
    test_matmul(&rng);
    test_model();
    return presso_test_finish();
}
