#include "eval/sweep.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* The grid's keys, in the order they appear in a cell's key. "list" keys take
 * an array of strings as one value (an array of such arrays is an axis). */
typedef enum { P_STRING, P_NUMBER, P_BOOL, P_LIST } param_kind;
static const struct {
    const char *name;
    param_kind kind;
} params[] = {
    {"prune", P_STRING},     {"sparsity", P_NUMBER},     {"nm", P_STRING},     {"quantize", P_STRING},
    {"prune_args", P_LIST},  {"method", P_STRING},       {"type", P_STRING},   {"bits", P_NUMBER},
    {"group", P_NUMBER},     {"asym", P_BOOL},           {"act_order", P_BOOL}, {"quantize_args", P_LIST},
    {"prompt", P_STRING},    {"eval", P_LIST},
};
enum { N_PARAMS = sizeof params / sizeof params[0] };

void presso_sweep_config_free(presso_sweep_config *c) {
    if (!c) return;
    free(c->evals);
    free(c->cells);
    cJSON_Delete(c->root);
    cJSON_Delete(c->cell_params);
    free(c);
}

static const cJSON *item(const cJSON *o, const char *key) { return cJSON_GetObjectItemCaseSensitive(o, key); }

/* dir/rel unless rel is absolute. */
static presso_status resolve(const presso_sweep_config *c, const char *what, const char *rel, char *out) {
    if (!rel[0]) return presso_fail(PRESSO_ERR_FORMAT, "%s: \"%s\" is an empty path", c->path, what);
    if (rel[0] == '/') {
        if (strlen(rel) >= PRESSO_PATH_MAX) return presso_fail(PRESSO_ERR_FORMAT, "%s: \"%s\" is too long", c->path, what);
        snprintf(out, PRESSO_PATH_MAX, "%s", rel);
        return PRESSO_OK;
    }
    char dir[PRESSO_PATH_MAX];
    PRESSO_TRY(presso_path_dirname(dir, sizeof dir, c->path));
    return presso_path_join(out, PRESSO_PATH_MAX, strcmp(dir, ".") == 0 ? "" : dir, rel);
}

static presso_status get_string(const presso_sweep_config *c, const cJSON *o, const char *key, bool required,
                                const char **out) {
    const cJSON *v = item(o, key);
    *out = NULL;
    if (!v) return required ? presso_fail(PRESSO_ERR_FORMAT, "%s: missing \"%s\"", c->path, key) : PRESSO_OK;
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return presso_fail(PRESSO_ERR_FORMAT, "%s: \"%s\" must be a non-empty string", c->path, key);
    *out = v->valuestring;
    return PRESSO_OK;
}

static presso_status get_int(const presso_sweep_config *c, const char *where, const cJSON *o, const char *key,
                             int64_t lo, int64_t hi, int64_t dflt, int64_t *out) {
    const cJSON *v = item(o, key);
    *out = dflt;
    if (!v) return PRESSO_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < (double)lo ||
        v->valuedouble > (double)hi)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: %s\"%s\" must be an integer in %lld..%lld", c->path, where, key,
                           (long long)lo, (long long)hi);
    *out = (int64_t)v->valuedouble;
    return PRESSO_OK;
}

static presso_status check_keys(const presso_sweep_config *c, const char *where, const cJSON *o,
                                const char *const *known, size_t n_known) {
    for (const cJSON *e = o->child; e; e = e->next) {
        bool ok = false;
        for (size_t k = 0; k < n_known; k++) ok |= strcmp(e->string, known[k]) == 0;
        if (!ok) return presso_fail(PRESSO_ERR_FORMAT, "%s: %sunknown key \"%s\"", c->path, where, e->string);
    }
    return PRESSO_OK;
}

