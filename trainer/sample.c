// sample.c — a model's predictions over tokens, two subcommands:
// `train sample`: ancestral sampling from a model with the cached forward (each step one
// token's forward over the cached keys/values, then the LM head's logits of that row),
// documents written as an llm.c token shard. Reproducible: the same model, seed,
// temperature and lengths give the same shard.
// `train score`: the model's next-token log-probability at every position of one window
// of a token shard, one line per position — what a runtime given the same ids must
// reproduce (tests/test_gguf.sh holds llama.cpp to it).
#include "sample.h"
#include "config.h"
#include "setup.h"
#include "../data/data.h"
#include "../util/util.h"
#include "../util/ytree.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE_SAMPLE[] =
    "usage: train sample --model SRC --out FILE --tokens N [--temperature X (1)] [--seed S (1337)] "
    "[--max-len L (the model's context)] [--tokenizer TOK (print the first document)] [--threads K (1)]";

int sample_pick(const float *logits, int V, double temperature, Rng *r) {
    int best = 0;
    for (int v = 1; v < V; v++) best = logits[v] > logits[best] ? v : best;
    if (temperature == 0.0) return best;
    double total = 0.0;
    for (int v = 0; v < V; v++) total += exp(((double)logits[v] - logits[best]) / temperature);
    double u = rng_uniform(r) * total;
    for (int v = 0; v < V; v++) {
        u -= exp(((double)logits[v] - logits[best]) / temperature);
        if (u < 0.0) return v;
    }
    return best;                                  // u left over by rounding
}

int sample_document(Model *m, int max_len, double temperature, Rng *r, float *logits, int open, int *out) {
    int n = 0, tok = open;
    out[n++] = open;
    while (n < max_len) {
        model_forward_cached(m, &tok, NULL, NULL, 1, n - 1, max_len);
        model_row_logits(m, 0, logits);
        tok = sample_pick(logits, m->cfg.vocab, temperature, r);
        if (tok == open) break;
        out[n++] = tok;
    }
    return n;
}

// print_text: the document's text (the tokenizer's pieces).
static void print_text(const Tokenizer *t, const int *doc, int n) {
    char buf[2];
    for (int i = 1; i < n; i++) fputs(tokenizer_decode_piece(t, doc[i - 1], doc[i], buf), stdout);
    putchar('\n');
}

// number: the value of option `opt` as a number in [lo, hi] (whole: an integer), or an
// error that shows `usage`.
static double number(const char *opt, const char *v, double lo, double hi, int whole, const char *usage) {
    double x;
    if (parse_double(v, &x) != 0 || !(x >= lo && x <= hi) || (whole && x != floor(x)))
        die("%s %s: expected a %s in [%.15g, %.15g] (%s)", opt, v, whole ? "whole number" : "number", lo, hi, usage);
    return x;
}

