// train.c — the training loop: curriculum stages, gradient accumulation to batch_tokens,
// AdamW with warmup + decay over the whole run, global-norm clipping, evals at every
// eval.seq_lens length, progress lines and metrics.jsonl, checkpoints (every
// checkpoint.every steps, at each stage end, at the end, and on SIGINT/SIGTERM: the
// current step finishes, a checkpoint is saved, exit 0; a second signal exits at once).
// On N ranks (mpirun) each data-parallel group of train.context_parallel ranks reads its
// share of every step's sequences (each rank of a group its zigzag part of each: ring
// attention, model/ring.c), the gradients are reduce-scattered in a fixed order, each
// rank updates its part of the parameters with its part of the AdamW moments (ZeRO-1)
// and the parts are all-gathered; a signal on any rank stops every rank after the same
// step.
#include "train.h"
#include "setup.h"
#include "../dist/dist.h"
#include "../model/blas.h"
#include "../model/formats.h"
#include "../util/util.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_signal = 0;

static void on_signal(int sig) {
    if (stop_signal) _Exit(128 + sig);
    stop_signal = sig;
}

// stop_step: the run ends (exit 1) at step `step` before anything of it is saved, with
// "stretch: step N: <msg>"; every rank comes here (the values judged are reduced over the
// ranks first, or are the same on every rank), and rank 0 says why.
_Noreturn static void stop_step(long long step, const char *msg) {
    if (dist_rank() > 0) {
        defer_to_rank0();
        exit(1);
    }
    progress_clear();
    fflush(stdout);
    fprintf(stderr, "stretch: step %lld: %s\n", step, msg);
    exit(1);
}

// stop_nonfinite: a NaN/inf loss, gradient or weight ends the run with a hint.
static void stop_nonfinite(long long step, const char *what, double v) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s is %s; stopping the run, nothing of this step saved (hint: lower "
             "train.optimizer.lr or set train.grad_clip; --resume continues from the last checkpoint)", what,
             isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
    stop_step(step, msg);
}

// check_finite: stop_nonfinite naming the first tensor of memory[lo, hi) (laid out as the
// parameters) that holds a NaN or inf, if any; grads: memory holds gradients, else weights
// after the update.
static void check_finite(const Run *r, long long step, const float *memory, size_t lo, size_t hi, int grads) {
    char name[160], msg[256];
    float v;
    if (!model_first_nonfinite(&r->m, memory, lo, hi, name, sizeof name, &v)) return;
    snprintf(msg, sizeof msg, grads ? "the gradient of tensor '%s'" : "after the update, tensor '%s'", name);
    stop_nonfinite(step, msg, v);
}

// tensor_kind: a parameter's name for all its layers ("model.layers.*.mlp.up_proj.weight").
static void tensor_kind(const Model *m, int k, char *name, size_t cap) {
    TensorSpec specs[NUM_PARAMS];
    param_specs(&m->cfg, specs);
    const char *f = specs[k].name, *d = strstr(f, "%d");
    if (d) snprintf(name, cap, "%.*s*%s", (int)(d - f), f, d + 2);
    else snprintf(name, cap, "%s", f);
}

// check_update: the update just taken moved the weights by ratio = |dw| / |w| (L2 over every
// parameter, summed over the ranks); above train.max_update the run stops before anything
// of the step is saved, naming the tensor that moved most relative to its norm. An
// extreme learning rate gives finite but meaningless weights, which the NaN checks miss.
// Returns the ratio (metrics.jsonl's update_ratio).
static double check_update(Run *r, long long step, double lr) {
    double s[NUM_PARAMS][2], dsq = 0.0, wsq = 0.0, worst = -1.0;
    memcpy(s, r->opt.sums, sizeof s);
    dist_sum_f64(&s[0][0], 2 * NUM_PARAMS);
    int k = 0;
    for (int i = 0; i < NUM_PARAMS; i++) {
        dsq += s[i][0];
        wsq += s[i][1];
        const double ri = s[i][1] > 0.0 ? sqrt(s[i][0] / s[i][1]) : s[i][0] > 0.0 ? INFINITY : 0.0;   // from 0
        if (ri > worst) worst = ri, k = i;
    }
    const double ratio = wsq > 0.0 ? sqrt(dsq / wsq) : 0.0;
    if (r->c->max_update <= 0.0 || ratio <= r->c->max_update) return ratio;
    char name[160], most[64], msg[512];
    tensor_kind(&r->m, k, name, sizeof name);
    if (isinf(worst)) snprintf(most, sizeof most, "away from all zeros");
    else snprintf(most, sizeof most, "%.3g times its norm", worst);
    snprintf(msg, sizeof msg, "the update at lr %.3g moved the weights by %.3g times their norm, above "
             "train.max_update %g (most: '%s', %s); the run diverges: stopping, nothing of this step saved (hint: "
             "lower train.optimizer.lr; --resume continues from the last checkpoint)", lr, ratio, r->c->max_update,
             name, most);
    stop_step(step, msg);
}

