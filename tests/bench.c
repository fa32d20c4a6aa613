// bench.c — `make bench [CASES=a,b,...|all]` (default: the quick cases): throughput of full training steps (forward +
// backward + AdamW) and of attention alone, with achieved GFLOP/s, peak RSS, and the
// machine's 2-thread SGEMM GFLOP/s measured in the same run as the reference peak.
// Each case runs in a forked child so its peak RSS is its own. Medians over steps.
//
// FLOP formula for a training step: model_flops_per_token (model.h), per token
//   6 * N_matmul + 3 * L * (4 * C * T_avg)  with N_matmul = matmul parameters incl. the
//   LM head and T_avg = (T + 1) / 2 keys per causal query (QK^T and PV, 2 FLOP each).
#define _DEFAULT_SOURCE
#include "../data/data.h"
#include "../model/blas.h"
#include "../model/formats.h"
#include "../model/layers.h"
#include "../trainer/optim.h"
#include "../trainer/setup.h"
#include "../util/util.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

// Case: a model shape and batch; docs > 0: the batch packs documents of `docs` tokens
// with document masking (positions restart in each); pose > 0: PoSE ids spanning
// [0, pose) in 3 chunks; vs: a case run first in the same process, whose tokens/s the
// case's is printed against (the same tokens per step without masking, or the true long
// step PoSE stands in for).
typedef struct {
    const char *name;
    int dim, hidden, layers, heads, kv, vocab, T, B, steps;
    const char *kind;
    ActsMode acts;       // what a step keeps: ACTS_ALL, or recompute (true: ACTS_RECOMPUTE, full: ACTS_INPUTS)
    int docs, pose;
    const char *vs;
    int torch;           // 1: PyTorch trains the same shape in the same run (scripts/bench_torch.py)
} Case;

