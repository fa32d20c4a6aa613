// tasks.c — see tasks.h.
//
// Needle tasks: a prompt of T positions (as an eval window of T) runs once through
// model_forward_cached over rows [0, P - 1); each candidate's answer then runs from the
// prompt's last token over the cached keys/values: log p(answer | prompt), summed over
// its tokens.
//
// Copy by distance: sequence <s> t_0 .. t_{d-1} t_0 .. t_{span-1} of val text (BOS
// removed), so the span t_0 .. t_{span-1} starts at row 1 and again at row d + 1. One
// forward of d + span rows scores both occurrences: the loss of predicting t_j (j = 1 ..
// span-1) at the first occurrence (from rows j) and at the copy (rows d + j).
#include "tasks.h"
#include "setup.h"
#include "../dist/dist.h"
#include "../util/util.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void needles_plan(const Config *c, const Shard *val, int vocab, Needles *nd) {
    memset(nd, 0, sizeof *nd);
    if (!c->eval_tasks) return;
    const char *names = config_where(c, "eval.tasks.names"), *where = config_where(c, "eval.tasks.lengths");
    if (!c->n_task_lens) die("%s: eval.tasks.names needs eval.tasks.lengths (prompt lengths, e.g. [512, 4096])", names);
    load_tokenizer(&nd->tok, c, vocab, "eval.tasks.names");
    nd->filler = shard_text(val, SIZE_MAX, &nd->src.n_filler);
    nd->src = (NeedleSource){&nd->tok, nd->filler, nd->src.n_filler, (int)c->task_needles, val->doc};
    for (int t = 0; t < NUM_NEEDLE_TASKS; t++)
        if (c->eval_tasks >> t & 1) nd->task[nd->n_tasks++] = t;
    nd->n_lens = (int)c->n_task_lens;
    nd->n_depths = (int)c->n_task_depths;
    nd->trials = (int)c->task_trials;
    nd->seed = (uint64_t)c->seed ^ 0x5441534Bull;          // "TASK"
    for (int i = 0; i < nd->n_depths; i++) nd->depth[i] = c->task_depths[i];
    for (int i = 0; i < nd->n_lens; i++) {
        const double L = c->task_lens[i];
        if (L != floor(L) || (i > 0 && L <= nd->T[i - 1]))
            die("%s: eval.tasks.lengths must be whole lengths in increasing order (%g)", where, L);
        nd->T[i] = (int)L;
    }
    for (int k = 0; k < nd->n_tasks; k++) {
        const int need = needle_min_len(nd->task[k], &nd->src, names);
        if (nd->T[0] < need)
            die("%s: a %s prompt of %d positions leaves too little room for filler; use lengths of at least %d", where,
                needle_task_name(nd->task[k]), nd->T[0], need);
    }
    const int longest = nd->T[nd->n_lens - 1];
    if ((size_t)longest > nd->src.n_filler && (nd->n_tasks > 1 || nd->task[0] != NEEDLE_KV))
        die("%s: a prompt of %d positions needs as much filler text; %s holds %zu tokens of text (hint: a longer "
            "data.val)", where, longest, val->path, nd->src.n_filler);
    nd->seq = xmalloc(((size_t)longest + 1) * sizeof *nd->seq);
}

void needles_reserve(Model *m, const Needles *nd) {
    if (nd->n_tasks) model_reserve_cache(m, nd->T[nd->n_lens - 1]);
}

// score: log p(answer c | prompt) for every candidate, with the prompt's rows [0, P - 1)
// cached: each answer runs from the prompt's last token.
static void score(Model *m, const NeedlePrompt *p, const int *seq, int T, double *logp) {
    int in[NEEDLE_ANSWER_MAX + 1], tg[NEEDLE_ANSWER_MAX];
    for (int c = 0; c < NEEDLE_CANDIDATES; c++) {
        const int k = p->n_answer[c];
        in[0] = seq[p->n - 1];
        for (int j = 0; j < k; j++) in[j + 1] = tg[j] = (int)p->answer[c][j];
        model_forward_cached(m, in, tg, NULL, k, p->n - 1, T);
        logp[c] = 0.0;
        for (int j = 0; j < k; j++) logp[c] -= m->acts.losses[j];
    }
}

