// test_report.c — the pieces of `train compare`: the metrics.jsonl reader (row types,
// buckets, a truncated last line), the EMA, the axis ticks, the count labels, and a golden
// SVG of two real runs (tests/fixtures/report/{yarn,alibi}: the metrics of the yarn and
// alibi runs of `make compare`, copied). With STRETCH_REGEN_GOLDEN=1 it rewrites the golden
// file instead (after a deliberate change to the chart; look at it before committing).
// The structure of the rendered chart is checked apart from the golden file, so that it
// still holds after a regeneration: well formed, every run and its method in the legend,
// axis titles and tick labels, and one dashed line per stage boundary (from the runs'
// seq_len changes) at its token count — for the two runs, for runs whose boundaries
// differ, and for one run.
// Usage: test_report FIXTURE_DIR
#include "../trainer/report.h"
#include "../util/util.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int close_to(double a, double b) { return check_within(a, b, 1e-12, 1e-9); }

static void test_reader(void) {
    const char *text =
        "{\"type\": \"eval\", \"step\": 0, \"tokens\": 0, \"seq_len\": 512, \"val_loss\": 1.5, \"val_tokens\": 100, "
        "\"loss_by_position\": [{\"from\": 0, \"to\": 256, \"loss\": 1.25}, {\"from\": 256, \"to\": 512, \"loss\": 1.75}]}\n"
        "{\"type\": \"train\", \"step\": 1, \"stage\": 1, \"seq_len\": 512, \"tokens\": 8192, \"loss\": 2.5, \"lr\": 1e-4, "
        "\"grad_norm\": 1.1, \"tokens_per_s\": 5000.5, \"elapsed_s\": 1.5}\n"
        "\n"
        "{\"type\": \"note\", \"text\": \"rows of other types are skipped\"}\n"
        "{\"type\": \"passkey\", \"step\": 1, \"tokens\": 8192, \"seq_len\": 4096, \"depth\": 0.5, \"trials\": 4, "
        "\"accuracy\": 0.25, \"mean_rank\": 3.5}\n"
        "{\"type\": \"task\", \"step\": 1, \"tokens\": 8192, \"task\": \"kv\", \"seq_len\": 512, \"depth\": 0, \"trials\": 2, "
        "\"accuracy\": 1, \"mean_rank\": 1}\n"
        "{\"type\": \"task\", \"step\": 1, \"tokens\": 8192, \"task\": \"kv\", \"seq_len\": 512, \"depth\": 1, \"trials\": 6, "
        "\"accuracy\": 0.5, \"mean_rank\": 2}\n"
        "{\"type\": \"effective_length\", \"step\": 1, \"tokens\": 8192, \"task\": \"kv\", \"original\": 512, "
        "\"threshold\": 0.8, \"length\": 512}\n"
        "{\"type\": \"effective_length\", \"step\": 1, \"tokens\": 8192, \"task\": \"copy\", \"original\": 512, "
        "\"threshold\": 0.8, \"length\": 0}\n"
        "{\"type\": \"train\", \"step\": 2, \"stage\": 2, \"seq_len\": 1024, \"tokens\": 16384, \"loss\": 2.0, \"lr\": 2e-4, "
        "\"grad_norm\": 0.9, \"tokens_per_s\": 4000, \"elapsed_s\": 3.0}\n"
        "{\"type\": \"train\", \"step\": 3, \"stage\": 2, \"seq_len\": 1024, \"tok";      // being written
    RunLog r;
    memset(&r, 0, sizeof r);
    runlog_parse(&r, text, strlen(text), "inline");
    CHECK_TRUE("reader: 2 train, 1 eval, 3 task rows (one of an earlier version's \"passkey\" type), 2 effective "
               "lengths, partial line", r.n_train == 2 && r.n_eval == 1 && r.n_task == 3 && r.n_eff == 2 && r.partial_line);
    CHECK_TRUE("reader: train fields",
               r.train[1].step == 2 && r.train[1].stage == 2 && r.train[1].seq_len == 1024 && r.train[1].tokens == 16384 &&
                   close_to(r.train[1].loss, 2.0) && close_to(r.train[0].tokens_per_s, 5000.5) && close_to(r.train[1].elapsed_s, 3.0));
    CHECK_TRUE("reader: eval buckets",
               r.eval[0].n == 2 && r.eval[0].to[1] == 512 && close_to(r.eval[0].bucket[0], 1.25) && close_to(r.eval[0].loss, 1.5));
    int lens[MAX_LIST];
    double acc[MAX_LIST];
    CHECK_TRUE("reader: passkey round", runlog_task(&r, NEEDLE_PASSKEY, lens, acc) == 1 && lens[0] == 4096 &&
               close_to(acc[0], 0.25));
    CHECK_TRUE("reader: kv round, accuracy weighted by trials (2 x 1 + 6 x 0.5) / 8",
               runlog_task(&r, NEEDLE_KV, lens, acc) == 1 && lens[0] == 512 && close_to(acc[0], 0.625));
    CHECK_TRUE("reader: no multikey round", runlog_task(&r, NEEDLE_MULTIKEY, lens, acc) == 0);
    CHECK_TRUE("reader: effective lengths (kv 512, copy none, passkey never logged)",
               runlog_effective(&r, NEEDLE_KV) == 512 && runlog_effective(&r, NUM_NEEDLE_TASKS) == 0 &&
               runlog_effective(&r, NEEDLE_PASSKEY) == -1);
    CHECK_TRUE("reader: latest eval", runlog_latest_eval(&r) == &r.eval[0]);
    runlog_free(&r);
    const char *whole = strstr(text, "{\"type\": \"train\", \"step\": 3");   // the file ends with a newline
    memset(&r, 0, sizeof r);
    runlog_parse(&r, text, (size_t)(whole - text), "inline");
    CHECK_TRUE("reader: a file ending at a newline has no partial line", r.n_train == 2 && !r.partial_line);
    runlog_free(&r);
}

