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
int64_t asp_time_add_seconds(int64_t ns, double seconds);
double asp_time_to_seconds(int64_t ns);
int asp_time_seconds_ns(double seconds, int64_t *out);
int asp_time_add_checked(int64_t ns, double seconds, int64_t *out);
int asp_time_diff(int64_t a, int64_t b, double *out);
int64_t asp_time_wall(void);

int asp_tz_check(const char *name, char *err, size_t errlen);
int64_t asp_tz_format(int64_t ns, const char *fmt, const char *zone, char *buf, size_t buflen,
                      int32_t *bad_at);
int asp_tz_parse(const char *s, size_t len, const char *zone, int64_t *out, char *err,
                 size_t errlen);
void asp_tz_restore(void);

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
uint64_t asp_sched_items(const asp_sched *s);
int64_t asp_sched_run_wall_start(const asp_sched *s);
int64_t asp_sched_run_start(const asp_sched *s);
void asp_sched_pause(asp_sched *s, int64_t budget, int64_t pause_after);
int32_t asp_sched_upcoming(const asp_sched *s, int32_t k, int32_t *ids, int64_t *dues);
void asp_sched_set_end(asp_sched *s, int64_t end_ns);
int64_t asp_sched_end(const asp_sched *s);
void asp_sched_set_backtest(asp_sched *s, int on);
void asp_sched_set_live_item(asp_sched *s, int32_t id);
int asp_sched_mark_live(asp_sched *s, int32_t id);
int asp_sched_is_live(const asp_sched *s);
uint64_t asp_sched_events(const asp_sched *s);
int asp_sched_live_sources(const asp_sched *s);
int32_t asp_sched_ids_taken(const asp_sched *s);
int asp_sched_handles(asp_sched *s);

int asp_checkpoint_enabled(void);
int asp_checkpoint_take(int64_t items, int64_t ns);
void asp_checkpoint_target(int32_t *kind, int64_t *value);
int asp_checkpoint_restore(int32_t id, int32_t kind, int64_t target);
int asp_checkpoint_count(void);
int asp_checkpoint_get(int i, int32_t *id, int64_t *items, int64_t *ns);
int asp_checkpoint_pid(int i);
int asp_checkpoint_journal_lost(int64_t *items, int64_t *ns);
int asp_checkpoint_keep(const char *data, size_t len);
const char *asp_checkpoint_kept(size_t *len);
int asp_checkpoint_find(int32_t kind, int64_t target);
void asp_checkpoint_end(void);
void asp_repl_driving(int on);
int asp_signals_received(void);
int64_t asp_journal_wall(int64_t wall);

/* -- Sources (engine/sources/) -- */

/* A CSV record: field i is data[start[i] .. stop[i]), NUL-terminated at stop[i];
 * col[i] is the byte column where it starts; line the line where it starts. */
