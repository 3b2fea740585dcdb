/* Random-weight models of realistic shapes, written as GGUF, so speed can be
 * measured on shapes (e.g. LLaMA-7B's) for which no real weights ship. The
 * file has a synthetic sentencepiece-style vocabulary (unk, bos, eos, the 256
 * byte tokens, then made-up pieces) so llama.cpp loads it too. */
#ifndef PRESSO_MODEL_SYNTH_H
#define PRESSO_MODEL_SYNTH_H

#include <stdint.h>

#include "presso.h"

typedef struct {
    int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, max_seq_len;
    presso_type type; /* matrices; norms are F32 */
    uint64_t seed;
} presso_synth_params;

presso_status presso_synth_gguf(const presso_synth_params *p, const char *path);

#endif
