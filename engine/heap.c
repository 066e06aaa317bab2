/*
 * Indexed 4-ary min-heap, with stream events in a heap of their own; see heap.h.
 */
#include "heap.h"

#include <stdlib.h>
#include <string.h>

/* The event heap is 4-ary whatever ASP_HEAP_ARITY says: its layout (four
 * 16-byte children on one cache line) is the point of it. */
#define EV_ARITY 4
#define CACHE_LINE 64
/* events[-EV_PAD .. -1] are padding, so that events[4i + 1 .. 4i + 4] start a line. */
#define EV_PAD 3

static int entry_less(const asp_heap_entry *a, const asp_heap_entry *b)
{
    if (a->due != b->due)
        return a->due < b->due;
    return a->order < b->order;
}

/*
 * For the sibling tournament of the event heap. Written with bitwise
 * operators, GCC still compiles it to branches (not to a select), in a
 * layout (the equal-due test first, then the due test) that a K-way merge's
 * periodic pattern of smaller children predicts better than entry_less's:
 * round 5, streams.lua 64 x1.18, 10,000 streams x1.10. A real select
 * (through a mask, round 7) made 64 streams x0.69: its data dependency holds
 * up the next level's loads. On the call_later mix's sifts (calls and
 * wake-ups, a heap filled in due order) this layout cost 5-10 % against
 * entry_less, which is why the general heap keeps entry_less.
 */
static inline int event_less(const asp_heap_event *a, const asp_heap_event *b)
{
    return (a->due < b->due) | ((a->due == b->due) & (a->order < b->order));
}

/* -- The general heap -------------------------------------------------------- */

static void place(asp_heap *h, int32_t index, asp_heap_entry e)
{
    h->entries[index] = e;
    h->pos[e.id] = index;
}

/* Moves the entry at index towards the root until its parent is smaller. */
static void sift_up(asp_heap *h, int32_t index)
{
    asp_heap_entry e = h->entries[index];
    while (index > 0) {
        int32_t parent = (index - 1) / ASP_HEAP_ARITY;
        if (!entry_less(&e, &h->entries[parent]))
            break;
        place(h, index, h->entries[parent]);
        index = parent;
    }
    place(h, index, e);
}

/*
 * Moves the entry at index towards the leaves until every child is larger.
 *
 * Bottom-up (Floyd): the hole first follows the smallest children down to a
 * leaf, without comparing them with e, and e then climbs back from there to
 * its place. A pushed item is usually later than most queued ones (a call
 * scheduled ahead), so its place is at or near the leaves: this saves one
 * comparison per level of the way down, at the price of a few on the way up
 * when its place is higher.
 */
static void sift_down(asp_heap *h, int32_t index)
{
    asp_heap_entry e = h->entries[index];
    asp_heap_entry *entries = h->entries;
    int32_t n = h->n_entries, top = index;
    for (;;) {
        int32_t first = ASP_HEAP_ARITY * index + 1, end = first + ASP_HEAP_ARITY, best = first;
        if (end <= n) {
            /* All children present (the common case): a fixed tournament,
             * which the compiler unrolls, instead of a loop with a bound. */
#if ASP_HEAP_ARITY == 4
            int32_t b1 = entry_less(&entries[first + 1], &entries[first]) ? first + 1 : first;
            int32_t b2 = entry_less(&entries[first + 3], &entries[first + 2]) ? first + 3 : first + 2;
            best = entry_less(&entries[b2], &entries[b1]) ? b2 : b1;
#else
            for (int32_t c = first + 1; c < end; c++)
                if (entry_less(&entries[c], &entries[best]))
                    best = c;
#endif
        } else {
            if (first >= n)
                break;
            for (int32_t c = first + 1; c < n; c++)
                if (entry_less(&entries[c], &entries[best]))
                    best = c;
        }
        /* An entry that belongs where it is (a call due soon, refilling the
         * top) stops at once; only then is the descent blind. */
        if (index == top && !entry_less(&entries[best], &e))
            break;
        place(h, index, entries[best]);
        index = best;
    }
    while (index > top) {
        int32_t parent = (index - 1) / ASP_HEAP_ARITY;
        if (!entry_less(&e, &entries[parent]))
            break;
        place(h, index, entries[parent]);
        index = parent;
    }
    place(h, index, e);
}

