/* --type-map NAME=TYPE[,NAME=TYPE...]: per-tensor type overrides of the
 * compression driver (compress/driver.h), shared by quantize and prune. */
#define _POSIX_C_SOURCE 200809L /* strtok_r */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tensor/types.h"

static const char *const override_names[] = {"token_embd", "output",   "attn_q", "attn_k",  "attn_v",
                                             "attn_output", "ffn_gate", "ffn_up", "ffn_down"};

bool cli_parse_type_map(const char *spec, presso_type_override *out, int cap, int *n) {
    *n = 0;
    char buf[16384];
    if (strlen(spec) >= sizeof buf) return cli_usage_error("--type-map is too long"), false;
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq) return cli_usage_error("--type-map: '%s' is not NAME=TYPE", item), false;
        *eq = '\0';
        /* a base name, or blk.<layer or glob>.<block base> */
        const char *base = item;
        if (strncmp(item, "blk.", 4) == 0 && strrchr(item, '.') > item + 3) base = strrchr(item, '.') + 1;
        bool known = false;
        for (size_t i = base == item ? 0 : 2; i < sizeof override_names / sizeof override_names[0]; i++)
            known |= strcmp(base, override_names[i]) == 0;
        if (!known || strlen(item) >= sizeof out[0].name)
            return cli_usage_error("--type-map: unknown tensor '%s' (token_embd, output, attn_q, attn_k, attn_v, "
                                   "attn_output, ffn_gate, ffn_up, ffn_down, or blk.N.NAME / a glob such as "
                                   "blk.*.ffn_down)", item), false;
        presso_type t;
        if (presso_type_from_name(eq + 1, &t) != PRESSO_OK || !presso_type_traits_of(t)->from_float_ref ||
            t == PRESSO_TYPE_Q8_1 || t == PRESSO_TYPE_Q8_K) /* activation-only types */
            return cli_usage_error("--type-map: '%s' is not a type presso writes", eq + 1), false;
        if (*n == cap) return cli_usage_error("--type-map: too many entries"), false;
        snprintf(out[*n].name, sizeof out[*n].name, "%s", item);
        out[*n].type = t;
        (*n)++;
    }
    return true;
}
