// model.c — the model's allocation and the forward/backward orchestrators of the Llama
// decoder (see model.h; the buffer tables are in tables.c).
#include "model.h"
#include "tables.h"
#include "../dist/dist.h"
#include "layers.h"
#include "../util/util.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void model_init(Model *m, const ModelConfig *c, const char *source) {
    model_config_check(c, source);
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    m->num_params = model_num_params(c);
    m->params_memory = xcalloc(m->num_params, sizeof(float));
    param_views(m);
    position_default(&m->pos);
    model_resolve_position(c, &m->pos);
}

void model_resolve_position(const ModelConfig *c, Position *p) {
    position_resolve(p, c->dim / c->n_heads, c->rope_theta, c->max_seq_len);
}

void model_set_position(Model *m, const Position *p) {
    CHECK(!m->grads_memory, "model_set_position must come before model_prepare");
    int nb = p->bias == BIAS_T5 ? p->t5_buckets : 0;
    if (nb != m->cfg.t5_buckets) {                 // P_T5 is last: other offsets stay put
        size_t old = m->num_params - (m->params.t5_table ? (size_t)m->cfg.t5_buckets * m->cfg.n_heads : 0);
        m->cfg.t5_buckets = nb;
        m->num_params = model_num_params(&m->cfg);
        m->params_memory = xrealloc(m->params_memory, m->num_params * sizeof(float));
        param_views(m);
        assert(!nb || (size_t)(m->params.t5_table - m->params_memory) == old);
        if (nb) t5_init(m->params.t5_table, p, m->cfg.n_heads);
    }
    m->pos = *p;
}

// Pass: the shape and mode of one forward (and its backward): B sequences whose T rows
// are rows [t0, t0 + T) of their sequences; t0 > 0 only in a cached forward (cached: keys
// and values of rows [0, t0) come from the key/value cache). pos, doc (B, T): the rows'
// position ids and document starts (PosIds, materialised); len: the length L that
// dynamic NTK and LongRoPE build their tables for. mode: the activations it keeps.
typedef struct {
    int B, T, t0, len, cached;
    ActsMode mode;
    int ring;                  // PosIds.ring: the rows are this rank's part of a ring's sequences
    const int *pos, *doc;
} Pass;

// attn_scratch: attention's scratch in the current views for a pass: what part_floats
// sizes for its (B, T), so that the backward runs at most attn_threads threads whatever
// else was reserved; a cached forward's keys reach past its T, into the rest of the view.
static AttnScratch attn_scratch(const Model *m, const Pass *ps) {
    const size_t own = acts_part_floats(&m->cfg, m->attn_threads, (size_t)ps->B, (size_t)ps->T);
    return (AttnScratch){m->acts.delta, m->acts.apart, ps->cached ? m->apart_floats : own};
}

// free_prepared: release what model_prepare allocates.
static void free_prepared(Model *m) {
    free(m->grads_memory);
    free(m->acts_memory);
    free(m->rope_cos);
    free(m->rope_sin);
    free(m->alibi);
    free(m->t5_bucket);
    free(m->ids_memory);
    free(m->kv_pos);
    free(m->kv_memory);
    free(m->ring_memory);
    free(m->ring_pos);
}

double model_attention_flops_per_token(const ModelConfig *c, int T) {
    return 3.0 * c->n_layers * 4.0 * c->dim * (T + 1) / 2.0;
}

double model_flops_per_token(const ModelConfig *c, int T) {
    const double C = c->dim, KV = (double)c->n_kv_heads * (c->dim / c->n_heads), H = c->hidden;
    const double nmat = c->n_layers * (2 * C * C + 2 * KV * C + 3 * C * H) + (double)c->vocab * C;
    return 6.0 * nmat + model_attention_flops_per_token(c, T);
}

