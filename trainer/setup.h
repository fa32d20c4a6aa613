// setup.h — what the subcommands set up from a config (setup.c): threads, data shards,
// the model model.init_from names with its position scheme; and a run's saved model.
#ifndef STRETCH_SETUP_H
#define STRETCH_SETUP_H

#include "config.h"
#include "../data/data.h"
#include "../data/needles.h"
#include "../model/model.h"

// setup_threads: run.threads (0 = all cores) for OpenMP and OpenBLAS; returns the count.
int setup_threads(long long threads);
// load_data: the shard(s) of the config key `key` (data.train or data.val: a path or glob).
void load_data(Shard *s, const Config *c, const char *key, int vocab);
// require_documents: document masking (the bool config key `key`, data.document_mask or
// eval.document_mask) needs a shard with document boundaries: dies naming the key and
// where it was set when s has none.
void require_documents(const Config *c, const Shard *s, const char *key);
// load_tokenizer: data.tokenizer, which `user` (a config key: eval.tasks.names,
// data.mix.tasks) needs; dies naming both when it is unset or its vocabulary is not the
// model's.
void load_tokenizer(Tokenizer *t, const Config *c, int vocab, const char *user);
// mix_setup: data.mix over the training shard (Mix, data/needles.h) with the tokenizer
// tok (loaded by the caller; NULL when the kinds are copy only); lengths default to
// [the tasks' shortest prompt, the run's longest seq_len]. Dies naming the key and where
// it was set when the share is outside (0, 1) or the lengths are not [shortest, longest]
// whole lengths that hold a prompt, or data.mix.whole is set and the shortest seq_len
// (shortest_T) cannot hold the shortest document.
void mix_setup(Mix *x, const Tokenizer *tok, const Config *c, const Shard *train, int shortest_T, int longest_T);
// SourceKind: what a model path names (resolve_source).
typedef enum { SRC_LLAMA2C, SRC_HF, SRC_STATE, SRC_GGUF } SourceKind;
// resolve_source: the file or directory to load for `from` (a llama2.c file, a GGUF file,
// a stretch state, a checkpoint step directory, a run directory or a Hugging Face directory);
// checkpoints are CRC-checked first. Caller frees.
char *resolve_source(const char *from, SourceKind *kind);
// load_model_from: the model `from` names with its position scheme, resolved: the
// config's `position:` keys if any are set, else the source's own (a stretch state's
// metadata, a Hugging Face config's "stretch" key or rope_scaling, a GGUF's stretch.position
// or rope keys; plain RoPE for
// llama2.c). Returns resolve_source's path (caller frees); *kind (may be NULL) gets its kind.
char *load_model_from(Model *m, const Config *c, const char *from, SourceKind *kind);
// source_position: the scheme `from` carries (unresolved; plain RoPE for llama2.c),
// without loading its weights.
void source_position(const char *from, Position *pos);
// load_model_for: load_model_from(model.init_from).
void load_model_for(Model *m, const Config *c);
// save_run_model: dir/model.safetensors (save_state), plus dir/model.bin (llama2.c v1)
// when the scheme is plain RoPE.
void save_run_model(const Model *m, const char *train_json, const char *dir);

#endif
