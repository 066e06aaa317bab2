/*
 * The machine's limit for the asp.csv rows of make bench
 * (bench/workloads/csv.lua): the same quotes file (scripts/gen-quotes.lua:
 * time,symbol,bid,ask), read in 1 MB chunks with read(), split into fields
 * at ',' and '\n' (memchr), the time converted to int64 ns (ISO-8601, UTC),
 * bid and ask to doubles (Clinger's fast path: up to 15 digits, an exact
 * integer divided by an exact power of ten, correctly rounded; strtod for
 * anything else), and a C function called through a
 * pointer per row with the converted row, adding bid + ask to a total as
 * csv.lua's callback does. No quoting (the file has none).
 *
 * The read and parse are timed (CLOCK_MONOTONIC), as csv.lua times asp.run.
 * Prints one RESULT line like the workloads' (items = rows, bytes = file size).
 *
 * With "columns", the reference of asp.csv{columns = {"bid", "ask"}}: the
 * row holds the time, bid and ask only (the symbol is split off, unused).
 *
 * usage: csv FILE [columns]
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int64_t time_ns;
    const char *symbol;
    size_t symbol_len;
    double bid, ask;
} row;

static double total;
static int with_symbol = 1;
static long long rows;

__attribute__((noinline)) static void on_row(const row *r)
{
    total += r->bid + r->ask;
    rows++;
}
static void (*volatile callback)(const row *) = on_row;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n, int64_t *out)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* YYYY-MM-DDTHH:MM:SS[.fraction]Z -> ns since the epoch; -1 when malformed. */
static int parse_time(const char *s, size_t len, int64_t *out)
{
    int64_t y, mo, d, h, mi, sec, frac = 0;
    if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) || digits(s + 11, 2, &h) ||
        digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec))
        return -1;
    size_t i = 19;
    if (s[i] == '.') {
        int64_t scale = 100000000;
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            frac += (s[i] - '0') * scale;
            scale /= 10;
        }
    }
    if (i + 1 != len || s[i] != 'Z')
        return -1;
    *out = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 * INT64_C(1000000000) + sec * 1000000000 + frac;
    return 0;
}

/* A decimal number, correctly rounded; -1 when malformed. */
static int parse_number(const char *s, size_t n, double *out)
{
    static const double pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                    1e12, 1e13, 1e14, 1e15 };
    char num[64];
    size_t i = 0;
    int neg = 0, nd = 0, frac = -1;
    uint64_t m = 0;
    if (n > 0 && (s[0] == '-' || s[0] == '+'))
        neg = s[i++] == '-';
    for (; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            m = m * 10 + (uint64_t)(s[i] - '0');
            nd++;
            if (frac >= 0)
                frac++;
        } else if (s[i] == '.' && frac < 0) {
            frac = 0;
        } else {
            break;
        }
    }
    if (i == n && nd > 0 && nd <= 15) {
        double v = (double)m / pow10[frac > 0 ? frac : 0];
        *out = neg ? -v : v;
        return 0;
    }
    char *stop;
    if (n == 0 || n >= sizeof num)
        return -1;
    memcpy(num, s, n); /* strtod needs a terminated string */
    num[n] = 0;
    *out = strtod(num, &stop);
    return stop == num + n ? 0 : -1;
}

/* One line (without its '\n'); returns -1 when malformed. */
static int parse_line(const char *p, const char *end, void (*cb)(const row *))
{
    const char *f[4], *e[4];
    for (int i = 0; i < 4; i++) {
        const char *c = i < 3 ? memchr(p, ',', (size_t)(end - p)) : end;
        if (!c)
            return -1;
        f[i] = p;
        e[i] = c;
        p = c + 1;
    }
    row r;
    if (parse_time(f[0], (size_t)(e[0] - f[0]), &r.time_ns))
        return -1;
    r.symbol = with_symbol ? f[1] : NULL;
    r.symbol_len = with_symbol ? (size_t)(e[1] - f[1]) : 0;
    if (parse_number(f[2], (size_t)(e[2] - f[2]), &r.bid) || parse_number(f[3], (size_t)(e[3] - f[3]), &r.ask))
        return -1;
    cb(&r);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (argc > 2 && strcmp(argv[2], "columns") != 0)) {
        fprintf(stderr, "usage: csv FILE [columns]\n");
        return 2;
    }
    with_symbol = argc == 2;
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(argv[1]);
        return 1;
    }
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    void (*cb)(const row *) = callback;
    if (!buf)
        return 1;
    double c0 = now();
    size_t have = 0;
    int header = 1;
    for (;;) {
        ssize_t got = read(fd, buf + have, cap - have);
        if (got < 0) {
            perror("read");
            return 1;
        }
        have += (size_t)got;
        char *p = buf, *end = buf + have;
        for (;;) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl) {
                if (got == 0 && p < end) /* a last line without '\n' */
                    nl = end;
                else
                    break;
            }
            if (header)
                header = 0;
            else if (nl > p && parse_line(p, nl, cb)) {
                fprintf(stderr, "malformed line\n");
                return 1;
            }
            p = nl < end ? nl + 1 : end;
        }
        have = (size_t)(end - p);
        memmove(buf, p, have);
        if (got == 0)
            break;
    }
    double dt = now() - c0;
    close(fd);
    printf("RESULT bytes=%lld items=%lld seconds=%.6f total=%.2f\n", (long long)st.st_size, rows, dt, total);
    return 0;
}
