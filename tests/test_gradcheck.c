// test_gradcheck.c — whole-model gradients against central finite differences, on every
// parameter tensor and inside every layer's slice of the stacked (L, ...) tensors, under
// YaRN RoPE with a non-unit attention factor plus a learned T5 bias, and under plain RoPE
// plus ALiBi; with contiguous positions and with positions as data (PosIds: ids that
// skip, packed documents).
//
// The reference is an independent, plain double-precision forward of the decoder loss
// written here from the math (no kernel of model/ is called): embedding, RMSNorm, q/k/v
// projections, RoPE on interleaved pairs by position id, softmax attention of each token
// over its own document's tokens up to itself, with GQA and the T5 or ALiBi bias of the
// position-id distance, o_proj, residual, RMSNorm, SwiGLU MLP, final norm, LM head, mean
// cross-entropy. Only the per-pair inverse frequencies (rope_inv_freq) and the T5 bucket
// of a distance (t5_bucket) come from model/position.c: tests/test_position.c and the
// PyTorch fixtures of tests/refcheck.c check those separately. The ALiBi slopes are
// computed here (2^(-8 (h + 1) / NH), NH a power of two).
//
// Checks:
//   1. the reference loss at the model's (float) parameters equals model_forward's and
//      model_forward_backward's loss to rtol 1e-5;
//   2. for elements drawn by a seeded RNG from every tensor — per_slice of each layer's
//      slice of a per-layer tensor, per_slice of each other tensor, all of the T5 table —
//      the analytic gradient g of model_forward_backward (float) against the central
//      difference g_fd = (f(p + h) - f(p - h)) / 2h of the double reference, h = 1e-5.
//      g_fd is exact to ~3e-9 (h = 1e-5 and h = 2e-6 agree to 3e-9: truncation h^2 f'''/6
//      plus rounding ~1e-16 / h), so the comparison measures the float gradient's error.
//      Pass: |g - g_fd| <= ATOL + RTOL |g_fd|, ATOL 5e-6, RTOL 3e-4. The float gradients'
//      own noise, measured by re-running with every parameter moved by 1 ulp: standard
//      deviation up to 1.5e-6 per element (layer 0, where gradients reach 0.25), ~1e-7 in
//      layer 1; every deviation from g_fd was within 4 of those deviations. So ATOL is
//      >3 noise deviations of the noisiest element, and a 1% error of a gradient of 5e-3
//      fails (a 0.1% one is below the float noise);
//   3. with recompute on (each layer's input, attention output and lse kept, the rest of
//      each layer re-run in backward into one layer's buffers),
//      the loss and every gradient are bitwise identical to recompute off.
// Position: YaRN with factor 4, original_max 32 and attention factor 1.3 (for HS 8 and
// base 1e4: pair 0 extrapolates, pairs 1-3 interpolate, cos/sin scaled by 1.3), plus the
// T5 bias (8 buckets, max_distance 64, table initialised as the ALiBi prior, non-zero);
// or plain RoPE (base 1e4) plus ALiBi.
// The sequence (T = 288) spans three 128-row attention tiles, so the tiled kernel's
// cross-tile online softmax, its per-tile dq / dk / dv passes and the T5 shortcut (a tile
// whose distances all fall in one bucket: query tile 2 against key tile 0, distances
// 129..287, all in the last bucket) all take part. Three cases: yarn+t5, GQA (NH 4,
// NKV 2), untied, B 2, row 0 contiguous ids and row 1 packed (below); yarn+t5, MQA (NKV
// 1), tied LM head, B 1, no PosIds (NULL: contiguous); rope+alibi, GQA, tied, B 1, packed.
// Packed rows: documents start inside tiles (100, 200, 270 / 150, 260), one has a single
// token (100), one crosses the tile boundary at 256 (so that query tile 2 skips key tile
// 0), ids restart per document and jump by hundreds inside documents (PoSE chunks; the
// largest id is 1017 / 2112, model_reserve_positions).
#include "../model/model.h"
#include "../model/position.h"
#include "../util/util.h"
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ATOL 5e-6
#define RTOL 3e-4
#define FD_H 1e-5          // finite-difference step (absolute; parameters are O(0.1 - 1))
#define MAX_PICK 64        // elements checked per slice at most (the T5 table: all, NB*NH <= 64)

