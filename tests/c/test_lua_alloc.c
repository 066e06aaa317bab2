/*
 * Unit tests for engine/lua_alloc.c: the Lua state's allocator.
 *
 * The direct tests check what LuaJIT relies on: alignment, blocks that do
 * not overlap, contents kept across a resize. The last one runs a real Lua
 * state on it through a churn of tables and strings of many size classes
 * and compares the result with that of a state on LuaJIT's own allocator.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "lua_alloc.h"

static int setup(void **state)
{
    *state = asp_lua_alloc_new();
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    asp_lua_alloc_free(*state);
    return 0;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed + i * 7);
}

static void check(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(p[i], (unsigned char)(seed + i * 7));
}

/* Every size from 1 to 2000 bytes: 16-aligned, writable, distinct. */
static void test_sizes_are_aligned_and_distinct(void **state)
{
    void *a = *state;
    enum { N = 2000 };
    unsigned char **blocks = calloc(N + 1, sizeof *blocks);
    assert_non_null(blocks);
    for (size_t n = 1; n <= N; n++) {
        blocks[n] = asp_lua_alloc_f(a, NULL, 0, n);
        assert_non_null(blocks[n]);
        assert_int_equal((uintptr_t)blocks[n] % 16, 0);
        fill(blocks[n], n, (unsigned)n);
    }
    /* No block overlaps another: each still holds its own pattern. */
    for (size_t n = 1; n <= N; n++)
        check(blocks[n], n, (unsigned)n);
    for (size_t n = 1; n <= N; n++)
        assert_null(asp_lua_alloc_f(a, blocks[n], n, 0));
    free(blocks);
}

/* A freed small block is the next one given out for its class (under
 * AddressSanitizer, where malloc serves every block, any block will do). */
static void test_freed_block_is_reused(void **state)
{
    void *a = *state;
    void *p = asp_lua_alloc_f(a, NULL, 0, 40);
    void *q = asp_lua_alloc_f(a, NULL, 0, 40);
    void *r;
    assert_ptr_not_equal(p, q);
    asp_lua_alloc_f(a, p, 40, 0);
    /* 33..48 bytes share a class. */
    r = asp_lua_alloc_f(a, NULL, 0, 48);
    assert_non_null(r);
    assert_ptr_equal(r, p);
    asp_lua_alloc_f(a, r, 48, 0);
    asp_lua_alloc_f(a, q, 40, 0);
}

/* Under AddressSanitizer the pooled blocks are checked too (issue #11): a
 * small block is addressable for exactly the bytes asked for, and poisoned
 * once freed, until it is given out again. */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

static void test_pooled_blocks_are_poisoned_under_asan(void **state)
{
    void *a = *state;
    unsigned char *p = asp_lua_alloc_f(a, NULL, 0, 40), *r;
    assert_non_null(p);
    assert_int_equal(asp_lua_alloc_pooled(), 1);
#ifdef TEST_ASAN
    assert_false(__asan_address_is_poisoned(p));
    assert_false(__asan_address_is_poisoned(p + 39));
    assert_true(__asan_address_is_poisoned(p + 40));
#endif
    asp_lua_alloc_f(a, p, 40, 0);
#ifdef TEST_ASAN
    assert_true(__asan_address_is_poisoned(p));
    assert_true(__asan_address_is_poisoned(p + 39));
#endif
    r = asp_lua_alloc_f(a, NULL, 0, 45);
    assert_ptr_equal(r, p);
    /* Resized within its class: addressable up to the new size. */
    r = asp_lua_alloc_f(a, r, 45, 34);
    assert_ptr_equal(r, p);
#ifdef TEST_ASAN
    assert_false(__asan_address_is_poisoned(r + 33));
    assert_true(__asan_address_is_poisoned(r + 34));
#endif
    asp_lua_alloc_f(a, r, 34, 0);
}

/* Growing and shrinking keeps the contents: within a class, between
 * classes, and across the small/large line both ways. */
static void test_resize_keeps_contents(void **state)
{
    void *a = *state;
    static const size_t steps[] = { 8, 12, 16, 17, 100, 500, 512, 513, 4000, 100000, 600, 300, 24, 1 };
    size_t n = 5;
    unsigned char *p = asp_lua_alloc_f(a, NULL, 0, n);
    assert_non_null(p);
    fill(p, n, 3);
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        size_t m = steps[i];
        p = asp_lua_alloc_f(a, p, n, m);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        check(p, n < m ? n : m, 3);
        fill(p, m, 3);
        n = m;
    }
    asp_lua_alloc_f(a, p, n, 0);
}

/* Many more blocks than one slab holds. */
static void test_many_slabs(void **state)
{
    void *a = *state;
    enum { N = 100000 };
    unsigned char **blocks = malloc(N * sizeof *blocks);
    assert_non_null(blocks);
    for (size_t i = 0; i < N; i++) {
        size_t n = 1 + i % 512;
        blocks[i] = asp_lua_alloc_f(a, NULL, 0, n);
        assert_non_null(blocks[i]);
        fill(blocks[i], n, (unsigned)i);
    }
    for (size_t i = 0; i < N; i++)
        check(blocks[i], 1 + i % 512, (unsigned)i);
    for (size_t i = 0; i < N; i++)
        asp_lua_alloc_f(a, blocks[i], 1 + i % 512, 0);
    free(blocks);
}

static const char churn[] =
    "local sum = 0\n"
    "for round = 1, 20 do\n"
    "  local keep = {}\n"
    "  for i = 1, 5000 do\n"
    "    local t = { i = i, s = string.rep('x', i % 700), round = round }\n"
    "    for k = 1, i % 40 do t[k] = k * i end\n"
    "    if i % 3 == 0 then keep[#keep + 1] = t end\n"
    "  end\n"
    "  collectgarbage()\n"
    "  for _, t in ipairs(keep) do sum = sum + t.i + #t.s + #t + t.round end\n"
    "end\n"
    "return sum\n";

static double run_churn(lua_State *L)
{
    double sum;
    assert_int_equal(luaL_loadstring(L, churn), 0);
    assert_int_equal(lua_pcall(L, 0, 1, 0), 0);
    sum = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return sum;
}

/* A Lua state on this allocator computes what one on LuaJIT's computes. */
static void test_lua_state_runs_on_it(void **state)
{
    lua_State *L = lua_newstate(asp_lua_alloc_f, *state);
    lua_State *ref = luaL_newstate();
    assert_non_null(L);
    assert_non_null(ref);
    luaL_openlibs(L);
    luaL_openlibs(ref);
    {
        double got = run_churn(L), want = run_churn(ref);
        assert_true(want > 0);
        assert_true(got == want);
    }
    lua_close(L);
    lua_close(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sizes_are_aligned_and_distinct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_freed_block_is_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pooled_blocks_are_poisoned_under_asan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resize_keeps_contents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_slabs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lua_state_runs_on_it, setup, teardown),
    };
    return cmocka_run_group_tests_name("lua_alloc", tests, NULL, NULL);
}