static void test_ema(void) {
    double x[4] = {1, 3, 3, 3}, y[4];
    ema(x, 4, 0.5, y);
    CHECK_TRUE("ema: bias-corrected first values", close_to(y[0], 1.0) && close_to(y[1], (0.25 + 1.5) / 0.75));
    ema(x, 4, 0.0, y);
    CHECK_TRUE("ema: alpha 0 is the identity", close_to(y[1], 3.0) && close_to(y[3], 3.0));
    double c[50], z[50];
    for (int i = 0; i < 50; i++) c[i] = 7.0;
    ema(c, 50, 0.9, z);
    int flat = 1;
    for (int i = 0; i < 50; i++) flat &= close_to(z[i], 7.0);
    CHECK_TRUE("ema: a constant series stays constant (no warm-up bias)", flat);
}

static int is_nice_step(double s) {
    double e = pow(10.0, floor(log10(s))), f = s / e;
    return close_to(f, 1) || close_to(f, 2) || close_to(f, 5) || close_to(f, 10);
}

static void test_ticks(void) {
    double t[64];
    int n = nice_ticks(0.0, 1.05, 8, t);
    CHECK_TRUE("nice_ticks: 0..1.05 by 0.2", n == 7 && close_to(t[0], 0.0) && close_to(t[1], 0.2) && close_to(t[6], 1.2));
    n = nice_ticks(1.3, 4.1, 10, t);
    CHECK_TRUE("nice_ticks: 1.3..4.1 by 0.5", n == 8 && close_to(t[0], 1.0) && close_to(t[7], 4.5));
    n = nice_ticks(2.0, 2.0, 5, t);
    CHECK_TRUE("nice_ticks: a single value gets a range", n >= 2 && t[0] <= 2.0 && t[n - 1] >= 2.0);
    Rng rng = {99};
    int ok = 1;
    for (int k = 0; k < 2000; k++) {            // properties on random ranges
        double lo = (rng_uniform(&rng) - 0.5) * pow(10.0, 6 * rng_uniform(&rng) - 3), hi = lo + pow(10.0, 6 * rng_uniform(&rng) - 3);
        int m = 3 + (int)rng_below(&rng, 8);
        n = nice_ticks(lo, hi, m, t);
        double step = t[1] - t[0];
        ok &= n >= 2 && n <= m && t[0] <= lo && t[n - 1] >= hi && is_nice_step(step);
    }
    CHECK_TRUE("nice_ticks: 2000 random ranges covered by at most max_ticks round ticks", ok);
    n = pow2_ticks(1048576.0, 9, t);
    CHECK_TRUE("pow2_ticks: 0..1M by 128K", n == 9 && close_to(t[1], 131072.0) && close_to(t[8], 1048576.0));
    n = log_ticks(0.9, 120.0, 10, t);
    CHECK_TRUE("log_ticks: 1 2 5 10 20 50 100", n == 7 && close_to(t[0], 1) && close_to(t[1], 2) && close_to(t[6], 100));
    n = log_ticks(0.9, 12000.0, 5, t);
    CHECK_TRUE("log_ticks: decades when 1-2-5 is too dense", n == 5 && close_to(t[4], 10000));
    n = log_ticks(1.3, 1.9, 6, t);
    CHECK_TRUE("log_ticks: a narrow range gets linear ticks inside it", n >= 2 && t[0] >= 1.3 && t[n - 1] <= 1.9);
}

