// gguf.c — the model in llama.cpp's GGUF file (architecture "llama"), both ways.
//
// Tensors: llama.cpp's names (GGUF_NAMES), PyTorch shapes reversed by util/gguf. q/k rows
// stay interleaved: the llama architecture ropes with LLAMA_ROPE_TYPE_NORM, which rotates
// (x[2i], x[2i+1]) as Meta's and llama2.c's checkpoints (and stretch) do; convert_hf_to_gguf
// undoes transformers' half layout to get there. A tied model has no output.weight.
//
// Positions, as llama.cpp v0.4.0 computes them (src/llama-model.cpp load_hparams,
// llama-context.cpp, ggml-cpu rope_yarn): per pair i, theta_i = freq_base^(-2i/d) / ff_i
// (ff: the rope_freqs tensor, else 1), then YaRN's ramp between theta_i * freq_scale and
// theta_i, cos/sin times an attention factor.
//   plain, ABF   llama.rope.freq_base = the scheme's base
//   ntk          freq_base = b s^(d/(d-2)) (a base change; no scaling keys)
//   linear       scaling.type linear, scaling.factor s (freq_scale = 1/s)
//   yarn         scaling.type yarn, factor s, original_context_length L_o, attn_factor
//                A / (1 + 0.1 ln s): llama.cpp multiplies cos/sin by (1 + 0.1 ln s) itself
//                (get_mscale, cancelled and re-applied in the kernel: PR #17945), then by
//                attn_factor. For the llama architecture it fixes beta_fast 32, beta_slow 1
//                and floor/ceil of the correction range (truncate), ignoring the yarn_beta_*
//                keys (written anyway, as convert_hf_to_gguf does; ignored on import too),
//                so a scheme with other values is refused.
//   llama3       no scaling keys; rope_freqs.weight (F32, d/2) = theta_i / theta_i', as
//                convert_hf_to_gguf writes Llama 3.1's factors.
//   longrope     scaling.type longrope, original_context_length L_o, attn_factor = the
//                attention factor, rope_factors_short/long.weight (F32, d/2), no factor key
//                (it would scale on top). llama.cpp picks the long factors for a whole
//                context longer than L_o (llama_model::get_rope_factors), where stretch and
//                transformers pick per sequence: they agree when the context is the length.
//   dynamic NTK, rope: off, ALiBi, T5 and hybrids: refused (see export's notes).
// stretch.* keys (the base's theta and context, the scheme as position JSON) make
// init_from on an exported file rebuild the exact model; a foreign file's scheme is
// read back from the keys above (rope_freqs as LongRoPE with equal short and long factors).
#include "formats.h"
#include "../util/gguf.h"
#include "../util/util.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const GGUF_NAMES[NUM_PARAMS] = {
    [P_EMBED] = "token_embd.weight", [P_ATTN_NORM] = "blk.%d.attn_norm.weight", [P_WQ] = "blk.%d.attn_q.weight",
    [P_WK] = "blk.%d.attn_k.weight", [P_WV] = "blk.%d.attn_v.weight", [P_WO] = "blk.%d.attn_output.weight",
    [P_MLP_NORM] = "blk.%d.ffn_norm.weight", [P_WGATE] = "blk.%d.ffn_gate.weight", [P_WUP] = "blk.%d.ffn_up.weight",
    [P_WDOWN] = "blk.%d.ffn_down.weight", [P_FINAL_NORM] = "output_norm.weight", [P_LM_HEAD] = "output.weight",
};
#define ROPE_FREQS "rope_freqs.weight"
static const char *const LONGROPE_NAMES[2] = {"rope_factors_short.weight", "rope_factors_long.weight"};

static void tensor_name(char *out, size_t cap, int id, int layer) { snprintf(out, cap, GGUF_NAMES[id], layer); }

// refuse: the scheme llama.cpp cannot run as trained, and why.
#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 2, 3)))
#endif
static void refuse(const Position *p, const char *why, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, why);
    vsnprintf(msg, sizeof msg, why, ap);
    va_end(ap);
    char *pos = position_json(p, POS_JSON_SCHEME, p->theta);
    die("--format gguf: this model's position scheme %s cannot be written for llama.cpp: %s (hint: --format hf)", pos, msg);
}

