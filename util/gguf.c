// gguf.c — GGUF read and write (gguf.h). The reader trusts nothing before checking it:
// every count is bounded by the bytes left in the file before anything is allocated,
// strings and arrays must fit in the file, tensors must be of a known type, aligned,
// inside the file and disjoint. Errors name the file, then the key or tensor.
#define _POSIX_C_SOURCE 200809L   // fseeko
#include "gguf.h"
#include "fs.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define MAX_NAME 64                    // ggml's GGML_MAX_NAME, NUL included

static const char *const TYPE_NAMES[GGUF_NUM_TYPES] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool",
                                                       "string", "array", "u64", "i64", "f64"};
static const size_t TYPE_SIZE[GGUF_NUM_TYPES] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

// Block size (elements) and bytes per block of the tensor types read here; 0: unknown.
static size_t block_elems(uint32_t t) { return t == GGML_Q4_0 || t == GGML_Q8_0 ? 32 : t == GGML_F32 || t == GGML_F16 || t == GGML_BF16 ? 1 : 0; }
static size_t block_bytes(uint32_t t) {
    return t == GGML_F32 ? 4 : t == GGML_F16 || t == GGML_BF16 ? 2 : t == GGML_Q4_0 ? 18 : t == GGML_Q8_0 ? 34 : 0;
}
static const char *dtype_name(uint32_t t) {
    return t == GGML_F32 ? "F32" : t == GGML_F16 ? "F16" : t == GGML_BF16 ? "BF16" : t == GGML_Q4_0 ? "Q4_0" : "Q8_0";
}

// ---- reading --------------------------------------------------------------------------
// Rd: the position in the header being parsed, and what is being read (for errors).
typedef struct {
    Gguf *g;
    uint64_t pos;
    char what[160];
} Rd;

static uint64_t left(const Rd *r) { return r->g->size - r->pos; }

static void rd(Rd *r, void *dst, uint64_t n) {
    if (n > left(r))
        die("%s: truncated: %s needs %llu bytes at byte %llu, the file has %llu (hint: an incomplete download or copy?)",
            r->g->path, r->what, (unsigned long long)n, (unsigned long long)r->pos, (unsigned long long)r->g->size);
    xfread(dst, (size_t)n, r->g->f, r->g->path, r->what);
    r->pos += n;
}

static uint32_t rd_u32(Rd *r) { uint32_t v; rd(r, &v, 4); return v; }
static uint64_t rd_u64(Rd *r) { uint64_t v; rd(r, &v, 8); return v; }

static char *rd_str(Rd *r) {
    const uint64_t n = rd_u64(r);
    if (n > left(r) || n > (1u << 30))
        die("%s: %s is a string of %llu bytes, longer than the %llu bytes left in the file (at byte %llu)", r->g->path,
            r->what, (unsigned long long)n, (unsigned long long)left(r), (unsigned long long)r->pos);
    char *s = xmalloc((size_t)n + 1);
    rd(r, s, n);
    s[n] = 0;
    if (strlen(s) != n) die("%s: %s holds a NUL byte (GGUF strings are UTF-8 without NUL)", r->g->path, r->what);
    return s;
}

// rd_name: a key or tensor name, without control bytes (names end up in one-line errors).
static char *rd_name(Rd *r) {
    char *s = rd_str(r);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c < 0x20 || *c == 0x7f) die("%s: %s holds a control byte (0x%02x)", r->g->path, r->what, *c);
    return s;
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// first_duplicate: a name of names[n] that appears twice, or NULL (sorting a copy).
static const char *first_duplicate(char **names, size_t n) {
    char **sorted = xmalloc((n + 1) * sizeof *sorted);
    memcpy(sorted, names, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_name);
    const char *dup = NULL;
    for (size_t i = 1; i < n && !dup; i++) dup = strcmp(sorted[i - 1], sorted[i]) ? NULL : sorted[i];
    free(sorted);
    return dup;
}

static GgufType rd_type(Rd *r, int array_elem) {
    const uint32_t t = rd_u32(r);
    if (t >= GGUF_NUM_TYPES || (array_elem && t == GGUF_ARRAY))
        die("%s: %s has value type %u, which is not a GGUF type%s", r->g->path, r->what, t,
            array_elem && t == GGUF_ARRAY ? " this reader takes (an array of arrays)" : " (0-12)");
    return (GgufType)t;
}

