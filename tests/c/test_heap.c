/*
 * Unit tests for engine/heap.c: the indexed min-heap keyed by (due, order).
 *
 * The random test drives the heap with a fixed seed through a long sequence
 * of pushes, re-keys, removals and pops, and after every pop compares with a
 * reference: the live set kept in a plain array and sorted with qsort.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"

/* -- Helpers -------------------------------------------------------------- */

static int setup(void **state)
{
    asp_heap *h = malloc(sizeof *h);
    if (!h)
        return -1;
    asp_heap_init(h);
    *state = h;
    return 0;
}

static int teardown(void **state)
{
    asp_heap *h = *state;
    asp_heap_destroy(h);
    free(h);
    return 0;
}

static int32_t alloc_ok(asp_heap *h)
{
    int32_t id = asp_heap_alloc(h);
    assert_true(id >= 0);
    return id;
}

static void push_ok(asp_heap *h, int32_t id, int64_t due, uint64_t order)
{
    assert_int_equal(asp_heap_push(h, id, due, order), 0);
}

/* Checks the heap property and that pos[] agrees with entries[]
 * (after finishing a pending asp_heap_take). */
static void check_invariants(asp_heap *h)
{
    (void)asp_heap_top(h);
    assert_int_equal(h->count, h->n_entries + h->n_events + h->run_live);
    /* The run: sorted, its queued slots marked with their place, the head queued. */
    {
        int32_t live = 0;
        const asp_heap_entry *prev = NULL;
        for (int32_t i = 0; i < h->run_n; i++) {
            int32_t slot = (h->run_head + i) & (h->run_cap - 1);
            const asp_heap_entry *e = &h->run[slot];
            if (i == 0)
                assert_true(e->id >= 0);
            if (e->id < 0)
                continue;
            live++;
            assert_int_equal(h->pos[e->id], ASP_HEAP_IN_RUN - slot);
            if (prev)
                assert_true(prev->due < e->due || (prev->due == e->due && prev->order < e->order));
            prev = e;
        }
        assert_int_equal(live, h->run_live);
    }
    for (int32_t i = 0; i < h->n_entries; i++) {
        const asp_heap_entry *e = &h->entries[i];
        assert_int_equal(h->pos[e->id], i);
        if (i > 0) {
            const asp_heap_entry *p = &h->entries[(i - 1) / ASP_HEAP_ARITY];
            assert_true(p->due < e->due || (p->due == e->due && p->order <= e->order));
        }
    }
    /* The event tree: every node the smaller of its children, the queued
     * events at the first leaves (pos[] naming them), the others empty. */
    {
        int32_t L = h->leaves, queued = 0;
        char *is_free = calloc((size_t)L + 1, 1);
        assert_non_null(is_free);
        for (int32_t j = 1; j < L; j++) {
            const asp_heap_event *p = &h->tree[j], *a = &h->tree[2 * j], *b = &h->tree[2 * j + 1];
            const asp_heap_event *m = (b->due < a->due || (b->due == a->due && b->key < a->key)) ? b : a;
            assert_true(p->due == m->due && p->key == m->key);
        }
        for (int32_t l = h->n_events; l < L; l++)
            is_free[l] = 1;
        for (int32_t l = 0; l < L; l++) {
            const asp_heap_event *e = &h->tree[L + l];
            if (is_free[l]) {
                assert_true(e->due == INT64_MAX && e->key == UINT64_MAX);
                continue;
            }
            queued++;
            assert_int_equal(h->pos[asp_heap_event_id(e)], ASP_HEAP_AT_LEAF + l);
        }
        assert_int_equal(queued, h->n_events);
        free(is_free);
    }
}

/* -- Order ---------------------------------------------------------------- */