static const Case CASES[] = {
    {"15m_256", 288, 768, 6, 6, 6, 32000, 256, 8, 9, "step", ACTS_ALL, 0, 0, NULL, 0},
    {"15m_1024", 288, 768, 6, 6, 6, 32000, 1024, 2, 9, "step", ACTS_ALL, 0, 0, NULL, 0},
    {"15m_4096", 288, 768, 6, 6, 6, 32000, 4096, 1, 3, "step", ACTS_ALL, 0, 0, NULL, 0},
    {"15m_8192", 288, 768, 6, 6, 6, 32000, 8192, 1, 3, "step", ACTS_RECOMPUTE, 0, 0, NULL, 0},      // recompute on from here
    {"15m_32768", 288, 768, 6, 6, 6, 32000, 32768, 1, 1, "step", ACTS_RECOMPUTE, 0, 0, NULL, 0},
    {"260k_512", 64, 172, 5, 8, 4, 512, 512, 8, 7, "step", ACTS_ALL, 0, 0, NULL, 0},
    {"260k_4096", 64, 172, 5, 8, 4, 512, 4096, 1, 3, "step", ACTS_ALL, 0, 0, NULL, 0},
    {"260k_32768", 64, 172, 5, 8, 4, 512, 32768, 1, 1, "step", ACTS_RECOMPUTE, 0, 0, NULL, 0},
    {"attn_rope_8192", 288, 0, 1, 6, 6, 0, 8192, 1, 3, "rope", ACTS_ALL, 0, 0, NULL, 0},
    {"attn_alibi_8192", 288, 0, 1, 6, 6, 0, 8192, 1, 3, "alibi", ACTS_ALL, 0, 0, NULL, 0},
    {"attn_t5_8192", 288, 0, 1, 6, 6, 0, 8192, 1, 3, "t5", ACTS_ALL, 0, 0, NULL, 0},
    {"attn_rope_32768", 288, 0, 1, 6, 6, 0, 32768, 1, 1, "rope", ACTS_ALL, 0, 0, NULL, 0},
    {"attn_alibi_32768", 288, 0, 1, 6, 6, 0, 32768, 1, 1, "alibi", ACTS_ALL, 0, 0, NULL, 0},
    {"attn_t5_32768", 288, 0, 1, 6, 6, 0, 32768, 1, 1, "t5", ACTS_ALL, 0, 0, NULL, 0},
    {"15m_4096_docs256", 288, 768, 6, 6, 6, 32000, 4096, 1, 3, "step", ACTS_ALL, 256, 0, "15m_4096", 0},
    {"260k_4096_docs256", 64, 172, 5, 8, 4, 512, 4096, 4, 3, "step", ACTS_ALL, 256, 0, "260k_4096x4", 0},
    {"260k_4096x4", 64, 172, 5, 8, 4, 512, 4096, 4, 3, "step", ACTS_ALL, 0, 0, NULL, 0},
    {"260k_pose_32768", 64, 172, 5, 8, 4, 512, 2048, 16, 3, "step", ACTS_ALL, 0, 32768, "260k_32768", 0},
    // real shapes: stories110M (HS 64; at 8192 with recompute full, with attention's
    // output kept in 110m_8192_att, and without recompute in 110m_8192_all, each after a
    // warm-up step; PyTorch beside the last, against both it and recompute full), and one
    // TinyLlama-1.1B layer (HS 64, GQA 32/4) over a small vocabulary so that the layer's
    // own work dominates; at 32768 the 110M shape keeps one of its 12 layers (a step of
    // all 12 takes about 25 minutes here); PyTorch runs beside them up to 8192 (at 32768
    // its chunked attention takes over 10 minutes a step)
    {"110m_2048", 768, 2048, 12, 12, 12, 32000, 2048, 1, 3, "step", ACTS_ALL, 0, 0, NULL, 1},
    {"110m_8192", 768, 2048, 12, 12, 12, 32000, 8192, 1, 2, "step", ACTS_INPUTS, 0, 0, NULL, 0},
    {"110m_8192_att", 768, 2048, 12, 12, 12, 32000, 8192, 1, 2, "step", ACTS_RECOMPUTE, 0, 0, "110m_8192", 0},
    {"110m_8192_all", 768, 2048, 12, 12, 12, 32000, 8192, 1, 2, "step", ACTS_ALL, 0, 0, "110m_8192", 1},
    {"110m_l1_32768", 768, 2048, 1, 12, 12, 32000, 32768, 1, 1, "step", ACTS_RECOMPUTE, 0, 0, NULL, 0},
    {"tl1b_l1_2048", 2048, 5632, 1, 32, 4, 512, 2048, 1, 3, "step", ACTS_ALL, 0, 0, NULL, 1},
    {"tl1b_l1_8192", 2048, 5632, 1, 32, 4, 512, 8192, 1, 1, "step", ACTS_RECOMPUTE, 0, 0, NULL, 1},
    {"tl1b_l1_32768", 2048, 5632, 1, 32, 4, 512, 32768, 1, 1, "step", ACTS_RECOMPUTE, 0, 0, NULL, 0},
    {"attn_rope_hs64_8192", 768, 0, 1, 12, 12, 0, 8192, 1, 3, "rope", ACTS_ALL, 0, 0, NULL, 0},
    {"attn_rope_hs64_32768", 768, 0, 1, 12, 12, 0, 32768, 1, 1, "rope", ACTS_ALL, 0, 0, NULL, 0},
};
#define N_CASES (sizeof CASES / sizeof CASES[0])

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *x, int n) {
    qsort(x, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

// peak_rss_gib: the process's peak resident set (VmHWM), GiB.
static double peak_rss_gib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f, "bench: cannot read /proc/self/status");
    char line[256];
    double kib = -1.0;
    while (kib < 0.0 && fgets(line, sizeof line, f)) sscanf(line, "VmHWM: %lf kB", &kib);
    fclose(f);
    CHECK(kib >= 0.0, "bench: no VmHWM in /proc/self/status");
    return kib / (1024.0 * 1024.0);
}

// reset_peak_rss: the peak resident set becomes the current one (Linux's clear_refs 5), so
// that a case run second in this process (a vs case) reads its own peak, not its
// reference's SGEMM operands.
static void reset_peak_rss(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    CHECK(f && fputs("5", f) >= 0 && fclose(f) == 0, "bench: cannot reset the peak RSS (/proc/self/clear_refs)");
}

// Sgemm: the operands of the peak's 2048^3 SGEMM (on all threads).
enum { SGEMM_N = 2048 };
typedef struct { float *a, *b, *c; } Sgemm;

static Sgemm sgemm_alloc(void) {
    const size_t nn = (size_t)SGEMM_N * SGEMM_N;
    Sgemm g = {xmalloc(nn * 4), xmalloc(nn * 4), xmalloc(nn * 4)};
    for (size_t i = 0; i < nn; i++) { g.a[i] = 0.001f * (float)(i % 97); g.b[i] = 0.002f * (float)(i % 89); }
    return g;
}

static void sgemm_free(Sgemm *g) { free(g->a); free(g->b); free(g->c); }

