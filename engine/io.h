/*
 * Whole reads and writes on a descriptor: the partial transfers and EINTR
 * that read(2) and write(2) allow, retried until everything is through.
 */
#ifndef ASP_IO_H
#define ASP_IO_H

#include <stddef.h>
#include <stdint.h>

/* Each returns 0 when all len bytes were transferred, -1 on an error or
 * when no progress is possible (end of file for a read). */
int asp_read_full(int fd, void *buf, size_t len);
int asp_write_full(int fd, const void *buf, size_t len);
/* Writes at the file offset at (pwrite: the descriptor's offset stays). */
int asp_pwrite_full(int fd, const void *buf, size_t len, int64_t at);

#endif
