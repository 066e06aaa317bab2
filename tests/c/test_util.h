/*
 * What the cmocka tests share. Include after <cmocka.h>.
 */
#ifndef ASP_TEST_UTIL_H
#define ASP_TEST_UTIL_H

#include <inttypes.h>

/* cmocka prints integers as unsigned hex, which hides negative instants:
 * this prints both as signed decimal nanoseconds. */
#define assert_ns_equal(got_expr, want_expr)                                                  \
    do {                                                                                      \
        int64_t got_ = (got_expr), want_ = (want_expr);                                       \
        if (got_ != want_) {                                                                  \
            print_error("%s = %" PRId64 ", expected %" PRId64 "\n", #got_expr, got_, want_); \
            fail();                                                                           \
        }                                                                                     \
    } while (0)

#endif
