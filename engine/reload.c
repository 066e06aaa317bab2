/*
 * asp-lua --reload; see reload.h and docs/reload.md.
 *
 * Descriptors a follower inherits (uv_spawn puts them there):
 *   3 the journal (read only by followers), 4 the shared page (the
 *   journal's published end, the "waiting" flag), 5 the read end of the
 *   wake-up pipe, 6 its end of the control socket, 7 asp.keep's values.
 * Control lines: follower -> coordinator "ready" (caught up with the
 * journal's end), "stopped P" (the old instance, held at P) and "live" (the
 * new one reached its live moment); coordinator -> follower "go P" (replay
 * up to P muted, then run live from P), "stop", and to the held old
 * instance "exit" or "resume" (the new code failed before its live moment:
 * the old one takes the journal on from P).
 */
#define _GNU_SOURCE /* memfd_create, pipe2 */
#include "reload.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "engine.h"
#include "journal.h"
#include "signals.h"
#include "time.h"
#include "writer.h"

extern char **environ;

enum { FD_JOURNAL = 3, FD_SHARED = 4, FD_WAKE = 5, FD_CTL = 6, FD_KEPT = 7 };
/* A follower's exit status when the file it was started for changed while
 * it read it: not an error of the new code (the coordinator rebuilds). */
enum { EXIT_TORN = 75 };
#define SETTLE_MS 60
/* How long the old instance may take to deliver its lines before P (a
 * callback that sleeps holds its stream's later lines): then the handover
 * is given up and the old instance goes on. ASP_RELOAD_DEADLINE (seconds)
 * sets it: a slow machine or a sanitizer build needs more. */
#define DRAIN_DEADLINE_MS 3000
#define MAX_WATCHED 64

typedef struct shared_page {
    int64_t end;       /* the journal's published end */
    int32_t waiting;   /* the live follower sleeps until the end moves */
    int32_t reloads;   /* reloads done so far */
} shared_page;

/* A follower, seen from the coordinator. */
typedef struct kid {
    uv_process_t proc;
    uv_pipe_t ctl;
    int open_handles;
    int exited, killed, stopping;
    int promoted, live;       /* told "go P"; said "live" */
    char buf[256];
    size_t blen;
} kid;

static struct {
    int role;               /* 0, 1 coordinator, 2 follower */
    shared_page *sh;
    int shm_fd, wake_r, wake_w, kept_fd;
    /* coordinator */
    char **argv;
    int argc;
    char exe[4096];
    char *watched[MAX_WATCHED];
    uv_fs_event_t *dirs[MAX_WATCHED];
    char *dirnames[MAX_WATCHED];
    int nwatched, ndirs;
    uv_timer_t settle, deadline;
    uint64_t deadline_ms; /* of the drain (ASP_RELOAD_DEADLINE) */
    int settle_on;
    char changed[4096];
    int64_t save_t0, last_size, last_mtime;
    int deleted, empty;
    kid *building, *current;  /* current NULL: this process runs the code */
    kid *held;                /* the old instance, stopped at P */
    int pending;              /* a save came during a rebuild */
    int in_handover;          /* from "ready" until the new code is live or failed */
    int handover, draining, handed;
    int self_held;            /* this process, stopped at P, waits for the verdict */
    int abort;                /* this process's drain took too long: it goes on */
    int self_following;       /* this process's run takes its input from the journal */
    int64_t P;
    /* follower */
    int catching_up, sent_ready, stop_asked, stopping;
    int64_t t0;
    char stamp[4200];         /* "size mtime path" of the file as the coordinator saw it stable */
    uv_poll_t wake_poll, ctl_poll;
    int polls;
} R = { .shm_fd = -1, .wake_r = -1, .wake_w = -1, .kept_fd = -1 };

int asp_reload_role(void)
{
    return R.role;
}

int asp_reload_replaying(void)
{
    return R.role == 2 && R.catching_up;
}

int asp_reload_count(void)
{
    return R.sh ? R.sh->reloads : 0;
}

int asp_reload_kept_fd(void)
{
    return R.kept_fd;
}

int asp_reload_phantom(asp_live *l)
{
    return asp__source_phantom(l);
}

/* -- Writers committed at the handover ------------------------------------ */

