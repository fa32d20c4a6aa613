// setup.c — what the subcommands set up from a config: threads, data shards, and
// model.init_from with its position scheme; and saving a run's model. What init_from (or
// `export --from`) names is resolved by resolve_source:
//   *.safetensors              a stretch state (__metadata__.model and .position)
//   a checkpoint step_N/ dir   its model.safetensors, after checking every CRC
//   a run directory            its newest whole checkpoint (falling back past damage),
//                              else its final model.safetensors
//   a dir with config.json     Hugging Face (our export carries its scheme under "stretch";
//                              others may have rope_scaling, translated to position keys)
//   any other file             llama2.c (legacy or v1)
// The source's scheme applies unless the config sets `position:` keys, which replace it.
#include "setup.h"
#include "checkpoint.h"
#include "../model/formats.h"
#include "../util/fs.h"
#include "../util/util.h"

#include <cblas.h>
#include <omp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void load_tokenizer(Tokenizer *t, const Config *c, int vocab, const char *user) {
    if (!*c->tokenizer)
        die("%s: %s needs data.tokenizer (the model's tokenizer: llama2.c .bin, GGUF or tokenizer.json, e.g. "
            "checkpoints/base/tok512.bin)", config_where(c, user), user);
    tokenizer_load(t, c->tokenizer);
    if (t->vocab != vocab)
        die("%s: data.tokenizer %s has %d tokens, the model %d (hint: the tokenizer of another model?)",
            config_where(c, "data.tokenizer"), c->tokenizer, t->vocab, vocab);
}

