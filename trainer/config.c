// config.c — schema-driven YAML configuration (see config.h).
#define _POSIX_C_SOURCE 200809L
#include "config.h"
#include "curriculum.h"
#include "../util/util.h"
#include "../util/ytree.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef enum { K_INT, K_FLOAT, K_STR, K_PAIR, K_BOOL, K_LIST, K_STAGES } KeyType;

// Key: one configurable leaf. Ranges are inclusive; choices is a '|' list for strings.
typedef struct {
    const char *key;
    KeyType type;
    size_t off;
    double lo, hi;
    const char *dflt;           // NULL: required (checked by the user of the key)
    const char *choices;
    size_t off2;                // K_LIST: offset of the element count
    int nullable;               // K_FLOAT: null stores -1 (the method's default)
} Key;

#define F(field) offsetof(Config, field)
static const Key KEYS[] = {
    {"run.name", K_STR, F(run_name), 0, 0, "run", NULL, 0, 0},
    {"run.seed", K_INT, F(seed), 0, 9.0e15, "1337", NULL, 0, 0},
    {"run.threads", K_INT, F(threads), 0, 1024, "0", NULL, 0, 0},
    {"model.init_from", K_STR, F(init_from), 0, 0, "", NULL, 0, 0},
    {"data.train", K_STR, F(train_path), 0, 0, "", NULL, 0, 0},
    {"data.val", K_STR, F(val_path), 0, 0, "", NULL, 0, 0},
    {"data.tokenizer", K_STR, F(tokenizer), 0, 0, "", NULL, 0, 0},
    {"data.min_doc_tokens", K_INT, F(min_doc_tokens), 0, 1e12, "0", NULL, 0, 0},
    {"data.upsample.min_tokens", K_INT, F(upsample_min_tokens), 0, 1e12, "0", NULL, 0, 0},
    {"data.upsample.factor", K_INT, F(upsample_factor), 1, 1000, "1", NULL, 0, 0},
    {"train.seq_len", K_INT, F(seq_len), 1, 1 << 22, "512", NULL, 0, 0},
    {"train.batch_tokens", K_INT, F(batch_tokens), 1, 1ll << 32, "4096", NULL, 0, 0},
    {"train.micro_batch", K_INT, F(micro_batch), 0, 1 << 20, "0", NULL, 0, 0},
    {"train.recompute", K_BOOL, F(recompute), 0, 1, "false", NULL, 0, 0},
    {"curriculum", K_STAGES, F(stages), 1, MAX_STAGES, "", NULL, F(n_stages), 0},
    {"train.max_steps", K_INT, F(max_steps), 0, 1e12, "200", NULL, 0, 0},
    {"train.optimizer.name", K_STR, F(optimizer), 0, 0, "adamw", "adamw", 0, 0},
    {"train.optimizer.lr", K_FLOAT, F(lr), 0, 10, "3.0e-4", NULL, 0, 0},
    {"train.optimizer.betas", K_PAIR, F(beta1), 0, 0.999999, "[0.9, 0.95]", NULL, 0, 0},
    {"train.optimizer.eps", K_FLOAT, F(eps), 1e-30, 1, "1.0e-8", NULL, 0, 0},
    {"train.optimizer.weight_decay", K_FLOAT, F(weight_decay), 0, 10, "0.0", NULL, 0, 0},
    {"train.schedule.warmup_steps", K_INT, F(warmup_steps), 0, 1e12, "0", NULL, 0, 0},
    {"train.schedule.decay", K_STR, F(decay), 0, 0, "cosine", "cosine|linear|constant", 0, 0},
    {"train.schedule.min_lr", K_FLOAT, F(min_lr), 0, 10, "0.0", NULL, 0, 0},
    {"train.grad_clip", K_FLOAT, F(grad_clip), 0, 1e9, "1.0", NULL, 0, 0},
    {"train.log_every", K_INT, F(log_every), 1, 1e12, "1", NULL, 0, 0},
    {"eval.every", K_INT, F(eval_every), 0, 1e12, "0", NULL, 0, 0},
    {"eval.max_tokens", K_INT, F(eval_max_tokens), 1, 1e15, "65536", NULL, 0, 0},
    {"eval.seq_lens", K_LIST, F(eval_lens), 1, 1 << 22, "", NULL, F(n_eval_lens), 0},
    {"eval.passkey.lengths", K_LIST, F(passkey_lens), 64, 1 << 22, "", NULL, F(n_passkey_lens), 0},
    {"eval.passkey.depths", K_LIST, F(passkey_depths), 0, 1, "[0.1, 0.5, 0.9]", NULL, F(n_passkey_depths), 0},
    {"eval.passkey.trials", K_INT, F(passkey_trials), 1, 1e6, "10", NULL, 0, 0},
    {"eval.passkey.every", K_INT, F(passkey_every), 0, 1e12, "0", NULL, 0, 0},
    {"checkpoint.every", K_INT, F(ckpt_every), 0, 1e12, "0", NULL, 0, 0},
    {"checkpoint.keep_last", K_INT, F(ckpt_keep_last), 0, 1e9, "0", NULL, 0, 0},
    {"checkpoint.compress", K_BOOL, F(ckpt_compress), 0, 1, "false", NULL, 0, 0},
    {"position.rope", K_STR, F(rope), 0, 0, "on", "on|off", 0, 0},
    {"position.rope.theta", K_FLOAT, F(rope_theta), 0, 1e12, "0", NULL, 0, 0},
    {"position.rope.scaling", K_STR, F(rope_scaling), 0, 0, "none", "none|linear|ntk|dynamic|yarn|llama3|longrope", 0, 0},
    {"position.rope.factor", K_FLOAT, F(rope_factor), 1, 1e6, "1", NULL, 0, 0},
    {"position.rope.original_max_position_embeddings", K_INT, F(rope_original_max), 1, 1 << 24, "", NULL, 0, 0},
    {"position.rope.beta_fast", K_FLOAT, F(beta_fast), 1e-6, 1e6, "32", NULL, 0, 0},
    {"position.rope.beta_slow", K_FLOAT, F(beta_slow), 1e-6, 1e6, "1", NULL, 0, 0},
    {"position.rope.attention_factor", K_FLOAT, F(attention_factor), 0, 100, "null", NULL, 0, 1},
    {"position.rope.truncate", K_BOOL, F(truncate), 0, 1, "true", NULL, 0, 0},
    {"position.rope.low_freq_factor", K_FLOAT, F(low_freq_factor), 1e-6, 1e6, "1", NULL, 0, 0},
    {"position.rope.high_freq_factor", K_FLOAT, F(high_freq_factor), 1e-6, 1e6, "4", NULL, 0, 0},
    {"position.rope.short_factor", K_LIST, F(short_factor), 1e-6, 1e6, "", NULL, F(n_short), 0},
    {"position.rope.long_factor", K_LIST, F(long_factor), 1e-6, 1e6, "", NULL, F(n_long), 0},
    {"position.bias", K_STR, F(bias), 0, 0, "none", "none|alibi|t5", 0, 0},
    {"position.t5.num_buckets", K_INT, F(t5_buckets), 2, 4096, "32", NULL, 0, 0},
    {"position.t5.max_distance", K_INT, F(t5_max_distance), 1, 1 << 24, "128", NULL, 0, 0},
    {"position.t5.init", K_STR, F(t5_init), 0, 0, "zeros", "zeros|alibi", 0, 0},
};
#define N_KEYS (sizeof KEYS / sizeof KEYS[0])
_Static_assert(N_KEYS <= 64, "Config.where holds 64 keys");

