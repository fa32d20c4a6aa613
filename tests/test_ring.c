// test_ring.c — context-parallel ring attention (model/ring.c) against the tiled attention
// of model/attention.c run on the whole sequence. All ranks of the job form one ring of P
// = dist_size() members (P = 1 without mpirun); every rank builds the same inputs of B
// sequences of Tf = 2*P*C rows (C: the chunk size, T = 2C local rows), runs
// attention_forward/attention_backward on them as the reference, and
// ring_attention_forward/ring_attention_backward on its own rows (chunks c and 2P-1-c,
// ring_row), then checks on its rows:
//   - out, lse, dq, dk, dv equal the reference's rows: |ring - ref| <= 1e-5 + 1e-4 |ref|
//     (the ring merges partial softmaxes over other key blocks, so rounding differs);
//   - t5: the local dtables summed over the ranks (each holds its queries' share) equal
//     the reference dtable: |sum - ref| <= 1e-4 + 1e-3 |ref|;
//   - a second ring forward + backward gives bit-identical results.
// Cases: every bias (none, ALiBi, T5), GQA (NH 4, NKV 2) and NKV = NH, HS 8 and 16, B 2;
// chunks of C = 150 rows (not a multiple of the kernel's 128-row tile) and of C = 40
// (several chunks per tile); position ids contiguous, PoSE-like (two growing skips inside
// the sequence) and restarting per document; documents starting on a chunk boundary,
// just after one, one-token documents and documents spanning several chunks, or one
// document (plain causal). Rank 0 prints one line per case (the worst err/tol over all
// ranks) and the closing line; any rank prints its failures on stderr. Exit 1 on any
// failure, on every rank.
#include "../dist/dist.h"
#include "../model/layers.h"
#include "../model/position.h"
#include "../util/util.h"
#include "check.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { B = 2, NB = 32, MAX_DISTANCE = 1024, NTENSORS = 6 };
static const char *const TENSORS[NTENSORS] = {"out", "lse", "dq", "dk", "dv", "dtable"};

// Case: chunk size C (Tf = 2*P*C), heads, bias kind, PoSE skips, packed documents.
typedef struct {
    int C, NH, NKV, HS, kind, pose, docs;
} Case;

// Problem: the whole-sequence inputs, the same on every rank: q, dout (B, Tf, NH, HS),
// k, v (B, Tf, NKV, HS), pos, doc (B, Tf), the bias (t5 table (NB, NH), bucket of every
// distance up to the largest id, slopes (NH)).
typedef struct {
    int P, Tf, T, NH, NKV, HS;
    float *q, *k, *v, *dout, *table, slopes[16];
    int *pos, *doc, *bucket;
    AttnBias ab;
} Problem;

// Result: one forward + backward. Tensors in the order of TENSORS.
typedef struct {
    float *t[NTENSORS];
} Result;

static float *randn(Rng *r, size_t n) {
    float *x = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = rng_normal(r);
    return x;
}

// doc_starts: the document starts of sequence b (Tf rows, chunks of C): row 0 has a
// start inside chunk 0, one on the chunk boundary C followed by a one-token document,
// one on 3C (P >= 2), a document from C+1 across several chunks (P >= 2), and short
// ones at the end (the last row alone); row 1 a one-token first document, a start just
// before a boundary and one on the boundary P*C, the middle of the sequence. Starts past
// the end or out of order (small P) are dropped. Returns their count.
static int doc_starts(int *start, int b, int C, int Tf) {
    const int s0[] = {0, 37, C, C + 1, 3 * C, Tf - C / 2, Tf - C / 2 + 1, Tf - 1};
    const int s1[] = {0, 1, C - 1, Tf / 2, Tf / 2 + 1, Tf - 2};
    const int *s = b == 0 ? s0 : s1, n = b == 0 ? 8 : 6;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (s[i] < Tf && (k == 0 || s[i] > start[k - 1])) start[k++] = s[i];
    return k;
}

