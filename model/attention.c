// attention.c — RoPE and tiled causal attention with GQA and in-tile position biases
// (see layers.h), after FlashAttention-2 (Dao 2023, arXiv:2307.08691). Scores exist one
// (TILE, TILE) tile at a time per thread: the forward keeps a running (max, sum) per query
// row and saves the log-sum-exp; the backward recomputes each tile's probabilities.
// Positions are data: biases read per-token position ids, and a document mask hides keys
// before a query's document start; key tiles hidden from a whole query tile are skipped.
// One kv head at a time, its operands are first copied head-major into scratch (Pack):
// rows of HS floats and transposed key tiles, so that every tile product is a NoTrans or
// TransA GEMM on contiguous operands (strided (row stride NH*HS) and A*B^T tile products
// run slower in BLAS). A forward of less than a query tile a head (decoding over a
// cache) reads q, k, v in place instead. Tile products on packed operands run on
// tile_nn / tile_tn (model/tile.c), in place on single-threaded BLAS, inside the OpenMP
// regions.
#include "blas.h"
#include "layers.h"
#include "position.h"
#include "../util/util.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <string.h>

// rotate_token: rotate_pairs for one token's NX heads (o, x: its rows; c, s: its angle's
// cos and sin, HS / 2 each).
KERNEL static void rotate_token(float *out, const float *x, const float *c, const float *s, float sign, int accumulate,
                                int NX, int HS) {
    for (int h = 0; h < NX; h++) {
        float *o = out + (size_t)h * HS;
        const float *xh = x + (size_t)h * HS;
        #pragma omp simd
        for (int j = 0; j < HS / 2; j++) {
            const float x0 = xh[2 * j], x1 = xh[2 * j + 1], sn = sign * s[j];
            const float y0 = x0 * c[j] - x1 * sn, y1 = x0 * sn + x1 * c[j];
            o[2 * j] = accumulate ? o[2 * j] + y0 : y0;
            o[2 * j + 1] = accumulate ? o[2 * j + 1] + y1 : y1;
        }
    }
}

// rotate_pairs: out (=, or += when accumulate) the rotation of each interleaved pair of x
// by sign * angle, the angle of token (b, t) read from table row pos[b, t]: forward is
// sign +1; its transpose, the backward, is sign -1.
static void rotate_pairs(float *out, const float *x, const float *cos_tab, const float *sin_tab, const int *pos,
                         float sign, int accumulate, int B, int T, int NX, int HS) {
    #pragma omp parallel for collapse(2)
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const size_t row = (size_t)pos[(size_t)b * T + t] * (HS / 2), o = ((size_t)b * T + t) * NX * HS;
            rotate_token(out + o, x + o, cos_tab + row, sin_tab + row, sign, accumulate, NX, HS);
        }
}

void rope_forward(float *out, const float *x, const float *cos_tab, const float *sin_tab, const int *pos,
                  int B, int T, int NX, int HS) {
    rotate_pairs(out, x, cos_tab, sin_tab, pos, 1.0f, 0, B, T, NX, HS);
}

void rope_backward(float *dx, const float *dout, const float *cos_tab, const float *sin_tab, const int *pos,
                   int B, int T, int NX, int HS) {
    rotate_pairs(dx, dout, cos_tab, sin_tab, pos, -1.0f, 1, B, T, NX, HS);
}

enum { TILE = 128 };   // query rows and key rows per tile

// pack_floats: the Pack of one kv head for B sequences of nq query and nk key rows.
static size_t pack_floats(int B, int nq, int nk, int G, int HS) {
    const size_t panels = (size_t)(nk + TILE - 1) / TILE * TILE;
    return (size_t)B * (size_t)HS * (2 * (size_t)G * (size_t)nq + (size_t)nk + 2 * panels);
}

size_t attention_part_floats(int B, int T, int NH, int NKV, int HS, int NB, int threads) {
    const size_t t5 = (size_t)B * (size_t)NH * (size_t)((T + TILE - 1) / TILE) * (size_t)NB;
    return pack_floats(B, T, T, NH / NKV, HS) + t5 +
           (size_t)(threads - 1) * (size_t)B * (size_t)T * (size_t)(NH / NKV) * (size_t)HS;
}

