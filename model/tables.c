// tables.c — the model's two buffer tables: the parameters' {name, shape} table with its
// views, counts and config checks, and the activations' sizes and layout in their one
// allocation, with the model_reserve family that sizes it for the largest pass a run
// will see (see model.h, tables.h).
#include "tables.h"
#include "layers.h"
#include "../util/util.h"

#include <assert.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

void param_specs(const ModelConfig *c, TensorSpec s[NUM_PARAMS]) {
    size_t C = (size_t)c->dim, H = (size_t)c->hidden, V = (size_t)c->vocab;
    size_t KV = (size_t)c->n_kv_heads * (C / (size_t)c->n_heads);
    const TensorSpec specs[NUM_PARAMS] = {
        [P_EMBED] = {.name = "model.embed_tokens.weight", .ndim = 2, .shape = {V, C}, .decay = 1},
        [P_ATTN_NORM] = {.name = "model.layers.%d.input_layernorm.weight", .per_layer = 1, .ndim = 1, .shape = {C, 0}},
        [P_WQ] = {.name = "model.layers.%d.self_attn.q_proj.weight", .per_layer = 1, .ndim = 2, .shape = {C, C},
                  .decay = 1, .rope_rows = c->n_heads},
        [P_WK] = {.name = "model.layers.%d.self_attn.k_proj.weight", .per_layer = 1, .ndim = 2, .shape = {KV, C},
                  .decay = 1, .rope_rows = c->n_kv_heads},
        [P_WV] = {.name = "model.layers.%d.self_attn.v_proj.weight", .per_layer = 1, .ndim = 2, .shape = {KV, C}, .decay = 1},
        [P_WO] = {.name = "model.layers.%d.self_attn.o_proj.weight", .per_layer = 1, .ndim = 2, .shape = {C, C}, .decay = 1},
        [P_MLP_NORM] = {.name = "model.layers.%d.post_attention_layernorm.weight", .per_layer = 1, .ndim = 1, .shape = {C, 0}},
        [P_WGATE] = {.name = "model.layers.%d.mlp.gate_proj.weight", .per_layer = 1, .ndim = 2, .shape = {H, C}, .decay = 1},
        [P_WUP] = {.name = "model.layers.%d.mlp.up_proj.weight", .per_layer = 1, .ndim = 2, .shape = {H, C}, .decay = 1},
        [P_WDOWN] = {.name = "model.layers.%d.mlp.down_proj.weight", .per_layer = 1, .ndim = 2, .shape = {C, H}, .decay = 1},
        [P_FINAL_NORM] = {.name = "model.norm.weight", .ndim = 1, .shape = {C, 0}},
        [P_LM_HEAD] = {.name = "lm_head.weight", .ndim = 2, .shape = {c->tied ? 0 : V, c->tied ? 0 : C}, .decay = 1},
        [P_T5] = {.name = T5_TABLE_NAME, .ndim = 2, .shape = {(size_t)c->t5_buckets, c->t5_buckets ? (size_t)c->n_heads : 0}},
    };
    memcpy(s, specs, sizeof specs);
}

int model_first_nonfinite(const Model *m, const float *memory, size_t lo, size_t hi, char *name, size_t cap, float *v) {
    size_t at = lo;
    while (at < hi && isfinite(memory[at])) at++;
    if (at == hi) return 0;
    *v = memory[at];
    TensorSpec specs[NUM_PARAMS];
    param_specs(&m->cfg, specs);
    size_t start = 0;
    for (int k = 0; k < NUM_PARAMS; k++) {
        const size_t n = spec_numel(&specs[k], m->cfg.n_layers);
        if (at < start + n) {
            const size_t per = specs[k].per_layer ? n / (size_t)m->cfg.n_layers : n;
            snprintf(name, cap, specs[k].name, (int)((at - start) / per));
            return 1;
        }
        start += n;
    }
    snprintf(name, cap, "parameter element %zu", at);
    return 1;
}

size_t spec_numel(const TensorSpec *s, int n_layers) {
    size_t n = s->shape[0] * (s->ndim == 2 ? s->shape[1] : 1);
    return s->per_layer ? n * (size_t)n_layers : n;
}

