/* Task file readers: llama.cpp's 6-line HellaSwag text, LAMBADA jsonl
 * ({"text"}) and the generic multiple-choice jsonl ({"query", "choices",
 * "gold"}). Every line is untrusted: a malformed one is an error naming the
 * file and line, or (skip_bad) an item left out and counted. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "eval/tasks.h"

static void item_free(presso_task_item *it) {
    free(it->context);
    for (int32_t j = 0; j < it->n_choices; j++) free(it->choices[j]);
    free(it->choices);
    memset(it, 0, sizeof *it);
}

void presso_task_free(presso_task_set *t) {
    if (!t) return;
    for (int64_t i = 0; i < t->n_items; i++) item_free(&t->items[i]);
    free(t->items);
    free(t);
}

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

typedef struct {
    presso_task_set *t;
    int64_t cap;
    bool skip_bad;
} reader;

/* A malformed item: an error, or with skip_bad a count (and the first reason). */
static presso_status bad_line(reader *r, int64_t line, const char *why) {
    if (!r->skip_bad)
        return presso_fail(PRESSO_ERR_FORMAT, "%s:%lld: %s", r->t->path, (long long)line, why);
    if (r->t->n_skipped++ == 0) {
        r->t->first_skipped_line = line;
        snprintf(r->t->first_skipped_why, sizeof r->t->first_skipped_why, "%s", why);
    }
    return PRESSO_OK;
}

static presso_status push_item(reader *r, presso_task_item *it) {
    presso_task_set *t = r->t;
    if (t->n_items == r->cap) {
        const int64_t cap = r->cap ? 2 * r->cap : 256;
        presso_task_item *grown = realloc(t->items, sizeof *grown * (size_t)cap);
        if (!grown) {
            item_free(it);
            return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory for %lld items", t->path, (long long)cap);
        }
        t->items = grown;
        r->cap = cap;
    }
    t->items[t->n_items++] = *it;
    return PRESSO_OK;
}

/* Fills an item's strings; false on out-of-memory (the item is then freed). */
static bool item_alloc(presso_task_item *it, const char *context, size_t context_len, int32_t n_choices) {
    memset(it, 0, sizeof *it);
    it->context = dup_n(context, context_len);
    it->choices = calloc((size_t)n_choices, sizeof(char *));
    if (!it->context || !it->choices) {
        item_free(it);
        return false;
    }
    it->n_choices = n_choices;
    return true;
}

/* ---- hellaswag: 6 lines a task ------------------------------------------ */

/* llama.cpp reads the gold index with std::stoi; presso is stricter: a
 * plain integer 0..3 and nothing else on the line. */
static bool parse_gold(const char *s, size_t n, int32_t *gold) {
    if (n == 0 || n > 9) return false;
    int32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *gold = v;
    return true;
}

static presso_status parse_hellaswag(reader *r, const char *text, size_t len) {
    /* Lines split at '\n' only, as std::getline does (a '\r' stays in the line). */
    int64_t n_lines = 0;
    for (size_t i = 0; i < len; i++) n_lines += text[i] == '\n';
    if (len > 0 && text[len - 1] != '\n') n_lines++;
    if (n_lines == 0) return presso_fail(PRESSO_ERR_FORMAT, "%s: no tasks (the file is empty)", r->t->path);
    const char *p = text, *end = text + len;
    int64_t line = 0;
    while (p < end) {
        const char *start[6];
        size_t n[6];
        int got = 0;
        const int64_t first = line + 1;
        for (; got < 6 && p < end; got++) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *stop = nl ? nl : end;
            start[got] = p;
            n[got] = (size_t)(stop - p);
            p = nl ? nl + 1 : end;
            line++;
        }
        if (got < 6) {
            char why[160];
            snprintf(why, sizeof why, "incomplete task: %d of its 6 lines (context, gold, 4 endings); the file has "
                     "%lld lines, not a multiple of 6", got, (long long)n_lines);
            PRESSO_TRY(bad_line(r, first, why));
            break;
        }
        int32_t gold = -1;
        if (!parse_gold(start[1], n[1], &gold) || gold > 3) {
            char why[160];
            snprintf(why, sizeof why, "the gold line of the task starting at line %lld is '%.40s', not 0..3 "
                     "(6-line structure: context, gold, 4 endings)", (long long)first, n[1] ? start[1] : "");
            PRESSO_TRY(bad_line(r, first + 1, why));
            continue;
        }
        if (n[0] == 0) {
            PRESSO_TRY(bad_line(r, first, "empty context line"));
            continue;
        }
        presso_task_item it;
        if (!item_alloc(&it, start[0], n[0], 4))
            return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", r->t->path);
        it.gold = gold;
        it.line = first;
        for (int j = 0; j < 4; j++)
            if (!(it.choices[j] = dup_n(start[2 + j], n[2 + j]))) {
                item_free(&it);
                return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", r->t->path);
            }
        PRESSO_TRY(push_item(r, &it));
    }
    return PRESSO_OK;
}

