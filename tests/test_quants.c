/* The reference quantizers and dequantizers of every GGUF block type:
 * type traits, hand-built blocks against hand-computed values, known-answer
 * quantizations, round-trip error bounds on several distributions, and
 * robustness (unaligned blocks, inf/nan, 1e30).
 *
 * Also a tool for tests/test_quants_py.sh, which checks bit-exactness
 * against llama.cpp's gguf-py:
 *   test_quants --quantize TYPE in.f32 out.bin
 *   test_quants --dequantize TYPE in.bin out.f32
 *   test_quants --measure          (prints the round-trip errors the bounds below come from)
 *   test_quants --golden-input F   (writes the input of the llama.cpp golden hashes below)
 *   test_quants --golden-hashes    (prints presso's hashes of it) */
#include <float.h>
#include <stdint.h>
#include <string.h>

#include "core/rng.h"
#include "harness.h"
#include "presso.h"
#include "tensor/fp16.h"
#include "tensor/quants.h"
#include "tensor/types.h"

static const presso_type quant_types[] = {
    PRESSO_TYPE_Q4_0, PRESSO_TYPE_Q4_1, PRESSO_TYPE_Q5_0, PRESSO_TYPE_Q5_1, PRESSO_TYPE_Q8_0, PRESSO_TYPE_Q8_1,
    PRESSO_TYPE_Q2_K, PRESSO_TYPE_Q3_K, PRESSO_TYPE_Q4_K, PRESSO_TYPE_Q5_K, PRESSO_TYPE_Q6_K, PRESSO_TYPE_Q8_K,
};
#define N_QUANT_TYPES ((int)(sizeof quant_types / sizeof quant_types[0]))

/* ---------------------------------------------------------------- tool modes */


static int write_all(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    size_t put = fwrite(data, 1, size, f);
    return fclose(f) == 0 && put == size;
}

/* Converts a whole file. The data is placed at an odd offset so every block is
 * misaligned, as blocks are inside an mmaped GGUF (UBSan would see any
 * misaligned load). */
static int tool_main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s --quantize|--dequantize TYPE in out\n", argv[0]);
        return 2;
    }
    const int quantize = strcmp(argv[1], "--quantize") == 0;
    presso_type type;
    if (presso_type_from_name(argv[2], &type) != PRESSO_OK) {
        fprintf(stderr, "%s\n", presso_last_error());
        return 2;
    }
    const presso_type_traits *t = presso_type_traits_of(type);
    size_t size = 0;
    unsigned char *in = presso_test_read_file(argv[3], &size);
    if (!in) {
        fprintf(stderr, "cannot read %s\n", argv[3]);
        return 2;
    }
    int rc = 0;
    if (quantize) {
        if (size % (sizeof(float) * (size_t)t->block_size) != 0 || !t->from_float_ref) {
            fprintf(stderr, "%s: %zu bytes is not whole %s blocks\n", argv[3], size, t->name);
            rc = 2;
        } else {
            const int64_t n = (int64_t)(size / sizeof(float));
            const size_t out_bytes = (size_t)(n / t->block_size) * t->block_bytes;
            unsigned char *out = malloc(out_bytes + 1);
            t->from_float_ref((const float *)(const void *)in, out + 1, n);
            if (!write_all(argv[4], out + 1, out_bytes)) rc = 2;
            free(out);
        }
    } else {
        if (size % t->block_bytes != 0) {
            fprintf(stderr, "%s: %zu bytes is not whole %s blocks\n", argv[3], size, t->name);
            rc = 2;
        } else {
            const int64_t n = (int64_t)(size / t->block_bytes) * t->block_size;
            unsigned char *shifted = malloc(size + 1);
            memcpy(shifted + 1, in, size);
            float *out = malloc((size_t)n * sizeof(float) + 1);
            t->to_float(shifted + 1, out, n);
            if (!write_all(argv[4], out, (size_t)n * sizeof(float))) rc = 2;
            free(out);
            free(shifted);
        }
    }
    free(in);
    return rc;
}

/* ---------------------------------------------------------------- traits */

