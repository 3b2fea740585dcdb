#include "compress/transform.h"

#include <string.h>

static const presso_method methods[] = {
    {"rtn", NULL, "rtn", PRESSO_TYPE_COUNT},
    {"gptq", NULL, "gptq", PRESSO_TYPE_COUNT},
    {"awq", &presso_transform_awq, "rtn", PRESSO_TYPE_COUNT},
    {"awq+gptq", &presso_transform_awq, "gptq", PRESSO_TYPE_COUNT},
    {"smoothquant", &presso_transform_smoothquant, "rtn", PRESSO_TYPE_W8A8},
};

int presso_method_count(void) { return (int)(sizeof methods / sizeof methods[0]); }

const presso_method *presso_method_at(int i) { return i >= 0 && i < presso_method_count() ? &methods[i] : NULL; }

const presso_method *presso_method_find(const char *name) {
    for (int i = 0; i < presso_method_count(); i++)
        if (strcmp(methods[i].name, name) == 0) return &methods[i];
    return NULL;
}
