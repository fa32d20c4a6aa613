// safetensors.c — reader for the safetensors format (Hugging Face): an 8-byte
// little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}},
// then the data section. Offsets are checked against the file before any read.
#define _POSIX_C_SOURCE 200809L
#include "formats.h"
#include "../util/fs.h"
#include "../util/util.h"

#include <stdlib.h>
#include <string.h>

static size_t dtype_size(const char *d) {
    static const struct { const char *name; size_t size; } T[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2},
        {"I8", 1}, {"U8", 1}, {"BOOL", 1}, {"U16", 2}, {"U32", 4}, {"U64", 8}};
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) if (!strcmp(d, T[i].name)) return T[i].size;
    return 0;
}

static void parse_entry(Safetensors *st, StEntry *e, yaml_node_t *v) {
    YTree *t = &st->header;
    yaml_node_t *dt = ymap_get(t, v, "dtype"), *sh = ymap_get(t, v, "shape"), *of = ymap_get(t, v, "data_offsets");
    if (!dt || !sh || !of) yfail(t, v, "tensor '%s' lacks dtype, shape or data_offsets", e->name);
    const char *d = yscalar(t, dt, "dtype");
    size_t ds = dtype_size(d), numel = 1;
    if (!ds || strlen(d) >= sizeof e->dtype) yfail(t, dt, "tensor '%s' has unknown dtype '%s'", e->name, d);
    strcpy(e->dtype, d);
    if (sh->type != YAML_SEQUENCE_NODE || yseq_len(sh) > 8) yfail(t, sh, "tensor '%s': shape must be a list of at most 8 sizes", e->name);
    e->ndim = (int)yseq_len(sh);
    for (int i = 0; i < e->ndim; i++) {
        long long n = yint(t, yseq_at(t, sh, (size_t)i), "shape");
        if (n < 0 || n > (1ll << 40) || (n && numel > (SIZE_MAX >> 8) / (size_t)n))
            yfail(t, sh, "tensor '%s': impossible shape", e->name);
        e->shape[i] = (size_t)n;
        numel *= (size_t)n;
    }
    if (of->type != YAML_SEQUENCE_NODE || yseq_len(of) != 2) yfail(t, of, "tensor '%s': data_offsets must be [begin, end]", e->name);
    long long b = yint(t, yseq_at(t, of, 0), "data_offsets"), en = yint(t, yseq_at(t, of, 1), "data_offsets");
    if (b < 0 || en < b || (uint64_t)en > st->data_size)
        die("%s: tensor '%s': data_offsets [%lld, %lld] out of range of the %llu-byte data section", st->path,
            e->name, b, en, (unsigned long long)st->data_size);
    if ((uint64_t)(en - b) != numel * ds)
        die("%s: tensor '%s': %lld bytes for %zu elements of %s", st->path, e->name, en - b, numel, e->dtype);
    e->begin = (uint64_t)b;
    e->end = (uint64_t)en;
}

void st_open(Safetensors *st, const char *path) {
    st_open_stream(st, xfopen(path, "rb"), path);
}

void st_open_stream(Safetensors *st, FILE *f, const char *path) {
    uint64_t n;
    memset(st, 0, sizeof *st);
    st->path = xstrdup(path);
    st->f = f;
    size_t size = file_size(st->f, path);
    if (size < 8) die("%s: truncated: %zu bytes, too small for a safetensors header", path, size);
    xfread(&n, 8, st->f, path, "the header length");
    if (n < 2 || n > size - 8 || n > (256u << 20))
        die("%s: header length %llu is impossible for a %zu-byte file (not safetensors?)", path, (unsigned long long)n, size);
    char *json = xmalloc((size_t)n + 1);
    xfread(json, (size_t)n, st->f, path, "the JSON header");
    json[n] = '\0';
    st->data_start = 8 + n;
    st->data_size = size - st->data_start;
    ytree_parse(&st->header, path, json, (size_t)n);
    free(json);
    yaml_node_t *root = ytree_root(&st->header);
    if (root->type != YAML_MAPPING_NODE) yfail(&st->header, root, "the header must be a JSON object");
    size_t cap = (size_t)(root->data.mapping.pairs.top - root->data.mapping.pairs.start);
    st->entries = xcalloc(cap ? cap : 1, sizeof(StEntry));
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&st->header.doc, p->key);
        const char *name = yscalar(&st->header, k, "tensor name");
        if (!strcmp(name, "__metadata__")) continue;
        StEntry *e = &st->entries[st->n_entries++];
        e->name = xstrdup(name);
        parse_entry(st, e, yaml_document_get_node(&st->header.doc, p->value));
    }
}

