// curriculum.h — a run as a list of stages (`curriculum:` in the config, parsed by
// config.c): the plan of optimizer steps per stage, and each stage's position scheme.
// Without a curriculum the run is one stage of train.seq_len for train.max_steps steps.
#ifndef STRETCH_CURRICULUM_H
#define STRETCH_CURRICULUM_H

#include "config.h"

// StagePlan: stage steps [first_step, first_step + steps) run windows of T tokens,
// `seqs` sequences per optimizer step over all ranks; each data-parallel group (Plan)
// trains `micro` sequences per forward and `accum` forwards (each of its cp ranks T/cp
// rows of them); with PoSE position ids when pose.target_len > 0 (the stage's pose:,
// else train.pose), seeded per forward of seed_micro sequences (the one-rank plan's
// micro, whatever the rank count).
typedef struct {
    int T, micro, accum;
    int seqs, seed_micro;
    long long first_step, steps;
    double lr_scale;
    Pose pose;
    const char *pose_where;     // where its target_len was set (config_where or the stage's)
} StagePlan;

typedef struct Plan {
    int n;
    int ranks;                  // all of them; rank = group * cp + member
    int cp;                     // train.context_parallel: ranks of a group, splitting each sequence
    int groups;                 // ranks / cp data-parallel groups: a step's sequences split over them
    StagePlan s[MAX_STAGES];
    long long total_steps;
    int max_T;                  // the longest sequence of the run
    int max_B;                  // the most sequences of one forward (on one rank)
    size_t max_tokens;          // the most tokens of one forward (micro x T: whole sequences)
    int max_P;                  // the largest position id + 1 of the run's training forwards
} Plan;

// curriculum_plan: steps, batch shape on each of `ranks` ranks in groups of cp (a
// training run's train.context_parallel; 1 for what does not train), LR scale and PoSE
// settings of every stage. Dies naming the stage (or the keys) when batch_tokens does
// not split into its sequences or over the data-parallel groups, cp does not divide the
// ranks or a seq_len into 2 x cp equal chunks, or a PoSE target_len is shorter than the
// window, or chunks exceed it. With a curriculum, train.max_steps (when set) caps the
// run and train.seq_len must not be set.
void curriculum_plan(const Config *c, int ranks, int cp, Plan *p);
// plan_stage: the stage that runs optimizer step `step` (from 0).
int plan_stage(const Plan *p, long long step);
// curriculum_position: the position scheme of stage s, unresolved: `base` (the run's)
// with the keys the stage overrides.
void curriculum_position(const Config *c, int s, const Position *base, Position *out);
// stage_seed: the seed of the PoSE ids of forward `a` of optimizer step `step`: a
// function of (run.seed, step, a) alone, so a resumed run draws the same ids.
uint64_t stage_seed(const Config *c, long long step, int a);

#endif
