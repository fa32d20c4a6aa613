// test_data.c — shards by glob and the packing loader, on synthetic documents whose
// tokens name them: document i is BOS followed by len(i) - 1 copies of token 10 + i.
//   - a glob loads its files in sorted order; file starts open documents;
//   - an epoch packs every document once, in a seeded order that differs per epoch and
//     per seed; each target is a token of the stream once per epoch; sequences span
//     documents and overlap by one token;
//   - min_doc_tokens drops short documents; upsampling repeats long ones; max_doc_tokens
//     cuts long ones into pieces whose positions, under document masking, stay below it;
//   - a cursor saved mid-epoch and restored in a fresh loader continues identically;
//   - document starts (PosIds.doc) from the loader and from eval windows match the
//     documents the tokens name;
//   - PoSE ids (batch_positions): below target_len, +1 per token except at the chunk
//     cuts, restarting at each document, seeded, and covering [0, target_len);
//   - data.mix.whole: every mix document of every epoch read lies whole inside one
//     sequence, once (without it some straddle), at most a sequence long; gaps before
//     them are BOS + training text; seek and skip continue the same rows.
#define _POSIX_C_SOURCE 200809L
#include "../data/data.h"
#include "../data/needles.h"
#include "../util/util.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { NDOC = 40, V = 64, T = 16 };

static size_t doc_len(int i) { return 3 + (size_t)(i * 7 % 23); }   // 3 .. 25 tokens

// write_shards: documents [0, 20) to a file, [20, 40) to another (the second's first
// document has no BOS: the file start must open it).
static void write_shards(void) {
    make_dirs("tests/tmp");
    uint32_t *tok = xmalloc(NDOC * 32 * sizeof *tok);
    for (int f = 0; f < 2; f++) {
        size_t n = 0;
        for (int i = 20 * f; i < 20 * f + 20; i++)
            for (size_t j = 0; j < doc_len(i); j++) tok[n++] = j == 0 && i != 20 ? BOS_ID : (uint32_t)(10 + i);
        shard_write(f ? "tests/tmp/data_b.bin" : "tests/tmp/data_a.bin", tok, n, V, BOS_ID);
    }
    free(tok);
}

// epoch_docs: the documents of one epoch's targets, in order of first appearance, and
// how many target tokens each got (BOS targets count for the document they open).
static int epoch_docs(Loader *l, int *seen, int *first_order, int *n_order, size_t tokens) {
    int *in = xmalloc(T * sizeof(int)), *tg = xmalloc(T * sizeof(int)), prev_last = -1, overlap = 1, spans = 0;
    memset(seen, 0, NDOC * sizeof *seen);
    *n_order = 0;
    for (size_t k = 0; k < tokens / T; k++) {
        loader_next(l, in, tg, NULL, 1, T);
        overlap &= prev_last < 0 || in[0] == prev_last;
        prev_last = tg[T - 1];
        int docs_in_row = 0, last = -1;
        for (int t = 0; t < T; t++) {
            overlap &= t == 0 || in[t] == tg[t - 1];
            const int d = tg[t] - 10;
            if (tg[t] == BOS_ID || d < 0) continue;
            if (!seen[d]++) first_order[(*n_order)++] = d;
            docs_in_row += d != last;
            last = d;
        }
        spans += docs_in_row > 1;
    }
    free(in);
    free(tg);
    return overlap && spans > 0;
}

// same_order: whether a fresh loader (seed, at the start of `epoch`) meets the documents
// of its first `tokens` targets in the order of order1 (n1 documents).
static int same_order(const Shard *s, const LoaderOptions *o, uint64_t seed, uint64_t epoch, const int *order1,
                      int n1, size_t tokens) {
    Loader l;
    int seen[NDOC], order[NDOC], n, same = 1;
    loader_init(&l, s, o, seed, T);
    loader_seek(&l, (LoaderCursor){epoch, 0, 0});
    epoch_docs(&l, seen, order, &n, tokens);
    for (int i = 0; i < n && i < n1; i++) same &= order1[i] == order[i];
    loader_free(&l);
    return same;
}

