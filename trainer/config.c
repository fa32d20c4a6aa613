// config.c — schema-driven YAML configuration (see config.h).
#define _POSIX_C_SOURCE 200809L
#include "config.h"
#include "../data/needles.h"
#include "../util/util.h"
#include "../util/ytree.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef enum { K_INT, K_FLOAT, K_STR, K_PAIR, K_BOOL, K_LIST, K_NAMES, K_STAGES, K_SOURCES } KeyType;

// Key: one configurable leaf. Ranges are inclusive; choices is a '|' list for strings
// (one that starts "false|true|" is a boolean with more values: YAML's other boolean
// spellings, yes/no/on/off in any case, are read as false and true);
// dflt NULL or "": unset (checked by the user of the key). K_LIST and K_STAGES keep
// their element count at off2. K_NAMES: a list of distinct names from choices, stored as
// a bit mask (long long, bit i = the i-th choice). K_SOURCES: data.train's Sources, parsed
// and written by data/sources.c.
typedef struct {
    const char *key;
    KeyType type;
    size_t off, off2;
    double lo, hi;
    const char *dflt, *choices;
} Key;

#define F(field) offsetof(Config, field)
static const Key KEYS[] = {
    {.key = "run.name", .type = K_STR, .off = F(run_name), .dflt = "run"},
    {.key = "run.seed", .type = K_INT, .off = F(seed), .hi = 9.0e15, .dflt = "1337"},
    {.key = "run.threads", .type = K_INT, .off = F(threads), .hi = 1024, .dflt = "0"},
    {.key = "model.init_from", .type = K_STR, .off = F(init_from), .dflt = ""},
    {.key = "data.train", .type = K_SOURCES, .off = F(train), .dflt = ""},
    {.key = "data.val", .type = K_STR, .off = F(val_path), .dflt = ""},
    {.key = "data.tokenizer", .type = K_STR, .off = F(tokenizer), .dflt = ""},
    {.key = "data.min_doc_tokens", .type = K_INT, .off = F(min_doc_tokens), .hi = 1e12, .dflt = "0"},
    {.key = "data.max_doc_tokens", .type = K_INT, .off = F(max_doc_tokens), .hi = 1e12, .dflt = "0"},
    {.key = "data.upsample.min_tokens", .type = K_INT, .off = F(upsample_min_tokens), .hi = 1e12, .dflt = "0"},
    {.key = "data.upsample.factor", .type = K_INT, .off = F(upsample_factor), .lo = 1, .hi = 1000, .dflt = "1"},
    {.key = "data.mix.tasks", .type = K_NAMES, .off = F(mix_tasks), .dflt = "", .choices = "passkey|multikey|multivalue|kv|copy"},
    {.key = "data.mix.share", .type = K_FLOAT, .off = F(mix_share), .hi = 1, .dflt = ""},
    {.key = "data.mix.lengths", .type = K_LIST, .off = F(mix_lens), .off2 = F(n_mix_lens), .lo = 2, .hi = 1 << 22, .dflt = ""},
    {.key = "data.mix.depths", .type = K_LIST, .off = F(mix_depths), .off2 = F(n_mix_depths), .hi = 1, .dflt = ""},
    {.key = "data.mix.needles", .type = K_INT, .off = F(mix_needles), .lo = 2, .hi = NEEDLE_MAX, .dflt = "4"},
    {.key = "data.mix.whole", .type = K_BOOL, .off = F(mix_whole), .hi = 1, .dflt = "false"},
    {.key = "data.document_mask", .type = K_BOOL, .off = F(document_mask), .hi = 1, .dflt = "false"},
    {.key = "train.seq_len", .type = K_INT, .off = F(seq_len), .lo = 1, .hi = 1 << 22, .dflt = "512"},
    {.key = "train.batch_tokens", .type = K_INT, .off = F(batch_tokens), .lo = 1, .hi = 1ll << 32, .dflt = "4096"},
    {.key = "train.micro_batch", .type = K_INT, .off = F(micro_batch), .hi = 1 << 20, .dflt = "0"},
    {.key = "train.context_parallel", .type = K_INT, .off = F(context_parallel), .lo = 1, .hi = 1 << 16, .dflt = "1"},
    {.key = "train.recompute", .type = K_STR, .off = F(recompute), .dflt = "false", .choices = "false|true|full"},
    {.key = "train.pose.target_len", .type = K_INT, .off = F(pose_target_len), .hi = 1 << 24, .dflt = "0"},
    {.key = "train.pose.chunks", .type = K_INT, .off = F(pose_chunks), .lo = 1, .hi = POSE_MAX_CHUNKS, .dflt = "2"},
    {.key = "curriculum", .type = K_STAGES, .off = F(stages), .off2 = F(n_stages), .lo = 1, .hi = MAX_STAGES, .dflt = ""},
    {.key = "train.max_steps", .type = K_INT, .off = F(max_steps), .hi = 1e12, .dflt = "200"},
    {.key = "train.optimizer.name", .type = K_STR, .off = F(optimizer), .dflt = "adamw", .choices = "adamw"},
    {.key = "train.optimizer.lr", .type = K_FLOAT, .off = F(lr), .hi = 10, .dflt = "3.0e-4"},
    {.key = "train.optimizer.betas", .type = K_PAIR, .off = F(beta1), .hi = 0.999999, .dflt = "[0.9, 0.95]"},
    {.key = "train.optimizer.eps", .type = K_FLOAT, .off = F(eps), .lo = 1e-30, .hi = 1, .dflt = "1.0e-8"},
    {.key = "train.optimizer.weight_decay", .type = K_FLOAT, .off = F(weight_decay), .hi = 10, .dflt = "0.0"},
    {.key = "train.schedule.warmup_steps", .type = K_INT, .off = F(warmup_steps), .hi = 1e12, .dflt = "0"},
    {.key = "train.schedule.decay", .type = K_STR, .off = F(decay), .dflt = "cosine", .choices = "cosine|linear|constant"},
    {.key = "train.schedule.min_lr", .type = K_FLOAT, .off = F(min_lr), .hi = 10, .dflt = "0.0"},
    {.key = "train.grad_clip", .type = K_FLOAT, .off = F(grad_clip), .hi = 1e9, .dflt = "1.0"},
    {.key = "train.max_update", .type = K_FLOAT, .off = F(max_update), .hi = 1e9, .dflt = "0.5"},
    {.key = "train.log_every", .type = K_INT, .off = F(log_every), .lo = 1, .hi = 1e12, .dflt = "1"},
    {.key = "eval.every", .type = K_INT, .off = F(eval_every), .hi = 1e12, .dflt = "0"},
    {.key = "eval.max_tokens", .type = K_INT, .off = F(eval_max_tokens), .lo = 1, .hi = 1e15, .dflt = "65536"},
    {.key = "eval.document_mask", .type = K_BOOL, .off = F(eval_document_mask), .hi = 1, .dflt = "false"},
    {.key = "eval.seq_lens", .type = K_LIST, .off = F(eval_lens), .off2 = F(n_eval_lens), .lo = 1, .hi = 1 << 22, .dflt = ""},
    {.key = "eval.tasks.names", .type = K_NAMES, .off = F(eval_tasks), .dflt = "", .choices = "passkey|multikey|multivalue|kv"},
    {.key = "eval.tasks.lengths", .type = K_LIST, .off = F(task_lens), .off2 = F(n_task_lens), .lo = 64, .hi = 1 << 22,
     .dflt = ""},
    {.key = "eval.tasks.depths", .type = K_LIST, .off = F(task_depths), .off2 = F(n_task_depths), .hi = 1,
     .dflt = "[0.1, 0.5, 0.9]"},
    {.key = "eval.tasks.trials", .type = K_INT, .off = F(task_trials), .lo = 1, .hi = 1e6, .dflt = "10"},
    {.key = "eval.tasks.needles", .type = K_INT, .off = F(task_needles), .lo = 2, .hi = NEEDLE_MAX, .dflt = "4"},
    {.key = "eval.tasks.every", .type = K_INT, .off = F(task_every), .hi = 1e12, .dflt = "0"},
    {.key = "eval.tasks.threshold", .type = K_FLOAT, .off = F(task_threshold), .lo = 1e-9, .hi = 1, .dflt = "0.8"},
    {.key = "eval.tasks.copy.distances", .type = K_LIST, .off = F(copy_dists), .off2 = F(n_copy_dists), .lo = 2,
     .hi = 1 << 24, .dflt = ""},
    {.key = "eval.tasks.copy.span", .type = K_INT, .off = F(copy_span), .lo = 2, .hi = 4096, .dflt = "32"},
    {.key = "eval.tasks.copy.trials", .type = K_INT, .off = F(copy_trials), .lo = 1, .hi = 1e6, .dflt = "8"},
    {.key = "checkpoint.every", .type = K_INT, .off = F(ckpt_every), .hi = 1e12, .dflt = "0"},
    {.key = "checkpoint.keep_last", .type = K_INT, .off = F(ckpt_keep_last), .hi = 1e9, .dflt = "0"},
    {.key = "checkpoint.compress", .type = K_BOOL, .off = F(ckpt_compress), .hi = 1, .dflt = "false"},
};
#define N_KEYS (sizeof KEYS / sizeof KEYS[0])
_Static_assert(N_KEYS <= sizeof ((Config *)0)->where / sizeof ((Config *)0)->where[0], "Config.where holds every key");

