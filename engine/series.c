/*
 * Numeric series for asp.record: two parallel arrays (int64 ns, double)
 * grown by doubling with realloc, so a point costs 16 bytes and no Lua
 * object. Large blocks are mmapped by malloc, so realloc grows them with
 * mremap, without copying, and pages not yet written cost no memory.
 */
#include <stdlib.h>

#include <stdint.h>

#include "series.h"

asp_series *asp_series_new(void)
{
    return calloc(1, sizeof(asp_series));
}

int asp_series_grow(asp_series *s)
{
    int64_t cap = s->cap ? s->cap * 2 : 1024;
    int64_t *t = realloc(s->t, sizeof *t * (size_t)cap);
    if (!t)
        return -1;
    s->t = t;
    double *v = realloc(s->v, sizeof *v * (size_t)cap);
    if (!v)
        return -1;
    s->v = v;
    s->cap = cap;
    return 0;
}

void asp_series_free(asp_series *s)
{
    if (!s)
        return;
    free(s->t);
    free(s->v);
    free(s);
}