// ring_prepare: the RingBuffers views over one allocation of floats and one of ints.
static void ring_prepare(Model *m) {
    const size_t n = m->ring_BT * (size_t)m->cfg.n_kv_heads * (size_t)(m->cfg.dim / m->cfg.n_heads);
    m->ring_memory = xmalloc(8 * n * sizeof(float));
    m->ring_pos = xmalloc(2 * m->ring_BT * sizeof(int));
    float *f = m->ring_memory;
    for (int i = 0; i < 2; i++) {
        m->ring.k[i] = f + (0 + i) * n;
        m->ring.v[i] = f + (2 + i) * n;
        m->ring.dk[i] = f + (4 + i) * n;
        m->ring.dv[i] = f + (6 + i) * n;
        m->ring.pos[i] = m->ring_pos + i * m->ring_BT;
    }
}

// rope_tables: the cos/sin tables of m->pos for sequences of length L: every position id
// the model was prepared for, or ids < L when the tables depend on L (no forward of
// length L holds a larger id).
static void rope_tables(Model *m, int L) {
    const int n = rope_tables_depend_on_T(&m->pos) ? L : m->max_P;
    rope_position_tables(m->rope_cos, m->rope_sin, &m->pos, m->cfg.dim / m->cfg.n_heads, n, L);
    m->rope_T = L;
}

void model_prepare(Model *m) {
    CHECK(m->acts_capacity > 0, "model_prepare: no shape was reserved (model_reserve first)");
    const int HS = m->cfg.dim / m->cfg.n_heads;
    free_prepared(m);
    m->max_P = m->max_T > m->max_P ? m->max_T : m->max_P;
    const int P = m->max_P;
    m->grads_memory = xcalloc(m->num_params, sizeof(float));
    model_views(m, m->grads_memory, &m->grads);
    m->acts_memory = xcalloc(m->acts_capacity, sizeof(float));
    m->rope_cos = xmalloc((size_t)P * (size_t)(HS / 2) * sizeof(float));
    m->rope_sin = xmalloc((size_t)P * (size_t)(HS / 2) * sizeof(float));
    rope_tables(m, P);
    m->alibi = xmalloc((size_t)m->cfg.n_heads * sizeof(float));
    alibi_slopes(m->cfg.n_heads, m->alibi);
    m->t5_bucket = xmalloc((size_t)P * sizeof(int));
    for (int n = 0; n < P; n++)
        m->t5_bucket[n] = m->pos.bias == BIAS_T5 ? t5_bucket(n, m->pos.t5_buckets, m->pos.t5_max_distance) : 0;
    m->ids_memory = xmalloc(2 * m->max_BT * sizeof(int));
    if (m->kv_T) {
        const size_t KV = (size_t)m->cfg.n_kv_heads * (size_t)HS;
        m->kv_memory = xmalloc(2 * (size_t)m->cfg.n_layers * (size_t)m->kv_T * KV * sizeof(float));
        m->kv_pos = xmalloc((size_t)m->kv_T * sizeof(int));
    }
    if (m->ring_BT) ring_prepare(m);
}

void model_set_rope(Model *m, const Position *p) {
    CHECK(p->rope == m->pos.rope && p->bias == m->pos.bias && p->t5_buckets == m->pos.t5_buckets &&
          p->t5_max_distance == m->pos.t5_max_distance, "model_set_rope may change only the RoPE settings");
    m->pos = *p;
    if (m->rope_cos) rope_tables(m, m->max_P);
}

void model_free(Model *m) {
    free_prepared(m);
    free(m->params_memory);
    memset(m, 0, sizeof *m);
}

void model_zero_grad(Model *m) {
    if (m->grads_memory) memset(m->grads_memory, 0, m->num_params * sizeof(float));
}

void model_init_random(Model *m, uint64_t seed, float std) {
    TensorSpec s[NUM_PARAMS];
    Rng r = {seed};
    param_specs(&m->cfg, s);
    for (int i = 0; i < NUM_PARAMS; i++) {
        size_t n = spec_numel(&s[i], m->cfg.n_layers);
        for (size_t j = 0; j < n; j++) m->params.t[i][j] = s[i].ndim == 2 ? std * rng_normal(&r) : 1.0f;
    }
}

