/*
 * JSON lines through jansson (json.c), flattened into a token array that
 * lua/asp/sources/live.lua builds Lua values from.
 */
#ifndef ASP_JSON_H
#define ASP_JSON_H

#include <stddef.h>
#include <stdint.h>

/* ffi: begin */
/* -- JSON lines (engine/sources/json.h) -- */
/* JSON lines, flattened: an array or object token is followed by its n
 * elements (an object's as key, value pairs); type is one of these: */
enum {
    ASP_JSON_NULL = 0, ASP_JSON_FALSE = 1, ASP_JSON_TRUE = 2, ASP_JSON_NUMBER = 3,
    ASP_JSON_STRING = 4, ASP_JSON_ARRAY = 5, ASP_JSON_OBJECT = 6
};
typedef struct asp_json_tok {
    int32_t type;
    int32_t n;
    double num;
    const char *str;
    size_t len;
} asp_json_tok;
typedef struct asp_json asp_json;

asp_json *asp_json_new(void);
void asp_json_free(asp_json *j);
int32_t asp_json_decode(asp_json *j, const char *s, size_t len);
const asp_json_tok *asp_json_tokens(const asp_json *j);
const char *asp_json_error(const asp_json *j);
/* ffi: end */

#endif