// fill_ids: pos, doc (Tf) of sequence b: ids t, plus 500 from row 3Tf/10 and 1400 from
// row 7Tf/10 (pose; the rows differ a little between sequences); with docs, documents
// from doc_starts and ids restarting at 0 at each (as data/pose.c: pos[t] -= pos[doc[t]]).
static void fill_ids(int *pos, int *doc, const Case *c, int b, int Tf) {
    int start[8];
    const int n = c->docs ? doc_starts(start, b, c->C, Tf) : 1;
    if (!c->docs) start[0] = 0;
    const int r1 = 3 * Tf / 10 + 7 * b, r2 = 7 * Tf / 10 - 5 * b;
    for (int t = 0, d = 0; t < Tf; t++) {
        if (d + 1 < n && start[d + 1] == t) d++;
        doc[t] = start[d];
        pos[t] = t + (c->pose && t >= r1 ? 500 : 0) + (c->pose && t >= r2 ? 900 : 0);
    }
    if (c->docs)
        for (int t = Tf - 1; t >= 0; t--) pos[t] -= pos[doc[t]];   // doc[t] <= t: read before written
}

static void problem_init(Problem *p, const Case *c, int P) {
    const int Tf = 2 * P * c->C, NH = c->NH, NKV = c->NKV, HS = c->HS;
    const size_t n = (size_t)B * Tf;
    *p = (Problem){.P = P, .Tf = Tf, .T = 2 * c->C, .NH = NH, .NKV = NKV, .HS = HS};
    Rng r = {(uint64_t)(1000 + c->C * 7 + c->kind * 131 + c->HS + c->NKV * 17 + c->pose * 3 + c->docs * 5)};
    p->q = randn(&r, n * NH * HS);
    p->k = randn(&r, n * NKV * HS);
    p->v = randn(&r, n * NKV * HS);
    p->dout = randn(&r, n * NH * HS);
    p->table = randn(&r, (size_t)NB * NH);
    p->pos = xmalloc(n * sizeof(int));
    p->doc = xmalloc(n * sizeof(int));
    for (int b = 0; b < B; b++) fill_ids(p->pos + (size_t)b * Tf, p->doc + (size_t)b * Tf, c, b, Tf);
    int maxpos = 0;
    for (size_t i = 0; i < n; i++) maxpos = p->pos[i] > maxpos ? p->pos[i] : maxpos;
    p->bucket = xmalloc((size_t)(maxpos + 1) * sizeof(int));
    for (int d = 0; d <= maxpos; d++) p->bucket[d] = t5_bucket(d, NB, MAX_DISTANCE);
    alibi_slopes(NH, p->slopes);
    p->ab = (AttnBias){c->kind, p->slopes, p->table, p->bucket, NB};
}

static void problem_free(Problem *p) {
    free(p->q); free(p->k); free(p->v); free(p->dout); free(p->table); free(p->pos); free(p->doc); free(p->bucket);
}

// result_alloc: zeroed tensors for T rows per sequence.
static void result_alloc(Result *r, const Problem *p, int T) {
    const size_t nq = (size_t)B * T * p->NH * p->HS, nk = (size_t)B * T * p->NKV * p->HS;
    const size_t size[NTENSORS] = {nq, (size_t)B * p->NH * T, nq, nk, nk, (size_t)NB * p->NH};
    for (int i = 0; i < NTENSORS; i++) r->t[i] = xcalloc(size[i], sizeof(float));
}

static void result_free(Result *r) {
    for (int i = 0; i < NTENSORS; i++) free(r->t[i]);
}

