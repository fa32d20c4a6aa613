// curriculum.c — stages of a run (see curriculum.h).
#include "curriculum.h"
#include "../util/util.h"

#include <stdlib.h>
#include <string.h>

// parse_tokens: an integer, or a number with a binary suffix K, M or G (2^10, 2^20,
// 2^30): "4M" = 4194304, so budgets divide evenly into power-of-two batches.
static long long parse_tokens(YTree *t, yaml_node_t *n, const char *what) {
    const char *s = yscalar(t, n, what);
    char *end;
    double v = strtod(s, &end), mult = 1.0;
    if (end != s && (*end == 'K' || *end == 'M' || *end == 'G') && end[1] == '\0')
        mult = *end == 'K' ? 1024.0 : *end == 'M' ? 1048576.0 : 1073741824.0;
    else if (end == s || *end) yfail(t, n, "%s: '%s' is not a token count (e.g. 2097152, 512K, 4M, 1G)", what, s);
    v *= mult;
    if (!(v >= 1.0 && v <= 9.0e15) || v != (double)(long long)v)
        yfail(t, n, "%s: '%s' must be a whole number of tokens >= 1", what, s);
    return (long long)v;
}

// parse_overrides: the position.rope.* keys under `map` (path `prefix`) into stage st.
static void parse_overrides(Config *c, Stage *st, YTree *t, yaml_node_t *map, const char *prefix, const char *what) {
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(&t->doc, p->key), *vn = yaml_document_get_node(&t->doc, p->value);
        char path[192], where[CFG_STR];
        snprintf(path, sizeof path, "%s.%s", prefix, yscalar(t, kn, "key"));
        if (vn->type == YAML_MAPPING_NODE) {
            parse_overrides(c, st, t, vn, path, what);
            continue;
        }
        if (strncmp(path, "position.rope.", 14) || !strcmp(path, "position.rope.short_factor") ||
            !strcmp(path, "position.rope.long_factor"))
            yfail(t, kn, "%s: '%s' cannot change between stages; a stage sets seq_len, tokens, lr_scale and "
                  "rope settings (theta, scaling, factor, ...), e.g. rope: {factor: 16}", what, path + 9);
        if (st->n_keys == MAX_STAGE_KEYS) yfail(t, kn, "%s: more than %d rope settings", what, MAX_STAGE_KEYS);
        snprintf(where, sizeof where, "%s:%zu:%zu (%s)", t->source, vn->start_mark.line + 1, vn->start_mark.column + 1, what);
        Config *scratch = xmalloc(sizeof *scratch);             // validate now, where the value is written
        *scratch = *c;
        config_set_node(scratch, path, t, vn, where);
        free(scratch);
        const char *v = yscalar(t, vn, path);
        if (strlen(v) >= sizeof st->value[0]) yfail(t, vn, "%s: value too long", path);
        strcpy(st->key[st->n_keys], path);
        strcpy(st->value[st->n_keys], v);
        strcpy(st->where[st->n_keys++], where);
    }
}

void curriculum_parse(Config *c, YTree *t, yaml_node_t *seq) {
    if (!seq || seq->type != YAML_SEQUENCE_NODE || yseq_len(seq) < 1 || yseq_len(seq) > MAX_STAGES)
        yfail(t, seq, "curriculum: expected a list of 1 to %d stages, e.g. - {seq_len: 2048, tokens: 4M}", MAX_STAGES);
    c->n_stages = 0;
    for (size_t i = 0; i < yseq_len(seq); i++) {
        yaml_node_t *map = yseq_at(t, seq, i);
        Stage *st = &c->stages[i];
        char what[48];             // "curriculum[" + any size_t + "]"
        snprintf(what, sizeof what, "curriculum[%zu]", i);
        if (map->type != YAML_MAPPING_NODE) yfail(t, map, "%s: a stage is a mapping, e.g. {seq_len: 2048, tokens: 4M}", what);
        memset(st, 0, sizeof *st);
        st->lr_scale = 1.0;
        yaml_node_t *sl = ymap_get(t, map, "seq_len"), *tk = ymap_get(t, map, "tokens"), *ls = ymap_get(t, map, "lr_scale");
        if (!sl || !tk) yfail(t, map, "%s: a stage needs seq_len and tokens", what);
        st->seq_len = yint(t, sl, "seq_len");
        if (st->seq_len < 1 || st->seq_len > (1 << 22)) yfail(t, sl, "%s: seq_len %lld is out of range [1, %d]", what, st->seq_len, 1 << 22);
        char tokens_what[64];
        snprintf(tokens_what, sizeof tokens_what, "%s.tokens", what);
        st->tokens = parse_tokens(t, tk, tokens_what);
        if (ls) st->lr_scale = ydouble(t, ls, "lr_scale");
        if (ls && !(st->lr_scale > 0.0 && st->lr_scale <= 100.0)) yfail(t, ls, "%s: lr_scale %g must be in (0, 100]", what, st->lr_scale);
        for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
            yaml_node_t *kn = yaml_document_get_node(&t->doc, p->key), *vn = yaml_document_get_node(&t->doc, p->value);
            const char *k = yscalar(t, kn, "key");
            if (!strcmp(k, "seq_len") || !strcmp(k, "tokens") || !strcmp(k, "lr_scale")) continue;
            if (vn->type != YAML_MAPPING_NODE && (!strcmp(k, "bias") || !strcmp(k, "rope")))
                yfail(t, kn, "%s: '%s' cannot change between stages (it fixes the model's parameters or attention); "
                      "a stage sets seq_len, tokens, lr_scale and rope settings, e.g. rope: {factor: 16}", what, k);
            if (vn->type != YAML_MAPPING_NODE)
                yfail(t, kn, "%s: unknown stage key '%s' (a stage has seq_len, tokens, lr_scale and rope: {...})", what, k);
            char prefix[64];
            snprintf(prefix, sizeof prefix, "position.%s", k);
            parse_overrides(c, st, t, vn, prefix, what);
        }
        c->n_stages++;
    }
}