static void test_labels(void) {
    char b[32];
    const struct { double v; const char *s; } C[] = {{0, "0"}, {512, "512"}, {4096, "4K"}, {786432, "768K"},
        {1048576, "1M"}, {1536, "1.5K"}, {1572864, "1.5M"}, {1234567, "1.23M"}, {32768, "32K"}, {1000, "1k"}};
    for (size_t i = 0; i < sizeof C / sizeof C[0]; i++) {
        fmt_count(C[i].v, b, sizeof b);
        CHECK_STR(check_what("fmt_count(%.0f) = %s", C[i].v, C[i].s), b, C[i].s);
    }
    fmt_duration(2794, b, sizeof b);
    CHECK_STR("fmt_duration 46:34", b, "46:34");
    fmt_duration(3725, b, sizeof b);
    CHECK_STR("fmt_duration 1:02:05", b, "1:02:05");
}

// render: svg_report of r[0..n) as a string (*len bytes, NUL-terminated).
static char *render(const RunLog *r, size_t n, const ChartOptions *o, size_t *len) {
    FILE *f = tmpfile();
    CHECK(f, "cannot create a temporary file");
    svg_report(f, r, n, o);
    *len = (size_t)ftell(f);
    rewind(f);
    char *svg = xmalloc(*len + 1);
    xfread(svg, *len, f, "the rendered svg", "svg");
    svg[*len] = '\0';
    fclose(f);
    return svg;
}

// ---- structure of a rendered SVG, independent of the golden file ---------------------

// Elem: one element of an SVG: its name, its start tag (cut at 511 bytes; attributes come
// first) and, for <text>, its content with &amp; &lt; &gt; decoded.
typedef struct {
    char name[16], tag[512], text[256];
} Elem;

// tag_name: the name starting at s (up to a space, '/' or '>') into out.
static void tag_name(const char *s, char *out, size_t cap) {
    size_t k = 0;
    while (s[k] && !strchr(" \n\t/>", s[k]) && k + 1 < cap) k++;
    memcpy(out, s, k);
    out[k] = '\0';
}

// well_formed: svg starts with <svg, ends with </svg> and a newline, and its tags nest:
// one root element, every start tag closed by its own end tag (or self-closing, "/>"), in
// order, and nothing after the root's end tag. Every <g> is balanced by its </g> too.
static int well_formed(const char *svg) {
    char stack[64][16], name[16];
    int depth = 0, roots = 0;
    const char *p = svg, *after = NULL;
    if (strncmp(svg, "<svg", 4) || strlen(svg) < 8 || strcmp(svg + strlen(svg) - 7, "</svg>\n")) return 0;
    while ((p = strchr(p, '<'))) {
        const char *q = strchr(p, '>');
        if (!q || after) return 0;
        if (p[1] == '/') {
            tag_name(p + 2, name, sizeof name);
            if (!depth || strcmp(stack[depth - 1], name)) return 0;
            if (!--depth) after = q + 1;
        } else {
            tag_name(p + 1, name, sizeof name);
            roots += !depth;
            if (q[-1] != '/') {
                if (depth == 64) return 0;
                strcpy(stack[depth++], name);
            }
        }
        p = q + 1;
    }
    while (after && *after && strchr(" \n\t", *after)) after++;
    return roots == 1 && !depth && after && !*after;
}