// test_split: max_doc_tokens 8 cuts every document into ceil(len / 8) pieces that tile
// the shard in order, each within one document; one epoch carries every document's
// tokens; under document masking no position id reaches 8 (each piece opens a document
// of its own); a cursor inside a piece resumes exactly; filtering and upsampling judge a
// document by its whole length.
static void test_split(const Shard *s) {
    enum { MAX = 8, R = 4 };
    LoaderOptions o = {.upsample_factor = 1, .max_doc_tokens = MAX};
    Loader l, l2;
    loader_init(&l, s, &o, 42, T);
    size_t want_docs = 0, end = 0;
    for (int i = 0; i < NDOC; i++) want_docs += (doc_len(i) + MAX - 1) / MAX;
    check_report(l.n_docs == want_docs && l.epoch_tokens == s->n, "max_doc_tokens 8: ceil(len / 8) pieces, every token",
                 (double)l.n_docs, (double)want_docs);
    int tiles = 1;
    for (size_t i = 0; i < l.n_real; i++) {
        tiles &= l.doc_start[i] == end && l.doc_len[i] >= 1 && l.doc_len[i] <= MAX;
        for (size_t j = l.doc_start[i] + 1; j < l.doc_start[i] + l.doc_len[i]; j++) tiles &= !shard_opens_doc(s, j);
        end = l.doc_start[i] + l.doc_len[i];
    }
    CHECK_TRUE("pieces tile the shard in order, at most 8 tokens, none across a document start", tiles && end == s->n);
    int seen[NDOC], order[NDOC], n, exact = 1;
    epoch_docs(&l, seen, order, &n, s->n - s->n % T);
    for (int i = 0; i < NDOC; i++) {
        const size_t want = doc_len(i) - (i == 20 ? 0 : 1);
        exact &= (size_t)seen[i] <= want && (size_t)seen[i] + T >= want;
    }
    CHECK_TRUE("one epoch of pieces: every document's tokens once (up to the cut)", exact);
    int in[R * T], tg[R * T], doc[R * T], pos[R * T], top = 0, below = 1;
    const Pose off = {0, 1};
    for (int k = 0; k < 60; k++) {
        loader_next(&l, in, tg, doc, R, T);
        batch_positions(pos, doc, &off, 0, 0, R, T);
        for (int i = 0; i < R * T; i++) {
            below &= pos[i] >= 0 && pos[i] < MAX;
            top = pos[i] > top ? pos[i] : top;
        }
    }
    check_report(below && top == MAX - 1, "max_doc_tokens 8 with document starts: positions in [0, 8), 7 reached", top, MAX - 1);
    loader_skip(&l, 3, 1);
    const LoaderCursor c = loader_cursor(&l);
    loader_init(&l2, s, &o, 42, T);
    loader_seek(&l2, c);
    int in2[R * T], tg2[R * T];
    loader_next(&l, in, tg, NULL, R, T);
    loader_next(&l2, in2, tg2, NULL, R, T);
    CHECK_TRUE("max_doc_tokens: a cursor inside a piece resumes identically (offset " "> 0)",
               c.offset > 0 && !memcmp(in, in2, sizeof in) && !memcmp(tg, tg2, sizeof tg));
    loader_free(&l2);
    loader_free(&l);
    o = (LoaderOptions){.min_doc_tokens = 10, .upsample_min_tokens = 20, .upsample_factor = 3, .max_doc_tokens = MAX};
    loader_init(&l, s, &o, 42, T);
    want_docs = 0;
    for (int i = 0; i < NDOC; i++)
        want_docs += (size_t)(doc_len(i) < 10 ? 0 : doc_len(i) >= 20 ? 3 : 1) * ((doc_len(i) + MAX - 1) / MAX);
    check_report(l.n_docs == want_docs, "min 10, upsample x3 from 20, then cut to 8: judged by whole length",
                 (double)l.n_docs, (double)want_docs);
    loader_free(&l);
}

