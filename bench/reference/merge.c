/*
 * The machine's limit for the K-way merge rows of make bench
 * (bench/workloads/streams.lua): the same K streams and N events, merged by
 * the plainest fast C program — K pre-generated arrays of (int64 ns, double
 * value), a binary min-heap of stream heads (replace-top and sift down), and
 * a C function called through a pointer per event, adding the value to a
 * sum. Stream k's i-th event is at t0 + (i*K + k) us, as in streams.lua, so
 * every event goes through the merge.
 *
 * Only the merge is timed (CLOCK_MONOTONIC), as streams.lua times asp.run
 * only. Prints one RESULT line like the workloads'.
 *
 * usage: merge K N
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct {
    int64_t ns;
    double v;
} event;

typedef struct {
    int64_t due; /* the stream's next event */
    int32_t k;   /* the stream */
} head;

static double sum;

/* The "callback": not inlined, called through a pointer, as a user's would be. */
__attribute__((noinline)) static void on_event(int64_t ns, double v)
{
    (void)ns;
    sum += v;
}
static void (*volatile callback)(int64_t, double) = on_event;

static void sift_down(head *h, int32_t n, int32_t i)
{
    head e = h[i];
    for (;;) {
        int32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && h[c + 1].due < h[c].due)
            c++;
        if (h[c].due >= e.due)
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = e;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int32_t K = argc > 1 ? atoi(argv[1]) : 1;
    int64_t N = argc > 2 ? atoll(argv[2]) : 10000000;
    if (K < 1 || N < K) {
        fprintf(stderr, "usage: merge K N\n");
        return 2;
    }
    int64_t per = N / K;
    const int64_t t0 = INT64_C(1700000000) * 1000000000;
    event **streams = malloc((size_t)K * sizeof *streams);
    int64_t *next = calloc((size_t)K, sizeof *next);
    head *heap = malloc((size_t)K * sizeof *heap);
    void (*cb)(int64_t, double) = callback;
    if (!streams || !next || !heap)
        return 1;
    for (int32_t k = 0; k < K; k++) {
        streams[k] = malloc((size_t)per * sizeof(event));
        if (!streams[k])
            return 1;
        for (int64_t i = 0; i < per; i++) {
            streams[k][i].ns = t0 + ((i + 1) * K + (k + 1)) * 1000;
            streams[k][i].v = 1;
        }
    }
    int32_t n = 0;
    for (int32_t k = 0; k < K; k++)
        heap[n++] = (head){ streams[k][0].ns, k };
    for (int32_t i = n / 2 - 1; i >= 0; i--)
        sift_down(heap, n, i);

    double c0 = now();
    int64_t items = 0;
    while (n > 0) {
        int32_t k = heap[0].k;
        event *e = &streams[k][next[k]++];
        cb(e->ns, e->v);
        items++;
        if (next[k] < per) {
            heap[0].due = streams[k][next[k]].ns;
        } else {
            heap[0] = heap[--n];
        }
        if (n > 1)
            sift_down(heap, n, 0);
    }
    double dt = now() - c0;
    if (sum != (double)(per * K)) {
        fprintf(stderr, "lost events\n");
        return 1;
    }
    printf("RESULT items=%lld seconds=%.6f\n", (long long)items, dt);
    return 0;
}