static void **writers;
static int nwriters, capwriters;

void asp_reload_writer(void *w, int on)
{
    for (int i = 0; i < nwriters; i++) {
        if (writers[i] == w) {
            if (!on)
                writers[i] = writers[--nwriters];
            return;
        }
    }
    if (!on)
        return;
    if (nwriters == capwriters) {
        int cap = capwriters ? 2 * capwriters : 16;
        void **n = realloc(writers, (size_t)cap * sizeof *n);
        if (!n)
            return;
        writers = n;
        capwriters = cap;
    }
    writers[nwriters++] = w;
}

/* The instance stops at P: its writers' rows go to their files (appended
 * rows flushed, a replay's file committed under its name) before the next
 * instance appends to them. */
static void commit_writers(void)
{
    for (int i = 0; i < nwriters; i++) {
        asp_writer *w = writers[i];
        if (asp_writer_commit(w) != 0)
            fprintf(stderr, "asp.writer: %s (at the reload's handover)\n", asp_writer_error(w));
    }
}

/* The new code failed before its live moment: the old instance writes on,
 * appending to the files it committed. */
static void reopen_writers(void)
{
    for (int i = 0; i < nwriters; i++) {
        asp_writer *w = writers[i];
        if (asp_writer_reopen(w) != 0)
            fprintf(stderr, "asp.writer: %s (resuming after a failed reload)\n", asp_writer_error(w));
    }
}

