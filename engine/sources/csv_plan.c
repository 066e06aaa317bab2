/*
 * Rows converted by a plan (see csv_plan.h). The conversions are csv.h's
 * own (asp_parse_number, asp_parse_time), so a converted value is the one
 * the Lua decoder's per-field calls would give.
 *
 * Text: a column's distinct short strings get ids 1, 2, … in the order they
 * are first seen (up to DICT_MAX of them); the Lua side keeps one Lua
 * string per id, so a repeated symbol is a table index there instead of
 * LuaJIT interning the bytes again (hashing them and walking the string
 * table) on every row.
 */
#include "sources/csv_plan.h"

#include <stdlib.h>
#include <string.h>

#define DICT_MAX 255   /* ids per column; more distinct strings get id 0 */
#define DICT_SLOTS 512 /* open addressing, at most half full */
#define DICT_KEY 16    /* longer strings get id 0 */

typedef struct {
    uint16_t slot[DICT_SLOTS]; /* an id, 0 for an empty slot */
    int32_t count;
    struct {
        uint64_t w0, w1; /* the bytes, zero after the string's end */
        uint32_t len;
    } entry[DICT_MAX + 1]; /* by id; entry 0 unused */
} dict;
typedef struct {
    int32_t field, type;
    dict *strings; /* auto and string columns */
} column;
/* A column as the row's loop takes it, with where its value goes. */
typedef struct {
    int32_t field;
    dict *strings;
    asp_csv_value *v;
} task;

struct asp_csv_plan {
    int64_t time_ns;
    int64_t unit;
    int32_t nfields, tindex, ncols;
    column *cols;
    /* The converted columns grouped by type (auto, then number, then
     * string), so that a row runs one loop per type with no switch and no
     * type test per column; remade by asp_csv_plan_column. */
    task *tasks, *auto_end, *number_end, *string_end;
    asp_csv_value *values;
};

/* The tasks from the columns, grouped by type (a column of another type,
 * or not set yet, is none). */
static void group(asp_csv_plan *plan)
{
    static const int32_t order[3] = {ASP_PLAN_AUTO, ASP_PLAN_NUMBER, ASP_PLAN_STRING};
    task **end[3] = {&plan->auto_end, &plan->number_end, &plan->string_end};
    task *t = plan->tasks;
    for (int g = 0; g < 3; g++) {
        for (int32_t k = 0; k < plan->ncols; k++) {
            const column *c = &plan->cols[k];
            if (c->type != order[g])
                continue;
            t->field = c->field;
            t->strings = c->strings;
            t->v = &plan->values[k];
            t++;
        }
        *end[g] = t;
    }
}

asp_csv_plan *asp_csv_plan_new(int32_t nfields, int32_t tindex, int64_t unit_ns, int32_t ncols)
{
    asp_csv_plan *plan = calloc(1, sizeof *plan);
    if (!plan)
        return NULL;
    plan->nfields = nfields;
    plan->tindex = tindex;
    plan->unit = unit_ns;
    plan->ncols = ncols;
    plan->cols = calloc((size_t)ncols + 1, sizeof *plan->cols);
    plan->tasks = calloc((size_t)ncols + 1, sizeof *plan->tasks);
    plan->values = calloc((size_t)ncols + 1, sizeof *plan->values);
    if (!plan->cols || !plan->tasks || !plan->values) {
        asp_csv_plan_free(plan);
        return NULL;
    }
    group(plan);
    return plan;
}

void asp_csv_plan_free(asp_csv_plan *plan)
{
    if (!plan)
        return;
    if (plan->cols)
        for (int32_t k = 0; k < plan->ncols; k++)
            free(plan->cols[k].strings);
    free(plan->cols);
    free(plan->tasks);
    free(plan->values);
    free(plan);
}