static void rd_value(Rd *r, GgufKv *kv) {
    kv->count = 1;
    if (kv->type == GGUF_STRING) kv->str = rd_str(r);
    else if (kv->type == GGUF_ARRAY) {
        kv->elem = rd_type(r, 1);
        kv->count = rd_u64(r);
        const uint64_t each = kv->elem == GGUF_STRING ? 8 : TYPE_SIZE[kv->elem];
        if (kv->count > left(r) / each)
            die("%s: %s is an array of %llu elements, more than the %llu bytes left in the file hold", r->g->path,
                r->what, (unsigned long long)kv->count, (unsigned long long)left(r));
        if (kv->elem == GGUF_STRING) {
            kv->strs = xcalloc((size_t)kv->count + 1, sizeof(char *));
            for (uint64_t i = 0; i < kv->count; i++) kv->strs[i] = rd_str(r);
        } else {
            kv->raw = xmalloc((size_t)(kv->count * each) + 1);
            rd(r, kv->raw, kv->count * each);
        }
    } else {
        unsigned char b[8] = {0};
        rd(r, b, TYPE_SIZE[kv->type]);
        uint64_t u = 0;
        int64_t i = 0;
        float f;
        switch (kv->type) {
        case GGUF_U8: case GGUF_BOOL: u = b[0]; i = b[0]; break;
        case GGUF_I8: i = (int8_t)b[0]; break;
        case GGUF_U16: { uint16_t v; memcpy(&v, b, 2); u = v; i = v; } break;
        case GGUF_I16: { int16_t v; memcpy(&v, b, 2); i = v; } break;
        case GGUF_U32: { uint32_t v; memcpy(&v, b, 4); u = v; i = v; } break;
        case GGUF_I32: { int32_t v; memcpy(&v, b, 4); i = v; } break;
        case GGUF_F32: memcpy(&f, b, 4); kv->num.f = f; return;
        case GGUF_F64: memcpy(&kv->num.f, b, 8); return;
        case GGUF_U64: memcpy(&u, b, 8); i = u > INT64_MAX ? -1 : (int64_t)u; break;
        case GGUF_I64: memcpy(&i, b, 8); break;
        default: break;
        }
        if (kv->type == GGUF_U8 || kv->type == GGUF_BOOL || kv->type == GGUF_U16 || kv->type == GGUF_U32 ||
            kv->type == GGUF_U64) kv->num.u = u;
        else kv->num.i = i;
    }
}

static void rd_tensor_info(Rd *r, GgufTensor *t) {
    t->name = rd_name(r);
    snprintf(r->what, sizeof r->what, "tensor '%.63s'", t->name);
    if (!*t->name || strlen(t->name) >= MAX_NAME)
        die("%s: tensor name '%s' must have 1 to %d bytes", r->g->path, t->name, MAX_NAME - 1);
    const uint32_t nd = rd_u32(r);
    if (nd < 1 || nd > GGUF_MAX_DIMS) die("%s: tensor '%s' has %u dimensions (1 to %d)", r->g->path, t->name, nd, GGUF_MAX_DIMS);
    t->n_dims = (int)nd;
    uint64_t numel = 1;
    for (int d = 0; d < t->n_dims; d++) {
        const uint64_t ne = rd_u64(r);
        if (ne == 0) die("%s: tensor '%s' has an empty dimension (ne[%d] = 0)", r->g->path, t->name, d);
        if (ne > INT64_MAX / numel)
            die("%s: tensor '%s' is too large: its element count overflows at ne[%d] = %llu", r->g->path, t->name, d,
                (unsigned long long)ne);
        numel *= ne;
        t->shape[t->n_dims - 1 - d] = ne;
    }
    const uint32_t type = rd_u32(r);
    if (!block_elems(type))
        die("%s: tensor '%s' has ggml type %u, which this reader does not take (F32, F16, BF16, Q8_0, Q4_0)",
            r->g->path, t->name, type);
    t->type = (GgmlType)type;
    if (t->shape[t->n_dims - 1] % block_elems(type))
        die("%s: tensor '%s' is %s but its rows of %llu elements are not whole blocks of %zu", r->g->path, t->name,
            dtype_name(type), (unsigned long long)t->shape[t->n_dims - 1], block_elems(type));
    if (numel / block_elems(type) > UINT64_MAX / 2 / block_bytes(type))
        die("%s: tensor '%s' is too large (its byte count overflows)", r->g->path, t->name);
    t->nbytes = numel / block_elems(type) * block_bytes(type);
    t->offset = rd_u64(r);
}

