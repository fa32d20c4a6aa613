// test_layers.c — every layer's _backward against central finite differences of its
// _forward on tiny shapes. The probe loss L = sum_i w_i out_i (w fixed, random) is
// accumulated in double; gradients start from a non-zero fill to check that backward
// accumulates (+=). Pass: |analytic - numeric| <= atol + rtol * |numeric|.
#include "../model/layers.h"
#include "../model/model.h"
#include "../model/position.h"
#include "../util/util.h"
#include "check.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static Rng rng = {42};

static float *randn(size_t n, float s) {
    float *x = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = s * rng_normal(&rng);
    return x;
}
static float *filled(size_t n, float v) {
    float *x = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = v;
    return x;
}

// Probe: what the finite differences perturb and measure.
typedef struct Probe {
    void (*forward)(struct Probe *);
    float *out;        // forward output
    const float *w;    // probe weights, same size as out
    size_t n_out;
    void *ctx;
} Probe;

static double probe_loss(Probe *p) {
    p->forward(p);
    double s = 0.0;
    for (size_t i = 0; i < p->n_out; i++) s += (double)p->w[i] * p->out[i];
    return s;
}

// check: one check of grad (minus its initial fill) against d probe / d x[i] by central
// differences, every element within atol + rtol * |numeric|; the line shows the element
// with the worst error / tolerance (analytic vs numeric).
static double eps = 1e-2;    // perturbation; the whole-model checks use a smaller one

static void check(const char *name, Probe *p, float *x, size_t n, const float *grad, float fill) {
    const double atol = 2e-3, rtol = 2e-2;
    double worst = 0.0, worst_ratio = -1.0, an = 0.0, nu = 0.0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        float save = x[i];
        x[i] = save + (float)eps;
        double lp = probe_loss(p);
        x[i] = save - (float)eps;
        double lm = probe_loss(p);
        x[i] = save;
        double num = (lp - lm) / (2 * eps), a = (double)grad[i] - fill, err = fabs(a - num);
        double ratio = err / (atol + rtol * fabs(num));
        if (!check_within(a, num, atol, rtol)) {
            if (!bad) fprintf(stderr, "  %s[%zu]: analytic %.6f numeric %.6f\n", name, i, a, num);
            bad++;
        }
        if (err > worst) worst = err;
        if (!(ratio <= worst_ratio)) worst_ratio = ratio, an = a, nu = num;    // a NaN stays the worst
    }
    probe_loss(p);
    check_report(!bad, check_what("%s (%zu elements, max abs err %.2e)", name, n, worst), an, nu);
}

// ---- rmsnorm ---------------------------------------------------------------------------
typedef struct { float *x, *w, *rstd; size_t N; int C; } RmsCtx;
static void rms_fwd(Probe *p) {
    RmsCtx *c = p->ctx;
    rmsnorm_forward(p->out, c->rstd, c->x, c->w, c->N, c->C, 1e-5f);
}
static void test_rmsnorm(void) {
    size_t N = 3; int C = 6;
    RmsCtx c = {randn(N * C, 1), randn(C, 1), filled(N, 0), N, C};
    float *out = filled(N * C, 0), *w = randn(N * C, 1), *dx = filled(N * C, 0.5f), *dw = filled(C, 0.5f);
    Probe p = {rms_fwd, out, w, N * C, &c};
    probe_loss(&p);
    rmsnorm_backward(dx, dw, w, c.x, c.rstd, c.w, N, C);
    check("rmsnorm dx", &p, c.x, N * C, dx, 0.5f);
    check("rmsnorm dw", &p, c.w, (size_t)C, dw, 0.5f);
}

// ---- matmul ----------------------------------------------------------------------------
typedef struct { float *x, *W; size_t N; int IC, OC; } MmCtx;
static void mm_fwd(Probe *p) {
    MmCtx *c = p->ctx;
    matmul_forward(p->out, c->x, c->W, c->N, c->IC, c->OC);
}
static void test_matmul(void) {
    size_t N = 4; int IC = 5, OC = 3;
    MmCtx c = {randn(N * IC, 1), randn((size_t)OC * IC, 1), N, IC, OC};
    float *out = filled(N * OC, 0), *w = randn(N * OC, 1), *dx = filled(N * IC, 0.25f), *dW = filled((size_t)OC * IC, 0.25f);
    Probe p = {mm_fwd, out, w, N * OC, &c};
    probe_loss(&p);
    matmul_backward(dx, dW, w, c.x, c.W, N, IC, OC);
    check("matmul dx", &p, c.x, N * IC, dx, 0.25f);
    check("matmul dW", &p, c.W, (size_t)OC * IC, dW, 0.25f);
}

