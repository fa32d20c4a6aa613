// compare.c — `train compare RUN_DIR... [--out FILE.svg] [--metric loss|val_loss]
// [--x tokens|steps] [--log-y] [--smooth A]`: the SVG chart (svg.c), a compact chart in
// the terminal (Unicode braille, coloured on a TTY) and a Markdown table per run.
#define _POSIX_C_SOURCE 200809L
#include "report.h"
#include "../util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TW 64          // terminal chart: columns
#define TH 14          // and rows; each cell holds 2 x 4 braille dots

// ANSI 256-colour approximations of the SVG palette, in the same order.
static const int ANSI[] = {67, 208, 167, 73, 71, 221, 139, 211, 137, 249, 38, 100};

// Canvas: braille dots and, per cell, the run that drew there last (-1: none).
typedef struct {
    unsigned char dots[TH][TW];
    int owner[TH][TW];
} Canvas;

static void dot(Canvas *c, int x, int y, int run) {
    static const unsigned char BIT[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}};
    if (x < 0 || y < 0 || x >= 2 * TW || y >= 4 * TH) return;
    c->dots[y / 4][x / 2] |= BIT[y % 4][x % 2];
    c->owner[y / 4][x / 2] = run;
}

// segment: dots from (x0, y0) to (x1, y1) in dot coordinates.
static void segment(Canvas *c, double x0, double y0, double x1, double y1, int run) {
    int steps = (int)fmax(fabs(x1 - x0), fabs(y1 - y0)) + 1;
    for (int s = 0; s <= steps; s++) {
        double t = (double)s / steps;
        dot(c, (int)lround(x0 + t * (x1 - x0)), (int)lround(y0 + t * (y1 - y0)), run);
    }
}

// series: the curve of run r drawn in the terminal: the smoothed training loss, or the
// val loss at the run's longest eval length. Returns how many points.
static size_t series(const RunLog *r, const ChartOptions *o, double *x, double *y) {
    size_t k = 0;
    if (o->val_metric) {
        const EvalPoint *last = runlog_latest_eval(r);
        for (size_t j = 0; last && j < r->n_eval; j++)
            if (r->eval[j].seq_len == last->seq_len)
                x[k] = o->x_steps ? (double)r->eval[j].step : (double)r->eval[j].tokens, y[k++] = r->eval[j].loss;
        return k;
    }
    for (size_t j = 0; j < r->n_train; j++)
        x[k] = o->x_steps ? (double)r->train[j].step : (double)r->train[j].tokens, y[k++] = r->train[j].loss;
    ema(y, k, o->smooth, y);
    return k;
}

static void put_cell(const Canvas *c, int row, int col, int color) {
    unsigned b = c->dots[row][col];
    int run = c->owner[row][col];
    if (!b) {
        putchar(' ');
        return;
    }
    if (color) printf("\033[38;5;%dm", ANSI[run % (int)(sizeof ANSI / sizeof ANSI[0])]);
    printf("%c%c%c", 0xE2, 0xA0 + (b >> 6), 0x80 + (b & 0x3F));
    if (color) printf("\033[0m");
}

