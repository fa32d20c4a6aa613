// runlog.c — metrics.jsonl read back (see report.h), the EMA and axis ticks. Each line is
// one JSON object parsed with libyaml; the last line of a run still being written may lack
// its newline and is skipped.
#define _POSIX_C_SOURCE 200809L
#include "report.h"
#include "../util/util.h"
#include "../util/ytree.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double num(YTree *t, yaml_node_t *row, const char *key) {
    yaml_node_t *n = ymap_get(t, row, key);
    if (!n) yfail(t, row, "metrics row lacks '%s'", key);
    return ydouble(t, n, key);
}

// whole: the row's `key`, a whole number in [-hi, hi] (a count, a step, a length).
static long long whole(YTree *t, yaml_node_t *row, const char *key, double hi) {
    const double v = num(t, row, key);
    if (!(v >= -hi && v <= hi) || v != floor(v)) yfail(t, ymap_get(t, row, key), "'%s' must be a whole number in [-%.0f, %.0f]", key, hi, hi);
    return (long long)v;
}

// task_of: the row's "task": a NeedleTask, or NUM_NEEDLE_TASKS for "copy".
static int task_of(YTree *t, yaml_node_t *row) {
    yaml_node_t *n = ymap_get(t, row, "task");
    if (!n) yfail(t, row, "metrics row lacks 'task'");
    const char *name = yscalar(t, n, "task");
    const int task = strcmp(name, "copy") ? needle_task_find(name) : NUM_NEEDLE_TASKS;
    if (task < 0) yfail(t, n, "unknown task '%s'", name);
    return task;
}

static void parse_eval(YTree *t, yaml_node_t *row, EvalPoint *e) {
    e->step = whole(t, row, "step", 9e15);
    e->tokens = whole(t, row, "tokens", 9e15);
    e->seq_len = (int)whole(t, row, "seq_len", 2147483647.0);
    e->loss = num(t, row, "val_loss");
    yaml_node_t *b = ymap_get(t, row, "loss_by_position");
    e->n = 0;
    if (!b) return;
    if (b->type != YAML_SEQUENCE_NODE || yseq_len(b) > MAX_BUCKETS) yfail(t, b, "loss_by_position must be a list of at most %d buckets", MAX_BUCKETS);
    for (size_t i = 0; i < yseq_len(b); i++, e->n++) {
        yaml_node_t *k = yseq_at(t, b, i);
        e->from[i] = (int)whole(t, k, "from", 2147483647.0);
        e->to[i] = (int)whole(t, k, "to", 2147483647.0);
        e->bucket[i] = num(t, k, "loss");
    }
}

// parse_row: one complete line into r (by its "type").
static void parse_row(RunLog *r, const char *line, size_t len, const char *where) {
    YTree t;
    ytree_parse(&t, where, line, len);
    yaml_node_t *row = ytree_root(&t), *ty;
    if (row->type != YAML_MAPPING_NODE || !(ty = ymap_get(&t, row, "type"))) yfail(&t, row, "not a metrics row (a JSON object with \"type\")");
    const char *type = yscalar(&t, ty, "type");
    if (!strcmp(type, "train")) {
        r->train = xrealloc(r->train, (r->n_train + 1) * sizeof *r->train);
        r->train[r->n_train++] = (TrainPoint){whole(&t, row, "step", 9e15), whole(&t, row, "tokens", 9e15),
            (int)whole(&t, row, "stage", 2147483647.0), (int)whole(&t, row, "seq_len", 2147483647.0), num(&t, row, "loss"), num(&t, row, "lr"),
            num(&t, row, "grad_norm"), num(&t, row, "tokens_per_s"), num(&t, row, "elapsed_s")};
    } else if (!strcmp(type, "eval")) {
        r->eval = xrealloc(r->eval, (r->n_eval + 1) * sizeof *r->eval);
        parse_eval(&t, row, &r->eval[r->n_eval++]);
    } else if (!strcmp(type, "task") || !strcmp(type, "passkey")) {
        const int task = !strcmp(type, "passkey") ? NEEDLE_PASSKEY : task_of(&t, row);
        r->task = xrealloc(r->task, (r->n_task + 1) * sizeof *r->task);
        r->task[r->n_task++] = (TaskPoint){whole(&t, row, "step", 9e15), whole(&t, row, "tokens", 9e15), task,
            (int)whole(&t, row, "seq_len", 2147483647.0), (int)whole(&t, row, "trials", 2147483647.0), num(&t, row, "depth"), num(&t, row, "accuracy"),
            num(&t, row, "mean_rank")};
    } else if (!strcmp(type, "copy")) {
        r->copy = xrealloc(r->copy, (r->n_copy + 1) * sizeof *r->copy);
        r->copy[r->n_copy++] = (CopyPoint){whole(&t, row, "step", 9e15), (int)whole(&t, row, "distance", 2147483647.0),
                                           num(&t, row, "gap")};
    } else if (!strcmp(type, "effective_length")) {
        r->eff = xrealloc(r->eff, (r->n_eff + 1) * sizeof *r->eff);
        r->eff[r->n_eff++] = (EffPoint){whole(&t, row, "step", 9e15), task_of(&t, row), (int)whole(&t, row, "length", 2147483647.0)};
    }
    ytree_free(&t);
}

