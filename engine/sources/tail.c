/*
 * asp.tail (docs/sources.md): a file read with pread() at the source's own
 * position (source.c, asp_file), polled every 20 ms and at once on inotify
 * events of its directory. A truncated file is read again from its start;
 * after a rotation the old file is read to its end and followed until it
 * has been quiet for ROTATE_GRACE_MS, and the new one is read from its
 * start. A partial line that can never be completed is dropped and counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "sources/source.h"
#include "sources/tail.h"
#include "time.h"

#define ROTATE_GRACE_MS 1000

#define MARK_MAX 32

typedef struct tail {
    char *path;
    char *base;          /* the file's name in its directory */
    asp_file file;       /* the file at the path */
    /* a rotated-away file, followed until it has been quiet for
     * ROTATE_GRACE_MS (its writer may not have reopened the path yet) */
    asp_file old;
    int64_t old_grew, gone_since;
    asp_conn oldpart;
    int deleted;         /* the path is gone (warned once) */
    uv_timer_t timer;    /* the poll */
    int has_timer;
    uv_fs_event_t dirwatch; /* inotify on the file's directory: polls at once */
    int has_dirwatch;
    /* The last bytes read, as they were in the file before file.pos: when
     * they are not there any more, the file was truncated and written
     * again (copytruncate) even if it has grown back past file.pos. */
    char mark[MARK_MAX];
    size_t mark_len;
} tail;

/* A partial line that can never be completed (its file was truncated or
 * rotated away for good): dropped, with a warning that shows it, and
 * counted in the stream's cut_lines. Never delivered as if complete. */
static void drop_cut(asp_live *l, asp_conn *c, const char *why)
{
    char shown[400], msg[600];
    if (c->lb.plen == 0)
        return;
    asp__source_describe(c, shown, sizeof shown);
    snprintf(msg, sizeof msg, "%s in the middle of a line: dropped its %zu bytes: ", why, c->lb.plen);
    asp__source_warn(l, msg, shown);
    l->cut_lines++;
    c->lb.plen = 0;
}

/* The rotated-away file is done with: its cut last line is dropped. */
static void finish_old(asp_live *l)
{
    tail *k = l->impl;
    if (k->old.fd < 0)
        return;
    drop_cut(l, &k->oldpart, "the rotated file ended");
    close(k->old.fd);
    k->old.fd = -1;
    asp_linebuf_free(&k->oldpart.lb);
}

/* Remembers the bytes just before the position of the current file. */
static void set_mark(tail *k)
{
    size_t n = k->file.pos < MARK_MAX ? (size_t)k->file.pos : MARK_MAX;
    ssize_t r = n ? pread(k->file.fd, k->mark, n, (off_t)(k->file.pos - (int64_t)n)) : 0;
    k->mark_len = r == (ssize_t)n ? n : 0;
}

/* True when the bytes before the position changed: truncated and rewritten. */
static int rewritten(tail *k)
{
    char now[MARK_MAX];
    size_t n = k->mark_len;
    if (n == 0 || k->file.pos < (int64_t)n)
        return 0;
    return pread(k->file.fd, now, n, (off_t)(k->file.pos - (int64_t)n)) != (ssize_t)n ||
           memcmp(now, k->mark, n) != 0;
}

static void poll_tail(asp_live *l)
{
    tail *k = l->impl;
    struct stat cur, named;
    int64_t now = asp_time_wall();
    int r;
    if (k->old.fd >= 0) {
        /* The old file first: its lines came before the new file's. */
        int64_t before = k->old.pos;
        r = asp__file_drain(l, &k->old, &k->oldpart, 0);
        if (r == 0)
            return;
        if (k->old.pos != before)
            k->old_grew = now;
        else if (now - k->old_grew >= (int64_t)ROTATE_GRACE_MS * 1000000)
            finish_old(l);
    }
    if (rewritten(k)) {
        /* Truncated and already written again past where we were. */
        k->file.pos = 0;
        drop_cut(l, &l->filepart, "the file was truncated");
    }
    r = asp__file_drain(l, &k->file, &l->filepart, 1);
    set_mark(k);
    if (r == 0)
        return; /* paused: nothing switches before this file is read to its end */
    if (fstat(k->file.fd, &cur) == 0 && (int64_t)cur.st_size < k->file.pos) {
        /* Truncated (copytruncate): start again at its beginning. */
        k->file.pos = 0;
        drop_cut(l, &l->filepart, "the file was truncated");
        asp__file_drain(l, &k->file, &l->filepart, 1);
        set_mark(k);
        return;
    }
    if (stat(k->path, &named) != 0) {
        /* Deleted (or renamed away): what remains of the open file is
         * read; then the source waits for the path to exist again. */
        if (!k->gone_since)
            k->gone_since = now;
        if (!k->deleted && now - k->gone_since >= (int64_t)ROTATE_GRACE_MS * 1000000) {
            /* Not at once: a rotation leaves the path empty for a moment. */
            k->deleted = 1;
            asp__source_warn(l, "the file is gone: ", "reading what remains of it, then waiting for it to be created again");
        }
        return;
    }
    k->gone_since = 0;
    if (named.st_ino != k->file.ino || named.st_dev != k->file.dev) {
        /* Rotated: the file read so far (to its end, above) is followed
         * for a while yet, its writer may still append to it; the new
         * file at the path is read from its start. */
        int fd = open(k->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &named) != 0 || !S_ISREG(named.st_mode)) {
            if (fd >= 0)
                close(fd);
            return;
        }
        finish_old(l); /* a second rotation within the grace: drained above */
        k->old = k->file;
        k->old_grew = now;
        k->oldpart.lb = l->filepart.lb;
        memset(&l->filepart.lb, 0, sizeof l->filepart.lb);
        k->file.fd = fd;
        k->file.pos = 0;
        k->file.ino = named.st_ino;
        k->file.dev = named.st_dev;
        k->mark_len = 0;
        if (k->deleted) {
            k->deleted = 0;
            asp__source_warn(l, "the file exists again: ", "reading it from its start");
        }
        asp__file_drain(l, &k->file, &l->filepart, 1);
    }
}

