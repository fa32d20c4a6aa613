// svg.c — the comparison chart as SVG, written directly (no plotting dependency).
// Layout (1100 x 1110): the curves panel on top with the legend at its right, outside the
// data; below it, loss by position bucket (left) and retrieval accuracy (right); at the
// bottom, copy by distance (left) and a needle heatmap per run (right).
#include "report.h"
#include "../util/fs.h"
#include "../util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define W 1100
#define H 1110
#define MAX_LENS 8

// Tableau 10 (distinct on white, and for most colour-vision deficiencies), then two more.
static const char *const COLORS[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
                                     "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac", "#17becf", "#8c8c00"};
#define NCOLORS (sizeof COLORS / sizeof COLORS[0])

// Panel: a plot area (pixels) and the data range it shows.
typedef struct {
    double x0, y0, w, h;
    double xlo, xhi, ylo, yhi;
    int log_y;
} Panel;

static double px(const Panel *p, double x) { return p->x0 + (x - p->xlo) / (p->xhi - p->xlo) * p->w; }

static double py(const Panel *p, double y) {
    double f = p->log_y ? (log10(y) - log10(p->ylo)) / (log10(p->yhi) - log10(p->ylo)) : (y - p->ylo) / (p->yhi - p->ylo);
    return p->y0 + p->h * (1.0 - f);
}

static void text(FILE *f, double x, double y, const char *anchor, const char *style, const char *s) {
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s%s>", x, y, anchor, *style ? " " : "", style);
    for (; *s; s++) {
        if (*s == '&') fputs("&amp;", f);
        else if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else fputc(*s, f);
    }
    fputs("</text>\n", f);
}

static void line(FILE *f, double x1, double y1, double x2, double y2, const char *style) {
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" %s/>\n", x1, y1, x2, y2, style);
}

// polyline: the points (x[i], y[i]) of a series, within the panel's clip path `clip`.
static void polyline(FILE *f, const Panel *p, const double *x, const double *y, size_t n, const char *clip, const char *style) {
    if (!n) return;
    fprintf(f, "<polyline clip-path=\"url(#%s)\" fill=\"none\" %s points=\"", clip, style);
    for (size_t i = 0; i < n; i++) fprintf(f, "%s%.1f,%.1f", i ? " " : "", px(p, x[i]), py(p, y[i]));
    fputs("\"/>\n", f);
}

// marker: shape k (circle, square, triangle, diamond) centred at (x, y).
static void marker(FILE *f, int k, double x, double y, const char *fill) {
    const char *st = "stroke=\"white\" stroke-width=\"1\"";
    switch (k % 4) {
    case 0: fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\" %s/>\n", x, y, fill, st); break;
    case 1: fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"8\" height=\"8\" fill=\"%s\" %s/>\n", x - 4, y - 4, fill, st); break;
    case 2: fprintf(f, "<path d=\"M%.1f,%.1f l5,9 h-10 z\" fill=\"%s\" %s/>\n", x, y - 5, fill, st); break;
    default: fprintf(f, "<path d=\"M%.1f,%.1f l5,5 l-5,5 l-5,-5 z\" fill=\"%s\" %s/>\n", x, y - 5, fill, st); break;
    }
}