void runlog_parse(RunLog *r, const char *text, size_t len, const char *source) {
    size_t line_no = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        line_no++;
        if (!nl) {                                   // being written: not a row yet
            r->partial_line = 1;
            break;
        }
        size_t n = (size_t)(nl - (text + i));
        if (n) {
            char where[CFG_STR + 32];
            snprintf(where, sizeof where, "%s line %zu", source, line_no);
            parse_row(r, text + i, n, where);
        }
        i += n + 1;
    }
}

// scalar_at: the scalar at a dotted path of a YAML mapping, or NULL.
static const char *scalar_at(YTree *t, yaml_node_t *n, const char *path) {
    char key[64];
    while (n && n->type == YAML_MAPPING_NODE && *path) {
        size_t k = strcspn(path, ".");
        snprintf(key, sizeof key, "%.*s", (int)k, path);
        n = ymap_get(t, n, key);
        path += k + (path[k] == '.');
    }
    return n && !*path && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

// method_label: the position scheme of config.yaml in a few words, read leniently (a
// config of an older version still labels its run).
static void method_label(RunLog *r, const char *dir) {
    char *path = path_join(dir, "config.yaml");
    snprintf(r->method, sizeof r->method, "?");
    if (file_exists(path)) {
        size_t len;
        char *text = read_file(path, &len);
        YTree t;
        ytree_parse(&t, path, text, len);
        yaml_node_t *root = ytree_root(&t);
        const char *rope = scalar_at(&t, root, "position.rope"), *scaling = scalar_at(&t, root, "position.rope.scaling");
        const char *theta = scalar_at(&t, root, "position.rope.theta"), *bias = scalar_at(&t, root, "position.bias");
        const char *r0 = rope && !strcmp(rope, "off") ? "rope off" : scaling && strcmp(scaling, "none") ? scaling
                       : theta ? "abf" : "plain rope";
        if (bias && strcmp(bias, "none")) snprintf(r->method, sizeof r->method, "%.40s + %.40s", r0, bias);
        else snprintf(r->method, sizeof r->method, "%.40s", r0);
        ytree_free(&t);
        free(text);
    }
    free(path);
}

void runlog_read(RunLog *r, const char *dir) {
    memset(r, 0, sizeof *r);
    char *path = path_join(dir, "metrics.jsonl");
    if (!file_exists(path)) die("%s: no metrics.jsonl (not a run directory, or its run has not started)", dir);
    size_t len;
    char *text = read_file(path, &len);
    runlog_parse(r, text, len, path);
    if (!r->n_train && !r->n_eval) die("%s: no complete rows yet (the run has just started?)", path);
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    const char *base = dir + n;
    while (base > dir && base[-1] != '/') base--;
    snprintf(r->name, sizeof r->name, "%.*s", (int)(dir + n - base), base);
    method_label(r, dir);
    free(text);
    free(path);
}

void runlog_free(RunLog *r) {
    free(r->train);
    free(r->eval);
    free(r->task);
    free(r->eff);
    free(r->copy);
    memset(r, 0, sizeof *r);
}

void ema(const double *x, size_t n, double alpha, double *out) {
    double m = 0.0, w = 1.0;
    for (size_t i = 0; i < n; i++) {
        m = alpha * m + (1.0 - alpha) * x[i];
        w *= alpha;
        out[i] = w < 1.0 ? m / (1.0 - w) : x[i];
    }
}

// nice_num: a 1, 2, 5 or 10 x 10^k near x, rounded (round) or not below it.
static double nice_num(double x, int round) {
    double e = floor(log10(x)), f = x / pow(10.0, e), n;
    if (round) n = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
    else n = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return n * pow(10.0, e);
}

int pow2_ticks(double hi, int max_ticks, double *ticks) {
    double step = 1.0;
    while (step * (max_ticks - 1) < hi) step *= 2.0;
    int n = 0;
    for (double v = 0.0; v < hi + step && n < 64; v += step) ticks[n++] = v;
    return n;
}

int nice_ticks(double lo, double hi, int max_ticks, double *ticks) {
    if (!(hi > lo)) {                                  // one value: a unit range around it
        double d = lo != 0 ? fabs(lo) * 0.1 : 1.0;
        lo -= d;
        hi += d;
    }
    double step = nice_num((hi - lo) / (max_ticks - 1), 1);
    while ((floor(hi / step) - ceil(lo / step) + 3) > max_ticks) step = nice_num(step * 1.5, 0);
    double first = floor(lo / step) * step, last = ceil(hi / step) * step;
    int n = 0;
    for (double v = first; v <= last + step * 0.5 && n < 64; v += step) ticks[n++] = fabs(v) < step * 1e-9 ? 0.0 : v;
    return n;
}

int log_ticks(double lo, double hi, int max_ticks, double *ticks) {
    static const double M[3] = {1, 2, 5};
    int n = 0, e0 = (int)floor(log10(lo)), e1 = (int)ceil(log10(hi));
    for (int pass = 0; pass < 2; pass++) {            // pass 1: decades only
        n = 0;
        for (int e = e0; e <= e1 && n < 64; e++)
            for (int k = 0; k < (pass ? 1 : 3) && n < 64; k++) {
                double v = M[k] * pow(10.0, e);
                if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks[n++] = v;
            }
        if (n <= max_ticks) break;
    }
    if (n >= 2) return n;
    double lin[64];                                   // a narrow range: round linear values inside it
    int m = nice_ticks(lo, hi, max_ticks, lin);
    n = 0;
    for (int i = 0; i < m; i++) if (lin[i] >= lo * (1 - 1e-9) && lin[i] <= hi * (1 + 1e-9)) ticks[n++] = lin[i];
    return n;
}

void fmt_count(double v, char *buf, size_t cap) {
    static const char *const BIN[] = {"", "K", "M", "G", "T"}, *const DEC[] = {"", "k", "M", "G", "T"};
    int u = 0;
    double a = fabs(v);
    while (u < 4 && a >= 1024.0 && fmod(a / 256.0, 1.0) == 0.0) a /= 1024.0, u++;
    if (u || a < 1000.0) {                            // quarters of 1024^u: 4096 -> 4K, 1.5 x 2^20 -> 1.5M
        snprintf(buf, cap, "%s%.4g%s", v < 0 ? "-" : "", a, BIN[u]);
        return;
    }
    while (u < 4 && a >= 1000.0) a /= 1000.0, u++;
    snprintf(buf, cap, "%s%.3g%s", v < 0 ? "-" : "", a, DEC[u]);
}

void fmt_bucket(int from, int to, char *buf, size_t cap) {
    char a[16], b[16];
    fmt_count(from, a, sizeof a);
    fmt_count(to, b, sizeof b);
    snprintf(buf, cap, "%s\xe2\x80\x93%s", a, b);   // an en dash
}

void fmt_tick(double v, double step, char *buf, size_t cap) {
    int digits = step > 0 && step < 1 ? (int)ceil(-log10(step) - 1e-9) : 0;
    snprintf(buf, cap, "%.*f", digits, v);
}

const EvalPoint *runlog_latest_eval(const RunLog *r) {
    const EvalPoint *best = NULL;
    for (size_t i = 0; i < r->n_eval; i++)
        if (!best || r->eval[i].seq_len > best->seq_len || (r->eval[i].seq_len == best->seq_len && r->eval[i].step >= best->step))
            best = &r->eval[i];
    return best;
}

int runlog_task(const RunLog *r, int task, int *lens, double *acc) {
    const TaskPoint *cell[MAX_LIST * MAX_LIST];
    const int n = runlog_task_cells(r, task, cell, MAX_LIST * MAX_LIST);
    int k = 0;
    double trials[MAX_LIST] = {0};
    for (int i = 0; i < n; i++) {
        const TaskPoint *p = cell[i];
        int j = 0;
        while (j < k && lens[j] != p->seq_len) j++;
        if (j == k) {
            if (k == MAX_LIST) continue;
            lens[k] = p->seq_len, acc[k] = 0.0, k++;
        }
        acc[j] += p->accuracy * p->trials;
        trials[j] += p->trials;
    }
    for (int j = 0; j < k; j++) acc[j] = trials[j] > 0 ? acc[j] / trials[j] : 0.0;
    return k;
}

int runlog_task_cells(const RunLog *r, int task, const TaskPoint **out, int cap) {
    long long last = -1;
    int k = 0;
    for (size_t i = 0; i < r->n_task; i++)
        if (r->task[i].task == task && r->task[i].step > last) last = r->task[i].step;
    for (size_t i = 0; i < r->n_task && k < cap; i++)
        if (r->task[i].task == task && r->task[i].step == last) out[k++] = &r->task[i];
    return k;
}

int runlog_copy(const RunLog *r, int *dist, double *gap) {
    long long last = -1;
    int k = 0;
    for (size_t i = 0; i < r->n_copy; i++) last = r->copy[i].step > last ? r->copy[i].step : last;
    for (size_t i = 0; i < r->n_copy && k < MAX_LIST; i++)
        if (r->copy[i].step == last) dist[k] = r->copy[i].dist, gap[k++] = r->copy[i].gap;
    return k;
}

int runlog_effective(const RunLog *r, int task) {
    int len = -1;
    long long last = -1;
    for (size_t i = 0; i < r->n_eff; i++)
        if (r->eff[i].task == task && r->eff[i].step >= last) last = r->eff[i].step, len = r->eff[i].length;
    return len;
}

void fmt_duration(double seconds, char *buf, size_t cap) {
    long t = (long)(seconds + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}
