// test_curriculum.c — the curriculum's parsing and plan: steps, batch shapes and LR
// scales per stage, token suffixes, the max_steps cap, stage lookup, each stage's rope
// overrides over the run's position settings, the LR schedule over the whole run, and
// that the resolved config writes the curriculum back as it was read.
#define _POSIX_C_SOURCE 200809L
#include "../trainer/config.h"
#include "../trainer/curriculum.h"
#include "../trainer/optim.h"
#include "../util/util.h"
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *YAML =
    "train:\n"
    "  batch_tokens: 32768\n"
    "  micro_batch: 4\n"
    "  schedule: {warmup_steps: 4, decay: linear, min_lr: 0.0}\n"
    "  optimizer: {lr: 1.0e-3}\n"
    "position:\n"
    "  rope: {scaling: yarn, factor: 4, original_max_position_embeddings: 512}\n"
    "curriculum:\n"
    "  - {seq_len: 2048, tokens: 1M}\n"
    "  - {seq_len: 8192, tokens: 512K, rope: {factor: 16}}\n"
    "  - {seq_len: 32768, tokens: 100000, rope: {factor: 64, beta_fast: 16}, lr_scale: 0.5}\n";

static void load(Config *c, const char *path, char **sets, int n) {
    config_load(c, path, sets, n);
}

int main(void) {
    const char *path = "build/test_curriculum.yaml", *round = "build/test_curriculum_resolved.yaml";
    FILE *f = xfopen(path, "w");
    fputs(YAML, f);
    fclose(f);
    Config *c = xmalloc(sizeof *c), *back = xmalloc(sizeof *back);
    Plan p;
    load(c, path, NULL, 0);
    curriculum_plan(c, 1, 1, &p);
    CHECK_EQ("three stages", p.n, 3);
    check_report(p.s[0].steps == 32 && p.s[0].first_step == 0, "stage 1: 1M tokens = 32 steps of 32768", (double)p.s[0].steps, 32);
    check_report(p.s[1].steps == 16 && p.s[1].first_step == 32, "stage 2: 512K tokens = 16 steps from step 32", (double)p.s[1].steps, 16);
    check_report(p.s[2].steps == 4 && p.s[2].first_step == 48, "stage 3: 100000 tokens round up to 4 steps", (double)p.s[2].steps, 4);
    CHECK_EQ("total steps", p.total_steps, 52);
    check_report(p.s[0].micro == 4 && p.s[0].accum == 4, "stage 1: 16 sequences = 4 x 4", p.s[0].micro * 100 + p.s[0].accum, 404);
    check_report(p.s[1].micro == 4 && p.s[1].accum == 1, "stage 2: 4 sequences = 4 x 1", p.s[1].micro * 100 + p.s[1].accum, 401);
    check_report(p.s[2].micro == 1 && p.s[2].accum == 1, "stage 3: one sequence (micro_batch capped)", p.s[2].micro * 100 + p.s[2].accum, 101);
    check_report(p.max_T == 32768 && p.max_B == 4, "longest T and widest forward", p.max_T * 10.0 + p.max_B, 327684);
    check_report(p.s[2].lr_scale == 0.5 && p.s[0].lr_scale == 1.0, "lr_scale: given and default", p.s[2].lr_scale, 0.5);
    check_report(plan_stage(&p, 0) == 0 && plan_stage(&p, 31) == 0 && plan_stage(&p, 32) == 1 && plan_stage(&p, 51) == 2,
                 "plan_stage at stage edges", plan_stage(&p, 48), 2);

    Position *sp = xmalloc(sizeof *sp);
    curriculum_position(c, 0, &c->pos, sp);
    check_report(sp->factor == 4 && c->stages[0].seq_len == 2048, "stage 1 keeps the run's rope factor", sp->factor, 4);
    curriculum_position(c, 2, &c->pos, sp);
    check_report(sp->factor == 64 && sp->beta_fast == 16 && c->stages[2].seq_len == 32768,
                 "stage 3 overrides factor and beta_fast", sp->factor * 100 + sp->beta_fast, 6416);
    CHECK_TRUE("an override's origin names its line", strstr(sp->where[PK_FACTOR], "test_curriculum.yaml:11:") != NULL);
    Position pos = *sp;
    free(sp);
    position_resolve(&pos, 8, 10000.0, 512);
    check_report(pos.scaling == SCALE_YARN && pos.factor == 64 && pos.original_max == 512, "stage 3's position scheme",
                 pos.factor, 64);

    // one schedule over the whole run: warmup 4 steps, linear decay to 0 at step 52
    CHECK_CLOSE("linear decay is halfway at step 28 of 52", lr_at(c, 28, p.total_steps), 0.5e-3, 1e-12, 0);

    char *cap[] = {"train.max_steps=40"};
    load(c, path, cap, 1);
    curriculum_plan(c, 1, 1, &p);
    check_report(p.total_steps == 40 && p.s[1].steps == 8 && p.s[2].steps == 0, "train.max_steps caps the run",
                 (double)p.total_steps, 40);

    load(c, path, NULL, 0);
    config_write(c, round);
    load(back, round, NULL, 0);
    int same = back->n_stages == c->n_stages;
    for (int i = 0; same && i < c->n_stages; i++) {
        const Stage *a = &c->stages[i], *b = &back->stages[i];
        same = a->seq_len == b->seq_len && a->tokens == b->tokens && a->lr_scale == b->lr_scale && a->over.set == b->over.set;
        for (int k = 0; same && k < NUM_POS_KEYS; k++) same = !position_differs(&a->over, &b->over, (PosKey)k);
    }
    check_report(same, "the resolved config reads back the same curriculum", back->n_stages, c->n_stages);

    char *one[] = {"curriculum=[{seq_len: 256, tokens: 2K}]", "train.batch_tokens=512", "train.micro_batch=0"};
    load(c, NULL, one, 3);
    curriculum_plan(c, 1, 1, &p);
    check_report(p.n == 1 && p.s[0].steps == 4 && p.s[0].micro == 2, "--set curriculum=[...] (2K = 4 steps of 512)",
                 (double)p.s[0].steps, 4);
    char *plain[] = {"train.seq_len=256", "train.batch_tokens=1024", "train.max_steps=7"};
    load(c, NULL, plain, 3);
    curriculum_plan(c, 1, 1, &p);
    check_report(p.n == 1 && p.s[0].T == 256 && p.s[0].steps == 7 && p.s[0].micro == 4, "no curriculum: one stage of seq_len",
                 (double)p.s[0].steps, 7);
    free(c);
    free(back);
    return check_done("test_curriculum");
}
