/* The 2:4 sparse types (src/tensor/sparse*.c, model_sparse.c): encode /
 * decode round trips, refusal of rows that break the pattern, the AVX2
 * kernels against _ref on odd lengths, matmul against the dense decoded
 * weights, magnitude 2:4, and a sparse model (in memory and through a GGUF
 * file) against the dense pruned model it came from. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress/magnitude_nm.h"
#include "core/rng.h"
#include "harness.h"
#include "model/llama.h"
#include "model/model_save.h"
#include "model/model_sparse.h"
#include "tensor/kernels.h"
#include "tensor/matmul.h"
#include "tensor/quants.h"
#include "tensor/sparse.h"
#include "tensor/types.h"

#define MODEL PRESSO_SHARED_DIR "/models/tinystories-656k"

/* A random 2:4 row: per group 0, 1 or 2 non-zeros (mostly 2), values that
 * f16 holds exactly (so the s24_f16 round trip is bit-exact). */
static void random_24_row(presso_rng *rng, float *x, int64_t n) {
    for (int64_t g = 0; g < n; g += 4) {
        for (int j = 0; j < 4; j++) x[g + j] = 0.0f;
        const uint32_t r = presso_rng_u32(rng);
        const int nnz = (r & 7) == 0 ? 0 : (r & 7) == 1 ? 1 : 2;
        int a = (int)((r >> 3) % 4), b = (int)((r >> 5) % 3);
        if (b >= a) b++;
        if (nnz >= 1) x[g + a] = presso_f16_to_f32(presso_f32_to_f16(presso_rng_normal(rng)));
        if (nnz == 2) x[g + b] = presso_f16_to_f32(presso_f32_to_f16(presso_rng_normal(rng)));
    }
}

static void test_round_trip(presso_rng *rng) {
    const int64_t lens[] = {32, 64, 96, 160, 192, 352, 448, 2080, 2112};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        const int64_t n = lens[li];
        const bool q4_fits = n % PRESSO_QK_S24_Q4 == 0;
        float *x = malloc(sizeof(float) * (size_t)n), *back = malloc(sizeof(float) * (size_t)n);
        uint8_t *f16 = malloc((size_t)presso_row_bytes(PRESSO_TYPE_S24_F16, n));
        uint8_t *q4 = malloc(q4_fits ? (size_t)presso_row_bytes(PRESSO_TYPE_S24_Q4, n) : 1);
        random_24_row(rng, x, n);
        CHECK_OK(presso_s24_encode_row(PRESSO_TYPE_S24_F16, x, f16, n, NULL));
        presso_type_traits_of(PRESSO_TYPE_S24_F16)->to_float(f16, back, n);
        CHECK_MSG(memcmp(x, back, sizeof(float) * (size_t)n) == 0, "s24_f16 round trip, n %lld", (long long)n);
        CHECK(presso_row_bytes(PRESSO_TYPE_S24_F16, n) == n / 32 * 36);
        if (!q4_fits) {
            /* s24_q4 blocks are 64 columns: other widths are refused */
            CHECK(presso_s24_encode_row(PRESSO_TYPE_S24_Q4, x, q4, n, NULL) == PRESSO_ERR_SHAPE);
            free(x);
            free(back);
            free(f16);
            free(q4);
            continue;
        }
        /* s24_q4: zeros stay zeros, kept values within a step of their half's scale */
        CHECK_OK(presso_s24_encode_row(PRESSO_TYPE_S24_Q4, x, q4, n, NULL));
        presso_type_traits_of(PRESSO_TYPE_S24_Q4)->to_float(q4, back, n);
        bool zeros = true, close = true;
        for (int64_t b = 0; b < n; b += 32) {
            float amax = 0.0f;
            for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[b + j]));
            for (int j = 0; j < 32; j++) {
                zeros &= x[b + j] != 0.0f || back[b + j] == 0.0f;
                close &= fabsf(back[b + j] - x[b + j]) <= amax / 8.0f * 1.02f + 1e-6f; /* one step at the clamped end */
            }
        }
        CHECK_MSG(zeros && close, "s24_q4 round trip, n %lld", (long long)n);
        CHECK(presso_row_bytes(PRESSO_TYPE_S24_Q4, n) == n / 64 * 28); /* 3.5 bits per weight */
        free(x);
        free(back);
        free(f16);
        free(q4);
    }
    /* A hand-made block: group 0 keeps columns 1 and 3, group 7 only column 30. */
    float x[32] = {0};
    x[1] = 1.5f;
    x[3] = -2.0f;
    x[30] = 0.25f;
    presso_block_s24_f16 b;
    CHECK_OK(presso_s24_encode_row(PRESSO_TYPE_S24_F16, x, &b, 32, NULL));
    CHECK(presso_s24_pos(b.idx, 0) == 1 && presso_s24_pos(b.idx, 1) == 3 && presso_f16_to_f32(b.v[1]) == -2.0f);
    CHECK(presso_s24_pos(b.idx, 14) == 0 && presso_s24_pos(b.idx, 15) == 2 && presso_f16_to_f32(b.v[15]) == 0.25f);
    /* Three non-zeros in columns 8..11 are refused, naming column 8. */
    x[8] = x[9] = x[11] = 1.0f;
    int64_t bad = -1;
    CHECK(presso_s24_encode_row(PRESSO_TYPE_S24_F16, x, &b, 32, &bad) == PRESSO_ERR_INVALID_ARG && bad == 8);
    CHECK(presso_s24_encode_row(PRESSO_TYPE_S24_F16, x, &b, 31, &bad) == PRESSO_ERR_SHAPE);
    /* The type ids are far above ggml's, and named. */
    presso_type t;
    CHECK_OK(presso_type_from_name("s24_q4", &t));
    CHECK(t == PRESSO_TYPE_S24_Q4 && PRESSO_TYPE_S24_F16 == 1100 && presso_type_traits_of(1102) == NULL);
}