// flush_metrics: metrics.jsonl's rows to the file; a failed write (a full disk) dies
// naming it rather than losing rows silently.
static void flush_metrics(const Run *r) {
    if (fflush(r->metrics) != 0 || ferror(r->metrics))
        die("%s/metrics.jsonl: write failed: %s (disk full?)", r->c->out_dir, strerror(errno));
}

// acts_mode: the activations a training step keeps, from train.recompute.
static ActsMode acts_mode(const Config *c) {
    return !strcmp(c->recompute, "full") ? ACTS_INPUTS : !strcmp(c->recompute, "true") ? ACTS_RECOMPUTE : ACTS_ALL;
}

static void check_config(const Config *c) {
    if (!*c->init_from) die("model.init_from is not set (the base model to fine-tune)");
    if (!c->train.n) die("data.train is not set (a token shard to train on)");
    if (c->min_lr > c->lr) die("%s: train.schedule.min_lr %g exceeds train.optimizer.lr %g", config_where(c, "train.schedule.min_lr"), c->min_lr, c->lr);
    if (c->eval_tasks && !*c->val_path)
        die("%s: eval.tasks needs data.val (its text is the filler)", config_where(c, "eval.tasks.names"));
    if (c->n_copy_dists && !*c->val_path)
        die("%s: eval.tasks.copy needs data.val (its text is copied)", config_where(c, "eval.tasks.copy.distances"));
}

// save_stage_model: the model at the end of stage s (0-based) into <out>/stage_<s+1>/,
// with that stage's position scheme: each stage's result stays loadable.
static void save_stage_model(const Run *r, int s) {
    if (!r->lead) return;
    char name[32], tj[256];
    progress_clear();
    snprintf(name, sizeof name, "stage_%d", s + 1);
    char *dir = path_join(r->c->out_dir, name);
    make_dirs(dir);
    train_state_json(&r->ts, tj, sizeof tj);
    save_run_model(&r->m, tj, dir);
    free(dir);
}

// save_checkpoint: r->ts completed with the loader cursor, time and metrics length; on
// N ranks rank 0 gathers every rank's moments and writes the one checkpoint, which is
// whole when any rank returns.
static void save_checkpoint(Run *r, const char *reason) {
    const AdamW *opt = &r->opt;
    if (r->plan.ranks > 1) {
        dist_gather_f32(r->whole.m, r->opt.m, r->part);
        dist_gather_f32(r->whole.v, r->opt.v, r->part);
        r->whole.t = r->opt.t;
        opt = &r->whole;
    }
    if (r->lead) {
        progress_clear();
        flush_metrics(r);
        r->ts.cursor = loader_cursor(&r->loader);
        r->ts.opt_t = r->opt.t;
        r->ts.elapsed = now_seconds() - r->t_start;
        r->ts.metrics_bytes = ftell(r->metrics);
        r->ts.threads = r->threads;
        r->ts.ranks = r->plan.ranks;
        snprintf(r->ts.reason, sizeof r->ts.reason, "%s", reason);
        free(checkpoint_save(r->c->out_dir, &r->m, opt, &r->ts, r->c));
    }
    dist_barrier();
}

// run_position: the scheme the stages override: the config's `position:` keys, or when
// it sets none, the scheme model.init_from carries — also when the weights come from a
// checkpoint being resumed, whose scheme is that of the stage it was saved in.
static void run_position(const Config *c, const Model *m, int resumed, Position *base) {
    *base = m->pos;
    if (resumed && !position_is_set(&c->pos)) {
        source_position(c->init_from, base);
        model_resolve_position(&m->cfg, base);
    }
}

