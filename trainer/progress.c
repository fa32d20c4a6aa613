// progress.c — the live progress line of a training run on a terminal: bars for the
// current stage and the whole run, ETA, loss, tokens/s and resident memory, rewritten in
// place (\r) after every step and cut to the terminal's width. When stdout is not a
// terminal (CI logs, files) nothing is drawn and the loop prints plain lines instead.
#define _POSIX_C_SOURCE 200809L
#include "train.h"
#include "../dist/dist.h"
#include "report.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

static int shown;                // a progress line is on the screen

// Under mpirun a rank's stdout is a pseudo-terminal whatever mpirun's own output is
// (often a log file): ranks print plain lines.
int progress_tty(void) { return isatty(STDOUT_FILENO) && !dist_launched(); }

void progress_clear(void) {
    if (!shown) return;
    fputs("\r\033[K", stdout);
    fflush(stdout);
    shown = 0;
}

// rss_mib: resident memory now (/proc/self/statm), else the peak (getrusage).
static double rss_mib(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f && fscanf(f, "%ld %ld", &pages, &resident) == 2) {
        fclose(f);
        return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
    }
    if (f) fclose(f);
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_maxrss / 1024.0;
}

// bar: `width` cells of a fraction in eighths (U+2588..U+258F).
static size_t bar(char *out, double frac, int width) {
    static const char *const EIGHTHS[] = {"", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a", "\u2589"};
    int eighths = (int)(frac * width * 8 + 0.5), n = 0;
    size_t len = 0;
    if (eighths > width * 8) eighths = width * 8;
    for (; n < eighths / 8; n++) len += (size_t)sprintf(out + len, "\u2588");
    if (eighths % 8) n++, len += (size_t)sprintf(out + len, "%s", EIGHTHS[eighths % 8]);
    for (; n < width; n++) out[len++] = ' ';
    out[len] = '\0';
    return len;
}

// cut: s to at most `cols` visible characters (UTF-8 aware).
static void cut(char *s, int cols) {
    int seen = 0;
    for (char *p = s; *p; p++)
        if (((unsigned char)*p & 0xC0) != 0x80 && ++seen > cols) {
            *p = '\0';
            return;
        }
}

void progress_show(const Run *r, long long step, int s, double loss, double tps, double stage_frac, double eta) {
    char a[128], b[128], el[32], et[32], line[1024];
    struct winsize w;
    int cols = ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 20 ? w.ws_col : 120;
    bar(a, stage_frac, 12);
    bar(b, (double)step / (double)r->plan.total_steps, 12);
    fmt_duration(now_seconds() - r->t_start, el, sizeof el);
    fmt_duration(eta, et, sizeof et);
    snprintf(line, sizeof line, "stage %d/%d T %d \u2595%s\u258f %3.0f%% \u2502 run \u2595%s\u258f %3.0f%% \u2502 step %lld/%lld "
             "\u2502 loss %.4f \u2502 %.0f tok/s \u2502 %.0f MiB \u2502 %s elapsed \u2502 ETA %s", s + 1, r->plan.n,
             r->plan.s[s].T, a, 100.0 * stage_frac, b, 100.0 * (double)step / (double)r->plan.total_steps, step,
             r->plan.total_steps, loss, tps, rss_mib(), el, et);
    cut(line, cols - 1);
    printf("\r\033[K%s", line);
    fflush(stdout);
    shown = 1;
}
