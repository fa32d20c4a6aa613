// sources.c — data.train as a list of weighted sources: the YAML entries, their YAML
// form for a run's config.yaml, and their shards loaded as one Shard (data.h). The loader
// (loader.c) turns the weights into each epoch's documents.
#include "data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// source_where: "data.train[i] (file:line:col)" of node n.
static void source_where(Source *src, YTree *t, yaml_node_t *n, const char *key, size_t i) {
    snprintf(src->where, sizeof src->where, "%s[%zu] (%s:%zu:%zu)", key, i, t->source, n->start_mark.line + 1,
             n->start_mark.column + 1);
}

// whole: a whole number in [lo, hi] at node n.
static long long whole(YTree *t, yaml_node_t *n, const char *what, long long lo, long long hi) {
    const long long v = yint(t, n, what);
    if (v < lo || v > hi) yfail(t, n, "%s = %lld is out of range [%lld, %lld]", what, v, lo, hi);
    return v;
}

// upsample: a source's upsample: {min_tokens, factor}.
static void upsample(Source *src, YTree *t, yaml_node_t *n) {
    if (n->type != YAML_MAPPING_NODE) yfail(t, n, "upsample is a mapping {min_tokens: N, factor: k}");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(&t->doc, p->key), *vn = yaml_document_get_node(&t->doc, p->value);
        const char *k = yscalar(t, kn, "key");
        if (ymap_get(t, n, k) != vn) yfail(t, kn, "upsample.%s is given twice", k);
        if (!strcmp(k, "min_tokens")) src->upsample_min_tokens = whole(t, vn, "upsample.min_tokens", 0, (long long)1e12);
        else if (!strcmp(k, "factor")) src->upsample_factor = whole(t, vn, "upsample.factor", 1, 1000);
        else yfail(t, kn, "unknown key upsample.%s (upsample has min_tokens and factor)", k);
    }
}

// source: one entry of the list.
static void source(Source *src, YTree *t, yaml_node_t *n, const char *key, size_t i) {
    *src = (Source){.weight = -1, .min_doc_tokens = -1, .upsample_min_tokens = -1, .upsample_factor = -1};
    source_where(src, t, n, key, i);
    if (n->type != YAML_MAPPING_NODE)
        yfail(t, n, "%s[%zu]: a source is a mapping {path: GLOB, weight: W, min_doc_tokens: N, upsample: {...}}", key, i);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(&t->doc, p->key), *vn = yaml_document_get_node(&t->doc, p->value);
        const char *k = yscalar(t, kn, "key");
        if (ymap_get(t, n, k) != vn) yfail(t, kn, "%s[%zu]: '%s' is given twice", key, i, k);
        if (!strcmp(k, "path")) {
            const char *v = yscalar(t, vn, "path");
            if (!*v || strlen(v) >= sizeof src->path)
                yfail(t, vn, "%s[%zu].path: %zu characters (1 to %zu)", key, i, strlen(v), sizeof src->path - 1);
            strcpy(src->path, v);
        } else if (!strcmp(k, "weight")) {
            src->weight = ydouble(t, vn, "weight");
            if (!(src->weight >= 0 && src->weight <= 1e12))
                yfail(t, vn, "%s[%zu].weight %g is out of range [0, 1e12]", key, i, src->weight);
        } else if (!strcmp(k, "min_doc_tokens")) {
            src->min_doc_tokens = whole(t, vn, "min_doc_tokens", 0, (long long)1e12);
        } else if (!strcmp(k, "upsample")) {
            upsample(src, t, vn);
        } else {
            yfail(t, kn, "%s[%zu]: unknown key '%s' (a source has path, weight, min_doc_tokens, upsample)", key, i, k);
        }
    }
    if (!*src->path) yfail(t, n, "%s[%zu]: a source needs a path (a shard or a glob of shards)", key, i);
    if ((src->upsample_min_tokens < 0) != (src->upsample_factor < 0))
        yfail(t, n, "%s[%zu]: upsample needs both min_tokens and factor", key, i);
}

