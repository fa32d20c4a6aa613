// train.c — the training loop: gradient accumulation to batch_tokens, AdamW with
// warmup + decay, global-norm clipping, progress lines and metrics.jsonl (run.h).
#include "run.h"
#include "optim.h"
#include "../model/formats.h"
#include "../util/util.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

int setup_threads(long long threads) {
    int n = threads > 0 ? (int)threads : omp_get_num_procs();
    omp_set_num_threads(n);
    openblas_set_num_threads(n);     // BLAS is only ever called outside OpenMP regions
    return n;
}

void micro_batch_of(const Config *c, int *micro, int *accum) {
    long long T = c->seq_len, mb = c->micro_batch ? c->micro_batch : c->batch_tokens / T;
    if (c->batch_tokens % T || mb < 1 || c->batch_tokens % (mb * T))
        die("%s: train.batch_tokens %lld must be a multiple of train.seq_len %lld x train.micro_batch %lld "
            "(%s, %s)", config_where(c, "train.batch_tokens"), c->batch_tokens, T, mb,
            config_where(c, "train.seq_len"), config_where(c, "train.micro_batch"));
    *micro = (int)mb;
    *accum = (int)(c->batch_tokens / (mb * T));
}

static void fmt_time(char *buf, size_t n, double s) {
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

static void log_eval(FILE *metrics, long long step, long long tokens, const EvalResult *r) {
    printf("eval  step %lld | val_loss %.4f over %zu tokens\n", step, r->loss, r->tokens);
    fprintf(metrics, "{\"type\": \"eval\", \"step\": %lld, \"tokens\": %lld, \"val_loss\": %.6f, \"val_tokens\": %zu}\n",
            step, tokens, r->loss, r->tokens);
    fflush(metrics);
}

// stop_nonfinite: a NaN/inf loss or gradient ends the run (exit 1) with a hint.
static void stop_nonfinite(long long step, const char *what, double v) {
    fflush(stdout);
    fprintf(stderr, "stretch: step %lld: %s is %s; stopping the run (hint: lower train.optimizer.lr or "
            "set train.grad_clip)\n", step, what, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
    exit(1);
}

int train_main(const Config *c) {
    int micro, accum, T = (int)c->seq_len;
    if (!*c->init_from) die("model.init_from is not set (the base model to fine-tune)");
    if (!*c->train_path) die("data.train is not set (a token shard to train on)");
    if (c->min_lr > c->lr) die("%s: train.schedule.min_lr %g exceeds train.optimizer.lr %g", config_where(c, "train.schedule.min_lr"), c->min_lr, c->lr);
    int threads = setup_threads(c->threads);
    micro_batch_of(c, &micro, &accum);
    Model m;
    Shard train, val;
    load_model_for(&m, c);
    double base_theta = m.cfg.rope_theta;
    shard_load(&train, c->train_path, m.cfg.vocab);
    if (*c->val_path) {
        shard_load(&val, c->val_path, m.cfg.vocab);
        if (window_count(&val, T) == 0 || c->eval_max_tokens < T)     // fail before training, not after
            die("%s: %zu tokens and eval.max_tokens %lld hold no evaluation window of seq_len %d + 1 "
                "(use a longer data.val, or data.val: \"\" to train without evals)", c->val_path, val.n, c->eval_max_tokens, T);
    }
    m.recompute = c->recompute;
    model_prepare(&m, micro, T);
    make_dirs(c->out_dir);
    char *cfg_path = path_join(c->out_dir, "config.yaml"), *met_path = path_join(c->out_dir, "metrics.jsonl");
    config_write(c, cfg_path);
    FILE *metrics = xfopen(met_path, "w");
    printf("run %s: %zu params, T %d, %d x %d sequences per step (%lld tokens), %d threads\n", c->run_name,
           m.num_params, T, micro, accum, c->batch_tokens, threads);
    if (m.cfg.max_seq_len && T > m.cfg.max_seq_len)
        printf("note: seq_len %d exceeds the checkpoint's pretraining context %d\n", T, m.cfg.max_seq_len);
    AdamW opt;
    Loader loader;
    adamw_init(&opt, m.num_params);
    loader_init(&loader, &train, (uint64_t)c->seed, T);
    int *in = xmalloc((size_t)micro * T * sizeof(int)), *tg = xmalloc((size_t)micro * T * sizeof(int));
    double t_start = now_seconds();
    long long tokens = 0;
    for (long long step = 0; step < c->max_steps; step++) {
        if (*c->val_path && c->eval_every > 0 && step % c->eval_every == 0) {
            EvalResult r = evaluate(&m, &val, in, tg, micro, T, c->eval_max_tokens);
            log_eval(metrics, step, tokens, &r);
        }
        double t0 = now_seconds(), loss = 0.0;
        model_zero_grad(&m);
        for (int a = 0; a < accum; a++) {
            loader_next(&loader, in, tg, micro, T);
            loss += model_forward_backward(&m, in, tg, micro, T, 1.0f / (float)accum) / accum;
        }
        if (!isfinite(loss)) stop_nonfinite(step + 1, "the loss", loss);
        double norm = grad_norm(&m);
        if (!isfinite(norm)) stop_nonfinite(step + 1, "the gradient norm", norm);
        if (c->grad_clip > 0 && norm > c->grad_clip) grad_scale(&m, (float)(c->grad_clip / norm));
        double lr = lr_at(c, step);
        adamw_step(&opt, &m, (float)lr, (float)c->beta1, (float)c->beta2, (float)c->eps, (float)c->weight_decay);
        tokens += c->batch_tokens;
        double now = now_seconds(), tps = (double)c->batch_tokens / (now - t0);
        fprintf(metrics, "{\"type\": \"train\", \"step\": %lld, \"tokens\": %lld, \"loss\": %.6f, \"lr\": %.6e, "
                "\"grad_norm\": %.6f, \"tokens_per_s\": %.1f, \"elapsed_s\": %.3f}\n",
                step + 1, tokens, loss, lr, norm, tps, now - t_start);
        fflush(metrics);
        if ((step + 1) % c->log_every == 0 || step + 1 == c->max_steps) {
            char el[32], eta[32];
            fmt_time(el, sizeof el, now - t_start);
            fmt_time(eta, sizeof eta, (now - t_start) / (double)(step + 1) * (double)(c->max_steps - step - 1));
            printf("step %5lld/%lld | loss %.4f | lr %.2e | gnorm %.4f | %7.0f tok/s | %s elapsed | ETA %s\n",
                   step + 1, c->max_steps, loss, lr, norm, tps, el, eta);
            fflush(stdout);
        }
    }
    if (*c->val_path) {
        EvalResult r = evaluate(&m, &val, in, tg, micro, T, c->eval_max_tokens);
        log_eval(metrics, c->max_steps, tokens, &r);
    }
    save_run_model(&m, base_theta, c->out_dir);
    printf("wrote %s, %s\n", cfg_path, met_path);
    fclose(metrics);
    free(in);
    free(tg);
    free(cfg_path);
    free(met_path);
    adamw_free(&opt);
    shard_free(&train);
    if (*c->val_path) shard_free(&val);
    model_free(&m);
    return 0;
}
