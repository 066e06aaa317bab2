/*
 * The Lua state's allocator; see lua_alloc.h.
 */
#include "lua_alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Under AddressSanitizer the pools are used too (what ships is what is
 * checked), with manual poisoning: a small block is addressable for exactly
 * the bytes asked for while it is given out, and poisoned while it is free
 * or not yet carved from its slab, so that a read or write past its end or
 * after its free is reported as it would be with malloc.
 */
#if defined(__SANITIZE_ADDRESS__)
#define ASP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASP_ASAN 1
#endif
#endif
#ifdef ASP_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif
#define POOLED 1

/* Blocks up to SMALL_MAX bytes come from slabs, in classes 16 bytes apart. */
#define CLASS_BYTES 16u
#define SMALL_MAX 512u
#define NCLASSES (SMALL_MAX / CLASS_BYTES)
#define SLAB_BYTES (256u << 10)

typedef struct free_block {
    struct free_block *next;
} free_block;

/* A slab starts with this header (16 bytes, so blocks stay 16-aligned). */
typedef struct slab {
    struct slab *next;
    void *pad;
} slab;

struct asp_lua_alloc {
    free_block *free[NCLASSES + 1]; /* free[c]: free blocks of c * 16 bytes */
    char *bump, *bump_end;          /* the unused end of the newest slab */
    slab *slabs;                    /* every slab, for asp_lua_alloc_free */
};

static unsigned class_of(size_t n)
{
    return (unsigned)((n + CLASS_BYTES - 1) / CLASS_BYTES);
}

/* A small block of class c for n bytes (n <= c * 16). */
static void *get_small(asp_lua_alloc *a, unsigned c, size_t n)
{
    free_block *b = a->free[c];
    size_t bytes = (size_t)c * CLASS_BYTES;
    if (b) {
        UNPOISON(b, sizeof *b);
        a->free[c] = b->next;
        POISON(b, bytes);
        UNPOISON(b, n);
        return b;
    }
    if ((size_t)(a->bump_end - a->bump) < bytes) {
        /* The rest of the old slab (less than one block of this class) is
         * left unused. */
        slab *s = malloc(SLAB_BYTES);
        if (!s)
            return NULL;
        s->next = a->slabs;
        a->slabs = s;
        a->bump = (char *)(s + 1);
        a->bump_end = (char *)s + SLAB_BYTES;
        POISON(a->bump, (size_t)(a->bump_end - a->bump));
    }
    b = (free_block *)(void *)a->bump;
    a->bump += bytes;
    UNPOISON(b, n);
    return b;
}

static void put_small(asp_lua_alloc *a, void *p, unsigned c)
{
    free_block *b = p;
    UNPOISON(b, sizeof *b);
    b->next = a->free[c];
    a->free[c] = b;
    POISON(b, (size_t)c * CLASS_BYTES);
}

/* A block of n bytes, small or not, and its return. */
static void *get_block(asp_lua_alloc *a, size_t n)
{
    return n <= SMALL_MAX ? get_small(a, class_of(n), n) : malloc(n);
}

static void put_block(asp_lua_alloc *a, void *p, size_t n)
{
    if (n <= SMALL_MAX)
        put_small(a, p, class_of(n));
    else
        free(p);
}

/* Everything but a small block's pop or push: growth, shrinking, large
 * blocks, a class with no free block. Out of line, so that the two common
 * paths below call nothing and save no registers. */
__attribute__((noinline)) static void *alloc_slow(asp_lua_alloc *a, void *ptr, size_t osize, size_t nsize)
{
    void *n;
    if (nsize == 0) {
        if (ptr)
            put_block(a, ptr, osize);
        return NULL;
    }
    if (!ptr)
        return get_block(a, nsize);
    if (osize > SMALL_MAX && nsize > SMALL_MAX)
        return realloc(ptr, nsize);
    if (osize <= SMALL_MAX && nsize <= SMALL_MAX && class_of(osize) == class_of(nsize)) {
        /* Same block, new size: addressable exactly up to nsize. */
        POISON(ptr, (size_t)class_of(nsize) * CLASS_BYTES);
        UNPOISON(ptr, nsize);
        return ptr;
    }
    /* Across the small/large line or between classes: move the block. */
    n = get_block(a, nsize);
    if (!n)
        return NULL; /* the old block stays valid, as realloc's does */
    memcpy(n, ptr, osize < nsize ? osize : nsize);
    put_block(a, ptr, osize);
    return n;
}

void *asp_lua_alloc_f(void *ud, void *ptr, size_t osize, size_t nsize)
{
    asp_lua_alloc *a = ud;
    if (nsize == 0 && ptr && osize <= SMALL_MAX) {
        put_small(a, ptr, class_of(osize));
        return NULL;
    }
    if (!ptr && nsize - 1 < SMALL_MAX) {
        unsigned c = class_of(nsize);
        free_block *b = a->free[c];
        if (b) {
            UNPOISON(b, sizeof *b);
            a->free[c] = b->next;
            POISON(b, (size_t)c * CLASS_BYTES);
            UNPOISON(b, nsize);
            return b;
        }
    }
    return alloc_slow(a, ptr, osize, nsize);
}

int asp_lua_alloc_pooled(void)
{
    return POOLED;
}

asp_lua_alloc *asp_lua_alloc_new(void)
{
    return calloc(1, sizeof(asp_lua_alloc));
}

void asp_lua_alloc_free(asp_lua_alloc *a)
{
    if (!a)
        return;
    while (a->slabs) {
        slab *s = a->slabs;
        a->slabs = s->next;
        UNPOISON(s, SLAB_BYTES);
        free(s);
    }
    free(a);
}