/* 1,234,567 */
static const char *thousands(int64_t n, char *out, size_t cap)
{
    char tmp[32];
    int len = snprintf(tmp, sizeof tmp, "%lld", (long long)n), k = 0;
    for (int i = 0; i < len && (size_t)k + 2 < cap; i++) {
        if (i > 0 && tmp[0] != '-' && (len - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = tmp[i];
    }
    out[k] = '\0';
    return out;
}

static const char *base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* A file's size and modification time, or -1 and -1 when it is gone. */
static void file_stamp(const char *path, int64_t *size, int64_t *mtime)
{
    struct stat st;
    *size = *mtime = -1;
    if (stat(path, &st) == 0) {
        *size = (int64_t)st.st_size;
        *mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + (int64_t)st.st_mtim.tv_nsec;
    }
}

/* -- The coordinator ------------------------------------------------------ */

static void wake_follower(void)
{
    /* The live follower set waiting before its last look: one byte wakes
     * it (and only then: no write per line). */
    if (__atomic_exchange_n(&R.sh->waiting, 0, __ATOMIC_SEQ_CST)) {
        ssize_t w = write(R.wake_w, "w", 1);
        (void)w;
    }
}

static void send_line(kid *k, const char *msg)
{
    uv_os_fd_t fd;
    if (k && uv_fileno((uv_handle_t *)&k->ctl, &fd) == 0) {
        ssize_t w = write(fd, msg, strlen(msg));
        (void)w;
    }
}

static void kid_closed(uv_handle_t *h)
{
    kid *k = h->data;
    if (--k->open_handles == 0)
        free(k);
}

static void forget_kid(kid *k)
{
    if (!uv_is_closing((uv_handle_t *)&k->ctl))
        uv_close((uv_handle_t *)&k->ctl, kid_closed);
    if (!uv_is_closing((uv_handle_t *)&k->proc))
        uv_close((uv_handle_t *)&k->proc, kid_closed);
}

static void start_build(void);
static void on_settle(uv_timer_t *t);

static void failed(const kid *k, int64_t status, int sig)
{
    if (!k->killed)
        fprintf(stderr, "reload: the new code failed (%s %d); still running the old code\n",
                sig ? "signal" : "exit status", sig ? sig : (int)status);
}

/* A handover is over (the new code live, or the old one resumed): a save
 * that came meanwhile is rebuilt now. */
static void handover_done(void)
{
    R.in_handover = 0;
    uv_timer_stop(&R.deadline);
    if (R.pending && !R.building) {
        R.pending = 0;
        start_build();
    }
}

static void on_exit_kid(uv_process_t *p, int64_t status, int sig)
{
    kid *k = p->data;
    k->exited = 1;
    if (k == R.held) {
        R.held = NULL; /* told to exit: the new code is live */
        forget_kid(k);
        return;
    }
    if (k == R.current && k->promoted && !k->live && (R.held || R.self_held)) {
        /* The new code failed between "go P" and its live moment: it has
         * processed nothing live, the old instance takes over again at P.
         * (Were the old one gone too, the session ends below.) */
        failed(k, status, sig);
        R.sh->reloads--;
        if (R.held) {
            R.current = R.held;
            R.held = NULL;
            send_line(R.current, "resume\n");
            R.current->stopping = 0;
            handover_done();
        } else {
            R.current = NULL;
            R.self_held = 0; /* coord_hook resumes this process's run */
        }
        forget_kid(k);
        return;
    }
    if (k == R.current) {
        /* The instance running the code ended: so does the session. */
        if (R.building && !R.building->exited)
            uv_process_kill(&R.building->proc, SIGKILL);
        /* Its Lua state is in the middle of a run it handed over: no
         * lua_close, no atexit (LeakSanitizer would call that a leak). */
        fflush(NULL);
        _exit(sig ? 128 + sig : (int)status);
    }
    if (k == R.building) {
        int64_t size, mtime;
        R.building = NULL;
        file_stamp(R.changed, &size, &mtime);
        if (!sig && (status == EXIT_TORN || size != R.last_size || mtime != R.last_mtime)) {
            /* Saved again while the new code read it (its error, if any,
             * may be of a half-written text): the later save is rebuilt. */
            fprintf(stderr, "reload: %s changed while the new code read it\n", base(R.changed));
            R.pending = 0;
            R.last_size = R.last_mtime = -1;
            R.settle_on = 1;
            uv_timer_start(&R.settle, on_settle, SETTLE_MS, 0);
            forget_kid(k);
            return;
        }
        failed(k, status, sig);
        /* After "ready": the old instance stopping at P is resumed when
         * it has stopped (no one to promote). */
        if (R.pending && !R.in_handover) {
            R.pending = 0;
            start_build();
        }
    }
    forget_kid(k);
}

static void on_ctl_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    kid *k = h->data;
    (void)suggested;
    buf->base = k->buf + k->blen;
    buf->len = sizeof k->buf - 1 - k->blen;
}

/* The old instance did not reach P in time: the new one is killed, the old
 * one goes on (what it forwarded meanwhile it takes back from the journal). */
static void on_deadline(uv_timer_t *t)
{
    (void)t;
    if (!R.in_handover || !R.building || R.building->killed)
        return;
    fprintf(stderr, "reload: the old code did not reach the handover point within %g s (a callback that "
                    "sleeps holds its stream's lines); still running the old code\n", (double)R.deadline_ms / 1000);
    R.building->killed = 1;
    uv_process_kill(&R.building->proc, SIGKILL);
    if (!R.current) {
        R.abort = 1; /* coord_hook, at this process's next item */
    } else {
        send_line(R.current, "resume\n");
        R.current->stopping = 0;
        handover_done();
    }
}

/* A follower caught up: the running instance stops at P. */
static void handle_ready(void)
{
    R.in_handover = 1;
    uv_timer_start(&R.deadline, on_deadline, R.deadline_ms, 0);
    if (!R.current) {
        R.handover = 1; /* this process: at its next item (coord_hook) */
    } else {
        R.current->stopping = 1;
        send_line(R.current, "stop\n");
    }
}

/* The old instance stopped at P (held until the new one is live). */
static void promote(int64_t P)
{
    char msg[64];
    snprintf(msg, sizeof msg, "go %lld\n", (long long)P);
    uv_timer_stop(&R.deadline);
    R.sh->reloads++;
    send_line(R.building, msg);
    R.held = R.current;
    R.current = R.building;
    R.current->promoted = 1;
    R.building = NULL;
}

/* The new code reached its live moment: the old instance ends. */
static void went_live(kid *k)
{
    k->live = 1;
    if (R.held) {
        send_line(R.held, "exit\n");
    } else {
        R.self_held = 0;
        R.handed = 1;
    }
    handover_done();
}

static void on_ctl_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    kid *k = st->data;
    char *nl;
    (void)buf;
    if (n <= 0) {
        if (n < 0)
            uv_read_stop(st);
        return;
    }
    k->blen += (size_t)n;
    k->buf[k->blen] = '\0';
    while ((nl = strchr(k->buf, '\n'))) {
        *nl = '\0';
        if (strcmp(k->buf, "ready") == 0 && k == R.building)
            handle_ready();
        else if (strncmp(k->buf, "stopped ", 8) == 0 && k == R.current && R.building && !R.building->killed)
            promote(strtoll(k->buf + 8, NULL, 10));
        else if (strncmp(k->buf, "stopped ", 8) == 0 && k == R.current) {
            /* The new code failed after "ready": no handover. */
            send_line(k, "resume\n");
            k->stopping = 0;
            handover_done();
        } else if (strcmp(k->buf, "live") == 0 && k == R.current && k->promoted)
            went_live(k);
        k->blen -= (size_t)(nl + 1 - k->buf);
        memmove(k->buf, nl + 1, k->blen + 1);
    }
    if (k->blen >= sizeof k->buf - 1)
        k->blen = 0;
}