void mix_setup(Mix *x, const Tokenizer *tok, const Config *c, const Shard *train, int shortest_T, int longest_T) {
    const char *where = config_where(c, "data.mix.tasks"), *lens = config_where(c, "data.mix.lengths");
    if (!config_is_set(c, "data.mix.share"))
        die("%s: data.mix.tasks needs data.mix.share (the share of training tokens in retrieval documents, e.g. 0.2)",
            where);
    if (!(c->mix_share > 0.0 && c->mix_share < 1.0))
        die("%s: data.mix.share %g must be in (0, 1) (the share of training tokens in retrieval documents, e.g. 0.2)",
            config_where(c, "data.mix.share"), c->mix_share);
    const NeedleSource probe = {tok, train->tokens, train->n, (int)c->mix_needles, train->doc};
    int shortest = 2;
    for (int t = 0; t < MIX_KINDS; t++)
        if (c->mix_tasks >> t & 1) {
            const int need = mix_min_len(t, &probe, where);
            shortest = need > shortest ? need : shortest;
        }
    double lo = shortest, hi = longest_T > shortest ? longest_T : shortest;
    if (c->n_mix_lens) {
        lo = c->mix_lens[0];
        hi = c->n_mix_lens > 1 ? c->mix_lens[1] : lo;
        if (c->n_mix_lens > 2 || lo != (int)lo || hi != (int)hi || hi < lo)
            die("%s: data.mix.lengths must be [shortest, longest] whole document lengths", lens);
        if (lo < shortest)
            die("%s: data.mix.lengths %g is too short for the tasks' prompts; use at least %d", lens, lo, shortest);
    }
    const double d_lo = c->n_mix_depths ? c->mix_depths[0] : 0.0, d_hi = c->n_mix_depths > 1 ? c->mix_depths[1] : d_lo;
    if (c->n_mix_depths && (c->n_mix_depths > 2 || d_hi < d_lo))
        die("%s: data.mix.depths must be [lowest, highest] depths in [0, 1] (the asked fact's, drawn uniformly)",
            config_where(c, "data.mix.depths"));
    if (c->mix_whole && shortest_T < lo)
        die("%s: data.mix.whole needs every sequence to hold a whole document, but the shortest seq_len %d is below "
            "data.mix.lengths' %g (hint: shorter documents, or data.mix.whole: false)", config_where(c, "data.mix.whole"),
            shortest_T, lo);
    const MixOptions o = {c->mix_tasks, c->mix_share, (int)lo, (int)hi, (int)c->mix_needles,
                          c->n_mix_depths ? d_lo : 0.0, c->n_mix_depths ? d_hi : 1.0, (uint64_t)c->seed ^ 0x4D4958ull,
                          c->mix_whole};
    mix_init(x, train, tok, &o);
    if ((c->mix_tasks != 1ll << NEEDLE_KV || c->mix_whole) && hi > (double)x->src.n_filler)   // filler, gaps: training text
        die("%s: data.mix.lengths %g is longer than the training text's %zu tokens (the filler; hint: shorter lengths "
            "or a larger data.train)", lens, hi, x->src.n_filler);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

char *resolve_source(const char *from, SourceKind *kind) {
    char err[512];
    if (!is_dir(from)) {
        if (!file_exists(from)) die("%s: no such model file or directory", from);
        *kind = ends_with(from, ".safetensors") ? SRC_STATE : gguf_is_file(from) || ends_with(from, ".gguf") ? SRC_GGUF : SRC_LLAMA2C;
        return xstrdup(from);
    }
    char *done = path_join(from, "DONE"), *cfg = path_join(from, "config.json"), *final = path_join(from, "model.safetensors");
    char *out = NULL, *ckpt = NULL;
    *kind = SRC_STATE;
    if (file_exists(done)) {
        if (checkpoint_verify(from, err, sizeof err) != 0)
            die("%s: damaged checkpoint: %s (hint: use an earlier step_* directory of the run)", from, err);
        out = xstrdup(final);
    } else if (file_exists(cfg)) {
        *kind = SRC_HF;
        out = xstrdup(from);
    } else if (checkpoint_count(from) && (ckpt = checkpoint_newest(from))) {
        printf("%s: using its newest whole checkpoint %s\n", from, ckpt);
        out = path_join(ckpt, "model.safetensors");
    } else if (file_exists(final)) {
        out = xstrdup(final);
    } else {
        die("%s: not a model directory: no DONE (checkpoint), config.json (Hugging Face), whole step_* checkpoint "
            "or model.safetensors (finished run)", from);
    }
    free(ckpt);
    free(done);
    free(cfg);
    free(final);
    return out;
}

// finish_load: the scheme that applies (the config's position keys if any, else the
// source's own `src`), resolved against the model; then a T5 table from `table_file`
// when it holds one.
static void finish_load(Model *m, const Config *c, const Position *src, const char *table_file) {
    Position pos = position_is_set(&c->pos) ? c->pos : *src;
    model_resolve_position(&m->cfg, &pos);
    model_set_position(m, &pos);
    if (table_file) load_t5_table(m, table_file);
}

char *load_model_from(Model *m, const Config *c, const char *from, SourceKind *kind_out) {
    SourceKind kind;
    char *path = resolve_source(from, &kind), *table = NULL;
    if (kind_out) *kind_out = kind;
    Position *src = xmalloc(sizeof *src);
    position_default(src);
    if (kind == SRC_STATE) {
        load_state(m, path, src);
        table = xstrdup(path);
    } else if (kind == SRC_HF) {
        load_hf_dir(m, path, src);
        table = path_join(path, "model.safetensors");
        if (!file_exists(table)) free(table), table = NULL;
    } else if (kind == SRC_GGUF) {
        load_gguf(m, path, src);
    } else {
        load_model(m, path);
    }
    finish_load(m, c, src, table);
    char name[160];
    float v;
    if (model_first_nonfinite(m, m->params_memory, 0, m->num_params, name, sizeof name, &v))
        die("%s: tensor '%s' holds %s: the weights are not finite (a diverged or damaged checkpoint)", path, name,
            isnan(v) ? "NaN" : v > 0 ? "inf" : "-inf");
    free(src);
    free(table);
    return path;
}

void source_position(const char *from, Position *pos) {
    SourceKind kind;
    char *path = resolve_source(from, &kind);
    if (kind == SRC_STATE) load_state_position(path, pos);
    else if (kind == SRC_HF) load_hf_position(path, pos);
    else if (kind == SRC_GGUF) load_gguf_position(path, pos);
    else position_default(pos);
    free(path);
}

void load_model_for(Model *m, const Config *c) {
    if (!*c->init_from) die("model.init_from is not set (the model to start from)");
    free(load_model_from(m, c, c->init_from, NULL));
}

void save_run_model(const Model *m, const char *train_json, const char *dir) {
    char *state = path_join(dir, "model.safetensors"), *bin = path_join(dir, "model.bin");
    save_state(m, train_json, state);
    if (position_is_plain(&m->pos, m->cfg.rope_theta) && !m->params.t5_table) {
        save_llama2c_v1(m, bin);
        printf("saved %s and %s (llama2.c v1)\n", state, bin);
    } else {
        remove(bin);
        char *json = position_json(&m->pos, POS_JSON_SCHEME, m->cfg.rope_theta);
        printf("saved %s (position %s)\n", state, json);
        free(json);
    }
    free(state);
    free(bin);
}

int setup_threads(long long threads) {
    int n = threads > 0 ? (int)threads : omp_get_num_procs();
    omp_set_num_threads(n);
    openblas_set_num_threads(n);     // BLAS is only ever called outside OpenMP regions
    return n;
}

void require_documents(const Config *c, const Shard *s, const char *key) {
    if (shard_documents(s) < 2)
        die("%s: %s is on, but %s has no document boundaries (no BOS token after its first, one file): each window "
            "would be one document (prepare texts with BOS, or set %s: false)", config_where(c, key), key, s->path, key);
}

void load_data(Shard *s, const Config *c, const char *key, int vocab) {
    char where[CFG_STR + 64];
    snprintf(where, sizeof where, "%s: %s", config_where(c, key), key);
    if (!strcmp(key, "data.train")) shard_load_sources(s, &c->train, vocab, where);
    else shard_load_glob(s, c->val_path, vocab, where);
}