// stage_position: the position scheme of stage s: its overrides over `base`, resolved.
static void stage_position(const Config *c, int s, const Model *m, const Position *base, Position *pos) {
    curriculum_position(c, s, base, pos);
    model_resolve_position(&m->cfg, pos);
}

// eta_seconds: the rest of this stage at its measured pace, and later stages at that
// pace scaled by their FLOPs per token (model_flops_per_token): an estimate.
static double eta_seconds(const Plan *p, const ModelConfig *mc, long long step, long long stage_steps, double stage_elapsed) {
    const int s = plan_stage(p, step);
    const double per_step = stage_elapsed / (double)stage_steps;
    double eta = per_step * (double)(p->s[s].first_step + p->s[s].steps - step - 1);
    for (int j = s + 1; j < p->n; j++)
        eta += per_step * (double)p->s[j].steps * model_flops_per_token(mc, p->s[j].T) / model_flops_per_token(mc, p->s[s].T);
    return eta;
}

// print_plan: one line per stage; pos[s] is stage s's position scheme.
static void print_plan(const Config *c, const Plan *p, const Position *pos, double base_theta) {
    for (int s = 0; s < p->n; s++) {
        const StagePlan *st = &p->s[s];
        char *json = position_json(&pos[s], POS_JSON_SCHEME, base_theta);
        char steps[96];
        if (st->steps) snprintf(steps, sizeof steps, "steps %lld-%lld (%lld tokens)", st->first_step + 1,
                                st->first_step + st->steps, st->steps * c->batch_tokens);
        else snprintf(steps, sizeof steps, "no steps (train.max_steps ends the run before it)");
        char pose[96] = "";
        if (st->pose.target_len)
            snprintf(pose, sizeof pose, ", PoSE: positions 0-%d in %d chunks", st->pose.target_len - 1, st->pose.chunks);
        char groups[48] = "";
        if (p->groups > 1) snprintf(groups, sizeof groups, " on each of %d groups", p->groups);
        printf("stage %d/%d: seq_len %d, %s, %d x %d sequences per step%s, lr x %g%s, position %s\n", s + 1, p->n,
               st->T, steps, st->micro, st->accum, groups, st->lr_scale, pose, json);
        free(json);
    }
}

// check_pose: every PoSE stage's target_len within what its position scheme reaches
// (position_reach), before any step. And on several data-parallel groups, a scheme whose
// tables follow a forward's largest position id (dynamic NTK, LongRoPE) needs forwards
// of the one-process plan's sequences: a group's forward holding fewer of them would
// pick other tables than one process does.
static void check_pose(const Run *r) {
    for (int s = 0; s < r->plan.n; s++) {
        const StagePlan *sp = &r->plan.s[s];
        const Position *p = &r->stage_pos[s];
        if (rope_tables_depend_on_T(p) && sp->micro < sp->seed_micro)
            die("%s: position.rope.scaling %s picks its tables from a forward's largest position id, and on %d "
                "data-parallel groups a forward of stage %d holds %d of the %d sequences one process would run "
                "together, so training would differ with the rank count: set train.micro_batch to at most %d",
                config_where(r->c, "train.micro_batch"), SCALING_NAMES[p->scaling], r->plan.groups, s + 1, sp->micro,
                sp->seed_micro, sp->micro);
        const long long reach = position_reach(p);
        if (sp->pose.target_len && reach && reach < sp->pose.target_len)
            die("%s: PoSE target_len %d of stage %d is beyond what its position scheme reaches: %s, factor %g x "
                "original context %d = %lld positions (%s); raise the factor to at least %g or lower target_len",
                sp->pose_where, sp->pose.target_len, s + 1, SCALING_NAMES[p->scaling], p->factor, p->original_max,
                reach, *p->where[PK_FACTOR] ? p->where[PK_FACTOR] : "position.rope.factor",
                ceil((double)sp->pose.target_len / p->original_max));
    }
}

