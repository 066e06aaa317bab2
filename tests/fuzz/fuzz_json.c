/*
 * libFuzzer target for the JSON line decoder of live sources (make fuzz).
 *
 * Any input decodes or is rejected with a message, never a crash. A decoded
 * value's token array must be well formed: walking it as Lua does (an array
 * or object token followed by its n elements, an object's as key, value
 * pairs with string keys) uses exactly the count of tokens returned. The
 * same state decodes the input twice (it is reused across lines).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asp_ffi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { T_NULL, T_FALSE, T_TRUE, T_NUMBER, T_STRING, T_ARRAY, T_OBJECT };

/* Returns the index after the value at i, or -1 if malformed. */
static int32_t walk(const asp_json_tok *t, int32_t i, int32_t n)
{
    if (i < 0 || i >= n)
        return -1;
    switch (t[i].type) {
    case T_NULL:
    case T_FALSE:
    case T_TRUE:
    case T_NUMBER:
        return i + 1;
    case T_STRING:
        if (t[i].len > 0 && t[i].str == NULL)
            return -1;
        /* Strings may hold NUL: read every byte of it. */
        for (size_t k = 0; k < t[i].len; k++)
            if (((volatile const char *)t[i].str)[k] == 0x7f && k == (size_t)-1)
                return -1;
        return i + 1;
    case T_ARRAY: {
        int32_t m = t[i].n, j = i + 1;
        for (int32_t k = 0; k < m && j >= 0; k++)
            j = walk(t, j, n);
        return j;
    }
    case T_OBJECT: {
        int32_t m = t[i].n, j = i + 1;
        for (int32_t k = 0; k < m && j >= 0; k++) {
            if (j >= n || t[j].type != T_STRING)
                return -1;
            j = walk(t, j + 1, n);
        }
        return j;
    }
    }
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    asp_json *j = asp_json_new();
    if (!j)
        abort();
    for (int round = 0; round < 2; round++) {
        int32_t n = asp_json_decode(j, (const char *)data, size);
        if (n < 0) {
            const char *e = asp_json_error(j);
            if (!e || !*e)
                abort(); /* a rejection must say why */
        } else if (n == 0 || walk(asp_json_tokens(j), 0, n) != n) {
            abort();
        }
    }
    asp_json_free(j);
    return 0;
}
