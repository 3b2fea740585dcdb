/* The repacked layouts of repack.h: packing from the file's rows and back.
 * Plain C, run once per tensor at load. */
#include "tensor/repack.h"

#include <stddef.h>
#include <string.h>

#define R PRESSO_REPACK_ROWS
#define QK_K PRESSO_QK_K

bool presso_repack_supported(presso_type type, int64_t rows, int64_t cols) {
    if (rows <= 0 || cols <= 0 || rows % R) return false;
    switch (type) {
    case PRESSO_TYPE_Q4_0:
    case PRESSO_TYPE_Q4_1:
    case PRESSO_TYPE_Q5_0:
    case PRESSO_TYPE_Q5_1:
    case PRESSO_TYPE_Q8_0: return cols % 32 == 0;
    case PRESSO_TYPE_Q4_K:
    case PRESSO_TYPE_Q6_K: return cols % QK_K == 0;
    default: return false;
    }
}

size_t presso_repack_group_bytes(presso_type type, int64_t cols) {
    switch (type) {
    case PRESSO_TYPE_Q4_0: return (size_t)(cols / PRESSO_QK4_0) * sizeof(presso_block_q4_0x8);
    case PRESSO_TYPE_Q4_K: return (size_t)(cols / QK_K) * sizeof(presso_block_q4_Kx8);
    case PRESSO_TYPE_Q8_0: return (size_t)(cols / PRESSO_QK8_0) * sizeof(presso_block_q8_0x8);
    case PRESSO_TYPE_Q4_1: return (size_t)(cols / 32) * sizeof(presso_block_q4_1x8);
    case PRESSO_TYPE_Q5_0: return (size_t)(cols / 32) * sizeof(presso_block_q5_0x8);
    case PRESSO_TYPE_Q5_1: return (size_t)(cols / 32) * sizeof(presso_block_q5_1x8);
    case PRESSO_TYPE_Q6_K: return (size_t)(cols / QK_K) * sizeof(presso_block_q6_Kx8);
    default: return 0;
    }
}

/* The low (hi = 0) or high nibble of byte j: Q4_0's qs hold levels j and
 * j + 16 of a block in byte j; Q4_K's 64-column chunks hold sub-blocks 2c
 * and 2c + 1 the same way. */
static uint8_t nibble(const uint8_t *qs, int j, int hi) {
    return hi ? (uint8_t)(qs[j] >> 4) : (uint8_t)(qs[j] & 0x0F);
}

/* Writes the 8 steps of 4 levels of one 32-run of the 8 rows: byte
 * 32k + 4r + i = level(r, 8k + i) | level(r, 8k + 4 + i) << 4. level(r, j)
 * is at levels[r][j]. */
static void interleave_run(uint8_t levels[R][32], uint8_t out[4 * 32]) {
    for (int k = 0; k < 4; k++)
        for (int r = 0; r < R; r++)
            for (int i = 0; i < 4; i++)
                out[32 * k + 4 * r + i] = (uint8_t)(levels[r][8 * k + i] | levels[r][8 * k + 4 + i] << 4);
}

static void deinterleave_run(const uint8_t in[4 * 32], uint8_t levels[R][32]) {
    for (int k = 0; k < 4; k++)
        for (int r = 0; r < R; r++)
            for (int i = 0; i < 4; i++) {
                const uint8_t b = in[32 * k + 4 * r + i];
                levels[r][8 * k + i] = b & 0x0F;
                levels[r][8 * k + 4 + i] = b >> 4;
            }
}

static const void *row_block(const void *src, size_t row_bytes, int64_t row, size_t block_bytes, int64_t ib) {
    return (const uint8_t *)src + (size_t)row * row_bytes + (size_t)ib * block_bytes;
}