// attn_bias: the attention bias of the model's position scheme.
static AttnBias attn_bias(const Model *m) {
    return (AttnBias){m->pos.bias, m->alibi, m->params.t5_table, m->t5_bucket, m->cfg.t5_buckets};
}

// LayerActs: the saved activations of layer l — slot l, or the single slot 0 of those a
// pass's mode keeps one layer of. x (layer input) and xnext always have all L.
typedef struct {
    float *x, *xnext, *rstd1, *xn1, *q, *k, *v, *att, *lse, *xmid, *rstd2, *xn2, *hg, *hu, *ha;
} LayerActs;

static LayerActs layer_acts(Model *m, const Pass *ps, int l) {
    const ModelConfig *c = &m->cfg;
    const size_t BT = (size_t)ps->B * ps->T, C = (size_t)c->dim, H = (size_t)c->hidden, NH = (size_t)c->n_heads;
    const size_t KV = (size_t)c->n_kv_heads * (C / NH), s = ps->mode == ACTS_ALL ? (size_t)l : 0;
    const size_t sa = acts_keep_att(ps->mode) ? (size_t)l : 0;
    Activations *a = &m->acts;
    return (LayerActs){
        .x = a->resid + (size_t)l * BT * C, .xnext = l + 1 < c->n_layers ? a->resid + (size_t)(l + 1) * BT * C : a->xout,
        .rstd1 = a->rstd1 + s * BT, .xn1 = a->xn1 + s * BT * C, .q = a->q + s * BT * C, .k = a->k + s * BT * KV,
        .v = a->v + s * BT * KV, .att = a->att + sa * BT * C, .lse = a->lse + sa * BT * NH, .xmid = a->resid_mid + s * BT * C,
        .rstd2 = a->rstd2 + s * BT, .xn2 = a->xn2 + s * BT * C, .hg = a->hgate + s * BT * H, .hu = a->hup + s * BT * H,
        .ha = a->hact + s * BT * H};
}

// cached_attention: a cached forward's attention in layer l: store the keys/values of
// positions [t0, t0 + T) in the cache, then attend over positions [0, t0 + T).
static void cached_attention(Model *m, const Pass *ps, int l, const LayerActs *s, const AttnBias *ab,
                             const AttnScratch *ws) {
    const ModelConfig *c = &m->cfg;
    const int T = ps->T, NH = c->n_heads, NKV = c->n_kv_heads, HS = c->dim / NH;
    const size_t KV = (size_t)NKV * HS, t0 = (size_t)ps->t0, layer = (size_t)m->kv_T * KV;
    float *kc = m->kv_memory + (size_t)l * layer, *vc = kc + (size_t)c->n_layers * layer;
    memcpy(kc + t0 * KV, s->k, (size_t)T * KV * sizeof(float));
    memcpy(vc + t0 * KV, s->v, (size_t)T * KV * sizeof(float));
    attention_forward_cached(s->att, s->lse, s->q, kc, vc, ab, ps->pos, m->kv_pos, ps->doc, ws, ps->t0, T, NH, NKV,
                             HS);
}

// layer_attention: s->att, s->lse of layer l from its q, k, v: over the cache, the ring
// or the pass's own rows.
static void layer_attention(Model *m, const Pass *ps, int l, const LayerActs *s, const AttnBias *ab) {
    const ModelConfig *c = &m->cfg;
    const int B = ps->B, T = ps->T, NH = c->n_heads, NKV = c->n_kv_heads, HS = c->dim / NH;
    const AttnScratch ws = attn_scratch(m, ps);
    if (ps->cached) cached_attention(m, ps, l, s, ab, &ws);
    else if (ps->ring)
        ring_attention_forward(s->att, s->lse, s->q, s->k, s->v, ab, ps->pos, ps->doc, &ws, &m->ring, B, T, NH, NKV, HS);
    else attention_forward(s->att, s->lse, s->q, s->k, s->v, ab, ps->pos, ps->doc, &ws, B, T, NH, NKV, HS);
}

