// curriculum.h — a run as a list of stages (`curriculum:` in the config, parsed by
// config.c): the plan of optimizer steps per stage, and each stage's position scheme.
// Without a curriculum the run is one stage of train.seq_len for train.max_steps steps.
#ifndef STRETCH_CURRICULUM_H
#define STRETCH_CURRICULUM_H

#include "config.h"

// StagePlan: stage steps [first_step, first_step + steps) run windows of T tokens,
// `micro` sequences per forward, `accum` forwards per optimizer step.
typedef struct {
    int T, micro, accum;
    long long first_step, steps;
    double lr_scale;
} StagePlan;

typedef struct Plan {
    int n;
    StagePlan s[MAX_STAGES];
    long long total_steps;
    int max_T;                  // the longest sequence of the run
    int max_B;                  // the most sequences of one forward
    size_t max_tokens;          // the most tokens of one forward (micro x T)
} Plan;

// curriculum_plan: steps, batch shape and LR scale of every stage. Dies naming the
// stage (or the keys) when batch_tokens does not split into its sequences. With a
// curriculum, train.max_steps (when set) caps the run and train.seq_len must not be set.
void curriculum_plan(const Config *c, Plan *p);
// plan_stage: the stage that runs optimizer step `step` (from 0).
int plan_stage(const Plan *p, long long step);
// curriculum_position: the position scheme of stage s, unresolved: `base` (the run's)
// with the keys the stage overrides.
void curriculum_position(const Config *c, int s, const Position *base, Position *out);

#endif
