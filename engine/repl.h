/*
 * The interactive REPL (asp-lua -i).
 */
#ifndef ASP_REPL_H
#define ASP_REPL_H

#include <stdint.h>

#include <lua.h>

/* True when standard input is a terminal. */
int asp_repl_is_terminal(void);

/* Runs the REPL on L until end of input; returns the exit status. */
int asp_repl_run(lua_State *L, const char *script);

/* ffi: begin */
/* 1 while a REPL command drives the run (Ctrl-C then pauses it), 0 after. */
void asp_repl_driving(int on);
/*
 * .reload: replaces this process by a fresh asp-lua with the same command
 * line (a new Lua state running the edited script), which takes the
 * session's journal and runs to virtual time `at` (< 0: stays at the start)
 * before its prompt. The checkpoints end first. Returns only on failure
 * (-1, errno set).
 */
int asp_repl_reload(int64_t at);
/* ffi: end */

#endif
