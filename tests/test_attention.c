// test_attention.c — the tiled attention of model/attention.c against the row-at-a-time
// oracle (tests/attention_naive.c), forward (out, lse) and backward (dq, dk, dv, t5
// dtable), with GQA and every position bias:
//   1. contiguous ids (pos = t, one document) on shapes around the tile size (128), up to
//      T = 1024;
//   2. positions as data: PoSE-like ids (three chunks, jumps of thousands; the T5 bucket
//      table covers exactly max id + 1), and packed documents whose starts fall inside
//      tiles and on tile boundaries, one-token documents, and documents from row 256 on so
//      that whole key tiles are skipped;
//   3. skipped tiles are skipped: documents of whole tiles, with NaN in the keys/values of
//      every other document. A visited tile's hidden rows still enter P V (0 * NaN = NaN),
//      so finite outputs and gradients equal to the oracle's (clean inputs) in the other
//      documents show that those tiles were masked and never read;
//   4. the cached forward (query rows [q0, T) over keys [0, T)) against those rows of the
//      oracle: for every one-sequence case, and with a document begun in the cached
//      prefix, documents starting within the queries and NaN in the prefix rows no query
//      may see;
//   5. the tiles' product kernels (tile_gemm): every one this CPU runs (cblas, AVX2,
//      AVX-512; the best is printed), against a double-precision product on shapes
//      around their register blocks (12, 8, 6 and 1 rows; 48, 32, 16 and 8 columns; a
//      tail of N % 8; N or K below 16), NN and TN, alpha 0.3, beta 0 over NaN and 0.7,
//      each twice (bit-identical), the AVX-512 kernel's bits also equal to the AVX2's:
//      |C - ref| <= 1e-5 * (|alpha| sum_k |a_ik b_kj| + |beta c_ij|) + 1e-30.
// Every tiled run is done twice: the results must be bit-identical.
// Pass: |tiled - naive| <= atol + rtol * |naive| with rtol = 1e-5 and atol = 1e-5 * max|naive|
// + 1e-6 (the scale of the tensor: sums over up to 1024 keys in another order; the floor
// for a tensor that is 0 up to rounding, as dq at T = 1).
#include "../model/layers.h"
#include "../model/position.h"
#include "../util/util.h"
#include "attention_naive.h"
#include "check.h"

#include <math.h>
#include <omp.h>
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

// RowIds: the position ids and documents of one row of T tokens. Documents start at rows
// start[0] = 0 < start[1] < ... (ndoc of them); a token's id is the previous token's + 1
// (0 for the first, and for a document's first when restart), plus skip[j] at row
// jump[j] (PoSE chunks).
typedef struct {
    int ndoc, start[8], restart, njump, jump[4], skip[4];
} RowIds;

static const RowIds CONTIGUOUS = {1, {0}, 0, 0, {0}, {0}};

// fill_row: pos, doc (T) of row spec r.
static void fill_row(int *pos, int *doc, int T, const RowIds *r) {
    for (int t = 0, d = 0; t < T; t++) {
        if (d + 1 < r->ndoc && r->start[d + 1] == t) d++;
        doc[t] = r->start[d];
        pos[t] = t == 0 || (t == doc[t] && r->restart) ? 0 : pos[t - 1] + 1;
        for (int j = 0; j < r->njump; j++) pos[t] += r->jump[j] == t ? r->skip[j] : 0;
    }
}

// Case: one comparison: shape, bias (T5: NB 32 buckets up to max_distance), and the ids
// of each batch row (row[b], B <= 3; NULL: contiguous).
typedef struct {
    const char *ids;
    int B, T, NH, NKV, HS, kind, max_distance;
    const RowIds *row[3];
} Case;

// Run: the results of one forward + backward.
typedef struct { float *out, *lse, *dq, *dk, *dv, *dtable; } Run;

// Problem: the inputs of one case: q, dout (B, T, NH, HS), k, v (B, T, NKV, HS), ids
// pos, doc (B, T), bias (table (NB, NH), bucket (P = max id + 1), slopes (NH)).
typedef struct {
    int B, T, NH, NKV, HS, NB, P;
    float *q, *k, *v, *dout, *table, slopes[64];
    int *pos, *doc, *bucket;
    AttnBias ab;
} Problem;