static void pops_by_due_then_order(void **state)
{
    asp_heap *h = *state;
    /* (due, order) pairs pushed in a scrambled order; ids in push order. */
    static const struct { int64_t due; uint64_t order; } keys[] = {
        { 30, 1 }, { 10, 5 }, { 20, 2 }, { 10, 1 }, { 20, 1 }, { 10, 3 }, { -5, 9 }, { 30, 0 },
    };
    /* The push indices of keys, smallest key first. */
    static const int want[] = { 6, 3, 5, 1, 4, 2, 7, 0 };
    int32_t ids[8];
    for (int i = 0; i < 8; i++) {
        ids[i] = alloc_ok(h);
        push_ok(h, ids[i], keys[i].due, keys[i].order);
    }
    assert_int_equal(h->count, 8);
    check_invariants(h);
    for (int i = 0; i < 8; i++) {
        asp_heap_entry e = asp_heap_pop(h);
        assert_int_equal(e.id, ids[want[i]]);
        assert_true(e.due == keys[want[i]].due);
        assert_true(e.order == keys[want[i]].order);
        assert_false(asp_heap_queued(h, e.id));
        check_invariants(h);
    }
    assert_int_equal(h->count, 0);
}

static void equal_keys_pop_by_order_not_push_order(void **state)
{
    asp_heap *h = *state;
    int32_t ids[5];
    /* Same due for all; order decreasing in push order. */
    for (int i = 0; i < 5; i++) {
        ids[i] = alloc_ok(h);
        push_ok(h, ids[i], 100, (uint64_t)(10 - i));
    }
    for (int i = 4; i >= 0; i--)
        assert_int_equal(asp_heap_pop(h).id, ids[i]);
}

static void order_compares_as_unsigned_64_bits(void **state)
{
    asp_heap *h = *state;
    int32_t big = alloc_ok(h), small = alloc_ok(h);
    push_ok(h, big, 7, UINT64_C(1) << 63 | 1);
    push_ok(h, small, 7, 4000000000u);
    assert_int_equal(asp_heap_pop(h).id, small);
    assert_int_equal(asp_heap_pop(h).id, big);
}

static void negative_and_extreme_due_times_are_ordered(void **state)
{
    asp_heap *h = *state;
    int32_t a = alloc_ok(h), b = alloc_ok(h), c = alloc_ok(h);
    push_ok(h, a, INT64_MAX, 0);
    push_ok(h, b, INT64_MIN, 0);
    push_ok(h, c, -1, 0);
    assert_int_equal(asp_heap_pop(h).id, b);
    assert_int_equal(asp_heap_pop(h).id, c);
    assert_int_equal(asp_heap_pop(h).id, a);
}

/* -- Re-keying and removal ------------------------------------------------ */

static void pushing_a_queued_id_moves_it_to_its_new_key(void **state)
{
    asp_heap *h = *state;
    int32_t a = alloc_ok(h), b = alloc_ok(h), c = alloc_ok(h);
    push_ok(h, a, 10, 0);
    push_ok(h, b, 20, 0);
    push_ok(h, c, 30, 0);
    push_ok(h, a, 40, 0); /* later: sinks */
    assert_int_equal(h->count, 3);
    check_invariants(h);
    push_ok(h, c, 5, 0);  /* earlier: rises */
    assert_int_equal(h->count, 3);
    check_invariants(h);
    asp_heap_entry e = asp_heap_pop(h);
    assert_int_equal(e.id, c);
    assert_true(e.due == 5);
    assert_int_equal(asp_heap_pop(h).id, b);
    e = asp_heap_pop(h);
    assert_int_equal(e.id, a);
    assert_true(e.due == 40);
    assert_int_equal(h->count, 0);
}

static void rekeying_to_the_same_due_uses_the_new_order(void **state)
{
    asp_heap *h = *state;
    int32_t a = alloc_ok(h), b = alloc_ok(h);
    push_ok(h, a, 10, 1);
    push_ok(h, b, 10, 2);
    push_ok(h, a, 10, 3);
    assert_int_equal(asp_heap_pop(h).id, b);
    assert_int_equal(asp_heap_pop(h).id, a);
}

