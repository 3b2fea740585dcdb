/* presso_model_open: tells the format from the path and the file's magic,
 * loads the weights with the format's loader, attaches the tokenizer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/path.h"
#include "model/model.h"

/* Reads the first 4 bytes to tell GGUF from a llama2.c checkpoint. */
static presso_status sniff_magic(const char *path, uint8_t magic[4]) {
    FILE *f = fopen(path, "rb");
    if (!f) return presso_fail(PRESSO_ERR_IO, "%s: cannot open", path);
    size_t n = fread(magic, 1, 4, f);
    fclose(f);
    if (n != 4) return presso_fail(PRESSO_ERR_FORMAT, "%s: file is %zu bytes, too short for any model format", path, n);
    return PRESSO_OK;
}

/* llama2.c keeps the tokenizer beside the checkpoint: tok<vocab>.bin as in
 * the stories260K release, or tokenizer.bin. */
static presso_status find_llama2c_tokenizer(const char *model_path, int32_t vocab, char *out, size_t cap) {
    char dir[PRESSO_PATH_MAX], name[64];
    out[0] = '\0';
    PRESSO_TRY(presso_path_dirname(dir, sizeof dir, model_path));
    snprintf(name, sizeof name, "tok%d.bin", (int)vocab);
    PRESSO_TRY(presso_path_join(out, cap, dir, name));
    if (presso_path_is_file(out)) return PRESSO_OK;
    PRESSO_TRY(presso_path_join(out, cap, dir, "tokenizer.bin"));
    if (!presso_path_is_file(out)) out[0] = '\0';
    return PRESSO_OK;
}

static presso_status attach_llama2c_tokenizer(presso_model *m, const char *model_path, const char *tokenizer_path);

/* HF: tokenizer.json (+ tokenizer_config.json) in the model directory, or
 * the tokenizer.json given. */
static presso_status attach_hf_tokenizer(presso_model *m, const char *hf_dir, const char *tokenizer_path) {
    char json[PRESSO_PATH_MAX], dir[PRESSO_PATH_MAX], config[PRESSO_PATH_MAX];
    if (tokenizer_path) {
        PRESSO_TRY(presso_path_join(json, sizeof json, "", tokenizer_path));
    } else {
        PRESSO_TRY(presso_path_join(json, sizeof json, hf_dir, "tokenizer.json"));
        if (!presso_path_is_file(json)) return PRESSO_OK;
    }
    PRESSO_TRY(presso_path_dirname(dir, sizeof dir, json));
    PRESSO_TRY(presso_path_join(config, sizeof config, dir, "tokenizer_config.json"));
    return presso_tokenizer_load_hf(json, presso_path_is_file(config) ? config : NULL, &m->tokenizer);
}

static void set_name_from_path(presso_model *m, const char *path) {
    const char *base = presso_path_basename(path);
    int n = snprintf(m->name, sizeof m->name, "%s", *base ? base : path);
    (void)n; /* a long name is cut for display only */
}

presso_status presso_model_open(const char *path, const char *tokenizer_path, presso_model **out) {
    *out = NULL;
    presso_model *m = calloc(1, sizeof *m);
    if (!m) return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", path);
    if (snprintf(m->path, sizeof m->path, "%s", path) >= (int)sizeof m->path) {
        free(m);
        return presso_fail(PRESSO_ERR_INVALID_ARG, "model path too long: %s", path);
    }
    set_name_from_path(m, path);

    presso_status st;
    if (presso_path_is_dir(path) || presso_path_has_suffix(path, ".safetensors") ||
        presso_path_has_suffix(path, "config.json") || presso_path_has_suffix(path, ".safetensors.index.json")) {
        char hf_dir[PRESSO_PATH_MAX];
        st = presso_model_load_hf(m, path, hf_dir, sizeof hf_dir);
        if (st == PRESSO_OK) st = attach_hf_tokenizer(m, hf_dir, tokenizer_path);
    } else {
        uint8_t magic[4];
        st = sniff_magic(path, magic);
        if (st == PRESSO_OK) {
            if (memcmp(magic, "GGUF", 4) == 0) {
                st = presso_model_load_gguf(m, path);
                if (st == PRESSO_OK && tokenizer_path)
                    st = presso_fail(PRESSO_ERR_INVALID_ARG, "%s: a GGUF model carries its own tokenizer; "
                                     "do not pass one", path);
                if (st == PRESSO_OK && presso_gguf_find_key(m->format_handle, "tokenizer.ggml.model") >= 0)
                    st = presso_tokenizer_load_gguf(m->format_handle, &m->tokenizer);
            } else {
                st = presso_model_load_llama2c(m, path);
                if (st == PRESSO_OK) st = attach_llama2c_tokenizer(m, path, tokenizer_path);
            }
        }
    }
    if (st == PRESSO_OK) st = presso_model_validate(m);
    if (st == PRESSO_OK && m->tokenizer && presso_tokenizer_vocab_size(m->tokenizer) != m->config.vocab_size)
        st = presso_fail(PRESSO_ERR_SHAPE, "%s: tokenizer has %d tokens but the model's vocabulary is %d", path,
                         presso_tokenizer_vocab_size(m->tokenizer), m->config.vocab_size);
    if (st != PRESSO_OK) {
        presso_model_free(m);
        return st;
    }
    *out = m;
    return PRESSO_OK;
}

static presso_status attach_llama2c_tokenizer(presso_model *m, const char *model_path, const char *tokenizer_path) {
    char found[PRESSO_PATH_MAX];
    if (!tokenizer_path) {
        PRESSO_TRY(find_llama2c_tokenizer(model_path, m->config.vocab_size, found, sizeof found));
        if (!found[0]) return PRESSO_OK; /* a tokenizer-less model still runs on token ids */
        tokenizer_path = found;
    }
    return presso_tokenizer_load_llama2c(tokenizer_path, m->config.vocab_size, &m->tokenizer);
}