static int find_key(const char *key) {
    for (size_t i = 0; i < N_KEYS; i++) if (!strcmp(KEYS[i].key, key)) return (int)i;
    return -1;
}

// is_section: some key starts with "<prefix>."
// did_you_mean: " (did you mean 'K'?)" for the schema or position key K nearest to key,
// or "" when none is near (into out, cap bytes).
static const char *did_you_mean(const char *key, char *out, size_t cap) {
    const char *names[N_KEYS + NUM_POS_KEYS];
    size_t n = 0;
    for (size_t i = 0; i < N_KEYS; i++) names[n++] = KEYS[i].key;
    for (int k = 0; k < NUM_POS_KEYS; k++) names[n++] = position_key_name((PosKey)k);
    const char *near = nearest(key, names, n);
    if (near) snprintf(out, cap, " (did you mean '%s'?)", near);
    else snprintf(out, cap, " (the keys are listed in the README's configuration table)");
    return out;
}

static int is_section(const char *prefix) {
    size_t n = strlen(prefix);
    for (size_t i = 0; i < N_KEYS; i++) if (!strncmp(KEYS[i].key, prefix, n) && KEYS[i].key[n] == '.') return 1;
    return 0;
}

static void check_range(YTree *t, yaml_node_t *n, const Key *k, double v) {
    if (v < k->lo || v > k->hi) yfail(t, n, "%s = %g is out of range [%g, %g]", k->key, v, k->lo, k->hi);
}

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