static void test_traits(void) {
    static const struct {
        presso_type type;
        const char *name;
        int64_t block_size;
        size_t block_bytes;
    } want[] = {
        {PRESSO_TYPE_Q4_0, "q4_0", 32, 18},  {PRESSO_TYPE_Q4_1, "q4_1", 32, 20},  {PRESSO_TYPE_Q5_0, "q5_0", 32, 22},
        {PRESSO_TYPE_Q5_1, "q5_1", 32, 24},  {PRESSO_TYPE_Q8_0, "q8_0", 32, 34},  {PRESSO_TYPE_Q8_1, "q8_1", 32, 36},
        {PRESSO_TYPE_Q2_K, "q2_K", 256, 84}, {PRESSO_TYPE_Q3_K, "q3_K", 256, 110}, {PRESSO_TYPE_Q4_K, "q4_K", 256, 144},
        {PRESSO_TYPE_Q5_K, "q5_K", 256, 176}, {PRESSO_TYPE_Q6_K, "q6_K", 256, 210},
        {PRESSO_TYPE_Q8_K, "q8_K", 256, 292},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const presso_type_traits *t = presso_type_traits_of(want[i].type);
        CHECK_MSG(t != NULL, "no traits for type %d", (int)want[i].type);
        if (!t) continue;
        CHECK_MSG(strcmp(t->name, want[i].name) == 0, "%s vs %s", t->name, want[i].name);
        CHECK_MSG(t->block_size == want[i].block_size, "%s block_size %lld", t->name, (long long)t->block_size);
        CHECK_MSG(t->block_bytes == want[i].block_bytes, "%s block_bytes %zu", t->name, t->block_bytes);
        CHECK(t->is_quantized);
        CHECK(t->to_float != NULL && t->from_float_ref != NULL);
        presso_type parsed;
        CHECK_OK(presso_type_from_name(want[i].name, &parsed));
        CHECK(parsed == want[i].type);
    }
    presso_type parsed;
    CHECK_OK(presso_type_from_name("Q4_K", &parsed));
    CHECK(parsed == PRESSO_TYPE_Q4_K);
    CHECK(presso_row_bytes(PRESSO_TYPE_Q4_K, 4096) == 16 * 144);
    CHECK(presso_row_bytes(PRESSO_TYPE_Q6_K, 256) == 210);
    CHECK(presso_row_bytes(PRESSO_TYPE_Q4_0, 4096) == 128 * 18);
    CHECK(presso_row_bytes(PRESSO_TYPE_Q4_K, 100) == -1);
    CHECK(presso_row_bytes(PRESSO_TYPE_Q8_0, 48) == -1);
}

/* ---------------------------------------------------------------- hand-built blocks */

static void put_f16(uint8_t *p, float v) {
    const presso_f16 h = presso_f32_to_f16(v);
    p[0] = (uint8_t)(h & 0xff);
    p[1] = (uint8_t)(h >> 8);
}

/* Dequantizes one hand-built block placed at an odd address. */
static void dequant_block(presso_type type, const uint8_t *block, float *out) {
    const presso_type_traits *t = presso_type_traits_of(type);
    uint8_t buf[400];
    memcpy(buf + 3, block, t->block_bytes);
    t->to_float(buf + 3, out, t->block_size);
}

