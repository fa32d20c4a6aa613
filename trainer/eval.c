// eval.c — evaluation in windows of T tokens with loss by position bucket, and the
// `train eval` subcommand (see eval.h).
#include "eval.h"
#include "setup.h"
#include "../dist/dist.h"
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

// reduce_sums: each bucket's loss sum and count, and the total, summed over the ranks.
static void reduce_sums(EvalResult *r, double *total) {
    double v[2 * MAX_BUCKETS + 1];
    const int nb = r->n_buckets;
    for (int j = 0; j < nb; j++) v[j] = r->bucket_loss[j], v[nb + j] = (double)r->bucket_tokens[j];
    v[2 * nb] = *total;
    dist_sum_f64(v, 2 * (size_t)nb + 1);
    for (int j = 0; j < nb; j++) r->bucket_loss[j] = v[j], r->bucket_tokens[j] = (size_t)v[nb + j];
    *total = v[2 * nb];
}

EvalResult evaluate(Model *m, const Shard *val, const Batch *bt, int B, int T, long long max_tokens, int document_mask) {
    EvalResult r;
    memset(&r, 0, sizeof r);
    r.T = T;
    r.document_mask = document_mask;
    make_buckets(&r, T);
    size_t windows = window_count(val, T), cap = (size_t)(max_tokens / T);
    if (windows > cap) windows = cap;
    if (windows == 0)
        die("%s: no evaluation window: %zu tokens and eval.max_tokens %lld for windows of seq_len %d + 1",
            val->path, val->n, max_tokens, T);
    double total = 0.0;
    const size_t N = (size_t)dist_size();
    for (size_t k = (size_t)dist_rank() * (size_t)B; k < windows; k += N * (size_t)B) {   // ranks take turns
        int b = (int)(windows - k < (size_t)B ? windows - k : (size_t)B);
        const int *doc = document_mask ? bt->doc : NULL;
        window_fill(val, k, bt->in, bt->tg, bt->doc, b, T);
        batch_positions(bt->pos, doc, NULL, 0, 0, b, T);
        const PosIds ids = {bt->pos, doc, 0};
        model_forward(m, bt->in, bt->tg, &ids, b, T);
        for (size_t i = 0; i < (size_t)b * T; i++) {
            const double l = m->acts.losses[i];
            int j = 0;
            while (bt->pos[i] >= r.edges[j + 1]) j++;
            r.bucket_loss[j] += l;
            r.bucket_tokens[j]++;
            total += l;
        }
    }
    reduce_sums(&r, &total);
    r.tokens = windows * (size_t)T;
    r.loss = total / (double)r.tokens;
    while (r.n_buckets > 1 && !r.bucket_tokens[r.n_buckets - 1]) r.n_buckets--;    // beyond every document
    for (int j = 0; j < r.n_buckets; j++) r.bucket_loss[j] /= (double)r.bucket_tokens[j];
    return r;
}

static void edge_name(char *buf, size_t n, int e) {
    if (e >= 1024 && e % 1024 == 0) snprintf(buf, n, "%dk", e / 1024);
    else snprintf(buf, n, "%d", e);
}

static void print_eval_table(const EvalResult *r, FILE *f) {
    char a[16], b[16];
    fprintf(f, "%-14s %10s %10s\n", "positions", "tokens", "loss");
    for (int j = 0; j < r->n_buckets; j++) {
        edge_name(a, sizeof a, r->edges[j]);
        edge_name(b, sizeof b, r->edges[j + 1]);
        fprintf(f, "%6s-%-7s %10zu %10.4f\n", a, b, r->bucket_tokens[j], r->bucket_loss[j]);
    }
    fprintf(f, "%-14s %10zu %10.4f\n", "all", r->tokens, r->loss);
}

// print_task_table: task t's accuracy per length (rows) and depth (columns), and per
// length with the mean rank; then its effective length.
static void print_task_table(const EvalReport *r, int t, FILE *f) {
    const TaskResult *c = NULL;
    int n = 0, nd = 0;
    for (int i = 0; i < r->n_task; i++)
        if (r->task[i].task == t) {
            c = c ? c : &r->task[i];
            n++;
            nd += r->task[i].T == c->T;
        }
    if (!n) return;
    fprintf(f, "%s: accuracy over %d trials per cell, %d candidates (chance %.0f%%)\n%-8s", needle_task_name(t),
            c->trials, NEEDLE_CANDIDATES, 100.0 / NEEDLE_CANDIDATES, "length");
    for (int d = 0; d < nd; d++) fprintf(f, "  depth %-4g", c[d].depth);
    fprintf(f, " %8s %9s\n", "all", "mean rank");
    for (int i = 0; i < n; i += nd) {
        double acc = 0.0, rank = 0.0;
        fprintf(f, "%-8d", c[i].T);
        for (int d = 0; d < nd; d++) {
            fprintf(f, "  %9.0f%%", 100.0 * c[i + d].accuracy);
            acc += c[i + d].accuracy / nd;
            rank += c[i + d].mean_rank / nd;
        }
        fprintf(f, " %7.0f%% %9.2f\n", 100.0 * acc, rank);
    }
    if (r->eff[t]) fprintf(f, "effective length %d (accuracy >= %g x at the original context %d)\n", r->eff[t],
                           r->threshold, r->original);
    else fprintf(f, "effective length: none (accuracy at the original context %d is not above twice chance)\n",
                 r->original);
}