// ---- the model/ API calls that set a model up and run it (one place to adapt) ----------------
// Segment: from row `row` of a batch row on, position ids count up from `id`; `doc`: a
// document starts at that row. A row's list ends with row -1 (or after 8 segments).
typedef struct { int row, id, doc; } Segment;

// Case: one configuration of the check.
typedef struct {
    const char *name;
    ModelConfig cfg;
    Position pos;
    int B, T;
    int per_slice;      // elements checked per tensor, per layer for stacked tensors
    uint64_t seed;
    int packed;         // 0: no PosIds (NULL); else PosIds from seg (a NULL seg[b]: pos = t, one document)
    const Segment *seg[2];
} Case;

// case_ids: pos, doc (B, T) of case k (PosIds' contract); returns the largest id + 1.
static int case_ids(const Case *k, int *pos, int *doc) {
    int P = 0;
    for (int b = 0; b < k->B; b++)
        for (int t = 0, i = -1, d = 0; t < k->T; t++) {
            const Segment *s = k->seg[b];
            if (s && i + 1 < 8 && s[i + 1].row == t) {
                i++;
                d = s[i].doc ? t : d;
            }
            pos[b * k->T + t] = s ? s[i].id + t - s[i].row : t;
            doc[b * k->T + t] = d;
            P = pos[b * k->T + t] + 1 > P ? pos[b * k->T + t] + 1 : P;
        }
    return P;
}

// setup_model: a random model of k (matrices N(0, 0.3^2), norm gains 1 + N(0, 0.1^2) so
// that their gradients are generic, T5 table initialised as the ALiBi prior) prepared for
// one (B, T) forward with position ids < P; mode: what the training step keeps.
static void setup_model(Model *m, const Case *k, int P, ActsMode mode) {
    model_init(m, &k->cfg, k->name);
    model_init_random(m, k->seed, 0.3f);
    Rng r = {k->seed + 1};
    const int C = k->cfg.dim, L = k->cfg.n_layers;
    for (int i = 0; i < L * C; i++) {
        m->params.attn_norm[i] = 1.0f + 0.1f * rng_normal(&r);
        m->params.mlp_norm[i] = 1.0f + 0.1f * rng_normal(&r);
    }
    for (int i = 0; i < C; i++) m->params.final_norm[i] = 1.0f + 0.1f * rng_normal(&r);
    model_set_position(m, &k->pos);     // appends the T5 table (after the random init)
    model_reserve(m, k->B, k->T, mode);
    model_reserve_positions(m, P);
    model_prepare(m);
}

// model_grads: m->grads = d(mean loss)/dparams of the batch (B, T) at ids (NULL:
// contiguous) with the activations of mode; returns the loss.
static float model_grads(Model *m, const int *inputs, const int *targets, const PosIds *ids, int B, int T,
                         ActsMode mode) {
    model_zero_grad(m);
    return model_forward_backward(m, inputs, targets, ids, B, T, 1.0f, mode);
}