static void test_packing(void) {
    write_shards();
    Shard s;
    shard_load_glob(&s, "tests/tmp/data_[ab].bin", V, "test");
    size_t total = 0, first = 0;
    for (int i = 0; i < NDOC; i++) total += doc_len(i);
    for (int i = 0; i < 20; i++) first += doc_len(i);
    check_report(s.n_files == 2 && s.n == total && s.file_start[1] == first, "glob: two files, all tokens", (double)s.n, (double)total);
    check_report(s.tokens[0] == BOS_ID && s.tokens[1] == 10, "glob: sorted order (data_a first)", s.tokens[1], 10);
    LoaderOptions o = {.upsample_factor = 1};
    Loader l;
    loader_init(&l, &s, &o, 42, T);
    check_report(l.n_docs == NDOC && l.epoch_tokens == total, "every document indexed (a file start opens one)", (double)l.n_docs, NDOC);
    int seen[NDOC], order1[NDOC], order2[NDOC], n1, n2;
    int ok = epoch_docs(&l, seen, order1, &n1, total - total % T);
    CHECK_TRUE("sequences overlap by one token and span documents", ok);
    int exact = 1;
    for (int i = 0; i < NDOC; i++) {
        const size_t want = doc_len(i) - (i == 20 ? 0 : 1);   // the BOS is not the document's own token
        exact &= (size_t)seen[i] <= want && (size_t)seen[i] + T >= want;
    }
    check_report(exact && n1 >= NDOC - 1, "one epoch: every document's tokens once (up to the cut)", n1, NDOC);
    int shuffled = 0;
    for (int i = 0; i < n1; i++) shuffled += order1[i] != i;
    check_report(shuffled > NDOC / 2, "the order is shuffled", shuffled, NDOC / 2);
    LoaderCursor c = loader_cursor(&l);
    Loader l2;
    loader_init(&l2, &s, &o, 42, T);
    int *a = xmalloc(4 * T * sizeof(int)), *b = xmalloc(4 * T * sizeof(int)), *x = xmalloc(4 * T * sizeof(int)), *y = xmalloc(4 * T * sizeof(int));
    loader_seek(&l2, c);
    loader_next(&l, a, b, NULL, 4, T);
    loader_next(&l2, x, y, NULL, 4, T);
    CHECK_TRUE("a cursor restored in a fresh loader continues identically",
               !memcmp(a, x, 4 * T * sizeof(int)) && !memcmp(b, y, 4 * T * sizeof(int)));
    check_report(loader_cursor(&l).epoch >= 1, "the stream wrapped into epoch 2", (double)loader_cursor(&l).epoch, 1);
    loader_free(&l2);
    int same = same_order(&s, &o, 42, 1, order1, n1, total / 2);
    CHECK_TRUE("epoch 2 has another order", !same);
    same = same_order(&s, &o, 43, 0, order1, n1, total / 2);
    CHECK_TRUE("another seed, another order", !same);
    same = same_order(&s, &o, 42, 0, order1, n1, total / 2);
    CHECK_TRUE("the same seed, the same order", same);

    o = (LoaderOptions){.min_doc_tokens = 10, .upsample_min_tokens = 20, .upsample_factor = 3};
    loader_init(&l2, &s, &o, 42, T);
    size_t want_docs = 0, want_tokens = 0;
    for (int i = 0; i < NDOC; i++) {
        const int k = doc_len(i) < 10 ? 0 : doc_len(i) >= 20 ? 3 : 1;
        want_docs += (size_t)k;
        want_tokens += (size_t)k * doc_len(i);
    }
    check_report(l2.n_docs == want_docs && l2.epoch_tokens == want_tokens, "min_doc_tokens 10 drops, upsample x3 from 20",
                 (double)l2.epoch_tokens, (double)want_tokens);
    epoch_docs(&l2, seen, order2, &n2, l2.epoch_tokens - l2.epoch_tokens % T);
    int filtered = 1;
    for (int i = 0; i < NDOC; i++) {
        if (doc_len(i) < 10) filtered &= seen[i] == 0;
        else if (doc_len(i) >= 20) filtered &= (size_t)seen[i] + 3 * T >= 3 * (doc_len(i) - 1) && seen[i] > (int)doc_len(i);
    }
    CHECK_TRUE("an epoch: no short document, long ones three times", filtered);
    loader_free(&l2);
    test_split(&s);
    loader_free(&l);
    free(a); free(b); free(x); free(y);
    shard_free(&s);
}

// opens_here: token t of a row opens a document, judged from the tokens alone: a BOS, or
// another document's token right after a token that is not BOS (doc 20 has no BOS).
static int opens_here(const int *in, int t) {
    return t == 0 || in[t] == BOS_ID || (in[t - 1] != BOS_ID && in[t] != in[t - 1]);
}

// docs_match: doc (B, T) holds, for every token, the last row index at or before it
// that opens a document.
static int docs_match(const int *in, const int *doc, int B) {
    int ok = 1;
    for (int b = 0; b < B; b++)
        for (int t = 0, cur = 0; t < T; t++) {
            cur = opens_here(in + b * T, t) ? t : cur;
            ok &= doc[b * T + t] == cur;
        }
    return ok;
}