// worst_vs_double: the largest |got - ref| / (1e-4 + 1e-4 |ref|) over got (M, N), ref =
// init + sum_k a[m, k] b[k, n] in double, a and b read through (row, column) strides; *at
// is the ref there.
static double worst_vs_double(const float *got, double init, const float *a, size_t am, size_t ak, const float *b,
                              size_t bk, size_t bn, size_t M, size_t N, size_t K, double *at) {
    double worst = 0;
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            double r = init;
            for (size_t k = 0; k < K; k++) r += (double)a[m * am + k * ak] * b[k * bk + n * bn];
            const double e = fabs(got[m * N + n] - r) / (1e-4 + 1e-4 * fabs(r));
            if (e > worst) worst = e, *at = r;
        }
    return worst;
}

// matmul at shapes whose rows are dealt to threads in slabs (layers.c gemm_slabs: rows
// not a multiple of the slab, fewer rows than threads' minimum) on 1, 2 and 3 threads,
// against sums in double, with dx and dW accumulating onto what they held.
static void test_matmul_slabs(void) {
    const size_t shapes[][3] = {{1000, 37, 150}, {130, 64, 20}, {70, 24, 300}};
    for (int s = 0; s < 3; s++)
        for (int nt = 1; nt <= 3; nt++) {
            const size_t N = shapes[s][0], IC = shapes[s][1], OC = shapes[s][2];
            float *x = randn(N * IC, 1), *W = randn(OC * IC, 1), *d = randn(N * OC, 1);
            float *out = filled(N * OC, 7), *dx = filled(N * IC, 0.5f), *dW = filled(OC * IC, -0.5f);
            omp_set_num_threads(nt);
            openblas_set_num_threads(nt);
            matmul_forward(out, x, W, N, (int)IC, (int)OC);
            matmul_backward(dx, dW, d, x, W, N, (int)IC, (int)OC);
            double at[3] = {0}, e[3] = {
                worst_vs_double(out, 0, x, IC, 1, W, 1, IC, N, OC, IC, &at[0]),     // x W^T
                worst_vs_double(dx, 0.5, d, OC, 1, W, IC, 1, N, IC, OC, &at[1]),    // dout W
                worst_vs_double(dW, -0.5, d, 1, OC, x, IC, 1, OC, IC, N, &at[2]),   // dout^T x
            };
            const int w = e[0] >= e[1] && e[0] >= e[2] ? 0 : e[1] >= e[2] ? 1 : 2;
            check_report(e[w] <= 1, check_what("matmul (%zu, %zu) x (%zu, %zu)^T on %d threads: out, dx, dW / tolerance",
                                               N, IC, OC, IC, nt), e[w], at[w]);
            free(x), free(W), free(d), free(out), free(dx), free(dW);
        }
    omp_set_num_threads(omp_get_num_procs());
    openblas_set_num_threads(omp_get_num_procs());
}

// ---- swiglu, residual --------------------------------------------------------------------
typedef struct { float *a, *b; size_t n; int kind; } PwCtx;
static void pw_fwd(Probe *p) {
    PwCtx *c = p->ctx;
    if (c->kind) swiglu_forward(p->out, c->a, c->b, c->n);
    else residual_forward(p->out, c->a, c->b, c->n);
}
static void test_pointwise(void) {
    size_t n = 10;
    for (int kind = 0; kind < 2; kind++) {
        PwCtx c = {randn(n, 2), randn(n, 1), n, kind};
        float *out = filled(n, 0), *w = randn(n, 1), *da = filled(n, -1), *db = filled(n, -1);
        Probe p = {pw_fwd, out, w, n, &c};
        probe_loss(&p);
        if (kind) swiglu_backward(da, db, w, c.a, c.b, n);
        else residual_backward(da, db, w, n);
        check(kind ? "swiglu dgate" : "residual da", &p, c.a, n, da, -1);
        check(kind ? "swiglu dup" : "residual db", &p, c.b, n, db, -1);
    }
}

