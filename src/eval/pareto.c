#include "eval/pareto.h"

#include <math.h>
#include <stdlib.h>

#include "core/error.h"

typedef struct {
    double x, y; /* in "smaller is better" orientation */
    int64_t i;
} point;

static int by_x_then_y(const void *pa, const void *pb) {
    const point *a = pa, *b = pb;
    if (a->x != b->x) return a->x < b->x ? -1 : 1;
    if (a->y != b->y) return a->y < b->y ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

presso_status presso_pareto_front(const double *x, const double *y, int64_t n, presso_pareto_goal gx,
                                  presso_pareto_goal gy, bool *on_front, int64_t *order, int64_t *n_front) {
    if (n < 0 || (n > 0 && (!x || !y || !on_front)))
        return presso_fail(PRESSO_ERR_INVALID_ARG, "pareto front: bad arguments (n = %lld)", (long long)n);
    point *p = n ? malloc((size_t)n * sizeof *p) : NULL;
    if (n && !p) return presso_fail(PRESSO_ERR_NOMEM, "pareto front: out of memory for %lld points", (long long)n);
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        on_front[i] = false;
        if (!isfinite(x[i]) || !isfinite(y[i])) continue;
        p[m++] = (point){gx == PRESSO_MAXIMIZE ? -x[i] : x[i], gy == PRESSO_MAXIMIZE ? -y[i] : y[i], i};
    }
    if (m > 1) qsort(p, (size_t)m, sizeof *p, by_x_then_y);
    /* Sweep by increasing x: a point is on the front when its y is below every
     * y seen at smaller x, or ties the best y at its own (equal) x and point. */
    int64_t k = 0;
    double best_y = INFINITY, best_x = INFINITY;
    for (int64_t j = 0; j < m; j++) {
        const bool duplicate = p[j].x == best_x && p[j].y == best_y;
        if (p[j].y < best_y || duplicate) {
            on_front[p[j].i] = true;
            best_y = p[j].y;
            best_x = p[j].x;
            p[k++] = p[j]; /* keep the front, still in x order */
        }
    }
    if (order) {
        /* In the caller's x direction: increasing raw x. */
        if (gx == PRESSO_MAXIMIZE)
            for (int64_t a = 0, b = k - 1; a < b; a++, b--) {
                point t = p[a];
                p[a] = p[b];
                p[b] = t;
            }
        for (int64_t j = 0; j < k; j++) order[j] = p[j].i;
    }
    if (n_front) *n_front = k;
    free(p);
    return PRESSO_OK;
}