// ---- the reference: plain double precision ---------------------------------------------------
// Ref: shapes, the position scheme resolved to numbers, the batch, and where each
// parameter tensor starts in the flat parameter vector (the model's layout, param_specs
// order; SIZE_MAX when absent).
typedef struct {
    int B, T, C, NH, NKV, HS, H, V, L, tied;
    double eps;                     // RMSNorm epsilon
    double inv_freq[POS_MAX_PAIRS]; // (HS/2) RoPE inverse frequency of each pair
    double mscale;                  // cos/sin multiplier (YaRN attention factor)
    int rope;                       // 0: no RoPE
    int NB;                         // T5 buckets (0: no T5 bias)
    const int *bucket;              // (P) T5 bucket of each position-id distance
    int alibi;                      // 1: the ALiBi bias -slope[h] * distance
    double slope[64];               // (NH) ALiBi slopes
    const int *inputs, *targets;    // (B, T)
    const int *pos, *doc;           // (B, T) position ids, document starts (PosIds)
    size_t off[NUM_PARAMS];
} Ref;

// rmsnorm_ref: out[t] = x[t] / sqrt(mean_c x[t,c]^2 + eps) * w. out, x (T, C), w (C).
static void rmsnorm_ref(double *out, const double *x, const double *w, int T, int C, double eps) {
    for (int t = 0; t < T; t++) {
        double ss = 0.0;
        for (int c = 0; c < C; c++) ss += x[t * C + c] * x[t * C + c];
        double r = 1.0 / sqrt(ss / C + eps);
        for (int c = 0; c < C; c++) out[t * C + c] = x[t * C + c] * r * w[c];
    }
}

// linear_ref: out = x W^T (+ out when acc). out (T, OC), x (T, IC), W (OC, IC).
static void linear_ref(double *out, const double *x, const double *W, int T, int IC, int OC, int acc) {
    for (int t = 0; t < T; t++)
        for (int o = 0; o < OC; o++) {
            double s = 0.0;
            for (int i = 0; i < IC; i++) s += x[t * IC + i] * W[o * IC + i];
            out[t * OC + o] = acc ? out[t * OC + o] + s : s;
        }
}

// rope_ref: in place on x (T, NX, HS): pair j = (x[2j], x[2j+1]) of each head of token t
// rotates by the angle pos[t] * inv_freq[j], and is scaled by mscale:
// (x0, x1) -> mscale (x0 cos - x1 sin, x0 sin + x1 cos). pos (T).
static void rope_ref(double *x, const Ref *r, const int *pos, int T, int NX) {
    const int HS = r->HS;
    for (int t = 0; t < T; t++)
        for (int j = 0; j < HS / 2; j++) {
            const double a = pos[t] * r->inv_freq[j], c = cos(a) * r->mscale, s = sin(a) * r->mscale;
            for (int h = 0; h < NX; h++) {
                double *p = x + ((size_t)t * NX + h) * HS + 2 * j, x0 = p[0], x1 = p[1];
                p[0] = x0 * c - x1 * s;
                p[1] = x0 * s + x1 * c;
            }
        }
}

// attention_ref: out (T, NH, HS) = sum_{doc[t] <= s <= t} softmax_s(q_t . k_s / sqrt(HS)
// + bias_h(pos[t] - pos[s])) v_s, query head h reading kv head h / (NH / NKV); the bias
// is table[bucket(n), h] (T5), -slope[h] n (ALiBi) or 0. q (T, NH, HS), k, v (T, NKV,
// HS), table (NB, NH), pos, doc (T); p (T) scratch.
static void attention_ref(double *out, const double *q, const double *k, const double *v, const double *table,
                          const Ref *r, const int *pos, const int *doc, double *p) {
    const int T = r->T, NH = r->NH, NKV = r->NKV, HS = r->HS, G = NH / NKV;
    const double scale = 1.0 / sqrt((double)HS);
    for (int h = 0; h < NH; h++)
        for (int t = 0; t < T; t++) {
            const double *qt = q + ((size_t)t * NH + h) * HS;
            double mx = -INFINITY, sum = 0.0;
            for (int s = doc[t]; s <= t; s++) {
                const double *ks = k + ((size_t)s * NKV + h / G) * HS;
                const int n = pos[t] - pos[s];
                double d = 0.0;
                for (int e = 0; e < HS; e++) d += qt[e] * ks[e];
                p[s] = d * scale + (r->NB ? table[(size_t)r->bucket[n] * NH + h] : r->alibi ? -r->slope[h] * n : 0.0);
                mx = p[s] > mx ? p[s] : mx;
            }
            for (int s = doc[t]; s <= t; s++) sum += (p[s] = exp(p[s] - mx));
            double *o = out + ((size_t)t * NH + h) * HS;
            for (int e = 0; e < HS; e++) o[e] = 0.0;
            for (int s = doc[t]; s <= t; s++) {
                const double *vs = v + ((size_t)s * NKV + h / G) * HS;
                for (int e = 0; e < HS; e++) o[e] += p[s] * vs[e];
            }
            for (int e = 0; e < HS; e++) o[e] /= sum;
        }
}

