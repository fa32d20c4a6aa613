// position.c — see position.h: the key and method tables, their parser, checks and JSON
// writer, then the formulas (frequencies, tables, ALiBi slopes, T5 buckets).
#define _DEFAULT_SOURCE
#include "position.h"
#include "../util/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(RopeScaling) == sizeof(int) && sizeof(PosBias) == sizeof(int), "choices are stored as int");
_Static_assert(NUM_POS_KEYS <= 32, "Position.set holds one bit per key");

// ---- the tables --------------------------------------------------------------------------
typedef enum { PT_FLOAT, PT_INT, PT_BOOL, PT_CHOICE, PT_LIST } PosType;

// KeyRow: one position key. Ranges are inclusive (list elements too); `dflt` is the
// default (a choice's index; -1 = null for a nullable float). stage: a curriculum stage
// may change it. hf: transformers' rope_scaling name (NULL: none).
typedef struct {
    const char *name;
    PosType type;
    size_t off, count_off;          // offsetof(Position, field); PT_LIST: offset of its int count
    double lo, hi, dflt;
    const char *const *choices;     // PT_CHOICE: names, NULL-terminated
    int nullable, stage;
    const char *hf;
} KeyRow;

const char *const SCALING_NAMES[] = {"none", "linear", "ntk", "dynamic", "yarn", "llama3", "longrope", NULL};
const char *const BIAS_NAMES[] = {"none", "alibi", "t5", NULL};
static const char *const ON_OFF[] = {"off", "on", NULL};
static const char *const T5_INITS[] = {"zeros", "alibi", NULL};

#define F(field) offsetof(Position, field)
static const KeyRow KEYS[NUM_POS_KEYS] = {
    [PK_ROPE] = {.name = "position.rope", .type = PT_CHOICE, .off = F(rope), .dflt = 1, .choices = ON_OFF},
    [PK_THETA] = {.name = "position.rope.theta", .type = PT_FLOAT, .off = F(theta), .hi = 1e12, .stage = 1},
    [PK_SCALING] = {.name = "position.rope.scaling", .type = PT_CHOICE, .off = F(scaling), .choices = SCALING_NAMES,
                    .stage = 1},
    [PK_FACTOR] = {.name = "position.rope.factor", .type = PT_FLOAT, .off = F(factor), .lo = 1, .hi = 1e6, .dflt = 1,
                   .stage = 1, .hf = "factor"},
    [PK_ORIGINAL_MAX] = {.name = "position.rope.original_max_position_embeddings", .type = PT_INT, .off = F(original_max),
                         .lo = 1, .hi = 1 << 24, .stage = 1, .hf = "original_max_position_embeddings"},
    [PK_BETA_FAST] = {.name = "position.rope.beta_fast", .type = PT_FLOAT, .off = F(beta_fast), .lo = 1e-6, .hi = 1e6,
                      .dflt = 32, .stage = 1, .hf = "beta_fast"},
    [PK_BETA_SLOW] = {.name = "position.rope.beta_slow", .type = PT_FLOAT, .off = F(beta_slow), .lo = 1e-6, .hi = 1e6,
                      .dflt = 1, .stage = 1, .hf = "beta_slow"},
    [PK_TRUNCATE] = {.name = "position.rope.truncate", .type = PT_BOOL, .off = F(truncate), .dflt = 1, .stage = 1,
                     .hf = "truncate"},
    [PK_ATTENTION_FACTOR] = {.name = "position.rope.attention_factor", .type = PT_FLOAT, .off = F(attention_factor),
                             .hi = 100, .dflt = -1, .nullable = 1, .stage = 1, .hf = "attention_factor"},
    [PK_LOW_FREQ] = {.name = "position.rope.low_freq_factor", .type = PT_FLOAT, .off = F(low_freq_factor), .lo = 1e-6,
                     .hi = 1e6, .dflt = 1, .stage = 1, .hf = "low_freq_factor"},
    [PK_HIGH_FREQ] = {.name = "position.rope.high_freq_factor", .type = PT_FLOAT, .off = F(high_freq_factor), .lo = 1e-6,
                      .hi = 1e6, .dflt = 4, .stage = 1, .hf = "high_freq_factor"},
    [PK_SHORT_FACTOR] = {.name = "position.rope.short_factor", .type = PT_LIST, .off = F(short_factor),
                         .count_off = F(n_short), .lo = 1e-6, .hi = 1e6, .hf = "short_factor"},
    [PK_LONG_FACTOR] = {.name = "position.rope.long_factor", .type = PT_LIST, .off = F(long_factor),
                        .count_off = F(n_long), .lo = 1e-6, .hi = 1e6, .hf = "long_factor"},
    [PK_BIAS] = {.name = "position.bias", .type = PT_CHOICE, .off = F(bias), .choices = BIAS_NAMES},
    [PK_T5_BUCKETS] = {.name = "position.t5.num_buckets", .type = PT_INT, .off = F(t5_buckets), .lo = 2, .hi = 4096,
                       .dflt = 32},
    [PK_T5_MAX_DISTANCE] = {.name = "position.t5.max_distance", .type = PT_INT, .off = F(t5_max_distance), .lo = 1,
                            .hi = 1 << 24, .dflt = 128},
    [PK_T5_INIT] = {.name = "position.t5.init", .type = PT_CHOICE, .off = F(t5_init_alibi), .choices = T5_INITS},
};
#undef F