static void removal_from_the_middle_keeps_the_rest_in_order(void **state)
{
    asp_heap *h = *state;
    int32_t ids[15];
    for (int i = 0; i < 15; i++) {
        ids[i] = alloc_ok(h);
        push_ok(h, ids[i], (int64_t)i * 10, 0);
    }
    /* A leaf-side item whose replacement must rise, and inner ones. */
    assert_int_equal(asp_heap_remove(h, ids[7]), 1);
    assert_int_equal(asp_heap_remove(h, ids[3]), 1);
    assert_int_equal(asp_heap_remove(h, ids[12]), 1);
    assert_false(asp_heap_queued(h, ids[7]));
    check_invariants(h);
    assert_int_equal(h->count, 12);
    for (int i = 0; i < 15; i++) {
        if (i == 3 || i == 7 || i == 12)
            continue;
        assert_int_equal(asp_heap_pop(h).id, ids[i]);
    }
    assert_int_equal(h->count, 0);
}

static void removal_whose_filler_must_rise(void **state)
{
    asp_heap *h = *state;
    /* Tree: 0 / (100, 1) / (101 102 2 3): removing 101 moves the last (3)
     * under 100, where it must rise above it. */
    static const int64_t dues[] = { 0, 100, 1, 101, 102, 2, 3 };
    int32_t ids[7];
    for (int i = 0; i < 7; i++) {
        ids[i] = alloc_ok(h);
        push_ok(h, ids[i], dues[i], 0);
    }
    check_invariants(h);
    assert_int_equal(asp_heap_remove(h, ids[3]), 1);
    check_invariants(h);
    static const int64_t want[] = { 0, 1, 2, 3, 100, 102 };
    for (int i = 0; i < 6; i++)
        assert_true(asp_heap_pop(h).due == want[i]);
}

static void removing_an_unqueued_id_returns_zero(void **state)
{
    asp_heap *h = *state;
    int32_t a = alloc_ok(h);
    assert_int_equal(asp_heap_remove(h, a), 0);
    push_ok(h, a, 1, 0);
    assert_int_equal(asp_heap_remove(h, a), 1);
    assert_int_equal(asp_heap_remove(h, a), 0);
    assert_int_equal(asp_heap_remove(h, -1), 0);
    assert_int_equal(asp_heap_remove(h, 1 << 20), 0);
    assert_int_equal(h->count, 0);
}

static void removing_the_last_entry(void **state)
{
    asp_heap *h = *state;
    int32_t a = alloc_ok(h), b = alloc_ok(h);
    push_ok(h, a, 1, 0);
    push_ok(h, b, 2, 0);
    assert_int_equal(asp_heap_remove(h, b), 1);
    assert_int_equal(h->count, 1);
    assert_int_equal(asp_heap_pop(h).id, a);
}

/* -- Ids ------------------------------------------------------------------ */

static void fresh_ids_are_distinct_and_not_queued(void **state)
{
    asp_heap *h = *state;
    enum { N = 200 }; /* more than the first growth */
    int32_t ids[N];
    char *seen = calloc(N * 4, 1);
    assert_non_null(seen);
    for (int i = 0; i < N; i++) {
        ids[i] = alloc_ok(h);
        assert_true(ids[i] < N * 4);
        assert_false(seen[ids[i]]);
        seen[ids[i]] = 1;
        assert_false(asp_heap_queued(h, ids[i]));
    }
    free(seen);
}

static void a_released_id_is_reused(void **state)
{
    asp_heap *h = *state;
    int32_t a = alloc_ok(h), b = alloc_ok(h);
    (void)b;
    asp_heap_release(h, a);
    assert_int_equal(alloc_ok(h), a);
}

static void releasing_a_queued_id_unqueues_it(void **state)
{
    asp_heap *h = *state;
    int32_t a = alloc_ok(h), b = alloc_ok(h);
    push_ok(h, a, 1, 0);
    push_ok(h, b, 2, 0);
    asp_heap_release(h, a);
    assert_false(asp_heap_queued(h, a));
    assert_int_equal(h->count, 1);
    assert_int_equal(asp_heap_pop(h).id, b);
}

