#define _POSIX_C_SOURCE 200809L /* mkdtemp */
/* Sweep results and the HTML report (src/eval/{results,report,sweep}.c):
 * the fixture JSONL (a real 6-cell sweep of tinystories-656k, one cell
 * failed) gives a page with a sortable table of every cell and SVG plots
 * whose points, Pareto front and baseline are the ones the numbers imply;
 * bad lines are errors naming the line (or, resuming, a dropped torn tail);
 * a config's grid expands to the expected cells with stable keys, and bad
 * configs are errors naming the entry. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval/report.h"
#include "eval/results.h"
#include "eval/sweep.h"
#include "harness.h"

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* The text of the <svg ... id="id"> element. */
static char *svg_of(const char *html, const char *id) {
    char open[128];
    snprintf(open, sizeof open, "id=\"%s\"", id);
    const char *a = strstr(html, open), *b = a ? strstr(a, "</svg>") : NULL;
    if (!b) return NULL;
    char *s = malloc((size_t)(b - a) + 1);
    memcpy(s, a, (size_t)(b - a));
    s[b - a] = '\0';
    return s;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static void test_fixture_report(const char *tmpdir) {
    presso_results *r = NULL;
    CHECK_OK(presso_results_load(PRESSO_SOURCE_DIR "/tests/fixtures/sweep_small.jsonl", false, false, &r));
    if (!r) return;
    CHECK(r->n_records == 6 && r->n_lines == 6 && r->torn_line == 0);
    char *html = NULL;
    presso_report_params p = {.title = "Fixture <sweep> & co", .source = "sweep_small.jsonl"};
    CHECK_OK(presso_report_html(r, &p, &html));
    if (!html) {
        presso_results_free(r);
        return;
    }
    /* Self-contained: no external resource of any kind. */
    CHECK(!strstr(html, "http://") && !strstr(html, "https://") && !strstr(html, " src=") && !strstr(html, "<link"));
    CHECK(strstr(html, "<title>Fixture &lt;sweep&gt; &amp; co</title>") != NULL);
    /* The table: one row per cell, every header sortable by the inline script. */
    CHECK(strstr(html, "<table id=\"results\" class=\"sortable\">") != NULL);
    CHECK_MSG(count(html, "<tr class=\"ok") == 5 && count(html, "<tr class=\"failed") == 1, "rows: %d ok, %d failed",
              count(html, "<tr class=\"ok"), count(html, "<tr class=\"failed"));
    CHECK_MSG(count(html, "</th>") == 13, "%d columns", count(html, "</th>")); /* 6 + 1 ppl + 6 */
    CHECK(strstr(html, "addEventListener('click'") && strstr(html, "rows.sort("));
    CHECK(strstr(html, "unknown method &#39;awq&#39; (rtn, gptq)") != NULL);
    /* Sort keys hold the full values: gptq q4_0's perplexity, its bits/weight. */
    CHECK(strstr(html, "data-v=\"28.731100000000001\">28.7311</td>") != NULL);
    /* Perplexity vs size: 5 measured points; the front is gptq q4_0 (4.53),
     * gptq q8_0 (8.52), the baseline (32): rtn q4_0 is worse than gptq q4_0
     * at the same size, rtn q8_0 worse than gptq q8_0. */
    char *svg = svg_of(html, "plot-ppl-0");
    CHECK(svg != NULL);
    if (svg) {
        CHECK_MSG(count(svg, "class=\"pt") == 5, "%d points", count(svg, "class=\"pt"));
        CHECK_MSG(count(svg, "class=\"pt on-front\"") == 2 && count(svg, "class=\"pt baseline on-front\"") == 1,
                  "front points: %d + baseline %d", count(svg, "class=\"pt on-front\""),
                  count(svg, "class=\"pt baseline on-front\""));
        const char *front = strstr(svg, "<path class=\"front\" d=\"M");
        CHECK(front != NULL);
        if (front) {
            const char *end = strchr(front + 24, '"');
            int vertices = 1;
            for (const char *q = front + 24; q < end; q++) vertices += *q == 'L';
            CHECK_MSG(vertices == 3, "front has %d vertices", vertices);
        }
        CHECK(strstr(svg, "data-key=\"method=gptq type=q4_0\"") && strstr(svg, "data-key=\"baseline\""));
        CHECK(count(svg, "class=\"baseline-ref\"") == 1);
        CHECK(strstr(svg, ">rtn</text>") && strstr(svg, ">gptq</text>") && strstr(svg, ">Pareto front</text>"));
        CHECK(strstr(svg, ">bits per weight</text>") != NULL);
        /* Ticks: x from 0 to 35 by 5 (bits/weight 4.5..32). */
        CHECK(strstr(svg, ">0</text>") && strstr(svg, ">35</text>"));
        free(svg);
    }
    /* Perplexity vs generation speed (no accuracy in the fixture). */
    svg = svg_of(html, "plot-speed");
    CHECK(svg != NULL);
    if (svg) {
        CHECK(count(svg, "class=\"pt") == 5);
        CHECK(strstr(svg, "Perplexity (tinystories) vs generation speed") != NULL);
        free(svg);
    }
    free(html);
    /* Written atomically: the file, no .tmp; an unwritable place is an error. */
    char out[512], tmp[600];
    snprintf(out, sizeof out, "%s/report.html", tmpdir);
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    CHECK_OK(presso_report_write(r, &p, out));
    CHECK(presso_test_file_exists(out) && !presso_test_file_exists(tmp));
    CHECK(presso_report_write(r, &p, "/nonexistent-dir/report.html") == PRESSO_ERR_IO);
    presso_results_free(r);
}

static void test_bad_lines(const char *tmpdir) {
    char path[512];
    snprintf(path, sizeof path, "%s/bad.jsonl", tmpdir);
    presso_results *r = NULL;
    write_text(path, "{\"key\":\"a\",\"status\":\"ok\"}\n{\"key\": \"b\", oops}\n{\"key\":\"c\",\"status\":\"ok\"}\n");
    CHECK(presso_results_load(path, false, false, &r) == PRESSO_ERR_FORMAT && !r);
    CHECK_MSG(strstr(presso_last_error(), "bad.jsonl:2: bad result line: not valid JSON") != NULL, "%s", presso_last_error());
    write_text(path, "{\"key\":\"a\"}\n[1,2]\n");
    CHECK(presso_results_load(path, false, false, &r) == PRESSO_ERR_FORMAT);
    CHECK(strstr(presso_last_error(), ":2: bad result line: not a JSON object") != NULL);
    write_text(path, "\n{\"status\":\"ok\"}\n");
    CHECK(presso_results_load(path, false, false, &r) == PRESSO_ERR_FORMAT);
    CHECK(strstr(presso_last_error(), ":2: bad result line: no string \"key\"") != NULL);
    CHECK(presso_results_load("/nonexistent.jsonl", false, false, &r) == PRESSO_ERR_IO);
    CHECK_OK(presso_results_load("/nonexistent.jsonl", false, true, &r));
    CHECK(r && r->n_records == 0);
    presso_results_free(r);
    r = NULL;
    /* A torn last record (a write cut short): an error for report, dropped
     * when resuming, with the bytes to keep. */
    const char *good = "{\"key\":\"a\",\"status\":\"ok\"}\n{\"key\":\"b\",\"status\":\"failed\"}\n";
    char torn[256];
    snprintf(torn, sizeof torn, "%s{\"key\":\"c\",\"sta", good);
    write_text(path, torn);
    CHECK(presso_results_load(path, false, false, &r) == PRESSO_ERR_FORMAT);
    CHECK(strstr(presso_last_error(), ":3: bad result line") != NULL);
    CHECK_OK(presso_results_load(path, true, false, &r));
    if (r) {
        CHECK(r->n_records == 2 && r->torn_line == 3 && r->valid_bytes == (int64_t)strlen(good));
        CHECK(presso_results_find(r, "b") && !presso_results_find(r, "c"));
        presso_results_free(r);
        r = NULL;
    }
    /* A complete last record without its newline is torn when resuming (the
     * newline is written in the same write()), fine for report. */
    snprintf(torn, sizeof torn, "%s{\"key\":\"c\",\"status\":\"ok\"}", good);
    write_text(path, torn);
    CHECK_OK(presso_results_load(path, true, false, &r));
    CHECK(r && r->n_records == 2 && r->torn_line == 3);
    presso_results_free(r);
    r = NULL;
    CHECK_OK(presso_results_load(path, false, false, &r));
    CHECK(r && r->n_records == 3);
    presso_results_free(r);
    r = NULL;
    /* A retried cell: the later record replaces the earlier one. */
    write_text(path, "{\"key\":\"a\",\"status\":\"failed\"}\n{\"key\":\"b\",\"status\":\"ok\"}\n{\"key\":\"a\",\"status\":\"ok\"}\n");
    CHECK_OK(presso_results_load(path, false, false, &r));
    if (r) {
        CHECK(r->n_records == 2 && r->n_lines == 3);
        const cJSON *a = presso_results_find(r, "a");
        CHECK(a && strcmp(cJSON_GetObjectItemCaseSensitive(a, "status")->valuestring, "ok") == 0);
        presso_results_free(r);
    }
    unlink(path);
}

static void test_config(const char *tmpdir) {
    char path[512];
    snprintf(path, sizeof path, "%s/sweep.json", tmpdir);
    write_text(path,
               "{\"model\": \"models/m\", \"threads\": 1,\n"
               " \"calib\": {\"file\": \"/data/sample.txt\", \"count\": 8},\n"
               " \"eval\": [{\"name\": \"ts\", \"file\": \"valid.txt\", \"ctx\": 128},\n"
               "          {\"name\": \"wiki\", \"file\": \"/w/wiki.test.raw\", \"ctx\": 128, \"chunks\": 100}],\n"
               " \"bench\": false,\n"
               " \"grid\": [{\"method\": [\"rtn\", \"gptq\"], \"type\": [\"q8_0\", \"q5_0\", \"q4_0\", \"q4_1\"]},\n"
               "          {\"prune\": [\"sparsegpt\", \"wanda\"], \"sparsity\": 0.5, \"quantize\": [\"q4_0\", \"q8_0\"]},\n"
               "          {\"prune\": \"wanda\", \"nm\": \"2:4\", \"eval\": [\"piqa\", \"arc_easy\"], \"keep\": true},\n"
               "          {\"method\": \"gptq\", \"type\": \"q4_0\", \"act_order\": true, \"label\": \"gptq ao\"}]}\n");
    presso_sweep_config *c = NULL;
    CHECK_OK(presso_sweep_config_load(path, &c));
    if (c) {
        CHECK_MSG(c->n_cells == 1 + 8 + 4 + 1 + 1, "%d cells", c->n_cells);
        CHECK(c->cells[0].baseline && strcmp(c->cells[0].key, "baseline") == 0);
        /* The last axis varies fastest; keys name the parameters in a fixed order. */
        CHECK_MSG(strcmp(c->cells[1].key, "method=rtn type=q8_0") == 0, "%s", c->cells[1].key);
        CHECK(strcmp(c->cells[8].key, "method=gptq type=q4_1") == 0 && strcmp(c->cells[8].label, "gptq q4_1") == 0);
        CHECK_MSG(strcmp(c->cells[9].key, "prune=sparsegpt sparsity=0.5 quantize=q4_0") == 0, "%s", c->cells[9].key);
        CHECK_MSG(strcmp(c->cells[9].label, "sparsegpt 50% +q4_0") == 0, "%s", c->cells[9].label);
        CHECK_MSG(strcmp(c->cells[13].key, "prune=wanda nm=2:4 eval=piqa,arc_easy") == 0, "%s", c->cells[13].key);
        CHECK(c->cells[13].keep && !c->cells[12].keep);
        CHECK(strcmp(c->cells[14].label, "gptq ao") == 0 &&
              strcmp(c->cells[14].key, "method=gptq type=q4_0 act_order=true") == 0);
        /* Paths relative to the config's directory; absolute ones as written. */
        char want[600];
        snprintf(want, sizeof want, "%s/models/m", tmpdir);
        CHECK_MSG(strcmp(c->model, want) == 0, "%s", c->model);
        CHECK(strcmp(c->evals[1].file, "/w/wiki.test.raw") == 0 && c->evals[1].chunks == 100 && c->evals[0].ctx == 128);
        CHECK(c->n_evals == 2 && !c->bench.enabled && c->threads == 1 && c->calib.count == 8 && c->calib.seed == 1234);
        CHECK(strlen(c->setup) == 16);
        char setup[17];
        memcpy(setup, c->setup, sizeof setup);
        presso_sweep_config_free(c);
        c = NULL;
        /* Extending the grid keeps the setup (finished cells stay finished);
         * changing what is measured changes it. */
        write_text(path, "{\"model\": \"models/m\", \"threads\": 1, \"calib\": {\"file\": \"/data/sample.txt\", \"count\": 8},"
                         " \"eval\": [{\"name\": \"ts\", \"file\": \"valid.txt\", \"ctx\": 128},"
                         " {\"name\": \"wiki\", \"file\": \"/w/wiki.test.raw\", \"ctx\": 128, \"chunks\": 100}],"
                         " \"bench\": false, \"grid\": [{\"method\": \"awq\", \"type\": \"q4_0\"}]}");
        CHECK_OK(presso_sweep_config_load(path, &c));
        CHECK(c && strcmp(c->setup, setup) == 0);
        presso_sweep_config_free(c);
        c = NULL;
        write_text(path, "{\"model\": \"models/m\", \"threads\": 1, \"eval\": [{\"name\": \"ts\", \"file\": \"valid.txt\", "
                         "\"ctx\": 256}], \"baseline\": \"f32\", \"grid\": []}");
        CHECK_OK(presso_sweep_config_load(path, &c));
        CHECK(c && strcmp(c->setup, setup) != 0 && c->n_cells == 1 && c->bench.enabled && c->bench.reps == 3);
        /* A baseline converted to a GGUF type is its own cell. */
        CHECK(c && strcmp(c->cells[0].key, "baseline convert=f32") == 0 && strcmp(c->baseline_type, "f32") == 0 &&
              strcmp(c->cells[0].label, "baseline (f32 GGUF)") == 0);
        presso_sweep_config_free(c);
        c = NULL;
    }
    static const struct {
        const char *text, *error;
    } bad[] = {
        {"{\"model\": \"m\", \"eval\": [{\"name\": \"a\", \"file\": \"f\"}], \"grid\": [{\"metod\": \"rtn\"}]}",
         "grid[0]: unknown key \"metod\""},
        {"{\"model\": \"m\", \"eval\": [{\"name\": \"a\", \"file\": \"f\"}], \"grid\": [{\"prune\": \"wanda\", \"nm\": \"4:2\"}]}",
         "grid[0]: nm \"4:2\" is not N:M"},
        {"{\"model\": \"m\", \"eval\": [{\"name\": \"a\", \"file\": \"f\"}], \"grid\": [{\"prune\": \"wanda\", \"sparsity\": 1.5}]}",
         "grid[0]: sparsity 1.5 is not in (0, 1)"},
        {"{\"model\": \"m\", \"eval\": [{\"name\": \"a\", \"file\": \"f\"}], \"grid\": [{\"method\": \"rtn\", \"type\": \"q4_0\"}, "
         "{\"method\": [\"rtn\"], \"type\": \"q4_0\"}]}",
         "grid[1]: cell \"method=rtn type=q4_0\" appears twice"},
        {"{\"model\": \"m\", \"eval\": [{\"name\": \"a\", \"file\": \"f\"}], \"grid\": [{\"type\": \"q4_0\"}]}",
         "grid[0]: a cell needs \"method\""},
        {"{\"model\": \"m\", \"eval\": [{\"name\": \"a\", \"file\": \"f\"}], \"grid\": [{\"method\": [\"rtn\", \"gptq\"], "
         "\"label\": \"x\"}]}",
         "\"label\" must be a string and names one cell"},
        {"{\"model\": \"m\", \"eval\": [], \"grid\": []}", "\"eval\" must be a non-empty array"},
        {"{\"model\": \"m\", \"eval\": [{\"name\": \"a\", \"file\": \"f\"}], \"baseline\": 1, \"grid\": []}",
         "\"baseline\" must be true, false or a GGUF type"},
        {"{\"model\": \"m\", \"eval\": [{\"name\": \"a\", \"file\": \"f\", \"ctx\": 1}], \"grid\": []}",
         "eval[0]: \"ctx\" must be an integer in 2.."},
        {"{\"eval\": [{\"name\": \"a\", \"file\": \"f\"}], \"grid\": []}", "missing \"model\""},
        {"{\"model\": \"m\",\n \"eval\": [}", "sweep.json:2: not valid JSON"},
        {"{\"model\": \"m\", \"eval\": [{\"name\": \"a\", \"file\": \"f\"}], \"grid\": [{\"method\": \"rtn\", \"bits\": [4, \"x\"]}]}",
         "grid[0]: \"bits\" must be a number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(path, bad[i].text);
        CHECK_MSG(presso_sweep_config_load(path, &c) == PRESSO_ERR_FORMAT && !c, "bad config %zu accepted", i);
        CHECK_MSG(strstr(presso_last_error(), bad[i].error) && strstr(presso_last_error(), "sweep.json"),
                  "bad config %zu: '%s' lacks '%s'", i, presso_last_error(), bad[i].error);
        presso_sweep_config_free(c);
        c = NULL;
    }
    unlink(path);
}

int main(void) {
    char tmpdir[] = "/tmp/presso_test_report_XXXXXX";
    if (!mkdtemp(tmpdir)) return 1;
    test_fixture_report(tmpdir);
    test_bad_lines(tmpdir);
    test_config(tmpdir);
    char out[512];
    snprintf(out, sizeof out, "%s/report.html", tmpdir);
    unlink(out);
    rmdir(tmpdir);
    return presso_test_finish();
}
