/*
 * The interactive REPL (asp-lua -i): line editing and history (libedit),
 * multi-line input, the .commands, printing results, and Ctrl-C.
 *
 * Shaped after luajit.c: code runs through docall with a traceback handler;
 * an incomplete chunk (a syntax error at <eof>) continues on the next line;
 * SIGINT becomes a Lua hook that raises "interrupted!". While a command drives
 * the run, the first Ctrl-C only asks the scheduler to pause before its next
 * item (the run keeps its state); a second one interrupts the Lua code.
 *
 * The commands and the printing of values are Lua (asp.debug), so that
 * scripts and tests share them; this file parses lines and calls them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <histedit.h>
#include <lauxlib.h>
#include <lua.h>

#include "asp_ffi.h"
#include "checkpoint.h"
#include "engine.h"
#include "journal.h"
#include "repl.h"
#include "sched.h"

#define CHECKPOINTS_KEPT 32

/* -- Ctrl-C ------------------------------------------------------------------ */

static lua_State *repl_L;
static volatile sig_atomic_t driving;     /* a command is driving the run */
static volatile sig_atomic_t pause_asked; /* Ctrl-C already asked it to pause */

void asp_repl_driving(int on)
{
    /* A Ctrl-C from before this command must not pause it at once. */
    if (on)
        asp_sched_forget_interrupt(asp_engine_sched());
    driving = on;
    pause_asked = 0;
    /* What the command prints next starts on a line of its own. */
    if (!on)
        asp_progress_done();
}

static void interrupted_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted!");
}