/* Removes the entry at index of the general heap (settled). */
static void remove_entry(asp_heap *h, int32_t index)
{
    asp_heap_entry last;
    h->pos[h->entries[index].id] = -1;
    last = h->entries[--h->n_entries];
    h->count--;
    if (index < h->n_entries) {
        /* The last entry fills the hole; it may belong above or below it. */
        asp_heap_entry removed = h->entries[index];
        place(h, index, last);
        if (entry_less(&last, &removed))
            sift_up(h, index);
        else
            sift_down(h, index);
    }
}

/* -- The event heap -----------------------------------------------------------
 * The same algorithms without the position index: a stream event is only
 * ever taken at the top, so nothing needs to find it (a removal, which no
 * caller makes of an event today, searches). */

static void ev_sift_up(asp_heap *h, int32_t index)
{
    asp_heap_event *events = h->events;
    asp_heap_event e = events[index];
    while (index > 0) {
        int32_t parent = (index - 1) / EV_ARITY;
        if (!event_less(&e, &events[parent]))
            break;
        events[index] = events[parent];
        index = parent;
    }
    events[index] = e;
}

/*
 * sift_down's bottom-up descent, for events. GCC would turn one of the
 * tournament's picks into a conditional move (a select whose data
 * dependency holds up the next level's loads: 64 streams x0.92); NO_IFCVT
 * keeps the branches, which a merge's periodic pattern predicts.
 */
#define NO_IFCVT __attribute__((optimize("no-if-conversion", "no-if-conversion2")))
static inline __attribute__((always_inline)) NO_IFCVT void ev_sift_down_inline(asp_heap *h, int32_t index)
{
    asp_heap_event *events = h->events;
    asp_heap_event e = events[index];
    int32_t n = h->n_events, top = index;
    for (;;) {
        int32_t first = EV_ARITY * index + 1, best = first;
        if (first + EV_ARITY <= n) {
            int32_t b1 = event_less(&events[first + 1], &events[first]) ? first + 1 : first;
            int32_t b2 = event_less(&events[first + 3], &events[first + 2]) ? first + 3 : first + 2;
            best = event_less(&events[b2], &events[b1]) ? b2 : b1;
        } else {
            if (first >= n)
                break;
            for (int32_t c = first + 1; c < n; c++)
                if (event_less(&events[c], &events[best]))
                    best = c;
        }
        if (index == top && !event_less(&events[best], &e))
            break;
        events[index] = events[best];
        index = best;
    }
    while (index > top) {
        int32_t parent = (index - 1) / EV_ARITY;
        if (!event_less(&e, &events[parent]))
            break;
        events[index] = events[parent];
        index = parent;
    }
    events[index] = e;
}

static NO_IFCVT void ev_sift_down(asp_heap *h, int32_t index)
{
    ev_sift_down_inline(h, index);
}

static int ev_grow(asp_heap *h)
{
    int32_t capacity = h->ev_capacity ? h->ev_capacity * 2 : 64;
    void *block;
    if (capacity <= h->ev_capacity)
        return -1;
    block = aligned_alloc(CACHE_LINE, (size_t)(capacity + EV_PAD + 1) * sizeof(asp_heap_event));
    if (!block)
        return -1;
    if (h->n_events > 0)
        memcpy((asp_heap_event *)block + EV_PAD, h->events, (size_t)h->n_events * sizeof(asp_heap_event));
    free(h->events_block);
    h->events_block = block;
    h->events = (asp_heap_event *)block + EV_PAD;
    h->ev_capacity = capacity;
    return 0;
}

