// refcheck STATE.safetensors — compare this trainer's loss and gradients with a
// reference (PyTorch) state. STATE holds __metadata__.model (JSON: dim, hidden, n_layers,
// n_heads, n_kv_heads, vocab, norm_eps, rope_theta, tied, rope_layout),
// __metadata__.position (JSON in the config's `position:` vocabulary; {} = plain RoPE), F32 parameters under Hugging Face names
// in that pair layout, the batch, loss (F32 [1]: the mean over its B*T targets) and
// grad.<name> for every parameter (and model.relative_attention_bias.weight with its
// gradient for a t5 bias). The batch (all I32):
//   input_ids     [B, T+1]: row b's inputs are [0, T), its targets [1, T+1); [T+1]: B = 1
//   position_ids  [B, T], optional: PosIds.pos (model/model.h); absent = 0 .. T-1
//   doc_start     [B, T], optional: PosIds.doc; absent = one document per row
// (position_ids and doc_start may be [T] beside a 1-D input_ids). The PosIds contract is
// checked on read; dynamic NTK and LongRoPE choose their tables from the largest id + 1.
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

// FixBatch: a fixture's (B, T) batch; pos and doc NULL when the file has none (PosIds).
typedef struct {
    int B, T;
    int32_t *inputs, *targets;   // (B, T) each
    int32_t *pos, *doc;          // (B, T) or NULL
    int max_id;                  // the largest position id (T - 1 without position_ids)
    int docs;                    // documents in the batch (B without doc_start)
} FixBatch;

// MAX_POSITION_ID: refcheck's bound on an id (the RoPE tables hold max_id + 1 rows).
#define MAX_POSITION_ID (1 << 24)

// read_ids: the optional I32 tensor `name` of shape [B, T] (or [T] when `flat`, a 1-D
// input_ids), or NULL when absent; dies on another shape.
static int32_t *read_ids(Safetensors *st, const char *path, const char *name, int B, int T, int flat) {
    const StEntry *e = st_find(st, name);
    if (!e) return NULL;
    const int ok = e->ndim == 2 ? e->shape[0] == (size_t)B && e->shape[1] == (size_t)T
                                : flat && e->ndim == 1 && e->shape[0] == (size_t)T;
    if (!ok) die("%s: %s must be an I32 tensor of shape [B, T] = [%d, %d] like input_ids [B, T+1]", path, name, B, T);
    int32_t *v = xmalloc((size_t)B * T * sizeof(int32_t));
    st_read_i32(st, name, v, (size_t)B * T);
    return v;
}

// check_posids: die unless pos / doc keep the PosIds contract: doc[0] = 0, doc[t] = t or
// doc[t - 1]; 0 <= pos <= MAX_POSITION_ID, never decreasing within a document (the row,
// without doc). Sets b->max_id and b->docs.
static void check_posids(FixBatch *b, const char *path) {
    b->max_id = b->pos ? 0 : b->T - 1;
    b->docs = 0;
    for (int r = 0; r < b->B; r++) {
        const int32_t *p = b->pos ? b->pos + (size_t)r * b->T : NULL, *d = b->doc ? b->doc + (size_t)r * b->T : NULL;
        for (int t = 0; t < b->T; t++) {
            const int starts = d ? d[t] == t : t == 0;
            if (d && t == 0 && !starts) die("%s: doc_start[%d][0] = %d: must be 0", path, r, d[0]);
            if (d && !starts && d[t] != d[t - 1])
                die("%s: doc_start[%d][%d] = %d: must be %d (a document starts) or doc_start[%d][%d] = %d", path, r, t,
                    d[t], t, r, t - 1, d[t - 1]);
            b->docs += starts;
            if (!p) continue;
            if (p[t] < 0 || p[t] > MAX_POSITION_ID)
                die("%s: position_ids[%d][%d] = %d: must be in [0, %d]", path, r, t, p[t], MAX_POSITION_ID);
            if (!starts && p[t] < p[t - 1])
                die("%s: position_ids[%d][%d] = %d < position_ids[%d][%d] = %d inside one document", path, r, t, p[t],
                    r, t - 1, p[t - 1]);
            if (p[t] > b->max_id) b->max_id = p[t];
        }
    }
}

// read_batch: input_ids ([T+1] or [B, T+1]) split into inputs and targets, and the
// optional position_ids and doc_start, checked.
static void read_batch(Safetensors *st, const char *path, FixBatch *b) {
    const StEntry *e = st_find(st, "input_ids");
    const int flat = e && e->ndim == 1;
    if (!e || (!flat && e->ndim != 2) || e->shape[e->ndim - 1] < 2 || e->shape[0] < 1 ||
        (flat ? 1 : e->shape[0]) * e->shape[e->ndim - 1] > (size_t)1 << 30)
        die("%s: input_ids must be an I32 tensor of shape [T+1] or [B, T+1], B, T >= 1, at most 2^30 ids", path);
    b->B = flat ? 1 : (int)e->shape[0];
    b->T = (int)e->shape[e->ndim - 1] - 1;
    const size_t BT = (size_t)b->B * b->T, row = (size_t)b->T + 1;
    int32_t *ids = xmalloc((size_t)b->B * row * sizeof(int32_t));
    st_read_i32(st, "input_ids", ids, (size_t)b->B * row);
    b->inputs = xmalloc(BT * sizeof(int32_t));
    b->targets = xmalloc(BT * sizeof(int32_t));
    for (int r = 0; r < b->B; r++) {
        memcpy(b->inputs + (size_t)r * b->T, ids + r * row, (size_t)b->T * sizeof(int32_t));
        memcpy(b->targets + (size_t)r * b->T, ids + r * row + 1, (size_t)b->T * sizeof(int32_t));
    }
    free(ids);
    b->pos = read_ids(st, path, "position_ids", b->B, b->T, flat);
    b->doc = read_ids(st, path, "doc_start", b->B, b->T, flat);
    check_posids(b, path);
}

static void fixbatch_free(FixBatch *b) {
    free(b->inputs);
    free(b->targets);
    free(b->pos);
    free(b->doc);
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
    FixBatch b;
    read_batch(&st, argv[1], &b);
    const PosIds pids = {b.pos, b.doc, 0};
    const PosIds *ids = b.pos || b.doc ? &pids : NULL;   // NULL: the contiguous path of plain batches
    printf("refcheck %s: batch %d x %d, %d documents, position ids %s, largest %d\n", argv[1], b.B, b.T, b.docs,
           b.pos ? "given" : "0 .. T-1", b.max_id);
    float ref_loss;
    st_read_f32(&st, "loss", &ref_loss, 1);
    model_reserve(&m, b.B, b.T, ACTS_ALL);
    model_reserve_positions(&m, b.max_id + 1);
    model_prepare(&m);
    float loss = model_forward_backward(&m, b.inputs, b.targets, ids, b.B, b.T, 1.0f, ACTS_ALL);
    float eval_loss = model_forward(&m, b.inputs, b.targets, ids, b.B, b.T);

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
    fixbatch_free(&b);
    model_free(&m);
    st_close(&st);
    return check_done("refcheck");
}