static void start_build(void)
{
    uv_loop_t *loop = asp_sched_loop(asp_engine_sched());
    uv_process_options_t o;
    uv_stdio_container_t st[8];
    int sv[2], rc, nenv = 0;
    char t0[64], n[64], stamp[4300], **env;
    kid *k;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        fprintf(stderr, "reload: cannot rebuild (%s)\n", strerror(errno));
        return;
    }
    k = calloc(1, sizeof *k);
    while (environ[nenv])
        nenv++;
    env = calloc((size_t)nenv + 5, sizeof *env);
    if (!k || !env) {
        free(k);
        free(env);
        close(sv[0]);
        close(sv[1]);
        return;
    }
    memcpy(env, environ, (size_t)nenv * sizeof *env);
    snprintf(t0, sizeof t0, "ASP_RELOAD_T0=%lld", (long long)R.save_t0);
    snprintf(n, sizeof n, "ASP_RELOAD_CHILD=%d", R.sh->reloads + 1);
    snprintf(stamp, sizeof stamp, "ASP_RELOAD_STAMP=%lld %lld %s", (long long)R.last_size,
             (long long)R.last_mtime, R.changed);
    env[nenv] = t0;
    env[nenv + 1] = n;
    env[nenv + 2] = stamp;
    memset(&o, 0, sizeof o);
    memset(st, 0, sizeof st);
    for (int i = 0; i < 8; i++)
        st[i].flags = UV_INHERIT_FD;
    st[0].data.fd = 0;
    st[1].data.fd = 1;
    st[2].data.fd = 2;
    st[FD_JOURNAL].data.fd = asp_journal_fd();
    st[FD_SHARED].data.fd = R.shm_fd;
    st[FD_WAKE].data.fd = R.wake_r;
    st[FD_CTL].data.fd = sv[1];
    st[FD_KEPT].data.fd = R.kept_fd;
    o.file = R.exe;
    o.args = R.argv;
    o.env = env;
    o.stdio = st;
    o.stdio_count = 8;
    o.exit_cb = on_exit_kid;
    fflush(NULL);
    rc = uv_spawn(loop, &k->proc, &o);
    free(env);
    close(sv[1]);
    if (rc != 0) {
        fprintf(stderr, "reload: cannot start the new code (%s)\n", uv_strerror(rc));
        close(sv[0]);
        free(k);
        return;
    }
    k->proc.data = k;
    k->open_handles = 2;
    uv_pipe_init(loop, &k->ctl, 0);
    uv_pipe_open(&k->ctl, sv[0]);
    k->ctl.data = k;
    uv_read_start((uv_stream_t *)&k->ctl, on_ctl_alloc, on_ctl_read);
    R.building = k;
}