static void test_dequant_hand_built(void) {
    uint8_t b[400];
    float y[256];

    /* Q4_0: d, 16 bytes; element j is low nibble of qs[j], j+16 the high; value (q-8)*d. */
    memset(b, 0, sizeof b);
    put_f16(b, 0.5f);
    b[2 + 0] = 0x0F; /* y0 = (15-8)*0.5, y16 = (0-8)*0.5 */
    b[2 + 5] = 0x9A; /* y5 = (10-8)*0.5, y21 = (9-8)*0.5 */
    dequant_block(PRESSO_TYPE_Q4_0, b, y);
    CHECK(y[0] == 3.5f && y[16] == -4.0f && y[5] == 1.0f && y[21] == 0.5f && y[1] == -4.0f);

    /* Q4_1: d, m, qs; value q*d + m. */
    memset(b, 0, sizeof b);
    put_f16(b, 1.0f);
    put_f16(b + 2, -2.0f);
    b[4 + 0] = 0x52;
    dequant_block(PRESSO_TYPE_Q4_1, b, y);
    CHECK(y[0] == 0.0f && y[16] == 3.0f && y[1] == -2.0f);

    /* Q5_0: d, qh (bit j = fifth bit of element j), qs; value (q-16)*d. */
    memset(b, 0, sizeof b);
    put_f16(b, 0.25f);
    b[2] = 0x01;     /* element 0 */
    b[2 + 2] = 0x01; /* element 16 */
    b[6 + 0] = 0x3F;
    dequant_block(PRESSO_TYPE_Q5_0, b, y);
    CHECK(y[0] == 3.75f && y[16] == 0.75f && y[1] == -4.0f && y[17] == -4.0f);

    /* Q5_1: d, m, qh, qs; value q*d + m. */
    memset(b, 0, sizeof b);
    put_f16(b, 0.5f);
    put_f16(b + 2, 1.0f);
    b[4 + 3] = 0x80; /* element 31 */
    b[8 + 15] = 0x70;
    dequant_block(PRESSO_TYPE_Q5_1, b, y);
    CHECK(y[15] == 1.0f && y[31] == 12.5f && y[30] == 1.0f);

    /* Q8_0 / Q8_1: value qs*d. */
    memset(b, 0, sizeof b);
    put_f16(b, 2.0f);
    b[2 + 3] = (uint8_t)-5;
    b[2 + 31] = 127;
    dequant_block(PRESSO_TYPE_Q8_0, b, y);
    CHECK(y[3] == -10.0f && y[31] == 254.0f && y[0] == 0.0f);
    memset(b, 0, sizeof b);
    put_f16(b, 0.5f);
    put_f16(b + 2, 1000.0f); /* s is redundant and ignored */
    b[4 + 31] = 127;
    b[4 + 0] = (uint8_t)-128;
    dequant_block(PRESSO_TYPE_Q8_1, b, y);
    CHECK(y[31] == 63.5f && y[0] == -64.0f);

    /* Q2_K: scales[16] (low nibble scale, high nibble min), qs[64], d, dmin.
     * Byte l of each 32-byte run holds elements l, l+32, l+64, l+96 (2 bits each);
     * element e uses scales[e/16]; value d*sc*q - dmin*m. */
    memset(b, 0, sizeof b);
    b[0] = 0x23; /* sub-block 0: scale 3, min 2 */
    b[2] = 0x01; /* sub-block 2: scale 1 */
    b[4] = 0x10; /* sub-block 4: min 1 */
    b[6] = 0x0F; /* sub-block 6: scale 15 */
    b[16 + 0] = 0xE4; /* elements 0, 32, 64, 96 = 0, 1, 2, 3 */
    b[16 + 32 + 1] = 0x02; /* element 129 = 2, sub-block 8 */
    b[8] = 0x05;
    put_f16(b + 80, 1.0f);
    put_f16(b + 82, 0.5f);
    dequant_block(PRESSO_TYPE_Q2_K, b, y);
    CHECK(y[0] == -1.0f && y[1] == -1.0f && y[32] == 1.0f && y[64] == -0.5f && y[96] == 45.0f);
    CHECK(y[129] == 10.0f && y[128] == 0.0f);

    /* Q3_K: hmask[32], qs[64], scales[12], d. Scale j is 6 bits (low nibble in
     * byte j or j-8, high 2 bits in byte 8+j%4 at bit 2*(j/4)) minus 32; level
     * is the 2-bit q minus 4 unless the hmask bit (bit e/32 of hmask[e%32]) is set. */
    memset(b, 0, sizeof b);
    b[0] = 0x01;            /* hmask: element 0 high bit */
    b[32 + 0] = 0x03;       /* element 0: q = 3 */
    b[96 + 0] = 0x01;       /* scale 0 low nibble 1 */
    b[96 + 8] = 0x02;       /* scale 0 high bits 2 -> 33 - 32 = 1 */
    b[96 + 0] |= 0x70;      /* scale 8 low nibble 7 */
    b[96 + 8] |= 0x30;      /* scale 8 high bits 3 -> 55 - 32 = 23 */
    b[4] = 0x04;            /* hmask: element 4 + 2*32 = 68 high bit */
    b[32 + 32 + 4] = 0x30;  /* element 128 + 4 + 64 = 196: q = 3 (bits 4-5) */
    put_f16(b + 108, 0.5f);
    dequant_block(PRESSO_TYPE_Q3_K, b, y);
    CHECK(y[0] == 1.5f);           /* 0.5 * 1 * 3 */
    CHECK(y[1] == -2.0f);          /* 0.5 * 1 * (0 - 4) */
    CHECK(y[16] == 64.0f);         /* 0.5 * (0 - 32) * (0 - 4) */
    CHECK(y[68] == 0.0f);          /* hmask set, q = 0: sub-block 4, scale -32 */
    CHECK(y[196] == 16.0f);        /* sub-block 12 (scale -32): 0.5 * -32 * (3 - 4) */
    CHECK(y[128] == -46.0f);       /* sub-block 8 (scale 23): 0.5 * 23 * (0 - 4) */

    /* Q4_K: d, dmin, scales[12] (6-bit scale and min per 32), qs[128]; per 64
     * elements 32 bytes, low nibbles first. Value d*sc*q - dmin*m. */
    memset(b, 0, sizeof b);
    put_f16(b, 1.0f);
    put_f16(b + 2, 1.0f);
    b[4 + 0] = 2 | 0x40; /* sub-block 0 scale 2; bits 6-7: high bits of scale 4 */
    b[4 + 4] = 3;        /* sub-block 0 min 3 */
    b[4 + 1] = 4;        /* sub-block 1 scale 4 */
    b[4 + 5] = 1;        /* sub-block 1 min 1 */
    b[4 + 8] = 0x21;     /* sub-block 4: scale low 1, min low 2 */
    b[16 + 0] = 0x5A;    /* elements 0 (0xA) and 32 (5) */
    b[16 + 64] = 0x03;   /* element 128 */
    dequant_block(PRESSO_TYPE_Q4_K, b, y);
    CHECK(y[0] == 17.0f);  /* 2*10 - 3 */
    CHECK(y[32] == 19.0f); /* 4*5 - 1 */
    CHECK(y[1] == -3.0f);
    CHECK(y[128] == 49.0f); /* scale 1|16 = 17, min 2: 17*3 - 2 */

    /* Q5_K: as Q4_K plus qh[32]: bit 2k (2k+1) of qh[l] is the fifth bit of element 64k+l (64k+32+l). */
    memset(b, 0, sizeof b);
    put_f16(b, 0.5f);
    put_f16(b + 2, 2.0f);
    b[4 + 0] = 3;
    b[4 + 4] = 1;
    b[4 + 1] = 2;
    b[16 + 0] = 0x01 | 0x02; /* elements 0 and 32 get +16 */
    b[16 + 7] = 0x04;        /* element 64 + 7 gets +16 (sub-block 2, scale 0) */
    b[48 + 0] = 0xF1;
    dequant_block(PRESSO_TYPE_Q5_K, b, y);
    CHECK(y[0] == 23.5f);  /* 0.5*3*(1+16) - 2*1 */
    CHECK(y[32] == 31.0f); /* 0.5*2*(15+16) - 0 */
    CHECK(y[71] == 0.0f);
    CHECK(y[1] == -2.0f);

    /* Q6_K: ql[128], qh[64], scales[16] int8, d. Per 128 elements: ql[l] low/high
     * nibbles are elements l and l+64, ql[l+32] are l+32 and l+96, qh[l] holds the
     * four 2-bit high parts; level minus 32, times d*scale[e/16]. */
    memset(b, 0, sizeof b);
    b[0] = 0x01;                  /* element 0 low 1, element 64 low 0 */
    b[128 + 0] = 0x02;            /* element 0 high 2 -> 33 - 32 = 1; element 64 high 0 -> -32 */
    b[192 + 0] = (uint8_t)-2;     /* scale of elements 0..15 */
    b[192 + 4] = 3;               /* scale of elements 64..79 */
    b[192 + 15] = 100;            /* scale of elements 240..255 */
    b[64 + 32 + 15] = 0xF0;       /* element 128 + 96 + 15 = 239: low 15 */
    b[128 + 32 + 15] = 0xC0;      /* element 239 high 3 -> 63 - 32 = 31 */
    b[64 + 32 + 31] = 0xF0;       /* element 255: low 15 */
    b[128 + 32 + 31] = 0xC0;      /* element 255 high 3 -> 31 */
    put_f16(b + 208, 0.5f);
    dequant_block(PRESSO_TYPE_Q6_K, b, y);
    CHECK(y[0] == -1.0f);     /* 0.5 * -2 * 1 */
    CHECK(y[64] == -48.0f);   /* 0.5 * 3 * -32 */
    CHECK(y[1] == 32.0f);     /* 0.5 * -2 * -32 */
    CHECK(y[255] == 1550.0f); /* 0.5 * 100 * 31 */
    CHECK(y[239] == 0.0f);    /* scale 14 is 0 */

    /* Q8_K: float d, qs[256], bsums[16]; value d*qs. */
    memset(b, 0, sizeof b);
    const float d8 = 0.125f;
    memcpy(b, &d8, 4);
    b[4 + 5] = (uint8_t)-100;
    b[4 + 255] = 127;
    dequant_block(PRESSO_TYPE_Q8_K, b, y);
    CHECK(y[5] == -12.5f && y[255] == 15.875f && y[0] == 0.0f);
}