// sgemm_once: the GFLOP/s of one 2048^3 SGEMM.
static double sgemm_once(const Sgemm *g) {
    const int n = SGEMM_N;
    const double t0 = now_seconds();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, g->a, n, g->b, n, 0.0f, g->c, n);
    return 2.0 * n * n * (double)n / (now_seconds() - t0) / 1e9;
}

// sgemm_gflops: the median of 5 of them (after one untimed).
static double sgemm_gflops(void) {
    Sgemm g = sgemm_alloc();
    double r[5];
    sgemm_once(&g);
    for (int i = 0; i < 5; i++) r[i] = sgemm_once(&g);
    sgemm_free(&g);
    return median(r, 5);
}

// Paired: the SGEMM rate measured after every step of a case (and after its warm-up), so
// that each step's GFLOP/s is read against the speed of the machine in the same seconds:
// this VM's speed drifts by tens of percent within minutes, for SGEMM and our kernels alike.
typedef struct {
    Sgemm g;
    double rate[17];   // GFLOP/s after mark m
    int n;             // marks so far
    double rss;        // the case's peak RSS, GiB, read before the SGEMM's operands exist
} Paired;

// paired_mark: after a step. The first mark reads the peak RSS (every buffer is allocated
// once and touched by then) and allocates the operands (with one untimed SGEMM); every
// mark takes the median of three SGEMMs (0.2-0.3 s).
static void paired_mark(Paired *p) {
    CHECK(p->n < 17, "bench: more than 16 steps");
    if (p->n == 0) {
        p->rss = peak_rss_gib();
        p->g = sgemm_alloc();
        sgemm_once(&p->g);
    }
    double r[3];
    for (int i = 0; i < 3; i++) r[i] = sgemm_once(&p->g);
    p->rate[p->n++] = median(r, 3);
}

// paired_share: the median over steps s of flop / t[s] against the SGEMM rate around step
// s: the mean of the marks before and after it (after only, for a first step without a
// warm-up); warm: whether a mark was made after a warm-up, before step 0. Then frees the
// SGEMM's operands and resets the peak RSS, for a case run next in this process.
static double paired_share(Paired *p, const double *t, int steps, double flop, int warm) {
    double r[16];
    for (int s = 0; s < steps; s++) {
        const int after = s + warm;
        const double g = after > 0 ? 0.5 * (p->rate[after - 1] + p->rate[after]) : p->rate[after];
        r[s] = flop / t[s] / 1e9 / g;
    }
    sgemm_free(&p->g);
    reset_peak_rss();
    return median(r, steps);
}

static const Case *find_case(const char *name);

// batch_ids: the positions of a case's batch (NULL: contiguous, one document per row).
static const PosIds *batch_ids(const Case *k, PosIds *ids, int *pos, int *doc) {
    if (!k->docs && !k->pose) return NULL;
    for (int i = 0; i < k->B * k->T; i++) doc[i] = k->docs ? i % k->T / k->docs * k->docs : 0;
    const Pose p = {k->pose, 3};
    batch_positions(pos, k->docs ? doc : NULL, &p, 11, 0, k->B, k->T);
    *ids = (PosIds){pos, k->docs ? doc : NULL, 0};
    return ids;
}

// case_config: the model shape of a step case.
static ModelConfig case_config(const Case *k) {
    return (ModelConfig){.dim = k->dim, .hidden = k->hidden, .n_layers = k->layers, .n_heads = k->heads,
                         .n_kv_heads = k->kv, .vocab = k->vocab, .max_seq_len = 512, .norm_eps = 1e-5f,
                         .rope_theta = 10000.0f, .tied = 1};
}

// print_row: one row of the table: name, T, B, tokens/s, seconds a step, GFLOP/s (flop a
// step), its share of the SGEMM peak, peak RSS, and the paired share (paired_share; < 0:
// not measured, as for PyTorch's rows).
static void print_row(const char *name, int T, int B, double tps, double dt, double flop, double peak, double rss,
                      double paired) {
    printf("%-16s %6d %3d %10.0f %10.2f %7.1f %6.1f%% %8.2f", name, T, B, tps, dt, flop / dt / 1e9,
           100.0 * flop / dt / 1e9 / peak, rss);
    if (paired >= 0.0) printf(" %6.1f%%", 100.0 * paired);
    printf("\n");
}

