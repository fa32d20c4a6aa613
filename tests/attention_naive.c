// attention_naive.c — the test oracle for model/attention.c: attention one query row and
// one visible key at a time (online softmax, scalar loops), the product's kernel before
// tiling, documents and tile skipping. Query t reads exactly the keys doc[t] .. t, each
// with the bias of the position-id distance pos[t] - pos[s]; nothing else of k or v is
// read. Same contract as attention_forward/attention_backward, except dbias is (B, NH, NB)
// scratch holding per-bucket sums of the score gradient (t5).
#include "attention_naive.h"
#include "../model/position.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

static float dot(const float *a, const float *b, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

// bias_at: the bias of head h at position-id distance dist >= 0.
static float bias_at(const AttnBias *ab, int h, int dist, int NH) {
    if (ab->kind == BIAS_ALIBI) return -ab->slopes[h] * (float)dist;
    if (ab->kind == BIAS_T5) return ab->table[(size_t)ab->bucket[dist] * NH + h];
    return 0.0f;
}

void attention_naive_forward(float *out, float *lse, const float *q, const float *k, const float *v,
                             const AttnBias *ab, const int *pos, const int *doc, int B, int T, int NH, int NKV, int HS) {
    const int G = NH / NKV;
    const float scale = 1.0f / sqrtf((float)HS);
    #pragma omp parallel for collapse(3) schedule(dynamic, 16)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                const int *p = pos + (size_t)b * T, first = doc[(size_t)b * T + t];
                const float *qt = q + (((size_t)b * T + t) * NH + h) * HS;
                float *o = out + (((size_t)b * T + t) * NH + h) * HS;
                float m = -INFINITY, l = 0.0f;
                memset(o, 0, (size_t)HS * sizeof(float));
                for (int s = first; s <= t; s++) {
                    size_t kvo = (((size_t)b * T + s) * NKV + h / G) * HS;
                    float x = dot(qt, k + kvo, HS) * scale + bias_at(ab, h, p[t] - p[s], NH);
                    if (x > m) {                       // rescale the running sums
                        float corr = expf(m - x);
                        l *= corr;
                        for (int i = 0; i < HS; i++) o[i] *= corr;
                        m = x;
                    }
                    float e = expf(x - m);
                    l += e;
                    for (int i = 0; i < HS; i++) o[i] += e * v[kvo + i];
                }
                for (int i = 0; i < HS; i++) o[i] /= l;
                lse[((size_t)b * NH + h) * T + t] = m + logf(l);
            }
}

// With p_ts = softmax_s(x_ts) over the visible s, x_ts = scale q_t.k_s + bias_ts,
// o_t = sum_s p_ts v_s, D_t = do_t.o_t:  dv_s += sum_t p_ts do_t;
//   ds_ts = p_ts (do_t.v_s - D_t) = dL/dx_ts;  dq_t += scale sum_s ds_ts k_s;
//   dk_s += scale sum_t ds_ts q_t;  t5: dtable[bucket(pos_t - pos_s), h] += sum ds_ts.
// Two passes so that every thread owns what it writes: dq per (b, h) — which also stores
// D_t in delta and the per-bucket sums of ds in dbias[b, h] — then dk/dv per (b, kv head,
// s) summing over the query heads of its group and the queries t >= s that see s.
void attention_naive_backward(float *dq, float *dk, float *dv, float *dtable, const float *dout, const float *out,
                              const float *lse, const float *q, const float *k, const float *v, const AttnBias *ab,
                              const int *pos, const int *doc, float *delta, float *dbias, int B, int T, int NH,
                              int NKV, int HS) {
    const int G = NH / NKV, t5 = ab->kind == BIAS_T5, NB = ab->NB;
    const float scale = 1.0f / sqrtf((float)HS);
    #pragma omp parallel for collapse(2) schedule(dynamic, 1)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const int *p = pos + (size_t)b * T;
            float *g = t5 ? dbias + ((size_t)b * NH + h) * NB : NULL;
            if (t5) memset(g, 0, (size_t)NB * sizeof(float));
            for (int t = 0; t < T; t++) {
                size_t qo = (((size_t)b * T + t) * NH + h) * HS;
                float L = lse[((size_t)b * NH + h) * T + t], D = dot(dout + qo, out + qo, HS);
                delta[((size_t)b * NH + h) * T + t] = D;
                for (int s = doc[(size_t)b * T + t]; s <= t; s++) {
                    size_t kvo = (((size_t)b * T + s) * NKV + h / G) * HS;
                    float e = expf(dot(q + qo, k + kvo, HS) * scale + bias_at(ab, h, p[t] - p[s], NH) - L);
                    float ds = e * (dot(dout + qo, v + kvo, HS) - D);
                    if (t5) g[ab->bucket[p[t] - p[s]]] += ds;
                    for (int i = 0; i < HS; i++) dq[qo + i] += ds * scale * k[kvo + i];
                }
            }
        }
    #pragma omp parallel for collapse(3) schedule(dynamic, 16)
    for (int b = 0; b < B; b++)
        for (int kh = 0; kh < NKV; kh++)
            for (int s = 0; s < T; s++) {
                const int *p = pos + (size_t)b * T;
                size_t kvo = (((size_t)b * T + s) * NKV + kh) * HS;
                for (int h = kh * G; h < (kh + 1) * G; h++)
                    for (int t = s; t < T; t++) {
                        if (doc[(size_t)b * T + t] > s) continue;     // s is in an earlier document
                        size_t qo = (((size_t)b * T + t) * NH + h) * HS;
                        float L = lse[((size_t)b * NH + h) * T + t], D = delta[((size_t)b * NH + h) * T + t];
                        float e = expf(dot(q + qo, k + kvo, HS) * scale + bias_at(ab, h, p[t] - p[s], NH) - L);
                        float ds = e * (dot(dout + qo, v + kvo, HS) - D) * scale;
                        for (int i = 0; i < HS; i++) {
                            dk[kvo + i] += ds * q[qo + i];
                            dv[kvo + i] += e * dout[qo + i];
                        }
                    }
            }
    if (t5)                                             // serial reduction: (B, NH, NB) adds
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
                for (int n = 0; n < NB; n++) dtable[(size_t)n * NH + h] += dbias[((size_t)b * NH + h) * NB + n];
}
