/*
 * Unit tests for engine/sched.c: the clock rule, without Lua.
 *
 * Most tests start the clock in the past, so that every item is due before
 * the wall clock and asp_sched_next returns at once (replay). The real-time
 * tests wait for a few tens of milliseconds and only check that nothing is
 * returned early; their upper bounds are loose (seconds) on purpose.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "sched.h"
#include "time.h"

#define NS ASP_NS_PER_SEC
#define MS (NS / 1000)

/* An hour ago: far enough in the past for any item of these tests. */
#define PAST (asp_time_wall() - 3600 * NS)


static int setup(void **state)
{
    asp_sched *s = asp_sched_new();
    if (!s)
        return -1;
    *state = s;
    return 0;
}

/* Every test leaves the loop closable: no handle or request behind. */
static int teardown(void **state)
{
    return asp_sched_free(*state) == 0 ? 0 : -1;
}

static int32_t item(asp_sched *s)
{
    int32_t id = asp_sched_alloc(s);
    assert_true(id >= 0);
    return id;
}

static int32_t push(asp_sched *s, int64_t due)
{
    int32_t id = item(s);
    assert_int_equal(asp_sched_push(s, id, due), 0);
    return id;
}

static int32_t push_event(asp_sched *s, int64_t due, uint32_t stream_order)
{
    int32_t id = item(s);
    assert_int_equal(asp_sched_push_event(s, id, due, stream_order), 0);
    return id;
}

/* -- Order ---------------------------------------------------------------- */

static void start_sets_the_clock(void **state)
{
    asp_sched *s = *state;
    int64_t t0 = PAST;
    asp_sched_start(s, t0);
    assert_ns_equal(asp_sched_now(s), t0);
    assert_int_equal(asp_sched_pending(s), 0);
}

static void items_run_in_due_order_and_the_clock_jumps_to_each_due(void **state)
{
    asp_sched *s = *state;
    int64_t t0 = PAST;
    asp_sched_start(s, t0);
    int32_t c = push(s, t0 + 3 * NS);
    int32_t a = push(s, t0 + 1 * NS);
    int32_t b = push_event(s, t0 + 2 * NS, 1);
    assert_int_equal(asp_sched_pending(s), 3);
    assert_int_equal(asp_sched_next(s), a);
    assert_ns_equal(asp_sched_now(s), t0 + 1 * NS);
    assert_int_equal(asp_sched_next(s), b);
    assert_ns_equal(asp_sched_now(s), t0 + 2 * NS);
    assert_int_equal(asp_sched_next(s), c);
    assert_ns_equal(asp_sched_now(s), t0 + 3 * NS);
    assert_int_equal(asp_sched_next(s), ASP_SCHED_EMPTY);
}

static void stream_events_run_before_other_items_of_equal_due(void **state)
{
    asp_sched *s = *state;
    int64_t t0 = PAST, due = t0 + NS;
    asp_sched_start(s, t0);
    int32_t other = push(s, due);
    int32_t event = push_event(s, due, 5);
    assert_int_equal(asp_sched_next(s), event);
    assert_int_equal(asp_sched_next(s), other);
}

static void other_items_of_equal_due_run_first_scheduled_first(void **state)
{
    asp_sched *s = *state;
    int64_t t0 = PAST, due = t0 + NS;
    int32_t ids[6];
    asp_sched_start(s, t0);
    for (int i = 0; i < 6; i++)
        ids[i] = push(s, due);
    for (int i = 0; i < 6; i++)
        assert_int_equal(asp_sched_next(s), ids[i]);
}

static void stream_events_of_equal_due_run_in_stream_start_order(void **state)
{
    asp_sched *s = *state;
    int64_t t0 = PAST, due = t0 + NS;
    asp_sched_start(s, t0);
    int32_t e3 = push_event(s, due, 3);
    int32_t e1 = push_event(s, due, 1);
    int32_t e2 = push_event(s, due, 2);
    assert_int_equal(asp_sched_next(s), e1);
    assert_int_equal(asp_sched_next(s), e2);
    assert_int_equal(asp_sched_next(s), e3);
}

static void a_requeued_item_goes_behind_those_queued_before(void **state)
{
    asp_sched *s = *state;
    int64_t t0 = PAST, due = t0 + NS;
    asp_sched_start(s, t0);
    int32_t a = push(s, due);
    int32_t b = push(s, due);
    /* Re-queuing a at the same due takes a new sequence number. */
    assert_int_equal(asp_sched_push(s, a, due), 0);
    assert_int_equal(asp_sched_pending(s), 2);
    assert_int_equal(asp_sched_next(s), b);
    assert_int_equal(asp_sched_next(s), a);
}