// shard_optimizer: the parameter parts of the ranks, this rank's AdamW moments, and on
// N > 1 ranks the scratch of the reduce-scatter. Rank 0 of N > 1 holds every rank's
// moments (r->whole, gathered for a checkpoint), its own part being the first slice of
// them: no more moment memory than one process.
static void shard_optimizer(Run *r) {
    const int N = r->plan.ranks, rank = dist_rank();
    r->part = xmalloc((size_t)(N + 1) * sizeof *r->part);
    dist_split(r->m.num_params, N, r->part);
    const size_t lo = r->part[rank], n = r->part[rank + 1] - lo;
    if (N > 1 && r->lead) {
        adamw_init(&r->whole, 0, r->m.num_params);
        r->opt = (AdamW){.m = r->whole.m, .v = r->whole.v, .lo = 0, .n = n};   // part 0 starts at 0; not owned
    } else adamw_init(&r->opt, lo, n);
    if (N > 1) r->comm = xmalloc(dist_reduce_scatter_floats(r->part) * sizeof *r->comm);
}

// setup: the model (from init_from, or the checkpoint being resumed), every stage's
// position scheme, data, evals, and every buffer for the curriculum's largest step.
static void setup(Run *r, const char *ckpt) {
    const Config *c = r->c;
    curriculum_plan(c, dist_size(), (int)c->context_parallel, &r->plan);
    if (ckpt) {                                  // verified by resume_from: its weights, not the directory again
        char *state = path_join(ckpt, "model.safetensors");
        free(load_model_from(&r->m, c, state, NULL));
        free(state);
    } else load_model_for(&r->m, c);
    r->stage_pos = xmalloc((size_t)r->plan.n * sizeof *r->stage_pos);
    Position *base = xmalloc(sizeof *base);
    run_position(c, &r->m, ckpt != NULL, base);
    for (int s = 0; s < r->plan.n; s++) stage_position(c, s, &r->m, base, &r->stage_pos[s]);   // all valid before any step
    free(base);
    check_pose(r);
    load_data(&r->train, c, "data.train", r->m.cfg.vocab);
    if (c->document_mask) require_documents(c, &r->train, "data.document_mask");
    if (c->max_doc_tokens && !c->document_mask)
        die("%s: data.max_doc_tokens cuts documents into pieces, but data.document_mask is off: the pieces would "
            "only be shuffled apart, attending across and without restarting positions (set data.document_mask: true)",
            config_where(c, "data.max_doc_tokens"));
    if (*c->val_path) {
        load_data(&r->val, c, "data.val", r->m.cfg.vocab);
        evals_plan(c, &r->plan, &r->val, r->m.cfg.vocab, &r->ev);
    }
    r->report = xcalloc(1, sizeof *r->report);
    const int cp = r->plan.cp;
    const ActsMode mode = acts_mode(c);
    for (int s = 0; s < r->plan.n; s++)
        if (cp > 1) model_reserve_ring(&r->m, r->plan.s[s].micro, r->plan.s[s].T / cp, mode);
        else model_reserve(&r->m, r->plan.s[s].micro, r->plan.s[s].T, mode);
    model_reserve_positions(&r->m, r->plan.max_P);
    size_t eval_buf = evals_reserve(&r->m, &r->ev), buf = eval_buf > r->plan.max_tokens ? eval_buf : r->plan.max_tokens;
    model_prepare(&r->m);
    batch_alloc(&r->batch, buf);
    if (cp > 1) batch_alloc(&r->local, r->plan.max_tokens / (size_t)cp);
    shard_optimizer(r);
    if (c->mix_tasks) {
        const int needles = (c->mix_tasks & ~(1ll << MIX_COPY)) != 0;   // copy documents need no tokenizer
        if (needles) load_tokenizer(&r->tok, c, r->m.cfg.vocab, "data.mix.tasks");
        int min_T = r->plan.max_T;
        for (int s = 0; s < r->plan.n; s++) min_T = r->plan.s[s].T < min_T ? r->plan.s[s].T : min_T;
        mix_setup(&r->mix, needles ? &r->tok : NULL, c, &r->train, min_T, r->plan.max_T);
    }
    const LoaderOptions lo = {.min_doc_tokens = (size_t)c->min_doc_tokens,
                              .upsample_min_tokens = (size_t)c->upsample_min_tokens,
                              .upsample_factor = (int)c->upsample_factor,
                              .max_doc_tokens = (size_t)c->max_doc_tokens,
                              .mix = c->mix_tasks ? &r->mix : NULL,
                              .sources = &c->train};
    loader_init(&r->loader, &r->train, &lo, (uint64_t)c->seed, r->plan.max_T);
    r->ts.total_steps = r->plan.total_steps;
    r->ts.seed = c->seed;
}

