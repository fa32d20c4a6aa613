// config.c — schema-driven YAML configuration (see config.h).
#define _POSIX_C_SOURCE 200809L
#include "config.h"
#include "../util/util.h"
#include "../util/ytree.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef enum { K_INT, K_FLOAT, K_STR, K_PAIR } KeyType;

// Key: one configurable leaf. Ranges are inclusive; choices is a '|' list for strings.
typedef struct {
    const char *key;
    KeyType type;
    size_t off;
    double lo, hi;
    const char *dflt;           // NULL: required (checked by the user of the key)
    const char *choices;
} Key;

#define F(field) offsetof(Config, field)
static const Key KEYS[] = {
    {"run.name", K_STR, F(run_name), 0, 0, "run", NULL},
    {"run.seed", K_INT, F(seed), 0, 9.0e15, "1337", NULL},
    {"run.threads", K_INT, F(threads), 0, 1024, "0", NULL},
    {"model.init_from", K_STR, F(init_from), 0, 0, "", NULL},
    {"data.train", K_STR, F(train_path), 0, 0, "", NULL},
    {"data.val", K_STR, F(val_path), 0, 0, "", NULL},
    {"train.seq_len", K_INT, F(seq_len), 1, 1 << 22, "512", NULL},
    {"train.batch_tokens", K_INT, F(batch_tokens), 1, 1ll << 32, "4096", NULL},
    {"train.micro_batch", K_INT, F(micro_batch), 0, 1 << 20, "0", NULL},
    {"train.max_steps", K_INT, F(max_steps), 0, 1e12, "200", NULL},
    {"train.optimizer.name", K_STR, F(optimizer), 0, 0, "adamw", "adamw"},
    {"train.optimizer.lr", K_FLOAT, F(lr), 0, 10, "3.0e-4", NULL},
    {"train.optimizer.betas", K_PAIR, F(beta1), 0, 0.999999, "[0.9, 0.95]", NULL},
    {"train.optimizer.eps", K_FLOAT, F(eps), 1e-30, 1, "1.0e-8", NULL},
    {"train.optimizer.weight_decay", K_FLOAT, F(weight_decay), 0, 10, "0.0", NULL},
    {"train.schedule.warmup_steps", K_INT, F(warmup_steps), 0, 1e12, "0", NULL},
    {"train.schedule.decay", K_STR, F(decay), 0, 0, "cosine", "cosine|linear|constant"},
    {"train.schedule.min_lr", K_FLOAT, F(min_lr), 0, 10, "0.0", NULL},
    {"train.grad_clip", K_FLOAT, F(grad_clip), 0, 1e9, "1.0", NULL},
    {"train.log_every", K_INT, F(log_every), 1, 1e12, "1", NULL},
    {"eval.every", K_INT, F(eval_every), 0, 1e12, "0", NULL},
    {"eval.max_tokens", K_INT, F(eval_max_tokens), 1, 1e15, "65536", NULL},
};
#undef F
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
    if (k->type == K_PAIR) {
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

static void walk(Config *c, YTree *t, yaml_node_t *map, const char *prefix) {
    if (map->type != YAML_MAPPING_NODE) yfail(t, map, "%s must be a mapping of keys", *prefix ? prefix : "the document");
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(&t->doc, p->key), *vn = yaml_document_get_node(&t->doc, p->value);
        char path[256], where[CFG_STR];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", yscalar(t, kn, "key"));
        int i = find_key(path);
        if (i >= 0) {
            snprintf(where, sizeof where, "%s:%zu:%zu", t->source, vn->start_mark.line + 1, vn->start_mark.column + 1);
            set_key(c, i, t, vn, where);
        } else if (is_section(path)) walk(c, t, vn, path);
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
        walk(c, &t, ytree_root(&t), "");
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
        YTree t;
        if (!eq[1]) die("--set %s: empty value", key);
        ytree_parse(&t, src, eq + 1, strlen(eq + 1));
        set_key(c, i, &t, ytree_root(&t), src);
        ytree_free(&t);
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

void config_write(const Config *c, const char *path) {
    FILE *f = xfopen(path, "w");
    char prev[256] = "";
    fprintf(f, "# resolved configuration of run '%s' (defaults, file and --set applied)\n", c->run_name);
    for (size_t i = 0; i < N_KEYS; i++) {
        const Key *k = &KEYS[i];
        const char *field = (const char *)c + k->off;
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
        if (k->type == K_INT) fprintf(f, "%lld\n", *(const long long *)field);
        else if (k->type == K_FLOAT) fprintf(f, "%.17g\n", *(const double *)field);
        else if (k->type == K_PAIR) fprintf(f, "[%.17g, %.17g]\n", ((const double *)field)[0], ((const double *)field)[1]);
        else {
            fputc('"', f);
            for (const char *q = field; *q; q++) fprintf(f, *q == '"' || *q == '\\' ? "\\%c" : "%c", *q);
            fputs("\"\n", f);
        }
        snprintf(prev, sizeof prev, "%s", k->key);
    }
    if (fclose(f) != 0) die("%s: write failed", path);
}
