/*
 * The scheduler's priority queue: an indexed 4-ary min-heap of items keyed
 * by (due, order).
 *
 * Every scheduled thing (a stream's next event, a wake-up, a tick, a call) is
 * an item identified by a small integer id. Ids are handed out by the heap
 * and reused after release, so the Lua side can keep the item's payload in a
 * plain array indexed by id. An item knows its place in the heap, which makes
 * removal (a cancelled call) O(log n) instead of leaving a tombstone behind.
 *
 * Four children per slot: half the levels of a binary heap, and the four children
 * of a slot are contiguous (96 bytes), so a sift touches fewer cache lines.
 * With 10,000 streams this made the merge ~15% faster end to end (see
 * docs/performance.md).
 *
 * asp_heap_take is a lazy pop for the scheduler's loop: the taken entry stays
 * in the root slot, marked dead, until the next operation. When that is a
 * push of an id not queued (typically the same stream queueing its next
 * event), the new entry simply takes the root slot and sifts down once,
 * instead of a sift down for the pop plus a sift up for the push.
 *
 * Sifting down is bottom-up: the hole follows the smallest children to a
 * leaf and the entry climbs back from there, since a stream's next event
 * usually belongs near the leaves (one comparison less per level).
 *
 * Stream events (asp_heap_push_event) are kept apart, in a tournament tree
 * (a winner tree) over leaves, one leaf per queued event, free leaves
 * holding a key above every real one: each node holds the smaller of its
 * two children, the root the minimum. Replacing the winner (the K-way
 * merge's "replace the top") replays one leaf-to-root path: log2(leaves)
 * comparisons, each against the sibling, with no "which child is smaller"
 * branch to mispredict and the path's addresses known before any
 * comparison. The general heap (calls, wake-ups, ticks) is not sifted for
 * every stream event, and the minimum is the smaller of the roots (round 7,
 * part 3; before it, a 4-ary heap of events: docs/performance.md).
 *
 * Other items pushed in key order (every call_later or sleep of one delay:
 * each is due at the clock plus that delay, and the clock only goes
 * forward) are appended to a run, a sorted FIFO, while their keys keep
 * increasing; only the others are sifted into the general heap. Taking the
 * run's first item costs no sift at all (the call_later mix: one descent of
 * the general heap per call and per wake-up before, round 7).
 */
#ifndef ASP_HEAP_H
#define ASP_HEAP_H

#include <stddef.h>
#include <stdint.h>

#ifndef ASP_HEAP_ARITY
#define ASP_HEAP_ARITY 4
#endif

/* One heap slot: the key inline, so that sifting never chases a pointer. */
typedef struct asp_heap_entry {
    int64_t due;    /* ns since the epoch */
    uint64_t order; /* ties at equal due: smaller first */
    int32_t id;
} asp_heap_entry;

/* A node of the event tree: the due, and the stream's order and the id in
 * one word (order << 32 | id), so that a node compares as one 128-bit key.
 * The id below the order only breaks ties no two queued events have (a
 * stream has one queued event, and its own order). */
typedef struct asp_heap_event {
    int64_t due;
    uint64_t key;
} asp_heap_event;

static inline int32_t asp_heap_event_id(const asp_heap_event *e)
{
    return (int32_t)(uint32_t)e->key;
}

static inline uint32_t asp_heap_event_order(const asp_heap_event *e)
{
    return (uint32_t)(e->key >> 32);
}

/* pos[id] of an id queued in the event tree at leaf l: ASP_HEAP_AT_LEAF + l,
 * below the run's range (its slots stay under 2^30), so that no array of
 * its own maps an id to its leaf. */
#define ASP_HEAP_AT_LEAF INT32_MIN
#define ASP_HEAP_LEAVES_MAX (1 << 28)

static inline int asp_heap_pos_is_leaf(int32_t pos)
{
    return pos < ASP_HEAP_AT_LEAF + ASP_HEAP_LEAVES_MAX;
}

/* pos[id] of an id queued in the run: ASP_HEAP_IN_RUN - its slot. */
#define ASP_HEAP_IN_RUN (-3)

typedef struct asp_heap {
    asp_heap_entry *entries; /* the general heap, entries[0] its minimum */
    /* The event tree: tree[1] the minimum, tree[j] the smaller of tree[2j]
     * and tree[2j + 1], leaf l at tree[leaves + l]; the queued events (and
     * a held one) at the first leaves, a free leaf holding a key above every real
     * one (heap.c). */
    asp_heap_event *tree;
    asp_heap_event *tree_mem; /* the tree's allocation: tree is up to 3 nodes in (heap.c) */
    int32_t *pos;            /* pos[id]: index in entries, the leaf or the run's slot (above), or -1 when not queued */
    int32_t *next_free;      /* free list of ids, threaded through this array */
    int32_t count;           /* items queued, in all three */
    int32_t n_entries;       /* of which in entries */
    int32_t n_events;        /* and in the tree */
    int32_t capacity;        /* size of entries */
    int32_t leaves;          /* the tree's leaves: 0, or a power of two */
    int32_t ids;             /* size of pos and next_free */
    int32_t free_head;       /* first free id, or -1 */
    int32_t held;            /* after asp_heap_take, until the next operation: the
                                root of entries (1) is dead, its live slots are
                                1..n; or the tree's leaf held_leaf (2) still holds
                                the taken event (see settle) */
    int32_t held_leaf;
    asp_heap_entry top;      /* asp_heap_top's answer when the minimum is an event */
    /* The run: items pushed in key order (see above), a ring of run_cap
     * slots (a power of two) from run_head on, run_n of them used, of
     * which run_live are queued (the others, removed, have id -1; the
     * head slot is never one of them). */
    asp_heap_entry *run;
    int32_t run_cap, run_head, run_n, run_live;
    int64_t run_last_due;    /* the key of the run's last slot, queued or not */
    uint64_t run_last_order;
} asp_heap;

