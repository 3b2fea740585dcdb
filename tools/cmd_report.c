/* presso report RESULTS.jsonl -o report.html [--title T] [--json]: one
 * self-contained HTML page (sortable table, Pareto plots) from a sweep's
 * results (docs/sweep.md). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "eval/report.h"

int cmd_report(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *title = NULL, *v = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, NULL, "--json")) json = true;
        else if (cli_option(argv, argc, &i, "-o", "--output", &v)) {
            if (!v) return cli_usage_error("-o needs an output file (.html)");
            out = v;
        } else if (cli_option(argv, argc, &i, NULL, "--title", &v)) {
            if (!v) return cli_usage_error("--title needs a title");
            title = v;
        } else if (a[0] == '-') return cli_usage_error("report: unknown option '%s'", a);
        else if (!in) in = a;
        else return cli_usage_error("report: unexpected argument '%s'", a);
    }
    if (!in || !out) return cli_usage_error("usage: presso report RESULTS.jsonl -o report.html [--title T]");
    struct stat si, so;
    if (stat(in, &si) == 0 && stat(out, &so) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino)
        return cli_usage_error("report: the output %s is the results file; refusing to overwrite it", out);
    presso_results *r;
    if (presso_results_load(in, false, false, &r) != PRESSO_OK) return cli_fail();
    if (r->n_records == 0) {
        presso_results_free(r);
        return cli_usage_error("%s: no results in it; nothing to report", in);
    }
    presso_report_params p = {.title = title, .source = in};
    if (presso_report_write(r, &p, out) != PRESSO_OK) {
        presso_results_free(r);
        return cli_fail();
    }
    int64_t ok = 0;
    for (int64_t i = 0; i < r->n_records; i++) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(r->records[i], "status");
        ok += cJSON_IsString(s) && strcmp(s->valuestring, "ok") == 0;
    }
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "results", in);
        cJSON_AddStringToObject(o, "output", out);
        cJSON_AddNumberToObject(o, "lines", (double)r->n_lines);
        cJSON_AddNumberToObject(o, "cells", (double)r->n_records);
        cJSON_AddNumberToObject(o, "ok", (double)ok);
        cJSON_AddNumberToObject(o, "failed", (double)(r->n_records - ok));
        char *s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("wrote %s: %lld cells (%lld measured, %lld failed) from %s\n", out, (long long)r->n_records,
               (long long)ok, (long long)(r->n_records - ok), in);
    }
    presso_results_free(r);
    return 0;
}
