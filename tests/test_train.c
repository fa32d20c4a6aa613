// test_train.c — the optimizer end to end: stories260K trained on one fixed batch of
// real tokens must drive its loss near zero (memorisation), and the schedule must
// follow its definition. usage: test_train MODEL SHARD
#include "../data/data.h"
#include "../model/formats.h"
#include "../trainer/optim.h"
#include "../trainer/setup.h"
#include "../util/util.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_schedule(void) {
    Config c;
    char *sets[] = {"train.optimizer.lr=1.0e-3", "train.schedule.min_lr=1.0e-4", "train.schedule.warmup_steps=10",
                    "train.max_steps=110", "train.schedule.decay=cosine"};
    config_load(&c, NULL, sets, 5);
    CHECK_CLOSE("warmup: lr(0) = lr / warmup", lr_at(&c, 0, c.max_steps), 1e-4, 1e-12, 0);
    CHECK_CLOSE("warmup: lr(9) = lr", lr_at(&c, 9, c.max_steps), 1e-3, 1e-12, 0);
    CHECK_CLOSE("cosine: halfway = (lr + min_lr) / 2", lr_at(&c, 60, c.max_steps), 5.5e-4, 1e-12, 0);
    CHECK_CLOSE("cosine: end = min_lr", lr_at(&c, 110, c.max_steps), 1e-4, 1e-12, 0);
    strcpy(c.decay, "linear");
    CHECK_CLOSE("linear: a quarter of the way", lr_at(&c, 35, c.max_steps), 1e-3 - 0.25 * 9e-4, 1e-12, 0);
}

static void test_overfit(const char *model_path, const char *shard_path) {
    const int B = 2, T = 64, steps = 300;
    Model m;
    Shard s;
    AdamW opt;
    load_model(&m, model_path);
    shard_load(&s, shard_path, m.cfg.vocab);
    model_reserve(&m, B, T, ACTS_ALL);
    model_prepare(&m);
    adamw_init(&opt, 0, m.num_params);
    int *in = xmalloc((size_t)B * T * sizeof(int)), *tg = xmalloc((size_t)B * T * sizeof(int));
    window_fill(&s, 3, in, tg, NULL, B, T);
    float first = 0, loss = 0;
    for (int step = 0; step < steps; step++) {
        model_zero_grad(&m);
        loss = model_forward_backward(&m, in, tg, NULL, B, T, 1.0f, ACTS_ALL);
        if (!step) first = loss;
        double norm = grad_norm(&m);
        if (norm > 1.0) grad_scale(&m, (float)(1.0 / norm), 0, m.num_params);
        adamw_step(&opt, &m, 3e-3f, 0.9f, 0.95f, 1e-8f, 0.0f);
    }
    printf("overfit: loss %.4f -> %.4f after %d steps on one batch of %dx%d tokens\n", first, loss, steps, B, T);
    check_report(loss < 0.05f, "one-batch overfit drives the loss below 0.05", loss, 0.05);
    free(in); free(tg);
    adamw_free(&opt);
    shard_free(&s);
    model_free(&m);
}

// test_recompute: with train.recompute (true: ACTS_RECOMPUTE, full: ACTS_INPUTS) the loss
// and every gradient are bitwise equal to the stored-activation path (same kernels, same
// order), here with a yarn + t5 scheme; and the activations take less memory.
static void test_recompute(const char *model_path, const char *shard_path) {
    const int B = 2, T = 96;
    const ActsMode modes[3] = {ACTS_ALL, ACTS_RECOMPUTE, ACTS_INPUTS};
    Model m[3];
    Shard s;
    Position pos;
    position_parse_json(&pos, "{\"rope\": {\"scaling\": \"yarn\", \"factor\": 4}, \"bias\": \"t5\", \"t5\": {\"init\": \"alibi\"}}",
                        "test_recompute");
    position_resolve(&pos, 8, 10000.0, 512);
    int *in = xmalloc((size_t)B * T * sizeof(int)), *tg = xmalloc((size_t)B * T * sizeof(int));
    float loss[3];
    for (int r = 0; r < 3; r++) {
        load_model(&m[r], model_path);
        model_set_position(&m[r], &pos);
        model_reserve(&m[r], B, T, modes[r]);
        model_prepare(&m[r]);
        if (!r) shard_load(&s, shard_path, m[r].cfg.vocab);
        window_fill(&s, 5, in, tg, NULL, B, T);
        loss[r] = model_forward_backward(&m[r], in, tg, NULL, B, T, 1.0f, modes[r]);
    }
    for (int r = 1; r < 3; r++) {
        const int same = !memcmp(m[0].grads_memory, m[r].grads_memory, m[0].num_params * sizeof(float));
        check_report(loss[0] == loss[r] && same,
                     r == 1 ? "recompute true: loss and all gradients bitwise equal"
                            : "recompute full: loss and all gradients bitwise equal",
                     loss[r], loss[0]);
    }
    check_report(m[1].acts_capacity < m[0].acts_capacity * 6 / 10,
                 "recompute true: activation floats (5 layers -> 1 slot, att and lse kept)", (double)m[1].acts_capacity,
                 (double)m[0].acts_capacity);
    check_report(m[2].acts_capacity < m[1].acts_capacity, "recompute full: fewer activation floats than true (att and lse too)",
                 (double)m[2].acts_capacity, (double)m[1].acts_capacity);
    free(in); free(tg);
    shard_free(&s);
    for (int r = 0; r < 3; r++) model_free(&m[r]);
}

int main(int argc, char **argv) {
    if (argc != 3) die("usage: test_train MODEL SHARD");
    setup_threads(0);
    test_schedule();
    test_overfit(argv[1], argv[2]);
    test_recompute(argv[1], argv[2]);
    return check_done("test_train");
}