// print_sources: each of data.train's sources (a list of them): its documents and tokens,
// and what each epoch takes of it: the tokens' share, and its documents' multiplicity.
static void print_sources(const Config *c, const Loader *l) {
    if (c->train.n < 2) return;
    double total = 0;
    for (size_t k = 0; k < l->n_src; k++) total += (double)l->src[k].epoch_tokens;
    printf("data.train: %zu sources; each epoch takes by tokens:\n", l->n_src);
    for (size_t k = 0; k < l->n_src; k++) {
        const LoaderSource *s = &l->src[k];
        printf("  [%zu] %s: %zu documents, %zu tokens, weight share %.1f%% -> %.1f%% of an epoch's tokens "
               "(%zu documents: x%.2f)\n", k, c->train.s[k].path, s->n, s->tokens, 100.0 * s->share,
               100.0 * (double)s->epoch_tokens / total, s->per_epoch, s->n ? (double)s->per_epoch / (double)s->n : 0.0);
    }
}

static void print_header(const Run *r) {
    const Config *c = r->c;
    char ranks[160] = "";
    if (r->plan.cp > 1)
        snprintf(ranks, sizeof ranks, " on each of %d ranks (%d data-parallel groups of %d: context parallel, ring "
                 "attention; ZeRO-1)", r->plan.ranks, r->plan.groups, r->plan.cp);
    else if (r->plan.ranks > 1) snprintf(ranks, sizeof ranks, " on each of %d ranks (data parallel, ZeRO-1)", r->plan.ranks);
    char blas[160];
    printf("run %s: %zu params, %lld steps of %lld tokens, %d threads%s; kernels: OpenBLAS %s, ours %s\n",
           c->run_name, r->m.num_params, r->plan.total_steps, c->batch_tokens, r->threads, ranks,
           blas_kernels(blas, sizeof blas), tile_isa_name(tile_isa()));
    print_plan(c, &r->plan, r->stage_pos, r->m.cfg.rope_theta);
    if (c->document_mask || r->ev.document_mask)
        printf("document masking: attention and positions within documents in %s\n",
               c->document_mask && r->ev.document_mask ? "training and evals" : c->document_mask ? "training" : "evals");
    if (r->m.cfg.max_seq_len && r->plan.max_T > r->m.cfg.max_seq_len)
        printf("note: seq_len %d exceeds the checkpoint's pretraining context %d\n", r->plan.max_T, r->m.cfg.max_seq_len);
    printf("data: %zu tokens in %zu file%s; an epoch packs %zu documents, %zu tokens (%.2f epochs in this run)\n",
           r->train.n, r->train.n_files, r->train.n_files == 1 ? "" : "s", r->loader.n_docs, r->loader.epoch_tokens,
           (double)r->plan.total_steps * (double)c->batch_tokens / (double)r->loader.epoch_tokens);
    print_sources(c, &r->loader);
    if (r->mix.n_tasks) {
        printf("data.mix: %zu retrieval documents per epoch (", r->loader.n_docs - r->loader.n_real);
        for (int t = 0; t < r->mix.n_tasks; t++) printf("%s%s", t ? ", " : "", mix_kind_name(r->mix.task[t]));
        printf("), %d-%d tokens each, %.0f%% of the tokens, depths %g-%g; filler from data.train%s\n",
               r->mix.opt.min_len, r->mix.opt.max_len, 100.0 * r->mix.opt.share, r->mix.opt.depth_lo, r->mix.opt.depth_hi,
               r->mix.opt.whole ? "; whole (each within one sequence, at most its length: the share holds in the "
                                  "longest stage, shorter stages draw shorter documents)" : "");
    }
}

// run_evals: the evals, their metrics rows and progress lines, and the run's report.svg.
static void run_evals(Run *r, long long step, int loss, int tasks) {
    evals_run(&r->m, &r->ev, &r->val, &r->batch, r->c->eval_max_tokens, loss, tasks, r->report);
    if (!r->lead) return;
    progress_clear();
    log_eval_report(r->metrics, step, r->ts.tokens, r->report);
    flush_metrics(r);
    report_write(r->c->out_dir);
}

