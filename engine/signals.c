/*
 * The command's signals; see signals.h.
 */
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "asp_ffi.h"
#include "engine.h"
#include "sched.h"
#include "signals.h"

static volatile sig_atomic_t received;

/* Ends the process the way the signal would have, without our handler. */
_Noreturn static void die_of(int sig)
{
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
    if (s && s->running && !received) {
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
    sigaction(SIGPIPE, &sa, NULL);
}

int asp_signals_received(void)
{
    return received;
}
