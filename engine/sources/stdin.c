/*
 * asp.stdin (docs/sources.md). A pipe or a terminal is a connection of the
 * core (source.c); a file is read with pread() at the source's own
 * position, polled every millisecond until its end, which ends the source
 * (its last line needs no newline).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "sources/source.h"
#include "sources/stdin.h"

typedef struct input {
    asp_file file;       /* stdin from a file (fd -1 otherwise) */
    uv_timer_t timer;    /* its poll */
    int has_timer;
} input;

static void on_poll(uv_timer_t *t)
{
    asp_live *l = t->data;
    input *k = l->impl;
    if (l->closing)
        return;
    if (asp__file_drain(l, &k->file, &l->filepart, 1) != 0) {
        asp__source_flush(l, &l->filepart); /* a file's last line needs no newline */
        asp__source_end(l);
    }
}

/* A journaled position: the later process read the file to there. */
static void stdin_replay_pos(asp_live *l, const char *data, size_t len)
{
    input *k = l->impl;
    int64_t pos;
    uint64_t ino, dev;
    if (k->file.fd < 0 || asp__file_pos_record(data, len, &pos, &ino, &dev) != 0)
        return;
    if (ino != (uint64_t)k->file.ino || dev != (uint64_t)k->file.dev)
        return;
    asp__file_restore(l, &k->file, pos, data, len);
}

static void stdin_close(asp_live *l)
{
    input *k = l->impl;
    if (k->file.fd >= 0) {
        close(k->file.fd);
        k->file.fd = -1;
    }
    if (k->has_timer)
        asp__source_close_handle(l, (uv_handle_t *)&k->timer);
}

static const asp_source_kind stdin_kind = {
    .name = "stdin",
    .replay_pos = stdin_replay_pos,
    .close = stdin_close,
};

int asp_live_stdin(asp_live *l, char *err, size_t errlen)
{
    uv_handle_type t = uv_guess_handle(0);
    input *k;
    asp_conn *c;
    int rc;
    if (asp__source_init(l, &stdin_kind, sizeof *k, err, errlen) != 0)
        return -1;
    k = l->impl;
    k->file.fd = -1;
    if (t == UV_FILE) {
        k->file.fd = dup(0);
        if (k->file.fd < 0) {
            snprintf(err, errlen, "cannot read: %s", strerror(errno));
            return -1;
        }
        k->file.pos = lseek(k->file.fd, 0, SEEK_CUR);
        if (k->file.pos < 0)
            k->file.pos = 0;
        asp_live_begin(l);
        uv_timer_init(asp_sched_loop(l->s), &k->timer);
        k->timer.data = l;
        k->has_timer = 1;
        l->handles++;
        return uv_timer_start(&k->timer, on_poll, 0, 1);
    }
    c = asp__conn_new(l);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (t == UV_TTY)
        rc = uv_tty_init(asp_sched_loop(l->s), &c->h.tty, 0, 1);
    else
        rc = uv_pipe_init(asp_sched_loop(l->s), &c->h.pipe, 0);
    if (rc != 0) {
        asp__conn_unlink(l, c);
        free(c);
        snprintf(err, errlen, "cannot read: %s", uv_strerror(rc));
        return -1;
    }
    l->handles++;
    if (t != UV_TTY && (rc = uv_pipe_open(&c->h.pipe, 0)) != 0) {
        asp__conn_close(l, c);
        snprintf(err, errlen, "cannot read: %s", uv_strerror(rc));
        return -1;
    }
    asp_live_begin(l);
    asp__conn_start(l, c);
    return 0;
}
