#include "compress/pass.h"

#include <string.h>

static const presso_pass *const passes[] = {&presso_pass_rtn, &presso_pass_gptq, &presso_pass_magnitude,
                                              &presso_pass_wanda, &presso_pass_sparsegpt};

int presso_pass_count(void) { return (int)(sizeof passes / sizeof passes[0]); }

const presso_pass *presso_pass_at(int i) { return i >= 0 && i < presso_pass_count() ? passes[i] : NULL; }

const presso_pass *presso_pass_find(const char *name) {
    for (int i = 0; i < presso_pass_count(); i++)
        if (strcmp(passes[i]->name, name) == 0) return passes[i];
    return NULL;
}
