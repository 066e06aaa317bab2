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

#include "sources/json.h"

enum { T_NULL, T_FALSE, T_TRUE, T_NUMBER, T_STRING, T_ARRAY, T_OBJECT };

/* Arrays and objects nest at most this deep (the Lua side builds the value
 * by recursion); deeper is an error that says so. */
#define MAX_DEPTH 200

/* What flatten fails with. */
enum { F_DEEP = -1, F_NOMEM = -2 };

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
    int rc;
    if (depth >= MAX_DEPTH)
        return F_DEEP;
    switch (json_typeof(v)) {
    case JSON_NULL:
        return add(j, T_NULL) ? 0 : F_NOMEM;
    case JSON_FALSE:
        return add(j, T_FALSE) ? 0 : F_NOMEM;
    case JSON_TRUE:
        return add(j, T_TRUE) ? 0 : F_NOMEM;
    case JSON_INTEGER:
    case JSON_REAL:
        if (!(t = add(j, T_NUMBER)))
            return F_NOMEM;
        t->num = json_number_value(v);
        return 0;
    case JSON_STRING:
        if (!(t = add(j, T_STRING)))
            return F_NOMEM;
        t->str = json_string_value(v);
        t->len = json_string_length(v);
        return 0;
    case JSON_ARRAY: {
        size_t i;
        json_t *e;
        if (!add(j, T_ARRAY))
            return F_NOMEM;
        at = j->n - 1;
        j->tok[at].n = (int32_t)json_array_size(v);
        json_array_foreach(v, i, e) {
            if ((rc = flatten(j, e, depth + 1)) != 0)
                return rc;
        }
        return 0;
    }
    case JSON_OBJECT: {
        const char *key;
        json_t *e;
        if (!add(j, T_OBJECT))
            return F_NOMEM;
        at = j->n - 1;
        j->tok[at].n = (int32_t)json_object_size(v);
        json_object_foreach(v, key, e) {
            if (!(t = add(j, T_STRING)))
                return F_NOMEM;
            t->str = key;
            t->len = strlen(key);
            if ((rc = flatten(j, e, depth + 1)) != 0)
                return rc;
        }
        return 0;
    }
    }
    return F_NOMEM;
}

int32_t asp_json_decode(asp_json *j, const char *s, size_t len)
{
    json_error_t e;
    size_t k = 0;
    int rc;
    json_decref(j->root);
    j->root = NULL;
    j->n = 0;
    /* An empty (or blank) line is no value: an error that says so, rather
     * than jansson's "'[' or '{' expected near end of file". */
    while (k < len && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r' || s[k] == '\n'))
        k++;
    if (k == len) {
        snprintf(j->err, sizeof j->err,
                 "an empty line: JSON lines hold one value per line (on_error = 'skip' counts it and goes on)");
        return -1;
    }
    j->root = json_loadb(s, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!j->root) {
        snprintf(j->err, sizeof j->err, "column %d: %s", e.column, e.text);
        return -1;
    }
    if ((rc = flatten(j, j->root, 0)) != 0) {
        if (rc == F_DEEP)
            snprintf(j->err, sizeof j->err, "arrays and objects nested deeper than %d levels (the limit)",
                     MAX_DEPTH);
        else
            snprintf(j->err, sizeof j->err, "out of memory for the decoded value");
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
