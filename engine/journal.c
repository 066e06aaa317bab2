/*
 * The live journal; see journal.h.
 */
#define _GNU_SOURCE /* O_TMPFILE, mkostemp */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

/* The journal's descriptor (-1: none); read by asp_journal_on (journal.h). */
int asp_journal_fd_cur = -1;
/* This process's cursors, one per kind of record: lines are taken back when
 * the scheduler reaches their arrival time, wall readings when the run reads
 * the wall, so the two are consumed in orders of their own. */
static int64_t line_cur, wall_cur;
static int64_t size;    /* the file's size as this process last saw it */
static int injecting;   /* a record going back in is not journaled again */
static int may_replay;  /* set when a checkpoint resumes, until its records run out */
/* Under --reload (engine/reload.c): the writer publishes the end of its whole
 * records here (shared memory) and calls after_append; a follower never
 * writes, reads up to the published end, and takes nothing at or after
 * limit (the handover point while it catches up). */
static volatile int64_t *committed;
static void (*after_append)(void);
static int readonly;
static int64_t limit = INT64_MAX;
/* --reload: the coordinator whose run was resumed after a failed handover
 * (asp_journal_self_follow) writes the journal and takes its own records
 * back from a position on, up to the limit. */
static int self_follow;
/* The last header read: a replay asks for the same one before every item. */
static int64_t cache_at = -1;
static asp_journal_head cache_h;

/* Shared by every process of the session (mapped before they fork): once a
 * write failed, the journal ends where it failed, for all of them. */
typedef struct journal_shared {
    volatile int failed;
} journal_shared;
static journal_shared *shared;
static asp_journal_fail_fn on_fail;

/* The directory for the journal: dir, else $TMPDIR, else /tmp. */
static const char *journal_dir(const char *dir)
{
    const char *env = getenv("TMPDIR");
    if (dir && dir[0])
        return dir;
    return env && env[0] ? env : "/tmp";
}

/*
 * A new file in dir that no other process can open: O_TMPFILE has no name at
 * all (O_EXCL: it can never be linked into the directory); where the file
 * system lacks it, mkstemp makes a fresh random name with O_EXCL (a planted
 * file or symlink makes it pick another name, never opens it), which is
 * unlinked at once. Either way the mode is 0600.
 */
