/*
 * The Lua state's allocator: free lists of small blocks by size class, the
 * C library's malloc for the rest.
 *
 * A replay allocates a table or two per event (a CSV row, a call_later
 * record) and the collector frees them soon after. LuaJIT's own allocator
 * (a dlmalloc) spent ~300 instructions per row of a CSV replay in
 * allocating and freeing those two blocks, coalescing free neighbours only
 * to split them again; glibc's malloc did no better once its per-thread
 * cache overflowed (the collector frees thousands at once). Here a small
 * block is one pop from, or one push onto, the list of its class.
 *
 * The cost: memory of small blocks is kept for reuse, never given back to
 * the system before the state closes, so the process stays at the peak of
 * its small-object memory. Blocks above 512 bytes (large tables' arrays,
 * long strings) go to malloc and are returned as usual.
 */
#ifndef ASP_LUA_ALLOC_H
#define ASP_LUA_ALLOC_H

#include <stddef.h>

typedef struct asp_lua_alloc asp_lua_alloc;

asp_lua_alloc *asp_lua_alloc_new(void);
/* Frees every block: only after lua_close of the state that used it. */
void asp_lua_alloc_free(asp_lua_alloc *a);

/* 1: small blocks come from the free lists, in every build. Under
 * AddressSanitizer they are poisoned while free (lua_alloc.c), so the
 * allocator that ships is the one checked. */
int asp_lua_alloc_pooled(void);

/* The lua_Alloc function; its ud is an asp_lua_alloc. */
void *asp_lua_alloc_f(void *ud, void *ptr, size_t osize, size_t nsize);

#endif