// Pack: the operands of one kv head g and its G query heads, copied by pack_tile. Query
// head x of the group is head g*G + x; key tile j holds key rows kr.g0 + j*TILE ...
typedef struct {
    float *q, *dout;           // (B, G, qr.n, HS)      dout: backward only
    float *kv;                 // (B, kr.n, HS)         k in the backward, v in the forward
    float *kt, *vt;            // (B, nbk, HS, TILE)    key tiles transposed; vt: backward only
} Pack;

// Att: the operands of one attention call: the query rows a->qr against the key rows
// a->kr (AttnRows, layers.h). Rows are sequence rows, the indices that causality and
// document starts compare: query t of sequence b is memory row qmem = b*qr.stride +
// qr.base + t - qr.g0 of q, out, dout, qpos, doc (row (qmem*NH + h)*HS of head h) and of
// lse, delta (layout (B, NH, qr.stride)); key s is memory row b*kr.stride + kr.base + s -
// kr.g0 of k, v, kpos. Biases read qpos_t - kpos_s; doc_t is the first key row query t
// may see.
typedef struct {
    const float *q, *k, *v, *out, *dout, *lse, *delta;
    const AttnBias *ab;
    const int *qpos, *kpos, *doc;
    int B, NH, NKV, HS;
    AttnRows qr, kr;
    int nb, nbk;                 // query tiles of qr, key tiles of kr
    float scale;
    int packed;                  // tile products read pk (else q, k, v in place)
    Pack pk;
} Att;

static size_t qmem(const Att *a, int b, int t) { return (size_t)b * a->qr.stride + a->qr.base + t - a->qr.g0; }
static size_t kmem(const Att *a, int b, int s) { return (size_t)b * a->kr.stride + a->kr.base + s - a->kr.g0; }
static size_t qrow(const Att *a, int b, int t, int h) { return (qmem(a, b, t) * a->NH + h) * a->HS; }
static size_t kvrow(const Att *a, int b, int s, int h) { return (kmem(a, b, s) * a->NKV + h / (a->NH / a->NKV)) * a->HS; }
static size_t srow(const Att *a, int b, int h, int t) {      // lse, delta
    return ((size_t)b * a->NH + h) * a->qr.stride + a->qr.base + t - a->qr.g0;
}
static int qpos(const Att *a, int b, int t) { return a->qpos[qmem(a, b, t)]; }
static int kpos(const Att *a, int b, int s) { return a->kpos[kmem(a, b, s)]; }
static int doc_start(const Att *a, int b, int t) { return a->doc[qmem(a, b, t)]; }
static int tile_len(int n, int i) { return n - i * TILE < TILE ? n - i * TILE : TILE; }
// packed_q: row t of query head x (of the group) in a (B, G, qr.n, HS) pack.
static float *packed_q(const Att *a, float *base, int b, int x, int t) {
    return base + (((size_t)b * (a->NH / a->NKV) + x) * a->qr.n + (size_t)(t - a->qr.g0)) * a->HS;
}
// packed_k: key row s in a (B, kr.n, HS) pack; packed_panel: key tile j (HS, TILE).
static float *packed_k(const Att *a, float *base, int b, int s) {
    return base + ((size_t)b * a->kr.n + (size_t)(s - a->kr.g0)) * a->HS;
}
static float *packed_panel(const Att *a, float *base, int b, int j) {
    return base + ((size_t)b * a->nbk + j) * a->HS * TILE;
}
// key_end: one past the last key row query rows [t0, t0 + nq) may see.
static int key_end(const Att *a, int t0, int nq) {
    const int e = a->kr.g0 + a->kr.n;
    return t0 + nq < e ? t0 + nq : e;
}
// key_len: the keys of the tile at s0 that query rows [t0, t0 + nq) can see.
static int key_len(const Att *a, int t0, int nq, int s0) {
    const int n = key_end(a, t0, nq) - s0;
    return n < TILE ? n : TILE;
}
// first_key_tile: the first key tile (tiles start at kr.g0) any of query rows [t0, ...)
// sees: document starts never decrease along a row, so the first query's decides;
// earlier tiles are skipped.
static int first_key_tile(const Att *a, int b, int t0) {
    const int d = doc_start(a, b, t0) > a->kr.g0 ? doc_start(a, b, t0) : a->kr.g0;
    return a->kr.g0 + (d - a->kr.g0) / TILE * TILE;
}
// visible_cols: the columns [*lo, return) of a key tile at s0 (nk keys) that query row t
// sees: keys doc_start(t) <= s <= t (none when t < s0: a query tile may start inside a
// key tile; none when its document starts after the tile).
static int visible_cols(const Att *a, int b, int t, int s0, int nk, int *lo) {
    const int d = doc_start(a, b, t) - s0, hi = t < s0 ? 0 : t - s0 + 1 < nk ? t - s0 + 1 : nk;
    *lo = d > 0 ? (d < hi ? d : hi) : 0;
    return hi;
}