// axes: grid, ticks and labels of a panel (y ticks given; x ticks given or categorical),
// its clip path `clip`, and the axis titles.
static void axes(FILE *f, const Panel *p, const double *xt, int nx, const double *yt, int ny, int x_counts,
                 const char *xtitle, const char *ytitle, const char *clip) {
    char buf[32];
    fprintf(f, "<clipPath id=\"%s\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/></clipPath>\n", clip, p->x0,
            p->y0, p->w, p->h);
    for (int i = 0; i < ny; i++) {
        double y = py(p, yt[i]);
        line(f, p->x0, y, p->x0 + p->w, y, "stroke=\"#e6e6e6\"");
        if (p->log_y) snprintf(buf, sizeof buf, "%g", yt[i]);
        else fmt_tick(yt[i], ny > 1 ? yt[1] - yt[0] : 1.0, buf, sizeof buf);
        text(f, p->x0 - 6, y + 4, "end", "fill=\"#444\"", buf);
    }
    for (int i = 0; i < nx; i++) {
        double x = px(p, xt[i]);
        line(f, x, p->y0, x, p->y0 + p->h, "stroke=\"#f0f0f0\"");
        if (x_counts) fmt_count(xt[i], buf, sizeof buf);
        else fmt_tick(xt[i], nx > 1 ? xt[1] - xt[0] : 1.0, buf, sizeof buf);
        text(f, x, p->y0 + p->h + 16, "middle", "fill=\"#444\"", buf);
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#888\"/>\n", p->x0, p->y0, p->w, p->h);
    text(f, p->x0 + p->w / 2, p->y0 + p->h + 36, "middle", "fill=\"#222\"", xtitle);
    fprintf(f, "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" text-anchor=\"middle\" fill=\"#222\">%s</text>\n",
            p->x0 - 48, p->y0 + p->h / 2, ytitle);
}

// add_sorted: x into the sorted distinct v[0..*n) with room for cap; returns where it went,
// or -1 when it was there already or v is full.
static int add_sorted(int *v, int *n, int cap, int x) {
    int at = 0;
    while (at < *n && v[at] < x) at++;
    if ((at < *n && v[at] == x) || *n == cap) return -1;
    memmove(v + at + 1, v + at, (size_t)(*n - at) * sizeof *v);
    v[at] = x;
    (*n)++;
    return at;
}

// eval_lengths: the sorted distinct eval lengths of the runs (at most MAX_LENS).
static int eval_lengths(const RunLog *r, size_t n, int *lens) {
    int k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < r[i].n_eval; j++) add_sorted(lens, &k, MAX_LENS, r[i].eval[j].seq_len);
    return k;
}

static int len_index(const int *lens, int k, int T) {
    for (int i = 0; i < k; i++) if (lens[i] == T) return i;
    return 0;
}

static double xval(const ChartOptions *o, long long step, long long tokens) { return o->x_steps ? (double)step : (double)tokens; }

// y_axis: ticks for [lo, hi], setting the panel's y range.
static int y_axis(Panel *p, double lo, double hi, int max_ticks, double *ticks) {
    if (!(lo <= hi)) lo = 0.0, hi = 1.0;
    if (p->log_y) {
        p->ylo = lo * 0.97;
        p->yhi = hi * 1.03;
        return log_ticks(p->ylo, p->yhi, max_ticks, ticks);
    }
    int n = nice_ticks(lo, hi, max_ticks, ticks);
    p->ylo = ticks[0];
    p->yhi = ticks[n - 1];
    return n;
}

// stage_bounds: x of each stage start after the first (the last row of the stage
// before) and its seq_len; returns how many.
static int stage_bounds(const RunLog *r, const ChartOptions *o, double *x, int *T) {
    int k = 0;
    for (size_t i = 1; i < r->n_train && k < MAX_STAGES; i++)
        if (r->train[i].stage != r->train[i - 1].stage) {
            x[k] = xval(o, r->train[i - 1].step, r->train[i - 1].tokens);
            T[k++] = r->train[i].seq_len;
        }
    return k;
}

static void draw_bounds(FILE *f, const Panel *p, const RunLog *r, size_t n, const ChartOptions *o) {
    double x0[MAX_STAGES], x[MAX_STAGES];
    int T0[MAX_STAGES], T[MAX_STAGES], k0 = stage_bounds(&r[0], o, x0, T0), shared = 1;
    for (size_t i = 1; i < n && shared; i++) {
        int k = stage_bounds(&r[i], o, x, T);
        shared = k == k0;
        for (int j = 0; j < k && shared; j++) shared = T[j] == T0[j] && fabs(x[j] - x0[j]) <= 1e-6 * (p->xhi - p->xlo);
    }
    char label[32], stroke[96], fill[64];
    for (size_t i = 0; i < (shared ? 1 : n); i++) {      // shared: once, in grey; else per run
        int k = stage_bounds(&r[i], o, x, T);
        const char *c = shared ? "#777" : COLORS[i % NCOLORS];
        snprintf(stroke, sizeof stroke, "stroke=\"%s\" stroke-dasharray=\"5,4\"%s", c, shared ? "" : " stroke-opacity=\"0.6\"");
        snprintf(fill, sizeof fill, "fill=\"%s\" font-size=\"10\"", c);
        for (int j = 0; j < k; j++) {
            double X = px(p, x[j]);
            line(f, X, p->y0, X, p->y0 + p->h, stroke);
            snprintf(label, sizeof label, "T %d", T[j]);
            text(f, X + 3, p->y0 + 12 + 11 * (double)(shared ? 0 : i), "start", fill, label);
        }
    }
}

