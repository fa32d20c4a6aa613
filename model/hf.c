// hf.c — Hugging Face checkpoint directories (LlamaForCausalLM): config.json plus
// model.safetensors or a sharded model.safetensors.index.json. q/k rows are stored in
// the "half" RoPE layout there and converted on load. JSON goes through libyaml.
#include "formats.h"
#include "../util/util.h"

#include <stdlib.h>
#include <string.h>

// hf_scheme: the scheme of transformers v5's rope_parameters `rp`, which must say what
// v4's rope_scaling `rs` says when that key is there too (null: plain RoPE).
static void hf_scheme(Position *pos, YTree *t, yaml_node_t *rs, yaml_node_t *rp, const char *path) {
    position_from_hf(pos, t, rp, path, 1);
    if (!rs) return;
    Position v4;
    position_default(&v4);
    if (!yis_null(rs)) position_from_hf(&v4, t, rs, path, 0);
    char *a = position_json(pos, POS_JSON_SET, 0), *b = position_json(&v4, POS_JSON_SET, 0);
    if (strcmp(a, b))
        yfail(t, rp, "rope_parameters (%s) and rope_scaling (line %zu: %s) disagree; which is meant?", a,
              rs->start_mark.line + 1, b);
    free(a);
    free(b);
}

// read_hf_config: the model's shape and, into pos unless NULL, its position scheme.
static void read_hf_config(ModelConfig *c, Position *pos, const char *path) {
    size_t len;
    char *text = read_file(path, &len);
    YTree t;
    ytree_parse(&t, path, text, len);
    yaml_node_t *r = ytree_root(&t), *n;
    if (r->type != YAML_MAPPING_NODE) yfail(&t, r, "config.json must be a JSON object");
    if ((n = ymap_get(&t, r, "model_type")) && strcmp(yscalar(&t, n, "model_type"), "llama"))
        yfail(&t, n, "model_type '%s' is not supported (only llama)", yscalar(&t, n, "model_type"));
    if ((n = ymap_get(&t, r, "hidden_act")) && strcmp(yscalar(&t, n, "hidden_act"), "silu"))
        yfail(&t, n, "hidden_act '%s' is not supported (only silu)", yscalar(&t, n, "hidden_act"));
    if (ymap_bool(&t, r, "attention_bias", 0) || ymap_bool(&t, r, "mlp_bias", 0))
        yfail(&t, r, "attention_bias / mlp_bias are not supported (Llama has no biases)");
    *c = (ModelConfig){
        .dim = ymap_int(&t, r, "hidden_size", 0, 1), .hidden = ymap_int(&t, r, "intermediate_size", 0, 1),
        .n_layers = ymap_int(&t, r, "num_hidden_layers", 0, 1), .n_heads = ymap_int(&t, r, "num_attention_heads", 0, 1),
        .vocab = ymap_int(&t, r, "vocab_size", 0, 1), .max_seq_len = ymap_int(&t, r, "max_position_embeddings", 0, 0),
        .norm_eps = (float)ymap_double(&t, r, "rms_norm_eps", 1e-6), .rope_theta = (float)ymap_double(&t, r, "rope_theta", 10000.0),
        .tied = ymap_bool(&t, r, "tie_word_embeddings", 0)};
    c->n_kv_heads = ymap_int(&t, r, "num_key_value_heads", c->n_heads, 0);
    if (c->n_heads && ymap_int(&t, r, "head_dim", c->dim / c->n_heads, 0) * c->n_heads != c->dim)
        yfail(&t, r, "head_dim must equal hidden_size / num_attention_heads");
    yaml_node_t *sp = NULL, *rs = ymap_get(&t, r, "rope_scaling"), *rp = ymap_get(&t, r, "rope_parameters");
    if (rp && yis_null(rp)) rp = NULL;
    if (rp && rp->type != YAML_MAPPING_NODE) yfail(&t, rp, "rope_parameters must be an object");
    if (rp && (n = ymap_get(&t, rp, "rope_theta"))) {      // transformers v5 keeps the base here
        const double v5 = ymap_double(&t, rp, "rope_theta", 0);
        yaml_node_t *v4 = ymap_get(&t, r, "rope_theta");
        if (v4 && ymap_double(&t, r, "rope_theta", 0) != v5)
            yfail(&t, n, "rope_parameters.rope_theta %.17g disagrees with rope_theta %.17g (line %zu); which is meant?", v5,
                  ymap_double(&t, r, "rope_theta", 0), v4->start_mark.line + 1);
        c->rope_theta = (float)v5;
    }
    if ((n = ymap_get(&t, r, "stretch")) && n->type == YAML_MAPPING_NODE) {   // our export: the base model's facts
        c->rope_theta = (float)ymap_double(&t, n, "rope_theta", c->rope_theta);
        c->max_seq_len = ymap_int(&t, n, "max_seq_len", c->max_seq_len, 0);
        sp = ymap_get(&t, n, "position");
    }
    if (pos) {
        position_default(pos);
        if (sp) position_apply(pos, &t, sp, "position", NULL);
        else if (rp) hf_scheme(pos, &t, rs, rp, path);
        else if (rs && !yis_null(rs)) position_from_hf(pos, &t, rs, path, 0);
    }
    ytree_free(&t);
    free(text);
    model_config_check(c, path);
}

