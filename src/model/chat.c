#include "model/chat.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "formats/gguf.h"

static const char IM_START[] = "<|im_start|>", IM_END[] = "<|im_end|>";

static presso_status get_template(const presso_model *m, presso_gguf_string *out) {
    if (m->format != PRESSO_FORMAT_GGUF || presso_gguf_find_key(m->format_handle, "tokenizer.chat_template") < 0)
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "%s: the model ships no chat template (tokenizer.chat_template)",
                           m->path);
    return presso_gguf_get_string(m->format_handle, "tokenizer.chat_template", out);
}

/* Finds needle in the (not NUL-terminated) template. */
static const char *find(const presso_gguf_string *hay, const char *from, const char *needle) {
    const size_t k = strlen(needle);
    const char *end = hay->ptr + hay->len;
    for (const char *p = from; p + k <= end; p++)
        if (memcmp(p, needle, k) == 0) return p;
    return NULL;
}

typedef struct {
    int32_t *ids;
    int64_t n, cap;
} id_list;

static presso_status push(id_list *l, int32_t id) {
    if (l->n == l->cap) {
        int64_t cap = l->cap ? 2 * l->cap : 256;
        int32_t *grown = realloc(l->ids, sizeof(int32_t) * (size_t)cap);
        if (!grown) return presso_fail(PRESSO_ERR_NOMEM, "out of memory");
        l->ids = grown;
        l->cap = cap;
    }
    l->ids[l->n++] = id;
    return PRESSO_OK;
}

static presso_status push_text(id_list *l, const presso_tokenizer *t, const char *text, size_t len) {
    int32_t *ids = NULL;
    int64_t n = 0;
    PRESSO_TRY(presso_tokenizer_encode(t, text, len, false, &ids, &n));
    presso_status st = PRESSO_OK;
    for (int64_t i = 0; i < n && st == PRESSO_OK; i++) st = push(l, ids[i]);
    free(ids);
    return st;
}

/* <|im_start|>role\\n content <|im_end|>\\n */
static presso_status push_turn(id_list *l, const presso_tokenizer *t, int32_t start, int32_t end, const char *role,
                               const char *content, size_t content_len) {
    PRESSO_TRY(push(l, start));
    PRESSO_TRY(push_text(l, t, role, strlen(role)));
    PRESSO_TRY(push_text(l, t, "\n", 1));
    if (content_len) PRESSO_TRY(push_text(l, t, content, content_len));
    PRESSO_TRY(push(l, end));
    return push_text(l, t, "\n", 1);
}

presso_status presso_chat_encode(const presso_model *m, const char *system, const char *user, int32_t **ids,
                                 int64_t *n_ids) {
    *ids = NULL;
    *n_ids = 0;
    if (!m->tokenizer) return presso_fail(PRESSO_ERR_INVALID_ARG, "%s: the model has no tokenizer", m->path);
    presso_gguf_string tmpl;
    PRESSO_TRY(get_template(m, &tmpl));
    const int32_t start = presso_tokenizer_token_id(m->tokenizer, IM_START);
    const int32_t end = presso_tokenizer_token_id(m->tokenizer, IM_END);
    if (!find(&tmpl, tmpl.ptr, IM_START) || start < 0 || end < 0)
        return presso_fail(PRESSO_ERR_UNSUPPORTED,
                           "%s: the chat template is not ChatML (<|im_start|>/<|im_end|>); presso does not run other "
                           "Jinja templates", m->path);
    /* The template's default system prompt: the text after "<|im_start|>system\\n" up to <|im_end|>. */
    const char *sys = system;
    size_t sys_len = system ? strlen(system) : 0;
    if (!system) {
        const char *p = find(&tmpl, tmpl.ptr, "<|im_start|>system\n");
        const char *q = p ? find(&tmpl, p, IM_END) : NULL;
        if (p && q) {
            sys = p + strlen("<|im_start|>system\n");
            sys_len = (size_t)(q - sys);
        }
    }
    id_list l = {0};
    presso_status st = PRESSO_OK;
    if (sys) st = push_turn(&l, m->tokenizer, start, end, "system", sys, sys_len);
    if (st == PRESSO_OK) st = push_turn(&l, m->tokenizer, start, end, "user", user, strlen(user));
    if (st == PRESSO_OK) st = push(&l, start);
    if (st == PRESSO_OK) st = push_text(&l, m->tokenizer, "assistant\n", strlen("assistant\n"));
    if (st != PRESSO_OK) {
        free(l.ids);
        return st;
    }
    *ids = l.ids;
    *n_ids = l.n;
    return PRESSO_OK;
}

int32_t presso_chat_end_token(const presso_model *m) {
    return m->tokenizer ? presso_tokenizer_token_id(m->tokenizer, IM_END) : -1;
}
