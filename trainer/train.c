// train.c — the training loop: curriculum stages, gradient accumulation to batch_tokens,
// AdamW with warmup + decay over the whole run, global-norm clipping, evals at every
// eval.seq_lens length, progress lines and metrics.jsonl (run.h).
#include "run.h"
#include "curriculum.h"
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

void load_data(Shard *s, const Config *c, const char *key, int vocab) {
    char where[CFG_STR + 64];
    snprintf(where, sizeof where, "%s: %s", config_where(c, key), key);
    shard_load_glob(s, !strcmp(key, "data.train") ? c->train_path : c->val_path, vocab, where);
}

static void fmt_time(char *buf, size_t n, double s) {
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

// stop_nonfinite: a NaN/inf loss or gradient ends the run (exit 1) with a hint.
static void stop_nonfinite(long long step, const char *what, double v) {
    fflush(stdout);
    fprintf(stderr, "stretch: step %lld: %s is %s; stopping the run (hint: lower train.optimizer.lr or "
            "set train.grad_clip)\n", step, what, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
    exit(1);
}

// save_stage_model: the model at the end of stage s (0-based) into <out>/stage_<s+1>/,
// with that stage's position scheme: each stage's result stays loadable.
static void save_stage_model(const Model *m, double base_theta, const char *out_dir, int s) {
    char name[32];
    snprintf(name, sizeof name, "stage_%d", s + 1);
    char *dir = path_join(out_dir, name);
    make_dirs(dir);
    save_run_model(m, base_theta, dir);
    free(dir);
}

// stage_position: the position scheme of stage s (its rope overrides over the run's).
static void stage_position(const Config *c, int s, const Model *m, Position *pos) {
    Config *sc = xmalloc(sizeof *sc);
    stage_config(c, s, sc);
    config_position(sc, m->cfg.dim / m->cfg.n_heads, m->cfg.rope_theta, m->cfg.max_seq_len, pos);
    free(sc);
}

// eta_seconds: the rest of this stage at its measured pace, and later stages at that
// pace scaled by their FLOPs per token (model_flops_per_token): an estimate.
static double eta_seconds(const Plan *p, const ModelConfig *mc, long long step, double stage_elapsed) {
    const int s = plan_stage(p, step);
    const double per_step = stage_elapsed / (double)(step + 1 - p->s[s].first_step);
    double eta = per_step * (double)(p->s[s].first_step + p->s[s].steps - step - 1);
    for (int j = s + 1; j < p->n; j++)
        eta += per_step * (double)p->s[j].steps * model_flops_per_token(mc, p->s[j].T) / model_flops_per_token(mc, p->s[s].T);
    return eta;
}

// print_plan: one line per stage; pos[s] is stage s's position scheme.
static void print_plan(const Config *c, const Plan *p, const Position *pos, double base_theta) {
    for (int s = 0; s < p->n; s++) {
        const StagePlan *st = &p->s[s];
        char json[8192];
        position_json(&pos[s], base_theta, json, sizeof json);
        char steps[96];
        if (st->steps) snprintf(steps, sizeof steps, "steps %lld-%lld (%lld tokens)", st->first_step + 1,
                                st->first_step + st->steps, st->steps * c->batch_tokens);
        else snprintf(steps, sizeof steps, "no steps (train.max_steps ends the run before it)");
        printf("stage %d/%d: seq_len %d, %s, %d x %d sequences per step, lr x %g, position %s\n", s + 1, p->n, st->T,
               steps, st->micro, st->accum, st->lr_scale, json);
    }
}

int train_main(const Config *c) {
    if (!*c->init_from) die("model.init_from is not set (the base model to fine-tune)");
    if (!*c->train_path) die("data.train is not set (a token shard to train on)");
    if (c->min_lr > c->lr) die("%s: train.schedule.min_lr %g exceeds train.optimizer.lr %g", config_where(c, "train.schedule.min_lr"), c->min_lr, c->lr);
    if (c->n_passkey_lens && !*c->val_path)
        die("%s: eval.passkey needs data.val (its text is the filler)", config_where(c, "eval.passkey.lengths"));
    int threads = setup_threads(c->threads);
    Plan plan;
    curriculum_plan(c, &plan);
    Model m;
    Shard train, val;
    Evals ev = {0};
    EvalReport *report = xcalloc(1, sizeof *report);
    load_model_for(&m, c);
    double base_theta = m.cfg.rope_theta;
    Position *stage_pos = xmalloc((size_t)plan.n * sizeof *stage_pos);
    for (int s = 0; s < plan.n; s++) stage_position(c, s, &m, &stage_pos[s]);   // all valid before any step
    load_data(&train, c, "data.train", m.cfg.vocab);
    if (*c->val_path) {
        load_data(&val, c, "data.val", m.cfg.vocab);
        evals_plan(c, &plan, &val, m.cfg.vocab, &ev);
    }
    m.recompute = c->recompute;
    for (int s = 0; s < plan.n; s++) model_reserve(&m, plan.s[s].micro, plan.s[s].T, m.recompute);
    size_t eval_buf = evals_reserve(&m, &ev), buf = eval_buf > plan.max_tokens ? eval_buf : plan.max_tokens;
    model_prepare(&m, plan.s[0].micro, plan.s[0].T);
    make_dirs(c->out_dir);
    char *cfg_path = path_join(c->out_dir, "config.yaml"), *met_path = path_join(c->out_dir, "metrics.jsonl");
    config_write(c, cfg_path);
    FILE *metrics = xfopen(met_path, "w");
    printf("run %s: %zu params, %lld steps of %lld tokens, %d threads\n", c->run_name, m.num_params, plan.total_steps,
           c->batch_tokens, threads);
    print_plan(c, &plan, stage_pos, base_theta);
    if (m.cfg.max_seq_len && plan.max_T > m.cfg.max_seq_len)
        printf("note: seq_len %d exceeds the checkpoint's pretraining context %d\n", plan.max_T, m.cfg.max_seq_len);
    AdamW opt;
    Loader loader;
    adamw_init(&opt, m.num_params);
    const LoaderOptions lo = {(size_t)c->min_doc_tokens, (size_t)c->upsample_min_tokens, (int)c->upsample_factor};
    loader_init(&loader, &train, &lo, (uint64_t)c->seed, plan.max_T);
    printf("data: %zu tokens in %zu file%s; an epoch packs %zu documents, %zu tokens (%.2f epochs in this run)\n",
           train.n, train.n_files, train.n_files == 1 ? "" : "s", loader.n_docs, loader.epoch_tokens,
           (double)plan.total_steps * (double)c->batch_tokens / (double)loader.epoch_tokens);
    int *in = xmalloc(buf * sizeof(int)), *tg = xmalloc(buf * sizeof(int));
    double t_start = now_seconds(), t_stage = t_start;
    long long tokens = 0;
    int cur = -1;
    for (long long step = 0; step < plan.total_steps; step++) {
        const int s = plan_stage(&plan, step), T = plan.s[s].T, micro = plan.s[s].micro, accum = plan.s[s].accum;
        if (s != cur) {                                  // a new stage: its RoPE tables; buffers stay
            model_set_rope(&m, &stage_pos[s]);
            cur = s;
            t_stage = now_seconds();
        }
        const int eval_loss = c->eval_every > 0 && step % c->eval_every == 0;
        const int eval_pk = c->passkey_every > 0 && step % c->passkey_every == 0;
        if (*c->val_path && (eval_loss || eval_pk)) {
            evals_run(&m, &ev, &val, in, tg, c->eval_max_tokens, eval_loss, eval_pk, report);
            log_eval_report(metrics, step, tokens, report);
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
        double lr = lr_at(c, step, plan.total_steps) * plan.s[s].lr_scale;
        adamw_step(&opt, &m, (float)lr, (float)c->beta1, (float)c->beta2, (float)c->eps, (float)c->weight_decay);
        tokens += c->batch_tokens;
        double now = now_seconds(), tps = (double)c->batch_tokens / (now - t0);
        fprintf(metrics, "{\"type\": \"train\", \"step\": %lld, \"stage\": %d, \"seq_len\": %d, \"tokens\": %lld, "
                "\"loss\": %.6f, \"lr\": %.6e, \"grad_norm\": %.6f, \"tokens_per_s\": %.1f, \"elapsed_s\": %.3f}\n",
                step + 1, s + 1, T, tokens, loss, lr, norm, tps, now - t_start);
        fflush(metrics);
        if ((step + 1) % c->log_every == 0 || step + 1 == plan.total_steps) {
            char el[32], eta[32];
            fmt_time(el, sizeof el, now - t_start);
            fmt_time(eta, sizeof eta, eta_seconds(&plan, &m.cfg, step, now - t_stage));
            printf("step %5lld/%lld | stage %d/%d T %d | loss %.4f | lr %.2e | gnorm %.4f | %7.0f tok/s | %s elapsed | ETA %s\n",
                   step + 1, plan.total_steps, s + 1, plan.n, T, loss, lr, norm, tps, el, eta);
            fflush(stdout);
        }
        if (step + 1 == plan.s[s].first_step + plan.s[s].steps && step + 1 < plan.total_steps)
            save_stage_model(&m, base_theta, c->out_dir, s);
    }
    if (*c->val_path) {
        char *eval_path = path_join(c->out_dir, "eval.json");
        evals_run(&m, &ev, &val, in, tg, c->eval_max_tokens, 1, 1, report);
        log_eval_report(metrics, plan.total_steps, tokens, report);
        write_eval_json(report, eval_path);
        print_eval_report(report, stdout);
        free(eval_path);
    }
    save_run_model(&m, base_theta, c->out_dir);
    printf("wrote %s, %s\n", cfg_path, met_path);
    fclose(metrics);
    free(in);
    free(tg);
    free(cfg_path);
    free(met_path);
    free(stage_pos);
    adamw_free(&opt);
    loader_free(&loader);
    shard_free(&train);
    if (*c->val_path) shard_free(&val);
    evals_free(&ev);
    free(report);
    model_free(&m);
    return 0;
}