static void on_poll(uv_timer_t *t)
{
    asp_live *l = t->data;
    if (l->closing)
        return;
    poll_tail(l);
}

/* inotify (through libuv) on the file's directory: a write, a rename or a
 * new file at the path polls at once, rather than at the next 20 ms tick.
 * The tick stays, as the fallback where inotify is missing or misses. */
static void on_dir_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    asp_live *l = h->data;
    tail *k = l->impl;
    (void)events;
    if (status < 0 || l->closing || l->held)
        return;
    if (filename && strcmp(filename, k->base) != 0 && k->old.fd < 0)
        return;
    /* At once: a file rotated within a few ms must be opened before it is
     * moved away (a poll costs a pread, an fstat and a stat). */
    poll_tail(l);
}

static void watch_dir(asp_live *l)
{
    tail *k = l->impl;
    char *dir = strdup(k->path), *slash;
    if (!dir)
        return;
    slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (uv_fs_event_init(asp_sched_loop(l->s), &k->dirwatch) == 0) {
        k->dirwatch.data = l;
        k->has_dirwatch = 1;
        l->handles++;
        if (uv_fs_event_start(&k->dirwatch, on_dir_event, dir, 0) != 0)
            asp__source_close_handle(l, (uv_handle_t *)&k->dirwatch);
    }
    free(dir);
}

/* A journaled file position (JPOS): the later process read the file to
 * there; this one goes on from there, in the same file if it can. */
static void tail_replay_pos(asp_live *l, const char *data, size_t len)
{
    tail *k = l->impl;
    int64_t pos;
    uint64_t ino, dev;
    if (k->file.fd < 0 || asp__file_pos_record(data, len, &pos, &ino, &dev) != 0)
        return;
    if (ino != (uint64_t)k->file.ino || dev != (uint64_t)k->file.dev) {
        struct stat st;
        int fd = k->path ? open(k->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK) : -1;
        if (fd < 0 || fstat(fd, &st) != 0 || (uint64_t)st.st_ino != ino || (uint64_t)st.st_dev != dev) {
            if (fd >= 0)
                close(fd);
            return; /* that file is gone from the path: the rotation is seen again */
        }
        finish_old(l);
        close(k->file.fd);
        k->file.fd = fd;
        k->file.ino = st.st_ino;
        k->file.dev = st.st_dev;
    }
    asp__file_restore(l, &k->file, pos, data, len);
    set_mark(k);
}

static void tail_close(asp_live *l)
{
    tail *k = l->impl;
    if (k->file.fd >= 0) {
        close(k->file.fd);
        k->file.fd = -1;
    }
    if (k->old.fd >= 0) {
        close(k->old.fd);
        k->old.fd = -1;
    }
    if (k->has_dirwatch)
        asp__source_close_handle(l, (uv_handle_t *)&k->dirwatch);
    if (k->has_timer)
        asp__source_close_handle(l, (uv_handle_t *)&k->timer);
}

static void tail_free(asp_live *l)
{
    tail *k = l->impl;
    free(k->path);
    asp_linebuf_free(&k->oldpart.lb);
}

static const asp_source_kind tail_kind = {
    .name = "tail",
    .replay_pos = tail_replay_pos,
    .close = tail_close,
    .free = tail_free,
};

int asp_live_tail(asp_live *l, const char *path, int64_t offset, char *err, size_t errlen)
{
    struct stat st;
    char *slash;
    tail *k;
    if (asp__source_init(l, &tail_kind, sizeof *k, err, errlen) != 0)
        return -1;
    k = l->impl;
    k->file.fd = -1;
    k->old.fd = -1;
    k->oldpart.owner = l;
    k->path = strdup(path);
    if (!k->path) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    slash = strrchr(k->path, '/');
    k->base = slash ? slash + 1 : k->path;
    /* O_NONBLOCK: a FIFO without a writer would block open() forever. */
    k->file.fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (k->file.fd < 0 || fstat(k->file.fd, &st) != 0) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "cannot follow: not a regular file (%s)",
                 S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a FIFO: read it with asp.stdin or asp.exec { \"cat\", path }" : "a device or socket");
        return -1;
    }
    k->file.ino = st.st_ino;
    k->file.dev = st.st_dev;
    k->file.pos = offset < 0 ? (int64_t)st.st_size : offset;
    asp_live_begin(l);
    uv_timer_init(asp_sched_loop(l->s), &k->timer);
    k->timer.data = l;
    k->has_timer = 1;
    l->handles++;
    if (uv_timer_start(&k->timer, on_poll, 0, ASP_SOURCE_POLL_MS) != 0) {
        snprintf(err, errlen, "cannot poll");
        return -1;
    }
    watch_dir(l);
    return 0;
}