static int cmp_offset(const void *a, const void *b) {
    const GgufTensor *x = *(const GgufTensor *const *)a, *y = *(const GgufTensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

// check_tensors: names unique; data aligned, inside the file and disjoint.
static void check_tensors(Gguf *g) {
    GgufTensor **by = xmalloc((g->n_tensors + 1) * sizeof *by);
    char **names = xmalloc((g->n_tensors + 1) * sizeof *names);
    for (size_t i = 0; i < g->n_tensors; i++) names[i] = g->tensors[i].name;
    const char *dup = first_duplicate(names, g->n_tensors);
    if (dup) die("%s: tensor '%s' appears twice", g->path, dup);
    free(names);
    for (size_t i = 0; i < g->n_tensors; i++) {
        GgufTensor *t = &g->tensors[i];
        by[i] = t;
        if (t->offset % g->alignment)
            die("%s: tensor '%s' starts at data offset %llu, not a multiple of the alignment %u", g->path, t->name,
                (unsigned long long)t->offset, g->alignment);
        if (t->offset > g->size - g->data_start || t->nbytes > g->size - g->data_start - t->offset)
            die("%s: tensor '%s' (%llu bytes at data offset %llu) ends past the end of the file (%llu bytes, data from "
                "%llu; hint: a truncated file)", g->path, t->name, (unsigned long long)t->nbytes,
                (unsigned long long)t->offset, (unsigned long long)g->size, (unsigned long long)g->data_start);
    }
    qsort(by, g->n_tensors, sizeof *by, cmp_offset);
    for (size_t i = 1; i < g->n_tensors; i++)
        if (by[i - 1]->offset + by[i - 1]->nbytes > by[i]->offset)
            die("%s: tensors '%s' and '%s' overlap (data offsets %llu and %llu)", g->path, by[i - 1]->name, by[i]->name,
                (unsigned long long)by[i - 1]->offset, (unsigned long long)by[i]->offset);
    free(by);
}

int gguf_is_file(const char *path) {
    FILE *f = fopen(path, "rb");
    char m[4] = {0};
    int yes = f && fread(m, 1, 4, f) == 4 && !memcmp(m, "GGUF", 4);
    if (f) fclose(f);
    return yes;
}

void gguf_open(Gguf *g, const char *path) {
    *g = (Gguf){.path = xstrdup(path), .f = xfopen(path, "rb"), .alignment = GGUF_DEFAULT_ALIGNMENT};
    g->size = file_size(g->f, path);
    Rd r = {.g = g, .what = "the magic"};
    char magic[4];
    rd(&r, magic, 4);
    if (memcmp(magic, "GGUF", 4)) die("%s: not a GGUF file (its first bytes are not \"GGUF\")", path);
    snprintf(r.what, sizeof r.what, "the header");
    g->version = rd_u32(&r);
    if (g->version != 2 && g->version != 3)
        die("%s: GGUF version %u is not supported (2 or 3, little-endian%s)", path, g->version,
            g->version && !(g->version & 0xffff) ? "; this file looks big-endian" : "");
    const uint64_t n_t = rd_u64(&r), n_kv = rd_u64(&r);
    if (n_kv > left(&r) / 13 || n_t > left(&r) / 33)     // the smallest entries take 13 and 33 bytes
        die("%s: the header counts %llu metadata entries and %llu tensors, more than the file's %llu bytes hold", path,
            (unsigned long long)n_kv, (unsigned long long)n_t, (unsigned long long)g->size);
    g->kv = xcalloc((size_t)n_kv + 1, sizeof *g->kv);
    for (g->n_kv = 0; g->n_kv < n_kv; g->n_kv++) {
        GgufKv *kv = &g->kv[g->n_kv];
        snprintf(r.what, sizeof r.what, "the key of metadata entry %zu", g->n_kv);
        kv->key = rd_name(&r);
        if (!*kv->key) die("%s: metadata entry %zu has an empty key", path, g->n_kv);
        snprintf(r.what, sizeof r.what, "metadata %.120s", kv->key);
        kv->type = rd_type(&r, 0);
        rd_value(&r, kv);
    }
    char **keys = xmalloc((g->n_kv + 1) * sizeof *keys);
    for (size_t i = 0; i < g->n_kv; i++) keys[i] = g->kv[i].key;
    const char *dup = first_duplicate(keys, g->n_kv);
    if (dup) die("%s: metadata key %s appears twice", path, dup);
    free(keys);
    const GgufKv *al = gguf_find(g, "general.alignment");
    if (al && (al->type != GGUF_U32 || !al->num.u || (al->num.u & (al->num.u - 1))))
        die("%s: metadata general.alignment must be a u32 power of two", path);
    if (al) g->alignment = (uint32_t)al->num.u;
    g->tensors = xcalloc((size_t)n_t + 1, sizeof *g->tensors);
    for (g->n_tensors = 0; g->n_tensors < n_t; g->n_tensors++) {
        snprintf(r.what, sizeof r.what, "the name of tensor %zu", g->n_tensors);
        rd_tensor_info(&r, &g->tensors[g->n_tensors]);
    }
    g->data_start = (r.pos + g->alignment - 1) / g->alignment * g->alignment;
    if (g->n_tensors && g->data_start > g->size) die("%s: truncated: the file ends before its tensor data", path);
    check_tensors(g);
}

void gguf_close(Gguf *g) {
    for (size_t i = 0; i < g->n_kv; i++) {
        free(g->kv[i].key);
        free(g->kv[i].str);
        free(g->kv[i].raw);
        for (uint64_t j = 0; g->kv[i].strs && j < g->kv[i].count; j++) free(g->kv[i].strs[j]);
        free(g->kv[i].strs);
    }
    for (size_t i = 0; i < g->n_tensors; i++) free(g->tensors[i].name);
    free(g->kv);
    free(g->tensors);
    if (g->f) fclose(g->f);
    free(g->path);
    *g = (Gguf){0};
}

const GgufKv *gguf_find(const Gguf *g, const char *key) {
    for (size_t i = 0; i < g->n_kv; i++)
        if (!strcmp(g->kv[i].key, key)) return &g->kv[i];
    return NULL;
}

const GgufTensor *gguf_find_tensor(const Gguf *g, const char *name) {
    for (size_t i = 0; i < g->n_tensors; i++)
        if (!strcmp(g->tensors[i].name, name)) return &g->tensors[i];
    return NULL;
}

static const GgufKv *need(const Gguf *g, const char *key, int required) {
    const GgufKv *kv = gguf_find(g, key);
    if (!kv && required) die("%s: metadata key %s is missing", g->path, key);
    return kv;
}

static int is_unsigned(GgufType t) { return t == GGUF_U8 || t == GGUF_U16 || t == GGUF_U32 || t == GGUF_U64; }
static int is_signed(GgufType t) { return t == GGUF_I8 || t == GGUF_I16 || t == GGUF_I32 || t == GGUF_I64; }

uint32_t gguf_u32(const Gguf *g, const char *key, int required, uint32_t dflt) {
    const GgufKv *kv = need(g, key, required);
    if (!kv) return dflt;
    if (is_unsigned(kv->type) && kv->num.u <= UINT32_MAX) return (uint32_t)kv->num.u;
    if (is_signed(kv->type) && kv->num.i >= 0 && kv->num.i <= (int64_t)UINT32_MAX) return (uint32_t)kv->num.i;
    die("%s: metadata %s must be a non-negative integer below 2^32 (it is of type %s%s)", g->path, key,
        TYPE_NAMES[kv->type], is_unsigned(kv->type) || is_signed(kv->type) ? ", out of range" : "");
}

double gguf_float(const Gguf *g, const char *key, int required, double dflt) {
    const GgufKv *kv = need(g, key, required);
    if (!kv) return dflt;
    if (kv->type != GGUF_F32 && kv->type != GGUF_F64)
        die("%s: metadata %s must be f32 or f64, not %s", g->path, key, TYPE_NAMES[kv->type]);
    return kv->num.f;
}

int gguf_bool(const Gguf *g, const char *key, int dflt) {
    const GgufKv *kv = need(g, key, 0);
    if (!kv) return dflt;
    if (kv->type != GGUF_BOOL) die("%s: metadata %s must be a bool, not %s", g->path, key, TYPE_NAMES[kv->type]);
    return kv->num.u != 0;
}

const char *gguf_str(const Gguf *g, const char *key, int required) {
    const GgufKv *kv = need(g, key, required);
    if (kv && kv->type != GGUF_STRING) die("%s: metadata %s must be a string, not %s", g->path, key, TYPE_NAMES[kv->type]);
    return kv ? kv->str : NULL;
}

void *gguf_array(const Gguf *g, const char *key, GgufType elem, uint64_t count) {
    const GgufKv *kv = need(g, key, 0);
    if (!kv) return NULL;
    const int ok = kv->type == GGUF_ARRAY && (kv->elem == elem || (elem == GGUF_F32 && kv->elem == GGUF_I32));
    if (!ok || kv->count != count)
        die("%s: metadata %s must be an array of %llu %s elements (it is %s%s of %llu)", g->path, key,
            (unsigned long long)count, TYPE_NAMES[elem], kv->type == GGUF_ARRAY ? "an array of " : "a ",
            TYPE_NAMES[kv->type == GGUF_ARRAY ? kv->elem : kv->type], (unsigned long long)kv->count);
    if (elem == GGUF_STRING) return kv->strs;
    void *out = xmalloc((size_t)(count * TYPE_SIZE[elem]) + 1);
    if (kv->elem == elem) memcpy(out, kv->raw, (size_t)(count * TYPE_SIZE[elem]));
    else for (uint64_t i = 0; i < count; i++) ((float *)out)[i] = (float)((const int32_t *)kv->raw)[i];
    return out;
}

// dequant: n elements of type t at src into dst (ggml-quants.c dequantize_row_q8_0 / q4_0).
static void dequant(float *dst, const unsigned char *src, size_t n, GgmlType t) {
    uint16_t h;
    for (size_t i = 0; i < n; i += block_elems(t)) {
        const unsigned char *b = src + i / block_elems(t) * block_bytes(t);
        if (t == GGML_F32) { memcpy(&dst[i], b, 4); continue; }
        memcpy(&h, b, 2);
        if (t == GGML_F16 || t == GGML_BF16) { dst[i] = t == GGML_F16 ? f16_to_f32(h) : bf16_to_f32(h); continue; }
        const float d = f16_to_f32(h);
        for (int j = 0; j < 32 && t == GGML_Q8_0; j++) dst[i + j] = d * (float)(int8_t)b[2 + j];
        for (int j = 0; j < 16 && t == GGML_Q4_0; j++) {
            dst[i + j] = d * (float)((b[2 + j] & 0x0f) - 8);
            dst[i + j + 16] = d * (float)((b[2 + j] >> 4) - 8);
        }
    }
}

void gguf_check_shape(const Gguf *g, const char *name, int n_dims, const uint64_t *shape) {
    const GgufTensor *t = gguf_find_tensor(g, name);
    if (!t) die("%s: tensor '%s' is missing", g->path, name);
    int same = t->n_dims == n_dims;
    for (int d = 0; same && d < n_dims; d++) same = t->shape[d] == shape[d];
    if (!same) {
        char got[96] = "", want[96] = "";
        size_t a = 0, b = 0;
        for (int d = 0; d < t->n_dims; d++) appendf(got, sizeof got, &a, "%s%llu", d ? ", " : "", (unsigned long long)t->shape[d]);
        for (int d = 0; d < n_dims; d++) appendf(want, sizeof want, &b, "%s%llu", d ? ", " : "", (unsigned long long)shape[d]);
        die("%s: tensor '%s' has shape (%s), expected (%s) for the model its metadata describes", g->path, name, got, want);
    }
}

void gguf_read_f32(const Gguf *g, const char *name, float *dst, int n_dims, const uint64_t *shape) {
    gguf_check_shape(g, name, n_dims, shape);
    const GgufTensor *t = gguf_find_tensor(g, name);
    unsigned char *buf = xmalloc((size_t)t->nbytes);
    if (fseeko(g->f, (off_t)(g->data_start + t->offset), SEEK_SET) != 0) die("%s: cannot seek to tensor '%s'", g->path, name);
    xfread(buf, (size_t)t->nbytes, g->f, g->path, name);
    dequant(dst, buf, (size_t)(t->nbytes / block_bytes(t->type) * block_elems(t->type)), t->type);
    free(buf);
}
