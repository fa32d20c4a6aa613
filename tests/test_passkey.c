// test_passkey.c — the cached forward and the passkey eval built on it.
//   1. model_forward_cached over a sequence cut in pieces gives the per-token losses of
//      one full forward, for every kind of position scheme (plain, dynamic NTK whose
//      tables depend on the length, ALiBi, T5) and for GQA, across tile boundaries; also
//      with positions as data: the pieces get the PosIds rows of the full forward's
//      (documents begun before a piece and continuing into it, starting inside a piece
//      or on its first row, one-token documents; ids restarting per document, or jumping
//      by hundreds so that the largest id exceeds the row count).
//   2. passkey prompts (real stories260K, tok512, data.val): length, BOS, filler without
//      BOS, needle at a sentence end near its depth, the question last, distinct keys,
//      the same prompts on every call; and each key's score equals the log-probability
//      a full forward of prompt + answer gives it.
// usage: test_passkey MODEL TOKENIZER VAL_SHARD
#define _POSIX_C_SOURCE 200809L
#include "../data/data.h"
#include "../model/formats.h"
#include "../trainer/passkey.h"
#include "../trainer/setup.h"
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

// contains_at: seq[at ...] starts with the n tokens of want.
static int contains_at(const int *seq, int at, const uint32_t *want, int n) {
    for (int j = 0; j < n; j++)
        if (seq[at + j] != (int)want[j]) return 0;
    return 1;
}

// full_logp: log p(answer | prompt) from one plain forward of prompt + answer.
static double full_logp(Model *m, const int *seq, int P, const uint32_t *ans, int k) {
    const int T = P + k - 1;
    int *in = xmalloc((size_t)T * sizeof(int)), *tg = xmalloc((size_t)T * sizeof(int));
    for (int t = 0; t < T; t++) {
        in[t] = t < P ? seq[t] : (int)ans[t - P];
        tg[t] = t + 1 < P ? seq[t + 1] : (int)ans[t + 1 - P];
    }
    model_forward(m, in, tg, NULL, 1, T);
    double lp = 0.0;
    for (int t = P - 1; t < T; t++) lp -= m->acts.losses[t];
    free(in); free(tg);
    return lp;
}