// reference: attention_forward + attention_backward over the whole sequences.
static void reference(Result *r, const Problem *p) {
    const int Tf = p->Tf, NH = p->NH, NKV = p->NKV, HS = p->HS;
    result_alloc(r, p, Tf);
    float *delta = xmalloc((size_t)B * NH * Tf * sizeof(float));
    const size_t npart = attention_part_floats(B, Tf, NH, NKV, HS, p->ab.kind == BIAS_T5 ? NB : 0, omp_get_max_threads());
    float *dbias = xmalloc((npart + 1) * sizeof(float));
    const AttnScratch ws = {delta, dbias, npart};
    attention_forward(r->t[0], r->t[1], p->q, p->k, p->v, &p->ab, p->pos, p->doc, &ws, B, Tf, NH, NKV, HS);
    attention_backward(r->t[2], r->t[3], r->t[4], r->t[5], p->dout, r->t[0], r->t[1], p->q, p->k, p->v, &p->ab, p->pos,
                       p->doc, &ws, B, Tf, NH, NKV, HS);
    free(delta);
    free(dbias);
}

// gather: this rank's rows of src (outer, Tf, width) elements of `elem` bytes into dst
// (outer, T, width): local row t is sequence row ring_row(t, T, P, c).
static void gather(void *dst, const void *src, size_t elem, size_t outer, size_t width, const Problem *p) {
    const int c = dist_ring_rank(), T = p->T;
    const size_t w = width * elem;
    for (size_t o = 0; o < outer; o++)
        for (int t = 0; t < T; t++)
            memcpy((char *)dst + (o * T + (size_t)t) * w, (const char *)src + (o * p->Tf + (size_t)ring_row(t, T, p->P, c)) * w, w);
}

// Local: this rank's rows of the inputs (doc values stay sequence rows) and the ring's
// buffers.
typedef struct {
    float *q, *k, *v, *dout;
    int *pos, *doc;
    RingBuffers rb;
} Local;

static void local_init(Local *l, const Problem *p) {
    const size_t nq = (size_t)p->NH * p->HS, nk = (size_t)p->NKV * p->HS, rows = (size_t)B * p->T;
    l->q = xmalloc(rows * nq * sizeof(float));
    l->k = xmalloc(rows * nk * sizeof(float));
    l->v = xmalloc(rows * nk * sizeof(float));
    l->dout = xmalloc(rows * nq * sizeof(float));
    l->pos = xmalloc(rows * sizeof(int));
    l->doc = xmalloc(rows * sizeof(int));
    gather(l->q, p->q, sizeof(float), B, nq, p);
    gather(l->k, p->k, sizeof(float), B, nk, p);
    gather(l->v, p->v, sizeof(float), B, nk, p);
    gather(l->dout, p->dout, sizeof(float), B, nq, p);
    gather(l->pos, p->pos, sizeof(int), B, 1, p);
    gather(l->doc, p->doc, sizeof(int), B, 1, p);
    for (int i = 0; i < 2; i++) {
        l->rb.k[i] = xmalloc(rows * nk * sizeof(float));
        l->rb.v[i] = xmalloc(rows * nk * sizeof(float));
        l->rb.dk[i] = xmalloc(rows * nk * sizeof(float));
        l->rb.dv[i] = xmalloc(rows * nk * sizeof(float));
        l->rb.pos[i] = xmalloc(rows * sizeof(int));
    }
}

static void local_free(Local *l) {
    free(l->q); free(l->k); free(l->v); free(l->dout); free(l->pos); free(l->doc);
    for (int i = 0; i < 2; i++) {
        free(l->rb.k[i]); free(l->rb.v[i]); free(l->rb.dk[i]); free(l->rb.dv[i]); free(l->rb.pos[i]);
    }
}

