// test_sources.c — data.train as weighted sources (data/sources.c, the loader's epochs):
//   - the YAML list is parsed (weights, min_doc_tokens, upsample) and written back to the
//     same Sources; the shards of three sources load as one Shard with src_start;
//   - each epoch takes per_epoch = round(n * share * E / tokens) documents of a source,
//     computed here from the weights independently of the loader, and the stream's tokens
//     per source over 4 epochs are exactly those (a weight-0 source gives none);
//   - in the order read, a source drawn above or below its size gives its documents in
//     whole cycles: none repeats before all have been read; a weight-0 source is not read;
//   - the same seed gives the same stream, another seed another; a cursor saved mid-run
//     and restored in a fresh loader continues identically.
// Documents: source A 30 of 10 tokens, B 10 of 50 (upsampled x2 from 40), C 5 of 20
// (weight 0); document g is BOS then len - 1 copies of token 100 + g.
#define _POSIX_C_SOURCE 200809L
#include "../data/data.h"
#include "../util/util.h"
#include "../util/ytree.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { V = 512, T = 16, NA = 30, NB = 10, NC = 5, LA = 10, LB = 50, LC = 20 };

static const char *YAML =
    "[{path: tests/tmp/src_a.bin, weight: 3},\n"
    " {path: \"tests/tmp/src_b*.bin\", weight: 1, min_doc_tokens: 5, upsample: {min_tokens: 40, factor: 2}},\n"
    " {path: tests/tmp/src_c.bin, weight: 0}]\n";

// write_source: n documents of len tokens, ids from g0, to path.
static void write_source(const char *path, int g0, int n, int len) {
    uint32_t *tok = xmalloc((size_t)n * (size_t)len * sizeof *tok);
    size_t k = 0;
    for (int g = g0; g < g0 + n; g++)
        for (int j = 0; j < len; j++) tok[k++] = j ? (uint32_t)(100 + g) : BOS_ID;
    shard_write(path, tok, k, V, BOS_ID);
    free(tok);
}

static void parse(Sources *s, const char *text) {
    YTree t;
    ytree_parse(&t, "sources.yaml", text, strlen(text));
    sources_parse(s, &t, ytree_root(&t), "data.train");
    ytree_free(&t);
}

// stream: the first `rows` input rows of a fresh loader over s (seed), appended to out.
static void stream(const Shard *s, const Sources *src, uint64_t seed, size_t rows, int *out) {
    Loader l;
    const LoaderOptions o = {.upsample_factor = 1, .sources = src};
    loader_init(&l, s, &o, seed, T);
    int tg[T];
    for (size_t r = 0; r < rows; r++) loader_next(&l, out + r * T, tg, NULL, 1, T);
    loader_free(&l);
}

