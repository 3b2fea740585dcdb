/* Tokenizers of the llama family, one struct for all flavours:
 *  - SPM-score:  sentencepiece-style BPE merging the adjacent pair whose
 *                concatenation has the highest score (llama2.c tokenizer.bin,
 *                GGUF tokenizer.ggml.model = "llama"), byte fallback <0xXX>.
 *  - BPE-merges with "▁" (HF tokenizer.json, model BPE, byte_fallback, the
 *                Prepend/Replace "▁" normalizer): merge by merge rank.
 *  - Byte-level BPE (HF ByteLevel / GGUF tokenizer.ggml.model = "gpt2"):
 *                regex pre-tokenizer, GPT-2 byte-to-unicode map, merge rank.
 * Encoding must give exactly the ids the reference gives (llama.cpp for GGUF,
 * HF tokenizers for tokenizer.json, llama2.c run.c for tokenizer.bin). */
#ifndef PRESSO_MODEL_TOKENIZER_H
#define PRESSO_MODEL_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/gguf.h"
#include "presso.h"

typedef struct presso_tokenizer presso_tokenizer;

/* llama2.c tokenizer.bin (max_token_length, then per token: f32 score, i32
 * length, bytes). vocab_size comes from the model header. */
presso_status presso_tokenizer_load_llama2c(const char *path, int32_t vocab_size, presso_tokenizer **out);
/* HF tokenizer.json (+ optional tokenizer_config.json for bos/eos/add_bos;
 * NULL when absent). */
presso_status presso_tokenizer_load_hf(const char *tokenizer_json, const char *tokenizer_config_json,
                                       presso_tokenizer **out);
/* The same from memory (borrowed for the call only); `name` stands for the
 * file in error messages. Used by the fuzz target. config may be NULL. */
presso_status presso_tokenizer_load_hf_buffer(const uint8_t *json, size_t json_size, const uint8_t *config,
                                              size_t config_size, const char *name, presso_tokenizer **out);
presso_status presso_tokenizer_load_llama2c_buffer(const uint8_t *data, size_t size, const char *name,
                                                   int32_t vocab_size, presso_tokenizer **out);
/* The tokenizer stored in a GGUF's tokenizer.ggml.* keys. */
presso_status presso_tokenizer_load_gguf(const presso_gguf *g, presso_tokenizer **out);
void presso_tokenizer_free(presso_tokenizer *t);

int32_t presso_tokenizer_vocab_size(const presso_tokenizer *t);
int32_t presso_tokenizer_bos(const presso_tokenizer *t); /* -1 if none */
int32_t presso_tokenizer_eos(const presso_tokenizer *t); /* -1 if none */
bool presso_tokenizer_adds_bos(const presso_tokenizer *t);
int32_t presso_tokenizer_unk(const presso_tokenizer *t); /* -1 if none */
/* The id of the token whose text is exactly `text` (e.g. "<|im_start|>"), -1 if none. */
int32_t presso_tokenizer_token_id(const presso_tokenizer *t, const char *text);

/* Encodes len bytes of UTF-8 text. *ids is malloc'd (caller frees), *n_ids
 * its length. add_bos prepends the BOS id when the tokenizer has one. Special
 * token text in the input is NOT parsed as special (llama.cpp's default for
 * perplexity). */
presso_status presso_tokenizer_encode(const presso_tokenizer *t, const char *text, size_t len, bool add_bos,
                                      int32_t **ids, int64_t *n_ids);

/* The bytes token `id` stands for when it follows token `prev` (-1 at the
 * start), as the reference decoder prints them: "▁" becomes a space, byte
 * tokens <0xXX> become that byte, byte-level BPE maps back to bytes, the
 * leading space after BOS is dropped where the reference drops it. Writes at
 * most cap bytes into buf, returns the byte count (0 for special tokens). */
size_t presso_tokenizer_decode(const presso_tokenizer *t, int32_t prev, int32_t id, char *buf, size_t cap);
/* A buffer of this many bytes holds any decoded token (pieces longer than
 * cap are cut at cap bytes). */
size_t presso_tokenizer_max_piece_len(const presso_tokenizer *t);

/* Stores the tokenizer as GGUF tokenizer.ggml.* keys (model, tokens, scores,
 * token_type, merges, bos/eos/unk/pad ids, add_bos_token, pre) so llama.cpp
 * tokenizes exactly as presso does. */
presso_status presso_tokenizer_write_gguf(const presso_tokenizer *t, presso_gguf_writer *w);

/* "llama2c-spm", "hf-bpe-spm", "gpt2", ... for `info`. */
const char *presso_tokenizer_kind_name(const presso_tokenizer *t);

#endif