// ref_loss: the mean over (B, T) of -log softmax(logits)[target] for the parameters P
// (flat, the model's layout). xs (L + 1, B, T, C) holds the residual stream entering each
// layer (index L: entering the final norm): a call with save = 1 fills it; with save = 0
// the layers before `from` are not run but their output is read from xs, which is exact
// when P differs from the saving call's parameters only in layer `from` or later.
static double ref_loss(const Ref *r, const double *P, int from, double *xs, int save) {
    const int T = r->T, C = r->C, NH = r->NH, HS = r->HS, KV = r->NKV * HS, H = r->H, V = r->V;
    const size_t sT = (size_t)T;
    double *x = xmalloc(sizeof(double) * (sT * (4 * C + 2 * KV + 3 * H + V) + sT));
    double *xn = x + sT * C, *q = xn + sT * C, *att = q + sT * C, *k = att + sT * C;
    double *v = k + sT * KV, *hg = v + sT * KV, *hu = hg + sT * H, *ha = hu + sT * H, *logits = ha + sT * H;
    double *p = logits + sT * V;
    const double *table = r->NB ? P + r->off[P_T5] : NULL;
    const double *head = P + (r->tied ? r->off[P_EMBED] : r->off[P_LM_HEAD]);
    double total = 0.0;
    for (int b = 0; b < r->B; b++) {
        const int *in = r->inputs + (size_t)b * T, *tg = r->targets + (size_t)b * T;
        const int *pos = r->pos + (size_t)b * T, *doc = r->doc + (size_t)b * T;
        const size_t xs_layer = (size_t)r->B * sT * C;     // stride of xs between layers
        double *xsb = xs + (size_t)b * sT * C;
        if (from == 0)
            for (int t = 0; t < T; t++)
                for (int c = 0; c < C; c++) x[t * C + c] = P[r->off[P_EMBED] + (size_t)in[t] * C + c];
        else memcpy(x, xsb + (size_t)from * xs_layer, sizeof(double) * sT * C);
        for (int l = from; l <= r->L; l++) {
            if (save) memcpy(xsb + (size_t)l * xs_layer, x, sizeof(double) * sT * C);
            if (l == r->L) break;
            const size_t lC = (size_t)l * C, lCC = lC * C, lKC = (size_t)l * KV * C, lHC = (size_t)l * H * C;
            // x += o_proj(attn(rope(q(n1)), rope(k(n1)), v(n1))), n1 = rmsnorm(x)
            rmsnorm_ref(xn, x, P + r->off[P_ATTN_NORM] + lC, T, C, r->eps);
            linear_ref(q, xn, P + r->off[P_WQ] + lCC, T, C, C, 0);
            linear_ref(k, xn, P + r->off[P_WK] + lKC, T, C, KV, 0);
            linear_ref(v, xn, P + r->off[P_WV] + lKC, T, C, KV, 0);
            if (r->rope) {
                rope_ref(q, r, pos, T, NH);
                rope_ref(k, r, pos, T, r->NKV);
            }
            attention_ref(att, q, k, v, table, r, pos, doc, p);
            linear_ref(x, att, P + r->off[P_WO] + lCC, T, C, C, 1);
            // x += down(silu(gate(n2)) * up(n2)), n2 = rmsnorm(x)
            rmsnorm_ref(xn, x, P + r->off[P_MLP_NORM] + lC, T, C, r->eps);
            linear_ref(hg, xn, P + r->off[P_WGATE] + lHC, T, C, H, 0);
            linear_ref(hu, xn, P + r->off[P_WUP] + lHC, T, C, H, 0);
            for (size_t i = 0; i < sT * H; i++) ha[i] = hg[i] / (1.0 + exp(-hg[i])) * hu[i];
            linear_ref(x, ha, P + r->off[P_WDOWN] + lHC, T, H, C, 1);
        }
        rmsnorm_ref(xn, x, P + r->off[P_FINAL_NORM], T, C, r->eps);
        linear_ref(logits, xn, head, T, C, V, 0);
        for (int t = 0; t < T; t++) {
            const double *z = logits + (size_t)t * V;
            double mx = z[0], s = 0.0;
            for (int i = 1; i < V; i++) mx = z[i] > mx ? z[i] : mx;
            for (int i = 0; i < V; i++) s += exp(z[i] - mx);
            total += mx + log(s) - z[tg[t]];
        }
    }
    free(x);
    return total / ((double)r->B * T);
}

