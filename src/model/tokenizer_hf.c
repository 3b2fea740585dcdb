/* HF tokenizers tokenizer.json with a BPE model, in the two shapes llama
 * models ship: the sentencepiece-like one (normalizer Prepend("▁") +
 * Replace(" ", "▁"), byte_fallback, no pre-tokenizer) and the byte-level one
 * (pre-tokenizer ByteLevel, optionally after Digits(individual_digits)).
 * Anything else is PRESSO_ERR_UNSUPPORTED rather than a silent mismatch. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/mapped_file.h"
#include "model/tokenizer_impl.h"

static const char *jstr(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool jtrue(const cJSON *o, const char *key) { return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key)); }

static bool is_type(const cJSON *o, const char *type) {
    const char *s = cJSON_IsObject(o) ? jstr(o, "type") : NULL;
    return s && strcmp(s, type) == 0;
}

/* Prepend("▁") then Replace(String " " -> "▁"), possibly as a Sequence. */
static bool is_spm_normalizer(const cJSON *n) {
    if (!is_type(n, "Sequence")) return false;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(n, "normalizers");
    if (cJSON_GetArraySize(list) != 2) return false;
    const cJSON *a = cJSON_GetArrayItem(list, 0), *b = cJSON_GetArrayItem(list, 1);
    const char *pre = jstr(a, "prepend");
    if (!is_type(a, "Prepend") || !pre || strcmp(pre, "\xe2\x96\x81") != 0) return false;
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(b, "pattern");
    const char *from = jstr(pat, "String"), *to = jstr(b, "content");
    return is_type(b, "Replace") && from && to && strcmp(from, " ") == 0 && strcmp(to, "\xe2\x96\x81") == 0;
}

static presso_status check_bytelevel(const char *name, const cJSON *bl, bool *add_prefix_space) {
    const cJSON *re = cJSON_GetObjectItemCaseSensitive(bl, "use_regex");
    if (re && !cJSON_IsTrue(re))
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: ByteLevel pre-tokenizer with use_regex false", name);
    *add_prefix_space = jtrue(bl, "add_prefix_space");
    return PRESSO_OK;
}

/* tokenizer_config.json's "bos_token": a string or {"content": ...}. */
static const char *config_token(const cJSON *cfg, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (cJSON_IsString(v)) return v->valuestring;
    if (cJSON_IsObject(v)) return jstr(v, "content");
    return NULL;
}

static presso_status config_id(const presso_tokenizer *t, const cJSON *cfg, const char *key, const char *name,
                               int32_t *id) {
    const char *s = config_token(cfg, key);
    if (!s) return PRESSO_OK;
    int32_t v = presso_tok_lookup(t, s, strlen(s));
    if (v < 0) return presso_fail(PRESSO_ERR_FORMAT, "%s: %s \"%s\" is not in the vocab", name, key, s);
    *id = v;
    return PRESSO_OK;
}

/* Splits a merge entry ("a b" or ["a", "b"]) into its two token ids. */
static presso_status merge_parts(const presso_tokenizer *t, const cJSON *m, int i, const char *name, int32_t *l,
                                 int32_t *r) {
    const char *a, *b;
    size_t na, nb;
    if (cJSON_IsString(m)) {
        const char *s = m->valuestring, *sp = strchr(s, ' ');
        if (!sp) return presso_fail(PRESSO_ERR_FORMAT, "%s: merge %d \"%.40s\" has no space", name, i, s);
        a = s;
        na = (size_t)(sp - s);
        b = sp + 1;
        nb = strlen(b);
    } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && cJSON_IsString(cJSON_GetArrayItem(m, 0)) &&
               cJSON_IsString(cJSON_GetArrayItem(m, 1))) {
        a = cJSON_GetArrayItem(m, 0)->valuestring;
        b = cJSON_GetArrayItem(m, 1)->valuestring;
        na = strlen(a);
        nb = strlen(b);
    } else {
        return presso_fail(PRESSO_ERR_FORMAT, "%s: merge %d is neither \"a b\" nor [\"a\", \"b\"]", name, i);
    }
    *l = presso_tok_lookup(t, a, na);
    *r = presso_tok_lookup(t, b, nb);
    if (*l < 0 || *r < 0)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: merge %d refers to a token not in the vocab (\"%.*s\")", name, i,
                           (int)(*l < 0 ? na : nb), *l < 0 ? a : b);
    return PRESSO_OK;
}

