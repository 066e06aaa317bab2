/*
 * The interactive REPL (asp-lua -i).
 */
#ifndef ASP_REPL_H
#define ASP_REPL_H

#include <lua.h>

/* True when standard input is a terminal. */
int asp_repl_is_terminal(void);

/* Runs the REPL on L until end of input; returns the exit status. */
int asp_repl_run(lua_State *L, const char *script);

#endif