// Rates: what this machine's kernels reach in the same run, the roofline's ceilings.
typedef struct {
    double sgemm;      // GFLOP/s, 2048^3 on all threads (sgemm_gflops), measured with the rest
    double dense;      // GFLOP/s of the case's own matmuls (dense_gflops)
    double tile;       // GFLOP/s of attention's tile products at the case's head size
    double exps;       // attention's exps (exp_shift_short, exp_sub) per second (G/s), all threads
    double triad;      // GB/s, a[i] = b[i] + s c[i] over 3 x 64 MiB (STREAM counts 12 B/element)
} Rates;

// tile_gflops: attention's three tile product shapes (QK^T on a transposed key panel: NN,
// PV: NN, dS^T Q: TN) at (128 x 128) x (128 x HS), each thread on its own packed operands
// with tile_nn / tile_tn as attention runs them; the median of 5 timings of 64 rounds.
static double tile_gflops(int HS) {
    const int n = 128, nt = omp_get_max_threads(), reps = 64;
    float *mem = xcalloc((size_t)nt * (n * n + 3 * (size_t)n * HS), sizeof(float));
    for (size_t i = 0; i < (size_t)nt * (n * n + 3 * (size_t)n * HS); i++) mem[i] = 0.001f * (float)(i % 101);
    double t[5];
    (void)blas_serial();
    for (int r = -1; r < 5; r++) {
        double t0 = now_seconds();
        #pragma omp parallel num_threads(nt)
        {
            float *S = mem + (size_t)omp_get_thread_num() * (n * n + 3 * (size_t)n * HS), *A = S + n * n;
            float *B = A + (size_t)n * HS, *O = B + (size_t)n * HS;
            for (int i = 0; i < reps; i++) {
                tile_nn(S, n, A, HS, B, n, n, n, HS, 1.0f, 0.0f);            // B read as (HS, 128)
                tile_nn(O, HS, S, n, B, HS, n, HS, n, 1e-3f, 1.0f);
                tile_tn(O, HS, S, n, A, HS, n, HS, n, 1e-3f, 1.0f);
            }
        }
        if (r >= 0) t[r] = now_seconds() - t0;
    }
    blas_restore(nt);
    free(mem);
    return 3.0 * 2.0 * n * n * (double)HS * reps * nt / median(t, 5) / 1e9;
}

// dense_gflops: the GFLOP/s of a step case's dense matmuls as the model runs them
// (matmul_forward and matmul_backward: OpenBLAS on all threads) on the case's own shapes:
// one layer's q, k, v, o, w1, w3 (in C) and w2 (in H) over min(B*T, 2048) rows, and the
// LM head (in C, out V) over its chunk of logits_chunk rows; per token, L layers and one
// head. The median of 3 timings, after one untimed.
static double dense_gflops(const Case *k) {
    const int C = k->dim, KV = k->kv * (k->dim / k->heads), H = k->hidden, V = k->vocab;
    const size_t BT = (size_t)k->B * k->T, N = BT < 2048 ? BT : 2048, NC = logits_chunk(BT, V, k->acts);
    const int in[8] = {C, C, C, C, C, C, H, C}, out[8] = {C, KV, KV, C, H, H, C, V};
    size_t nx = 0, ny = 0, nw = 0;
    double flop = 0.0;                              // per token
    for (int i = 0; i < 8; i++) {
        const size_t n = i == 7 ? NC : N;
        nx = n * in[i] > nx ? n * in[i] : nx;
        ny = n * out[i] > ny ? n * out[i] : ny;
        nw = (size_t)in[i] * out[i] > nw ? (size_t)in[i] * out[i] : nw;
        flop += 6.0 * in[i] * out[i] * (i == 7 ? 1.0 : k->layers);
    }
    float *x = xcalloc(nx, 4), *dx = xcalloc(nx, 4), *y = xcalloc(ny, 4), *w = xcalloc(nw, 4), *dw = xcalloc(nw, 4);
    for (size_t i = 0; i < nx; i++) x[i] = 0.001f * (float)(i % 97);
    for (size_t i = 0; i < nw; i++) w[i] = 0.002f * (float)(i % 89);
    double sec[3];
    for (int r = -1; r < 3; r++) {
        double per_token = 0.0;
        for (int i = 0; i < 8; i++) {
            const size_t n = i == 7 ? NC : N;
            const double t0 = now_seconds();
            matmul_forward(y, x, w, n, in[i], out[i]);
            matmul_backward(dx, dw, y, x, w, n, in[i], out[i]);
            per_token += (now_seconds() - t0) / (double)n * (i == 7 ? 1.0 : k->layers);
        }
        if (r >= 0) sec[r] = per_token;
    }
    free(x); free(dx); free(y); free(w); free(dw);
    return flop / median(sec, 3) / 1e9;
}

