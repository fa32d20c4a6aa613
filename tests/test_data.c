// test_data.c — shards by glob and the packing loader, on synthetic documents whose
// tokens name them: document i is BOS followed by len(i) - 1 copies of token 10 + i.
//   - a glob loads its files in sorted order; file starts open documents;
//   - an epoch packs every document once, in a seeded order that differs per epoch and
//     per seed; each target is a token of the stream once per epoch; sequences span
//     documents and overlap by one token;
//   - min_doc_tokens drops short documents; upsampling repeats long ones;
//   - a cursor saved mid-epoch and restored in a fresh loader continues identically.
#define _POSIX_C_SOURCE 200809L
#include "../data/data.h"
#include "../util/util.h"
#include "check.h"

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
        shard_write(f ? "tests/tmp/data_b.bin" : "tests/tmp/data_a.bin", tok, n, V);
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

static void test_packing(void) {
    write_shards();
    Shard s;
    shard_load_glob(&s, "tests/tmp/data_[ab].bin", V, "test");
    size_t total = 0, first = 0;
    for (int i = 0; i < NDOC; i++) total += doc_len(i);
    for (int i = 0; i < 20; i++) first += doc_len(i);
    check_report(s.n_files == 2 && s.n == total && s.file_start[1] == first, "glob: two files, all tokens", (double)s.n, (double)total);
    check_report(s.tokens[0] == BOS_ID && s.tokens[1] == 10, "glob: sorted order (data_a first)", s.tokens[1], 10);
    LoaderOptions o = {0, 0, 1};
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

    o = (LoaderOptions){10, 20, 3};
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
    loader_free(&l);
    free(a); free(b); free(x); free(y);
    shard_free(&s);
}

int main(void) {
    test_packing();
    return check_done("test_data");
}
