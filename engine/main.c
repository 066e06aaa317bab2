/*
 * asp-lua: runs a Lua script with the `asp` module.
 *
 *   asp-lua script.lua [args...]   run a script (arg as in lua)
 *   asp-lua -e 'code'              run a string
 *   asp-lua -                      run the script on standard input
 *   asp-lua -i [script.lua]        the interactive REPL
 *   asp-lua -v | -h                version | usage
 *   asp-lua sweep script.lua --param name=a,b,c ...   a parameter sweep
 *
 * Shaped after luajit.c: everything runs under lua_cpcall, code runs through
 * docall with a traceback handler, and errors end the process with status 1.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <luajit.h>

#include "engine.h"
#include "lua_alloc.h"
#include "progress.h"
#include "reload.h"
#include "repl.h"
#include "signals.h"

static const char *progname = "asp-lua";
/* asp-lua test: busted ends a failed run with error(nil) (its way to exit 1
 * from Lua 5.1); that is its exit status, not an error to print. */
static int busted_mode;
/* asp-lua sweep ...: lua/asp/sweep.lua takes the whole command line. */
static int sweep_mode;

static void usage(FILE *out)
{
    fprintf(out,
        "usage: %s [options] [script [args...]]\n"
        "  script.lua  run the script; its arguments are in the table arg\n"
        "  -e code     run the string code (may be given several times)\n"
        "  -           run the script read from standard input\n"
        "  -i          interactive REPL; a script's asp.run then pauses at its start\n"
        "  -v          print the version\n"
        "  --progress  show the progress of long replays on stderr (default: when it is a terminal)\n"
        "  --no-progress  never show it\n"
        "  --stats     print asp.stats() of the last run on stderr at exit\n"
        "  --reload    run the script, and on each save of it (or of a module of its\n"
        "              folder) hand the live run over to the new code (docs/reload.md)\n"
        "  --record out.csv   write every series (asp.record) to out.csv at exit\n"
        "  --report out.html  write the run's report (docs/results.md) at exit\n"
        "  --backtest  every asp.run is a backtest (live = false): it never waits for the\n"
        "              wall clock and ends after the last past event\n"
        "  --param name=value  asp.params.name = value (a number when it reads as one)\n"
        "  --result out.csv    write the run's result row (asp.result) at exit (docs/sweeps.md)\n"
        "  -h          print this help\n"
        "  test [busted options] [paths]  run busted specs under asp-lua (docs/testing.md)\n"
        "  sweep script.lua --param name=a,b|from:to:step ...  run a grid (asp-lua sweep -h)\n"
        "  --          stop handling options\n",
        progname);
}

static void print_error(const char *msg)
{
    fprintf(stderr, "%s: %s\n", progname, msg);
    fflush(stderr);
}

static int report(lua_State *L, int status)
{
    /* A reader that went away (asp-lua x.lua | head) wants no message. */
    if (status != 0 && asp_signals_received() == SIGPIPE) {
        lua_pop(L, 1);
        return status;
    }
    if (status != 0 && busted_mode &&
        (lua_isnil(L, -1) ||
         (lua_type(L, -1) == LUA_TSTRING &&
          strncmp(lua_tostring(L, -1), "(error object is a nil value)", 29) == 0))) {
        lua_pop(L, 1); /* (the traceback handler made a string of the nil) */
        return status;
    }
    if (status != 0 && !lua_isnil(L, -1)) {
        const char *msg = lua_tostring(L, -1);
        print_error(msg ? msg : "(error object is not a string)");
        lua_pop(L, 1);
    }
    return status;
}

/* The script's folder comes first on package.path, so that a script finds
 * its neighbours wherever it is started from (cd examples && asp-lua x.lua,
 * or asp-lua examples/x.lua). */
static void add_script_dir(lua_State *L, const char *fname)
{
    const char *slash = strrchr(fname, '/');
    size_t dirlen = slash ? (size_t)(slash - fname) + 1 : 0;
    lua_getglobal(L, "package");
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    for (int k = 0; k < 2; k++) {
        if (dirlen)
            lua_pushlstring(L, fname, dirlen);
        else
            lua_pushliteral(L, "./");
        lua_pushstring(L, k == 0 ? "?.lua;" : "?/init.lua;");
    }
    lua_getfield(L, -5, "path");
    lua_concat(L, 5);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
}

