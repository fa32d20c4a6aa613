// test_real.c — the real checkpoint and the formats:
//   stories260K from the legacy and the v1 file: identical weights and losses;
//   its loss on real TinyStories tokens against PyTorch (fixture) to 1e-4 relative;
//   the interleaved <-> half q/k row permutation: its definition and round trip, and
//   loss invariance under it (every layer's q and k through the half rows with
//   rotate_half RoPE equal the interleaved ones; a save_hf_dir -> load_hf_dir round trip
//   keeps the weights and the loss bit for bit; unpermuted rows would change the loss);
//   Hugging Face directories (BF16 single file; F16 sharded with index) against fixtures;
//   the llama2.c v1 writer round trip; the tokenizer on real text; shard round trip.
// usage: test_real MODEL_LEGACY MODEL_V1 TOKENIZER TEXT
#include "../data/data.h"
#include "../model/formats.h"
#include "../model/layers.h"
#include "../trainer/setup.h"
#include "../util/util.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *VAL_FIXTURE = "tests/fixtures/stories260K_val.safetensors";

// fixture_loss: mean loss of m on the fixture's input_ids (W windows of T+1 tokens),
// preparing m on its first call. keep_layers: the forward of a training step (recompute
// off), so that every layer's activations of this (W, T) pass stay in m->acts; shape
// (may be NULL) gets {W, T}.
static float fixture_loss(Model *m, const char *fixture, float *ref, int keep_layers, int *shape) {
    Safetensors st;
    st_open(&st, fixture);
    const StEntry *e = st_find(&st, "input_ids");
    CHECK(e && e->ndim >= 1, "%s: no input_ids", fixture);
    int W = e->ndim == 2 ? (int)e->shape[0] : 1, T = (int)e->shape[e->ndim - 1] - 1;
    int32_t *ids = xmalloc((size_t)W * (T + 1) * sizeof(int32_t));
    int *in = xmalloc((size_t)W * T * sizeof(int)), *tg = xmalloc((size_t)W * T * sizeof(int));
    st_read_i32(&st, "input_ids", ids, (size_t)W * (T + 1));
    st_read_f32(&st, "loss", ref, 1);
    for (int w = 0; w < W; w++)
        for (int t = 0; t < T; t++) {
            in[w * T + t] = ids[w * (T + 1) + t];
            tg[w * T + t] = ids[w * (T + 1) + t + 1];
        }
    if (!m->acts_memory) {
        model_reserve(m, W, T, keep_layers ? ACTS_ALL : ACTS_FORWARD);
        model_prepare(m);
    }
    float loss = keep_layers ? model_forward_backward(m, in, tg, NULL, W, T, 1.0f, ACTS_ALL) : model_forward(m, in, tg, NULL, W, T);
    if (shape) shape[0] = W, shape[1] = T;
    free(ids); free(in); free(tg);
    st_close(&st);
    return loss;
}

// half_row: the row that row r of an interleaved q/k matrix (heads of HS rows) moves to in
// the half layout. Interleaved pairs element 2j with 2j+1 of a head, half (Hugging Face,
// rotate_half) pairs j with j + HS/2: element 2j + p becomes element p * HS/2 + j. Written
// from the definition, independently of rope_permute_rows.
static size_t half_row(size_t r, int HS) {
    const size_t h = r / (size_t)HS, i = r % (size_t)HS;
    return h * (size_t)HS + (i % 2) * (size_t)(HS / 2) + i / 2;
}

// same_rows_by_definition: whether half (rows, cols) holds the rows of inter (rows, cols)
// moved by half_row, bit for bit.
static int same_rows_by_definition(const float *half, const float *inter, size_t rows, size_t cols, int HS) {
    int same = 1;
    for (size_t r = 0; r < rows; r++) same &= !memcmp(half + half_row(r, HS) * cols, inter + r * cols, cols * sizeof(float));
    return same;
}

// rope_half_forward: RoPE in the half layout (Hugging Face rotate_half): for pair j of a
// head at position t, (x[j], x[j + HS/2]) -> (x[j] c - x[j + HS/2] s, x[j + HS/2] c + x[j] s),
// c = cos_tab[t, j], s = sin_tab[t, j]. x (B, T, NX, HS) in place; tables (T, HS/2).
static void rope_half_forward(float *x, const float *cos_tab, const float *sin_tab, int B, int T, int NX, int HS) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < NX; h++) {
                float *v = x + (((size_t)b * T + t) * NX + h) * HS;
                for (int j = 0; j < HS / 2; j++) {
                    const float c = cos_tab[(size_t)t * (HS / 2) + j], sn = sin_tab[(size_t)t * (HS / 2) + j];
                    const float x1 = v[j], x2 = v[j + HS / 2];
                    v[j] = x1 * c - x2 * sn;
                    v[j + HS / 2] = x2 * c + x1 * sn;
                }
            }
}

