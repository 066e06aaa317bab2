/*
 * The process's engine: one scheduler and one Lua state, set up for scripts.
 */
#ifndef ASP_ENGINE_H
#define ASP_ENGINE_H

#include <stddef.h>

#include <lua.h>

#define ASP_VERSION "0.1.0"

/* A Lua module compiled into the binary; the build generates the table. */
typedef struct asp_embedded_module {
    const char *name;          /* the module's name for require */
    const char *chunk;         /* its chunk name: "@" and the file's path */
    const unsigned char *text; /* its Lua source */
    size_t size;
} asp_embedded_module;

/* Every module of lua/, ended by an entry whose name is NULL. */
extern const asp_embedded_module asp_embedded_modules[];

/* Installs the embedded Lua modules (asp, asp.*) into package.preload. */
void asp_engine_open(lua_State *L);

/* ffi: begin */
/* The process's scheduler, made on first use. */
struct asp_sched *asp_engine_sched(void);
/* ffi: end */

/* The scheduler if one was made, else NULL: never allocates (for signal
 * handlers). */
struct asp_sched *asp_engine_sched_if_made(void);

/*
 * Calls the function below its nargs arguments like lua_pcall, with a
 * message handler that adds the traceback (the command and the REPL share it).
 */
int asp_docall(lua_State *L, int nargs, int nres);

/* Frees the scheduler, if one was made. */
void asp_engine_close(void);

#endif