// step_positions: the ids of the `micro` sequences of a forward that starts at sequence
// j0 of step `step`: sequence j is drawn as row j % seed_micro of forward j / seed_micro
// of the one-rank plan, so any rank count trains the same ids.
static void step_positions(const Run *r, const StagePlan *sp, long long step, int j0, const int *doc) {
    const int T = sp->T;
    for (int i = 0; i < sp->micro;) {
        const int j = j0 + i, b0 = j % sp->seed_micro, n = sp->micro - i < sp->seed_micro - b0 ? sp->micro - i : sp->seed_micro - b0;
        batch_positions(r->batch.pos + (size_t)i * T, doc ? doc + (size_t)i * T : NULL, &sp->pose,
                        stage_seed(r->c, step, j / sp->seed_micro), b0, n, T);
        i += n;
    }
}

// ring_part: this rank's rows (ring_row, layers.h) of the (B, T) sequences in r->batch
// into r->local: tokens, targets, position ids and document starts (still sequence rows).
static void ring_part(Run *r, int B, int T) {
    const int P = r->plan.cp, c = dist_ring_rank(), Tl = T / P;
    const Batch *f = &r->batch;
    Batch *p = &r->local;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < Tl; t++) {
            const size_t i = (size_t)b * Tl + t, j = (size_t)b * T + ring_row(t, Tl, P, c);
            p->in[i] = f->in[j], p->tg[i] = f->tg[j], p->pos[i] = f->pos[j], p->doc[i] = f->doc[j];
        }
}

// step_gradients: this rank's share of step `step`: its group's sequences of the step,
// read from the shared cursor (which every rank moves past the whole step), all their
// rows or, context parallel, its part of each; gradients of (1/seqs) x the summed
// per-sequence mean losses. Returns the step's mean loss over every rank.
static double step_gradients(Run *r, const StagePlan *sp, long long step) {
    const int T = sp->T, N = r->plan.ranks, G = r->plan.groups, cp = r->plan.cp, g = dist_rank() / cp;
    const size_t local = (size_t)sp->micro * (size_t)sp->accum;
    const Batch *b = &r->batch, *in = cp > 1 ? &r->local : b;
    const int *doc = r->c->document_mask ? b->doc : NULL;
    double loss = 0.0;
    model_zero_grad(&r->m);
    loader_skip(&r->loader, (size_t)g * local, T);
    for (int a = 0; a < sp->accum; a++) {
        loader_next(&r->loader, b->in, b->tg, b->doc, sp->micro, T);
        step_positions(r, sp, step, (int)((size_t)g * local) + a * sp->micro, doc);
        if (cp > 1) ring_part(r, sp->micro, T);
        const PosIds ids = {in->pos, doc ? in->doc : NULL, cp > 1};
        loss += model_forward_backward(&r->m, in->in, in->tg, &ids, sp->micro, T / cp, 1.0f / (float)(sp->accum * N),
                                       acts_mode(r->c)) / sp->accum;
    }
    loader_skip(&r->loader, (size_t)(G - 1 - g) * local, T);
    if (N > 1) {
        dist_sum_f64(&loss, 1);
        loss /= N;
    }
    return loss;
}

// step_update: the gradients summed over ranks into each rank's part, the global norm
// (clipped to train.grad_clip), AdamW on this rank's part, the parts all-gathered;
// returns the norm before clipping; *ratio: |dw| / |w| of the update (check_update).
static double step_update(Run *r, long long step, double lr, double *ratio) {
    const Config *c = r->c;
    const size_t lo = r->opt.lo, hi = r->opt.lo + r->opt.n;
    dist_reduce_scatter_f32(r->m.grads_memory, r->part, r->comm);
    double sq = grad_sumsq(&r->m, lo, hi);
    dist_sum_f64(&sq, 1);
    const double norm = sqrt(sq);
    if (!isfinite(norm)) check_finite(r, step + 1, r->m.grads_memory, lo, hi, 1);
    if (!isfinite(norm)) stop_nonfinite(step + 1, "the gradient norm", norm);
    if (c->grad_clip > 0 && norm > c->grad_clip) grad_scale(&r->m, (float)(c->grad_clip / norm), lo, hi);
    adamw_step(&r->opt, &r->m, (float)lr, (float)c->beta1, (float)c->beta2, (float)c->eps, (float)c->weight_decay);
    dist_allgather_f32(r->m.params_memory, r->part);
    if (fault_at("nan-at-step", step + 1)) r->m.params_memory[r->m.num_params / 2] = NAN;   // tests/test_faults.sh
    check_finite(r, step + 1, r->m.params_memory, 0, r->m.num_params, 0);
    *ratio = check_update(r, step + 1, lr);
    return norm;
}

