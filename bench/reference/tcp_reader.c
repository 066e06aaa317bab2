/*
 * The machine's floor for the live TCP row of make bench: the same writer
 * (bench/workloads/tcp_writer.lua) and the same measurement as
 * bench/workloads/tcp.lua, read by the plainest possible C program
 * (blocking read(), no event loop, no Lua). Run next to the engine's row in
 * the same minutes, it says how much of the latency is the machine's
 * (scheduling, loopback, a noisy VM) and how much is the engine's.
 *
 * usage: tcp_reader ASP_LUA WRITER_SCRIPT N RATE
 * Listens on 127.0.0.1 (a port the system chooses), starts the writer in
 * connect mode, and prints one RESULT line like tcp.lua's.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int by_value(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* The p-quantile of sorted[0..n) as tcp.lua takes it: the ceil(n p)-th. */
static double quantile_us(const long long *sorted, long long n, double p)
{
    long long k = (long long)((double)n * p);
    if ((double)k < (double)n * p)
        k++;
    if (k < 1)
        k = 1;
    return (double)sorted[k - 1] / 1e3;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

int main(int argc, char **argv)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    char port[16], buf[1 << 16];
    size_t have = 0;
    long long n, got = 0, last_seq = 0, lost = 0, *lat;
    int fd, conn, out[2];
    pid_t writer;
    if (argc != 5) {
        fprintf(stderr, "usage: tcp_reader ASP_LUA WRITER_SCRIPT N RATE\n");
        return 2;
    }
    n = atoll(argv[3]);
    lat = malloc(sizeof *lat * (size_t)(n > 0 ? n : 1));
    if (!lat || n <= 0)
        die("N");

    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 1) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0)
        die("listen");
    snprintf(port, sizeof port, "%d", ntohs(addr.sin_port));

    /* The writer, its standard output (the SENT line) in a pipe. */
    if (pipe(out) != 0)
        die("pipe");
    writer = fork();
    if (writer < 0)
        die("fork");
    if (writer == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        close(fd);
        execlp(argv[1], argv[1], argv[2], "connect", port, argv[3], argv[4], (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    conn = accept(fd, NULL, NULL);
    if (conn < 0)
        die("accept");

    while (got < n) {
        struct timespec ts;
        long long now;
        char *s = buf, *nl;
        ssize_t r = read(conn, buf + have, sizeof buf - have);
        if (r <= 0)
            break;
        have += (size_t)r;
        clock_gettime(CLOCK_REALTIME, &ts);
        now = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
        while ((nl = memchr(s, '\n', (size_t)(buf + have - s))) != NULL) {
            long long seq, sent;
            if (sscanf(s, "%lld %lld", &seq, &sent) == 2 && got < n) {
                lat[got++] = now - sent;
                lost += seq - last_seq - 1;
                last_seq = seq;
            }
            s = nl + 1;
        }
        have = (size_t)(buf + have - s);
        memmove(buf, s, have);
    }
    lost += n - last_seq;

    {
        char line[64] = "";
        long long sent = -1;
        FILE *w = fdopen(out[0], "r");
        while (w && fgets(line, sizeof line, w))
            if (sscanf(line, "SENT %lld", &sent) == 1)
                break;
        waitpid(writer, NULL, 0);
        if (got == 0)
            die("no line received");
        qsort(lat, (size_t)got, sizeof *lat, by_value);
        printf("RESULT n=%lld sent=%lld received=%lld lost=%lld p50_us=%.3f p99_us=%.3f max_us=%.3f\n", got, sent,
               got, lost, quantile_us(lat, got, 0.5), quantile_us(lat, got, 0.99), quantile_us(lat, got, 1.0));
    }
    return 0;
}
