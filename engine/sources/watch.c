/*
 * The follow-mode watch (asp.csv{follow = true}, docs/sources.md): no lines
 * of its own; every 20 ms, while its stream is armed, a change of the
 * file's size or modification time queues the stream's item, and the
 * stream reads the file through its reader.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <uv.h>

#include "sources/source.h"
#include "sources/watch.h"
#include "time.h"

typedef struct watch {
    char *path;
    int64_t size, mtime;
    uv_timer_t timer;
    int has_timer;
} watch;

/* Wakes the stream at the next poll although no line arrived (follow mode
 * reads the file itself; the watch only says that it may have grown). */
static void on_poll(uv_timer_t *t)
{
    asp_live *l = t->data;
    watch *k = l->impl;
    struct stat st;
    if (l->closing || !l->armed)
        return;
    if (stat(k->path, &st) != 0)
        return;
    if ((int64_t)st.st_size != k->size || (int64_t)st.st_mtime != k->mtime) {
        k->size = (int64_t)st.st_size;
        k->mtime = (int64_t)st.st_mtime;
        asp__source_notify(l, asp_time_wall());
    }
}

static void watch_close(asp_live *l)
{
    watch *k = l->impl;
    if (k->has_timer)
        asp__source_close_handle(l, (uv_handle_t *)&k->timer);
}

static void watch_free(asp_live *l)
{
    free(((watch *)l->impl)->path);
}

static const asp_source_kind watch_kind = {
    .name = "watch",
    .close = watch_close,
    .free = watch_free,
};

int asp_live_watch(asp_live *l, const char *path, char *err, size_t errlen)
{
    watch *k;
    if (asp__source_init(l, &watch_kind, sizeof *k, err, errlen) != 0)
        return -1;
    k = l->impl;
    k->path = strdup(path);
    if (!k->path) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    k->size = -1;
    asp_live_begin(l);
    uv_timer_init(asp_sched_loop(l->s), &k->timer);
    k->timer.data = l;
    k->has_timer = 1;
    l->handles++;
    return uv_timer_start(&k->timer, on_poll, 0, ASP_SOURCE_POLL_MS);
}