static void releasing_twice_is_harmless(void **state)
{
    asp_heap *h = *state;
    int32_t a = alloc_ok(h);
    asp_heap_release(h, a);
    asp_heap_release(h, a);
    asp_heap_release(h, -3);
    asp_heap_release(h, 1 << 20);
    /* Had a been put on the free list twice, two allocations would share it. */
    int32_t x = alloc_ok(h), y = alloc_ok(h);
    assert_int_not_equal(x, y);
    assert_int_equal(x, a);
}

static void releasing_a_queued_id_twice_frees_it_once(void **state)
{
    asp_heap *h = *state;
    int32_t a = alloc_ok(h);
    push_ok(h, a, 5, 0);
    asp_heap_release(h, a);
    asp_heap_release(h, a);
    assert_int_equal(h->count, 0);
    int32_t x = alloc_ok(h), y = alloc_ok(h);
    assert_int_not_equal(x, y);
}

/* -- Clear and reset ------------------------------------------------------ */

static void clear_drops_items_and_keeps_ids(void **state)
{
    asp_heap *h = *state;
    int32_t ids[10];
    for (int i = 0; i < 10; i++) {
        ids[i] = alloc_ok(h);
        push_ok(h, ids[i], 10 - i, 0);
    }
    asp_heap_clear(h);
    assert_int_equal(h->count, 0);
    for (int i = 0; i < 10; i++)
        assert_false(asp_heap_queued(h, ids[i]));
    /* The ids are still allocated: a new one is none of them. */
    int32_t fresh = alloc_ok(h);
    for (int i = 0; i < 10; i++)
        assert_int_not_equal(fresh, ids[i]);
    /* And they can be queued again. */
    push_ok(h, ids[4], 3, 0);
    push_ok(h, ids[2], 1, 0);
    assert_int_equal(asp_heap_pop(h).id, ids[2]);
    assert_int_equal(asp_heap_pop(h).id, ids[4]);
}

static void reset_drops_items_and_frees_every_id(void **state)
{
    asp_heap *h = *state;
    enum { N = 100 };
    for (int i = 0; i < N; i++)
        push_ok(h, alloc_ok(h), i, 0);
    asp_heap_reset(h);
    assert_int_equal(h->count, 0);
    /* Every id is free again: N allocations give back exactly 0..N-1. */
    char seen[N] = { 0 };
    for (int i = 0; i < N; i++) {
        int32_t id = alloc_ok(h);
        assert_true(id < N);
        assert_false(seen[id]);
        seen[id] = 1;
        assert_false(asp_heap_queued(h, id));
    }
}

static void queued_is_false_for_out_of_range_ids(void **state)
{
    asp_heap *h = *state;
    assert_false(asp_heap_queued(h, -1));
    assert_false(asp_heap_queued(h, 0));
    (void)alloc_ok(h);
    assert_false(asp_heap_queued(h, h->ids));
}

/* -- Random sequences against a reference --------------------------------- */

typedef struct ref_item {
    int64_t due;
    uint64_t order;
    int32_t id;
} ref_item;

static int ref_cmp(const void *pa, const void *pb)
{
    const ref_item *a = pa, *b = pb;
    if (a->due != b->due)
        return a->due < b->due ? -1 : 1;
    if (a->order != b->order)
        return a->order < b->order ? -1 : 1;
    return 0;
}

/* A small deterministic generator (xorshift64*), so runs are repeatable. */
static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

