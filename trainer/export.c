// export.c — `train export --from SRC --to DEST --format hf|llama2c|gguf`. model/position.c
// writes rope_scaling (POS_JSON_HF) and reads it back (position_from_hf, by load_hf_dir).
//
// Hugging Face config.json per method (transformers' rope_init_functions), as v4's
// rope_theta and rope_scaling and as v5's rope_parameters (the same object with
// "rope_theta" in it; "rope_type": "default" where v4 has null):
//   plain RoPE, ABF       rope_theta = the scheme's base, rope_scaling null
//   ntk                   rope_theta = b s^(d/(d-2)) (static NTK is a base change), null
//   linear                {"rope_type": "linear", "factor"}
//   dynamic               {"rope_type": "dynamic", "factor", "original_max_position_embeddings"};
//                         max_position_embeddings = L_o, the length transformers scales against
//   yarn                  {"rope_type": "yarn", "factor", "original_max_position_embeddings",
//                          "beta_fast", "beta_slow", "truncate"[, "attention_factor"]}
//   llama3                {"rope_type": "llama3", "factor", "low_freq_factor", "high_freq_factor",
//                          "original_max_position_embeddings"}
//   longrope              {"rope_type": "longrope", "factor", "short_factor", "long_factor",
//                          "original_max_position_embeddings"[, "attention_factor"]}
//   alibi, t5 bias        no Llama equivalent: rope part as above, bias only under "stretch"
// Every export also carries "stretch": {"rope_theta" (base), "max_seq_len" (L_o),
// "trained_seq_len", "position" (the config's position keys)}, so that init_from on the
// directory rebuilds exactly the model that was exported.
// GGUF (llama.cpp): the keys and tensors per scheme, and the schemes refused, are in
// model/gguf.c; the vocabulary in data/tokenizer.c.
#include "export.h"
#include "setup.h"
#include "../data/data.h"
#include "../model/formats.h"
#include "../util/fs.h"
#include "../util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// trained_length: __metadata__.train.seq_len of a stretch state, else L_o.
static int trained_length(const char *state, int L0) {
    Safetensors st;
    st_open(&st, state);
    const char *tj = st_metadata(&st, "train");
    int T = L0;
    if (tj) {
        YTree t;
        ytree_parse(&t, "__metadata__.train", tj, strlen(tj));
        yaml_node_t *n = ymap_get(&t, ytree_root(&t), "seq_len");
        if (n) T = (int)yint(&t, n, "seq_len");
        ytree_free(&t);
    }
    st_close(&st);
    return T;
}

static void export_hf(const Model *m, const char *dir, int trained) {
    const Position *p = &m->pos;
    const double theta = p->rope && p->scaling == SCALE_NTK ? rope_ntk_base(p->theta, p->factor, m->cfg.dim / m->cfg.n_heads)
                                                            : p->theta;
    const int max_pos = p->rope && p->scaling == SCALE_DYNAMIC ? p->original_max : trained;
    const size_t cap = 3 * POS_JSON_MAX;
    size_t n = 0;
    char *extra = xmalloc(cap), *hf = position_json(p, POS_JSON_HF, m->cfg.rope_theta);
    char *pos = position_json(p, POS_JSON_SCHEME, m->cfg.rope_theta);
    appendf(extra, cap, &n, "  \"rope_scaling\": %s,\n  \"rope_parameters\": {\"rope_theta\": %.17g, ", hf, theta);
    appendf(extra, cap, &n, "%s,\n", strcmp(hf, "null") ? hf + 1 : "\"rope_type\": \"default\"}");
    appendf(extra, cap, &n, "  \"stretch\": {\"rope_theta\": %.9g, \"max_seq_len\": %d, \"trained_seq_len\": %d, "
            "\"position\": %s}", m->cfg.rope_theta, m->cfg.max_seq_len, trained, pos);
    CHECK(n < cap, "the position scheme does not fit the export's JSON buffers");
    save_hf_dir(m, dir, max_pos, theta, extra);
    if (p->bias != BIAS_NONE)
        printf("note: transformers' Llama has no %s bias; only this project (model.init_from) reads it from "
               "config.json's \"stretch\" key\n", BIAS_NAMES[p->bias]);
    if (p->rope && p->scaling == SCALE_YARN && fabs((double)trained / p->original_max - p->factor) > 1e-9)
        printf("note: recent transformers derive YaRN's factor from max_position_embeddings / "
               "original_max_position_embeddings = %d / %d, not the trained factor %g\n", trained, p->original_max, p->factor);
    free(extra);
    free(hf);
    free(pos);
}

static void export_llama2c(const Model *m, const char *dir) {
    if (!position_is_plain(&m->pos, m->cfg.rope_theta) || m->params.t5_table || m->cfg.rope_theta != 10000.0f) {
        char *pos = position_json(&m->pos, POS_JSON_SCHEME, m->cfg.rope_theta);
        die("--format llama2c: llama2.c v1 stores no position settings (its runners apply plain RoPE with base 10000), "
            "and this model uses %s with base %g; export it with --format hf", pos, m->cfg.rope_theta);
    }
    char *bin = path_join(dir, "model.bin");
    save_llama2c_v1(m, bin);
    free(bin);
}

// run_tokenizer: data.tokenizer of the run that saved `state` (the config.yaml beside it:
// a checkpoint's or a finished run's), or NULL.
static char *run_tokenizer(const char *state) {
    char *dir = xstrdup(state), *slash = strrchr(dir, '/'), *tok = NULL;
    if (slash) *slash = 0;
    char *cfg = path_join(slash ? dir : ".", "config.yaml");
    if (file_exists(cfg)) {
        Config *c = xmalloc(sizeof *c);
        config_load(c, cfg, NULL, 0);
        if (*c->tokenizer) tok = xstrdup(c->tokenizer);
        free(c);
    }
    free(cfg);
    free(dir);
    return tok;
}