/* Removes the event of id (queued in the event heap, settled). */
static void ev_remove(asp_heap *h, int32_t id)
{
    int32_t index = 0;
    asp_heap_event last, removed;
    while (h->events[index].id != id)
        index++;
    h->pos[id] = -1;
    h->count--;
    last = h->events[--h->n_events];
    if (index < h->n_events) {
        removed = h->events[index];
        h->events[index] = last;
        if (event_less(&last, &removed))
            ev_sift_up(h, index);
        else
            ev_sift_down(h, index);
    }
}

/* -- The run -------------------------------------------------------------------
 * A sorted FIFO of general items pushed in increasing key order: appended
 * at its end, taken at its head, a removal leaves a slot of id -1 behind. */

/* Moves the run's queued slots to a ring of their own, with at least twice
 * as many slots as queued ones (the removed ones are dropped on the way).
 * Twice, not twice plus one: a full ring of N doubles to 2N, not 4N (100,000
 * start items queued at once: 3 MB less). */
static int run_grow(asp_heap *h)
{
    int32_t cap = h->run_cap ? h->run_cap : 64, n = 0;
    asp_heap_entry *run;
    while (cap < 2 * h->run_live) {
        if (cap > INT32_MAX / 2)
            return -1;
        cap *= 2;
    }
    run = malloc((size_t)cap * sizeof *run);
    if (!run)
        return -1;
    for (int32_t i = 0; i < h->run_n; i++) {
        const asp_heap_entry *e = &h->run[(h->run_head + i) & (h->run_cap - 1)];
        if (e->id >= 0) {
            run[n] = *e;
            h->pos[e->id] = ASP_HEAP_IN_RUN - n;
            n++;
        }
    }
    free(h->run);
    h->run = run;
    h->run_cap = cap;
    h->run_head = 0;
    h->run_n = n;
    return 0;
}

/* Whether an item with this key may go at the run's end: later than its last slot. */
static inline int run_takes(const asp_heap *h, int64_t due, uint64_t order)
{
    return asp_heap_key_less(h->run_last_due, h->run_last_order, due, order);
}

static int run_append(asp_heap *h, asp_heap_entry e)
{
    int32_t slot;
    if (h->run_n == h->run_cap && run_grow(h) != 0)
        return -1;
    slot = (h->run_head + h->run_n) & (h->run_cap - 1);
    h->run[slot] = e;
    h->pos[e.id] = ASP_HEAP_IN_RUN - slot;
    h->run_n++;
    h->run_live++;
    h->count++;
    h->run_last_due = e.due;
    h->run_last_order = e.order;
    return 0;
}

static void run_remove(asp_heap *h, int32_t id, int32_t slot)
{
    h->run[slot].id = -1;
    h->pos[id] = -1;
    h->run_live--;
    h->count--;
    if (slot == h->run_head)
        asp_heap_run_advance(h); /* also what empties it when none is left */
}

/* -- All three ----------------------------------------------------------------- */

/* Finishes the removal that asp_heap_take left: the last slot fills the dead root. */
static void settle(asp_heap *h)
{
    int held = h->held;
    if (!held)
        return;
    h->held = 0;
    if (held == 1) {
        if (h->n_entries > 0) {
            place(h, 0, h->entries[h->n_entries]);
            sift_down(h, 0);
        }
    } else if (h->n_events > 0) {
        h->events[0] = h->events[h->n_events];
        ev_sift_down(h, 0);
    }
}

void asp_heap_init(asp_heap *h)
{
    memset(h, 0, sizeof *h);
    h->free_head = -1;
    h->run_last_due = INT64_MIN;
}

void asp_heap_destroy(asp_heap *h)
{
    free(h->entries);
    free(h->events_block);
    free(h->run);
    free(h->pos);
    free(h->next_free);
    asp_heap_init(h);
}