static void problem_init(Problem *p, const Case *c) {
    const int B = c->B, T = c->T, NH = c->NH, NKV = c->NKV, HS = c->HS;
    *p = (Problem){.B = B, .T = T, .NH = NH, .NKV = NKV, .HS = HS, .NB = 32};
    p->q = randn((size_t)B * T * NH * HS, 1);
    p->k = randn((size_t)B * T * NKV * HS, 1);
    p->v = randn((size_t)B * T * NKV * HS, 1);
    p->dout = randn((size_t)B * T * NH * HS, 1);
    p->table = randn((size_t)p->NB * NH, 1);
    p->pos = xmalloc((size_t)B * T * sizeof(int));
    p->doc = xmalloc((size_t)B * T * sizeof(int));
    for (int b = 0; b < B; b++) fill_row(p->pos + (size_t)b * T, p->doc + (size_t)b * T, T, c->row[b] ? c->row[b] : &CONTIGUOUS);
    for (size_t i = 0; i < (size_t)B * T; i++) p->P = p->pos[i] + 1 > p->P ? p->pos[i] + 1 : p->P;
    p->bucket = xmalloc((size_t)p->P * sizeof(int));
    for (int n = 0; n < p->P; n++) p->bucket[n] = t5_bucket(n, p->NB, c->max_distance);
    alibi_slopes(NH, p->slopes);
    p->ab = (AttnBias){c->kind, p->slopes, p->table, p->bucket, p->NB};
}

static void problem_free(Problem *p) {
    free(p->q); free(p->k); free(p->v); free(p->dout); free(p->table); free(p->pos); free(p->doc); free(p->bucket);
}

// run: forward + backward of p, by the oracle (naive) or the tiled kernels; k, v given
// (p's or a poisoned copy).
static void run(Run *r, const Problem *p, const float *k, const float *v, int naive) {
    const int B = p->B, T = p->T, NH = p->NH, NKV = p->NKV, HS = p->HS;
    const size_t nq = (size_t)B * T * NH * HS, nk = (size_t)B * T * NKV * HS, ns = (size_t)B * NH * T;
    *r = (Run){xcalloc(nq, 4), xcalloc(ns, 4), xcalloc(nq, 4), xcalloc(nk, 4), xcalloc(nk, 4), xcalloc((size_t)p->NB * NH, 4)};
    float *delta = xcalloc(ns, sizeof(float));
    const size_t npart =
        naive ? (size_t)B * NH * p->NB : attention_part_floats(B, T, NH, NKV, HS, p->NB, omp_get_max_threads());
    float *dbias = xcalloc(npart ? npart : 1, sizeof(float));
    const AttnScratch ws = {delta, dbias, npart};
    if (naive) {
        attention_naive_forward(r->out, r->lse, p->q, k, v, &p->ab, p->pos, p->doc, B, T, NH, NKV, HS);
        attention_naive_backward(r->dq, r->dk, r->dv, r->dtable, p->dout, r->out, r->lse, p->q, k, v, &p->ab, p->pos,
                                 p->doc, delta, dbias, B, T, NH, NKV, HS);
    } else {
        attention_forward(r->out, r->lse, p->q, k, v, &p->ab, p->pos, p->doc, &ws, B, T, NH, NKV, HS);
        attention_backward(r->dq, r->dk, r->dv, r->dtable, p->dout, r->out, r->lse, p->q, k, v, &p->ab, p->pos, p->doc,
                           &ws, B, T, NH, NKV, HS);
    }
    free(delta);
    free(dbias);
}

static void run_free(Run *r) { free(r->out); free(r->lse); free(r->dq); free(r->dk); free(r->dv); free(r->dtable); }

