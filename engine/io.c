/*
 * Whole reads and writes; see io.h.
 */
#include "io.h"

#include <errno.h>
#include <sys/types.h>
#include <unistd.h>

enum transfer { T_READ, T_WRITE, T_PWRITE };

/* The one loop: retries EINTR and partial transfers; at is pwrite's offset. */
static int transfer(enum transfer op, int fd, char *p, size_t len, int64_t at)
{
    while (len > 0) {
        ssize_t r = op == T_READ    ? read(fd, p, len)
                    : op == T_WRITE ? write(fd, p, len)
                                  : pwrite(fd, p, len, (off_t)at);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        len -= (size_t)r;
        at += r;
    }
    return 0;
}

int asp_read_full(int fd, void *buf, size_t len)
{
    return transfer(T_READ, fd, buf, len, 0);
}

/* The writes never store through p: the cast only shares the loop. */
int asp_write_full(int fd, const void *buf, size_t len)
{
    return transfer(T_WRITE, fd, (char *)(uintptr_t)buf, len, 0);
}

int asp_pwrite_full(int fd, const void *buf, size_t len, int64_t at)
{
    return transfer(T_PWRITE, fd, (char *)(uintptr_t)buf, len, at);
}