void print_eval_report(const EvalReport *r, FILE *f) {
    for (int i = 0; i < r->n; i++) {
        fprintf(f, "windows of %d tokens%s:\n", r->r[i].T,
                r->r[i].document_mask ? ", attention and positions within documents" : "");
        print_eval_table(&r->r[i], f);
    }
    for (int t = 0; t < NUM_NEEDLE_TASKS; t++) print_task_table(r, t, f);
    if (r->n_copy)
        fprintf(f, "copy by distance: loss on a span of %d tokens and on its copy d tokens later, %d trials each\n"
                "%-10s %10s %10s %10s\n", r->copy[0].span, r->copy[0].trials, "distance", "first", "copy", "gap");
    for (int i = 0; i < r->n_copy; i++)
        fprintf(f, "%-10d %10.4f %10.4f %10.4f\n", r->copy[i].dist, r->copy[i].first_loss, r->copy[i].copy_loss,
                r->copy[i].gap);
    if (r->n_copy && r->copy_eff) fprintf(f, "effective distance %d (gap >= %g x at %d)\n", r->copy_eff, r->threshold,
                                          r->original);
    else if (r->n_copy) fprintf(f, "effective distance: none (no gap at the original context %d)\n", r->original);
}

void log_eval_report(FILE *metrics, long long step, long long tokens, const EvalReport *rep) {
    for (int i = 0; i < rep->n; i++) {
        const EvalResult *r = &rep->r[i];
        const int T = r->T;
        printf("eval  step %lld | T %d | val_loss %.4f over %zu tokens |", step, T, r->loss, r->tokens);
        fprintf(metrics, "{\"type\": \"eval\", \"step\": %lld, \"tokens\": %lld, \"seq_len\": %d, \"val_loss\": %.6f, "
                "\"val_tokens\": %zu, \"document_mask\": %s, \"loss_by_position\": [", step, tokens, T, r->loss, r->tokens,
                r->document_mask ? "true" : "false");
        for (int j = 0; j < r->n_buckets; j++) {
            printf(" %d-%d %.3f", r->edges[j], r->edges[j + 1], r->bucket_loss[j]);
            fprintf(metrics, "%s{\"from\": %d, \"to\": %d, \"loss\": %.6f}", j ? ", " : "", r->edges[j],
                    r->edges[j + 1], r->bucket_loss[j]);
        }
        printf("\n");
        fprintf(metrics, "]}\n");
    }
    for (int i = 0; i < rep->n_task; i++) {
        const TaskResult *p = &rep->task[i];
        fprintf(metrics, "{\"type\": \"task\", \"step\": %lld, \"tokens\": %lld, \"task\": \"%s\", \"seq_len\": %d, "
                "\"depth\": %g, \"trials\": %d, \"accuracy\": %.6f, \"mean_rank\": %.4f}\n", step, tokens,
                needle_task_name(p->task), p->T, p->depth, p->trials, p->accuracy, p->mean_rank);
    }
    for (int t = 0; t < NUM_NEEDLE_TASKS; t++) {
        int lens[MAX_LIST];
        double acc[MAX_LIST];
        const int k = task_accuracy_by_len(rep->task, rep->n_task, t, lens, acc);
        if (!k) continue;
        printf("eval  step %lld | %s accuracy by length |", step, needle_task_name(t));
        for (int j = 0; j < k; j++) printf(" %d %.0f%%", lens[j], 100.0 * acc[j]);
        if (rep->eff[t]) printf(" | effective length %d\n", rep->eff[t]);
        else printf(" | effective length none\n");
        fprintf(metrics, "{\"type\": \"effective_length\", \"step\": %lld, \"tokens\": %lld, \"task\": \"%s\", "
                "\"original\": %d, \"threshold\": %g, \"length\": %d}\n", step, tokens, needle_task_name(t),
                rep->original, rep->threshold, rep->eff[t]);
    }
    if (rep->n_copy) printf("eval  step %lld | copy: loss gap (first - copy) by distance |", step);
    for (int i = 0; i < rep->n_copy; i++) {
        const CopyResult *c = &rep->copy[i];
        printf(" %d %.3f", c->dist, c->gap);
        fprintf(metrics, "{\"type\": \"copy\", \"step\": %lld, \"tokens\": %lld, \"distance\": %d, \"span\": %d, "
                "\"trials\": %d, \"first_loss\": %.6f, \"copy_loss\": %.6f, \"gap\": %.6f}\n", step, tokens, c->dist,
                c->span, c->trials, c->first_loss, c->copy_loss, c->gap);
    }
    if (rep->n_copy) {
        if (rep->copy_eff) printf(" | effective distance %d\n", rep->copy_eff);
        else printf(" | effective distance none\n");
        fprintf(metrics, "{\"type\": \"effective_length\", \"step\": %lld, \"tokens\": %lld, \"task\": \"copy\", "
                "\"original\": %d, \"threshold\": %g, \"length\": %d}\n", step, tokens, rep->original,
                rep->threshold, rep->copy_eff);
    }
    fflush(metrics);
}