static void start_empties_the_queue_and_sets_the_clock(void **state)
{
    asp_sched *s = *state;
    int64_t t0 = PAST;
    asp_sched_start(s, t0);
    (void)push(s, t0 + NS);
    (void)push_event(s, t0 + NS, 1);
    asp_sched_start(s, t0 - NS);
    assert_int_equal(asp_sched_pending(s), 0);
    assert_ns_equal(asp_sched_now(s), t0 - NS);
    assert_int_equal(asp_sched_next(s), ASP_SCHED_EMPTY);
}

/* -- The clock never goes back -------------------------------------------- */

static void an_item_due_in_the_past_is_due_now(void **state)
{
    asp_sched *s = *state;
    int64_t t0 = PAST;
    asp_sched_start(s, t0);
    int32_t a = push(s, t0 - 5 * NS);
    assert_int_equal(asp_sched_next(s), a);
    assert_ns_equal(asp_sched_now(s), t0);
}

static void late_items_keep_their_own_due_times_and_run_in_their_order(void **state)
{
    asp_sched *s = *state;
    int64_t t0 = PAST;
    asp_sched_start(s, t0);
    /* Queued in this order, all but `later` already late or due now. */
    int32_t now_item = push(s, t0);
    int32_t late2 = push(s, t0 - 2 * NS);
    int32_t late5 = push(s, t0 - 5 * NS);
    int32_t later = push(s, t0 + NS);
    assert_int_equal(asp_sched_next(s), late5);
    assert_ns_equal(asp_sched_now(s), t0); /* the clock stays */
    assert_int_equal(asp_sched_next(s), late2);
    assert_ns_equal(asp_sched_now(s), t0);
    assert_int_equal(asp_sched_next(s), now_item);
    assert_int_equal(asp_sched_next(s), later);
    assert_ns_equal(asp_sched_now(s), t0 + NS);
}

static void the_clock_never_goes_back(void **state)
{
    asp_sched *s = *state;
    int64_t t0 = PAST;
    asp_sched_start(s, t0);
    int32_t a = push(s, t0 + 10 * NS);
    assert_int_equal(asp_sched_next(s), a);
    assert_ns_equal(asp_sched_now(s), t0 + 10 * NS);
    /* Both an event and another item scheduled before the clock. */
    int32_t b = push(s, t0 + 3 * NS);
    int32_t e = push_event(s, t0 + 2 * NS, 1);
    assert_int_equal(asp_sched_next(s), e);
    assert_ns_equal(asp_sched_now(s), t0 + 10 * NS);
    assert_int_equal(asp_sched_next(s), b);
    assert_ns_equal(asp_sched_now(s), t0 + 10 * NS);
}

static void a_late_stream_event_still_runs_before_other_items_due_now(void **state)
{
    asp_sched *s = *state;
    int64_t t0 = PAST;
    asp_sched_start(s, t0);
    int32_t other = push(s, t0);
    int32_t late_event = push_event(s, t0 - NS, 1);
    assert_int_equal(asp_sched_next(s), late_event);
    assert_int_equal(asp_sched_next(s), other);
}

/* -- Cancel --------------------------------------------------------------- */

static void a_cancelled_item_never_runs(void **state)
{
    asp_sched *s = *state;
    int64_t t0 = PAST;
    asp_sched_start(s, t0);
    int32_t a = push(s, t0 + 1 * NS);
    int32_t b = push(s, t0 + 2 * NS);
    int32_t c = push(s, t0 + 3 * NS);
    assert_true(asp_sched_queued(s, b));
    assert_int_equal(asp_sched_cancel(s, b), 1);
    assert_false(asp_sched_queued(s, b));
    assert_int_equal(asp_sched_cancel(s, b), 0);
    assert_int_equal(asp_sched_pending(s), 2);
    assert_int_equal(asp_sched_next(s), a);
    assert_int_equal(asp_sched_next(s), c);
    assert_int_equal(asp_sched_next(s), ASP_SCHED_EMPTY);
}

static void cancelling_a_popped_item_returns_zero(void **state)
{
    asp_sched *s = *state;
    int64_t t0 = PAST;
    asp_sched_start(s, t0);
    int32_t a = push(s, t0);
    assert_int_equal(asp_sched_next(s), a);
    assert_int_equal(asp_sched_cancel(s, a), 0);
}

static void clear_drops_every_queued_item(void **state)
{
    asp_sched *s = *state;
    int64_t t0 = PAST;
    asp_sched_start(s, t0);
    (void)push(s, t0);
    (void)push_event(s, t0, 1);
    asp_sched_clear(s);
    assert_int_equal(asp_sched_pending(s), 0);
    assert_int_equal(asp_sched_next(s), ASP_SCHED_EMPTY);
}