/* A parameter value as text: strings as they are, numbers %g, lists joined by ','. */
static void value_text(const cJSON *v, char *buf, size_t cap) {
    buf[0] = '\0';
    if (cJSON_IsString(v)) snprintf(buf, cap, "%s", v->valuestring);
    else if (cJSON_IsNumber(v)) snprintf(buf, cap, "%g", v->valuedouble);
    else if (cJSON_IsBool(v)) snprintf(buf, cap, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsArray(v))
        for (const cJSON *e = v->child; e; e = e->next)
            if (cJSON_IsString(e))
                snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", e == v->child ? "" : ",", e->valuestring);
}

const char *presso_sweep_param(const presso_sweep_cell *cell, const char *name, char *buf, size_t cap) {
    value_text(cell->params ? item(cell->params, name) : NULL, buf, cap);
    return buf;
}

static presso_status check_value(const presso_sweep_config *c, int g, int k, const cJSON *v) {
    const char *name = params[k].name;
    bool ok = true;
    switch (params[k].kind) {
    case P_STRING: ok = cJSON_IsString(v) && v->valuestring[0]; break;
    case P_NUMBER: ok = cJSON_IsNumber(v) && isfinite(v->valuedouble); break;
    case P_BOOL: ok = cJSON_IsBool(v); break;
    case P_LIST:
        ok = cJSON_IsArray(v);
        for (const cJSON *e = ok ? v->child : NULL; e; e = e->next) ok &= cJSON_IsString(e) && e->valuestring[0];
        break;
    }
    if (!ok)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: grid[%d]: \"%s\" must be %s", c->path, g, name,
                           params[k].kind == P_STRING   ? "a non-empty string (or an array of them)"
                           : params[k].kind == P_NUMBER ? "a number (or an array of numbers)"
                           : params[k].kind == P_BOOL   ? "true or false (or an array of them)"
                                                        : "an array of strings (or an array of such arrays)");
    if (strcmp(name, "sparsity") == 0 && !(v->valuedouble > 0 && v->valuedouble < 1))
        return presso_fail(PRESSO_ERR_FORMAT, "%s: grid[%d]: sparsity %g is not in (0, 1)", c->path, g, v->valuedouble);
    if (strcmp(name, "nm") == 0) {
        int n = 0, m = 0, used = 0;
        if (sscanf(v->valuestring, "%d:%d%n", &n, &m, &used) != 2 || v->valuestring[used] || n < 1 || m <= n)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: grid[%d]: nm \"%s\" is not N:M with 0 < N < M (e.g. 2:4)",
                               c->path, g, v->valuestring);
    }
    return PRESSO_OK;
}

static presso_status add_cell(presso_sweep_config *c, int g, cJSON *cell_params, const char *label, bool keep) {
    presso_sweep_cell cell = {.keep = keep || c->keep, .params = cell_params};
    char val[256];
    for (int k = 0; k < N_PARAMS; k++) {
        const cJSON *v = item(cell_params, params[k].name);
        if (!v) continue;
        value_text(v, val, sizeof val);
        const size_t n = strlen(cell.key);
        snprintf(cell.key + n, sizeof cell.key - n, "%s%s=%s", n ? " " : "", params[k].name, val);
    }
    if (!item(cell_params, "method") && !item(cell_params, "prune"))
        return presso_fail(PRESSO_ERR_FORMAT, "%s: grid[%d]: a cell needs \"method\" (quantize) or \"prune\"", c->path, g);
    if (label) snprintf(cell.label, sizeof cell.label, "%s", label);
    else {
        /* "wanda 2:4 +q4_0", "gptq q4_0": the values, without the names. */
        for (int k = 0; k < N_PARAMS; k++) {
            const cJSON *v = item(cell_params, params[k].name);
            if (!v || params[k].kind == P_LIST || cJSON_IsBool(v)) continue;
            value_text(v, val, sizeof val);
            if (strcmp(params[k].name, "prompt") == 0) snprintf(val, sizeof val, "+prompt");
            else if (strcmp(params[k].name, "quantize") == 0) snprintf(val, sizeof val, "+%s", v->valuestring);
            else if (strcmp(params[k].name, "sparsity") == 0) snprintf(val, sizeof val, "%g%%", v->valuedouble * 100);
            else if (strcmp(params[k].name, "bits") == 0) snprintf(val, sizeof val, "%gbit", v->valuedouble);
            else if (strcmp(params[k].name, "group") == 0) snprintf(val, sizeof val, "g%g", v->valuedouble);
            const size_t n = strlen(cell.label);
            snprintf(cell.label + n, sizeof cell.label - n, "%s%s", n ? " " : "", val);
        }
        if (cJSON_IsTrue(item(cell_params, "act_order")))
            snprintf(cell.label + strlen(cell.label), sizeof cell.label - strlen(cell.label), " act-order");
    }
    for (int i = 0; i < c->n_cells; i++)
        if (strcmp(c->cells[i].key, cell.key) == 0)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: grid[%d]: cell \"%s\" appears twice", c->path, g, cell.key);
    presso_sweep_cell *grown = realloc(c->cells, ((size_t)c->n_cells + 1) * sizeof *grown);
    if (!grown) return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory for the grid", c->path);
    c->cells = grown;
    c->cells[c->n_cells++] = cell;
    return PRESSO_OK;
}

