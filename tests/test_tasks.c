// test_tasks.c — the retrieval tasks of eval.tasks (trainer/tasks.c) on the real
// stories260K and data.val. Copy by distance:
//   1. sequences: <s>, then d tokens of val text without BOS, then the first span of them
//      again; the same sequence for the same (distance, trial) on every call; other
//      trials draw other text;
//   2. scoring against an independent path: the first- and copy-occurrence losses that
//      copy_run reports equal the means of the same targets' losses from the cached
//      forward (model_forward_cached over the prefix, then over the copy's rows);
//   3. a uniform model (all weights 0: every logit equal) scores ln V on both occurrences
//      and a gap of exactly 0 — chance;
//   4. stories260K copies a span it saw 32 tokens back (gap > 0.1 nats) — a tiny model's
//      induction ability — and the bad-input checks are in tests/test_cli.sh.
// usage: test_tasks MODEL VAL_SHARD
#define _POSIX_C_SOURCE 200809L
#include "../data/data.h"
#include "../model/formats.h"
#include "../trainer/tasks.h"
#include "../util/util.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// cached_losses: mean losses of the span's targets 1 .. span-1 at both occurrences of
// sequence seq (n tokens), by the cached forward: rows [0, d) then rows [d, n - 1).
static void cached_losses(Model *m, const int *seq, int n, int d, int span, double *first, double *copy) {
    float *l = xmalloc((size_t)n * sizeof *l);
    model_forward_cached(m, seq, seq + 1, NULL, d, 0, n - 1);
    memcpy(l, m->acts.losses, (size_t)d * sizeof *l);
    model_forward_cached(m, seq + d, seq + d + 1, NULL, n - 1 - d, d, n - 1);
    memcpy(l + d, m->acts.losses, (size_t)(n - 1 - d) * sizeof *l);
    *first = *copy = 0.0;
    for (int j = 1; j < span; j++) {
        *first += l[j];
        *copy += l[d + j];
    }
    *first /= span - 1;
    *copy /= span - 1;
    free(l);
}

int main(int argc, char **argv) {
    if (argc != 3) die("usage: test_tasks MODEL VAL_SHARD");
    char *sets[] = {"eval.tasks.copy.distances=[32, 200, 700]", "eval.tasks.copy.span=24", "eval.tasks.copy.trials=3"};
    Config *c = xmalloc(sizeof *c);
    config_load(c, NULL, sets, 3);
    Model m;
    Shard val;
    Copy cp;
    load_model(&m, argv[1]);
    shard_load(&val, argv[2], m.cfg.vocab);
    copy_plan(c, &val, &cp);
    CHECK_TRUE("plan: 3 distances, span 24, 3 trials", cp.n_dist == 3 && cp.span == 24 && cp.trials == 3);
    copy_reserve(&m, &cp);
    model_reserve_cache(&m, 700 + 24);
    model_prepare(&m);

    // 1. sequences
    const int L = 700 + 24 + 1;
    int *a = xmalloc(L * sizeof *a), *b = xmalloc(L * sizeof *b);
    int ok = 1, differ = 0;
    for (int di = 0; di < cp.n_dist; di++)
        for (int t = 0; t < cp.trials; t++) {
            const int d = cp.dist[di], n = copy_sequence(&cp, di, t, a);
            ok &= n == d + 24 + 1 && a[0] == BOS_ID && !memcmp(a + 1, a + 1 + d, 24 * sizeof *a);
            for (int j = 1; j < n; j++) ok &= a[j] != BOS_ID && a[j] >= 0 && a[j] < m.cfg.vocab;
            ok &= copy_sequence(&cp, di, t, b) == n && !memcmp(a, b, (size_t)n * sizeof *a);
            if (t > 0) {
                copy_sequence(&cp, di, t - 1, b);
                differ += memcmp(a, b, (size_t)n * sizeof *a) != 0;
            }
        }
    CHECK_TRUE("sequences: <s>, d tokens of text, its first 24 again; the same on every call", ok);
    CHECK_TRUE("sequences: other trials draw other text", differ == cp.n_dist * (cp.trials - 1));

    // 2. scoring = the cached forward's losses of the same targets
    CopyResult r[MAX_LIST];
    copy_run(&m, &cp, r);
    for (int di = 0; di < cp.n_dist; di++) {
        double first = 0.0, copy = 0.0;
        for (int t = 0; t < cp.trials; t++) {
            double f, k;
            const int n = copy_sequence(&cp, di, t, a);
            cached_losses(&m, a, n, cp.dist[di], cp.span, &f, &k);
            first += f / cp.trials;
            copy += k / cp.trials;
        }
        CHECK_CLOSE(check_what("distance %d: first-occurrence loss = the cached forward's", cp.dist[di]), r[di].first_loss,
                    first, 1e-5, 1e-5);
        CHECK_CLOSE(check_what("distance %d: copy loss = the cached forward's", cp.dist[di]), r[di].copy_loss, copy, 1e-5,
                    1e-5);
        CHECK_CLOSE(check_what("distance %d: gap = first - copy", cp.dist[di]), r[di].gap, r[di].first_loss - r[di].copy_loss,
                    1e-12, 0);
    }
    // 4. a tiny model's induction
    CHECK_TRUE(check_what("stories260K uses a span 32 tokens back: gap %.3f > 0.1 nats", r[0].gap), r[0].gap > 0.1);

    // 3. chance: a uniform model
    memset(m.params_memory, 0, m.num_params * sizeof(float));
    copy_run(&m, &cp, r);
    ok = 1;
    for (int di = 0; di < cp.n_dist; di++)
        ok &= fabs(r[di].first_loss - log(m.cfg.vocab)) < 1e-5 && fabs(r[di].copy_loss - log(m.cfg.vocab)) < 1e-5 &&
              r[di].gap == 0.0;
    check_report(ok, "uniform model: both losses ln V, gap exactly 0 (chance)", r[0].first_loss, log(m.cfg.vocab));
    free(a), free(b), free(c);
    copy_free(&cp);
    shard_free(&val);
    model_free(&m);
    return check_done("test_tasks");
}