static void random_operations_match_a_sorted_reference(void **state)
{
    asp_heap *h = *state;
    enum { OPS = 100000, MAXID = 4096 };
    /* The reference: for each id, whether it is allocated, queued, its key. */
    static char allocated[MAXID], queued[MAXID];
    static ref_item key[MAXID];
    static ref_item live[MAXID];
    int32_t allocated_ids[MAXID];
    int32_t n_alloc = 0, n_queued = 0;
    uint64_t next_order = 0;
    memset(allocated, 0, sizeof allocated);
    memset(queued, 0, sizeof queued);
    rng_state = UINT64_C(0x9e3779b97f4a7c15);

    for (int op = 0; op < OPS; op++) {
        unsigned r = (unsigned)(rng() % 100);
        if (r < 35 || n_alloc == 0) {
            /* Push a fresh id, or re-key an allocated one. */
            int32_t id;
            if (n_alloc < 2000 && (r % 3 != 0 || n_alloc == 0)) {
                id = alloc_ok(h);
                assert_true(id < MAXID);
                assert_false(allocated[id]);
                allocated[id] = 1;
                allocated_ids[n_alloc++] = id;
            } else {
                id = allocated_ids[rng() % (uint64_t)n_alloc];
            }
            /* Few distinct dues so that ties are frequent. */
            int64_t due = (int64_t)(rng() % 64) - 16;
            uint64_t order = (rng() & 1) ? ++next_order : (UINT64_C(1) << 63) | ++next_order;
            /* Like the scheduler's stream events, keys with the top bit
             * clear (and a 32-bit order) go to the event tree: an id may
             * move between the two heaps when it is re-keyed. */
            if (order >> 63)
                push_ok(h, id, due, order);
            else
                assert_int_equal(asp_heap_push_event(h, id, due, (uint32_t)order), 0);
            if (!queued[id])
                n_queued++;
            queued[id] = 1;
            key[id] = (ref_item){ due, order, id };
        } else if (r < 50) {
            /* Remove a random allocated id (queued or not). */
            int32_t id = allocated_ids[rng() % (uint64_t)n_alloc];
            assert_int_equal(asp_heap_remove(h, id), queued[id]);
            if (queued[id])
                n_queued--;
            queued[id] = 0;
        } else if (r < 65) {
            /* Release a random allocated id. */
            uint64_t k = rng() % (uint64_t)n_alloc;
            int32_t id = allocated_ids[k];
            asp_heap_release(h, id);
            if (queued[id])
                n_queued--;
            queued[id] = 0;
            allocated[id] = 0;
            allocated_ids[k] = allocated_ids[--n_alloc];
        } else if (n_queued > 0) {
            /* Pop, and compare with the smallest of the sorted live set. */
            int32_t n = 0;
            for (int32_t k = 0; k < n_alloc; k++)
                if (queued[allocated_ids[k]])
                    live[n++] = key[allocated_ids[k]];
            assert_int_equal(n, n_queued);
            qsort(live, (size_t)n, sizeof live[0], ref_cmp);
            /* Half the pops are lazy (asp_heap_take), so that every
             * operation also runs with a dead root pending. */
            asp_heap_entry e = (op & 1) ? asp_heap_take(h) : asp_heap_pop(h);
            if (e.id != live[0].id || e.due != live[0].due || e.order != live[0].order) {
                print_error("op %d: popped id %d (%" PRId64 ", %" PRIu64 "), expected id %d (%" PRId64
                            ", %" PRIu64 ")\n",
                    op, e.id, e.due, e.order, live[0].id, live[0].due, live[0].order);
                fail();
            }
            queued[e.id] = 0;
            n_queued--;
        }
        assert_int_equal(h->count, n_queued);
        if (op % 1000 == 0)
            check_invariants(h);
    }

    /* Drain: the whole remaining sequence equals the sorted reference. */
    int32_t n = 0;
    for (int32_t k = 0; k < n_alloc; k++)
        if (queued[allocated_ids[k]])
            live[n++] = key[allocated_ids[k]];
    qsort(live, (size_t)n, sizeof live[0], ref_cmp);
    for (int32_t i = 0; i < n; i++) {
        asp_heap_entry e = asp_heap_pop(h);
        assert_int_equal(e.id, live[i].id);
    }
    assert_int_equal(h->count, 0);
}

/*
 * The K-way merge's pattern against a reference: streams (an id and a
 * start order each) whose event is taken and usually followed by the same
 * stream's next one, streams that start mid-run (the tree grows past
 * several doublings) and end (their id released or left unqueued), events
 * re-keyed and cancelled, general items in between, ties of due frequent.
 * Every take is checked against the smallest (due, order) of the live set,
 * and the snapshot against the whole set.
 */