// rotated_half_error: the layer inputs xn1 (N = B*T, C) of an interleaved forward through
// the half-layout rows w_half (NX*HS, C) and rope_half_forward, against that forward's
// rotated rows ref (N, NX*HS) after RoPE in the interleaved layout: the worst
// |half - ref| / (atol + rtol |ref|) with atol = 1e-6 max|ref|, rtol = 1e-5 (the same
// products, summed by BLAS in another row order). got/want: the pair at the worst element.
static double rotated_half_error(const float *xn1, const float *w_half, const float *ref, const float *cos_tab,
                                 const float *sin_tab, int B, int T, int C, int NX, int HS, double *got, double *want) {
    const size_t N = (size_t)B * T, D = (size_t)NX * HS;
    float *q = xmalloc(N * D * sizeof(float));
    matmul_forward(q, xn1, w_half, N, C, (int)D);
    rope_half_forward(q, cos_tab, sin_tab, B, T, NX, HS);
    double mx = 0.0, worst = 0.0;
    for (size_t i = 0; i < N * D; i++) mx = fmax(mx, fabs(ref[i]));
    *got = *want = 0.0;
    for (size_t n = 0; n < N; n++)
        for (size_t r = 0; r < D; r++) {
            const double a = q[n * D + half_row(r, HS)], e = ref[n * D + r];
            const double err = fabs(a - e), ratio = err == 0.0 ? 0.0 : isnan(err) ? INFINITY : err / (1e-6 * mx + 1e-5 * fabs(e));
            if (ratio > worst || (n == 0 && r == 0)) worst = ratio, *got = a, *want = e;
        }
    free(q);
    return worst;
}

