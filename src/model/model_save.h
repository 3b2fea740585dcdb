/* Writing a model as a GGUF that llama.cpp loads unchanged: llama.cpp's
 * tensor names and llama.* keys, Q/K rows permuted to the interleaved RoPE
 * layout when the source uses rotate_half, the tokenizer as
 * tokenizer.ggml.* keys. The write is atomic. */
#ifndef PRESSO_MODEL_MODEL_SAVE_H
#define PRESSO_MODEL_MODEL_SAVE_H

#include <stdbool.h>

#include "formats/gguf.h"
#include "model/model.h"

typedef struct {
    presso_type type;      /* for matrices; vectors (norms) stay F32 */
    bool allow_requantize; /* convert an already quantized tensor to another quantized type */
    /* Write every matrix in the type it already has, bytes as they are (a
     * compression pass chose each tensor's type); `type` then only names the
     * file's general.file_type. */
    bool keep_types;
    /* Write 2:4 sparse matrices (tensor/sparse.h) as they are; otherwise
     * they are densified to `type` like any other matrix. */
    bool keep_sparse;
    /* Called once with the writer, after the llama.* keys, to add keys of
     * the caller's own (e.g. presso.method); may be NULL. */
    presso_status (*write_metadata)(void *user, presso_gguf_writer *w);
    void *metadata_user;
    /* Filled in: matrices whose row width fits no block of `type` and were
     * written as F16 instead (llama.cpp does the same). */
    int n_fallback;
    char fallback_names[512];
} presso_save_params;

presso_status presso_model_save_gguf(const presso_model *m, const char *path, presso_save_params *p);

/* llama.cpp's general.file_type for a model mostly of `type`. */
uint32_t presso_gguf_file_type(presso_type type);

#endif
