/*
 * libFuzzer target for the time parser and formatter (make fuzz).
 *
 * Any input must parse or be rejected without reading past its end (the
 * input is not NUL-terminated); anything that parses must format, and the
 * formatted text must parse back to the same instant truncated to the
 * microsecond. Seconds-to-ns conversion must never misbehave on any double.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "time.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t floor_to_us(int64_t ns)
{
    int64_t r = ns % 1000;
    return r < 0 ? ns - r - 1000 : ns - r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t ns;
    char buf[ASP_TIME_FORMAT_MAX];

    if (asp_time_parse((const char *)data, size, &ns) == 0) {
        size_t n = asp_time_format(ns, buf);
        int64_t back;
        if (n == 0 || n >= sizeof buf || buf[n] != '\0')
            abort();
        /* The lowest microsecond of the range formats below INT64_MIN. */
        if (ns >= INT64_MIN + 1000) {
            if (asp_time_parse(buf, n, &back) != 0 || back != floor_to_us(ns))
                abort();
        }
    }
    if (size == sizeof(double)) {
        double d;
        memcpy(&d, data, sizeof d);
        ns = asp_time_from_seconds(d);
        (void)asp_time_to_seconds(ns);
    }
    return 0;
}
