/* PRESSO_TYPE_W8A8 (GGUF tensor type id 1000, presso-native): the weights of
 * SmoothQuant's W8A8 (Xiao et al. 2023, §4: per-channel weights, per-token
 * dynamic activations, both int8 symmetric, int32 accumulation).
 *
 * Layout of one row of n elements (row_bytes = 4 + n, no alignment padding):
 *   float32 d      little-endian, the row scale: max|w| / 127
 *   int8    q[n]   w_i ≈ d * q_i, q_i in -127..127 (never -128)
 * The scale sits in front of its row, so a row is self-contained (a GGUF
 * tensor is out such rows, back to back). Rows may be unaligned inside a
 * mapped file: every reader goes through memcpy for d.
 *
 * At run time each activation row x (one token) is quantized the same way
 * (d_x = max|x| / 127) into the same layout, and a dot is
 * d_w * d_x * Σ q_w q_x with the sum in int32 (exact for n <= 133,000:
 * 127² · n < 2³¹).
 *
 * llama.cpp has no type 1000: its GGUF loader rejects the file ("invalid
 * ggml type") rather than misreading it (tests/test_w8a8_llamacpp_py.sh). */
#ifndef PRESSO_TENSOR_W8A8_H
#define PRESSO_TENSOR_W8A8_H

#include <stdint.h>

#define PRESSO_W8A8_ROW_HEADER 4

/* One whole row of n elements per call (the scale is per row). */
void presso_w8a8_to_float(const void *src, float *dst, int64_t n);
void presso_w8a8_from_float_ref(const float *src, void *dst, int64_t n);

/* Reference kernels (the oracle of w8a8_avx2.c): per-token activation
 * quantization into the row layout above, int8·int8 dot with int32 sums,
 * and the float-activation dot (d_w Σ q_i x_i). */
void presso_w8a8_quantize_act_ref(const float *x, void *dst, int64_t n);
float presso_w8a8_dot_ref(const void *w_row, const void *x_row, int64_t n);
float presso_w8a8_vec_dot_f32_ref(const void *w_row, const float *x, int64_t n);

void presso_w8a8_quantize_act_avx2(const float *x, void *dst, int64_t n);
float presso_w8a8_dot_avx2(const void *w_row, const void *x_row, int64_t n);
float presso_w8a8_vec_dot_f32_avx2(const void *w_row, const float *x, int64_t n);

#endif