// Shards: the open files of a sharded checkpoint and the index's weight_map.
typedef struct {
    Safetensors *files;
    size_t n_files;
    YTree index;
    yaml_node_t *weight_map;
} Shards;

static Safetensors *resolve_sharded(void *ctx, const char *name) {
    Shards *s = ctx;
    yaml_node_t *f = ymap_get(&s->index, s->weight_map, name);
    if (!f) return NULL;
    const char *file = yscalar(&s->index, f, name);
    for (size_t i = 0; i < s->n_files; i++) {
        const char *base = strrchr(s->files[i].path, '/');
        if (!strcmp(base ? base + 1 : s->files[i].path, file)) return &s->files[i];
    }
    yfail(&s->index, f, "tensor '%s' maps to '%s', which is not a shard of this checkpoint", name, file);
}

static void open_shards(Shards *s, const char *dir, const char *index_path) {
    size_t len;
    char *text = read_file(index_path, &len);
    ytree_parse(&s->index, index_path, text, len);
    free(text);
    s->weight_map = ymap_get(&s->index, ytree_root(&s->index), "weight_map");
    if (!s->weight_map || s->weight_map->type != YAML_MAPPING_NODE)
        yfail(&s->index, ytree_root(&s->index), "'weight_map' must be an object of tensor -> file");
    yaml_node_pair_t *p0 = s->weight_map->data.mapping.pairs.start, *p1 = s->weight_map->data.mapping.pairs.top;
    s->files = xcalloc((size_t)(p1 - p0) + 1, sizeof(Safetensors));
    for (yaml_node_pair_t *p = p0; p < p1; p++) {
        const char *file = yscalar(&s->index, yaml_document_get_node(&s->index.doc, p->value), "weight_map");
        if (strchr(file, '/')) yfail(&s->index, yaml_document_get_node(&s->index.doc, p->value), "shard '%s' must be a plain file name", file);
        int seen = 0;
        for (size_t i = 0; i < s->n_files && !seen; i++) {
            const char *base = strrchr(s->files[i].path, '/');
            seen = !strcmp(base + 1, file);
        }
        if (seen) continue;
        char *path = path_join(dir, file);
        st_open(&s->files[s->n_files++], path);
        free(path);
    }
}

// check_no_extra: every tensor in the files must be a parameter of the config (a stray
// tensor means the config contradicts the checkpoint), except rotary inv_freq buffers
// and a T5 table (loaded with the position scheme, which must have a T5 bias).
static void check_no_extra(Safetensors *files, size_t n_files, const ModelConfig *c) {
    TensorSpec s[NUM_PARAMS];
    char name[256];
    param_specs(c, s);
    for (size_t f = 0; f < n_files; f++)
        for (size_t e = 0; e < files[f].n_entries; e++) {
            const char *en = files[f].entries[e].name;
            int known = strstr(en, "rotary_emb.inv_freq") != NULL || !strcmp(en, T5_TABLE_NAME);
            for (int i = 0; i < NUM_PARAMS && !known; i++) {
                if (!spec_numel(&s[i], c->n_layers)) continue;
                for (int l = 0; l < (s[i].per_layer ? c->n_layers : 1) && !known; l++) {
                    param_name(name, sizeof name, &s[i], "", l);
                    known = !strcmp(name, en);
                }
            }
            if (!known) die("%s: tensor '%s' is not part of the model config.json describes", files[f].path, en);
        }
}