// parse_pose: a stage's `pose: {target_len: N, chunks: k}` (chunks default 2) or
// `pose: off`, at their line:column.
static void parse_pose(Stage *st, YTree *t, yaml_node_t *n, const char *what) {
    st->pose_set = 1;
    st->pose = (Pose){0, 2};
    snprintf(st->pose_where, sizeof st->pose_where, "%s:%zu:%zu", t->source, n->start_mark.line + 1,
             n->start_mark.column + 1);
    if (n->type == YAML_SCALAR_NODE && !strcmp(yscalar(t, n, "pose"), "off")) return;
    if (n->type != YAML_MAPPING_NODE) yfail(t, n, "%s: pose is a mapping {target_len: N, chunks: k} or off", what);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(&t->doc, p->key), *vn = yaml_document_get_node(&t->doc, p->value);
        const char *k = yscalar(t, kn, "key");
        const long long v = yint(t, vn, k);
        if (!strcmp(k, "target_len")) {
            if (v < 1 || v > (1 << 24)) yfail(t, vn, "%s: pose.target_len %lld is out of range [1, %d]", what, v, 1 << 24);
            st->pose.target_len = (int)v;
            snprintf(st->pose_where, sizeof st->pose_where, "%s:%zu:%zu", t->source, vn->start_mark.line + 1,
                     vn->start_mark.column + 1);
        } else if (!strcmp(k, "chunks")) {
            if (v < 1 || v > POSE_MAX_CHUNKS) yfail(t, vn, "%s: pose.chunks %lld is out of range [1, %d]", what, v, POSE_MAX_CHUNKS);
            st->pose.chunks = (int)v;
        } else yfail(t, kn, "%s: unknown key pose.%s (pose has target_len and chunks)", what, k);
    }
    if (!st->pose.target_len) yfail(t, n, "%s: pose needs target_len (or pose: off)", what);
}

