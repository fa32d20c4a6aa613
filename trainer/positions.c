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

int positions_main(const Config *c) {
    if (!*c->init_from) die("model.init_from is not set (the checkpoint whose positions to show)");
    Model m;
    load_model_for(&m, c);
    const int n = c->n_stages ? (int)c->n_stages : 1;
    Position *pos = xmalloc(sizeof *pos);
    for (int s = 0; s < n; s++) {
        const int T = (int)(c->n_stages ? c->stages[s].seq_len : c->seq_len);
        curriculum_position(c, s, &m.pos, pos);
        model_resolve_position(&m.cfg, pos);
        char *json = position_json(pos, POS_JSON_SCHEME, m.cfg.rope_theta);
        printf("%sstage %d/%d: seq_len %d (trains positions 0-%d), position %s\n", s ? "\n" : "", s + 1, n, T, T - 1, json);
        if (pos->rope) print_rope(pos, &m.cfg, T);
        else printf("rope: off (no rotary embeddings)\n");
        free(json);
    }
    printf("\n");
    print_bias(&m.pos, m.cfg.n_heads);
    free(pos);
    model_free(&m);
    return 0;
}