// read_dir_config: dir/config.json into c and pos (see read_hf_config); returns its path.
static char *read_dir_config(const char *dir, ModelConfig *c, Position *pos) {
    char *cfg = path_join(dir, "config.json");
    if (!file_exists(cfg)) die("%s: no config.json in this Hugging Face directory", dir);
    read_hf_config(c, pos, cfg);
    return cfg;
}

void load_hf_position(const char *dir, Position *pos) {
    ModelConfig c;
    free(read_dir_config(dir, &c, pos));
}

void load_hf_dir(Model *m, const char *dir, Position *pos) {
    ModelConfig c;
    char *cfg = read_dir_config(dir, &c, pos), *single = path_join(dir, "model.safetensors");
    char *index = path_join(dir, "model.safetensors.index.json");
    model_init(m, &c, cfg);
    if (file_exists(single)) {
        Safetensors st;
        st_open(&st, single);
        check_no_extra(&st, 1, &c);
        st_load_params(st_resolve_single, &st, &c, &m->params, "", LAYOUT_HALF);
        st_close(&st);
    } else if (file_exists(index)) {
        Shards s = {0};
        open_shards(&s, dir, index);
        check_no_extra(s.files, s.n_files, &c);
        st_load_params(resolve_sharded, &s, &c, &m->params, "", LAYOUT_HALF);
        for (size_t i = 0; i < s.n_files; i++) st_close(&s.files[i]);
        free(s.files);
        ytree_free(&s.index);
    } else {
        die("%s: neither model.safetensors nor model.safetensors.index.json is there", dir);
    }
    free(cfg);
    free(single);
    free(index);
}

void save_hf_dir(const Model *m, const char *dir, int max_position, double rope_theta, const char *extra_json) {
    const ModelConfig *c = &m->cfg;
    const int HS = c->dim / c->n_heads;
    TensorSpec s[NUM_PARAMS];
    param_specs(c, s);
    float *half = xmalloc(m->num_params * sizeof(float));        // a copy with q/k rows in the half layout
    memcpy(half, m->params_memory, m->num_params * sizeof(float));
    ParamTensors view;
    model_views(m, half, &view);
    for (int i = 0; i < NUM_PARAMS; i++) {
        if (!view.t[i] || !s[i].rope_rows) continue;
        size_t per = spec_numel(&s[i], 1);
        for (int l = 0; l < c->n_layers; l++) rope_permute_rows(view.t[i] + (size_t)l * per, s[i].rope_rows, HS, s[i].shape[1], 1);
    }
    StTensor *t = xcalloc((size_t)NUM_PARAMS * (size_t)c->n_layers, sizeof(StTensor));
    size_t n = state_tensors(c, &view, "", t);
    const char *keys[1] = {"format"}, *vals[1] = {"pt"};
    char *st_path = path_join(dir, "model.safetensors"), *cfg_path = path_join(dir, "config.json");
    st_write(st_path, t, n, keys, vals, 1);
    FILE *f = xfopen(cfg_path, "w");
    fprintf(f, "{\n  \"architectures\": [\"LlamaForCausalLM\"],\n  \"model_type\": \"llama\",\n"
            "  \"hidden_size\": %d,\n  \"intermediate_size\": %d,\n  \"num_hidden_layers\": %d,\n"
            "  \"num_attention_heads\": %d,\n  \"num_key_value_heads\": %d,\n  \"head_dim\": %d,\n"
            "  \"vocab_size\": %d,\n  \"rms_norm_eps\": %.9g,\n  \"hidden_act\": \"silu\",\n"
            "  \"tie_word_embeddings\": %s,\n  \"attention_bias\": false,\n  \"mlp_bias\": false,\n"
            "  \"bos_token_id\": 1,\n  \"eos_token_id\": 2,\n  \"torch_dtype\": \"float32\",\n"
            "  \"max_position_embeddings\": %d,\n  \"rope_theta\": %.17g,\n%s\n}\n",
            c->dim, c->hidden, c->n_layers, c->n_heads, c->n_kv_heads, HS, c->vocab, c->norm_eps,
            c->tied ? "true" : "false", max_position, rope_theta, extra_json);
    if (fclose(f) != 0) die("%s: write failed", cfg_path);
    free(st_path);
    free(cfg_path);
    free(t);
    free(half);
}
