#include "eval/report.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "eval/pareto.h"

/* ---- a growing string ---------------------------------------------------- */

typedef struct {
    char *p;
    size_t n, cap;
    bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 1 << 14;
        while (b->n + n + 1 > c) c *= 2;
        char *g = realloc(b->p, c);
        if (!g) {
            b->oom = true;
            return;
        }
        b->p = g;
        b->cap = c;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_puts(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        sb_add(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_add(b, big, (size_t)n);
    free(big);
}

/* Text and attribute values: the five HTML-special characters escaped. */
static void sb_esc(sbuf *b, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': sb_puts(b, "&amp;"); break;
        case '<': sb_puts(b, "&lt;"); break;
        case '>': sb_puts(b, "&gt;"); break;
        case '"': sb_puts(b, "&quot;"); break;
        case '\'': sb_puts(b, "&#39;"); break;
        default: sb_add(b, s, 1);
        }
    }
}

/* ---- reading records ------------------------------------------------------ */

static const char *rec_str(const cJSON *rec, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* rec[key] (sub == NULL) or rec[key][sub] as a number; NAN when absent. */
static double rec_num(const cJSON *rec, const char *key, const char *sub) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);
    if (sub) v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, sub) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static bool rec_ok(const cJSON *rec) {
    const char *s = rec_str(rec, "status");
    return s && strcmp(s, "ok") == 0;
}

static bool rec_baseline(const cJSON *rec) { return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "baseline")); }

static const char *rec_label(const cJSON *rec) {
    const char *s = rec_str(rec, "label");
    return s ? s : rec_str(rec, "key");
}

static const char *rec_method(const cJSON *rec) {
    const char *s = rec_str(rec, "method");
    return s ? s : rec_baseline(rec) ? "baseline" : "?";
}

/* The names under rec[field] (an object of numbers) over all records, in
 * order of first appearance. */
typedef struct {
    const char *name[32];
    int n;
} name_set;

static void collect_names(const presso_results *r, const char *field, name_set *out) {
    out->n = 0;
    for (int64_t i = 0; i < r->n_records; i++) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(r->records[i], field);
        if (!cJSON_IsObject(o)) continue;
        for (const cJSON *e = o->child; e; e = e->next) {
            if (!cJSON_IsNumber(e) || !e->string) continue;
            bool seen = false;
            for (int k = 0; k < out->n; k++) seen |= strcmp(out->name[k], e->string) == 0;
            if (!seen && out->n < 32) out->name[out->n++] = e->string;
        }
    }
}

/* ---- axes ------------------------------------------------------------------ */

typedef struct {
    double lo, hi, step;
    int decimals;
} axis;

/* Ticks at 1, 2 or 5 × 10^k (Heckbert, "Nice numbers for graph labels",
 * Graphics Gems 1990), about 5 intervals, the range widened to whole steps. */
static axis nice_axis(double lo, double hi) {
    if (!(hi > lo)) {
        const double pad = lo != 0 ? fabs(lo) * 0.1 : 1.0;
        lo -= pad;
        hi += pad;
    }
    const double raw = (hi - lo) / 5.0, mag = pow(10.0, floor(log10(raw))), norm = raw / mag;
    const double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
    axis a = {floor(lo / step + 1e-9) * step, ceil(hi / step - 1e-9) * step, step, 0};
    const int d = -(int)floor(log10(step) + 1e-9);
    a.decimals = d > 0 ? d : 0;
    if (a.decimals > 6) a.decimals = 6;
    return a;
}

enum { W = 700, H = 470, X0 = 78, X1 = 520, Y0 = 44, Y1 = 400 };

static double px(const axis *a, double v) { return X0 + (v - a->lo) / (a->hi - a->lo) * (X1 - X0); }
static double py(const axis *a, double v) { return Y1 - (v - a->lo) / (a->hi - a->lo) * (Y1 - Y0); }

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                      "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};

typedef struct {
    const char *id, *title, *xlabel, *ylabel;
    presso_pareto_goal gx, gy;
} plot_spec;

typedef struct {
    const cJSON *rec;
    double x, y;
} plot_point;