static void terminal_chart(const RunLog *r, size_t n, const ChartOptions *o, int color) {
    Canvas *c = xcalloc(1, sizeof *c);
    double xmax = 1.0, lo = INFINITY, hi = -INFINITY;
    size_t cap = 1;
    for (size_t i = 0; i < n; i++) cap = r[i].n_train + r[i].n_eval > cap ? r[i].n_train + r[i].n_eval : cap;
    double *x = xmalloc(cap * sizeof *x), *y = xmalloc(cap * sizeof *y);
    for (size_t i = 0; i < n; i++) {
        size_t k = series(&r[i], o, x, y);
        for (size_t j = 0; j < k; j++) xmax = fmax(xmax, x[j]), lo = fmin(lo, y[j]), hi = fmax(hi, y[j]);
    }
    if (!(lo < hi)) lo -= 0.5, hi += 0.5;
    int *end_row = xmalloc((n + 1) * sizeof *end_row), *end_col = xmalloc((n + 1) * sizeof *end_col);
    for (int row = 0; row < TH; row++) for (int col = 0; col < TW; col++) c->owner[row][col] = -1;
    for (size_t i = 0; i < n; i++) {
        size_t k = series(&r[i], o, x, y);
        end_col[i] = k ? (int)(x[k - 1] / xmax * (TW - 1)) : -1;     // where the curve ends: its number goes there
        end_row[i] = k ? (int)lround((hi - y[k - 1]) / (hi - lo) * (TH - 1)) : -1;
        for (size_t j = 0; j < k; j++) {
            double X = x[j] / xmax * (2 * TW - 1), Y = (hi - y[j]) / (hi - lo) * (4 * TH - 1);
            if (j) segment(c, x[j - 1] / xmax * (2 * TW - 1), (hi - y[j - 1]) / (hi - lo) * (4 * TH - 1), X, Y, (int)i);
            else dot(c, (int)lround(X), (int)lround(Y), (int)i);
        }
    }
    printf("%s vs %s, %s\n", o->val_metric ? "val loss (longest eval length)" : "training loss (EMA)",
           o->x_steps ? "steps" : "tokens", color ? "one colour per run (see the table)" : "run number at each curve's end");
    for (int row = 0; row < TH; row++) {
        double v = hi - (hi - lo) * row / (TH - 1);
        if (row == 0 || row == TH - 1 || row == TH / 2) printf("%7.3f \u2524", v);
        else printf("        \u2502");
        for (int col = 0; col < TW; col++) {
            int label = -1;
            for (size_t i = 0; i < n && !color; i++) if (end_col[i] == col && end_row[i] == row) label = (int)i;
            if (label >= 0) printf("%d", (label + 1) % 10);
            else put_cell(c, row, col, color);
        }
        putchar('\n');
    }
    char a[16];
    fmt_count(xmax, a, sizeof a);
    printf("        \u2514");
    for (int col = 0; col < TW; col++) printf("\u2500");
    printf("\n        0%*s\n", TW, a);
    free(end_row);
    free(end_col);
    free(x);
    free(y);
    free(c);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// retrieval_cell: per needle task its latest accuracy per length and effective length
// ("passkey 512: 90%, 4K: 20% (eff 512)"), then copy's effective distance.
static void retrieval_cell(const RunLog *q, char *out, size_t cap) {
    size_t m = 0;
    char a[32];
    for (int t = 0; t < NUM_NEEDLE_TASKS; t++) {
        int lens[MAX_LIST];
        double acc[MAX_LIST];
        const int k = runlog_task(q, t, lens, acc), eff = runlog_effective(q, t);
        if (!k) continue;
        appendf(out, cap, &m, "%s%s ", m ? "; " : "", needle_task_name(t));
        for (int j = 0; j < k; j++) {
            fmt_count(lens[j], a, sizeof a);
            appendf(out, cap, &m, "%s%s: %.0f%%", j ? ", " : "", a, 100.0 * acc[j]);
        }
        if (eff > 0) appendf(out, cap, &m, " (eff %d)", eff);
        else if (eff == 0) appendf(out, cap, &m, " (eff none)");
    }
    const int copy = runlog_effective(q, NUM_NEEDLE_TASKS);
    if (copy > 0) appendf(out, cap, &m, "%scopy eff %d", m ? "; " : "", copy);
    else if (copy == 0) appendf(out, cap, &m, "%scopy eff none", m ? "; " : "");
    if (!m) snprintf(out, cap, "\u2013");
}

// table: one Markdown row per run.
static void table(const RunLog *r, size_t n, double smooth) {
    printf("| # | run | method | final loss (EMA) | best val loss | loss 0\u2013256 | last bucket | retrieval (latest, effective length) | tokens | wall time | tokens/s |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < n; i++) {
        const RunLog *q = &r[i];
        char fin[32] = "\u2013", best[48] = "\u2013", first[48] = "\u2013", last[64] = "\u2013", pk[512];
        char tok[16] = "\u2013", wall[32] = "\u2013", tps[32] = "\u2013", a[32];
        if (q->n_train) {
            double *x = xmalloc(q->n_train * sizeof *x), *y = xmalloc(q->n_train * sizeof *y);
            for (size_t j = 0; j < q->n_train; j++) x[j] = q->train[j].loss, y[j] = q->train[j].tokens_per_s;
            ema(x, q->n_train, smooth, x);
            qsort(y, q->n_train, sizeof *y, cmp_double);
            snprintf(fin, sizeof fin, "%.4f", x[q->n_train - 1]);
            snprintf(tps, sizeof tps, "%.0f", y[q->n_train / 2]);
            fmt_count((double)q->train[q->n_train - 1].tokens, tok, sizeof tok);
            fmt_duration(q->train[q->n_train - 1].elapsed_s, wall, sizeof wall);
            free(x);
            free(y);
        }
        const EvalPoint *e = runlog_latest_eval(q);
        if (e) {
            double lo = INFINITY;
            for (size_t j = 0; j < q->n_eval; j++) if (q->eval[j].seq_len == e->seq_len) lo = fmin(lo, q->eval[j].loss);
            snprintf(best, sizeof best, "%.4f at T %d", lo, e->seq_len);
        }
        if (e && e->n) {
            fmt_bucket(e->from[0], e->to[0], a, sizeof a);
            if (e->from[0] == 0 && e->to[0] == 256) snprintf(first, sizeof first, "%.4f", e->bucket[0]);
            else snprintf(first, sizeof first, "%.4f (%s)", e->bucket[0], a);
            fmt_bucket(e->from[e->n - 1], e->to[e->n - 1], a, sizeof a);
            snprintf(last, sizeof last, "%.4f (%s)", e->bucket[e->n - 1], a);
        }
        retrieval_cell(q, pk, sizeof pk);
        printf("| %zu | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", i + 1, q->name, q->method, fin, best, first,
               last, pk, tok, wall, tps);
    }
}

// text_heatmap: run q's latest round of `task` as rows of lengths and columns of depths,
// each cell a shade (░ ▒ ▓ █ by quarters of accuracy) and the accuracy in percent.
static void text_heatmap(const RunLog *q, int task) {
    static const char *const SHADE[] = {"  ", "\u2591\u2591", "\u2592\u2592", "\u2593\u2593", "\u2588\u2588"};
    const TaskPoint *c[MAX_LIST * MAX_LIST];
    const int k = runlog_task_cells(q, task, c, MAX_LIST * MAX_LIST);
    int nd = 0;
    while (nd < k && c[nd]->seq_len == c[0]->seq_len) nd++;
    printf("  %s (rows: length, columns: depth)\n  %8s", needle_task_name(task), "");
    for (int d = 0; d < nd; d++) printf(" %7g", c[d]->depth);
    for (int j = 0; j < k; j++) {
        if (j % nd == 0) printf("\n  %8d", c[j]->seq_len);
        const double a = c[j]->accuracy;
        printf(" %s %3.0f%%", SHADE[a <= 0 ? 0 : a < 0.25 ? 1 : a < 0.5 ? 2 : a < 0.75 ? 3 : 4], 100.0 * a);
    }
    printf("\n");
}

// text_retrieval: each run's needle heatmaps and copy gaps by distance, when it has them.
static void text_retrieval(const RunLog *r, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int dist[MAX_LIST], lens[MAX_LIST], any = 0;
        double gap[MAX_LIST], acc[MAX_LIST];
        for (int t = 0; t < NUM_NEEDLE_TASKS; t++) any |= runlog_task(&r[i], t, lens, acc) > 0;
        const int nc = runlog_copy(&r[i], dist, gap);
        if (!any && !nc) continue;
        printf("\n%zu. %s, retrieval (latest round):\n", i + 1, r[i].name);
        for (int t = 0; t < NUM_NEEDLE_TASKS; t++)
            if (runlog_task(&r[i], t, lens, acc)) text_heatmap(&r[i], t);
        if (nc) printf("  copy gap (nats) by distance:");
        for (int j = 0; j < nc; j++) printf(" %d %.3f", dist[j], gap[j]);
        if (nc) printf("\n");
    }
}

