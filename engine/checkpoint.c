/*
 * Checkpoints as forked processes; see checkpoint.h and docs/repl.md.
 */
#include "checkpoint.h"
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "asp_ffi.h"
#include "io.h"
#include "progress.h"
#include "time.h"
#include "sched.h"

/* -- Bookkeeping ----------------------------------------------------------- */

void asp_cps_init(asp_cps *c, int max)
{
    memset(c, 0, sizeof *c);
    if (max < 2)
        max = 2;
    if (max > ASP_CHECKPOINTS_MAX - 1)
        max = ASP_CHECKPOINTS_MAX - 1;
    c->max = max;
    c->next_id = 1;
}

int asp_cps_add(asp_cps *c, pid_t pid, int fd, int64_t items, int64_t ns)
{
    asp_cp *e;
    if (c->n >= ASP_CHECKPOINTS_MAX)
        return -1;
    e = &c->cp[c->n];
    e->id = c->next_id++;
    e->pid = pid;
    e->fd = fd;
    e->ack = -1;
    e->items = items;
    e->ns = ns;
    return c->n++;
}

int asp_cps_victim(const asp_cps *c)
{
    int best = -1;
    int64_t best_gap = 0;
    if (c->n <= c->max)
        return -1;
    for (int i = 1; i < c->n - 1; i++) {
        int64_t gap = c->cp[i + 1].items - c->cp[i - 1].items;
        if (best < 0 || gap < best_gap) {
            best = i;
            best_gap = gap;
        }
    }
    return best;
}

void asp_cps_remove(asp_cps *c, int i)
{
    if (i < 0 || i >= c->n)
        return;
    memmove(&c->cp[i], &c->cp[i + 1], (size_t)(c->n - i - 1) * sizeof c->cp[0]);
    c->n--;
}

int asp_cps_find(const asp_cps *c, int kind, int64_t target)
{
    for (int i = c->n - 1; i >= 0; i--) {
        int64_t key = kind == ASP_TARGET_ITEMS ? c->cp[i].items : c->cp[i].ns;
        if (key <= target)
            return i;
    }
    return -1;
}

int asp_cps_index(const asp_cps *c, int32_t id)
{
    for (int i = 0; i < c->n; i++)
        if (c->cp[i].id == id)
            return i;
    return -1;
}

/* -- Processes --------------------------------------------------------------- */

/* What the supervisor and every foreground share. */
typedef struct shared {
    volatile pid_t foreground; /* whose exit status is the session's */
    /* Where the live journal failed: the run's items and clock then. */
    volatile int journal_lost;
    volatile int64_t lost_items, lost_ns;
} shared;

/* The command a checkpoint waits for: resume towards a target. */
typedef struct resume_msg {
    int32_t kind;
    int32_t n;                         /* checkpoints still alive before it */
    int64_t target;
    int32_t ids[ASP_CHECKPOINTS_MAX];
} resume_msg;

static asp_cps cps;
static int enabled;
static int generation;
static shared *shm;
static int32_t resume_kind;
static int64_t resume_target;

int asp_checkpoint_enabled(void)
{
    return enabled;
}

int asp_checkpoint_generation(void)
{
    return generation;
}

static void forward_signal(int sig)
{
    if (shm && shm->foreground > 0)
        kill(shm->foreground, SIGTERM);
    (void)sig;
}

/* The supervisor: reaps every process of the session, then exits with the
 * status of the last foreground. */