// export_gguf: m as llama.cpp's GGUF at `path`, with the tokenizer `tok_path` (a llama2.c
// or GGUF tokenizer; NULL: the data.tokenizer of the run that saved a state source, or a
// GGUF source's own vocabulary).
static void export_gguf(const Model *m, const char *path, int trained, GgmlType dtype, const char *tok_path,
                        const char *from, SourceKind kind) {
    GgufWriter w;
    gguf_writer_init(&w);
    gguf_put_model(&w, m, trained, dtype);
    char *own = !tok_path && kind == SRC_STATE ? run_tokenizer(from) : NULL;
    if (own) printf("tokenizer: %s (data.tokenizer of the run)\n", own), tok_path = own;
    if (!tok_path && kind == SRC_GGUF && tokenizer_in_gguf(from)) tok_path = from;
    if (tok_path) {
        Tokenizer t;
        tokenizer_load(&t, tok_path);
        if (t.vocab != m->cfg.vocab)
            die("--tokenizer %s has %d tokens, the model %d (hint: the tokenizer of another model?)", tok_path, t.vocab,
                m->cfg.vocab);
        tokenizer_put_gguf(&t, &w);
        tokenizer_free(&t);
    } else {
        gguf_put_str(&w, "tokenizer.ggml.model", "no_vocab");
        printf("note: no --tokenizer: %s holds no vocabulary; llama.cpp runs it on token ids only\n", path);
    }
    gguf_write(&w, path);
    gguf_writer_free(&w);
    free(own);
    if (m->pos.scaling == SCALE_LONGROPE)
        printf("note: llama.cpp applies LongRoPE's long factors to every sequence of a context (n_ctx) longer than %d, "
               "the short ones otherwise; the model was trained choosing per sequence length\n", m->pos.original_max);
}

static const char USAGE_EXPORT[] =
    "usage: train export --from SRC --to DEST --format hf|llama2c|gguf [--dtype f32|f16] [--tokenizer TOK]";
static const char HELP_EXPORT[] =
    "  SRC: a checkpoint step_N/ directory, a run directory, a stretch state, a Hugging Face directory, a\n"
    "  llama2.c file or a GGUF file; DEST: a new directory (hf, llama2c) or a new .gguf file (gguf);\n"
    "  --dtype (gguf): the matrices' type (f32); --tokenizer (gguf): the vocabulary to embed (a llama2.c\n"
    "  tokenizer or a GGUF file; default: the data.tokenizer of the run that saved SRC, or a GGUF source's\n"
    "  own). See README, Export.";

int export_main(int argc, char **argv) {
    const char *from = NULL, *to = NULL, *format = NULL, *dtype = NULL, *tok = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("%s\n%s\n", USAGE_EXPORT, HELP_EXPORT);
            return 0;
        }
        if (i + 1 >= argc) die("%s needs a value (%s)", argv[i], USAGE_EXPORT);
        if (!strcmp(argv[i], "--from")) from = argv[++i];
        else if (!strcmp(argv[i], "--to")) to = argv[++i];
        else if (!strcmp(argv[i], "--format")) format = argv[++i];
        else if (!strcmp(argv[i], "--dtype")) dtype = argv[++i];
        else if (!strcmp(argv[i], "--tokenizer")) tok = argv[++i];
        else die("export: unknown option '%s' (%s)", argv[i], USAGE_EXPORT);
    }
    if (!from || !to || !format) die("%s", USAGE_EXPORT);
    const int gguf = !strcmp(format, "gguf");
    if (strcmp(format, "hf") && strcmp(format, "llama2c") && !gguf) die("--format %s: expected hf, llama2c or gguf", format);
    if (!gguf && (dtype || tok)) die("--%s applies to --format gguf only", dtype ? "dtype" : "tokenizer");
    if (dtype && strcmp(dtype, "f32") && strcmp(dtype, "f16")) die("--dtype %s: expected f32 or f16", dtype);
    if (gguf && file_exists(to)) die("--to %s: exists; choose a new file name", to);
    if (!gguf && file_exists(to) && !is_dir(to)) die("--to %s: a file of that name exists; --to names a directory", to);
    size_t n_entries;
    char **entries = gguf ? NULL : list_dir(to, &n_entries);
    if (!gguf) free_list(entries, n_entries);
    if (!gguf && n_entries) die("--to %s: the directory exists and is not empty; choose a new one", to);
    if (tok && !file_exists(tok)) die("--tokenizer %s: no such file", tok);
    Config *c = xmalloc(sizeof *c);
    config_load(c, NULL, NULL, 0);
    Model m;
    SourceKind kind;
    char *state = load_model_from(&m, c, from, &kind);
    const int trained = kind == SRC_STATE ? trained_length(state, m.cfg.max_seq_len)
                      : kind == SRC_GGUF ? gguf_context_length(state) : m.cfg.max_seq_len;
    if (gguf) {
        export_gguf(&m, to, trained, dtype && !strcmp(dtype, "f16") ? GGML_F16 : GGML_F32, tok, state, kind);
    } else {
        char *tmp = with_suffix(to, ".tmp");
        remove_tree(tmp);
        make_dirs(tmp);
        if (!strcmp(format, "hf")) export_hf(&m, tmp, trained);
        else export_llama2c(&m, tmp);
        remove_tree(to);
        rename_path(tmp, to);
        free(tmp);
    }
    printf("exported %s to %s (%s, trained length %d)\n", from, to, format, trained);
    model_free(&m);
    free(state);
    free(c);
    return 0;
}