void model_config_check(const ModelConfig *c, const char *src) {
    const int lim = 1 << 24;
    if (c->dim <= 0 || c->hidden <= 0 || c->n_layers <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 || c->vocab <= 0)
        die("%s: impossible model shape: dim %d, hidden %d, layers %d, heads %d, kv heads %d, vocab %d "
            "(all must be positive)", src, c->dim, c->hidden, c->n_layers, c->n_heads, c->n_kv_heads, c->vocab);
    if (c->dim > lim || c->hidden > lim || c->n_layers > 4096 || c->vocab > lim || c->n_heads > c->dim)
        die("%s: implausible model shape: dim %d, hidden %d, layers %d, heads %d, vocab %d", src, c->dim,
            c->hidden, c->n_layers, c->n_heads, c->vocab);
    if (c->dim % c->n_heads) die("%s: dim %d is not divisible by n_heads %d", src, c->dim, c->n_heads);
    if (c->n_kv_heads > c->n_heads || c->n_heads % c->n_kv_heads)
        die("%s: n_kv_heads %d must divide n_heads %d", src, c->n_kv_heads, c->n_heads);
    if ((c->dim / c->n_heads) % 2) die("%s: head size %d is odd; RoPE needs pairs", src, c->dim / c->n_heads);
    if (c->dim / c->n_heads > 2 * POS_MAX_PAIRS)
        die("%s: head size %d exceeds the supported %d", src, c->dim / c->n_heads, 2 * POS_MAX_PAIRS);
    if (!(c->norm_eps > 0.0f) || !(c->rope_theta > 1.0f))
        die("%s: norm_eps %g must be > 0 and rope_theta %g > 1", src, c->norm_eps, c->rope_theta);
}

size_t model_num_params(const ModelConfig *c) {
    TensorSpec s[NUM_PARAMS];
    size_t n = 0;
    param_specs(c, s);
    for (int i = 0; i < NUM_PARAMS; i++) n += spec_numel(&s[i], c->n_layers);
    return n;
}

void param_views(Model *m) {
    TensorSpec s[NUM_PARAMS];
    float *p = m->params_memory;
    param_specs(&m->cfg, s);
    for (int i = 0; i < NUM_PARAMS; i++) {
        size_t n = spec_numel(&s[i], m->cfg.n_layers);
        m->params.t[i] = n ? p : NULL;
        p += n;
    }
}

void model_views(const Model *m, float *base, ParamTensors *out) {
    for (int i = 0; i < NUM_PARAMS; i++) out->t[i] = m->params.t[i] ? base + (m->params.t[i] - m->params_memory) : NULL;
}

size_t logits_chunk(size_t rows, int V, ActsMode mode) {
    size_t c = (mode == ACTS_ALL ? LOGITS_CHUNK_FLOATS_ALL : LOGITS_CHUNK_FLOATS) / (size_t)V;
    c = c < 1 ? 1 : c;
    return rows < c ? rows : c;
}

// acts_part_floats: attention's scratch (AttnScratch.part) for a (B, T) pass on
// `threads` threads (Model.attn_threads; more OpenMP threads than that use only that many
// in the attention backward).
size_t acts_part_floats(const ModelConfig *c, int threads, size_t B, size_t T) {
    return attention_part_floats((int)B, (int)T, c->n_heads, c->n_kv_heads, c->dim / c->n_heads, c->t5_buckets, threads);
}

int acts_keep_att(ActsMode mode) { return mode == ACTS_ALL || mode == ACTS_RECOMPUTE; }

// acts_sizes: floats of each activation for a (B, T) pass in `mode`.
static void acts_sizes(const ModelConfig *c, int threads, ActsMode mode, size_t B, size_t T, size_t n[NUM_ACTS]) {
    size_t LR = (size_t)c->n_layers, L = mode == ACTS_ALL ? LR : 1, LA = acts_keep_att(mode) ? LR : 1;
    size_t C = (size_t)c->dim, H = (size_t)c->hidden, V = (size_t)c->vocab;
    size_t NH = (size_t)c->n_heads, KV = (size_t)c->n_kv_heads * (C / NH), BT = B * T;
    size_t sz[NUM_ACTS] = {
        [A_RESID] = LR * BT * C, [A_RSTD1] = L * BT, [A_XN1] = L * BT * C, [A_Q] = L * BT * C,
        [A_K] = L * BT * KV, [A_V] = L * BT * KV, [A_ATT] = LA * BT * C, [A_LSE] = LA * B * NH * T,
        [A_RESID_MID] = L * BT * C, [A_RSTD2] = L * BT, [A_XN2] = L * BT * C, [A_HGATE] = L * BT * H,
        [A_HUP] = L * BT * H, [A_HACT] = L * BT * H, [A_XOUT] = BT * C, [A_RSTDF] = BT, [A_XNF] = BT * C,
        [A_LOGITS] = logits_chunk(BT, (int)V, mode) * V, [A_LOSSES] = BT, [A_DRESID] = BT * C, [A_DXN] = BT * C,
        [A_DQ] = BT * C, [A_DK] = BT * KV, [A_DV] = BT * KV, [A_DQR] = BT * C, [A_DKR] = BT * KV,
        [A_DATT] = BT * C, [A_DHGATE] = BT * H, [A_DHUP] = BT * H, [A_DHACT] = BT * H, [A_DELTA] = B * NH * T,
        [A_APART] = acts_part_floats(c, threads, B, T),
    };
    memcpy(n, sz, sizeof sz);
}