// put_rope: the keys (and rope_freqs tensor) by which llama.cpp computes m's frequencies.
static void put_rope(GgufWriter *w, const Model *m) {
    const Position *p = &m->pos;
    const int HS = m->cfg.dim / m->cfg.n_heads;
    if (p->bias != BIAS_NONE) refuse(p, "its llama architecture always applies RoPE and has no %s bias", BIAS_NAMES[p->bias]);
    if (!p->rope) refuse(p, "its llama architecture always applies RoPE (rope: off cannot be expressed)");
    if (p->scaling == SCALE_DYNAMIC) refuse(p, "it has no dynamic NTK (frequencies that change with the sequence length)");
    if (p->scaling == SCALE_YARN && (p->beta_fast != 32 || p->beta_slow != 1 || !p->truncate))
        refuse(p, "its llama architecture fixes YaRN's beta_fast 32, beta_slow 1 and truncate true");
    const double base = p->scaling == SCALE_NTK ? rope_ntk_base(p->theta, p->factor, HS) : p->theta;
    gguf_put_f32(w, "llama.rope.freq_base", (float)base);
    if (p->scaling == SCALE_LINEAR || p->scaling == SCALE_YARN) {
        gguf_put_str(w, "llama.rope.scaling.type", SCALING_NAMES[p->scaling]);
        gguf_put_f32(w, "llama.rope.scaling.factor", (float)p->factor);
        gguf_put_u32(w, "llama.rope.scaling.original_context_length", (uint32_t)p->original_max);
        gguf_put_bool(w, "llama.rope.scaling.finetuned", 1);
    }
    if (p->scaling == SCALE_YARN) {
        double inv[POS_MAX_PAIRS], mscale;
        rope_inv_freq(p, HS, 0, inv, &mscale);
        gguf_put_f32(w, "llama.rope.scaling.attn_factor", (float)(mscale / (1.0 + 0.1 * log(p->factor))));
        gguf_put_f32(w, "llama.rope.scaling.yarn_beta_fast", (float)p->beta_fast);
        gguf_put_f32(w, "llama.rope.scaling.yarn_beta_slow", (float)p->beta_slow);
    }
    if (p->scaling == SCALE_LONGROPE) {                     // ext_factor 0: cos/sin times attn_factor alone
        double inv[POS_MAX_PAIRS], mscale;
        rope_inv_freq(p, HS, 0, inv, &mscale);
        gguf_put_str(w, "llama.rope.scaling.type", "longrope");
        gguf_put_u32(w, "llama.rope.scaling.original_context_length", (uint32_t)p->original_max);
        gguf_put_f32(w, "llama.rope.scaling.attn_factor", (float)mscale);
        const double *lists[2] = {p->short_factor, p->long_factor};
        const uint64_t shape[1] = {(uint64_t)HS / 2};
        for (int k = 0; k < 2; k++) {
            float *f = gguf_tensor_buffer(w, (size_t)HS / 2);
            for (int i = 0; i < HS / 2; i++) f[i] = (float)lists[k][i];
            gguf_add_tensor(w, LONGROPE_NAMES[k], f, 1, shape, GGML_F32);
        }
    }
    if (p->scaling == SCALE_LLAMA3) {
        double inv[POS_MAX_PAIRS], mscale;
        rope_inv_freq(p, HS, 0, inv, &mscale);
        float *ff = gguf_tensor_buffer(w, (size_t)HS / 2);
        for (int i = 0; i < HS / 2; i++) ff[i] = (float)(pow(p->theta, -2.0 * i / HS) / inv[i]);
        const uint64_t shape[1] = {(uint64_t)HS / 2};
        gguf_add_tensor(w, ROPE_FREQS, ff, 1, shape, GGML_F32);
    }
}