// t5_tile_bucket: the one T5 bucket of every visible (t, s) of the tile, or -1 when the
// tile may span several. Visible distances pos_t - pos_s lie in [near, far] (bounds from
// the tile's extreme ids), and buckets grow with the distance, so the ends decide.
static int t5_tile_bucket(const Att *a, int b, int t0, int nq, int s0, int nk) {
    int qlo = qpos(a, b, t0), qhi = qlo, klo = kpos(a, b, s0), khi = klo;
    for (int r = 1; r < nq; r++) {
        const int p = qpos(a, b, t0 + r);
        qlo = p < qlo ? p : qlo;
        qhi = p > qhi ? p : qhi;
    }
    for (int c = 1; c < nk; c++) {
        const int p = kpos(a, b, s0 + c);
        klo = p < klo ? p : klo;
        khi = p > khi ? p : khi;
    }
    const int near = qlo - khi > 0 ? qlo - khi : 0, far = qhi - klo > near ? qhi - klo : near;
    return a->ab->bucket[near] == a->ab->bucket[far] ? a->ab->bucket[near] : -1;
}

// tile_scores: S (nq, nk; row stride TILE) = scale * Q K^T + bias(pos_t - pos_s) for the
// query rows t0 + r and key rows s0 + c of head h; -INFINITY where key s is not visible
// (s > t: causal; s < doc_start(t): another document).
KERNEL static void tile_scores(float *S, const Att *a, int b, int h, int t0, int nq, int s0, int nk) {
    const int NH = a->NH, HS = a->HS;
    const AttnBias *ab = a->ab;
    const int one = ab->kind == BIAS_T5 ? t5_tile_bucket(a, b, t0, nq, s0, nk) : -1;
    const int *kp = a->kpos + kmem(a, b, s0);
    if (a->packed)
        tile_nn(S, TILE, packed_q(a, a->pk.q, b, h % (NH / a->NKV), t0), HS,
                packed_panel(a, a->pk.kt, b, (s0 - a->kr.g0) / TILE), TILE, nq, nk, HS, a->scale, 0.0f);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, HS, a->scale, a->q + qrow(a, b, t0, h), NH * HS,
                    a->k + kvrow(a, b, s0, h), a->NKV * HS, 0.0f, S, TILE);
    for (int r = 0; r < nq; r++) {
        float *row = S + (size_t)r * TILE;
        int lo;
        const int t = t0 + r, hi = visible_cols(a, b, t, s0, nk, &lo), pt = qpos(a, b, t);
        if (ab->kind == BIAS_ALIBI) {
            const float slope = -ab->slopes[h];
            #pragma omp simd
            for (int c = lo; c < hi; c++) row[c] += slope * (float)(pt - kp[c]);
        } else if (one >= 0) {
            const float bias = ab->table[(size_t)one * NH + h];
            #pragma omp simd
            for (int c = lo; c < hi; c++) row[c] += bias;
        } else if (ab->kind == BIAS_T5) {
            #pragma omp simd
            for (int c = lo; c < hi; c++) row[c] += ab->table[(size_t)ab->bucket[pt - kp[c]] * NH + h];
        }
        #pragma omp simd
        for (int c = 0; c < lo; c++) row[c] = -INFINITY;
        #pragma omp simd
        for (int c = hi; c < nk; c++) row[c] = -INFINITY;
    }
}

