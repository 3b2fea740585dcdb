/* Sweep results: a JSONL file, one JSON object per finished cell (written by
 * `presso sweep`, read by `presso report`). Each record has at least "key"
 * (the cell's stable identity) and "status" ("ok" or "failed"); the fields
 * are documented in docs/sweep.md. A later record for the same key replaces
 * an earlier one (a retried cell). */
#ifndef PRESSO_EVAL_RESULTS_H
#define PRESSO_EVAL_RESULTS_H

#include <stdbool.h>
#include <stdint.h>

#include "presso.h"

typedef struct cJSON cJSON;

typedef struct {
    cJSON **records;   /* the latest record of each key, in order of first appearance */
    int64_t n_records;
    int64_t n_lines;   /* non-blank lines read */
    int64_t torn_line; /* 1-based line number of a dropped torn last line, 0 when none */
    int64_t valid_bytes; /* bytes of the file up to and including the last good line */
} presso_results;

/* Reads path. Every non-blank line must be a JSON object with a string "key";
 * otherwise the error names path:LINE. With tolerate_torn_tail, a last line
 * that does not parse or lacks its '\n' (a write cut short) is dropped and
 * reported in torn_line instead. A missing file is an error unless
 * missing_ok (then the result is empty). */
presso_status presso_results_load(const char *path, bool tolerate_torn_tail, bool missing_ok, presso_results **out);
void presso_results_free(presso_results *r);

/* The record whose "key" is key, or NULL. */
const cJSON *presso_results_find(const presso_results *r, const char *key);

#endif