void asp_csv_plan_column(asp_csv_plan *plan, int32_t k, int32_t field, int32_t type)
{
    column *c = &plan->cols[k];
    c->field = field;
    c->type = type;
    if ((type == ASP_PLAN_AUTO || type == ASP_PLAN_STRING) && !c->strings)
        c->strings = calloc(1, sizeof *c->strings); /* NULL: every string gets id 0 */
    group(plan);
}

asp_csv_value *asp_csv_plan_values(asp_csv_plan *plan)
{
    return plan->values;
}

int64_t *asp_csv_plan_time(asp_csv_plan *plan)
{
    return &plan->time_ns;
}

/* The first n (0..8) bytes of p, zero above them; p has 8 readable bytes
 * (a record's padding, csv.h). */
static uint64_t head(const char *p, size_t n)
{
    uint64_t w;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(&w, p, 8);
    return n >= 8 ? w : w & ((UINT64_C(1) << (8 * n)) - 1); /* the first bytes are the low ones */
#else
    w = 0;
    memcpy(&w, p, n >= 8 ? 8 : n);
    return w;
#endif
}

/* The id of s[0..len) in d, added when new and there is room; 0 when none.
 * The string is read as two words (the padding makes that safe). */
static int32_t string_id(dict *d, const char *s, size_t len)
{
    uint64_t w0, w1;
    if (!d || len > DICT_KEY)
        return 0;
    w0 = head(s, len);
    w1 = len > 8 ? head(s + 8, len - 8) : 0;
    for (uint32_t i = (uint32_t)(((w0 ^ (w1 * UINT64_C(0x9E3779B97F4A7C15)) ^ len) * UINT64_C(0xFF51AFD7ED558CCD)) >> 55);;
         i = (i + 1) & (DICT_SLOTS - 1)) {
        uint16_t id = d->slot[i];
        if (id == 0) {
            if (d->count >= DICT_MAX)
                return 0;
            id = (uint16_t)++d->count;
            d->entry[id].w0 = w0;
            d->entry[id].w1 = w1;
            d->entry[id].len = (uint32_t)len;
            d->slot[i] = id;
            return id;
        }
        if (d->entry[id].w0 == w0 && d->entry[id].w1 == w1 && d->entry[id].len == len)
            return id;
    }
}

int asp_csv_plan_convert(asp_csv_plan *plan, const asp_csv_row *row)
{
    const char *data = row->data;
    const uint32_t *start = row->start, *stop = row->stop;
    if (row->nfields != plan->nfields)
        return 0;
    {
        uint32_t s = start[plan->tindex];
        if (!asp_csv_time(data + s, stop[plan->tindex] - s, plan->unit, &plan->time_ns))
            return 0;
    }
    {
        const task *t = plan->tasks;
        for (; t < plan->auto_end; t++) {
            uint32_t s = start[t->field];
            size_t len = stop[t->field] - s;
            const char *p = data + s;
            asp_csv_value *v = t->v;
            if (len == 0) {
                v->kind = ASP_VALUE_NIL;
                continue;
            }
            /* As the Lua decoder: a field that starts with a letter is no
             * number (not even inf or nan), without a try. */
            if ((unsigned)((*p | 0x20) - 'a') >= 26 && asp_csv_number(p, len, &v->num)) {
                v->kind = ASP_VALUE_NUMBER;
                continue;
            }
            v->kind = ASP_VALUE_STRING;
            v->sid = string_id(t->strings, p, len);
        }
        for (; t < plan->number_end; t++) {
            uint32_t s = start[t->field];
            size_t len = stop[t->field] - s;
            asp_csv_value *v = t->v;
            if (len == 0) {
                v->kind = ASP_VALUE_NIL;
                continue;
            }
            if (!asp_csv_number(data + s, len, &v->num))
                return 0;
            v->kind = ASP_VALUE_NUMBER;
        }
        for (; t < plan->string_end; t++) {
            uint32_t s = start[t->field];
            asp_csv_value *v = t->v;
            v->kind = ASP_VALUE_STRING;
            v->sid = string_id(t->strings, data + s, stop[t->field] - s);
        }
    }
    return 1;
}