// svg_elements: the elements of svg in document order (at most cap); returns how many.
static int svg_elements(const char *svg, Elem *e, int cap) {
    int n = 0;
    for (const char *p = svg; (p = strchr(p, '<')) && n < cap; p++) {
        if (p[1] == '/') continue;
        const char *q = strchr(p, '>');
        if (!q) break;
        Elem *x = &e[n++];
        tag_name(p + 1, x->name, sizeof x->name);
        snprintf(x->tag, sizeof x->tag, "%.*s", (int)(q - p + 1), p);
        x->text[0] = '\0';
        const char *end = strstr(q, "</text>");
        if (strcmp(x->name, "text") || !end) continue;
        size_t k = 0;
        for (const char *c = q + 1; c < end && k + 1 < sizeof x->text; k++) {
            const char *ent[3] = {"&amp;", "&lt;", "&gt;"}, dec[3] = {'&', '<', '>'};
            int hit = -1;
            for (int i = 0; i < 3 && hit < 0; i++) hit = strncmp(c, ent[i], strlen(ent[i])) ? -1 : i;
            x->text[k] = hit < 0 ? *c : dec[hit];
            c += hit < 0 ? 1 : strlen(ent[hit]);
        }
        x->text[k] = '\0';
    }
    return n;
}

// attr: the value of attribute `name` of e into out ("" when absent); returns out.
static const char *attr(const Elem *e, const char *name, char *out, size_t cap) {
    char key[40];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *v = strstr(e->tag, key);
    size_t k = 0;
    if (v)
        for (v += strlen(key); v[k] && v[k] != '"' && k + 1 < cap; k++) out[k] = v[k];
    out[k] = '\0';
    return out;
}

static double attr_num(const Elem *e, const char *name) {
    char v[64];
    return atof(attr(e, name, v, sizeof v));
}

static int attr_is(const Elem *e, const char *name, const char *value) {
    char v[64];
    return !strcmp(attr(e, name, v, sizeof v), value);
}

// find_text: the index of the first <text> with content s, or -1.
static int find_text(const Elem *e, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (!strcmp(e[i].name, "text") && !strcmp(e[i].text, s)) return i;
    return -1;
}

// Bound: a stage boundary: the tokens seen at the last row of a stage, and the next
// stage's seq_len.
typedef struct {
    double tokens;
    int T;
} Bound;

// seq_len_changes: the boundaries of run r counted from its train rows: one wherever
// seq_len changes (each stage of the fixture runs has its own seq_len); returns how many.
static int seq_len_changes(const RunLog *r, Bound *b, int cap) {
    int k = 0;
    for (size_t i = 1; i < r->n_train && k < cap; i++)
        if (r->train[i].seq_len != r->train[i - 1].seq_len) b[k++] = (Bound){(double)r->train[i - 1].tokens, r->train[i].seq_len};
    return k;
}

