/* The HTML report of a sweep: one self-contained page (no network: inline
 * CSS, inline SVG plots, a few lines of inline JS) with
 *   - a results table, sortable by clicking any column header;
 *   - per evaluation text, a plot of perplexity vs bits per weight with the
 *     Pareto front (eval/pareto.h) drawn as a line through ringed points and
 *     the uncompressed baseline marked (diamond + dashed reference line);
 *   - accuracy (or, without accuracy columns, perplexity) vs generation
 *     tokens/s with its own front, when tokens/s were measured;
 * legends by method, axes with ticks and labels. */
#ifndef PRESSO_EVAL_REPORT_H
#define PRESSO_EVAL_REPORT_H

#include "eval/results.h"

typedef struct {
    const char *title;  /* page title; NULL: "presso sweep report" */
    const char *source; /* shown under the title (e.g. the JSONL path); may be NULL */
} presso_report_params;

/* The page as a NUL-terminated string (caller frees). */
presso_status presso_report_html(const presso_results *r, const presso_report_params *p, char **html);
/* presso_report_html written atomically to path. */
presso_status presso_report_write(const presso_results *r, const presso_report_params *p, const char *path);

#endif
