/*
 * The machine's limit for the call_later + sleep mix of make bench
 * (bench/workloads/calls.lua), as a plain C timer program: one stream of N
 * events (one every microsecond); each event's handler schedules a call
 * DELAY seconds later; every other call "sleeps" DELAY once more (schedules
 * its own wake-up) before it adds its value to a sum. Items: events + calls
 * + wake-ups, counted as calls.lua counts them.
 *
 * The timers are a binary min-heap keyed by (due ns, insertion order) —
 * the scheduler's key, so equal due times run in the order they were
 * scheduled — with 24-byte entries, and each item is handled by a C
 * function called through a pointer (a table by kind). The virtual clock is
 * the due time of the item being handled.
 *
 * Only the run is timed (CLOCK_MONOTONIC). Prints one RESULT line.
 *
 * usage: calls N [DELAY]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { EVENT, CALL, WAKE };

typedef struct {
    int64_t due;
    uint64_t order;
    int32_t kind;
    int32_t value;
} item;

static item *heap;
static int32_t count, capacity;
static uint64_t next_order;
static int64_t clock_ns, delay_ns, t0_ns;
static long long N, emitted, calls, wakes, sum;

static int less(const item *a, const item *b)
{
    return a->due != b->due ? a->due < b->due : a->order < b->order;
}

static void push(int64_t due, int32_t kind, int32_t value)
{
    if (count == capacity) {
        capacity = capacity ? capacity * 2 : 1024;
        heap = realloc(heap, (size_t)capacity * sizeof *heap);
        if (!heap)
            exit(1);
    }
    item e = { due, next_order++, kind, value };
    int32_t i = count++;
    while (i > 0) {
        int32_t p = (i - 1) / 2;
        if (!less(&e, &heap[p]))
            break;
        heap[i] = heap[p];
        i = p;
    }
    heap[i] = e;
}

static item pop(void)
{
    item top = heap[0], e = heap[--count];
    int32_t i = 0;
    for (;;) {
        int32_t c = 2 * i + 1;
        if (c >= count)
            break;
        if (c + 1 < count && less(&heap[c + 1], &heap[c]))
            c++;
        if (!less(&heap[c], &e))
            break;
        heap[i] = heap[c];
        i = c;
    }
    if (count > 0)
        heap[i] = e;
    return top;
}

/* The stream's event: the callback schedules a call; the stream queues its next event. */
__attribute__((noinline)) static void on_event(int32_t v)
{
    push(clock_ns + delay_ns, CALL, v);
    if (emitted < N) {
        emitted++;
        push(t0_ns + emitted * 1000, EVENT, 1);
    }
}

/* The call: every other one sleeps DELAY before it finishes. */
__attribute__((noinline)) static void on_call(int32_t v)
{
    calls++;
    if (calls % 2 == 0) {
        push(clock_ns + delay_ns, WAKE, v);
        return;
    }
    sum += v;
}

__attribute__((noinline)) static void on_wake(int32_t v)
{
    wakes++;
    sum += v;
}

static void (*volatile handlers[3])(int32_t) = { on_event, on_call, on_wake };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    N = argc > 1 ? atoll(argv[1]) : 2000000;
    double delay = argc > 2 ? atof(argv[2]) : 1e-4;
    if (N < 1 || !(delay >= 0)) {
        fprintf(stderr, "usage: calls N [DELAY]\n");
        return 2;
    }
    delay_ns = (int64_t)(delay * 1e9 + 0.5);
    t0_ns = INT64_C(1700000000) * 1000000000;
    double c0 = now();
    emitted = 1;
    push(t0_ns + 1000, EVENT, 1);
    while (count > 0) {
        item e = pop();
        clock_ns = e.due;
        handlers[e.kind](e.value);
    }
    double dt = now() - c0;
    if (calls != N || sum != N) {
        fprintf(stderr, "lost calls\n");
        return 1;
    }
    printf("RESULT items=%lld seconds=%.6f\n", N + calls + wakes, dt);
    return 0;
}
