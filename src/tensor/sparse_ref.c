/* 2:4 sparse types (sparse.h): conversions, the reference kernels (the
 * oracle the AVX2 tier is tested against) and the row-wise matmul. */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "tensor/matmul.h"
#include "tensor/quants.h"
#include "tensor/sparse.h"
#include "tensor/types.h"

void presso_dequantize_s24_f16(const void *src, float *dst, int64_t n) {
    const uint8_t *p = src;
    for (int64_t b = 0; b < n / PRESSO_QK_S24; b++) {
        presso_block_s24_f16 blk;
        memcpy(&blk, p + b * (int64_t)sizeof blk, sizeof blk);
        float *out = dst + b * PRESSO_QK_S24;
        memset(out, 0, sizeof(float) * PRESSO_QK_S24);
        for (int k = 0; k < 16; k++) out[4 * (k / 2) + presso_s24_pos(blk.idx, k)] = presso_f16_to_f32(blk.v[k]);
    }
}

/* Half h (0, 1) of an s24_q4 block: its scale, index bytes and levels. */
static inline int s24_q4_level(const presso_block_s24_q4 *b, int h, int k) {
    return k < 8 ? (b->qs[8 * h + k] & 0x0F) : (b->qs[8 * h + k - 8] >> 4);
}

void presso_dequantize_s24_q4(const void *src, float *dst, int64_t n) {
    const uint8_t *p = src;
    for (int64_t b = 0; b < n / PRESSO_QK_S24_Q4; b++) {
        presso_block_s24_q4 blk;
        memcpy(&blk, p + b * (int64_t)sizeof blk, sizeof blk);
        for (int h = 0; h < 2; h++) {
            const float d = presso_f16_to_f32(blk.d[h]);
            float *out = dst + b * PRESSO_QK_S24_Q4 + h * PRESSO_QK_S24;
            memset(out, 0, sizeof(float) * PRESSO_QK_S24);
            for (int k = 0; k < 16; k++)
                out[4 * (k / 2) + presso_s24_pos(blk.idx + 4 * h, k)] = (float)(s24_q4_level(&blk, h, k) - 8) * d;
        }
    }
}

presso_status presso_s24_type_for(presso_type value_type, presso_type *out) {
    if (value_type == PRESSO_TYPE_F16) *out = PRESSO_TYPE_S24_F16;
    else if (value_type == PRESSO_TYPE_Q4_0) *out = PRESSO_TYPE_S24_Q4;
    else
        return presso_fail(PRESSO_ERR_UNSUPPORTED, "2:4 sparse values are f16 or q4_0, not %s",
                           presso_type_name(value_type) ? presso_type_name(value_type) : "an unknown type");
    return PRESSO_OK;
}

/* The kept values of one block (group-major, 2 per group) and their
 * positions; false when a group holds more than two non-zeros. */
static bool pick_block(const float *x, float kept[16], uint8_t idx[4], int64_t *bad_group) {
    memset(idx, 0, 4);
    for (int g = 0; g < 8; g++) {
        int pos[2], n = 0;
        for (int j = 0; j < 4; j++)
            if (x[4 * g + j] != 0.0f) {
                if (n == 2) {
                    *bad_group = g;
                    return false;
                }
                pos[n++] = j;
            }
        /* fewer than two non-zeros: explicit zeros at the lowest free positions */
        for (int j = 0; n < 2 && j < 4; j++)
            if (n == 0 || pos[0] != j) pos[n++] = j;
        if (pos[0] > pos[1]) {
            const int t = pos[0];
            pos[0] = pos[1];
            pos[1] = t;
        }
        for (int i = 0; i < 2; i++) {
            const int k = 2 * g + i;
            kept[k] = x[4 * g + pos[i]];
            idx[k % 4] |= (uint8_t)(pos[i] << (2 * (k / 4)));
        }
    }
    return true;
}

/* Q4_0 on one half's kept values (ggml quantize_row_q4_0_ref: d = signed
 * absmax / -8, q = min(15, (int8)(x/d + 8.5))): the pattern's zeros cost no
 * levels. */