static void on_settle(uv_timer_t *t)
{
    int64_t size, mtime;
    (void)t;
    R.settle_on = 0;
    file_stamp(R.changed, &size, &mtime);
    if (size < 0) {
        if (!R.deleted)
            fprintf(stderr, "reload: %s was deleted; still running the old code, watching for it again\n",
                    base(R.changed));
        R.deleted = 1;
        return;
    }
    R.deleted = 0;
    /* Stable: the same size and time on two looks SETTLE_MS apart (an
     * editor's truncate-then-write, or a write in several pieces). An
     * empty file is one being written: its next write is a save. */
    if (size != R.last_size || mtime != R.last_mtime) {
        R.last_size = size;
        R.last_mtime = mtime;
        R.settle_on = 1;
        uv_timer_start(&R.settle, on_settle, SETTLE_MS, 0);
        return;
    }
    if (size == 0) {
        if (!R.empty)
            fprintf(stderr, "reload: %s is empty; still running the old code, waiting for it to be written\n",
                    base(R.changed));
        R.empty = 1;
        return;
    }
    R.empty = 0;
    fprintf(stderr, "reload: %s changed; rebuilding …\n", base(R.changed));
    if (R.in_handover) {
        R.pending = 1; /* after this handover */
        return;
    }
    if (R.building) {
        /* The later save wins: one rebuild at a time. */
        R.building->killed = 1;
        uv_process_kill(&R.building->proc, SIGKILL);
        R.pending = 1;
        return;
    }
    start_build();
}

static void on_dir_event(uv_fs_event_t *h, const char *file, int events, int status)
{
    char path[4096];
    (void)events;
    if (status != 0 || !file)
        return;
    snprintf(path, sizeof path, "%s/%s", (const char *)h->data, file);
    for (int i = 0; i < R.nwatched; i++) {
        if (strcmp(R.watched[i], path) == 0) {
            if (!R.settle_on) {
                R.save_t0 = asp_time_wall();
                R.last_size = R.last_mtime = -1;
            }
            snprintf(R.changed, sizeof R.changed, "%s", path);
            R.settle_on = 1;
            uv_timer_start(&R.settle, on_settle, SETTLE_MS, 0);
            return;
        }
    }
}

void asp_reload_watch(const char *file)
{
    char *path, *slash, *dir;
    uv_fs_event_t *h;
    if (R.role != 1 || R.nwatched == MAX_WATCHED || !(path = realpath(file, NULL)))
        return;
    for (int i = 0; i < R.nwatched; i++) {
        if (strcmp(R.watched[i], path) == 0) {
            free(path);
            return;
        }
    }
    R.watched[R.nwatched++] = path;
    slash = strrchr(path, '/');
    dir = strndup(path, slash > path ? (size_t)(slash - path) : 1);
    for (int i = 0; i < R.ndirs; i++) {
        if (strcmp(R.dirnames[i], dir) == 0) {
            free(dir);
            return;
        }
    }
    /* The folder, not the file: an editor's save by rename replaces the
     * file's inode, and a deleted file may come back. */
    h = calloc(1, sizeof *h);
    if (!h || R.ndirs == MAX_WATCHED || uv_fs_event_init(asp_sched_loop(asp_engine_sched()), h) != 0) {
        free(h);
        free(dir);
        return;
    }
    h->data = dir;
    if (uv_fs_event_start(h, on_dir_event, dir, 0) != 0) {
        fprintf(stderr, "reload: cannot watch %s\n", dir);
        uv_close((uv_handle_t *)h, (uv_close_cb)free);
        free(dir);
        return;
    }
    uv_unref((uv_handle_t *)h);
    R.dirs[R.ndirs] = h;
    R.dirnames[R.ndirs++] = dir;
}

/* The handed-over coordinator only reads its sources into the journal. */
static void forward_forever(asp_sched *s)
{
    int passed = 0;
    for (;;) {
        uv_run(asp_sched_loop(s), UV_RUN_ONCE);
        /* Ctrl-C or SIGTERM to the coordinator: the instance running the
         * code stops as a run does; the session exits with its status. */
        if (asp_sched_interrupt_pending(s) && !passed && R.current && !R.current->exited) {
            uv_process_kill(&R.current->proc, asp_signals_received());
            passed = 1;
        }
    }
}

/* This process, stopped at P, waits until the new code is live (then it
 * only forwards) or failed (then its run goes on from P). */
static void hold_self(asp_sched *s)
{
    R.self_held = 1;
    while (R.self_held) {
        uv_run(asp_sched_loop(s), UV_RUN_ONCE);
        /* Ctrl-C or SIGTERM before the new code is live: it is stopped,
         * and this run stops as a run does. */
        if (asp_sched_interrupt_pending(s) && R.current && !R.current->exited && !R.current->killed) {
            R.current->killed = 1;
            uv_process_kill(&R.current->proc, SIGKILL);
        }
    }
    if (R.handed)
        forward_forever(s);
}

