/*
 * The command's signals; see signals.h.
 */
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "engine.h"
#include "sched.h"
#include "signals.h"

static volatile sig_atomic_t received;

/* The process groups of running asp.exec children (each runs in its own
 * session), so that a signal that ends the process at once, or an exit
 * that skips closing the sources, ends them too. Each entry is ended only
 * by the process that started it: a forked REPL checkpoint leaves the
 * foreground's children alone. */
#define MAX_GROUPS 64
static volatile pid_t groups[MAX_GROUPS], group_owner[MAX_GROUPS];

void asp_signals_track_group(int pgid)
{
    for (int i = 0; i < MAX_GROUPS; i++) {
        if (groups[i] == 0) {
            group_owner[i] = getpid();
            groups[i] = pgid;
            return;
        }
    }
}

void asp_signals_untrack_group(int pgid)
{
    for (int i = 0; i < MAX_GROUPS; i++)
        if (groups[i] == pgid)
            groups[i] = 0;
}

/* Async-signal-safe: kill() and getpid() only. */
static void end_groups(void)
{
    pid_t me = getpid();
    for (int i = 0; i < MAX_GROUPS; i++) {
        pid_t g = groups[i];
        if (g > 0 && group_owner[i] == me)
            kill(-g, SIGTERM);
    }
}

/* Ends the process the way the signal would have, without our handler. */
_Noreturn static void die_of(int sig)
{
    end_groups();
    signal(sig, SIG_DFL);
    raise(sig);
    _exit(128 + sig);
}

/* True when standard output is a pipe whose reader has gone. */
static int stdout_broken(void)
{
    struct pollfd p = { STDOUT_FILENO, 0, 0 };
    return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

static void on_signal(int sig)
{
    asp_sched *s = asp_engine_sched_if_made();
    if (sig == SIGPIPE && !stdout_broken())
        return; /* a socket's peer went away: its write reports EPIPE */
    if (s && asp_sched_running(s) && !received) {
        received = sig;
        asp_sched_interrupt(s);
    } else {
        die_of(sig); /* a second signal, or no run to stop gracefully */
    }
}

void asp_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* SIGHUP (the terminal or the session went away) as SIGTERM: the item
     * finishes, outputs are flushed, children are ended; status 129. */
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);
    atexit(end_groups);
}

int asp_signals_received(void)
{
    return received;
}
