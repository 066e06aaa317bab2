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

/* ffi: begin */
/* 1 while a REPL command drives the run (Ctrl-C then pauses it), 0 after. */
void asp_repl_driving(int on);
/* ffi: end */

#endif
