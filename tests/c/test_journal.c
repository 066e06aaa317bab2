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
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "journal.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/asp-journal-test-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    return asp_journal_open_private(dir);
}

static int teardown(void **state)
{
    (void)state;
    asp_journal_close();
    rmdir(dir);
    return 0;
}

/* The number of entries in dir, "." and ".." aside. */
static int entries(const char *d)
{
    int n = 0;
    struct dirent *e;
    DIR *dp = opendir(d);
    if (!dp)
        return -1;
    while ((e = readdir(dp)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(dp);
    return n;
}

static void test_the_journal_is_private_and_has_no_name(void **state)
{
    struct stat st;
    (void)state;
    asp_journal_line(1, 100, "secret", 6);
    assert_int_equal(fstat(asp_journal_fd(), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_nlink, 0);        /* in no directory */
    assert_int_equal(entries(dir), 0);
    assert_true(st.st_size > 6);             /* it was written */
}

/* Whatever is planted in the directory under any name is left alone, and
 * the journal still works. */
static void test_planted_files_and_symlinks_are_never_touched(void **state)
{
    char victim[128], link[128], file[128], buf[16];
    int fd;
    asp_journal_head h;
    (void)state;
    asp_journal_close();
    snprintf(victim, sizeof victim, "%s/victim", dir);
    snprintf(link, sizeof link, "%s/asp-lua-journal-%ld", dir, (long)getpid());
    snprintf(file, sizeof file, "%s/asp-lua-journal-XXXXXX", dir);
    fd = open(victim, O_WRONLY | O_CREAT | O_EXCL, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "keep", 4), 4);
    close(fd);
    assert_int_equal(symlink(victim, link), 0);
    fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0644); /* the literal template name */
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(asp_journal_open_private(dir), 0);
    asp_journal_line(1, 100, "live", 4);
    assert_int_equal(asp_journal_offset(), (int64_t)sizeof h + 4);
    assert_int_equal(entries(dir), 3);
    fd = open(victim, O_RDONLY);
    assert_int_equal(read(fd, buf, sizeof buf), 4);
    close(fd);
    assert_memory_equal(buf, "keep", 4);
    unlink(link);
    unlink(file);
    unlink(victim);
}

static void test_the_directory_defaults_to_tmpdir(void **state)
{
    char *old = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
    (void)state;
    setenv("TMPDIR", "/nonexistent-asp-dir", 1);
    assert_int_equal(asp_journal_open_private(NULL), -1); /* it was tried there */
    setenv("TMPDIR", dir, 1);
    assert_int_equal(asp_journal_open_private(NULL), 0);
    if (old) {
        setenv("TMPDIR", old, 1);
        free(old);
    } else {
        unsetenv("TMPDIR");
    }
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

static int fails, fail_err;

static void count_failure(int err)
{
    fails++;
    fail_err = err;
}

/* The checkpoint taken before the failure: gets back the whole records,
 * nothing torn, and journals nothing after the failure point. */
static int checkpoint_after_failure(int ready_fd)
{
    asp_journal_head h;
    char buf[16], go;
    if (read(ready_fd, &go, 1) != 1)
        return 20;
    asp_journal_resumed();
    if (asp_journal_take(&h, buf, sizeof buf) != 3 || memcmp(buf, "abc", 3) != 0)
        return 21;
    if (asp_journal_peek(&h) != -1 || asp_journal_replaying())
        return 22;
    asp_journal_line(1, 500, "new", 3); /* live again: but the journal ended */
    if (asp_journal_on() || !asp_journal_failed() || fails != 0)
        return 23;
    return 0;
}

/* In a child, so that the file size limit stays there: a write that fails
 * (EFBIG here; ENOSPC on a full disk, tested by tests/repl/full_disk.sh). */
static int foreground_write_fails(void)
{
    struct rlimit rl;
    struct stat st;
    char big[64];
    int p[2], fd, status;
    pid_t cp;
    signal(SIGXFSZ, SIG_IGN);
    asp_journal_set_fail(count_failure);
    if (pipe(p) != 0)
        return 1;
    cp = fork();
    if (cp == 0) {
        close(p[1]);
        _exit(checkpoint_after_failure(p[0]));
    }
    close(p[0]);
    asp_journal_line(1, 100, "abc", 3);
    fd = dup(asp_journal_fd());
    rl.rlim_cur = rl.rlim_max = (rlim_t)asp_journal_offset() + 40; /* the next header, part of its body */
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 2;
    memset(big, 'x', sizeof big);
    asp_journal_line(1, 200, big, sizeof big);
    if (fails != 1 || fail_err != EFBIG)
        return 3;
    if (asp_journal_on() || !asp_journal_failed())
        return 4;
    /* Whole records only: the torn one was cut off. */
    if (fstat(fd, &st) != 0 || st.st_size != (off_t)(sizeof(asp_journal_head) + 3))
        return 5;
    asp_journal_line(1, 300, "x", 1);
    if (fails != 1) /* said once */
        return 6;
    if (write(p[1], "g", 1) != 1 || waitpid(cp, &status, 0) != cp)
        return 7;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 8;
}

static void test_a_failed_write_ends_the_journal_at_whole_records_and_says_so_once(void **state)
{
    int status;
    pid_t pid;
    (void)state;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(foreground_write_fails());
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off_by_default_passes_the_wall_through),
        cmocka_unit_test_setup_teardown(test_the_journal_is_private_and_has_no_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_planted_files_and_symlinks_are_never_touched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_directory_defaults_to_tmpdir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_failed_write_ends_the_journal_at_whole_records_and_says_so_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_foreground_appends_and_is_not_replaying, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_checkpoint_takes_back_what_came_after_it_then_goes_live, setup, teardown),
    };
    return cmocka_run_group_tests_name("journal", tests, NULL, NULL);
}
