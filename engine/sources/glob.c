/*
 * File name patterns for asp.csv("data/2024-*.csv.gz"): glob(3), with the
 * matches sorted here by their bytes (strcmp), so that the order of the
 * files, and so of a replay, does not depend on the locale.
 */
#include <glob.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sources/glob.h"

static int by_bytes(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *asp_glob(const char *pattern, int32_t *count)
{
    glob_t g;
    int rc = glob(pattern, GLOB_NOSORT, NULL, &g);
    if (rc == GLOB_NOMATCH) {
        globfree(&g);
        *count = 0;
        return NULL;
    }
    if (rc != 0 || g.gl_pathc > INT32_MAX) {
        globfree(&g);
        *count = rc == GLOB_NOSPACE ? -1 : -2;
        return NULL;
    }
    qsort(g.gl_pathv, g.gl_pathc, sizeof *g.gl_pathv, by_bytes);
    size_t total = 0;
    for (size_t i = 0; i < g.gl_pathc; i++)
        total += strlen(g.gl_pathv[i]) + 1;
    char *block = malloc(total ? total : 1);
    if (block == NULL) {
        globfree(&g);
        *count = -1;
        return NULL;
    }
    char *p = block;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        size_t n = strlen(g.gl_pathv[i]) + 1;
        memcpy(p, g.gl_pathv[i], n);
        p += n;
    }
    *count = (int32_t)g.gl_pathc;
    globfree(&g);
    return block;
}

void asp_glob_free(char *block)
{
    free(block);
}
