// optim.c — see optim.h.
#define _DEFAULT_SOURCE
#include "optim.h"
#include "../model/layers.h"
#include "../util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void adamw_init(AdamW *o, size_t lo, size_t n) {
    o->memory = xcalloc(2 * n, sizeof(float));
    o->m = o->memory;
    o->v = o->memory + n;
    o->lo = lo;
    o->n = n;
    o->t = 0;
}

void adamw_free(AdamW *o) {
    free(o->memory);
    memset(o, 0, sizeof *o);
}

// Partial sums over fixed blocks, added in block order: the result does not depend on
// how OpenMP combines threads, so equal runs give bit-identical norms (and clipping).
#define NORM_BLOCK 65536
#define NORM_MAX_BLOCKS 4096

// blocks: how n elements split into at most NORM_MAX_BLOCKS blocks of at least
// NORM_BLOCK; returns their count and sets *block to their length.
static size_t blocks(size_t n, size_t *block) {
    size_t b = (n + NORM_MAX_BLOCKS - 1) / NORM_MAX_BLOCKS;
    *block = b < NORM_BLOCK ? NORM_BLOCK : b;
    return (n + *block - 1) / *block;
}

// adamw_block: the update of n parameters; *dsq = sum(d^2), *wsq = the sum of the squared
// weights before it. Element i adds to lane i % ADAM_LANES of each sum, a double each, and
// the lanes are added in order at the end: vertical vector adds in a fixed order, the same
// at every ISA level.
enum { ADAM_LANES = 16 };

// adamw_lanes: elements [i, i + len) (len <= ADAM_LANES) of adamw_block, element i + j into
// lane j of sd and sw.
static inline void adamw_lanes(float *p, const float *g, float *m, float *v, size_t i, int len, float lr, float b1,
                               float b2, float eps, float wd, float c1, float c2, double *sd, double *sw) {
    #pragma omp simd
    for (int j = 0; j < len; j++) {
        const size_t e = i + (size_t)j;
        m[e] = b1 * m[e] + (1.0f - b1) * g[e];
        v[e] = b2 * v[e] + (1.0f - b2) * g[e] * g[e];
        const float mh = m[e] / c1, vh = v[e] / c2, d = lr * (mh / (sqrtf(vh) + eps) + wd * p[e]);
        sw[j] += (double)p[e] * p[e];
        sd[j] += (double)d * d;
        p[e] -= d;
    }
}

KERNEL static void adamw_block(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2,
                               float eps, float wd, float c1, float c2, double *dsq, double *wsq) {
    double sd[ADAM_LANES] = {0.0}, sw[ADAM_LANES] = {0.0};
    size_t i = 0;
    for (; i + ADAM_LANES <= n; i += ADAM_LANES) adamw_lanes(p, g, m, v, i, ADAM_LANES, lr, b1, b2, eps, wd, c1, c2, sd, sw);
    adamw_lanes(p, g, m, v, i, (int)(n - i), lr, b1, b2, eps, wd, c1, c2, sd, sw);
    *dsq = *wsq = 0.0;
    for (int j = 0; j < ADAM_LANES; j++) {
        *dsq += sd[j];
        *wsq += sw[j];
    }
}

// m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p -= d,  d = lr (m^ / (sqrt(v^) + eps) + wd p)
// with bias corrections m^ = m / (1 - b1^t), v^ = v / (1 - b2^t). Adds sum(d^2) to *dsq and
// the sum of the squared weights before the update to *wsq (fixed blocks, in order).
static void adamw_range(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2,
                        float eps, float wd, float c1, float c2, double *dsq, double *wsq) {
    size_t block;
    const size_t nb = blocks(n, &block);
    double pd[NORM_MAX_BLOCKS], pw[NORM_MAX_BLOCKS];
    #pragma omp parallel for
    for (size_t k = 0; k < nb; k++) {
        const size_t i = k * block, len = (k + 1) * block < n ? block : n - i;
        adamw_block(p + i, g + i, m + i, v + i, len, lr, b1, b2, eps, wd, c1, c2, &pd[k], &pw[k]);
    }
    for (size_t k = 0; k < nb; k++) {
        *dsq += pd[k];
        *wsq += pw[k];
    }
}

void adamw_step(AdamW *o, Model *model, float lr, float beta1, float beta2, float eps, float weight_decay) {
    TensorSpec s[NUM_PARAMS];
    param_specs(&model->cfg, s);
    o->t++;
    float c1 = (float)(1.0 - pow(beta1, (double)o->t)), c2 = (float)(1.0 - pow(beta2, (double)o->t));
    const size_t lo = o->lo, hi = o->lo + o->n;
    memset(o->sums, 0, sizeof o->sums);
    for (int i = 0; i < NUM_PARAMS; i++) {                 // each tensor's overlap with [lo, hi)
        if (!model->params.t[i]) continue;
        const size_t off = (size_t)(model->params.t[i] - model->params_memory), end = off + spec_numel(&s[i], model->cfg.n_layers);
        const size_t a = off > lo ? off : lo, b = end < hi ? end : hi;
        if (a >= b) continue;
        adamw_range(model->params_memory + a, model->grads_memory + a, o->m + (a - lo), o->v + (a - lo), b - a, lr,
                    beta1, beta2, eps, s[i].decay ? weight_decay : 0.0f, c1, c2, &o->sums[i][0], &o->sums[i][1]);
    }
}

double lr_at(const Config *c, long long step, long long total_steps) {
    if (step < c->warmup_steps) return c->lr * (double)(step + 1) / (double)c->warmup_steps;
    if (!strcmp(c->decay, "constant") || total_steps <= c->warmup_steps) return c->lr;
    double x = (double)(step - c->warmup_steps) / (double)(total_steps - c->warmup_steps);
    if (x > 1.0) x = 1.0;
    double f = !strcmp(c->decay, "cosine") ? 0.5 * (1.0 + cos(M_PI * x)) : 1.0 - x;
    return c->min_lr + (c->lr - c->min_lr) * f;
}

double grad_sumsq(const Model *model, size_t lo, size_t hi) {
    const float *g = model->grads_memory + lo;
    const size_t n = hi - lo;
    size_t block;
    const size_t nb = blocks(n, &block);
    double part[NORM_MAX_BLOCKS];
    #pragma omp parallel for
    for (size_t b = 0; b < nb; b++) {
        double s = 0.0;
        size_t end = (b + 1) * block < n ? (b + 1) * block : n;
        for (size_t i = b * block; i < end; i++) s += (double)g[i] * g[i];
        part[b] = s;
    }
    double s = 0.0;
    for (size_t b = 0; b < nb; b++) s += part[b];
    return s;
}

double grad_norm(const Model *model) { return sqrt(grad_sumsq(model, 0, model->num_params)); }

void grad_scale(Model *model, float s, size_t lo, size_t hi) {
    float *g = model->grads_memory;
    #pragma omp parallel for
    for (size_t i = lo; i < hi; i++) g[i] *= s;
}