static int grow_ids(asp_heap *h)
{
    int32_t old = h->ids;
    int32_t ids = old ? old * 2 : 64;
    int32_t *pos, *next_free;
    if (ids <= old) /* int32 overflow */
        return -1;
    pos = realloc(h->pos, (size_t)ids * sizeof *pos);
    if (!pos)
        return -1;
    h->pos = pos;
    next_free = realloc(h->next_free, (size_t)ids * sizeof *next_free);
    if (!next_free)
        return -1;
    h->next_free = next_free;
    /* Thread the new ids onto the free list, lowest first. */
    for (int32_t id = ids - 1; id >= old; id--) {
        pos[id] = -1;
        next_free[id] = h->free_head;
        h->free_head = id;
    }
    h->ids = ids;
    return 0;
}

int32_t asp_heap_alloc(asp_heap *h)
{
    int32_t id;
    if (h->free_head < 0 && grow_ids(h) != 0)
        return -1;
    id = h->free_head;
    h->free_head = h->next_free[id];
    h->next_free[id] = -2; /* marks it allocated, for release's sanity check */
    h->pos[id] = -1;
    return id;
}

void asp_heap_release(asp_heap *h, int32_t id)
{
    if (id < 0 || id >= h->ids || h->next_free[id] != -2)
        return; /* not allocated: releasing twice is harmless */
    asp_heap_remove(h, id);
    h->next_free[id] = h->free_head;
    h->free_head = id;
}

int asp_heap_push(asp_heap *h, int32_t id, int64_t due, uint64_t order)
{
    asp_heap_entry e = { due, order, id };
    int32_t index = h->pos[id];
    if (index == -1 && run_takes(h, due, order))
        return run_append(h, e);
    if (h->held == 1 && index == -1) {
        /* The dead root slot is free: one sift down does both jobs. */
        h->held = 0;
        place(h, 0, e);
        h->count++;
        if (++h->n_entries > 1)
            sift_down(h, 0);
        return 0;
    }
    settle(h);
    index = h->pos[id]; /* the settle may have moved it */
    if (index == ASP_HEAP_IN_EVENTS) {
        ev_remove(h, id); /* an event re-queued as another kind of item */
        index = -1;
    } else if (index <= ASP_HEAP_IN_RUN) {
        run_remove(h, id, ASP_HEAP_IN_RUN - index); /* re-keyed: into the heap */
        index = -1;
    }
    if (index >= 0) {
        /* Re-keying in place: move whichever way the new key says. */
        asp_heap_entry old = h->entries[index];
        place(h, index, e);
        if (entry_less(&e, &old))
            sift_up(h, index);
        else
            sift_down(h, index);
        return 0;
    }
    if (h->n_entries == h->capacity) {
        int32_t capacity = h->capacity ? h->capacity * 2 : 64;
        asp_heap_entry *entries;
        if (capacity <= h->capacity)
            return -1;
        entries = realloc(h->entries, (size_t)capacity * sizeof *entries);
        if (!entries)
            return -1;
        h->entries = entries;
        h->capacity = capacity;
    }
    index = h->n_entries++;
    h->count++;
    place(h, index, e);
    sift_up(h, index);
    return 0;
}

/* asp_heap_push_event's other cases, out of its way. */
static int push_event_slow(asp_heap *h, int32_t id, asp_heap_event e)
{
    int32_t index;
    settle(h);
    index = h->pos[id];
    if (index >= 0)
        remove_entry(h, index); /* queued as another kind of item: moves over */
    else if (index == ASP_HEAP_IN_EVENTS)
        ev_remove(h, id); /* re-keyed */
    else if (index <= ASP_HEAP_IN_RUN)
        run_remove(h, id, ASP_HEAP_IN_RUN - index);
    if (h->n_events == h->ev_capacity && ev_grow(h) != 0)
        return -1;
    index = h->n_events++;
    h->count++;
    h->events[index] = e;
    h->pos[id] = ASP_HEAP_IN_EVENTS;
    ev_sift_up(h, index);
    return 0;
}

