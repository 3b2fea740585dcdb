/* Decode matvec (y = W x, one activation row) on 1B-shaped matrices
 * (TinyLlama-1.1B: 2048→2048 attn_q/o, 2048→5632 ffn_gate/up, 5632→2048
 * ffn_down): dense f16 against 2:4 s24_f16, dense q4_0 against 2:4 s24_q4,
 * the same 50%-pruned random weights in each pair, through presso_matmul
 * with the active kernels. Prints a markdown table; with a path argument
 * also writes JSON there. Timings only, never asserted.
 *
 * usage: sparse_matvec [OUT.json] [THREADS (2)] [REPS (50)] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/timer.h"
#include "tensor/kernels.h"
#include "tensor/matmul.h"
#include "tensor/sparse.h"
#include "tensor/types.h"

typedef struct {
    const char *name;
    int64_t in, out;
} shape;

static double time_matvec(const presso_tensor *t, const float *x, float *y, float *scratch, int threads, int reps) {
    presso_matmul(t, x, 1, y, scratch, threads); /* warm-up */
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        const double t0 = presso_now_seconds();
        presso_matmul(t, x, 1, y, scratch, threads);
        const double dt = presso_now_seconds() - t0;
        if (dt < best) best = dt;
    }
    return best;
}

static presso_tensor make(presso_type type, const float *w, int64_t in, int64_t out) {
    const int64_t rb = presso_row_bytes(type, in);
    uint8_t *data = malloc((size_t)(rb * out));
    for (int64_t r = 0; r < out; r++) {
        if (presso_type_is_sparse(type)) presso_s24_encode_row(type, w + r * in, data + r * rb, in, NULL);
        else presso_type_traits_of(type)->from_float_ref(w + r * in, data + r * rb, in);
    }
    presso_tensor t = {.type = type, .n_dims = 2, .ne = {in, out, 1, 1}, .data = data, .nbytes = (size_t)(rb * out)};
    return t;
}

int main(int argc, char **argv) {
    const char *json_path = argc > 1 ? argv[1] : NULL;
    const int threads = argc > 2 ? atoi(argv[2]) : 2, reps = argc > 3 ? atoi(argv[3]) : 50;
    const shape shapes[] = {{"attn_q 2048x2048", 2048, 2048}, {"ffn_up 2048x5632", 2048, 5632},
                            {"ffn_down 5632x2048", 5632, 2048}};
    const presso_type pairs[2][2] = {{PRESSO_TYPE_F16, PRESSO_TYPE_S24_F16}, {PRESSO_TYPE_Q4_0, PRESSO_TYPE_S24_Q4}};
    presso_rng rng;
    presso_rng_seed(&rng, 7);
    FILE *js = json_path ? fopen(json_path, "w") : NULL;
    if (js) fprintf(js, "{\"kernels\": \"%s\", \"threads\": %d, \"reps\": %d, \"rows\": [\n",
                    presso_kernels_active()->name, threads, reps);
    printf("kernels %s, %d threads, best of %d\n\n", presso_kernels_active()->name, threads, reps);
    printf("| matrix | dense type | dense MiB | dense µs | 2:4 type | 2:4 MiB | 2:4 µs | speedup |\n|---|---|---|---|---|---|---|---|\n");
    int first = 1;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int64_t in = shapes[s].in, out = shapes[s].out;
        float *w = malloc(sizeof(float) * (size_t)(in * out)), *x = malloc(sizeof(float) * (size_t)in);
        float *y = malloc(sizeof(float) * (size_t)out);
        float *scratch = malloc(sizeof(float) * (size_t)presso_matmul_scratch_floats(in, 1, threads));
        for (int64_t i = 0; i < in; i++) x[i] = presso_rng_normal(&rng);
        /* random weights, magnitude 2:4 (keep the larger two of each four) */
        for (int64_t i = 0; i < in * out; i += 4) {
            float g[4];
            for (int j = 0; j < 4; j++) g[j] = presso_rng_normal(&rng);
            int a = 0, b = 1;
            for (int j = 0; j < 4; j++) {
                if (j != a && (g[j] > 0 ? g[j] : -g[j]) > (g[a] > 0 ? g[a] : -g[a])) a = j;
            }
            b = a == 0 ? 1 : 0;
            for (int j = 0; j < 4; j++)
                if (j != a && (g[j] > 0 ? g[j] : -g[j]) > (g[b] > 0 ? g[b] : -g[b])) b = j;
            for (int j = 0; j < 4; j++) w[i + j] = (j == a || j == b) ? g[j] : 0.0f;
        }
        for (int p = 0; p < 2; p++) {
            presso_tensor d = make(pairs[p][0], w, in, out), sp = make(pairs[p][1], w, in, out);
            const double td = time_matvec(&d, x, y, scratch, threads, reps);
            const double ts = time_matvec(&sp, x, y, scratch, threads, reps);
            printf("| %s | %s | %.2f | %.1f | %s | %.2f | %.1f | %.2fx |\n", shapes[s].name, presso_type_name(d.type),
                   (double)d.nbytes / 1048576.0, td * 1e6, presso_type_name(sp.type), (double)sp.nbytes / 1048576.0,
                   ts * 1e6, td / ts);
            if (js)
                fprintf(js, "%s {\"matrix\": \"%s\", \"dense_type\": \"%s\", \"dense_bytes\": %zu, \"dense_us\": %.2f, "
                            "\"sparse_type\": \"%s\", \"sparse_bytes\": %zu, \"sparse_us\": %.2f, \"speedup\": %.3f}\n",
                        first ? "" : ",", shapes[s].name, presso_type_name(d.type), d.nbytes, td * 1e6,
                        presso_type_name(sp.type), sp.nbytes, ts * 1e6, td / ts);
            first = 0;
            free((void *)(uintptr_t)d.data);
            free((void *)(uintptr_t)sp.data);
        }
        free(w);
        free(x);
        free(y);
        free(scratch);
    }
    if (js) {
        fprintf(js, "]}\n");
        fclose(js);
    }
    return 0;
}
