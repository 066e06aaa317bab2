/*
 * Numeric series for asp.series and asp.record (series.c): arrays of
 * (time, value) points that grow by doubling.
 */
#ifndef ASP_SERIES_H
#define ASP_SERIES_H

#include <stdint.h>

/* ffi: begin */
/* -- Series (engine/series.h) -- */
/* A numeric series: n points, t[i] ns and v[i], capacity cap. */
typedef struct asp_series {
    int64_t *t;
    double *v;
    int64_t n;
    int64_t cap;
} asp_series;
asp_series *asp_series_new(void);
int asp_series_grow(asp_series *s);
void asp_series_free(asp_series *s);
/* ffi: end */

#endif