static void pack_q4_0(const void *src, size_t row_bytes, int64_t rows, int64_t nb, presso_block_q4_0x8 *dst) {
    for (int64_t g = 0; g < rows / R; g++)
        for (int64_t ib = 0; ib < nb; ib++) {
            presso_block_q4_0x8 *o = &dst[g * nb + ib];
            uint8_t levels[R][32];
            for (int r = 0; r < R; r++) {
                const presso_block_q4_0 *b = row_block(src, row_bytes, g * R + r, sizeof *b, ib);
                o->d[r] = b->d;
                for (int j = 0; j < 32; j++) levels[r][j] = nibble(b->qs, j % 16, j >= 16);
            }
            interleave_run(levels, o->qs);
        }
}

static void unpack_q4_0(const presso_block_q4_0x8 *src, int64_t rows, int64_t nb, void *dst, size_t row_bytes) {
    for (int64_t g = 0; g < rows / R; g++)
        for (int64_t ib = 0; ib < nb; ib++) {
            const presso_block_q4_0x8 *p = &src[g * nb + ib];
            uint8_t levels[R][32];
            deinterleave_run(p->qs, levels);
            for (int r = 0; r < R; r++) {
                presso_block_q4_0 *b = (presso_block_q4_0 *)(void *)((uint8_t *)dst + (size_t)(g * R + r) * row_bytes) + ib;
                b->d = p->d[r];
                for (int j = 0; j < 16; j++) b->qs[j] = (uint8_t)(levels[r][j] | levels[r][j + 16] << 4);
            }
        }
}

/* Q4_K's qs: 64-column chunk c (0..3) is 32 bytes, sub-block 2c in the low
 * nibbles and 2c + 1 in the high ones. */
static void pack_q4_K(const void *src, size_t row_bytes, int64_t rows, int64_t nb, presso_block_q4_Kx8 *dst) {
    for (int64_t g = 0; g < rows / R; g++)
        for (int64_t ib = 0; ib < nb; ib++) {
            presso_block_q4_Kx8 *o = &dst[g * nb + ib];
            for (int r = 0; r < R; r++) {
                const presso_block_q4_K *b = row_block(src, row_bytes, g * R + r, sizeof *b, ib);
                o->d[r] = b->d;
                o->dmin[r] = b->dmin;
                for (int j = 0; j < QK_K / 32; j++) {
                    uint8_t sc, m;
                    presso_get_scale_min_k4(j, b->scales, &sc, &m);
                    o->scales[j][r] = sc;
                    o->mins[j / 2][2 * r + j % 2] = m;
                }
            }
            for (int j = 0; j < QK_K / 32; j++) {
                uint8_t levels[R][32];
                for (int r = 0; r < R; r++) {
                    const presso_block_q4_K *b = row_block(src, row_bytes, g * R + r, sizeof *b, ib);
                    for (int l = 0; l < 32; l++) levels[r][l] = nibble(b->qs + 32 * (j / 2), l, j % 2);
                }
                interleave_run(levels, o->qs + 128 * j);
            }
        }
}

static void unpack_q4_K(const presso_block_q4_Kx8 *src, int64_t rows, int64_t nb, void *dst, size_t row_bytes) {
    for (int64_t g = 0; g < rows / R; g++)
        for (int64_t ib = 0; ib < nb; ib++) {
            const presso_block_q4_Kx8 *p = &src[g * nb + ib];
            presso_block_q4_K *b[R];
            for (int r = 0; r < R; r++) {
                b[r] = (presso_block_q4_K *)(void *)((uint8_t *)dst + (size_t)(g * R + r) * row_bytes) + ib;
                b[r]->d = p->d[r];
                b[r]->dmin = p->dmin[r];
                memset(b[r]->scales, 0, sizeof b[r]->scales);
                for (int j = 0; j < QK_K / 32; j++)
                    presso_set_scale_min_k4(b[r]->scales, j, p->scales[j][r], p->mins[j / 2][2 * r + j % 2]);
            }
            for (int j = 0; j < QK_K / 32; j++) {
                uint8_t levels[R][32];
                deinterleave_run(p->qs + 128 * j, levels);
                for (int r = 0; r < R; r++)
                    for (int l = 0; l < 32; l++) {
                        uint8_t *q = &b[r]->qs[32 * (j / 2) + l];
                        *q = j % 2 ? (uint8_t)((*q & 0x0F) | levels[r][l] << 4) : levels[r][l];
                    }
            }
        }
}

