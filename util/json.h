// json.h — a read-only JSON (RFC 8259) tree, for files too large or too raw for libyaml
// (tokenizer.json: hundreds of thousands of strings, control characters inside strings,
// which YAML forbids). One parse, one allocation family; every node knows its line and
// column, and every lookup that fails dies with "<source>:<line>:<col>: <what>".
#ifndef STRETCH_JSON_H
#define STRETCH_JSON_H

#include <stddef.h>
#include <stdio.h>

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ } JsonType;

typedef struct {
    JsonType type;
    int line, col;
    size_t n;              // string bytes (JSON_STR), element or member count (JSON_ARR, JSON_OBJ),
                           // 1 for an integer literal (JSON_NUM: no fraction or exponent)
    size_t at;             // JSON_STR: offset in Json.chars; JSON_ARR/OBJ: first index in Json.kids
    size_t key;            // a member's key: offset in Json.chars + 1 (0: not a member)
    double num;            // JSON_NUM, JSON_BOOL
} JsonNode;

typedef struct {
    const char *source;    // file name used in error messages
    JsonNode *nodes;       // (n_nodes) node 0 is the root
    size_t n_nodes;
    size_t *kids;          // child node indices, each container's contiguous
    char *chars;           // strings and keys, decoded to UTF-8, each NUL-terminated
} Json;

// json_parse: parse `len` bytes of `text`; dies on malformed JSON, naming line:column.
// Strings are decoded (escapes, surrogate pairs); a lone surrogate escape is an error.
void json_parse(Json *j, const char *source, const char *text, size_t len);
// json_try_parse: as json_parse, but malformed JSON returns -1 with "<line>:<col>: <what>"
// in err[0, cap) (and j empty) instead of dying; 0 on success.
int json_try_parse(Json *j, const char *source, const char *text, size_t len, char *err, size_t cap);
void json_free(Json *j);
// json_write_str: s as a JSON string literal (", \ and control characters escaped; a
// byte that is not well-formed UTF-8 is written as U+FFFD, so the output is valid JSON).
void json_write_str(FILE *f, const char *s);
const JsonNode *json_root(const Json *j);
// json_get: the member `key` of object `obj` (NULL when absent or when obj is not an
// object); of a key given twice, the last, as JavaScript's JSON.parse and Python take.
const JsonNode *json_get(const Json *j, const JsonNode *obj, const char *key);
// json_at: element i of an array or member i of an object.
const JsonNode *json_at(const Json *j, const JsonNode *n, size_t i);
// json_str: the string of n (its bytes: n->n); json_key: the key of a member.
const char *json_str(const Json *j, const JsonNode *n);
const char *json_key(const Json *j, const JsonNode *n);
// json_fail: die with "<source>:<line>:<col>: <message>" at node n.
#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 3, 4)))
#endif
void json_fail(const Json *j, const JsonNode *n, const char *fmt, ...);

#endif