void evals_plan(const Config *c, const Plan *p, const Shard *val, int vocab, Evals *e) {
    const int fwd = (int)p->max_tokens;
    e->n = c->n_eval_lens ? (int)c->n_eval_lens : 1;
    for (int i = 0; i < e->n; i++) {
        double L = c->n_eval_lens ? c->eval_lens[i] : p->max_T;
        if (L != (double)(int)L) die("%s: eval.seq_lens holds %g, not a whole length", config_where(c, "eval.seq_lens"), L);
        e->T[i] = (int)L;
        e->B[i] = fwd / e->T[i] > 1 ? fwd / e->T[i] : 1;
        if (window_count(val, e->T[i]) == 0 || c->eval_max_tokens < e->T[i])
            die("%s: %zu tokens and eval.max_tokens %lld hold no evaluation window of %d + 1 tokens (%s; use a longer "
                "data.val, shorter eval.seq_lens, or data.val: \"\" to train without evals)", val->path, val->n,
                c->eval_max_tokens, e->T[i], config_where(c, c->n_eval_lens ? "eval.seq_lens" : "train.seq_len"));
    }
    e->document_mask = config_eval_document_mask(c);
    if (e->document_mask)
        require_documents(c, val, config_is_set(c, "eval.document_mask") ? "eval.document_mask" : "data.document_mask");
    needles_plan(c, val, vocab, &e->needles);
    copy_plan(c, val, &e->copy);
    e->threshold = c->task_threshold;
}

size_t evals_reserve(Model *m, const Evals *e) {
    size_t most = 0;
    for (int i = 0; i < e->n; i++) {
        model_reserve(m, e->B[i], e->T[i], ACTS_FORWARD);
        most = (size_t)e->B[i] * e->T[i] > most ? (size_t)e->B[i] * e->T[i] : most;
    }
    needles_reserve(m, &e->needles);
    copy_reserve(m, &e->copy);
    return most;
}

// effective_lengths: each task's effective length and the copy task's effective distance.
static void effective_lengths(EvalReport *out) {
    for (int t = 0; t < NUM_NEEDLE_TASKS; t++) {
        int lens[MAX_LIST];
        double acc[MAX_LIST];
        const int k = task_accuracy_by_len(out->task, out->n_task, t, lens, acc);
        out->eff[t] = effective_len(lens, acc, k, out->original, out->threshold, 2.0 / NEEDLE_CANDIDATES);
    }
    int dist[MAX_LIST];
    double gap[MAX_LIST];
    for (int i = 0; i < out->n_copy; i++) dist[i] = out->copy[i].dist, gap[i] = out->copy[i].gap;
    out->copy_eff = effective_len(dist, gap, out->n_copy, out->original, out->threshold, 0.0);
}

void evals_run(Model *m, const Evals *e, const Shard *val, const Batch *b, long long max_tokens, int loss, int tasks,
               EvalReport *out) {
    out->n = loss ? e->n : 0;
    for (int i = 0; i < out->n; i++) out->r[i] = evaluate(m, val, b, e->B[i], e->T[i], max_tokens, e->document_mask);
    const Needles *nd = &e->needles;
    out->n_task = tasks ? nd->n_tasks * nd->n_lens * nd->n_depths : 0;
    if (out->n_task) needles_run(m, nd, out->task);
    out->n_copy = tasks ? e->copy.n_dist : 0;
    if (out->n_copy) copy_run(m, &e->copy, out->copy);
    out->original = m->pos.original_max > 0 ? m->pos.original_max : m->cfg.max_seq_len;
    out->threshold = e->threshold;
    effective_lengths(out);
}

