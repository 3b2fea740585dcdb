/* presso command-line interface: argument parsing over the library; each
 * command lives in its own cmd_*.c. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    bool multithreaded; /* long OpenMP work: cli_choose_wait_policy first */
    const char *summary;
} commands[] = {
    {"info", cmd_info, false, "MODEL [--flops-ctx N]: architecture, shapes, tensor types, parameters (non-zero), bytes, bits/weight, FLOPs/token"},
    {"generate", cmd_generate, true, "MODEL [-z TOK] [-p PROMPT] [--chat [--system S]] [-n N] [--temp T] [--top-p P] [--top-k K] [--seed S] [--prompt-file P]"},
    {"ppl", cmd_ppl, true, "MODEL -f TEXT [-c CTX] [--protocol llamacpp|strided] [--stride S] [--chunks N] [--prompt-file P] [--hard-prompt T]"},
    {"eval", cmd_eval, true, "MODEL --task hellaswag|lambada|piqa|...|mc [--data FILE] [--limit N] [--bench]: zero-shot accuracy + cost"},
    {"bench", cmd_bench, true, "MODEL [-t THREADS] [-p 128] [-n 64] [-r REPS] [--prompt-file P]: tokens/s and peak memory"},
    {"synth", cmd_synth, false, "--dim D --hidden H --layers L --heads NH --kv-heads NKV --vocab V -o OUT.gguf"},
    {"convert", cmd_convert, false, "IN OUT.gguf --type f32|f16|bf16|q8_0|q4_0|... [--sparse 2:4 [--magnitude]]: write a GGUF"},
    {"tune-prompt", cmd_tune_prompt, true, "MODEL --calib TEXT -o PROMPT.bin [--teacher T] [--tokens K] [--steps N] [--mode prompt|prefix]: learn a soft prompt (CTP)"},
    {"quantize", cmd_quantize, true, "IN OUT.gguf --method rtn|gptq|awq|awq+gptq|smoothquant --type q4_0|... [--calib TEXT]: post-training quantization"},
    {"sweep", cmd_sweep, false, "CONFIG [-o RESULTS.jsonl] [--dry-run] [--retry-failed]: run a grid of compressions, resumable"},
    {"report", cmd_report, false, "RESULTS.jsonl -o report.html [--title T]: self-contained HTML table + Pareto plots"},
    {"prune", cmd_prune, true, "IN OUT.gguf --method magnitude|wanda|sparsegpt|structured [--sparsity S|--nm N:M|--ffn-ratio R] [--calib TEXT] [--quantize TYPE]"},
};

static void usage(FILE *f) {
    fprintf(f, "presso %s — compress, measure and run llama-family models\n\nusage: presso COMMAND [options]\n\n",
            "0.1.0");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nEvery command takes -t THREADS and --json (machine-readable output).\n"
               "MODEL is a llama2.c .bin, a .gguf, or a Hugging Face directory (config.json + safetensors).\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) {
            if (commands[i].multithreaded) cli_choose_wait_policy(argv);
            return commands[i].run(argc - 1, argv + 1);
        }
    usage(stderr);
    return cli_usage_error("unknown command '%s'", argv[1]);
}
