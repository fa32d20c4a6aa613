// train.h — the state of one training run (train.c), how it starts or resumes
// (resume.c), and its live progress line (progress.c).
#ifndef STRETCH_TRAIN_H
#define STRETCH_TRAIN_H

#include <stdio.h>
#include "checkpoint.h"
#include "curriculum.h"
#include "eval.h"
#include "optim.h"
#include "report.h"

// Run: everything a training run holds; allocated once, before the first step. On N
// ranks (dist/dist.h) every rank holds the whole model and its part of the AdamW moments
// (parameters part[rank] .. part[rank + 1]); rank 0 (`lead`) alone writes files.
typedef struct {
    const Config *c;
    int threads;
    int lead;                  // rank 0: prints, writes metrics, checkpoints and models
    size_t *part;              // (ranks + 1) the parameter parts of the ranks
    float *comm;               // (ranks - 1) x the largest part: gradients from other ranks
    AdamW whole;               // rank 0 of N > 1: every rank's moments, gathered for a checkpoint
    double comm_s;             // seconds of the last step spent exchanging gradients and weights
    Plan plan;
    Model m;
    Position *stage_pos;       // (plan.n) each stage's position scheme, resolved
    Shard train, val;
    Evals ev;
    EvalReport *report;
    AdamW opt;
    Loader loader;
    Tokenizer tok;             // data.tokenizer, when data.mix is set
    Mix mix;                   // data.mix (n_tasks 0: none)
    Batch batch;               // token and position buffers of the largest forward (training or eval)
    Batch local;               // context parallel: this rank's rows of a training forward
    FILE *metrics;             // checkpoints/<run>/metrics.jsonl
    TrainState ts;             // where the run stands; what a checkpoint records
    double t_start;            // now_seconds() at step 0 (earlier sessions included)
} Run;

// Resume: how `train` starts: fresh, or from a checkpoint (--resume [PATH]).
typedef struct {
    int resume;                 // --resume given
    const char *path;           // its PATH (a step_N or run directory), or NULL: the run's own
} Resume;

// train_main: `train`: the run the config describes, fresh or resumed.
int train_main(const Config *c, const Resume *r);

// resume_from: the checkpoint directory to continue from (caller frees), or NULL to start
// fresh; dies when --resume finds nothing whole to resume.
char *resume_from(const Config *c, const Resume *r);
// lock_run: take dir/LOCK for this process (writing its pid), or die naming the pid of
// the process that holds it.
void lock_run(const char *dir);
// refuse_overwrite: dies when a fresh start would write over the run in checkpoints/<run>/.
void refuse_overwrite(const Config *c);
// resume_restore: r->ts, the AdamW moments (this rank's part) and the loader position
// from checkpoint `ckpt` (whose weights r->m already holds); returns, on rank 0,
// metrics.jsonl opened for appending, cut back to the checkpoint when it belongs to this
// run directory (NULL on other ranks).
FILE *resume_restore(Run *r, const char *ckpt);

// progress_tty: whether stdout is a terminal and not a rank of mpirun (then the loop
// draws a live line).
int progress_tty(void);
// progress_show: the live line after step `step` (1-based) of stage s: bars for the stage
// (stage_frac done) and the run, loss, tokens/s, memory, elapsed time and ETA.
void progress_show(const Run *r, long long step, int s, double loss, double tps, double stage_frac, double eta);
// progress_clear: erase the live line before other output (no-op when none is shown).
void progress_clear(void);

#endif