void evals_free(Evals *e) {
    needles_free(&e->needles);
    copy_free(&e->copy);
}

void write_eval_json(const EvalReport *rep, const char *path) {
    FILE *f = xfopen(path, "w");
    fprintf(f, "{\"evals\": [");
    for (int i = 0; i < rep->n; i++) {
        const EvalResult *r = &rep->r[i];
        fprintf(f, "%s{\"seq_len\": %d, \"loss\": %.6f, \"tokens\": %zu, \"document_mask\": %s, \"loss_by_position\": [",
                i ? ", " : "", r->T, r->loss, r->tokens, r->document_mask ? "true" : "false");
        for (int j = 0; j < r->n_buckets; j++)
            fprintf(f, "%s{\"from\": %d, \"to\": %d, \"tokens\": %zu, \"loss\": %.6f}", j ? ", " : "", r->edges[j],
                    r->edges[j + 1], r->bucket_tokens[j], r->bucket_loss[j]);
        fprintf(f, "]}");
    }
    fprintf(f, "], \"tasks\": [");
    for (int i = 0; i < rep->n_task; i++) {
        const TaskResult *p = &rep->task[i];
        fprintf(f, "%s{\"task\": \"%s\", \"seq_len\": %d, \"depth\": %g, \"trials\": %d, \"accuracy\": %.6f, "
                "\"mean_rank\": %.4f}", i ? ", " : "", needle_task_name(p->task), p->T, p->depth, p->trials, p->accuracy,
                p->mean_rank);
    }
    fprintf(f, "], \"copy\": [");
    for (int i = 0; i < rep->n_copy; i++) {
        const CopyResult *c = &rep->copy[i];
        fprintf(f, "%s{\"distance\": %d, \"span\": %d, \"trials\": %d, \"first_loss\": %.6f, \"copy_loss\": %.6f, "
                "\"gap\": %.6f}", i ? ", " : "", c->dist, c->span, c->trials, c->first_loss, c->copy_loss, c->gap);
    }
    fprintf(f, "], \"effective_length\": {\"original\": %d, \"threshold\": %g", rep->original, rep->threshold);
    for (int t = 0; t < NUM_NEEDLE_TASKS; t++) {
        int lens[MAX_LIST];
        double acc[MAX_LIST];
        if (!task_accuracy_by_len(rep->task, rep->n_task, t, lens, acc)) continue;
        if (rep->eff[t]) fprintf(f, ", \"%s\": %d", needle_task_name(t), rep->eff[t]);
        else fprintf(f, ", \"%s\": null", needle_task_name(t));
    }
    if (rep->n_copy && rep->copy_eff) fprintf(f, ", \"copy\": %d", rep->copy_eff);
    else if (rep->n_copy) fprintf(f, ", \"copy\": null");
    fprintf(f, "}}\n");
    if (fclose(f) != 0) die("%s: write failed", path);
}

int eval_main(const Config *c) {
    if (!*c->init_from) die("model.init_from is not set (the base model to evaluate)");
    if (!*c->val_path) die("data.val is not set (needed by `train eval`)");
    setup_threads(c->threads);
    Plan plan;
    Evals ev;
    EvalReport *rep = xcalloc(1, sizeof *rep);
    Model m;
    Shard val;
    curriculum_plan(c, 1, 1, &plan);
    load_model_for(&m, c);
    load_data(&val, c, "data.val", m.cfg.vocab);
    evals_plan(c, &plan, &val, m.cfg.vocab, &ev);
    size_t buf = evals_reserve(&m, &ev);
    model_prepare(&m);
    Batch b;
    batch_alloc(&b, buf);
    double t0 = now_seconds();
    evals_run(&m, &ev, &val, &b, c->eval_max_tokens, 1, 1, rep);
    double dt = now_seconds() - t0;
    if (dist_rank() == 0) {                      // rank 0 writes and prints
        make_dirs(c->out_dir);
        char *path = path_join(c->out_dir, "eval.json");
        write_eval_json(rep, path);
        printf("eval of %s on %s (%.1fs)\n", c->init_from, c->val_path, dt);
        print_eval_report(rep, stdout);
        printf("wrote %s\n", path);
        free(path);
    }
    batch_free(&b);
    free(rep);
    evals_free(&ev);
    shard_free(&val);
    model_free(&m);
    return 0;
}