/* ---------------------------------------------------------------- known answers */

static void test_quant_known_answers(void) {
    float x[256];
    uint8_t q[400];
    for (int j = 0; j < 32; j++) x[j] = (float)(j - 16);

    /* Q4_0: the largest magnitude is x0 = -16, so d = -16/-8 = 2 and
     * q = trunc(x/2 + 8.5) clamped to 15: x=-16 -> 0, x=0 -> 8, x=15 -> 15. */
    presso_quantize_q4_0_ref(x, q, 32);
    CHECK(q[0] == 0x00 && q[1] == 0x40); /* d = 2.0 = 0x4000 */
    CHECK(q[2 + 0] == (0 | 8 << 4));      /* x0 = -16, x16 = 0 */
    CHECK(q[2 + 1] == (1 | 9 << 4));      /* x1 = -15 -> trunc(1.0) = 1, x17 = 1 -> trunc(9.0) = 9 */
    CHECK((q[2 + 15] >> 4) == 15); /* x31 = 15: 7.5 + 8.5 = 16 -> clamp 15 */

    /* Q8_0: amax 16, d = 16/127, q = roundf(x*127/16): x=-16 -> -127, x=15 -> 119 (119.06). */
    presso_quantize_q8_0_ref(x, q, 32);
    CHECK((presso_f16)(q[0] | q[1] << 8) == presso_f32_to_f16(16.0f / 127));
    CHECK((int8_t)q[2 + 0] == -127 && (int8_t)q[2 + 31] == 119 && (int8_t)q[2 + 16] == 0);
    CHECK((int8_t)q[2 + 17] == 8); /* 7.94 */

    /* Q4_1: min -16, max 15, d = 31/15, q = trunc((x+16)*15/31 + 0.5). */
    presso_quantize_q4_1_ref(x, q, 32);
    CHECK((presso_f16)(q[2] | q[3] << 8) == presso_f32_to_f16(-16.0f));
    CHECK((q[4 + 0] & 0xF) == 0 && (q[4 + 15] >> 4) == 15);

    /* Q8_1: s = d * sum(q). */
    presso_quantize_q8_1_ref(x, q, 32);
    int sum = 0;
    for (int j = 0; j < 32; j++) sum += (int8_t)q[4 + j];
    CHECK((presso_f16)(q[2] | q[3] << 8) == presso_f32_to_f16((float)sum * (16.0f / 127)));

    /* An all-zero block: ggml's absmax loop keeps its +0 seed, so Q4_0's
     * d = +0/-8 is -0 (fp16 0x8000) while Q8_0's d = 0/127 is +0. */
    memset(x, 0, 32 * sizeof *x);
    presso_quantize_q4_0_ref(x, q, 32);
    CHECK(q[0] == 0x00 && q[1] == 0x80 && q[2] == 0x88 && q[17] == 0x88);
    presso_quantize_q8_0_ref(x, q, 32);
    CHECK(q[0] == 0 && q[1] == 0 && q[2] == 0);

    /* Values so small that id = 1/d overflows to inf: ggml's casts of
     * x*id = +-inf then give 0 on x86, which presso reproduces (no UB). */
    for (int j = 0; j < 32; j++) x[j] = (j % 2 ? 1e-40f : -2e-40f) * (float)(j + 1); /* amax 6.2e-39 */
    presso_quantize_q4_0_ref(x, q, 32);
    int all_zero = 1;
    for (int j = 0; j < 16; j++) all_zero &= q[2 + j] == 0;
    CHECK(all_zero);
    presso_quantize_q8_0_ref(x, q, 32);
    CHECK(q[2] == 0 && q[33] == 0);

    /* Q8_K: float d = max/-127 where max is the signed absmax. */
    for (int j = 0; j < 256; j++) x[j] = (float)(j % 64) - 20.0f;
    presso_quantize_q8_K_ref(x, q, 256);
    float d;
    memcpy(&d, q, 4);
    CHECK(d == 1 / (-127.f / 43.0f));
    CHECK((int8_t)q[4 + 63] == -127); /* x = 43: 43 * -127/43 */
    int16_t bsum0;
    memcpy(&bsum0, q + 4 + 256, 2);
    int want = 0;
    for (int j = 0; j < 16; j++) want += (int8_t)q[4 + j];
    CHECK(bsum0 == want);

    /* A row already on a K-quant grid comes back exactly: Q6_K on integers
     * -32..31, each sub-block holding a -32 (every sub-block scale is then
     * exactly 1, stored as d = -1/128 and sc = -128). */
    for (int j = 0; j < 256; j++) x[j] = j % 16 == 0 ? -32.0f : (float)((j * 7) % 63 - 31);
    float y[256];
    presso_quantize_q6_K_ref(x, q, 256);
    presso_dequantize_q6_K(q, y, 256);
    int exact = 1;
    for (int j = 0; j < 256; j++) exact &= y[j] == x[j];
    CHECK_MSG(exact, "Q6_K does not reproduce integers in [-32, 31]");
}

