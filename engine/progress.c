/*
 * Progress of a long replay on stderr: the virtual time reached, the items
 * run, items per second, and for the files being read the fraction read with
 * an estimate of the time left. Shown when stderr is a terminal, or forced
 * on or off (asp-lua --progress / --no-progress). The scheduler calls
 * progress_tick every 1024 items; it reads the clock and prints at most
 * twice a second, so the replay pays nothing measurable for it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "sources/reader.h"
#include "progress.h"
#include "sched.h"
#include "time.h"

#define EVERY_NS (ASP_NS_PER_SEC / 2)

static int64_t last_print, last_items_at;
static uint64_t last_items;
static int shown;

static void progress_tick(asp_sched *s)
{
    int64_t wall = asp_time_wall();
    char when[ASP_TIME_FORMAT_MAX];
    double rate, fraction;
    if (last_print == 0 || asp_sched_items(s) < last_items) {
        /* A new run. */
        last_print = wall;
        last_items_at = wall;
        last_items = asp_sched_items(s);
        return;
    }
    if (wall - last_print < EVERY_NS)
        return;
    rate = (double)(asp_sched_items(s) - last_items) * 1e9 / (double)(wall - last_items_at);
    last_print = wall;
    last_items_at = wall;
    last_items = asp_sched_items(s);
    asp_time_format(asp_sched_now(s), when);
    fprintf(stderr, "\r\033[K[asp] %s  %llu items  %.0f/s", when, (unsigned long long)asp_sched_items(s), rate);
    fraction = asp_csvfile_progress();
    if (fraction >= 0) {
        double elapsed = (double)(wall - s->run_wall_start) / 1e9;
        fprintf(stderr, "  files %.1f%%", fraction * 100);
        if (fraction > 0.001)
            fprintf(stderr, "  ETA %.0fs", elapsed * (1 - fraction) / fraction);
    }
    fflush(stderr);
    shown = 1;
}

void asp_progress_set(int mode)
{
    if (mode < 0)
        mode = isatty(2);
    asp_sched_periodic = mode ? progress_tick : NULL;
}

void asp_progress_done(void)
{
    if (shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    shown = 0;
    last_print = 0;
}