static void on_sigint(int sig)
{
    (void)sig;
    if (driving && !pause_asked) {
        pause_asked = 1;
        asp_sched_interrupt(asp_engine_sched());
        return;
    }
    if (repl_L)
        lua_sethook(repl_L, interrupted_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static void set_sigint(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: reading a line returns on Ctrl-C */
    sigaction(SIGINT, &sa, NULL);
}

/* -- Running code ---------------------------------------------------------- */

static int docall(lua_State *L, int nargs, int nres)
{
    int status = asp_docall(L, nargs, nres);
    lua_sethook(L, NULL, 0, 0); /* a Ctrl-C that came too late */
    return status;
}

static void report(lua_State *L, int status)
{
    if (status != 0) {
        const char *msg = lua_tostring(L, -1);
        fprintf(stderr, "%s\n", msg ? msg : "(error object is not a string)");
        fflush(stderr);
        lua_pop(L, 1);
    }
}

/* Prints the values above base, each as asp.debug.format shows it. */
static void print_results(lua_State *L, int base)
{
    int n = lua_gettop(L) - base;
    if (n <= 0)
        return;
    lua_getglobal(L, "require");
    lua_pushliteral(L, "asp.debug");
    if (lua_pcall(L, 1, 1, 0) != 0) {
        report(L, 1);
        lua_settop(L, base);
        return;
    }
    lua_getfield(L, -1, "format");
    lua_replace(L, -2);
    for (int i = 1; i <= n; i++) {
        lua_pushvalue(L, -1);
        lua_pushvalue(L, base + i);
        if (lua_pcall(L, 1, 1, 0) != 0) {
            report(L, 1);
            break;
        }
        fputs(lua_tostring(L, -1) ? lua_tostring(L, -1) : "?", stdout);
        fputs(i < n ? "\t" : "\n", stdout);
        lua_pop(L, 1);
    }
    fflush(stdout);
    lua_settop(L, base);
}

/* A .command line: asp.debug.command(name, args). */
static void run_command(lua_State *L, const char *line)
{
    const char *p = line + 1, *name_end;
    int base = lua_gettop(L), status;
    while (*p == ' ')
        p++;
    name_end = p;
    while (*name_end && *name_end != ' ' && *name_end != '\t' && *name_end != '\n')
        name_end++;
    lua_getglobal(L, "require");
    lua_pushliteral(L, "asp.debug");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "command");
    lua_replace(L, -2);
    lua_pushlstring(L, p, (size_t)(name_end - p));
    lua_pushstring(L, name_end);
    /* A command's error is its message alone (a run's error carries its own
     * traceback): no traceback of the REPL's call into asp.debug. */
    status = lua_pcall(L, 2, LUA_MULTRET, 0);
    lua_sethook(L, NULL, 0, 0);
    if (status != 0) {
        report(L, status);
        lua_settop(L, base);
        return;
    }
    /* Reports have a __tostring: they print as their text. */
    print_results(L, base);
}

/* -- Reading lines ----------------------------------------------------------------- */

static int continuing;
static EditLine *volatile kept_editor;
static int line_cancelled;

/* Ctrl-C at the prompt is a key (the terminal's isig is off while editing):
 * it ends the line, which is then dropped with whatever came before it. */
static unsigned char cancel_line(EditLine *el, int ch)
{
    (void)el;
    (void)ch;
    line_cancelled = 1;
    return CC_NEWLINE;
}

static char *prompt(EditLine *el)
{
    (void)el;
    return continuing ? (char *)">> " : (char *)"> ";
}

static const char *history_path(void)
{
    static char buf[4096];
    const char *env = getenv("ASP_LUA_HISTORY");
    const char *home;
    if (env)
        return env[0] ? env : NULL;
    home = getenv("HOME");
    if (!home || !home[0])
        return NULL;
    snprintf(buf, sizeof buf, "%s/.asp_lua_history", home);
    return buf;
}

/* 1 when the message on the stack says the chunk ended too early. */
static int incomplete_message(lua_State *L, int status)
{
    static const char eof[] = "'<eof>'";
    size_t len;
    const char *msg;
    if (status != LUA_ERRSYNTAX)
        return 0;
    msg = lua_tolstring(L, -1, &len);
    return msg && len >= sizeof eof - 1 && strcmp(msg + len - (sizeof eof - 1), eof) == 0;
}

/* 1 (message popped) when the chunk is incomplete: continue on the next line. */
static int incomplete(lua_State *L, int status)
{
    if (!incomplete_message(L, status))
        return 0;
    lua_pop(L, 1);
    return 1;
}

/*
 * Compiles the chunk: as an expression whose values print when it is one
 * (also when it starts with '='), else as statements. Returns the load
 * status with the function or the message on the stack.
 */
static int load_chunk(lua_State *L, const char *chunk)
{
    int status;
    const char *expr = chunk[0] == '=' ? chunk + 1 : chunk;
    lua_pushfstring(L, "return %s", expr);
    status = luaL_loadbuffer(L, lua_tostring(L, -1), lua_objlen(L, -1), "=stdin");
    lua_remove(L, -2);
    if (status == 0 || chunk[0] == '=' || incomplete_message(L, status))
        return status;
    lua_pop(L, 1);
    return luaL_loadbuffer(L, chunk, strlen(chunk), "=stdin");
}

/* Runs a script in interactive mode: asp.run pauses at the start. */
static void run_script(lua_State *L, const char *script)
{
    int nargs = 0, status;
    status = luaL_loadfile(L, script);
    if (status == 0) {
        lua_getglobal(L, "arg");
        if (lua_istable(L, -1)) {
            int n = (int)lua_objlen(L, -1);
            luaL_checkstack(L, n, "too many arguments to the script");
            for (int i = 1; i <= n; i++)
                lua_rawgeti(L, -1 - (i - 1), i);
            nargs = n;
        }
        lua_remove(L, -1 - nargs);
        status = docall(L, nargs, 0);
    }
    report(L, status);
}

/* -- .reload ------------------------------------------------------------------ */

#define RELOAD_ENV "ASP_REPL_RELOAD"

int asp_repl_reload(int64_t at)
{
    static char buf[65536];
    char *argv[1024], env[64];
    int fd = asp_journal_fd(), argc = 0, cmd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t n = cmd < 0 ? -1 : read(cmd, buf, sizeof buf - 1);
    if (cmd >= 0)
        close(cmd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* The same command line: options, -e chunks, the script and its
     * arguments, NUL-separated. */
    for (char *p = buf; p < buf + n && argc < 1023; p += strlen(p) + 1)
        argv[argc++] = p;
    argv[argc] = NULL;
    snprintf(env, sizeof env, "%d %" PRId64, fd, at);
    if (setenv(RELOAD_ENV, env, 1) != 0)
        return -1;
    /* The journal goes to the new process; nothing else does (the live
     * sources' descriptors and the checkpoints' pipes close on exec). */
    if (fd >= 0)
        fcntl(fd, F_SETFD, 0);
    asp_checkpoint_end();
    fflush(NULL);
    execv("/proc/self/exe", argv);
    {
        int e = errno;
        if (fd >= 0)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
        unsetenv(RELOAD_ENV);
        errno = e;
    }
    return -1;
}

/* The process a .reload started: the session's journal replaces the fresh
 * one, and the run goes on to the old process's clock. */
static void reloaded(lua_State *L, const char *how)
{
    int fd = -1, base = lua_gettop(L);
    int64_t at = -1;
    if (sscanf(how, "%d %" SCNd64, &fd, &at) != 2)
        return;
    if (fd >= 0 && asp_journal_adopt(fd) == 0)
        asp_journal_resumed();
    lua_getglobal(L, "require");
    lua_pushliteral(L, "asp.debug");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "reloaded");
    lua_replace(L, -2);
    lua_pushfstring(L, "%s", strchr(how, ' ') + 1); /* int64 nanoseconds, as text */
    if (lua_pcall(L, 1, LUA_MULTRET, 0) != 0)
        report(L, 1);
    else
        print_results(L, base);
    lua_settop(L, base);
}

int asp_repl_is_terminal(void)
{
    return isatty(STDIN_FILENO);
}

static int setup_lua(lua_State *L)
{
    static const char init[] =
        "asp = asp or require('asp')\n"
        "asp.debug.interactive(true)\n";
    int status = luaL_loadbuffer(L, init, sizeof init - 1, "=repl");
    if (status == 0)
        status = docall(L, 0, 0);
    report(L, status);
    return status;
}

int asp_repl_run(lua_State *L, const char *script)
{
    EditLine *el;
    History *hist;
    HistEvent ev;
    const char *hpath = history_path();
    char *chunk = NULL;
    size_t chunk_len = 0;
    int generation = 0;
    char *reload;

    repl_L = L;
    /* A session: checkpoints are processes of it (see checkpoint.h). */
    if (asp_checkpoint_session(CHECKPOINTS_KEPT) != 0)
        fputs("asp-lua: checkpoints are off (fork failed): .back will not work\n", stderr);
    set_sigint();
    if (setup_lua(L) != 0)
        return 1;

    hist = history_init();
    history(hist, &ev, H_SETSIZE, 1000);
    history(hist, &ev, H_SETUNIQUE, 1);
    if (hpath)
        history(hist, &ev, H_LOAD, hpath);
    el = el_init("asp-lua", stdin, stdout, stderr);
    el_set(el, EL_PROMPT, prompt);
    el_set(el, EL_EDITOR, "emacs");
    el_set(el, EL_HIST, history, hist);
    el_set(el, EL_SETTY, "-d", "-isig", NULL);
    el_set(el, EL_ADDFN, "asp-cancel", "drop the input and show a fresh prompt", cancel_line);
    el_set(el, EL_BIND, "^C", "asp-cancel", NULL);
    el_source(el, NULL);

    reload = getenv(RELOAD_ENV) ? strdup(getenv(RELOAD_ENV)) : NULL;
    unsetenv(RELOAD_ENV);
    if (!reload)
        printf("asp-lua %s REPL: Lua with the asp module; .help lists the commands\n", ASP_VERSION);
    fflush(stdout);
    if (script)
        run_script(L, script);
    if (reload)
        reloaded(L, reload);
    free(reload);

    for (;;) {
        int count = 0, status;
        const char *line;
        errno = 0;
        line_cancelled = 0;
        line = el_gets(el, &count);
        if (!line && !(count < 0 && errno == EINTR))
            break; /* end of input */
        if (!line || line_cancelled) {
            /* Ctrl-C at the prompt: drop what was typed, statement and all. */
            lua_sethook(L, NULL, 0, 0);
            fputs("\n", stdout);
            free(chunk);
            chunk = NULL;
            chunk_len = 0;
            continuing = 0;
            continue;
        }
        {
            /* The chunk so far, lines joined by newlines, without the last one. */
            size_t len = strlen(line);
            char *grown;
            if (len > 0 && line[len - 1] == '\n')
                len--;
            grown = realloc(chunk, chunk_len + len + 2);
            if (!grown)
                break;
            chunk = grown;
            if (continuing)
                chunk[chunk_len++] = '\n';
            memcpy(chunk + chunk_len, line, len);
            chunk_len += len;
            chunk[chunk_len] = '\0';
        }
        if (!continuing && strspn(chunk, " \t") == chunk_len) {
            chunk_len = 0;
            continue;
        }
        if (!continuing && chunk[0] == '.' && chunk[1] != '.' && !(chunk[1] >= '0' && chunk[1] <= '9')) {
            history(hist, &ev, H_ENTER, chunk);
            if (hpath)
                history(hist, &ev, H_SAVE, hpath);
            run_command(L, chunk);
        } else {
            int base = lua_gettop(L);
            status = load_chunk(L, chunk);
            if (incomplete(L, status)) {
                continuing = 1;
                continue;
            }
            history(hist, &ev, H_ENTER, chunk);
            if (hpath)
                history(hist, &ev, H_SAVE, hpath);
            if (status == 0)
                status = docall(L, 0, LUA_MULTRET);
            if (status != 0)
                report(L, status);
            else
                print_results(L, base);
        }
        continuing = 0;
        chunk_len = 0;
        /* Resumed from a checkpoint: its history is older than the file's. */
        if (asp_checkpoint_generation() != generation) {
            generation = asp_checkpoint_generation();
            history(hist, &ev, H_CLEAR);
            if (hpath)
                history(hist, &ev, H_LOAD, hpath);
        }
    }
    fputs("\n", stdout);
    fflush(stdout);
    free(chunk);
    /* A paused run ends as with asp.stop(): leaving never waits for its
     * live sources. */
    if (luaL_loadstring(L, "require('asp.debug').quit()") == 0)
        report(L, docall(L, 0, 0));
    else
        report(L, 1);
    /* el_end would lose the names EL_ADDFN copied (a libedit leak); the
     * editor lives as long as the process instead, and the terminal is
     * already back in its own mode between lines. */
    kept_editor = el;
    history_end(hist);
    asp_checkpoint_end();
    return 0;
}