// check_structure: what must hold of the chart of r[0..n) (training loss vs tokens), for
// any data: the SVG is well formed; the legend names each run with its method; the axis
// titles of the three panels are there; the curves' x axis carries the ticks of
// pow2_ticks for the most tokens seen, labelled by fmt_count, in one row, left to right,
// evenly spaced; every panel's y tick labels are numbers that grow upwards; and one
// dashed vertical line, labelled "T <seq_len>", per stage boundary: drawn once when every
// run has the same boundaries, else once per run, in run order, each at the x of its token
// count on that axis.
static void check_structure(const char *name, const RunLog *r, size_t n) {
    ChartOptions o = {0, 0, 0, 0.9};
    size_t len;
    char *svg = render(r, n, &o, &len);
    int cap = 1;
    for (const char *p = svg; (p = strchr(p, '<')); p++) cap++;
    Elem *e = xmalloc((size_t)cap * sizeof *e);
    const int ne = svg_elements(svg, e, cap);
    CHECK_TRUE(check_what("%s: well formed (<svg> ... </svg>, tags nested and closed)", name), well_formed(svg));

    char label[CFG_STR + 128];
    for (size_t i = 0; i < n; i++) {
        snprintf(label, sizeof label, "%s (%s)", r[i].name, r[i].method);
        CHECK_TRUE(check_what("%s: the legend names run %zu: \"%s\"", name, i + 1, label), find_text(e, ne, label) >= 0);
    }
    const char *titles[] = {"training tokens seen", "training loss (nats/token)", "positions in the window (tokens)",
                            "val loss (nats/token)", "prompt length (tokens)", "accuracy (%)", "curriculum stage boundary"};
    int missing = 0;
    for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++) missing += find_text(e, ne, titles[i]) < 0;
    CHECK_EQ(check_what("%s: axis titles of the three panels, boundary legend (missing)", name), missing, 0);

    // the curves' x ticks: the centred <text> in the row (the same y) of the first tick label
    double most = 1.0, ticks[64], X[64];
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < r[i].n_train; j++) most = fmax(most, (double)r[i].train[j].tokens);
        for (size_t j = 0; j < r[i].n_eval; j++) most = fmax(most, (double)r[i].eval[j].tokens);
    }
    const int nt = pow2_ticks(most, 9, ticks);
    int row_ok = 0;
    fmt_count(ticks[0], label, sizeof label);
    for (int i = 0; i < ne && !row_ok; i++) {
        if (strcmp(e[i].name, "text") || strcmp(e[i].text, label) || !attr_is(&e[i], "text-anchor", "middle")) continue;
        const double y = attr_num(&e[i], "y");
        int k = 0, ok = 1;
        for (int j = i; j < ne && ok; j++) {
            if (strcmp(e[j].name, "text") || attr_num(&e[j], "y") != y || !attr_is(&e[j], "text-anchor", "middle")) continue;
            char want[32] = "";
            if (k < nt) fmt_count(ticks[k], want, sizeof want);
            ok = k < nt && !strcmp(e[j].text, want);            // no label missing, none extra
            if (ok) X[k++] = attr_num(&e[j], "x");
        }
        for (int j = 1; j < k && ok; j++) ok = fabs(X[j] - (X[0] + (X[k - 1] - X[0]) * j / (k - 1))) <= 0.1 && X[j] > X[j - 1];
        row_ok = ok && k == nt;
    }
    fmt_count(ticks[nt - 1], label, sizeof label);
    check_report(row_ok, check_what("%s: x tick labels 0 .. %s (%d, one row, evenly spaced)", name, label, nt), row_ok ? nt : 0,
                 nt);

    // y ticks: per panel, a column of right-aligned numeric labels, one after the other (as
    // the other <text> of the SVG come between panels), larger values higher up
    int ncol = 0, in_col = 0, full = 0, upwards = 1;
    double col_x = 0, last_y = 0, last_v = 0;
    for (int i = 0; i < ne; i++) {
        char *end;
        if (strcmp(e[i].name, "text")) continue;
        const double val = strtod(e[i].text, &end), x = attr_num(&e[i], "x"), y = attr_num(&e[i], "y");
        if (!attr_is(&e[i], "text-anchor", "end") || end == e[i].text || *end) {   // not a y tick label
            in_col = 0;
            continue;
        }
        if (in_col && x == col_x) upwards &= (y - last_y) * (val - last_v) < 0;
        else ncol++, in_col = 0, col_x = x;
        full += ++in_col == 3;
        last_y = y, last_v = val;
    }
    check_report(full == 4 && ncol == 4 && upwards,     // curves, buckets, retrieval, copy by distance
                 check_what("%s: y tick labels: 4 columns of >= 3 numbers, larger higher up", name), full, 4);

    // stage boundaries: counted from the runs' train rows (of at most 8 runs), against the
    // dashed lines drawn
    Bound want[8 * MAX_STAGES], b0[MAX_STAGES], b[MAX_STAGES];
    int nw = 0, k0 = seq_len_changes(&r[0], b0, MAX_STAGES), shared = 1;
    for (size_t i = 1; i < n; i++) {
        const int k = seq_len_changes(&r[i], b, MAX_STAGES);
        shared &= k == k0;
        for (int j = 0; j < k && shared; j++) shared = b[j].T == b0[j].T && b[j].tokens == b0[j].tokens;
    }
    for (size_t i = 0; i < (shared ? 1 : n) && i < 8; i++) nw += seq_len_changes(&r[i], want + nw, MAX_STAGES);
    int nb = 0, placed = 1;
    for (int i = 0; i + 1 < ne; i++) {
        int T;
        char tail;
        if (strcmp(e[i].name, "line") || !attr_is(&e[i], "stroke-dasharray", "5,4") || strcmp(e[i + 1].name, "text") ||
            sscanf(e[i + 1].text, "T %d%c", &T, &tail) != 1)
            continue;                                           // not a labelled boundary (the legend's sample)
        const double x = attr_num(&e[i], "x1");
        placed &= nb < nw && row_ok && T == want[nb].T && x == attr_num(&e[i], "x2") &&
                  fabs(x - (X[0] + (X[nt - 1] - X[0]) * want[nb].tokens / ticks[nt - 1])) <= 0.1;
        nb++;
    }
    CHECK_EQ(check_what("%s: stage boundary lines (seq_len changes%s)", name, shared ? ", the same in every run: once" : " of every run"),
             nb, nw);
    CHECK_TRUE(check_what("%s: each boundary vertical, at its token count, labelled T <next seq_len>", name),
               placed && nb == nw);
    free(e);
    free(svg);
}

