/* A llama-family model: hyperparameters, tensor views of its weights, its
 * tokenizer, and the resources (mapped files, buffers) that back them. The
 * loaders (model_llama2c.c, model_gguf.c, model_hf.c) fill it; the forward
 * pass (llama.c) only reads it. */
#ifndef PRESSO_MODEL_MODEL_H
#define PRESSO_MODEL_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/mapped_file.h"
#include "model/tokenizer.h"
#include "presso.h"
#include "tensor/tensor.h"

/* How RoPE pairs the dimensions of a head. llama2.c and GGUF (llama.cpp's
 * converter permutes Q/K rows) rotate adjacent pairs (2i, 2i+1); Hugging Face
 * checkpoints rotate (i, i + head_dim/2) ("rotate_half"). */
typedef enum { PRESSO_ROPE_INTERLEAVED = 0, PRESSO_ROPE_HALF = 1 } presso_rope_style;

typedef enum { PRESSO_FORMAT_LLAMA2C, PRESSO_FORMAT_GGUF, PRESSO_FORMAT_HF } presso_model_format;

typedef struct {
    int32_t dim;         /* embedding width */
    int32_t hidden_dim;  /* SwiGLU intermediate width */
    int32_t n_layers;
    int32_t n_heads;
    int32_t n_kv_heads;  /* < n_heads: grouped-query attention */
    int32_t head_dim;
    int32_t vocab_size;
    int32_t max_seq_len; /* context the model was trained with */
    float rope_theta;
    float norm_eps;
    presso_rope_style rope_style;
    bool tied_embeddings; /* output projection is the token embedding */
} presso_llama_config;

typedef struct {
    presso_tensor attn_norm; /* [dim] */
    presso_tensor wq;        /* ne {dim, n_heads*head_dim} */
    presso_tensor wk;        /* ne {dim, n_kv_heads*head_dim} */
    presso_tensor wv;
    presso_tensor wo;        /* ne {n_heads*head_dim, dim} */
    presso_tensor ffn_norm;
    presso_tensor w_gate;    /* ne {dim, hidden} */
    presso_tensor w_up;      /* ne {dim, hidden} */
    presso_tensor w_down;    /* ne {hidden, dim} */
} presso_llama_layer;

enum { PRESSO_MODEL_MAX_MAPPINGS = 64 };

typedef struct presso_model {
    presso_llama_config config;
    presso_tensor token_embd;  /* ne {dim, vocab} */
    presso_tensor output_norm; /* [dim] */
    presso_tensor output;      /* ne {dim, vocab}; a copy of token_embd's view when tied */
    presso_llama_layer *layers;
    presso_tokenizer *tokenizer; /* NULL when the model came without one */
    presso_model_format format;
    char path[4096];
    char name[256];            /* general.name or the file's base name */
    /* What backs the tensor views. */
    presso_mapped_file mappings[PRESSO_MODEL_MAX_MAPPINGS];
    int n_mappings;
    void **buffers; /* grows: a compressed model owns one buffer per tensor */
    int64_t n_buffers, cap_buffers;
    /* Read-only file mappings that format_handle owns (a GGUF's): tensor
     * views inside them may hand their pages back (presso_model_repack). */
    presso_mapped_file handle_mappings[1];
    int n_handle_mappings;
    void *format_handle;        /* the open gguf / safetensors, closed with the model */
    void (*format_close)(void *);
} presso_model;

/* Opens a model: a llama2.c .bin, a .gguf, or a Hugging Face directory (or
 * its config.json / model.safetensors). tokenizer_path may be NULL (use the
 * one in or beside the model: GGUF metadata, tokenizer.json, or for llama2.c
 * tokenizer.bin next to the checkpoint). */
presso_status presso_model_open(const char *path, const char *tokenizer_path, presso_model **out);
void presso_model_free(presso_model *m);

/* Checks every tensor's shape against the config. */
presso_status presso_model_validate(const presso_model *m);

/* Registers a malloc'd buffer to be freed with the model. */
presso_status presso_model_own(presso_model *m, void *buffer);

/* Repacks the Q4_0 / Q4_K block linears (and the output) whose shapes allow
 * it into the row-interleaved layout the CPU matmul runs fastest
 * (tensor/repack.h): for running a model (generate, ppl, eval, bench), never
 * for compressing it (a pass that rewrites a tensor's data would leave its
 * packed copy stale). Results differ from the unpacked kernels in float
 * rounding only. */
typedef struct {
    int64_t tensors; /* tensors repacked */
    int64_t bytes;   /* bytes of the repacked copies */
} presso_repack_stats;
presso_status presso_model_repack(presso_model *m, presso_repack_stats *stats);

/* Total parameters and bytes of the weights as stored (tied output counted
 * once). */
int64_t presso_model_n_params(const presso_model *m);
int64_t presso_model_weight_bytes(const presso_model *m);

/* Format loaders, used by presso_model_open: weights and hyperparameters
 * only; presso_model_open attaches the tokenizer. */
presso_status presso_model_load_llama2c(presso_model *m, const char *path);
/* The same from a checkpoint image in memory (borrowed; 4-byte aligned). */
presso_status presso_model_load_llama2c_buffer(presso_model *m, const uint8_t *data, size_t size, const char *path);
presso_status presso_model_load_gguf(presso_model *m, const char *path);
/* path: a directory, its config.json, a .safetensors or an index.json. On
 * success hf_dir receives the model's directory (for tokenizer.json). */
presso_status presso_model_load_hf(presso_model *m, const char *path, char *hf_dir, size_t hf_dir_cap);

#endif
