/* Row-interleaved ("repacked") copies of block-quantized weights for the CPU
 * matmul, as llama.cpp's CPU_REPACK buffers (block_q4_0x8, block_q4_Kx8):
 * the blocks of 8 consecutive rows that cover the same 32 (Q4_0) or 256
 * (Q4_K) input columns are stored together, so that one activation block
 * serves 8 rows and their 8 results land in the 8 float lanes of one AVX2
 * register (no horizontal sums, one load per activation block per 8 rows).
 *
 * The layout is presso's own (docs/formats.md, "Repacked layouts"); it lives
 * in memory only, is made from the file's rows at load time
 * (presso_model_repack) and is never written to a file: every other reader
 * keeps using the tensor's row-major blocks.
 *
 * Q4_0 (presso_block_q4_0x8, 144 bytes = 8 x 18): the 8 rows' scales, then
 * 4 runs of 32 bytes; in run k, bytes 4r..4r+3 hold row r's levels
 * 8k..8k+3 in their low nibbles and 8k+4..8k+7 in their high nibbles. A
 * level is the stored 4-bit code u in [0, 15] (the weight is d (u - 8)).
 * Step s of a dot (0..7) takes levels 4s..4s+3 of all 8 rows at once: the
 * low nibbles of run s/2 for even s, the high ones for odd s, against the
 * activation's 4 bytes 4s..4s+3 broadcast to every row.
 *
 * Q4_K (presso_block_q4_Kx8, 1184 bytes = 8 x 144 + 32): per super-block of
 * 256 columns the 8 rows' d, then their dmin, then the unpacked 6-bit
 * scales as scales[j][r] (sub-block j of 32 columns, row r), the mins as
 * mins[j / 2][2 r + j % 2] (the pairs _mm256_madd_epi16 takes against two
 * sub-blocks' activation sums), then 32 runs of 32 bytes: run 4j + k holds
 * sub-block j's levels 8k..8k+7 of the 8 rows in the Q4_0 run's order.
 *
 * Q4_1 (presso_block_q4_1x8, 160 bytes = 8 x 20): the 8 rows' d, their m,
 * then the Q4_0 runs. Q5_0 (176 = 8 x 22) and Q5_1 (192 = 8 x 24): the same
 * plus qh, 32 bytes of fifth bits: bit s of byte 4r + i is that of row r's
 * level 4s + i (the weight is d (u - 16), or d u + m).
 *
 * Q8_0 (presso_block_q8_0x8, 272 bytes = 8 x 34): the 8 scales, then 8
 * steps of 32 bytes: byte 32s + 4r + i is row r's level 4s + i.
 *
 * Q6_K (presso_block_q6_Kx8, 1680 bytes = 8 x 210): per super-block the 8
 * rows' d, the int8 scales as scales[c][r] (16-column chunk c), then 8 runs
 * (run j: columns 32j..32j+31) of 192 bytes, read front to back: the low 4
 * bits of the 6-bit levels u (the weight is d scale (u - 32)) as 128 bytes
 * in the Q4_0 run's order, then their high 2 bits as 64 bytes: bits
 * 2t..2t+1 of byte 32h + 4r + i are those of row r's level 4 (4h + t) + i
 * of the run. (With the high bits in a separate array the kernel read two
 * streams 1 KB apart, and streamed from DRAM at a third of the speed.) */
#ifndef PRESSO_TENSOR_REPACK_H
#define PRESSO_TENSOR_REPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "presso.h"
#include "tensor/quants.h"

#define PRESSO_REPACK_ROWS 8

typedef struct {
    presso_f16 d[PRESSO_REPACK_ROWS];
    uint8_t qs[PRESSO_REPACK_ROWS * PRESSO_QK4_0 / 2];
} presso_block_q4_0x8;

