// layers.h — forward/backward pairs of every layer. Argument order:
//   forward:  outputs, saved-for-backward, inputs, weights, sizes
//   backward: input grads, param grads, dout, saved/inputs, weights, sizes
// Every backward accumulates (+=) into its gradient buffers. N is a row count
// (usually B*T). Shapes use the vocabulary of model.h.
#ifndef STRETCH_LAYERS_H
#define STRETCH_LAYERS_H

#include <stddef.h>

// KERNEL: a hot loop compiled three times, for AVX-512 (x86-64-v4), AVX2 with FMA
// (x86-64-v3) and the x86-64-v2 baseline (SSE4.2), the copy picked once at load time by
// the CPU (GCC target_clones: an ifunc). With -ffp-contract=fast (Makefile) the AVX2 and
// AVX-512 copies fuse multiply-adds, which SSE cannot: results are bit-identical from run
// to run on one machine and thread count, and may differ in the last bits between
// machines of different ISA levels. STRETCH_BASELINE builds the baseline copy only.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(STRETCH_BASELINE)
#define KERNEL __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define KERNEL
#endif

// encoder: out[n] = embed[tokens[n]]. out (N, C), tokens (N), embed (V, C).
void encoder_forward(float *out, const int *tokens, const float *embed, size_t N, int C);
void encoder_backward(float *dembed, const float *dout, const int *tokens, size_t N, int C);

// rmsnorm: out = x / sqrt(mean(x^2) + eps) * w (Zhang & Sennrich 2019).
// out (N, C), rstd (N), x (N, C), w (C).
void rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, size_t N, int C, float eps);
void rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *rstd,
                      const float *w, size_t N, int C);

// matmul: out = x @ W^T. out (N, OC), x (N, IC), W (OC, IC). Each product's rows are
// dealt to the OpenMP threads in slabs, one single-threaded cblas_sgemm each (layers.c
// gemm_slabs); not to be called from inside an OpenMP region.
void matmul_forward(float *out, const float *x, const float *w, size_t N, int IC, int OC);
void matmul_backward(float *dx, float *dw, const float *dout, const float *x, const float *w,
                     size_t N, int IC, int OC);

// swiglu: out = silu(g) * u, silu(g) = g * sigmoid(g) (Shazeer 2020). All (n).
void swiglu_forward(float *out, const float *g, const float *u, size_t n);
void swiglu_backward(float *dg, float *du, const float *dout, const float *g, const float *u, size_t n);

// residual: out = a + b. All (n). Backward: da += dout, db += dout.
void residual_forward(float *out, const float *a, const float *b, size_t n);
void residual_backward(float *da, float *db, const float *dout, size_t n);

// exp_shift: y[i] = exp(x[i] - shift) for i < n, returning the sum of y in double.
// For softmax: x[i] - shift <= 0 (shift is the row max or the log-sum-exp); -INFINITY
// gives 0. A polynomial exp (Cephes expf, ~2 ulp) that the compiler vectorises; y may be x.
double exp_shift(float *y, const float *x, int n, float shift);
// exp_shift_short: the y of exp_shift (the same bits) and their sum in float lanes, for
// n up to a few hundred (attention's tile rows).
float exp_shift_short(float *y, const float *x, int n, float shift);
// exp_sub: the y of exp_shift (the same bits), without the sum.
void exp_sub(float *y, const float *x, int n, float shift);
// row_max: the largest of init and x[0..n) (NaNs never win: the scalar x > m ? x : m).
float row_max(const float *x, int n, float init);
// tile_nn: C = beta C + alpha A B (beta 0: C is only written) for attention's tiles:
// A (M, K; lda), B (K, N; ldb), C (M, N; ldc); tile_tn: the same with A^T, A (K, M; lda).
// Our register-blocked kernel (model/tile.c), the best this CPU runs (tile_isa), for N
// and K >= 16, each element's K products summed in order (the last N % 8 columns, and
// smaller products, on cblas_sgemm): bit-identical run to run on one machine.
// Single-threaded; may run inside OpenMP regions.
void tile_nn(float *C, int ldc, const float *A, int lda, const float *B, int ldb, int M, int N, int K, float alpha,
             float beta);
void tile_tn(float *C, int ldc, const float *A, int lda, const float *B, int ldb, int M, int N, int K, float alpha,
             float beta);
// TileIsa: the kernels of the tile products, in the order of what they need of the CPU.
typedef enum { TILE_CBLAS, TILE_AVX2, TILE_AVX512 } TileIsa;
// tile_isa: the best kernel this CPU runs; tile_isa_name: "cblas", "avx2", "avx512".
TileIsa tile_isa(void);
const char *tile_isa_name(TileIsa isa);
// tile_gemm: tile_nn (ta 0) or tile_tn (ta 1) on kernel isa (at most tile_isa(), checked).
void tile_gemm(TileIsa isa, float *C, int ldc, const float *A, int lda, int ta, const float *B, int ldb, int M, int N,
               int K, float alpha, float beta);