// curves: training loss (raw and EMA) or val loss per eval length, against tokens or steps.
static void curves(FILE *f, const RunLog *r, size_t n, const ChartOptions *o, const int *lens, int nl) {
    Panel p = {80, 60, 740, 380, 0, 1, 0, 1, o->log_y};
    double xmax = 1.0, lo = INFINITY, hi = -INFINITY, xt[64], yt[64];
    double **sm = xcalloc(n, sizeof *sm);
    for (size_t i = 0; i < n; i++) {
        const RunLog *q = &r[i];
        double *raw = xmalloc((q->n_train + 1) * sizeof *raw);
        sm[i] = xmalloc((q->n_train + 1) * sizeof **sm);
        for (size_t j = 0; j < q->n_train; j++) raw[j] = q->train[j].loss;
        ema(raw, q->n_train, o->smooth, sm[i]);
        for (size_t j = 0; j < q->n_train; j++) {
            xmax = fmax(xmax, xval(o, q->train[j].step, q->train[j].tokens));
            if (!o->val_metric) lo = fmin(lo, sm[i][j]), hi = fmax(hi, sm[i][j]);
        }
        for (size_t j = 0; j < q->n_eval; j++) {
            xmax = fmax(xmax, xval(o, q->eval[j].step, q->eval[j].tokens));
            lo = fmin(lo, q->eval[j].loss), hi = fmax(hi, q->eval[j].loss);
        }
        free(raw);
    }
    int nx = o->x_steps ? nice_ticks(0.0, xmax, 8, xt) : pow2_ticks(xmax, 9, xt), ny = y_axis(&p, lo, hi, 10, yt);
    p.xhi = xt[nx - 1];
    axes(f, &p, xt, nx, yt, ny, !o->x_steps, o->x_steps ? "optimizer step" : "training tokens seen",
         o->val_metric ? "validation loss (nats/token)" : "training loss (nats/token)", "clip-curves");
    draw_bounds(f, &p, r, n, o);
    char style[128];
    for (size_t i = 0; i < n; i++) {
        const RunLog *q = &r[i];
        const char *c = COLORS[i % NCOLORS];
        double *x = xmalloc((q->n_train + q->n_eval + 1) * sizeof *x), *y = xmalloc((q->n_train + q->n_eval + 1) * sizeof *y);
        for (size_t j = 0; j < q->n_train; j++) x[j] = xval(o, q->train[j].step, q->train[j].tokens), y[j] = q->train[j].loss;
        if (!o->val_metric) {
            snprintf(style, sizeof style, "stroke=\"%s\" stroke-width=\"1\" stroke-opacity=\"0.25\"", c);
            polyline(f, &p, x, y, q->n_train, "clip-curves", style);
            snprintf(style, sizeof style, "stroke=\"%s\" stroke-width=\"2.2\"", c);
            polyline(f, &p, x, sm[i], q->n_train, "clip-curves", style);
        }
        for (int L = 0; L < nl && o->val_metric; L++) {     // one dashed line per eval length
            size_t k = 0;
            for (size_t j = 0; j < q->n_eval; j++)
                if (q->eval[j].seq_len == lens[L]) x[k] = xval(o, q->eval[j].step, q->eval[j].tokens), y[k++] = q->eval[j].loss;
            snprintf(style, sizeof style, "stroke=\"%s\" stroke-width=\"1.8\"%s", c, L ? " stroke-dasharray=\"6,3\"" : "");
            polyline(f, &p, x, y, k, "clip-curves", style);
        }
        for (size_t j = 0; j < q->n_eval; j++)
            marker(f, len_index(lens, nl, q->eval[j].seq_len), px(&p, xval(o, q->eval[j].step, q->eval[j].tokens)),
                   py(&p, q->eval[j].loss), c);
        free(x);
        free(y);
        free(sm[i]);
    }
    free(sm);
}

