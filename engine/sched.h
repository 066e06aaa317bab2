/*
 * The scheduler: the virtual clock, the queue of items and the clock rule.
 *
 * Items are keyed by (due, order): due in ns since the epoch, then a 64-bit
 * unsigned order whose top bit is the item's class. Stream events
 * (asp_sched_push_event, replayed or live) have the bit clear and their
 * stream's start order below it: at equal due they run before every other
 * item, in the order their streams started. Everything else (wake-ups,
 * ticks, calls, task starts: asp_sched_push) has the bit set and a sequence
 * number below it: first scheduled first. An item keeps its own due time
 * even when that is already past (a late item): late items run in the order
 * of their due times, before anything due later, and the clock stays where
 * it is while they run (it never goes back). Only asp.sleep asks for "now"
 * itself when given a past Time (sched.lua).
 *
 * asp_sched_next applies the clock rule: an item due at or before the wall
 * clock runs at once with the clock set to its due time (replay); one due
 * later is waited for in real time on libuv, together with live input (live).
 */
#ifndef ASP_SCHED_H
#define ASP_SCHED_H

#include <signal.h>
#include <stdint.h>

#include <uv.h>

#include "heap.h"

/* ffi: begin */
/* -- The scheduler (engine/sched.h) -- */
typedef struct asp_sched asp_sched;

/* What asp_sched_next returns when it gives no item, and the run loop
 * (lua/asp/sched.lua) its dispatchers: one status enum for both sides. */
enum {
    ASP_SCHED_EMPTY = -1,       /* nothing queued and no live source open */
    ASP_SCHED_INTERRUPTED = -2, /* asp_sched_interrupt was called */
    ASP_SCHED_STOPPED = -3,     /* asp.stop() was called (the Lua run loop's own status) */
    ASP_SCHED_PAUSED = -4       /* the budget of asp_sched_pause ran out */
};

/*
 * The fields the Lua side reads and writes without a call, first in struct
 * asp_sched (asp_sched_fast_of). horizon is the replay's direct path
 * (lua/asp/stream.lua, deliver): after asp_sched_next handed out a stream
 * event on its fast path, a bound below every other queued item's due and
 * the run's bounds (end, pause_after, the last wall reading unless a
 * backtest), or INT64_MIN when the direct path is closed (a pause budget,
 * an interrupt, the reload hook, a journal replay, any other item). Every
 * push lowers it. While the stream's next event is strictly below it, that
 * event is the one asp_sched_next would hand out next: the stream may run it
 * itself, moving now and counting items and events as take() would, except
 * for every 1024th item (take's periodic work), which goes through C.
 */
typedef struct asp_sched_fast {
    int64_t now;              /* the virtual clock, ns since the epoch */
    volatile int64_t horizon; /* also set by asp_sched_interrupt (a signal handler) */
    uint64_t items;           /* items run since the run started (asp.stats, asp.debug) */
    uint64_t events;          /* stream events among them */
} asp_sched_fast;

asp_sched_fast *asp_sched_fast_of(asp_sched *s);
/* Closes the direct path: asp.stop(), a failed finalizer (lua/asp/sched.lua). */
void asp_sched_close_direct(asp_sched *s);
/* ffi: end */

struct asp_sched {
    asp_sched_fast fast; /* first: the clock and the counters (above) */
    int64_t wall_seen;  /* the latest wall clock read: items due before it need no new read */
    uint64_t seq;       /* order of class-1 items */
    int live_sources;   /* open live sources: the run waits for them when the queue is empty */
    volatile sig_atomic_t interrupted; /* set by a signal handler */
    volatile sig_atomic_t running;     /* between asp_sched_start and asp_sched_clear */
    int64_t run_wall_start, run_start; /* the run's wall and virtual start */
    int64_t end_ns;      /* items due after it are never run (opts.end_time); INT64_MAX: none */
    int backtest;        /* opts.live = false: never wait for the wall clock */
    int is_live;         /* the run has caught up with the wall clock (once and for good) */
    int32_t live_item;   /* run as the live moment's item (opts.on_live), or -1 */
    uint8_t *live_ids;   /* live_ids[id]: the item is live input (due at a wall time) */
    int32_t live_ids_n;
    int64_t budget;      /* items left before ASP_SCHED_PAUSED; negative: no limit */
    int64_t pause_after; /* ASP_SCHED_PAUSED before an item due later than this */
    int32_t last_event;  /* the item of the last stream event taken on the fast path */
    asp_heap heap;
    uv_loop_t loop;
    uv_timer_t timer;   /* the real-time wait for the next item */
    uv_async_t wakeup;  /* ends a real-time wait on an interrupt (signal-safe) */
    uv_timer_t chores;  /* periodic work of other modules while the loop runs (unref'd) */
};

asp_sched *asp_sched_new(void);
/* Closes the loop and frees s. Returns 0, or uv_loop_close's error (a handle
 * was left open: each one is named on stderr). */
int asp_sched_free(asp_sched *s);

/* ffi: begin */
/* Starts a run: sets the clock, empties the queue (ids taken before stay). */
void asp_sched_start(asp_sched *s, int64_t start);

int64_t asp_sched_now(const asp_sched *s);
int64_t asp_sched_wall(asp_sched *s);