static void random_merge_matches_a_reference(void **state)
{
    asp_heap *h = *state;
    enum { OPS = 60000, MAXS = 700 };
    static int32_t sid[MAXS];       /* the stream's id, or -1 before it starts / after it ends */
    static uint32_t sorder[MAXS];
    static char squeued[MAXS];
    static int64_t sdue[MAXS];
    static asp_heap_entry snap[MAXS * 2];
    int32_t others[64], n_others = 0; /* general items queued (class bit set), due = order's low bits */
    int64_t other_due[64];
    int32_t n_streams = 0, n_queued = 0, last = -1;
    uint64_t seq = 0;
    rng_state = UINT64_C(0x2545f4914f6cdd1d);
    for (int op = 0; op < OPS; op++) {
        unsigned r = (unsigned)(rng() % 100);
        if (r < 4 && n_streams < MAXS) {
            /* A stream starts: a fresh id, an order not used before (in
             * scrambled start order), its first event at a random due. */
            int32_t k = n_streams++;
            sid[k] = alloc_ok(h);
            sorder[k] = (uint32_t)(rng() % 1000000) * MAXS + (uint32_t)k;
            sdue[k] = (int64_t)(rng() % 32);
            squeued[k] = 1;
            n_queued++;
            assert_int_equal(asp_heap_push_event(h, sid[k], sdue[k], sorder[k]), 0);
        } else if (r < 6 && n_streams > 0) {
            /* A queued event re-keyed (either way), or cancelled. */
            int32_t k = (int32_t)(rng() % (uint64_t)n_streams);
            if (sid[k] < 0 || !squeued[k])
                continue;
            if (rng() & 1) {
                sdue[k] = (int64_t)(rng() % 48);
                assert_int_equal(asp_heap_push_event(h, sid[k], sdue[k], sorder[k]), 0);
            } else {
                assert_int_equal(asp_heap_remove(h, sid[k]), 1);
                squeued[k] = 0;
                n_queued--;
            }
        } else if (r < 7 && n_streams > 0) {
            /* A stream ends: its id released, queued or not. */
            int32_t k = (int32_t)(rng() % (uint64_t)n_streams);
            if (sid[k] < 0)
                continue;
            asp_heap_release(h, sid[k]);
            if (squeued[k])
                n_queued--;
            squeued[k] = 0;
            sid[k] = -1;
        } else if (r < 10 && n_others < 64) {
            /* A general item among the events. */
            int32_t id = alloc_ok(h);
            other_due[n_others] = (int64_t)(rng() % 48);
            push_ok(h, id, other_due[n_others], (UINT64_C(1) << 63) | ++seq);
            others[n_others++] = id;
        } else if (r < 11 && op % 7 == 0) {
            /* The snapshot (asp_sched_upcoming's input) holds exactly the queued events. */
            int32_t n = 0, found = 0;
            asp_heap_snapshot(h, snap);
            for (int32_t i = 0; i < h->count; i++)
                if (!(snap[i].order >> 63)) {
                    n++;
                    for (int32_t k = 0; k < n_streams; k++)
                        if (sid[k] == snap[i].id && squeued[k] && sdue[k] == snap[i].due && sorder[k] == snap[i].order)
                            found++;
                }
            assert_int_equal(n, n_queued);
            assert_int_equal(found, n_queued);
        } else if (n_queued + n_others > 0) {
            /* Take the minimum: the reference's smallest event or general item. */
            int32_t best = -1, best_other = -1;
            for (int32_t k = 0; k < n_streams; k++)
                if (sid[k] >= 0 && squeued[k] &&
                    (best < 0 || sdue[k] < sdue[best] || (sdue[k] == sdue[best] && sorder[k] < sorder[best])))
                    best = k;
            for (int32_t i = 0; i < n_others; i++)
                if (best_other < 0 || other_due[i] < other_due[best_other])
                    best_other = i; /* the first of equal dues: the earliest pushed */
            if (best_other >= 0 && (best < 0 || other_due[best_other] < sdue[best]))
                best = -1;
            else
                best_other = -1;
            asp_heap_entry e = (op & 1) ? asp_heap_take(h) : asp_heap_pop(h);
            if (best >= 0) {
                if (e.id != sid[best] || e.due != sdue[best] || e.order != sorder[best]) {
                    print_error("op %d: took id %d (%" PRId64 ", %" PRIu64 "), expected stream %d id %d (%" PRId64
                                ", %u)\n",
                        op, e.id, e.due, e.order, best, sid[best], sdue[best], sorder[best]);
                    fail();
                }
                squeued[best] = 0;
                n_queued--;
                /* Usually the same stream queues its next event at once,
                 * sometimes another unqueued one does. */
                if (rng() % 64 != 0) {
                    int32_t k = best;
                    if (rng() % 8 == 0 && last >= 0 && sid[last] >= 0 && !squeued[last])
                        k = last;
                    sdue[k] = e.due + (int64_t)(rng() % 4);
                    squeued[k] = 1;
                    n_queued++;
                    assert_int_equal(asp_heap_push_event(h, sid[k], sdue[k], sorder[k]), 0);
                }
                last = best;
            } else {
                assert_int_equal(e.id, others[best_other]);
                assert_true(e.due == other_due[best_other]);
                asp_heap_release(h, e.id);
                for (int32_t i = best_other; i + 1 < n_others; i++) {
                    others[i] = others[i + 1];
                    other_due[i] = other_due[i + 1];
                }
                n_others--;
            }
        }
        assert_int_equal(h->count, n_queued + n_others);
        if (op % 500 == 0)
            check_invariants(h);
    }
    assert_true(h->leaves >= 256); /* it grew past several doublings */
    check_invariants(h);
    asp_heap_clear(h);
    assert_int_equal(h->count, 0);
    check_invariants(h);
}

