// checkpoint.c — loading model.init_from with its position scheme, and saving a run's
// model. A stretch state (`*.safetensors` with __metadata__.model) carries its position
// scheme and, for a T5 bias, the learned table; the config's `position:` keys, when any
// are set, replace the state's scheme. llama2.c and Hugging Face checkpoints are plain RoPE.
#include "run.h"
#include "../model/formats.h"
#include "../util/util.h"

#include <stdlib.h>
#include <string.h>

static int is_state(const char *path) {
    size_t n = strlen(path);
    return n > 12 && !strcmp(path + n - 12, ".safetensors");
}

// load_state: parameters and position scheme from a stretch state.
static void load_state(Model *m, const Config *c) {
    Safetensors st;
    ModelConfig mc;
    RopeLayout layout;
    Position pos;
    st_open(&st, c->init_from);
    const char *meta = st_metadata(&st, "model"), *pj = st_metadata(&st, "position");
    if (!meta) die("%s: no __metadata__.model: not a stretch state (use a llama2.c file or a Hugging Face directory)", c->init_from);
    model_config_from_json(&mc, &layout, meta, c->init_from);
    Config *own = xmalloc(sizeof *own);
    config_load(own, NULL, NULL, 0);
    if (pj) config_apply_json(own, pj, "__metadata__.position", "position");
    const Config *pc = config_position_is_set(c) ? c : own;
    config_position(pc, mc.dim / mc.n_heads, mc.rope_theta, mc.max_seq_len, &pos);
    model_init(m, &mc, c->init_from);
    model_set_position(m, &pos);
    int has_table = st_find(&st, "model.relative_attention_bias.weight") != NULL;
    if (has_table && pos.bias != BIAS_T5)
        die("%s: the state has a learned T5 table but position.bias is %s; keep bias: t5 or start from the base model",
            c->init_from, BIAS_NAMES[pos.bias]);
    float *table = m->params.t5_table;
    if (!has_table) m->params.t5_table = NULL;    // a newly added T5 bias keeps its init
    st_load_params(st_resolve_single, &st, &m->cfg, &m->params, "", layout);
    m->params.t5_table = table;
    st_close(&st);
    free(own);
}

void load_model_for(Model *m, const Config *c) {
    if (is_state(c->init_from)) {
        load_state(m, c);
        return;
    }
    load_model(m, c->init_from);
    Position pos;
    config_position(c, m->cfg.dim / m->cfg.n_heads, m->cfg.rope_theta, m->cfg.max_seq_len, &pos);
    model_set_position(m, &pos);
}

void save_run_model(const Model *m, double base_theta, const char *dir) {
    char json[8192];
    position_json(&m->pos, base_theta, json, sizeof json);
    CHECK(json[0], "the position scheme does not fit its %zu-byte JSON buffer", sizeof json);
    char *state = path_join(dir, "model.safetensors"), *bin = path_join(dir, "model.bin");
    save_state(m, json, state);
    if (position_is_plain(&m->pos, base_theta) && !m->params.t5_table) {
        save_llama2c_v1(m, bin);
        printf("saved %s and %s (llama2.c v1)\n", state, bin);
    } else {
        remove(bin);
        printf("saved %s (position %s)\n", state, json);
    }
    free(state);
    free(bin);
}
