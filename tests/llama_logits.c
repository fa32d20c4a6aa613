// llama_logits.c — llama.cpp itself (libllama v0.4.0, the prebuilt CPU build shipped by
// the npm package node-llama-cpp@3.21.1; see tests/llama.sh) reading a GGUF file:
//   llama_logits MODEL.gguf BINS logprobs   < ids   "i log p(id[i+1] | id[0..i])" per line
//   llama_logits MODEL.gguf BINS tokenize   < text  the ids llama_tokenize gives (BOS added)
//   llama_logits MODEL.gguf BINS info               n_vocab, n_ctx_train, the rope keys it reads
//   llama_logits MODEL.gguf BINS quantize TYPE OUT  llama_model_quantize to q8_0, q4_0 or bf16
//   llama_logits MODEL.gguf BINS dequant TENSOR     ggml's own reader and to_float: the values
// BINS: the folder of libggml-cpu-*.so backends. logprobs runs one batch with outputs at
// every position, an F32 KV cache and flash attention off (llama.cpp's defaults, an F16
// cache and flash attention, cost about 2e-2 in log p). Exit 1 on any failure.
#include "gguf.h"
#include "llama.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool no_progress(float p, void *u) { (void)p; (void)u; return true; }
static void quiet(enum ggml_log_level l, const char *t, void *u) { (void)u; if (l >= GGML_LOG_LEVEL_WARN) fputs(t, stderr); }

static int logprobs(struct llama_model *model) {
    int n = 0, cap = 1024, *ids = malloc(sizeof(int) * (size_t)cap);
    while (scanf("%d", &ids[n]) == 1) if (++n == cap) ids = realloc(ids, sizeof(int) * (size_t)(cap *= 2));
    if (n < 2) return fprintf(stderr, "llama_logits: fewer than 2 ids on stdin\n"), 1;
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = cp.n_batch = cp.n_ubatch = (uint32_t)n;
    cp.n_seq_max = 1;
    cp.n_threads = cp.n_threads_batch = 1;
    cp.type_k = cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    struct llama_batch b = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) {
        b.token[i] = ids[i];
        b.pos[i] = i;
        b.n_seq_id[i] = 1;
        b.seq_id[i][0] = 0;
        b.logits[i] = 1;
    }
    b.n_tokens = n;
    if (!ctx || llama_decode(ctx, b) != 0) return fprintf(stderr, "llama_logits: decode failed\n"), 1;
    const int nv = llama_vocab_n_tokens(llama_model_get_vocab(model));
    for (int i = 0; i + 1 < n; i++) {
        const float *lg = llama_get_logits_ith(ctx, i);
        double mx = lg[0], s = 0;
        for (int v = 1; v < nv; v++) mx = lg[v] > mx ? lg[v] : mx;
        for (int v = 0; v < nv; v++) s += exp(lg[v] - mx);
        printf("%d %.9g\n", i, lg[ids[i + 1]] - mx - log(s));
    }
    llama_batch_free(b);
    llama_free(ctx);
    free(ids);
    return 0;
}

static int tokenize(struct llama_model *model) {
    size_t cap = 1 << 16, len = 0, k;
    char *text = malloc(cap + 1);
    while ((k = fread(text + len, 1, cap - len, stdin)) > 0) if ((len += k) == cap) text = realloc(text, (cap *= 2) + 1);
    text[len] = 0;
    int32_t *ids = malloc(sizeof(int32_t) * (len + 8));
    const int n = llama_tokenize(llama_model_get_vocab(model), text, (int32_t)len, ids, (int32_t)len + 8, true, false);
    if (n < 0) return fprintf(stderr, "llama_logits: tokenize failed\n"), 1;
    for (int i = 0; i < n; i++) printf("%d\n", ids[i]);
    free(ids);
    free(text);
    return 0;
}

static int quantize(const char *in, const char *type, const char *out) {
    struct llama_model_quantize_params qp = llama_model_quantize_default_params();
    qp.nthread = 1;
    qp.pure = true;
    qp.ftype = !strcmp(type, "q8_0") ? LLAMA_FTYPE_MOSTLY_Q8_0 : !strcmp(type, "q4_0") ? LLAMA_FTYPE_MOSTLY_Q4_0
             : LLAMA_FTYPE_MOSTLY_BF16;
    return llama_model_quantize(in, out, &qp) != 0;
}

static int dequant(const char *path, const char *name) {
    struct ggml_context *gctx = NULL;
    struct gguf_init_params gp = {.no_alloc = false, .ctx = &gctx};
    struct gguf_context *g = gguf_init_from_file(path, gp);
    struct ggml_tensor *t = g ? ggml_get_tensor(gctx, name) : NULL;
    if (!t) return fprintf(stderr, "llama_logits: ggml finds no tensor %s in %s\n", name, path), 1;
    const int64_t n = ggml_nelements(t);
    float *v = malloc(sizeof(float) * (size_t)n);
    if (t->type == GGML_TYPE_F32) memcpy(v, t->data, sizeof(float) * (size_t)n);
    else ggml_get_type_traits(t->type)->to_float(t->data, v, n);
    printf("%s %s\n", name, ggml_type_name(t->type));
    for (int64_t i = 0; i < n; i++) printf("%.9g\n", v[i]);
    free(v);
    gguf_free(g);
    ggml_free(gctx);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) return fprintf(stderr, "usage: llama_logits MODEL.gguf BINS logprobs|tokenize|info|quantize|dequant\n"), 1;
    llama_log_set(quiet, NULL);
    ggml_backend_load_all_from_path(argv[2]);
    llama_backend_init();
    if (!strcmp(argv[3], "quantize") && argc == 6) return quantize(argv[1], argv[4], argv[5]);
    if (!strcmp(argv[3], "dequant") && argc == 5) return dequant(argv[1], argv[4]);
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    mp.progress_callback = no_progress;
    struct llama_model *model = llama_model_load_from_file(argv[1], mp);
    if (!model) return fprintf(stderr, "llama_logits: llama.cpp cannot load %s\n", argv[1]), 1;
    int rc = 1;
    if (!strcmp(argv[3], "logprobs")) rc = logprobs(model);
    else if (!strcmp(argv[3], "tokenize")) rc = tokenize(model);
    else if (!strcmp(argv[3], "info")) {
        char buf[256];
        printf("n_vocab %d n_ctx_train %d", llama_vocab_n_tokens(llama_model_get_vocab(model)), llama_model_n_ctx_train(model));
        const char *keys[] = {"llama.rope.freq_base", "llama.rope.scaling.type", "llama.rope.scaling.factor",
                              "llama.rope.scaling.attn_factor"};
        for (int k = 0; k < 4; k++)
            if (llama_model_meta_val_str(model, keys[k], buf, sizeof buf) >= 0) printf(" %s %s", keys[k], buf);
        printf("\n");
        rc = 0;
    }
    llama_model_free(model);
    llama_backend_free();
    return rc;
}