static void test_kernels(presso_rng *rng) {
    const presso_sparse_kernels *ref = presso_sparse_kernels_ref();
    const presso_kernels *dense_avx2 = presso_kernels_avx2();
    const presso_sparse_kernels *fast = dense_avx2 ? presso_sparse_kernels_avx2_table() : NULL;
    if (!fast) fprintf(stderr, "note: no AVX2; only _ref checked\n");
    /* s24_f16 rows are multiples of 32, s24_q4 rows of 64 */
    const int64_t lens[] = {32, 64, 96, 128, 160, 192, 448, 2080, 2112, 5632};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        const int64_t n = lens[li];
        const bool q4 = n % PRESSO_QK_S24_Q4 == 0;
        float *w = malloc(sizeof(float) * (size_t)n), *x = malloc(sizeof(float) * (size_t)n);
        float *wq = malloc(sizeof(float) * (size_t)n);
        uint8_t *f16 = malloc((size_t)presso_row_bytes(PRESSO_TYPE_S24_F16, n));
        uint8_t *wq4 = malloc((size_t)n);
        uint8_t *xq = malloc((size_t)presso_row_bytes(PRESSO_TYPE_Q8_0, n));
        float *xd = malloc(sizeof(float) * (size_t)n);
        random_24_row(rng, w, n);
        for (int64_t i = 0; i < n; i++) x[i] = presso_rng_normal(rng);
        CHECK_OK(presso_s24_encode_row(PRESSO_TYPE_S24_F16, w, f16, n, NULL));
        if (q4) CHECK_OK(presso_s24_encode_row(PRESSO_TYPE_S24_Q4, w, wq4, n, NULL));
        if (q4) presso_dequantize_s24_q4(wq4, wq, n);
        else memset(wq, 0, sizeof(float) * (size_t)n);
        presso_quantize_q8_0_ref(x, xq, n);
        presso_dequantize_q8_0(xq, xd, n);
        double exact_f = 0, exact_q = 0, scale_f = 0, scale_q = 0;
        for (int64_t i = 0; i < n; i++) {
            exact_f += (double)w[i] * x[i];
            scale_f += fabs((double)w[i] * x[i]);
            exact_q += (double)wq[i] * xd[i];
            scale_q += fabs((double)wq[i] * xd[i]);
        }
        /* _ref against the dense double-precision dot of the decoded weights */
        CHECK_MSG(fabs(ref->vec_dot_s24_f16(f16, x, n) - exact_f) <= 1e-5 * scale_f, "ref s24_f16 n %lld", (long long)n);
        if (q4) CHECK_MSG(fabs(ref->vec_dot_s24_q4(wq4, xq, n) - exact_q) <= 1e-5 * scale_q, "ref s24_q4 n %lld", (long long)n);
        if (fast) {
            const double df = fabs((double)fast->vec_dot_s24_f16(f16, x, n) - ref->vec_dot_s24_f16(f16, x, n));
            CHECK_MSG(df <= 1e-5 * scale_f, "avx2 s24_f16 n %lld: %g", (long long)n, df);
            if (q4) {
                const double dq = fabs((double)fast->vec_dot_s24_q4(wq4, xq, n) - ref->vec_dot_s24_q4(wq4, xq, n));
                CHECK_MSG(dq <= 1e-5 * scale_q, "avx2 s24_q4 n %lld: %g", (long long)n, dq);
            }
        }
        free(w);
        free(x);
        free(wq);
        free(f16);
        free(wq4);
        free(xq);
        free(xd);
    }
}

