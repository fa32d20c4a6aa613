// ring.c — context parallelism: causal attention over sequences split across the P
// ranks of a ring (layers.h, dist/dist.h). Ring attention (Liu, Zaharia & Abbeel 2023,
// arXiv:2310.01889): each rank keeps its queries and passes its key/value block around
// the ring; after P steps every query has met every key, its partial results merged
// with the log-sum-exp the tiled kernel keeps (attention_forward_block's `more`, an
// exact online softmax). The split is the load-balanced "zigzag" one (the layout of
// zhuzilin/ring-flash-attention; Llama 3, arXiv:2407.21783, sec. 3.3.2): a sequence is
// cut into 2P chunks and rank c holds chunks c and 2P-1-c, so every rank has the same
// number of visible (query, key) pairs. Chunk pairs whose keys all lie after the queries
// are skipped; within a pair the kernel masks by causality and documents as usual.
// Backward: dq accumulates at home; each block's dk/dv ride along with it and are back
// with their owner after one more shift, summed in ring order (deterministic).
// Transfers of the next block overlap the computation on the current one.
#include "layers.h"
#include "../dist/dist.h"

#include <string.h>

// chunk: the sequence chunk (of 2P) held as local chunk k (0, 1) by member c.
static int chunk(int P, int c, int k) { return k == 0 ? c : 2 * P - 1 - c; }

int ring_row(int t, int T, int P, int c) {
    const int C = T / 2;
    return chunk(P, c, t / C) * C + t % C;
}

// pair_rows: the AttnRows of local chunk k of member c (T local rows, C = T/2 per chunk).
static AttnRows pair_rows(int P, int c, int k, int T) {
    const int C = T / 2;
    return (AttnRows){chunk(P, c, k) * C, C, k * C, T};
}

// shift_block: start passing the key/value block (and its position ids) to the next member.
static void shift_block(const float *k, const float *v, const int *pos, const RingBuffers *rb, int to, size_t nkv,
                        size_t n) {
    dist_ring_shift(k, rb->k[to], nkv * sizeof(float));
    dist_ring_shift(v, rb->v[to], nkv * sizeof(float));
    dist_ring_shift(pos, rb->pos[to], n * sizeof(int));
}

void ring_attention_forward(float *out, float *lse, const float *q, const float *k, const float *v, const AttnBias *ab,
                            const int *pos, const int *doc, const AttnScratch *ws, const RingBuffers *rb, int B, int T,
                            int NH, int NKV, int HS) {
    const int P = dist_ring_size(), c = dist_ring_rank();
    const size_t n = (size_t)B * T, nkv = n * (size_t)NKV * HS;
    const float *kc = k, *vc = v;
    const int *pc = pos;
    int started[2] = {0, 0}, to = 0;
    for (int s = 0; s < P; s++) {
        const int o = (c - s + P) % P;                 // the member whose block is here
        if (s + 1 < P) shift_block(kc, vc, pc, rb, to, nkv, n);
        for (int qk = 0; qk < 2; qk++)
            for (int kk = 0; kk < 2; kk++) {
                if (chunk(P, o, kk) > chunk(P, c, qk)) continue;    // keys all after the queries
                attention_forward_block(out, lse, q, kc, vc, ab, pos, pc, doc, ws, pair_rows(P, c, qk, T),
                                        pair_rows(P, o, kk, T), started[qk], B, NH, NKV, HS);
                started[qk] = 1;
            }
        if (s + 1 == P) break;
        dist_ring_wait();
        kc = rb->k[to], vc = rb->v[to], pc = rb->pos[to];
        to ^= 1;
    }
}

void ring_attention_backward(float *dq, float *dk, float *dv, float *dtable, const float *dout, const float *out,
                             const float *lse, const float *q, const float *k, const float *v, const AttnBias *ab,
                             const int *pos, const int *doc, const AttnScratch *ws, const RingBuffers *rb, int B,
                             int T, int NH, int NKV, int HS) {
    const int P = dist_ring_size(), c = dist_ring_rank();
    const size_t n = (size_t)B * T, nkv = n * (size_t)NKV * HS;
    const float *kc = k, *vc = v;
    const int *pc = pos;
    float *dkc = rb->dk[0], *dvc = rb->dv[0];
    memset(dkc, 0, nkv * sizeof(float));
    memset(dvc, 0, nkv * sizeof(float));
    int to = 1;
    for (int s = 0; s < P; s++) {
        const int o = (c - s + P) % P;
        if (s + 1 < P) shift_block(kc, vc, pc, rb, to, nkv, n);
        for (int qk = 0; qk < 2; qk++)
            for (int kk = 0; kk < 2; kk++)
                if (chunk(P, o, kk) <= chunk(P, c, qk))
                    attention_backward_block(dq, dkc, dvc, dtable, dout, out, lse, q, kc, vc, ab, pos, pc, doc, ws,
                                             pair_rows(P, c, qk, T), pair_rows(P, o, kk, T), B, NH, NKV, HS);
        dist_ring_shift(dkc, rb->dk[to], nkv * sizeof(float));   // on the last step: home to its owner
        dist_ring_shift(dvc, rb->dv[to], nkv * sizeof(float));
        dist_ring_wait();
        kc = rb->k[to], vc = rb->v[to], pc = rb->pos[to], dkc = rb->dk[to], dvc = rb->dv[to];
        to ^= 1;
    }
    for (size_t i = 0; i < nkv; i++) dk[i] += dkc[i];
    for (size_t i = 0; i < nkv; i++) dv[i] += dvc[i];
}