static void quantize_half(const float kept[16], presso_f16 *d_out, uint8_t qs[8]) {
    float amax = 0.0f, max = 0.0f;
    for (int k = 0; k < 16; k++)
        if (amax < fabsf(kept[k])) {
            amax = fabsf(kept[k]);
            max = kept[k];
        }
    const float d = max / -8, id = d ? 1.0f / d : 0.0f;
    *d_out = presso_f32_to_f16(d);
    for (int j = 0; j < 8; j++) {
        const int q0 = (int)(int8_t)(kept[j] * id + 8.5f), q1 = (int)(int8_t)(kept[j + 8] * id + 8.5f);
        qs[j] = (uint8_t)((q0 < 15 ? q0 : 15) | (q1 < 15 ? q1 : 15) << 4);
    }
}

presso_status presso_s24_encode_row(presso_type type, const float *src, void *dst, int64_t n, int64_t *bad_col) {
    if (!presso_type_is_sparse(type)) return presso_fail(PRESSO_ERR_INVALID_ARG, "type %d is not sparse", (int)type);
    const int64_t block = presso_type_traits_of(type)->block_size;
    if (n % block != 0)
        return presso_fail(PRESSO_ERR_SHAPE, "a %s row has a multiple of %lld columns, not %lld",
                           presso_type_traits_of(type)->name, (long long)block, (long long)n);
    uint8_t *p = dst;
    for (int64_t half = 0; half < n / PRESSO_QK_S24; half++) {
        const float *x = src + half * PRESSO_QK_S24;
        float kept[16];
        uint8_t idx[4];
        int64_t g = 0;
        if (!pick_block(x, kept, idx, &g)) {
            if (bad_col) *bad_col = half * PRESSO_QK_S24 + 4 * g;
            return presso_fail(PRESSO_ERR_INVALID_ARG, "columns %lld..%lld hold more than 2 non-zeros of 4",
                               (long long)(half * PRESSO_QK_S24 + 4 * g), (long long)(half * PRESSO_QK_S24 + 4 * g + 3));
        }
        if (type == PRESSO_TYPE_S24_F16) {
            presso_block_s24_f16 blk;
            for (int k = 0; k < 16; k++) blk.v[k] = presso_f32_to_f16(kept[k]);
            memcpy(blk.idx, idx, 4);
            memcpy(p + half * (int64_t)sizeof blk, &blk, sizeof blk);
        } else {
            presso_block_s24_q4 blk;
            uint8_t *at = p + half / 2 * (int64_t)sizeof blk;
            const int h = (int)(half % 2);
            if (h == 0) memset(&blk, 0, sizeof blk);
            else memcpy(&blk, at, sizeof blk); /* half 0 is written already */
            quantize_half(kept, &blk.d[h], blk.qs + 8 * h);
            memcpy(blk.idx + 4 * h, idx, 4);
            memcpy(at, &blk, sizeof blk);
        }
    }
    return PRESSO_OK;
}

/* Σ over kept values of v_k · x[position of k], block by block. */
static float vec_dot_s24_f16_ref(const void *row, const float *x, int64_t n) {
    const uint8_t *p = row;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / PRESSO_QK_S24; b++) {
        presso_block_s24_f16 blk;
        memcpy(&blk, p + b * (int64_t)sizeof blk, sizeof blk);
        const float *xb = x + b * PRESSO_QK_S24;
        for (int k = 0; k < 16; k++) sum += presso_f16_to_f32(blk.v[k]) * xb[4 * (k / 2) + presso_s24_pos(blk.idx, k)];
    }
    return sum;
}

/* As ggml_vec_dot_q4_0_q8_0 on each half's kept values: an integer sum
 * Σ (q_k - 8) · xq[pos k] per half, scaled by d_w · d_x of that half (one
 * Q8_0 activation block per half). */