static const char *USAGE_COMPARE =
    "usage: train compare RUN_DIR... [--out FILE.svg] [--metric loss|val_loss] [--x tokens|steps] [--log-y] [--smooth A]";

int compare_main(int argc, char **argv) {
    ChartOptions o = {0, 0, 0, 0.9};
    const char *out = NULL;
    char **dirs = xmalloc(((size_t)argc + 1) * sizeof *dirs);
    size_t n = 0;
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] != '-') {
            dirs[n++] = argv[i];
            continue;
        }
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("%s\n", USAGE_COMPARE);
            free(dirs);
            return 0;
        }
        if (!strcmp(argv[i], "--log-y")) {
            o.log_y = 1;
            continue;
        }
        if (i + 1 >= argc) die("%s needs a value (%s)", argv[i], USAGE_COMPARE);
        const char *v = argv[++i];
        if (!strcmp(argv[i - 1], "--out")) out = v;
        else if (!strcmp(argv[i - 1], "--metric") && (!strcmp(v, "loss") || !strcmp(v, "val_loss"))) o.val_metric = !strcmp(v, "val_loss");
        else if (!strcmp(argv[i - 1], "--x") && (!strcmp(v, "tokens") || !strcmp(v, "steps"))) o.x_steps = !strcmp(v, "steps");
        else if (!strcmp(argv[i - 1], "--smooth") && parse_double(v, &o.smooth) == 0 && o.smooth >= 0 && o.smooth < 1) continue;
        else die("%s %s: not an option or value of compare (%s)", argv[i - 1], v, USAGE_COMPARE);
    }
    if (!n) die("%s", USAGE_COMPARE);
    RunLog *r = xcalloc(n, sizeof *r);
    for (size_t i = 0; i < n; i++) runlog_read(&r[i], dirs[i]);
    char *own = n == 1 && !out ? path_join(dirs[0], "report.svg") : NULL;
    const char *path = out ? out : own ? own : "compare.svg";
    FILE *f = xfopen(path, "w");
    svg_report(f, r, n, &o);
    if (fclose(f) != 0) die("%s: write failed", path);
    terminal_chart(r, n, &o, isatty(STDOUT_FILENO));
    putchar('\n');
    table(r, n, o.smooth);
    text_retrieval(r, n);
    for (size_t i = 0; i < n; i++)
        if (r[i].partial_line) printf("note: %s is still being written; its last, incomplete line was skipped\n", r[i].name);
    printf("wrote %s\n", path);
    for (size_t i = 0; i < n; i++) runlog_free(&r[i]);
    free(r);
    free(own);
    free(dirs);
    return 0;
}