void st_close(Safetensors *st) {
    if (st->f) fclose(st->f);
    for (size_t i = 0; i < st->n_entries; i++) free(st->entries[i].name);
    free(st->entries);
    free(st->path);
    ytree_free(&st->header);
    memset(st, 0, sizeof *st);
}

const StEntry *st_find(const Safetensors *st, const char *name) {
    for (size_t i = 0; i < st->n_entries; i++) if (!strcmp(st->entries[i].name, name)) return &st->entries[i];
    return NULL;
}

const char *st_metadata(Safetensors *st, const char *key) {
    yaml_node_t *md = ymap_get(&st->header, ytree_root(&st->header), "__metadata__");
    if (!md) return NULL;
    yaml_node_t *v = ymap_get(&st->header, md, key);
    return v ? yscalar(&st->header, v, key) : NULL;
}

static const StEntry *st_entry_checked(Safetensors *st, const char *name, size_t numel) {
    const StEntry *e = st_find(st, name);
    if (!e) die("%s: tensor '%s' is missing", st->path, name);
    size_t n = 1;
    char shape[128] = "";
    for (int i = 0; i < e->ndim; i++) {
        n *= e->shape[i];
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%zu", i ? ", " : "", e->shape[i]);
    }
    if (n != numel) die("%s: tensor '%s' has shape [%s] (%zu elements); the model config needs %zu", st->path, name, shape, n, numel);
    if (fseek(st->f, (long)(st->data_start + e->begin), SEEK_SET) != 0) die("%s: cannot seek to tensor '%s'", st->path, name);
    return e;
}

void st_read_f32(Safetensors *st, const char *name, float *dst, size_t numel) {
    const StEntry *e = st_entry_checked(st, name, numel);
    if (!strcmp(e->dtype, "F32")) {
        xfread(dst, numel * 4, st->f, st->path, name);
        return;
    }
    if (strcmp(e->dtype, "F16") && strcmp(e->dtype, "BF16"))
        die("%s: tensor '%s' has dtype %s; weights must be F32, F16 or BF16", st->path, name, e->dtype);
    uint16_t *tmp = xmalloc(numel * 2);
    xfread(tmp, numel * 2, st->f, st->path, name);
    int bf = !strcmp(e->dtype, "BF16");
    for (size_t i = 0; i < numel; i++) dst[i] = bf ? bf16_to_f32(tmp[i]) : f16_to_f32(tmp[i]);
    free(tmp);
}

void st_read_i32(Safetensors *st, const char *name, int32_t *dst, size_t numel) {
    const StEntry *e = st_entry_checked(st, name, numel);
    if (strcmp(e->dtype, "I32")) die("%s: tensor '%s' has dtype %s, expected I32", st->path, name, e->dtype);
    xfread(dst, numel * 4, st->f, st->path, name);
}

Safetensors *st_resolve_single(void *st, const char *name) {
    (void)name;
    return st;
}

void param_name(char *out, size_t cap, const TensorSpec *s, const char *prefix, int layer) {
    int n = snprintf(out, cap, "%s", prefix);
    if (s->per_layer) snprintf(out + n, cap - (size_t)n, s->name, layer);
    else snprintf(out + n, cap - (size_t)n, "%s", s->name);
}

void st_load_params(StResolver resolve, void *ctx, const ModelConfig *c, ParamTensors *dst,
                    const char *prefix, RopeLayout layout) {
    TensorSpec s[NUM_PARAMS];
    char name[256];
    int HS = c->dim / c->n_heads;
    param_specs(c, s);
    for (int i = 0; i < NUM_PARAMS; i++) {
        if (!dst->t[i]) continue;
        size_t per = spec_numel(&s[i], 1);
        for (int l = 0; l < (s[i].per_layer ? c->n_layers : 1); l++) {
            param_name(name, sizeof name, &s[i], prefix, l);
            Safetensors *st = resolve(ctx, name);
            if (!st) die("tensor '%s' is in no file of the checkpoint", name);
            float *w = dst->t[i] + (size_t)l * per;
            st_read_f32(st, name, w, per);
            if (layout == LAYOUT_HALF && s[i].rope_rows) rope_permute_rows(w, s[i].rope_rows, HS, s[i].shape[1], 0);
        }
    }
}