static int find_key(const char *key) {
    for (size_t i = 0; i < N_KEYS; i++) if (!strcmp(KEYS[i].key, key)) return (int)i;
    return -1;
}

// is_section: some key starts with "<prefix>."
static int is_section(const char *prefix) {
    size_t n = strlen(prefix);
    for (size_t i = 0; i < N_KEYS; i++) if (!strncmp(KEYS[i].key, prefix, n) && KEYS[i].key[n] == '.') return 1;
    return 0;
}

static void check_range(YTree *t, yaml_node_t *n, const Key *k, double v) {
    if (v < k->lo || v > k->hi) yfail(t, n, "%s = %g is out of range [%g, %g]", k->key, v, k->lo, k->hi);
}

// set_key: validate node n as the value of KEYS[i] and store it in c.
static void set_key(Config *c, int i, YTree *t, yaml_node_t *n, const char *where) {
    const Key *k = &KEYS[i];
    char *field = (char *)c + k->off;
    if (k->type == K_STAGES) {
        curriculum_parse(c, t, n);
    } else if (k->type == K_FLOAT && k->nullable && yis_null(n)) {
        *(double *)field = -1.0;
    } else if (k->type == K_LIST) {
        size_t cap = k->off == F(eval_lens) || k->off == F(passkey_lens) || k->off == F(passkey_depths) ? MAX_LIST : 512;
        if (!n || n->type != YAML_SEQUENCE_NODE || yseq_len(n) > cap)      // [] = unset
            yfail(t, n, "%s: expected a list of at most %zu numbers", k->key, cap);
        for (size_t j = 0; j < yseq_len(n); j++) {
            double v = ydouble(t, yseq_at(t, n, j), k->key);
            check_range(t, yseq_at(t, n, j), k, v);
            ((double *)field)[j] = v;
        }
        *(long long *)((char *)c + k->off2) = (long long)yseq_len(n);
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
        if (strlen(s) >= CFG_STR) yfail(t, n, "%s: value longer than %d characters", k->key, CFG_STR - 1);
        if (k->choices) {
            size_t ls = strlen(s);
            const char *p = k->choices;
            int ok = 0;
            while (*p && !ok) {
                const char *e = strchr(p, '|');
                size_t lp = e ? (size_t)(e - p) : strlen(p);
                ok = ls == lp && !strncmp(p, s, lp);
                p += lp + (e ? 1 : 0);
            }
            if (!ok) yfail(t, n, "%s: '%s' is not one of %s", k->key, s, k->choices);
        }
        strcpy(field, s);
    }
    snprintf(c->where[i], CFG_STR, "%s", where);
}

