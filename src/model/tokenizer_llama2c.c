/* llama2.c tokenizer.bin: int32 max_token_length, then per token a float32
 * score, an int32 byte length and the bytes (run.c build_tokenizer()). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/mapped_file.h"
#include "model/tokenizer_impl.h"

static int32_t rd_i32(const uint8_t *p) {
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    int32_t r;
    memcpy(&r, &v, 4);
    return r;
}

static presso_status parse(const char *path, const uint8_t *d, size_t size, int32_t vocab_size,
                           presso_tokenizer **out) {
    if (vocab_size <= 0 || vocab_size > (1 << 24))
        return presso_fail(PRESSO_ERR_INVALID_ARG, "%s: vocab size %d from the model header is out of range",
                           path, (int)vocab_size);
    if (size < 4) return presso_fail(PRESSO_ERR_FORMAT, "%s: truncated: %zu bytes, no max_token_length", path, size);
    int32_t max_len = rd_i32(d);
    if (max_len <= 0 || (size_t)max_len > size)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: max_token_length %d is out of range", path, (int)max_len);
    const char **texts = malloc((size_t)vocab_size * sizeof *texts);
    uint32_t *lens = malloc((size_t)vocab_size * sizeof *lens);
    presso_tokenizer *t = presso_tok_new(PRESSO_TOK_LLAMA2C, vocab_size);
    presso_status st = PRESSO_OK;
    if (!texts || !lens || !t) st = presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory for %d tokens", path, (int)vocab_size);
    size_t o = 4;
    for (int32_t i = 0; st == PRESSO_OK && i < vocab_size; i++) {
        if (size - o < 8) {
            st = presso_fail(PRESSO_ERR_FORMAT, "%s: truncated at token %d of %d (offset %zu)", path, (int)i,
                             (int)vocab_size, o);
            break;
        }
        float score;
        memcpy(&score, d + o, 4);
        int32_t len = rd_i32(d + o + 4);
        o += 8;
        if (len < 0 || len > max_len) {
            st = presso_fail(PRESSO_ERR_FORMAT, "%s: token %d has length %d (max_token_length %d, offset %zu)",
                             path, (int)i, (int)len, (int)max_len, o - 4);
            break;
        }
        if ((size_t)len > size - o) {
            st = presso_fail(PRESSO_ERR_FORMAT, "%s: truncated inside token %d (needs %d bytes at offset %zu)", path,
                             (int)i, (int)len, o);
            break;
        }
        if (score != score) {
            st = presso_fail(PRESSO_ERR_FORMAT, "%s: token %d has a NaN score", path, (int)i);
            break;
        }
        texts[i] = (const char *)d + o;
        lens[i] = (uint32_t)len;
        t->score[i] = score;
        o += (size_t)len;
    }
    if (st == PRESSO_OK) st = presso_tok_set_texts(t, texts, lens);
    if (st == PRESSO_OK) st = presso_tok_build_vocab(t, false);
    if (st == PRESSO_OK) st = presso_tok_build_can_merge_spm(t);
    if (st == PRESSO_OK) {
        /* run.c hard-codes BOS = 1, EOS = 2 and byte fallback = byte + 3 */
        t->unk = 0;
        t->bos = vocab_size > 1 ? 1 : -1;
        t->eos = vocab_size > 2 ? 2 : -1;
        t->add_bos = true;
        t->add_space_prefix = true;
        t->type[0] = PRESSO_TOKTYPE_UNKNOWN;
        if (t->bos >= 0) t->type[1] = PRESSO_TOKTYPE_CONTROL;
        if (t->eos >= 0) t->type[2] = PRESSO_TOKTYPE_CONTROL;
        for (int b = 0; b < 256; b++)
            if (t->byte_token[b] >= 0) t->type[t->byte_token[b]] = PRESSO_TOKTYPE_BYTE;
    }
    free(texts);
    free(lens);
    if (st != PRESSO_OK) {
        presso_tokenizer_free(t);
        return st;
    }
    *out = t;
    return PRESSO_OK;
}

presso_status presso_tokenizer_load_llama2c(const char *path, int32_t vocab_size, presso_tokenizer **out) {
    *out = NULL;
    presso_mapped_file f;
    PRESSO_TRY(presso_map_file(path, &f));
    presso_status st = parse(path, f.data, f.size, vocab_size, out);
    presso_unmap_file(&f);
    return st;
}

presso_status presso_tokenizer_load_llama2c_buffer(const uint8_t *data, size_t size, const char *name,
                                                   int32_t vocab_size, presso_tokenizer **out) {
    *out = NULL;
    return parse(name, data, size, vocab_size, out);
}