/* Q4_1, Q5_0, Q5_1: the 32-column types with 4-bit runs, optional min and
 * optional fifth bits. Offsets of each field inside the file's block and
 * the packed one. */
typedef struct {
    size_t block, d, m, qs, qh;            /* file block: size and offsets (m, qh: 0 = none) */
    size_t packed, pd, pm, pqs, pqh;       /* packed block */
    bool has_m, has_qh;
} q32_fields;

static q32_fields q32_layout(presso_type type) {
    q32_fields f = {0};
    if (type == PRESSO_TYPE_Q4_1) {
        f = (q32_fields){sizeof(presso_block_q4_1), offsetof(presso_block_q4_1, d), offsetof(presso_block_q4_1, m),
                         offsetof(presso_block_q4_1, qs), 0, sizeof(presso_block_q4_1x8),
                         offsetof(presso_block_q4_1x8, d), offsetof(presso_block_q4_1x8, m),
                         offsetof(presso_block_q4_1x8, qs), 0, true, false};
    } else if (type == PRESSO_TYPE_Q5_0) {
        f = (q32_fields){sizeof(presso_block_q5_0), offsetof(presso_block_q5_0, d), 0, offsetof(presso_block_q5_0, qs),
                         offsetof(presso_block_q5_0, qh), sizeof(presso_block_q5_0x8),
                         offsetof(presso_block_q5_0x8, d), 0, offsetof(presso_block_q5_0x8, qs),
                         offsetof(presso_block_q5_0x8, qh), false, true};
    } else {
        f = (q32_fields){sizeof(presso_block_q5_1), offsetof(presso_block_q5_1, d), offsetof(presso_block_q5_1, m),
                         offsetof(presso_block_q5_1, qs), offsetof(presso_block_q5_1, qh), sizeof(presso_block_q5_1x8),
                         offsetof(presso_block_q5_1x8, d), offsetof(presso_block_q5_1x8, m),
                         offsetof(presso_block_q5_1x8, qs), offsetof(presso_block_q5_1x8, qh), true, true};
    }
    return f;
}

static void pack_q32(presso_type type, const void *src, size_t row_bytes, int64_t rows, int64_t nb, uint8_t *dst) {
    const q32_fields f = q32_layout(type);
    for (int64_t g = 0; g < rows / R; g++)
        for (int64_t ib = 0; ib < nb; ib++) {
            uint8_t *o = dst + (size_t)(g * nb + ib) * f.packed;
            uint8_t levels[R][32];
            if (f.has_qh) memset(o + f.pqh, 0, 32);
            for (int r = 0; r < R; r++) {
                const uint8_t *b = row_block(src, row_bytes, g * R + r, f.block, ib);
                memcpy(o + f.pd + 2 * r, b + f.d, 2);
                if (f.has_m) memcpy(o + f.pm + 2 * r, b + f.m, 2);
                uint32_t qh = 0;
                if (f.has_qh) memcpy(&qh, b + f.qh, 4);
                for (int j = 0; j < 32; j++) {
                    levels[r][j] = nibble(b + f.qs, j % 16, j >= 16);
                    if (f.has_qh) o[f.pqh + 4 * r + j % 4] |= (uint8_t)(((qh >> j) & 1) << (j / 4));
                }
            }
            interleave_run(levels, o + f.pqs);
        }
}

