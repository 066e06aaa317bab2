/*
 * The live journal (engine/journal.c): a checkpoint is a forked copy, so the
 * tests fork too — the child plays the checkpoint taken at that moment and
 * must get back exactly what the parent journaled after it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "journal.h"

static char path[64];

static int setup(void **state)
{
    int fd;
    (void)state;
    strcpy(path, "/tmp/asp-journal-test-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return asp_journal_open(path);
}

static int teardown(void **state)
{
    (void)state;
    asp_journal_close();
    unlink(path);
    return 0;
}

static void test_off_by_default_passes_the_wall_through(void **state)
{
    (void)state;
    asp_journal_close();
    assert_false(asp_journal_on());
    assert_int_equal(asp_journal_wall(1234), 1234);
    assert_false(asp_journal_replaying());
    asp_journal_line(0, 1, "x", 1); /* harmless */
    assert_int_equal(asp_journal_offset(), 0);
}

static void test_the_foreground_appends_and_is_not_replaying(void **state)
{
    asp_journal_head h;
    (void)state;
    asp_journal_line(3, 100, "abc", 3);
    assert_int_equal(asp_journal_wall(200), 200);
    asp_journal_line(4, 300, "de", 2);
    assert_false(asp_journal_replaying());
    assert_int_equal(asp_journal_peek(&h), -1);
    assert_int_equal(asp_journal_offset(), 3 * (int64_t)sizeof h + 5);
}

/* In the child: exits 0 when every check passed, else the failing step. */
static int checkpoint_replays(int ready_fd)
{
    asp_journal_head h;
    char buf[16];
    char go;
    if (read(ready_fd, &go, 1) != 1)
        return 10;
    asp_journal_resumed(); /* what checkpoint.c does when it resumes one */
    if (!asp_journal_replaying())
        return 11;
    /* The wall reading journaled after the checkpoint comes back, whatever
     * the wall says now. */
    if (asp_journal_wall(999999) != 500)
        return 12;
    /* Lines come back in order, with source, arrival and bytes. */
    if (asp_journal_take(&h, buf, sizeof buf) != 5 || h.source != 7 || h.time != 400 || memcmp(buf, "hello", 5) != 0)
        return 13;
    if (asp_journal_peek(&h) != 0 || h.time != 600)
        return 14;
    if (asp_journal_take(&h, buf, 2) != 5 || memcmp(buf, "wo", 2) != 0) /* truncated copy, full length */
        return 15;
    if (asp_journal_replaying())
        return 16;
    /* Exhausted: live again, and what comes now is journaled after. */
    if (asp_journal_wall(777) != 777)
        return 17;
    asp_journal_line(7, 800, "!", 1);
    return 0;
}

static void test_a_checkpoint_takes_back_what_came_after_it_then_goes_live(void **state)
{
    int pipefd[2];
    pid_t pid;
    int status;
    asp_journal_head h;
    int64_t before;
    (void)state;
    asp_journal_line(1, 100, "old", 3); /* before the checkpoint */
    assert_int_equal(pipe(pipefd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pipefd[1]);
        _exit(checkpoint_replays(pipefd[0]));
    }
    close(pipefd[0]);
    /* The foreground goes on after the checkpoint. */
    asp_journal_line(7, 400, "hello", 5);
    assert_int_equal(asp_journal_wall(500), 500);
    asp_journal_line(7, 600, "world", 5);
    before = asp_journal_offset();
    assert_int_equal(write(pipefd[1], "g", 1), 1);
    close(pipefd[1]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* The file now ends with what the resumed checkpoint journaled: seen
     * from here as a checkpoint would see it on resuming. */
    assert_false(asp_journal_replaying());
    asp_journal_resumed();
    assert_true(asp_journal_replaying());
    assert_int_equal(asp_journal_peek(&h), 0);
    assert_int_equal(h.time, 800);
    assert_true(asp_journal_offset() >= before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off_by_default_passes_the_wall_through),
        cmocka_unit_test_setup_teardown(test_the_foreground_appends_and_is_not_replaying, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_checkpoint_takes_back_what_came_after_it_then_goes_live, setup, teardown),
    };
    return cmocka_run_group_tests_name("journal", tests, NULL, NULL);
}
