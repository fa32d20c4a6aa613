// test_attention.c — the tiled attention of model/attention.c against the row-at-a-time
// oracle (tests/attention_naive.c) on shapes around the tile size (128), with GQA and every
// position bias, up to T = 1024; and bit-identical results from two runs. For one
// sequence also the cached forward (query rows from a position inside a tile).
// Pass: |tiled - naive| <= atol + rtol * |naive| with rtol = 1e-5 and atol = 1e-5 * max|naive|
// + 1e-6 (the scale of the tensor: sums over up to 1024 keys in another order; the floor
// for a tensor that is 0 up to rounding, as dq at T = 1).
#include "../model/layers.h"
#include "../model/position.h"
#include "../util/util.h"
#include "attention_naive.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static Rng rng = {11};

static float *randn(size_t n, float s) {
    float *x = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = s * rng_normal(&rng);
    return x;
}

// compare: one check of a (n) against ref (n), every element within the tolerance; the
// line shows the element with the worst |a - ref| / tolerance. `label` names the case.
static void compare(const char *label, const char *what, const float *a, const float *ref, size_t n) {
    const double rtol = 1e-5;
    double mx = 0.0, worst = 0.0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) mx = fabs(ref[i]) > mx ? fabs(ref[i]) : mx;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)a[i] - ref[i]), tol = 1e-6 + 1e-5 * mx + rtol * fabs(ref[i]);
        double r = err == 0.0 ? 0.0 : isnan(err) ? INFINITY : err / tol;
        if (r > worst) worst = r, at = i;
    }
    check_report(worst <= 1.0, check_what("%s: %s (worst err/tol %.3f)", label, what, worst), a[at], ref[at]);
}

// Shape: one case of the comparison.
typedef struct { int B, T, NH, NKV, HS, kind; } Shape;

// test_cached: attention_forward_cached for the query rows [q0, T) (q0 inside a tile)
// over all T keys against those rows of the naive out/lse (1, T, NH, HS) / (1, NH, T).
static void test_cached(const char *label, const float *out, const float *lse, const float *q, const float *k,
                        const float *v, const AttnBias *ab, int T, int NH, int NKV, int HS) {
    const int q0 = T * 2 / 5 + 1, n = T - q0;
    float *o = xcalloc((size_t)n * NH * HS, sizeof(float)), *l = xcalloc((size_t)NH * n, sizeof(float));
    float *lref = xmalloc((size_t)NH * n * sizeof(float));
    attention_forward_cached(o, l, q + (size_t)q0 * NH * HS, k, v, ab, q0, n, NH, NKV, HS);
    for (int h = 0; h < NH; h++) memcpy(lref + (size_t)h * n, lse + (size_t)h * T + q0, (size_t)n * sizeof(float));
    char what[64];
    snprintf(what, sizeof what, "cached out, query rows [%d, %d)", q0, T);
    compare(label, what, o, out + (size_t)q0 * NH * HS, (size_t)n * NH * HS);
    snprintf(what, sizeof what, "cached lse, query rows [%d, %d)", q0, T);
    compare(label, what, l, lref, (size_t)NH * n);
    free(o); free(l); free(lref);
}

