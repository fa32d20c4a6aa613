// eval.c — evaluation in windows of T tokens with loss by position bucket, and the
// `train eval` subcommand (see run.h).
#include "run.h"
#include "../model/formats.h"
#include "../util/util.h"

#include <stdlib.h>
#include <string.h>

// buckets: 0-256, 256-512, 512-1k, 1k-2k, ... with the last one ending at T.
static void make_buckets(EvalResult *r, int T) {
    int n = 0;
    r->edges[n++] = 0;
    for (long e = 256; e < T && n < MAX_BUCKETS; e *= 2) r->edges[n++] = (int)e;
    r->edges[n] = T;
    r->n_buckets = n;
}

EvalResult evaluate(Model *m, const Shard *val, int *in, int *tg, int B, int T, long long max_tokens) {
    EvalResult r;
    memset(&r, 0, sizeof r);
    make_buckets(&r, T);
    size_t windows = window_count(val, T), cap = (size_t)(max_tokens / T);
    if (windows > cap) windows = cap;
    if (windows == 0)
        die("%s: no evaluation window: %zu tokens and eval.max_tokens %lld for windows of seq_len %d + 1",
            val->path, val->n, max_tokens, T);
    double total = 0.0;
    for (size_t k = 0; k < windows; k += (size_t)B) {
        int b = (int)(windows - k < (size_t)B ? windows - k : (size_t)B);
        window_fill(val, k, in, tg, b, T);
        model_forward(m, in, tg, b, T);
        for (int i = 0; i < b; i++)
            for (int t = 0, j = 0; t < T; t++) {
                double l = m->acts.losses[(size_t)i * T + t];
                while (t >= r.edges[j + 1]) j++;
                r.bucket_loss[j] += l;
                r.bucket_tokens[j]++;
                total += l;
            }
    }
    r.tokens = windows * (size_t)T;
    r.loss = total / (double)r.tokens;
    for (int j = 0; j < r.n_buckets; j++) r.bucket_loss[j] /= (double)r.bucket_tokens[j];
    return r;
}

static void edge_name(char *buf, size_t n, int e) {
    if (e >= 1024 && e % 1024 == 0) snprintf(buf, n, "%dk", e / 1024);
    else snprintf(buf, n, "%d", e);
}

void print_eval_table(const EvalResult *r, FILE *f) {
    char a[16], b[16];
    fprintf(f, "%-14s %10s %10s\n", "positions", "tokens", "loss");
    for (int j = 0; j < r->n_buckets; j++) {
        edge_name(a, sizeof a, r->edges[j]);
        edge_name(b, sizeof b, r->edges[j + 1]);
        fprintf(f, "%6s-%-7s %10zu %10.4f\n", a, b, r->bucket_tokens[j], r->bucket_loss[j]);
    }
    fprintf(f, "%-14s %10zu %10.4f\n", "all", r->tokens, r->loss);
}

void write_eval_json(const EvalResult *r, const char *path) {
    FILE *f = xfopen(path, "w");
    fprintf(f, "{\"loss\": %.6f, \"tokens\": %zu, \"loss_by_position\": [", r->loss, r->tokens);
    for (int j = 0; j < r->n_buckets; j++)
        fprintf(f, "%s{\"from\": %d, \"to\": %d, \"tokens\": %zu, \"loss\": %.6f}", j ? ", " : "", r->edges[j],
                r->edges[j + 1], r->bucket_tokens[j], r->bucket_loss[j]);
    fprintf(f, "]}\n");
    if (fclose(f) != 0) die("%s: write failed", path);
}

int eval_main(const Config *c) {
    int micro, accum;
    if (!*c->init_from) die("model.init_from is not set (the base model to evaluate)");
    if (!*c->val_path) die("data.val is not set (needed by `train eval`)");
    setup_threads(c->threads);
    micro_batch_of(c, &micro, &accum);
    Model m;
    Shard val;
    load_model_for(&m, c);
    shard_load(&val, c->val_path, m.cfg.vocab);
    m.recompute = 1;                 // forward only: one layer of saved activations is enough
    model_prepare(&m, micro, (int)c->seq_len);
    int *in = xmalloc((size_t)micro * c->seq_len * sizeof(int)), *tg = xmalloc((size_t)micro * c->seq_len * sizeof(int));
    double t0 = now_seconds();
    EvalResult r = evaluate(&m, &val, in, tg, micro, (int)c->seq_len, c->eval_max_tokens);
    double dt = now_seconds() - t0;
    make_dirs(c->out_dir);
    char *path = path_join(c->out_dir, "eval.json");
    write_eval_json(&r, path);
    printf("eval of %s on %s, windows of %lld tokens (%.1fs, %.0f tok/s)\n", c->init_from, c->val_path,
           c->seq_len, dt, (double)r.tokens / dt);
    print_eval_table(&r, stdout);
    printf("wrote %s\n", path);
    free(path);
    free(in);
    free(tg);
    shard_free(&val);
    model_free(&m);
    return 0;
}
