// test_cached.c — the cached forward (model_forward_cached), on which the retrieval tasks
// score their candidates (tests/test_tasks.c): over a sequence cut in pieces it gives the
// per-token losses of one full forward, for every kind of position scheme (plain, dynamic
// NTK whose tables depend on the length, ALiBi, T5) and for GQA, across tile boundaries;
// also with positions as data: the pieces get the PosIds rows of the full forward's
// (documents begun before a piece and continuing into it, starting inside a piece or on
// its first row, one-token documents; ids restarting per document, or jumping by
// hundreds so that the largest id exceeds the row count).
#define _POSIX_C_SOURCE 200809L
#include "../data/data.h"
#include "../model/formats.h"
#include "../util/util.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// Segment: from row `row` on, position ids count up from `id`; `doc`: a document starts
// at that row. A list ends with row -1.
typedef struct { int row, id, doc; } Segment;

// seg_ids: pos, doc (T) of a segment list; returns the largest id + 1.
static int seg_ids(const Segment *s, int T, int *pos, int *doc) {
    int P = 0;
    for (int t = 0, i = -1, d = 0; t < T; t++) {
        if (s[i + 1].row == t) {
            i++;
            d = s[i].doc ? t : d;
        }
        pos[t] = s[i].id + t - s[i].row;
        doc[t] = d;
        P = pos[t] + 1 > P ? pos[t] + 1 : P;
    }
    return P;
}

// cached_vs_full: losses of rows [0, T) from one forward, and from cached forwards over
// the pieces [0, cut[0]), [cut[0], cut[1]), ..., [cut[n-1], T). seg: the sequence's ids
// (NULL: no PosIds), each piece gets its rows of them; the cached forwards' `total` is
// then max(largest id + 1, T) and the cache holds that many rows (model_forward_cached
// wants rows <= total <= cache). The full forward builds length-dependent tables (dynamic
// NTK) for the largest id + 1, so ids whose largest + 1 is below T are used here only
// with schemes whose tables do not depend on the length.
static void cached_vs_full(const char *name, const Position *p, int nkv, int T, const int *cut, int ncut,
                           const Segment *seg) {
    const ModelConfig mc = {.dim = 32, .hidden = 48, .n_layers = 2, .n_heads = 4, .n_kv_heads = nkv, .vocab = 64,
                            .max_seq_len = 64, .norm_eps = 1e-5f, .rope_theta = 10000.0f, .tied = 1,
                            .t5_buckets = p->bias == BIAS_T5 ? p->t5_buckets : 0};
    int *pos = xmalloc((size_t)T * sizeof(int)), *doc = xmalloc((size_t)T * sizeof(int));
    const int P = seg ? seg_ids(seg, T, pos, doc) : T, total = P > T ? P : T;
    const PosIds ids = {pos, doc, 0};
    Model m;
    model_init(&m, &mc, name);
    model_set_position(&m, p);
    model_init_random(&m, 7, 0.2f);
    model_reserve_cache(&m, total);
    model_reserve_positions(&m, P);
    model_prepare(&m);
    int *in = xmalloc((size_t)T * sizeof(int)), *tg = xmalloc((size_t)T * sizeof(int));
    Rng r = {11};
    for (int t = 0; t < T; t++) in[t] = (int)rng_below(&r, 64);
    for (int t = 0; t < T; t++) tg[t] = t + 1 < T ? in[t + 1] : 5;
    float *full = xmalloc((size_t)T * sizeof(float));
    model_forward(&m, in, tg, seg ? &ids : NULL, 1, T);
    memcpy(full, m.acts.losses, (size_t)T * sizeof(float));
    double worst = 0.0;
    int ok = 1, exact = 1;
    for (int i = 0; i <= ncut; i++) {
        const int t0 = i ? cut[i - 1] : 0, t1 = i < ncut ? cut[i] : T;
        const PosIds piece = {pos + t0, doc + t0, 0};
        model_forward_cached(&m, in + t0, tg + t0, seg ? &piece : NULL, t1 - t0, t0, seg ? total : T);
        for (int t = t0; t < t1; t++) {
            ok &= check_within(m.acts.losses[t - t0], full[t], 0.0, 1e-5);
            exact &= m.acts.losses[t - t0] == full[t];
            const double d = fabs(m.acts.losses[t - t0] - full[t]);
            worst = isnan(d) || d > worst ? d : worst;         // a NaN stays the worst
        }
    }
    check_report(ok, check_what("cached = full forward: %s (T %d, NKV %d, %d pieces%s)", name, T, nkv, ncut + 1,
                                exact ? ", bit-exact" : ""), worst, 0.0);
    model_forward(&m, in, tg, seg ? &ids : NULL, 1, T);     // a plain forward after cached ones is unchanged
    int same = !memcmp(full, m.acts.losses, (size_t)T * sizeof(float));
    CHECK_TRUE(check_what("plain forward after cached ones: %s", name), same);
    free(in); free(tg); free(full); free(pos); free(doc);
    model_free(&m);
}