static void test_documents(void) {
    Shard s;
    Loader l;
    shard_load_glob(&s, "tests/tmp/data_*.bin", V, "data.train");
    const LoaderOptions o = {.upsample_factor = 1};
    loader_init(&l, &s, &o, 7, T);
    int in[4 * T], tg[4 * T], doc[4 * T], ok = 1;
    for (int k = 0; k < 60; k++) {
        loader_next(&l, in, tg, doc, 4, T);
        ok &= docs_match(in, doc, 4);
    }
    CHECK_TRUE("loader: each token's document start, over 60 batches", ok);
    ok = 1;
    for (size_t k = 0; k + 4 <= window_count(&s, T); k += 4) {
        window_fill(&s, k, in, tg, doc, 4, T);
        ok &= docs_match(in, doc, 4);
    }
    CHECK_TRUE("eval windows: each token's document start (BOS or a file start)", ok);
    check_report(shard_documents(&s) == NDOC, "shard_documents counts BOS and file starts", (double)shard_documents(&s), NDOC);
    loader_free(&l);
    shard_free(&s);
}

static void test_pose(void) {
    enum { W = 512, L = 4096, R = 4 };
    const Pose p = {L, 3};
    int *pos = xmalloc(R * W * sizeof(int)), *again = xmalloc(R * W * sizeof(int)), *doc = xcalloc(R * W, sizeof(int));
    int below = 1, steps = 1, first0 = 1, top = 0, same = 1, differ = 0;
    for (int k = 0; k < 200; k++) {
        batch_positions(pos, NULL, &p, 1000 + (uint64_t)k, 0, R, W);
        batch_positions(again, NULL, &p, 1000 + (uint64_t)k, 0, R, W);
        same &= !memcmp(pos, again, R * W * sizeof(int));
        batch_positions(again, NULL, &p, 5000 + (uint64_t)k, 0, R, W);
        differ += memcmp(pos, again, R * W * sizeof(int)) != 0;
        for (int b = 0; b < R; b++) {
            const int *r = pos + b * W;
            int jumps = 0;
            first0 &= r[0] == 0;
            for (int t = 0; t < W; t++) {
                below &= r[t] >= 0 && r[t] < L;
                top = r[t] > top ? r[t] : top;
                if (t && r[t] != r[t - 1] + 1) jumps += r[t] > r[t - 1];
                if (t) steps &= r[t] > r[t - 1];
            }
            steps &= jumps <= 2;
        }
    }
    CHECK_TRUE("PoSE ids lie in [0, target_len)", below);
    CHECK_TRUE("PoSE ids grow by 1 but at most chunks - 1 skips per row", steps);
    CHECK_TRUE("PoSE: the first chunk starts at 0 (u_0 = 0)", first0);
    check_report(top >= L - L / 50, "PoSE ids reach the top of [0, target_len) (largest of 800 rows)", top, L - L / 50);
    CHECK_TRUE("PoSE ids: the same seed draws the same ids", same);
    check_report(differ == 200, "PoSE ids: another seed, other ids", differ, 200);
    for (int b = 0; b < R; b++)                       // documents at 0, 100 and 300 of each row
        for (int t = 0; t < W; t++) doc[b * W + t] = t < 100 ? 0 : t < 300 ? 100 : 300;
    batch_positions(pos, NULL, &p, 77, 0, R, W);
    batch_positions(again, doc, &p, 77, 0, R, W);
    int restart = 1;
    for (int i = 0; i < R * W; i++) restart &= again[i] == pos[i] - pos[i - i % W + doc[i]];
    CHECK_TRUE("PoSE with documents: ids restart at 0 in each document (pos - pos of its start)", restart);
    free(pos);
    free(again);
    free(doc);
}

// --- data.mix.whole, on copy documents (no tokenizer) of 40 .. 120 tokens in rows of 64 ---
enum { W = 64, ROWS = 400, EPOCHS = 64 };

// find_mix: e * K + k when the run seg[0, n) is document k of epoch e < E of the mix
// drawn for rows of T tokens (r: a reference Mix of the same options), else -1.
static long find_mix(Mix *r, const int *seg, size_t n, int E, size_t K, int T) {
    for (int e = 0; e < E; e++)
        for (size_t k = 0; k < K; k++) {
            size_t len;
            const int *d = mix_doc(r, (uint64_t)e, k, T, &len);
            if (len == n && !memcmp(d, seg, n * sizeof *d)) return (long)((size_t)e * K + k);
        }
    return -1;
}