// parse_stage: one `curriculum:` entry: seq_len, tokens, lr_scale, the position settings
// it overrides (`rope: {...}`), validated by model/position at their line:column, and
// its PoSE settings (`pose:`).
static void parse_stage(Stage *st, YTree *t, yaml_node_t *map, const char *what) {
    if (map->type != YAML_MAPPING_NODE) yfail(t, map, "%s: a stage is a mapping, e.g. {seq_len: 2048, tokens: 4M}", what);
    memset(st, 0, sizeof *st);
    position_default(&st->over);
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
        if (!strcmp(k, "pose")) {
            parse_pose(st, t, vn, what);
            continue;
        }
        if (vn->type != YAML_MAPPING_NODE && (!strcmp(k, "bias") || !strcmp(k, "rope")))
            yfail(t, kn, "%s: '%s' cannot change between stages (it fixes the model's parameters or attention); "
                  "a stage sets seq_len, tokens, lr_scale and rope settings, e.g. rope: {factor: 16}", what, k);
        if (vn->type != YAML_MAPPING_NODE || (strcmp(k, "rope") && strcmp(k, "t5")))
            yfail(t, kn, "%s: unknown stage key '%s' (a stage has seq_len, tokens, lr_scale, rope: {...} and pose: {...})",
                  what, k);
        char prefix[64];
        snprintf(prefix, sizeof prefix, "position.%s", k);
        position_apply(&st->over, t, vn, prefix, what);
    }
}

static void parse_stages(Config *c, YTree *t, yaml_node_t *seq) {
    if (!seq || seq->type != YAML_SEQUENCE_NODE || yseq_len(seq) < 1 || yseq_len(seq) > MAX_STAGES)
        yfail(t, seq, "curriculum: expected a list of 1 to %d stages, e.g. - {seq_len: 2048, tokens: 4M}", MAX_STAGES);
    for (size_t i = 0; i < yseq_len(seq); i++) {
        char what[48];             // "curriculum[" + any size_t + "]"
        snprintf(what, sizeof what, "curriculum[%zu]", i);
        parse_stage(&c->stages[i], t, yseq_at(t, seq, i), what);
    }
    c->n_stages = (long long)yseq_len(seq);
}

// write_stages: the stages as a YAML flow list that parse_stages reads back.
static void write_stages(const Config *c, FILE *f) {
    fputs("[", f);
    for (int i = 0; i < c->n_stages; i++) {
        const Stage *st = &c->stages[i];
        char *json = position_json(&st->over, POS_JSON_SET, 0.0);
        const size_t len = strlen(json);
        fprintf(f, "%s{seq_len: %lld, tokens: %lld, lr_scale: %.17g", i ? ", " : "", st->seq_len, st->tokens, st->lr_scale);
        if (len > 2) fprintf(f, ", %.*s", (int)(len - 2), json + 1);    // the members of {...}
        if (st->pose_set && st->pose.target_len)
            fprintf(f, ", pose: {target_len: %d, chunks: %d}", st->pose.target_len, st->pose.chunks);
        else if (st->pose_set) fputs(", pose: off", f);
        fputs("}", f);
        free(json);
    }
    fputs("]\n", f);
}

