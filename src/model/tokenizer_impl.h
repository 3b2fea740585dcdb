/* Internals shared by the tokenizer files: the one struct all flavours fill,
 * hash maps for vocab and merges, and the per-flavour encoders. */
#ifndef PRESSO_MODEL_TOKENIZER_IMPL_H
#define PRESSO_MODEL_TOKENIZER_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/tokenizer.h"

typedef enum {
    PRESSO_TOK_LLAMA2C, /* llama2.c tokenizer.bin, run.c encode() */
    PRESSO_TOK_SPM,     /* GGUF "llama": llama.cpp llm_tokenizer_spm */
    PRESSO_TOK_HF_SPM,  /* HF BPE with the Prepend/Replace "▁" normalizer */
    PRESSO_TOK_GPT2,    /* byte-level BPE: GGUF "gpt2" or HF ByteLevel */
} presso_tok_kind;

/* GGUF / llama.cpp token types. */
enum {
    PRESSO_TOKTYPE_NORMAL = 1,
    PRESSO_TOKTYPE_UNKNOWN = 2,
    PRESSO_TOKTYPE_CONTROL = 3,
    PRESSO_TOKTYPE_USER_DEFINED = 4,
    PRESSO_TOKTYPE_UNUSED = 5,
    PRESSO_TOKTYPE_BYTE = 6,
};

typedef enum {
    PRESSO_PRE_GPT2,   /* the GPT-2 regex alone */
    PRESSO_PRE_DIGITS, /* each \p{N} split off first, then the GPT-2 regex (smollm) */
} presso_pre_kind;

/* Open-addressing map from byte strings (token texts in t->blob) to ids. */
typedef struct {
    int32_t *slots; /* token id or -1 */
    uint64_t mask;
} presso_tok_strmap;

/* Map from a (left id, right id) pair to its merge rank and result id. */
typedef struct {
    uint64_t *keys; /* (left << 32 | right) + 1, 0 = empty */
    int32_t *rank;
    int32_t *result;
    uint64_t mask;
} presso_tok_pairmap;

struct presso_tokenizer {
    presso_tok_kind kind;
    int32_t n_vocab;
    char *blob;       /* all token texts, each NUL-terminated */
    int64_t *offset;  /* text of token i = blob + offset[i] */
    uint32_t *length; /* its byte length */
    float *score;
    int32_t *type;    /* PRESSO_TOKTYPE_* */
    presso_tok_strmap vocab;
    /* 0 where a token can never take part in a merge (never a left/right of a
     * merge; SPM: never a proper prefix/suffix of another token). Such a
     * symbol splits the text into parts that merge independently, which
     * keeps the merge queues small. */
    uint8_t *can_merge;

    /* Rank-ordered merges (BPE flavours): left/right/result ids. */
    int32_t n_merges;
    int32_t *merge_left, *merge_right, *merge_result;
    presso_tok_pairmap merges;
    bool hf_merge_check; /* HF: a stale queue entry must still be the same merge */

    /* USER_DEFINED tokens, longest first: split out of the input before
     * tokenizing (llama.cpp tokenizer_st_partition does so even when special
     * tokens are not parsed; HF does for every added token). */
    int32_t n_user;
    int32_t *user;

    int32_t bos, eos, unk, pad;
    bool add_bos, add_eos, add_space_prefix;
    int32_t byte_token[256];     /* "<0xXX>" ids, -1 if absent */
    int32_t bytechar_token[256]; /* byte-level: id of the mapped char of byte b */
    presso_pre_kind pre;
    char pre_name[64];

    /* HF BPE options */
    bool byte_fallback, fuse_unk, ignore_merges;
    int32_t hf_unk; /* model.unk_token id or -1 */
    bool hf_add_prefix_space; /* ByteLevel add_prefix_space */
};

/* ---- tokenizer.c: construction helpers ---- */
presso_tokenizer *presso_tok_new(presso_tok_kind kind, int32_t n_vocab);
/* Copies token texts (texts[i] of lens[i] bytes) into the blob. */
presso_status presso_tok_set_texts(presso_tokenizer *t, const char *const *texts, const uint32_t *lens);
/* Builds the text -> id map; last_wins picks which id a duplicate text gets
 * (llama.cpp: last; HF and llama2.c have none). Also fills byte_token. */
presso_status presso_tok_build_vocab(presso_tokenizer *t, bool last_wins);
int32_t presso_tok_lookup(const presso_tokenizer *t, const char *s, size_t n);
/* Registers merge number `rank`; first_wins: a repeated pair keeps its first
 * rank (llama.cpp), else its last (HF). */
presso_status presso_tok_alloc_merges(presso_tokenizer *t, int32_t n);
void presso_tok_add_merge(presso_tokenizer *t, int32_t rank, int32_t left, int32_t right, int32_t result,
                          bool first_wins);
bool presso_tok_find_merge(const presso_tokenizer *t, int32_t left, int32_t right, int32_t *rank,
                           int32_t *result);
/* GPT-2's bytes_to_unicode(): the code point byte b is shown as. */
uint32_t presso_tok_byte_to_cp(uint8_t b);
/* Fills can_merge for score-driven merging (token texts that are a proper
 * prefix or suffix of another token). BPE sets it in presso_tok_add_merge. */
presso_status presso_tok_build_can_merge_spm(presso_tokenizer *t);
/* Collects the USER_DEFINED tokens into t->user. */
presso_status presso_tok_build_user(presso_tokenizer *t);
/* Fills bytechar_token from the vocab. */
void presso_tok_build_bytechars(presso_tokenizer *t);

/* ---- growable id list ---- */
typedef struct {
    int32_t *v;
    int64_t n, cap;
} presso_idvec;
presso_status presso_idvec_push(presso_idvec *a, int32_t id);

/* ---- encoders ---- */
presso_status presso_tok_encode_llama2c(const presso_tokenizer *t, const char *text, size_t len, bool bos,
                                        presso_idvec *out);
presso_status presso_tok_encode_spm(const presso_tokenizer *t, const char *text, size_t len, presso_idvec *out);
presso_status presso_tok_encode_hf_spm(const presso_tokenizer *t, const char *text, size_t len, presso_idvec *out);
presso_status presso_tok_encode_gpt2(const presso_tokenizer *t, const char *text, size_t len, presso_idvec *out);

/* ---- min-heap of merge candidates, ordered by (priority, left) ---- */
typedef struct {
    uint64_t key; /* priority << 32 | left: one compare gives both orders */
    int32_t right;
    int32_t aux; /* SPM: merged byte size; BPE: result id */
} presso_tok_cand;
typedef struct {
    presso_tok_cand *v;
    int64_t n, cap;
} presso_tok_heap;
/* Priority of a score (higher scores first; -0 and +0 tie, NaN last). */
uint32_t presso_tok_score_priority(float score);
static inline presso_tok_cand presso_tok_make_cand(uint32_t priority, int32_t left, int32_t right, int32_t aux) {
    presso_tok_cand c = {((uint64_t)priority << 32) | (uint32_t)left, right, aux};
    return c;
}
static inline int32_t presso_tok_cand_left(presso_tok_cand c) { return (int32_t)(uint32_t)c.key; }
presso_status presso_tok_heap_push(presso_tok_heap *h, presso_tok_cand c);
presso_tok_cand presso_tok_heap_pop(presso_tok_heap *h);

#endif
