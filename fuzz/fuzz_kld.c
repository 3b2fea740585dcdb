/* libFuzzer target for the reader of llama-perplexity / presso base
 * log-probability files (eval/kld.h): parse any bytes, then read every token
 * and compare a fixed set of logits with every record, so a header that
 * passes the size check but lies about its shape still gets every byte it
 * claims touched under ASan. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eval/kld.h"

static volatile int64_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* An exact-size copy: one byte past the end is an ASan error. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    presso_kld_base b;
    if (presso_kld_base_open_buffer(size ? copy : NULL, size, "fuzz.kld", &b) != PRESSO_OK) {
        free(copy);
        return 0;
    }
    const int64_t n_tok = (int64_t)b.n_chunk * b.n_ctx;
    for (int64_t i = 0; i < n_tok; i++) sink += presso_kld_base_token(&b, i);
    const int64_t per_chunk = presso_kld_scored_per_chunk(b.n_ctx), positions = b.n_chunk * per_chunk;
    const size_t record_bytes = 2 * (size_t)presso_kld_record_slots(b.n_vocab);
    float *logits = malloc(sizeof(float) * (size_t)b.n_vocab);
    presso_kld_acc acc;
    if (logits && presso_kld_acc_init(&acc, positions) == PRESSO_OK) {
        for (int32_t i = 0; i < b.n_vocab; i++) logits[i] = (float)(i % 7) - 3.0f;
        for (int64_t p = 0; p < positions; p++)
            presso_kld_add(&acc, logits, b.n_vocab, b.records + (size_t)p * record_bytes, (int32_t)(p % b.n_vocab));
        presso_kld_summary s;
        presso_kld_summarize(&acc, &s);
        sink += s.count;
        presso_kld_acc_free(&acc);
    }
    free(logits);
    presso_kld_base_close(&b);
    free(copy);
    return 0;
}