/* -- The run ------------------------------------------------------------- */

static void items_pushed_in_key_order_go_to_the_run_and_come_out_merged(void **state)
{
    asp_heap *h = *state;
    enum { N = 300 };
    int32_t ids[N];
    for (int32_t i = 0; i < N; i++) {
        ids[i] = alloc_ok(h);
        push_ok(h, ids[i], 10 * i, (UINT64_C(1) << 63) | (uint64_t)i);
    }
    assert_int_equal(h->run_live, N); /* grown past its first 64 slots */
    assert_int_equal(h->n_entries, 0);
    /* Out of order: into the general heap, and merged at the top. */
    int32_t late = alloc_ok(h);
    push_ok(h, late, 15, (UINT64_C(1) << 63) | 1000);
    assert_int_equal(h->n_entries, 1);
    /* Removal in the middle (a hole), of the head, and a re-keying. */
    assert_int_equal(asp_heap_remove(h, ids[5]), 1);
    assert_int_equal(asp_heap_remove(h, ids[0]), 1);
    push_ok(h, ids[7], 12, (UINT64_C(1) << 63) | 2000);
    check_invariants(h);
    assert_int_equal(asp_heap_pop(h).id, ids[1]);  /* 10 */
    assert_int_equal(asp_heap_take(h).id, ids[7]); /* 12, re-keyed */
    assert_int_equal(asp_heap_take(h).id, late);   /* 15 */
    int32_t expect = 2;
    for (int32_t k = 3; k < N + 3; k++) {
        if (expect == 5 || expect == 7)
            expect++;
        if (expect >= N)
            break;
        assert_int_equal(asp_heap_take(h).id, ids[expect]);
        expect++;
    }
    assert_int_equal(h->count, 0);
    assert_int_equal(h->run_live, 0);
    assert_null(asp_heap_top(h));
    /* Emptied, the run takes any key again. */
    push_ok(h, ids[0], -5, UINT64_C(1) << 63);
    assert_int_equal(h->run_live, 1);
    check_invariants(h);
}

/* -- Lazy pop ------------------------------------------------------------- */

