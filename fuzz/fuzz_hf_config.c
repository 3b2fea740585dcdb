/* libFuzzer target: config.json parsing and validation on arbitrary bytes.
 * Whatever it accepts must satisfy the invariants the forward pass relies on. */
#include <stdint.h>
#include <stdlib.h>

#include "formats/hf_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    presso_hf_config c;
    if (presso_hf_config_parse((const char *)data, size, "fuzz.json", &c) != PRESSO_OK) return 0;
    if (c.hidden_size <= 0 || c.num_attention_heads <= 0 || c.num_key_value_heads <= 0 ||
        c.hidden_size % c.num_attention_heads != 0 ||
        c.num_attention_heads % c.num_key_value_heads != 0 || c.head_dim <= 0 ||
        c.head_dim % 2 != 0 || c.vocab_size <= 0 || c.intermediate_size <= 0 ||
        c.num_hidden_layers <= 0 || !(c.rms_norm_eps > 0) || !(c.rope_theta > 0) ||
        c.bos_token_id >= c.vocab_size || c.eos_token_id >= c.vocab_size)
        abort();
    return 0;
}