// cached_check: attention_forward_cached for query rows [q0, T) of the one sequence of p
// (keys kv, v: p's or poisoned) against those rows of ref (the oracle's out/lse). The
// call gets the ids as the model passes them: qpos, doc of the query rows, kpos of all.
static void cached_check(const char *label, const Problem *p, const float *k, const float *v, const Run *ref, int q0) {
    const int T = p->T, NH = p->NH, HS = p->HS, n = T - q0;
    float *o = xcalloc((size_t)n * NH * HS, sizeof(float)), *l = xcalloc((size_t)NH * n, sizeof(float));
    float *lref = xmalloc((size_t)NH * n * sizeof(float));
    const size_t npart = attention_part_floats(1, T, NH, p->NKV, HS, 0, 1);
    const AttnScratch ws = {NULL, xmalloc(npart * sizeof(float)), npart};
    attention_forward_cached(o, l, p->q + (size_t)q0 * NH * HS, k, v, &p->ab, p->pos + q0, p->pos, p->doc + q0, &ws, q0,
                             n, NH, p->NKV, HS);
    for (int h = 0; h < NH; h++) memcpy(lref + (size_t)h * n, ref->lse + (size_t)h * T + q0, (size_t)n * sizeof(float));
    char what[64];
    snprintf(what, sizeof what, "cached out, query rows [%d, %d)", q0, T);
    compare(label, what, o, ref->out + (size_t)q0 * NH * HS, (size_t)n * NH * HS);
    snprintf(what, sizeof what, "cached lse, query rows [%d, %d)", q0, T);
    compare(label, what, l, lref, (size_t)NH * n);
    free(o); free(l); free(lref); free(ws.part);
}

static void test_case(const Case *c) {
    Problem p;
    problem_init(&p, c);
    const int B = c->B, T = c->T, NH = c->NH, NKV = c->NKV, HS = c->HS;
    const size_t nq = (size_t)B * T * NH * HS, nk = (size_t)B * T * NKV * HS, ns = (size_t)B * NH * T;
    Run r[3];                                  // r[0]: naive; r[1], r[2]: two tiled runs
    for (int i = 0; i < 3; i++) run(&r[i], &p, p.k, p.v, i == 0);
    char label[128];
    snprintf(label, sizeof label, "%s B %d T %d NH %d NKV %d HS %d bias %s", c->ids, B, T, NH, NKV, HS, BIAS_NAMES[c->kind]);
    compare(label, "out", r[1].out, r[0].out, nq);
    compare(label, "lse", r[1].lse, r[0].lse, ns);
    compare(label, "dq", r[1].dq, r[0].dq, nq);
    compare(label, "dk", r[1].dk, r[0].dk, nk);
    compare(label, "dv", r[1].dv, r[0].dv, nk);
    if (c->kind == BIAS_T5) compare(label, "dtable", r[1].dtable, r[0].dtable, (size_t)p.NB * NH);
    int same = !memcmp(r[1].out, r[2].out, nq * 4) && !memcmp(r[1].lse, r[2].lse, ns * 4) &&
               !memcmp(r[1].dq, r[2].dq, nq * 4) && !memcmp(r[1].dk, r[2].dk, nk * 4) &&
               !memcmp(r[1].dv, r[2].dv, nk * 4) && !memcmp(r[1].dtable, r[2].dtable, (size_t)p.NB * NH * 4);
    CHECK_TRUE(check_what("%s: rerun (two tiled runs bit-identical)", label), same);
    if (B == 1 && T > 1) cached_check(label, &p, p.k, p.v, &r[0], T * 2 / 5 + 1);
    for (int i = 0; i < 3; i++) run_free(&r[i]);
    problem_free(&p);
}

// poison: a copy of x (B, T, NX, HS) with NaN in every token (b, t) for which hide(b, t).
static float *poison(const float *x, const Problem *p, int NX, const unsigned char *hide) {
    const size_t w = (size_t)NX * p->HS, n = (size_t)p->B * p->T;
    float *y = xmalloc(n * w * sizeof(float));
    memcpy(y, x, n * w * sizeof(float));
    for (size_t i = 0; i < n; i++)
        if (hide[i])
            for (size_t e = 0; e < w; e++) y[i * w + e] = NAN;
    return y;
}

// gather: the elements of the kept tokens of x, in order, into out; returns their count.
// x is (B, T, w) tokens-major, or (B, NH, T) when lse (w = NH).
static size_t gather(float *out, const float *x, const Problem *p, const unsigned char *keep, size_t w, int lse) {
    size_t n = 0;
    for (int b = 0; b < p->B; b++)
        for (int t = 0; t < p->T; t++)
            if (keep[(size_t)b * p->T + t])
                for (size_t e = 0; e < w; e++)
                    out[n++] = lse ? x[((size_t)b * w + e) * p->T + t] : x[((size_t)b * p->T + t) * w + e];
    return n;
}