static void take_then_push_of_the_same_id_keeps_order(void **state)
{
    asp_heap *h = *state;
    int32_t a = alloc_ok(h), b = alloc_ok(h), c = alloc_ok(h);
    push_ok(h, a, 10, 1);
    push_ok(h, b, 20, 1);
    push_ok(h, c, 30, 1);
    asp_heap_entry e = asp_heap_take(h);
    assert_int_equal(e.id, a);
    assert_int_equal(h->count, 2);
    assert_false(asp_heap_queued(h, a));
    /* Re-queued behind b: it takes the dead root and sifts down. */
    push_ok(h, a, 25, 1);
    check_invariants(h);
    assert_int_equal(asp_heap_pop(h).id, b);
    assert_int_equal(asp_heap_take(h).id, a);
    /* Nothing pushed after a take: the next take finishes the first. */
    assert_int_equal(asp_heap_take(h).id, c);
    assert_int_equal(h->count, 0);
    assert_null(asp_heap_top(h));
}

static void every_operation_after_a_take_sees_it_removed(void **state)
{
    asp_heap *h = *state;
    int32_t a = alloc_ok(h), b = alloc_ok(h), c = alloc_ok(h);
    push_ok(h, a, 1, 0);
    push_ok(h, b, 2, 0);
    push_ok(h, c, 3, 0);
    assert_int_equal(asp_heap_take(h).id, a);
    /* Re-keying a queued id while the root is dead. */
    push_ok(h, c, 0, 0);
    check_invariants(h);
    assert_int_equal(asp_heap_top(h)->id, c);
    assert_int_equal(asp_heap_take(h).id, c);
    /* Removal, release and re-allocation of the taken id. */
    assert_int_equal(asp_heap_remove(h, c), 0);
    asp_heap_release(h, c);
    int32_t d = alloc_ok(h);
    assert_int_equal(d, c);
    push_ok(h, d, 5, 0);
    assert_int_equal(h->count, 2);
    check_invariants(h);
    assert_int_equal(asp_heap_take(h).id, b);
    asp_heap_clear(h);
    assert_int_equal(h->count, 0);
    assert_false(asp_heap_queued(h, d));
    assert_null(asp_heap_top(h));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(pops_by_due_then_order, setup, teardown),
        cmocka_unit_test_setup_teardown(equal_keys_pop_by_order_not_push_order, setup, teardown),
        cmocka_unit_test_setup_teardown(order_compares_as_unsigned_64_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(negative_and_extreme_due_times_are_ordered, setup, teardown),
        cmocka_unit_test_setup_teardown(pushing_a_queued_id_moves_it_to_its_new_key, setup, teardown),
        cmocka_unit_test_setup_teardown(rekeying_to_the_same_due_uses_the_new_order, setup, teardown),
        cmocka_unit_test_setup_teardown(removal_from_the_middle_keeps_the_rest_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(removal_whose_filler_must_rise, setup, teardown),
        cmocka_unit_test_setup_teardown(removing_an_unqueued_id_returns_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(removing_the_last_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(fresh_ids_are_distinct_and_not_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(a_released_id_is_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(releasing_a_queued_id_unqueues_it, setup, teardown),
        cmocka_unit_test_setup_teardown(releasing_twice_is_harmless, setup, teardown),
        cmocka_unit_test_setup_teardown(releasing_a_queued_id_twice_frees_it_once, setup, teardown),
        cmocka_unit_test_setup_teardown(clear_drops_items_and_keeps_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(reset_drops_items_and_frees_every_id, setup, teardown),
        cmocka_unit_test_setup_teardown(queued_is_false_for_out_of_range_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(random_operations_match_a_sorted_reference, setup, teardown),
        cmocka_unit_test_setup_teardown(random_merge_matches_a_reference, setup, teardown),
        cmocka_unit_test_setup_teardown(items_pushed_in_key_order_go_to_the_run_and_come_out_merged, setup, teardown),
        cmocka_unit_test_setup_teardown(take_then_push_of_the_same_id_keeps_order, setup, teardown),
        cmocka_unit_test_setup_teardown(every_operation_after_a_take_sees_it_removed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