// ---- encoder ---------------------------------------------------------------------------
typedef struct { float *E; int *tok; size_t N; int C; } EncCtx;
static void enc_fwd(Probe *p) {
    EncCtx *c = p->ctx;
    encoder_forward(p->out, c->tok, c->E, c->N, c->C);
}
static void test_encoder(void) {
    int tok[5] = {1, 3, 1, 0, 2}, C = 4, V = 4;
    EncCtx c = {randn((size_t)V * C, 1), tok, 5, C};
    float *out = filled(5 * (size_t)C, 0), *w = randn(5 * (size_t)C, 1), *dE = filled((size_t)V * C, 0.1f);
    Probe p = {enc_fwd, out, w, 5 * (size_t)C, &c};
    probe_loss(&p);
    encoder_backward(dE, w, tok, 5, C);
    check("encoder dembed", &p, c.E, (size_t)V * C, dE, 0.1f);
}

// same_losses: one check that two computations of the same per-row losses a, b (n) agree
// to 1e-6 absolute; the line shows the row with the largest difference.
static void same_losses(const char *name, const float *a, const float *b, size_t n) {
    double e = -1.0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)a[i] - b[i]);
        if (!(d <= e)) e = d, at = i;                                        // a NaN stays the worst
    }
    check_report(e <= 1e-6, check_what("%s (max abs err %.2e)", name, e), a[at], b[at]);
}

// ---- exp_shift against libm over [-90, 0], exact 0 for -inf; exp_sub, exp_shift_short ---
static void test_exp_shift(void) {
    enum { N = 200001 };
    float *x = xmalloc(N * sizeof(float)), *y = xmalloc(N * sizeof(float));
    for (int i = 0; i < N; i++) x[i] = -90.0f * (float)i / (N - 1) + 3.0f;
    x[N - 1] = -INFINITY;
    double sum = exp_shift(y, x, N, 3.0f), ref_sum = 0.0, worst = 0.0;
    for (int i = 0; i < N - 1; i++) {
        double ref = exp((double)x[i] - 3.0), err = fabs(y[i] - ref);
        ref_sum += ref;
        if (ref > 1e-37 && err / ref > worst) worst = err / ref;
        if (ref <= 1e-37 && err > 2e-38) worst = INFINITY;
    }
    check_report(worst <= 4e-7, "exp_shift vs libm: max rel err <= 4e-7", worst, 4e-7);
    CHECK_EQ("exp_shift: exp(-inf) = 0 exactly", y[N - 1], 0.0f);
    CHECK_CLOSE("exp_shift: the returned sum vs the libm sum", sum, ref_sum, 0.0, 1e-6);
    float *z = xmalloc(N * sizeof(float));
    exp_sub(z, x, N, 3.0f);                                  // its exps without the sum: the same bits
    CHECK_EQ("exp_sub: bit-identical to exp_shift's y (so within 4e-7 of libm)", memcmp(z, y, N * sizeof(float)), 0);
    for (int n = 1; n <= 300; n += 13) {                     // tile rows: the float-lane sum
        const float *xr = x + 190000 - 2 * n;                          // exps in [e^-88, 1] and a tail
        double ref = 0.0;
        for (int i = 0; i < n; i++) ref += exp((double)xr[i] - 3.0);
        const float s = exp_shift_short(z, xr, n, 3.0f);
        exp_shift(y, xr, n, 3.0f);
        CHECK_EQ("exp_shift_short: y bit-identical to exp_shift's", memcmp(z, y, (size_t)n * sizeof(float)), 0);
        CHECK_CLOSE("exp_shift_short: the float-lane sum vs the libm sum", s, ref, 0.0, 1e-6);
    }
    free(x); free(y); free(z);
}

// ---- cross-entropy (probe weights 1: the backward takes one dloss for all rows) --------
typedef struct { float *z, *scratch; int *tg; size_t N; int V; } CeCtx;
static void ce_fwd(Probe *p) {          // the forward consumes its logits: give it a copy
    CeCtx *c = p->ctx;
    memcpy(c->scratch, c->z, c->N * c->V * sizeof(float));
    crossentropy_forward(p->out, c->scratch, c->tg, c->N, c->V);
}
static void test_crossentropy(void) {
    int tg[3] = {2, 0, 4}, V = 5;
    size_t N = 3;
    CeCtx c = {randn(N * V, 2), filled(N * V, 0), tg, N, V};
    float *out = filled(N, 0), *w = filled(N, 0.7f), *dz = xmalloc(N * V * sizeof(float)), *losses = filled(N, 0);
    Probe p = {ce_fwd, out, w, N, &c};
    probe_loss(&p);
    memcpy(dz, c.z, N * V * sizeof(float));
    crossentropy_backward(dz, losses, tg, 0.7f, N, V);
    check("crossentropy dlogits", &p, c.z, N * V, dz, 0.0f);
    same_losses("crossentropy losses", losses, out, N);
}

