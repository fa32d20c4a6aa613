// test_optim.c — AdamW with decoupled weight decay, global-norm gradient clipping and the
// warmup + cosine schedule against PyTorch, as llm.c's test_gpt2 does: 10 training steps
// of a tiny random Llama on one fixed batch, compared with torch.optim.AdamW (two groups:
// weight decay on matrices, none on RMSNorm gains) + clip_grad_norm_.
// usage: test_optim FIXTURE   (tests/fixtures/adamw_trajectory.safetensors, written by
// tests/make_fixtures.py)
//
// FIXTURE holds __metadata__.model / .position (as refcheck states), __metadata__.train
// (the optimizer, schedule and grad_clip in the `train:` vocabulary of the config files),
// the F32 initial weights under Hugging Face names, input_ids (I32 [B, T+1]), and the float64
// reference run: lr, loss, grad_norm (F32 [steps], the norm before clipping), step1.<name>
// and final.<name> (weights after step 1 and after the last step). torch_f32.* is the same
// run in PyTorch float32, printed as the yardstick of an honest float32 deviation.
//
// Checks: the lr of every step (lr_at), the loss and gradient norm of every step, whether
// each step clipped, the weights after step 1 tensor by tensor (and that matrices were
// decayed and norm gains were not, against the opposite hypothesis), the embedding rows of
// tokens absent from the batch (no gradient: weight decay alone moves them), and the
// weights after the last step.
#include "../model/formats.h"
#include "../trainer/optim.h"
#include "../trainer/setup.h"
#include "../util/util.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// Tolerances, |c - ref| <= atol + rtol |ref| against the float64 run. Float32 rounding of
// one forward/backward gives relative errors ~1e-7..1e-6 (the losses, norms); Adam divides
// each gradient element by its own RMS, so an element whose gradient is small (cancellation)
// turns the float32 absolute error of its gradient into a relative error of an O(lr) update:
// PyTorch's own float32 run is 2e-6 away from float64 on one embedding element after 10
// steps (lr <= 1e-2). The weight tolerances sit well below the step (>= 1e-3 at peak lr) and
// the decay term (lr wd |p| ~ 5e-4 at step 1) that they must resolve.
// Clipping: stretch scales by clip / norm, clip_grad_norm_ by clip / (norm + 1e-6); the
// 3e-7 relative difference of the clipped gradients is far below these tolerances (Adam
// is nearly invariant to the gradient scale).
#define LR_RTOL 1e-7          // the fixture's lr is stored as F32
#define LOSS_RTOL 2e-6
#define NORM_RTOL 1e-5
#define STEP1_ATOL 5e-7
#define STEP1_RTOL 1e-6
#define FINAL_ATOL 1e-5
#define FINAL_RTOL 1e-5

// ---- the only use of the model/ and trainer/ APIs (adapt here when they change) --------
typedef struct {
    Config c;              // train.* from the fixture: optimizer, schedule, grad_clip, max_steps
    ModelConfig cfg;
    RopeLayout layout;
    Model m;
    AdamW opt;
} Trainer;

static void trainer_open(Trainer *t, Safetensors *st, const char *path, int B, int T) {
    const char *model = st_metadata(st, "model"), *train = st_metadata(st, "train"), *pos = st_metadata(st, "position");
    if (!model || !train) die("%s: __metadata__.model and __metadata__.train are required", path);
    model_config_from_json(&t->cfg, &t->layout, model, "__metadata__.model");
    config_load(&t->c, NULL, NULL, 0);
    config_apply_json(&t->c, train, "__metadata__.train", "train");
    if (pos) config_apply_json(&t->c, pos, "__metadata__.position", "position");
    Position p = t->c.pos;
    model_resolve_position(&t->cfg, &p);
    setup_threads(0);
    model_init(&t->m, &t->cfg, path);
    model_set_position(&t->m, &p);
    t->cfg = t->m.cfg;
    st_load_params(st_resolve_single, st, &t->cfg, &t->m.params, "", t->layout);
    model_reserve(&t->m, B, T, ACTS_ALL);
    model_prepare(&t->m);
    adamw_init(&t->opt, 0, t->m.num_params);
}

