/* A sweep's configuration (docs/sweep.md): the model, the evaluation texts,
 * the calibration text, threads, the bench settings, and a grid whose
 * entries expand (cartesian product of their array-valued keys) into cells.
 * A cell is one compressed model (or the uncompressed baseline) measured the
 * same way as every other; its key is a stable string made from its
 * parameters, so a resumed sweep recognises the cells it already finished. */
#ifndef PRESSO_EVAL_SWEEP_H
#define PRESSO_EVAL_SWEEP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/path.h"
#include "presso.h"

typedef struct cJSON cJSON;

typedef struct {
    char name[64];
    char file[PRESSO_PATH_MAX];
    int32_t ctx, chunks; /* chunks 0: the whole text */
} presso_sweep_eval;

typedef struct {
    char key[512];   /* e.g. "method=gptq type=q4_0", "prune=wanda nm=2:4 quantize=q4_0", "baseline" */
    char label[256]; /* for tables and plots; the config's "label" or a short form of the key */
    bool baseline;
    bool keep;       /* keep this cell's model files in the work directory */
    const cJSON *params; /* the cell's parameters (owned by the config) */
} presso_sweep_cell;

typedef struct {
    char path[PRESSO_PATH_MAX];      /* the config file */
    char model[PRESSO_PATH_MAX];
    char tokenizer[PRESSO_PATH_MAX]; /* "" when the model carries its own */
    char results[PRESSO_PATH_MAX];   /* "" unless the config names one */
    char work_dir[PRESSO_PATH_MAX];  /* "" unless the config names one */
    int threads;
    struct {
        char file[PRESSO_PATH_MAX]; /* "" when no cell needs calibration */
        int32_t count, len;          /* 0: the quantize command's defaults */
        int64_t seed;
    } calib;
    presso_sweep_eval *evals;
    int n_evals;
    struct {
        bool enabled;
        int32_t n_prompt, n_gen, reps;
    } bench;
    int32_t task_limit; /* eval --limit; 0: whole task files */
    bool keep;
    char baseline_type[16]; /* "baseline": "f32" etc.: the baseline is the model converted to this GGUF type
                               (tokenized and run exactly as the compressed GGUFs are); "" = the model as is */
    char setup[17]; /* hex FNV-1a of everything but the grid: results under another setup are stale */
    presso_sweep_cell *cells;
    int n_cells;
    cJSON *root;        /* the parsed file */
    cJSON *cell_params; /* owns the expanded cells' parameter objects */
} presso_sweep_config;

/* Parses and validates the config; relative paths in it are taken from the
 * config file's directory. Errors name the file and the offending entry. */
presso_status presso_sweep_config_load(const char *path, presso_sweep_config **out);
void presso_sweep_config_free(presso_sweep_config *c);

/* A cell parameter as a string ("" when absent; numbers as %g; true/false). */
const char *presso_sweep_param(const presso_sweep_cell *cell, const char *name, char *buf, size_t cap);

#endif