/* -- Empty and interrupted ------------------------------------------------ */

static void next_is_empty_when_nothing_is_queued(void **state)
{
    asp_sched *s = *state;
    asp_sched_start(s, asp_time_wall());
    assert_int_equal(asp_sched_next(s), ASP_SCHED_EMPTY);
    assert_int_equal(asp_sched_next(s), ASP_SCHED_EMPTY);
}

static void interrupt_makes_next_return_interrupted_once(void **state)
{
    asp_sched *s = *state;
    int64_t t0 = PAST;
    asp_sched_start(s, t0);
    int32_t a = push(s, t0);
    asp_sched_interrupt(s);
    assert_int_equal(asp_sched_next(s), ASP_SCHED_INTERRUPTED);
    assert_int_equal(asp_sched_next(s), a);
}

/* -- Real time ------------------------------------------------------------ */

static void an_item_due_in_the_future_is_waited_for_never_early(void **state)
{
    asp_sched *s = *state;
    int64_t start = asp_time_wall();
    asp_sched_start(s, start);
    int64_t due = asp_time_wall() + 30 * MS;
    int32_t a = push(s, due);
    assert_int_equal(asp_sched_next(s), a);
    int64_t wall = asp_time_wall();
    if (wall < due) {
        print_error("returned %" PRId64 " ns early\n", due - wall);
        fail();
    }
    assert_ns_equal(asp_sched_now(s), due);
    assert_true(wall - due < 2 * NS);
}

static void items_due_a_few_ms_apart_in_the_future_are_each_waited_for(void **state)
{
    asp_sched *s = *state;
    asp_sched_start(s, asp_time_wall());
    int64_t base = asp_time_wall();
    /* Dues inside and outside the coarse libuv margin. */
    static const int64_t offsets[] = { 1 * MS, 3 * MS, 4 * MS, 12 * MS, 13 * MS };
    int32_t ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = push(s, base + offsets[i]);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(asp_sched_next(s), ids[i]);
        assert_true(asp_time_wall() >= base + offsets[i]);
        assert_ns_equal(asp_sched_now(s), base + offsets[i]);
    }
    assert_int_equal(asp_sched_next(s), ASP_SCHED_EMPTY);
}

static void past_items_run_before_a_future_one_without_waiting(void **state)
{
    asp_sched *s = *state;
    int64_t wall = asp_time_wall();
    asp_sched_start(s, wall - 60 * NS);
    int32_t future = push(s, wall + 20 * MS);
    int32_t past1 = push(s, wall - 30 * NS);
    int32_t past2 = push_event(s, wall - 10 * NS, 1);
    assert_int_equal(asp_sched_next(s), past1);
    assert_ns_equal(asp_sched_now(s), wall - 30 * NS);
    assert_int_equal(asp_sched_next(s), past2);
    assert_ns_equal(asp_sched_now(s), wall - 10 * NS);
    assert_int_equal(asp_sched_next(s), future);
    assert_true(asp_time_wall() >= wall + 20 * MS);
    assert_ns_equal(asp_sched_now(s), wall + 20 * MS);
}

/* -- The direct path's horizon (sched.h, asp_sched_fast) ------------------ */

/* Takes the stream event a at due, twice in a row (the horizon is opened
 * for a stream whose event comes twice in a row). */
static void take_twice(asp_sched *s, int32_t a, int64_t due)
{
    assert_int_equal(asp_sched_push_event(s, a, due - 1, 1), 0);
    assert_int_equal(asp_sched_next(s), a);
    assert_int_equal(asp_sched_push_event(s, a, due, 1), 0);
    assert_int_equal(asp_sched_next(s), a);
}

static void the_horizon_after_a_stream_event_is_the_next_other_due(void **state)
{
    asp_sched *s = *state;
    int64_t t0 = PAST;
    asp_sched_start(s, t0);
    int32_t a = push_event(s, t0 + 9, 1);
    push_event(s, t0 + 30, 2);
    push(s, t0 + 20);
    assert_ns_equal(asp_sched_fast_of(s)->horizon, INT64_MIN);
    assert_int_equal(asp_sched_next(s), a);
    /* Once: still closed (a merge alternating streams never pays for it). */
    assert_ns_equal(asp_sched_fast_of(s)->horizon, INT64_MIN);
    assert_int_equal(asp_sched_push_event(s, a, t0 + 10, 1), 0);
    assert_int_equal(asp_sched_next(s), a);
    /* The other stream's event at 30 and the call at 20: the call bounds it. */
    assert_ns_equal(asp_sched_fast_of(s)->horizon, t0 + 20);
    /* A push lowers it, a push later than it does not raise it. */
    push(s, t0 + 15);
    assert_ns_equal(asp_sched_fast_of(s)->horizon, t0 + 15);
    push(s, t0 + 40);
    assert_ns_equal(asp_sched_fast_of(s)->horizon, t0 + 15);
    /* Another kind of item taken closes it. */
    assert_true(asp_sched_next(s) >= 0);
    assert_ns_equal(asp_sched_fast_of(s)->horizon, INT64_MIN);
}

