/*
 * Indexed 4-ary min-heap, with stream events in a tournament tree and a
 * run of items pushed in key order; see heap.h.
 */
#include "heap.h"

#include <stdlib.h>
#include <string.h>

#define CACHE_LINE 64
/* The first tree: enough leaves for a few streams; it doubles when full. */
#define FIRST_LEAVES 8

static int entry_less(const asp_heap_entry *a, const asp_heap_entry *b)
{
    if (a->due != b->due)
        return a->due < b->due;
    return a->order < b->order;
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

/* -- The event tree -----------------------------------------------------------
 * A winner tree over leaves (heap.h). A free leaf, or the tree's nodes above
 * free leaves only, hold NO_EVENT: its key (INT64_MAX, UINT64_MAX) is above
 * every real one, whose id is never -1. */

static const asp_heap_event NO_EVENT = { INT64_MAX, UINT64_MAX };

/* The node's key as one unsigned 128-bit number (the due's sign bit
 * flipped), so that a comparison is one cmp/sbb pair and no branch. */
static inline unsigned __int128 event_rank(asp_heap_event e)
{
    return (unsigned __int128)((uint64_t)e.due ^ (UINT64_C(1) << 63)) << 64 | e.key;
}

static inline asp_heap_event event_min(asp_heap_event a, asp_heap_event b)
{
    return event_rank(b) < event_rank(a) ? b : a;
}

/*
 * Leaf l now holds e: every node on its path to the root is the smaller of
 * its two children again. One comparison a level, against the sibling,
 * whose address does not depend on any comparison.
 */
static inline void tree_set(asp_heap *h, int32_t leaf, asp_heap_event e)
{
    asp_heap_event *tree = h->tree;
    uint32_t j = (uint32_t)(h->leaves + leaf);
    tree[j] = e;
    while (j > 1) {
        e = event_min(e, tree[j ^ 1]);
        j >>= 1;
        tree[j] = e;
    }
}

/* Every leaf free. */
static void tree_empty(asp_heap *h)
{
    for (int32_t j = 1; j < 2 * h->leaves; j++)
        h->tree[j] = NO_EVENT;
    h->n_events = 0;
}

/* Doubles the leaves (settled): the queued events keep their leaves, the
 * new ones are free. The array grows in place (realloc: a big one is
 * remapped, not copied), so the old tree and the new are never both held:
 * at 100,000 streams the last doubling's 2 + 4 MB was the run's peak RSS.
 * The nodes start at the array's first 64-byte boundary (up to three
 * nodes in), so that a node's two children never straddle a cache line. */
static int tree_grow(asp_heap *h)
{
    int32_t old = h->leaves, leaves = old ? old * 2 : FIRST_LEAVES;
    size_t old_shift = h->tree ? (size_t)(h->tree - h->tree_mem) : 0, shift;
    asp_heap_event *mem, *tree;
    if (leaves <= old || leaves > ASP_HEAP_LEAVES_MAX)
        return -1;
    mem = realloc(h->tree_mem, ((size_t)2 * (size_t)leaves + 3) * sizeof *mem);
    if (!mem)
        return -1;
    shift = ((CACHE_LINE - (uintptr_t)mem % CACHE_LINE) % CACHE_LINE) / sizeof *mem;
    tree = mem + shift;
    /* The old leaves, mem[old_shift + old ..], move up to their new place;
     * the old inner nodes are rebuilt over. */
    memmove(tree + leaves, mem + old_shift + old, (size_t)old * sizeof *tree);
    for (int32_t l = old; l < leaves; l++)
        tree[leaves + l] = NO_EVENT;
    for (int32_t j = leaves - 1; j >= 1; j--)
        tree[j] = event_min(tree[2 * j], tree[2 * j + 1]);
    tree[0] = NO_EVENT; /* unused */
    h->tree_mem = mem;
    h->tree = tree;
    h->leaves = leaves;
    return 0;
}

/* Queues e (of an id not queued anywhere; settled) at a free leaf. */
static int tree_insert(asp_heap *h, int32_t id, asp_heap_event e)
{
    int32_t leaf = h->n_events; /* the first free one (settled) */
    if (leaf == h->leaves && tree_grow(h) != 0)
        return -1;
    h->pos[id] = ASP_HEAP_AT_LEAF + leaf;
    h->n_events++;
    h->count++;
    tree_set(h, leaf, e);
    return 0;
}

/* Frees a leaf: its event is gone (taken or removed), n_events counts
 * the others. The queued events keep the leaves 0..n_events - 1, so that
 * the first free leaf is n_events and no stack of free ones is needed: the
 * last one moves into the hole (a second path replayed, only here; the
 * merge's take and push reuse the leaf without freeing it). */
static void tree_free_leaf(asp_heap *h, int32_t leaf)
{
    int32_t last = h->n_events;
    if (leaf != last) {
        asp_heap_event e = h->tree[h->leaves + last];
        h->pos[asp_heap_event_id(&e)] = ASP_HEAP_AT_LEAF + leaf;
        tree_set(h, leaf, e);
    }
    tree_set(h, last, NO_EVENT);
}

/* Removes the event of id (queued in the tree, settled). */
static void ev_remove(asp_heap *h, int32_t id)
{
    int32_t leaf = h->pos[id] - ASP_HEAP_AT_LEAF;
    h->pos[id] = -1;
    h->count--;
    h->n_events--;
    tree_free_leaf(h, leaf);
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
        if (cap > INT32_MAX / 2) /* also keeps pos[]'s run range above the leaves' */
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

void asp_heap_run_drop(asp_heap *h)
{
    free(h->run);
    h->run = NULL;
    h->run_cap = 0; /* run_grow starts a new ring */
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
    } else {
        tree_free_leaf(h, h->held_leaf);
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
    free(h->tree_mem);
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
    if (asp_heap_pos_is_leaf(index)) {
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
static __attribute__((noinline)) int push_event_slow(asp_heap *h, int32_t id, asp_heap_event e)
{
    int32_t index;
    settle(h);
    index = h->pos[id];
    if (asp_heap_pos_is_leaf(index)) {
        tree_set(h, index - ASP_HEAP_AT_LEAF, e); /* re-keyed: its leaf, whichever way it moves */
        return 0;
    }
    if (index >= 0)
        remove_entry(h, index); /* queued as another kind of item: moves over */
    else if (index <= ASP_HEAP_IN_RUN)
        run_remove(h, id, ASP_HEAP_IN_RUN - index);
    return tree_insert(h, id, e);
}

int asp_heap_push_event(asp_heap *h, int32_t id, int64_t due, uint32_t order)
{
    asp_heap_event e = { due, (uint64_t)order << 32 | (uint32_t)id };
    if (h->held == 2 && h->pos[id] == -1) {
        /* A stream queues its next event after one was taken (usually its
         * own): it takes the taken event's leaf, one path replayed. */
        int32_t leaf = h->held_leaf;
        h->held = 0;
        h->pos[id] = ASP_HEAP_AT_LEAF + leaf;
        h->n_events++;
        h->count++;
        tree_set(h, leaf, e);
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
    if (asp_heap_pos_is_leaf(index))
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
    h->top.due = h->tree[1].due;
    h->top.order = asp_heap_event_order(&h->tree[1]);
    h->top.id = asp_heap_event_id(&h->tree[1]);
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
    for (int32_t l = 0; l < h->leaves; l++) {
        const asp_heap_event *e = &h->tree[h->leaves + l];
        /* A held leaf still shows the taken event. */
        if (e->key == NO_EVENT.key || (h->held == 2 && l == h->held_leaf))
            continue;
        out[n].due = e->due;
        out[n].order = asp_heap_event_order(e);
        out[n].id = asp_heap_event_id(e);
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
    for (int32_t l = 0; l < h->leaves; l++)
        if (h->tree[h->leaves + l].key != NO_EVENT.key)
            h->pos[asp_heap_event_id(&h->tree[h->leaves + l])] = -1;
    tree_empty(h);
    for (int32_t i = 0; i < h->run_n; i++) {
        const asp_heap_entry *e = &h->run[(h->run_head + i) & (h->run_cap - 1)];
        if (e->id >= 0)
            h->pos[e->id] = -1;
    }
    h->count = h->n_entries = 0;
    h->run_head = h->run_n = h->run_live = 0;
    h->run_last_due = INT64_MIN;
    h->run_last_order = 0;
}

void asp_heap_reset(asp_heap *h)
{
    h->count = h->n_entries = 0;
    h->run_head = h->run_n = h->run_live = 0;
    h->run_last_due = INT64_MIN;
    h->run_last_order = 0;
    h->held = 0;
    tree_empty(h);
    h->free_head = -1;
    for (int32_t id = h->ids - 1; id >= 0; id--) {
        h->pos[id] = -1;
        h->next_free[id] = h->free_head;
        h->free_head = id;
    }
}
