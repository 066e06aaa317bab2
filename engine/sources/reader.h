/*
 * Files of CSV records: a file (plain or gzip-compressed, told apart by zlib)
 * read in chunks through the push parser, in constant memory whatever its size.
 */
#ifndef ASP_READER_H
#define ASP_READER_H

#include <stddef.h>
#include <stdint.h>

#include "asp_ffi.h"

#endif