#define K(k) (1u << (k))
#define ROPE_SECTION (K(PK_THETA) | K(PK_SCALING) | K(PK_FACTOR) | K(PK_ORIGINAL_MAX) | K(PK_BETA_FAST) | \
                      K(PK_BETA_SLOW) | K(PK_TRUNCATE) | K(PK_ATTENTION_FACTOR) | K(PK_LOW_FREQ) | K(PK_HIGH_FREQ) | \
                      K(PK_SHORT_FACTOR) | K(PK_LONG_FACTOR))
#define USES_L_O (K(PK_THETA) | K(PK_FACTOR) | K(PK_ORIGINAL_MAX))

// MethodRow: a RoPE scaling method (indexed by RopeScaling, named by SCALING_NAMES): the
// rope keys it uses besides scaling (a key it does not use is an error when set), those
// it needs, transformers' rope_type (NULL: none, or a base change as for ntk), and
// whether its factor names the context it is built for, factor x L_o (position_reach).
typedef struct {
    unsigned uses, needs;
    const char *hf_type;
    int reaches;
} MethodRow;

static const MethodRow SCALINGS[NUM_SCALINGS] = {
    [SCALE_NONE] = {K(PK_THETA), 0, NULL, 0},
    [SCALE_LINEAR] = {K(PK_THETA) | K(PK_FACTOR), K(PK_FACTOR), "linear", 1},
    [SCALE_NTK] = {K(PK_THETA) | K(PK_FACTOR), K(PK_FACTOR), NULL, 1},
    [SCALE_DYNAMIC] = {USES_L_O, K(PK_FACTOR), "dynamic", 0},
    [SCALE_YARN] = {USES_L_O | K(PK_BETA_FAST) | K(PK_BETA_SLOW) | K(PK_TRUNCATE) | K(PK_ATTENTION_FACTOR), K(PK_FACTOR),
                    "yarn", 1},
    [SCALE_LLAMA3] = {USES_L_O | K(PK_LOW_FREQ) | K(PK_HIGH_FREQ), K(PK_FACTOR), "llama3", 1},
    [SCALE_LONGROPE] = {USES_L_O | K(PK_ATTENTION_FACTOR) | K(PK_SHORT_FACTOR) | K(PK_LONG_FACTOR),
                        K(PK_FACTOR) | K(PK_SHORT_FACTOR) | K(PK_LONG_FACTOR), "longrope", 1},
};
// The keys each bias uses (indexed by PosBias).
static const unsigned BIAS_USES[NUM_BIASES] = {[BIAS_T5] = K(PK_T5_BUCKETS) | K(PK_T5_MAX_DISTANCE) | K(PK_T5_INIT)};
_Static_assert(sizeof SCALING_NAMES / sizeof SCALING_NAMES[0] == NUM_SCALINGS + 1, "a name per method");
_Static_assert(sizeof BIAS_NAMES / sizeof BIAS_NAMES[0] == NUM_BIASES + 1, "a name per bias");

const char *position_key_name(PosKey k) { return KEYS[k].name; }

static int is_set(const Position *p, PosKey k) { return (p->set & K(k)) != 0; }
static const char *where_of(const Position *p, PosKey k) { return is_set(p, k) ? p->where[k] : "default"; }

