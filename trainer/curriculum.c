// curriculum.c — stages of a run (see curriculum.h).
#include "curriculum.h"
#include "../util/util.h"

#include <string.h>

// batch_shape: the step's sequences of T tokens (seqs), split evenly over `groups`; in
// each group `micro` sequences per forward and `accum` forwards; seed_micro: the
// sequences of a forward on one rank (PoSE ids are seeded per forward of that plan, so
// every rank count draws the same ids for the same sequence). Each sequence splits into
// 2 x cp chunks over the cp ranks of a group.
static void batch_shape(const Config *c, long long T, int groups, int cp, const char *what, StagePlan *s) {
    long long seqs = c->batch_tokens / T, mb = c->micro_batch && c->micro_batch < seqs ? c->micro_batch : seqs;
    if (c->batch_tokens % T || seqs % mb)
        die("%s: train.batch_tokens %lld must be a multiple of seq_len %lld x train.micro_batch %lld (%s, %s)",
            what, c->batch_tokens, T, c->micro_batch ? c->micro_batch : seqs, config_where(c, "train.batch_tokens"),
            config_where(c, "train.micro_batch"));
    if (T % (2 * cp))
        die("%s: seq_len %lld does not split into 2 x train.context_parallel = %d equal chunks (%s): make it a "
            "multiple of %d", what, T, 2 * cp, config_where(c, "train.context_parallel"), 2 * cp);
    const char *ranks = cp > 1 ? "data-parallel groups" : "ranks";
    if (seqs % groups)
        die("%s: train.batch_tokens %lld is %lld sequences of seq_len %lld per step, which %d %s cannot share "
            "evenly (%s): make it a multiple of %d x %lld tokens", what, c->batch_tokens, seqs, T, groups, ranks,
            config_where(c, "train.batch_tokens"), groups, T);
    const long long local = seqs / groups, lmb = mb < local ? mb : local;
    if (local % lmb)
        die("%s: each of %d %s trains %lld sequences per step, not a multiple of train.micro_batch %lld (%s)",
            what, groups, ranks, local, lmb, config_where(c, "train.micro_batch"));
    s->seqs = (int)seqs;
    s->seed_micro = (int)mb;
    s->micro = (int)lmb;
    s->accum = (int)(local / lmb);
}

// stage_pose: the PoSE settings of stage i (its pose:, else train.pose), checked against
// its window.
static void stage_pose(const Config *c, int i, StagePlan *s) {
    const Stage *st = c->n_stages ? &c->stages[i] : NULL;
    const int own = st && st->pose_set;
    s->pose = own ? st->pose : (Pose){(int)c->pose_target_len, (int)c->pose_chunks};
    s->pose_where = own ? st->pose_where : config_where(c, "train.pose.target_len");
    if (!s->pose.target_len) return;
    if (s->pose.target_len < s->T)
        die("%s: PoSE target_len %d is shorter than the window of stage %d (seq_len %d); PoSE trains positions "
            "beyond the window: set target_len >= seq_len", s->pose_where, s->pose.target_len, i + 1, s->T);
    if (s->pose.chunks > s->T)
        die("%s: PoSE chunks %d exceed the window of stage %d (seq_len %d tokens)",
            own ? st->pose_where : config_where(c, "train.pose.chunks"), s->pose.chunks, i + 1, s->T);
}

void curriculum_plan(const Config *c, int ranks, int cp, Plan *p) {
    memset(p, 0, sizeof *p);
    p->ranks = ranks;
    p->cp = cp;
    if (ranks % p->cp)
        die("%s: train.context_parallel %d does not divide the %d ranks of this run (mpirun -np): run a multiple of "
            "%d ranks", config_where(c, "train.context_parallel"), p->cp, ranks, p->cp);
    p->groups = ranks / p->cp;
    char what[300];
    if (!c->n_stages) {
        snprintf(what, sizeof what, "%s", config_where(c, "train.seq_len"));
        p->n = 1;
        p->s[0] = (StagePlan){.T = (int)c->seq_len, .steps = c->max_steps, .lr_scale = 1.0};
        batch_shape(c, c->seq_len, p->groups, p->cp, what, &p->s[0]);
    } else {
        if (config_is_set(c, "train.seq_len"))
            die("%s: train.seq_len and curriculum are both set; with a curriculum each stage sets its seq_len (%s)",
                config_where(c, "train.seq_len"), config_where(c, "curriculum"));
        p->n = (int)c->n_stages;
        long long first = 0, cap = config_is_set(c, "train.max_steps") ? c->max_steps : -1;
        for (int i = 0; i < p->n; i++) {
            const Stage *st = &c->stages[i];
            StagePlan *s = &p->s[i];
            snprintf(what, sizeof what, "%s: curriculum[%d]", config_where(c, "curriculum"), i);
            s->T = (int)st->seq_len;
            s->lr_scale = st->lr_scale;
            batch_shape(c, st->seq_len, p->groups, p->cp, what, s);
            s->steps = (st->tokens + c->batch_tokens - 1) / c->batch_tokens;    // whole steps, rounded up
            if (cap >= 0 && first + s->steps > cap) s->steps = cap > first ? cap - first : 0;
            s->first_step = first;
            first += s->steps;
        }
    }
    for (int i = 0; i < p->n; i++) stage_pose(c, i, &p->s[i]);
    for (int i = 0; i < p->n; i++) {
        p->total_steps += p->s[i].steps;
        const int P = p->s[i].pose.target_len > p->s[i].T ? p->s[i].pose.target_len : p->s[i].T;
        p->max_P = P > p->max_P ? P : p->max_P;
        p->max_T = p->s[i].T > p->max_T ? p->s[i].T : p->max_T;
        p->max_B = p->s[i].micro > p->max_B ? p->s[i].micro : p->max_B;
        const size_t fwd = (size_t)p->s[i].micro * (size_t)p->s[i].T;
        p->max_tokens = fwd > p->max_tokens ? fwd : p->max_tokens;
    }
}

int plan_stage(const Plan *p, long long step) {
    int s = 0;
    while (s + 1 < p->n && step >= p->s[s + 1].first_step) s++;
    return s;
}

uint64_t stage_seed(const Config *c, long long step, int a) {
    Rng r = {(uint64_t)c->seed ^ 0x504F5345ull};           // "POSE"
    uint64_t x = rng_u64(&r) ^ ((uint64_t)step + 1) * 0x9E3779B97F4A7C15ull;
    return x ^ ((uint64_t)a + 1) * 0xC2B2AE3D27D4EB4Full;
}

void curriculum_position(const Config *c, int s, const Position *base, Position *out) {
    *out = *base;
    if (c->n_stages) position_overlay(out, &c->stages[s].over);
}