/* ---- jsonl: lambada and multiple choice --------------------------------- */

static bool blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return false;
    return true;
}

/* One json line into an item; *why is set (and false returned) when the
 * line is malformed. NOMEM comes back as status. */
static presso_status parse_json_item(presso_task_kind kind, const cJSON *o, presso_task_item *it, bool *ok,
                                     char *why, size_t why_cap) {
    *ok = false;
    if (!cJSON_IsObject(o)) {
        snprintf(why, why_cap, "not a JSON object");
        return PRESSO_OK;
    }
    if (kind == PRESSO_TASK_LAMBADA) {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(o, "text");
        if (!cJSON_IsString(text)) {
            snprintf(why, why_cap, "no string \"text\"");
            return PRESSO_OK;
        }
        const char *s = text->valuestring;
        const char *space = strrchr(s, ' ');
        if (!space || space == s || space[1] == '\0') {
            snprintf(why, why_cap, "\"text\" has no context and last word separated by a space");
            return PRESSO_OK;
        }
        if (!item_alloc(it, s, (size_t)(space - s), 1) || !(it->choices[0] = dup_n(space, strlen(space)))) {
            item_free(it);
            return presso_fail(PRESSO_ERR_NOMEM, "out of memory");
        }
        it->gold = 0;
        *ok = true;
        return PRESSO_OK;
    }
    const cJSON *query = cJSON_GetObjectItemCaseSensitive(o, "query");
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(o, "choices");
    const cJSON *gold = cJSON_GetObjectItemCaseSensitive(o, "gold");
    if (!cJSON_IsString(query)) {
        snprintf(why, why_cap, "no string \"query\"");
        return PRESSO_OK;
    }
    if (!cJSON_IsArray(choices)) {
        snprintf(why, why_cap, "no array \"choices\"");
        return PRESSO_OK;
    }
    const int n = cJSON_GetArraySize(choices);
    if (n < 2) {
        snprintf(why, why_cap, "\"choices\" has %d entries; multiple choice needs at least 2", n);
        return PRESSO_OK;
    }
    for (const cJSON *c = choices->child; c; c = c->next)
        if (!cJSON_IsString(c) || c->valuestring[0] == '\0') {
            snprintf(why, why_cap, "\"choices\" holds an entry that is not a non-empty string");
            return PRESSO_OK;
        }
    if (!cJSON_IsNumber(gold) || gold->valuedouble != floor(gold->valuedouble) || gold->valuedouble < 0 ||
        gold->valuedouble >= n) {
        snprintf(why, why_cap, "\"gold\" must be an integer index into the %d choices (0..%d)", n, n - 1);
        return PRESSO_OK;
    }
    if (!item_alloc(it, query->valuestring, strlen(query->valuestring), n))
        return presso_fail(PRESSO_ERR_NOMEM, "out of memory");
    int j = 0;
    for (const cJSON *c = choices->child; c; c = c->next, j++)
        if (!(it->choices[j] = dup_n(c->valuestring, strlen(c->valuestring)))) {
            item_free(it);
            return presso_fail(PRESSO_ERR_NOMEM, "out of memory");
        }
    it->gold = (int32_t)gold->valuedouble;
    *ok = true;
    return PRESSO_OK;
}