// layer_forward: x -> xnext = xmid + down(swiglu(gate(n2), up(n2))), n2 = rmsnorm(xmid),
// xmid = x + o(attn(rope(q(n1)), rope(k(n1)), v(n1))), n1 = rmsnorm(x).
// refill: the backward of an ACTS_RECOMPUTE or ACTS_INPUTS pass refills the layer slot:
// xnext, and in ACTS_RECOMPUTE attention's output and lse, are kept from the forward
// (bitwise what this would compute), so the down projection, and then attention, do not
// run again.
static void layer_forward(Model *m, const Pass *ps, int l, const AttnBias *ab, int refill) {
    const ModelConfig *c = &m->cfg;
    const int B = ps->B, T = ps->T, C = c->dim, H = c->hidden, NH = c->n_heads, NKV = c->n_kv_heads;
    const int HS = C / NH, KV = NKV * HS;
    const size_t BT = (size_t)B * T;
    const ParamTensors *p = &m->params;
    float *tmp = m->acts.dxn;                       // free in the forward and before layer_backward
    LayerActs s = layer_acts(m, ps, l);
    rmsnorm_forward(s.xn1, s.rstd1, s.x, p->attn_norm + (size_t)l * C, BT, C, c->norm_eps);
    matmul_forward(s.q, s.xn1, p->wq + (size_t)l * C * C, BT, C, C);
    matmul_forward(s.k, s.xn1, p->wk + (size_t)l * KV * C, BT, C, KV);
    matmul_forward(s.v, s.xn1, p->wv + (size_t)l * KV * C, BT, C, KV);
    if (m->pos.rope) {
        rope_forward(s.q, s.q, m->rope_cos, m->rope_sin, ps->pos, B, T, NH, HS);
        rope_forward(s.k, s.k, m->rope_cos, m->rope_sin, ps->pos, B, T, NKV, HS);
    }
    if (!refill || !acts_keep_att(ps->mode)) layer_attention(m, ps, l, &s, ab);
    matmul_forward(tmp, s.att, p->wo + (size_t)l * C * C, BT, C, C);
    residual_forward(s.xmid, s.x, tmp, BT * C);
    rmsnorm_forward(s.xn2, s.rstd2, s.xmid, p->mlp_norm + (size_t)l * C, BT, C, c->norm_eps);
    matmul_forward(s.hg, s.xn2, p->wgate + (size_t)l * H * C, BT, C, H);
    matmul_forward(s.hu, s.xn2, p->wup + (size_t)l * H * C, BT, C, H);
    swiglu_forward(s.ha, s.hg, s.hu, BT * H);
    if (refill) return;
    matmul_forward(tmp, s.ha, p->wdown + (size_t)l * C * H, BT, H, C);
    residual_forward(s.xnext, s.xmid, tmp, BT * C);
}

// zero: clear a backward scratch buffer that the next kernels accumulate into.
static void zero(float *x, size_t n) { memset(x, 0, n * sizeof(float)); }

