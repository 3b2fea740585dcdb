/* The Pareto front of a set of (x, y) points: the points no other point
 * beats on both axes at once (Pareto 1906; the "efficient frontier" of a
 * size/quality or speed/quality trade-off). Each axis is minimized or
 * maximized independently; points with a non-finite coordinate are never on
 * the front and dominate nothing. */
#ifndef PRESSO_EVAL_PARETO_H
#define PRESSO_EVAL_PARETO_H

#include <stdbool.h>
#include <stdint.h>

#include "presso.h"

typedef enum { PRESSO_MINIMIZE = 0, PRESSO_MAXIMIZE = 1 } presso_pareto_goal;

/* on_front[i] = no j has x_j at least as good and y_j at least as good with
 * one of them strictly better. Duplicated points are all on the front.
 * order (optional, n entries): the front's indices sorted by increasing x,
 * then the count is returned in *n_front (the front as a polyline). O(n log n). */
presso_status presso_pareto_front(const double *x, const double *y, int64_t n, presso_pareto_goal gx,
                                  presso_pareto_goal gy, bool *on_front, int64_t *order, int64_t *n_front);

#endif
