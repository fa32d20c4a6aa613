// test_real.c — the real checkpoint and the formats:
//   stories260K from the legacy and the v1 file: identical weights and losses;
//   its loss on real TinyStories tokens against PyTorch (fixture) to 1e-4 relative;
//   interleaved <-> half row permutation round trip, and loss invariance under it;
//   Hugging Face directories (BF16 single file; F16 sharded with index) against fixtures;
//   the llama2.c v1 writer round trip; the tokenizer on real text; shard round trip.
// usage: test_real MODEL_LEGACY MODEL_V1 TOKENIZER TEXT
#include "../data/data.h"
#include "../model/formats.h"
#include "../trainer/run.h"
#include "../util/util.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// fixture_loss: mean loss of m on the fixture's input_ids (W windows of T+1 tokens).
static float fixture_loss(Model *m, const char *fixture, float *ref) {
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
    model_prepare(m, W, T);
    float loss = model_forward(m, in, tg, W, T);
    free(ids); free(in); free(tg);
    st_close(&st);
    return loss;
}

static void test_stories(const char *legacy, const char *v1) {
    Model a, b;
    float ref;
    load_model(&a, legacy);
    load_model(&b, v1);
    int same = a.num_params == b.num_params && !memcmp(a.params_memory, b.params_memory, a.num_params * sizeof(float));
    check_report(same && a.cfg.tied == b.cfg.tied, "legacy and v1 files hold identical weights", (double)a.num_params, (double)b.num_params);
    float la = fixture_loss(&a, "tests/fixtures/stories260K_val.safetensors", &ref);
    float lb = fixture_loss(&b, "tests/fixtures/stories260K_val.safetensors", &ref);
    CHECK_EQ("stories260K legacy loss == v1 loss (bitwise)", la, lb);
    CHECK_CLOSE("stories260K loss on 4x512 val tokens vs PyTorch", la, ref, 1e-7, 1e-4);
    // the same model with q/k rows in the half layout and permuted back gives the same loss
    TensorSpec s[NUM_PARAMS];
    param_specs(&a.cfg, s);
    int HS = a.cfg.dim / a.cfg.n_heads;
    for (int i = 0; i < NUM_PARAMS; i++)
        for (int l = 0; s[i].rope_rows && l < a.cfg.n_layers; l++) {
            float *w = a.params.t[i] + (size_t)l * spec_numel(&s[i], 1);
            rope_permute_rows(w, s[i].rope_rows, HS, s[i].shape[1], 1);
            rope_permute_rows(w, s[i].rope_rows, HS, s[i].shape[1], 0);
        }
    CHECK_TRUE("interleaved -> half -> interleaved is the identity", !memcmp(a.params_memory, b.params_memory, a.num_params * sizeof(float)));
    // v1 writer round trip
    make_dirs("tests/tmp");
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
    float loss = fixture_loss(&m, fixture, &ref);
    CHECK_CLOSE(check_what("HF dir %s vs PyTorch", strrchr(dir, '/') + 1), loss, ref, 1e-7, 1e-4);
    model_free(&m);
}

static void test_tokenizer(const char *tok_path, const char *text_path) {
    Tokenizer t;
    tokenizer_load(&t, tok_path);
    char *text = read_file(text_path, NULL);
    text[4000] = '\0';                                 // a few real stories
    uint32_t *ids = xmalloc((strlen(text) + 3) * sizeof(uint32_t));
    size_t n = tokenizer_encode(&t, text, 1, ids);
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
    uint32_t nl[8];
    size_t m = tokenizer_encode(&t, "\xe2\x98\x83", 0, nl);   // U+2603 snowman: byte fallback
    check_report(m == 4 && nl[1] == 0xe2 + 3 && nl[3] == 0x83 + 3, "tokenizer: byte fallback for an unknown codepoint", (double)m, 4);
    // shards: uint16 and uint32 round trip
    Shard s;
    shard_write("tests/tmp/u16.bin", ids, n, t.vocab);
    shard_load(&s, "tests/tmp/u16.bin", t.vocab);
    check_report(s.n == n && s.tokens[n - 1] == ids[n - 1], "shard uint16 round trip", (double)s.n, (double)n);
    shard_free(&s);
    shard_write("tests/tmp/u32.bin", ids, n, 100000);
    shard_load(&s, "tests/tmp/u32.bin", t.vocab);
    check_report(s.n == n && !memcmp(s.tokens, ids, n * 4), "shard uint32 (version 7) round trip", (double)s.n, (double)n);
    shard_free(&s);
    free(ids); free(back); free(text);
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