/* The run goes on from P, its live input taken from the journal. */
static void resume_self(void)
{
    if (!R.self_following)
        asp_journal_self_follow(R.P);
    else
        asp_journal_set_limit(INT64_MAX);
    R.self_following = 1;
    reopen_writers();
    R.handover = R.draining = 0;
    handover_done();
}

static int coord_hook(asp_sched *s, int idle)
{
    if (!R.handover)
        return R.self_following && idle ? asp_journal_replaying() : 0;
    if (R.abort) {
        R.abort = 0;
        if (R.draining) {
            resume_self();
        } else {
            R.handover = 0;
            handover_done();
        }
        return 0;
    }
    if (!R.draining) {
        /* The handover point: every line journaled before P is in this
         * process's queues (or, once resumed, taken from the journal up to
         * P); those after it go to the journal only. */
        asp__source_forward_all();
        R.P = asp_journal_end_offset();
        if (R.self_following)
            asp_journal_set_limit(R.P);
        R.draining = 1;
    }
    if (!idle && !(R.self_following && asp_journal_replaying()) && asp__source_all_drained()) {
        commit_writers();
        fflush(NULL);
        if (R.building) {
            promote(R.P);
            hold_self(s);
        }
        resume_self();
    }
    return R.self_following && idle ? asp_journal_replaying() : 0;
}