// choice_index: the index of s in the '|' list choices, -1 when not one of them.
static int choice_index(const char *choices, const char *s) {
    const size_t ls = strlen(s);
    for (int i = 0; *choices; i++) {
        const char *e = strchr(choices, '|');
        const size_t lp = e ? (size_t)(e - choices) : strlen(choices);
        if (ls == lp && !strncmp(choices, s, lp)) return i;
        choices += lp + (e ? 1 : 0);
    }
    return -1;
}

// set_names: a K_NAMES value: a list of distinct names of k->choices, as a bit mask.
static void set_names(const Key *k, YTree *t, yaml_node_t *n, long long *mask) {
    if (!n || n->type != YAML_SEQUENCE_NODE) yfail(t, n, "%s: expected a list of names from %s", k->key, k->choices);
    *mask = 0;
    for (size_t j = 0; j < yseq_len(n); j++) {
        yaml_node_t *e = yseq_at(t, n, j);
        const char *s = yscalar(t, e, k->key);
        const int i = choice_index(k->choices, s);
        if (i < 0) yfail(t, e, "%s: unknown name '%s' (one of %s)", k->key, s, k->choices);
        if (*mask >> i & 1) yfail(t, e, "%s: '%s' is listed twice", k->key, s);
        *mask |= 1ll << i;
    }
}

// set_key: validate node n as the value of KEYS[i] and store it in c.
static void set_key(Config *c, int i, YTree *t, yaml_node_t *n, const char *where) {
    const Key *k = &KEYS[i];
    char *field = (char *)c + k->off;
    if (k->type == K_STAGES) {
        parse_stages(c, t, n);
    } else if (k->type == K_SOURCES) {
        sources_parse((Sources *)field, t, n, k->key);
    } else if (k->type == K_LIST) {
        if (!n || n->type != YAML_SEQUENCE_NODE || yseq_len(n) > MAX_LIST)      // [] = unset
            yfail(t, n, "%s: expected a list of at most %d numbers", k->key, MAX_LIST);
        for (size_t j = 0; j < yseq_len(n); j++) {
            double v = ydouble(t, yseq_at(t, n, j), k->key);
            check_range(t, yseq_at(t, n, j), k, v);
            ((double *)field)[j] = v;
        }
        *(long long *)((char *)c + k->off2) = (long long)yseq_len(n);
    } else if (k->type == K_NAMES) {
        set_names(k, t, n, (long long *)field);
    } else if (k->type == K_BOOL) {
        *(int *)field = ybool(t, n, k->key);
    } else if (k->type == K_PAIR) {
        if (!n || n->type != YAML_SEQUENCE_NODE || yseq_len(n) != 2) yfail(t, n, "%s: expected a list of two numbers", k->key);
        for (size_t j = 0; j < 2; j++) {
            double v = ydouble(t, yseq_at(t, n, j), k->key);
            check_range(t, yseq_at(t, n, j), k, v);
            ((double *)field)[j] = v;
        }
    } else if (k->type == K_INT) {
        long long v = yint(t, n, k->key);
        check_range(t, n, k, (double)v);
        *(long long *)field = v;
    } else if (k->type == K_FLOAT) {
        double v = ydouble(t, n, k->key);
        check_range(t, n, k, v);
        *(double *)field = v;
    } else {
        const char *s = yscalar(t, n, k->key);
        int b;
        if (k->choices && !strncmp(k->choices, "false|true|", 11) && !parse_bool(s, &b)) s = b ? "true" : "false";
        if (strlen(s) >= CFG_STR) yfail(t, n, "%s: value longer than %d characters", k->key, CFG_STR - 1);
        if (k->choices && choice_index(k->choices, s) < 0) yfail(t, n, "%s: '%s' is not one of %s", k->key, s, k->choices);
        strcpy(field, s);
    }
    snprintf(c->where[i], CFG_STR, "%s", where);
}