// exp_rate: attention's exps over 128-element rows (a tile row), every thread its own:
// the forward's exp_shift_short and the backward's exp_sub in turn; G/s.
static double exp_rate(void) {
    const int n = 128, nt = omp_get_max_threads(), reps = 1 << 14;
    float *mem = xmalloc((size_t)nt * 2 * n * sizeof(float));
    for (int i = 0; i < nt * 2 * n; i++) mem[i] = -0.01f * (float)(i % 300);
    double t[5], sink = 0.0;
    for (int r = -1; r < 5; r++) {
        double t0 = now_seconds();
        #pragma omp parallel num_threads(nt) reduction(+ : sink)
        {
            float *x = mem + (size_t)omp_get_thread_num() * 2 * n;
            for (int i = 0; i < reps; i++) {
                sink += exp_shift_short(x + n, x, n, 0.5f);
                exp_sub(x + n, x, n, 0.5f);
                sink += x[n];
            }
        }
        if (r >= 0) t[r] = now_seconds() - t0;
    }
    free(mem);
    CHECK(sink > 0.0, "bench: exp_shift summed to %g", sink);
    return 2.0 * n * reps * nt / median(t, 5) / 1e9;
}

// triad_gbps: STREAM's triad on all threads, the median of 5 passes.
static double triad_gbps(void) {
    const size_t n = (size_t)16 << 20;
    float *a = xmalloc(n * 4), *b = xmalloc(n * 4), *c = xmalloc(n * 4);
    #pragma omp parallel for
    for (size_t i = 0; i < n; i++) { a[i] = 0.0f; b[i] = 1.0f; c[i] = 2.0f; }
    double t[5];
    for (int r = -1; r < 5; r++) {
        double t0 = now_seconds();
        #pragma omp parallel for
        for (size_t i = 0; i < n; i++) a[i] = b[i] + 0.5f * c[i];
        if (r >= 0) t[r] = now_seconds() - t0;
    }
    CHECK(a[n - 1] == 2.0f, "bench: triad gave %g", (double)a[n - 1]);
    free(a); free(b); free(c);
    return 12.0 * (double)n / median(t, 5) / 1e9;
}

// measure_rates: the roofline's five rates, each the median of 3 readings taken in turn
// (dense, tile, exp, triad, SGEMM; again; again), so that all five span the same seconds
// while this VM's speed drifts (one reading of each in a row put a slow tile rate beside a
// fast SGEMM: bounds of 17-162%).
static Rates measure_rates(const Case *k) {
    double r[5][3];
    for (int i = 0; i < 3; i++) {
        r[0][i] = strcmp(k->kind, "step") ? 0.0 : dense_gflops(k);
        r[1][i] = tile_gflops(k->dim / k->heads);
        r[2][i] = exp_rate();
        r[3][i] = triad_gbps();
        r[4][i] = sgemm_gflops();
    }
    Rates x;
    x.dense = median(r[0], 3);
    x.tile = median(r[1], 3);
    x.exps = median(r[2], 3);
    x.triad = median(r[3], 3);
    x.sgemm = median(r[4], 3);
    return x;
}

