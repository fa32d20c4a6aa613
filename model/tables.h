// tables.h — the parameter and activation tables' functions that model.c's allocation and
// passes call (tables.c owns them). Not part of the model's API (model.h).
#ifndef STRETCH_TABLES_H
#define STRETCH_TABLES_H

#include "model.h"

#include <stddef.h>

// param_views: point m->params into params_memory, walking the table; absent tensors
// (tied lm_head, no T5 table) are NULL.
void param_views(Model *m);

// acts_keep_att: whether a pass in `mode` keeps attention's output and lse for every
// layer (ACTS_ALL, ACTS_RECOMPUTE), rather than one layer's (ACTS_INPUTS refills it,
// ACTS_FORWARD needs no more).
int acts_keep_att(ActsMode mode);

// acts_part_floats: attention's scratch (AttnScratch.part) for a (B, T) pass on `threads`
// threads (Model.attn_threads).
size_t acts_part_floats(const ModelConfig *c, int threads, size_t B, size_t T);

// acts_total: floats of all activations for a (B, T) pass in `mode`, as laid out.
size_t acts_total(const ModelConfig *c, int threads, ActsMode mode, int B, int T);

// acts_views: point m->acts at acts_memory for a (B, T) pass in `mode`; the last view,
// attention's scratch, runs to the end of the allocation (m->apart_floats).
void acts_views(Model *m, ActsMode mode, int B, int T);

#endif