// tile_probs: P = exp(S - lse_t) in place, row by row (0 where masked).
static void tile_probs(float *S, const float *lse, int nq, int nk) {
    for (int r = 0; r < nq; r++) exp_sub(S + (size_t)r * TILE, S + (size_t)r * TILE, nk, lse[r]);
}

// tile_dscores: dS = P * (dO V^T - D_t) into dS, the gradient of the scores (pre-scale).
KERNEL static void tile_dscores(float *dS, const float *P, const Att *a, int b, int h, int t0, int nq, int s0, int nk) {
    const float *D = a->delta + srow(a, b, h, t0);
    tile_nn(dS, TILE, packed_q(a, a->pk.dout, b, h % (a->NH / a->NKV), t0), a->HS,
            packed_panel(a, a->pk.vt, b, (s0 - a->kr.g0) / TILE), TILE, nq, nk, a->HS, 1.0f, 0.0f);
    for (int r = 0; r < nq; r++) {
        float *d = dS + (size_t)r * TILE;
        const float *p = P + (size_t)r * TILE, Dr = D[r];
        #pragma omp simd
        for (int c = 0; c < nk; c++) d[c] = p[c] * (d[c] - Dr);
    }
}

// online_row: one more tile of a query row's scores (row, nk) into its running max *m
// and sum *l of exp(x - m): row becomes exp(row - m_new) (0 when nothing is visible yet:
// a later document), and the row o (HS) of the output is rescaled by exp(m_old - m_new).
KERNEL static void online_row(float *row, int nk, float *m, float *l, float *o, int HS) {
    const float mx = row_max(row, nk, *m);
    if (mx == -INFINITY) {
        memset(row, 0, (size_t)nk * sizeof(float));
        return;
    }
    const float sum = exp_shift_short(row, row, nk, mx);
    const float corr = expf(*m - mx);                // 0 on the first tile (m = -inf)
    if (corr != 1.0f) {
        #pragma omp simd
        for (int e = 0; e < HS; e++) o[e] *= corr;
    }
    *l = *l * corr + sum;
    *m = mx;
}

// forward_rows: out and lse of query tile i (rows qr.g0 + i*TILE ...) of head h. Online
// softmax over key tiles: m = running max, l = running sum of exp(x - m); out accumulates
// P V, rescaled by exp(m_old - m_new) whenever the max grows. more: continue from the
// out and lse of earlier key rows (normalised out and lse = m + log l are the state m =
// lse, l = 1); a row that sees no key at all gets out 0 and lse -inf.
static void forward_rows(float *out, float *lse, const Att *a, int b, int h, int i, int more) {
    float S[TILE * TILE], m[TILE], l[TILE];
    const int t0 = a->qr.g0 + i * TILE, nq = tile_len(a->qr.n, i), ld = a->NH * a->HS, HS = a->HS;
    float *O = out + qrow(a, b, t0, h);
    for (int r = 0; r < nq; r++) {
        m[r] = more ? lse[srow(a, b, h, t0 + r)] : -INFINITY;
        l[r] = m[r] == -INFINITY ? 0.0f : 1.0f;
        if (!more) memset(O + (size_t)r * ld, 0, (size_t)HS * sizeof(float));
    }
    for (int s0 = first_key_tile(a, b, t0); s0 < key_end(a, t0, nq); s0 += TILE) {
        const int nk = key_len(a, t0, nq, s0);
        tile_scores(S, a, b, h, t0, nq, s0, nk);
        for (int r = 0; r < nq; r++) online_row(S + (size_t)r * TILE, nk, &m[r], &l[r], O + (size_t)r * ld, HS);
        if (a->packed) tile_nn(O, ld, S, TILE, packed_k(a, a->pk.kv, b, s0), HS, nq, HS, nk, 1.0f, 1.0f);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, HS, nk, 1.0f, S, TILE, a->v + kvrow(a, b, s0, h),
                        a->NKV * HS, 1.0f, O, ld);
    }
    for (int r = 0; r < nq; r++) {
        if (l[r] == 0.0f) {                            // no visible key (yet)
            lse[srow(a, b, h, t0 + r)] = -INFINITY;
            continue;
        }
        for (int e = 0; e < HS; e++) O[(size_t)r * ld + e] /= l[r];
        lse[srow(a, b, h, t0 + r)] = m[r] + logf(l[r]);
    }
}