void needles_prompt(const Needles *nd, int ti, int li, int di, int trial, NeedlePrompt *p) {
    const int T = nd->T[li], task = nd->task[ti];
    uint64_t depth;                               // the depth's value, not its place in the list
    memcpy(&depth, &nd->depth[di], sizeof depth);
    Rng r = {nd->seed ^ ((uint64_t)T * 0x9E3779B97F4A7C15ull) ^ (depth * 0xD6E8FEB86659FD93ull) ^
             ((uint64_t)(task * 7919) * 1000003u + (uint64_t)trial) * 0xC2B2AE3D27D4EB4Full};
    needle_prompt((NeedleTask)task, &nd->src, T, nd->depth[di], &r, nd->seq, p);
}

void needles_trial(Model *m, const Needles *nd, int ti, int li, int di, int trial, TaskTrial *out) {
    const int T = nd->T[li];
    NeedlePrompt p;
    needles_prompt(nd, ti, li, di, trial, &p);
    out->P = p.n;
    model_forward_cached(m, nd->seq, NULL, NULL, p.n - 1, 0, T);
    score(m, &p, nd->seq, T, out->logp);
    int better = 0, tied = 0;
    for (int c = 1; c < NEEDLE_CANDIDATES; c++) {
        better += out->logp[c] > out->logp[0];
        tied += out->logp[c] == out->logp[0];
    }
    out->correct = better ? 0.0 : 1.0 / (tied + 1);
    out->rank = 1.0 + better + 0.5 * tied;
}

void needles_run(Model *m, const Needles *nd, TaskResult *res) {
    const int cells = nd->n_tasks * nd->n_lens * nd->n_depths;
    double *v = xcalloc(2 * (size_t)cells, sizeof *v);
    for (int ti = 0, i = 0; ti < nd->n_tasks; ti++)
        for (int li = 0; li < nd->n_lens; li++)
            for (int di = 0; di < nd->n_depths; di++, i++) {
                for (int t = dist_rank(); t < nd->trials; t += dist_size()) {   // ranks take turns
                    TaskTrial tr;
                    needles_trial(m, nd, ti, li, di, t, &tr);
                    v[i] += tr.correct;
                    v[cells + i] += tr.rank;
                }
                res[i] = (TaskResult){.task = nd->task[ti], .T = nd->T[li], .trials = nd->trials, .depth = nd->depth[di]};
            }
    dist_sum_f64(v, 2 * (size_t)cells);
    for (int i = 0; i < cells; i++) {
        res[i].accuracy = v[i] / nd->trials;
        res[i].mean_rank = v[cells + i] / nd->trials;
    }
    free(v);
}

void needles_free(Needles *nd) {
    if (nd->n_tasks) tokenizer_free(&nd->tok);
    free(nd->filler);
    free(nd->seq);
    memset(nd, 0, sizeof *nd);
}

int task_accuracy_by_len(const TaskResult *r, int n, int task, int *lens, double *acc) {
    int k = 0, trials[MAX_LIST] = {0};
    for (int i = 0; i < n; i++) {
        if (r[i].task != task) continue;
        int j = 0;
        while (j < k && lens[j] != r[i].T) j++;
        if (j == k) {
            if (k == MAX_LIST) continue;
            lens[k] = r[i].T;
            acc[k++] = 0.0;
        }
        acc[j] += r[i].accuracy * r[i].trials;
        trials[j] += r[i].trials;
    }
    for (int j = 0; j < k; j++) acc[j] /= trials[j];
    return k;
}