void sources_parse(Sources *s, YTree *t, yaml_node_t *n, const char *key) {
    memset(s, 0, sizeof *s);
    if (n && n->type == YAML_SCALAR_NODE) {              // one source, no options
        const char *v = yscalar(t, n, key);
        if (strlen(v) >= SOURCE_STR) yfail(t, n, "%s: value longer than %d characters", key, SOURCE_STR - 1);
        s->s[0] = (Source){.weight = -1, .min_doc_tokens = -1, .upsample_min_tokens = -1, .upsample_factor = -1};
        strcpy(s->s[0].path, v);                     // where stays "": errors name the key's place
        s->n = *v != 0;
        return;
    }
    if (!n || n->type != YAML_SEQUENCE_NODE || yseq_len(n) < 1 || yseq_len(n) > MAX_SOURCES)
        yfail(t, n, "%s: a path, or a list of 1 to %d sources {path, weight, min_doc_tokens, upsample}", key, MAX_SOURCES);
    int weighted = 0;
    double total = 0;
    for (size_t i = 0; i < yseq_len(n); i++) {
        source(&s->s[i], t, yseq_at(t, n, i), key, i);
        weighted += s->s[i].weight >= 0;
        total += s->s[i].weight > 0 ? s->s[i].weight : 0;
    }
    s->n = (int)yseq_len(n);
    if (weighted && weighted != s->n)
        yfail(t, n, "%s: %d of %d sources have a weight: give every source a weight, or none (then each has the "
              "share it has when concatenated)", key, weighted, s->n);
    if (weighted && total <= 0) yfail(t, n, "%s: the weights are all zero: no source would be trained on", key);
}

void sources_write(const Sources *s, FILE *f) {
    const Source *a = &s->s[0];
    if (!s->n || (s->n == 1 && a->weight < 0 && a->min_doc_tokens < 0 && a->upsample_factor < 0)) {
        ywrite_str(f, s->n ? a->path : "");             // unset, or one plain path
        fputc('\n', f);
        return;
    }
    fputc('[', f);
    for (int i = 0; i < s->n; i++) {
        const Source *src = &s->s[i];
        fputs(i ? ", {path: " : "{path: ", f);
        ywrite_str(f, src->path);
        char w[32];
        snprintf(w, sizeof w, "%.15g", src->weight);           // the shortest that reads back exactly
        if (strtod(w, NULL) != src->weight) snprintf(w, sizeof w, "%.17g", src->weight);
        if (src->weight >= 0) fprintf(f, ", weight: %s", w);
        if (src->min_doc_tokens >= 0) fprintf(f, ", min_doc_tokens: %lld", src->min_doc_tokens);
        if (src->upsample_factor >= 0)
            fprintf(f, ", upsample: {min_tokens: %lld, factor: %lld}", src->upsample_min_tokens, src->upsample_factor);
        fputc('}', f);
    }
    fputs("]\n", f);
}

void shard_load_sources(Shard *sh, const Sources *s, int vocab, const char *key) {
    memset(sh, 0, sizeof *sh);
    sh->src_start = xmalloc(((size_t)s->n + 1) * sizeof *sh->src_start);
    for (int i = 0; i < s->n; i++) {
        sh->src_start[i] = sh->n;
        if (!s->s[i].weight) continue;                 // weight 0: not read at all
        Shard one;
        shard_load_glob(&one, s->s[i].path, vocab, *s->s[i].where ? s->s[i].where : key);
        shard_concat(sh, &one, key, s->s[0].path, s->s[i].path);
    }
    if (!sh->n_files) die("%s: no source to read (every weight is 0)", key);
    sh->src_start[s->n] = sh->n;
    sh->n_src = (size_t)s->n;
    sh->path = xstrdup(s->n == 1 ? s->s[0].path : "data.train's sources");
}
