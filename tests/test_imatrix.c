#define _POSIX_C_SOURCE 200809L /* mkdtemp */
/* Importance matrices: the weighted quantizers lower the importance-weighted
 * error of real weights (tinystories-656k) against the reference
 * quantizers; both imatrix file formats load as llama-quantize reads them;
 * --imatrix-from-calib reaches every block linear; a tensor holding inf or
 * nan is refused by name. Bit-exactness against llama-quantize --imatrix is
 * tests/test_imatrix_py.sh (crosscheck). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compress/calib.h"
#include "compress/driver.h"
#include "compress/imatrix.h"
#include "compress/pass.h"
#include "core/rng.h"
#include "formats/gguf.h"
#include "harness.h"
#include "tensor/quants.h"
#include "tensor/types.h"

/* Σ_r Σ_j imat_j (w_rj − q_rj)² of one quantization of w [rows][cols]. */
static double weighted_error(presso_type type, const float *w, int64_t rows, int64_t cols, const float *imat,
                             bool weighted) {
    const presso_type_traits *t = presso_type_traits_of(type);
    const int64_t rb = presso_row_bytes(type, cols);
    uint8_t *blocks = malloc((size_t)rb);
    float *q = malloc(sizeof(float) * (size_t)cols);
    double err = 0.0;
    for (int64_t r = 0; r < rows; r++) {
        const float *x = w + r * cols;
        if (weighted) CHECK(presso_quantize_row_weighted(type, x, blocks, cols, imat));
        else t->from_float_ref(x, blocks, cols);
        t->to_float(blocks, q, cols);
        for (int64_t j = 0; j < cols; j++) err += (double)imat[j] * ((double)x[j] - q[j]) * ((double)x[j] - q[j]);
    }
    free(blocks);
    free(q);
    return err;
}

static void test_weighted_error(void) {
    presso_model *m = NULL;
    CHECK_OK(presso_model_open(presso_test_shared("models/tinystories-656k"), NULL, &m));
    if (!m) return;
    /* Real weights: token_embd (2048 x 128) seen as 1024 rows of 256 so the
     * K-quants' super-blocks fit; a heavy-tailed importance (log-normal, as
     * activation energies are: a few channels dominate). */
    const presso_tensor *te = &m->token_embd;
    const int64_t n = presso_tensor_nelements(te);
    float *w = malloc(sizeof(float) * (size_t)n);
    presso_type_traits_of(te->type)->to_float(te->data, w, n);
    float imat[256];
    presso_rng rng;
    presso_rng_seed(&rng, 42);
    for (int j = 0; j < 256; j++) imat[j] = expf(2.0f * presso_rng_normal(&rng));
    const presso_type types[9] = {PRESSO_TYPE_Q4_0, PRESSO_TYPE_Q4_1, PRESSO_TYPE_Q5_0, PRESSO_TYPE_Q5_1,
                                  PRESSO_TYPE_Q2_K, PRESSO_TYPE_Q3_K, PRESSO_TYPE_Q4_K, PRESSO_TYPE_Q5_K,
                                  PRESSO_TYPE_Q6_K};
    for (int i = 0; i < 9; i++) {
        const double ref = weighted_error(types[i], w, n / 256, 256, imat, false);
        const double wt = weighted_error(types[i], w, n / 256, 256, imat, true);
        printf("%-5s importance-weighted error: reference %.5g, weighted %.5g (%.1f%% lower)\n",
               presso_type_name(types[i]), ref, wt, 100.0 * (1.0 - wt / ref));
        /* at least 5% lower: the weighted search must do real work */
        CHECK_MSG(wt < 0.95 * ref, "%s: weighted %g vs reference %g", presso_type_name(types[i]), wt, ref);
    }
    /* Q8_0 has no weighted path (llama.cpp ignores the importance there). */
    uint8_t blk[34];
    CHECK(!presso_quantize_row_weighted(PRESSO_TYPE_Q8_0, w, blk, 32, imat));
    free(w);
    presso_model_free(m);
}

static void write_bytes(FILE *f, const void *p, size_t n) { CHECK(fwrite(p, 1, n, f) == n); }