// legend: to the right of the curves panel: runs, line styles, markers, boundaries.
static void legend(FILE *f, const RunLog *r, size_t n, const ChartOptions *o, const int *lens, int nl) {
    double x = 840, y = 72;
    char s[CFG_STR + 128], style[64];
    text(f, x, y, "start", "font-weight=\"bold\" fill=\"#222\"", "runs");
    for (size_t i = 0; i < n && i < 14; i++) {
        y += 19;
        snprintf(style, sizeof style, "stroke=\"%s\" stroke-width=\"3\"", COLORS[i % NCOLORS]);
        line(f, x, y - 4, x + 22, y - 4, style);
        snprintf(s, sizeof s, "%s (%s)", r[i].name, r[i].method);
        text(f, x + 28, y, "start", "font-size=\"11\" fill=\"#222\"", s);
    }
    y += 30;
    if (!o->val_metric) {
        line(f, x, y - 4, x + 22, y - 4, "stroke=\"#555\" stroke-width=\"1\" stroke-opacity=\"0.3\"");
        text(f, x + 28, y, "start", "font-size=\"11\" fill=\"#444\"", "training loss per step");
        y += 18;
        line(f, x, y - 4, x + 22, y - 4, "stroke=\"#555\" stroke-width=\"2.2\"");
        snprintf(s, sizeof s, "smoothed (EMA %.2f)", o->smooth);
        text(f, x + 28, y, "start", "font-size=\"11\" fill=\"#444\"", s);
        y += 18;
    }
    for (int L = 0; L < nl; L++, y += 18) {
        marker(f, L, x + 11, y - 4, "#555");
        if (o->val_metric && L) line(f, x, y - 4, x + 22, y - 4, "stroke=\"#555\" stroke-dasharray=\"6,3\"");
        snprintf(s, sizeof s, "val loss at T = %d", lens[L]);
        text(f, x + 28, y, "start", "font-size=\"11\" fill=\"#444\"", s);
    }
    line(f, x + 11, y - 12, x + 11, y + 2, "stroke=\"#777\" stroke-dasharray=\"5,4\"");
    text(f, x + 28, y, "start", "font-size=\"11\" fill=\"#444\"", "curriculum stage boundary");
}

// buckets: loss by position bucket in each run's latest eval at its longest length.
static void buckets(FILE *f, const RunLog *r, size_t n) {
    Panel p = {80, 540, 430, 200, 0, 1, 0, 1, 0};
    int from[MAX_BUCKETS], to[MAX_BUCKETS], nc = 0, same_T = 1, T = 0;
    double lo = INFINITY, hi = -INFINITY, yt[64], x[MAX_BUCKETS], y[MAX_BUCKETS];
    for (size_t i = 0; i < n; i++) {
        const EvalPoint *e = runlog_latest_eval(&r[i]);
        if (!e) continue;
        same_T = same_T && (!T || T == e->seq_len);
        T = e->seq_len;
        for (int j = 0; j < e->n; j++) {
            lo = fmin(lo, e->bucket[j]), hi = fmax(hi, e->bucket[j]);
            int at = add_sorted(from, &nc, MAX_BUCKETS, e->from[j]);    // buckets are keyed by their start
            if (at < 0) continue;
            memmove(to + at + 1, to + at, (size_t)(nc - 1 - at) * sizeof *to);
            to[at] = e->to[j];
        }
    }
    char title[96], label[40], style[96];
    if (same_T && T) snprintf(title, sizeof title, "loss by position, latest eval at T = %d", T);
    else snprintf(title, sizeof title, "loss by position, latest eval at each run's longest length");
    text(f, p.x0, p.y0 - 12, "start", "font-weight=\"bold\" fill=\"#222\"", title);
    int ny = y_axis(&p, lo, hi, 7, yt);
    p.xlo = -0.5, p.xhi = nc > 0 ? nc - 0.5 : 0.5;
    axes(f, &p, NULL, 0, yt, ny, 0, "positions in the window (tokens)", "val loss (nats/token)", "clip-buckets");
    for (int c = 0; c < nc; c++) {
        fmt_bucket(from[c], to[c], label, sizeof label);
        text(f, px(&p, c), p.y0 + p.h + 16, "middle", "font-size=\"11\" fill=\"#444\"", label);
    }
    for (size_t i = 0; i < n; i++) {
        const EvalPoint *e = runlog_latest_eval(&r[i]);
        int k = 0;
        for (int c = 0; e && c < nc; c++)
            for (int j = 0; j < e->n; j++) if (e->from[j] == from[c] && e->to[j] == to[c]) x[k] = c, y[k++] = e->bucket[j];
        snprintf(style, sizeof style, "stroke=\"%s\" stroke-width=\"2\"", COLORS[i % NCOLORS]);
        polyline(f, &p, x, y, (size_t)k, "clip-buckets", style);
        for (int j = 0; j < k; j++) marker(f, 0, px(&p, x[j]), py(&p, y[j]), COLORS[i % NCOLORS]);
    }
}