static void supervise(void)
{
    int status_out = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    sa.sa_handler = forward_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    for (;;) {
        int st;
        pid_t p = waitpid(-1, &st, 0);
        if (p < 0) {
            if (errno == EINTR)
                continue;
            break; /* ECHILD: the session is over */
        }
        if (p == shm->foreground)
            status_out = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    _exit(status_out);
}

/* The session's live journal: a private file (see asp_journal_open_private)
 * every process of the session shares through the inherited descriptor;
 * nothing is left behind however the session ends. Without it, time travel
 * still works for runs without live input. */
/* The journal could not be written: say so at once, and remember where, so
 * that .back refuses targets after it (docs/repl.md). */
static void journal_failed(int err)
{
    asp_sched *s = asp_engine_sched();
    char when[ASP_TIME_FORMAT_MAX];
    if (!shm || shm->journal_lost)
        return;
    shm->lost_items = (int64_t)asp_sched_items(s);
    shm->lost_ns = asp_sched_now(s);
    shm->journal_lost = 1;
    asp_time_format(asp_sched_now(s), when);
    asp_progress_done();
    fprintf(stderr, "asp-lua: the live journal cannot be written (%s): live input after %s (%lld items) "
            "is not journaled, .back to later than that is impossible\n", strerror(err), when,
            (long long)asp_sched_items(s));
    fflush(stderr);
}

int asp_checkpoint_journal_lost(int64_t *items, int64_t *ns)
{
    if (!shm || !shm->journal_lost)
        return 0;
    *items = shm->lost_items;
    *ns = shm->lost_ns;
    return 1;
}

static void open_journal(void)
{
    asp_journal_set_fail(journal_failed);
    if (asp_journal_open_private(NULL) != 0)
        fprintf(stderr, "asp-lua: no live journal (%s): .back into a live period will not replay it\n",
                strerror(errno));
}

/* -- Kept values ------------------------------------------------------------- */

/* asp.debug.keep's values, serialised by Lua: shared memory, so that the
 * process a .back resumes (a copy from before they were kept) reads them. */
#define KEPT_MAX (1024 * 1024 + 4096)

typedef struct kept_region {
    volatile size_t len;
    char data[KEPT_MAX];
} kept_region;

static kept_region *kept;

static kept_region *kept_map(void)
{
    if (!kept) {
        void *p = mmap(NULL, sizeof *kept, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p != MAP_FAILED)
            kept = p;
    }
    return kept;
}

int asp_checkpoint_keep(const char *data, size_t len)
{
    kept_region *k = kept_map();
    if (!k || len > sizeof k->data)
        return -1;
    memcpy(k->data, data, len);
    k->len = len;
    return 0;
}

const char *asp_checkpoint_kept(size_t *len)
{
    *len = kept ? kept->len : 0;
    return kept ? kept->data : NULL;
}

int asp_checkpoint_session(int max)
{
    pid_t pid;
    if (enabled)
        return 0;
    kept_map(); /* before any fork: every process of the session shares it */
    shm = mmap(NULL, sizeof *shm, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shm == MAP_FAILED) {
        shm = NULL;
        return -1;
    }
    /* Orphans of the session (checkpoints whose maker handed over) come to
     * the supervisor; set before fork, as children do not inherit it. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        munmap(shm, sizeof *shm);
        shm = NULL;
        return -1;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        prctl(PR_SET_CHILD_SUBREAPER, 0);
        munmap(shm, sizeof *shm);
        shm = NULL;
        return -1;
    }
    if (pid > 0) {
        shm->foreground = pid;
        supervise();
    }
    shm->foreground = getpid();
    asp_cps_init(&cps, max);
    enabled = 1;
    open_journal();
    return 0;
}

/* Ends checkpoint i: kills it and forgets it. */
static void drop(int i)
{
    asp_cp *e = &cps.cp[i];
    kill(e->pid, SIGKILL);
    close(e->fd);
    if (e->ack >= 0)
        close(e->ack);
    /* Reaps it when it is our child; otherwise the supervisor does. */
    while (waitpid(e->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    asp_cps_remove(&cps, i);
}

/* A checkpoint process: waits for its command, acknowledges it on ack.
 * Returns once resumed; exits at end of file (the foreground and every
 * later process are gone) or when the acknowledgement cannot be sent (the
 * foreground gave up on it and goes back elsewhere). */
static void wait_for_resume(int fd, int ack)
{
    struct sigaction ign, old_int, old_quit, old_pipe;
    resume_msg m;
    int alive[ASP_CHECKPOINTS_MAX];
    char ok = 'r';

    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    sigaction(SIGPIPE, &ign, &old_pipe);
    if (asp_read_full(fd, &m, sizeof m) != 0 || m.n < 0 || m.n > ASP_CHECKPOINTS_MAX)
        _exit(0);
    if (asp_write_full(ack, &ok, 1) != 0)
        _exit(0);
    close(fd);
    close(ack);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    sigaction(SIGPIPE, &old_pipe, NULL);

    /* Forget the checkpoints thinned out since this one was taken. */
    for (int i = 0; i < cps.n; i++) {
        alive[i] = 0;
        for (int j = 0; j < m.n; j++)
            if (m.ids[j] == cps.cp[i].id)
                alive[i] = 1;
    }
    for (int i = cps.n - 1; i >= 0; i--) {
        if (!alive[i]) {
            close(cps.cp[i].fd);
            if (cps.cp[i].ack >= 0)
                close(cps.cp[i].ack);
            asp_cps_remove(&cps, i);
        }
    }
    resume_kind = m.kind;
    resume_target = m.target;
    generation++;
    /* libuv's epoll instance was shared with the process that forked us. */
    uv_loop_fork(asp_sched_loop(asp_engine_sched()));
    /* What arrived live after this checkpoint was read by the processes
     * after it: it comes back from the journal, not from the sources. */
    asp_journal_resumed();
}

/* Makes a pipe whose two ends are closed on exec (a program run by
 * os.execute must not keep checkpoints alive). */
static int cloexec_pipe(int p[2])
{
    if (pipe(p) != 0)
        return -1;
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    fcntl(p[1], F_SETFD, FD_CLOEXEC);
    return 0;
}

int asp_checkpoint_take(int64_t items, int64_t ns)
{
    int p[2], a[2], i;
    pid_t pid;
    if (!enabled)
        return -1;
    if (cloexec_pipe(p) != 0)
        return -1;
    if (cloexec_pipe(a) != 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        close(a[0]);
        close(a[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[1]);
        close(a[0]);
        wait_for_resume(p[0], a[1]);
        return 1;
    }
    close(p[0]);
    close(a[1]);
    i = asp_cps_add(&cps, pid, p[1], items, ns);
    if (i < 0) {
        kill(pid, SIGKILL);
        close(p[1]);
        close(a[0]);
        waitpid(pid, NULL, 0);
        return -1;
    }
    cps.cp[i].ack = a[0];
    for (int v; (v = asp_cps_victim(&cps)) >= 0;)
        drop(v);
    return 0;
}

void asp_checkpoint_target(int32_t *kind, int64_t *value)
{
    *kind = resume_kind;
    *value = resume_target;
}

/* Why checkpoint i did not take over: it is gone, or did not answer. */
static void why_not(int i, char *why, size_t len, int answered_eof)
{
    int st;
    pid_t pid = cps.cp[i].pid;
    if (waitpid(pid, &st, WNOHANG) == pid && WIFSIGNALED(st))
        snprintf(why, len, "is gone (killed by signal %d)", WTERMSIG(st));
    else if (answered_eof < 0)
        snprintf(why, len, "did not answer within %d s (stopped?): ended it", ASP_CHECKPOINT_ACK_MS / 1000);
    else
        snprintf(why, len, "is gone");
}

/* Waits for checkpoint i's acknowledgement: 1, 0 when its pipe closed
 * (it died), -1 after ASP_CHECKPOINT_ACK_MS. */
static int await_ack(int i)
{
    struct pollfd pfd = { .fd = cps.cp[i].ack, .events = POLLIN };
    char c;
    ssize_t r;
    int n;
    do
        n = poll(&pfd, 1, ASP_CHECKPOINT_ACK_MS);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return -1;
    do
        r = read(cps.cp[i].ack, &c, 1);
    while (r < 0 && errno == EINTR);
    return r == 1 ? 1 : 0;
}

/* Sends checkpoint i the target: 1 when it acknowledged (it is the
 * foreground now), else 0 or -1 as await_ack, or 0 when its pipe is broken. */
static int resume_one(int i, int32_t kind, int64_t target)
{
    resume_msg m;
    int r;
    memset(&m, 0, sizeof m);
    m.kind = kind;
    m.target = target;
    m.n = i;
    for (int j = 0; j < i; j++)
        m.ids[j] = cps.cp[j].id;
    fflush(NULL);
    /* Set before it can run: its exit status is the session's from now. */
    shm->foreground = cps.cp[i].pid;
    r = asp_write_full(cps.cp[i].fd, &m, sizeof m) != 0 ? 0 : await_ack(i);
    if (r != 1)
        shm->foreground = getpid();
    return r;
}

int asp_checkpoint_restore(int32_t id, int32_t kind, int64_t target)
{
    struct sigaction ign, old_pipe;
    int i = asp_cps_index(&cps, id);
    if (!enabled || i < 0)
        return -1;
    /* A dead checkpoint's pipe is broken: EPIPE, not the end of the session. */
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old_pipe);
    for (; i >= 0; i--) {
        char why[96];
        int r = resume_one(i, kind, target);
        if (r == 1) {
            /* The checkpoints after it belong to the future being left;
             * the resumed one is the foreground: this process leaves. */
            while (cps.n > i + 1)
                drop(cps.n - 1);
            _exit(0);
        }
        why_not(i, why, sizeof why, r);
        if (i > 0)
            fprintf(stderr, "asp-lua: checkpoint #%d (after %lld items) %s; going back from checkpoint #%d instead\n",
                    (int)cps.cp[i].id, (long long)cps.cp[i].items, why, (int)cps.cp[i - 1].id);
        else
            fprintf(stderr, "asp-lua: checkpoint #%d (after %lld items) %s; no earlier checkpoint is left\n",
                    (int)cps.cp[i].id, (long long)cps.cp[i].items, why);
        fflush(stderr);
        drop(i);
    }
    sigaction(SIGPIPE, &old_pipe, NULL);
    return -1;
}

int asp_checkpoint_count(void)
{
    return cps.n;
}

int asp_checkpoint_get(int i, int32_t *id, int64_t *items, int64_t *ns)
{
    if (i < 0 || i >= cps.n)
        return -1;
    *id = cps.cp[i].id;
    *items = cps.cp[i].items;
    *ns = cps.cp[i].ns;
    return 0;
}

int asp_checkpoint_pid(int i)
{
    return i < 0 || i >= cps.n ? -1 : (int)cps.cp[i].pid;
}

int asp_checkpoint_find(int32_t kind, int64_t target)
{
    return asp_cps_find(&cps, kind, target);
}

void asp_checkpoint_end(void)
{
    while (cps.n > 0)
        drop(cps.n - 1);
}
