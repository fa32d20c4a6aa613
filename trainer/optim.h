// optim.h — AdamW (Loshchilov & Hutter 2019, decoupled weight decay), the learning-rate
// schedule, and global-norm gradient clipping.
#ifndef STRETCH_OPTIM_H
#define STRETCH_OPTIM_H

#include <stddef.h>
#include "../model/model.h"
#include "config.h"

// AdamW: the moments of parameters [lo, lo + n) of the flat parameter array: all of
// them on one process; on N ranks each holds its part (ZeRO stage 1, Rajbhandari et al.
// 2020, arXiv:1910.02054) and updates only those parameters.
typedef struct {
    float *memory;     // one allocation: m then v (NULL: m, v view another AdamW's)
    float *m;          // (n) first moment
    float *v;          // (n) second moment
    size_t lo, n;
    long long t;       // updates taken
    double sums[NUM_PARAMS][2];   // the last update, per tensor (this rank's part): sum of the
                                  // squared changes, sum of the squared weights before it
} AdamW;

void adamw_init(AdamW *o, size_t lo, size_t n);
void adamw_free(AdamW *o);
// adamw_step: one update of model params [lo, lo + n) from their grads. Weight decay
// applies to matrices only (TensorSpec.decay), not to RMSNorm gains. Sets o->sums.
void adamw_step(AdamW *o, Model *model, float lr, float beta1, float beta2, float eps, float weight_decay);
// lr_at: linear warmup over warmup_steps, then cosine / linear decay to min_lr at
// total_steps (the whole run, over every curriculum stage), or constant. step counts from 0.
double lr_at(const Config *c, long long step, long long total_steps);
// grad_sumsq: the sum of squares of gradients [lo, hi), accumulated in double over fixed
// blocks (the same bits for any thread count).
double grad_sumsq(const Model *model, size_t lo, size_t hi);
// grad_norm: global L2 norm of all gradients: sqrt(grad_sumsq over all of them).
double grad_norm(const Model *model);
// grad_scale: gradients [lo, hi) times s.
void grad_scale(Model *model, float s, size_t lo, size_t hi);

#endif
