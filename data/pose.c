// pose.c — the position ids of a training batch: contiguous, restarting at each document
// (intra-document positions), and positional skip-wise training (PoSE; see data.h).
//
// PoSE (Zhu et al., ICLR 2024, arXiv:2309.10400, Sec. 3.2): a window of T tokens is cut
// into N chunks c_0 .. c_{N-1}; chunk i keeps its tokens contiguous but its position ids
// are shifted by a skip u_i, with u_0 = 0 and u_i drawn uniformly from {u_{i-1}, ...,
// L_t - T} (L_t = target_len), so the ids grow by at most L_t - T in all and stay below
// L_t, and every relative distance up to L_t - 1 can occur. u_0 = 0 follows the reference
// code's revision (dwzhu-pku/PoSE, train_pose.py: "more uniform coverage for large
// relative positions"). Chunk lengths: the reference code cuts two chunks at a uniform
// point of the first half; for any N we cut at N - 1 distinct points drawn uniformly
// from {1, ..., T - 1} (selection sampling, Knuth TAOCP 3.4.2 Algorithm S: no buffer,
// points in increasing order). The text itself stays contiguous: only ids skip.
#include "data.h"

#include <stdlib.h>
#include <string.h>

void batch_alloc(Batch *b, size_t n) {
    b->in = xmalloc(n * sizeof(int));
    b->tg = xmalloc(n * sizeof(int));
    b->doc = xmalloc(n * sizeof(int));
    b->pos = xmalloc(n * sizeof(int));
}

void batch_free(Batch *b) {
    free(b->in);
    free(b->tg);
    free(b->doc);
    free(b->pos);
    memset(b, 0, sizeof *b);
}

int pose_chunks(const Pose *p, Rng *r, int T, int *start, int *skip) {
    const int N = p->chunks < T ? p->chunks : T;
    int need = N - 1, k = 1;
    start[0] = 0;
    for (int i = 1; i < T && need > 0; i++)            // Algorithm S over the cut points 1 .. T-1
        if (rng_below(r, (size_t)(T - i)) < (size_t)need) {
            start[k++] = i;
            need--;
        }
    start[N] = T;
    const int room = p->target_len - T;
    skip[0] = 0;
    for (int i = 1; i < N; i++) skip[i] = skip[i - 1] + (int)rng_below(r, (size_t)(room - skip[i - 1] + 1));
    return N;
}

// row_positions: the ids of one row before documents: t, or t + u_i inside PoSE chunk i.
static void row_positions(int *pos, const Pose *p, Rng *r, int T) {
    if (!p || p->target_len <= T || p->chunks < 2) {
        for (int t = 0; t < T; t++) pos[t] = t;
        return;
    }
    int start[POSE_MAX_CHUNKS + 1], skip[POSE_MAX_CHUNKS];
    const int N = pose_chunks(p, r, T, start, skip);
    for (int i = 0; i < N; i++)
        for (int t = start[i]; t < start[i + 1]; t++) pos[t] = t + skip[i];
}

void batch_positions(int *pos, const int *doc, const Pose *p, uint64_t seed, int b0, int B, int T) {
    for (int b = 0; b < B; b++) {
        int *row = pos + (size_t)b * T;
        Rng r = {seed ^ ((uint64_t)(b0 + b + 1) * 0xD1B54A32D192ED03ull)};
        row_positions(row, p, &r, T);
        if (!doc) continue;
        const int *d = doc + (size_t)b * T;
        for (int t = T - 1; t >= 0; t--) row[t] -= row[d[t]];   // d[t] <= t: read before written
    }
}
