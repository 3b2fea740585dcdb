/* The type traits table and float conversions. */
#include "harness.h"
#include "tensor/fp16.h"
#include "tensor/types.h"

int main(void) {
    CHECK(presso_type_traits_of(-1) == NULL);
    CHECK(presso_type_traits_of(4) == NULL); /* ggml's removed Q4_2 */
    CHECK(presso_type_traits_of(999) == NULL);
    CHECK(presso_row_bytes(PRESSO_TYPE_F16, 172) == 344);
    presso_type t;
    CHECK_OK(presso_type_from_name("F16", &t));
    CHECK(t == PRESSO_TYPE_F16);
    CHECK(presso_type_from_name("q9_9", &t) == PRESSO_ERR_INVALID_ARG);
    /* Half conversion: every half value round-trips exactly. */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = presso_f16_to_f32((presso_f16)h);
        if (f != f) continue; /* NaN payloads need not round-trip */
        if (presso_f32_to_f16(f) != h) bad++;
    }
    CHECK_MSG(bad == 0, "%d half values do not round-trip", bad);
    CHECK(presso_f32_to_f16(65520.0f) == 0x7c00); /* rounds to +inf */
    CHECK(presso_f32_to_f16(1.0f + 1.0f / 2048.0f) == 0x3c00); /* tie to even */
    CHECK(presso_f32_to_bf16(1.0f) == 0x3f80);
    CHECK(presso_bf16_to_f32(0x3f80) == 1.0f);
    return presso_test_finish();
}