/* ---------------------------------------------------------------- round trip */

enum { DIST_NORMAL, DIST_UNIFORM, DIST_HUGE_RANGE, DIST_OUTLIER, DIST_CONSTANT, DIST_ZEROS, DIST_COUNT };
static const char *dist_names[DIST_COUNT] = {"normal", "uniform", "1e-30..1e4", "outlier", "constant", "zeros"};

static void fill(float *x, int64_t n, int dist, presso_rng *rng) {
    for (int64_t i = 0; i < n; i++) {
        switch (dist) {
        case DIST_NORMAL: x[i] = 0.02f * presso_rng_normal(rng); break;
        case DIST_UNIFORM: x[i] = 3.0f * (2.0f * presso_rng_uniform(rng) - 1.0f); break;
        case DIST_HUGE_RANGE: {
            /* Magnitudes log-uniform over 1e-30..1e4, random signs: the largest
             * fp16-scaled value that keeps every block scale finite. */
            const float e = -30.0f + 34.0f * presso_rng_uniform(rng);
            x[i] = (presso_rng_u32(rng) & 1 ? -1.0f : 1.0f) * powf(10.0f, e);
            break;
        }
        case DIST_OUTLIER: x[i] = presso_rng_normal(rng); break;
        case DIST_CONSTANT: x[i] = 0.7f; break;
        default: x[i] = 0.0f; break;
        }
    }
    if (dist == DIST_OUTLIER) x[n / 3] = 100.0f; /* one 100-sigma weight, as in LLM outlier channels */
}

