// attention_naive.c — the test oracle for model/attention.c: causal attention one query
// row at a time (online softmax, scalar loops), the product's kernel before tiling. Same
// contract as attention_forward/attention_backward, except dbias is (B, NH, T) scratch
// holding per-distance sums of the score gradient.
#include "attention_naive.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

static float dot(const float *a, const float *b, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static float bias_at(const AttnBias *ab, int h, int dist, int NH) {
    if (ab->kind == 1) return -ab->slopes[h] * (float)dist;
    if (ab->kind == 2) return ab->table[(size_t)ab->bucket[dist] * NH + h];
    return 0.0f;
}

void attention_naive_forward(float *out, float *lse, const float *q, const float *k, const float *v,
                       const AttnBias *ab, int B, int T, int NH, int NKV, int HS) {
    const int G = NH / NKV;
    const float scale = 1.0f / sqrtf((float)HS);
    #pragma omp parallel for collapse(3) schedule(dynamic, 16)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                const float *qt = q + (((size_t)b * T + t) * NH + h) * HS;
                float *o = out + (((size_t)b * T + t) * NH + h) * HS;
                float m = -INFINITY, l = 0.0f;
                memset(o, 0, (size_t)HS * sizeof(float));
                for (int s = 0; s <= t; s++) {
                    size_t kvo = (((size_t)b * T + s) * NKV + h / G) * HS;
                    float x = dot(qt, k + kvo, HS) * scale + bias_at(ab, h, t - s, NH);
                    if (x > m) {                       // rescale the running sums
                        float corr = expf(m - x);
                        l *= corr;
                        for (int i = 0; i < HS; i++) o[i] *= corr;
                        m = x;
                    }
                    float p = expf(x - m);
                    l += p;
                    for (int i = 0; i < HS; i++) o[i] += p * v[kvo + i];
                }
                for (int i = 0; i < HS; i++) o[i] /= l;
                lse[((size_t)b * NH + h) * T + t] = m + logf(l);
            }
}

// With p_ts = softmax_s(x_ts), x_ts = scale q_t.k_s + bias_ts, o_t = sum_s p_ts v_s,
// D_t = do_t.o_t:  dv_s += sum_t p_ts do_t;  ds_ts = p_ts (do_t.v_s - D_t) = dL/dx_ts;
//   dq_t += scale sum_s ds_ts k_s;  dk_s += scale sum_t ds_ts q_t;
//   t5: dtable[bucket(t - s), h] += sum ds_ts.
// Two passes so that every thread owns what it writes: dq per (b, h) — which also stores
// D_t in delta and the per-distance sums of ds in dbias[b, h, t - s] — then dk/dv per
// (b, kv head, s) summing over the query heads of its group and t >= s.
void attention_naive_backward(float *dq, float *dk, float *dv, float *dtable, const float *dout, const float *out,
                        const float *lse, const float *q, const float *k, const float *v, const AttnBias *ab,
                        float *delta, float *dbias, int B, int T, int NH, int NKV, int HS) {
    const int G = NH / NKV, t5 = ab->kind == 2;
    const float scale = 1.0f / sqrtf((float)HS);
    #pragma omp parallel for collapse(2) schedule(dynamic, 1)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            float *g = dbias + ((size_t)b * NH + h) * T;
            if (t5) memset(g, 0, (size_t)T * sizeof(float));
            for (int t = 0; t < T; t++) {
                size_t qo = (((size_t)b * T + t) * NH + h) * HS;
                float L = lse[((size_t)b * NH + h) * T + t], D = dot(dout + qo, out + qo, HS);
                delta[((size_t)b * NH + h) * T + t] = D;
                for (int s = 0; s <= t; s++) {
                    size_t kvo = (((size_t)b * T + s) * NKV + h / G) * HS;
                    float p = expf(dot(q + qo, k + kvo, HS) * scale + bias_at(ab, h, t - s, NH) - L);
                    float ds = p * (dot(dout + qo, v + kvo, HS) - D);
                    if (t5) g[t - s] += ds;
                    for (int i = 0; i < HS; i++) dq[qo + i] += ds * scale * k[kvo + i];
                }
            }
        }
    #pragma omp parallel for collapse(3) schedule(dynamic, 16)
    for (int b = 0; b < B; b++)
        for (int kh = 0; kh < NKV; kh++)
            for (int s = 0; s < T; s++) {
                size_t kvo = (((size_t)b * T + s) * NKV + kh) * HS;
                for (int h = kh * G; h < (kh + 1) * G; h++)
                    for (int t = s; t < T; t++) {
                        size_t qo = (((size_t)b * T + t) * NH + h) * HS;
                        float L = lse[((size_t)b * NH + h) * T + t], D = delta[((size_t)b * NH + h) * T + t];
                        float p = expf(dot(q + qo, k + kvo, HS) * scale + bias_at(ab, h, t - s, NH) - L);
                        float ds = p * (dot(dout + qo, v + kvo, HS) - D) * scale;
                        for (int i = 0; i < HS; i++) {
                            dk[kvo + i] += ds * q[qo + i];
                            dv[kvo + i] += p * dout[qo + i];
                        }
                    }
            }
    if (t5)                                             // serial reduction: (B, NH, T) adds
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
                for (int n = 0; n < T; n++) dtable[(size_t)ab->bucket[n] * NH + h] += dbias[((size_t)b * NH + h) * T + n];
}