// ---- chunked LM head + cross-entropy (chunk 2 of 5 rows: a partial last chunk) ------
typedef struct { float *x, *W, *scratch; int *tg; size_t N; int C, V; } HeadCtx;
static void head_fwd(Probe *p) {
    HeadCtx *c = p->ctx;
    lmhead_ce_forward(p->out, c->x, c->tg, c->W, c->scratch, c->N, c->C, c->V, 2);
}
static void test_lmhead(void) {
    int tg[5] = {1, 6, 0, 3, 3}, C = 4, V = 7;
    size_t N = 5;
    HeadCtx c = {randn(N * C, 1), randn((size_t)V * C, 1), filled(2 * (size_t)V, 0), tg, N, C, V};
    float *out = filled(N, 0), *w = filled(N, 0.7f), *dx = filled(N * C, 0.3f), *dW = filled((size_t)V * C, 0.3f);
    float *logits = filled(N * V, 0), *ref = filled(N, 0), *losses = filled(N, 0);
    Probe p = {head_fwd, out, w, N, &c};
    probe_loss(&p);
    matmul_forward(logits, c.x, c.W, N, C, V);
    crossentropy_forward(ref, logits, tg, N, V);
    same_losses("lmhead_ce fwd vs whole", out, ref, N);
    lmhead_ce_backward(dx, dW, losses, 0.7f, c.x, tg, c.W, c.scratch, N, C, V, 2);
    check("lmhead_ce dx", &p, c.x, N * C, dx, 0.3f);
    check("lmhead_ce dW", &p, c.W, (size_t)V * C, dW, 0.3f);
    same_losses("lmhead_ce bwd losses", losses, out, N);
}

// Position ids of the (2, 6) attention-with-bias batches: contiguous, and with skips
// (PoSE) and documents (row 1: documents at 0, 2 and 5; ids restart in each).
static const int IOTA[12] = {0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5}, NODOC[12] = {0};
static const int SKIP[12] = {0, 2, 5, 6, 9, 13, 0, 1, 0, 4, 5, 0}, DOCS[12] = {0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 5};

// ---- rope ------------------------------------------------------------------------------
typedef struct { float *x, *cs, *sn; int B, T, NX, HS; } RopeCtx;
static void rope_fwd(Probe *p) {
    RopeCtx *c = p->ctx;
    rope_forward(p->out, c->x, c->cs, c->sn, SKIP, c->B, c->T, c->NX, c->HS);
}
static void test_rope(void) {
    int B = 2, T = 6, NX = 2, HS = 6, P = 14;
    size_t n = (size_t)B * T * NX * HS;
    RopeCtx c = {randn(n, 1), filled((size_t)P * HS / 2, 0), filled((size_t)P * HS / 2, 0), B, T, NX, HS};
    Position plain;
    position_default(&plain);
    plain.theta = 10000.0;
    rope_position_tables(c.cs, c.sn, &plain, HS, P, P);
    float *out = filled(n, 0), *w = randn(n, 1), *dx = filled(n, 0.3f);
    Probe p = {rope_fwd, out, w, n, &c};
    probe_loss(&p);
    rope_backward(dx, w, c.cs, c.sn, SKIP, B, T, NX, HS);
    check("rope dx", &p, c.x, n, dx, 0.3f);
}