int main(void) {
    make_dirs("tests/tmp");
    write_source("tests/tmp/src_a.bin", 0, NA, LA);
    write_source("tests/tmp/src_b1.bin", NA, NB / 2, LB);   // B: a glob of two files
    write_source("tests/tmp/src_b2.bin", NA + NB / 2, NB / 2, LB);
    write_source("tests/tmp/src_c.bin", NA + NB, NC, LC);

    Sources s, back;
    parse(&s, YAML);
    CHECK_TRUE("parsed: 3 sources; weights 3, 1, 0; B's min_doc_tokens 5 and upsample 40 x2",
               s.n == 3 && s.s[0].weight == 3 && s.s[1].weight == 1 && s.s[2].weight == 0 && s.s[1].min_doc_tokens == 5 &&
                   s.s[1].upsample_min_tokens == 40 && s.s[1].upsample_factor == 2 && s.s[0].min_doc_tokens < 0 &&
                   !strcmp(s.s[1].path, "tests/tmp/src_b*.bin"));
    char *text = NULL;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    sources_write(&s, f);
    fclose(f);
    parse(&back, text);
    int same = back.n == s.n;
    for (int i = 0; same && i < s.n; i++)
        same = !strcmp(back.s[i].path, s.s[i].path) && back.s[i].weight == s.s[i].weight &&
               back.s[i].min_doc_tokens == s.s[i].min_doc_tokens && back.s[i].upsample_factor == s.s[i].upsample_factor &&
               back.s[i].upsample_min_tokens == s.s[i].upsample_min_tokens;
    CHECK_TRUE("written back as YAML and parsed again: the same sources", same);
    printf("    %s", text);
    free(text);

    Shard sh;
    shard_load_sources(&sh, &s, V, "data.train");
    const size_t ta = NA * LA, tb = NB * LB, tc = NC * LC;
    CHECK_TRUE("loaded as one shard: src_start at each source's first token, 3 files (weight 0: C not read)",
               sh.n_src == 3 && sh.src_start[0] == 0 && sh.src_start[1] == ta && sh.src_start[2] == ta + tb &&
                   sh.src_start[3] == ta + tb && sh.n_files == 3);
    (void)tc;

    // per_epoch from the weights, computed here: E = the weighted sources' tokens after filters
    const double tb2 = 2.0 * tb, E = ta + tb2;
    const size_t want_a = (size_t)lround(NA * (3.0 / 4.0) * E / ta), want_b = (size_t)lround(2 * NB * (1.0 / 4.0) * E / tb2);
    Loader l;
    const LoaderOptions o = {.upsample_factor = 1, .sources = &s};
    loader_init(&l, &sh, &o, 42, T);
    CHECK_TRUE("per epoch: A and B by their weights (3:1 of E tokens), C none", l.src[0].per_epoch == want_a &&
               l.src[1].per_epoch == want_b && l.src[2].per_epoch == 0 && l.src[1].n == 2 * NB);
    printf("    A %zu of %d documents, B %zu of %d entries (upsampled), C %zu; epoch %zu tokens\n", l.src[0].per_epoch, NA,
           l.src[1].per_epoch, 2 * NB, l.src[2].per_epoch, l.epoch_tokens);
    const size_t epoch = want_a * LA + want_b * LB, epochs = 4;
    CHECK_TRUE("an epoch's tokens: A's and B's documents per epoch times their lengths", l.epoch_tokens == epoch);
    loader_free(&l);

    // the stream: 4 epochs of inputs, tokens counted by source and epoch
    const size_t rows = (epochs * epoch + T - 1) / T;
    int *in = xmalloc((rows + 64) * T * sizeof *in), *in2 = xmalloc((rows + 64) * T * sizeof *in2);
    stream(&sh, &s, 42, rows, in);
    size_t by[4][3] = {{0}}, n_seq[2] = {0};
    int *seq[2] = {xmalloc(rows * T * sizeof(int)), xmalloc(rows * T * sizeof(int))};   // documents read, per source
    for (size_t i = 0; i < epochs * epoch; i++) {
        const int g = in[i] == BOS_ID ? -1 : in[i] - 100;
        if (g < 0) continue;
        const int src = g < NA ? 0 : g < NA + NB ? 1 : 2;
        by[i / epoch][src] += 1;
        if (src < 2 && i > 0 && in[i - 1] == BOS_ID) seq[src][n_seq[src]++] = g;
    }
    int exact = 1;
    for (size_t e = 0; e < epochs; e++)
        exact &= by[e][0] == want_a * (LA - 1) && by[e][1] == want_b * (LB - 1) && by[e][2] == 0;
    CHECK_TRUE("each of 4 epochs: A's and B's tokens exactly per_epoch documents' (without BOS), C's none", exact);
    printf("    epoch 0: A %zu, B %zu, C %zu tokens (shares %.3f, %.3f; weights 0.75, 0.25)\n", by[0][0], by[0][1],
           by[0][2], (double)by[0][0] / (double)(by[0][0] + by[0][1]), (double)by[0][1] / (double)(by[0][0] + by[0][1]));
    // in the order read, each source's documents come in whole cycles: A's 30, then its 30
    // again; B's 20 entries hold each document twice (upsampled) before any a third time
    int cycles = 1;
    for (int k = 0; k < 2; k++) {
        const int n = k ? 2 * NB : NA, g0 = k ? NA : 0, copies = k ? 2 : 1, docs = k ? NB : NA;
        for (size_t c0 = 0; c0 + (size_t)n <= n_seq[k]; c0 += (size_t)n) {
            int count[NA] = {0};
            for (int j = 0; j < n; j++) count[seq[k][c0 + (size_t)j] - g0]++;
            for (int d = 0; d < docs; d++) cycles &= count[d] == copies;
        }
    }
    CHECK_TRUE("in the order read, A (x3.3 per epoch) and B (0.35 of it per epoch) give whole cycles: none repeats before all are read",
               cycles && n_seq[0] >= 3 * NA && n_seq[1] >= 2 * NB - 1);
    printf("    read: %zu documents of A (%zu whole cycles), %zu of B (%zu)\n", n_seq[0], n_seq[0] / NA, n_seq[1], n_seq[1] / (2 * NB));
    free(seq[0]);
    free(seq[1]);

    stream(&sh, &s, 42, rows, in2);
    CHECK_TRUE("the same seed: the same stream", !memcmp(in, in2, rows * T * sizeof *in));
    stream(&sh, &s, 43, rows, in2);
    CHECK_TRUE("another seed: another stream", memcmp(in, in2, rows * T * sizeof *in) != 0);

    loader_init(&l, &sh, &o, 42, T);                        // a cursor saved mid-epoch 2
    int tg[T];
    const size_t cut = epoch * 2 / T + 3;
    for (size_t r = 0; r < cut; r++) loader_next(&l, in2, tg, NULL, 1, T);
    const LoaderCursor c = loader_cursor(&l);
    loader_free(&l);
    Loader fresh;
    loader_init(&fresh, &sh, &o, 42, T);
    loader_seek(&fresh, c);
    for (size_t r = 0; r < rows - cut; r++) loader_next(&fresh, in2 + r * T, tg, NULL, 1, T);
    loader_free(&fresh);
    CHECK_TRUE("a cursor saved mid-epoch, restored in a fresh loader: the same rows after it",
               !memcmp(in + cut * T, in2, (rows - cut) * T * sizeof *in));

    Sources one;
    parse(&one, "tests/tmp/src_a.bin");
    CHECK_TRUE("a plain path: one source without options, written back as the string",
               one.n == 1 && one.s[0].weight < 0 && one.s[0].upsample_factor < 0);
    Sources unset;
    memset(&unset, 0, sizeof unset);                        // data.train not given (the config's default)
    f = open_memstream(&text, &len);
    sources_write(&unset, f);
    fclose(f);
    CHECK_TRUE("unset: written as \"\", which reads back as unset", !strcmp(text, "\"\"\n"));
    parse(&back, text);
    CHECK_TRUE("unset: read back, no source", back.n == 0);
    free(text);
    free(in);
    free(in2);
    shard_free(&sh);
    return check_done("sources");
}
