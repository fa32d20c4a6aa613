// checkpoint.h — training checkpoints: checkpoints/<run>/step_NNNNNNNN/ with the weights
// (model.safetensors), the AdamW moments (optimizer.safetensors, or .zlib), the trainer
// state (trainer_state.json), the resolved config (config.yaml) and DONE, which lists
// every file's size and CRC-32 and is written last. A save goes to step_NNNNNNNN.tmp/,
// every file and the directory are fsynced, then it is renamed into place: a directory
// without .tmp and with DONE is whole. Loading verifies every size and CRC first.
#ifndef STRETCH_CHECKPOINT_H
#define STRETCH_CHECKPOINT_H

#include <stddef.h>
#include "config.h"
#include "optim.h"
#include "../data/data.h"
#include "../model/model.h"

// TrainState: where a run stands after `step` optimizer steps.
typedef struct {
    long long step, total_steps;
    long long tokens;              // training tokens seen
    int stage;                     // 0-based stage of the last step taken
    int seq_len;                   // its sequence length
    int trained_seq_len;           // the longest sequence length trained on so far
    LoaderCursor cursor;           // the next training sequence
    long long seed;                // run.seed (with the cursor: the data order)
    long long opt_t;               // AdamW updates taken (bias correction)
    double lr;                     // the learning rate of the last step
    double elapsed;                // seconds of training so far
    long long metrics_bytes;       // metrics.jsonl length at the save
    int threads;
    int ranks;                     // ranks of the run that saved it (1 when not recorded)
    char reason[16];               // every | stage | end | signal
} TrainState;

// checkpoint_save: write step_<ts->step>/ under run_dir crash-safely (see above), then
// keep only the newest checkpoint.keep_last complete ones. Returns the directory (caller
// frees). A directory of that step already there (a damaged one) is replaced.
char *checkpoint_save(const char *run_dir, const Model *m, const AdamW *opt, const TrainState *ts, const Config *c);
// train_state_json: {"step", "tokens", "seq_len" (the longest trained)}, the
// __metadata__.train of a model saved by a run.
void train_state_json(const TrainState *ts, char *buf, size_t cap);
// checkpoint_verify: 0 when dir is a whole checkpoint (DONE present; every file listed
// there has its size and CRC-32); else -1 with the reason in err.
int checkpoint_verify(const char *dir, char *err, size_t cap);
// checkpoint_newest: the newest whole checkpoint of run_dir, verified; a damaged one is
// reported on stderr and the previous one tried. NULL when none (caller frees).
char *checkpoint_newest(const char *run_dir);
// checkpoint_count: how many step_* directories run_dir holds (whole or not).
size_t checkpoint_count(const char *run_dir);
// checkpoint_set_aside: rename run_dir's step_* directories after `step` to .stale (they
// belong to the trajectory abandoned by resuming from `step`; none is taken as newest).
void checkpoint_set_aside(const char *run_dir, long long step);
// checkpoint_clean: remove leftovers of interrupted saves and prunes (step_*.tmp, .del).
void checkpoint_clean(const char *run_dir);
// checkpoint_read_state: trainer_state.json of a verified checkpoint.
void checkpoint_read_state(const char *dir, TrainState *ts);
// checkpoint_read_optimizer: the moments of parameters [opt->lo, opt->lo + opt->n) into
// opt (all of them when it holds all) and opt->t; the file holds every parameter's, so a
// checkpoint of any rank count resumes on any other.
void checkpoint_read_optimizer(const char *dir, const Model *m, AdamW *opt, long long t);

#endif
