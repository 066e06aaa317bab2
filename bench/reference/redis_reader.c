/*
 * The floor for asp.redis' replay (make bench-redis): hiredis' synchronous
 * API reading a stream with XRANGE in pages of COUNT entries, each page
 * starting after the last id, every field of every entry touched (a sum of
 * lengths) and nothing else: no decoding, no events, no callbacks.
 * Usage: redis_reader PORT STREAM COUNT; prints "entries seconds".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    redisContext *c;
    char start[64] = "-", count[16];
    long long entries = 0, bytes = 0;
    double t0;
    if (argc < 4) {
        fprintf(stderr, "usage: redis_reader PORT STREAM COUNT\n");
        return 2;
    }
    c = redisConnect("127.0.0.1", atoi(argv[1]));
    if (!c || c->err) {
        fprintf(stderr, "redis_reader: cannot connect\n");
        return 1;
    }
    snprintf(count, sizeof count, "%s", argv[3]);
    t0 = now();
    for (;;) {
        const char *av[6] = { "XRANGE", argv[2], start, "+", "COUNT", count };
        redisReply *r = redisCommandArgv(c, 6, av, NULL);
        if (!r || r->type != REDIS_REPLY_ARRAY) {
            fprintf(stderr, "redis_reader: XRANGE failed\n");
            return 1;
        }
        if (r->elements == 0) {
            freeReplyObject(r);
            break;
        }
        for (size_t i = 0; i < r->elements; i++) {
            redisReply *e = r->element[i], *kv = e->element[1];
            for (size_t j = 0; j < kv->elements; j++)
                bytes += (long long)kv->element[j]->len;
            entries++;
        }
        snprintf(start, sizeof start, "(%s", r->element[r->elements - 1]->element[0]->str);
        freeReplyObject(r);
    }
    printf("%lld %.6f %lld\n", entries, now() - t0, bytes);
    redisFree(c);
    return 0;
}