// compare_kept: compare() over the kept tokens only.
static void compare_kept(const char *label, const char *what, const float *a, const float *ref, const Problem *p,
                         const unsigned char *keep, size_t w, int lse) {
    float *ga = xmalloc((size_t)p->B * p->T * w * sizeof(float)), *gr = xmalloc((size_t)p->B * p->T * w * sizeof(float));
    const size_t n = gather(ga, a, p, keep, w, lse);
    gather(gr, ref, p, keep, w, lse);
    compare(label, what, ga, gr, n);
    free(ga); free(gr);
}

// test_skipped_tiles: B 2, T 1024: row 0 eight documents of 128 tokens (ids restart at
// 0), row 1 four of 256 (ids run on, one jump of 3000), every document a whole number of
// tiles. For parity 0 and 1 the documents d with d % 2 == parity get NaN keys and values;
// a query of another document visits only its own document's tiles (earlier ones are
// skipped, later ones are causal), so its out, lse, dq and the dk, dv of its keys must be
// finite and equal the oracle's on clean inputs. (dtable sums over every document: not
// compared here; the NaN documents' own outputs must be NaN, which shows the poison is
// read where it is visible.)
static void test_skipped_tiles(int kind) {
    static const RowIds eight = {8, {0, 128, 256, 384, 512, 640, 768, 896}, 1, 0, {0}, {0}};
    static const RowIds four = {4, {0, 256, 512, 768}, 0, 1, {600}, {3000}};
    const Case c = {"docs of whole tiles", 2, 1024, 4, 2, 16, kind, 4096, {&eight, &four}};
    Problem p;
    problem_init(&p, &c);
    const int B = c.B, T = c.T, NH = c.NH, NKV = c.NKV, HS = c.HS;
    Run ref, r;
    run(&ref, &p, p.k, p.v, 1);
    unsigned char *hide = xmalloc((size_t)B * T), *keep = xmalloc((size_t)B * T);
    for (int parity = 0; parity < 2; parity++) {
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) {
                const int d = t / (b == 0 ? 128 : 256);
                hide[(size_t)b * T + t] = d % 2 == parity;
                keep[(size_t)b * T + t] = d % 2 != parity;
            }
        float *k = poison(p.k, &p, NKV, hide), *v = poison(p.v, &p, NKV, hide);
        run(&r, &p, k, v, 0);
        char label[128];
        snprintf(label, sizeof label, "skipped tiles (NaN in %s documents) bias %s", parity ? "odd" : "even",
                 BIAS_NAMES[kind]);
        compare_kept(label, "out", r.out, ref.out, &p, keep, (size_t)NH * HS, 0);
        compare_kept(label, "lse", r.lse, ref.lse, &p, keep, (size_t)NH, 1);
        compare_kept(label, "dq", r.dq, ref.dq, &p, keep, (size_t)NH * HS, 0);
        compare_kept(label, "dk", r.dk, ref.dk, &p, keep, (size_t)NKV * HS, 0);
        compare_kept(label, "dv", r.dv, ref.dv, &p, keep, (size_t)NKV * HS, 0);
        size_t finite = 0;
        for (size_t i = 0; i < (size_t)B * T; i++)
            for (int e = 0; e < NH * HS; e++) finite += hide[i] && isfinite(r.out[i * NH * HS + e]);
        CHECK_EQ(check_what("%s: NaN documents' out is NaN", label), finite, (size_t)0);
        free(k); free(v);
        run_free(&r);
    }
    free(hide); free(keep);
    run_free(&ref);
    problem_free(&p);
}

// test_cached_docs: one sequence of 400 rows, documents from rows 0, 90, 150, 300, 350,
// 399 (ids restart at 0, one jump of 900 at row 200); query rows [172, 400): the first
// query tile [172, 300) lies in the document begun at 150 in the cached prefix, the
// second [300, 400) starts a document (its key tiles 0 and 1 are skipped) and holds two
// more. Keys [0, 128) — a tile that no query may see — hold NaN in the cached call.
static void test_cached_docs(int kind) {
    static const RowIds row = {6, {0, 90, 150, 300, 350, 399}, 1, 1, {200}, {900}};
    const Case c = {"cached docs", 1, 400, 4, 2, 16, kind, 2048, {&row, NULL}};
    Problem p;
    problem_init(&p, &c);
    Run ref;
    run(&ref, &p, p.k, p.v, 1);
    unsigned char hide[400];
    for (int t = 0; t < 400; t++) hide[t] = t < 128;
    float *k = poison(p.k, &p, c.NKV, hide), *v = poison(p.v, &p, c.NKV, hide);
    char label[80];
    snprintf(label, sizeof label, "cached, documents, NaN in keys [0, 128), bias %s", BIAS_NAMES[kind]);
    cached_check(label, &p, k, v, &ref, 172);
    free(k); free(v);
    run_free(&ref);
    problem_free(&p);
}