// passkey_alias: the eval.tasks key that eval.passkey.<key> of earlier versions means
// (eval.passkey: {lengths, depths, trials, every} = eval.tasks with names [passkey]), or
// NULL for another key.
static const char *passkey_alias(const char *key) {
    static const char *const ALIAS[][2] = {{"lengths", "eval.tasks.lengths"}, {"depths", "eval.tasks.depths"},
                                           {"trials", "eval.tasks.trials"}, {"every", "eval.tasks.every"}};
    for (size_t i = 0; i < sizeof ALIAS / sizeof ALIAS[0]; i++)
        if (!strcmp(key, ALIAS[i][0])) return ALIAS[i][1];
    return NULL;
}

// set_passkey: eval.passkey.<key> = node n; lengths also name the passkey task.
static void set_passkey(Config *c, YTree *t, yaml_node_t *kn, yaml_node_t *n, const char *key, const char *where) {
    const char *alias = passkey_alias(key);
    if (!alias) yfail(t, kn, "unknown key 'eval.passkey.%s' (eval.passkey has lengths, depths, trials, every; it is "
                      "eval.tasks with names: [passkey])", key);
    set_key(c, find_key(alias), t, n, where);
    if (!strcmp(key, "lengths")) c->passkey_alias = c->n_task_lens > 0;   // the passkey task, once all is read
}

// apply_passkey: the eval.passkey mapping of earlier versions, read as eval.tasks.
static void apply_passkey(Config *c, YTree *t, yaml_node_t *map) {
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(&t->doc, p->key), *vn = yaml_document_get_node(&t->doc, p->value);
        char where[CFG_STR];
        snprintf(where, sizeof where, "%s:%zu:%zu", t->source, vn->start_mark.line + 1, vn->start_mark.column + 1);
        set_passkey(c, t, kn, vn, yscalar(t, kn, "key"), where);
    }
}

// apply: set the keys of mapping `map` found at dotted path `prefix` ("" = the document);
// the `position` section goes to model/position.
static void apply(Config *c, YTree *t, yaml_node_t *map, const char *prefix) {
    if (map->type != YAML_MAPPING_NODE) yfail(t, map, "%s must be a mapping of keys", *prefix ? prefix : "the document");
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(&t->doc, p->key), *vn = yaml_document_get_node(&t->doc, p->value);
        char path[256], where[CFG_STR];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", yscalar(t, kn, "key"));
        int i = find_key(path);
        if (!strcmp(path, "eval.passkey") && vn->type == YAML_MAPPING_NODE) {
            apply_passkey(c, t, vn);
            continue;
        }
        if (!strcmp(path, "position")) {
            position_apply(&c->pos, t, vn, path, NULL);
        } else if (vn->type == YAML_MAPPING_NODE && is_section(path)) {
            apply(c, t, vn, path);
        } else if (i >= 0) {
            snprintf(where, sizeof where, "%s:%zu:%zu", t->source, vn->start_mark.line + 1, vn->start_mark.column + 1);
            set_key(c, i, t, vn, where);
        } else if (is_section(path)) yfail(t, vn, "'%s' must be a mapping of keys", path);
        else {
            char hint[300];
            yfail(t, kn, "unknown key '%s'%s", path, did_you_mean(path, hint, sizeof hint));
        }
    }
}

void config_apply_json(Config *c, const char *json, const char *source, const char *prefix) {
    YTree t;
    ytree_parse(&t, source, json, strlen(json));
    if (!strcmp(prefix, "position")) position_apply(&c->pos, &t, ytree_root(&t), prefix, NULL);
    else apply(c, &t, ytree_root(&t), prefix);
    ytree_free(&t);
}

static char *resolve_path(const char *path) {
    if (file_exists(path)) return xstrdup(path);
    if (!strchr(path, '/')) {
        char *alt = path_join("configs", path);
        if (file_exists(alt)) return alt;
        free(alt);
        die("%s: no such config file (also looked in configs/%s)", path, path);
    }
    die("%s: no such config file", path);
}

static int is_position_key(const char *key) {
    for (int k = 0; k < NUM_POS_KEYS; k++) if (!strcmp(position_key_name((PosKey)k), key)) return 1;
    return 0;
}