static presso_status parse_jsonl(reader *r, presso_task_kind kind, const char *text, size_t len) {
    const char *p = text, *end = text + len;
    int64_t line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        const size_t n = (size_t)(stop - p);
        const char *s = p;
        p = nl ? nl + 1 : end;
        line++;
        if (blank(s, n)) continue; /* an empty line holds no item */
        cJSON *o = cJSON_ParseWithLength(s, n);
        char why[200];
        if (!o) {
            const char *at = cJSON_GetErrorPtr();
            const long col = at && at >= s && at <= s + n ? (long)(at - s) + 1 : 0;
            snprintf(why, sizeof why, "bad JSON (near column %ld)", col);
            PRESSO_TRY(bad_line(r, line, why));
            continue;
        }
        presso_task_item it;
        bool ok = false;
        presso_status st = parse_json_item(kind, o, &it, &ok, why, sizeof why);
        cJSON_Delete(o);
        if (st != PRESSO_OK) return presso_fail(st, "%s:%lld: %s", r->t->path, (long long)line, presso_last_error());
        if (!ok) {
            PRESSO_TRY(bad_line(r, line, why));
            continue;
        }
        it.line = line;
        PRESSO_TRY(push_item(r, &it));
    }
    return PRESSO_OK;
}

presso_status presso_task_parse(presso_task_kind kind, const char *text, size_t len, const char *path,
                                const char *name, bool skip_bad, presso_task_set **out) {
    *out = NULL;
    presso_task_set *t = calloc(1, sizeof *t);
    if (!t) return presso_fail(PRESSO_ERR_NOMEM, "out of memory");
    t->kind = kind;
    snprintf(t->path, sizeof t->path, "%s", path);
    snprintf(t->name, sizeof t->name, "%s", name);
    reader r = {t, 0, skip_bad};
    presso_status st =
        kind == PRESSO_TASK_HELLASWAG ? parse_hellaswag(&r, text, len) : parse_jsonl(&r, kind, text, len);
    if (st == PRESSO_OK && t->n_items == 0)
        st = presso_fail(PRESSO_ERR_FORMAT, "%s: no valid items%s", path, t->n_skipped ? " (all lines malformed)" : "");
    if (st != PRESSO_OK) {
        presso_task_free(t);
        return st;
    }
    *out = t;
    return PRESSO_OK;
}

presso_status presso_task_read(presso_task_kind kind, const char *path, const char *name, bool skip_bad,
                               presso_task_set **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return presso_fail(PRESSO_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *grown = cap > ((size_t)1 << 34) ? NULL : realloc(buf, 2 * cap + 1);
        if (!grown) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    const int failed = ferror(f);
    fclose(f);
    if (!buf || failed) {
        free(buf);
        return presso_fail(failed ? PRESSO_ERR_IO : PRESSO_ERR_NOMEM, "%s: cannot read", path);
    }
    buf[n] = '\0';
    presso_status st = presso_task_parse(kind, buf, n, path, name, skip_bad, out);
    free(buf);
    return st;
}

presso_status presso_task_select(presso_task_set *t, int64_t limit, bool in_order) {
    const int64_t n = limit > 0 && limit < t->n_items ? limit : t->n_items;
    if (t->kind != PRESSO_TASK_HELLASWAG || in_order) {
        for (int64_t i = n; i < t->n_items; i++) item_free(&t->items[i]);
        t->n_items = n;
        return PRESSO_OK;
    }
    int64_t *order = malloc(sizeof(int64_t) * (size_t)n);
    bool *taken = calloc((size_t)t->n_items, 1);
    presso_task_item *items = malloc(sizeof *items * (size_t)n);
    if (!order || !taken || !items) {
        free(order);
        free(taken);
        free(items);
        return presso_fail(PRESSO_ERR_NOMEM, "out of memory selecting %lld tasks", (long long)n);
    }
    presso_status st = presso_task_llamacpp_order(t->n_items, n, order);
    if (st == PRESSO_OK) {
        for (int64_t i = 0; i < n; i++) {
            items[i] = t->items[order[i]];
            taken[order[i]] = true;
        }
        for (int64_t i = 0; i < t->n_items; i++)
            if (!taken[i]) item_free(&t->items[i]);
        free(t->items);
        t->items = items;
        t->n_items = n;
        items = NULL;
    }
    free(order);
    free(taken);
    free(items);
    return st;
}