/* The cartesian product of one grid entry's axes (its array-valued keys). */
static presso_status expand(presso_sweep_config *c, cJSON *cells_store, int g, const cJSON *entry) {
    const cJSON *axes[N_PARAMS];
    int n_axes = 0, axis_param[N_PARAMS];
    int64_t total = 1;
    for (int k = 0; k < N_PARAMS; k++) {
        const cJSON *v = item(entry, params[k].name);
        if (!v) continue;
        const bool is_axis = params[k].kind == P_LIST ? cJSON_IsArray(v) && v->child && cJSON_IsArray(v->child)
                                                      : cJSON_IsArray(v);
        if (is_axis) {
            const int n = cJSON_GetArraySize(v);
            if (n == 0) return presso_fail(PRESSO_ERR_FORMAT, "%s: grid[%d]: \"%s\" is an empty axis", c->path, g, params[k].name);
            for (const cJSON *e = v->child; e; e = e->next) PRESSO_TRY(check_value(c, g, k, e));
            axis_param[n_axes] = k;
            axes[n_axes++] = v;
            total *= n;
            if (total > 100000) return presso_fail(PRESSO_ERR_FORMAT, "%s: grid[%d]: more than 100000 cells", c->path, g);
        } else {
            PRESSO_TRY(check_value(c, g, k, v));
        }
    }
    const cJSON *label = item(entry, "label"), *keep = item(entry, "keep");
    if (label && (!cJSON_IsString(label) || total > 1))
        return presso_fail(PRESSO_ERR_FORMAT, "%s: grid[%d]: \"label\" must be a string and names one cell (this entry "
                           "makes %lld)", c->path, g, (long long)total);
    if (keep && !cJSON_IsBool(keep)) return presso_fail(PRESSO_ERR_FORMAT, "%s: grid[%d]: \"keep\" must be true or false", c->path, g);
    for (int64_t idx = 0; idx < total; idx++) {
        cJSON *cp = cJSON_CreateObject();
        if (!cp || !cJSON_AddItemToArray(cells_store, cp)) {
            cJSON_Delete(cp);
            return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", c->path);
        }
        int64_t rest = idx;
        int a = n_axes - 1;
        const cJSON *chosen[N_PARAMS] = {0};
        for (; a >= 0; a--) { /* last axis varies fastest */
            const int n = cJSON_GetArraySize(axes[a]);
            chosen[axis_param[a]] = cJSON_GetArrayItem(axes[a], (int)(rest % n));
            rest /= n;
        }
        for (int k = 0; k < N_PARAMS; k++) {
            const cJSON *v = chosen[k] ? chosen[k] : item(entry, params[k].name);
            if (v) cJSON_AddItemToObject(cp, params[k].name, cJSON_Duplicate(v, 1));
        }
        PRESSO_TRY(add_cell(c, g, cp, label ? label->valuestring : NULL, cJSON_IsTrue(keep)));
    }
    return PRESSO_OK;
}

