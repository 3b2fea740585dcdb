/* libFuzzer target: the safetensors header parser on arbitrary bytes. Every
 * tensor it accepts must lie inside the input and match dtype x shape. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    presso_safetensors *st = NULL;
    if (presso_safetensors_open_buffer(data, size, "fuzz.safetensors", &st) != PRESSO_OK) return 0;
    volatile uint8_t sink = 0;
    for (int64_t i = 0; i < presso_safetensors_tensor_count(st); i++) {
        const presso_tensor *t = presso_safetensors_tensor(st, i);
        const uint8_t *p = t->data;
        if (p < data || p + t->nbytes > data + size) abort();
        if (presso_safetensors_find(st, t->name) != t) abort();
        /* Touch the first and last byte so ASan checks the bounds. */
        if (t->nbytes) sink ^= p[0] ^ p[t->nbytes - 1];
    }
    (void)sink;
    presso_safetensors_close(st);
    return 0;
}