// trainer_load: tensors `prefix` + HF name into a buffer laid out like the parameters.
static float *trainer_load(Trainer *t, Safetensors *st, const char *prefix, ParamTensors *views) {
    float *mem = xcalloc(t->m.num_params, sizeof(float));
    model_views(&t->m, mem, views);
    st_load_params(st_resolve_single, st, &t->cfg, views, prefix, t->layout);
    return mem;
}

// trainer_step: optimizer step `step` (from 0) as trainer/train.c's train_step takes it
// (one micro-batch); returns the loss, the norm before clipping and the lr.
static float trainer_step(Trainer *t, const int *in, const int *tg, int B, int T, long long step, double *norm,
                          double *lr) {
    const Config *c = &t->c;
    model_zero_grad(&t->m);
    float loss = model_forward_backward(&t->m, in, tg, NULL, B, T, 1.0f, ACTS_ALL);
    *norm = grad_norm(&t->m);
    if (c->grad_clip > 0 && *norm > c->grad_clip) grad_scale(&t->m, (float)(c->grad_clip / *norm), 0, t->m.num_params);
    *lr = lr_at(c, step, c->max_steps);
    adamw_step(&t->opt, &t->m, (float)*lr, (float)c->beta1, (float)c->beta2, (float)c->eps, (float)c->weight_decay);
    return loss;
}

static void trainer_close(Trainer *t) {
    adamw_free(&t->opt);
    model_free(&t->m);
}
// ----------------------------------------------------------------------------------------

// worst_excess: index of the element of a (vs ref) furthest past atol + rtol |ref|.
static size_t worst_excess(const float *a, const float *ref, size_t n, double atol, double rtol, double *max_abs) {
    size_t w = 0;
    double we = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - ref[i]), e = d - (atol + rtol * fabs((double)ref[i]));
        if (isnan(d)) return i;
        if (e > we) we = e, w = i;
        if (d > *max_abs) *max_abs = d;
    }
    return w;
}

// check_tensors: one check per tensor (per layer): its worst element against ref. Prints
// the largest |a - ref| overall and that of the yardstick (PyTorch float32) against ref.
static void check_tensors(const char *label, const Trainer *t, const ParamTensors *a, const ParamTensors *ref,
                          const ParamTensors *yard, double atol, double rtol) {
    TensorSpec s[NUM_PARAMS];
    char name[256], what[320];
    double worst = 0.0, worst_yard = 0.0;
    param_specs(&t->cfg, s);
    for (int i = 0; i < NUM_PARAMS; i++) {
        if (!a->t[i]) continue;
        size_t per = spec_numel(&s[i], 1);
        for (int l = 0; l < (s[i].per_layer ? t->cfg.n_layers : 1); l++) {
            const float *x = a->t[i] + (size_t)l * per, *r = ref->t[i] + (size_t)l * per;
            size_t w = worst_excess(x, r, per, atol, rtol, &worst);
            worst_excess(yard->t[i] + (size_t)l * per, r, per, atol, rtol, &worst_yard);
            param_name(name, sizeof name, &s[i], "", l);
            snprintf(what, sizeof what, "%s %s[%zu]", label, name, w);
            CHECK_CLOSE(what, x[w], r[w], atol, rtol);
        }
    }
    printf("%s: worst |c - ref| %.3e; PyTorch float32 vs ref %.3e (tolerance %.0e + %.0e |ref|)\n", label, worst,
           worst_yard, atol, rtol);
}