// ring: ring_attention_forward + ring_attention_backward of this rank's rows (local
// dtable: its queries' share only).
static void ring(Result *r, const Problem *p, const Local *l) {
    const int T = p->T, NH = p->NH, NKV = p->NKV, HS = p->HS;
    result_alloc(r, p, T);
    float *delta = xmalloc((size_t)B * NH * T * sizeof(float));
    const size_t npart = attention_part_floats(B, T, NH, NKV, HS, p->ab.kind == BIAS_T5 ? NB : 0, omp_get_max_threads());
    float *dbias = xmalloc((npart + 1) * sizeof(float));
    const AttnScratch ws = {delta, dbias, npart};
    ring_attention_forward(r->t[0], r->t[1], l->q, l->k, l->v, &p->ab, l->pos, l->doc, &ws, &l->rb, B, T, NH, NKV, HS);
    ring_attention_backward(r->t[2], r->t[3], r->t[4], r->t[5], l->dout, r->t[0], r->t[1], l->q, l->k, l->v, &p->ab,
                            l->pos, l->doc, &ws, &l->rb, B, T, NH, NKV, HS);
    free(delta);
    free(dbias);
}

// Worst: the element of a comparison with the largest err/tol.
typedef struct {
    double ratio, got, ref;
    int tensor;
} Worst;

// compare: a (n) against ref (n) with |a - ref| <= atol + rtol |ref|; updates w with the
// worst element (NaN counts as infinitely wrong) and prints the tensor's failure on
// stderr. Returns 1 when every element is within tolerance.
static int compare(Worst *w, const char *label, int tensor, const float *a, const float *ref, size_t n, double atol,
                   double rtol) {
    double worst = 0.0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const double err = fabs((double)a[i] - ref[i]), tol = atol + rtol * fabs(ref[i]);
        const double r = isnan(err) ? INFINITY : err / tol;
        if (r > worst) worst = r, at = i;
    }
    if (worst > w->ratio) *w = (Worst){worst, a[at], ref[at], tensor};
    if (worst > 1.0)
        fprintf(stderr, "test_ring rank %d: %s: %s worst err/tol %.3f at element %zu (%.9g vs %.9g)\n", dist_rank(),
                label, TENSORS[tensor], worst, at, (double)a[at], (double)ref[at]);
    return worst <= 1.0;
}

// compare_rows: the ring's local out, lse, dq, dk, dv against this rank's rows of the
// reference; returns the number of failing tensors.
static int compare_rows(Worst *w, const char *label, const Result *ring_r, const Result *ref, const Problem *p) {
    const size_t nq = (size_t)p->NH * p->HS, nk = (size_t)p->NKV * p->HS;
    const size_t outer[5] = {B, (size_t)B * p->NH, B, B, B}, width[5] = {nq, 1, nq, nk, nk};
    int fail = 0;
    for (int i = 0; i < 5; i++) {
        const size_t n = outer[i] * p->T * width[i];
        float *rows = xmalloc(n * sizeof(float));
        gather(rows, ref->t[i], sizeof(float), outer[i], width[i], p);
        fail += !compare(w, label, i, ring_r->t[i], rows, n, 1e-5, 1e-4);
        free(rows);
    }
    return fail;
}

// compare_dtable: the local dtables summed over the ranks (rank order) against the
// reference dtable; 0 or 1 failure.
static int compare_dtable(Worst *w, const char *label, const Result *ring_r, const Result *ref, const Problem *p) {
    const size_t n = (size_t)NB * p->NH;
    double *sum = xmalloc(n * sizeof(double));
    float *total = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) sum[i] = ring_r->t[5][i];
    dist_sum_f64(sum, n);
    for (size_t i = 0; i < n; i++) total[i] = (float)sum[i];
    const int ok = compare(w, label, 5, total, ref->t[5], n, 1e-4, 1e-3);
    free(sum);
    free(total);
    return !ok;
}

// same_bits: the two ring runs are bit-identical in every tensor.
static int same_bits(const Result *a, const Result *b, const Problem *p) {
    const size_t nq = (size_t)B * p->T * p->NH * p->HS, nk = (size_t)B * p->T * p->NKV * p->HS;
    const size_t size[NTENSORS] = {nq, (size_t)B * p->NH * p->T, nq, nk, nk, (size_t)NB * p->NH};
    for (int i = 0; i < NTENSORS; i++)
        if (memcmp(a->t[i], b->t[i], size[i] * sizeof(float))) return 0;
    return 1;
}