// categories: the x labels (counts) of a categorical panel at 0 .. n-1, or `empty` in
// its middle when there are none; returns n.
static int categories(FILE *f, const Panel *p, const int *v, int n, const char *empty) {
    char label[32];
    if (!n) text(f, p->x0 + p->w / 2, p->y0 + p->h / 2, "middle", "fill=\"#888\"", empty);
    for (int c = 0; c < n; c++) {
        fmt_count(v[c], label, sizeof label);
        text(f, px(p, c), p->y0 + p->h + 16, "middle", "font-size=\"11\" fill=\"#444\"", label);
    }
    return n;
}

// shown_task: the needle task the retrieval panel shows: passkey when a run has it, else
// the first task any run has (-1: none).
static int shown_task(const RunLog *r, size_t n) {
    int lens[MAX_LIST];
    double acc[MAX_LIST];
    for (int t = 0; t < NUM_NEEDLE_TASKS; t++)
        for (size_t i = 0; i < n; i++)
            if (runlog_task(&r[i], t, lens, acc)) return t;
    return -1;
}

// retrieval: accuracy per prompt length in each run's latest round of one needle task, as bars.
static void retrieval(FILE *f, const RunLog *r, size_t n) {
    Panel p = {650, 540, 420, 200, 0, 1, 0, 100, 0};
    int lens[MAX_LIST], nl = 0, rl[MAX_LIST];
    const int task = shown_task(r, n);
    double acc[MAX_LIST], yt[6] = {0, 20, 40, 60, 80, 100};
    char label[64], style[96];
    for (size_t i = 0; task >= 0 && i < n; i++) {
        int k = runlog_task(&r[i], task, rl, acc);
        for (int j = 0; j < k; j++) add_sorted(lens, &nl, MAX_LIST, rl[j]);
    }
    snprintf(label, sizeof label, "%s retrieval, latest round", task >= 0 ? needle_task_name(task) : "needle");
    text(f, p.x0, p.y0 - 12, "start", "font-weight=\"bold\" fill=\"#222\"", label);
    text(f, p.x0 + p.w, p.y0 - 12, "end", "font-size=\"10\" fill=\"#555\"", "dashed: chance (1 in 10)");
    p.xlo = -0.5, p.xhi = nl > 0 ? nl - 0.5 : 0.5;
    axes(f, &p, NULL, 0, yt, 6, 0, "prompt length (tokens)", "accuracy (%)", "clip-passkey");
    if (!categories(f, &p, lens, nl, "no retrieval task in these runs")) return;
    const double group = 0.8, bw = group / (double)(n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        int k = runlog_task(&r[i], task, rl, acc);
        for (int j = 0; j < k; j++) {
            int c = 0;
            while (c < nl && lens[c] != rl[j]) c++;
            if (c == nl) continue;                    // beyond the MAX_LIST lengths shown
            double x0 = px(&p, c - group / 2 + bw * (double)i), x1 = px(&p, c - group / 2 + bw * (double)(i + 1));
            double y0 = py(&p, 100.0 * acc[j]);
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", x0, y0,
                    fmax(x1 - x0 - 1.0, 1.0), p.y0 + p.h - y0, COLORS[i % NCOLORS]);
        }
    }
    double yc = py(&p, 100.0 / NEEDLE_CANDIDATES);
    snprintf(style, sizeof style, "stroke=\"#555\" stroke-dasharray=\"3,3\"");
    line(f, p.x0, yc, p.x0 + p.w, yc, style);
}

