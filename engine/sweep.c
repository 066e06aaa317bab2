/*
 * The process side of sweeps (docs/sweeps.md): lua/asp/sweep.lua runs the
 * grid and calls these through the FFI (declared in asp_ffi.h).
 *
 * A combination runs in a process forked from the sweep's own, at the point
 * where the script first needs its parameters, so that what the script
 * loaded before (asp.shared) is inherited copy-on-write. The child reports
 * its result on a pipe and exits; the parent polls the pipes, reaps the
 * children and kills the ones past their time.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "asp_ffi.h"
#include "engine.h"
#include "io.h"
#include "progress.h"
#include "sched.h"
#include "sweep.h"

/* Forks a combination's process. Returns the child's pid in the parent
 * (*result_fd: the read end of its result pipe), 0 in the child
 * (*result_fd: the write end), -1 with errno on failure. Both ends are
 * closed on exec, so a program the child runs does not hold the pipe open. */
int asp_sweep_fork(int *result_fd)
{
    int p[2];
    pid_t parent = getpid(), pid;
    if (pipe(p) != 0)
        return -1;
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    fcntl(p[1], F_SETFD, FD_CLOEXEC);
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        errno = e;
        return -1;
    }
    if (pid > 0) {
        close(p[1]);
        *result_fd = p[0];
        return (int)pid;
    }
    close(p[0]);
    *result_fd = p[1];
    /* A sweep that dies (SIGKILL, a node lost) takes its combinations with it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    /* libuv's epoll instance was shared with the process that forked us. */
    if (asp_engine_sched_if_made())
        uv_loop_fork(asp_sched_loop(asp_engine_sched()));
    /* The sweep shows its own progress line; a combination shows none, and
     * its standard output is discarded (docs/sweeps.md). */
    asp_progress_set(0);
    {
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, STDOUT_FILENO);
            close(null);
        }
    }
    return 0;
}

/* Waits up to timeout_ms for input (or the end) on any of fds; ready[i] is
 * set to 1 for each fd that has some. Returns the number ready, 0 on
 * timeout or a signal, -1 on error. */
int asp_sweep_poll(const int *fds, int n, int timeout_ms, int *ready)
{
    struct pollfd p[256];
    int r;
    if (n > 256)
        n = 256;
    for (int i = 0; i < n; i++) {
        p[i].fd = fds[i];
        p[i].events = POLLIN;
        p[i].revents = 0;
    }
    r = poll(p, (nfds_t)n, timeout_ms);
    if (r < 0)
        return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++)
        ready[i] = (p[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
    return r;
}

/* One read: the bytes read, 0 at the end, -1 on error (EINTR retried). */
int asp_sweep_read(int fd, char *buf, int len)
{
    ssize_t n;
    do
        n = read(fd, buf, (size_t)len);
    while (n < 0 && errno == EINTR);
    return (int)n;
}

int asp_sweep_write(int fd, const char *buf, size_t len)
{
    return asp_write_full(fd, buf, len);
}

/* Waits for the child pid. Returns its exit status (0-255), or 128 + the
 * signal that ended it; -1 on error. */
int asp_sweep_reap(int pid, int *how)
{
    int st;
    pid_t r;
    do
        r = waitpid((pid_t)pid, &st, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -1;
    if (WIFSIGNALED(st)) {
        *how = WTERMSIG(st);
        return 128 + WTERMSIG(st);
    }
    *how = 0;
    return WEXITSTATUS(st);
}

void asp_sweep_kill(int pid)
{
    if (pid > 0)
        kill((pid_t)pid, SIGKILL);
}

/* Opens (creates) a results file for appending; -1 with a message. */
int asp_sweep_open_append(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
    return fd;
}

/* Cuts a partly written last row (a sweep killed mid-write) before resuming. */
int asp_sweep_truncate(int fd, int64_t size)
{
    return ftruncate(fd, (off_t)size);
}

void asp_sweep_close(int fd)
{
    if (fd >= 0)
        close(fd);
}

int asp_sweep_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int asp_sweep_isatty(int fd)
{
    return isatty(fd);
}

int64_t asp_sweep_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The path of the running asp-lua, for the Slurm script; 0 or -1. */
int asp_sweep_self_exe(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return 0;
}