static void the_horizon_is_the_least_of_the_other_streams_events(void **state)
{
    asp_sched *s = *state;
    int64_t t0 = PAST;
    asp_sched_start(s, t0);
    int32_t a = item(s);
    /* Six other streams: the root's four children and one more level. */
    push_event(s, t0 + 60, 2);
    push_event(s, t0 + 50, 3);
    push_event(s, t0 + 40, 4);
    push_event(s, t0 + 35, 5);
    push_event(s, t0 + 70, 6);
    push_event(s, t0 + 80, 7);
    take_twice(s, a, t0 + 10);
    assert_ns_equal(asp_sched_fast_of(s)->horizon, t0 + 35);
}

static void the_horizon_is_bounded_by_the_end_and_the_wall_clock(void **state)
{
    asp_sched *s = *state;
    int64_t t0 = PAST;
    asp_sched_start(s, t0);
    asp_sched_set_end(s, t0 + 50);
    int32_t a = item(s);
    take_twice(s, a, t0 + 10);
    /* Alone in the queue: the end bounds it, and without an end the last wall reading. */
    assert_ns_equal(asp_sched_fast_of(s)->horizon, t0 + 50);
    asp_sched_start(s, t0);
    take_twice(s, a, t0 + 10);
    assert_true(asp_sched_fast_of(s)->horizon <= asp_time_wall());
    assert_true(asp_sched_fast_of(s)->horizon > t0 + 10);
}

static void a_budget_an_interrupt_and_a_pause_close_the_horizon(void **state)
{
    asp_sched *s = *state;
    int64_t t0 = PAST;
    asp_sched_start(s, t0);
    asp_sched_pause(s, 5, INT64_MAX);
    int32_t a = item(s);
    take_twice(s, a, t0 + 10);
    assert_ns_equal(asp_sched_fast_of(s)->horizon, INT64_MIN); /* a budget counts every item */
    asp_sched_pause(s, -1, INT64_MAX);
    take_twice(s, a, t0 + 20);
    assert_true(asp_sched_fast_of(s)->horizon > t0 + 20);
    asp_sched_interrupt(s);
    assert_ns_equal(asp_sched_fast_of(s)->horizon, INT64_MIN);
    assert_int_equal(asp_sched_next(s), ASP_SCHED_INTERRUPTED);
    take_twice(s, a, t0 + 30);
    assert_true(asp_sched_fast_of(s)->horizon > t0 + 30);
    asp_sched_pause(s, -1, t0 + 40);
    assert_ns_equal(asp_sched_fast_of(s)->horizon, INT64_MIN);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(start_sets_the_clock),
        T(items_run_in_due_order_and_the_clock_jumps_to_each_due),
        T(stream_events_run_before_other_items_of_equal_due),
        T(other_items_of_equal_due_run_first_scheduled_first),
        T(stream_events_of_equal_due_run_in_stream_start_order),
        T(a_requeued_item_goes_behind_those_queued_before),
        T(start_empties_the_queue_and_sets_the_clock),
        T(an_item_due_in_the_past_is_due_now),
        T(late_items_keep_their_own_due_times_and_run_in_their_order),
        T(the_clock_never_goes_back),
        T(a_late_stream_event_still_runs_before_other_items_due_now),
        T(a_cancelled_item_never_runs),
        T(cancelling_a_popped_item_returns_zero),
        T(clear_drops_every_queued_item),
        T(next_is_empty_when_nothing_is_queued),
        T(interrupt_makes_next_return_interrupted_once),
        T(an_item_due_in_the_future_is_waited_for_never_early),
        T(items_due_a_few_ms_apart_in_the_future_are_each_waited_for),
        T(past_items_run_before_a_future_one_without_waiting),
        T(the_horizon_after_a_stream_event_is_the_next_other_due),
        T(the_horizon_is_the_least_of_the_other_streams_events),
        T(the_horizon_is_bounded_by_the_end_and_the_wall_clock),
        T(a_budget_an_interrupt_and_a_pause_close_the_horizon),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
