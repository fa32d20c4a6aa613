// ytree.c — see ytree.h.
#include "ytree.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <assert.h>

void ytree_parse(YTree *t, const char *source, const char *text, size_t len) {
    yaml_parser_t p;
    memset(t, 0, sizeof *t);
    t->source = xstrdup(source);
    CHECK(yaml_parser_initialize(&p), "%s: cannot initialise the YAML parser", source);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, &t->doc)) {
        die("%s:%zu:%zu: cannot parse: %s%s%s", source, p.problem_mark.line + 1, p.problem_mark.column + 1,
            p.problem ? p.problem : "syntax error", p.context ? " " : "", p.context ? p.context : "");
    }
    yaml_parser_delete(&p);
    t->loaded = 1;
    if (!yaml_document_get_root_node(&t->doc)) die("%s: empty document", source);
}

void ytree_free(YTree *t) {
    if (t->loaded) yaml_document_delete(&t->doc);
    free(t->source);
    memset(t, 0, sizeof *t);
}

yaml_node_t *ytree_root(YTree *t) { return yaml_document_get_root_node(&t->doc); }

void yfail(YTree *t, yaml_node_t *n, const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n) die("%s:%zu:%zu: %s", t->source, n->start_mark.line + 1, n->start_mark.column + 1, msg);
    die("%s: %s", t->source, msg);
}

yaml_node_t *ymap_get(YTree *t, yaml_node_t *map, const char *key) {
    if (!map || map->type != YAML_MAPPING_NODE) yfail(t, map, "expected a mapping while looking for '%s'", key);
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&t->doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(&t->doc, p->value);
    }
    return NULL;
}

const char *yscalar(YTree *t, yaml_node_t *n, const char *what) {
    if (!n || n->type != YAML_SCALAR_NODE) yfail(t, n, "%s: expected a scalar value", what);
    return (const char *)n->data.scalar.value;
}

int parse_int(const char *s, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (errno || end == s || *end) {
        double d;   // accept 1e6-style integers when exact
        if (parse_double(s, &d) || d != floor(d) || fabs(d) > 9.0e15) return -1;
        v = (long long)d;
    }
    *out = v;
    return 0;
}

int parse_double(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno == ERANGE || end == s || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int parse_bool(const char *s, int *out) {
    if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on")) { *out = 1; return 0; }
    if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off")) { *out = 0; return 0; }
    return -1;
}

long long yint(YTree *t, yaml_node_t *n, const char *what) {
    long long v;
    const char *s = yscalar(t, n, what);
    if (parse_int(s, &v)) yfail(t, n, "%s: expected an integer, got '%s'", what, s);
    return v;
}

double ydouble(YTree *t, yaml_node_t *n, const char *what) {
    double v;
    const char *s = yscalar(t, n, what);
    if (parse_double(s, &v)) yfail(t, n, "%s: expected a finite number, got '%s'", what, s);
    return v;
}

int ybool(YTree *t, yaml_node_t *n, const char *what) {
    int v;
    const char *s = yscalar(t, n, what);
    if (parse_bool(s, &v)) yfail(t, n, "%s: expected true or false, got '%s'", what, s);
    return v;
}

int yis_null(yaml_node_t *n) {
    if (!n) return 1;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
    const char *s = (const char *)n->data.scalar.value;
    return !*s || !strcmp(s, "~") || !strcasecmp(s, "null");
}

size_t yseq_len(yaml_node_t *n) {
    if (!n || n->type != YAML_SEQUENCE_NODE) return 0;
    return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

yaml_node_t *yseq_at(YTree *t, yaml_node_t *n, size_t i) {
    assert(n && n->type == YAML_SEQUENCE_NODE && i < yseq_len(n));
    return yaml_document_get_node(&t->doc, n->data.sequence.items.start[i]);
}

int ymap_int(YTree *t, yaml_node_t *map, const char *key, int dflt, int required) {
    yaml_node_t *n = ymap_get(t, map, key);
    if (!n || yis_null(n)) {
        if (required) yfail(t, map, "required key '%s' is missing", key);
        return dflt;
    }
    long long v = yint(t, n, key);
    if (v < 0 || v > (1ll << 30)) yfail(t, n, "'%s' = %lld is out of range", key, v);
    return (int)v;
}

double ymap_double(YTree *t, yaml_node_t *map, const char *key, double dflt) {
    yaml_node_t *n = ymap_get(t, map, key);
    return !n || yis_null(n) ? dflt : ydouble(t, n, key);
}

int ymap_bool(YTree *t, yaml_node_t *map, const char *key, int dflt) {
    yaml_node_t *n = ymap_get(t, map, key);
    return !n || yis_null(n) ? dflt : ybool(t, n, key);
}

void ywrite_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) fprintf(f, *s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
    fputc('"', f);
}