// tile_check: tile_nn (or tile_tn when ta) on one shape, operands in larger strided
// buffers, against double.
static void tile_check(TileIsa isa, int M, int N, int K, float beta, int ta) {
    const int lda = (ta ? M : K) + 3, ldb = N + 5, ldc = N + 7;
    float *A = randn((size_t)(ta ? K : M) * lda, 1.0f), *B = randn((size_t)K * ldb, 1.0f);
    float *C = randn((size_t)M * ldc, 1.0f);
    float *C0 = xmalloc((size_t)M * ldc * sizeof(float));
    if (beta == 0.0f)
        for (size_t i = 0; i < (size_t)M * ldc; i++) C[i] = NAN;       // beta 0 must not read C
    memcpy(C0, C, (size_t)M * ldc * sizeof(float));
    float *C2 = xmalloc((size_t)M * ldc * sizeof(float)), *C3 = xmalloc((size_t)M * ldc * sizeof(float));
    memcpy(C2, C, (size_t)M * ldc * sizeof(float));
    memcpy(C3, C, (size_t)M * ldc * sizeof(float));
    const float alpha = 0.3f;          // neither alpha nor beta a power of 2: a fused or unfused last step shows
    for (int run = 0; run < 2; run++) {
        float *c = run ? C2 : C;
        tile_gemm(isa, c, ldc, A, lda, ta, B, ldb, M, N, K, alpha, beta);
    }
    int ok = memcmp(C, C2, (size_t)M * ldc * sizeof(float)) == 0;       // bit-identical twice
    if (isa == TILE_AVX512) {                                          // and the same bits as the AVX2 kernel
        tile_gemm(TILE_AVX2, C3, ldc, A, lda, ta, B, ldb, M, N, K, alpha, beta);
        ok &= memcmp(C, C3, (size_t)M * ldc * sizeof(float)) == 0;
    }
    double worst = 0.0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0.0, mag = 0.0;
            for (int k = 0; k < K; k++) {
                const double p = (double)(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) * B[(size_t)k * ldb + j];
                s += p;
                mag += fabs(p);
            }
            const double c0 = beta == 0.0f ? 0.0 : C0[(size_t)i * ldc + j];
            const double ref = alpha * s + beta * c0, tol = 1e-5 * (alpha * mag + fabs(beta * c0)) + 1e-30;
            const double err = fabs(C[(size_t)i * ldc + j] - ref);
            ok &= err <= tol;                                          // false for NaN
            worst = err / tol > worst ? err / tol : worst;
        }
    for (int i = 0; i < M; i++)                                        // the padding is untouched
        for (int j = N; j < ldc; j++) ok &= memcmp(&C[(size_t)i * ldc + j], &C0[(size_t)i * ldc + j], sizeof(float)) == 0;
    char what[96];
    snprintf(what, sizeof what, "%s %s %dx%dx%d beta %g: worst err/tol", tile_isa_name(isa), ta ? "tn" : "nn", M, N, K,
             (double)beta);
    check_report(ok, what, worst, 1.0);
    free(A); free(B); free(C); free(C0); free(C2); free(C3);
}