static int private_file(const char *dir)
{
    char path[4096];
    int fd;
#ifdef O_TMPFILE
    fd = open(dir, O_TMPFILE | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
        return -1;
#endif
    if (snprintf(path, sizeof path, "%s/asp-lua-journal-XXXXXX", dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return -1;
    unlink(path);
    if (fchmod(fd, 0600) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int asp_journal_open_private(const char *dir)
{
    int fd;
    if (!shared) {
        void *p = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return -1;
        shared = p;
    }
    fd = private_file(journal_dir(dir));
    if (fd < 0)
        return -1;
    shared->failed = 0;
    asp_journal_close();
    asp_journal_fd_cur = fd;
    line_cur = wall_cur = size = 0;
    may_replay = 0;
    cache_at = -1;
    return 0;
}

void asp_journal_share(volatile int64_t *end, void (*appended)(void))
{
    committed = end;
    after_append = appended;
}

void asp_journal_follow(int fd, volatile int64_t *end)
{
    asp_journal_close();
    asp_journal_fd_cur = fd;
    committed = end;
    readonly = 1;
    may_replay = 1;
    line_cur = wall_cur = size = 0;
    cache_at = -1;
}

void asp_journal_set_limit(int64_t off)
{
    limit = off;
}

void asp_journal_self_follow(int64_t from)
{
    self_follow = 1;
    may_replay = 1;
    line_cur = from;
    limit = INT64_MAX;
    cache_at = -1;
}

/* The end of what this process may read: a follower's, the published end
 * up to the limit. */
static int64_t visible_end(void)
{
    if (readonly && committed) {
        int64_t e = __atomic_load_n(committed, __ATOMIC_ACQUIRE);
        return e < limit ? e : limit;
    }
    return size;
}

int64_t asp_journal_end_offset(void)
{
    if (committed)
        return __atomic_load_n(committed, __ATOMIC_ACQUIRE);
    return size;
}

int asp_journal_fd(void)
{
    return asp_journal_fd_cur;
}

void asp_journal_set_fail(asp_journal_fail_fn fn)
{
    on_fail = fn;
}

int asp_journal_failed(void)
{
    return shared && shared->failed;
}

void asp_journal_close(void)
{
    if (asp_journal_fd_cur >= 0)
        close(asp_journal_fd_cur);
    asp_journal_fd_cur = -1;
}

/* Where this process's reading stops: its view of the end, and a self
 * follower's limit (a follower's view includes its limit). */
static int64_t read_end(void)
{
    return self_follow && limit < size ? limit : size;
}

/* Reads the header at *cur; 0, or -1 at the end or on a short read. */
static int head_at(int64_t cur, asp_journal_head *h)
{
    if (cur >= read_end())
        return -1;
    if (cur == cache_at) {
        *h = cache_h;
        return 0;
    }
    if (pread(asp_journal_fd_cur, h, sizeof *h, (off_t)cur) != (ssize_t)sizeof *h) {
        asp_journal_close(); /* a torn journal cannot be replayed faithfully */
        return -1;
    }
    cache_at = cur;
    cache_h = *h;
    return 0;
}

/* Moves *cur to the next record of this kind; 0, or -1 when there is none. */
static int seek_kind(int32_t kind, int64_t *cur, asp_journal_head *h)
{
    while (head_at(*cur, h) == 0) {
        /* A source's end travels with its lines, in the same order. */
        if (h->kind == kind || (kind == ASP_JOURNAL_LINE && h->kind == ASP_JOURNAL_END))
            return 0;
        *cur += (int64_t)(sizeof *h + h->len);
    }
    if (*cur > size)
        *cur = size;
    return -1;
}

int asp_journal_replaying(void)
{
    asp_journal_head h;
    struct stat st;
    /* Only a resumed checkpoint has records ahead of it: the foreground,
     * which asks before every item, answers without a system call. */
    if (asp_journal_fd_cur < 0 || !may_replay)
        return 0;
    if (readonly || self_follow) {
        /* A follower (--reload) reads on as records are published; a
         * self follower's size is its own. */
        if (readonly)
            size = visible_end();
        seek_kind(ASP_JOURNAL_LINE, &line_cur, &h);
        return asp_journal_fd_cur >= 0 && line_cur < read_end();
    }
    if (fstat(asp_journal_fd_cur, &st) == 0)
        size = st.st_size;
    seek_kind(ASP_JOURNAL_LINE, &line_cur, &h);
    seek_kind(ASP_JOURNAL_WALL, &wall_cur, &h);
    if (asp_journal_fd_cur < 0 || (line_cur >= size && wall_cur >= size))
        may_replay = 0;
    return may_replay;
}

/* Appends at the end of what this process has replayed (the end of the
 * file, since it appends only once both cursors reached it). */
static void append(int32_t kind, int32_t source, int64_t time, const char *data, size_t len, int32_t status)
{
    asp_journal_head h;
    int64_t at = size;
    if (readonly)
        return;
    memset(&h, 0, sizeof h);
    h.kind = kind;
    h.source = source;
    h.time = time;
    h.len = (uint32_t)len;
    h.status = status;
    if (shared && shared->failed) {
        /* Another process of the session could not write: the journal
         * ends there, a record after the gap would replay wrongly. */
        asp_journal_close();
        return;
    }
    if (asp_pwrite_full(asp_journal_fd_cur, &h, sizeof h, at) != 0 ||
        (len && asp_pwrite_full(asp_journal_fd_cur, data, len, at + (int64_t)sizeof h) != 0)) {
        int err = errno;
        /* Whole records only (shrinking needs no space), then no more:
         * a journal with a hole would replay wrongly. */
        if (ftruncate(asp_journal_fd_cur, (off_t)at) != 0)
            err = errno;
        asp_journal_close();
        if (shared)
            shared->failed = 1;
        if (on_fail)
            on_fail(err);
        return;
    }
    size = at + (int64_t)(sizeof h + len);
    if (!self_follow)
        line_cur = wall_cur = size;
    if (committed) {
        __atomic_store_n(committed, size, __ATOMIC_SEQ_CST);
        if (after_append)
            after_append();
    }
}

void asp_journal_line(int32_t source, int64_t arrival, const char *data, size_t len)
{
    if (asp_journal_fd_cur < 0 || injecting || (!self_follow && asp_journal_replaying()))
        return;
    append(ASP_JOURNAL_LINE, source, arrival, data, len, 0);
}

void asp_journal_end(int32_t source, int64_t when, int32_t status)
{
    if (asp_journal_fd_cur < 0 || injecting || (!self_follow && asp_journal_replaying()))
        return;
    append(ASP_JOURNAL_END, source, when, NULL, 0, status);
}

int asp_journal_peek(asp_journal_head *h)
{
    if (asp_journal_fd_cur < 0)
        return -1;
    return seek_kind(ASP_JOURNAL_LINE, &line_cur, h);
}

int64_t asp_journal_take(asp_journal_head *h, char *buf, size_t cap)
{
    size_t n;
    if (asp_journal_peek(h) != 0)
        return -1;
    n = h->len < cap ? h->len : cap;
    if (n > 0 && pread(asp_journal_fd_cur, buf, n, (off_t)(line_cur + (int64_t)sizeof *h)) != (ssize_t)n) {
        asp_journal_close();
        return -1;
    }
    line_cur += (int64_t)(sizeof *h + h->len);
    return h->len;
}

int64_t asp_journal_wall(int64_t wall)
{
    asp_journal_head h;
    if (asp_journal_fd_cur < 0)
        return wall;
    if (self_follow) {
        /* The live instance: its readings are for the next rebuild. */
        append(ASP_JOURNAL_WALL, 0, wall, NULL, 0, 0);
        return wall;
    }
    if (readonly) {
        /* A follower takes the readings of the instance that journaled
         * them, then reads the wall itself (it journals nothing). */
        size = visible_end();
        if (seek_kind(ASP_JOURNAL_WALL, &wall_cur, &h) == 0) {
            wall_cur += (int64_t)(sizeof h + h.len);
            return h.time;
        }
        return wall;
    }
    if (asp_journal_replaying() && seek_kind(ASP_JOURNAL_WALL, &wall_cur, &h) == 0) {
        wall_cur += (int64_t)(sizeof h + h.len);
        return h.time;
    }
    if (!asp_journal_replaying())
        append(ASP_JOURNAL_WALL, 0, wall, NULL, 0, 0);
    return wall;
}

static asp_journal_inject_fn inject_line;
static asp_journal_end_fn inject_end;
static asp_journal_hold_fn hold_sources;
static int holding;

void asp_journal_set_sources(asp_journal_inject_fn inject, asp_journal_end_fn end, asp_journal_hold_fn hold)
{
    inject_line = inject;
    inject_end = end;
    hold_sources = hold;
}

static void hold(int on)
{
    if (holding != on && hold_sources)
        hold_sources(on);
    holding = on;
}

int asp_journal_adopt(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    asp_journal_close();
    asp_journal_fd_cur = fd;
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    line_cur = wall_cur = 0;
    size = st.st_size;
    cache_at = -1;
    return 0;
}

void asp_journal_resumed(void)
{
    may_replay = 1;
    if (asp_journal_replaying())
        hold(1);
}

void asp_journal_feed(int64_t until)
{
    static char *buf;     /* grows to the longest line replayed */
    static size_t cap;
    asp_journal_head h;
    while (asp_journal_peek(&h) == 0 && h.time <= until) {
        int64_t n;
        if (h.len > cap) {
            char *b = realloc(buf, h.len);
            if (!b)
                break;
            buf = b;
            cap = h.len;
        }
        n = asp_journal_take(&h, buf, cap);
        if (n < 0)
            break;
        injecting = 1;
        if (h.kind == ASP_JOURNAL_END) {
            if (inject_end)
                inject_end(h.source, h.status);
        } else if (inject_line) {
            inject_line(h.source, h.time, buf, (size_t)n);
        }
        injecting = 0;
    }
    if (holding && !asp_journal_replaying())
        hold(0);
}

int64_t asp_journal_offset(void)
{
    return line_cur > wall_cur ? line_cur : wall_cur;
}