static void test_cached(void) {
    Position p;
    const int cuts[] = {157, 290, 299}, one[] = {1};
    // documents from rows 0, 60, 140 (continues into piece [157, 290)), 157 (a piece's
    // first row), 200 (inside a piece, continues across the tile boundary at 256 into
    // [290, 299)), 295, 296 (one token) and 299 (the last piece, one token); ids restart
    // at 0 per document (largest id + 1 = 95 < T) ...
    static const Segment docs[] = {{0, 0, 1}, {60, 0, 1}, {140, 0, 1}, {157, 0, 1}, {200, 0, 1}, {295, 0, 1},
                                   {296, 0, 1}, {299, 0, 1}, {-1, 0, 0}};
    // ... or jump inside documents, also at a piece's first row (290) (largest id 1708)
    static const Segment pose[] = {{0, 0, 1}, {60, 500, 0}, {140, 0, 1}, {180, 900, 0}, {200, 30, 1},
                                   {290, 1700, 0}, {299, 5, 1}, {-1, 0, 0}};
    const int cuts2[] = {100, 157, 170, 290};
    position_default(&p);
    p.theta = 10000.0;
    cached_vs_full("rope", &p, 4, 300, cuts, 3, NULL);
    cached_vs_full("rope, GQA", &p, 2, 300, cuts, 3, NULL);
    cached_vs_full("rope, one token then the rest", &p, 1, 40, one, 1, NULL);
    cached_vs_full("rope, documents", &p, 4, 300, cuts2, 4, docs);
    cached_vs_full("rope, GQA, documents, ids jumping", &p, 2, 300, cuts, 3, pose);
    p.scaling = SCALE_DYNAMIC;
    p.factor = 4;
    p.original_max = 64;
    cached_vs_full("dynamic NTK (tables of the whole length)", &p, 2, 300, cuts, 3, NULL);
    cached_vs_full("dynamic NTK, documents, ids jumping", &p, 2, 300, cuts2, 4, pose);
    position_default(&p);
    p.rope = 0;
    p.bias = BIAS_ALIBI;
    cached_vs_full("alibi", &p, 2, 300, cuts, 3, NULL);
    cached_vs_full("alibi, documents", &p, 2, 300, cuts2, 4, docs);
    cached_vs_full("alibi, documents, ids jumping", &p, 4, 300, cuts, 3, pose);
    p.bias = BIAS_T5;
    p.t5_buckets = 16;
    p.t5_max_distance = 128;
    cached_vs_full("t5", &p, 4, 300, cuts, 3, NULL);
    cached_vs_full("t5, documents", &p, 4, 300, cuts, 3, docs);
    cached_vs_full("t5, GQA, documents, ids jumping", &p, 2, 300, cuts2, 4, pose);
}

int main(void) {
    test_cached();
    return check_done("test_cached");
}