static void test_files(void) {
    char dir[] = "/tmp/presso_imatrix_XXXXXX";
    if (!mkdtemp(dir)) return;
    char dat[256], gg[256], bad[256];
    snprintf(dat, sizeof dat, "%s/m.dat", dir);
    snprintf(gg, sizeof gg, "%s/m.gguf", dir);
    snprintf(bad, sizeof bad, "%s/bad.dat", dir);
    /* Legacy: values are Σx²/count·ncall; the importance is value/ncall. */
    FILE *f = fopen(dat, "wb");
    const int32_t n_entries = 2, ncall = 4, nval = 3, chunks = 4;
    const float v0[3] = {8.0f, 2.0f, 0.5f}, v1[3] = {4.0f, 4.0f, 12.0f};
    const char *names[2] = {"blk.0.attn_q.weight", "blk.0.ffn_down.weight"};
    write_bytes(f, &n_entries, 4);
    for (int i = 0; i < 2; i++) {
        const int32_t len = (int32_t)strlen(names[i]);
        write_bytes(f, &len, 4);
        write_bytes(f, names[i], (size_t)len);
        write_bytes(f, &ncall, 4);
        write_bytes(f, &nval, 4);
        write_bytes(f, i ? v1 : v0, sizeof v0);
    }
    const int32_t dlen = 10;
    write_bytes(f, &chunks, 4);
    write_bytes(f, &dlen, 4);
    write_bytes(f, "sample.txt", 10);
    fclose(f);
    presso_imatrix *im = NULL;
    CHECK_OK(presso_imatrix_load(dat, &im));
    if (im) {
        const float *e = NULL;
        CHECK(im->legacy && im->n_entries == 2 && im->chunk_count == 4 && strcmp(im->dataset, "sample.txt") == 0);
        CHECK_OK(presso_imatrix_find(im, "blk.0.ffn_down.weight", 3, &e));
        CHECK(e && e[0] == 1.0f && e[1] == 1.0f && e[2] == 3.0f);
        CHECK_OK(presso_imatrix_find(im, "output.weight", 3, &e));
        CHECK(e == NULL);
        CHECK(presso_imatrix_find(im, "blk.0.attn_q.weight", 128, &e) == PRESSO_ERR_SHAPE);
        CHECK(strstr(presso_last_error(), "blk.0.attn_q.weight") != NULL);
    }
    presso_imatrix_free(im);
    /* GGUF: NAME.in_sum2 / NAME.counts. */
    presso_gguf_writer *wr = presso_gguf_writer_new();
    const float sums[3] = {30.0f, 3.0f, 0.0f}, cnt[1] = {6.0f};
    presso_tensor ts = {.name = "blk.1.ffn_up.weight.in_sum2", .type = PRESSO_TYPE_F32, .n_dims = 2,
                        .ne = {3, 1, 1, 1}, .data = sums, .nbytes = sizeof sums};
    presso_tensor tc = {.name = "blk.1.ffn_up.weight.counts", .type = PRESSO_TYPE_F32, .n_dims = 2,
                        .ne = {1, 1, 1, 1}, .data = cnt, .nbytes = sizeof cnt};
    const char *ds = "sample.txt";
    CHECK_OK(presso_gguf_writer_set_string(wr, "general.type", "imatrix"));
    CHECK_OK(presso_gguf_writer_set_array_string(wr, "imatrix.datasets", &ds, NULL, 1));
    CHECK_OK(presso_gguf_writer_set_u32(wr, "imatrix.chunk_count", 6));
    CHECK_OK(presso_gguf_writer_set_u32(wr, "imatrix.chunk_size", 128));
    CHECK_OK(presso_gguf_writer_add_tensor(wr, &ts));
    CHECK_OK(presso_gguf_writer_add_tensor(wr, &tc));
    CHECK_OK(presso_gguf_writer_write(wr, gg));
    presso_gguf_writer_free(wr);
    CHECK_OK(presso_imatrix_load(gg, &im));
    if (im) {
        const float *e = NULL;
        CHECK(!im->legacy && im->n_entries == 1 && im->chunk_count == 6 && strcmp(im->dataset, "sample.txt") == 0);
        CHECK_OK(presso_imatrix_find(im, "blk.1.ffn_up.weight", 3, &e));
        CHECK(e && e[0] == 5.0f && e[1] == 0.5f && e[2] == 0.0f);
    }
    presso_imatrix_free(im);
    /* Truncated and foreign files: errors naming the file. */
    f = fopen(bad, "wb");
    write_bytes(f, &n_entries, 4);
    fclose(f);
    CHECK(presso_imatrix_load(bad, &im) == PRESSO_ERR_FORMAT && im == NULL);
    CHECK(strstr(presso_last_error(), "bad.dat") != NULL);
    const char *model_gguf = presso_test_shared("models/stories260K/gguf-by-llama.cpp/stories260K-f32.gguf");
    if (access(model_gguf, R_OK) == 0) {
        CHECK(presso_imatrix_load(model_gguf, &im) == PRESSO_ERR_FORMAT && im == NULL);
        CHECK(strstr(presso_last_error(), "not an importance matrix") != NULL);
    }
    CHECK(presso_imatrix_load("/nonexistent/x.dat", &im) == PRESSO_ERR_IO);
    unlink(dat), unlink(gg), unlink(bad), rmdir(dir);
}

