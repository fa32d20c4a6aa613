// modelio.c — loading model.init_from with its position scheme, and saving a run's
// model. What init_from (or `export --from`) names is resolved by resolve_source:
//   *.safetensors              a stretch state (__metadata__.model and .position)
//   a checkpoint step_N/ dir   its model.safetensors, after checking every CRC
//   a run directory            its newest whole checkpoint (falling back past damage),
//                              else its final model.safetensors
//   a dir with config.json     Hugging Face (our export carries its scheme under "stretch";
//                              others may have rope_scaling, translated to position keys)
//   any other file             llama2.c (legacy or v1)
// The source's scheme applies unless the config sets `position:` keys, which replace it.
#include "run.h"
#include "checkpoint.h"
#include "../model/formats.h"
#include "../util/fs.h"
#include "../util/util.h"

#include <stdlib.h>
#include <string.h>

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

char *resolve_source(const char *from, SourceKind *kind) {
    char err[512];
    if (!is_dir(from)) {
        if (!file_exists(from)) die("%s: no such model file or directory", from);
        *kind = ends_with(from, ".safetensors") ? SRC_STATE : SRC_LLAMA2C;
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

// load_state: a stretch state's weights (a T5 table comes later, in finish_load) and,
// into own, its position scheme.
static void load_state(Model *m, const char *path, Config *own) {
    Safetensors st;
    ModelConfig mc;
    RopeLayout layout;
    st_open(&st, path);
    const char *meta = st_metadata(&st, "model"), *pj = st_metadata(&st, "position");
    if (!meta) die("%s: no __metadata__.model: not a stretch state (use a llama2.c file or a Hugging Face directory)", path);
    model_config_from_json(&mc, &layout, meta, path);
    if (pj) config_apply_json(own, pj, "__metadata__.position", "position");
    model_init(m, &mc, path);
    st_load_params(st_resolve_single, &st, &m->cfg, &m->params, "", layout);
    st_close(&st);
}

// finish_load: the position scheme (the config's position keys if any, else the
// source's, in own), then a T5 table from `table_file` when it holds one.
static void finish_load(Model *m, const Config *c, const Config *own, const char *table_file) {
    Position pos;
    const Config *pc = config_position_is_set(c) ? c : own;
    config_position(pc, m->cfg.dim / m->cfg.n_heads, m->cfg.rope_theta, m->cfg.max_seq_len, &pos);
    model_set_position(m, &pos);
    if (!table_file) return;
    Safetensors st;
    st_open(&st, table_file);
    if (st_find(&st, T5_TABLE_NAME)) {
        if (pos.bias != BIAS_T5)
            die("%s: the model has a learned T5 table but position.bias is %s; keep bias: t5 or start from the base model",
                table_file, BIAS_NAMES[pos.bias]);
        st_read_f32(&st, T5_TABLE_NAME, m->params.t5_table, (size_t)m->cfg.t5_buckets * (size_t)m->cfg.n_heads);
    }
    st_close(&st);
}

char *load_model_from(Model *m, const Config *c, const char *from, SourceKind *kind_out) {
    SourceKind kind;
    char *path = resolve_source(from, &kind), *table = NULL;
    if (kind_out) *kind_out = kind;
    Config *own = xmalloc(sizeof *own);
    config_load(own, NULL, NULL, 0);
    if (kind == SRC_STATE) {
        load_state(m, path, own);
        table = xstrdup(path);
    } else if (kind == SRC_HF) {
        load_hf_dir(m, path);
        hf_position(own, path);
        table = path_join(path, "model.safetensors");
        if (!file_exists(table)) free(table), table = NULL;
    } else {
        load_model(m, path);
    }
    finish_load(m, c, own, table);
    free(own);
    free(table);
    return path;
}

void load_model_for(Model *m, const Config *c) {
    if (!*c->init_from) die("model.init_from is not set (the model to start from)");
    free(load_model_from(m, c, c->init_from, NULL));
}

void save_model_state(const Model *m, double base_theta, const char *train_json, const char *path) {
    char json[8192];
    position_json(&m->pos, base_theta, json, sizeof json);
    CHECK(json[0], "the position scheme does not fit its %zu-byte JSON buffer", sizeof json);
    save_state(m, json, train_json, path);
}

void save_run_model(const Model *m, double base_theta, const char *train_json, const char *dir) {
    char *state = path_join(dir, "model.safetensors"), *bin = path_join(dir, "model.bin");
    save_model_state(m, base_theta, train_json, state);
    if (position_is_plain(&m->pos, base_theta) && !m->params.t5_table) {
        save_llama2c_v1(m, bin);
        printf("saved %s and %s (llama2.c v1)\n", state, bin);
    } else {
        remove(bin);
        char json[8192];
        position_json(&m->pos, base_theta, json, sizeof json);
        printf("saved %s (position %s)\n", state, json);
    }
    free(state);
    free(bin);
}