/* FNV-1a, 64 bit: a short stable fingerprint of the setup text. */
static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static presso_status load(presso_sweep_config *c) {
    const cJSON *root = c->root;
    if (!cJSON_IsObject(root)) return presso_fail(PRESSO_ERR_FORMAT, "%s: not a JSON object", c->path);
    static const char *const top[] = {"model", "tokenizer", "threads", "calib", "eval",  "bench", "tasks",
                                      "grid",  "baseline",  "keep",    "work_dir", "results", "comment"};
    PRESSO_TRY(check_keys(c, "", root, top, sizeof top / sizeof top[0]));
    const char *s;
    PRESSO_TRY(get_string(c, root, "model", true, &s));
    PRESSO_TRY(resolve(c, "model", s, c->model));
    PRESSO_TRY(get_string(c, root, "tokenizer", false, &s));
    if (s) PRESSO_TRY(resolve(c, "tokenizer", s, c->tokenizer));
    PRESSO_TRY(get_string(c, root, "work_dir", false, &s));
    if (s) PRESSO_TRY(resolve(c, "work_dir", s, c->work_dir));
    PRESSO_TRY(get_string(c, root, "results", false, &s));
    if (s) PRESSO_TRY(resolve(c, "results", s, c->results));
    int64_t v;
    PRESSO_TRY(get_int(c, "", root, "threads", 1, 512, 2, &v));
    c->threads = (int)v;
    const cJSON *keep = item(root, "keep"), *baseline = item(root, "baseline");
    if (keep && !cJSON_IsBool(keep)) return presso_fail(PRESSO_ERR_FORMAT, "%s: \"keep\" must be true or false", c->path);
    if (baseline && !cJSON_IsBool(baseline) &&
        !(cJSON_IsString(baseline) && baseline->valuestring[0] && strlen(baseline->valuestring) < sizeof c->baseline_type))
        return presso_fail(PRESSO_ERR_FORMAT, "%s: \"baseline\" must be true, false or a GGUF type to convert the model to "
                           "(e.g. \"f32\")", c->path);
    if (cJSON_IsString(baseline)) snprintf(c->baseline_type, sizeof c->baseline_type, "%s", baseline->valuestring);
    c->keep = cJSON_IsTrue(keep);

    const cJSON *calib = item(root, "calib");
    if (calib) {
        if (!cJSON_IsObject(calib)) return presso_fail(PRESSO_ERR_FORMAT, "%s: \"calib\" must be an object", c->path);
        static const char *const ck[] = {"file", "count", "len", "seed"};
        PRESSO_TRY(check_keys(c, "calib: ", calib, ck, 4));
        PRESSO_TRY(get_string(c, calib, "file", true, &s));
        PRESSO_TRY(resolve(c, "calib.file", s, c->calib.file));
        PRESSO_TRY(get_int(c, "calib: ", calib, "count", 1, 1 << 20, 0, &v));
        c->calib.count = (int32_t)v;
        PRESSO_TRY(get_int(c, "calib: ", calib, "len", 3, 1 << 20, 0, &v));
        c->calib.len = (int32_t)v;
        PRESSO_TRY(get_int(c, "calib: ", calib, "seed", 0, INT32_MAX, 1234, &c->calib.seed));
    }
    const cJSON *evals = item(root, "eval");
    if (!cJSON_IsArray(evals) || !evals->child)
        return presso_fail(PRESSO_ERR_FORMAT, "%s: \"eval\" must be a non-empty array of {name, file, ctx, chunks}", c->path);
    c->evals = calloc((size_t)cJSON_GetArraySize(evals), sizeof *c->evals);
    if (!c->evals) return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", c->path);
    for (const cJSON *e = evals->child; e; e = e->next) {
        presso_sweep_eval *ev = &c->evals[c->n_evals];
        char where[32];
        snprintf(where, sizeof where, "eval[%d]: ", c->n_evals);
        if (!cJSON_IsObject(e)) return presso_fail(PRESSO_ERR_FORMAT, "%s: %snot an object", c->path, where);
        static const char *const ek[] = {"name", "file", "ctx", "chunks"};
        PRESSO_TRY(check_keys(c, where, e, ek, 4));
        PRESSO_TRY(get_string(c, e, "name", true, &s));
        if (strlen(s) >= sizeof ev->name) return presso_fail(PRESSO_ERR_FORMAT, "%s: %sname too long", c->path, where);
        snprintf(ev->name, sizeof ev->name, "%s", s);
        for (int k = 0; k < c->n_evals; k++)
            if (strcmp(c->evals[k].name, ev->name) == 0)
                return presso_fail(PRESSO_ERR_FORMAT, "%s: %sname \"%s\" is used twice", c->path, where, s);
        PRESSO_TRY(get_string(c, e, "file", true, &s));
        PRESSO_TRY(resolve(c, "eval.file", s, ev->file));
        PRESSO_TRY(get_int(c, where, e, "ctx", 2, 1 << 20, 0, &v));
        ev->ctx = (int32_t)v;
        PRESSO_TRY(get_int(c, where, e, "chunks", 0, 1 << 30, 0, &v));
        ev->chunks = (int32_t)v;
        c->n_evals++;
    }
    const cJSON *bench = item(root, "bench");
    c->bench.enabled = !cJSON_IsFalse(bench);
    c->bench.n_prompt = 128;
    c->bench.n_gen = 64;
    c->bench.reps = 3;
    if (bench && !cJSON_IsBool(bench)) {
        if (!cJSON_IsObject(bench)) return presso_fail(PRESSO_ERR_FORMAT, "%s: \"bench\" must be an object or false", c->path);
        static const char *const bk[] = {"n_prompt", "n_gen", "reps"};
        PRESSO_TRY(check_keys(c, "bench: ", bench, bk, 3));
        PRESSO_TRY(get_int(c, "bench: ", bench, "n_prompt", 0, 1 << 16, 128, &v));
        c->bench.n_prompt = (int32_t)v;
        PRESSO_TRY(get_int(c, "bench: ", bench, "n_gen", 0, 1 << 16, 64, &v));
        c->bench.n_gen = (int32_t)v;
        PRESSO_TRY(get_int(c, "bench: ", bench, "reps", 1, 1000, 3, &v));
        c->bench.reps = (int32_t)v;
        if (!c->bench.n_prompt && !c->bench.n_gen)
            return presso_fail(PRESSO_ERR_FORMAT, "%s: bench: n_prompt and n_gen are both 0 (use \"bench\": false)", c->path);
    }
    const cJSON *tasks = item(root, "tasks");
    if (tasks) {
        static const char *const tk[] = {"limit"};
        if (!cJSON_IsObject(tasks)) return presso_fail(PRESSO_ERR_FORMAT, "%s: \"tasks\" must be an object", c->path);
        PRESSO_TRY(check_keys(c, "tasks: ", tasks, tk, 1));
        PRESSO_TRY(get_int(c, "tasks: ", tasks, "limit", 0, INT32_MAX, 0, &v));
        c->task_limit = (int32_t)v;
    }
    /* The setup fingerprint: the config as written minus the grid and the
     * output places (location-independent: paths as written, not resolved). */
    cJSON *setup = cJSON_Duplicate(root, 1);
    if (!setup) return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", c->path);
    static const char *const not_setup[] = {"grid", "baseline", "keep", "work_dir", "results", "comment"};
    for (size_t k = 0; k < sizeof not_setup / sizeof not_setup[0]; k++) cJSON_DeleteItemFromObjectCaseSensitive(setup, not_setup[k]);
    char *text = cJSON_PrintUnformatted(setup);
    cJSON_Delete(setup);
    if (!text) return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", c->path);
    snprintf(c->setup, sizeof c->setup, "%016llx", (unsigned long long)fnv1a(text));
    free(text);

    cJSON *store = c->cell_params = cJSON_CreateArray();
    if (!store) return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", c->path);
    if (!baseline || !cJSON_IsFalse(baseline)) {
        presso_sweep_cell b = {.baseline = true, .keep = c->keep, .params = NULL};
        if (c->baseline_type[0]) {
            snprintf(b.key, sizeof b.key, "baseline convert=%s", c->baseline_type);
            snprintf(b.label, sizeof b.label, "baseline (%s GGUF)", c->baseline_type);
        } else {
            snprintf(b.key, sizeof b.key, "baseline");
            snprintf(b.label, sizeof b.label, "baseline");
        }
        c->cells = malloc(sizeof *c->cells);
        if (!c->cells) return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory", c->path);
        c->cells[c->n_cells++] = b;
    }
    const cJSON *grid = item(root, "grid");
    if (!cJSON_IsArray(grid)) return presso_fail(PRESSO_ERR_FORMAT, "%s: \"grid\" must be an array of cell objects", c->path);
    int g = 0;
    for (const cJSON *entry = grid->child; entry; entry = entry->next, g++) {
        char where[32];
        snprintf(where, sizeof where, "grid[%d]: ", g);
        if (!cJSON_IsObject(entry)) return presso_fail(PRESSO_ERR_FORMAT, "%s: %snot an object", c->path, where);
        const char *known[N_PARAMS + 3];
        for (int k = 0; k < N_PARAMS; k++) known[k] = params[k].name;
        known[N_PARAMS] = "label";
        known[N_PARAMS + 1] = "keep";
        known[N_PARAMS + 2] = "comment";
        PRESSO_TRY(check_keys(c, where, entry, known, N_PARAMS + 3));
        PRESSO_TRY(expand(c, store, g, entry));
    }
    if (c->n_cells == 0) return presso_fail(PRESSO_ERR_FORMAT, "%s: the grid has no cells and the baseline is off", c->path);
    return PRESSO_OK;
}