static int shared_setup(void)
{
    int p[2];
    R.shm_fd = memfd_create("asp-lua-reload", MFD_CLOEXEC);
    if (R.shm_fd < 0 || ftruncate(R.shm_fd, sizeof *R.sh) != 0)
        return -1;
    R.sh = mmap(NULL, sizeof *R.sh, PROT_READ | PROT_WRITE, MAP_SHARED, R.shm_fd, 0);
    if (R.sh == MAP_FAILED) {
        R.sh = NULL;
        return -1;
    }
    R.kept_fd = memfd_create("asp-lua-kept", MFD_CLOEXEC);
    if (R.kept_fd < 0 || pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    R.wake_r = p[0];
    R.wake_w = p[1];
    return 0;
}

/* ASP_RELOAD_DEADLINE: seconds, > 0 and at most a day; 0 when it is bad. */
static uint64_t deadline_from_env(void)
{
    const char *v = getenv("ASP_RELOAD_DEADLINE");
    char *end;
    double sec;
    if (!v)
        return DRAIN_DEADLINE_MS;
    errno = 0;
    sec = strtod(v, &end);
    if (errno != 0 || end == v || *end != '\0' || !(sec > 0) || sec > 86400) {
        fprintf(stderr, "asp-lua: --reload: ASP_RELOAD_DEADLINE is '%s': a number of seconds above 0 "
                        "(at most 86400) expected\n", v);
        return 0;
    }
    return (uint64_t)(sec * 1000 + 0.5) ? (uint64_t)(sec * 1000 + 0.5) : 1;
}

int asp_reload_start(char **argv, int argc, int script)
{
    size_t len = sizeof R.exe;
    asp_sched *s = asp_engine_sched();
    R.deadline_ms = deadline_from_env();
    if (R.deadline_ms == 0)
        return -1;
    if (uv_exepath(R.exe, &len) != 0 || shared_setup() != 0 || asp_journal_open_private(NULL) != 0) {
        fprintf(stderr, "asp-lua: --reload: cannot set up (%s)\n", strerror(errno));
        return -1;
    }
    R.role = 1;
    R.argv = argv;
    R.argc = argc;
    asp_journal_share(&R.sh->end, wake_follower);
    uv_timer_init(asp_sched_loop(s), &R.settle);
    uv_unref((uv_handle_t *)&R.settle);
    uv_timer_init(asp_sched_loop(s), &R.deadline);
    uv_unref((uv_handle_t *)&R.deadline);
    asp_reload_watch(argv[script]);
    if (R.nwatched == 0) {
        fprintf(stderr, "asp-lua: --reload: cannot watch %s\n", argv[script]);
        return -1;
    }
    asp_sched_reload_hook = coord_hook;
    return 0;
}

/* -- A follower ------------------------------------------------------------ */

static void on_wake(uv_poll_t *p, int status, int events)
{
    char b[64];
    (void)p;
    (void)status;
    (void)events;
    while (read(FD_WAKE, b, sizeof b) > 0)
        ;
}

static void on_ctl(uv_poll_t *p, int status, int events)
{
    char b[64];
    ssize_t n = read(FD_CTL, b, sizeof b - 1);
    (void)status;
    (void)events;
    if (n > 0 && memmem(b, (size_t)n, "stop", 4))
        R.stop_asked = 1;
    if (n > 0 && memmem(b, (size_t)n, "resume", 6) && (R.stop_asked || R.stopping)) {
        /* The handover was given up before this instance reached P. */
        R.stop_asked = R.stopping = 0;
        asp_journal_set_limit(INT64_MAX);
    }
    if (n == 0) {
        /* The coordinator is gone: so is the live input. */
        uv_poll_stop(p);
        fflush(NULL);
        _exit(1);
    }
}

/* Blocks for the coordinator's next line on the control socket (into b,
 * with its newline); the coordinator gone, this process ends. */
static void read_ctl_line(char *b, size_t cap)
{
    size_t k = 0;
    while (k < cap - 1) {
        ssize_t n = read(FD_CTL, b + k, 1);
        if (n < 0 && errno == EAGAIN) {
            /* uv_poll made the socket non-blocking. */
            struct pollfd p = { .fd = FD_CTL, .events = POLLIN };
            poll(&p, 1, -1);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(1);
        if (b[k++] == '\n')
            break;
    }
    b[k] = '\0';
}

/* Blocks for "go P" (the follower has nothing else to do meanwhile). */
static int64_t wait_go(void)
{
    char b[128];
    read_ctl_line(b, sizeof b);
    if (strncmp(b, "go ", 3) != 0)
        _exit(1);
    return strtoll(b + 3, NULL, 10);
}

static void go_live_now(asp_sched *s)
{
    char e[32], m[32];
    int64_t lines = asp__source_replayed_lines(), events = (int64_t)asp_sched_events(s);
    R.catching_up = 0;
    asp_journal_set_limit(INT64_MAX);
    uv_poll_init(asp_sched_loop(s), &R.wake_poll, FD_WAKE);
    uv_poll_start(&R.wake_poll, UV_READABLE, on_wake);
    uv_poll_init(asp_sched_loop(s), &R.ctl_poll, FD_CTL);
    uv_poll_start(&R.ctl_poll, UV_READABLE, on_ctl);
    uv_unref((uv_handle_t *)&R.ctl_poll);
    R.polls = 1;
    fprintf(stderr, "reload: caught up in %.2f s (%s past events, %s live lines); now running the new code\n",
            (double)(asp_time_wall() - R.t0) / 1e9, thousands(events - lines, e, sizeof e),
            thousands(lines, m, sizeof m));
    fflush(stderr);
    if (write(FD_CTL, "live\n", 5) < 0)
        _exit(1);
}

/* The old instance, stopped at P: "exit" once the new code is live, or
 * "resume" when it failed before (this run goes on from P). */
static void held(void)
{
    char b[64];
    read_ctl_line(b, sizeof b);
    if (strcmp(b, "resume\n") != 0)
        _exit(0);
    R.stopping = R.stop_asked = 0;
    asp_journal_set_limit(INT64_MAX);
    reopen_writers();
}

static int child_hook(asp_sched *s, int idle)
{
    if (R.catching_up) {
        if (!idle || asp_journal_replaying())
            return idle; /* records to take: look again */
        if (!R.sent_ready) {
            /* Caught up with the journal's end: the running instance
             * stops at P, and this one replays on to exactly P. */
            ssize_t w = write(FD_CTL, "ready\n", 6);
            (void)w;
            R.sent_ready = 1;
            asp_journal_set_limit(wait_go());
            return 1;
        }
        go_live_now(s);
        return 1;
    }
    if (!idle) {
        if (R.stop_asked && !R.stopping) {
            /* Stop at P: take every record published so far, deliver
             * them, and no more. */
            int64_t P = asp_journal_end_offset();
            R.stopping = 1;
            asp_journal_set_limit(P);
            R.t0 = P;
        }
        /* asp_journal_replaying() first: it moves this process's view of
         * the journal's end up to P (feeding on a stale view took nothing
         * of the records just published, and they were lost: the old code
         * stopped before them, the new one replayed them muted). */
        while (R.stopping && asp_journal_replaying())
            asp_journal_feed(INT64_MAX);
        if (R.stopping && asp__source_all_drained()) {
            char msg[64];
            snprintf(msg, sizeof msg, "stopped %lld\n", (long long)R.t0);
            commit_writers();
            fflush(NULL);
            if (write(FD_CTL, msg, strlen(msg)) < 0)
                _exit(1);
            held();
        }
        return 0;
    }
    if (R.stopping)
        return 0;
    __atomic_store_n(&R.sh->waiting, 1, __ATOMIC_SEQ_CST);
    return asp_journal_replaying();
}

/* The file the coordinator saw stable is not that any more: saved again
 * while this process read it. */
int asp_reload_torn(void)
{
    long long size, mtime;
    int64_t s, m;
    int at = 0;
    if (R.role != 2 || sscanf(R.stamp, "%lld %lld %n", &size, &mtime, &at) != 2 || at == 0)
        return 0;
    file_stamp(R.stamp + at, &s, &m);
    if (s == size && m == mtime)
        return 0;
    fflush(NULL);
    _exit(EXIT_TORN);
}

int asp_reload_child_init(void)
{
    const char *c = getenv("ASP_RELOAD_CHILD"), *t0 = getenv("ASP_RELOAD_T0");
    if (!c)
        return 0;
    R.role = 2;
    R.t0 = t0 ? strtoll(t0, NULL, 10) : asp_time_wall();
    snprintf(R.stamp, sizeof R.stamp, "%s", getenv("ASP_RELOAD_STAMP") ? getenv("ASP_RELOAD_STAMP") : "");
    unsetenv("ASP_RELOAD_STAMP");
    unsetenv("ASP_RELOAD_CHILD");
    unsetenv("ASP_RELOAD_T0");
    R.sh = mmap(NULL, sizeof *R.sh, PROT_READ | PROT_WRITE, MAP_SHARED, FD_SHARED, 0);
    if (R.sh == MAP_FAILED) {
        fprintf(stderr, "asp-lua: reload: no shared page (%s)\n", strerror(errno));
        return -1;
    }
    fcntl(FD_JOURNAL, F_SETFD, FD_CLOEXEC);
    fcntl(FD_SHARED, F_SETFD, FD_CLOEXEC);
    fcntl(FD_WAKE, F_SETFD, FD_CLOEXEC);
    fcntl(FD_CTL, F_SETFD, FD_CLOEXEC);
    fcntl(FD_KEPT, F_SETFD, FD_CLOEXEC);
    R.kept_fd = FD_KEPT;
    fcntl(FD_WAKE, F_SETFL, O_NONBLOCK);
    asp_journal_follow(FD_JOURNAL, &R.sh->end);
    R.catching_up = 1;
    asp_sched_reload_hook = child_hook;
    asp_reload_torn(); /* before the script is read */
    return 1;
}

void asp_reload_close(void)
{
    asp_sched *s = asp_engine_sched_if_made();
    if (R.role == 1) {
        if (R.building && !R.building->exited)
            uv_process_kill(&R.building->proc, SIGKILL);
        if (s) {
            for (int i = 0; i < R.ndirs; i++)
                uv_close((uv_handle_t *)R.dirs[i], (uv_close_cb)free);
            uv_close((uv_handle_t *)&R.settle, NULL);
            uv_close((uv_handle_t *)&R.deadline, NULL);
            if (R.building)
                forget_kid(R.building);
            uv_run(asp_sched_loop(s), UV_RUN_NOWAIT);
        }
    } else if (R.role == 2 && R.polls && s) {
        uv_close((uv_handle_t *)&R.wake_poll, NULL);
        uv_close((uv_handle_t *)&R.ctl_poll, NULL);
        uv_run(asp_sched_loop(s), UV_RUN_NOWAIT);
    }
    asp_sched_reload_hook = NULL;
    R.role = R.role ? -R.role : 0;
}