int sample_main(int argc, char **argv) {
    const char *from = NULL, *out = NULL, *tok_path = NULL;
    double temperature = 1.0, tokens = 0, seed = 1337, max_len = 0, threads = 1;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("%s\n", USAGE_SAMPLE);
            return 0;
        }
        if (i + 1 >= argc) die("%s needs a value (%s)", argv[i], USAGE_SAMPLE);
        const char *o = argv[i], *v = argv[++i];
        if (!strcmp(o, "--model")) from = v;
        else if (!strcmp(o, "--out")) out = v;
        else if (!strcmp(o, "--tokenizer")) tok_path = v;
        else if (!strcmp(o, "--tokens")) tokens = number(o, v, 1, 1e12, 1, USAGE_SAMPLE);
        else if (!strcmp(o, "--temperature")) temperature = number(o, v, 0, 100, 0, USAGE_SAMPLE);
        else if (!strcmp(o, "--seed")) seed = number(o, v, 0, 9e15, 1, USAGE_SAMPLE);
        else if (!strcmp(o, "--max-len")) max_len = number(o, v, 2, 1 << 22, 1, USAGE_SAMPLE);
        else if (!strcmp(o, "--threads")) threads = number(o, v, 0, 1024, 1, USAGE_SAMPLE);
        else die("sample: unknown option '%s' (%s)", o, USAGE_SAMPLE);
    }
    if (!from || !out || !tokens) die("%s", USAGE_SAMPLE);
    setup_threads((long long)threads);
    Config *c = xmalloc(sizeof *c);
    config_load(c, NULL, NULL, 0);
    Model m;
    free(load_model_from(&m, c, from, NULL));
    const int L = max_len > 0 ? (int)max_len : m.cfg.max_seq_len > 0 ? m.cfg.max_seq_len : 512;
    Tokenizer tok;
    if (tok_path) {
        tokenizer_load(&tok, tok_path);
        if (tok.vocab != m.cfg.vocab) die("--tokenizer %s has %d tokens, the model %d", tok_path, tok.vocab, m.cfg.vocab);
    }
    const int open = tok_path && tok.bos >= 0 ? tok.bos : BOS_ID;
    model_reserve_cache(&m, L);
    model_prepare(&m);
    const size_t want = (size_t)tokens;
    uint32_t *ids = xmalloc((want + (size_t)L) * sizeof *ids);
    int *doc = xmalloc((size_t)L * sizeof *doc);
    float *logits = xmalloc((size_t)m.cfg.vocab * sizeof *logits);
    Rng r = {(uint64_t)seed * 0x9E3779B97F4A7C15ull + 1};
    size_t n = 0, docs = 0;
    const double t0 = now_seconds();
    while (n < want) {
        const int k = sample_document(&m, L, temperature, &r, logits, open, doc);
        if (tok_path && docs == 0) print_text(&tok, doc, k);
        for (int j = 0; j < k; j++) ids[n++] = (uint32_t)doc[j];
        docs++;
    }
    shard_write(out, ids, n, m.cfg.vocab, (uint32_t)open);
    const double dt = now_seconds() - t0;
    printf("sampled %zu documents, %zu tokens from %s (temperature %g, seed %.0f, at most %d tokens each) in %.1fs "
           "(%.0f tokens/s); wrote %s\n", docs, n, from, temperature, seed, L, dt, (double)n / (dt > 0 ? dt : 1), out);
    if (tok_path) tokenizer_free(&tok);
    free(ids);
    free(doc);
    free(logits);
    free(c);
    model_free(&m);
    return 0;
}

static const char USAGE_SCORE[] = "usage: train score --model SRC --data SHARD --tokens N [--offset K (0)] [--threads K (1)]";

int score_main(int argc, char **argv) {
    const char *from = NULL, *data = NULL;
    long long n = 0, offset = 0, threads = 1;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("%s\n  prints \"i input target logp\" for the N - 1 targets of tokens K .. K+N-1 of SHARD, in one "
                   "window at positions 0 .. N-1, then the mean NLL\n", USAGE_SCORE);
            return 0;
        }
        if (i + 1 >= argc) die("%s needs a value (%s)", argv[i], USAGE_SCORE);
        const char *o = argv[i], *v = argv[++i];
        if (!strcmp(o, "--model")) from = v;
        else if (!strcmp(o, "--data")) data = v;
        else if (!strcmp(o, "--tokens")) n = (long long)number(o, v, 2, 1 << 24, 1, USAGE_SCORE);
        else if (!strcmp(o, "--offset")) offset = (long long)number(o, v, 0, 0x1p50, 1, USAGE_SCORE);
        else if (!strcmp(o, "--threads")) threads = (long long)number(o, v, 0, 1024, 1, USAGE_SCORE);
        else die("score: unknown option '%s' (%s)", o, USAGE_SCORE);
    }
    if (!from || !data || !n) die("%s", USAGE_SCORE);
    setup_threads(threads);
    Config *c = xmalloc(sizeof *c);
    config_load(c, NULL, NULL, 0);
    Model m;
    free(load_model_from(&m, c, from, NULL));
    Shard s;
    shard_load(&s, data, m.cfg.vocab);
    if ((size_t)offset > s.n || (size_t)n > s.n - (size_t)offset)
        die("--offset %lld --tokens %lld: %s holds %zu tokens", offset, n, data, s.n);
    const int T = (int)n - 1;
    int *in = xmalloc((size_t)T * sizeof *in), *tgt = xmalloc((size_t)T * sizeof *tgt);
    for (int t = 0; t < T; t++) in[t] = (int)s.tokens[offset + t], tgt[t] = (int)s.tokens[offset + t + 1];
    model_reserve(&m, 1, T, ACTS_FORWARD);
    model_prepare(&m);
    const float loss = model_forward(&m, in, tgt, NULL, 1, T);
    for (int t = 0; t < T; t++) printf("%d %d %d %.9g\n", t, in[t], tgt[t], -(double)m.acts.losses[t]);
    printf("# mean nll %.9g over %d targets of %s at %lld\n", loss, T, data, offset);
    free(in);
    free(tgt);
    shard_free(&s);
    model_free(&m);
    free(c);
    return 0;
}