int32_t asp_sched_alloc(asp_sched *s);
void asp_sched_release(asp_sched *s, int32_t id);

/* Queues a stream event (class 0) of the stream started as stream_order. */
int asp_sched_push_event(asp_sched *s, int32_t id, int64_t due, uint32_t stream_order);
/* Queues any other item (class 1), behind those of equal due queued before. */
int asp_sched_push(asp_sched *s, int32_t id, int64_t due);
/* asp_sched_alloc and asp_sched_push in one call: a fresh id queued (class 1)
 * due at due, or -1 when memory runs out (no id is kept then). */
int32_t asp_sched_add(asp_sched *s, int64_t due);
int32_t asp_sched_pending(const asp_sched *s);

/*
 * Returns the id of the next item to run, with the clock moved to its due
 * time, waiting in real time if it is due later than the wall clock; or
 * ASP_SCHED_EMPTY, or ASP_SCHED_INTERRUPTED.
 */
int32_t asp_sched_next(asp_sched *s);

/* --reload (engine/reload.c; NULL otherwise): called before each item
 * (idle 0) and before each real-time wait (idle 1, where 1 means "look at
 * the queue again"); it turns every item into asp_sched_next's slow path. */
extern int (*asp_sched_reload_hook)(asp_sched *s, int idle);

/*
 * The run's bounds and its live moment. end_ns: items due after it never
 * run, and asp_sched_next returns ASP_SCHED_EMPTY once nothing due at or
 * before it is left (it still waits for live input until then). backtest:
 * the wall clock is never waited for and live sources are not waited on.
 * live_item: an item id (not queued) that asp_sched_next hands out once, at
 * the live moment: the first time it finds nothing due at or before the
 * wall clock while the run goes on (it would wait in real time).
 */
void asp_sched_set_end(asp_sched *s, int64_t end_ns);
int64_t asp_sched_end(const asp_sched *s);
void asp_sched_set_backtest(asp_sched *s, int on);
void asp_sched_set_live_item(asp_sched *s, int32_t id);
/* Marks item id as live (a live stream's events, a producer's start): the
 * first one to run is a live moment too, and the live item runs before it. */
int asp_sched_mark_live(asp_sched *s, int32_t id);
int asp_sched_is_live(const asp_sched *s);
uint64_t asp_sched_events(const asp_sched *s);
int asp_sched_live_sources(const asp_sched *s);

/* For asp.stats: items run, and the wall and virtual times the run started at. */
uint64_t asp_sched_items(const asp_sched *s);
int64_t asp_sched_run_wall_start(const asp_sched *s);
int64_t asp_sched_run_start(const asp_sched *s);

/* For the tests' check that a run leaves nothing behind: the item ids taken
 * and not released, and the libuv handles on the loop besides the
 * scheduler's own timer and wake-up (closing ones included). */
int32_t asp_sched_ids_taken(const asp_sched *s);
int asp_sched_handles(asp_sched *s);

/*
 * Limits the items asp_sched_next hands out before it returns
 * ASP_SCHED_PAUSED: at most budget more (negative: no limit), none due after
 * pause_after (INT64_MAX: no limit). Clears a pending interrupt. The run
 * keeps its queue and clock, so that it can go on after the pause.
 */
void asp_sched_pause(asp_sched *s, int64_t budget, int64_t pause_after);


/*
 * Copies the next k queued items in the order they will run (ids and due
 * times) into ids[] and dues[]; returns how many were copied, or -1 when
 * memory runs out.
 */
int32_t asp_sched_upcoming(const asp_sched *s, int32_t k, int32_t *ids, int64_t *dues);

/* Drops every item, frees every id and ends the run (when it ends, stops or fails). */
void asp_sched_clear(asp_sched *s);
/* ffi: end */

/* For the C tests (Lua cancels by releasing the id: asp_sched_release):
 * unqueues an item, returning 1 if it was queued; whether it is queued. */
int asp_sched_cancel(asp_sched *s, int32_t id);
int asp_sched_queued(const asp_sched *s, int32_t id);

/* The engine's libuv loop, for the sources' handles. */
uv_loop_t *asp_sched_loop(asp_sched *s);
/* A live source opened (+1) or ended (-1): the run waits for open ones. */
void asp_sched_live_source(asp_sched *s, int delta);
/* A run is on (async-signal-safe: the signal handlers ask). */
int asp_sched_running(const asp_sched *s);
/* An interrupt is pending; forget one (the REPL, before a command). */
int asp_sched_interrupt_pending(const asp_sched *s);
void asp_sched_forget_interrupt(asp_sched *s);

/* Called every 1024 items with the scheduler (progress display), or NULL. */
extern void (*asp_sched_periodic)(asp_sched *s);

/*
 * Calls fn every `every_ms` while the engine's loop runs (real-time waits,
 * and between items every 1024 of them): the writers' timed flush. One
 * caller at a time; fn NULL stops it. It never keeps a run alive.
 */
void asp_sched_chores(asp_sched *s, uint64_t every_ms, void (*fn)(void));

/* Makes asp_sched_next return ASP_SCHED_INTERRUPTED (async-signal-safe). */
void asp_sched_interrupt(asp_sched *s);

#endif
