// tasks.h — the retrieval evals of eval.tasks (tasks.c):
//   - the needle tasks (data/needles.h: passkey, multikey, multivalue, kv) at every
//     (length, depth), scored by likelihood ranking: the prompt runs once through the
//     cached forward and each candidate answer is scored from the cache; a trial is right
//     when the right answer is the most likely (no generation, no answer parsing);
//   - copy by distance: a span of real val text appears twice, its second occurrence d
//     tokens after the first; the loss on the copy against the loss on the first
//     occurrence shows whether the model uses context d tokens back (an induction /
//     copying ability that even tiny models have; cf. Olsson et al. 2022, "In-context
//     learning and induction heads").
// Effective length (after RULER, Hsieh et al. 2024): per task, the longest evaluated
// length up to which accuracy stays at least eval.tasks.threshold x its accuracy at the
// model's original context.
#ifndef STRETCH_TASKS_H
#define STRETCH_TASKS_H

#include <stdint.h>
#include "config.h"
#include "../data/data.h"
#include "../data/needles.h"
#include "../model/model.h"

// Needles: the needle tasks named in eval.tasks.names, `trials` prompts per (task,
// length, depth) cell.
typedef struct {
    int n_tasks, task[NUM_NEEDLE_TASKS];     // NeedleTask, in the order of needles.h
    int n_lens, T[MAX_LIST];
    int n_depths;
    double depth[MAX_LIST];
    int trials;
    uint64_t seed;
    Tokenizer tok;
    NeedleSource src;                        // tok, data.val's text without BOS, needles
    uint32_t *filler;                        // (n_filler) owned
    int *seq;                                // (T[n_lens - 1] + 1) a prompt
} Needles;

// TaskResult: one (task, length, depth) cell: the trials' accuracy and the right
// answer's mean rank among the NEEDLE_CANDIDATES (1 = first). A tie between the right
// answer and k wrong ones counts as 1 / (k + 1) right and rank 1 + better + k / 2 (the
// expectation under a random tie-break), so a model that cannot tell the candidates
// apart scores chance: 1 / NEEDLE_CANDIDATES and rank (NEEDLE_CANDIDATES + 1) / 2.
typedef struct {
    int task, T, trials;
    double depth, accuracy, mean_rank;
} TaskResult;

// TaskTrial: one prompt: its length P (the answer starts at position P), each
// candidate's log p(answer | prompt) (logp[0] the right one), its credit and rank.
typedef struct {
    int P;
    double logp[NEEDLE_CANDIDATES], correct, rank;
} TaskTrial;

// needles_plan: from eval.tasks (n_tasks = 0 when no names); dies, naming the key and
// where it was set, when data.tokenizer is missing or does not match the model or cannot
// encode a task's text, or a length is too short for a prompt or longer than data.val's
// text.
void needles_plan(const Config *c, const Shard *val, int vocab, Needles *nd);
// needles_reserve: the key/value cache and the forwards of the longest prompt.
void needles_reserve(Model *m, const Needles *nd);
// needles_prompt: the prompt of trial `trial` of cell (task index ti, length index li,
// depth index di) into nd->seq and p, drawn from its own seed (run.seed, task, length,
// depth, trial): the same prompt at every call of a run.
void needles_prompt(const Needles *nd, int ti, int li, int di, int trial, NeedlePrompt *p);
// needles_trial: needles_prompt's prompt, its candidates scored. Forward only.
void needles_trial(Model *m, const Needles *nd, int ti, int li, int di, int trial, TaskTrial *out);
// needles_run: every cell into r (n_tasks x n_lens x n_depths, task-major then length);
// the trials shared by the ranks (dist.h).
void needles_run(Model *m, const Needles *nd, TaskResult *r);
void needles_free(Needles *nd);

// task_accuracy_by_len: task `task`'s accuracy per length (mean over depths) from the n
// cells of r into acc, lengths into lens; returns how many lengths.
int task_accuracy_by_len(const TaskResult *r, int n, int task, int *lens, double *acc);
// effective_len: with ref the longest of lens[0..n) (increasing) that is <= original
// (the shortest when none is): the longest length from ref on such that it and every
// length between score at least threshold x score[ref]; 0 when score[ref] is not above
// `floor` (twice chance for accuracies, 0 for copy gaps: a model that cannot do the task
// at its original context has no effective length).
int effective_len(const int *lens, const double *score, int n, int original, double threshold, double floor);

// Copy: eval.tasks.copy: `trials` sequences per distance, spans of `span` tokens.
typedef struct {
    int n_dist, dist[MAX_LIST];
    int span, trials;
    uint64_t seed;
    uint32_t *filler;            // (n_filler) data.val without its BOS tokens
    size_t n_filler;
    int *seq;                    // (dist[n_dist - 1] + span + 1) one sequence
    uint32_t doc;                // the token each sequence starts with (val's document token)
} Copy;

// CopyResult: one distance: the mean next-token loss (nats) over the span's tokens 2 ..
// span (the first cannot be predicted from the copy) at the first occurrence and at the
// copy, over `trials` sequences; gap = first_loss - copy_loss (> 0: the model uses the
// earlier occurrence).
typedef struct {
    int dist, span, trials;
    double first_loss, copy_loss, gap;
} CopyResult;

// copy_plan: from eval.tasks.copy (n_dist = 0 when distances are unset); dies, naming the
// key and where it was set, when distances are not whole, increasing and at least the
// span, or data.val holds too little text for the longest.
void copy_plan(const Config *c, const Shard *val, Copy *cp);
// copy_reserve: the forward of the longest sequence (dist + span tokens, recompute).
void copy_reserve(Model *m, const Copy *cp);
// copy_sequence: trial `trial` at distance index di into seq: <s> filler[o, o + d)
// filler[o, o + span), o drawn from (run.seed, d, trial); returns its length d + span + 1.
int copy_sequence(const Copy *cp, int di, int trial, int *seq);
// copy_run: every distance into r (n_dist); the trials shared by the ranks (dist.h).
void copy_run(Model *m, const Copy *cp, CopyResult *r);
void copy_free(Copy *cp);

#endif