// print_bound: the roofline of a case (per token): the dense matmuls at the rate OpenBLAS
// reaches on the case's shapes (dense_gflops),
// attention's tile products (7 a score: QK^T, PV; QK^T again, dO V^T, P^T dO, dS^T Q,
// dS K; 2 HS FLOPs each; with ACTS_INPUTS 9: the refill's QK^T and PV) at the tile rate,
// and its two exps a score (forward, backward; three with ACTS_INPUTS) at the exp rate,
// added; the bytes of activations (each float written, read, its
// gradient written and read), logits and weights with AdamW's moments at the triad rate;
// the time bound is the larger. Scores count whole 128-key tiles on the causal
// diagonal. Element work besides exp (masks, softmax rows, dS, norms, SwiGLU) is left
// out: the bound is optimistic. Printed: the tokens/s and the % of SGEMM that the bound
// allows, and each term's share of it.
static void print_bound(const Case *k, const Rates *x) {
    const ModelConfig c = case_config(k);
    const double L = k->layers, C = k->dim, NH = k->heads, HS = C / NH, KV = k->kv * HS, H = k->hidden;
    const double nb = ceil(k->T / 128.0), scores = L * NH * 128.0 * (nb + 1) / 2;
    const int step = !strcmp(k->kind, "step");
    const double attn = model_attention_flops_per_token(&c, k->T);
    double dense = step ? model_flops_per_token(&c, k->T) - attn : 0.0;
    if (step && k->acts != ACTS_ALL) dense += 2.0 * L * (2 * C * C + 2 * KV * C + 2 * C * H);   // refill without down
    const double N = step ? (double)model_num_params(&c) : 0.0, BT = (double)k->B * k->T;
    const double bytes = 16.0 * L * (6 * C + 2 * KV + 3 * H + NH) + (step ? 16.0 * k->vocab + 40.0 * N / BT : 0.0);
    const int again = step && k->acts == ACTS_INPUTS;              // the refill re-runs attention's forward
    const double td = step ? dense / (x->dense * 1e9) : 0.0, tt = scores * (again ? 18.0 : 14.0) * HS / (x->tile * 1e9);
    const double te = (again ? 3.0 : 2.0) * scores / (x->exps * 1e9);
    const double tb = bytes / (x->triad * 1e9), tc = td + tt + te, bound = tc > tb ? tc : tb;
    const double counted = step ? model_flops_per_token(&c, k->T) : attn;
    printf("%-16s bound %.0f tokens/s, %.1f%% of SGEMM (%.0f GFLOP/s, measured with these rates): ", "", 1.0 / bound,
           100.0 * counted / bound / (x->sgemm * 1e9), x->sgemm);
    if (step) printf("matmuls %.0f%% (%.0f GFLOP/s on its shapes), ", 100 * td / bound, x->dense);
    printf("tiles %.0f%% (%.1f GFLOP/s at HS %.0f), exps %.0f%% (%.2f G/s), bytes %.0f%% (%.0f KB/token at %.1f GB/s)\n",
           100 * tt / bound, x->tile, HS, 100 * te / bound, x->exps, 100 * tb / bound, bytes / 1e3, x->triad);
}

// run_step_case: the case's median tokens/s (and its printed row); pr: its SGEMM marks and
// peak RSS.
static double run_step_case(const Case *k, double peak, Paired *pr) {
    ModelConfig cfg = case_config(k);
    Model m;
    AdamW opt;
    Rng r = {7};
    model_init(&m, &cfg, k->name);
    model_init_random(&m, 1, 0.02f);
    model_reserve(&m, k->B, k->T, k->acts);
    model_reserve_positions(&m, k->pose > k->T ? k->pose : k->T);
    model_prepare(&m);
    adamw_init(&opt, 0, m.num_params);
    size_t BT = (size_t)k->B * k->T;
    int *in = xmalloc(BT * sizeof(int)), *tg = xmalloc(BT * sizeof(int)), *pos = xmalloc(BT * sizeof(int)), *doc = xmalloc(BT * sizeof(int));
    for (size_t i = 0; i < BT; i++) { in[i] = (int)rng_below(&r, (size_t)k->vocab); tg[i] = (int)rng_below(&r, (size_t)k->vocab); }
    PosIds ids;
    const PosIds *pi = batch_ids(k, &ids, pos, doc);
    double t[16];
    const int warm = k->steps > 1;                              // long single-step cases skip the warm-up
    for (int s = warm ? -1 : 0; s < k->steps; s++) {
        double t0 = now_seconds();
        model_zero_grad(&m);
        model_forward_backward(&m, in, tg, pi, k->B, k->T, 1.0f, k->acts);
        adamw_step(&opt, &m, 1e-5f, 0.9f, 0.95f, 1e-8f, 0.0f);
        if (s >= 0) t[s] = now_seconds() - t0;
        paired_mark(pr);
    }
    const double flop = (double)BT * model_flops_per_token(&cfg, k->T), share = paired_share(pr, t, k->steps, flop, warm);
    const double dt = median(t, k->steps);
    print_row(k->name, k->T, k->B, (double)BT / dt, dt, flop, peak, pr->rss, share);
    free(in); free(tg); free(pos); free(doc);
    adamw_free(&opt);
    model_free(&m);
    return (double)BT / dt;
}

