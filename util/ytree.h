// ytree.h — a read-only tree over a libyaml document, for YAML configs and for JSON
// (JSON is YAML flow syntax; libyaml parses safetensors headers and config.json).
// Every lookup that fails dies with "<source>:<line>:<col>: <what>".
#ifndef STRETCH_YTREE_H
#define STRETCH_YTREE_H

#include <stddef.h>
#include <yaml.h>

typedef struct {
    yaml_document_t doc;
    char *source;          // file name (or "--set key") used in error messages
    int loaded;
} YTree;

// ytree_parse: parse `len` bytes of `text`; dies with the libyaml problem and its mark.
void ytree_parse(YTree *t, const char *source, const char *text, size_t len);
void ytree_free(YTree *t);
yaml_node_t *ytree_root(YTree *t);

// Node helpers. A "mapping" key lookup returns NULL when the key is absent.
yaml_node_t *ymap_get(YTree *t, yaml_node_t *map, const char *key);
const char *yscalar(YTree *t, yaml_node_t *n, const char *what);      // dies unless scalar
long long yint(YTree *t, yaml_node_t *n, const char *what);           // dies unless integer
double ydouble(YTree *t, yaml_node_t *n, const char *what);           // dies unless number
int ybool(YTree *t, yaml_node_t *n, const char *what);                // true/false
int yis_null(yaml_node_t *n);                                         // ~, null, empty plain
size_t yseq_len(yaml_node_t *n);
yaml_node_t *yseq_at(YTree *t, yaml_node_t *n, size_t i);

// Members of a JSON/YAML mapping with defaults: absent or null gives dflt (ymap_int: a
// count in [0, 2^30]; dies when `required` and absent).
int ymap_int(YTree *t, yaml_node_t *map, const char *key, int dflt, int required);
double ymap_double(YTree *t, yaml_node_t *map, const char *key, double dflt);
int ymap_bool(YTree *t, yaml_node_t *map, const char *key, int dflt);

// ywrite_str: s as a double-quoted YAML scalar (" and \ escaped), for files ytree reads back.
void ywrite_str(FILE *f, const char *s);
// yfail: die with the node's mark: "<source>:<line>:<col>: <message>".
#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 3, 4)))
#endif
void yfail(YTree *t, yaml_node_t *n, const char *fmt, ...);

// Scalar parsers shared with command-line overrides; return 0 on success.
int parse_int(const char *s, long long *out);
int parse_double(const char *s, double *out);
int parse_bool(const char *s, int *out);

#endif
