/* presso synth --dim D --hidden H --layers L --heads NH --kv-heads NKV
 *              --vocab V [--ctx C] [--type f32|f16|...] [--seed S] -o OUT.gguf */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/path.h"
#include "model/synth.h"

int cmd_synth(int argc, char **argv) {
    int64_t dim = 0, hidden = 0, layers = 0, heads = 0, kv_heads = 0, vocab = 32000, ctx = 2048, seed = 1;
    const char *out = NULL, *type = "f32", *v = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_option(argv, argc, &i, NULL, "--dim", &v)) {
            if (!cli_int(a, v, 2, 1 << 16, &dim)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--hidden", &v)) {
            if (!cli_int(a, v, 1, 1 << 18, &hidden)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--layers", &v)) {
            if (!cli_int(a, v, 1, 1024, &layers)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--heads", &v)) {
            if (!cli_int(a, v, 1, 4096, &heads)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--kv-heads", &v)) {
            if (!cli_int(a, v, 1, 4096, &kv_heads)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--vocab", &v)) {
            if (!cli_int(a, v, 260, 1 << 21, &vocab)) return 2;
        } else if (cli_option(argv, argc, &i, "-c", "--ctx", &v)) {
            if (!cli_int(a, v, 1, 1 << 20, &ctx)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--seed", &v)) {
            if (!cli_int(a, v, 0, INT64_MAX, &seed)) return 2;
        } else if (cli_option(argv, argc, &i, NULL, "--type", &v)) {
            if (!v) return cli_usage_error("--type needs a type");
            type = v;
        } else if (cli_option(argv, argc, &i, "-o", "--output", &v)) {
            if (!v) return cli_usage_error("-o needs a path");
            out = v;
        } else return cli_usage_error("synth: unknown argument '%s'", a);
    }
    if (!out || !dim || !hidden || !layers || !heads)
        return cli_usage_error("usage: presso synth --dim D --hidden H --layers L --heads NH [--kv-heads NKV] "
                               "[--vocab V] [--type T] -o OUT.gguf");
    if (!kv_heads) kv_heads = heads;
    presso_synth_params p = {(int32_t)dim, (int32_t)hidden, (int32_t)layers, (int32_t)heads, (int32_t)kv_heads,
                             (int32_t)vocab, (int32_t)ctx, PRESSO_TYPE_F32, (uint64_t)seed};
    if (presso_type_from_name(type, &p.type) != PRESSO_OK) return cli_usage_error("%s", presso_last_error());
    if (presso_synth_gguf(&p, out) != PRESSO_OK) return cli_fail();
    fprintf(stderr, "presso: wrote %s (dim %lld, hidden %lld, %lld layers, %lld/%lld heads, vocab %lld, %s)\n", out,
            (long long)dim, (long long)hidden, (long long)layers, (long long)heads, (long long)kv_heads,
            (long long)vocab, type);
    return 0;
}
