/* libFuzzer target for the GGUF reader: parse any bytes, then walk every kv
 * and tensor through the public getters, so a header that parses but lies
 * about a count or offset still gets every byte it claims touched under ASan. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf.h"

static volatile uint64_t sink;

static void touch(const void *p, uint64_t n) {
    const uint8_t *b = p;
    uint64_t h = 0;
    for (uint64_t i = 0; i < n; i++) h = h * 31 + b[i];
    sink += h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* An exact-size copy, so reading one byte past the end is an ASan error
     * even though libFuzzer's own buffer may be larger. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    presso_gguf *g = NULL;
    if (presso_gguf_open_buffer(size ? copy : NULL, size, "fuzz.gguf", &g) != PRESSO_OK) {
        free(copy);
        return 0;
    }
    sink += presso_gguf_version(g) + presso_gguf_alignment(g) + presso_gguf_data_offset(g) +
            presso_gguf_file_size(g);
    for (int64_t i = 0; i < presso_gguf_kv_count(g); i++) {
        presso_gguf_string k = presso_gguf_kv_key(g, i);
        touch(k.ptr, k.len);
        sink += (uint64_t)presso_gguf_kv_type(g, i);
        presso_gguf_value v;
        if (presso_gguf_kv_value(g, i, &v) != PRESSO_OK) abort();
        touch(v.raw, v.raw_len);
        /* Look the key up again: it must resolve to itself (keys are unique). */
        char key[256];
        if (k.len < sizeof key && !memchr(k.ptr, '\0', (size_t)k.len)) {
            memcpy(key, k.ptr, (size_t)k.len);
            key[k.len] = '\0';
            if (presso_gguf_find_key(g, key) != i) abort();
            uint32_t u32;
            uint64_t u64;
            int64_t i64;
            float f32;
            double f64;
            bool b;
            presso_gguf_string s;
            presso_gguf_value_type et;
            uint64_t count;
            const void *arr;
            sink += presso_gguf_get_u32(g, key, &u32) + presso_gguf_get_u64(g, key, &u64) +
                    presso_gguf_get_i64(g, key, &i64) + presso_gguf_get_f32(g, key, &f32) +
                    presso_gguf_get_f64(g, key, &f64) + presso_gguf_get_bool(g, key, &b);
            if (presso_gguf_get_string(g, key, &s) == PRESSO_OK) touch(s.ptr, s.len);
            if (presso_gguf_get_array_info(g, key, &et, &count) == PRESSO_OK) {
                if (et == PRESSO_GGUF_STRING) {
                    for (uint64_t j = 0; j < count; j++)
                        if (presso_gguf_get_array_string(g, key, j, &s) == PRESSO_OK) touch(s.ptr, s.len);
                        else abort();
                    if (presso_gguf_get_array_string(g, key, count, &s) == PRESSO_OK) abort();
                } else if (presso_gguf_get_array_data(g, key, &arr) == PRESSO_OK) {
                    touch(arr, v.raw_len - 12);
                } else {
                    abort();
                }
            }
        }
        if (v.type == PRESSO_GGUF_ARRAY && v.elem_type == PRESSO_GGUF_STRING)
            for (uint64_t j = 0; j < v.count; j++) {
                presso_gguf_string s;
                if (presso_gguf_kv_array_string(g, i, j, &s) != PRESSO_OK) abort();
                touch(s.ptr, s.len);
            }
        else if (v.type == PRESSO_GGUF_STRING || v.type != PRESSO_GGUF_ARRAY)
            touch(v.data, v.type == PRESSO_GGUF_STRING ? v.count : v.raw_len);
    }
    for (int64_t i = 0; i < presso_gguf_tensor_count(g); i++) {
        const presso_tensor *t = presso_gguf_tensor(g, i);
        if (presso_gguf_find_tensor(g, t->name) != t) abort();
        touch(t->data, t->nbytes);
        sink += (uint64_t)(t->ne[0] + t->ne[1] + t->ne[2] + t->ne[3]);
    }
    presso_gguf_close(g);
    free(copy);
    return 0;
}