// copy_panel: the copy gap per distance in each run's latest copy round, a line per run.
static void copy_panel(FILE *f, const RunLog *r, size_t n) {
    Panel p = {80, 840, 430, 200, 0, 1, 0, 1, 0};
    int dist[MAX_LIST], nd = 0, d[MAX_LIST];
    double gap[MAX_LIST], x[MAX_LIST], y[MAX_LIST], lo = 0.0, hi = 0.0, yt[64];
    char style[96];
    for (size_t i = 0; i < n; i++) {
        const int k = runlog_copy(&r[i], d, gap);
        for (int j = 0; j < k; j++) {
            add_sorted(dist, &nd, MAX_LIST, d[j]);
            lo = fmin(lo, gap[j]), hi = fmax(hi, gap[j]);
        }
    }
    text(f, p.x0, p.y0 - 12, "start", "font-weight=\"bold\" fill=\"#222\"", "copy by distance, latest round");
    text(f, p.x0 + p.w, p.y0 - 12, "end", "font-size=\"10\" fill=\"#555\"", "dashed: no use of the earlier copy");
    const int ny = y_axis(&p, lo, hi > lo ? hi : lo + 1.0, 6, yt);
    p.xlo = -0.5, p.xhi = nd > 0 ? nd - 0.5 : 0.5;
    axes(f, &p, NULL, 0, yt, ny, 0, "distance to the earlier occurrence (tokens)", "loss gap (nats)", "clip-copy");
    if (!categories(f, &p, dist, nd, "no copy task in these runs")) return;
    line(f, p.x0, py(&p, 0.0), p.x0 + p.w, py(&p, 0.0), "stroke=\"#555\" stroke-dasharray=\"3,3\"");
    for (size_t i = 0; i < n; i++) {
        const int k = runlog_copy(&r[i], d, gap);
        for (int j = 0; j < k; j++) x[j] = len_index(dist, nd, d[j]), y[j] = gap[j];
        snprintf(style, sizeof style, "stroke=\"%s\" stroke-width=\"2\"", COLORS[i % NCOLORS]);
        polyline(f, &p, x, y, (size_t)k, "clip-copy", style);
        for (int j = 0; j < k; j++) marker(f, 0, px(&p, x[j]), py(&p, y[j]), COLORS[i % NCOLORS]);
    }
}

// blues: the colour of accuracy a in [0, 1], from near white to dark blue (ColorBrewer Blues).
static void blues(double a, char *out, size_t cap) {
    static const int LO[3] = {0xf7, 0xfb, 0xff}, HI[3] = {0x08, 0x30, 0x6b};
    a = a < 0 ? 0 : a > 1 ? 1 : a;
    snprintf(out, cap, "#%02x%02x%02x", (int)lround(LO[0] + a * (HI[0] - LO[0])), (int)lround(LO[1] + a * (HI[1] - LO[1])),
             (int)lround(LO[2] + a * (HI[2] - LO[2])));
}

// heatmap: one run's cells (length rows, depth columns) in the box (x, y, w, h).
static void heatmap(FILE *f, const RunLog *r, size_t i, int task, double x, double y, double w, double h) {
    const TaskPoint *c[MAX_LIST * MAX_LIST];
    const int k = runlog_task_cells(r, task, c, MAX_LIST * MAX_LIST);
    int lens[MAX_LIST], nl = 0, nd = 0;
    double depth[MAX_LIST];
    char label[CFG_STR + 16], fill[16];
    for (int j = 0; j < k; j++) {
        add_sorted(lens, &nl, MAX_LIST, c[j]->seq_len);
        int at = 0;
        while (at < nd && depth[at] != c[j]->depth) at++;
        if (at == nd && nd < MAX_LIST) depth[nd++] = c[j]->depth;
    }
    snprintf(label, sizeof label, "%zu. %s", i + 1, r->name);
    snprintf(fill, sizeof fill, "fill=\"%s\"", COLORS[i % NCOLORS]);
    text(f, x, y + 12, "start", fill, label);
    const double gx = x + 44, gy = y + 20, cw = (w - 44) / (nd ? nd : 1), ch = (h - 38) / (nl ? nl : 1);
    if (!k) {
        text(f, x + w / 2, y + h / 2, "middle", "fill=\"#888\"", "no round of this task");
        return;
    }
    for (int j = 0; j < k; j++) {
        int li = 0, di = 0;
        while (li < nl && lens[li] != c[j]->seq_len) li++;
        while (di < nd && depth[di] != c[j]->depth) di++;
        if (li == nl || di == nd) continue;
        blues(c[j]->accuracy, fill, sizeof fill);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" stroke=\"white\"/>\n",
                gx + di * cw, gy + li * ch, cw, ch, fill);
        snprintf(label, sizeof label, "%.0f", 100.0 * c[j]->accuracy);
        if (ch >= 11 && cw >= 22)
            text(f, gx + (di + 0.5) * cw, gy + (li + 0.5) * ch + 4, "middle",
                 c[j]->accuracy > 0.55 ? "font-size=\"10\" fill=\"white\"" : "font-size=\"10\" fill=\"#222\"", label);
    }
    for (int li = 0; li < nl; li++) {
        fmt_count(lens[li], label, sizeof label);
        text(f, gx - 4, gy + (li + 0.5) * ch + 4, "end", "font-size=\"10\" fill=\"#444\"", label);
    }
    for (int di = 0; di < nd; di++) {
        snprintf(label, sizeof label, "%g", depth[di]);
        text(f, gx + (di + 0.5) * cw, gy + nl * ch + 12, "middle", "font-size=\"10\" fill=\"#444\"", label);
    }
}

