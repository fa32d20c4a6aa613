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

// Passkey: the passkey retrieval eval (passkey.c) of eval.passkey: prompts of `T[i]`
// positions with the key at each depth, `trials` prompts per (length, depth).
#define PASSKEY_KEYS 10          // the right key and 9 wrong ones
typedef struct {
    int n_lens, T[MAX_LIST];
    int n_depths;
    double depth[MAX_LIST];
    int trials;
    uint64_t seed;
    Tokenizer tok;
    uint32_t *filler;            // (n_filler) data.val without its BOS tokens
    size_t n_filler;
    uint32_t question[64];       // "What is the pass key? The pass key is"
    int n_question;
    int *seq;                    // (T[n_lens - 1] + 1) a prompt
} Passkey;

// PasskeyResult: one (length, depth) cell: trials whose right key scored highest, and
// the right key's mean rank among the PASSKEY_KEYS (1 = first, ties count against it).
typedef struct {
    int T, trials, correct;
    double depth, mean_rank;
} PasskeyResult;

// passkey_plan: from eval.passkey (n_lens = 0 when unset); dies, naming the key, when
// data.tokenizer is missing or does not match the model, or a length cannot hold the
// prompt or the filler text.
void passkey_plan(const Config *c, const Shard *val, int vocab, Passkey *pk);
// passkey_reserve: the key/value cache and the forwards of the longest prompt.
void passkey_reserve(Model *m, const Passkey *pk);
// passkey_run: every (length, depth) cell into r (n_lens * n_depths, length-major);
// the same prompts at every call of a run (seeded by run.seed). Forward only.
void passkey_run(Model *m, const Passkey *pk, PasskeyResult *r);
void passkey_free(Passkey *pk);
// PasskeyTrial: one prompt: its length P (the answer starts at position P), the keys
// (key[0] the right one), each key's log p(answer | prompt), and the right key's rank.
typedef struct {
    int P, rank, key[PASSKEY_KEYS];
    double logp[PASSKEY_KEYS];
} PasskeyTrial;
// passkey_trial: trial `trial` of cell (T, depth index di): seq (T + 1) gets the prompt.
void passkey_trial(Model *m, const Passkey *pk, int T, int di, int trial, int *seq, PasskeyTrial *out);

// Evals: the lengths of eval.seq_lens (default: the run's longest seq_len), each
// evaluated B windows per forward so that a forward holds no more tokens than a
// training forward (or one window); and the passkey eval.
typedef struct {
    int n, T[MAX_LIST], B[MAX_LIST];
    Passkey pk;
} Evals;

// EvalReport: the results of one round of evals.
typedef struct {
    int n, n_pk;
    EvalResult r[MAX_LIST];
    PasskeyResult pk[MAX_LIST * MAX_LIST];
} EvalReport;

// evaluate: windows of T tokens (llm.c convention) over the shard, up to max_tokens
// targets, B windows per forward, with one layer of saved activations (m->recompute is
// restored after); inputs, targets (B, T) are the caller's buffers.
EvalResult evaluate(Model *m, const Shard *val, int *inputs, int *targets, int B, int T, long long max_tokens);
// evals_plan: the lengths, batch sizes and passkey prompts for a run with stages `p`;
// dies before any training when the shard holds no window at one of the lengths.
struct Plan;
void evals_plan(const Config *c, const struct Plan *p, const Shard *val, int vocab, Evals *e);
// evals_reserve: model_reserve for every length (evals run with recompute) and the
// passkey cache; returns the most tokens of one eval forward (the size of the caller's
// input/target buffers).
size_t evals_reserve(Model *m, const Evals *e);
// evals_run: evaluate at every length (when `loss`), then the passkey cells (when
// `passkey`); a part not run is left out of the report.
void evals_run(Model *m, const Evals *e, const Shard *val, int *inputs, int *targets, long long max_tokens, int loss,
               int passkey, EvalReport *out);
void evals_free(Evals *e);
// print_eval_report: the loss-by-position table of each length, then the passkey table.
void print_eval_report(const EvalReport *r, FILE *f);
// log_eval_report: metrics.jsonl rows ("eval" per length, "passkey" per cell) and one
// progress line per length and for the passkey.
void log_eval_report(FILE *metrics, long long step, long long tokens, const EvalReport *r);
// write_eval_json: {"evals": [{"seq_len", "loss", "tokens", "loss_by_position": [...]}, ...],
//                   "passkey": [{"seq_len", "depth", "trials", "accuracy", "mean_rank"}, ...]}.
void write_eval_json(const EvalReport *r, const char *path);

// load_data: the shard(s) of the config key `key` (data.train or data.val: a path or glob).
void load_data(Shard *s, const Config *c, const char *key, int vocab);
// SourceKind: what a model path names (resolve_source in modelio.c).
typedef enum { SRC_LLAMA2C, SRC_HF, SRC_STATE } SourceKind;
// resolve_source: the file or directory to load for `from` (a llama2.c file, a stretch
// state, a checkpoint step directory, a run directory or a Hugging Face directory);
// checkpoints are CRC-checked first. Caller frees.
char *resolve_source(const char *from, SourceKind *kind);
// load_model_from: the model `from` names with its position scheme: the config's
// `position:` keys if any are set, else the source's own (a stretch state's metadata, a
// Hugging Face config's "stretch" key or rope_scaling; plain RoPE for llama2.c). Returns
// resolve_source's path (caller frees); *kind (may be NULL) gets its kind.
char *load_model_from(Model *m, const Config *c, const char *from, SourceKind *kind);
// load_model_for: load_model_from(model.init_from).
void load_model_for(Model *m, const Config *c);
// save_model_state: a stretch state of m at path (position metadata relative to the
// base model's theta), with __metadata__.train = train_json unless NULL.
void save_model_state(const Model *m, double base_theta, const char *train_json, const char *path);
// save_run_model: dir/model.safetensors (save_model_state), plus dir/model.bin
// (llama2.c v1) when the scheme is plain RoPE.
void save_run_model(const Model *m, double base_theta, const char *train_json, const char *dir);
// hf_position: the position scheme of Hugging Face directory `dir` into own: our
// export's "stretch.position", else rope_scaling translated key by key (export.c).
void hf_position(Config *own, const char *dir);

// Resume: how `train` starts: fresh, or from a checkpoint (--resume [PATH]).
typedef struct {
    int resume;                 // --resume given
    const char *path;           // its PATH (a step_N or run directory), or NULL: the run's own
} Resume;

int train_main(const Config *c, const Resume *r);
int export_main(int argc, char **argv);
int positions_main(const Config *c);
int eval_main(const Config *c);

#endif