// train_step: optimizer step `step` (from 0) of stage s; logs it and advances r->ts.
static void train_step(Run *r, long long step, int s, double stage_t0, long long stage_steps) {
    const Config *c = r->c;
    const StagePlan *sp = &r->plan.s[s];
    const int T = sp->T;
    const double t0 = now_seconds(), w0 = dist_wait_seconds();
    const double loss = step_gradients(r, sp, step);
    if (!isfinite(loss)) stop_nonfinite(step + 1, "the loss", loss);
    const double lr = lr_at(c, step, r->plan.total_steps) * sp->lr_scale;
    double ratio;
    const double norm = step_update(r, step, lr, &ratio);
    r->comm_s = dist_wait_seconds() - w0;
    TrainState *ts = &r->ts;
    ts->step = step + 1;
    ts->tokens += c->batch_tokens;
    ts->stage = s;
    ts->seq_len = T;
    ts->trained_seq_len = T > ts->trained_seq_len ? T : ts->trained_seq_len;
    ts->lr = lr;
    double now = now_seconds(), tps = (double)c->batch_tokens / (now - t0);
    if (!r->lead) return;
    char comm[48] = "";
    if (r->plan.ranks > 1) snprintf(comm, sizeof comm, ", \"comm_s\": %.4f", r->comm_s);
    fprintf(r->metrics, "{\"type\": \"train\", \"step\": %lld, \"stage\": %d, \"seq_len\": %d, \"tokens\": %lld, "
            "\"loss\": %.6f, \"lr\": %.6e, \"grad_norm\": %.6f, \"update_ratio\": %.4e, \"tokens_per_s\": %.1f, "
            "\"elapsed_s\": %.3f%s}\n", step + 1, s + 1, T, ts->tokens, loss, lr, norm, ratio, tps, now - r->t_start, comm);
    flush_metrics(r);
    const int stage_end = step + 1 == sp->first_step + sp->steps, tty = progress_tty();
    const double eta_s = eta_seconds(&r->plan, &r->m.cfg, step, stage_steps, now - stage_t0);
    if (tty) progress_show(r, step + 1, s, loss, tps, (double)(step + 1 - sp->first_step) / (double)sp->steps, eta_s);
    if (tty ? stage_end : (step + 1) % c->log_every == 0 || step + 1 == r->plan.total_steps) {
        char el[32], eta[32];
        progress_clear();
        fmt_duration(now - r->t_start, el, sizeof el);
        fmt_duration(eta_s, eta, sizeof eta);
        printf("step %5lld/%lld | stage %d/%d T %d | loss %.4f | lr %.2e | gnorm %.4f | %7.0f tok/s | %s elapsed | ETA %s\n",
               step + 1, r->plan.total_steps, s + 1, r->plan.n, T, loss, lr, norm, tps, el, eta);
        fflush(stdout);
    }
}

