// run.h — the subcommands of ./train: the training loop, evaluation by position, and
// the shared set-up (threads, model, data).
#ifndef STRETCH_RUN_H
#define STRETCH_RUN_H

#include <stdio.h>
#include "config.h"
#include "../data/data.h"
#include "../model/model.h"

#define MAX_BUCKETS 32

// EvalResult: mean next-token NLL (nats) over `tokens` targets, and per position bucket
// [edges[i], edges[i+1]).
typedef struct {
    double loss;
    size_t tokens;
    int n_buckets;
    int edges[MAX_BUCKETS + 1];
    double bucket_loss[MAX_BUCKETS];
    size_t bucket_tokens[MAX_BUCKETS];
} EvalResult;

// setup_threads: run.threads (0 = all cores) for OpenMP and OpenBLAS; returns the count.
int setup_threads(long long threads);
#define MAX_EVAL_LENS 16

// Evals: the lengths of eval.seq_lens (default: the run's longest seq_len), each
// evaluated B windows per forward so that a forward holds no more tokens than a
// training forward (or one window).
typedef struct {
    int n, T[MAX_EVAL_LENS], B[MAX_EVAL_LENS];
} Evals;

// evaluate: windows of T tokens (llm.c convention) over the shard, up to max_tokens
// targets, B windows per forward, with one layer of saved activations (m->recompute is
// restored after); inputs, targets (B, T) are the caller's buffers.
EvalResult evaluate(Model *m, const Shard *val, int *inputs, int *targets, int B, int T, long long max_tokens);
// evals_plan: the lengths and batch sizes for a run with stages `p`; dies before any
// training when the shard holds no window at one of the lengths.
struct Plan;
void evals_plan(const Config *c, const struct Plan *p, const Shard *val, Evals *e);
// evals_reserve: model_reserve for every length (evals run with recompute); returns the
// most tokens of one eval forward (the size of the caller's input/target buffers).
size_t evals_reserve(Model *m, const Evals *e);
// evals_run: evaluate at every length into r[0 .. e->n).
void evals_run(Model *m, const Evals *e, const Shard *val, int *inputs, int *targets, long long max_tokens, EvalResult *r);
void print_eval_table(const EvalResult *r, FILE *f);
// write_eval_json: {"evals": [{"seq_len", "loss", "tokens", "loss_by_position": [...]}, ...]}.
void write_eval_json(const EvalResult *r, int n, const char *path);

// load_model_for: model.init_from with its position scheme: the config's `position:`
// keys, or (none set) a stretch state's own scheme (checkpoint.c).
void load_model_for(Model *m, const Config *c);
// save_run_model: dir/model.safetensors (stretch state: weights, model and position
// metadata), plus dir/model.bin (llama2.c v1) when the scheme is plain RoPE.
void save_run_model(const Model *m, double base_theta, const char *dir);

int train_main(const Config *c);
int positions_main(const Config *c);
int eval_main(const Config *c);

#endif
