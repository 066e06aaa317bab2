/*
 * A CSV file's rows converted in C, in the same call that parses them
 * (asp_csvfile_next): the time column to ns, auto and number columns to
 * doubles, text to a small id per distinct string of its column, so that
 * the Lua decoder (lua/asp/csv_decoder.lua) reads finished values instead
 * of calling one conversion per field. A plan only says "converted" when
 * every conversion it does succeeds with the result the field conversions
 * of csv.h give; any other row (a bad field, a wrong field count) is left to
 * the Lua decoder's own path, which raises or counts it as before.
 */
#ifndef ASP_CSV_PLAN_H
#define ASP_CSV_PLAN_H

#include <stdint.h>

#include "sources/csv.h"

/* ffi: begin */
/* -- CSV rows converted by a plan (engine/sources/csv_plan.h) -- */
enum {
    ASP_CSV_CONVERTED = 2,     /* asp_csvfile_next: a record, converted by its plan */
    ASP_PLAN_LUA = 0,          /* a column the plan leaves to Lua (integer, time) */
    ASP_PLAN_AUTO = 1,         /* a number if it reads as one, else a string */
    ASP_PLAN_NUMBER = 2,       /* a number (else the row is not converted) */
    ASP_PLAN_STRING = 3,       /* a string, "" when empty */
    ASP_VALUE_NIL = 0,         /* empty field */
    ASP_VALUE_NUMBER = 1,      /* in num */
    ASP_VALUE_STRING = 2       /* the field's text; sid its id (1..) in the column, 0 when it has none */
};

typedef struct asp_csv_value {
    double num;
    int32_t kind;
    int32_t sid;
} asp_csv_value;

typedef struct asp_csv_plan asp_csv_plan;

/* A plan for records of nfields fields, the time in field tindex (0-based)
 * read as asp_parse_time(unit_ns), ncols converted columns. */
asp_csv_plan *asp_csv_plan_new(int32_t nfields, int32_t tindex, int64_t unit_ns, int32_t ncols);
void asp_csv_plan_free(asp_csv_plan *plan);
/* Column k (0-based) of the values is field `field`, converted as type. */
void asp_csv_plan_column(asp_csv_plan *plan, int32_t k, int32_t field, int32_t type);
/* Where a converted row's values are: ncols values, and the time's ns. */
asp_csv_value *asp_csv_plan_values(asp_csv_plan *plan);
int64_t *asp_csv_plan_time(asp_csv_plan *plan);
/* ffi: end */

/* Converts a record: 1 when every conversion succeeded, else 0 (the values
 * are then unspecified). */
int asp_csv_plan_convert(asp_csv_plan *plan, const asp_csv_row *row);

#endif
