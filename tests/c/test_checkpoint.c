/*
 * Unit tests for the checkpoint bookkeeping of engine/checkpoint.c: adding,
 * thinning out (which one goes when there are too many) and finding the
 * checkpoint to resume for a target. The processes are tested through the
 * REPL (tests/repl/repl.exp).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "checkpoint.h"

#define NS INT64_C(1000000000)

static void add(asp_cps *c, int64_t items)
{
    assert_true(asp_cps_add(c, 100 + (pid_t)items, -1, items, items * NS) >= 0);
}

static void test_ids_increase_and_entries_stay_oldest_first(void **state)
{
    asp_cps c;
    (void)state;
    asp_cps_init(&c, 8);
    add(&c, 0);
    add(&c, 10);
    add(&c, 20);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.cp[0].id, 1);
    assert_int_equal(c.cp[2].id, 3);
    assert_int_equal(asp_cps_index(&c, 2), 1);
    asp_cps_remove(&c, 1);
    assert_int_equal(asp_cps_index(&c, 2), -1);
    assert_int_equal(c.cp[1].items, 20);
    add(&c, 30);
    assert_int_equal(c.cp[2].id, 4); /* ids are never reused */
}

static void test_no_victim_within_the_bound(void **state)
{
    asp_cps c;
    (void)state;
    asp_cps_init(&c, 3);
    add(&c, 0);
    add(&c, 10);
    add(&c, 20);
    assert_int_equal(asp_cps_victim(&c), -1);
}

static void test_victim_leaves_the_smallest_gap_never_oldest_or_newest(void **state)
{
    asp_cps c;
    (void)state;
    asp_cps_init(&c, 4);
    add(&c, 0);
    add(&c, 100);
    add(&c, 150);
    add(&c, 160);
    add(&c, 300);
    /* Removing 150 leaves 100..160 (60), the smallest merged gap. */
    assert_int_equal(asp_cps_victim(&c), 2);
    asp_cps_remove(&c, 2);
    assert_int_equal(asp_cps_victim(&c), -1);
}

static void test_thinning_keeps_checkpoints_spread_over_the_run(void **state)
{
    asp_cps c;
    (void)state;
    asp_cps_init(&c, 8);
    for (int64_t i = 0; i <= 1000; i++) {
        add(&c, i * 10);
        for (int v; (v = asp_cps_victim(&c)) >= 0;)
            asp_cps_remove(&c, v);
        assert_true(c.n <= 8);
    }
    assert_int_equal(c.n, 8);
    assert_int_equal(c.cp[0].items, 0);        /* the start stays reachable */
    assert_int_equal(c.cp[7].items, 10000);    /* so does the newest */
    /* No gap is more than a few times the even spacing (10000 / 7). */
    for (int i = 1; i < c.n; i++)
        assert_true(c.cp[i].items - c.cp[i - 1].items <= 4 * 10000 / 7);
}

static void test_find_takes_the_latest_at_or_before_the_target(void **state)
{
    asp_cps c;
    (void)state;
    asp_cps_init(&c, 8);
    add(&c, 0);
    add(&c, 10);
    add(&c, 20);
    assert_int_equal(asp_cps_find(&c, ASP_TARGET_ITEMS, 15), 1);
    assert_int_equal(asp_cps_find(&c, ASP_TARGET_ITEMS, 20), 2);
    assert_int_equal(asp_cps_find(&c, ASP_TARGET_ITEMS, 0), 0);
    assert_int_equal(asp_cps_find(&c, ASP_TARGET_ITEMS, -1), -1);
    assert_int_equal(asp_cps_find(&c, ASP_TARGET_TIME, 19 * NS), 1);
    assert_int_equal(asp_cps_find(&c, ASP_TARGET_TIME, 1000 * NS), 2);
}

static void test_the_bound_is_clamped(void **state)
{
    asp_cps c;
    (void)state;
    asp_cps_init(&c, 1);
    assert_int_equal(c.max, 2);
    asp_cps_init(&c, 100000);
    assert_int_equal(c.max, ASP_CHECKPOINTS_MAX - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_increase_and_entries_stay_oldest_first),
        cmocka_unit_test(test_no_victim_within_the_bound),
        cmocka_unit_test(test_victim_leaves_the_smallest_gap_never_oldest_or_newest),
        cmocka_unit_test(test_thinning_keeps_checkpoints_spread_over_the_run),
        cmocka_unit_test(test_find_takes_the_latest_at_or_before_the_target),
        cmocka_unit_test(test_the_bound_is_clamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