// att_of: the Att of one call, its Pack at the start of ws->part (out, dout, lse, delta
// are set by the caller when needed).
static Att att_of(const float *q, const float *k, const float *v, const AttnBias *ab, const int *qpos, const int *kpos,
                  const int *doc, const AttnScratch *ws, AttnRows qr, AttnRows kr, int B, int NH, int NKV, int HS) {
    const int G = NH / NKV, nbk = (kr.n + TILE - 1) / TILE;
    const size_t rows = (size_t)B * G * qr.n * HS, panels = (size_t)B * nbk * HS * TILE;
    CHECK(ws->part_floats >= pack_floats(B, qr.n, kr.n, G, HS),
          "attention: scratch of %zu floats < the %zu its packed operands take (hint: attention_part_floats)",
          ws->part_floats, pack_floats(B, qr.n, kr.n, G, HS));
    float *p = ws->part;
    const Pack pk = {.q = p, .dout = p + rows, .kv = p + 2 * rows, .kt = p + 2 * rows + (size_t)B * kr.n * HS,
                     .vt = p + 2 * rows + (size_t)B * kr.n * HS + panels};
    return (Att){.q = q, .k = k, .v = v, .ab = ab, .qpos = qpos, .kpos = kpos, .doc = doc, .B = B, .NH = NH, .NKV = NKV,
                 .HS = HS, .qr = qr, .kr = kr, .nb = (qr.n + TILE - 1) / TILE, .nbk = nbk,
                 .scale = 1.0f / sqrtf((float)HS), .pk = pk};
}

// pack_tile: copy query tile j of the G query heads of kv head g (and of dout when
// backward) and key tile j of g (k or v rows, and the transposed panels) into a->pk.
static void pack_tile(const Att *a, int b, int g, int j, int backward) {
    const int G = a->NH / a->NKV, HS = a->HS;
    const size_t row = (size_t)HS * sizeof(float);
    if (j < a->nb) {
        const int t0 = a->qr.g0 + j * TILE, nq = tile_len(a->qr.n, j);
        for (int x = 0; x < G; x++)
            for (int t = t0; t < t0 + nq; t++) {
                memcpy(packed_q(a, a->pk.q, b, x, t), a->q + qrow(a, b, t, g * G + x), row);
                if (backward) memcpy(packed_q(a, a->pk.dout, b, x, t), a->dout + qrow(a, b, t, g * G + x), row);
            }
    }
    if (j < a->nbk) {
        const int s0 = a->kr.g0 + j * TILE, nk = tile_len(a->kr.n, j);
        float *kt = packed_panel(a, a->pk.kt, b, j), *vt = packed_panel(a, a->pk.vt, b, j);
        for (int c = 0; c < nk; c++) {
            const float *k = a->k + kvrow(a, b, s0 + c, g * G), *v = a->v + kvrow(a, b, s0 + c, g * G);
            memcpy(packed_k(a, a->pk.kv, b, s0 + c), backward ? k : v, row);
            for (int e = 0; e < HS; e++) kt[(size_t)e * TILE + c] = k[e];
            if (backward)
                for (int e = 0; e < HS; e++) vt[(size_t)e * TILE + c] = v[e];
        }
    }
}

// pack_group: pack_tile for every (b, tile) of kv head g. Called by every thread of a
// parallel region: a worksharing loop, with its barrier.
static void pack_group(const Att *a, int g, int backward) {
    const int n = a->nb > a->nbk ? a->nb : a->nbk;
    #pragma omp for schedule(static)
    for (int u = 0; u < a->B * n; u++) pack_tile(a, u / n, g, u % n, backward);
}

