/* Hugging Face safetensors (single file or sharded with
 * model.safetensors.index.json): 8-byte little-endian header length, JSON
 * header {name: {dtype, shape, data_offsets}}, then the data. Every offset is
 * checked to lie inside the file and to match dtype x shape. */
#ifndef PRESSO_FORMATS_SAFETENSORS_H
#define PRESSO_FORMATS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "presso.h"
#include "tensor/tensor.h"

typedef struct presso_safetensors presso_safetensors;

/* path is a .safetensors file, a model.safetensors.index.json, or a
 * directory holding either. Tensors of dtype F32, F16 and BF16 are kept; any
 * other dtype is an error naming the tensor. Shapes are converted to ggml
 * order (ne[0] = last safetensors dim). */
presso_status presso_safetensors_open(const char *path, presso_safetensors **out);
void presso_safetensors_close(presso_safetensors *st);

/* The same checks on a safetensors image already in memory (used by the fuzz
 * target and by tests). The tensors point into data, which the caller keeps
 * alive until presso_safetensors_close; name is used in error messages. */
presso_status presso_safetensors_open_buffer(const uint8_t *data, size_t size, const char *name,
                                             presso_safetensors **out);

int64_t presso_safetensors_tensor_count(const presso_safetensors *st);
const presso_tensor *presso_safetensors_tensor(const presso_safetensors *st, int64_t i);
const presso_tensor *presso_safetensors_find(const presso_safetensors *st, const char *name);

#endif
