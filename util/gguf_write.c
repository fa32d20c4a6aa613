// gguf_write.c — the GGUF writer (gguf.h), laid out as ggml's gguf_write_to_file and
// gguf-py's GGUFWriter do it, which llama.cpp's loader insists on: version 3, metadata in
// the order added, tensor infos in the order added with offsets that are the running sum
// of each tensor's bytes padded to the alignment (32), zero padding after the tensor
// table and after every tensor, the last one included. Written to path.tmp, renamed.
#include "gguf.h"
#include "fs.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

void gguf_writer_init(GgufWriter *w) { *w = (GgufWriter){0}; }

void gguf_writer_free(GgufWriter *w) {
    for (size_t i = 0; i < w->n_t; i++) free(w->names[i]);
    for (size_t i = 0; i < w->n_owned; i++) free(w->owned[i]);
    free(w->owned);
    free(w->names);
    free(w->t);
    free(w->kv);
    *w = (GgufWriter){0};
}

static void put(GgufWriter *w, const void *src, size_t n) {
    if (w->kv_len + n > w->kv_cap) {
        w->kv_cap = (w->kv_len + n) * 2 + 4096;
        w->kv = xrealloc(w->kv, w->kv_cap);
    }
    memcpy(w->kv + w->kv_len, src, n);
    w->kv_len += n;
}

static void put_u32(GgufWriter *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(GgufWriter *w, uint64_t v) { put(w, &v, 8); }
static void put_string(GgufWriter *w, const char *s) {
    put_u64(w, strlen(s));
    put(w, s, strlen(s));
}

// head: the key and value type of a new entry.
static void head(GgufWriter *w, const char *key, GgufType t) {
    put_string(w, key);
    put_u32(w, (uint32_t)t);
    w->n_kv++;
}

void gguf_put_u32(GgufWriter *w, const char *key, uint32_t v) { head(w, key, GGUF_U32); put_u32(w, v); }
void gguf_put_i32(GgufWriter *w, const char *key, int32_t v) { head(w, key, GGUF_I32); put(w, &v, 4); }
void gguf_put_f32(GgufWriter *w, const char *key, float v) { head(w, key, GGUF_F32); put(w, &v, 4); }
void gguf_put_str(GgufWriter *w, const char *key, const char *v) { head(w, key, GGUF_STRING); put_string(w, v); }

void gguf_put_bool(GgufWriter *w, const char *key, int v) {
    const unsigned char b = v != 0;
    head(w, key, GGUF_BOOL);
    put(w, &b, 1);
}

static void array_head(GgufWriter *w, const char *key, GgufType elem, size_t n) {
    head(w, key, GGUF_ARRAY);
    put_u32(w, (uint32_t)elem);
    put_u64(w, n);
}

void gguf_put_strs(GgufWriter *w, const char *key, const char *const *v, size_t n) {
    array_head(w, key, GGUF_STRING, n);
    for (size_t i = 0; i < n; i++) put_string(w, v[i]);
}

void gguf_put_f32s(GgufWriter *w, const char *key, const float *v, size_t n) {
    array_head(w, key, GGUF_F32, n);
    put(w, v, n * sizeof *v);
}

void gguf_put_i32s(GgufWriter *w, const char *key, const int32_t *v, size_t n) {
    array_head(w, key, GGUF_I32, n);
    put(w, v, n * sizeof *v);
}

void gguf_add_tensor(GgufWriter *w, const char *name, const float *data, int n_dims, const uint64_t *shape,
                     GgmlType type) {
    CHECK(n_dims >= 1 && n_dims <= GGUF_MAX_DIMS && strlen(name) < 64 && (type == GGML_F32 || type == GGML_F16),
          "gguf_add_tensor '%s': 1-4 dims, a name under 64 bytes, F32 or F16", name);
    if (w->n_t == w->cap_t) {
        w->cap_t = w->cap_t * 2 + 16;
        w->t = xrealloc(w->t, w->cap_t * sizeof *w->t);
        w->names = xrealloc(w->names, w->cap_t * sizeof *w->names);
    }
    w->names[w->n_t] = xstrdup(name);
    GgufOut *o = &w->t[w->n_t++];
    *o = (GgufOut){.name = w->names[w->n_t - 1], .data = data, .n_dims = n_dims, .type = type};
    memcpy(o->shape, shape, (size_t)n_dims * sizeof *shape);
}

float *gguf_tensor_buffer(GgufWriter *w, size_t n) {
    w->owned = xrealloc(w->owned, (w->n_owned + 1) * sizeof *w->owned);
    return w->owned[w->n_owned++] = xcalloc(n + 1, sizeof(float));
}

static uint64_t numel(const GgufOut *o) {
    uint64_t n = 1;
    for (int d = 0; d < o->n_dims; d++) n *= o->shape[d];
    return n;
}

static uint64_t padded(uint64_t n) { return (n + GGUF_DEFAULT_ALIGNMENT - 1) / GGUF_DEFAULT_ALIGNMENT * GGUF_DEFAULT_ALIGNMENT; }

static void write_zeros(FILE *f, uint64_t n, const char *path) {
    static const unsigned char z[GGUF_DEFAULT_ALIGNMENT];
    xfwrite(z, (size_t)n, f, path);
}

// write_data: tensor o as its type, then zeros to the alignment.
static void write_data(FILE *f, const GgufOut *o, const char *path) {
    const uint64_t n = numel(o);
    if (o->type == GGML_F32) xfwrite(o->data, (size_t)n * 4, f, path);
    else {
        uint16_t buf[4096];
        for (uint64_t i = 0; i < n; i += 4096) {
            const size_t k = n - i < 4096 ? (size_t)(n - i) : 4096;
            for (size_t j = 0; j < k; j++) buf[j] = f32_to_f16(o->data[i + j]);
            xfwrite(buf, k * 2, f, path);
        }
    }
    const uint64_t bytes = n * (o->type == GGML_F32 ? 4 : 2);
    write_zeros(f, padded(bytes) - bytes, path);
}

void gguf_write(const GgufWriter *w, const char *path) {
    GgufWriter info = {0};                    // the tensor table, serialized like metadata
    uint64_t offset = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        const GgufOut *o = &w->t[i];
        put_string(&info, o->name);
        put_u32(&info, (uint32_t)o->n_dims);
        for (int d = o->n_dims - 1; d >= 0; d--) put_u64(&info, o->shape[d]);   // ne[0] = the last PyTorch dim
        put_u32(&info, (uint32_t)o->type);
        put_u64(&info, offset);
        offset += padded(numel(o) * (o->type == GGML_F32 ? 4 : 2));
    }
    char *tmp = with_suffix(path, ".tmp");
    FILE *f = xfopen(tmp, "wb");
    const uint32_t version = 3;
    const uint64_t counts[2] = {w->n_t, w->n_kv};
    xfwrite("GGUF", 4, f, tmp);
    xfwrite(&version, 4, f, tmp);
    xfwrite(counts, sizeof counts, f, tmp);
    if (w->kv_len) xfwrite(w->kv, w->kv_len, f, tmp);
    if (info.kv_len) xfwrite(info.kv, info.kv_len, f, tmp);
    const uint64_t header = 24 + w->kv_len + info.kv_len;
    write_zeros(f, padded(header) - header, tmp);
    for (size_t i = 0; i < w->n_t; i++) write_data(f, &w->t[i], tmp);
    finish_file(f, tmp, path);
    free(tmp);
    gguf_writer_free(&info);
}