presso_status presso_sweep_config_load(const char *path, presso_sweep_config **out) {
    *out = NULL;
    presso_sweep_config *c = calloc(1, sizeof *c);
    if (!c) return presso_fail(PRESSO_ERR_NOMEM, "out of memory");
    if (strlen(path) >= sizeof c->path) {
        free(c);
        return presso_fail(PRESSO_ERR_INVALID_ARG, "path too long: %s", path);
    }
    snprintf(c->path, sizeof c->path, "%s", path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        free(c);
        return presso_fail(PRESSO_ERR_IO, "%s: cannot open the sweep config", path);
    }
    char *text = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1 << 24) && fseek(f, 0, SEEK_SET) == 0 &&
        (text = malloc((size_t)n + 1)) && fread(text, 1, (size_t)n, f) == (size_t)n)
        text[n] = '\0';
    else {
        free(text);
        text = NULL;
    }
    fclose(f);
    if (!text) {
        free(c);
        return presso_fail(PRESSO_ERR_IO, "%s: cannot read the sweep config (or it is over 16 MiB)", path);
    }
    c->root = cJSON_Parse(text);
    if (!c->root) {
        const char *at = cJSON_GetErrorPtr();
        int line = 1;
        for (const char *p = text; at && p < at && *p; p++) line += *p == '\n';
        free(text);
        free(c);
        return presso_fail(PRESSO_ERR_FORMAT, "%s:%d: not valid JSON", path, line);
    }
    free(text);
    presso_status st = load(c);
    if (st != PRESSO_OK) {
        presso_sweep_config_free(c);
        return st;
    }
    *out = c;
    return PRESSO_OK;
}
