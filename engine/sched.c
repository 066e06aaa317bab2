/*
 * The clock rule; see sched.h.
 */
#include "sched.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "journal.h"
#include "time.h"

#define CLASS_OTHER (UINT64_C(1) << 63)
#define NS_PER_MS INT64_C(1000000)

/*
 * libuv timers count whole milliseconds of a cached loop time, so they may
 * fire up to a millisecond early or late. Waits end this much before the due
 * time and the rest is finished precisely (see wait_until).
 */
#define COARSE_MARGIN_NS (2 * NS_PER_MS)

/* Closes the direct path (sched.h, asp_sched_fast): until asp_sched_next's
 * fast path opens it again, every stream event goes through the queue.
 * Async-signal-safe (asp_sched_interrupt). */
static inline void close_direct_path(asp_sched *s)
{
    s->fast.horizon = INT64_MIN;
}

static void on_wakeup(uv_async_t *async)
{
    (void)async; /* waking up is all it is for: asp_sched_next sees the flag */
}

asp_sched *asp_sched_new(void)
{
    asp_sched *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    asp_heap_init(&s->heap);
    if (uv_loop_init(&s->loop) != 0) {
        free(s);
        return NULL;
    }
    uv_timer_init(&s->loop, &s->timer);
    uv_timer_init(&s->loop, &s->chores);
    uv_unref((uv_handle_t *)&s->chores);
    /* libuv restarts its poll when a signal interrupts it; an interrupt
     * wakes the loop through this handle instead. It keeps no loop alive. */
    uv_async_init(&s->loop, &s->wakeup, on_wakeup);
    uv_unref((uv_handle_t *)&s->wakeup);
    s->fast.now = asp_time_wall();
    close_direct_path(s);
    s->budget = -1;
    s->last_event = -1;
    s->pause_after = INT64_MAX;
    return s;
}

/* Names a handle that is still open when the loop should close. */
static void report_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    fprintf(stderr, "asp-lua: a libuv %s handle is still open at exit%s\n",
            uv_handle_type_name(uv_handle_get_type(h)), uv_is_closing(h) ? " (closing)" : "");
}