void config_apply(Config *c, YTree *t, yaml_node_t *map, const char *prefix) {
    if (map->type != YAML_MAPPING_NODE) yfail(t, map, "%s must be a mapping of keys", *prefix ? prefix : "the document");
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(&t->doc, p->key), *vn = yaml_document_get_node(&t->doc, p->value);
        char path[256], where[CFG_STR];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", yscalar(t, kn, "key"));
        int i = find_key(path);
        if (vn->type == YAML_MAPPING_NODE && is_section(path)) {
            config_apply(c, t, vn, path);     // e.g. `rope: {...}` is a section, `rope: off` a key
        } else if (i >= 0) {
            snprintf(where, sizeof where, "%s:%zu:%zu", t->source, vn->start_mark.line + 1, vn->start_mark.column + 1);
            set_key(c, i, t, vn, where);
        } else if (is_section(path)) yfail(t, vn, "'%s' must be a mapping of keys", path);
        else yfail(t, kn, "unknown key '%s'", path);
    }
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

void config_load(Config *c, const char *path, char **overrides, int n_overrides) {
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < N_KEYS; i++) {          // defaults go through the same validation
        YTree t;
        strcpy(c->where[i], "default");
        if (!*KEYS[i].dflt) continue;               // empty string: unset
        ytree_parse(&t, KEYS[i].key, KEYS[i].dflt, strlen(KEYS[i].dflt));
        set_key(c, (int)i, &t, ytree_root(&t), "default");
        ytree_free(&t);
    }
    if (path) {
        char *p = resolve_path(path);
        size_t len;
        char *text = read_file(p, &len);
        YTree t;
        ytree_parse(&t, p, text, len);
        config_apply(c, &t, ytree_root(&t), "");
        ytree_free(&t);
        free(text);
        free(p);
    }
    for (int j = 0; j < n_overrides; j++) {
        char *eq = strchr(overrides[j], '=');
        if (!eq) die("--set %s: expected key=value", overrides[j]);
        char key[256], src[300];
        snprintf(key, sizeof key, "%.*s", (int)(eq - overrides[j]), overrides[j]);
        int i = find_key(key);
        if (i < 0) die("--set %s: unknown key '%s'", overrides[j], key);
        snprintf(src, sizeof src, "--set %s", key);
        if (!eq[1]) die("--set %s: empty value", key);
        config_set(c, key, eq + 1, src);
    }
    snprintf(c->out_dir, sizeof c->out_dir, "checkpoints/%s", c->run_name);
    if (!*c->run_name || strchr(c->run_name, '/') || !strcmp(c->run_name, "..") || !strcmp(c->run_name, "."))
        die("%s: run.name '%s' must be a plain non-empty directory name", config_where(c, "run.name"), c->run_name);
}

void config_set_node(Config *c, const char *key, YTree *t, yaml_node_t *n, const char *where) {
    int i = find_key(key);
    assert(i >= 0);
    set_key(c, i, t, n, where);
}

