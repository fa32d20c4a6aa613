// tasks.h — retrieval tasks beyond passkey (tasks.c), under eval.tasks. So far: copy by
// distance. A span of real val text appears twice, its second occurrence d tokens after
// the first; the model's loss on the copy against its loss on the first occurrence
// shows whether it uses context d tokens back (an induction / copying ability that even
// tiny models have; cf. Olsson et al. 2022, "In-context learning and induction heads").
#ifndef STRETCH_TASKS_H
#define STRETCH_TASKS_H

#include <stdint.h>
#include "config.h"
#include "../data/data.h"
#include "../model/model.h"

// Copy: eval.tasks.copy: `trials` sequences per distance, spans of `span` tokens.
typedef struct {
    int n_dist, dist[MAX_LIST];
    int span, trials;
    uint64_t seed;
    uint32_t *filler;            // (n_filler) data.val without its BOS tokens
    size_t n_filler;
    int *seq;                    // (dist[n_dist - 1] + span + 1) one sequence
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