// ---- the check ---------------------------------------------------------------------------------
// Slice: the elements checked of one tensor (one layer's slice of a stacked one).
typedef struct {
    int tensor, layer;          // layer -1: not per layer
    int from;                   // the first layer whose input the tensor changes (L: none)
    size_t base, n;             // flat offset and size of the slice
    int count;                  // elements checked
    size_t idx[MAX_PICK];       // their offsets within the slice
} Slice;

// pick: count distinct offsets in [0, n) (all of them when count >= n), from r.
static int pick(size_t *idx, size_t n, int count, Rng *r) {
    if ((size_t)count >= n) {
        for (size_t i = 0; i < n; i++) idx[i] = i;
        return (int)n;
    }
    for (int i = 0; i < count; i++) {
        size_t j;
        int dup;
        do {
            j = rng_below(r, n);
            dup = 0;
            for (int e = 0; e < i; e++) dup |= idx[e] == j;
        } while (dup);
        idx[i] = j;
    }
    return count;
}

// slice_name: "layer l <tensor>" or the tensor's name.
static void slice_name(char *out, size_t cap, const TensorSpec *s, int layer) {
    const char *short_name = strstr(s->name, "%d.") ? strstr(s->name, "%d.") + 3 : s->name;
    if (layer >= 0) snprintf(out, cap, "layer %d %s", layer, short_name);
    else snprintf(out, cap, "%s", short_name);
}

static double worst_abs = 0.0, worst_rel = 0.0, worst_ratio = 0.0;   // over all checked elements
static int elements_checked = 0;