// crossentropy: losses[n] = logsumexp(logits[n]) - logits[n, targets[n]].
// losses (N), logits (N, V); both consume the logits (overwritten: they are scratch).
// Backward also computes the losses — a training step never runs the forward — and
// leaves dlogits = (softmax(logits) - onehot(target)) * dloss in place of the logits.
void crossentropy_forward(float *losses, float *logits, const int *targets, size_t N, int V);
void crossentropy_backward(float *dlogits, float *losses, const int *targets, float dloss, size_t N, int V);

// lmhead_ce: the LM head fused with cross-entropy, in chunks of `chunk` rows so that the
// (N, V) logits never exist at once: losses[n] = CE(x[n] W^T, targets[n]). Backward is
// the training step's whole head: per chunk, logits, losses, dlogits, then dx and dW.
// losses (N), x (N, C), W (V, C), scratch (chunk, V).
void lmhead_ce_forward(float *losses, const float *x, const int *targets, const float *W, float *scratch,
                       size_t N, int C, int V, size_t chunk);
void lmhead_ce_backward(float *dx, float *dW, float *losses, float dloss, const float *x, const int *targets,
                        const float *W, float *scratch, size_t N, int C, int V, size_t chunk);

// rope (Su et al. 2021, RoFormer), interleaved pairs: for pair j of a head of the token
// with position id p = pos[b, t], (x0, x1) -> (x0 c - x1 s, x0 s + x1 c), c = cos_tab[p, j],
// s = sin_tab[p, j]. out, x (B, T, NX, HS) may alias; cos_tab, sin_tab (P, HS/2) with
// every id < P; pos (B, T).
void rope_forward(float *out, const float *x, const float *cos_tab, const float *sin_tab, const int *pos,
                  int B, int T, int NX, int HS);
// backward applies the transpose rotation: dx += R^T dout.
void rope_backward(float *dx, const float *dout, const float *cos_tab, const float *sin_tab, const int *pos,
                   int B, int T, int NX, int HS);
// The cos/sin tables come from rope_position_tables (position.h), for every scheme.

// AttnBias: a bias added to the attention logit of query t, visible key s, head h, from
// their position ids' distance n = pos_t - pos_s >= 0:
//   alibi: -slopes[h] * n;   t5: table[bucket[n], h].   (kind: PosBias)
typedef struct {
    int kind;
    const float *slopes;   // (NH)
    const float *table;    // (NB, NH)
    const int *bucket;     // (P) bucket of each distance, P above every position id
    int NB;
} AttnBias;

// AttnScratch: attention's scratch. delta (B, NH, T), backward only: D_t = dout_t . out_t.
// part: the operands of one kv head copied head-major (forward and backward; B*HS*(2*G*T
// + T + 2*T') floats, T' = T rounded up to the tile), then, in the backward, the t5 sums
// per (b, head, key tile) (B, NH, ceil(T/128), NB) when t5, then one dq partial (B, T, G,
// HS) per thread after the first; part_floats: what part holds (from
// attention_part_floats for the threads that should run: the backward runs as many
// threads as it holds partials for, at most OpenMP's). G = NH / NKV.
typedef struct {
    float *delta;
    float *part;
    size_t part_floats;
} AttnScratch;

// attention: softmax(q k^T / sqrt(HS) + bias) v over the visible keys, with GQA (query
// head h reads kv head h / (NH/NKV)), tiled (FlashAttention-2, Dao 2023): never stores
// (T, T), saves only the per-row log-sum-exp; backward recomputes the probabilities tile
// by tile. Query t of row b sees keys s with doc[b, t] <= s <= t (causal within its
// document; doc = 0 everywhere is plain causal attention); key tiles no query of a tile
// sees are skipped. pos (B, T): position ids for the bias, non-decreasing within a
// document; doc (B, T): doc[t] = t or doc[t - 1]. Calls BLAS from its own OpenMP regions
// (with BLAS set to one thread there): not to be called from inside an OpenMP region.
// Results are bit-identical for a given thread count. ws: scratch (the forward uses
// only part).
// out (B, T, NH, HS), lse (B, NH, T), q (B, T, NH, HS), k, v (B, T, NKV, HS).
void attention_forward(float *out, float *lse, const float *q, const float *k, const float *v, const AttnBias *bias,
                       const int *pos, const int *doc, const AttnScratch *ws, int B, int T, int NH, int NKV, int HS);