void rope_permute_rows(float *w, int n_heads, int HS, size_t cols, int to_half) {
    float *tmp = xmalloc((size_t)HS * cols * sizeof(float));
    for (int h = 0; h < n_heads; h++) {
        float *head = w + (size_t)h * HS * cols;
        for (int j = 0; j < HS / 2; j++)
            for (int p = 0; p < 2; p++) {
                size_t inter = (size_t)(2 * j + p), half = (size_t)(p * HS / 2 + j);
                size_t from = to_half ? inter : half, to = to_half ? half : inter;
                memcpy(tmp + to * cols, head + from * cols, cols * sizeof(float));
            }
        memcpy(head, tmp, (size_t)HS * cols * sizeof(float));
    }
    free(tmp);
}

// json_string: s as a JSON string literal (quotes and backslashes escaped).
static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", (unsigned char)*s);
        else fputc(*s, f);
    }
    fputc('"', f);
}

void st_write(const char *path, const StTensor *t, size_t n, const char *const *keys, const char *const *values, size_t n_meta) {
    char *tmp = with_suffix(path, ".tmp");
    char *hbuf = NULL;                        // the JSON header, in memory, to learn its length
    size_t hbuf_len = 0;
    FILE *h = open_memstream(&hbuf, &hbuf_len);
    CHECK(h, "%s: cannot open a memory stream", path);
    fputc('{', h);
    if (n_meta) {
        fputs("\"__metadata__\":{", h);
        for (size_t i = 0; i < n_meta; i++) {
            if (i) fputc(',', h);
            json_string(h, keys[i]);
            fputc(':', h);
            json_string(h, values[i]);
        }
        fputc('}', h);
    }
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t numel = t[i].shape[0] * (t[i].ndim == 2 ? t[i].shape[1] : 1);
        fprintf(h, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%zu", n_meta || i ? "," : "", t[i].name, t[i].shape[0]);
        if (t[i].ndim == 2) fprintf(h, ",%zu", t[i].shape[1]);
        fprintf(h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off, (unsigned long long)(off + numel * 4));
        off += numel * 4;
    }
    fputc('}', h);
    CHECK(fclose(h) == 0, "%s: out of memory for the header", path);
    const size_t hl = hbuf_len;
    uint64_t padded = (uint64_t)hl + (uint64_t)((8 - hl % 8) % 8);
    char *hdr = xmalloc((size_t)padded);
    memcpy(hdr, hbuf, hl);
    free(hbuf);
    memset(hdr + hl, ' ', (size_t)(padded - (uint64_t)hl));
    FILE *f = xfopen(tmp, "wb");
    xfwrite(&padded, 8, f, tmp);
    xfwrite(hdr, (size_t)padded, f, tmp);
    for (size_t i = 0; i < n; i++)
        xfwrite(t[i].data, t[i].shape[0] * (t[i].ndim == 2 ? t[i].shape[1] : 1) * 4, f, tmp);
    finish_file(f, tmp, path);
    free(hdr);
    free(tmp);
}

void model_config_json(const ModelConfig *c, char *buf, size_t cap) {
    snprintf(buf, cap, "{\"dim\": %d, \"hidden\": %d, \"n_layers\": %d, \"n_heads\": %d, \"n_kv_heads\": %d, "
             "\"vocab\": %d, \"norm_eps\": %.9g, \"rope_theta\": %.9g, \"tied\": %s, \"rope_layout\": \"interleaved\", "
             "\"max_seq_len\": %d}", c->dim, c->hidden, c->n_layers, c->n_heads, c->n_kv_heads, c->vocab, c->norm_eps,
             c->rope_theta, c->tied ? "true" : "false", c->max_seq_len);
}

size_t state_tensors(const ModelConfig *c, const ParamTensors *src, const char *prefix, StTensor *t) {
    TensorSpec s[NUM_PARAMS];
    size_t n = 0;
    param_specs(c, s);
    for (int i = 0; i < NUM_PARAMS; i++) {
        if (!src->t[i]) continue;
        size_t per = spec_numel(&s[i], 1);
        for (int l = 0; l < (s[i].per_layer ? c->n_layers : 1); l++, n++) {
            param_name(t[n].name, sizeof t[n].name, &s[i], prefix, l);
            t[n].data = src->t[i] + (size_t)l * per;
            t[n].ndim = s[i].ndim;
            t[n].shape[0] = s[i].shape[0];
            t[n].shape[1] = s[i].shape[1];
        }
    }
    return n;
}