// ---- parsing -----------------------------------------------------------------------------
void position_default(Position *p) {
    memset(p, 0, sizeof *p);
    for (int k = 0; k < NUM_POS_KEYS; k++) {
        char *f = (char *)p + KEYS[k].off;
        if (KEYS[k].type == PT_FLOAT) *(double *)f = KEYS[k].dflt;
        else if (KEYS[k].type != PT_LIST) *(int *)f = (int)KEYS[k].dflt;
    }
}

static int find_key(const char *name) {
    for (int k = 0; k < NUM_POS_KEYS; k++) if (!strcmp(KEYS[k].name, name)) return k;
    return -1;
}

// is_section: some key's name starts with "<path>."
static int is_section(const char *path) {
    const size_t n = strlen(path);
    for (int k = 0; k < NUM_POS_KEYS; k++) if (!strncmp(KEYS[k].name, path, n) && KEYS[k].name[n] == '.') return 1;
    return 0;
}

static double in_range(YTree *t, yaml_node_t *n, const KeyRow *r, double v) {
    if (v < r->lo || v > r->hi) yfail(t, n, "%s = %g is out of range [%g, %g]", r->name, v, r->lo, r->hi);
    return v;
}

static int choice(YTree *t, yaml_node_t *n, const KeyRow *r) {
    const char *s = yscalar(t, n, r->name);
    char all[128];
    size_t len = 0;
    for (int i = 0; r->choices[i]; i++) {
        if (!strcmp(s, r->choices[i])) return i;
        appendf(all, sizeof all, &len, "%s%s", i ? "|" : "", r->choices[i]);
    }
    yfail(t, n, "%s: '%s' is not one of %s", r->name, s, all);
}

// set_value: node n as the value of key k (validated), stored in p.
static void set_value(Position *p, PosKey k, YTree *t, yaml_node_t *n) {
    const KeyRow *r = &KEYS[k];
    char *f = (char *)p + r->off;
    if (r->type == PT_FLOAT) *(double *)f = r->nullable && yis_null(n) ? -1.0 : in_range(t, n, r, ydouble(t, n, r->name));
    else if (r->type == PT_INT) *(int *)f = (int)in_range(t, n, r, (double)yint(t, n, r->name));
    else if (r->type == PT_BOOL) *(int *)f = ybool(t, n, r->name);
    else if (r->type == PT_CHOICE) *(int *)f = choice(t, n, r);
    else {
        if (!n || n->type != YAML_SEQUENCE_NODE || yseq_len(n) > POS_MAX_PAIRS)      // [] = unset
            yfail(t, n, "%s: expected a list of at most %d numbers", r->name, POS_MAX_PAIRS);
        for (size_t j = 0; j < yseq_len(n); j++)
            ((double *)f)[j] = in_range(t, yseq_at(t, n, j), r, ydouble(t, yseq_at(t, n, j), r->name));
        *(int *)((char *)p + r->count_off) = (int)yseq_len(n);
    }
}

int position_set(Position *p, const char *name, YTree *t, yaml_node_t *n, const char *where) {
    const int k = find_key(name);
    if (k < 0) return 0;
    set_value(p, (PosKey)k, t, n);
    const int empty_list = KEYS[k].type == PT_LIST && *(int *)((char *)p + KEYS[k].count_off) == 0;
    p->set = empty_list ? p->set & ~K(k) : p->set | K(k);
    snprintf(p->where[k], POS_WHERE, "%s", where);
    return 1;
}

void position_apply(Position *p, YTree *t, yaml_node_t *map, const char *prefix, const char *stage) {
    if (map->type != YAML_MAPPING_NODE) yfail(t, map, "%s must be a mapping of keys", prefix);
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < map->data.mapping.pairs.top; q++) {
        yaml_node_t *kn = yaml_document_get_node(&t->doc, q->key), *vn = yaml_document_get_node(&t->doc, q->value);
        char path[256], where[POS_WHERE];
        snprintf(path, sizeof path, "%s.%s", prefix, yscalar(t, kn, "key"));
        const int k = find_key(path);
        if (vn->type == YAML_MAPPING_NODE && is_section(path)) {
            position_apply(p, t, vn, path, stage);       // `rope: {...}` is a section, `rope: off` a key
            continue;
        }
        if (k < 0 && is_section(path)) yfail(t, vn, "'%s' must be a mapping of keys", path);
        if (k < 0) yfail(t, kn, "unknown key '%s'", path);
        if (stage && !KEYS[k].stage)
            yfail(t, kn, "%s: '%s' cannot change between stages; a stage sets seq_len, tokens, lr_scale and rope settings "
                  "(theta, scaling, factor, ...), e.g. rope: {factor: 16}", stage, path + strlen("position."));
        snprintf(where, sizeof where, "%s:%zu:%zu%s%s%s", t->source, vn->start_mark.line + 1, vn->start_mark.column + 1,
                 stage ? " (" : "", stage ? stage : "", stage ? ")" : "");
        position_set(p, path, t, vn, where);
    }
}