int main(void) {
    static const int shapes[][3] = {{128, 128, 64}, {128, 64, 128}, {128, 48, 128}, {128, 128, 48}, {9, 17, 5},
                                    {7, 33, 1},     {1, 1, 1},      {104, 8, 104}, {128, 104, 16}, {17, 31, 128},
                                    {21, 48, 20},   {12, 32, 16},   {8, 16, 16},   {128, 80, 128}, {13, 114, 24},
                                    {128, 8, 128},  {128, 128, 8},  {25, 24, 9},   {128, 40, 128}, {7, 15, 3},
                                    {13, 63, 24},   {12, 120, 16}};
    printf("tile kernel on this CPU: %s (each kernel up to it is checked)\n", tile_isa_name(tile_isa()));
    for (int isa = TILE_CBLAS; isa <= (int)tile_isa(); isa++)
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
            for (int b = 0; b < 2; b++)
                for (int ta = 0; ta < 2; ta++)
                    tile_check((TileIsa)isa, shapes[i][0], shapes[i][1], shapes[i][2], 0.7f * (float)b, ta);
    // PoSE: three chunks of one document, ids jumping by thousands (max id 3999 / 3698)
    static const RowIds pose = {1, {0}, 0, 2, {100, 200}, {1200, 2500}};
    static const RowIds pose2 = {1, {0}, 0, 2, {37, 250}, {3000, 400}};
    // documents: inside tile 0 (70), a one-token one (127), on a tile boundary (128),
    // across the boundary at 256 (200), after 256 (300); ids restart per document
    static const RowIds docs = {6, {0, 70, 127, 128, 200, 300}, 1, 0, {0}, {0}};
    // a one-token document first and last, one across 128, one from 256: query tile 2
    // skips key tiles 0 and 1; ids run on across documents, with two jumps
    static const RowIds docs2 = {6, {0, 1, 100, 250, 256, 379}, 0, 2, {50, 260}, {700, 1500}};
    const Case cases[] = {
        {"contiguous", 2, 1024, 6, 6, 48, BIAS_NONE, 128, {0}},    // the 15M shape
        {"contiguous", 1, 1024, 8, 4, 8, BIAS_NONE, 128, {0}},     // the stories260K shape
        {"contiguous", 2, 1000, 6, 6, 48, BIAS_ALIBI, 128, {0}},   // T not a multiple of the tile
        {"contiguous", 1, 777, 8, 4, 8, BIAS_T5, 128, {0}},
        {"contiguous", 2, 300, 4, 1, 16, BIAS_T5, 128, {0}},       // multi-query
        {"contiguous", 1, 257, 4, 2, 12, BIAS_ALIBI, 128, {0}},    // two tiles and one row
        {"contiguous", 3, 128, 2, 2, 4, BIAS_NONE, 128, {0}},      // exactly one tile
        {"contiguous", 2, 129, 2, 1, 4, BIAS_T5, 128, {0}},        // one tile and one row
        {"contiguous", 2, 50, 2, 2, 4, BIAS_T5, 128, {0}},         // less than a tile
        {"contiguous", 1, 1, 2, 2, 4, BIAS_ALIBI, 128, {0}},
        {"pose", 2, 300, 4, 2, 16, BIAS_NONE, 2048, {&pose, &pose2}},
        {"pose", 2, 300, 4, 2, 16, BIAS_ALIBI, 2048, {&pose, &pose2}},
        {"pose", 2, 300, 4, 2, 16, BIAS_T5, 2048, {&pose, &pose2}},
        {"pose", 1, 300, 6, 3, 8, BIAS_ALIBI, 2048, {&pose2, NULL}},  // NH 6: non-power-of-two slopes
        {"pose", 1, 300, 4, 1, 8, BIAS_T5, 128, {&pose, NULL}},      // most tiles in the last bucket
        {"docs", 2, 380, 4, 2, 16, BIAS_NONE, 2048, {&docs, &docs2}},
        {"docs", 2, 380, 4, 2, 16, BIAS_ALIBI, 2048, {&docs, &docs2}},
        {"docs", 2, 380, 4, 2, 16, BIAS_T5, 2048, {&docs, &docs2}},
        {"docs", 2, 380, 4, 1, 8, BIAS_T5, 128, {&docs2, &docs}},
        {"docs", 1, 380, 4, 2, 8, BIAS_T5, 2048, {&docs2, NULL}},    // cached: query rows [153, 380)
        {"docs", 1, 380, 4, 4, 8, BIAS_ALIBI, 2048, {&docs, NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) test_case(&cases[i]);
    for (int kind = BIAS_NONE; kind < NUM_BIASES; kind++) test_skipped_tiles(kind);
    for (int kind = BIAS_NONE; kind < NUM_BIASES; kind++) test_cached_docs(kind);
    return check_done("test_attention");
}