// layer_backward: the transpose of layer_forward; m->acts.dresid holds dxnext on entry
// and dx on exit (the residual stream accumulates).
static void layer_backward(Model *m, const Pass *ps, int l, const AttnBias *ab) {
    const ModelConfig *c = &m->cfg;
    const int B = ps->B, T = ps->T, C = c->dim, H = c->hidden, NH = c->n_heads, NKV = c->n_kv_heads;
    const int HS = C / NH, KV = NKV * HS;
    const size_t BT = (size_t)B * T;
    const ParamTensors *p = &m->params;
    ParamTensors *g = &m->grads;
    Activations *a = &m->acts;
    LayerActs s = layer_acts(m, ps, l);
    // MLP block: xnext = xmid + down(swiglu(gate(xn2), up(xn2)))
    zero(a->dhact, BT * H); zero(a->dhgate, BT * H); zero(a->dhup, BT * H); zero(a->dxn, BT * C);
    matmul_backward(a->dhact, g->wdown + (size_t)l * C * H, a->dresid, s.ha, p->wdown + (size_t)l * C * H, BT, H, C);
    swiglu_backward(a->dhgate, a->dhup, a->dhact, s.hg, s.hu, BT * H);
    matmul_backward(a->dxn, g->wgate + (size_t)l * H * C, a->dhgate, s.xn2, p->wgate + (size_t)l * H * C, BT, C, H);
    matmul_backward(a->dxn, g->wup + (size_t)l * H * C, a->dhup, s.xn2, p->wup + (size_t)l * H * C, BT, C, H);
    rmsnorm_backward(a->dresid, g->mlp_norm + (size_t)l * C, a->dxn, s.xmid, s.rstd2, p->mlp_norm + (size_t)l * C, BT, C);
    // attention block: xmid = x + o(attn(rope(q(xn1)), rope(k(xn1)), v(xn1))); dresid holds dxmid
    zero(a->datt, BT * C); zero(a->dqr, BT * C); zero(a->dkr, BT * KV); zero(a->dv, BT * KV);
    zero(a->dq, BT * C); zero(a->dk, BT * KV); zero(a->dxn, BT * C);
    matmul_backward(a->datt, g->wo + (size_t)l * C * C, a->dresid, s.att, p->wo + (size_t)l * C * C, BT, C, C);
    const AttnScratch ws = attn_scratch(m, ps);
    if (ps->ring)
        ring_attention_backward(a->dqr, a->dkr, a->dv, g->t5_table, a->datt, s.att, s.lse, s.q, s.k, s.v, ab, ps->pos,
                                ps->doc, &ws, &m->ring, B, T, NH, NKV, HS);
    else attention_backward(a->dqr, a->dkr, a->dv, g->t5_table, a->datt, s.att, s.lse, s.q, s.k, s.v, ab, ps->pos,
                            ps->doc, &ws, B, T, NH, NKV, HS);
    if (m->pos.rope) {
        rope_backward(a->dq, a->dqr, m->rope_cos, m->rope_sin, ps->pos, B, T, NH, HS);
        rope_backward(a->dk, a->dkr, m->rope_cos, m->rope_sin, ps->pos, B, T, NKV, HS);
    } else {
        memcpy(a->dq, a->dqr, BT * C * sizeof(float));
        memcpy(a->dk, a->dkr, BT * KV * sizeof(float));
    }
    matmul_backward(a->dxn, g->wq + (size_t)l * C * C, a->dq, s.xn1, p->wq + (size_t)l * C * C, BT, C, C);
    matmul_backward(a->dxn, g->wk + (size_t)l * KV * C, a->dk, s.xn1, p->wk + (size_t)l * KV * C, BT, C, KV);
    matmul_backward(a->dxn, g->wv + (size_t)l * KV * C, a->dv, s.xn1, p->wv + (size_t)l * KV * C, BT, C, KV);
    rmsnorm_backward(a->dresid, g->attn_norm + (size_t)l * C, a->dxn, s.x, s.rstd1, p->attn_norm + (size_t)l * C, BT, C);
}