void position_parse_json(Position *p, const char *json, const char *source) {
    YTree t;
    position_default(p);
    ytree_parse(&t, source, json, strlen(json));
    position_apply(p, &t, ytree_root(&t), "position", NULL);
    ytree_free(&t);
}

void position_from_hf(Position *p, YTree *t, yaml_node_t *rs, const char *path, int v5) {
    const char *obj = v5 ? "rope_parameters" : "rope_scaling";
    if (rs->type != YAML_MAPPING_NODE) yfail(t, rs, "%s must be an object", obj);
    for (yaml_node_pair_t *q = rs->data.mapping.pairs.start; q < rs->data.mapping.pairs.top; q++) {
        yaml_node_t *kn = yaml_document_get_node(&t->doc, q->key), *vn = yaml_document_get_node(&t->doc, q->value);
        const char *name = yscalar(t, kn, obj);
        if (v5 && !strcmp(name, "rope_theta")) continue;
        char where[POS_WHERE];
        snprintf(where, sizeof where, "%s:%zu:%zu", path, vn->start_mark.line + 1, vn->start_mark.column + 1);
        int k = -1;
        if (!strcmp(name, "rope_type") || !strcmp(name, "type")) {      // transformers' names are ours
            if (strcmp(yscalar(t, vn, name), "default")) k = PK_SCALING;
            else continue;
        }
        for (int j = 0; j < NUM_POS_KEYS && k < 0; j++) if (KEYS[j].hf && !strcmp(KEYS[j].hf, name)) k = j;
        if (k < 0) yfail(t, kn, "%s.%s has no equivalent here (supported: rope_type and the keys of "
                         "position.rope in README.md)", obj, name);
        position_set(p, KEYS[k].name, t, vn, where);
    }
}

void position_overlay(Position *p, const Position *over) {
    for (int k = 0; k < NUM_POS_KEYS; k++) {
        if (!is_set(over, (PosKey)k)) continue;
        const KeyRow *r = &KEYS[k];
        const size_t size = r->type == PT_FLOAT ? sizeof(double) : r->type == PT_LIST ? POS_MAX_PAIRS * sizeof(double)
                                                                                     : sizeof(int);
        memcpy((char *)p + r->off, (const char *)over + r->off, size);
        if (r->type == PT_LIST) memcpy((char *)p + r->count_off, (const char *)over + r->count_off, sizeof(int));
        memcpy(p->where[k], over->where[k], POS_WHERE);
        p->set |= K(k);
    }
}

int position_is_set(const Position *p) { return p->set != 0; }

int position_is_plain(const Position *p, double theta0) {
    return p->rope && p->scaling == SCALE_NONE && p->bias == BIAS_NONE && p->theta == theta0;
}

