/* presso-native 2:4 sparse weight types (NVIDIA's 2:4 semi-structured
 * pattern, Mishra et al. 2021; the N:M setting of SparseGPT/Wanda): in every
 * group of 4 consecutive inputs of a row at most 2 weights are non-zero, so
 * a row stores only the kept half plus 2-bit positions.
 *
 * Type ids are far above ggml's (ggml uses < 64) so no GGUF reader mistakes
 * them for its own: llama.cpp refuses the file ("invalid ggml type"). Block
 * layout, by "halves" of 32 logical columns of a row (8 groups of 4, 16
 * kept values each):
 *
 *   s24_f16 (id 1100), one half per block, 36 bytes, 9 bits/weight:
 *     f16  v[16]   kept values, group-major: v[2g], v[2g+1] from group g
 *     u8   idx[4]  2-bit positions (0..3 within the group) of the kept values
 *   s24_q4 (id 1101), two halves per block (64 columns), 28 bytes, 3.5
 *   bits/weight (Q4_0 of each half's kept values):
 *     f16  d[2]    scale of half h: value k = (q_k - 8) · d[h], d = signed absmax / -8
 *     u8   idx[8]  positions, half h in idx[4h..4h+3] as above
 *     u8   qs[16]  q_k (4 bits), half h in qs[8h..8h+7]: qs[8h+j] = q_j | q_{j+8} << 4
 *   (the two halves' fields side by side, so the AVX2 kernel loads each with
 *   one instruction and fills a 256-bit register per block)
 *
 * Position of kept value k (0..15) of a half with index bytes idx:
 * (idx[k % 4] >> (2 · (k / 4))) & 3. The
 * two positions of a group are strictly ascending; a group with fewer than
 * two non-zeros stores explicit zeros at free positions. Blocks are packed
 * back to back, rows are ne[0]/32 (s24_f16) or ne[0]/64 (s24_q4) blocks, tensors start at the GGUF
 * alignment (32); the structs below have 2-byte alignment.
 *
 * Kernels: vec_dot (float activations, s24_f16) and vec_dot_q (activations
 * quantized to Q8_0, s24_q4) in a _ref tier (the oracle) and an AVX2 tier
 * that gathers the kept activations with permutes / pshufb. */
#ifndef PRESSO_TENSOR_SPARSE_H
#define PRESSO_TENSOR_SPARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "presso.h"
#include "tensor/fp16.h"
#include "tensor/kernels.h"
#include "tensor/tensor.h"

#define PRESSO_QK_S24 32    /* columns per half (an s24_f16 block) */
#define PRESSO_QK_S24_Q4 64 /* columns per s24_q4 block */

typedef struct {
    presso_f16 v[PRESSO_QK_S24 / 2];
    uint8_t idx[4];
} presso_block_s24_f16;

typedef struct {
    presso_f16 d[2];
    uint8_t idx[8];
    uint8_t qs[16];
} presso_block_s24_q4;

_Static_assert(sizeof(presso_block_s24_f16) == 36, "s24_f16 layout");
_Static_assert(sizeof(presso_block_s24_q4) == 28, "s24_q4 layout");

static inline bool presso_type_is_sparse(int type) {
    return type >= PRESSO_TYPE_SPARSE_FIRST && type < PRESSO_TYPE_SPARSE_END;
}

/* Position (0..3 in its group) of kept value k of a block's idx. */
static inline int presso_s24_pos(const uint8_t idx[4], int k) { return (idx[k % 4] >> (2 * (k / 4))) & 3; }

/* Dense floats of n (a multiple of the block size) logical columns. */
void presso_dequantize_s24_f16(const void *src, float *dst, int64_t n);
void presso_dequantize_s24_q4(const void *src, float *dst, int64_t n);

/* Encodes one row of n floats (a multiple of the type's block size: 32 for
 * s24_f16, 64 for s24_q4) that satisfies 2:4.
 * PRESSO_ERR_INVALID_ARG when a group of 4 holds more than 2 non-zeros;
 * *bad_col (may be NULL) then receives the group's first column. */
presso_status presso_s24_encode_row(presso_type type, const float *src, void *dst, int64_t n, int64_t *bad_col);

/* The sparse type with values of `value_type`: f16 → s24_f16, q4_0 →
 * s24_q4; PRESSO_ERR_UNSUPPORTED for other value types. */
presso_status presso_s24_type_for(presso_type value_type, presso_type *out);

typedef struct {
    const char *name;
    presso_vec_dot_fn vec_dot_s24_f16;   /* float activations */
    presso_vec_dot_q_fn vec_dot_s24_q4;  /* activations as Q8_0 blocks */
} presso_sparse_kernels;

const presso_sparse_kernels *presso_sparse_kernels_ref(void);
const presso_sparse_kernels *presso_sparse_kernels_avx2_table(void); /* reached only after cpuid says AVX2 */
/* The tier matching presso_kernels_active() (ref or avx2). */
const presso_sparse_kernels *presso_sparse_kernels_active(void);

/* Y = X Wᵀ row by row for a sparse W (matmul.c's decode path): s24_q4
 * quantizes X to Q8_0 into scratch (presso_matmul_scratch_floats), s24_f16
 * dots float rows. */
void presso_sparse_matmul_rows(const presso_tensor *w, const float *x, int64_t n, float *y, float *scratch,
                               int n_threads);

#endif