void model_config_from_json(ModelConfig *c, RopeLayout *layout, const char *json, const char *source) {
    YTree t;
    ytree_parse(&t, source, json, strlen(json));
    yaml_node_t *r = ytree_root(&t), *n;
    if (r->type != YAML_MAPPING_NODE) yfail(&t, r, "model metadata must be a JSON object");
    *c = (ModelConfig){
        .dim = ymap_int(&t, r, "dim", 0, 1), .hidden = ymap_int(&t, r, "hidden", 0, 1),
        .n_layers = ymap_int(&t, r, "n_layers", 0, 1), .n_heads = ymap_int(&t, r, "n_heads", 0, 1),
        .n_kv_heads = ymap_int(&t, r, "n_kv_heads", 0, 1), .vocab = ymap_int(&t, r, "vocab", 0, 1),
        .norm_eps = (float)ymap_double(&t, r, "norm_eps", 1e-5), .rope_theta = (float)ymap_double(&t, r, "rope_theta", 10000.0),
        .tied = ymap_bool(&t, r, "tied", 0), .max_seq_len = ymap_int(&t, r, "max_seq_len", 0, 0)};
    *layout = LAYOUT_INTERLEAVED;
    if ((n = ymap_get(&t, r, "rope_layout"))) {
        const char *s = yscalar(&t, n, "rope_layout");
        if (!strcmp(s, "half")) *layout = LAYOUT_HALF;
        else if (strcmp(s, "interleaved")) yfail(&t, n, "rope_layout '%s' must be interleaved or half", s);
    }
    ytree_free(&t);
    model_config_check(c, source);
}

void save_state(const Model *m, const char *train_json, const char *path) {
    StTensor *t = xcalloc((size_t)NUM_PARAMS * (size_t)m->cfg.n_layers, sizeof(StTensor));
    char model_json[512], *pos = position_json(&m->pos, POS_JSON_SCHEME, m->cfg.rope_theta);
    size_t n = state_tensors(&m->cfg, &m->params, "", t);
    model_config_json(&m->cfg, model_json, sizeof model_json);
    const char *keys[4] = {"format", "model", "position", "train"}, *vals[4] = {"stretch", model_json, pos, train_json};
    st_write(path, t, n, keys, vals, train_json ? 4 : 3);
    free(pos);
    free(t);
}

// state_position: __metadata__.position of an open state into pos (plain RoPE without one).
static void state_position(Safetensors *st, Position *pos) {
    const char *pj = st_metadata(st, "position");
    if (pj) position_parse_json(pos, pj, "__metadata__.position");
    else position_default(pos);
}

void load_state_position(const char *path, Position *pos) {
    Safetensors st;
    st_open(&st, path);
    state_position(&st, pos);
    st_close(&st);
}

void load_state(Model *m, const char *path, Position *pos) {
    Safetensors st;
    ModelConfig mc;
    RopeLayout layout;
    st_open(&st, path);
    const char *meta = st_metadata(&st, "model");
    if (!meta) die("%s: no __metadata__.model: not a stretch state (use a llama2.c file or a Hugging Face directory)", path);
    model_config_from_json(&mc, &layout, meta, path);
    if (pos) state_position(&st, pos);
    model_init(m, &mc, path);
    st_load_params(st_resolve_single, &st, &m->cfg, &m->params, "", layout);
    st_close(&st);
}

void load_t5_table(Model *m, const char *path) {
    Safetensors st;
    st_open(&st, path);
    if (st_find(&st, T5_TABLE_NAME)) {
        if (m->pos.bias != BIAS_T5)
            die("%s: the model has a learned T5 table but position.bias is %s; keep bias: t5 or start from the base model",
                path, BIAS_NAMES[m->pos.bias]);
        st_read_f32(&st, T5_TABLE_NAME, m->params.t5_table, (size_t)m->cfg.t5_buckets * (size_t)m->cfg.n_heads);
    }
    st_close(&st);
}