// ---- the checks that need the model ----------------------------------------------------
void position_resolve(Position *p, int HS, double theta0, int L0) {
    const char *method = p->rope ? SCALING_NAMES[p->scaling] : "off (rope: off)";
    const MethodRow *mr = &SCALINGS[p->scaling];
    for (int k = 0; k < NUM_POS_KEYS; k++) {
        if (!(ROPE_SECTION & K(k)) || k == PK_SCALING) continue;
        if (is_set(p, (PosKey)k) && (!p->rope || !(mr->uses & K(k))))
            die("%s: %s does not belong to position.rope.scaling %s", p->where[k], KEYS[k].name, method);
        if (p->rope && (mr->needs & K(k)) && !is_set(p, (PosKey)k))
            die("%s: position.rope.scaling %s needs %s", where_of(p, PK_SCALING), method, KEYS[k].name);
    }
    if (!p->rope && is_set(p, PK_SCALING))
        die("%s: position.rope.scaling does not belong to rope: off", p->where[PK_SCALING]);
    p->theta = p->theta > 0 ? p->theta : theta0;
    if (!(p->theta > 1.0)) die("%s: position.rope.theta %g must be > 1", where_of(p, PK_THETA), p->theta);
    p->original_max = is_set(p, PK_ORIGINAL_MAX) ? p->original_max : L0;
    if (p->rope && (mr->uses & K(PK_ORIGINAL_MAX)) && p->original_max <= 0)
        die("%s: position.rope.scaling %s needs position.rope.original_max_position_embeddings (the checkpoint does "
            "not record its context)", where_of(p, PK_SCALING), method);
    if (p->scaling == SCALE_LLAMA3 && !(p->high_freq_factor > p->low_freq_factor))
        die("%s: position.rope.high_freq_factor %g must exceed low_freq_factor %g", where_of(p, PK_HIGH_FREQ),
            p->high_freq_factor, p->low_freq_factor);
    if (p->scaling == SCALE_LONGROPE) {
        if (p->n_short != HS / 2) die("%s: position.rope.short_factor has %d values; the head size %d needs d/2 = %d",
                                      where_of(p, PK_SHORT_FACTOR), p->n_short, HS, HS / 2);
        if (p->n_long != HS / 2) die("%s: position.rope.long_factor has %d values; the head size %d needs d/2 = %d",
                                     where_of(p, PK_LONG_FACTOR), p->n_long, HS, HS / 2);
    }
    for (int k = 0; k < NUM_POS_KEYS; k++)
        if ((BIAS_USES[BIAS_T5] & K(k)) && p->bias != BIAS_T5 && is_set(p, (PosKey)k))
            die("%s: %s does not belong to position.bias %s", p->where[k], KEYS[k].name, BIAS_NAMES[p->bias]);
    if (p->bias == BIAS_T5 && p->t5_max_distance < p->t5_buckets / 2)
        die("%s: position.t5.max_distance %d must be at least num_buckets / 2 = %d", where_of(p, PK_T5_MAX_DISTANCE),
            p->t5_max_distance, p->t5_buckets / 2);
}

// ---- the one JSON writer -------------------------------------------------------------------
// put_value: key k's value in p as JSON.
static void put_value(const Position *p, PosKey k, char *buf, size_t cap, size_t *n) {
    const KeyRow *r = &KEYS[k];
    const char *f = (const char *)p + r->off;
    if (r->type == PT_FLOAT && r->nullable && *(const double *)f < 0) appendf(buf, cap, n, "null");
    else if (r->type == PT_FLOAT) appendf(buf, cap, n, "%.17g", *(const double *)f);
    else if (r->type == PT_INT) appendf(buf, cap, n, "%d", *(const int *)f);
    else if (r->type == PT_BOOL) appendf(buf, cap, n, "%s", *(const int *)f ? "true" : "false");
    else if (r->type == PT_CHOICE) appendf(buf, cap, n, "\"%s\"", r->choices[*(const int *)f]);
    else {
        const int len = *(const int *)((const char *)p + r->count_off);
        appendf(buf, cap, n, "[");
        for (int i = 0; i < len; i++) appendf(buf, cap, n, i ? ", %.17g" : "%.17g", ((const double *)f)[i]);
        appendf(buf, cap, n, "]");
    }
}

// put_members: `"name": value` for the keys of `mask` in table order. Nested (hf = 0):
// names relative to "position.", one level of sections ("rope": {...}, "t5": {...}).
// Flat (hf = 1): transformers' names, null values left out.
static void put_members(const Position *p, unsigned mask, int hf, char *buf, size_t cap, size_t *n) {
    char open[32] = "";                         // the section being written
    int first = 1;
    for (int k = 0; k < NUM_POS_KEYS; k++) {
        const KeyRow *r = &KEYS[k];
        if (!(mask & K(k)) || (hf && (!r->hf || (r->nullable && *(const double *)((const char *)p + r->off) < 0))))
            continue;
        const char *name = hf ? r->hf : r->name + strlen("position."), *dot = hf ? NULL : strchr(name, '.');
        char section[32] = "";
        if (dot) snprintf(section, sizeof section, "%.*s", (int)(dot - name), name);
        if (strcmp(section, open)) {             // leave the open section, enter this key's
            if (*open) appendf(buf, cap, n, "}");
            if (*section) appendf(buf, cap, n, "%s\"%s\": {", first ? "" : ", ", section);
            snprintf(open, sizeof open, "%s", section);
            first = *section != '\0';
        }
        appendf(buf, cap, n, "%s\"%s\": ", first ? "" : ", ", dot ? dot + 1 : name);
        put_value(p, (PosKey)k, buf, cap, n);
        first = 0;
    }
    if (*open) appendf(buf, cap, n, "}");
}

