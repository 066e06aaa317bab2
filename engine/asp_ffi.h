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
void asp_sched_pause(asp_sched *s, int64_t budget, int64_t pause_after);
int64_t asp_sched_dispatched(const asp_sched *s);
int32_t asp_sched_upcoming(const asp_sched *s, int32_t k, int32_t *ids, int64_t *dues);

int asp_checkpoint_enabled(void);
int asp_checkpoint_take(int64_t items, int64_t ns);
void asp_checkpoint_target(int32_t *kind, int64_t *value);
int asp_checkpoint_restore(int32_t id, int32_t kind, int64_t target);
int asp_checkpoint_count(void);
int asp_checkpoint_get(int i, int32_t *id, int64_t *items, int64_t *ns);
int asp_checkpoint_find(int32_t kind, int64_t target);
void asp_checkpoint_end(void);
void asp_repl_driving(int on);

#endif