int asp_sched_free(asp_sched *s)
{
    int rc;
    if (!s)
        return 0;
    uv_close((uv_handle_t *)&s->timer, NULL);
    uv_close((uv_handle_t *)&s->chores, NULL);
    uv_close((uv_handle_t *)&s->wakeup, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    /* UV_EBUSY: a handle or request is left, whose memory the loop still
     * points to; the loop is then not closed (nor its memory freed). */
    rc = uv_loop_close(&s->loop);
    if (rc != 0) {
        fprintf(stderr, "asp-lua: the event loop cannot be closed: %s\n", uv_strerror(rc));
        uv_walk(&s->loop, report_handle, NULL);
    }
    asp_heap_destroy(&s->heap);
    free(s->live_ids);
    free(s);
    return rc;
}

int32_t asp_sched_ids_taken(const asp_sched *s)
{
    int32_t free_ids = 0;
    for (int32_t id = s->heap.free_head; id >= 0; id = s->heap.next_free[id])
        free_ids++;
    return s->heap.ids - free_ids;
}

static void count_handle(uv_handle_t *h, void *arg)
{
    struct { const asp_sched *s; int n; } *c = arg;
    if (h != (uv_handle_t *)&c->s->timer && h != (uv_handle_t *)&c->s->wakeup)
        c->n++;
}

int asp_sched_handles(asp_sched *s)
{
    struct { const asp_sched *s; int n; } c = { s, 0 };
    uv_walk(&s->loop, count_handle, &c);
    return c.n;
}

void asp_sched_start(asp_sched *s, int64_t start)
{
    /* Only the queue: ids taken while asp.run prepared its tasks (a live
     * source's failure item) stay theirs. The ids go back at the run's end. */
    asp_heap_clear(&s->heap);
    s->fast.now = start;
    close_direct_path(s);
    s->last_event = -1;
    s->seq = 0;
    s->interrupted = 0;
    s->running = 1;
    s->budget = -1;
    s->pause_after = INT64_MAX;
    s->wall_seen = asp_time_wall();
    s->fast.items = 0;
    s->fast.events = 0;
    s->end_ns = INT64_MAX;
    s->backtest = 0;
    s->is_live = 0;
    s->live_item = -1;
    if (s->live_ids)
        memset(s->live_ids, 0, (size_t)s->live_ids_n);
    s->run_wall_start = s->wall_seen;
    s->run_start = start;
}

void (*asp_sched_periodic)(asp_sched *s);

static void (*chore_fn)(void);

static void on_chores(uv_timer_t *t)
{
    (void)t;
    if (chore_fn)
        chore_fn();
}

void asp_sched_chores(asp_sched *s, uint64_t every_ms, void (*fn)(void))
{
    chore_fn = fn;
    if (fn)
        uv_timer_start(&s->chores, on_chores, every_ms, every_ms);
    else
        uv_timer_stop(&s->chores);
}

void asp_sched_set_end(asp_sched *s, int64_t end_ns)
{
    close_direct_path(s);
    s->end_ns = end_ns;
}

int64_t asp_sched_end(const asp_sched *s)
{
    return s->end_ns;
}

void asp_sched_set_backtest(asp_sched *s, int on)
{
    close_direct_path(s);
    s->backtest = on;
}

void asp_sched_set_live_item(asp_sched *s, int32_t id)
{
    s->live_item = id;
}

int asp_sched_mark_live(asp_sched *s, int32_t id)
{
    if (id < 0)
        return -1;
    if (id >= s->live_ids_n) {
        int32_t n = s->live_ids_n ? s->live_ids_n : 64;
        uint8_t *m;
        while (n <= id)
            n *= 2;
        m = realloc(s->live_ids, (size_t)n);
        if (!m)
            return -1;
        memset(m + s->live_ids_n, 0, (size_t)(n - s->live_ids_n));
        s->live_ids = m;
        s->live_ids_n = n;
    }
    s->live_ids[id] = 1;
    return 0;
}

int asp_sched_is_live(const asp_sched *s)
{
    return s->is_live;
}

uv_loop_t *asp_sched_loop(asp_sched *s)
{
    return &s->loop;
}

void asp_sched_live_source(asp_sched *s, int delta)
{
    s->live_sources += delta;
}

int asp_sched_running(const asp_sched *s)
{
    return s->running;
}

int asp_sched_interrupt_pending(const asp_sched *s)
{
    return s->interrupted;
}

void asp_sched_forget_interrupt(asp_sched *s)
{
    s->interrupted = 0;
}

int asp_sched_live_sources(const asp_sched *s)
{
    return s->live_sources;
}

uint64_t asp_sched_events(const asp_sched *s)
{
    return s->fast.events;
}

uint64_t asp_sched_items(const asp_sched *s)
{
    return s->fast.items;
}

int64_t asp_sched_run_wall_start(const asp_sched *s)
{
    return s->run_wall_start;
}

int64_t asp_sched_run_start(const asp_sched *s)
{
    return s->run_start;
}

asp_sched_fast *asp_sched_fast_of(asp_sched *s)
{
    return &s->fast;
}

int64_t asp_sched_now(const asp_sched *s)
{
    return s->fast.now;
}

int64_t asp_sched_wall(asp_sched *s)
{
    s->wall_seen = asp_time_wall();
    return s->wall_seen;
}

int32_t asp_sched_alloc(asp_sched *s)
{
    return asp_heap_alloc(&s->heap);
}

void asp_sched_release(asp_sched *s, int32_t id)
{
    asp_heap_release(&s->heap, id);
}

/* Every push lowers the horizon: the new item may come before the stream's next event. */
static inline void lower_horizon(asp_sched *s, int64_t due)
{
    if (due < s->fast.horizon)
        s->fast.horizon = due;
}

int asp_sched_push_event(asp_sched *s, int32_t id, int64_t due, uint32_t stream_order)
{
    lower_horizon(s, due);
    return asp_heap_push_event(&s->heap, id, due, stream_order);
}

int asp_sched_push(asp_sched *s, int32_t id, int64_t due)
{
    lower_horizon(s, due);
    return asp_heap_push(&s->heap, id, due, CLASS_OTHER | ++s->seq);
}

int32_t asp_sched_add(asp_sched *s, int64_t due)
{
    int32_t id = asp_heap_alloc(&s->heap);
    if (id < 0)
        return -1;
    if (asp_sched_push(s, id, due) != 0) {
        asp_heap_release(&s->heap, id);
        return -1;
    }
    return id;
}

int asp_sched_cancel(asp_sched *s, int32_t id)
{
    return asp_heap_remove(&s->heap, id);
}

int asp_sched_queued(const asp_sched *s, int32_t id)
{
    return asp_heap_queued(&s->heap, id);
}

int32_t asp_sched_pending(const asp_sched *s)
{
    return s->heap.count;
}

void asp_sched_close_direct(asp_sched *s)
{
    close_direct_path(s);
}

void asp_sched_interrupt(asp_sched *s)
{
    s->interrupted = 1;
    close_direct_path(s);
    uv_async_send(&s->wakeup); /* async-signal-safe */
}

void asp_sched_pause(asp_sched *s, int64_t budget, int64_t pause_after)
{
    /* A pending interrupt is kept: a Ctrl-C that came between two budgets
     * must still pause the run. */
    s->budget = budget;
    s->pause_after = pause_after;
    close_direct_path(s);
}

static int entry_cmp(const void *a, const void *b)
{
    const asp_heap_entry *x = a, *y = b;
    if (x->due != y->due)
        return x->due < y->due ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

int32_t asp_sched_upcoming(const asp_sched *s, int32_t k, int32_t *ids, int64_t *dues)
{
    int32_t n = s->heap.count;
    asp_heap_entry *copy;
    if (k > n)
        k = n;
    if (k <= 0)
        return 0;
    copy = malloc((size_t)n * sizeof *copy);
    if (!copy)
        return -1;
    asp_heap_snapshot(&s->heap, copy);
    qsort(copy, (size_t)n, sizeof *copy, entry_cmp);
    for (int32_t i = 0; i < k; i++) {
        ids[i] = copy[i].id;
        dues[i] = copy[i].due;
    }
    free(copy);
    return k;
}

void asp_sched_clear(asp_sched *s)
{
    s->running = 0;
    close_direct_path(s);
    asp_heap_reset(&s->heap); /* the Lua side forgets every item too */
}

static void on_timer(uv_timer_t *timer)
{
    (void)timer; /* waking up is all it is for */
}

/* Sleeps without libuv until the wall clock reaches due (never earlier). */
static void sleep_until(const asp_sched *s, int64_t due)
{
    struct timespec ts = { (time_t)(due / ASP_NS_PER_SEC), (long)(due % ASP_NS_PER_SEC) };
    if (ts.tv_nsec < 0) {
        ts.tv_sec -= 1;
        ts.tv_nsec += ASP_NS_PER_SEC;
    }
    while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR && !s->interrupted)
        ;
}

/*
 * Waits in real time for the item due at `due` or for live input, whichever
 * comes first. Returns having done one step of waiting: the caller looks at
 * the queue and the wall clock again.
 */
static void wait_until(asp_sched *s, int64_t due, int64_t wall)
{
    int64_t remaining = due - wall;
    if (remaining > COARSE_MARGIN_NS) {
        uint64_t ms = (uint64_t)((remaining - COARSE_MARGIN_NS / 2) / NS_PER_MS);
        uv_update_time(&s->loop);
        uv_timer_start(&s->timer, on_timer, ms, 0);
        uv_run(&s->loop, UV_RUN_ONCE);
        uv_timer_stop(&s->timer);
    } else if (s->live_sources > 0) {
        /* The last stretch, polling live input so that it is not held up. */
        uv_run(&s->loop, UV_RUN_NOWAIT);
    } else {
        sleep_until(s, due);
    }
}

/*
 * The live moment: the run found nothing due at or before the wall clock and
 * would wait in real time. Returns the live item to run now, or -1.
 */
static int32_t go_live(asp_sched *s)
{
    int32_t id = s->live_item;
    if (s->is_live)
        return -1;
    s->is_live = 1;
    if (id < 0)
        return -1;
    s->live_item = -1;
    if (s->wall_seen > s->fast.now)
        s->fast.now = s->wall_seen; /* the clock has caught up with the wall */
    if (s->budget > 0)
        s->budget--;
    s->fast.items++;
    return id;
}

/* Takes the top item (e, taken from the heap) and moves the clock to it. */
static inline __attribute__((always_inline)) int32_t take_inline(asp_sched *s, asp_heap_entry e)
{
    close_direct_path(s); /* opened again only by open_direct_path */
    if (e.due > s->fast.now)
        s->fast.now = e.due;
    if (s->budget > 0)
        s->budget--;
    s->fast.events += e.order < CLASS_OTHER;
    if ((++s->fast.items & 1023) == 0) {
        /* During a replay the loop is not otherwise run: let live
         * sources take in what arrived, and show progress. */
        if (s->live_sources > 0)
            uv_run(&s->loop, UV_RUN_NOWAIT);
        if (asp_sched_periodic)
            asp_sched_periodic(s);
    }
    return e.id;
}

/* take() out of line, for the slow path: inlined there, it made asp_sched_next
 * save more registers on every call (the call_later mix +18 M instructions). */
static int32_t take(asp_sched *s, asp_heap_entry e)
{
    return take_inline(s, e);
}

int (*asp_sched_reload_hook)(asp_sched *s, int idle);

/*
 * After asp_sched_next's fast path took a stream event: the horizon (sched.h)
 * for its stream's next one. The other items' earliest due is the smaller
 * of the event tree's runner-up and the general heap's and the run's heads.
 */
static void open_direct_path(asp_sched *s)
{
    const asp_heap *h = &s->heap;
    int64_t hz;
    if (s->budget >= 0 || h->held != 2)
        return; /* a budget counts every item; held != 2: take's periodic work settled the heap */
    hz = s->pause_after < s->end_ns ? s->pause_after : s->end_ns;
    if (!s->backtest && s->wall_seen < hz)
        hz = s->wall_seen;
    if (h->n_entries > 0 && h->entries[0].due < hz)
        hz = h->entries[0].due;
    if (h->run_live > 0 && h->run[h->run_head].due < hz)
        hz = h->run[h->run_head].due;
    {
        /* The runner-up lost to the taken event on its path: the least of
         * the path's siblings (the held leaf still holds the taken event). */
        const asp_heap_event *tree = h->tree;
        for (uint32_t j = (uint32_t)(h->leaves + h->held_leaf); j > 1; j >>= 1)
            if (tree[j ^ 1].due < hz)
                hz = tree[j ^ 1].due;
    }
    s->fast.horizon = hz;
    /* An interrupt that came while this was computed closes it again. */
    if (s->interrupted)
        close_direct_path(s);
}

/* For asp_sched_next's fast path: the top item (due, id) runs now, as the
 * loop's first pass would decide. */
static inline int due_now(const asp_sched *s, int64_t due, int32_t id)
{
    return due <= s->pause_after && due <= s->end_ns &&
           (s->backtest || (due <= s->wall_seen && (s->is_live || id >= s->live_ids_n || !s->live_ids[id])));
}

/*
 * asp_sched_next's fast path for a stream event (the replay's item): take()
 * inlined here, where the merge gains 17 instructions an event, and not in
 * asp_sched_next itself, whose every call (the call_later mix's items too)
 * then saved more registers.
 */
static int32_t take_event(asp_sched *s)
{
    int32_t id = take_inline(s, asp_heap_take_settled(&s->heap, ASP_HEAP_AT_EVENTS));
    /* Opened for a stream whose event came twice in a row (a stream alone,
     * a burst): a merge that alternates streams would pay for a horizon it
     * never uses. */
    if (id == s->last_event)
        open_direct_path(s);
    s->last_event = id;
    return id;
}

int32_t asp_sched_next(asp_sched *s)
{
    asp_heap *h = &s->heap;
    /*
     * The replay's common case first, in one test: nothing to interrupt or
     * pause, no journal to feed, and the top item due (within the end, at or
     * before the last wall reading) and no live moment to report. It takes
     * exactly what the first pass of the loop below would take.
     */
    if (!s->interrupted && s->budget != 0 && !h->held && h->count > 0 && !asp_sched_reload_hook &&
        !(asp_journal_on() && asp_journal_replaying())) {
        int at = asp_heap_min_at(h);
        if (at == ASP_HEAP_AT_EVENTS) {
            if (due_now(s, h->tree[1].due, asp_heap_event_id(&h->tree[1])))
                return take_event(s);
        } else {
            const asp_heap_entry *top = at == ASP_HEAP_AT_RUN ? &h->run[h->run_head] : &h->entries[0];
            if (due_now(s, top->due, top->id))
                return take(s, asp_heap_take_settled(h, at));
        }
    }
    for (;;) {
        const asp_heap_entry *top;
        int32_t live;
        if (s->interrupted) {
            s->interrupted = 0;
            return ASP_SCHED_INTERRUPTED;
        }
        if (s->budget == 0)
            return ASP_SCHED_PAUSED;
        if (asp_sched_reload_hook)
            asp_sched_reload_hook(s, 0);
        /* Time travel into a live period: what arrived then comes back
         * from the journal, each line before the first item due after it. */
        if (asp_journal_on() && asp_journal_replaying())
            asp_journal_feed(s->heap.count ? asp_heap_top(&s->heap)->due : INT64_MAX);
        top = s->heap.count ? asp_heap_top(&s->heap) : NULL;
        if (top && top->due > s->pause_after)
            return ASP_SCHED_PAUSED;
        if (s->backtest) {
            /* A backtest never waits: the clock jumps to the next item. */
            if (!top || top->due > s->end_ns)
                return ASP_SCHED_EMPTY;
            return take(s, asp_heap_take(&s->heap));
        }
        if (!top || top->due > s->end_ns) {
            /* Nothing due (up to the end): wait for live input, if any,
             * until the end. */
            if (s->live_sources <= 0)
                return ASP_SCHED_EMPTY;
            if (s->end_ns != INT64_MAX && asp_sched_wall(s) >= s->end_ns)
                return ASP_SCHED_EMPTY;
            if (asp_sched_reload_hook && asp_sched_reload_hook(s, 1))
                continue;
            if ((live = go_live(s)) >= 0)
                return live;
            if (s->end_ns != INT64_MAX)
                wait_until(s, s->end_ns, s->wall_seen);
            else
                uv_run(&s->loop, UV_RUN_ONCE);
            continue;
        }
        /* The wall clock only moves forward for our purposes: an item due
         * before the last reading is due now without reading it again. */
        if (top->due > s->wall_seen)
            s->wall_seen = asp_time_wall();
        if (top->due <= s->wall_seen) {
            /* The first live item to run is a live moment as well. */
            if (!s->is_live && top->id < s->live_ids_n && s->live_ids[top->id] &&
                (live = go_live(s)) >= 0)
                return live;
            return take(s, asp_heap_take(&s->heap));
        }
        if (asp_sched_reload_hook && asp_sched_reload_hook(s, 1))
            continue;
        if ((live = go_live(s)) >= 0)
            return live;
        wait_until(s, top->due, s->wall_seen);
    }
}