NO_IFCVT int asp_heap_push_event(asp_heap *h, int32_t id, int64_t due, uint32_t order)
{
    asp_heap_event e = { due, order, id };
    if (h->held == 2 && h->pos[id] == -1) {
        /* The stream whose event was taken queues its next one: it takes
         * the dead root and sifts down once (alone, it is in place). */
        h->held = 0;
        h->events[0] = e;
        h->pos[id] = ASP_HEAP_IN_EVENTS;
        h->count++;
        if (++h->n_events > 1)
            ev_sift_down_inline(h, 0);
        return 0;
    }
    return push_event_slow(h, id, e);
}

int asp_heap_remove(asp_heap *h, int32_t id)
{
    int32_t index;
    if (!asp_heap_queued(h, id))
        return 0;
    settle(h);
    index = h->pos[id];
    if (index == ASP_HEAP_IN_EVENTS)
        ev_remove(h, id);
    else if (index <= ASP_HEAP_IN_RUN)
        run_remove(h, id, ASP_HEAP_IN_RUN - index);
    else
        remove_entry(h, index);
    return 1;
}

asp_heap_entry asp_heap_take(asp_heap *h)
{
    settle(h);
    return asp_heap_take_settled(h, asp_heap_min_at(h));
}

const asp_heap_entry *asp_heap_top(asp_heap *h)
{
    int at;
    settle(h);
    if (h->count == 0)
        return NULL;
    at = asp_heap_min_at(h);
    if (at == ASP_HEAP_AT_ENTRIES)
        return &h->entries[0];
    if (at == ASP_HEAP_AT_RUN)
        return &h->run[h->run_head];
    h->top.due = h->events[0].due;
    h->top.order = h->events[0].order;
    h->top.id = h->events[0].id;
    return &h->top;
}

asp_heap_entry asp_heap_pop(asp_heap *h)
{
    asp_heap_entry top = asp_heap_take(h);
    settle(h);
    return top;
}

void asp_heap_snapshot(const asp_heap *h, asp_heap_entry *out)
{
    /* A dead root is left out: the live slots are 1..n then. */
    int32_t first = h->held == 1, n = 0;
    for (int32_t i = first; i < h->n_entries + first; i++)
        out[n++] = h->entries[i];
    first = h->held == 2;
    for (int32_t i = first; i < h->n_events + first; i++) {
        out[n].due = h->events[i].due;
        out[n].order = h->events[i].order;
        out[n].id = h->events[i].id;
        n++;
    }
    for (int32_t i = 0; i < h->run_n; i++) {
        const asp_heap_entry *e = &h->run[(h->run_head + i) & (h->run_cap - 1)];
        if (e->id >= 0)
            out[n++] = *e;
    }
}

void asp_heap_clear(asp_heap *h)
{
    settle(h);
    for (int32_t i = 0; i < h->n_entries; i++)
        h->pos[h->entries[i].id] = -1;
    for (int32_t i = 0; i < h->n_events; i++)
        h->pos[h->events[i].id] = -1;
    for (int32_t i = 0; i < h->run_n; i++) {
        const asp_heap_entry *e = &h->run[(h->run_head + i) & (h->run_cap - 1)];
        if (e->id >= 0)
            h->pos[e->id] = -1;
    }
    h->count = h->n_entries = h->n_events = 0;
    h->run_head = h->run_n = h->run_live = 0;
    h->run_last_due = INT64_MIN;
    h->run_last_order = 0;
}

void asp_heap_reset(asp_heap *h)
{
    h->count = h->n_entries = h->n_events = 0;
    h->run_head = h->run_n = h->run_live = 0;
    h->run_last_due = INT64_MIN;
    h->run_last_order = 0;
    h->held = 0;
    h->free_head = -1;
    for (int32_t id = h->ids - 1; id >= 0; id--) {
        h->pos[id] = -1;
        h->next_free[id] = h->free_head;
        h->free_head = id;
    }
}