// text_run: ids[0, n) occur in order in text[0, m).
static int text_run(const int *ids, size_t n, const uint32_t *text, size_t m) {
    for (size_t o = 0; o + n <= m; o++) {
        size_t j = 0;
        while (j < n && (uint32_t)ids[j] == text[o + j]) j++;
        if (j == n) return 1;
    }
    return 0;
}

// MixLoader: a loader over a shard with a copy mix of 40 .. 120 tokens (share 0.5,
// whole or not), read in rows of W (its share's length), and a second Mix of the same
// options that draws the reference documents.
typedef struct {
    Mix x, ref;
    Loader l;
} MixLoader;

static void mix_loader(MixLoader *m, const Shard *s, int whole) {
    const MixOptions mo = {1ll << MIX_COPY, 0.5, 40, 120, 4, 0.0, 1.0, 9, whole};
    mix_init(&m->x, s, NULL, &mo);
    mix_init(&m->ref, s, NULL, &mo);
    const LoaderOptions o = {.upsample_factor = 1, .mix = &m->x};
    loader_init(&m->l, s, &o, 42, W);
}

static void mix_loader_free(MixLoader *m) {
    loader_free(&m->l);
    mix_free(&m->x);
    mix_free(&m->ref);
}

// whole_rows: ROWS rows of W tokens of a loader with a copy mix (whole or not) into in,
// tg; count[e * K + k]: the rows holding document k of epoch e as a run between
// document starts (or the row's ends); lens: the shortest and longest of those; gaps:
// rows ending in a BOS and training text before a row that opens with a mix document
// (bad: not text).
// Returns the epochs read in full.
static int whole_rows(const Shard *s, int whole, int *in, int *tg, int *count, size_t *K, int *lens, int *gaps,
                      int *bad) {
    static MixLoader m;
    mix_loader(&m, s, whole);
    *K = m.l.n_docs - m.l.n_real;
    static int doc[ROWS * W];
    loader_next(&m.l, in, tg, doc, ROWS, W);
    const int E = (int)loader_cursor(&m.l).epoch;
    CHECK(E + 1 <= EPOCHS && (size_t)(E + 1) * *K <= EPOCHS * 16, "test: %d epochs of %zu mix documents", E, *K);
    size_t n_text;
    uint32_t *text = shard_text(s, SIZE_MAX, &n_text);
    long first[ROWS], last_t[ROWS];
    memset(count, 0, EPOCHS * 16 * sizeof *count);
    lens[0] = W, lens[1] = *gaps = *bad = 0;
    for (int r = 0; r < ROWS; r++) {
        const int *row = in + r * W;
        for (int t = 0, u; t < W; t = u) {
            for (u = t + 1; u < W && doc[r * W + u] != u; u++) {}
            const long k = row[t] == BOS_ID ? find_mix(&m.ref, row + t, (size_t)(u - t), E + 1, *K, W) : -1;
            if (k >= 0) count[k]++, lens[0] = u - t < lens[0] ? u - t : lens[0], lens[1] = u - t > lens[1] ? u - t : lens[1];
            if (t == 0) first[r] = k;
            last_t[r] = row[t] == BOS_ID && k < 0 ? t : -1;
        }
    }
    for (int r = 0; r + 1 < ROWS; r++)
        if (last_t[r] > 0 && first[r + 1] >= 0)
            *gaps += 1, *bad += !text_run(in + r * W + last_t[r] + 1, (size_t)(W - 1 - last_t[r]), text, n_text);
    free(text);
    mix_loader_free(&m);
    return E;
}