/* Relative RMS error of the round trip: sqrt(sum (x - y)^2 / sum x^2). */
static double roundtrip_error(const presso_type_traits *t, const float *x, int64_t n, float *y, uint8_t *q) {
    t->from_float_ref(x, q, n);
    t->to_float(q, y, n);
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        num += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
        den += (double)x[i] * x[i];
    }
    if (den == 0) return num == 0 ? 0 : INFINITY;
    return sqrt(num / den);
}

/* Bounds on the relative RMS error, about 1.3x what --measure gives on these
 * seeded rows (gcc -O2 and -O0 agree: the code is deterministic). Each bound
 * sits below the measured error of the next coarser type, so a wrong level,
 * scale or bit layout (errors near 100%) or a degraded search fails.
 * Columns: normal, uniform, huge range, outlier. Measured (x1000):
 *   q4_0 84 64 45 62    q4_1 78 60 119 93   q5_0 42 30 25 48   q5_1 37 29 53 54
 *   q8_0 5.3 3.7 3.5 11 q8_1 = q8_0         q2_K 291 227 355 276
 *   q3_K 149 125 53 90  q4_K 71 54 56 57    q5_K 35 27 39 54
 *   q6_K 17.6 13.0 9.4 28.3                 q8_K 6.8 3.9 6.9 30.6
 * The huge-range rows are dominated by each block's largest value; the
 * outlier costs its blocks' resolution (most in Q8_K, one scale per 256). */
static const struct {
    presso_type type;
    double bound[4];
} bounds[] = {
    {PRESSO_TYPE_Q4_0, {0.110, 0.085, 0.060, 0.085}},     {PRESSO_TYPE_Q4_1, {0.100, 0.080, 0.155, 0.120}},
    {PRESSO_TYPE_Q5_0, {0.055, 0.040, 0.033, 0.062}},     {PRESSO_TYPE_Q5_1, {0.050, 0.038, 0.070, 0.070}},
    {PRESSO_TYPE_Q8_0, {0.0070, 0.0050, 0.0046, 0.0145}}, {PRESSO_TYPE_Q8_1, {0.0070, 0.0050, 0.0046, 0.0145}},
    {PRESSO_TYPE_Q2_K, {0.380, 0.300, 0.460, 0.360}},     {PRESSO_TYPE_Q3_K, {0.195, 0.165, 0.070, 0.120}},
    {PRESSO_TYPE_Q4_K, {0.093, 0.070, 0.073, 0.075}},     {PRESSO_TYPE_Q5_K, {0.046, 0.036, 0.051, 0.071}},
    {PRESSO_TYPE_Q6_K, {0.023, 0.017, 0.0125, 0.037}},    {PRESSO_TYPE_Q8_K, {0.0090, 0.0051, 0.0090, 0.040}},
};

static void test_roundtrip(int measure) {
    const int64_t n = 16 * 256; /* 16 K-quant super-blocks, 128 small blocks */
    float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
    uint8_t *q = malloc((size_t)n * 2);
    presso_rng rng;
    for (size_t k = 0; k < sizeof bounds / sizeof bounds[0]; k++) {
        const presso_type_traits *t = presso_type_traits_of(bounds[k].type);
        if (measure) printf("%-5s", t->name);
        for (int dist = 0; dist < DIST_COUNT; dist++) {
            presso_rng_seed(&rng, 1234 + (uint64_t)dist);
            fill(x, n, dist, &rng);
            const double err = roundtrip_error(t, x, n, y, q);
            if (measure) {
                printf("  %s %.5f", dist_names[dist], err);
                continue;
            }
            if (dist < 4) {
                CHECK_MSG(err <= bounds[k].bound[dist], "%s %s: relative RMS error %.5f > %.5f", t->name,
                          dist_names[dist], err, bounds[k].bound[dist]);
                /* and not suspiciously better than the level count allows */
                CHECK_MSG(err > 0, "%s %s: lossless?", t->name, dist_names[dist]);
            } else if (dist == DIST_ZEROS) {
                CHECK_MSG(err == 0, "%s: zeros come back as nonzero", t->name);
            } else {
                /* A constant row: one value per block, representable within the
                 * fp16 scale's precision (2^-11 relative) times the level step. */
                CHECK_MSG(err <= 0.001, "%s constant: relative RMS error %.5f", t->name, err);
            }
        }
        if (measure) printf("\n");
    }
    free(x);
    free(y);
    free(q);
}

