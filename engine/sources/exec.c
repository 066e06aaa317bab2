/*
 * asp.exec (docs/sources.md): a subprocess, its standard output a pipe that
 * is a connection of the core (source.c). The stream ends once the output
 * has ended and the process has exited, so that its status is known then.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "signals.h"
#include "sources/exec.h"
#include "sources/source.h"

typedef struct proc {
    uv_process_t h;
    int has_proc;
    int64_t exit_status; /* the exit code, or -signal */
    int exited, out_eof; /* the process exited; its output ended */
    int pgid;            /* the child's process group, while it has members */
    pid_t spawner;       /* the process that started it (not a forked checkpoint) */
} proc;

static void set_exit(asp_live *l, int64_t status)
{
    proc *k = l->impl;
    k->exit_status = status;
    k->exited = 1;
    l->end_status = (int32_t)status;
}

static void on_exit_proc(uv_process_t *p, int64_t status, int signal)
{
    asp_live *l = p->data;
    proc *k = l->impl;
    set_exit(l, signal ? -signal : status);
    /* Its group lives on while a grandchild does: ended when the source
     * closes. An empty group is forgotten (its id may be reused). */
    if (kill(-k->pgid, 0) != 0) {
        asp_signals_untrack_group(k->pgid);
        k->pgid = 0;
    }
    asp__source_close_handle(l, (uv_handle_t *)p);
    if (k->out_eof)
        asp__source_end(l);
}

/* Its output ended: the stream ends once the process has exited too. */
static int exec_conn_ended(asp_live *l, asp_conn *c)
{
    proc *k = l->impl;
    (void)c;
    k->out_eof = 1;
    if (!k->exited && k->spawner != getpid()) {
        /* Time travel: this process is a checkpoint forked after the
         * child was started; the child's exit goes to the process that
         * started it (gone, or another checkpoint), never here. */
        asp__source_warn(l, "the process was started before time travel: its output ended; ",
                         "its exit status cannot be known in this process");
        if (!uv_is_closing((uv_handle_t *)&k->h))
            asp__source_close_handle(l, (uv_handle_t *)&k->h);
    } else if (!k->exited) {
        return 1;
    }
    return 0;
}

/* A journaled end: the status the process had in the original run. */
static void exec_replay_end(asp_live *l, int32_t status)
{
    proc *k = l->impl;
    set_exit(l, status);
    k->out_eof = 1;
    /* The process was the child of the process that journaled its end,
     * not of this one: its handle would wait for an exit never seen. */
    if (k->has_proc && !uv_is_closing((uv_handle_t *)&k->h))
        asp__source_close_handle(l, (uv_handle_t *)&k->h);
}

/* Kills and reaps a process still running when its source closes, so that
 * no zombie remains: SIGTERM, up to 1 s to exit, then SIGKILL. Its handle
 * is closed first, so libuv no longer waits for it. */
static void reap(proc *k)
{
    int pid = k->exited ? 0 : k->h.pid, st, i, grace;
    struct timespec ts = { 0, 5 * 1000 * 1000 };
    if (k->spawner != getpid()) {
        /* A checkpoint resumed by time travel: the child is not its own
         * (no waitpid), but the run that reads it is over. */
        if (k->pgid > 0 && !k->out_eof)
            kill(-k->pgid, SIGTERM);
        return;
    }
    if (pid > 0)
        kill(pid, SIGTERM);
    if (k->pgid > 0)
        kill(-k->pgid, SIGTERM); /* the grandchildren too */
    /* Up to 1 s for the child, then up to 100 ms for the rest of its
     * group (kill(-pgid, 0) also sees zombies that a container's init
     * does not reap: not worth a longer wait). */
    for (i = 0, grace = 0; i < 200 && grace < 20; i++) {
        if (pid > 0) {
            pid_t r = waitpid(pid, &st, WNOHANG);
            if (r == pid || (r < 0 && errno != EINTR))
                pid = 0; /* reaped (or already reaped by libuv) */
        }
        if (pid <= 0 && (k->pgid <= 0 || kill(-k->pgid, 0) != 0))
            break;
        if (pid <= 0)
            grace++;
        nanosleep(&ts, NULL);
    }
    if (k->pgid > 0) {
        kill(-k->pgid, SIGKILL);
        asp_signals_untrack_group(k->pgid);
        k->pgid = 0;
    }
    if (pid > 0) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
    }
}

static void exec_close(asp_live *l)
{
    proc *k = l->impl;
    if (k->has_proc && !k->exited)
        asp__source_close_handle(l, (uv_handle_t *)&k->h);
    if (k->has_proc)
        reap(k);
}

static const asp_source_kind exec_kind = {
    .name = "exec",
    .conn_ended = exec_conn_ended,
    .replay_end = exec_replay_end,
    .close = exec_close,
};

int asp_live_exec(asp_live *l, const char *const *argv, char *err, size_t errlen)
{
    uv_process_options_t o;
    uv_stdio_container_t stdio[3];
    proc *k;
    asp_conn *c;
    int rc;
    if (asp__source_init(l, &exec_kind, sizeof *k, err, errlen) != 0)
        return -1;
    k = l->impl;
    c = asp__conn_new(l);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    uv_pipe_init(asp_sched_loop(l->s), &c->h.pipe, 0);
    c->h.handle.data = l;
    l->handles++;
    memset(&o, 0, sizeof o);
    memset(stdio, 0, sizeof stdio);
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = &c->h.stream;
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = 2;
    o.file = argv[0];
    o.args = (char **)argv;
    o.stdio = stdio;
    o.stdio_count = 3;
    o.exit_cb = on_exit_proc;
    /* setsid() in the child: its own process group, which the run ends as
     * a whole (its grandchildren too) when it stops. */
    o.flags = UV_PROCESS_DETACHED;
    k->h.data = l;
    rc = uv_spawn(asp_sched_loop(l->s), &k->h, &o);
    if (rc != 0) {
        asp__conn_close(l, c);
        /* A failed spawn still needs its handle closed. */
        l->handles++;
        asp__source_close_handle(l, (uv_handle_t *)&k->h);
        snprintf(err, errlen, "cannot run '%s': %s", argv[0], uv_strerror(rc));
        return -1;
    }
    k->has_proc = 1;
    l->handles++;
    k->pgid = k->h.pid;
    k->spawner = getpid();
    asp_signals_track_group(k->pgid);
    asp_live_begin(l);
    asp__conn_start(l, c);
    return 0;
}

int64_t asp_live_exit_status(const asp_live *l)
{
    return l->kind == &exec_kind ? ((const proc *)l->impl)->exit_status : 0;
}

int asp_live_exited(const asp_live *l)
{
    return l->kind == &exec_kind ? ((const proc *)l->impl)->exited : 0;
}
