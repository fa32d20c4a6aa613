// tasks.c — see tasks.h. Copy by distance: sequence <s> t_0 .. t_{d-1} t_0 .. t_{span-1}
// of val text (BOS removed), so the span t_0 .. t_{span-1} starts at row 1 and again at
// row d + 1. One forward of d + span rows scores both occurrences: the loss of predicting
// t_j (j = 1 .. span-1) at the first occurrence (from rows j) and at the copy (rows d + j).
#include "tasks.h"
#include "../dist/dist.h"
#include "../util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void copy_plan(const Config *c, const Shard *val, Copy *cp) {
    memset(cp, 0, sizeof *cp);
    if (!c->n_copy_dists) return;
    const char *where = config_where(c, "eval.tasks.copy.distances");
    cp->span = (int)c->copy_span;
    cp->trials = (int)c->copy_trials;
    cp->seed = (uint64_t)c->seed ^ 0x434F5059ull;        // "COPY"
    cp->filler = shard_text(val, &cp->n_filler);
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
    if (cp->n_dist) model_reserve(m, 1, cp->dist[cp->n_dist - 1] + cp->span, 1);
}

int copy_sequence(const Copy *cp, int di, int trial, int *seq) {
    const int d = cp->dist[di];
    Rng r = {cp->seed ^ ((uint64_t)d * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)trial + 1) * 0xC2B2AE3D27D4EB4Full};
    const uint32_t *f = cp->filler + rng_below(&r, cp->n_filler - (size_t)d + 1);
    int n = 0;
    seq[n++] = BOS_ID;
    for (int j = 0; j < d; j++) seq[n++] = (int)f[j];
    for (int j = 0; j < cp->span; j++) seq[n++] = (int)f[j];
    return n;
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