// run_torch: PyTorch on the case's shape (scripts/bench_torch.py, when /usr/bin/python3 has
// torch), its row, and stretch's tokens/s and peak RSS against it: the case's, and its
// reference's when it has one (ref: NULL or the case run first in the same process).
static void run_torch(const Case *k, double peak, double tps, double rss, const Case *ref, double ref_tps,
                      double ref_rss) {
    char cmd[512], line[512] = "";
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c 'import torch' 2>/dev/null && /usr/bin/python3 scripts/bench_torch.py "
             "%d %d %d %d %d %d %d %d %d %d 2>&1 | tail -1", k->dim, k->hidden, k->layers, k->heads, k->kv, k->vocab, k->T,
             k->B, k->steps, setup_threads(0));
    fflush(stdout);
    FILE *f = popen(cmd, "r");
    CHECK(f, "bench: cannot run %s", cmd);
    if (!fgets(line, sizeof line, f)) snprintf(line, sizeof line, "skip=python3-torch is not installed");
    pclose(f);
    line[strcspn(line, "\n")] = '\0';
    double t = 0.0, sec = 0.0, r = 0.0;
    const char *at = strstr(line, "tokens_per_s=");
    if (!at || sscanf(at, "tokens_per_s=%lf s_per_step=%lf rss_gib=%lf", &t, &sec, &r) != 3) {
        printf("%-16s torch: %s\n", "", line);
        return;
    }
    const ModelConfig cfg = case_config(k);
    print_row("  torch", k->T, k->B, t, sec, (double)k->B * k->T * model_flops_per_token(&cfg, k->T), peak, r, -1.0);
    const char *how = strstr(line, "attention=");
    printf("%-16s stretch: %.2fx torch's tokens/s in %.2fx its memory (%s)\n", "", tps / t, rss / r, how ? how : "");
    if (ref) printf("%-16s stretch as %s: %.2fx torch's tokens/s in %.2fx its memory\n", "", ref->name, ref_tps / t,
                    ref_rss / r);
}

static void run_attention_case(const Case *k, double peak, Paired *pr) {
    int T = k->T, NH = k->heads, NKV = k->kv, HS = k->dim / k->heads, NB = 32;
    size_t nq = (size_t)T * NH * HS, nk = (size_t)T * NKV * HS, ns = (size_t)NH * T;
    float *q = xmalloc(nq * 4), *kk = xmalloc(nk * 4), *v = xmalloc(nk * 4), *o = xmalloc(nq * 4), *lse = xmalloc(ns * 4);
    float *dq = xcalloc(nq, 4), *dk = xcalloc(nk, 4), *dv = xcalloc(nk, 4), *d1 = xmalloc(ns * 4);
    const size_t npart = attention_part_floats(1, T, NH, NKV, HS, NB, omp_get_max_threads());
    float *d2 = xmalloc(npart * 4);
    const AttnScratch ws = {d1, d2, npart};
    float *cs = xmalloc((size_t)T * HS / 2 * 4), *sn = xmalloc((size_t)T * HS / 2 * 4), slopes[64];
    float *table = xcalloc((size_t)NB * NH, 4), *dtable = xcalloc((size_t)NB * NH, 4);
    int *bucket = xmalloc((size_t)T * sizeof(int)), *pos = xmalloc((size_t)T * sizeof(int)), *doc = xcalloc((size_t)T, sizeof(int));
    for (int t = 0; t < T; t++) pos[t] = t;
    Rng r = {3};
    for (size_t i = 0; i < nq; i++) q[i] = rng_normal(&r);
    for (size_t i = 0; i < nk; i++) { kk[i] = rng_normal(&r); v[i] = rng_normal(&r); }
    Position plain;
    position_default(&plain);
    plain.theta = 10000.0;
    rope_position_tables(cs, sn, &plain, HS, T, T);
    alibi_slopes(NH, slopes);
    for (int n = 0; n < T; n++) bucket[n] = t5_bucket(n, NB, 128);
    AttnBias ab = {!strcmp(k->kind, "alibi") ? BIAS_ALIBI : !strcmp(k->kind, "t5") ? BIAS_T5 : BIAS_NONE, slopes, table, bucket, NB};
    double t[16];
    for (int s = 0; s < k->steps; s++) {
        double t0 = now_seconds();
        if (!strcmp(k->kind, "rope")) { rope_forward(q, q, cs, sn, pos, 1, T, NH, HS); rope_forward(kk, kk, cs, sn, pos, 1, T, NKV, HS); }
        attention_forward(o, lse, q, kk, v, &ab, pos, doc, &ws, 1, T, NH, NKV, HS);
        attention_backward(dq, dk, dv, dtable, o, o, lse, q, kk, v, &ab, pos, doc, &ws, 1, T, NH, NKV, HS);
        t[s] = now_seconds() - t0;
        paired_mark(pr);
    }
    const ModelConfig cfg = case_config(k);
    const double flop = (double)T * model_attention_flops_per_token(&cfg, T), share = paired_share(pr, t, k->steps, flop, 0);
    const double dt = median(t, k->steps);
    print_row(k->name, T, 1, (double)T / dt, dt, flop, peak, pr->rss, share);
}