void gguf_put_model(GgufWriter *w, const Model *m, int context, GgmlType dtype) {
    const ModelConfig *c = &m->cfg;
    const int HS = c->dim / c->n_heads;
    gguf_put_str(w, "general.architecture", "llama");
    gguf_put_str(w, "general.name", "stretch");
    gguf_put_u32(w, "general.file_type", dtype == GGML_F16 ? 1 : 0);
    gguf_put_u32(w, "llama.context_length", (uint32_t)context);
    gguf_put_u32(w, "llama.embedding_length", (uint32_t)c->dim);
    gguf_put_u32(w, "llama.block_count", (uint32_t)c->n_layers);
    gguf_put_u32(w, "llama.feed_forward_length", (uint32_t)c->hidden);
    gguf_put_u32(w, "llama.attention.head_count", (uint32_t)c->n_heads);
    gguf_put_u32(w, "llama.attention.head_count_kv", (uint32_t)c->n_kv_heads);
    gguf_put_f32(w, "llama.attention.layer_norm_rms_epsilon", c->norm_eps);
    gguf_put_u32(w, "llama.rope.dimension_count", (uint32_t)HS);
    gguf_put_u32(w, "llama.vocab_size", (uint32_t)c->vocab);
    put_rope(w, m);
    char *pos = position_json(&m->pos, POS_JSON_SCHEME, c->rope_theta);
    gguf_put_f32(w, "stretch.rope_theta", c->rope_theta);
    gguf_put_u32(w, "stretch.max_seq_len", (uint32_t)c->max_seq_len);
    gguf_put_str(w, "stretch.position", pos);
    free(pos);
    TensorSpec s[NUM_PARAMS];
    param_specs(c, s);
    char name[64];
    for (int l = -1; l < c->n_layers; l++)           // llama.cpp's order: token_embd, output_norm, output, blk.*
        for (int i = 0; i < NUM_PARAMS; i++) {
            if (!m->params.t[i] || !GGUF_NAMES[i] || (l < 0) != !s[i].per_layer) continue;
            const uint64_t shape[2] = {s[i].shape[0], s[i].shape[1]};
            tensor_name(name, sizeof name, i, l);
            gguf_add_tensor(w, name, m->params.t[i] + (l < 0 ? 0 : (size_t)l * spec_numel(&s[i], 1)), s[i].ndim, shape,
                            s[i].ndim == 2 ? dtype : GGML_F32);
        }
}

// read_config: the model's shape from the llama.* keys, checked against what stretch runs.
static void read_config(const Gguf *g, ModelConfig *c) {
    const char *arch = gguf_str(g, "general.architecture", 1);
    if (strcmp(arch, "llama"))
        die("%s: general.architecture '%.64s' is not supported (only llama: the Llama block with RoPE)", g->path, arch);
    *c = (ModelConfig){.dim = (int)gguf_u32(g, "llama.embedding_length", 1, 0),
                       .hidden = (int)gguf_u32(g, "llama.feed_forward_length", 1, 0),
                       .n_layers = (int)gguf_u32(g, "llama.block_count", 1, 0),
                       .n_heads = (int)gguf_u32(g, "llama.attention.head_count", 1, 0),
                       .max_seq_len = (int)gguf_u32(g, "llama.context_length", 1, 0),
                       .norm_eps = (float)gguf_float(g, "llama.attention.layer_norm_rms_epsilon", 1, 0),
                       .rope_theta = (float)gguf_float(g, "llama.rope.freq_base", 0, 10000.0),
                       .tied = !gguf_find_tensor(g, "output.weight")};
    c->n_kv_heads = (int)gguf_u32(g, "llama.attention.head_count_kv", 0, (uint32_t)c->n_heads);
    const GgufTensor *emb = gguf_find_tensor(g, "token_embd.weight");
    if (!emb || emb->n_dims != 2) die("%s: tensor 'token_embd.weight' is missing or not 2-D", g->path);
    c->vocab = (int)gguf_u32(g, "llama.vocab_size", 0, (uint32_t)(emb->shape[0] < INT32_MAX ? emb->shape[0] : 0));
    model_config_check(c, g->path);
    const int HS = c->dim / c->n_heads;
    const char *dims[] = {"llama.rope.dimension_count", "llama.attention.key_length", "llama.attention.value_length"};
    for (int k = 0; k < 3; k++)
        if (gguf_find(g, dims[k]) && (int)gguf_u32(g, dims[k], 0, 0) != HS)
            die("%s: metadata %s is %u, but stretch needs it equal to the head size %d (embedding_length / head_count)",
                g->path, dims[k], gguf_u32(g, dims[k], 0, 0), HS);
}

// factor_list: `"name": [f_0, ..]` of the F32 tensor `tensor` (d/2) at json + *n.
static void factor_list(const Gguf *g, const char *tensor, const char *name, int half, char *json, size_t cap, size_t *n) {
    float *f = xmalloc((size_t)half * sizeof *f);
    const uint64_t shape[1] = {(uint64_t)half};
    gguf_read_f32(g, tensor, f, 1, shape);
    appendf(json, cap, n, ", \"%s\": [", name);
    for (int i = 0; i < half; i++) appendf(json, cap, n, "%s%.9g", i ? ", " : "", f[i]);
    appendf(json, cap, n, "]");
    free(f);
}

