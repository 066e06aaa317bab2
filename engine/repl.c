/*
 * The interactive REPL: a minimal line loop until the REPL issue lands.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "repl.h"

int asp_repl_is_terminal(void)
{
    return isatty(STDIN_FILENO);
}

int asp_repl_run(lua_State *L, const char *script)
{
    char line[4096];
    (void)script;
    for (;;) {
        fputs("> ", stdout);
        fflush(stdout);
        if (!fgets(line, sizeof line, stdin))
            break;
        if (luaL_loadbuffer(L, line, strlen(line), "=stdin") != 0 || lua_pcall(L, 0, 0, 0) != 0) {
            fprintf(stderr, "%s\n", lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    }
    fputs("\n", stdout);
    return 0;
}