// ---- attention -------------------------------------------------------------------------
typedef struct { float *q, *k, *v, *lse; int B, T, NH, NKV, HS; } AttCtx;
// att_scratch: attention's scratch for c's shape (and NB t5 buckets) on this many threads.
static AttnScratch att_scratch(const AttCtx *c, int NB) {
    const size_t n = attention_part_floats(c->B, c->T, c->NH, c->NKV, c->HS, NB, omp_get_max_threads());
    return (AttnScratch){filled((size_t)c->B * c->NH * c->T, 0), filled(n, 0), n};
}
static void att_fwd(Probe *p) {
    AttCtx *c = p->ctx;
    AttnBias none = {0, NULL, NULL, NULL, 0};
    const AttnScratch ws = att_scratch(c, 0);
    attention_forward(p->out, c->lse, c->q, c->k, c->v, &none, IOTA, NODOC, &ws, c->B, c->T, c->NH, c->NKV, c->HS);
    free(ws.delta);
    free(ws.part);
}
// attention_naive: the materialised softmax(q k^T / sqrt(HS) + causal mask) v, in double.
static double attention_naive_err(const AttCtx *c, const float *out) {
    int B = c->B, T = c->T, NH = c->NH, NKV = c->NKV, HS = c->HS, G = NH / NKV;
    double worst = 0.0, *p = xmalloc((size_t)T * sizeof(double));
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                double mx = -INFINITY, sum = 0.0;
                for (int s = 0; s <= t; s++) {
                    double d = 0.0;
                    for (int i = 0; i < HS; i++)
                        d += (double)c->q[(((size_t)b * T + t) * NH + h) * HS + i] * c->k[(((size_t)b * T + s) * NKV + h / G) * HS + i];
                    p[s] = d / sqrt((double)HS);
                    mx = p[s] > mx ? p[s] : mx;
                }
                for (int s = 0; s <= t; s++) sum += (p[s] = exp(p[s] - mx));
                for (int i = 0; i < HS; i++) {
                    double o = 0.0;
                    for (int s = 0; s <= t; s++) o += p[s] / sum * c->v[(((size_t)b * T + s) * NKV + h / G) * HS + i];
                    double e = fabs(o - out[(((size_t)b * T + t) * NH + h) * HS + i]);
                    worst = e > worst ? e : worst;
                }
            }
    free(p);
    return worst;
}
static void test_attention(int NH, int NKV) {
    int B = 2, T = 6, HS = 4;
    size_t nq = (size_t)B * T * NH * HS, nk = (size_t)B * T * NKV * HS;
    AttCtx c = {randn(nq, 1), randn(nk, 1), randn(nk, 1), filled((size_t)B * NH * T, 0), B, T, NH, NKV, HS};
    float *out = filled(nq, 0), *w = randn(nq, 1);
    float *dq = filled(nq, 0.2f), *dk = filled(nk, 0.2f), *dv = filled(nk, 0.2f);
    Probe p = {att_fwd, out, w, nq, &c};
    char name[64];
    probe_loss(&p);
    double e = attention_naive_err(&c, out);
    CHECK_CLOSE(check_what("attention fwd NH%d NKV%d: max abs err vs materialised softmax", NH, NKV), e, 0.0, 1e-5, 0.0);
    AttnBias none = {0, NULL, NULL, NULL, 0};
    const AttnScratch ws = att_scratch(&c, 0);
    attention_backward(dq, dk, dv, NULL, w, out, c.lse, c.q, c.k, c.v, &none, IOTA, NODOC, &ws, B, T, NH, NKV, HS);
    snprintf(name, sizeof name, "attention dq NH%d NKV%d", NH, NKV);
    check(name, &p, c.q, nq, dq, 0.2f);
    snprintf(name, sizeof name, "attention dk NH%d NKV%d", NH, NKV);
    check(name, &p, c.k, nk, dk, 0.2f);
    snprintf(name, sizeof name, "attention dv NH%d NKV%d", NH, NKV);
    check(name, &p, c.v, nk, dv, 0.2f);
}