// pass_ids: ps->pos and ps->doc from ids (NULL fields: rows t0 + t, one document),
// materialised in m->ids_memory and checked against PosIds' contract; ps->len (when 0):
// the largest position id + 1 (of the whole ring's sequences in a ring pass).
static void pass_ids(Model *m, Pass *ps, const PosIds *ids) {
    const size_t BT = (size_t)ps->B * ps->T;
    int *pos = m->ids_memory, *doc = m->ids_memory + m->max_BT, top = 0;
    const int P = dist_ring_size(), c = dist_ring_rank();
    CHECK(!ps->ring || (ids && ids->pos && m->ring_BT >= BT && ps->T % 2 == 0),
          "a ring pass of %d x %d rows needs position ids and model_reserve_ring", ps->B, ps->T);
    for (size_t i = 0; i < BT; i++) {
        const int t = (int)(i % (size_t)ps->T), row = ps->ring ? ring_row(t, ps->T, P, c) : ps->t0 + t;
        const int first = t == 0 || (ps->ring && t == ps->T / 2);     // the previous row is not here
        pos[i] = ids && ids->pos ? ids->pos[i] : row;
        doc[i] = ids && ids->doc ? ids->doc[i] : 0;
        const int same = !first ? doc[i] == doc[i - 1] : doc[i] < row;   // continues the previous row's document
        const int prev = !first ? pos[i - 1] : ps->cached && row > 0 ? m->kv_pos[row - 1] : 0;
        CHECK(pos[i] >= 0 && pos[i] < m->max_P && (doc[i] == row || (same && pos[i] >= prev)) && doc[i] <= row,
              "position ids: token %zu (row %d) has id %d, document start %d: ids must lie in [0, %d) "
              "(model_reserve_positions), never decrease within a document, and a document starts at its "
              "own row or continues the previous one", i, row, pos[i], doc[i], m->max_P);
        top = pos[i] > top ? pos[i] : top;
    }
    ps->pos = pos;
    ps->doc = doc;
    if (ps->ring) top = dist_ring_max_int(top);
    if (!ps->len) ps->len = top + 1;
    CHECK(top < ps->len, "position id %d is beyond the length %d given to a cached forward", top, ps->len);
    if (ps->cached) memcpy(m->kv_pos + ps->t0, pos, (size_t)ps->T * sizeof(int));
}

// forward_trunk: embeddings, the layers and the final norm of a pass into a->xnf.
static void forward_trunk(Model *m, Pass *ps, const int *inputs, const int *targets, const PosIds *ids) {
    const ModelConfig *c = &m->cfg;
    const int C = c->dim, V = c->vocab;
    const size_t BT = (size_t)ps->B * ps->T;
    CHECK(m->acts_memory && ps->T <= m->max_T && acts_total(c, m->attn_threads, ps->mode, ps->B, ps->T) <= m->acts_capacity,
          "a forward of %d x %d tokens (activations mode %d) exceeds what model_reserve sized for (T <= %d, %zu activation "
          "floats)", ps->B, ps->T, (int)ps->mode, m->max_T, m->acts_capacity);
    for (size_t i = 0; i < BT; i++)
        CHECK(inputs[i] >= 0 && inputs[i] < V && (!targets || (targets[i] >= 0 && targets[i] < V)),
              "token id out of range [0, %d) at position %zu (hint: tokenizer and model vocab differ?)", V, i);
    acts_views(m, ps->mode, ps->B, ps->T);
    pass_ids(m, ps, ids);
    if (rope_tables_depend_on_T(&m->pos) && m->rope_T != ps->len) rope_tables(m, ps->len);   // dynamic NTK, longrope
    const AttnBias ab = attn_bias(m);
    encoder_forward(m->acts.resid, inputs, m->params.embed, BT, C);
    for (int l = 0; l < c->n_layers; l++) layer_forward(m, ps, l, &ab, 0);
    rmsnorm_forward(m->acts.xnf, m->acts.rstdf, m->acts.xout, m->params.final_norm, BT, C, c->norm_eps);
}

// head: the LM head's weight (or its gradient) in t: the embedding when tied.
static float *head(const ModelConfig *c, const ParamTensors *t) { return c->tied ? t->embed : t->lm_head; }

// mean_loss: the mean of a pass's (B*T) per-token losses, summed in double.
static float mean_loss(const Model *m, const Pass *ps) {
    const size_t BT = (size_t)ps->B * ps->T;
    double s = 0.0;
    for (size_t i = 0; i < BT; i++) s += m->acts.losses[i];
    return (float)(s / (double)BT);
}