// The (b, query head, query tile) units, longest causal walks first: one kv head at a
// time, after packing its operands, when each kv head has a query tile for every thread
// (its key rows are then reused by at least a tile of queries); else, as for a few rows
// over a long cache, all heads at once on the operands in place.
void attention_forward_block(float *out, float *lse, const float *q, const float *k, const float *v, const AttnBias *ab,
                             const int *qpos, const int *kpos, const int *doc, const AttnScratch *ws, AttnRows qr,
                             AttnRows kr, int more, int B, int NH, int NKV, int HS) {
    Att a = att_of(q, k, v, ab, qpos, kpos, doc, ws, qr, kr, B, NH, NKV, HS);
    const int nt = blas_serial(), nb = a.nb, G = NH / NKV;
    a.packed = qr.n >= TILE && B * G * nb >= nt;
    for (int g = 0; g < (a.packed ? NKV : 1); g++) {
        const int h0 = a.packed ? g * G : 0, nh = a.packed ? G : NH, units = B * nh * nb;
        #pragma omp parallel num_threads(nt)
        {
            if (a.packed) pack_group(&a, g, 0);
            #pragma omp for schedule(dynamic, 1)
            for (int u = 0; u < units; u++)
                forward_rows(out, lse, &a, u / (nh * nb), h0 + u / nb % nh, nb - 1 - u % nb, more);
        }
    }
    blas_restore(nt);
}

void attention_forward(float *out, float *lse, const float *q, const float *k, const float *v, const AttnBias *ab,
                       const int *pos, const int *doc, const AttnScratch *ws, int B, int T, int NH, int NKV, int HS) {
    const AttnRows rows = {0, T, 0, T};
    attention_forward_block(out, lse, q, k, v, ab, pos, pos, doc, ws, rows, rows, 0, B, NH, NKV, HS);
}

void attention_forward_cached(float *out, float *lse, const float *q, const float *k, const float *v,
                              const AttnBias *ab, const int *qpos, const int *kpos, const int *doc,
                              const AttnScratch *ws, int q0, int T, int NH, int NKV, int HS) {
    attention_forward_block(out, lse, q, k, v, ab, qpos, kpos, doc, ws, (AttnRows){q0, T, 0, T},
                            (AttnRows){0, q0 + T, 0, q0 + T}, 0, 1, NH, NKV, HS);
}

// t5_tile_grad: part[n] += the sum of dS over the tile's visible (t, s) whose distance
// pos_t - pos_s falls in bucket n — the t5 table gradient of this tile, in a fixed order.
static void t5_tile_grad(float *part, const float *dS, const Att *a, int b, int t0, int nq, int s0, int nk) {
    const int one = t5_tile_bucket(a, b, t0, nq, s0, nk);
    const int *kp = a->kpos + kmem(a, b, s0);
    for (int r = 0; r < nq; r++) {
        int lo;
        const int t = t0 + r, hi = visible_cols(a, b, t, s0, nk, &lo), pt = qpos(a, b, t);
        if (one >= 0) {
            float sum = 0.0f;
            for (int c = lo; c < hi; c++) sum += dS[(size_t)r * TILE + c];
            part[one] += sum;
        } else
            for (int c = lo; c < hi; c++) part[a->ab->bucket[pt - kp[c]]] += dS[(size_t)r * TILE + c];
    }
}

// delta_rows: D_t = dout_t . out_t for every query row of qr and head.
static void delta_rows(float *delta, const Att *a) {
    #pragma omp parallel for collapse(2)
    for (int b = 0; b < a->B; b++)
        for (int t = a->qr.g0; t < a->qr.g0 + a->qr.n; t++)
            for (int h = 0; h < a->NH; h++) {
                const float *o = a->out + qrow(a, b, t, h), *g = a->dout + qrow(a, b, t, h);
                float D = 0.0f;
                for (int e = 0; e < a->HS; e++) D += g[e] * o[e];
                delta[srow(a, b, h, t)] = D;
            }
}

// DqDest: where a thread's dq contributions go: dq itself (ld NH*HS, head offset h*HS),
// or the thread's partial (B, qr.n, G, HS) of the current kv head's G query heads.
typedef struct {
    float *base;
    int direct;
} DqDest;