/* presso_matmul on a sparse W against the same W decoded to F32, decode
 * (n = 1, rows path) and prefill (n = 7: sgemm for s24_f16, integer rows
 * for s24_q4). */
static void test_matmul(presso_rng *rng) {
    const int64_t in = 448, out = 37, nmax = 7;
    float *w = malloc(sizeof(float) * (size_t)(in * out)), *wd = malloc(sizeof(float) * (size_t)(in * out));
    float *x = malloc(sizeof(float) * (size_t)(in * nmax));
    float *y = malloc(sizeof(float) * (size_t)(out * nmax)), *yd = malloc(sizeof(float) * (size_t)(out * nmax));
    float *scratch = malloc(sizeof(float) * (size_t)presso_matmul_scratch_floats(in, nmax, 2));
    for (int64_t r = 0; r < out; r++) random_24_row(rng, w + r * in, in);
    for (int64_t i = 0; i < in * nmax; i++) x[i] = presso_rng_normal(rng);
    const presso_type types[2] = {PRESSO_TYPE_S24_F16, PRESSO_TYPE_S24_Q4};
    for (int ti = 0; ti < 2; ti++) {
        const int64_t rb = presso_row_bytes(types[ti], in);
        uint8_t *enc = malloc((size_t)(rb * out));
        for (int64_t r = 0; r < out; r++) CHECK_OK(presso_s24_encode_row(types[ti], w + r * in, enc + r * rb, in, NULL));
        for (int64_t r = 0; r < out; r++) presso_type_traits_of(types[ti])->to_float(enc + r * rb, wd + r * in, in);
        presso_tensor ts = {.type = types[ti], .n_dims = 2, .ne = {in, out, 1, 1}, .data = enc, .nbytes = (size_t)(rb * out)};
        presso_tensor td = {.type = PRESSO_TYPE_F32, .n_dims = 2, .ne = {in, out, 1, 1}, .data = wd,
                            .nbytes = sizeof(float) * (size_t)(in * out)};
        const int64_t ns[2] = {1, nmax};
        for (int k = 0; k < 2; k++) {
            presso_matmul(&ts, x, ns[k], y, scratch, 2);
            /* the dense reference sees the activations the sparse path sees */
            presso_matmul(&td, x, ns[k], yd, NULL, 2);
            double err = 0, mag = 0;
            for (int64_t i = 0; i < ns[k] * out; i++) {
                err = fmax(err, fabs((double)y[i] - yd[i]));
                mag = fmax(mag, fabs((double)yd[i]));
            }
            /* s24_q4 rounds activations to Q8_0 (0.4% per block at most) */
            const double tol = types[ti] == PRESSO_TYPE_S24_Q4 ? 2e-2 * mag : 1e-5 * mag;
            CHECK_MSG(err <= tol, "%s matmul n %lld: err %g (scale %g)", presso_type_name(types[ti]), (long long)ns[k],
                      err, mag);
        }
        free(enc);
    }
    free(w);
    free(wd);
    free(x);
    free(y);
    free(yd);
    free(scratch);
}

static float *logits_of(const presso_model *m, const int32_t *toks, int32_t n) {
    presso_llama_state *s = NULL;
    float *out = malloc(sizeof(float) * (size_t)n * (size_t)m->config.vocab_size);
    if (presso_llama_state_new(m, 64, n, 2, &s) != PRESSO_OK || !out) {
        free(out);
        presso_llama_state_free(s);
        return NULL;
    }
    /* one token at a time: the decode path, where the sparse kernels run */
    for (int32_t t = 0; t < n && out; t++)
        if (presso_llama_forward(s, toks + t, 1, out + (int64_t)t * m->config.vocab_size, 0) != PRESSO_OK) {
            free(out);
            out = NULL;
        }
    presso_llama_state_free(s);
    return out;
}

