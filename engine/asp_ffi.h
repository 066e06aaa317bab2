/*
 * The C functions that lua/asp reaches through the LuaJIT FFI.
 *
 * The build turns this file, minus its preprocessor lines, into the module
 * asp.cdef that the Lua side passes to ffi.cdef; the C files that define
 * these functions include it, so the compiler checks that both agree.
 * Keep it to plain declarations: no macros, no includes.
 */
#ifndef ASP_FFI_H
#define ASP_FFI_H

typedef struct asp_time { int64_t ns_; } asp_time;
typedef struct asp_sched asp_sched;

int asp_time_parse(const char *s, size_t len, int64_t *out);
size_t asp_time_format(int64_t ns, char *buf);
int64_t asp_time_from_seconds(double seconds);
double asp_time_to_seconds(int64_t ns);
int64_t asp_time_wall(void);

asp_sched *asp_engine_sched(void);

void asp_sched_start(asp_sched *s, int64_t start);
int64_t asp_sched_now(const asp_sched *s);
int64_t asp_sched_wall(asp_sched *s);
int32_t asp_sched_alloc(asp_sched *s);
void asp_sched_release(asp_sched *s, int32_t id);
int asp_sched_push_event(asp_sched *s, int32_t id, int64_t due, uint32_t stream_order);
int asp_sched_push(asp_sched *s, int32_t id, int64_t due);
int asp_sched_cancel(asp_sched *s, int32_t id);
int asp_sched_queued(const asp_sched *s, int32_t id);
int32_t asp_sched_pending(const asp_sched *s);
int32_t asp_sched_next(asp_sched *s);
void asp_sched_clear(asp_sched *s);

/* -- Sources (engine/sources/) -- */

/* A CSV record: field i is data[start[i] .. end[i]), NUL-terminated at end[i];
 * col[i] is the byte column where it starts; line the line where it starts. */
typedef struct asp_csv_row {
    const char *data;
    const uint32_t *start;
    const uint32_t *end;
    const uint32_t *col;
    int32_t nfields;
    int64_t line;
} asp_csv_row;
typedef struct asp_csv asp_csv;
typedef struct asp_csvfile asp_csvfile;

asp_csv *asp_csv_new(char delim);
void asp_csv_free(asp_csv *p);
int asp_csv_feed(asp_csv *p, const char *data, size_t n, size_t *used);
int asp_csv_finish(asp_csv *p);
const asp_csv_row *asp_csv_record(const asp_csv *p);
const char *asp_csv_error(const asp_csv *p);
int asp_parse_number(const char *s, size_t len, double *out);
int asp_parse_integer(const char *s, size_t len, int64_t *out);
int asp_parse_epoch(const char *s, size_t len, int64_t unit_ns, int64_t *out);
int asp_parse_time(const char *s, size_t len, int64_t unit_ns, int64_t *out);

asp_csvfile *asp_csvfile_open(const char *path, char delim, char *err, size_t errlen);
void asp_csvfile_close(asp_csvfile *f);
int asp_csvfile_next(asp_csvfile *f, int follow);
const asp_csv_row *asp_csvfile_record(const asp_csvfile *f);
const char *asp_csvfile_error(const asp_csvfile *f);
int64_t asp_csvfile_size(const asp_csvfile *f);
int64_t asp_csvfile_offset(asp_csvfile *f);

#endif