static float *dq_at(const DqDest *d, const Att *a, int b, int t, int h) {
    const int G = a->NH / a->NKV;
    return d->direct ? d->base + qrow(a, b, t, h)
                     : d->base + (((size_t)b * a->qr.n + (size_t)(t - a->qr.g0)) * G + h % G) * a->HS;
}

// key_tile_grads: key tile j of kv head g: over the query heads of the group and the
// query tiles that reach the tile (the first whose document starts after the tile ends
// the walk), each score tile made once (FlashAttention-2's backward: 5 tile products, one
// exp): dv_s += sum_t P_ts dout_t; dS = P * (dout V^T - D); dk_s += scale sum_t dS_ts q_t;
// dq_t += scale sum_s dS_ts k_s into dd; t5: part (G, NB) gets each head's bucket sums.
static void key_tile_grads(float *dk, float *dv, float *part, const DqDest *dd, const Att *a, int b, int g, int j) {
    float P[TILE * TILE], dS[TILE * TILE];
    const int s0 = a->kr.g0 + j * TILE, nk = tile_len(a->kr.n, j), G = a->NH / a->NKV, ldq = a->NH * a->HS, HS = a->HS;
    const int i0 = s0 > a->qr.g0 ? (s0 - a->qr.g0) / TILE : 0;        // the first query tile ending at or after s0
    const int ldd = dd->direct ? ldq : G * HS;
    const size_t o = kvrow(a, b, s0, g * G);
    const float *kp = packed_k(a, a->pk.kv, b, s0);
    for (int h = g * G; h < (g + 1) * G; h++)
        for (int i = i0; i < a->nb && doc_start(a, b, a->qr.g0 + i * TILE) < s0 + nk; i++) {
            const int t0 = a->qr.g0 + i * TILE, nq = tile_len(a->qr.n, i);
            const float *qp = packed_q(a, a->pk.q, b, h - g * G, t0), *dp = packed_q(a, a->pk.dout, b, h - g * G, t0);
            tile_scores(P, a, b, h, t0, nq, s0, nk);
            tile_probs(P, a->lse + srow(a, b, h, t0), nq, nk);
            tile_tn(dv + o, a->NKV * HS, P, TILE, dp, HS, nk, HS, nq, 1.0f, 1.0f);
            tile_dscores(dS, P, a, b, h, t0, nq, s0, nk);
            tile_tn(dk + o, a->NKV * HS, dS, TILE, qp, HS, nk, HS, nq, a->scale, 1.0f);
            tile_nn(dq_at(dd, a, b, t0, h), ldd, dS, TILE, kp, HS, nq, HS, nk, a->scale, 1.0f);
            if (part) t5_tile_grad(part + (size_t)(h - g * G) * a->ab->NB, dS, a, b, t0, nq, s0, nk);
        }
}

// unit_owner: the thread of unit u when units are dealt to a team of threads in rounds,
// alternately forwards and backwards (round r: units r*team ... to threads 0 ... team - 1
// when r is even, team - 1 ... 0 when odd). Along a run of units whose costs grow or
// shrink steadily (the key tiles of a causal pass), each thread's total then differs by
// at most about one unit; dealt round-robin, thread 0 took the largest of every round.
static int unit_owner(int u, int team) {
    const int r = u / team, p = u % team;
    return r % 2 ? team - 1 - p : p;
}