void asp_heap_init(asp_heap *h);
void asp_heap_destroy(asp_heap *h);

/* Returns a fresh id (not queued), or -1 when memory runs out. */
int32_t asp_heap_alloc(asp_heap *h);
/* Gives an id back; it is removed from the queue first if it is queued. */
void asp_heap_release(asp_heap *h, int32_t id);

/*
 * Queues id with the given key. An id that is already queued is moved to
 * its new key. Returns 0, or -1 when memory runs out (nothing changed).
 */
int asp_heap_push(asp_heap *h, int32_t id, int64_t due, uint64_t order);
/*
 * Queues a stream event: the same as asp_heap_push with a 32-bit order, in
 * the event tree. A stream's next event is pushed after its previous one
 * was taken, so this is the K-way merge's "replace the top".
 */
int asp_heap_push_event(asp_heap *h, int32_t id, int64_t due, uint32_t order);
/* Removes id from the queue; returns 1 if it was queued, 0 otherwise. */
int asp_heap_remove(asp_heap *h, int32_t id);
/* Removes and returns the minimum; the heap must not be empty. */
asp_heap_entry asp_heap_pop(asp_heap *h);
/*
 * Same as asp_heap_pop, except that the work of removing the entry is left
 * to the next operation, which a push of an unqueued id does for free.
 */
asp_heap_entry asp_heap_take(asp_heap *h);
/* Where the minimum is: the general heap's root, the event tree's, the run's first slot. */
enum { ASP_HEAP_AT_ENTRIES, ASP_HEAP_AT_EVENTS, ASP_HEAP_AT_RUN };

static inline int asp_heap_key_less(int64_t ad, uint64_t ao, int64_t bd, uint64_t bo)
{
    return ad < bd || (ad == bd && ao < bo);
}

/* For a heap that is not held and not empty: where its minimum is. */
static inline int asp_heap_min_at(const asp_heap *h)
{
    int at = -1;
    int64_t due = 0;
    uint64_t order = 0;
    if (h->n_entries > 0) {
        at = ASP_HEAP_AT_ENTRIES;
        due = h->entries[0].due;
        order = h->entries[0].order;
    }
    if (h->run_live > 0) {
        const asp_heap_entry *r = &h->run[h->run_head];
        if (at < 0 || asp_heap_key_less(r->due, r->order, due, order)) {
            at = ASP_HEAP_AT_RUN;
            due = r->due;
            order = r->order;
        }
    }
    if (h->n_events > 0 && (at < 0 || asp_heap_key_less(h->tree[1].due, h->tree[1].key >> 32, due, order)))
        at = ASP_HEAP_AT_EVENTS;
    return at;
}

/* An empty run keeps a ring of at most this many slots; a bigger one (the
 * start's, one item a task: 3 MB at 100,000 streams) is given back. */
#define ASP_HEAP_RUN_KEEP 4096

/* Frees the run's ring (the run is empty). */
void asp_heap_run_drop(asp_heap *h);

/* The run's first slot is taken or removed: the next queued one becomes the head. */
static inline void asp_heap_run_advance(asp_heap *h)
{
    do {
        h->run_head = (h->run_head + 1) & (h->run_cap - 1);
        h->run_n--;
    } while (h->run_n > 0 && h->run[h->run_head].id < 0);
    if (h->run_live == 0) {
        h->run_head = h->run_n = 0;
        h->run_last_due = INT64_MIN;
        h->run_last_order = 0;
        if (h->run_cap > ASP_HEAP_RUN_KEEP)
            asp_heap_run_drop(h);
    }
}

/*
 * asp_heap_take for a heap that is not held and not empty, whose minimum
 * is at `at` (asp_heap_min_at; the scheduler's fast path, inline: no call,
 * no settle).
 */
static inline asp_heap_entry asp_heap_take_settled(asp_heap *h, int at)
{
    asp_heap_entry top;
    if (at == ASP_HEAP_AT_EVENTS) {
        top.due = h->tree[1].due;
        top.order = asp_heap_event_order(&h->tree[1]);
        top.id = asp_heap_event_id(&h->tree[1]);
        h->held_leaf = h->pos[top.id] - ASP_HEAP_AT_LEAF;
        h->n_events--;
        h->held = 2;
    } else if (at == ASP_HEAP_AT_ENTRIES) {
        top = h->entries[0];
        h->n_entries--;
        h->held = 1;
    } else {
        top = h->run[h->run_head];
        h->run_live--;
        asp_heap_run_advance(h);
    }
    h->pos[top.id] = -1;
    h->count--;
    return top;
}

/* The minimum, or NULL when the heap is empty. */
const asp_heap_entry *asp_heap_top(asp_heap *h);

static inline int asp_heap_queued(const asp_heap *h, int32_t id)
{
    return id >= 0 && id < h->ids && h->pos[id] != -1;
}

/* Copies the queued items (all three, in no order) into out[count]. */
void asp_heap_snapshot(const asp_heap *h, asp_heap_entry *out);

/* Drops every queued item (their ids stay allocated). */
void asp_heap_clear(asp_heap *h);
/* Drops every queued item and frees every id. */
void asp_heap_reset(asp_heap *h);

#endif
