/* The quantization grid of one GGUF block, as its scales stand: the levels a
 * single element may take. GPTQ (gptq.c) derives a block's scales with the
 * type's reference quantizer, then moves each element onto this grid one
 * column at a time; the block bytes it leaves behind are the output, so
 * dequantize(block) gives back exactly the values GPTQ used. */
#ifndef PRESSO_COMPRESS_GRID_H
#define PRESSO_COMPRESS_GRID_H

#include <stdbool.h>
#include <stdint.h>

#include "presso.h"

/* True for the block types whose elements grid.c can set one at a time:
 * Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K. */
bool presso_grid_supported(presso_type type);

/* Sets element pos (0 .. block_size-1) of one block to the level nearest w
 * under the block's current scale(s)/min(s), and returns that level's value
 * computed exactly as the type's dequantizer computes it. */
float presso_grid_set(presso_type type, void *block, int pos, float w);

#endif