int effective_len(const int *lens, const double *score, int n, int original, double threshold, double floor) {
    if (n == 0) return 0;
    int ref = 0;
    for (int i = 0; i < n; i++)
        if (lens[i] <= original) ref = i;
    if (!(score[ref] > floor)) return 0;
    int eff = lens[ref];
    for (int i = ref + 1; i < n && score[i] >= threshold * score[ref]; i++) eff = lens[i];
    return eff;
}

void copy_plan(const Config *c, const Shard *val, Copy *cp) {
    memset(cp, 0, sizeof *cp);
    if (!c->n_copy_dists) return;
    const char *where = config_where(c, "eval.tasks.copy.distances");
    cp->span = (int)c->copy_span;
    cp->trials = (int)c->copy_trials;
    cp->seed = (uint64_t)c->seed ^ 0x434F5059ull;        // "COPY"
    cp->filler = shard_text(val, SIZE_MAX, &cp->n_filler);
    cp->doc = val->doc;
    cp->n_dist = (int)c->n_copy_dists;
    for (int i = 0; i < cp->n_dist; i++) {
        const double d = c->copy_dists[i];
        if (d != floor(d) || d < cp->span || (i > 0 && d <= cp->dist[i - 1]))
            die("%s: eval.tasks.copy.distances must be whole, increasing and at least eval.tasks.copy.span %d (%g)",
                where, cp->span, d);
        cp->dist[i] = (int)d;
    }
    const int longest = cp->dist[cp->n_dist - 1];
    if ((size_t)longest + 1 > cp->n_filler)
        die("%s: a copy at distance %d needs %d tokens of text; %s holds %zu (hint: a longer data.val or shorter "
            "distances)", where, longest, longest + 1, val->path, cp->n_filler);
    cp->seq = xmalloc(((size_t)longest + (size_t)cp->span + 1) * sizeof *cp->seq);
}

void copy_reserve(Model *m, const Copy *cp) {
    if (cp->n_dist) model_reserve(m, 1, cp->dist[cp->n_dist - 1] + cp->span, ACTS_FORWARD);
}

int copy_sequence(const Copy *cp, int di, int trial, int *seq) {
    const int d = cp->dist[di];
    Rng r = {cp->seed ^ ((uint64_t)d * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)trial + 1) * 0xC2B2AE3D27D4EB4Full};
    return copy_text(cp->filler + rng_below(&r, cp->n_filler - (size_t)d + 1), d, cp->span, cp->doc, seq);
}

// trial_losses: the mean loss over the span's tokens 1 .. span-1 at the first occurrence
// and at the copy of one sequence (n tokens in seq).
static void trial_losses(Model *m, const Copy *cp, int n, int d, double *first, double *copy) {
    model_forward(m, cp->seq, cp->seq + 1, NULL, 1, n - 1);
    double a = 0.0, b = 0.0;
    for (int j = 1; j < cp->span; j++) {
        a += m->acts.losses[j];
        b += m->acts.losses[d + j];
    }
    *first = a / (cp->span - 1);
    *copy = b / (cp->span - 1);
}

void copy_run(Model *m, const Copy *cp, CopyResult *res) {
    double v[2 * MAX_LIST] = {0};
    for (int di = 0; di < cp->n_dist; di++)
        for (int t = dist_rank(); t < cp->trials; t += dist_size()) {
            double first, copy;
            const int n = copy_sequence(cp, di, t, cp->seq);
            trial_losses(m, cp, n, cp->dist[di], &first, &copy);
            v[di] += first;
            v[MAX_LIST + di] += copy;
        }
    dist_sum_f64(v, 2 * MAX_LIST);
    for (int di = 0; di < cp->n_dist; di++) {
        CopyResult *r = &res[di];
        *r = (CopyResult){.dist = cp->dist[di], .span = cp->span, .trials = cp->trials};
        r->first_loss = v[di] / cp->trials;
        r->copy_loss = v[MAX_LIST + di] / cp->trials;
        r->gap = r->first_loss - r->copy_loss;
    }
}

void copy_free(Copy *cp) {
    free(cp->filler);
    free(cp->seq);
    memset(cp, 0, sizeof *cp);
}