// test_half_layout: the interleaved <-> half permutation of stories260K's q/k rows, and
// the invariance it promises. `a` has just run its forward on VAL_FIXTURE (loss la):
//   - rope_permute_rows moves the rows as half_row says, and back to the original;
//   - every layer's q and k, computed from that forward's inputs with the half-layout rows
//     and rotate_half RoPE, are the interleaved forward's rotated q and k, permuted. The
//     attention logits q.k are then the same sums and the rest of the model does not see
//     the layout: the loss is invariant;
//   - through a Hugging Face directory (half layout on disk): the file holds the permuted
//     rows, load_hf_dir restores the weights bit for bit, and the loss is bitwise la;
//   - a control: the half-layout rows run as if interleaved change the loss, so the
//     checks above would see a missing permutation.
static void test_half_layout(Model *a, float la, const int *shape) {
    const ModelConfig *cfg = &a->cfg;
    const int HS = cfg->dim / cfg->n_heads, L = cfg->n_layers, C = cfg->dim, B = shape[0], T = shape[1];
    TensorSpec s[NUM_PARAMS];
    param_specs(cfg, s);
    float *half = xmalloc(a->num_params * sizeof(float)), *back = xmalloc(a->num_params * sizeof(float));
    memcpy(half, a->params_memory, a->num_params * sizeof(float));
    ParamTensors hv, bv;
    model_views(a, half, &hv);
    model_views(a, back, &bv);
    int moved = 1, n_mats = 0;
    for (int i = 0; i < NUM_PARAMS; i++)
        for (int l = 0; s[i].rope_rows && l < L; l++) {
            const size_t per = spec_numel(&s[i], 1), rows = s[i].shape[0], cols = s[i].shape[1];
            rope_permute_rows(hv.t[i] + l * per, s[i].rope_rows, HS, cols, 1);
            moved &= same_rows_by_definition(hv.t[i] + l * per, a->params.t[i] + l * per, rows, cols, HS);
            n_mats++;
        }
    check_report(moved && n_mats == 2 * L, "rope_permute_rows: row h*HS+2j+p -> h*HS+p*HS/2+j (q, k of every layer)",
                 n_mats, 2 * L);
    memcpy(back, half, a->num_params * sizeof(float));
    for (int i = 0; i < NUM_PARAMS; i++)
        for (int l = 0; s[i].rope_rows && l < L; l++) {
            const size_t per = spec_numel(&s[i], 1);
            rope_permute_rows(bv.t[i] + l * per, s[i].rope_rows, HS, s[i].shape[1], 0);
        }
    CHECK_TRUE("interleaved -> half -> interleaved is the identity",
               !memcmp(back, a->params_memory, a->num_params * sizeof(float)));

    // q and k of every layer through the half layout, from the interleaved forward's inputs
    Position plain;
    position_default(&plain);
    plain.theta = cfg->rope_theta;
    float *cos_tab = xmalloc((size_t)T * HS / 2 * sizeof(float)), *sin_tab = xmalloc((size_t)T * HS / 2 * sizeof(float));
    rope_position_tables(cos_tab, sin_tab, &plain, HS, T, T);
    const size_t N = (size_t)B * T, KV = (size_t)cfg->n_kv_heads * HS;
    const int ids[2] = {P_WQ, P_WK}, nx[2] = {cfg->n_heads, cfg->n_kv_heads};
    const float *rotated[2] = {a->acts.q, a->acts.k};
    const size_t width[2] = {(size_t)C, KV};
    for (int k = 0; k < 2; k++) {
        double worst = 0.0, got = 0.0, want = 0.0;
        for (int l = 0; l < L; l++) {
            double g, w;
            const double e = rotated_half_error(a->acts.xn1 + l * N * C, hv.t[ids[k]] + l * spec_numel(&s[ids[k]], 1),
                                                rotated[k] + l * N * width[k], cos_tab, sin_tab, B, T, C, nx[k], HS, &g, &w);
            if (e > worst || l == 0) worst = e, got = g, want = w;
        }
        check_report(worst <= 1.0,
                     check_what("half rows + rotate_half RoPE = interleaved %s after RoPE (%d layers, %dx%d real tokens)",
                                k ? "k" : "q", L, B, T),
                     got, want);
    }
    free(cos_tab);
    free(sin_tab);

    // through a Hugging Face directory, whose safetensors hold the half layout
    const char *dir = "tests/tmp/stories260K_hf";
    char name[256];
    float ref;
    make_dirs(dir);
    save_hf_dir(a, dir, cfg->max_seq_len, cfg->rope_theta, "  \"rope_scaling\": null");
    char *st_path = path_join(dir, "model.safetensors");
    Safetensors st;
    st_open(&st, st_path);
    int on_disk = 1;
    for (int i = 0; i < NUM_PARAMS; i++)
        for (int l = 0; s[i].rope_rows && l < L; l++) {
            const size_t per = spec_numel(&s[i], 1);
            float *w = xmalloc(per * sizeof(float));
            param_name(name, sizeof name, &s[i], "", l);
            st_read_f32(&st, name, w, per);
            on_disk &= same_rows_by_definition(w, a->params.t[i] + l * per, s[i].shape[0], s[i].shape[1], HS);
            free(w);
        }
    st_close(&st);
    free(st_path);
    CHECK_TRUE("save_hf_dir: q_proj, k_proj rows on disk in the half layout", on_disk);
    Model h;
    load_hf_dir(&h, dir, NULL);
    const ModelConfig *hc = &h.cfg;
    const int same_cfg = hc->dim == cfg->dim && hc->hidden == cfg->hidden && hc->n_layers == L &&
                         hc->n_heads == cfg->n_heads && hc->n_kv_heads == cfg->n_kv_heads && hc->vocab == cfg->vocab &&
                         hc->max_seq_len == cfg->max_seq_len && hc->norm_eps == cfg->norm_eps &&
                         hc->rope_theta == cfg->rope_theta && hc->tied == cfg->tied;
    check_report(same_cfg && h.num_params == a->num_params &&
                     !memcmp(h.params_memory, a->params_memory, a->num_params * sizeof(float)),
                 "save_hf_dir -> load_hf_dir: config and weights bit for bit", (double)h.num_params, (double)a->num_params);
    const float lh = fixture_loss(&h, VAL_FIXTURE, &ref, 1, NULL);
    CHECK_EQ("save_hf_dir -> load_hf_dir: loss on 4x512 real tokens (bitwise)", lh, la);
    memcpy(h.params_memory, half, a->num_params * sizeof(float));
    const float lw = fixture_loss(&h, VAL_FIXTURE, &ref, 1, NULL);
    check_report(fabs(lw - la) > 1e-3, "control: half rows run as interleaved change the loss (> 1e-3)", lw, la);
    model_free(&h);
    free(half);
    free(back);
}

