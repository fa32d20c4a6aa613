// test_report.c — the pieces of `train compare`: the metrics.jsonl reader (row types,
// buckets, a truncated last line), the EMA, the axis ticks, the count labels, and a golden
// SVG of two real runs (tests/fixtures/report/{yarn,alibi}: the metrics of the yarn and
// alibi runs of `make compare`, copied). With STRETCH_REGEN_GOLDEN=1 it rewrites the golden
// file instead (after a deliberate change to the chart; look at it before committing).
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
        "{\"type\": \"train\", \"step\": 2, \"stage\": 2, \"seq_len\": 1024, \"tokens\": 16384, \"loss\": 2.0, \"lr\": 2e-4, "
        "\"grad_norm\": 0.9, \"tokens_per_s\": 4000, \"elapsed_s\": 3.0}\n"
        "{\"type\": \"train\", \"step\": 3, \"stage\": 2, \"seq_len\": 1024, \"tok";      // being written
    RunLog r;
    memset(&r, 0, sizeof r);
    runlog_parse(&r, text, strlen(text), "inline");
    CHECK_TRUE("reader: 2 train, 1 eval, 1 passkey, partial line", r.n_train == 2 && r.n_eval == 1 && r.n_pk == 1 && r.partial_line);
    CHECK_TRUE("reader: train fields",
               r.train[1].step == 2 && r.train[1].stage == 2 && r.train[1].seq_len == 1024 && r.train[1].tokens == 16384 &&
                   close_to(r.train[1].loss, 2.0) && close_to(r.train[0].tokens_per_s, 5000.5) && close_to(r.train[1].elapsed_s, 3.0));
    CHECK_TRUE("reader: eval buckets",
               r.eval[0].n == 2 && r.eval[0].to[1] == 512 && close_to(r.eval[0].bucket[0], 1.25) && close_to(r.eval[0].loss, 1.5));
    int lens[MAX_LIST];
    double acc[MAX_LIST];
    CHECK_TRUE("reader: passkey round", runlog_passkey(&r, lens, acc) == 1 && lens[0] == 4096 && close_to(acc[0], 0.25));
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
    FILE *f = tmpfile();
    svg_report(f, r, 2, &o);
    size_t n = (size_t)ftell(f), m = 0;
    rewind(f);
    char *got = xmalloc(n + 1);
    xfread(got, n, f, "the rendered svg", "svg");
    fclose(f);
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