static void test_prompts(const char *model_path, const char *tok_path, const char *val_path) {
    char tok_set[300];
    snprintf(tok_set, sizeof tok_set, "data.tokenizer=%s", tok_path);
    char *sets[] = {tok_set, "eval.passkey.lengths=[300, 1000]", "eval.passkey.depths=[0, 0.5, 1]", "eval.passkey.trials=3"};
    Config *c = xmalloc(sizeof *c);
    config_load(c, NULL, sets, 4);
    Model m;
    Shard val;
    Passkey pk;
    load_model(&m, model_path);
    shard_load(&val, val_path, m.cfg.vocab);
    passkey_plan(c, &val, m.cfg.vocab, &pk);
    check_report(pk.n_lens == 2 && pk.n_depths == 3 && pk.trials == 3, "plan: 2 lengths x 3 depths x 3 trials", pk.n_lens, 2);
    passkey_reserve(&m, &pk);
    model_prepare(&m);
    const int T = 1000;
    int *seq = xmalloc((T + 1) * sizeof(int));
    uint32_t needle[128], ans[PASSKEY_KEYS][32], all[160];
    int prev_at = 0;
    for (int di = 0; di < 3; di++) {
        PasskeyTrial t, again;
        passkey_trial(&m, &pk, T, di, 1, seq, &t);
        char text[160];
        snprintf(text, sizeof text, "The pass key is %d. Remember it. %d is the pass key.", t.key[0], t.key[0]);
        const int nn = (int)tokenizer_encode(&pk.tok, text, 0, needle);
        int k[PASSKEY_KEYS], kmax = 0, distinct = 1, in_range = 1;
        for (int cnd = 0; cnd < PASSKEY_KEYS; cnd++) {
            snprintf(text, sizeof text, "What is the pass key? The pass key is %d", t.key[cnd]);
            const int n = (int)tokenizer_encode(&pk.tok, text, 0, all);
            k[cnd] = n - pk.n_question;
            memcpy(ans[cnd], all + pk.n_question, (size_t)k[cnd] * sizeof(uint32_t));
            kmax = k[cnd] > kmax ? k[cnd] : kmax;
            in_range &= t.key[cnd] >= 10000 && t.key[cnd] <= 99999;
            for (int j = 0; j < cnd; j++) distinct &= t.key[j] != t.key[cnd];
        }
        int at = -1, bos_in_filler = 0;
        for (int s = 1; s + nn <= t.P && at < 0; s++)
            if (contains_at(seq, s, needle, nn)) at = s;
        for (int s = 1; s < t.P; s++) bos_in_filler += seq[s] == 1;
        const int F = T - nn - pk.n_question - kmax;
        const double depth = pk.depth[di];
        printf("depth %.1f: needle at %d of %d, right key %d, rank %d, logp %.3f\n", depth, at, t.P, t.key[0], t.rank, t.logp[0]);
        check_report(seq[0] == 1 && !bos_in_filler, "prompt: BOS first, none in the filler", bos_in_filler, 0);
        check_report(t.P + kmax == T + 1, "prompt + longest answer = T + 1 tokens", t.P + kmax, T + 1);
        CHECK_TRUE("the question ends the prompt", contains_at(seq, t.P - pk.n_question, pk.question, pk.n_question));
        check_report(at >= 1 && at - 1 >= lround(depth * F) && at - 1 <= lround(depth * F) + 64, "needle at its depth (+ <= 64 to a sentence end)",
                     at - 1, depth * F);
        const char *piece = pk.tok.pieces[seq[at - 1]];
        const char end = piece[strlen(piece) - 1];
        check_report(at == 1 || at - 1 == F || end == '.' || end == '!' || end == '?', "needle follows a sentence end", at, 0);
        check_report(at > prev_at, "deeper needles sit later", at, prev_at);
        prev_at = at;
        check_report(distinct && in_range, "10 distinct five-digit keys", distinct, 1);
        int rank = 1, scores_ok = 1;
        double worst = 0.0;
        for (int cnd = 0; cnd < PASSKEY_KEYS; cnd++) {
            const double ref = full_logp(&m, seq, t.P, ans[cnd], k[cnd]);
            scores_ok &= check_within(t.logp[cnd], ref, 1e-4, 1e-4);
            worst = fmax(worst, fabs(t.logp[cnd] - ref));
            rank += cnd > 0 && t.logp[cnd] >= t.logp[0];
        }
        check_report(scores_ok, "each key's score = log p(answer) of a full forward", worst, 0.0);
        CHECK_EQ("rank = 1 + wrong keys scoring at least as high", t.rank, rank);
        passkey_trial(&m, &pk, T, di, 1, seq, &again);
        check_report(again.key[0] == t.key[0] && again.P == t.P && again.logp[0] == t.logp[0], "the same trial on every call",
                     again.logp[0], t.logp[0]);
    }
    PasskeyResult res[6];
    passkey_run(&m, &pk, res);
    int ok = 1;
    for (int i = 0; i < 6; i++)
        ok &= res[i].T == pk.T[i / 3] && res[i].depth == pk.depth[i % 3] && res[i].correct >= 0 &&
              res[i].correct <= 3 && res[i].mean_rank >= 1 && res[i].mean_rank <= PASSKEY_KEYS;
    CHECK_TRUE("passkey_run: a cell per (length, depth), counts in range", ok);
    free(seq);
    free(c);
    passkey_free(&pk);
    shard_free(&val);
    model_free(&m);
}

int main(int argc, char **argv) {
    if (argc != 4) die("usage: %s MODEL TOKENIZER VAL_SHARD", argv[0]);
    test_cached();
    test_prompts(argv[1], argv[2], argv[3]);
    return check_done("test_passkey");
}
