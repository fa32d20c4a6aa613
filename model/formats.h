// formats.h — weight formats: llama2.c (legacy and v1), safetensors, Hugging Face
// directories. Every malformed input dies with one line naming the file (exit 2).
#ifndef STRETCH_FORMATS_H
#define STRETCH_FORMATS_H

#include <stdint.h>
#include <stdio.h>
#include "model.h"
#include "../util/gguf.h"
#include "../util/ytree.h"

typedef enum { LAYOUT_INTERLEAVED, LAYOUT_HALF } RopeLayout;

// load_model: a directory is a Hugging Face checkpoint, a file a GGUF or llama2.c
// checkpoint (legacy or v1), told apart by the magic. Allocates m's parameters; m->pos stays plain
// RoPE (a directory's scheme: load_hf_dir).
void load_model(Model *m, const char *path);
void load_llama2c(Model *m, const char *path);
// load_hf_dir: config.json (parsed once) and the weights; pos (may be NULL) gets the
// directory's position scheme, unresolved: our export's "stretch.position", else
// rope_scaling translated key by key, else plain RoPE.
void load_hf_dir(Model *m, const char *dir, Position *pos);
// save_hf_dir: dir/config.json (LlamaForCausalLM with max_position_embeddings and
// rope_theta, then `extra_json`: more "key": value members, e.g. rope_scaling) and
// dir/model.safetensors (F32, q/k rows in the half layout Hugging Face expects).
void save_hf_dir(const Model *m, const char *dir, int max_position, double rope_theta, const char *extra_json);
// GGUF, llama.cpp's file (gguf.c; the scheme mapping is described there).
// gguf_put_model: into w, general.* and llama.* keys (context_length = `context`, the
// longest length trained), the rope keys (and rope_freqs tensor) by which llama.cpp
// computes m's scheme — dying with the reason when it cannot —, stretch.* keys (the base's
// theta and context, the scheme) and the tensors: matrices as `dtype` (F32 or F16),
// norms and factors F32. The tokenizer keys are the caller's.
void gguf_put_model(GgufWriter *w, const Model *m, int context, GgmlType dtype);
// load_gguf: a llama-architecture GGUF (F32, F16, BF16, Q8_0, Q4_0 tensors, as fp32);
// pos (may be NULL) gets its scheme, unresolved: stretch.position when present, else
// translated from llama.cpp's rope keys. load_gguf_position: only the scheme.
void load_gguf(Model *m, const char *path, Position *pos);
void load_gguf_position(const char *path, Position *pos);
// gguf_context_length: llama.context_length of a GGUF file (the longest length trained).
int gguf_context_length(const char *path);
// save_llama2c_v1: write m in llama2.c v1 format (magic "ak42", 256-byte header).
void save_llama2c_v1(const Model *m, const char *path);

// rope_permute_rows: reorder the rows of a (n_heads*HS, cols) q/k matrix between pair
// layouts. to_half = 1: interleaved -> half (row h*HS+2j+p goes to h*HS+p*HS/2+j).
void rope_permute_rows(float *w, int n_heads, int HS, size_t cols, int to_half);

// Safetensors: header parsed with libyaml; data read lazily with bounds checks.
typedef struct {
    char *name;
    char dtype[8];          // F32, F16, BF16, I32 (others are rejected on read)
    int ndim;
    size_t shape[8];
    uint64_t begin, end;    // byte offsets relative to the data section
} StEntry;

typedef struct {
    char *path;
    FILE *f;
    uint64_t data_start, data_size;
    StEntry *entries;
    size_t n_entries;
    YTree header;           // kept for __metadata__ lookups
} Safetensors;

void st_open(Safetensors *st, const char *path);
// st_open_stream: the same on an open stream, which st_close then closes; `path` names
// it in errors.
void st_open_stream(Safetensors *st, FILE *f, const char *path);
void st_close(Safetensors *st);
const StEntry *st_find(const Safetensors *st, const char *name);   // NULL if absent
// st_metadata: the string value of __metadata__[key], or NULL.
const char *st_metadata(Safetensors *st, const char *key);
// st_read_f32: read tensor `name` (F32/F16/BF16) converted to fp32 into dst; dies
// unless its element count equals `numel` (its shape is named in the message).
void st_read_f32(Safetensors *st, const char *name, float *dst, size_t numel);
// st_read_i32: read an I32 tensor of exactly `numel` elements.
void st_read_i32(Safetensors *st, const char *name, int32_t *dst, size_t numel);
// StResolver: which open file holds tensor `name` (sharded checkpoints); NULL if none.
typedef Safetensors *(*StResolver)(void *ctx, const char *name);
Safetensors *st_resolve_single(void *st, const char *name);   // ctx is the one file
// st_load_params: fill dst from tensors named `prefix` + HF name, converting `layout`
// q/k rows to the internal interleaved layout. Dies on a missing or misshapen tensor.
void st_load_params(StResolver resolve, void *ctx, const ModelConfig *c, ParamTensors *dst,
                    const char *prefix, RopeLayout layout);
// param_name: the checkpoint name of parameter `id` in `layer` (ignored if not per layer).
void param_name(char *out, size_t cap, const TensorSpec *s, const char *prefix, int layer);
// StTensor: one F32 tensor to write.
typedef struct {
    char name[160];
    const float *data;
    int ndim;
    size_t shape[2];
} StTensor;
// st_write: a safetensors file of F32 tensors with string metadata (keys[i] -> values[i]).
void st_write(const char *path, const StTensor *t, size_t n, const char *const *keys, const char *const *values, size_t n_meta);
// state_tensors: the tensors of src (a view laid out like the parameters: weights,
// gradients or optimizer moments) named prefix + Hugging Face name, into t (room for
// NUM_PARAMS * n_layers); returns how many.
size_t state_tensors(const ModelConfig *c, const ParamTensors *src, const char *prefix, StTensor *t);
// save_state: the stretch checkpoint — parameters under Hugging Face names (interleaved
// pairs), __metadata__.model (model_config_json), __metadata__.position (m->pos as
// position_json's POS_JSON_SCHEME relative to the checkpoint's base; "{}" = plain RoPE)
// and, unless NULL, __metadata__.train (`train_json`: how far training got). Refcheck
// states share the layout.
void save_state(const Model *m, const char *train_json, const char *path);
// load_state: a stretch state's weights (not its T5 table: load_t5_table, once the
// scheme is set) and, into pos (may be NULL), its unresolved position scheme.
void load_state(Model *m, const char *path, Position *pos);
// load_state_position, load_hf_position: only the scheme (unresolved) a state or a
// Hugging Face directory carries, without the weights.
void load_state_position(const char *path, Position *pos);
void load_hf_position(const char *dir, Position *pos);
// load_t5_table: the learned T5 table of safetensors file `path`, if it holds one (dies
// unless m's scheme has a T5 bias).
void load_t5_table(Model *m, const char *path);
// model_config_json: {"dim": .., ..., "rope_layout": "interleaved", "max_seq_len": ..}.
void model_config_json(const ModelConfig *c, char *buf, size_t cap);
// model_config_from_json: read the `__metadata__.model` JSON of refcheck states.
void model_config_from_json(ModelConfig *c, RopeLayout *layout, const char *json, const char *source);

#endif
