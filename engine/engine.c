/*
 * The process's engine: the scheduler the Lua side reaches through the FFI,
 * and the Lua modules compiled into the binary, so that asp-lua runs from
 * anywhere without a Lua path.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>

#include "engine.h"
#include "sched.h"

static asp_sched *engine_sched;

asp_sched *asp_engine_sched(void)
{
    if (!engine_sched) {
        engine_sched = asp_sched_new();
        if (!engine_sched) {
            fputs("asp-lua: cannot create the scheduler (out of memory)\n", stderr);
            exit(1);
        }
    }
    return engine_sched;
}

asp_sched *asp_engine_sched_if_made(void)
{
    return engine_sched;
}

void asp_engine_close(void)
{
    asp_sched_free(engine_sched);
    engine_sched = NULL;
}

static int load_embedded(lua_State *L)
{
    const asp_embedded_module *m = lua_touserdata(L, lua_upvalueindex(1));
    const char *name = luaL_checkstring(L, 1);
    if (luaL_loadbuffer(L, (const char *)m->text, m->size, m->chunk) != 0)
        return lua_error(L);
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    return 1;
}

void asp_engine_open(lua_State *L)
{
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    for (const asp_embedded_module *m = asp_embedded_modules; m->name; m++) {
        lua_pushlightuserdata(L, (void *)m);
        lua_pushcclosure(L, load_embedded, 1);
        lua_setfield(L, -2, m->name);
    }
    lua_pop(L, 2);
}

/* Adds a traceback to an error message; non-string errors are described. */
static int traceback(lua_State *L)
{
    if (!lua_isstring(L, 1)) {
        if (lua_isnoneornil(L, 1) || !luaL_callmeta(L, 1, "__tostring") || !lua_isstring(L, -1))
            lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
        lua_replace(L, 1);
    }
    luaL_traceback(L, L, lua_tostring(L, 1), 1);
    return 1;
}

int asp_docall(lua_State *L, int nargs, int nres)
{
    int base = lua_gettop(L) - nargs;
    int status;
    lua_pushcfunction(L, traceback);
    lua_insert(L, base);
    status = lua_pcall(L, nargs, nres, base);
    lua_remove(L, base);
    return status;
}