// run_case: checks 1-3 of the header on case k.
static void run_case(const Case *k) {
    const ModelConfig *cfg = &k->cfg;
    const int B = k->B, T = k->T, BT = B * T;
    int *pos = xmalloc(sizeof(int) * (size_t)BT), *doc = xmalloc(sizeof(int) * (size_t)BT);
    const int NP_ids = case_ids(k, pos, doc);
    const PosIds ids = {pos, doc, 0}, *idp = k->packed ? &ids : NULL;
    printf("== %s: C %d, NH %d, NKV %d, HS %d, H %d, V %d, L %d, %s, B %d, T %d, %s\n", k->name, cfg->dim, cfg->n_heads,
           cfg->n_kv_heads, cfg->dim / cfg->n_heads, cfg->hidden, cfg->vocab, cfg->n_layers,
           cfg->tied ? "tied" : "untied", B, T, k->packed ? "PosIds (packed rows)" : "contiguous (no PosIds)");
    if (k->packed) {
        printf("   ids (row: first id of each segment, | where a document starts):");
        for (int b = 0; b < B; b++) {
            printf("%s row %d:", b ? ";" : "", b);
            for (int t = 0; t < T; t++)
                if (t == 0 || pos[b * T + t] != pos[b * T + t - 1] + 1 || doc[b * T + t] == t)
                    printf(" %s%d@%d", doc[b * T + t] == t ? "|" : "", pos[b * T + t], t);
        }
        printf("; largest id %d\n", NP_ids - 1);
    }
    Rng rng = {k->seed + 2};
    int *inputs = xmalloc(sizeof(int) * (size_t)BT), *targets = xmalloc(sizeof(int) * (size_t)BT);
    for (int i = 0; i < BT; i++) {
        inputs[i] = (int)rng_below(&rng, (size_t)cfg->vocab);
        targets[i] = (int)rng_below(&rng, (size_t)cfg->vocab);
    }
    Model m, mr;
    setup_model(&m, k, NP_ids, ACTS_ALL);
    const float loss_fwd = model_forward(&m, inputs, targets, idp, B, T);
    const float loss_fb = model_grads(&m, inputs, targets, idp, B, T, ACTS_ALL);

    // the reference, at the model's parameters converted to double
    Ref r = {.B = B, .T = T, .C = cfg->dim, .NH = cfg->n_heads, .NKV = cfg->n_kv_heads, .HS = cfg->dim / cfg->n_heads,
             .H = cfg->hidden, .V = cfg->vocab, .L = cfg->n_layers, .tied = cfg->tied, .eps = cfg->norm_eps,
             .rope = k->pos.rope, .NB = k->pos.bias == BIAS_T5 ? k->pos.t5_buckets : 0,
             .alibi = k->pos.bias == BIAS_ALIBI, .inputs = inputs, .targets = targets, .pos = pos, .doc = doc};
    rope_inv_freq(&k->pos, r.HS, NP_ids, r.inv_freq, &r.mscale);    // the length L: the largest id + 1
    for (int h = 0; h < r.NH; h++) r.slope[h] = pow(2.0, -8.0 * (h + 1) / r.NH);
    if (r.rope) {
        printf("   RoPE inverse frequencies");
        for (int j = 0; j < r.HS / 2; j++) printf(" %.4g", r.inv_freq[j]);
        printf(", cos/sin x %.3g\n", r.mscale);
    }
    int *bucket = xmalloc(sizeof(int) * (size_t)NP_ids);
    for (int n = 0; n < NP_ids; n++) bucket[n] = r.NB ? t5_bucket(n, r.NB, k->pos.t5_max_distance) : 0;
    r.bucket = bucket;
    for (int i = 0; i < NUM_PARAMS; i++) r.off[i] = m.params.t[i] ? (size_t)(m.params.t[i] - m.params_memory) : SIZE_MAX;
    const size_t NP = m.num_params;
    double *P = xmalloc(sizeof(double) * NP);
    for (size_t i = 0; i < NP; i++) P[i] = m.params_memory[i];
    double *xs = xmalloc(sizeof(double) * (size_t)(cfg->n_layers + 1) * (size_t)BT * (size_t)cfg->dim);
    const double loss_ref = ref_loss(&r, P, 0, xs, 1);
    CHECK_CLOSE("loss: model_forward vs reference", loss_fwd, loss_ref, 0.0, 1e-5);
    CHECK_CLOSE("loss: model_forward_backward vs reference", loss_fb, loss_ref, 0.0, 1e-5);

    // the slices and their elements
    TensorSpec s[NUM_PARAMS];
    param_specs(&m.cfg, s);
    Slice *sl = xcalloc((size_t)NUM_PARAMS * (size_t)cfg->n_layers, sizeof(Slice));
    int ns = 0, ne = 0;
    Rng pr = {k->seed + 3};
    for (int i = 0; i < NUM_PARAMS; i++) {
        if (!m.params.t[i]) continue;
        const size_t per = spec_numel(&s[i], 1);
        for (int l = 0; l < (s[i].per_layer ? cfg->n_layers : 1); l++) {
            Slice *e = &sl[ns++];
            e->tensor = i;
            e->layer = s[i].per_layer ? l : -1;
            e->from = s[i].per_layer ? l : i == P_FINAL_NORM || i == P_LM_HEAD ? cfg->n_layers : 0;
            e->base = r.off[i] + (size_t)l * per;
            e->n = per;
            e->count = pick(e->idx, per, i == P_T5 ? MAX_PICK : k->per_slice < MAX_PICK ? k->per_slice : MAX_PICK, &pr);
            ne += e->count;
        }
    }
    // flat list of the elements (and the layer their forward starts from) for the threads
    size_t *flat = xmalloc(sizeof(size_t) * (size_t)ne);
    int *from = xmalloc(sizeof(int) * (size_t)ne);
    double *fd = xmalloc(sizeof(double) * (size_t)ne);
    for (int a = 0, n = 0; a < ns; a++)
        for (int e = 0; e < sl[a].count; e++, n++) {
            flat[n] = sl[a].base + sl[a].idx[e];
            from[n] = sl[a].from;
        }
    double t0 = now_seconds();
    #pragma omp parallel
    {
        double *Pt = xmalloc(sizeof(double) * NP);
        memcpy(Pt, P, sizeof(double) * NP);
        #pragma omp for schedule(dynamic, 1)
        for (int n = 0; n < ne; n++) {
            const size_t j = flat[n];
            Pt[j] = P[j] + FD_H;
            const double lp = ref_loss(&r, Pt, from[n], xs, 0);
            Pt[j] = P[j] - FD_H;
            const double lm = ref_loss(&r, Pt, from[n], xs, 0);
            Pt[j] = P[j];
            fd[n] = (lp - lm) / (2.0 * FD_H);
        }
        free(Pt);
    }
    printf("   %d elements, %d finite differences of the reference in %.1f s\n", ne, 2 * ne, now_seconds() - t0);

    // one line per slice: pass iff every element passes; shows the element nearest to failing
    for (int a = 0, n = 0; a < ns; a++) {
        const Slice *e = &sl[a];
        double wr = -1.0, wg = 0.0, wf = 0.0;
        size_t wi = 0;
        int ok = 1;
        for (int c = 0; c < e->count; c++, n++) {
            const double g = m.grads_memory[flat[n]], err = fabs(g - fd[n]), tol = ATOL + RTOL * fabs(fd[n]);
            ok &= err <= tol;
            if (!(err / tol <= wr)) { wr = err / tol; wg = g; wf = fd[n]; wi = e->idx[c]; }
            worst_abs = err > worst_abs ? err : worst_abs;
            if (fabs(fd[n]) > 1e2 * ATOL) worst_rel = err / fabs(fd[n]) > worst_rel ? err / fabs(fd[n]) : worst_rel;
            worst_ratio = err / tol > worst_ratio ? err / tol : worst_ratio;
            elements_checked++;
        }
        char name[128], what[192];
        slice_name(name, sizeof name, &s[e->tensor], e->layer);
        snprintf(what, sizeof what, "grad %s (%d of %zu; worst [%zu])", name, e->count, e->n, wi);
        check_report(ok, what, wg, wf);
    }

    // recompute (true, full): the same parameters must give bitwise the same loss and gradients
    const ActsMode modes[2] = {ACTS_RECOMPUTE, ACTS_INPUTS};
    for (int r = 0; r < 2; r++) {
        const ActsMode mode = modes[r];
        const char *name = mode == ACTS_RECOMPUTE ? "recompute true" : "recompute full";
        char what[96];
        setup_model(&mr, k, NP_ids, mode);
        CHECK_EQ("recompute: parameter count", mr.num_params, NP);
        memcpy(mr.params_memory, m.params_memory, sizeof(float) * NP);
        const float loss_rc = model_grads(&mr, inputs, targets, idp, B, T, mode);
        size_t differ = 0;
        for (size_t i = 0; i < NP; i++) differ += memcmp(&mr.grads_memory[i], &m.grads_memory[i], sizeof(float)) != 0;
        snprintf(what, sizeof what, "%s: loss bitwise equal to recompute off", name);
        CHECK_TRUE(what, memcmp(&loss_rc, &loss_fb, sizeof(float)) == 0);
        snprintf(what, sizeof what, "%s: gradients differing from recompute off (bits)", name);
        CHECK_EQ(what, differ, (size_t)0);
        model_free(&mr);
    }

    free(flat);
    free(from);
    free(xs);
    free(fd);
    free(sl);
    free(P);
    free(bucket);
    free(inputs);
    free(targets);
    free(pos);
    free(doc);
    model_free(&m);
}

