// llama2.c checkpoints (Karpathy's llama2.c export.py):
//   legacy: 7 x int32 header (dim, hidden, layers, heads, kv_heads, vocab, seq_len);
//           vocab < 0 marks an untied classifier; then fp32 embed, attn norms, wq, wk, wv,
//           wo, mlp norms, w1, w2, w3, final norm, freq_cis real/imag (seq_len x HS/2
//           each, ignored), then the classifier when untied.
//   v1:     uint32 magic 0x616b3432 "ak42", int32 version 1, the same 7 int32, uint8
//           shared_classifier, zero padding to 256 bytes; then all norms (attn, mlp,
//           final), embed, wq, wk, wv, wo, w1, w2, w3, and the classifier when untied.
// RoPE rows are interleaved in both, which is the internal layout.
#include "formats.h"
#include "../util/fs.h"
#include "../util/util.h"

#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#define LLAMA2C_MAGIC 0x616b3432u

static ModelConfig config_from_header(const int32_t h[7], int shared, const char *path) {
    if (h[5] == INT32_MIN) die("%s: impossible vocab size in the header", path);
    ModelConfig c = {.dim = h[0], .hidden = h[1], .n_layers = h[2], .n_heads = h[3], .n_kv_heads = h[4],
                     .vocab = h[5] < 0 ? -h[5] : h[5], .max_seq_len = h[6], .norm_eps = 1e-5f,
                     .rope_theta = 10000.0f, .tied = shared};
    if (h[6] <= 0 || h[6] > (1 << 24)) die("%s: impossible max_seq_len %d in the header", path, h[6]);
    model_config_check(&c, path);
    return c;
}

static void check_size(size_t have, size_t want, const char *path, const char *fmt) {
    if (have < want) die("%s: truncated %s checkpoint: %zu bytes, the header implies %zu", path, fmt, have, want);
    if (have > want) die("%s: %s checkpoint has %zu bytes, the header implies %zu (wrong format or shape?)", path, fmt, have, want);
}

// File orders of the stacked (L, ...) blocks; they match the internal stacking.
static const int LEGACY_ORDER[] = {P_EMBED, P_ATTN_NORM, P_WQ, P_WK, P_WV, P_WO, P_MLP_NORM,
                                   P_WGATE, P_WDOWN, P_WUP, P_FINAL_NORM};
static const int V1_ORDER[] = {P_ATTN_NORM, P_MLP_NORM, P_FINAL_NORM, P_EMBED, P_WQ, P_WK, P_WV,
                               P_WO, P_WGATE, P_WDOWN, P_WUP};
#define N_ORDER (sizeof LEGACY_ORDER / sizeof LEGACY_ORDER[0])

static void read_params(Model *m, const int *order, FILE *f, const char *path) {
    TensorSpec s[NUM_PARAMS];
    param_specs(&m->cfg, s);
    for (size_t i = 0; i < N_ORDER; i++)
        xfread(m->params.t[order[i]], spec_numel(&s[order[i]], m->cfg.n_layers) * sizeof(float), f, path,
               s[order[i]].name);
}

static void load_legacy(Model *m, FILE *f, const char *path, size_t size) {
    int32_t h[7];
    xfread(h, sizeof h, f, path, "the 28-byte header");
    ModelConfig c = config_from_header(h, h[5] > 0, path);
    size_t HS = (size_t)c.dim / c.n_heads, freq = (size_t)c.max_seq_len * (HS / 2) * 2;
    check_size(size, 28 + (model_num_params(&c) + freq) * sizeof(float), path, "llama2.c legacy");
    model_init(m, &c, path);
    read_params(m, LEGACY_ORDER, f, path);
    if (fseek(f, (long)(freq * sizeof(float)), SEEK_CUR) != 0) die("%s: cannot skip the freq_cis tables", path);
    if (!c.tied) xfread(m->params.lm_head, (size_t)c.vocab * c.dim * sizeof(float), f, path, "wcls");
}

static void load_v1(Model *m, FILE *f, const char *path, size_t size) {
    unsigned char hdr[256];
    int32_t version, h[7];
    xfread(hdr, sizeof hdr, f, path, "the 256-byte v1 header");
    memcpy(&version, hdr + 4, 4);
    if (version != 1)
        die("%s: llama2.c format version %d is not supported (only fp32 v1; version 2 is int8-quantized)", path, version);
    memcpy(h, hdr + 8, sizeof h);
    if (hdr[36] > 1) die("%s: shared_classifier byte is %d, expected 0 or 1", path, hdr[36]);
    ModelConfig c = config_from_header(h, hdr[36], path);
    check_size(size, 256 + model_num_params(&c) * sizeof(float), path, "llama2.c v1");
    model_init(m, &c, path);
    read_params(m, V1_ORDER, f, path);
    if (!c.tied) xfread(m->params.lm_head, (size_t)c.vocab * c.dim * sizeof(float), f, path, "output.weight");
}

void load_llama2c(Model *m, const char *path) {
    FILE *f = xfopen(path, "rb");
    size_t size = file_size(f, path);
    uint32_t magic = 0;
    if (size < 28) die("%s: truncated: %zu bytes is too small for a llama2.c checkpoint header", path, size);
    xfread(&magic, 4, f, path, "the magic");
    rewind(f);
    if (magic == LLAMA2C_MAGIC) load_v1(m, f, path, size);
    else load_legacy(m, f, path, size);
    fclose(f);
}

void save_llama2c_v1(const Model *m, const char *path) {
    TensorSpec s[NUM_PARAMS];
    unsigned char hdr[256] = {0};
    const ModelConfig *c = &m->cfg;
    int32_t version = 1, h[7] = {c->dim, c->hidden, c->n_layers, c->n_heads, c->n_kv_heads, c->vocab, c->max_seq_len};
    uint32_t magic = LLAMA2C_MAGIC;
    memcpy(hdr, &magic, 4);
    memcpy(hdr + 4, &version, 4);
    memcpy(hdr + 8, h, sizeof h);
    hdr[36] = (unsigned char)c->tied;
    param_specs(c, s);
    char *tmp = with_suffix(path, ".tmp");
    FILE *f = xfopen(tmp, "wb");
    xfwrite(hdr, sizeof hdr, f, tmp);
    for (size_t i = 0; i < N_ORDER; i++)
        xfwrite(m->params.t[V1_ORDER[i]], spec_numel(&s[V1_ORDER[i]], c->n_layers) * sizeof(float), f, tmp);
    if (!c->tied) xfwrite(m->params.lm_head, (size_t)c->vocab * c->dim * sizeof(float), f, tmp);
    finish_file(f, tmp, path);
    free(tmp);
}

void load_model(Model *m, const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) die("%s: no such model file or directory (model.init_from)", path);
    if (S_ISDIR(st.st_mode)) load_hf_dir(m, path, NULL);
    else if (gguf_is_file(path)) load_gguf(m, path, NULL);
    else load_llama2c(m, path);
}