// llama_scheme: the scheme llama.cpp computes from the file's rope keys (load_hparams:
// a factor without a type is linear; llama.rope.scale_linear is the old factor key), as
// position JSON over the base freq_base. What stretch cannot reproduce dies.
static void llama_scheme(const Gguf *g, const ModelConfig *c, char *json, size_t cap) {
    const char *type = gguf_str(g, "llama.rope.scaling.type", 0);
    double s = gguf_float(g, "llama.rope.scaling.factor", 0, 0);
    if (!gguf_find(g, "llama.rope.scaling.factor")) s = gguf_float(g, "llama.rope.scale_linear", 0, 0);
    const double a = gguf_float(g, "llama.rope.scaling.attn_factor", 0, 1);
    const uint32_t L0 = gguf_u32(g, "llama.rope.scaling.original_context_length", 0, (uint32_t)c->max_seq_len);
    const int half = c->dim / c->n_heads / 2, freqs = gguf_find_tensor(g, ROPE_FREQS) != NULL;
    if (!type) type = "linear";
    if (strcmp(type, "none") && strcmp(type, "linear") && strcmp(type, "yarn") && strcmp(type, "longrope"))
        die("%s: llama.rope.scaling.type '%.32s' is not supported (none, linear, yarn, longrope)", g->path, type);
    if (!strcmp(type, "none")) s = 0;                    // llama.cpp: never scale
    if (s != 0 && s < 1) die("%s: llama.rope.scaling.factor %g is below 1 (stretch scales by factors >= 1)", g->path, s);
    if (!strcmp(type, "longrope") && s > 1)
        die("%s: llama.rope.scaling.factor %g with type longrope: llama.cpp would scale by it on top of the factor "
            "tensors, which stretch cannot express", g->path, s);
    if (a != 1 && strcmp(type, "yarn") && strcmp(type, "longrope"))
        die("%s: llama.rope.scaling.attn_factor %g: llama.cpp multiplies cos/sin by it, and stretch has an attention "
            "factor only for yarn and longrope", g->path, a);
    if (freqs && (s > 1 || !strcmp(type, "longrope")))
        die("%s: %s together with a scaling factor or longrope: stretch reads one or the other", g->path, ROPE_FREQS);
    size_t n = 0;
    if (freqs) {                                         // theta_i / ff_i at every length: LongRoPE, equal lists
        appendf(json, cap, &n, "{\"rope\": {\"scaling\": \"longrope\", \"original_max_position_embeddings\": %u, "
                "\"attention_factor\": 1, \"factor\": 1", L0);
        factor_list(g, ROPE_FREQS, "short_factor", half, json, cap, &n);
        factor_list(g, ROPE_FREQS, "long_factor", half, json, cap, &n);
        appendf(json, cap, &n, "}}");
    } else if (!strcmp(type, "longrope")) {             // the reach: context / L_o
        appendf(json, cap, &n, "{\"rope\": {\"scaling\": \"longrope\", \"original_max_position_embeddings\": %u, "
                "\"attention_factor\": %.17g, \"factor\": %.17g", L0, a,
                c->max_seq_len > (int)L0 ? (double)c->max_seq_len / L0 : 1.0);
        factor_list(g, LONGROPE_NAMES[0], "short_factor", half, json, cap, &n);
        factor_list(g, LONGROPE_NAMES[1], "long_factor", half, json, cap, &n);
        appendf(json, cap, &n, "}}");
    } else if (s > 1) {
        appendf(json, cap, &n, "{\"rope\": {\"scaling\": \"%s\", \"factor\": %.17g", type, s);
        if (!strcmp(type, "yarn")) {
            appendf(json, cap, &n, ", \"original_max_position_embeddings\": %u", L0);
            if (a != 1) appendf(json, cap, &n, ", \"attention_factor\": %.17g", a * (1.0 + 0.1 * log(s)));
        }
        appendf(json, cap, &n, "}}");
    } else {
        appendf(json, cap, &n, "{}");
    }
    CHECK(n < cap, "the position JSON of %s does not fit", g->path);
}

// same_frequencies: whether schemes a and b (resolved) give the same RoPE at length T
// (relative 1e-5: the f32 keys and tensors round).
static int same_frequencies(const Position *a, const Position *b, int HS, int T) {
    double ia[POS_MAX_PAIRS], ib[POS_MAX_PAIRS], ma, mb;
    rope_inv_freq(a, HS, T, ia, &ma);
    rope_inv_freq(b, HS, T, ib, &mb);
    int same = fabs(ma - mb) <= 1e-5 * fabs(ma);
    for (int i = 0; i < HS / 2; i++) same = same && fabs(ia[i] - ib[i]) <= 1e-5 * fabs(ia[i]);
    return same;
}