static int method_index(const name_set *methods, const char *m) {
    for (int k = 0; k < methods->n; k++)
        if (strcmp(methods->name[k], m) == 0) return k;
    return methods->n - 1;
}

/* One plot; on_front (optional) receives, per point, whether it is on the front. */
static presso_status plot(sbuf *b, const plot_spec *s, const plot_point *pts, int64_t n, const name_set *methods,
                          bool *on_front_out) {
    double *x = malloc(((size_t)n + 1) * sizeof *x), *y = malloc(((size_t)n + 1) * sizeof *y);
    bool *front = malloc(((size_t)n + 1) * sizeof *front);
    int64_t *order = malloc(((size_t)n + 1) * sizeof *order), n_front = 0;
    presso_status st = x && y && front && order ? PRESSO_OK : presso_fail(PRESSO_ERR_NOMEM, "report: out of memory");
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (int64_t i = 0; st == PRESSO_OK && i < n; i++) {
        x[i] = pts[i].x;
        y[i] = pts[i].y;
        xmin = fmin(xmin, x[i]);
        xmax = fmax(xmax, x[i]);
        ymin = fmin(ymin, y[i]);
        ymax = fmax(ymax, y[i]);
    }
    if (st == PRESSO_OK) st = presso_pareto_front(x, y, n, s->gx, s->gy, front, order, &n_front);
    if (st != PRESSO_OK) goto done;
    const axis ax = nice_axis(xmin, xmax), ay = nice_axis(ymin, ymax);
    sb_printf(b, "<figure><svg class=\"plot\" id=\"%s\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\">\n",
              s->id, W, H, W, H);
    sb_printf(b, "<text class=\"title\" x=\"%d\" y=\"24\" text-anchor=\"middle\">", (X0 + X1) / 2);
    sb_esc(b, s->title);
    sb_puts(b, "</text>\n");
    /* Grid, ticks and tick labels. */
    sb_puts(b, "<g class=\"axis x\">");
    for (double t = ax.lo; t <= ax.hi + ax.step * 1e-6; t += ax.step) {
        const double X = px(&ax, t);
        sb_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", X, Y0, X, Y1);
        sb_printf(b, "<line class=\"tick\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", X, Y1, X, Y1 + 5);
        sb_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.*f</text>", X, Y1 + 19, ax.decimals,
                  fabs(t) < ax.step * 1e-9 ? 0.0 : t);
    }
    sb_printf(b, "<text class=\"label\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (X0 + X1) / 2, Y1 + 42);
    sb_esc(b, s->xlabel);
    sb_puts(b, "</text></g>\n<g class=\"axis y\">");
    for (double t = ay.lo; t <= ay.hi + ay.step * 1e-6; t += ay.step) {
        const double Y = py(&ay, t);
        sb_printf(b, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", X0, Y, X1, Y);
        sb_printf(b, "<line class=\"tick\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", X0 - 5, Y, X0, Y);
        sb_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.*f</text>", X0 - 8, Y + 4, ay.decimals,
                  fabs(t) < ay.step * 1e-9 ? 0.0 : t);
    }
    sb_printf(b, "<text class=\"label\" transform=\"translate(%d %d) rotate(-90)\" text-anchor=\"middle\">", 20,
              (Y0 + Y1) / 2);
    sb_esc(b, s->ylabel);
    sb_puts(b, "</text></g>\n");
    sb_printf(b, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n", X0, Y0, X1 - X0, Y1 - Y0);
    /* The baseline's value as a dashed reference line across the plot. */
    for (int64_t i = 0; i < n; i++)
        if (rec_baseline(pts[i].rec))
            sb_printf(b, "<line class=\"baseline-ref\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n", X0,
                      py(&ay, y[i]), X1, py(&ay, y[i]));
    /* The front: a line through its points in x order. */
    if (n_front > 0) {
        sb_puts(b, "<path class=\"front\" d=\"");
        for (int64_t k = 0; k < n_front; k++)
            sb_printf(b, "%s%.1f %.1f", k ? " L" : "M", px(&ax, x[order[k]]), py(&ay, y[order[k]]));
        sb_puts(b, "\"/>\n");
    }
    /* Points: circles coloured by method; the baseline a diamond; front
     * points ringed and labelled. */
    for (int64_t i = 0; i < n; i++) {
        const double X = px(&ax, x[i]), Y = py(&ay, y[i]);
        const char *color = palette[method_index(methods, rec_method(pts[i].rec)) % 10];
        sb_puts(b, "<g class=\"point\">");
        if (front[i]) sb_printf(b, "<circle class=\"front-mark\" cx=\"%.1f\" cy=\"%.1f\" r=\"9\"/>", X, Y);
        if (rec_baseline(pts[i].rec))
            sb_printf(b, "<path class=\"pt baseline%s\" data-key=\"", front[i] ? " on-front" : "");
        else
            sb_printf(b, "<circle class=\"pt%s\" data-key=\"", front[i] ? " on-front" : "");
        sb_esc(b, rec_str(pts[i].rec, "key"));
        if (rec_baseline(pts[i].rec))
            sb_printf(b, "\" d=\"M%.1f %.1f l7 7 l-7 7 l-7 -7 z\" fill=\"%s\">", X, Y - 7, "#111");
        else
            sb_printf(b, "\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\">", X, Y, color);
        sb_puts(b, "<title>");
        sb_esc(b, rec_label(pts[i].rec));
        sb_printf(b, ": %s %.4g, %s %.4g</title>", s->xlabel, x[i], s->ylabel, y[i]);
        sb_puts(b, rec_baseline(pts[i].rec) ? "</path>" : "</circle>");
        if (front[i] || rec_baseline(pts[i].rec)) {
            sb_printf(b, "<text class=\"plabel\" x=\"%.1f\" y=\"%.1f\">", X + 10, Y - 8);
            sb_esc(b, rec_baseline(pts[i].rec) ? "baseline" : rec_label(pts[i].rec));
            sb_puts(b, "</text>");
        }
        sb_puts(b, "</g>\n");
    }
    /* Legend: one swatch per method, then the front and the baseline. */
    sb_puts(b, "<g class=\"legend\">");
    int row = 0;
    for (int k = 0; k < methods->n; k++) {
        if (strcmp(methods->name[k], "baseline") == 0) continue;
        const int ly = Y0 + 10 + 20 * row++;
        sb_printf(b, "<circle cx=\"%d\" cy=\"%d\" r=\"5\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">", X1 + 24, ly,
                  palette[k % 10], X1 + 36, ly + 4);
        sb_esc(b, methods->name[k]);
        sb_puts(b, "</text>");
    }
    int ly = Y0 + 10 + 20 * row++;
    sb_printf(b, "<line class=\"front\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/><circle class=\"front-mark\" "
                 "cx=\"%d\" cy=\"%d\" r=\"7\"/><text x=\"%d\" y=\"%d\">Pareto front</text>",
              X1 + 14, ly, X1 + 34, ly, X1 + 24, ly, X1 + 40, ly + 4);
    ly = Y0 + 10 + 20 * row++;
    sb_printf(b, "<path d=\"M%d %d l6 6 l-6 6 l-6 -6 z\" fill=\"#111\"/><text x=\"%d\" y=\"%d\">baseline</text>",
              X1 + 24, ly - 6, X1 + 36, ly + 4);
    sb_puts(b, "</g>\n</svg>");
    sb_printf(b, "<figcaption>%lld points, %lld on the Pareto front: no other point is at least as good on both axes "
                 "and better on one.</figcaption></figure>\n", (long long)n, (long long)n_front);
    if (on_front_out)
        for (int64_t i = 0; i < n; i++) on_front_out[i] = front[i];
done:
    free(x);
    free(y);
    free(front);
    free(order);
    return st;
}

/* ---- the table ------------------------------------------------------------ */

static void cell_text(sbuf *b, const char *s) {
    sb_puts(b, "<td data-v=\"");
    sb_esc(b, s ? s : "");
    sb_puts(b, "\">");
    sb_esc(b, s ? s : "");
    sb_puts(b, "</td>");
}

/* A numeric cell: data-v holds the full value for sorting; shown as
 * value * scale with the given decimals; blank when absent. */
static void cell_num(sbuf *b, double v, double scale, int decimals) {
    if (!isfinite(v)) {
        sb_puts(b, "<td class=\"num\" data-v=\"\"></td>");
        return;
    }
    sb_printf(b, "<td class=\"num\" data-v=\"%.17g\">%.*f</td>", v, decimals, v * scale);
}

static const char style[] =
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#222;background:#fff}"
    "h1{font-size:22px;margin:0 0 4px}.sub{color:#666;margin:0 0 16px}"
    ".plots{display:flex;flex-wrap:wrap;gap:12px 28px}figure{margin:8px 0 12px}figcaption{color:#555;font-size:12px;max-width:700px}"
    "svg.plot{background:#fff;font-size:12px}svg .title{font-size:15px;font-weight:600}"
    "svg .label{font-size:13px}svg .grid{stroke:#e6e6e6}svg .tick{stroke:#333}"
    "svg .frame{fill:none;stroke:#333}svg .front{stroke:#111;stroke-width:2;fill:none}"
    "svg .front-mark{fill:none;stroke:#111;stroke-width:1.6}svg .pt{stroke:#fff;stroke-width:1}"
    "svg .baseline-ref{stroke:#111;stroke-dasharray:5 4;stroke-width:1}svg .plabel{font-size:11px;fill:#333}"
    "table{border-collapse:collapse;margin-top:8px}th,td{padding:4px 9px;border-bottom:1px solid #ddd}"
    "th{background:#f3f3f3;cursor:pointer;user-select:none;text-align:left;white-space:nowrap}"
    "th[aria-sort=ascending]::after{content:' \\25B2'}th[aria-sort=descending]::after{content:' \\25BC'}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}tr.failed td{color:#a00}"
    "td:first-child{white-space:nowrap}tr.front td:first-child{font-weight:600}";

/* Click a header: sort by that column (numbers by value, text by locale),
 * again to reverse; blanks always last. */
static const char script[] =
    "document.querySelectorAll('table.sortable').forEach(function(t){"
    "t.querySelectorAll('th').forEach(function(th,col){th.addEventListener('click',function(){"
    "var asc=th.getAttribute('aria-sort')!=='ascending',num=th.dataset.type==='num',tb=t.tBodies[0];"
    "t.querySelectorAll('th').forEach(function(h){h.removeAttribute('aria-sort')});"
    "th.setAttribute('aria-sort',asc?'ascending':'descending');"
    "var rows=Array.prototype.slice.call(tb.rows);rows.sort(function(a,b){"
    "var x=a.cells[col].dataset.v,y=b.cells[col].dataset.v;if(x===''||y==='')return (x==='')-(y==='');"
    "var d=num?(+x)-(+y):x.localeCompare(y);return asc?d:-d});"
    "rows.forEach(function(r){tb.appendChild(r)})})})});"
    /* #sort=N[,desc] in the address sorts by column N on load (links to a sorted view). */
    "(function(){var m=/sort=(\\d+)(,desc)?/.exec(location.hash),th=m&&document.querySelectorAll('table.sortable th')[+m[1]];"
    "if(th){th.click();if(m[2])th.click()}})();";

presso_status presso_report_html(const presso_results *r, const presso_report_params *p, char **html) {
    *html = NULL;
    const char *title = p && p->title ? p->title : "presso sweep report";
    name_set ppl_sets, acc_sets, methods = {.n = 0};
    collect_names(r, "ppl", &ppl_sets);
    collect_names(r, "acc", &acc_sets);
    int64_t n_ok = 0, n_failed = 0;
    for (int64_t i = 0; i < r->n_records; i++) {
        const cJSON *rec = r->records[i];
        if (!rec_ok(rec)) {
            n_failed++;
            continue;
        }
        n_ok++;
        const char *m = rec_method(rec);
        bool seen = false;
        for (int k = 0; k < methods.n; k++) seen |= strcmp(methods.name[k], m) == 0;
        if (!seen && methods.n < 32) methods.name[methods.n++] = m;
    }
    plot_point *pts = calloc((size_t)r->n_records + 1, sizeof *pts);
    bool *main_front = calloc((size_t)r->n_records + 1, sizeof *main_front);
    const cJSON **main_recs = calloc((size_t)r->n_records + 1, sizeof *main_recs);
    int64_t n_main = 0;
    sbuf b = {0};
    presso_status st = pts && main_front && main_recs ? PRESSO_OK : presso_fail(PRESSO_ERR_NOMEM, "report: out of memory");

    sb_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    sb_esc(&b, title);
    sb_printf(&b, "</title>\n<style>%s</style></head>\n<body>\n<h1>", style);
    sb_esc(&b, title);
    sb_printf(&b, "</h1>\n<p class=\"sub\">%lld cells (%lld measured, %lld failed)", (long long)r->n_records,
              (long long)n_ok, (long long)n_failed);
    const char *model = r->n_records ? rec_str(r->records[0], "model") : NULL;
    if (model) {
        sb_puts(&b, " · model ");
        sb_esc(&b, model);
    }
    if (p && p->source) {
        sb_puts(&b, " · from ");
        sb_esc(&b, p->source);
    }
    sb_puts(&b, "</p>\n<div class=\"plots\">\n");

    /* Perplexity vs bits per weight, one plot per evaluation text. */
    for (int e = 0; st == PRESSO_OK && e < ppl_sets.n; e++) {
        int64_t n = 0;
        for (int64_t i = 0; i < r->n_records; i++) {
            const cJSON *rec = r->records[i];
            const double xv = rec_num(rec, "bits_per_weight", NULL), yv = rec_num(rec, "ppl", ppl_sets.name[e]);
            if (rec_ok(rec) && isfinite(xv) && isfinite(yv)) pts[n++] = (plot_point){rec, xv, yv};
        }
        if (!n) continue;
        char id[96], t[160], yl[128];
        snprintf(id, sizeof id, "plot-ppl-%d", e);
        snprintf(t, sizeof t, "Perplexity (%s) vs size", ppl_sets.name[e]);
        snprintf(yl, sizeof yl, "perplexity, %s (lower is better)", ppl_sets.name[e]);
        plot_spec s = {id, t, "bits per weight", yl, PRESSO_MINIMIZE, PRESSO_MINIMIZE};
        bool *f = e == 0 ? calloc((size_t)n, sizeof *f) : NULL;
        st = plot(&b, &s, pts, n, &methods, f);
        if (f && st == PRESSO_OK) {
            for (int64_t i = 0; i < n; i++) {
                main_recs[i] = pts[i].rec;
                main_front[i] = f[i];
            }
            n_main = n;
        }
        free(f);
    }
    /* Quality vs generation speed: accuracy when measured, else perplexity. */
    if (st == PRESSO_OK && (acc_sets.n || ppl_sets.n)) {
        const bool acc = acc_sets.n > 0;
        const char *set = acc ? acc_sets.name[0] : ppl_sets.name[0];
        int64_t n = 0;
        for (int64_t i = 0; i < r->n_records; i++) {
            const cJSON *rec = r->records[i];
            const double xv = rec_num(rec, "tg_tps", NULL), yv = rec_num(rec, acc ? "acc" : "ppl", set);
            if (rec_ok(rec) && isfinite(xv) && xv > 0 && isfinite(yv)) pts[n++] = (plot_point){rec, xv, yv};
        }
        if (n) {
            char t[160], yl[128];
            snprintf(t, sizeof t, "%s (%s) vs generation speed", acc ? "Accuracy" : "Perplexity", set);
            snprintf(yl, sizeof yl, acc ? "accuracy, %s (higher is better)" : "perplexity, %s (lower is better)", set);
            plot_spec s = {"plot-speed", t, "generation tokens/s (higher is better)", yl, PRESSO_MAXIMIZE,
                           acc ? PRESSO_MAXIMIZE : PRESSO_MINIMIZE};
            st = plot(&b, &s, pts, n, &methods, NULL);
        }
    }
    sb_puts(&b, "</div>\n");

    /* The table: every record, failed ones included with their error. */
    sb_puts(&b, "<table id=\"results\" class=\"sortable\"><thead><tr><th>cell</th><th>method</th><th>type</th>"
                "<th>sparsity</th><th data-type=\"num\">bits/weight</th><th data-type=\"num\">file MiB</th>");
    for (int e = 0; e < ppl_sets.n; e++) {
        sb_puts(&b, "<th data-type=\"num\">ppl ");
        sb_esc(&b, ppl_sets.name[e]);
        sb_puts(&b, "</th>");
    }
    for (int e = 0; e < acc_sets.n; e++) {
        sb_puts(&b, "<th data-type=\"num\">acc ");
        sb_esc(&b, acc_sets.name[e]);
        sb_puts(&b, "</th>");
    }
    sb_puts(&b, "<th data-type=\"num\">pp tok/s</th><th data-type=\"num\">tg tok/s</th><th data-type=\"num\">peak RSS "
                "MiB</th><th data-type=\"num\">time s</th><th>front</th><th>status</th></tr></thead>\n<tbody>\n");
    /* Baselines first, then the cells in the order they were measured. */
    for (int64_t k = 0; k < 2 * r->n_records; k++) {
        const int64_t i = k % r->n_records;
        const cJSON *rec = r->records[i];
        if (rec_baseline(rec) != (k < r->n_records)) continue;
        bool front = false;
        for (int64_t k = 0; k < n_main; k++) front |= main_recs[k] == rec && main_front[k];
        sb_printf(&b, "<tr class=\"%s%s\">", rec_ok(rec) ? "ok" : "failed", front ? " front" : "");
        cell_text(&b, rec_label(rec));
        cell_text(&b, rec_method(rec));
        cell_text(&b, rec_str(rec, "type"));
        cell_text(&b, rec_str(rec, "sparsity"));
        cell_num(&b, rec_num(rec, "bits_per_weight", NULL), 1, 3);
        cell_num(&b, rec_num(rec, "model_bytes", NULL), 1.0 / (1024.0 * 1024.0), 3);
        for (int e = 0; e < ppl_sets.n; e++) cell_num(&b, rec_num(rec, "ppl", ppl_sets.name[e]), 1, 4);
        for (int e = 0; e < acc_sets.n; e++) cell_num(&b, rec_num(rec, "acc", acc_sets.name[e]), 1, 4);
        cell_num(&b, rec_num(rec, "pp_tps", NULL), 1, 0);
        cell_num(&b, rec_num(rec, "tg_tps", NULL), 1, 0);
        cell_num(&b, rec_num(rec, "peak_rss_bytes", NULL), 1.0 / (1024.0 * 1024.0), 1);
        cell_num(&b, rec_num(rec, "seconds", NULL), 1, 1);
        cell_text(&b, front ? "\u2605" : "");
        if (rec_ok(rec)) cell_text(&b, "ok");
        else {
            const char *err = rec_str(rec, "error");
            sb_puts(&b, "<td data-v=\"failed\" title=\"");
            sb_esc(&b, err ? err : "");
            sb_puts(&b, "\">failed: ");
            sb_esc(&b, err ? err : "(no message)");
            sb_puts(&b, "</td>");
        }
        sb_puts(&b, "</tr>\n");
    }
    sb_puts(&b, "</tbody></table>\n<p class=\"sub\">Click a column header to sort. ★: on the Pareto front of the "
                "first plot. Made by presso report; no network resources.</p>\n<script>");
    sb_puts(&b, script);
    sb_puts(&b, "</script>\n</body></html>\n");
    free(pts);
    free(main_front);
    free(main_recs);
    if (st == PRESSO_OK && b.oom) st = presso_fail(PRESSO_ERR_NOMEM, "report: out of memory");
    if (st != PRESSO_OK) {
        free(b.p);
        return st;
    }
    *html = b.p;
    return PRESSO_OK;
}

presso_status presso_report_write(const presso_results *r, const presso_report_params *p, const char *path) {
    char *html;
    PRESSO_TRY(presso_report_html(r, p, &html));
    presso_status st = presso_write_file_atomic(path, html, strlen(html));
    free(html);
    return st;
}