static presso_status build(const char *name, const cJSON *root, const cJSON *cfg, presso_tokenizer **out) {
    if (!cJSON_IsObject(root)) return presso_fail(PRESSO_ERR_FORMAT, "%s: not a JSON object", name);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (!cJSON_IsObject(model)) return presso_fail(PRESSO_ERR_FORMAT, "%s: missing \"model\" object", name);
    const char *mtype = jstr(model, "type");
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    if (mtype && strcmp(mtype, "BPE") != 0)
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: model type \"%s\" (only BPE)", name, mtype);
    if (!cJSON_IsObject(vocab)) return presso_fail(PRESSO_ERR_FORMAT, "%s: model.vocab is not an object", name);
    if (!cJSON_IsArray(merges)) return presso_fail(PRESSO_ERR_FORMAT, "%s: model.merges is not an array", name);
    if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(model, "continuing_subword_prefix")) ||
        cJSON_IsString(cJSON_GetObjectItemCaseSensitive(model, "end_of_word_suffix")))
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: BPE with a subword prefix/suffix", name);
    const cJSON *dropout = cJSON_GetObjectItemCaseSensitive(model, "dropout");
    if (cJSON_IsNumber(dropout) && dropout->valuedouble != 0.0)
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: BPE dropout %g", name, dropout->valuedouble);

    /* flavour from normalizer + pre-tokenizer */
    const cJSON *norm = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
    presso_tok_kind kind;
    presso_pre_kind pre_kind = PRESSO_PRE_GPT2;
    bool add_prefix_space = false;
    if (is_spm_normalizer(norm) && (!pre || cJSON_IsNull(pre))) {
        kind = PRESSO_TOK_HF_SPM;
    } else if ((!norm || cJSON_IsNull(norm)) && is_type(pre, "ByteLevel")) {
        kind = PRESSO_TOK_GPT2;
        PRESSO_TRY(check_bytelevel(name, pre, &add_prefix_space));
    } else if ((!norm || cJSON_IsNull(norm)) && is_type(pre, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(pre, "pretokenizers");
        const cJSON *a = cJSON_GetArrayItem(list, 0), *b = cJSON_GetArrayItem(list, 1);
        if (cJSON_GetArraySize(list) != 2 || !is_type(a, "Digits") || !jtrue(a, "individual_digits") ||
            !is_type(b, "ByteLevel"))
            return presso_fail(PRESSO_ERR_UNSUPPORTED,
                               "%s: pre-tokenizer Sequence other than [Digits(individual), ByteLevel]", name);
        PRESSO_TRY(check_bytelevel(name, b, &add_prefix_space));
        if (add_prefix_space)
            return presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: Digits + ByteLevel(add_prefix_space)", name);
        kind = PRESSO_TOK_GPT2;
        pre_kind = PRESSO_PRE_DIGITS;
    } else {
        return presso_fail(PRESSO_ERR_UNSUPPORTED,
                           "%s: normalizer/pre-tokenizer combination (supported: Prepend+Replace \"\xe2\x96\x81\" "
                           "without pre-tokenizer, or ByteLevel [after Digits])",
                           name);
    }

    /* vocab size: highest id in vocab and added_tokens, every id used once */
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    int64_t n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, vocab) {
        if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble >= (1 << 24) ||
            it->valuedouble != (double)(int32_t)it->valuedouble)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: vocab entry \"%.40s\" has no valid id", name, it->string);
        if (it->valueint + 1 > n) n = it->valueint + 1;
    }
    if (added && !cJSON_IsArray(added)) return presso_fail(PRESSO_ERR_FORMAT, "%s: added_tokens is not an array", name);
    cJSON_ArrayForEach(it, added) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble >= (1 << 24) || !jstr(it, "content"))
            return presso_fail(PRESSO_ERR_FORMAT, "%s: added token without valid id/content", name);
        if (id->valueint + 1 > n) n = id->valueint + 1;
    }
    if (n == 0) return presso_fail(PRESSO_ERR_FORMAT, "%s: empty vocab", name);
    presso_tokenizer *t = presso_tok_new(kind, (int32_t)n);
    const char **texts = calloc((size_t)n, sizeof *texts);
    uint32_t *lens = calloc((size_t)n, sizeof *lens);
    presso_status st = PRESSO_OK;
    if (!t || !texts || !lens) st = presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory for %lld tokens", name, (long long)n);
    if (st == PRESSO_OK) {
        cJSON_ArrayForEach(it, vocab) {
            int32_t id = it->valueint;
            if (texts[id]) {
                st = presso_fail(PRESSO_ERR_FORMAT, "%s: id %d is used by two vocab entries", name, (int)id);
                break;
            }
            texts[id] = it->string;
        }
    }
    if (st == PRESSO_OK) {
        cJSON_ArrayForEach(it, added) {
            int32_t id = cJSON_GetObjectItemCaseSensitive(it, "id")->valueint;
            const char *c = jstr(it, "content");
            if (texts[id] && strcmp(texts[id], c) != 0) {
                st = presso_fail(PRESSO_ERR_FORMAT, "%s: added token %d \"%.40s\" differs from vocab \"%.40s\"", name,
                                 (int)id, c, texts[id]);
                break;
            }
            texts[id] = c;
            t->type[id] = jtrue(it, "special") ? PRESSO_TOKTYPE_CONTROL : PRESSO_TOKTYPE_USER_DEFINED;
        }
    }
    for (int64_t i = 0; st == PRESSO_OK && i < n; i++) {
        if (!texts[i]) st = presso_fail(PRESSO_ERR_FORMAT, "%s: no token has id %lld", name, (long long)i);
        else lens[i] = (uint32_t)strlen(texts[i]);
    }
    if (st == PRESSO_OK) st = presso_tok_set_texts(t, texts, lens);
    if (st == PRESSO_OK) st = presso_tok_build_vocab(t, false);
    if (st == PRESSO_OK) st = presso_tok_build_user(t);
    if (st == PRESSO_OK) {
        int nm = cJSON_GetArraySize(merges);
        st = presso_tok_alloc_merges(t, nm);
        const cJSON *m = merges->child;
        for (int i = 0; st == PRESSO_OK && i < nm; i++, m = m->next) {
            int32_t l = -1, r = -1;
            st = merge_parts(t, m, i, name, &l, &r);
            if (st != PRESSO_OK) break;
            /* the merged text must be a token (HF: MergeTokenOutOfVocabulary) */
            size_t nl = t->length[l], nr = t->length[r];
            char *cat = malloc(nl + nr + 1);
            if (!cat) {
                st = presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", name);
                break;
            }
            memcpy(cat, t->blob + t->offset[l], nl);
            memcpy(cat + nl, t->blob + t->offset[r], nr);
            int32_t res = presso_tok_lookup(t, cat, nl + nr);
            if (res < 0)
                st = presso_fail(PRESSO_ERR_FORMAT, "%s: merge %d makes \"%.*s\", which is not in the vocab", name, i,
                                 (int)(nl + nr > 60 ? 60 : nl + nr), cat);
            free(cat);
            if (st == PRESSO_OK) presso_tok_add_merge(t, i, l, r, res, false); /* HF: a repeated pair's last rank wins */
        }
    }
    if (st == PRESSO_OK) {
        t->hf_merge_check = true;
        t->pre = pre_kind;
        t->hf_add_prefix_space = add_prefix_space;
        t->byte_fallback = jtrue(model, "byte_fallback");
        t->fuse_unk = jtrue(model, "fuse_unk");
        t->ignore_merges = jtrue(model, "ignore_merges");
        const char *unk = jstr(model, "unk_token");
        if (unk) {
            t->hf_unk = presso_tok_lookup(t, unk, strlen(unk));
            if (t->hf_unk < 0) st = presso_fail(PRESSO_ERR_FORMAT, "%s: unk_token \"%.40s\" is not in the vocab", name, unk);
            else t->unk = t->hf_unk;
        }
        snprintf(t->pre_name, sizeof t->pre_name, "%s", pre_kind == PRESSO_PRE_DIGITS ? "smollm" : "gpt-2");
        if (kind == PRESSO_TOK_GPT2) presso_tok_build_bytechars(t);
        if (kind == PRESSO_TOK_HF_SPM) {
            t->add_space_prefix = true;
            for (int b = 0; b < 256; b++)
                if (t->byte_token[b] >= 0) t->type[t->byte_token[b]] = PRESSO_TOKTYPE_BYTE;
        }
        if (t->unk >= 0 && t->type[t->unk] == PRESSO_TOKTYPE_CONTROL) t->type[t->unk] = PRESSO_TOKTYPE_UNKNOWN;
    }
    /* BOS: a TemplateProcessing that starts with a special token adds it */
    const cJSON *post = cJSON_GetObjectItemCaseSensitive(root, "post_processor");
    if (st == PRESSO_OK && is_type(post, "TemplateProcessing")) {
        const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(post, "single"), 0);
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(first, "SpecialToken");
        const char *bos = jstr(sp, "id");
        if (bos) {
            t->bos = presso_tok_lookup(t, bos, strlen(bos));
            t->add_bos = t->bos >= 0;
        }
    }
    if (st == PRESSO_OK && cfg) {
        st = config_id(t, cfg, "bos_token", name, &t->bos);
        if (st == PRESSO_OK) st = config_id(t, cfg, "eos_token", name, &t->eos);
        if (st == PRESSO_OK) st = config_id(t, cfg, "unk_token", name, &t->unk);
        if (st == PRESSO_OK) st = config_id(t, cfg, "pad_token", name, &t->pad);
        const cJSON *ab = cJSON_GetObjectItemCaseSensitive(cfg, "add_bos_token");
        if (cJSON_IsBool(ab)) t->add_bos = cJSON_IsTrue(ab);
        const cJSON *ae = cJSON_GetObjectItemCaseSensitive(cfg, "add_eos_token");
        if (cJSON_IsBool(ae)) t->add_eos = cJSON_IsTrue(ae);
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

static cJSON *parse_json(const uint8_t *data, size_t size) {
    return data ? cJSON_ParseWithLength((const char *)data, size) : NULL;
}

presso_status presso_tokenizer_load_hf_buffer(const uint8_t *json, size_t json_size, const uint8_t *config,
                                              size_t config_size, const char *name, presso_tokenizer **out) {
    *out = NULL;
    cJSON *root = parse_json(json, json_size);
    if (!root) return presso_fail(PRESSO_ERR_FORMAT, "%s: not valid JSON", name);
    cJSON *cfg = NULL;
    if (config) {
        cfg = parse_json(config, config_size);
        if (!cfg || !cJSON_IsObject(cfg)) {
            cJSON_Delete(root);
            cJSON_Delete(cfg);
            return presso_fail(PRESSO_ERR_FORMAT, "%s: tokenizer config is not a JSON object", name);
        }
    }
    presso_status st = build(name, root, cfg, out);
    cJSON_Delete(root);
    cJSON_Delete(cfg);
    return st;
}

presso_status presso_tokenizer_load_hf(const char *tokenizer_json, const char *tokenizer_config_json,
                                       presso_tokenizer **out) {
    *out = NULL;
    presso_mapped_file j, c = {0};
    PRESSO_TRY(presso_map_file(tokenizer_json, &j));
    if (tokenizer_config_json) {
        presso_status st = presso_map_file(tokenizer_config_json, &c);
        if (st != PRESSO_OK) {
            presso_unmap_file(&j);
            return st;
        }
    }
    cJSON *root = parse_json(j.data, j.size);
    cJSON *cfg = tokenizer_config_json ? parse_json(c.data, c.size) : NULL;
    presso_status st;
    if (!root) {
        st = presso_fail(PRESSO_ERR_FORMAT, "%s: not valid JSON", tokenizer_json);
    } else if (tokenizer_config_json && !cJSON_IsObject(cfg)) {
        st = presso_fail(PRESSO_ERR_FORMAT, "%s: not a JSON object", tokenizer_config_json);
    } else {
        st = build(tokenizer_json, root, cfg, out);
    }
    cJSON_Delete(root);
    cJSON_Delete(cfg);
    presso_unmap_file(&j);
    if (tokenizer_config_json) presso_unmap_file(&c);
    return st;
}
