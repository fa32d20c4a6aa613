// bench_tok.c — tokenizer throughput for `make bench` (scripts/bench_tokenize.sh): encode a
// text's documents (paragraphs, as `train prepare` cuts them) with one thread and with
// every thread given (OpenMP over documents, as prepare does), and the whole text as one
// document (time linear in a document's length). A run encodes the text REPS times; medians
// of 7 runs after a warm-up; the load is not timed. The ids of every run are checked to be
// the same (an FNV-1a hash). Also: one thread through a word cache (as prepare encodes),
// fresh for each run, over the text once (REPS passes would find every word cached).
//   usage: tests/bench_tok TOKENIZER TEXT THREADS
#include "../data/data.h"
#include "../util/util.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define RUNS 7
#define REPS 4

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// encode_all: every document's ids, reps times, with `threads` threads (each with its own
// word cache when cached, fresh for the call); returns the seconds taken and a hash of the
// ids in document order in *hash.
static double encode_all(const Tokenizer *t, char **docs, size_t n_docs, int threads, int reps, int cached,
                         uint64_t *hash) {
    uint64_t *h = xcalloc((size_t)reps * n_docs, sizeof *h);
    WordCache **cache = xcalloc((size_t)threads, sizeof *cache);
    for (int i = 0; cached && i < threads; i++) cache[i] = word_cache_new();
    const double t0 = now_seconds();
    #pragma omp parallel for schedule(dynamic) num_threads(threads)
    for (size_t r = 0; r < (size_t)reps * n_docs; r++) {
        const size_t i = r % n_docs;
        size_t n;
        uint32_t *ids = tokenizer_encode(t, cache[omp_get_thread_num()], docs[i], 1, &n);
        uint64_t x = 1469598103934665603ull;
        for (size_t k = 0; k < n; k++) x = (x ^ ids[k]) * 1099511628211ull;
        h[r] = x;
        free(ids);
    }
    const double dt = now_seconds() - t0;
    *hash = 0;
    for (size_t r = 0; r < (size_t)n_docs; r++) *hash = (*hash ^ h[r]) * 1099511628211ull;
    for (int i = 0; i < threads; i++) word_cache_free(cache[i]);
    free(cache);
    free(h);
    return dt / reps;
}

// median_of: the median seconds of one pass over the documents.
static double median_of(const Tokenizer *t, char **docs, size_t n_docs, int threads, int cached, uint64_t *hash) {
    double s[RUNS];
    uint64_t first;
    const int reps = cached ? 1 : REPS;
    encode_all(t, docs, n_docs, threads, reps, cached, &first);   // warm-up
    for (int r = 0; r < RUNS; r++) {
        s[r] = encode_all(t, docs, n_docs, threads, reps, cached, hash);
        if (*hash != first) die("bench_tok: run %d gave other ids than the warm-up", r);
    }
    qsort(s, RUNS, sizeof *s, cmp_double);
    return s[RUNS / 2];
}

int main(int argc, char **argv) {
    if (argc != 4) die("usage: tests/bench_tok TOKENIZER TEXT THREADS");
    const int threads = atoi(argv[3]);
    if (threads < 1) die("bench_tok: THREADS must be at least 1");
    Tokenizer t;
    tokenizer_load(&t, argv[1]);
    size_t len;
    char *text = read_file(argv[2], &len), *whole = xstrdup(text);
    for (char *c = whole; *c; c++) *c = *c == '\n' ? ' ' : *c;   // one document: newlines as spaces
    size_t n_docs = 0, cap = 1024;
    char **docs = xmalloc(cap * sizeof *docs);
    for (char *p = text, *e; *p; p = e) {                       // paragraphs, as prepare cuts them
        while (*p == '\n') p++;
        if (!*p) break;
        e = strstr(p, "\n\n");
        if (e) *e++ = 0, e++;
        else e = p + strlen(p);
        if (n_docs == cap) docs = xrealloc(docs, (cap *= 2) * sizeof *docs);
        docs[n_docs++] = p;
    }
    uint64_t h1, hn, hw, hc;
    const double mb = (double)len / 1e6, s1 = median_of(&t, docs, n_docs, 1, 0, &h1);
    const double sn = median_of(&t, docs, n_docs, threads, 0, &hn), sw = median_of(&t, &whole, 1, 1, 0, &hw);
    const double sc = median_of(&t, docs, n_docs, 1, 1, &hc);
    if (h1 != hn || h1 != hc) die("bench_tok: %d threads or the word cache gave other ids than one thread", threads);
    printf("%-28s %zu documents %6.2f MB/s 1 thread | %6.2f MB/s %d threads (x%.2f, same ids) | one document "
           "of %.2f MB %6.2f MB/s (%.2fx the time of its paragraphs) | word cache %6.2f MB/s 1 thread (x%.2f, same ids)\n",
           argv[1], n_docs, mb / s1, mb / sn, threads, s1 / sn, mb, mb / sw, sw / s1, mb / sc, s1 / sc);
    tokenizer_free(&t);
    free(docs);
    free(text);
    free(whole);
    return 0;
}