static void test_shape(const Shape *s) {
    const int B = s->B, T = s->T, NH = s->NH, NKV = s->NKV, HS = s->HS, NB = 32;
    const size_t nq = (size_t)B * T * NH * HS, nk = (size_t)B * T * NKV * HS, ns = (size_t)B * NH * T;
    float *q = randn(nq, 1), *k = randn(nk, 1), *v = randn(nk, 1), *dout = randn(nq, 1);
    float *table = randn((size_t)NB * NH, 1), slopes[64];
    int *bucket = xmalloc((size_t)T * sizeof(int));
    alibi_slopes(NH, slopes);
    for (int n = 0; n < T; n++) bucket[n] = t5_bucket(n, NB, 128);
    AttnBias ab = {s->kind, slopes, table, bucket, NB};
    float *out[3], *lse[3], *dq[3], *dk[3], *dv[3], *dtable[3];
    for (int r = 0; r < 3; r++) {              // r = 0: naive; 1, 2: two tiled runs
        out[r] = xcalloc(nq, sizeof(float));
        lse[r] = xcalloc(ns, sizeof(float));
        dq[r] = xcalloc(nq, sizeof(float));
        dk[r] = xcalloc(nk, sizeof(float));
        dv[r] = xcalloc(nk, sizeof(float));
        dtable[r] = xcalloc((size_t)NB * NH, sizeof(float));
        float *delta = xcalloc(ns, sizeof(float));
        float *dbias = xcalloc(r ? attention_dbias_floats(B, T, NH, NB) : ns, sizeof(float));
        if (r == 0) {
            attention_naive_forward(out[r], lse[r], q, k, v, &ab, B, T, NH, NKV, HS);
            attention_naive_backward(dq[r], dk[r], dv[r], dtable[r], dout, out[r], lse[r], q, k, v, &ab, delta, dbias,
                                     B, T, NH, NKV, HS);
        } else {
            attention_forward(out[r], lse[r], q, k, v, &ab, B, T, NH, NKV, HS);
            attention_backward(dq[r], dk[r], dv[r], dtable[r], dout, out[r], lse[r], q, k, v, &ab, delta, dbias,
                               B, T, NH, NKV, HS);
        }
        free(delta);
        free(dbias);
    }
    char label[80];
    snprintf(label, sizeof label, "B %d T %d NH %d NKV %d HS %d bias %s", B, T, NH, NKV, HS, BIAS_NAMES[s->kind]);
    compare(label, "out", out[1], out[0], nq);
    compare(label, "lse", lse[1], lse[0], ns);
    compare(label, "dq", dq[1], dq[0], nq);
    compare(label, "dk", dk[1], dk[0], nk);
    compare(label, "dv", dv[1], dv[0], nk);
    if (s->kind == BIAS_T5) compare(label, "dtable", dtable[1], dtable[0], (size_t)NB * NH);
    int same = !memcmp(out[1], out[2], nq * 4) && !memcmp(lse[1], lse[2], ns * 4) && !memcmp(dq[1], dq[2], nq * 4) &&
               !memcmp(dk[1], dk[2], nk * 4) && !memcmp(dv[1], dv[2], nk * 4) &&
               !memcmp(dtable[1], dtable[2], (size_t)NB * NH * 4);
    CHECK_TRUE(check_what("%s: rerun (two tiled runs bit-identical)", label), same);
    if (B == 1 && T > 1) test_cached(label, out[0], lse[0], q, k, v, &ab, T, NH, NKV, HS);
    for (int r = 0; r < 3; r++) { free(out[r]); free(lse[r]); free(dq[r]); free(dk[r]); free(dv[r]); free(dtable[r]); }
    free(q); free(k); free(v); free(dout); free(table); free(bucket);
}

int main(void) {
    const Shape shapes[] = {
        {2, 1024, 6, 6, 48, BIAS_NONE},     // the 15M shape
        {1, 1024, 8, 4, 8, BIAS_NONE},      // the stories260K shape
        {2, 1000, 6, 6, 48, BIAS_ALIBI},    // T not a multiple of the tile
        {1, 777, 8, 4, 8, BIAS_T5},
        {2, 300, 4, 1, 16, BIAS_T5},        // multi-query
        {1, 257, 4, 2, 12, BIAS_ALIBI},     // two tiles and one row
        {3, 128, 2, 2, 4, BIAS_NONE},       // exactly one tile
        {2, 129, 2, 1, 4, BIAS_T5},         // one tile and one row
        {2, 50, 2, 2, 4, BIAS_T5},          // less than a tile
        {1, 1, 2, 2, 4, BIAS_ALIBI},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) test_shape(&shapes[i]);
    return check_done("test_attention");
}
