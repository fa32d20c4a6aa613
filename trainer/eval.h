// eval.h — evaluation (eval.c): loss in windows of T tokens by position bucket at every
// eval.seq_lens length, the passkey cells, their reports (table, metrics.jsonl rows,
// eval.json), and the `train eval` subcommand.
#ifndef STRETCH_EVAL_H
#define STRETCH_EVAL_H

#include <stdio.h>
#include "config.h"
#include "curriculum.h"
#include "passkey.h"
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
// (config_eval_document_mask); and the passkey eval. Evals never use PoSE.
typedef struct {
    int n, T[MAX_LIST], B[MAX_LIST];
    int document_mask;
    Passkey pk;
    Copy copy;                   // eval.tasks.copy: runs with the passkey eval
} Evals;

// EvalReport: the results of one round of evals.
typedef struct {
    int n, n_pk, n_copy;
    EvalResult r[MAX_LIST];
    PasskeyResult pk[MAX_LIST * MAX_LIST];
    CopyResult copy[MAX_LIST];
} EvalReport;

// evaluate: windows of T tokens (llm.c convention) over the shard, up to max_tokens
// targets, B windows per forward (forward only), attention within documents when
// document_mask (positions restart at each); b holds the caller's (B, T) buffers.
EvalResult evaluate(Model *m, const Shard *val, const Batch *b, int B, int T, long long max_tokens, int document_mask);
// evals_plan: the lengths, batch sizes and passkey prompts for a run with stages `p`;
// dies before any training when the shard holds no window at one of the lengths.
void evals_plan(const Config *c, const Plan *p, const Shard *val, int vocab, Evals *e);
// evals_reserve: model_reserve for every length (evals run with recompute) and the
// passkey cache; returns the most tokens of one eval forward (the size of the caller's
// input/target buffers).
size_t evals_reserve(Model *m, const Evals *e);
// evals_run: evaluate at every length (when `loss`), then the passkey cells and the
// retrieval tasks (when `passkey`); a part not run is left out of the report.
void evals_run(Model *m, const Evals *e, const Shard *val, const Batch *b, long long max_tokens, int loss, int passkey,
               EvalReport *out);
void evals_free(Evals *e);
// print_eval_report: the loss-by-position table of each length, then the passkey table.
void print_eval_report(const EvalReport *r, FILE *f);
// log_eval_report: metrics.jsonl rows ("eval" per length, "passkey" per cell, "copy" per
// distance) and one progress line per length, for the passkey and for the copy task.
void log_eval_report(FILE *metrics, long long step, long long tokens, const EvalReport *r);
// write_eval_json: {"evals": [{"seq_len", "loss", "tokens", "loss_by_position": [...]}, ...],
//                   "passkey": [{"seq_len", "depth", "trials", "accuracy", "mean_rank"}, ...],
//                   "copy": [{"distance", "span", "trials", "first_loss", "copy_loss", "gap"}, ...]}.
void write_eval_json(const EvalReport *r, const char *path);

// eval_main: `train eval`: model.init_from on data.val at every length, eval.json.
int eval_main(const Config *c);

#endif
