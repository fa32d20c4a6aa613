// test_tasks.c — the retrieval tasks of eval.tasks (trainer/tasks.c) on the real
// stories260K, its tokenizer and data.val (the prompts themselves: tests/test_needles.c).
// Needle tasks (passkey, multikey, multivalue, kv):
//   5. every candidate's score equals the log-probability that one plain forward of
//      prompt + answer gives its answer tokens (an independent path: no cache), and the
//      credit and rank follow from the scores (ties split); the same trial on every call;
//   6. a uniform model (all weights 0) ties every candidate: accuracy exactly 1/10 and
//      mean rank 5.5 in every cell — chance;
//   7. effective length on hand-made accuracy curves.
// Copy by distance:
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
// usage: test_tasks MODEL TOKENIZER VAL_SHARD
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

// full_logp: log p(answer | prompt) from one plain forward of prompt seq[0, P) + answer.
static double full_logp(Model *m, const int *seq, int P, const uint32_t *ans, int k) {
    const int T = P + k - 1;
    int *in = xmalloc((size_t)T * sizeof(int)), *tg = xmalloc((size_t)T * sizeof(int));
    for (int t = 0; t < T; t++) {
        in[t] = t < P ? seq[t] : (int)ans[t - P];
        tg[t] = t + 1 < P ? seq[t + 1] : (int)ans[t + 1 - P];
    }
    model_forward(m, in, tg, NULL, 1, T);
    double lp = 0.0;
    for (int t = P - 1; t < T; t++) lp -= m->acts.losses[t];
    free(in);
    free(tg);
    return lp;
}

// test_needles: 5 and 6 on every task at two lengths and three depths.
static void test_needles(const char *model_path, const char *tok_path, const Shard *val) {
    char tok_set[300];
    snprintf(tok_set, sizeof tok_set, "data.tokenizer=%s", tok_path);
    char *sets[] = {tok_set, "eval.tasks.names=[passkey, multikey, multivalue, kv]", "eval.tasks.lengths=[256, 400]",
                    "eval.tasks.depths=[0, 0.5, 1]", "eval.tasks.trials=2", "eval.tasks.needles=3"};
    Config *c = xmalloc(sizeof *c);
    config_load(c, NULL, sets, 6);
    Model m;
    Needles nd;
    load_model(&m, model_path);
    needles_plan(c, val, m.cfg.vocab, &nd);
    CHECK_TRUE("plan: 4 tasks x 2 lengths x 3 depths x 2 trials",
               nd.n_tasks == 4 && nd.n_lens == 2 && nd.n_depths == 3 && nd.trials == 2);
    needles_reserve(&m, &nd);
    model_reserve(&m, 1, 400 + NEEDLE_ANSWER_MAX, ACTS_FORWARD);
    model_prepare(&m);
    int *seq = xmalloc(401 * sizeof *seq);
    for (int ti = 0; ti < nd.n_tasks; ti++)
        for (int li = 0; li < nd.n_lens; li++)
            for (int di = 0; di < nd.n_depths; di++) {
                NeedlePrompt p;
                TaskTrial t, again;
                needles_prompt(&nd, ti, li, di, 1, &p);
                memcpy(seq, nd.seq, (size_t)p.n * sizeof *seq);
                needles_trial(&m, &nd, ti, li, di, 1, &t);
                int scores_ok = t.P == p.n, better = 0, tied = 0;
                double worst = 0.0;
                for (int k = 0; k < NEEDLE_CANDIDATES; k++) {
                    const double ref = full_logp(&m, seq, p.n, p.answer[k], p.n_answer[k]);
                    scores_ok &= check_within(t.logp[k], ref, 1e-4, 1e-4);
                    worst = fmax(worst, fabs(t.logp[k] - ref));
                    better += k > 0 && ref > t.logp[0];
                    tied += k > 0 && ref == t.logp[0];
                }
                const char *name = needle_task_name(nd.task[ti]);
                check_report(scores_ok, check_what("%s T %d depth %g: each candidate's score = log p(answer) of a full "
                             "forward", name, nd.T[li], nd.depth[di]), worst, 0.0);
                CHECK_CLOSE(check_what("%s: rank = 1 + better + ties / 2", name), t.rank, 1.0 + better + 0.5 * tied, 0, 0);
                CHECK_CLOSE(check_what("%s: credit = 1 / (1 + ties) when none is better", name), t.correct,
                            better ? 0.0 : 1.0 / (1 + tied), 0, 0);
                needles_trial(&m, &nd, ti, li, di, 1, &again);
                CHECK_TRUE(check_what("%s: the same trial on every call", name),
                           again.P == t.P && !memcmp(again.logp, t.logp, sizeof t.logp));
            }
    memset(m.params_memory, 0, m.num_params * sizeof(float));       // 6. chance
    TaskResult *r = xmalloc(4 * 2 * 3 * sizeof *r);
    needles_run(&m, &nd, r);
    int ok = 1;
    for (int i = 0; i < 24; i++)
        ok &= r[i].accuracy == 1.0 / NEEDLE_CANDIDATES && r[i].mean_rank == 0.5 * (NEEDLE_CANDIDATES + 1) &&
              r[i].task == nd.task[i / 6] && r[i].T == nd.T[i / 3 % 2] && r[i].depth == nd.depth[i % 3];
    check_report(ok, "uniform model: every cell at chance (accuracy 1/10, mean rank 5.5), cells task-major", r[0].accuracy,
                 0.1);
    free(r);
    free(seq);
    free(c);
    needles_free(&nd);
    model_free(&m);
}

// test_effective: 7.
static void test_effective(void) {
    const int lens[] = {256, 512, 1024, 2048, 4096};
    const double a[] = {0.9, 1.0, 0.85, 0.79, 0.95}, b[] = {0.5, 0.15, 0.9, 0.9, 0.9};
    CHECK_EQ("effective length: from the original context on, until the first below 0.8 x",
             effective_len(lens, a, 5, 512, 0.8, 0.2), 1024);
    CHECK_EQ("effective length: a threshold of 0.75 reaches the last", effective_len(lens, a, 5, 512, 0.75, 0.2), 4096);
    CHECK_EQ("effective length: none when the original context's accuracy is not above the floor",
             effective_len(lens, b, 5, 512, 0.8, 0.2), 0);
    CHECK_EQ("effective length: lengths all beyond the original start from the shortest",
             effective_len(lens + 2, a + 2, 3, 512, 0.95, 0.2), 1024);
}

int main(int argc, char **argv) {
    if (argc != 4) die("usage: test_tasks MODEL TOKENIZER VAL_SHARD");
    test_effective();
    char *sets[] = {"eval.tasks.copy.distances=[32, 200, 700]", "eval.tasks.copy.span=24", "eval.tasks.copy.trials=3"};
    Config *c = xmalloc(sizeof *c);
    config_load(c, NULL, sets, 3);
    Model m;
    Shard val;
    Copy cp;
    load_model(&m, argv[1]);
    shard_load(&val, argv[3], m.cfg.vocab);
    test_needles(argv[1], argv[2], &val);
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
