/* Shared helpers of the presso CLI: option parsing, errors, common setup. */
#ifndef PRESSO_TOOLS_CLI_H
#define PRESSO_TOOLS_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "compress/driver.h"
#include "model/model.h"
#include "presso.h"
#include "tune/prompt.h"

/* Prints "presso: error: <library message>" to stderr and returns 1. */
int cli_fail(void);
/* Prints "presso: error: <message>" to stderr and returns 2 (bad usage). */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* True when argv[*i] is short or long; then *value is the next argument
 * (missing value: *value = NULL, the caller reports it). */
bool cli_option(char **argv, int argc, int *i, const char *short_name, const char *long_name, const char **value);
bool cli_flag(const char *arg, const char *short_name, const char *long_name);

/* Strict numeric parsing of option values: the whole string, within range;
 * on failure prints a usage error naming the option. */
bool cli_int(const char *option, const char *value, int64_t lo, int64_t hi, int64_t *out);
bool cli_float(const char *option, const char *value, double lo, double hi, double *out);

/* Parses --type-map's "NAME=TYPE,NAME=TYPE" into out[cap] (*n entries):
 * NAME is a base (token_embd, output, attn_q, ..., ffn_down: every layer)
 * or blk.N.NAME / a glob such as blk.*.ffn_down; TYPE a type presso writes.
 * False after a usage error naming the entry. */
bool cli_parse_type_map(const char *spec, presso_type_override *out, int cap, int *n);

/* Reads a whole file (text); NULL + error message on failure. */
char *cli_read_file(const char *path, size_t *len);

/* Sets OMP_WAIT_POLICY=passive and re-executes presso when other processes
 * are running and the user set neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT
 * (cli_wait.c says why); returns when nothing is to be done. */
void cli_choose_wait_policy(char **argv);

/* Opens a model, naming the file on failure. */
int cli_open_model(const char *path, const char *tokenizer, presso_model **out);
/* cli_open_model for the commands that run a model (generate, ppl, eval,
 * bench): its Q4_0 / Q4_K linears are then repacked for the CPU matmul
 * (presso_model_repack), unless PRESSO_REPACK=0 in the environment (the
 * row-major kernels, for comparing the two). */
int cli_open_model_to_run(const char *path, const char *tokenizer, presso_model **out);

/* Loads a --prompt-file and checks it fits the model (refusing another
 * model's prompt); on success fills prefix with its view. */
int cli_load_prompt(const char *path, const presso_model *m, presso_prompt **out, presso_llama_prefix *prefix);

int cmd_info(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_ppl(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_report(int argc, char **argv);
/* `presso prune --method structured` (cmd_prune_structured.c). */
int cmd_prune_structured(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_tune_prompt(int argc, char **argv);

#endif
