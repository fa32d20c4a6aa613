// attention_naive.h — the row-at-a-time attention kept as the oracle of the tiled kernels.
// Same contract as attention_forward/attention_backward (model/layers.h): query t of row
// b sees keys s with doc[b, t] <= s <= t, biases read pos[b, t] - pos[b, s]. Shapes as
// there, except the scratch dbias, which is (B, NH, NB) here (NB: ab->NB, t5 only).
#ifndef STRETCH_ATTENTION_NAIVE_H
#define STRETCH_ATTENTION_NAIVE_H

#include "../model/layers.h"

void attention_naive_forward(float *out, float *lse, const float *q, const float *k, const float *v,
                             const AttnBias *ab, const int *pos, const int *doc, int B, int T, int NH, int NKV, int HS);
void attention_naive_backward(float *dq, float *dk, float *dv, float *dtable, const float *dout, const float *out,
                              const float *lse, const float *q, const float *k, const float *v, const AttnBias *ab,
                              const int *pos, const int *doc, float *delta, float *dbias, int B, int T, int NH,
                              int NKV, int HS);

#endif
