// gguf.h — the GGUF container (ggml's model file, version 3, little-endian): a reader
// that checks every count, length and offset against the file before trusting it, and a
// writer laid out as ggml's own writer does it. Layout (ggml docs/gguf.md):
//   "GGUF" | u32 version | u64 n_tensors | u64 n_kv
//   n_kv  x (string key | u32 value type | value)
//   n_tensors x (string name | u32 n_dims | u64 ne[n_dims] | u32 ggml type | u64 offset)
//   zero padding to `general.alignment` (u32, a power of two; 32 when absent)
//   tensor data; offsets are relative to the data's start and aligned.
// string = u64 byte count + bytes (no NUL); array = u32 element type + u64 count + elements.
// ne[0] is the fastest-varying dimension: the PyTorch shape reversed. This module speaks
// PyTorch order (shape[0] slowest) and reverses at the file's edge.
#ifndef STRETCH_GGUF_H
#define STRETCH_GGUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define GGUF_MAX_DIMS 4
#define GGUF_DEFAULT_ALIGNMENT 32

// GgufType: the value types of metadata.
typedef enum {
    GGUF_U8, GGUF_I8, GGUF_U16, GGUF_I16, GGUF_U32, GGUF_I32, GGUF_F32, GGUF_BOOL, GGUF_STRING, GGUF_ARRAY,
    GGUF_U64, GGUF_I64, GGUF_F64, GGUF_NUM_TYPES
} GgufType;

// GgmlType: the tensor element types this project reads (ggml.h's numbering).
typedef enum { GGML_F32 = 0, GGML_F16 = 1, GGML_Q4_0 = 2, GGML_Q8_0 = 8, GGML_BF16 = 30 } GgmlType;

// GgufKv: one metadata entry. Scalars are held in `num` (integers and bools as i or u,
// floats as f); a string in `str`; an array of strings in `strs`, of numbers in `raw`
// (count little-endian elements of type `elem`).
typedef struct {
    char *key;
    GgufType type;
    GgufType elem;             // GGUF_ARRAY: the element type
    uint64_t count;            // GGUF_ARRAY: elements; else 1
    union { uint64_t u; int64_t i; double f; } num;
    char *str;
    char **strs;
    void *raw;
} GgufKv;

typedef struct {
    char *name;
    int n_dims;
    uint64_t shape[GGUF_MAX_DIMS];   // PyTorch order (the file's ne reversed)
    GgmlType type;
    uint64_t offset, nbytes;         // relative to the data section
} GgufTensor;

typedef struct {
    char *path;
    FILE *f;
    uint64_t size, data_start;
    uint32_t alignment, version;
    GgufKv *kv;
    size_t n_kv;
    GgufTensor *tensors;
    size_t n_tensors;
} Gguf;

// gguf_is_file: path's first four bytes are "GGUF".
int gguf_is_file(const char *path);
// gguf_open: parse and check the header, metadata and tensor table (types, names,
// counts, lengths within the file, aligned in-bounds non-overlapping tensors); dies with
// one line naming the file and the key or tensor at fault.
void gguf_open(Gguf *g, const char *path);
void gguf_close(Gguf *g);
const GgufKv *gguf_find(const Gguf *g, const char *key);              // NULL if absent
const GgufTensor *gguf_find_tensor(const Gguf *g, const char *name);  // NULL if absent
// Typed getters: absent -> dflt (or die when `required`); a value of another type, or
// out of the target's range, dies naming the key and both types.
uint32_t gguf_u32(const Gguf *g, const char *key, int required, uint32_t dflt);
double gguf_float(const Gguf *g, const char *key, int required, double dflt);   // f32 or f64
int gguf_bool(const Gguf *g, const char *key, int dflt);
const char *gguf_str(const Gguf *g, const char *key, int required);             // NULL if absent
// gguf_array: the array `key` of `count` elements (dies unless it is an array of `elem`
// — for GGUF_F32 also of i32, converted — of exactly `count` elements); NULL if absent.
// Numbers: a new buffer of count elements (caller frees); strings: g's char ** (do not free).
void *gguf_array(const Gguf *g, const char *key, GgufType elem, uint64_t count);
// gguf_check_shape: dies unless tensor `name` is there with shape `shape` (PyTorch order).
void gguf_check_shape(const Gguf *g, const char *name, int n_dims, const uint64_t *shape);
// gguf_read_f32: tensor `name` converted to fp32 (F32, F16, BF16, Q8_0, Q4_0) into dst;
// dies when it is missing or its shape is not `shape` (PyTorch order, n_dims entries).
void gguf_read_f32(const Gguf *g, const char *name, float *dst, int n_dims, const uint64_t *shape);

// GgufWriter: metadata serialized as it is added, tensors kept as pointers until
// gguf_write; then the file is written to path.tmp and renamed over path.
typedef struct {
    const char *name;
    const float *data;
    int n_dims;
    uint64_t shape[GGUF_MAX_DIMS];   // PyTorch order
    GgmlType type;                   // GGML_F32 or GGML_F16 (converted on write)
} GgufOut;

typedef struct {
    unsigned char *kv;
    size_t kv_len, kv_cap;
    uint64_t n_kv;
    GgufOut *t;
    size_t n_t, cap_t;
    char **names;                    // owned copies of the tensor names
    float **owned;                   // gguf_tensor_buffer's buffers
    size_t n_owned;
} GgufWriter;

void gguf_writer_init(GgufWriter *w);
void gguf_writer_free(GgufWriter *w);
void gguf_put_u32(GgufWriter *w, const char *key, uint32_t v);
void gguf_put_i32(GgufWriter *w, const char *key, int32_t v);
void gguf_put_f32(GgufWriter *w, const char *key, float v);
void gguf_put_bool(GgufWriter *w, const char *key, int v);
void gguf_put_str(GgufWriter *w, const char *key, const char *v);
void gguf_put_strs(GgufWriter *w, const char *key, const char *const *v, size_t n);
void gguf_put_f32s(GgufWriter *w, const char *key, const float *v, size_t n);
void gguf_put_i32s(GgufWriter *w, const char *key, const int32_t *v, size_t n);
// gguf_add_tensor: data (PyTorch shape, row-major fp32) stays owned by the caller until
// gguf_write, which stores it as `type`.
void gguf_add_tensor(GgufWriter *w, const char *name, const float *data, int n_dims, const uint64_t *shape,
                     GgmlType type);
// gguf_tensor_buffer: n floats the writer frees (data made for the file, e.g. factors).
float *gguf_tensor_buffer(GgufWriter *w, size_t n);
void gguf_write(const GgufWriter *w, const char *path);

#endif