/* Builds the global arg: arg[0] the script, arg[1..] its arguments. */
static void create_arg(lua_State *L, char **argv, int argc, int script)
{
    if (script > 0 && strcmp(argv[script], "-") != 0)
        add_script_dir(L, argv[script]);
    lua_createtable(L, argc - script - 1, script + 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");
}

static int run_script(lua_State *L, char **argv, int argc, int script)
{
    const char *fname = argv[script];
    int status, nargs;
    if (strcmp(fname, "-") == 0)
        fname = NULL; /* luaL_loadfile reads standard input */
    status = luaL_loadfile(L, fname);
    if (status != 0)
        return report(L, status);
    nargs = argc - script - 1;
    luaL_checkstack(L, nargs, "too many arguments to the script");
    for (int i = script + 1; i < argc; i++)
        lua_pushstring(L, argv[i]);
    return report(L, asp_docall(L, nargs, 0));
}

static int run_string(lua_State *L, const char *code)
{
    int status = luaL_loadbuffer(L, code, strlen(code), "=(command line)");
    if (status == 0)
        status = asp_docall(L, 0, 0);
    return report(L, status);
}

/* asp-lua test [busted options] [paths]: busted's runner, run as a script
 * under asp-lua so that specs get the real engine (docs/testing.md). Finds
 * busted on PATH; returns its path (static storage) or NULL. */
static const char *find_busted(void)
{
    static char found[4096];
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *end = strchr(path, ':');
        size_t n = end ? (size_t)(end - path) : strlen(path);
        if (n > 0 && n + sizeof "/busted" < sizeof found) {
            memcpy(found, path, n);
            memcpy(found + n, "/busted", sizeof "/busted");
            if (access(found, R_OK) == 0)
                return found;
        }
        path += n + (end ? 1 : 0);
    }
    return NULL;
}

/* Calls require(module)[fn]([first,] args...) with strings; its number
 * result is the exit status. Errors are reported; they make status 1. */
static int call_lua_main(lua_State *L, const char *module, const char *fn,
                         const char *first, char **args, int nargs)
{
    int status;
    lua_getglobal(L, "require");
    lua_pushstring(L, module);
    if (report(L, asp_docall(L, 1, 1)) != 0)
        return 1;
    lua_getfield(L, -1, fn);
    lua_remove(L, -2);
    luaL_checkstack(L, nargs + 1, "too many arguments");
    if (first)
        lua_pushstring(L, first);
    for (int i = 0; i < nargs; i++)
        lua_pushstring(L, args[i]);
    if (report(L, asp_docall(L, nargs + (first != NULL), 1)) != 0)
        return 1;
    status = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : 1;
    lua_pop(L, 1);
    return status;
}

/* --record and --report: written by lua/asp/report.lua after the script. */
static int write_results(lua_State *L, const char *record, const char *report_path)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "asp.report");
    if (report(L, asp_docall(L, 1, 1)) != 0)
        return 1;
    lua_getfield(L, -1, "at_exit");
    lua_remove(L, -2);
    lua_pushstring(L, record);
    lua_pushstring(L, report_path);
    return report(L, asp_docall(L, 2, 0));
}

struct smain {
    int argc;
    char **argv;
    int status;
};

