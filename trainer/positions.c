// positions.c — `train positions --config F`: for each curriculum stage (or the one
// stage of train.seq_len), the stage's scheme and what it does to each rotary pair
// (theta before and after, wavelength, full rotations within the pretraining context L_o
// and within the stage's length, effective scale) and the attention factor; then the
// ALiBi slopes or T5 bucket boundaries. It shows why base scaling keeps local resolution
// (fast pairs unchanged) while interpolation compresses every pair.
#define _DEFAULT_SOURCE
#include "positions.h"
#include "curriculum.h"
#include "setup.h"
#include "../util/util.h"

#include <math.h>
#include <stdlib.h>

static void print_rope(const Position *p, const ModelConfig *mc, int T) {
    int HS = mc->dim / mc->n_heads, L_o = p->original_max > 0 ? p->original_max : mc->max_seq_len;
    double before[POS_MAX_PAIRS], after[POS_MAX_PAIRS], ms0, ms;
    Position *plain = xmalloc(sizeof *plain);
    position_default(plain);
    model_resolve_position(mc, plain);
    rope_inv_freq(plain, HS, T, before, &ms0);
    rope_inv_freq(p, HS, T, after, &ms);
    free(plain);
    printf("rope: scaling %s, factor %g, base %g (checkpoint %g), L_o %d, seq_len %d, attention factor %.4f\n",
           SCALING_NAMES[p->scaling], p->factor, p->theta, mc->rope_theta, L_o, T, ms);
    if (p->scaling == SCALE_YARN) {
        double lo, hi;
        yarn_correction_range(p, HS, &lo, &hi);
        printf("yarn: pairs below %g extrapolate, above %g interpolate, linear ramp between\n", lo, hi);
    }
    printf("%5s %13s %13s %13s %12s %12s %9s\n", "pair", "theta", "theta'", "wavelength'", "rot in L_o", "rot in T", "scale");
    for (int i = 0; i < HS / 2; i++) {
        double wl = 2 * M_PI / after[i];
        printf("%5d %13.6e %13.6e %13.1f %12.0f %12.0f %9.3f\n", i, before[i], after[i], wl,
               L_o > 0 ? floor(L_o / wl) : NAN, floor(T / wl), before[i] / after[i]);
    }
}

static void print_bias(const Position *p, int NH) {
    if (p->bias == BIAS_NONE) printf("bias: none\n");
    if (p->bias == BIAS_ALIBI) {
        float *m = xmalloc((size_t)NH * sizeof *m);
        alibi_slopes(NH, m);
        printf("alibi slopes (logit += -m_h (i - j)):\n");
        for (int h = 0; h < NH; h++) printf("  head %2d  m = %.6g\n", h, m[h]);
        free(m);
    }
    if (p->bias == BIAS_T5) {
        printf("t5 buckets (%d, max_distance %d, init %s; logit += table[bucket(i - j), h]):\n", p->t5_buckets,
               p->t5_max_distance, p->t5_init_alibi ? "alibi" : "zeros");
        for (int k = 0; k < p->t5_buckets; k++) {
            int s = t5_bucket_start(k, p->t5_buckets, p->t5_max_distance);
            int e = k + 1 < p->t5_buckets ? t5_bucket_start(k + 1, p->t5_buckets, p->t5_max_distance) - 1 : -1;
            if (s < 0) printf("  bucket %3d  (no distance maps here)\n", k);
            else if (e < 0) printf("  bucket %3d  distances %d and beyond\n", k, s);
            else printf("  bucket %3d  distances %d..%d\n", k, s, e);
        }
    }
}

// POSE_SAMPLES: windows drawn to show what a PoSE stage covers.
#define POSE_SAMPLES 512

// print_pose: what the PoSE ids of a stage cover, over the windows of its first
// POSE_SAMPLES steps (as training draws them): the share of ids and of the largest
// in-window distance in each power-of-two range of [0, target_len).
static void print_pose(const Config *c, const StagePlan *sp) {
    const int T = sp->T, L = sp->pose.target_len;
    int *pos = xmalloc((size_t)T * sizeof *pos), nb = 0;
    long long ids[32] = {0}, far[32] = {0};
    while (nb < 31 && (256 << nb) < L) nb++;              // ranges [0,256), [256,512), ... [.., L)
    for (int k = 0; k < POSE_SAMPLES; k++) {
        batch_positions(pos, NULL, &sp->pose, stage_seed(c, sp->first_step + k, 0), 0, 1, T);
        for (int t = 0; t < T; t++) {
            int j = 0;
            while (j < nb && pos[t] >= (256 << j)) j++;
            ids[j]++;
        }
        int j = 0;
        while (j < nb && pos[T - 1] - pos[0] >= (256 << j)) j++;
        far[j]++;
    }
    printf("PoSE: windows of %d tokens in %d chunks, ids skipping to cover positions 0-%d; over %d windows:\n", T,
           sp->pose.chunks, L - 1, POSE_SAMPLES);
    printf("%16s %10s %22s\n", "positions", "ids", "windows spanning this");
    for (int j = 0; j <= nb; j++) {
        char r[32];
        snprintf(r, sizeof r, "%d-%d", j ? 256 << (j - 1) : 0, j < nb ? 256 << j : L);
        printf("%16s %9.1f%% %21.1f%%\n", r, 100.0 * ids[j] / ((double)POSE_SAMPLES * T), 100.0 * far[j] / POSE_SAMPLES);
    }
    free(pos);
}

int positions_main(const Config *c) {
    if (!*c->init_from) die("model.init_from is not set (the checkpoint whose positions to show)");
    Model m;
    Plan plan;
    curriculum_plan(c, 1, 1, &plan);
    load_model_for(&m, c);
    const int n = plan.n;
    Position *pos = xmalloc(sizeof *pos);
    for (int s = 0; s < n; s++) {
        const StagePlan *sp = &plan.s[s];
        const int T = sp->T, L = sp->pose.target_len ? sp->pose.target_len : T;
        curriculum_position(c, s, &m.pos, pos);
        model_resolve_position(&m.cfg, pos);
        char *json = position_json(pos, POS_JSON_SCHEME, m.cfg.rope_theta);
        printf("%sstage %d/%d: seq_len %d (trains positions 0-%d), position %s\n", s ? "\n" : "", s + 1, n, T, L - 1, json);
        if (sp->pose.target_len) print_pose(c, sp);
        if (pos->rope) print_rope(pos, &m.cfg, L);
        else printf("rope: off (no rotary embeddings)\n");
        free(json);
    }
    printf("\n");
    print_bias(&m.pos, m.cfg.n_heads);
    free(pos);
    model_free(&m);
    return 0;
}