typedef struct {
    presso_f16 d[PRESSO_REPACK_ROWS];
    presso_f16 dmin[PRESSO_REPACK_ROWS];
    uint8_t scales[PRESSO_QK_K / 32][PRESSO_REPACK_ROWS];
    uint8_t mins[PRESSO_QK_K / 64][2 * PRESSO_REPACK_ROWS];
    uint8_t qs[PRESSO_REPACK_ROWS * PRESSO_QK_K / 2];
} presso_block_q4_Kx8;

typedef struct {
    presso_f16 d[PRESSO_REPACK_ROWS];
    presso_f16 m[PRESSO_REPACK_ROWS];
    uint8_t qs[PRESSO_REPACK_ROWS * 32 / 2];
} presso_block_q4_1x8;

typedef struct {
    presso_f16 d[PRESSO_REPACK_ROWS];
    uint8_t qs[PRESSO_REPACK_ROWS * 32 / 2];
    uint8_t qh[PRESSO_REPACK_ROWS * 32 / 8];
} presso_block_q5_0x8;

typedef struct {
    presso_f16 d[PRESSO_REPACK_ROWS];
    presso_f16 m[PRESSO_REPACK_ROWS];
    uint8_t qs[PRESSO_REPACK_ROWS * 32 / 2];
    uint8_t qh[PRESSO_REPACK_ROWS * 32 / 8];
} presso_block_q5_1x8;

typedef struct {
    presso_f16 d[PRESSO_REPACK_ROWS];
    int8_t qs[PRESSO_REPACK_ROWS * PRESSO_QK8_0];
} presso_block_q8_0x8;

typedef struct {
    presso_f16 d[PRESSO_REPACK_ROWS];
    int8_t scales[PRESSO_QK_K / 16][PRESSO_REPACK_ROWS];
    struct {
        uint8_t ql[PRESSO_REPACK_ROWS * 32 / 2];
        uint8_t qh[PRESSO_REPACK_ROWS * 32 / 4];
    } runs[PRESSO_QK_K / 32];
} presso_block_q6_Kx8;

_Static_assert(sizeof(presso_block_q4_0x8) == 144, "q4_0x8 layout");
_Static_assert(sizeof(presso_block_q8_0x8) == 272, "q8_0x8 layout");
_Static_assert(sizeof(presso_block_q4_1x8) == 160, "q4_1x8 layout");
_Static_assert(sizeof(presso_block_q5_0x8) == 176, "q5_0x8 layout");
_Static_assert(sizeof(presso_block_q5_1x8) == 192, "q5_1x8 layout");
_Static_assert(sizeof(presso_block_q6_Kx8) == 1680, "q6_Kx8 layout");
_Static_assert(sizeof(presso_block_q4_Kx8) == 1184, "q4_Kx8 layout");

/* Whether a rows x cols matrix of TYPE has a repacked layout: Q4_0, Q4_1,
 * Q5_0, Q5_1, Q8_0, Q4_K and Q6_K, rows a multiple of 8 and cols of the
 * type's block size. */
bool presso_repack_supported(presso_type type, int64_t rows, int64_t cols);

/* Whether TYPE's repacked kernels read the activation block sums (the
 * offset of unsigned levels against Q8_0: Q4_0's 8, Q5_0's 16). */
static inline bool presso_repack_needs_block_sums(presso_type type) {
    return type == PRESSO_TYPE_Q4_0 || type == PRESSO_TYPE_Q5_0;
}

/* Bytes of the repacked copy of one group of 8 rows of cols columns
 * (repacked groups follow each other: group g starts at g times this). */
size_t presso_repack_group_bytes(presso_type type, int64_t cols);

/* Repacks rows (a multiple of 8) row-major rows of cols columns, row_bytes
 * apart, into dst (rows / 8 groups). The caller checked
 * presso_repack_supported. */
void presso_repack(presso_type type, const void *src, size_t row_bytes, int64_t rows, int64_t cols, void *dst);

/* The inverse: rows of the file's block layout from a repacked copy, byte
 * for byte what presso_repack read (the tests' round trip). */
void presso_unpack(presso_type type, const void *src, int64_t rows, int64_t cols, void *dst, size_t row_bytes);

#endif