char *position_json(const Position *p, PosJson mode, double theta0) {
    const size_t cap = POS_JSON_MAX;
    char *buf = xmalloc(cap);
    size_t n = 0;
    unsigned mask;
    if (mode == POS_JSON_HF) {
        const char *type = p->rope ? SCALINGS[p->scaling].hf_type : NULL;
        if (!type) appendf(buf, cap, &n, "null");
        else {
            appendf(buf, cap, &n, "{\"rope_type\": \"%s\", ", type);
            put_members(p, SCALINGS[p->scaling].uses & ~K(PK_THETA), 1, buf, cap, &n);
            appendf(buf, cap, &n, "}");
        }
    } else {
        if (mode == POS_JSON_SET) mask = p->set & (p->rope ? ~K(PK_ROPE) : ~ROPE_SECTION);
        else {
            mask = !p->rope ? K(PK_ROPE)
                 : p->scaling != SCALE_NONE ? K(PK_SCALING) | SCALINGS[p->scaling].uses
                 : p->theta != theta0 ? K(PK_THETA) : 0;
            mask |= p->bias != BIAS_NONE ? K(PK_BIAS) | BIAS_USES[p->bias] : 0;
        }
        appendf(buf, cap, &n, "{");
        put_members(p, mask, 0, buf, cap, &n);
        appendf(buf, cap, &n, "}");
    }
    CHECK(n < cap, "a position scheme of %zu bytes exceeds POS_JSON_MAX", n);
    return buf;
}

int position_differs(const Position *a, const Position *b, PosKey k) {
    char va[16384], vb[16384];
    size_t na = 0, nb = 0;
    put_value(a, k, va, sizeof va, &na);
    put_value(b, k, vb, sizeof vb, &nb);
    return strcmp(va, vb) != 0;
}

// ---- the formulas ---------------------------------------------------------------------------
long long position_reach(const Position *p) {
    return p->rope && SCALINGS[p->scaling].reaches ? (long long)floor(p->factor * p->original_max + 0.5) : 0;
}

int rope_tables_depend_on_T(const Position *p) {
    return p->rope && (p->scaling == SCALE_DYNAMIC || p->scaling == SCALE_LONGROPE);
}

// HF find_correction_dim: the pair index whose wavelength fits num_rot rotations in L_o.
static double correction_dim(double num_rot, int d, double base, int L_o) {
    return d * log(L_o / (num_rot * 2.0 * M_PI)) / (2.0 * log(base));
}

void yarn_correction_range(const Position *p, int HS, double *low, double *high) {
    double lo = correction_dim(p->beta_fast, HS, p->theta, p->original_max);
    double hi = correction_dim(p->beta_slow, HS, p->theta, p->original_max);
    if (p->truncate) { lo = floor(lo); hi = ceil(hi); }
    *low = lo > 0 ? lo : 0;
    *high = hi < HS - 1 ? hi : HS - 1;
}

double rope_ntk_base(double theta, double s, int d) { return theta * pow(s, d / (d - 2.0)); }