static void test_stories(const char *legacy, const char *v1) {
    Model a, b;
    float ref;
    load_model(&a, legacy);
    load_model(&b, v1);
    int same = a.num_params == b.num_params && !memcmp(a.params_memory, b.params_memory, a.num_params * sizeof(float));
    check_report(same && a.cfg.tied == b.cfg.tied, "legacy and v1 files hold identical weights", (double)a.num_params, (double)b.num_params);
    int shape[2];
    float la = fixture_loss(&a, VAL_FIXTURE, &ref, 1, shape);
    float lb = fixture_loss(&b, VAL_FIXTURE, &ref, 1, NULL);
    CHECK_EQ("stories260K legacy loss == v1 loss (bitwise)", la, lb);
    CHECK_CLOSE("stories260K loss on 4x512 val tokens vs PyTorch", la, ref, 1e-7, 1e-4);
    make_dirs("tests/tmp");
    test_half_layout(&a, la, shape);
    // v1 writer round trip
    save_llama2c_v1(&a, "tests/tmp/roundtrip_v1.bin");
    Model c;
    load_model(&c, "tests/tmp/roundtrip_v1.bin");
    check_report(!memcmp(c.params_memory, a.params_memory, a.num_params * sizeof(float)) && c.cfg.max_seq_len == a.cfg.max_seq_len,
                 "save_llama2c_v1 -> load round trip", (double)c.num_params, (double)a.num_params);
    model_free(&a); model_free(&b); model_free(&c);
}

static void test_hf(const char *dir, const char *fixture) {
    Model m;
    float ref;
    load_model(&m, dir);
    float loss = fixture_loss(&m, fixture, &ref, 0, NULL);
    CHECK_CLOSE(check_what("HF dir %s vs PyTorch", strrchr(dir, '/') + 1), loss, ref, 1e-7, 1e-4);
    model_free(&m);
}

static void test_tokenizer(const char *tok_path, const char *text_path) {
    Tokenizer t;
    tokenizer_load(&t, tok_path);
    char *text = read_file(text_path, NULL);
    text[4000] = '\0';                                 // a few real stories
    size_t n;
    uint32_t *ids = tokenizer_encode(&t, NULL, text, 1, &n);
    size_t cap = strlen(text) + 64, k = 0;
    char *back = xcalloc(cap, 1), buf[2];
    for (size_t i = 1; i < n; i++) {
        const char *p = tokenizer_decode_piece(&t, (int)ids[i - 1], (int)ids[i], buf);
        size_t lp = strlen(p);
        if (k + lp < cap) { memcpy(back + k, p, lp); k += lp; }
    }
    // decode drops the dummy prefix space after BOS, so the text comes back exactly
    check_report(ids[0] == 1 && !strcmp(back, text), "tokenizer: decode(encode(text)) == text", (double)n, (double)strlen(text));
    check_report((double)strlen(text) / (double)n > 1.5, "tokenizer merges (bytes per token > 1.5)", (double)strlen(text) / (double)n, 1.5);
    size_t m;
    uint32_t *nl = tokenizer_encode(&t, NULL, "\xe2\x98\x83", 0, &m);   // U+2603 snowman: byte fallback
    check_report(m == 4 && nl[1] == 0xe2 + 3 && nl[3] == 0x83 + 3, "tokenizer: byte fallback for an unknown codepoint", (double)m, 4);
    // shards: uint16 and uint32 round trip
    Shard s;
    shard_write("tests/tmp/u16.bin", ids, n, t.vocab, BOS_ID);
    shard_load(&s, "tests/tmp/u16.bin", t.vocab);
    check_report(s.n == n && s.tokens[n - 1] == ids[n - 1], "shard uint16 round trip", (double)s.n, (double)n);
    shard_free(&s);
    shard_write("tests/tmp/u32.bin", ids, n, 100000, 7);
    shard_load(&s, "tests/tmp/u32.bin", t.vocab);
    check_report(s.n == n && !memcmp(s.tokens, ids, n * 4), "shard uint32 (version 7) round trip", (double)s.n, (double)n);
    check_report(s.doc == 7 && shard_opens_doc(&s, 0) && shard_opens_doc(&s, 1) == (ids[1] == 7),
                 "shard: a recorded document token (7) comes back and opens documents", s.doc, 7);
    shard_free(&s);
    free(ids); free(nl); free(back); free(text);
    tokenizer_free(&t);
}

int main(int argc, char **argv) {
    if (argc != 5) die("usage: test_real MODEL_LEGACY MODEL_V1 TOKENIZER TEXT");
    setup_threads(0);
    test_stories(argv[1], argv[2]);
    test_hf("tests/fixtures/hf_tiny_bf16", "tests/fixtures/hf_tiny_bf16_expected.safetensors");
    test_hf("tests/fixtures/hf_tiny_sharded", "tests/fixtures/hf_tiny_sharded_expected.safetensors");
    test_tokenizer(argv[3], argv[4]);
    return check_done("test_real");
}