typedef struct asp_csv_row {
    const char *data;
    const uint32_t *start;
    const uint32_t *stop;
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
/* The fraction read of the open (non-follow) files together, or -1 when none. */
double asp_csvfile_progress(void);
void asp_csvfile_set_follow(asp_csvfile *f, int follow);
void asp_csvfile_set_header(asp_csvfile *f, int header);
/* Bytes of files that many-file readers (lua/asp/csv_files.lua) have not
 * opened yet or have finished, added to the progress of the open files. */
void asp_csvfile_progress_add(int64_t size, int64_t done);
/* The matches of a glob(3) pattern sorted by strcmp, as count NUL-terminated
 * paths one after the other; NULL with count 0 for no match, -1 out of
 * memory, -2 a read error. Free with asp_glob_free. */
char *asp_glob(const char *pattern, int32_t *count);
void asp_glob_free(char *block);
void asp_progress_done(void);

/* A line from a live source: data[0..len) (no newline), arrival wall ns. */
typedef struct asp_line {
    const char *data;
    size_t len;
    int64_t arrival;
    int32_t cut;     /* the peer stopped in the middle of it (an orderly close) */
} asp_line;
typedef struct asp_live asp_live;

asp_live *asp_live_new(int32_t max_buffer, int32_t max_line);
void asp_live_set_fail_item(asp_live *l, int32_t item);
void asp_live_begin(asp_live *l);
int asp_live_tcp(asp_live *l, const char *host, int32_t port, int32_t reconnect_ms,
                 int32_t reconnect_max_ms, char *err, size_t errlen);
int asp_live_listen(asp_live *l, const char *host, int32_t port, char *err, size_t errlen);
int asp_live_udp(asp_live *l, const char *host, int32_t port, char *err, size_t errlen);
int asp_live_tail(asp_live *l, const char *path, int64_t offset, char *err, size_t errlen);
int asp_live_watch(asp_live *l, const char *path, char *err, size_t errlen);
int asp_live_stdin(asp_live *l, char *err, size_t errlen);
int asp_live_exec(asp_live *l, const char *const *argv, char *err, size_t errlen);
int32_t asp_live_port(asp_live *l);
int asp_live_arm(asp_live *l, int32_t item, uint32_t order);
int asp_live_pop(asp_live *l, asp_line *out);
void asp_live_resume(asp_live *l);
size_t asp_live_buffered(const asp_live *l);
const char *asp_live_error(const asp_live *l);
int64_t asp_live_exit_status(const asp_live *l);
int asp_live_exited(const asp_live *l);
void asp_live_set_name(asp_live *l, const char *name);
void asp_live_close(asp_live *l);
/* Counts for asp.stats(): out[0] partial lines dropped (cut_lines), out[1]
 * times accepting waited for descriptors (accept_waits), out[2] connections
 * closed by asp-lua (dropped_connections). */
void asp_live_counts(const asp_live *l, int64_t *out);
/* format 1 (csv) or 2 (json): a line cut by a peer's close is dropped, not
 * delivered as a line. */
void asp_live_set_drop_cut(asp_live *l, int32_t format);
/* Counts for asp.stats(): out[0] partial lines dropped (cut_lines), out[1]
 * times accepting waited for descriptors (accept_waits), out[2] connections
 * closed by asp-lua (dropped_connections). */
void asp_live_counts(const asp_live *l, int64_t *out);
/* JSON lines, flattened: an array or object token is followed by its n
 * elements (an object's as key, value pairs). type: 0 null, 1 false, 2 true,
 * 3 number, 4 string, 5 array, 6 object. */
typedef struct asp_json_tok {
    int32_t type;
    int32_t n;
    double num;
    const char *str;
    size_t len;
} asp_json_tok;
typedef struct asp_json asp_json;

asp_json *asp_json_new(void);
void asp_json_free(asp_json *j);
int32_t asp_json_decode(asp_json *j, const char *s, size_t len);
const asp_json_tok *asp_json_tokens(const asp_json *j);
const char *asp_json_error(const asp_json *j);

/* -- Results (engine/writer.c, engine/series.c) -- */

/* format: 0 CSV, 1 JSON lines; append: 0 temp file + rename at commit, 1
 * append to the file itself. Field calls return 0, or -1 with the message
 * in asp_writer_error (the writer is then failed for good); a string field,
 * -2 when JSON cannot hold it (not UTF-8): the row is then dropped. */
typedef struct asp_writer asp_writer;
asp_writer *asp_writer_open(const char *path, int32_t format, int32_t append, char *err, size_t errlen);
int asp_writer_column(asp_writer *w, int32_t i, const char *name, size_t len);
int asp_writer_header(asp_writer *w);
int asp_writer_num(asp_writer *w, int32_t col, double v);
int asp_writer_str(asp_writer *w, int32_t col, const char *s, size_t len);
int asp_writer_bool(asp_writer *w, int32_t col, int32_t b);
int asp_writer_time(asp_writer *w, int32_t col, int64_t ns, int32_t as_ns);
int asp_writer_end_row(asp_writer *w);
void asp_writer_cancel_row(asp_writer *w);
void asp_writer_set_flush(asp_writer *w, int64_t interval_ns);
int asp_writer_flush(asp_writer *w, int32_t sync);
int asp_writer_commit(asp_writer *w);
void asp_writer_abort(asp_writer *w, int32_t keep);
const char *asp_writer_error(const asp_writer *w);
const char *asp_writer_temp(const asp_writer *w);
const char *asp_writer_key(const asp_writer *w);
int64_t asp_writer_rows(const asp_writer *w);
void asp_writer_free(asp_writer *w);

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
/* -- Sweeps (engine/sweep.c, lua/asp/sweep.lua) -- */

/* Formats a number so that strtod reads it back exactly: an integer as an
 * integer, else the fewest decimals (up to 9) that do, else %.17g. NaN and
 * infinities as NaN, Inf, -Inf. Returns the length; buf holds >= 32 bytes.
 * (engine/writer.c: writers and sweep rows share it.) */
size_t asp_format_number(double v, char *buf);

int asp_sweep_fork(int *result_fd);
int asp_sweep_poll(const int *fds, int n, int timeout_ms, int *ready);
int asp_sweep_read(int fd, char *buf, int len);
int asp_sweep_write(int fd, const char *buf, size_t len);
int asp_sweep_reap(int pid, int *how);
void asp_sweep_kill(int pid);
int asp_sweep_open_append(const char *path, char *err, size_t errlen);
int asp_sweep_truncate(int fd, int64_t size);
void asp_sweep_close(int fd);
int asp_sweep_cpus(void);
int asp_sweep_isatty(int fd);
int64_t asp_sweep_monotonic_ns(void);
int asp_sweep_self_exe(char *buf, size_t len);

#endif