/* ---------------------------------------------------------------- golden outputs */

/* gguf-py has no K-quant, Q8_1 or Q8_K quantizers, so every type is pinned
 * to llama.cpp itself here: FNV-1a hashes of the bytes that ggml-quants.c's
 * quantize_row_*_ref wrote for golden_input() (llama.cpp as vendored in
 * llama-cpp-python 0.3.36, the gguf-py 0.19 era; ggml-quants.c compiled
 * alone with gcc -O2 -ffp-contract=off; output buffer zeroed, as ggml leaves
 * Q8_K's bsums of all-zero blocks unwritten). Regenerate the input with
 * `test_quants --golden-input F` and presso's hashes with --golden-hashes.
 * A mismatch means presso no longer writes llama.cpp's bytes. */
enum { GOLDEN_ROW = 4096, GOLDEN_N = 7 * GOLDEN_ROW };

/* Only integer and basic float operations (no libm), so the input is the
 * same on every IEEE platform: bell-shaped, uniform, magnitudes 2^-100..2^13
 * built from bits, an outlier, a constant, zeros, and sparse rows whose zeros
 * carry both signs. */
static void golden_input(float *x) {
    presso_rng rng;
    presso_rng_seed(&rng, 20240611);
    for (int dist = 0; dist < 7; dist++) {
        float *row = x + dist * GOLDEN_ROW;
        for (int i = 0; i < GOLDEN_ROW; i++) {
            const float u = presso_rng_uniform(&rng);
            const float u2 = presso_rng_uniform(&rng), u3 = presso_rng_uniform(&rng);
            const float bell = u2 + u3 + presso_rng_uniform(&rng) + u - 2.0f;
            const uint32_t r = presso_rng_u32(&rng);
            switch (dist) {
            case 0: row[i] = 0.02f * bell; break;
            case 1: row[i] = 3.0f * (2.0f * u - 1.0f); break;
            case 2: row[i] = presso_bits_to_f32((r & 0x80000000u) | (27u + r % 114u) << 23 | (r & 0x7fffffu)); break;
            case 3: row[i] = i == GOLDEN_ROW / 3 ? 100.0f : bell; break;
            case 4: row[i] = 0.7f; break;
            case 5: row[i] = 0.0f; break;
            default: row[i] = u < 0.05f ? bell : (r & 1 ? -0.0f : 0.0f); break;
            }
        }
    }
}