/* --imatrix-from-calib: RTN with every block linear weighted by its inputs'
 * mean x² (differs from plain RTN); a tensor holding nan: a refusal naming it. */
static void test_driver(void) {
    const char *dir = presso_test_shared("models/tinystories-656k");
    presso_model *m = NULL, *plain = NULL;
    CHECK_OK(presso_model_open(dir, NULL, &m));
    CHECK_OK(presso_model_open(dir, NULL, &plain));
    if (!m || !plain) return;
    const char *text = "Once upon a time there was a little dog. The dog liked to run and play in the sun all day. "
                       "One day it met a cat who was sad, and the two of them went to the park to find a ball.";
    presso_calib_params cpar = {.count = 2, .len = 24, .seed = 1};
    presso_calib_set *calib = NULL;
    CHECK_OK(presso_calib_set_from_text(m->tokenizer, text, strlen(text), &cpar, 512, &calib));
    presso_compress_params p = {.pass = &presso_pass_rtn, .type = PRESSO_TYPE_Q4_0, .opts = {.n_threads = 2},
                                .imatrix_from_calib = true};
    CHECK_OK(presso_compress_model(m, calib, &p));
    CHECK(p.n_imatrix == 7 * m->config.n_layers);
    presso_compress_params q = {.pass = &presso_pass_rtn, .type = PRESSO_TYPE_Q4_0, .opts = {.n_threads = 2}};
    CHECK_OK(presso_compress_model(plain, NULL, &q));
    CHECK(q.n_imatrix == 0);
    CHECK(m->layers[0].w_up.nbytes == plain->layers[0].w_up.nbytes &&
          memcmp(m->layers[0].w_up.data, plain->layers[0].w_up.data, m->layers[0].w_up.nbytes) != 0);
    CHECK(memcmp(m->token_embd.data, plain->token_embd.data, m->token_embd.nbytes) == 0); /* no importance there */
    presso_model_free(m);
    presso_model_free(plain);
    /* nan in blk.1.ffn_up: refused by name, with RTN and with GPTQ. */
    for (int pass = 0; pass < 2; pass++) {
        CHECK_OK(presso_model_open(dir, NULL, &m));
        if (!m) break;
        presso_tensor *t = &m->layers[1].w_up;
        float *copy = malloc(t->nbytes);
        memcpy(copy, t->data, t->nbytes);
        copy[77] = pass ? INFINITY : NAN;
        CHECK_OK(presso_model_own(m, copy));
        t->data = copy;
        presso_compress_params r = {.pass = pass ? &presso_pass_gptq : &presso_pass_rtn, .type = PRESSO_TYPE_Q4_0,
                                    .opts = {.n_threads = 2, .damp = 0.01}};
        CHECK(presso_compress_model(m, pass ? calib : NULL, &r) == PRESSO_ERR_FORMAT);
        CHECK_MSG(strstr(presso_last_error(), "blk.1.ffn_up.weight holds inf or nan") != NULL, "%s",
                  presso_last_error());
        presso_model_free(m);
    }
    presso_calib_set_free(calib);
}

/* test_imatrix --quantize TYPE N_PER_ROW ROWS.f32 IMATRIX.f32 OUT: rows of
 * N_PER_ROW floats through presso's weighted quantizer (the oracle side is
 * ggml_quantize_chunk in tests/imatrix_py_check.py). */
static int quantize_file(char **argv) {
    presso_type type;
    if (presso_type_from_name(argv[2], &type) != PRESSO_OK) return 2;
    const int64_t n = atoll(argv[3]);
    size_t nx = 0, ni = 0;
    float *x = presso_test_read_file(argv[4], &nx), *imat = presso_test_read_file(argv[5], &ni);
    const int64_t rb = presso_row_bytes(type, n);
    if (!x || !imat || n <= 0 || rb < 0 || nx % (sizeof(float) * (size_t)n) != 0 || ni != sizeof(float) * (size_t)n)
        return 2;
    const int64_t rows = (int64_t)(nx / sizeof(float)) / n;
    uint8_t *out = malloc((size_t)(rb * rows));
    for (int64_t r = 0; r < rows; r++)
        if (!presso_quantize_row_weighted(type, x + r * n, out + r * rb, n, imat)) return 2;
    FILE *f = fopen(argv[6], "wb");
    const bool ok = f && fwrite(out, 1, (size_t)(rb * rows), f) == (size_t)(rb * rows);
    if (f) fclose(f);
    free(out);
    free(x);
    free(imat);
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 7 && strcmp(argv[1], "--quantize") == 0) return quantize_file(argv);
    test_weighted_error();
    test_files();
    test_driver();
    return presso_test_finish();
}