// check_decay: after step 1, each tensor must match the reference (decay on matrices, none
// on norm gains) far better than the opposite hypothesis (ref -/+ lr wd p0).
static void check_decay(const Trainer *t, const ParamTensors *p0, const ParamTensors *ref, double lr) {
    TensorSpec s[NUM_PARAMS];
    char name[256], what[320];
    param_specs(&t->cfg, s);
    const double wd = t->c.weight_decay;
    for (int i = 0; i < NUM_PARAMS; i++) {
        if (!p0->t[i]) continue;
        size_t n = spec_numel(&s[i], t->cfg.n_layers);
        double err = 0.0, alt = 0.0, sign = s[i].decay ? 1.0 : -1.0;
        for (size_t k = 0; k < n; k++) {
            double c = t->m.params.t[i][k], r = ref->t[i][k];
            err = fmax(err, fabs(c - r));
            alt = fmax(alt, fabs(c - (r + sign * lr * wd * p0->t[i][k])));
        }
        param_name(name, sizeof name, &s[i], "", 0);
        snprintf(what, sizeof what, "step 1 %s: %s (err %.1e, opposite %.1e)", name,
                 s[i].decay ? "decayed" : "not decayed", err, alt);
        CHECK_TRUE(what, err < 0.01 * alt);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) die("usage: test_optim FIXTURE");
    double t_start = now_seconds();
    Safetensors st;
    st_open(&st, argv[1]);
    const StEntry *e = st_find(&st, "input_ids");
    if (!e || e->ndim != 2 || e->shape[1] < 2) die("%s: input_ids must be an I32 tensor of shape [B, T+1]", argv[1]);
    const int B = (int)e->shape[0], T = (int)e->shape[1] - 1;
    Trainer t;
    trainer_open(&t, &st, argv[1], B, T);
    const int steps = (int)t.c.max_steps, V = t.cfg.vocab, C = t.cfg.dim;
    const StEntry *le = st_find(&st, "loss");
    if (!le || le->ndim != 1 || (int)le->shape[0] != steps) die("%s: loss must be F32 [train.max_steps]", argv[1]);
    printf("fixture %s: B=%d T=%d, %zu params, %d steps; lr %g (warmup %lld, %s to %g), betas (%g, %g), eps %g, "
           "weight_decay %g, grad_clip %g\n", argv[1], B, T, t.m.num_params, steps, t.c.lr, t.c.warmup_steps,
           t.c.decay, t.c.min_lr, t.c.beta1, t.c.beta2, t.c.eps, t.c.weight_decay, t.c.grad_clip);

    int32_t *ids = xmalloc((size_t)B * (T + 1) * sizeof(int32_t));
    int *in = xmalloc((size_t)B * T * sizeof(int)), *tg = xmalloc((size_t)B * T * sizeof(int));
    st_read_i32(&st, "input_ids", ids, (size_t)B * (T + 1));
    int used[4096] = {0};
    if (V > 4096) die("%s: vocab %d too large for this test", argv[1], V);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < T; i++) {
            in[b * T + i] = ids[b * (T + 1) + i];
            tg[b * T + i] = ids[b * (T + 1) + i + 1];
            used[in[b * T + i]] = 1;
        }
    float *ref_lr = xmalloc((size_t)steps * sizeof(float)), *ref_loss = xmalloc((size_t)steps * sizeof(float)),
          *ref_norm = xmalloc((size_t)steps * sizeof(float)), *f32_loss = xmalloc((size_t)steps * sizeof(float)),
          *f32_norm = xmalloc((size_t)steps * sizeof(float));
    st_read_f32(&st, "lr", ref_lr, (size_t)steps);
    st_read_f32(&st, "loss", ref_loss, (size_t)steps);
    st_read_f32(&st, "grad_norm", ref_norm, (size_t)steps);
    st_read_f32(&st, "torch_f32.loss", f32_loss, (size_t)steps);
    st_read_f32(&st, "torch_f32.grad_norm", f32_norm, (size_t)steps);
    ParamTensors p0, step1, final, yard1, yardf;
    float *mem[5] = {trainer_load(&t, &st, "", &p0), trainer_load(&t, &st, "step1.", &step1),
                     trainer_load(&t, &st, "final.", &final), trainer_load(&t, &st, "torch_f32.step1.", &yard1),
                     trainer_load(&t, &st, "torch_f32.final.", &yardf)};

    char what[160];
    double lr0 = 0, worst_loss = 0, worst_norm = 0, yard_loss = 0, yard_norm = 0;
    int clipped = 0;
    double t0 = now_seconds();
    for (int step = 0; step < steps; step++) {
        double norm, lr;
        float loss = trainer_step(&t, in, tg, B, T, step, &norm, &lr);
        if (!step) lr0 = lr;
        snprintf(what, sizeof what, "step %2d lr (lr_at)", step + 1);
        CHECK_CLOSE(what, lr, ref_lr[step], 0.0, LR_RTOL);
        snprintf(what, sizeof what, "step %2d loss", step + 1);
        CHECK_CLOSE(what, loss, ref_loss[step], 0.0, LOSS_RTOL);
        snprintf(what, sizeof what, "step %2d grad norm (before clipping)", step + 1);
        CHECK_CLOSE(what, norm, ref_norm[step], 0.0, NORM_RTOL);
        snprintf(what, sizeof what, "step %2d clipped (norm > %g)", step + 1, t.c.grad_clip);
        CHECK_EQ(what, norm > t.c.grad_clip, ref_norm[step] > t.c.grad_clip);
        clipped += norm > t.c.grad_clip;
        worst_loss = fmax(worst_loss, fabs(loss - (double)ref_loss[step]) / ref_loss[step]);
        worst_norm = fmax(worst_norm, fabs(norm - ref_norm[step]) / ref_norm[step]);
        yard_loss = fmax(yard_loss, fabs((double)f32_loss[step] - ref_loss[step]) / ref_loss[step]);
        yard_norm = fmax(yard_norm, fabs((double)f32_norm[step] - ref_norm[step]) / ref_norm[step]);
        if (step == 0) {
            check_tensors("step 1", &t, &t.m.params, &step1, &yard1, STEP1_ATOL, STEP1_RTOL);
            check_decay(&t, &p0, &step1, lr);
            // tokens absent from the inputs: zero gradient, so p1 = p0 (1 - lr wd) exactly
            // up to float rounding, and the reference agrees
            double worst = 0.0;
            for (int v = 0; v < V; v++) {
                if (used[v]) continue;
                for (int c = 0; c < C; c++) {
                    double p = p0.embed[(size_t)v * C + c], want = p * (1.0 - lr * t.c.weight_decay);
                    worst = fmax(worst, fabs(t.m.params.embed[(size_t)v * C + c] - want) / fabs(want));
                    worst = fmax(worst, fabs(step1.embed[(size_t)v * C + c] - want) / fabs(want));
                }
            }
            CHECK_TRUE("step 1 embedding rows of unused tokens: p0 (1 - lr wd)", worst <= 2e-7);
            printf("  (worst relative error of those rows, C and reference: %.2e)\n", worst);
        }
    }
    double train_s = now_seconds() - t0;
    printf("losses: worst relative error %.2e (PyTorch float32 %.2e, tolerance %.0e)\n", worst_loss, yard_loss, LOSS_RTOL);
    printf("grad norms: worst relative error %.2e (PyTorch float32 %.2e, tolerance %.0e)\n", worst_norm, yard_norm,
           NORM_RTOL);
    CHECK_TRUE("the fixture clips some steps and not others", clipped > 0 && clipped < steps);
    CHECK_TRUE("the schedule varies the lr (warmup + decay)", lr0 < t.c.lr && t.c.warmup_steps > 0);
    check_tensors("final", &t, &t.m.params, &final, &yardf, FINAL_ATOL, FINAL_RTOL);
    printf("loss %.5f -> %.5f over %d steps (%.3f s of training, %.3f s in all)\n", ref_loss[0], ref_loss[steps - 1],
           steps, train_s, now_seconds() - t_start);

    for (int i = 0; i < 5; i++) free(mem[i]);
    free(ids); free(in); free(tg);
    free(ref_lr); free(ref_loss); free(ref_norm); free(f32_loss); free(f32_norm);
    trainer_close(&t);
    st_close(&st);
    return check_done("test_optim");
}