static float vec_dot_s24_q4_ref(const void *row, const void *xq, int64_t n) {
    const uint8_t *p = row, *a = xq;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / PRESSO_QK_S24_Q4; b++) {
        presso_block_s24_q4 blk;
        memcpy(&blk, p + b * (int64_t)sizeof blk, sizeof blk);
        for (int h = 0; h < 2; h++) {
            presso_block_q8_0 act;
            memcpy(&act, a + (2 * b + h) * (int64_t)sizeof act, sizeof act);
            int32_t isum = 0;
            for (int k = 0; k < 16; k++)
                isum += (s24_q4_level(&blk, h, k) - 8) * act.qs[4 * (k / 2) + presso_s24_pos(blk.idx + 4 * h, k)];
            sum += (float)isum * (presso_f16_to_f32(blk.d[h]) * presso_f16_to_f32(act.d));
        }
    }
    return sum;
}

/* s24_q4 against float activations (callers that pass no scratch). */
static float vec_dot_s24_q4_f32(const void *row, const float *x, int64_t n) {
    const uint8_t *p = row;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / PRESSO_QK_S24_Q4; b++) {
        presso_block_s24_q4 blk;
        memcpy(&blk, p + b * (int64_t)sizeof blk, sizeof blk);
        for (int h = 0; h < 2; h++) {
            const float *xb = x + b * PRESSO_QK_S24_Q4 + h * PRESSO_QK_S24;
            float s = 0.0f;
            for (int k = 0; k < 16; k++)
                s += (float)(s24_q4_level(&blk, h, k) - 8) * xb[4 * (k / 2) + presso_s24_pos(blk.idx + 4 * h, k)];
            sum += s * presso_f16_to_f32(blk.d[h]);
        }
    }
    return sum;
}

static const presso_sparse_kernels ref_kernels = {"ref", vec_dot_s24_f16_ref, vec_dot_s24_q4_ref};

const presso_sparse_kernels *presso_sparse_kernels_ref(void) { return &ref_kernels; }

const presso_sparse_kernels *presso_sparse_kernels_active(void) {
    const presso_kernels *k = presso_kernels_active();
    return strcmp(k->name, "ref") == 0 ? &ref_kernels : presso_sparse_kernels_avx2_table();
}

void presso_sparse_matmul_rows(const presso_tensor *w, const float *x, int64_t n, float *y, float *scratch,
                               int n_threads) {
    const presso_sparse_kernels *sk = presso_sparse_kernels_active();
    const int64_t in = w->ne[0], out = w->ne[1];
    const size_t row_bytes = (size_t)presso_row_bytes(w->type, in);
    const uint8_t *base = w->data;
    const bool parallel = n * in * out >= PRESSO_MATMUL_PARALLEL_MIN_WORK;
    if (w->type == PRESSO_TYPE_S24_Q4 && scratch) {
        /* activations as Q8_0, once per row (llama.cpp's vec_dot_type of q4_0) */
        const presso_kernels *k = presso_kernels_active();
        const size_t act_bytes = (size_t)presso_row_bytes(PRESSO_TYPE_Q8_0, in);
        uint8_t *xq = (uint8_t *)scratch;
        for (int64_t t = 0; t < n; t++) k->quantize_act[PRESSO_TYPE_Q8_0](x + t * in, xq + (size_t)t * act_bytes, in);
#pragma omp parallel for num_threads(n_threads) schedule(static) if (parallel)
        for (int64_t r = 0; r < out; r++)
            for (int64_t t = 0; t < n; t++)
                y[t * out + r] = sk->vec_dot_s24_q4(base + (size_t)r * row_bytes, xq + (size_t)t * act_bytes, in);
        return;
    }
    if (w->type == PRESSO_TYPE_S24_F16) {
#pragma omp parallel for num_threads(n_threads) schedule(static) if (parallel)
        for (int64_t r = 0; r < out; r++)
            for (int64_t t = 0; t < n; t++) y[t * out + r] = sk->vec_dot_s24_f16(base + (size_t)r * row_bytes, x + t * in, in);
        return;
    }
    /* s24_q4 without scratch: float activations */
#pragma omp parallel for num_threads(n_threads) schedule(static) if (parallel)
    for (int64_t r = 0; r < out; r++)
        for (int64_t t = 0; t < n; t++) y[t * out + r] = vec_dot_s24_q4_f32(base + (size_t)r * row_bytes, x + t * in, in);
}