// set_text: `key` (a schema or a position key) from the YAML text `value`, validated as a
// file value would be; `where` names the origin in errors and in config_where.
static void set_text(Config *c, const char *key, const char *value, const char *where) {
    YTree t;
    ytree_parse(&t, where, value, strlen(value));
    const int i = find_key(key);
    if (i >= 0) set_key(c, i, &t, ytree_root(&t), where);
    else {
        const int found = position_set(&c->pos, key, &t, ytree_root(&t), where);
        assert(found);
        (void)found;
    }
    ytree_free(&t);
}

void config_load(Config *c, const char *path, char **overrides, int n_overrides) {
    memset(c, 0, sizeof *c);
    position_default(&c->pos);
    for (size_t i = 0; i < N_KEYS; i++) {          // defaults go through the same validation
        strcpy(c->where[i], "default");
        if (*KEYS[i].dflt) set_text(c, KEYS[i].key, KEYS[i].dflt, "default");
    }
    if (path) {
        char *p = resolve_path(path);
        size_t len;
        char *text = read_file(p, &len);
        YTree t;
        ytree_parse(&t, p, text, len);
        apply(c, &t, ytree_root(&t), "");
        ytree_free(&t);
        free(text);
        free(p);
    }
    for (int j = 0; j < n_overrides; j++) {
        char *eq = strchr(overrides[j], '=');
        if (!eq) die("--set %s: expected key=value", overrides[j]);
        char key[256], src[300];
        snprintf(key, sizeof key, "%.*s", (int)(eq - overrides[j]), overrides[j]);
        snprintf(src, sizeof src, "--set %s", key);
        if (!eq[1]) die("--set %s: empty value", key);
        if (!strncmp(key, "eval.passkey.", 13) && passkey_alias(key + 13)) {    // earlier versions' eval.passkey
            YTree t;
            ytree_parse(&t, src, eq + 1, strlen(eq + 1));
            set_passkey(c, &t, ytree_root(&t), ytree_root(&t), key + 13, src);
            ytree_free(&t);
            continue;
        }
        char hint[300];
        if (find_key(key) < 0 && !is_position_key(key))
            die("--set %s: unknown key '%s'%s", overrides[j], key, did_you_mean(key, hint, sizeof hint));
        set_text(c, key, eq + 1, src);
    }
    if (c->passkey_alias) {                       // eval.passkey (earlier versions): names gains passkey
        c->eval_tasks |= 1ll << NEEDLE_PASSKEY;
        if (!config_is_set(c, "eval.tasks.names"))
            memcpy(c->where[find_key("eval.tasks.names")], c->where[find_key("eval.tasks.lengths")], CFG_STR);
    }
    snprintf(c->out_dir, sizeof c->out_dir, "checkpoints/%s", c->run_name);
    if (!*c->run_name || strchr(c->run_name, '/') || !strcmp(c->run_name, "..") || !strcmp(c->run_name, "."))
        die("%s: run.name '%s' must be a plain non-empty directory name", config_where(c, "run.name"), c->run_name);
}

const char *config_where(const Config *c, const char *key) {
    int i = find_key(key);
    assert(i >= 0);
    return c->where[i];
}

int config_is_set(const Config *c, const char *key) { return strcmp(config_where(c, key), "default") != 0; }

int config_eval_document_mask(const Config *c) {
    return config_is_set(c, "eval.document_mask") ? c->eval_document_mask : c->document_mask;
}