int main(void) {
    double t0 = now_seconds();
    Position yarn_t5;                  // through the config's parser and checks, for HS 8, L_o 32
    position_parse_json(&yarn_t5, "{\"rope\": {\"scaling\": \"yarn\", \"factor\": 4, \"attention_factor\": 1.3}, "
                        "\"bias\": \"t5\", \"t5\": {\"num_buckets\": 8, \"max_distance\": 64, \"init\": \"alibi\"}}", "gradcheck");
    position_resolve(&yarn_t5, 8, 10000.0, 32);
    Position rope_alibi;               // plain RoPE, base 1e4, plus ALiBi
    position_parse_json(&rope_alibi, "{\"bias\": \"alibi\"}", "gradcheck");
    position_resolve(&rope_alibi, 8, 10000.0, 32);
    // packed rows (Segment: row, first id, document starts): documents at 0, 100 (one
    // token), 101, 200, 270 / 0, 150, 260; ids jump inside documents at 40, 230 / 60, 275
    static const Segment packed[] = {{0, 0, 1}, {40, 540, 0}, {100, 0, 1}, {101, 3, 1}, {200, 20, 1},
                                     {230, 700, 0}, {270, 1000, 1}, {-1, 0, 0}};
    static const Segment packed2[] = {{0, 0, 1}, {60, 400, 0}, {150, 0, 1}, {260, 2000, 1}, {275, 2100, 0}, {-1, 0, 0}};
    const Case cases[] = {
        {"yarn+t5, GQA, untied", {.dim = 32, .hidden = 48, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .vocab = 19,
                                  .max_seq_len = 32, .norm_eps = 1e-5f, .rope_theta = 10000.0f, .tied = 0},
         yarn_t5, 2, 288, 12, 1234, 1, {NULL, packed}},
        {"yarn+t5, MQA, tied", {.dim = 32, .hidden = 40, .n_layers = 2, .n_heads = 4, .n_kv_heads = 1, .vocab = 23,
                                .max_seq_len = 32, .norm_eps = 1e-5f, .rope_theta = 10000.0f, .tied = 1},
         yarn_t5, 1, 288, 8, 99, 0, {NULL, NULL}},
        {"rope+alibi, GQA, tied", {.dim = 32, .hidden = 40, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .vocab = 17,
                                   .max_seq_len = 32, .norm_eps = 1e-5f, .rope_theta = 10000.0f, .tied = 1},
         rope_alibi, 1, 288, 8, 4321, 1, {packed2, NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
    printf("checked %d gradient elements: worst |g - g_fd| %.3e, worst relative %.3e (where |g_fd| > %.0e), "
           "worst error / tolerance %.3f (atol %.0e, rtol %.0e); %.1f s\n",
           elements_checked, worst_abs, worst_rel, 1e2 * ATOL, worst_ratio, ATOL, RTOL, now_seconds() - t0);
    return check_done("test_gradcheck");
}