// heatmaps: a needle heatmap per run (at most 6; the task of the retrieval panel) with
// a colour scale.
static void heatmaps(FILE *f, const RunLog *r, size_t n) {
    const double x0 = 650, y0 = 840, w = 420, h = 236;
    const int task = shown_task(r, n), shown = n < 6 ? (int)n : 6, cols = shown < 3 ? shown : 3;
    const int rows = (shown + cols - 1) / (cols ? cols : 1);
    char title[96], fill[16];
    snprintf(title, sizeof title, "%s accuracy by length (rows) and depth (columns)", task >= 0 ? needle_task_name(task) : "needle");
    text(f, x0, y0 - 12, "start", "font-weight=\"bold\" fill=\"#222\"", title);
    if (task < 0) {
        text(f, x0 + w / 2, y0 + 100, "middle", "fill=\"#888\"", "no retrieval task in these runs");
        return;
    }
    for (int i = 0; i < shown; i++)
        heatmap(f, &r[i], (size_t)i, task, x0 + (i % cols) * (w / cols), y0 + (i / cols) * (h - 20) / rows,
                w / cols - 8, (h - 20) / rows - 6);
    for (int j = 0; j <= 10; j++) {                       // the scale: 0% .. 100%
        blues(j / 10.0, fill, sizeof fill);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"16\" height=\"8\" fill=\"%s\"/>\n", x0 + 44 + 16 * j,
                y0 + h - 10, fill);
    }
    text(f, x0 + 40, y0 + h - 2, "end", "font-size=\"10\" fill=\"#444\"", "0%");
    snprintf(title, sizeof title, "100%%%s", n > 6 ? " (the first 6 runs)" : "");
    text(f, x0 + 44 + 16 * 11 + 4, y0 + h - 2, "start", "font-size=\"10\" fill=\"#444\"", title);
}

void svg_report(FILE *f, const RunLog *r, size_t n, const ChartOptions *o) {
    int lens[MAX_LENS], nl = eval_lengths(r, n, lens);
    char title[CFG_STR + 160];
    if (n == 1) snprintf(title, sizeof title, "%s (%s): %s", r[0].name, r[0].method, o->val_metric ? "validation loss" : "training loss");
    else snprintf(title, sizeof title, "%zu runs: %s", n, o->val_metric ? "validation loss" : "training loss");
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n", W, H, W, H);
    fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H);
    text(f, 20, 32, "start", "font-size=\"17\" font-weight=\"bold\" fill=\"#111\"", title);
    curves(f, r, n, o, lens, nl);
    legend(f, r, n, o, lens, nl);
    buckets(f, r, n);
    retrieval(f, r, n);
    copy_panel(f, r, n);
    heatmaps(f, r, n);
    fputs("</svg>\n", f);
}

void report_write(const char *dir) {
    RunLog r;
    ChartOptions o = {0, 0, 0, 0.9};
    runlog_read(&r, dir);
    char *path = path_join(dir, "report.svg"), *tmp = path_join(dir, "report.svg.tmp");
    FILE *f = xfopen(tmp, "w");
    svg_report(f, &r, 1, &o);
    finish_file(f, tmp, path);
    free(path);
    free(tmp);
    runlog_free(&r);
}
