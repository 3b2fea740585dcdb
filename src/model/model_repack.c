/* Repacked copies of a model's Q4_0 / Q4_K linears for running it
 * (tensor/repack.h), as llama.cpp repacks into its CPU_REPACK buffers at
 * load. The file's row-major blocks stay the tensor's data; the copy is
 * what the matmul reads. Where the rows lie in a read-only file mapping,
 * their pages are handed back to the kernel (MADV_DONTNEED: a private,
 * never-written mapping refaults them from the file if anything reads a row
 * again), so the copy does not double the resident weights. */
#define _DEFAULT_SOURCE /* madvise */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/error.h"
#include "model/model.h"
#include "tensor/repack.h"
#include "tensor/types.h"

static bool in_one(const presso_mapped_file *maps, int count, const uint8_t *b, size_t n) {
    for (int i = 0; i < count; i++) {
        const uint8_t *lo = maps[i].data;
        if (lo && b >= lo && b + n <= lo + maps[i].size) return true;
    }
    return false;
}

static bool in_mapping(const presso_model *m, const void *p, size_t n) {
    return in_one(m->mappings, m->n_mappings, p, n) || in_one(m->handle_mappings, m->n_handle_mappings, p, n);
}

/* Drops the whole pages inside [p, p + n) from this process (they are file
 * pages, refaulted on access). */
static void release_pages(const void *p, size_t n) {
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const uintptr_t lo = ((uintptr_t)p + page - 1) / page * page, hi = ((uintptr_t)p + n) / page * page;
    if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

static presso_status repack_tensor(presso_model *m, presso_tensor *t, presso_repack_stats *stats) {
    const int64_t cols = t->ne[0], rows = t->ne[1];
    if (t->packed || !presso_repack_supported(t->type, rows, cols)) return PRESSO_OK;
    const size_t bytes = (size_t)(rows / PRESSO_REPACK_ROWS) * presso_repack_group_bytes(t->type, cols);
    void *copy = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!copy) return presso_fail(PRESSO_ERR_NOMEM, "%s: out of memory repacking %s (%zu bytes)", m->path, t->name, bytes);
    presso_repack(t->type, t->data, (size_t)presso_row_bytes(t->type, cols), rows, cols, copy);
    if (presso_model_own(m, copy) != PRESSO_OK) return PRESSO_ERR_NOMEM;
    if (in_mapping(m, t->data, t->nbytes)) release_pages(t->data, t->nbytes);
    t->packed = copy;
    if (stats) stats->tensors++, stats->bytes += (int64_t)bytes;
    return PRESSO_OK;
}

presso_status presso_model_repack(presso_model *m, presso_repack_stats *stats) {
    if (stats) stats->tensors = 0, stats->bytes = 0;
    for (int32_t l = 0; l < m->config.n_layers; l++) {
        presso_llama_layer *L = &m->layers[l];
        presso_tensor *linears[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof linears / sizeof linears[0]; i++) {
            const presso_status st = repack_tensor(m, linears[i], stats);
            if (st != PRESSO_OK) return st;
        }
    }
    /* A tied output is token_embd's view: repack the output's copy only (the
     * embedding lookup reads token_embd's rows). */
    return repack_tensor(m, &m->output, stats);
}