static const Case *find_case(const char *name) {
    for (size_t i = 0; i < N_CASES; i++) if (!strcmp(CASES[i].name, name)) return &CASES[i];
    die("bench: unknown case '%s'", name);
}

// Each case runs in a fresh process (fork + exec of this binary): a forked child of a
// process whose OpenMP runtime is running can deadlock, and peak RSS must be per case.
int main(int argc, char **argv) {
    blas_fit_kernels(argv);          // the kernels train would run (its children and PyTorch inherit them)
    if (argc == 2 && !strcmp(argv[1], "--coretype")) {     // for scripts/bench_vs.sh: "" or what stretch set
        const char *t = getenv("OPENBLAS_CORETYPE");
        printf("%s\n", t ? t : "");
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "--case")) {
        const Case *k = find_case(argv[2]);
        setup_threads(0);
        Paired pr = {0}, pref = {0};
        if (k->vs) {                 // the reference first, then the case against it
            const Case *ref = find_case(k->vs);
            const double base = run_step_case(ref, atof(argv[3]), &pref), tps = run_step_case(k, atof(argv[3]), &pr);
            printf("%-16s %.2fx the tokens/s of %s (GFLOP/s counts full causal attention)\n", "", tps / base, ref->name);
            if (k->torch) run_torch(k, atof(argv[3]), tps, pr.rss, ref, base, pref.rss);
        } else if (!strcmp(k->kind, "step")) {
            const double tps = run_step_case(k, atof(argv[3]), &pr);
            if (k->torch) run_torch(k, atof(argv[3]), tps, pr.rss, NULL, 0.0, 0.0);
        }
        else run_attention_case(k, atof(argv[3]), &pr);
        if (!k->docs && !k->pose) {  // after the case, so its peak RSS is its own; the bound
                                     // counts full causal scores, not documents' or PoSE's
            const Rates x = measure_rates(k);
            print_bound(k, &x);
        }
        return 0;
    }
    // default: the cases that finish in about two minutes; CASES=all adds 15m_8192, the
    // 32k cases and the real shapes with PyTorch beside them (about an hour more); or name
    // cases explicitly
    const char *quick = "15m_256,15m_1024,15m_4096,260k_512,260k_4096,attn_rope_8192,attn_alibi_8192,attn_t5_8192,"
                        "15m_4096_docs256,260k_4096_docs256";
    const char *sel = argc > 1 ? argv[1] : getenv("CASES");
    if (!sel || !*sel) sel = quick;
    int threads = setup_threads(0);
    const double peak = sgemm_gflops();
    char blas[160];
    printf("bench: %d threads; OpenBLAS kernels: %s; SGEMM 2048^3: %.1f GFLOP/s (\"of peak\" is relative to the "
           "larger of it and the SGEMM measured again just before each case; \"paired\" is the median over steps of each "
           "step's share of the SGEMM measured around it)\n", threads, blas_kernels(blas, sizeof blas), peak);
    printf("%-16s %6s %3s %10s %10s %7s %7s %8s %7s\n", "case", "T", "B", "tokens/s", "s/step", "GFLOP/s", "of peak", "RSS GiB",
           "paired");
    fflush(stdout);
    int ran = 0;
    for (size_t i = 0; i < N_CASES; i++) {
        const Case *k = &CASES[i];
        {
            char pat[64], *list = xmalloc(strlen(sel) + 3);
            snprintf(pat, sizeof pat, ",%s,", k->name);
            sprintf(list, ",%s,", sel);
            int hit = !strcmp(sel, "all") || strstr(list, pat) != NULL;
            free(list);
            if (!hit) continue;
        }
        ran++;
        // this VM's speed drifts within minutes: a slow phase at the start must not
        // inflate a later case's share
        const double again = sgemm_gflops();
        char peak_s[32];
        snprintf(peak_s, sizeof peak_s, "%.3f", again > peak ? again : peak);
        pid_t pid = fork();
        CHECK(pid >= 0, "bench: fork failed");
        if (pid == 0) {
            execl("/proc/self/exe", argv[0], "--case", k->name, peak_s, (char *)NULL);
            _exit(127);
        }
        int st;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st)) printf("%-16s failed (status %d)\n", k->name, st);
        fflush(stdout);
    }
    if (!ran) {
        char names[1024] = "";
        for (size_t i = 0; i < N_CASES; i++) snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? "," : "", CASES[i].name);
        die("bench: no case matches '%s' (cases: %s)", sel, names);
    }
    return 0;
}
