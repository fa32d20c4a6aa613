// eval.h — evaluation (eval.c): loss in windows of T tokens by position bucket at every
// eval.seq_lens length, the retrieval tasks (tasks.h), their reports (tables,
// metrics.jsonl rows, eval.json), and the `train eval` subcommand.
#ifndef STRETCH_EVAL_H
#define STRETCH_EVAL_H

#include <stdio.h>
#include "config.h"
#include "curriculum.h"
#include "tasks.h"
#include "../data/data.h"
#include "../model/model.h"

#define MAX_BUCKETS 32

// EvalResult: mean next-token NLL (nats) over `tokens` targets in windows of T tokens,
// and per position bucket [edges[i], edges[i+1]) of the tokens' position ids (with
// document masking, positions inside each document: buckets no token reaches are left
// out, so n_buckets may end before T).
typedef struct {
    int T, document_mask;
    double loss;
    size_t tokens;
    int n_buckets;
    int edges[MAX_BUCKETS + 1];
    double bucket_loss[MAX_BUCKETS];
    size_t bucket_tokens[MAX_BUCKETS];
} EvalResult;

// Evals: the lengths of eval.seq_lens (default: the run's longest seq_len), each
// evaluated B windows per forward so that a forward holds no more tokens than a
// training forward (or one window), with or without document masking
// (config_eval_document_mask); and the retrieval tasks. Evals never use PoSE.
typedef struct {
    int n, T[MAX_LIST], B[MAX_LIST];
    int document_mask;
    Needles needles;             // eval.tasks.names
    Copy copy;                   // eval.tasks.copy: runs with the needle tasks
    double threshold;            // eval.tasks.threshold (effective length)
} Evals;

#define MAX_TASK_CELLS (NUM_NEEDLE_TASKS * MAX_LIST * MAX_LIST)

// EvalReport: the results of one round of evals; the effective length of each needle task
// (eff[NeedleTask], 0 = none or not run) and the copy task's effective distance, judged
// against the model's original context `original` (position.rope
// original_max_position_embeddings, else the checkpoint's context).
typedef struct {
    int n, n_task, n_copy;
    EvalResult r[MAX_LIST];
    TaskResult task[MAX_TASK_CELLS];
    CopyResult copy[MAX_LIST];
    int original, eff[NUM_NEEDLE_TASKS], copy_eff;
    double threshold;
} EvalReport;

// evaluate: windows of T tokens (llm.c convention) over the shard, up to max_tokens
// targets, B windows per forward (forward only), attention within documents when
// document_mask (positions restart at each); b holds the caller's (B, T) buffers.
EvalResult evaluate(Model *m, const Shard *val, const Batch *b, int B, int T, long long max_tokens, int document_mask);
// evals_plan: the lengths, batch sizes and task prompts for a run with stages `p`;
// dies before any training when the shard holds no window at one of the lengths.
void evals_plan(const Config *c, const Plan *p, const Shard *val, int vocab, Evals *e);
// evals_reserve: model_reserve for every length (evals keep one layer: ACTS_FORWARD) and the
// tasks' cache and forwards; returns the most tokens of one eval forward (the size of the caller's
// input/target buffers).
size_t evals_reserve(Model *m, const Evals *e);
// evals_run: evaluate at every length (when `loss`), then the retrieval tasks and their
// effective lengths (when `tasks`); a part not run is left out of the report.
void evals_run(Model *m, const Evals *e, const Shard *val, const Batch *b, long long max_tokens, int loss, int tasks,
               EvalReport *out);
void evals_free(Evals *e);
// print_eval_report: the loss-by-position table of each length, then each task's table.
void print_eval_report(const EvalReport *r, FILE *f);
// log_eval_report: metrics.jsonl rows ("eval" per length, "task" per cell, "copy" per
// distance, "effective_length" per task) and one progress line per length and per task.
void log_eval_report(FILE *metrics, long long step, long long tokens, const EvalReport *r);
// write_eval_json: {"evals": [{"seq_len", "loss", "tokens", "loss_by_position": [...]}, ...],
//                   "tasks": [{"task", "seq_len", "depth", "trials", "accuracy", "mean_rank"}, ...],
//                   "copy": [{"distance", "span", "trials", "first_loss", "copy_loss", "gap"}, ...],
//                   "effective_length": {"original", "threshold", "<task>": length or null, ...}}.
void write_eval_json(const EvalReport *r, const char *path);

// eval_main: `train eval`: model.init_from on data.val at every length, eval.json.
int eval_main(const Config *c);

#endif