// test_mix_whole_stages: a curriculum that shortens its rows mid-epoch (150 rows of 64,
// then 250 of 48): every document of the epochs read lies whole in one row, once, as
// drawn for the length of the rows it is in.
static void test_mix_whole_stages(const Shard *s) {
    const int T[2] = {W, 48}, n[2] = {150, 250};
    static MixLoader ml;
    mix_loader(&ml, s, 1);
    Loader *l = &ml.l;
    const size_t K = l->n_docs - l->n_real;
    static int in[ROWS * W], tg[ROWS * W], doc[ROWS * W], count[EPOCHS * 16];
    memset(count, 0, sizeof count);
    for (int p = 0; p < 2; p++) {
        loader_next(l, in, tg, doc, n[p], T[p]);
        const int E = (int)loader_cursor(l).epoch;
        CHECK((size_t)(E + 1) * K <= EPOCHS * 16, "test: %d epochs of %zu mix documents", E, K);
        for (int r = 0; r < n[p]; r++)
            for (int t = 0, u; t < T[p]; t = u) {
                const int *row = in + r * T[p], *dr = doc + r * T[p];
                for (u = t + 1; u < T[p] && dr[u] != u; u++) {}
                const long m = row[t] == BOS_ID ? find_mix(&ml.ref, row + t, (size_t)(u - t), E + 1, K, T[p]) : -1;
                if (m >= 0) count[m]++;
            }
    }
    const int E = (int)loader_cursor(l).epoch;
    int once = E >= 5;
    for (size_t i = 0; i < (size_t)E * K; i++) once &= count[i] == 1;
    check_report(once, check_what("mix.whole, rows of 64 then 48: each of %d epochs' documents whole in one row, once", E),
                 once, 1);
    mix_loader_free(&ml);
}

static void test_mix_whole(void) {
    Shard s;
    shard_load_glob(&s, "tests/tmp/data_[ab].bin", V, "test");
    static int in[ROWS * W], tg[ROWS * W], in2[ROWS * W], tg2[ROWS * W], count[EPOCHS * 16];
    size_t K;
    int lens[2], gaps, bad, once = 1, straddle = 0, targets = 1;
    const int E0 = whole_rows(&s, 0, in, tg, count, &K, lens, &gaps, &bad);
    for (size_t i = 0; i < (size_t)E0 * K; i++) straddle += count[i] == 0;
    check_report(straddle > 0, "mix without whole: some documents straddle two rows (the check can fail)", straddle, 1);
    const int E = whole_rows(&s, 1, in, tg, count, &K, lens, &gaps, &bad);
    size_t real = 0;
    for (int i = 0; i < NDOC; i++) real += doc_len(i);
    check_report(K == (size_t)lround((double)real / 52.0), "mix.whole: documents per epoch for the share at rows of 64 "
                 "(mean length (40 + 64) / 2)", (double)K, lround((double)real / 52.0));
    for (size_t i = 0; i < (size_t)E * K; i++) once &= count[i] == 1;
    for (int i = 0; i < ROWS * W; i++) targets &= i % W == W - 1 ? i + 1 == ROWS * W || tg[i] == in[i + 1] : tg[i] == in[i + 1];
    check_report(once && E >= 10, check_what("mix.whole: each of %d epochs' %zu documents lies whole in one row, once", E, K),
                 once, 1);
    check_report(lens[0] >= 40 && lens[1] <= W && lens[1] >= W - 4, "mix.whole: documents of 40 .. 64 tokens (at most a row)",
                 lens[1], W);
    check_report(gaps > 10 && !bad, "mix.whole: gaps before a row's mix document are BOS + training text", bad, 0);
    CHECK_TRUE("mix.whole: a row's last target opens the next row", targets);
    static MixLoader a, b;                         // b: a fresh process's
    mix_loader(&a, &s, 1);
    mix_loader(&b, &s, 1);
    loader_next(&a.l, in2, tg2, NULL, 150, W);
    loader_seek(&b.l, loader_cursor(&a.l));
    loader_next(&a.l, in2, tg2, NULL, 100, W);
    loader_next(&b.l, in2 + 100 * W, tg2 + 100 * W, NULL, 100, W);
    CHECK_TRUE("mix.whole: a fresh loader seeked to a cursor reads the same rows",
               !memcmp(in2, in + 150 * W, 100 * W * sizeof *in) && !memcmp(in2 + 100 * W, in + 150 * W, 100 * W * sizeof *in));
    mix_loader_free(&b);
    mix_loader(&b, &s, 1);
    loader_skip(&b.l, 250, W);
    loader_next(&b.l, in2, tg2, NULL, 100, W);
    CHECK_TRUE("mix.whole: loader_skip of 250 rows, then the rows read after 250",
               !memcmp(in2, in + 250 * W, 100 * W * sizeof *in) && !memcmp(tg2, tg + 250 * W, 99 * W * sizeof *tg));
    mix_loader_free(&a);
    mix_loader_free(&b);
    test_mix_whole_stages(&s);
    shard_free(&s);
}

int main(void) {
    test_packing();
    test_documents();
    test_pose();
    test_mix_whole();
    return check_done("test_data");
}
