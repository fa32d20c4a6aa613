// export.c — `train export --from SRC --to DIR --format hf|llama2c`. model/position.c
// writes rope_scaling (POS_JSON_HF) and reads it back (position_from_hf, by load_hf_dir).
//
// Hugging Face config.json per method (transformers' rope_init_functions):
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
#include "export.h"
#include "setup.h"
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
    appendf(extra, cap, &n, "  \"rope_scaling\": %s,\n  \"stretch\": {\"rope_theta\": %.9g, \"max_seq_len\": %d, "
            "\"trained_seq_len\": %d, \"position\": %s}", hf, m->cfg.rope_theta, m->cfg.max_seq_len, trained, pos);
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

int export_main(int argc, char **argv) {
    const char *from = NULL, *to = NULL, *format = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: train export --from SRC --to DIR --format hf|llama2c\n"
                   "  SRC: a checkpoint step_N/ directory, a run directory, a stretch state, a Hugging Face\n"
                   "  directory or a llama2.c file; DIR: a new directory (see README, Export)\n");
            return 0;
        }
        if (i + 1 >= argc) die("%s needs a value (usage: train export --from SRC --to DIR --format hf|llama2c)", argv[i]);
        if (!strcmp(argv[i], "--from")) from = argv[++i];
        else if (!strcmp(argv[i], "--to")) to = argv[++i];
        else if (!strcmp(argv[i], "--format")) format = argv[++i];
        else die("export: unknown option '%s' (usage: train export --from SRC --to DIR --format hf|llama2c)", argv[i]);
    }
    if (!from || !to || !format) die("usage: train export --from SRC --to DIR --format hf|llama2c");
    if (strcmp(format, "hf") && strcmp(format, "llama2c")) die("--format %s: expected hf or llama2c", format);
    if (file_exists(to) && !is_dir(to)) die("--to %s: a file of that name exists; --to names a directory", to);
    size_t n_entries;
    char **entries = list_dir(to, &n_entries);
    free_list(entries, n_entries);
    if (n_entries) die("--to %s: the directory exists and is not empty; choose a new one", to);
    Config *c = xmalloc(sizeof *c);
    config_load(c, NULL, NULL, 0);
    Model m;
    SourceKind kind;
    char *state = load_model_from(&m, c, from, &kind);
    int trained = kind == SRC_STATE ? trained_length(state, m.cfg.max_seq_len) : m.cfg.max_seq_len;
    char *tmp = with_suffix(to, ".tmp");
    remove_tree(tmp);
    make_dirs(tmp);
    if (!strcmp(format, "hf")) export_hf(&m, tmp, trained);
    else export_llama2c(&m, tmp);
    remove_tree(to);
    rename_path(tmp, to);
    printf("exported %s to %s (%s, trained length %d)\n", from, to, format, trained);
    model_free(&m);
    free(tmp);
    free(state);
    free(c);
    return 0;
}