// With p_ts = softmax_s(x_ts), x_ts = scale q_t.k_s + bias_ts, o_t = sum_s p_ts v_s,
// D_t = do_t.o_t:  dv_s += sum_t p_ts do_t;  ds_ts = p_ts (do_t.v_s - D_t) = dL/dx_ts;
//   dq_t += scale sum_s ds_ts k_s;  dk_s += scale sum_t ds_ts q_t;
//   t5: dtable[bucket(t - s), h] += sum ds_ts.
// One pass over key tiles, which own their rows of dk and dv; for each kv head in turn,
// the (b, key tile) units, in a snake order (key tiles last to first for even b, first
// to last for odd b), are dealt to the threads by unit_owner, a static schedule. Thread
// 0 adds its dq terms to dq in place; thread w > 0 into its own partial, added to dq
// after the group in thread order. Every sum thus has a fixed order for a given thread
// count (no atomics); the threads are capped by what ws->part holds. The t5 partial sums
// per (b, h, key tile) are added to dtable serially in that order.
void attention_backward_block(float *dq, float *dk, float *dv, float *dtable, const float *dout, const float *out,
                              const float *lse, const float *q, const float *k, const float *v, const AttnBias *ab,
                              const int *qpos, const int *kpos, const int *doc, const AttnScratch *ws, AttnRows qr,
                              AttnRows kr, int B, int NH, int NKV, int HS) {
    Att a = att_of(q, k, v, ab, qpos, kpos, doc, ws, qr, kr, B, NH, NKV, HS);
    a.out = out, a.dout = dout, a.lse = lse, a.delta = ws->delta, a.packed = 1;
    const int t5 = ab->kind == BIAS_T5, NB = ab->NB, nbk = a.nbk, G = NH / NKV;
    const size_t t5n = t5 ? (size_t)B * NH * nbk * NB : 0, rows = (size_t)B * qr.n * G * HS;
    const size_t packn = pack_floats(B, qr.n, kr.n, G, HS);
    CHECK(ws->part_floats >= packn + t5n, "attention_backward: scratch of %zu floats < %zu", ws->part_floats,
          packn + t5n);
    const size_t fit = 1 + (ws->part_floats - packn - t5n) / (rows ? rows : 1);
    float *t5part = ws->part + packn, *dqpart = ws->part + packn + t5n;
    delta_rows(ws->delta, &a);
    const int all = blas_serial(), nt = (size_t)all < fit ? all : (int)fit;
    for (int g = 0; g < NKV; g++) {
        #pragma omp parallel num_threads(nt)
        {
            const int w = omp_get_thread_num(), team = omp_get_num_threads();   // team < nt: the runtime's choice
            const DqDest dd = {w ? dqpart + (size_t)(w - 1) * rows : dq, w == 0};
            if (w) memset(dd.base, 0, rows * sizeof(float));
            pack_group(&a, g, 1);
            for (int u = 0; u < B * nbk; u++) {
                if (unit_owner(u, team) != w) continue;
                const int b = u / nbk, j = b % 2 ? u % nbk : nbk - 1 - u % nbk;
                float *part = t5 ? t5part + (((size_t)b * NKV + g) * nbk + j) * G * NB : NULL;
                if (part) memset(part, 0, (size_t)G * NB * sizeof(float));
                key_tile_grads(dk, dv, part, &dd, &a, b, g, j);
            }
            #pragma omp barrier
            #pragma omp for collapse(2)
            for (int b = 0; b < B; b++)
                for (int t = qr.g0; t < qr.g0 + qr.n; t++)
                    for (int x = 1; x < team; x++) {
                        const float *src =
                            dqpart + (size_t)(x - 1) * rows + ((size_t)b * qr.n + (size_t)(t - qr.g0)) * G * HS;
                        float *dst = dq + qrow(&a, b, t, g * G);
                        for (int e = 0; e < G * HS; e++) dst[e] += src[e];
                    }
        }
    }
    blas_restore(all);
    if (t5)
        for (size_t u = 0; u < (size_t)B * NKV * nbk; u++)
            for (int x = 0; x < G; x++) {
                const int h = (int)(u / nbk % NKV) * G + x;
                for (int n = 0; n < NB; n++) dtable[(size_t)n * NH + h] += t5part[(u * G + x) * NB + n];
            }
}

void attention_backward(float *dq, float *dk, float *dv, float *dtable, const float *dout, const float *out,
                        const float *lse, const float *q, const float *k, const float *v, const AttnBias *ab,
                        const int *pos, const int *doc, const AttnScratch *ws, int B, int T, int NH, int NKV,
                        int HS) {
    const AttnRows rows = {0, T, 0, T};
    attention_backward_block(dq, dk, dv, dtable, dout, out, lse, q, k, v, ab, pos, pos, doc, ws, rows, rows, B, NH, NKV,
                             HS);
}