// ---- attention with a position bias: alibi (no parameters), t5 (table gradient) -------
// on position ids with skips and documents (SKIP, DOCS).
typedef struct { AttCtx a; AttnBias ab; } BiasCtx;
static void attb_fwd(Probe *p) {
    BiasCtx *c = p->ctx;
    const AttnScratch ws = att_scratch(&c->a, c->ab.NB);
    attention_forward(p->out, c->a.lse, c->a.q, c->a.k, c->a.v, &c->ab, SKIP, DOCS, &ws, c->a.B, c->a.T, c->a.NH,
                      c->a.NKV, c->a.HS);
    free(ws.delta);
    free(ws.part);
}
static void test_attention_bias(int kind) {
    int B = 2, T = 6, NH = 4, NKV = 2, HS = 4, NB = 4;
    size_t nq = (size_t)B * T * NH * HS, nk = (size_t)B * T * NKV * HS, ns = (size_t)B * NH * T;
    float slopes[4], *table = randn((size_t)NB * NH, 1), *dtable = filled((size_t)NB * NH, 0.4f);
    int bucket[14];
    alibi_slopes(NH, slopes);
    for (int n = 0; n < 14; n++) bucket[n] = t5_bucket(n, NB, 5);
    BiasCtx c = {{randn(nq, 1), randn(nk, 1), randn(nk, 1), filled(ns, 0), B, T, NH, NKV, HS},
                 {kind, slopes, table, bucket, NB}};
    float *out = filled(nq, 0), *w = randn(nq, 1), *dq = filled(nq, 0), *dk = filled(nk, 0), *dv = filled(nk, 0);
    Probe p = {attb_fwd, out, w, nq, &c};
    const char *name = kind == BIAS_ALIBI ? "alibi" : "t5";
    char what[64];
    probe_loss(&p);
    const AttnScratch ws = att_scratch(&c.a, NB);
    attention_backward(dq, dk, dv, dtable, w, out, c.a.lse, c.a.q, c.a.k, c.a.v, &c.ab, SKIP, DOCS, &ws, B, T, NH, NKV, HS);
    snprintf(what, sizeof what, "attention+%s dq", name);
    check(what, &p, c.a.q, nq, dq, 0.0f);
    snprintf(what, sizeof what, "attention+%s dk", name);
    check(what, &p, c.a.k, nk, dk, 0.0f);
    snprintf(what, sizeof what, "attention+%s dv", name);
    check(what, &p, c.a.v, nk, dv, 0.0f);
    if (kind == BIAS_T5) check("attention+t5 dtable", &p, table, (size_t)NB * NH, dtable, 0.4f);
}

// ---- whole model: mean loss against finite differences on sampled parameters -----------
typedef struct { Model *m; int *in, *tg; float loss; } ModelCtx;
static void model_fwd(Probe *p) {
    ModelCtx *c = p->ctx;
    c->loss = model_forward(c->m, c->in, c->tg, NULL, 2, 6);
}
static void test_model(int tied, int NKV) {
    ModelConfig cfg = {.dim = 8, .hidden = 12, .n_layers = 2, .n_heads = 2, .n_kv_heads = NKV, .vocab = 11,
                       .max_seq_len = 6, .norm_eps = 1e-5f, .rope_theta = 10000.0f, .tied = tied};
    Model m;
    int in[12], tg[12];
    float one = 1.0f;
    for (int i = 0; i < 12; i++) { in[i] = (int)rng_below(&rng, 11); tg[i] = (int)rng_below(&rng, 11); }
    model_init(&m, &cfg, "test");
    model_init_random(&m, 7, 0.5f);
    model_reserve(&m, 2, 6, ACTS_ALL);
    model_prepare(&m);
    ModelCtx c = {&m, in, tg, 0};
    Probe p = {model_fwd, &c.loss, &one, 1, &c};
    probe_loss(&p);
    model_zero_grad(&m);
    model_forward_backward(&m, in, tg, NULL, 2, 6, 1.0f, ACTS_ALL);
    TensorSpec s[NUM_PARAMS];
    param_specs(&cfg, s);
    for (int i = 0; i < NUM_PARAMS; i++) {
        if (!m.params.t[i]) continue;
        char name[80];
        size_t n = spec_numel(&s[i], cfg.n_layers), k = n < 24 ? n : 24;
        const char *short_name = strstr(s[i].name, "%d.") ? strstr(s[i].name, "%d.") + 3 : s[i].name;
        snprintf(name, sizeof name, "model%s %s", tied ? " tied" : "", short_name);
        check(name, &p, m.params.t[i] + (n - k), k, m.grads.t[i] + (n - k), 0.0f);
    }
    model_free(&m);
}

int main(void) {
    test_encoder();
    test_rmsnorm();
    test_matmul();
    test_matmul_slabs();
    test_pointwise();
    test_exp_shift();
    test_crossentropy();
    test_lmhead();
    test_rope();
    test_attention(4, 4);
    test_attention(4, 2);
    test_attention(4, 1);
    test_attention_bias(BIAS_ALIBI);
    test_attention_bias(BIAS_T5);
    eps = 2e-3;
    test_model(1, 1);
    test_model(0, 2);
    return check_done("test_layers");
}
