/* Fuzz target: llama2.c checkpoint headers/sizes and llama2.c tokenizer.bin.
 * The first byte picks which parser gets the rest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "model/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const uint8_t which = data[0];
    data++;
    size--;
    /* An aligned copy, as a mapping would be. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    if (which & 1) {
        presso_model *m = calloc(1, sizeof *m);
        if (m) {
            if (presso_model_load_llama2c_buffer(m, copy, size, "fuzz.bin") == PRESSO_OK &&
                presso_model_validate(m) == PRESSO_OK) {
                /* Every view must lie inside the buffer. */
                const presso_tensor *t = &m->output;
                if ((const uint8_t *)t->data < copy || (const uint8_t *)t->data + t->nbytes > copy + size) abort();
            }
            presso_model_free(m);
        }
    } else {
        presso_tokenizer *t = NULL;
        const int32_t vocab = 1 + (which >> 1) % 64;
        if (presso_tokenizer_load_llama2c_buffer(copy, size, "fuzz-tok.bin", vocab, &t) == PRESSO_OK) {
            int32_t *ids = NULL;
            int64_t n = 0;
            if (presso_tokenizer_encode(t, "Hello world, once upon a time", 29, true, &ids, &n) == PRESSO_OK) {
                char piece[256];
                for (int64_t i = 0; i < n; i++) presso_tokenizer_decode(t, i ? ids[i - 1] : -1, ids[i], piece, sizeof piece);
            }
            free(ids);
            presso_tokenizer_free(t);
        }
    }
    free(copy);
    return 0;
}