void rope_inv_freq(const Position *p, int HS, int T, double *inv, double *mscale) {
    const int half = HS / 2;
    const double s = p->factor, d = HS;
    double b = p->theta;
    *mscale = 1.0;
    if (p->scaling == SCALE_NTK) b = rope_ntk_base(p->theta, s, HS);           // period matching
    if (p->scaling == SCALE_DYNAMIC) {                                         // HF dynamic NTK
        double Th = T > p->original_max ? T : p->original_max;
        b = p->theta * pow(s * Th / p->original_max - (s - 1.0), d / (d - 2.0));
    }
    for (int i = 0; i < half; i++) inv[i] = pow(b, -2.0 * i / d);
    if (p->scaling == SCALE_LINEAR)
        for (int i = 0; i < half; i++) inv[i] /= s;                            // Chen et al. 2023
    if (p->scaling == SCALE_YARN) {                                            // Peng et al. 2023
        double lo, hi;
        yarn_correction_range(p, HS, &lo, &hi);
        if (lo == hi) hi += 0.001;
        for (int i = 0; i < half; i++) {
            double r = (i - lo) / (hi - lo);
            r = r < 0 ? 0 : r > 1 ? 1 : r;                                     // ramp: 0 extrapolate, 1 interpolate
            inv[i] = inv[i] * (r / s + 1.0 - r);
        }
        *mscale = p->attention_factor >= 0 ? p->attention_factor : (s <= 1 ? 1.0 : 0.1 * log(s) + 1.0);
    }
    if (p->scaling == SCALE_LLAMA3) {                                          // HF _compute_llama3_parameters
        double low_wl = p->original_max / p->low_freq_factor, high_wl = p->original_max / p->high_freq_factor;
        for (int i = 0; i < half; i++) {
            double wl = 2.0 * M_PI / inv[i];
            if (wl > low_wl) inv[i] /= s;
            else if (wl >= high_wl) {
                double sm = (p->original_max / wl - p->low_freq_factor) / (p->high_freq_factor - p->low_freq_factor);
                inv[i] = (1.0 - sm) * inv[i] / s + sm * inv[i];
            }
        }
    }
    if (p->scaling == SCALE_LONGROPE) {                                        // Ding et al. 2024
        const double *ext = T > p->original_max ? p->long_factor : p->short_factor;
        for (int i = 0; i < half; i++) inv[i] /= ext[i];
        *mscale = p->attention_factor >= 0 ? p->attention_factor
                : (s <= 1 ? 1.0 : sqrt(1.0 + log(s) / log((double)p->original_max)));
    }
}

void rope_position_tables(float *cos_tab, float *sin_tab, const Position *p, int HS, int n, int L) {
    double inv[POS_MAX_PAIRS], ms;
    rope_inv_freq(p, HS, L, inv, &ms);
    for (int t = 0; t < n; t++)
        for (int j = 0; j < HS / 2; j++) {
            double a = (double)t * inv[j];
            cos_tab[(size_t)t * (HS / 2) + j] = (float)(cos(a) * ms);
            sin_tab[(size_t)t * (HS / 2) + j] = (float)(sin(a) * ms);
        }
}

// get_slopes of the ALiBi reference code: for a power of two n, m_h = start^(h+1) with
// start = 2^(-8/n); otherwise the slopes of the largest power of two below n, then every
// other slope of twice that power.
static double slope_pow2(int n, int i) { return pow(pow(2.0, -pow(2.0, -(log2((double)n) - 3.0))), i + 1); }

void alibi_slopes(int NH, float *slopes) {
    int p2 = 1;
    while (p2 * 2 <= NH) p2 *= 2;
    for (int h = 0; h < p2; h++) slopes[h] = (float)slope_pow2(p2, h);
    for (int h = p2; h < NH; h++) slopes[h] = (float)slope_pow2(2 * p2, 2 * (h - p2));
}

// In float32 like torch: exact below num_buckets/2, then log-spaced to max_distance.
int t5_bucket(int n, int num_buckets, int max_distance) {
    int max_exact = num_buckets / 2;
    if (n < max_exact) return n;
    float l = logf((float)n / (float)max_exact) / (float)log((double)max_distance / max_exact);
    long k = max_exact + (long)(l * (float)(num_buckets - max_exact));
    return k < num_buckets - 1 ? (int)k : num_buckets - 1;
}

int t5_bucket_start(int k, int num_buckets, int max_distance) {
    int limit = 4 * (max_distance > num_buckets ? max_distance : num_buckets) + 4;
    for (int n = 0; n <= limit; n++) {
        int b = t5_bucket(n, num_buckets, max_distance);
        if (b == k) return n;
        if (b > k) return -1;
    }
    return -1;
}

void t5_init(float *table, const Position *p, int NH) {
    const int NB = p->t5_buckets;
    memset(table, 0, (size_t)NB * NH * sizeof(float));
    if (!p->t5_init_alibi) return;
    float *m = xmalloc((size_t)NH * sizeof(float));
    alibi_slopes(NH, m);
    int start = 0;
    for (int k = 0; k < NB; k++) {
        int s = t5_bucket_start(k, NB, p->t5_max_distance);
        if (s >= 0) start = s;                  // an unreachable bucket keeps its predecessor's
        for (int h = 0; h < NH; h++) table[(size_t)k * NH + h] = -m[h] * (float)start;
    }
    free(m);
}
