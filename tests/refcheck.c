// refcheck STATE.safetensors — compare this trainer's loss and gradients with a
// reference (PyTorch) state. STATE holds __metadata__.model (JSON: dim, hidden, n_layers,
// n_heads, n_kv_heads, vocab, norm_eps, rope_theta, tied, rope_layout),
// __metadata__.position (JSON in the config's `position:` vocabulary; {} = plain RoPE), F32 parameters under Hugging Face names
// in that pair layout, input_ids (I32 [T+1]), loss (F32 [1]) and grad.<name> for every
// parameter (and model.relative_attention_bias.weight with its gradient for a t5 bias).
// Prints the loss against the reference (relative error <= 1e-4) and ||a-b||/||b|| of each
// gradient against the tolerance 1e-4, one check per line (tests/check.h).
// Exit 0 if all <= 1e-4, 1 otherwise, 2 on a malformed file.
#include "../model/formats.h"
#include "../trainer/setup.h"
#include "../util/util.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-4

static double rel_err(const float *a, const float *b, size_t n) {
    double d = 0.0, r = 0.0;
    for (size_t i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        r += (double)b[i] * b[i];
    }
    return r > 0 ? sqrt(d / r) : sqrt(d);
}

// read_position: __metadata__.position in the config vocabulary ({} = plain RoPE).
static void read_position(Safetensors *st, const ModelConfig *cfg, Position *p) {
    const char *json = st_metadata(st, "position");
    if (json) position_parse_json(p, json, "__metadata__.position");
    else position_default(p);
    model_resolve_position(cfg, p);
}

int main(int argc, char **argv) {
    if (argc != 2) die("usage: refcheck STATE.safetensors");
    Safetensors st;
    ModelConfig cfg;
    RopeLayout layout;
    Model m;
    st_open(&st, argv[1]);
    const char *meta = st_metadata(&st, "model");
    if (!meta) die("%s: __metadata__.model is missing", argv[1]);
    model_config_from_json(&cfg, &layout, meta, "__metadata__.model");
    Position pos;
    read_position(&st, &cfg, &pos);
    setup_threads(0);
    model_init(&m, &cfg, argv[1]);
    model_set_position(&m, &pos);
    cfg = m.cfg;
    st_load_params(st_resolve_single, &st, &cfg, &m.params, "", layout);
    const StEntry *e = st_find(&st, "input_ids");
    if (!e || e->ndim != 1 || e->shape[0] < 2) die("%s: input_ids must be an I32 tensor of shape [T+1], T >= 1", argv[1]);
    int T = (int)e->shape[0] - 1;
    int32_t *ids = xmalloc((size_t)(T + 1) * sizeof(int32_t));
    st_read_i32(&st, "input_ids", ids, (size_t)T + 1);
    float ref_loss;
    st_read_f32(&st, "loss", &ref_loss, 1);
    model_reserve(&m, 1, T, 0);
    model_prepare(&m);
    float loss = model_forward_backward(&m, ids, ids + 1, 1, T, 1.0f, 0), eval_loss = model_forward(&m, ids, ids + 1, 1, T);

    float *ref_mem = xcalloc(m.num_params, sizeof(float));
    ParamTensors ref;
    for (int i = 0; i < NUM_PARAMS; i++) ref.t[i] = m.params.t[i] ? ref_mem + (m.params.t[i] - m.params_memory) : NULL;
    st_load_params(st_resolve_single, &st, &cfg, &ref, "grad.", layout);

    double worst = fabs((double)loss - ref_loss) / fabs((double)ref_loss);
    const double worst_eval = fabs((double)eval_loss - ref_loss) / fabs((double)ref_loss);
    worst = worst_eval > worst ? worst_eval : worst;
    printf("refcheck %s: the loss (this vs the reference), then ||a-b||/||b|| of each gradient (vs the tolerance)\n",
           argv[1]);
    CHECK_CLOSE("loss (training step)", loss, ref_loss, 0.0, TOL);
    CHECK_CLOSE("loss (evaluation forward)", eval_loss, ref_loss, 0.0, TOL);
    TensorSpec s[NUM_PARAMS];
    char name[256];
    param_specs(&cfg, s);
    for (int i = 0; i < NUM_PARAMS; i++) {
        if (!m.params.t[i]) continue;
        size_t per = spec_numel(&s[i], 1);
        for (int l = 0; l < (s[i].per_layer ? cfg.n_layers : 1); l++) {
            double r = rel_err(m.grads.t[i] + (size_t)l * per, ref.t[i] + (size_t)l * per, per);
            param_name(name, sizeof name, &s[i], "grad.", l);
            check_report(r <= TOL, name, r, TOL);
            worst = r > worst || isnan(r) ? r : worst;
        }
    }
    printf("refcheck %s: worst relative error %.3e (tolerance %.0e)\n", argv[1], worst, TOL);
    free(ref_mem);
    free(ids);
    model_free(&m);
    st_close(&st);
    return check_done("refcheck");
}