static uint64_t fnv1a64(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static const struct {
    presso_type type;
    uint64_t hash;
} golden[] = {
    {PRESSO_TYPE_Q4_0, 0x139a497d76ce5e40ull},
    {PRESSO_TYPE_Q4_1, 0xedb9904720143890ull},
    {PRESSO_TYPE_Q5_0, 0x94bddcfe832c5a61ull},
    {PRESSO_TYPE_Q5_1, 0x10a46aaee7ad7f52ull},
    {PRESSO_TYPE_Q8_0, 0x1eeaac60ef470e37ull},
    {PRESSO_TYPE_Q8_1, 0xc307ee069124e201ull},
    {PRESSO_TYPE_Q2_K, 0x10b82f075e065336ull},
    {PRESSO_TYPE_Q3_K, 0x8124ff9c8a217816ull},
    {PRESSO_TYPE_Q4_K, 0xcc04f67c574f5f2eull},
    {PRESSO_TYPE_Q5_K, 0xc70af28ce9049d7aull},
    {PRESSO_TYPE_Q6_K, 0x626141a9f64778c9ull},
    {PRESSO_TYPE_Q8_K, 0x0ff16ab075084411ull},
};

static void test_golden(int print) {
    float *x = malloc(GOLDEN_N * sizeof *x);
    uint8_t *q = malloc(GOLDEN_N * 2);
    golden_input(x);
    for (size_t k = 0; k < sizeof golden / sizeof golden[0]; k++) {
        const presso_type_traits *t = presso_type_traits_of(golden[k].type);
        const size_t bytes = (size_t)(GOLDEN_N / t->block_size) * t->block_bytes;
        t->from_float_ref(x, q, GOLDEN_N);
        const uint64_t h = fnv1a64(q, bytes);
        if (print) printf("%s 0x%016llx\n", t->name, (unsigned long long)h);
        else CHECK_MSG(h == golden[k].hash, "%s: quantized bytes differ from llama.cpp's (hash 0x%016llx)", t->name,
                       (unsigned long long)h);
    }
    free(x);
    free(q);
}

/* ---------------------------------------------------------------- robustness */

static void test_unaligned_and_deterministic(void) {
    const int64_t n = 2 * 256;
    float x[512], y0[512], y1[512];
    uint8_t *a = malloc(2000), *b = malloc(2000);
    presso_rng rng;
    presso_rng_seed(&rng, 99);
    fill(x, n, DIST_NORMAL, &rng);
    for (int k = 0; k < N_QUANT_TYPES; k++) {
        const presso_type_traits *t = presso_type_traits_of(quant_types[k]);
        const size_t bytes = (size_t)(n / t->block_size) * t->block_bytes;
        t->from_float_ref(x, a, n);
        t->from_float_ref(x, b + 1, n); /* every block misaligned */
        CHECK_MSG(memcmp(a, b + 1, bytes) == 0, "%s: output depends on alignment", t->name);
        t->to_float(a, y0, n);
        t->to_float(b + 1, y1, n);
        CHECK_MSG(memcmp(y0, y1, sizeof y0) == 0, "%s: dequantize depends on alignment", t->name);
    }
    free(a);
    free(b);
}

static void test_non_finite(void) {
    const int64_t n = 256;
    float x[256], y[256];
    uint8_t q[400];
    presso_rng rng;
    presso_rng_seed(&rng, 5);
    fill(x, n, DIST_NORMAL, &rng);
    CHECK(presso_floats_all_finite(x, n));
    CHECK(presso_floats_all_finite(x, 0));
    const float specials[] = {INFINITY, -INFINITY, NAN, -NAN};
    for (int s = 0; s < 4; s++) {
        float xs[256];
        memcpy(xs, x, sizeof xs);
        xs[200] = specials[s];
        CHECK(!presso_floats_all_finite(xs, n));
        /* The quantizers must not crash (or trip UBSan) on it; the blocks are unspecified. */
        for (int k = 0; k < N_QUANT_TYPES; k++) {
            const presso_type_traits *t = presso_type_traits_of(quant_types[k]);
            t->from_float_ref(xs, q, n);
            t->to_float(q, y, n);
        }
        /* a whole row of them too */
        for (int i = 0; i < n; i++) xs[i] = specials[s];
        for (int k = 0; k < N_QUANT_TYPES; k++) {
            const presso_type_traits *t = presso_type_traits_of(quant_types[k]);
            t->from_float_ref(xs, q, n);
            t->to_float(q, y, n);
        }
    }
    CHECK(!presso_floats_all_finite((const float[]){0.0f, FLT_MAX, -INFINITY}, 3));
    CHECK(presso_floats_all_finite((const float[]){0.0f, FLT_MAX, -FLT_MAX, 1e-45f}, 4));

    /* 1e30 mixed with 1e-30: finite, but beyond fp16 block scales (max 65504).
     * Q8_K keeps a float scale and round-trips it; the fp16-scaled types give
     * inf scales there, as llama.cpp does, so callers must range-check such
     * tensors. Here: no crash, and Q8_K within its bound. */
    for (int i = 0; i < n; i++) x[i] = (i % 2 ? 1e30f : 1e-30f) * (i % 3 ? 1.0f : -1.0f) * (1.0f + i / 256.0f);
    for (int k = 0; k < N_QUANT_TYPES; k++) {
        const presso_type_traits *t = presso_type_traits_of(quant_types[k]);
        const double err = roundtrip_error(t, x, n, y, q);
        if (quant_types[k] == PRESSO_TYPE_Q8_K) CHECK_MSG(err < 0.005, "q8_K at 1e30: %.5f", err);
    }
}

int main(int argc, char **argv) {
    if (argc > 1 && (strcmp(argv[1], "--quantize") == 0 || strcmp(argv[1], "--dequantize") == 0)) {
        return tool_main(argc, argv);
    }
    if (argc == 3 && strcmp(argv[1], "--golden-input") == 0) {
        float *x = malloc(GOLDEN_N * sizeof *x);
        golden_input(x);
        const int ok = write_all(argv[2], x, GOLDEN_N * sizeof *x);
        free(x);
        return ok ? 0 : 2;
    }
    if (argc > 1 && strcmp(argv[1], "--golden-hashes") == 0) {
        test_golden(1);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--measure") == 0) {
        test_roundtrip(1);
        return 0;
    }
    test_traits();
    test_dequant_hand_built();
    test_quant_known_answers();
    test_roundtrip(0);
    test_golden(0);
    test_unaligned_and_deterministic();
    test_non_finite();
    return presso_test_finish();
}