void config_set(Config *c, const char *key, const char *value, const char *where) {
    int i = find_key(key);
    assert(i >= 0);
    YTree t;
    ytree_parse(&t, where, value, strlen(value));
    set_key(c, i, &t, ytree_root(&t), where);
    ytree_free(&t);
}

const char *config_where(const Config *c, const char *key) {
    int i = find_key(key);
    assert(i >= 0);
    return c->where[i];
}

// write_value: the value of key k in c as YAML, then a newline.
static void write_value(const Config *c, const Key *k, FILE *f) {
    const char *field = (const char *)c + k->off;
    if (k->type == K_INT) fprintf(f, "%lld\n", *(const long long *)field);
    else if (k->type == K_FLOAT && k->nullable && *(const double *)field < 0) fprintf(f, "null\n");
    else if (k->type == K_FLOAT) fprintf(f, "%.17g\n", *(const double *)field);
    else if (k->type == K_PAIR) fprintf(f, "[%.17g, %.17g]\n", ((const double *)field)[0], ((const double *)field)[1]);
    else if (k->type == K_BOOL) fprintf(f, "%s\n", *(const int *)field ? "true" : "false");
    else if (k->type == K_STAGES) curriculum_write(c, f);
    else if (k->type == K_LIST) {
        long long n = *(const long long *)((const char *)c + k->off2);
        fputc('[', f);
        for (long long j = 0; j < n; j++) fprintf(f, "%s%.17g", j ? ", " : "", ((const double *)field)[j]);
        fputs("]\n", f);
    } else {
        fputc('"', f);
        for (const char *q = field; *q; q++) fprintf(f, *q == '"' || *q == '\\' ? "\\%c" : "%c", *q);
        fputs("\"\n", f);
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
    if (len >= cap && cap > 4) strcpy(out + cap - 4, "...");
    return n;
}

void config_write(const Config *c, const char *path) {
    FILE *f = xfopen(path, "w");
    char prev[256] = "";
    fprintf(f, "# resolved configuration of run '%s' (defaults, file and --set applied)\n", c->run_name);
    for (size_t i = 0; i < N_KEYS; i++) {
        const Key *k = &KEYS[i];
        // position keys are written only when set (membership in a method is judged by
        // that), and `rope` only as the scalar `off`
        if (!strncmp(k->key, "position.", 9) && !strcmp(c->where[i], "default")) continue;
        if (!strcmp(k->key, "position.rope") && strcmp(c->rope, "off")) continue;
        if ((k->type == K_STAGES || k->type == K_LIST) && !*(const long long *)((const char *)c + k->off2))
            continue;                                   // an empty list is an unset key
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
    if (fclose(f) != 0) die("%s: write failed", path);
}

// Which scaling methods each position.rope key belongs to (bit per RopeScaling).
#define M(x) (1u << (x))
#define USES_L_O (M(SCALE_DYNAMIC) | M(SCALE_YARN) | M(SCALE_LLAMA3) | M(SCALE_LONGROPE))
static const struct { const char *key; unsigned methods; unsigned required; } ROPE_KEYS[] = {
    {"position.rope.theta", ~0u, 0},
    {"position.rope.factor", ~M(SCALE_NONE), ~M(SCALE_NONE)},
    {"position.rope.original_max_position_embeddings", USES_L_O, 0},
    {"position.rope.beta_fast", M(SCALE_YARN), 0},
    {"position.rope.beta_slow", M(SCALE_YARN), 0},
    {"position.rope.truncate", M(SCALE_YARN), 0},
    {"position.rope.attention_factor", M(SCALE_YARN) | M(SCALE_LONGROPE), 0},
    {"position.rope.low_freq_factor", M(SCALE_LLAMA3), 0},
    {"position.rope.high_freq_factor", M(SCALE_LLAMA3), 0},
    {"position.rope.short_factor", M(SCALE_LONGROPE), M(SCALE_LONGROPE)},
    {"position.rope.long_factor", M(SCALE_LONGROPE), M(SCALE_LONGROPE)},
};

int config_is_set(const Config *c, const char *key) { return strcmp(config_where(c, key), "default") != 0; }

void config_position(const Config *c, int HS, double theta0, int L0, Position *p) {
    position_default(p);
    p->rope = strcmp(c->rope, "off") != 0;
    for (int m = 0; m <= SCALE_LONGROPE; m++) if (!strcmp(c->rope_scaling, SCALING_NAMES[m])) p->scaling = (RopeScaling)m;
    const char *method = p->rope ? c->rope_scaling : "off (rope: off)";
    for (size_t i = 0; i < sizeof ROPE_KEYS / sizeof ROPE_KEYS[0]; i++) {
        unsigned bit = 1u << p->scaling;
        if (config_is_set(c, ROPE_KEYS[i].key) && (!p->rope || !(ROPE_KEYS[i].methods & bit)))
            die("%s: %s does not belong to position.rope.scaling %s", config_where(c, ROPE_KEYS[i].key), ROPE_KEYS[i].key, method);
        if (p->rope && (ROPE_KEYS[i].required & bit) && !config_is_set(c, ROPE_KEYS[i].key))
            die("%s: position.rope.scaling %s needs %s", config_where(c, "position.rope.scaling"), method, ROPE_KEYS[i].key);
    }
    if (!p->rope && config_is_set(c, "position.rope.scaling"))
        die("%s: position.rope.scaling does not belong to rope: off", config_where(c, "position.rope.scaling"));
    p->theta = c->rope_theta > 0 ? c->rope_theta : theta0;
    if (!(p->theta > 1.0)) die("%s: position.rope.theta %g must be > 1", config_where(c, "position.rope.theta"), p->theta);
    p->factor = c->rope_factor;
    p->original_max = config_is_set(c, "position.rope.original_max_position_embeddings") ? (int)c->rope_original_max : L0;
    if (p->rope && (M(p->scaling) & USES_L_O) && p->original_max <= 0)
        die("%s: position.rope.scaling %s needs position.rope.original_max_position_embeddings (the checkpoint does "
            "not record its context)", config_where(c, "position.rope.scaling"), method);
    p->beta_fast = c->beta_fast;
    p->beta_slow = c->beta_slow;
    p->attention_factor = c->attention_factor;
    p->truncate = c->truncate;
    p->low_freq_factor = c->low_freq_factor;
    p->high_freq_factor = c->high_freq_factor;
    if (p->scaling == SCALE_LLAMA3 && !(p->high_freq_factor > p->low_freq_factor))
        die("%s: position.rope.high_freq_factor %g must exceed low_freq_factor %g", config_where(c, "position.rope.high_freq_factor"),
            p->high_freq_factor, p->low_freq_factor);
    if (p->scaling == SCALE_LONGROPE) {
        if (c->n_short != HS / 2) die("%s: position.rope.short_factor has %lld values; the head size %d needs d/2 = %d",
                                      config_where(c, "position.rope.short_factor"), c->n_short, HS, HS / 2);
        if (c->n_long != HS / 2) die("%s: position.rope.long_factor has %lld values; the head size %d needs d/2 = %d",
                                     config_where(c, "position.rope.long_factor"), c->n_long, HS, HS / 2);
        p->n_short = p->n_long = HS / 2;
        memcpy(p->short_factor, c->short_factor, sizeof(double) * (size_t)(HS / 2));
        memcpy(p->long_factor, c->long_factor, sizeof(double) * (size_t)(HS / 2));
    }
    for (int b = 0; b <= BIAS_T5; b++) if (!strcmp(c->bias, BIAS_NAMES[b])) p->bias = (PosBias)b;
    const char *t5keys[] = {"position.t5.num_buckets", "position.t5.max_distance", "position.t5.init"};
    for (int i = 0; i < 3; i++)
        if (p->bias != BIAS_T5 && config_is_set(c, t5keys[i])) die("%s: %s does not belong to position.bias %s", config_where(c, t5keys[i]), t5keys[i], c->bias);
    p->t5_buckets = (int)c->t5_buckets;
    p->t5_max_distance = (int)c->t5_max_distance;
    p->t5_init_alibi = !strcmp(c->t5_init, "alibi");
    if (p->bias == BIAS_T5 && p->t5_max_distance < p->t5_buckets / 2)
        die("%s: position.t5.max_distance %d must be at least num_buckets / 2 = %d", config_where(c, "position.t5.max_distance"),
            p->t5_max_distance, p->t5_buckets / 2);
}

void config_apply_json(Config *c, const char *json, const char *source, const char *prefix) {
    YTree t;
    ytree_parse(&t, source, json, strlen(json));
    config_apply(c, &t, ytree_root(&t), prefix);
    ytree_free(&t);
}

int config_position_is_set(const Config *c) {
    for (size_t i = 0; i < N_KEYS; i++)
        if (!strncmp(KEYS[i].key, "position.", 9) && strcmp(c->where[i], "default")) return 1;
    return 0;
}
#undef USES_L_O
#undef M