// attention_forward_cached: one sequence (B = 1) whose T query rows are rows [q0, q0 + T)
// and whose keys/values are rows [0, q0 + T): a cached prefix and then the rows of these
// queries (scoring continuations of a long prompt, e.g. passkey). qpos (T), kpos (q0 + T)
// position ids; doc (T) the first key row each query sees. ws->part is sized for
// B = 1 and T = q0 + T.
// out (T, NH, HS), lse (NH, T), q (T, NH, HS), k, v (q0 + T, NKV, HS).
void attention_forward_cached(float *out, float *lse, const float *q, const float *k, const float *v,
                              const AttnBias *bias, const int *qpos, const int *kpos, const int *doc,
                              const AttnScratch *ws, int q0, int T, int NH, int NKV, int HS);
// dtable (NB, NH) gets the t5 table gradient (may be NULL otherwise).
void attention_backward(float *dq, float *dk, float *dv, float *dtable, const float *dout, const float *out,
                        const float *lse, const float *q, const float *k, const float *v, const AttnBias *bias,
                        const int *pos, const int *doc, const AttnScratch *ws, int B, int T, int NH, int NKV, int HS);
size_t attention_part_floats(int B, int T, int NH, int NKV, int HS, int NB, int threads);

// AttnRows: a block of query or key rows of attention: sequence rows [g0, g0 + n) (the
// indices causality and document starts compare), stored from row `base` of arrays that
// hold `stride` rows per sequence. Context parallelism (model/ring.c) runs a rank's
// query chunks against one key chunk at a time.
typedef struct {
    int g0, n, base, stride;
} AttnRows;
// attention_forward_block: out, lse of the query rows qr over the key rows kr: keys s of
// kr with doc_t <= s <= t. more: continue the softmax of out and lse (over earlier key
// rows; lse -inf: none yet) instead of starting afresh; a query that sees no key has
// out 0, lse -inf. qpos, doc are indexed like q (stride qr.stride), kpos like k.
// out, q (B, qr.stride, NH, HS), lse (B, NH, qr.stride), k, v (B, kr.stride, NKV, HS).
void attention_forward_block(float *out, float *lse, const float *q, const float *k, const float *v, const AttnBias *ab,
                             const int *qpos, const int *kpos, const int *doc, const AttnScratch *ws, AttnRows qr,
                             AttnRows kr, int more, int B, int NH, int NKV, int HS);
// attention_backward_block: attention_backward for the query rows qr against the key
// rows kr, given the final out and lse of the queries (over every key row): dq of qr's
// rows, dk and dv of kr's rows and dtable accumulate (+=). Scratch as attention_backward
// with T = qr.stride.
void attention_backward_block(float *dq, float *dk, float *dv, float *dtable, const float *dout, const float *out,
                              const float *lse, const float *q, const float *k, const float *v, const AttnBias *ab,
                              const int *qpos, const int *kpos, const int *doc, const AttnScratch *ws, AttnRows qr,
                              AttnRows kr, int B, int NH, int NKV, int HS);


// Context parallelism (ring.c): each of the P ranks of a ring (dist/dist.h) holds T
// local rows of every sequence of P*T rows: chunks c and 2P-1-c of its 2P chunks of
// T/2 rows (the load-balanced "zigzag" split: every rank gets the same causal work).
// doc holds sequence rows (the first row each query sees), pos the position ids.
// RingBuffers: the key/value blocks travelling the ring: k, v, dk, dv (2, B, T, NKV, HS)
// each and pos (2, B, T): two of each, one computed on, one being received.
typedef struct {
    float *k[2], *v[2], *dk[2], *dv[2];
    int *pos[2];
} RingBuffers;
// ring_rows: the sequence row of local row t (of T) on member c of a ring of P.
int ring_row(int t, int T, int P, int c);
// ring_attention_forward: attention_forward of this rank's rows over the whole
// sequence: its query chunks against every rank's key/value block as the blocks pass
// around the ring, merged by the online softmax (attention_forward_block's more).
// Scratch as attention_forward.
// out (B, T, NH, HS), lse (B, NH, T), q (B, T, NH, HS), k, v (B, T, NKV, HS).
void ring_attention_forward(float *out, float *lse, const float *q, const float *k, const float *v, const AttnBias *ab,
                            const int *pos, const int *doc, const AttnScratch *ws, const RingBuffers *rb, int B, int T,
                            int NH, int NKV, int HS);
// ring_attention_backward: attention_backward over the ring: dq of this rank's queries
// accumulates locally; each block's dk/dv travel with it and come home after P steps,
// added (+=) to dk, dv in ring order. Scratch as attention_backward.
void ring_attention_backward(float *dq, float *dk, float *dv, float *dtable, const float *dout, const float *out,
                             const float *lse, const float *q, const float *k, const float *v, const AttnBias *ab,
                             const int *pos, const int *doc, const AttnScratch *ws, const RingBuffers *rb, int B,
                             int T, int NH, int NKV, int HS);

#endif