static void unpack_q32(presso_type type, const uint8_t *src, int64_t rows, int64_t nb, void *dst, size_t row_bytes) {
    const q32_fields f = q32_layout(type);
    for (int64_t g = 0; g < rows / R; g++)
        for (int64_t ib = 0; ib < nb; ib++) {
            const uint8_t *p = src + (size_t)(g * nb + ib) * f.packed;
            uint8_t levels[R][32];
            deinterleave_run(p + f.pqs, levels);
            for (int r = 0; r < R; r++) {
                uint8_t *b = (uint8_t *)dst + (size_t)(g * R + r) * row_bytes + (size_t)ib * f.block;
                memcpy(b + f.d, p + f.pd + 2 * r, 2);
                if (f.has_m) memcpy(b + f.m, p + f.pm + 2 * r, 2);
                uint32_t qh = 0;
                for (int j = 0; j < 16; j++) b[f.qs + j] = (uint8_t)(levels[r][j] | levels[r][j + 16] << 4);
                if (!f.has_qh) continue;
                for (int j = 0; j < 32; j++) qh |= (uint32_t)((p[f.pqh + 4 * r + j % 4] >> (j / 4)) & 1) << j;
                memcpy(b + f.qh, &qh, 4);
            }
        }
}

static void pack_q8_0(const void *src, size_t row_bytes, int64_t rows, int64_t nb, presso_block_q8_0x8 *dst) {
    for (int64_t g = 0; g < rows / R; g++)
        for (int64_t ib = 0; ib < nb; ib++) {
            presso_block_q8_0x8 *o = &dst[g * nb + ib];
            for (int r = 0; r < R; r++) {
                const presso_block_q8_0 *b = row_block(src, row_bytes, g * R + r, sizeof *b, ib);
                o->d[r] = b->d;
                for (int j = 0; j < 32; j++) o->qs[32 * (j / 4) + 4 * r + j % 4] = b->qs[j];
            }
        }
}

static void unpack_q8_0(const presso_block_q8_0x8 *src, int64_t rows, int64_t nb, void *dst, size_t row_bytes) {
    for (int64_t g = 0; g < rows / R; g++)
        for (int64_t ib = 0; ib < nb; ib++) {
            const presso_block_q8_0x8 *p = &src[g * nb + ib];
            for (int r = 0; r < R; r++) {
                presso_block_q8_0 *b = (presso_block_q8_0 *)(void *)((uint8_t *)dst + (size_t)(g * R + r) * row_bytes) + ib;
                b->d = p->d[r];
                for (int j = 0; j < 32; j++) b->qs[j] = p->qs[32 * (j / 4) + 4 * r + j % 4];
            }
        }
}

/* Q6_K's 6-bit level j (0..255) of a block is split over ql (low 4 bits)
 * and qh (high 2 bits) as in dequantize_row_q6_K: within each half of 128,
 * l = j % 32 and quarter q = (j % 128) / 32 give ql byte l + 32 (q % 2)
 * (high nibble for q >= 2) and qh byte l, bits 2q..2q+1. */
static void q6_K_place(int j, int *ql_byte, int *ql_shift, int *qh_byte, int *qh_shift) {
    const int half = j / 128, q = (j % 128) / 32, l = j % 32;
    *ql_byte = 64 * half + l + 32 * (q % 2);
    *ql_shift = q >= 2 ? 4 : 0;
    *qh_byte = 32 * half + l;
    *qh_shift = 2 * q;
}