void curriculum_write(const Config *c, FILE *f) {
    fputs("[", f);
    for (int i = 0; i < c->n_stages; i++) {
        const Stage *st = &c->stages[i];
        fprintf(f, "%s{seq_len: %lld, tokens: %lld, lr_scale: %.17g", i ? ", " : "", st->seq_len, st->tokens, st->lr_scale);
        if (st->n_keys) {
            fputs(", rope: {", f);                 // every override is a position.rope.* key
            for (int j = 0; j < st->n_keys; j++) fprintf(f, "%s%s: %s", j ? ", " : "", st->key[j] + 14, st->value[j]);
            fputs("}", f);
        }
        fputs("}", f);
    }
    fputs("]\n", f);
}

// batch_shape: sequences per forward and forwards per step for windows of T tokens.
static void batch_shape(const Config *c, long long T, const char *what, int *micro, int *accum) {
    long long seqs = c->batch_tokens / T, mb = c->micro_batch && c->micro_batch < seqs ? c->micro_batch : seqs;
    if (c->batch_tokens % T || seqs % mb)
        die("%s: train.batch_tokens %lld must be a multiple of seq_len %lld x train.micro_batch %lld (%s, %s)",
            what, c->batch_tokens, T, c->micro_batch ? c->micro_batch : seqs, config_where(c, "train.batch_tokens"),
            config_where(c, "train.micro_batch"));
    *micro = (int)mb;
    *accum = (int)(seqs / mb);
}

void curriculum_plan(const Config *c, Plan *p) {
    memset(p, 0, sizeof *p);
    char what[300];
    if (!c->n_stages) {
        snprintf(what, sizeof what, "%s", config_where(c, "train.seq_len"));
        p->n = 1;
        p->s[0] = (StagePlan){(int)c->seq_len, 0, 0, 0, c->max_steps, 1.0};
        batch_shape(c, c->seq_len, what, &p->s[0].micro, &p->s[0].accum);
    } else {
        if (config_is_set(c, "train.seq_len"))
            die("%s: train.seq_len and curriculum are both set; with a curriculum each stage sets its seq_len (%s)",
                config_where(c, "train.seq_len"), config_where(c, "curriculum"));
        p->n = (int)c->n_stages;
        long long first = 0, cap = config_is_set(c, "train.max_steps") ? c->max_steps : -1;
        for (int i = 0; i < p->n; i++) {
            const Stage *st = &c->stages[i];
            StagePlan *s = &p->s[i];
            snprintf(what, sizeof what, "%s: curriculum[%d]", config_where(c, "curriculum"), i);
            s->T = (int)st->seq_len;
            s->lr_scale = st->lr_scale;
            batch_shape(c, st->seq_len, what, &s->micro, &s->accum);
            s->steps = (st->tokens + c->batch_tokens - 1) / c->batch_tokens;    // whole steps, rounded up
            if (cap >= 0 && first + s->steps > cap) s->steps = cap > first ? cap - first : 0;
            s->first_step = first;
            first += s->steps;
        }
    }
    for (int i = 0; i < p->n; i++) {
        p->total_steps += p->s[i].steps;
        p->max_T = p->s[i].T > p->max_T ? p->s[i].T : p->max_T;
        p->max_B = p->s[i].micro > p->max_B ? p->s[i].micro : p->max_B;
        const size_t fwd = (size_t)p->s[i].micro * (size_t)p->s[i].T;
        p->max_tokens = fwd > p->max_tokens ? fwd : p->max_tokens;
    }
}

int plan_stage(const Plan *p, long long step) {
    int s = 0;
    while (s + 1 < p->n && step >= p->s[s + 1].first_step) s++;
    return s;
}

void stage_config(const Config *c, int s, Config *out) {
    *out = *c;
    if (!c->n_stages) return;
    const Stage *st = &c->stages[s];
    out->seq_len = st->seq_len;
    for (int j = 0; j < st->n_keys; j++) config_set(out, st->key[j], st->value[j], st->where[j]);
}