// read_position: the file's scheme (unresolved) into pos and the base's facts into c:
// stretch.position when present — which must give the frequencies llama.cpp computes
// from the rope keys (a file edited by another tool would not) —, else those keys.
static void read_position(const Gguf *g, ModelConfig *c, Position *pos) {
    char *json = xmalloc(POS_JSON_MAX), where[512];
    llama_scheme(g, c, json, POS_JSON_MAX);
    snprintf(where, sizeof where, "%s: llama.rope.*", g->path);
    position_default(pos);
    position_parse_json(pos, json, where);
    const char *own = gguf_str(g, "stretch.position", 0);
    if (own) {
        Position llama = *pos, mine;
        ModelConfig base = *c;
        base.rope_theta = (float)gguf_float(g, "stretch.rope_theta", 1, 0);
        base.max_seq_len = (int)gguf_u32(g, "stretch.max_seq_len", 1, 0);
        snprintf(where, sizeof where, "%s: stretch.position", g->path);
        position_default(&mine);
        position_parse_json(&mine, own, where);
        *pos = mine;
        model_resolve_position(c, &llama);
        model_resolve_position(&base, &mine);
        const int HS = c->dim / c->n_heads;
        if (!same_frequencies(&llama, &mine, HS, 1) || !same_frequencies(&llama, &mine, HS, c->max_seq_len))
            die("%s: stretch.position %.200s and the llama.rope.* keys (%.200s, read by llama.cpp) give different RoPE "
                "frequencies (hint: edited by another tool? remove the stretch.* keys to keep llama.cpp's)", g->path, own, json);
        *c = base;
    }
    free(json);
}

// check_tensors: every tensor of the file is one stretch reads, and every parameter is
// there with its shape (before anything is allocated for the model).
static void check_tensors(const Gguf *g, const ModelConfig *c) {
    TensorSpec s[NUM_PARAMS];
    param_specs(c, s);
    char name[64];
    for (size_t k = 0; k < g->n_tensors; k++) {
        const char *t = g->tensors[k].name;
        int known = !strcmp(t, ROPE_FREQS) || !strcmp(t, LONGROPE_NAMES[0]) || !strcmp(t, LONGROPE_NAMES[1]);
        for (int i = 0; i < NUM_PARAMS && !known; i++)
            for (int l = 0; l < (s[i].per_layer ? c->n_layers : 1) && !known && GGUF_NAMES[i]; l++)
                tensor_name(name, sizeof name, i, l), known = !strcmp(name, t);
        if (!known) die("%s: tensor '%s' is not one of the llama architecture's that stretch reads", g->path, t);
    }
    for (int i = 0; i < NUM_PARAMS; i++) {
        if (!GGUF_NAMES[i] || !spec_numel(&s[i], 1)) continue;
        const uint64_t shape[2] = {s[i].shape[0], s[i].shape[1]};
        for (int l = 0; l < (s[i].per_layer ? c->n_layers : 1); l++)
            tensor_name(name, sizeof name, i, l), gguf_check_shape(g, name, s[i].ndim, shape);
    }
}

void load_gguf(Model *m, const char *path, Position *pos) {
    Gguf g;
    gguf_open(&g, path);
    ModelConfig c;
    read_config(&g, &c);
    Position own;
    read_position(&g, &c, pos ? pos : &own);
    check_tensors(&g, &c);
    model_init(m, &c, path);
    TensorSpec s[NUM_PARAMS];
    param_specs(&c, s);
    char name[64];
    for (int i = 0; i < NUM_PARAMS; i++) {
        if (!m->params.t[i] || !GGUF_NAMES[i]) continue;
        const uint64_t shape[2] = {s[i].shape[0], s[i].shape[1]};
        for (int l = 0; l < (s[i].per_layer ? c.n_layers : 1); l++) {
            tensor_name(name, sizeof name, i, l);
            gguf_read_f32(&g, name, m->params.t[i] + (size_t)l * spec_numel(&s[i], 1), s[i].ndim, shape);
        }
    }
    gguf_close(&g);
}

void load_gguf_position(const char *path, Position *pos) {
    Gguf g;
    gguf_open(&g, path);
    ModelConfig c;
    read_config(&g, &c);
    read_position(&g, &c, pos);
    gguf_close(&g);
}

int gguf_context_length(const char *path) {
    Gguf g;
    gguf_open(&g, path);
    const int n = (int)gguf_u32(&g, "llama.context_length", 1, 0);
    gguf_close(&g);
    return n;
}