// global_worst: the worst of every rank's w (the same on every rank).
static Worst global_worst(Worst w) {
    const int P = dist_size(), me = dist_rank();
    double *all = xcalloc((size_t)4 * P, sizeof(double));
    all[4 * me] = w.ratio, all[4 * me + 1] = w.tensor, all[4 * me + 2] = w.got, all[4 * me + 3] = w.ref;
    dist_sum_f64(all, (size_t)4 * P);
    Worst g = {0.0, 0.0, 0.0, 0};
    for (int r = 0; r < P; r++)
        if (r == 0 || all[4 * r] > g.ratio) g = (Worst){all[4 * r], all[4 * r + 2], all[4 * r + 3], (int)all[4 * r + 1]};
    free(all);
    return g;
}

// test_case: one case on every rank; one line (rank 0's stdout) with the worst err/tol.
static void test_case(const Case *c) {
    const int P = dist_ring_size();
    char label[128];
    snprintf(label, sizeof label, "C %d %s%s bias %s NH %d NKV %d HS %d", c->C, c->pose ? "pose" : "contiguous",
             c->docs ? " docs" : "", BIAS_NAMES[c->kind], c->NH, c->NKV, c->HS);
    Problem p;
    problem_init(&p, c, P);
    Result ref, r[2];
    Local l;
    reference(&ref, &p);
    local_init(&l, &p);
    for (int i = 0; i < 2; i++) ring(&r[i], &p, &l);
    Worst w = {0.0, 0.0, 0.0, 0};
    int fail = compare_rows(&w, label, &r[0], &ref, &p);
    if (c->kind == BIAS_T5) fail += compare_dtable(&w, label, &r[0], &ref, &p);
    const int same = same_bits(&r[0], &r[1], &p);
    if (!same) fprintf(stderr, "test_ring rank %d: %s: the rerun is not bit-identical\n", dist_rank(), label);
    fail = dist_max_int(fail + !same);
    const int rerun = dist_max_int(!same);
    const Worst g = global_worst(w);
    check_report(!fail, check_what("%s: worst err/tol %.3f (%s)%s", label, g.ratio, TENSORS[g.tensor],
                                   rerun ? ", rerun differs" : ""), g.got, g.ref);
    for (int i = 0; i < 2; i++) result_free(&r[i]);
    result_free(&ref);
    local_free(&l);
    problem_free(&p);
}

int main(int argc, char **argv) {
    dist_init(&argc, &argv);
    dist_ring_init(dist_size());
    const Case cases[] = {
        // C, NH, NKV, HS, kind, pose, docs
        {150, 4, 4, 16, BIAS_NONE, 0, 0},     // plain causal, contiguous ids
        {150, 4, 2, 8, BIAS_ALIBI, 0, 0},
        {150, 4, 2, 16, BIAS_T5, 0, 0},
        {150, 4, 2, 16, BIAS_NONE, 1, 0},     // PoSE skips, one document
        {150, 4, 4, 8, BIAS_ALIBI, 1, 0},
        {150, 4, 2, 8, BIAS_T5, 1, 0},
        {150, 4, 2, 16, BIAS_NONE, 1, 1},     // packed documents, ids restarting
        {150, 4, 4, 16, BIAS_ALIBI, 1, 1},
        {150, 4, 2, 8, BIAS_T5, 1, 1},
        {150, 4, 4, 16, BIAS_T5, 0, 1},
        {40, 4, 2, 16, BIAS_T5, 1, 1},        // chunks smaller than a tile
        {40, 4, 4, 8, BIAS_ALIBI, 0, 0},
        {40, 4, 2, 8, BIAS_NONE, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) test_case(&cases[i]);
    char name[64];
    snprintf(name, sizeof name, "test_ring (%d ranks)", dist_size());
    check_done(name);
    const int fail = dist_max_int(check_failed);
    dist_finalize();
    return fail ? 1 : 0;
}
