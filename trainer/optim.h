// optim.h — AdamW (Loshchilov & Hutter 2019, decoupled weight decay), the learning-rate
// schedule, and global-norm gradient clipping.
#ifndef STRETCH_OPTIM_H
#define STRETCH_OPTIM_H

#include <stddef.h>
#include "../model/model.h"
#include "config.h"

typedef struct {
    float *memory;     // one allocation: m then v
    float *m;          // (num_params) first moment
    float *v;          // (num_params) second moment
    size_t n;
    long long t;       // updates taken
} AdamW;

void adamw_init(AdamW *o, size_t n);
void adamw_free(AdamW *o);
// adamw_step: one update of model params from model grads. Weight decay applies to
// matrices only (TensorSpec.decay), not to RMSNorm gains.
void adamw_step(AdamW *o, Model *model, float lr, float beta1, float beta2, float eps, float weight_decay);
// lr_at: linear warmup over warmup_steps, then cosine / linear decay to min_lr at
// total_steps (the whole run, over every curriculum stage), or constant. step counts from 0.
double lr_at(const Config *c, long long step, long long total_steps);
// grad_norm: global L2 norm of all gradients, accumulated in double.
double grad_norm(const Model *model);
void grad_scale(Model *model, float s);

#endif