static void test_golden(const char *fixtures) {
    RunLog r[2];
    const char *names[2] = {"yarn", "alibi"};
    for (int i = 0; i < 2; i++) {
        char *d = path_join(fixtures, names[i]);
        runlog_read(&r[i], d);
        free(d);
    }
    CHECK_TRUE("fixtures: runs and methods",
               r[0].n_train == 128 && !strcmp(r[0].method, "yarn") && !strcmp(r[1].method, "rope off + alibi"));
    ChartOptions o = {0, 0, 0, 0.9};
    char *golden = path_join(fixtures, "golden.svg");
    size_t n, m = 0;
    char *got = render(r, 2, &o, &n);
    if (getenv("STRETCH_REGEN_GOLDEN")) {
        FILE *g = xfopen(golden, "wb");
        xfwrite(got, n, g, golden);
        fclose(g);
        printf("wrote %s\n", golden);
    }
    char *want = read_file(golden, &m);
    CHECK_TRUE("golden SVG of the yarn and alibi runs (byte for byte)", m == n && !memcmp(want, got, n));
    free(want);
    free(got);
    free(golden);

    // the same chart checked for its structure; then with different boundaries per run (the
    // alibi run cut at step 100, as in progress: two boundaries, yarn three), and one run
    check_structure("svg of yarn + alibi", r, 2);
    RunLog cut[2] = {r[0], r[1]};
    while (cut[1].n_train && cut[1].train[cut[1].n_train - 1].step > 100) cut[1].n_train--;
    check_structure("svg of yarn + alibi to step 100", cut, 2);
    check_structure("svg of yarn alone", r, 1);
    for (int i = 0; i < 2; i++) runlog_free(&r[i]);
}

int main(int argc, char **argv) {
    if (argc != 2) die("usage: test_report FIXTURE_DIR (tests/fixtures/report)");
    test_reader();
    test_ema();
    test_ticks();
    test_labels();
    test_golden(argv[1]);
    return check_done("test_report");
}
