// data.h — token shards (llm.c format), the llama2.c tokenizer, the batch loader and
// the prepare tool.
//
// Shard: 256 x int32 header; header[0] magic, [1] version, [2] token count; then the
// tokens: magic 20240520 version 1 -> uint16, magic 20240801 version 7 -> uint32.
#ifndef STRETCH_DATA_H
#define STRETCH_DATA_H

#include <stddef.h>
#include <stdint.h>
#include "../util/util.h"

#define SHARD_MAGIC_U16 20240520
#define SHARD_MAGIC_U32 20240801

typedef struct {
    char *path;
    uint32_t *tokens;      // (n) widened to uint32
    size_t n;
} Shard;

// shard_load: read and validate a shard; every token must be < vocab (vocab > 0).
void shard_load(Shard *s, const char *path, int vocab);
void shard_free(Shard *s);
// shard_write: uint16 tokens when vocab <= 65536, else uint32 (version 7).
void shard_write(const char *path, const uint32_t *tokens, size_t n, int vocab);

// Tokenizer: llama2.c format — int32 max_token_length, then per token: float score,
// int32 length, bytes. Ids 0 <unk>, 1 <s> (BOS), 2 </s> (EOS), 3..258 bytes <0x00>..<0xFF>.
typedef struct {
    char **pieces;         // (V) NUL-terminated
    float *scores;         // (V)
    int vocab;
    int max_len;
    int *sorted;           // (V) ids sorted by piece, for lookup
} Tokenizer;

void tokenizer_load(Tokenizer *t, const char *path);
void tokenizer_free(Tokenizer *t);
// tokenizer_encode: sentencepiece-style BPE as in llama2.c: optional BOS, a dummy
// prefix space, UTF-8 codepoints with byte fallback, then merges by best score.
// out must hold strlen(text) + 3 ids; returns the count.
size_t tokenizer_encode(const Tokenizer *t, const char *text, int bos, uint32_t *out);
// tokenizer_decode_piece: the text of `id` following `prev` (raw bytes for <0xXX>,
// leading space stripped after BOS). Returns a pointer into t or into buf[2].
const char *tokenizer_decode_piece(const Tokenizer *t, int prev, int id, char buf[2]);

// Loader: windows of T+1 tokens at uniformly random starts (seeded, reproducible).
typedef struct {
    const Shard *shard;
    Rng rng;
} Loader;

void loader_init(Loader *l, const Shard *s, uint64_t seed, int T);
// loader_next: inputs, targets (B, T).
void loader_next(Loader *l, int *inputs, int *targets, int B, int T);
// window_fill: inputs/targets of window k (B windows from k0) in the llm.c eval
// convention: inputs tokens[kT ... kT+T-1], targets tokens[kT+1 ... kT+T].
void window_fill(const Shard *s, size_t k0, int *inputs, int *targets, int B, int T);
size_t window_count(const Shard *s, int T);

// prepare_main: `train prepare` — text file + tokenizer -> train.bin / val.bin.
int prepare_main(int argc, char **argv);

#endif