static void pack_q6_K(const void *src, size_t row_bytes, int64_t rows, int64_t nb, presso_block_q6_Kx8 *dst) {
    for (int64_t g = 0; g < rows / R; g++)
        for (int64_t ib = 0; ib < nb; ib++) {
            presso_block_q6_Kx8 *o = &dst[g * nb + ib];
            for (int run = 0; run < QK_K / 32; run++) memset(o->runs[run].qh, 0, sizeof o->runs[run].qh);
            uint8_t lo[R][QK_K];
            for (int r = 0; r < R; r++) {
                const presso_block_q6_K *b = row_block(src, row_bytes, g * R + r, sizeof *b, ib);
                o->d[r] = b->d;
                for (int c = 0; c < QK_K / 16; c++) o->scales[c][r] = b->scales[c];
                for (int j = 0; j < QK_K; j++) {
                    int qb, qs, hb, hs;
                    q6_K_place(j, &qb, &qs, &hb, &hs);
                    lo[r][j] = (b->ql[qb] >> qs) & 0x0F;
                    const int run = j / 32, s = (j % 32) / 4, i = j % 4;
                    o->runs[run].qh[32 * (s / 4) + 4 * r + i] |= (uint8_t)(((b->qh[hb] >> hs) & 3) << (2 * (s % 4)));
                }
            }
            for (int run = 0; run < QK_K / 32; run++) {
                uint8_t levels[R][32];
                for (int r = 0; r < R; r++) memcpy(levels[r], lo[r] + 32 * run, 32);
                interleave_run(levels, o->runs[run].ql);
            }
        }
}

static void unpack_q6_K(const presso_block_q6_Kx8 *src, int64_t rows, int64_t nb, void *dst, size_t row_bytes) {
    for (int64_t g = 0; g < rows / R; g++)
        for (int64_t ib = 0; ib < nb; ib++) {
            const presso_block_q6_Kx8 *p = &src[g * nb + ib];
            uint8_t lo[QK_K / 32][R][32];
            for (int run = 0; run < QK_K / 32; run++) deinterleave_run(p->runs[run].ql, lo[run]);
            for (int r = 0; r < R; r++) {
                presso_block_q6_K *b = (presso_block_q6_K *)(void *)((uint8_t *)dst + (size_t)(g * R + r) * row_bytes) + ib;
                b->d = p->d[r];
                for (int c = 0; c < QK_K / 16; c++) b->scales[c] = p->scales[c][r];
                memset(b->ql, 0, sizeof b->ql);
                memset(b->qh, 0, sizeof b->qh);
                for (int j = 0; j < QK_K; j++) {
                    int qb, qs, hb, hs;
                    q6_K_place(j, &qb, &qs, &hb, &hs);
                    const int run = j / 32, s = (j % 32) / 4, i = j % 4;
                    const int high = (p->runs[run].qh[32 * (s / 4) + 4 * r + i] >> (2 * (s % 4))) & 3;
                    b->ql[qb] |= (uint8_t)(lo[run][r][j % 32] << qs);
                    b->qh[hb] |= (uint8_t)(high << hs);
                }
            }
        }
}

void presso_repack(presso_type type, const void *src, size_t row_bytes, int64_t rows, int64_t cols, void *dst) {
    if (type == PRESSO_TYPE_Q4_0) pack_q4_0(src, row_bytes, rows, cols / PRESSO_QK4_0, dst);
    else if (type == PRESSO_TYPE_Q4_K) pack_q4_K(src, row_bytes, rows, cols / QK_K, dst);
    else if (type == PRESSO_TYPE_Q8_0) pack_q8_0(src, row_bytes, rows, cols / PRESSO_QK8_0, dst);
    else if (type == PRESSO_TYPE_Q6_K) pack_q6_K(src, row_bytes, rows, cols / QK_K, dst);
    else pack_q32(type, src, row_bytes, rows, cols / 32, dst);
}

void presso_unpack(presso_type type, const void *src, int64_t rows, int64_t cols, void *dst, size_t row_bytes) {
    if (type == PRESSO_TYPE_Q4_0) unpack_q4_0(src, rows, cols / PRESSO_QK4_0, dst, row_bytes);
    else if (type == PRESSO_TYPE_Q4_K) unpack_q4_K(src, rows, cols / QK_K, dst, row_bytes);
    else if (type == PRESSO_TYPE_Q8_0) unpack_q8_0(src, rows, cols / PRESSO_QK8_0, dst, row_bytes);
    else if (type == PRESSO_TYPE_Q6_K) unpack_q6_K(src, rows, cols / QK_K, dst, row_bytes);
    else unpack_q32(type, src, rows, cols / 32, dst, row_bytes);
}