// forward_loss: a forward-only pass, then its per-token losses when there are targets.
static float forward_loss(Model *m, Pass *ps, const int *inputs, const int *targets, const PosIds *ids) {
    const ModelConfig *c = &m->cfg;
    forward_trunk(m, ps, inputs, targets, ids);
    if (!targets) return NAN;
    const size_t BT = (size_t)ps->B * ps->T;
    lmhead_ce_forward(m->acts.losses, m->acts.xnf, targets, head(c, &m->params), m->acts.logits, BT, c->dim, c->vocab,
                      logits_chunk(BT, c->vocab, ps->mode));
    return mean_loss(m, ps);
}

float model_forward(Model *m, const int *inputs, const int *targets, const PosIds *ids, int B, int T) {
    Pass ps = {.B = B, .T = T, .t0 = 0, .len = 0, .cached = 0, .mode = ACTS_FORWARD, .ring = ids && ids->ring};
    return forward_loss(m, &ps, inputs, targets, ids);
}

float model_forward_cached(Model *m, const int *inputs, const int *targets, const PosIds *ids, int n, int t0,
                           int total) {
    CHECK(!ids || !ids->ring, "model_forward_cached: a cached forward holds whole sequences, not a ring's part");
    CHECK(m->kv_memory && n > 0 && t0 >= 0 && t0 + n <= m->kv_T && total > 0,
          "model_forward_cached: rows [%d, %d) exceed the cache of %d rows (model_reserve_cache)", t0, t0 + n, m->kv_T);
    Pass ps = {.B = 1, .T = n, .t0 = t0, .len = total, .cached = 1, .mode = ACTS_FORWARD};
    return forward_loss(m, &ps, inputs, targets, ids);
}

void model_row_logits(const Model *m, size_t row, float *out) {
    const ModelConfig *c = &m->cfg;
    const float *x = m->acts.xnf + row * (size_t)c->dim, *w = head(c, &m->params);   // x (C), w (V, C)
    for (int v = 0; v < c->vocab; v++) {
        double s = 0.0;
        for (int k = 0; k < c->dim; k++) s += (double)w[(size_t)v * c->dim + k] * x[k];
        out[v] = (float)s;
    }
}

float model_forward_backward(Model *m, const int *inputs, const int *targets, const PosIds *ids, int B, int T,
                             float loss_scale, ActsMode mode) {
    const ModelConfig *c = &m->cfg;
    const int C = c->dim, V = c->vocab;
    const size_t BT = (size_t)B * T;
    Pass ps = {.B = B, .T = T, .t0 = 0, .len = 0, .cached = 0, .mode = mode, .ring = ids && ids->ring};
    CHECK(m->grads_memory && targets, "model_forward_backward needs model_prepare() and targets");
    CHECK(mode != ACTS_FORWARD, "model_forward_backward: ACTS_FORWARD keeps nothing for a backward");
    forward_trunk(m, &ps, inputs, targets, ids);
    ParamTensors *p = &m->params, *g = &m->grads;
    Activations *a = &m->acts;
    const AttnBias ab = attn_bias(m);
    zero(a->dxn, BT * C);
    lmhead_ce_backward(a->dxn, head(c, g), a->losses, loss_scale / (float)BT, a->xnf, targets, head(c, p), a->logits,
                       BT, C, V, logits_chunk(BT, V, mode));
    zero(a->dresid, BT * C);
    rmsnorm_backward(a->dresid, g->final_norm, a->dxn, a->xout, a->rstdf, p->final_norm, BT, C);
    for (int l = c->n_layers - 1; l >= 0; l--) {
        if (mode != ACTS_ALL) layer_forward(m, &ps, l, &ab, 1);    // refill the layer slot
        layer_backward(m, &ps, l, &ab);
    }
    encoder_backward(g->embed, a->dresid, inputs, BT, C);
    return mean_loss(m, &ps);
}