static void test_model(void) {
    presso_model *dense = NULL, *sparse = NULL;
    if (presso_model_open(MODEL, NULL, &dense) != PRESSO_OK) {
        fprintf(stderr, "note: %s missing; model checks skipped\n", MODEL);
        return;
    }
    /* Not pruned: refused, naming the tensor. */
    CHECK(presso_model_to_s24(dense, PRESSO_TYPE_S24_F16, NULL, NULL) == PRESSO_ERR_INVALID_ARG &&
          strstr(presso_last_error(), dense->layers[0].wq.name) != NULL &&
          strstr(presso_last_error(), "not 2:4 sparse") != NULL);
    presso_model_free(dense);
    CHECK_OK(presso_model_open(MODEL, NULL, &dense));
    CHECK_OK(presso_model_open(MODEL, NULL, &sparse));
    CHECK_OK(presso_prune_magnitude_nm(dense, 2, 4));
    CHECK_OK(presso_prune_magnitude_nm(sparse, 2, 4));
    /* magnitude 2:4 is exact: 2 zeros in every group of 4 (weights are non-zero) */
    const presso_tensor *up = &dense->layers[1].w_up;
    const float *u = up->data;
    int64_t bad_groups = 0;
    for (int64_t g = 0; g < presso_tensor_nelements(up); g += 4)
        bad_groups += (u[g] == 0) + (u[g + 1] == 0) + (u[g + 2] == 0) + (u[g + 3] == 0) != 2;
    CHECK(bad_groups == 0);
    /* dense pruned: the weights rounded to f16, as s24_f16 holds them */
    for (int32_t l = 0; l < dense->config.n_layers; l++) {
        presso_llama_layer *L = &dense->layers[l];
        presso_tensor *ts[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int i = 0; i < 7; i++) {
            float *p = (float *)(uintptr_t)ts[i]->data; /* owned by the pruner */
            for (int64_t j = 0; j < presso_tensor_nelements(ts[i]); j++) p[j] = presso_f16_to_f32(presso_f32_to_f16(p[j]));
        }
    }
    int64_t before = 0, after = 0;
    CHECK_OK(presso_model_to_s24(sparse, PRESSO_TYPE_S24_F16, &before, &after));
    CHECK(before == 4 * 393216 && after == 393216 / 32 * 36); /* f32 → 9 bits per weight */
    CHECK(sparse->layers[0].w_down.type == PRESSO_TYPE_S24_F16);
    const int32_t toks[] = {1, 400, 57, 312, 9, 1021, 33, 700, 5, 18};
    const int32_t n = (int32_t)(sizeof toks / sizeof toks[0]);
    const int64_t V = dense->config.vocab_size;
    float *ld = logits_of(dense, toks, n), *ls = logits_of(sparse, toks, n);
    double diff = 0;
    for (int64_t i = 0; ld && ls && i < n * V; i++) diff = fmax(diff, fabs((double)ld[i] - ls[i]));
    CHECK_MSG(ld && ls && diff < 1e-4, "sparse vs dense pruned logits: max diff %g", diff);

    /* Through a GGUF file: same logits, bit for bit (the same kernels). */
    char path[512];
    snprintf(path, sizeof path, "%s/test_sparse.gguf", PRESSO_BINARY_DIR);
    presso_save_params sp = {.type = PRESSO_TYPE_F16, .keep_sparse = true};
    CHECK_OK(presso_model_save_gguf(sparse, path, &sp));
    presso_model *back = NULL;
    CHECK_OK(presso_model_open(path, NULL, &back));
    if (back) {
        CHECK(back->layers[1].w_gate.type == PRESSO_TYPE_S24_F16 && back->token_embd.type == PRESSO_TYPE_F16);
        CHECK(back->layers[1].w_gate.nbytes == (size_t)(384 * 128 / 32 * 36));
        float *lb = logits_of(back, toks, n);
        /* token_embd went to f16 in the file: compare with the in-memory model at f16 embeddings */
        double d2 = 0;
        for (int64_t i = 0; lb && ls && i < n * V; i++) d2 = fmax(d2, fabs((double)lb[i] - ls[i]));
        CHECK_MSG(lb && d2 < 5e-3, "file vs memory: %g", d2);
        free(lb);
        presso_model_free(back);
    }
    remove(path);
    free(ld);
    free(ls);
    presso_model_free(dense);
    presso_model_free(sparse);
}

int main(void) {
    presso_rng rng;
    presso_rng_seed(&rng, 24);
    test_round_trip(&rng);
    test_kernels(&rng);
    test_matmul(&rng);
    test_model();
    return presso_test_finish();
}