// run_steps: from r->ts.step to the end; returns 0, or the signal that stopped it early
// (after its checkpoint).
static int run_steps(Run *r) {
    const Config *c = r->c;
    const Plan *p = &r->plan;
    int cur = -1;
    double stage_t0 = 0.0;
    long long stage_steps = 0;
    for (long long step = r->ts.step; step < p->total_steps; step++) {
        const int s = plan_stage(p, step);
        if (s != cur) {                                  // a new stage: its RoPE tables; buffers stay
            model_set_rope(&r->m, &r->stage_pos[s]);
            cur = s;
            stage_t0 = now_seconds();
            stage_steps = 0;
        }
        const int eval_loss = c->eval_every > 0 && step % c->eval_every == 0;
        const int eval_tasks = c->task_every > 0 && step % c->task_every == 0;
        if (*c->val_path && (eval_loss || eval_tasks)) run_evals(r, step, eval_loss, eval_tasks);
        train_step(r, step, s, stage_t0, ++stage_steps);
        if (step + 1 == p->total_steps) break;
        const int stage_end = step + 1 == p->s[s].first_step + p->s[s].steps;
        if (stage_end) save_stage_model(r, s);
        const int sig = dist_max_int(stop_signal);      // a signal on any rank stops them all here
        const char *reason = sig ? "signal" : stage_end ? "stage"
                           : c->ckpt_every > 0 && (step + 1) % c->ckpt_every == 0 ? "every" : NULL;
        if (reason) save_checkpoint(r, reason);
        if (sig) return sig;
    }
    return 0;
}

// finish: the final evals, the final model in the run directory, the last checkpoint.
static void finish(Run *r) {
    const Config *c = r->c;
    char tj[256];
    if (*c->val_path) run_evals(r, r->plan.total_steps, 1, 1);
    if (r->lead && *c->val_path) {
        char *eval_path = path_join(c->out_dir, "eval.json");
        write_eval_json(r->report, eval_path);
        print_eval_report(r->report, stdout);
        free(eval_path);
    }
    train_state_json(&r->ts, tj, sizeof tj);
    if (r->lead) save_run_model(&r->m, tj, c->out_dir);
    save_checkpoint(r, "end");
    if (r->lead && !*c->val_path) report_write(c->out_dir);      // else the final evals just wrote it
    printf("wrote %s/report.svg (train compare %s: the same chart, a terminal chart and a table)\n", c->out_dir, c->out_dir);
}

static void free_run(Run *r) {
    if (r->metrics) fclose(r->metrics);
    batch_free(&r->batch);
    if (r->local.in) batch_free(&r->local);
    free(r->stage_pos);
    adamw_free(&r->opt);
    if (r->whole.memory) adamw_free(&r->whole);
    free(r->part);
    free(r->comm);
    loader_free(&r->loader);
    if (r->mix.n_tasks) {
        mix_free(&r->mix);
        tokenizer_free(&r->tok);
    }
    shard_free(&r->train);
    if (*r->c->val_path) shard_free(&r->val);
    evals_free(&r->ev);
    free(r->report);
    model_free(&r->m);
    free(r);
}

int train_main(const Config *c, const Resume *res) {
    check_config(c);
    Run *r = xcalloc(1, sizeof *r);
    r->c = c;
    r->threads = setup_threads(c->threads);
    r->lead = dist_rank() == 0;
    dist_ring_init((int)c->context_parallel < 1 || dist_size() % (int)c->context_parallel ? 1 : (int)c->context_parallel);
    char *ckpt = dist_bcast_str(r->lead ? resume_from(c, res) : NULL, 0);   // rank 0 decides, locks and cleans
    setup(r, ckpt);                                   // validates the config, model and data first
    char *cfg_path = path_join(c->out_dir, "config.yaml"), *met_path = path_join(c->out_dir, "metrics.jsonl");
    if (r->lead) {
        if (!ckpt) refuse_overwrite(c);
        make_dirs(c->out_dir);
        lock_run(c->out_dir);
        config_write(c, cfg_path);
    }
    print_header(r);
    r->metrics = ckpt ? resume_restore(r, ckpt) : r->lead ? xfopen(met_path, "w") : NULL;
    r->t_start = now_seconds() - r->ts.elapsed;
    int stopped = 0;
    if (r->ts.step >= r->plan.total_steps) {
        printf("run %s is complete (step %lld of %lld); nothing to do\n", c->run_name, r->ts.step, r->plan.total_steps);
    } else {
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        stopped = run_steps(r);
        if (!stopped) finish(r);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
    }
    progress_clear();
    if (stopped)
        printf("stopped by %s after step %lld; continue with: ./train --resume %s\n",
               stopped == SIGINT ? "SIGINT" : "SIGTERM", r->ts.step, c->out_dir);
    else printf("wrote %s, %s\n", cfg_path, met_path);
    free(ckpt);
    free(cfg_path);
    free(met_path);
    free_run(r);
    return 0;
}