// acts_layout: off[i], the offset of activation i of sizes n in acts_memory, in enum
// order, except that the MLP's backward scratch (A_DHGATE .. A_DHACT) starts where
// attention's (A_DQ .. A_DATT) does: layer_backward is done with one before it uses the
// other. Returns the floats of all.
static size_t acts_layout(const size_t n[NUM_ACTS], size_t off[NUM_ACTS]) {
    size_t at = 0, attn_end = 0;
    for (int i = 0; i < NUM_ACTS; i++) {
        if (i == A_DHGATE) attn_end = at, at = off[A_DQ];
        if (i == A_DELTA) at = at > attn_end ? at : attn_end;
        off[i] = at;
        at += n[i];
    }
    return at;
}

// acts_views: attention's scratch, the last view, gets the rest of the allocation: a
// cached forward's keys reach past its own T (model_reserve_cache sized for them).
void acts_views(Model *m, ActsMode mode, int B, int T) {
    size_t n[NUM_ACTS], off[NUM_ACTS];
    acts_sizes(&m->cfg, m->attn_threads, mode, (size_t)B, (size_t)T, n);
    const size_t total = acts_layout(n, off);
    assert(total <= m->acts_capacity);
    for (int i = 0; i < NUM_ACTS; i++) m->acts.t[i] = m->acts_memory + off[i];
    m->apart_floats = m->acts_capacity - off[A_APART];
}

_Static_assert(A_APART == NUM_ACTS - 1, "attention's scratch is the last activation (acts_views)");

size_t acts_total(const ModelConfig *c, int threads, ActsMode mode, int B, int T) {
    size_t n[NUM_ACTS], off[NUM_ACTS];
    acts_sizes(c, threads, mode, (size_t)B, (size_t)T, n);
    return acts_layout(n, off);
}

// reserve: grow the sizes the next allocation must cover.
static void reserve(Model *m, int B, int T, ActsMode mode) {
    CHECK(B > 0 && T > 0, "model_reserve: batch %d x %d must be positive", B, T);
    if (!m->attn_threads) m->attn_threads = omp_get_max_threads() < 8 ? omp_get_max_threads() : 8;
    size_t total = acts_total(&m->cfg, m->attn_threads, mode, B, T);
    m->acts_capacity = total > m->acts_capacity ? total : m->acts_capacity;
    m->max_T = T > m->max_T ? T : m->max_T;
    m->max_BT = (size_t)B * (size_t)T > m->max_BT ? (size_t)B * (size_t)T : m->max_BT;
}

void model_reserve(Model *m, int B, int T, ActsMode mode) {
    CHECK(!m->acts_memory, "model_reserve must come before model_prepare");
    reserve(m, B, T, mode);
}

void model_reserve_positions(Model *m, int P) {
    CHECK(!m->acts_memory, "model_reserve_positions must come before model_prepare");
    CHECK(P > 0, "model_reserve_positions: %d positions", P);
    m->max_P = P > m->max_P ? P : m->max_P;
}

void model_reserve_ring(Model *m, int B, int T, ActsMode mode) {
    CHECK(!m->acts_memory, "model_reserve_ring must come before model_prepare");
    CHECK(T % 2 == 0, "model_reserve_ring: %d local rows do not split into two chunks", T);
    reserve(m, B, T, mode);
    m->ring_BT = (size_t)B * (size_t)T > m->ring_BT ? (size_t)B * (size_t)T : m->ring_BT;
}

void model_reserve_cache(Model *m, int T) {
    CHECK(!m->acts_memory, "model_reserve_cache must come before model_prepare");
    reserve(m, 1, T, ACTS_FORWARD);
    m->kv_T = T > m->kv_T ? T : m->kv_T;
}