static int pmain(lua_State *L)
{
    struct smain *s = lua_touserdata(L, 1);
    char **argv = s->argv;
    int argc = s->argc;
    int script = 0, interactive = 0, ran_code = 0, show_stats = 0, reload = 0;
    const char *record = NULL, *report_path = NULL, *result_path = NULL;
    int i;

    lua_gc(L, LUA_GCSTOP, 0);
    luaL_openlibs(L);
    lua_gc(L, LUA_GCRESTART, -1);
    asp_engine_open(L);
    asp_progress_set(-1);
    if (asp_reload_child_init() < 0) {
        s->status = 1;
        return 0;
    }
    if (sweep_mode) {
        s->status = call_lua_main(L, "asp.sweep", "main", NULL, argv + 2, argc - 2);
        return 0;
    }

    /* Options first: -e runs as it is met, so later ones see earlier ones. */
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            script = i;
            break;
        }
        if (strcmp(a, "--") == 0) {
            if (i + 1 < argc)
                script = i + 1;
            break;
        } else if (strcmp(a, "-e") == 0) {
            if (i + 1 >= argc) {
                print_error("'-e' needs an argument");
                usage(stderr);
                s->status = 1;
                return 0;
            }
            create_arg(L, argv, argc, 0);
            if (run_string(L, argv[++i]) != 0) {
                s->status = 1;
                return 0;
            }
            ran_code = 1;
        } else if (strcmp(a, "-i") == 0) {
            interactive = 1;
        } else if (strcmp(a, "--progress") == 0) {
            asp_progress_set(1);
        } else if (strcmp(a, "--no-progress") == 0) {
            asp_progress_set(0);
        } else if (strcmp(a, "--backtest") == 0) {
            if (report(L, luaL_dostring(L, "require('asp.sched').default_live = false")) != 0) {
                s->status = 1;
                return 0;
            }
        } else if (strcmp(a, "--record") == 0 || strcmp(a, "--report") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: '%s' needs a file name\n", progname, a);
                s->status = 1;
                return 0;
            }
            *(a[4] == 'c' ? &record : &report_path) = argv[++i];
        } else if (strcmp(a, "--param") == 0 || strcmp(a, "--result") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: '%s' needs an argument\n", progname, a);
                s->status = 1;
                return 0;
            }
            if (a[2] == 'r') {
                result_path = argv[++i];
            } else if (call_lua_main(L, "asp.params", "add", NULL, &argv[++i], 1) != 0) {
                s->status = 1;
                return 0;
            }
        } else if (strcmp(a, "--stats") == 0) {
            show_stats = 1;
        } else if (strcmp(a, "--reload") == 0) {
            reload = 1;
        } else if (strcmp(a, "-v") == 0) {
            printf("asp-lua %s (%s)\n", ASP_VERSION, LUAJIT_VERSION);
            ran_code = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "%s: unknown option '%s'\n", progname, a);
            usage(stderr);
            s->status = 1;
            return 0;
        }
    }
    if (reload && (interactive || script == 0 || strcmp(argv[script], "-") == 0)) {
        print_error("--reload needs a script file (and no -i)");
        s->status = 1;
        return 0;
    }
    if (reload && asp_reload_role() == 0 && asp_reload_start(argv, argc, script) != 0) {
        s->status = 1;
        return 0;
    }
    if (script > 0) {
        create_arg(L, argv, argc, script);
        /* With -i the REPL runs the script, in interactive mode. */
        if (!interactive && result_path) {
            /* The row a sweep would write for these parameters. */
            if (call_lua_main(L, "asp.sweep", "single", result_path, &argv[script], argc - script) != 0)
                s->status = 1;
        } else if (!interactive && run_script(L, argv, argc, script) != 0) {
            s->status = 1;
        }
        /* A rebuild that failed says so, not the figures of no run. */
        if (show_stats && !(asp_reload_role() == 2 && s->status != 0))
            report(L, luaL_dostring(L, "require('asp.stats').report()"));
        /* Results of a script that failed would be partial: none then. */
        if (s->status == 0 && !interactive && (record || report_path) &&
            write_results(L, record, report_path) != 0)
            s->status = 1;
        if (s->status != 0)
            return 0;
    }
    if (interactive || (script == 0 && !ran_code)) {
        if (interactive || asp_repl_is_terminal()) {
            /* The REPL pauses on Ctrl-C itself; a paused run must not turn
             * SIGTERM or SIGPIPE into a pause nobody resumes. */
            signal(SIGTERM, SIG_DFL);
            signal(SIGPIPE, SIG_DFL);
            s->status = asp_repl_run(L, script > 0 ? argv[script] : NULL);
        } else {
            /* No script and no terminal: read the script from standard input. */
            create_arg(L, argv, argc, 0);
            s->status = luaL_loadfile(L, NULL) == 0 ? report(L, asp_docall(L, 0, 0)) : report(L, 1);
            s->status = s->status != 0;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct smain s = { argc, argv, 0 };
    if (argc >= 2 && strcmp(argv[1], "test") == 0) {
        const char *busted = find_busted();
        if (!busted) {
            fprintf(stderr, "%s test: busted is not installed (the Debian package lua-busted: "
                            "apt-get install lua-busted)\n", progname);
            return 1;
        }
        /* argv[1] becomes busted's runner: the script, with the rest its arguments. */
        argv[1] = (char *)busted;
        busted_mode = 1;
    } else if (argc >= 2 && strcmp(argv[1], "sweep") == 0) {
        sweep_mode = 1;
    }
    asp_lua_alloc *alloc = asp_lua_alloc_new();
    lua_State *L = alloc ? lua_newstate(asp_lua_alloc_f, alloc) : NULL;
    int status;
    if (!L) {
        asp_lua_alloc_free(alloc);
        print_error("cannot create the Lua state (out of memory)");
        return 1;
    }
    asp_signals_install();
    status = lua_cpcall(L, pmain, &s);
    report(L, status);
    asp_reload_close();
    lua_close(L);
    asp_lua_alloc_free(alloc);
    asp_engine_close();
    if (asp_signals_received())
        return 128 + asp_signals_received();
    return (status != 0 || s.status != 0) ? 1 : 0;
}
