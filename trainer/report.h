// report.h — reading runs back for people: metrics.jsonl as a RunLog, smoothing, axis
// ticks, the SVG chart (svg.c), and `train compare` with its terminal chart and table
// (compare.c).
#ifndef STRETCH_REPORT_H
#define STRETCH_REPORT_H

#include <stddef.h>
#include <stdio.h>
#include "config.h"
#include "eval.h"

// TrainPoint, EvalPoint, TaskPoint, EffPoint: one metrics.jsonl row of each type (see
// README): "train", "eval", "task" (also the "passkey" rows of earlier versions) and
// "effective_length".
typedef struct {
    long long step, tokens;
    int stage, seq_len;
    double loss, lr, grad_norm, tokens_per_s, elapsed_s;
} TrainPoint;

typedef struct {
    long long step, tokens;
    int seq_len, n;                         // n position buckets
    double loss;
    int from[MAX_BUCKETS], to[MAX_BUCKETS];
    double bucket[MAX_BUCKETS];
} EvalPoint;

typedef struct {
    long long step, tokens;
    int task, seq_len, trials;               // task: NeedleTask
    double depth, accuracy, mean_rank;
} TaskPoint;

typedef struct {
    long long step;
    int task, length;                        // task: NeedleTask, or NUM_NEEDLE_TASKS for copy; 0 = none
} EffPoint;

typedef struct {
    long long step;
    int dist;
    double gap;
} CopyPoint;

// RunLog: a run directory read back. `method` is the position scheme of its config.yaml
// in a few words ("yarn", "rope off + alibi", ...), or "?" without one.
typedef struct {
    char dir[CFG_STR], name[CFG_STR], method[96];
    TrainPoint *train;
    size_t n_train;
    EvalPoint *eval;
    size_t n_eval;
    TaskPoint *task;
    size_t n_task;
    EffPoint *eff;
    size_t n_eff;
    CopyPoint *copy;
    size_t n_copy;
    int partial_line;                        // the last line was still being written (ignored)
} RunLog;

// runlog_read: dir/metrics.jsonl (and dir/config.yaml). Dies naming the file when there
// is none or a complete line is not a metrics row; a last line without its newline is a
// row being written and is skipped. Rows of other types are ignored.
void runlog_read(RunLog *r, const char *dir);
// runlog_parse: the same from the text of a metrics file (`source` names it in errors).
void runlog_parse(RunLog *r, const char *text, size_t len, const char *source);
void runlog_free(RunLog *r);
// runlog_latest_eval: the latest eval at the run's longest eval length (NULL if none).
const EvalPoint *runlog_latest_eval(const RunLog *r);
// runlog_task: the latest round of needle task `task`: accuracy per length over its
// depths (trial-weighted), lengths in the order first logged; returns how many lengths.
int runlog_task(const RunLog *r, int task, int *lens, double *acc);
// runlog_task_cells: the cells (length x depth) of the latest round of `task`, at most
// cap, into out (pointers into r); returns how many.
int runlog_task_cells(const RunLog *r, int task, const TaskPoint **out, int cap);
// runlog_copy: the latest copy round: gap per distance, in logged order; returns how many.
int runlog_copy(const RunLog *r, int *dist, double *gap);
// runlog_effective: the latest effective length of `task` (NUM_NEEDLE_TASKS: copy's
// effective distance): > 0, 0 for none, -1 when never logged.
int runlog_effective(const RunLog *r, int task);

// ema: out[i] = the bias-corrected exponential moving average of x[0..i] with weight
// `alpha` on the past (as TensorBoard's smoothing): m_i = alpha m_{i-1} + (1-alpha) x_i,
// out[i] = m_i / (1 - alpha^(i+1)).
void ema(const double *x, size_t n, double alpha, double *out);
// nice_ticks: at most max_ticks (>= 2) round ticks (1, 2 or 5 x 10^k apart, the step
// nearest (hi - lo) / (max_ticks - 1), widened until they fit) covering [lo, hi]
// (after Heckbert 1990, "Nice numbers for graph labels"); the range becomes
// [ticks[0], ticks[n-1]]. Returns n.
int nice_ticks(double lo, double hi, int max_ticks, double *ticks);
// pow2_ticks: ticks 0, s, 2s, ... reaching hi, with s the smallest power of two that
// needs at most max_ticks: token counts read as 256K, 512K, 768K, 1M (binary, as the
// config's budgets). Returns n.
int pow2_ticks(double hi, int max_ticks, double *ticks);
// log_ticks: ticks for a log axis over [lo, hi] (lo > 0): each 1, 2, 5 x 10^k inside,
// thinned to decades when there are more than max_ticks; when fewer than two fall inside,
// the round linear ticks (nice_ticks) inside [lo, hi]. Returns n.
int log_ticks(double lo, double hi, int max_ticks, double *ticks);
// fmt_count: multiples of 1024^u / 4 with binary suffixes as in the config (4096 -> "4K",
// 786432 -> "768K", 1.5 x 2^20 -> "1.5M"), other counts of 1000 or more with 3 digits and SI
// suffixes (1234567 -> "1.23M"); fmt_tick: a tick label with the digits its step needs.
void fmt_count(double v, char *buf, size_t cap);
void fmt_tick(double v, double step, char *buf, size_t cap);
// fmt_bucket: a position bucket [from, to) as "2K–4K".
void fmt_bucket(int from, int to, char *buf, size_t cap);
// fmt_duration: seconds as m:ss or h:mm:ss.
void fmt_duration(double seconds, char *buf, size_t cap);

// ChartOptions: what `train compare` draws.
typedef struct {
    int val_metric;                          // y: 0 = training loss (raw + EMA), 1 = val_loss
    int x_steps;                             // x: 0 = tokens, 1 = steps
    int log_y;
    double smooth;                           // EMA weight on the past
} ChartOptions;

// svg_report: the comparison chart of runs r[0..n) as SVG into f: curves vs tokens or
// steps with stage boundaries and val points; loss by position bucket of each run's
// latest eval at its longest length; retrieval accuracy per length (passkey, else the
// first needle task the runs have); below, copy by distance (gap per distance, a line per
// run) and a needle heatmap per run (length x depth, colour = accuracy).
void svg_report(FILE *f, const RunLog *r, size_t n, const ChartOptions *o);
// report_write: dir's own report (one run) into dir/report.svg, atomically; the training
// loop calls it after each eval.
void report_write(const char *dir);
int compare_main(int argc, char **argv);

#endif