// write_value: the value of key k in c as YAML, then a newline.
static void write_value(const Config *c, const Key *k, FILE *f) {
    const char *field = (const char *)c + k->off;
    if (k->type == K_INT) fprintf(f, "%lld\n", *(const long long *)field);
    else if (k->type == K_FLOAT) fprintf(f, "%.17g\n", *(const double *)field);
    else if (k->type == K_PAIR) fprintf(f, "[%.17g, %.17g]\n", ((const double *)field)[0], ((const double *)field)[1]);
    else if (k->type == K_BOOL) fprintf(f, "%s\n", *(const int *)field ? "true" : "false");
    else if (k->type == K_STAGES) write_stages(c, f);
    else if (k->type == K_SOURCES) sources_write((const Sources *)field, f);
    else if (k->type == K_NAMES) {
        const long long mask = *(const long long *)field;
        const char *p = k->choices;
        fputc('[', f);
        for (int i = 0, any = 0; *p; i++) {
            const char *e = strchr(p, '|');
            const int lp = e ? (int)(e - p) : (int)strlen(p);
            if (mask >> i & 1) fprintf(f, "%s%.*s", any++ ? ", " : "", lp, p);
            p += lp + (e ? 1 : 0);
        }
        fputs("]\n", f);
    }
    else if (k->type == K_LIST) {
        long long n = *(const long long *)((const char *)c + k->off2);
        fputc('[', f);
        for (long long j = 0; j < n; j++) fprintf(f, "%s%.17g", j ? ", " : "", ((const double *)field)[j]);
        fputs("]\n", f);
    } else {
        ywrite_str(f, field);
        fputc('\n', f);
    }
}

size_t config_diff(const Config *a, const Config *b, char *out, size_t cap) {
    size_t n = 0, len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < N_KEYS; i++) {
        char *va = NULL, *vb = NULL;
        size_t la, lb;
        FILE *fa = open_memstream(&va, &la), *fb = open_memstream(&vb, &lb);
        CHECK(fa && fb, "cannot open a memory stream");
        write_value(a, &KEYS[i], fa);
        write_value(b, &KEYS[i], fb);
        fclose(fa);
        fclose(fb);
        if (strcmp(va, vb)) appendf(out, cap, &len, "%s%s", n++ ? ", " : "", KEYS[i].key);
        free(va);
        free(vb);
    }
    for (int k = 0; k < NUM_POS_KEYS; k++)
        if (position_differs(&a->pos, &b->pos, (PosKey)k))
            appendf(out, cap, &len, "%s%s", n++ ? ", " : "", position_key_name((PosKey)k));
    if (len >= cap && cap > 4) strcpy(out + cap - 4, "...");
    return n;
}

char *config_text(const Config *c) {
    char *text = NULL;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    CHECK(f, "cannot open a memory stream");
    char prev[256] = "";
    fprintf(f, "# resolved configuration of run '%s' (defaults, file and --set applied)\n", c->run_name);
    for (size_t i = 0; i < N_KEYS; i++) {
        const Key *k = &KEYS[i];
        if ((k->type == K_STAGES || k->type == K_LIST) && !*(const long long *)((const char *)c + k->off2))
            continue;                                   // an empty list is an unset key
        if (k->type == K_NAMES && !*(const long long *)((const char *)c + k->off)) continue;
        if (!strcmp(k->key, "train.seq_len") && c->n_stages) continue;   // the stages set it
        // open the sections this key does not share with the previous one
        const char *s = k->key, *ps = prev;
        int depth = 0;
        while (1) {
            const char *d = strchr(s, '.');
            if (!d) break;
            size_t n = (size_t)(d - s);
            int same = ps && !strncmp(s, ps, n) && ps[n] == '.';
            if (!same) {
                fprintf(f, "%*s%.*s:\n", 2 * depth, "", (int)n, s);
                ps = NULL;
            } else ps += n + 1;
            s = d + 1;
            depth++;
        }
        fprintf(f, "%*s%s: ", 2 * depth, "", s);
        write_value(c, k, f);
        snprintf(prev, sizeof prev, "%s", k->key);
    }
    // position keys only when set (membership in a method is judged by that)
    if (position_is_set(&c->pos)) {
        char *json = position_json(&c->pos, POS_JSON_SET, 0.0);
        fprintf(f, "position: %s\n", json);
        free(json);
    }
    fclose(f);
    return text;
}

void config_write(const Config *c, const char *path) {
    char *text = config_text(c);
    FILE *f = xfopen(path, "w");
    fputs(text, f);
    free(text);
    if (fclose(f) != 0) die("%s: write failed", path);
}
