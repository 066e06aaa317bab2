/*
 * Indexed 4-ary min-heap; see heap.h.
 */
#include "heap.h"

#include <stdlib.h>

static int entry_less(const asp_heap_entry *a, const asp_heap_entry *b)
{
    if (a->due != b->due)
        return a->due < b->due;
    return a->order < b->order;
}

/*
 * The same written with bitwise operators, for the sibling tournament of a
 * merge's sift (sift_down_merge). GCC compiles it to a different branch
 * layout (the equal-due test first, then the due test), which a K-way
 * merge's periodic pattern of smaller children predicts much better than
 * entry_less's: round 5, streams.lua 64 x1.18, 10,000 streams x1.10
 * (interleaved medians). It is not branchless (round 7 made it so: a
 * select through a mask, 64 streams x0.69, the select's data dependency
 * holds up the next level's loads). Used only for stream events: on the
 * call_later mix's sifts (calls and wake-ups, a heap filled in due order)
 * it cost 5-10 % against entry_less.
 */
static inline int entry_less_nb(const asp_heap_entry *a, const asp_heap_entry *b)
{
    return (a->due < b->due) | ((a->due == b->due) & (a->order < b->order));
}

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
 * its place. A pushed event is usually later than most queued ones (a
 * stream's next event), so its place is at or near the leaves: this saves
 * one comparison per level of the way down, at the price of a few on the
 * way up when its place is higher.
 */
static inline __attribute__((always_inline)) void sift_down_with(asp_heap *h, int32_t index, int merge)
{
    asp_heap_entry e = h->entries[index];
    asp_heap_entry *entries = h->entries;
    int32_t n = h->count, top = index;
    for (;;) {
        int32_t first = ASP_HEAP_ARITY * index + 1, end = first + ASP_HEAP_ARITY, best = first;
        if (end <= n) {
            /* All children present (the common case): a fixed tournament,
             * which the compiler unrolls, instead of a loop with a bound. */
#if ASP_HEAP_ARITY == 4
            int32_t b1, b2;
            if (merge) {
                b1 = entry_less_nb(&entries[first + 1], &entries[first]) ? first + 1 : first;
                b2 = entry_less_nb(&entries[first + 3], &entries[first + 2]) ? first + 3 : first + 2;
                best = entry_less_nb(&entries[b2], &entries[b1]) ? b2 : b1;
            } else {
                b1 = entry_less(&entries[first + 1], &entries[first]) ? first + 1 : first;
                b2 = entry_less(&entries[first + 3], &entries[first + 2]) ? first + 3 : first + 2;
                best = entry_less(&entries[b2], &entries[b1]) ? b2 : b1;
            }
#else
            (void)merge;
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

/* Every sift but a merge's: calls, wake-ups, removals, the settle of a take. */
static void sift_down(asp_heap *h, int32_t index)
{
    sift_down_with(h, index, 0);
}

/* A stream event pushed into the taken root: the K-way merge's sift. */
static void sift_down_merge(asp_heap *h, int32_t index)
{
    sift_down_with(h, index, 1);
}

/* Finishes the removal that asp_heap_take left: the last entry fills the dead root. */
static void settle(asp_heap *h)
{
    if (!h->held)
        return;
    h->held = 0;
    if (h->count > 0) {
        place(h, 0, h->entries[h->count]);
        sift_down(h, 0);
    }
}

void asp_heap_init(asp_heap *h)
{
    h->entries = NULL;
    h->pos = NULL;
    h->next_free = NULL;
    h->count = 0;
    h->capacity = 0;
    h->ids = 0;
    h->free_head = -1;
    h->held = 0;
}

void asp_heap_destroy(asp_heap *h)
{
    free(h->entries);
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

static inline __attribute__((always_inline)) int push_with(asp_heap *h, int32_t id, int64_t due,
                                                           uint64_t order, int merge)
{
    asp_heap_entry e = { due, order, id };
    int32_t index = h->pos[id];
    if (h->held) {
        if (index < 0) {
            /* The dead root slot is free: one sift down does both jobs. */
            h->held = 0;
            place(h, 0, e);
            if (++h->count > 1) { /* alone (one stream's replay), it is in place */
                if (merge)
                    sift_down_merge(h, 0);
                else
                    sift_down(h, 0);
            }
            return 0;
        }
        settle(h);
        index = h->pos[id];
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
    if (h->count == h->capacity) {
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
    index = h->count++;
    place(h, index, e);
    sift_up(h, index);
    return 0;
}

int asp_heap_push(asp_heap *h, int32_t id, int64_t due, uint64_t order)
{
    return push_with(h, id, due, order, 0);
}

int asp_heap_push_merge(asp_heap *h, int32_t id, int64_t due, uint64_t order)
{
    return push_with(h, id, due, order, 1);
}

int asp_heap_remove(asp_heap *h, int32_t id)
{
    int32_t index;
    asp_heap_entry last;
    if (!asp_heap_queued(h, id))
        return 0;
    settle(h);
    index = h->pos[id];
    h->pos[id] = -1;
    last = h->entries[--h->count];
    if (index < h->count) {
        /* The last entry fills the hole; it may belong above or below it. */
        asp_heap_entry removed = h->entries[index];
        place(h, index, last);
        if (entry_less(&last, &removed))
            sift_up(h, index);
        else
            sift_down(h, index);
    }
    return 1;
}

asp_heap_entry asp_heap_take(asp_heap *h)
{
    asp_heap_entry top;
    settle(h);
    top = h->entries[0];
    h->pos[top.id] = -1;
    h->count--;
    h->held = 1;
    return top;
}

const asp_heap_entry *asp_heap_top(asp_heap *h)
{
    settle(h);
    return h->count > 0 ? &h->entries[0] : NULL;
}

asp_heap_entry asp_heap_pop(asp_heap *h)
{
    asp_heap_entry top, last;
    settle(h);
    top = h->entries[0];
    last = h->entries[--h->count];
    h->pos[top.id] = -1;
    if (h->count > 0) {
        place(h, 0, last);
        sift_down(h, 0);
    }
    return top;
}

void asp_heap_clear(asp_heap *h)
{
    settle(h);
    for (int32_t i = 0; i < h->count; i++)
        h->pos[h->entries[i].id] = -1;
    h->count = 0;
}

void asp_heap_reset(asp_heap *h)
{
    h->count = 0;
    h->held = 0;
    h->free_head = -1;
    for (int32_t id = h->ids - 1; id >= 0; id--) {
        h->pos[id] = -1;
        h->next_free[id] = h->free_head;
        h->free_head = id;
    }
}
