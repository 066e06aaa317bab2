/*
 * The process side of asp-lua sweep (lua/asp/sweep.lua): forking workers,
 * reading their result rows, reaping and killing them, append-only output.
 */
#ifndef ASP_SWEEP_H
#define ASP_SWEEP_H

#include <stddef.h>
#include <stdint.h>

/* ffi: begin */
int asp_sweep_fork(int *result_fd);
int asp_sweep_poll(const int *fds, int n, int timeout_ms, int *ready);
int asp_sweep_read(int fd, char *buf, int len);
int asp_sweep_write(int fd, const char *buf, size_t len);
int asp_sweep_reap(int pid, int *how);
void asp_sweep_kill(int pid);
int asp_sweep_open_append(const char *path, char *err, size_t errlen);
int asp_sweep_truncate(int fd, int64_t size);
void asp_sweep_close(int fd);
int asp_sweep_cpus(void);
int asp_sweep_isatty(int fd);
int64_t asp_sweep_monotonic_ns(void);
int asp_sweep_self_exe(char *buf, size_t len);
/* ffi: end */

#endif
