/*
 * JSON lines for live sources: jansson decodes a line, and the tree is
 * flattened into a reused array of tokens in document order (an array or an
 * object token is followed by its n elements, an object's as key, value
 * pairs), which Lua walks with plain array reads instead of one FFI call per
 * node. Strings point into the jansson tree, kept until the next decode.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdint.h>

#include <jansson.h>

#include "asp_ffi.h"

enum { T_NULL, T_FALSE, T_TRUE, T_NUMBER, T_STRING, T_ARRAY, T_OBJECT };

struct asp_json {
    json_t *root;
    asp_json_tok *tok;
    int32_t n, cap;
    char err[320];
};

asp_json *asp_json_new(void)
{
    return calloc(1, sizeof(asp_json));
}

void asp_json_free(asp_json *j)
{
    if (!j)
        return;
    json_decref(j->root);
    free(j->tok);
    free(j);
}

static asp_json_tok *add(asp_json *j, int32_t type)
{
    asp_json_tok *t;
    if (j->n == j->cap) {
        int32_t cap = j->cap ? j->cap * 2 : 64;
        asp_json_tok *p = realloc(j->tok, sizeof *p * (size_t)cap);
        if (!p)
            return NULL;
        j->tok = p;
        j->cap = cap;
    }
    t = &j->tok[j->n++];
    memset(t, 0, sizeof *t);
    t->type = type;
    return t;
}

static int flatten(asp_json *j, json_t *v, int depth)
{
    asp_json_tok *t;
    int32_t at;
    if (depth > 200)
        return -1;
    switch (json_typeof(v)) {
    case JSON_NULL:
        return add(j, T_NULL) ? 0 : -1;
    case JSON_FALSE:
        return add(j, T_FALSE) ? 0 : -1;
    case JSON_TRUE:
        return add(j, T_TRUE) ? 0 : -1;
    case JSON_INTEGER:
    case JSON_REAL:
        if (!(t = add(j, T_NUMBER)))
            return -1;
        t->num = json_number_value(v);
        return 0;
    case JSON_STRING:
        if (!(t = add(j, T_STRING)))
            return -1;
        t->str = json_string_value(v);
        t->len = json_string_length(v);
        return 0;
    case JSON_ARRAY: {
        size_t i;
        json_t *e;
        if (!add(j, T_ARRAY))
            return -1;
        at = j->n - 1;
        j->tok[at].n = (int32_t)json_array_size(v);
        json_array_foreach(v, i, e) {
            if (flatten(j, e, depth + 1) != 0)
                return -1;
        }
        return 0;
    }
    case JSON_OBJECT: {
        const char *key;
        json_t *e;
        if (!add(j, T_OBJECT))
            return -1;
        at = j->n - 1;
        j->tok[at].n = (int32_t)json_object_size(v);
        json_object_foreach(v, key, e) {
            if (!(t = add(j, T_STRING)))
                return -1;
            t->str = key;
            t->len = strlen(key);
            if (flatten(j, e, depth + 1) != 0)
                return -1;
        }
        return 0;
    }
    }
    return -1;
}

int32_t asp_json_decode(asp_json *j, const char *s, size_t len)
{
    json_error_t e;
    json_decref(j->root);
    j->root = NULL;
    j->n = 0;
    j->root = json_loadb(s, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!j->root) {
        snprintf(j->err, sizeof j->err, "column %d: %s", e.column, e.text);
        return -1;
    }
    if (flatten(j, j->root, 0) != 0) {
        snprintf(j->err, sizeof j->err, "nested too deeply or out of memory");
        return -1;
    }
    return j->n;
}

const asp_json_tok *asp_json_tokens(const asp_json *j)
{
    return j->tok;
}

const char *asp_json_error(const asp_json *j)
{
    return j->err;
}
