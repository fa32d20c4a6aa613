// data.h — token shards (llm.c format), the llama2.c tokenizer, the batch loader and
// the prepare tool.
//
// Shard: 256 x int32 header; header[0] magic, [1] version, [2] token count, [3] stretch's
// document token + 1 (0 in llm.c's own files: BOS_ID); then the tokens: magic 20240520
// version 1 -> uint16, magic 20240801 version 7 -> uint32.
#ifndef STRETCH_DATA_H
#define STRETCH_DATA_H

#include <stddef.h>
#include <stdint.h>
#include "../util/util.h"
#include "../util/gguf.h"
#include "../util/ytree.h"

#define SHARD_MAGIC_U16 20240520
#define SHARD_MAGIC_U32 20240801

typedef struct {
    char *path;
    uint32_t *tokens;      // (n) widened to uint32
    size_t n;
    size_t *file_start;    // (n_files) where each file's tokens start (shard_load_glob)
    size_t n_files;
    uint32_t doc;          // the token that opens a document (header[3] - 1, else BOS_ID)
    size_t *src_start;     // (n_src + 1) where each source's tokens start, then n (shard_load_sources;
    size_t n_src;          // one source otherwise)
} Shard;

// shard_load: read and validate a shard; every token (and the document token) must be
// < vocab (vocab > 0).
void shard_load(Shard *s, const char *path, int vocab);
void shard_free(Shard *s);
// shard_write: uint16 tokens when vocab <= 65536, else uint32 (version 7); written to
// path.tmp, then renamed over path (a reader sees the old file or the whole new one); doc:
// the token each document starts with.
void shard_write(const char *path, const uint32_t *tokens, size_t n, int vocab, uint32_t doc);
// ShardWriter: a shard written as a stream, in bounded memory: shard_open writes a header
// of 0 tokens (which shard_load refuses), shard_append the tokens (uint16 or uint32 as
// shard_write), shard_close the real header, then flushes the file to disk (fsync).
typedef struct {
    FILE *f;
    char *path;
    size_t n;              // tokens appended
    int wide;              // uint32 tokens
    uint32_t doc;
} ShardWriter;
void shard_open(ShardWriter *w, const char *path, int vocab, uint32_t doc);
void shard_append(ShardWriter *w, const uint32_t *tokens, size_t n);
void shard_close(ShardWriter *w);

// Tokenizer: one type for the three files stretch reads, each encoded as its reference
// implementation does:
//  - llama2.c's tokenizer.bin (int32 max_token_length, then per token: float score, int32
//    length, bytes; ids 0 <unk>, 1 <s> BOS, 2 </s> EOS, 3..258 bytes <0x00>..<0xFF>) and
//    GGUF's tokenizer.ggml.* model "llama": sentencepiece BPE, merges by best score;
//  - Hugging Face tokenizer.json, model BPE (data/tok_json.c, data/tok_text.c): merges by
//    rank, with its normalizers, pre-tokenizers (a regex split, ByteLevel, Metaspace),
//    added tokens and post-processor template.
// pieces are what each token reads as (raw bytes; "<0xXX>" for a byte-fallback token);
// `match` is the form the encoder looks tokens up in (llama2.c: the pieces; tokenizer.json:
// its vocabulary's strings, with a ByteLevel pre-tokenizer's characters turned back into
// the raw bytes they stand for).
typedef struct TokHf TokHf;
typedef struct {
    char **pieces;         // (V) NUL-terminated (a byte-level piece of byte 0: "")
    char **match;          // (V) lookup form, match_len[i] bytes (may alias pieces)
    uint32_t *match_len;   // (V)
    float *scores;         // (V) sentencepiece scores (NULL for tokenizer.json)
    int vocab;
    int max_len;           // the longest match form, in bytes
    int32_t *types;        // (V) GGUF token types (1 normal .. 6 byte) of a GGUF vocabulary; NULL: derived
    int bos;               // the id that opens a document (-1: none)
    int byte_ids[256];     // the token of each byte (byte fallback or byte-level), -1: none
    uint32_t *map;         // (map_cap) open-addressing hash of match forms: id + 1, 0 empty
    size_t map_cap;
    char sep[8];           // the space (sentencepiece: " ", a Metaspace: U+2581) before which a
                           // word may be encoded alone: no piece has a non-space then it ("": none)
    TokHf *hf;             // tokenizer.json's pipeline; NULL for sentencepiece files
} Tokenizer;

// tokenizer_load: a llama2.c tokenizer file, the tokenizer.ggml.* keys of a GGUF file, or
// a Hugging Face tokenizer.json (by content: a file starting with '{').
void tokenizer_load(Tokenizer *t, const char *path);
void tokenizer_free(Tokenizer *t);
// GGUF's tokenizer.ggml.* keys, model "llama" (sentencepiece; llama.cpp's SPM vocabulary),
// as llama.cpp's convert-llama2c-to-ggml writes them: pieces with U+2581 for spaces and
// control tokens bare ("<s>", stored by llama2.c as "\n<s>\n" so no text merges into
// them), scores, token types (0 <unk> 2 unknown, control 3, <0xHH> 6 byte, else 1
// normal), BOS 1, EOS 2, UNK 0, add_bos true, add_space_prefix true.
void tokenizer_load_gguf(Tokenizer *t, const char *path);
void tokenizer_put_gguf(const Tokenizer *t, GgufWriter *w);
// tokenizer_in_gguf: path is a GGUF file with tokenizer.ggml.model other than no_vocab.
int tokenizer_in_gguf(const char *path);
// tokenizer_load_json: a Hugging Face tokenizer.json; anything it uses that stretch does
// not implement is an error naming the JSON key (never a different tokenization).
void tokenizer_load_json(Tokenizer *t, const char *path);
// tokenizer_index: hash the match forms and find the byte tokens (after pieces, match
// and match_len are set); dies naming `path` on a duplicate.
void tokenizer_index(Tokenizer *t, const char *path);
// tokenizer_set_sep: words start at `sep` (after a non-sep) unless a piece holds a non-sep
// character and then sep, across which the merges of the whole text could reach.
void tokenizer_set_sep(Tokenizer *t, const char *sep);
// tokenizer_word: the bytes of the first word of s[0, n) (n when there is no sep): the
// merges of a text are those of its words, each alone (linear time, and cache-sized).
size_t tokenizer_word(const Tokenizer *t, const char *s, size_t n);
// tokenizer_byte_of: the byte that token id stands for as a byte token, or -1.
int tokenizer_byte_of(const Tokenizer *t, int id);
// tokenizer_lookup: the id whose match form is s[0, len), or -1.
int tokenizer_lookup(const Tokenizer *t, const char *s, size_t len);
// WordCache: the ids of words already encoded, for one thread at a time (a word's ids
// depend on nothing but its bytes, and most words of a text have been seen before: the
// merge loop then runs once per distinct word). Words up to WORD_CACHE_MAX_BYTES; at most
// 32768 of them, all dropped together when it is full (about 10 MB).
#define WORD_CACHE_MAX_BYTES 64
typedef struct WordCache WordCache;
WordCache *word_cache_new(void);
void word_cache_free(WordCache *c);
// word_cache_get: the ids of s[0, n) (*k of them, valid until the next put), or NULL;
// word_cache_put: remember them (k <= n). Both do nothing with c NULL.
const uint32_t *word_cache_get(const WordCache *c, const char *s, size_t n, size_t *k);
void word_cache_put(WordCache *c, const char *s, size_t n, const uint32_t *ids, size_t k);
// tokenizer_encode: the ids of `text` as the tokenizer's reference encodes it (malloc'd;
// *n gets the count); bos: add the special tokens (llama2.c: BOS; tokenizer.json: its
// post-processor's template). tokenizer.json: invalid UTF-8 is first replaced by U+FFFD
// and a leading BOM dropped, as the WHATWG decoder does; sentencepiece files take raw bytes by
// byte fallback. Time O(n log n) in the text's length (a priority queue of candidate
// merges); safe to call from many threads, each with its own cache (cache: a WordCache,
// or NULL for none; the ids are the same either way).
uint32_t *tokenizer_encode(const Tokenizer *t, WordCache *cache, const char *text, int bos, size_t *n);
// tokenizer_bpe: merge the symbols ids[0, n) in place, best merge first (sentencepiece:
// highest score of the merged piece; tokenizer.json: lowest merge rank), the leftmost
// of equals first; returns the new count.
size_t tokenizer_bpe(const Tokenizer *t, uint32_t *ids, size_t n);
// tokenizer_decode_piece: the text of `id` following `prev` (raw bytes for <0xXX>,
// leading space stripped after BOS for sentencepiece). Returns a pointer into t or buf[2].
const char *tokenizer_decode_piece(const Tokenizer *t, int prev, int id, char buf[2]);

// Documents: a shard is a stream of documents, each starting with its document token
// (Shard.doc: the tokenizer's BOS, or what `prepare --doc-token` names; BOS_ID in shards
// that do not record one, as llama2.c and
// llm.c tokenizers prefix every text with BOS); a file's start also starts a document.
#define BOS_ID 1

// Sources: data.train as a list of sources, the per-source mixture of long-context data
// recipes (Fu et al. 2024; Gao et al. 2024, ProLong): each a path or glob of shards with
// its weight — its share of each epoch's training tokens, relative to the other sources'
// (unset on every source: the share it has when the sources are concatenated) — and its
// own document filters (< 0: data.min_doc_tokens, data.upsample.*). A plain data.train
// string is one source with no options.
#define MAX_SOURCES 16
#define SOURCE_STR 256
typedef struct {
    char path[SOURCE_STR];
    char where[SOURCE_STR];          // "data.train[i] (file:line:col)" for errors
    double weight;                   // >= 0; < 0: unset
    long long min_doc_tokens, upsample_min_tokens, upsample_factor;   // < 0: the data.* value
} Source;
typedef struct {
    int n;
    Source s[MAX_SOURCES];
} Sources;

// sources_parse: data.train's node: a string (one source), or a list of 1..MAX_SOURCES
// mappings {path, weight, min_doc_tokens, upsample: {min_tokens, factor}} (sources.c).
// Every mistake dies at its line:column: a missing path, an unknown key, a negative
// weight, weights on some sources only or all zero.
void sources_parse(Sources *s, YTree *t, yaml_node_t *node, const char *key);
// sources_write: s as YAML that sources_parse reads back (one source without options: its
// path as a string), then a newline.
void sources_write(const Sources *s, FILE *f);
// shard_load_sources: every source's files (shard_load_glob), concatenated in order into
// one Shard whose src_start marks where each source begins; the files must all agree on
// their document token. `key` names data.train in errors.
void shard_load_sources(Shard *sh, const Sources *s, int vocab, const char *key);

// shard_concat: append one's tokens and file starts to dst (its document token must be
// dst's, else die naming key, the first file and this one) and free one.
void shard_concat(Shard *dst, Shard *one, const char *key, const char *first, const char *name);
// shard_load_glob: every file matching `pattern` (a path or a glob), in sorted order,
// concatenated into one Shard (path = pattern); `key` names the config key in errors.
// The files must agree on their document token.
void shard_load_glob(Shard *s, const char *pattern, int vocab, const char *key);

// LoaderOptions: which documents an epoch holds (long-context data recipes, e.g. Fu et
// al. 2024, "Data Engineering for Scaling Language Models to 128K Context"): documents
// shorter than min_doc_tokens are dropped; those of at least upsample_min_tokens
// (0 = none) appear upsample_factor times per epoch; those longer than max_doc_tokens
// (0 = no limit) are cut into pieces of max_doc_tokens (the last shorter), each a
// document of its own: under document masking its positions restart at 0, so the
// shard's text trains no position past max_doc_tokens - 1 in windows of any length
// (without PoSE; the mix's documents are not cut). n_real and the epoch's document
// count then count pieces.
// mix (may be NULL): synthetic retrieval documents added to every epoch (data.mix,
// needles.h), drawn as they are read. Under its `whole` option a mix document that would
// cross the end of a sequence starts the next sequence instead, and the rest of this
// one is a gap: a BOS and training text (mix_gap), a document of its own; the epoch's
// token count (an estimate with a mix) leaves gaps out.
// sources (may be NULL: the shard is one source, at its own share): data.train's sources,
// one per range of Shard.src_start. A source's filters override the ones above; each
// epoch takes per_epoch = round(n * share * E / tokens) of its n documents (at least one
// when its weight is above 0), where E is the sources' tokens together: a source drawn
// above its size repeats documents, one below it gives a different part of itself each
// epoch. A source's documents are taken in cycles over its own order, reshuffled per
// cycle from (seed, source, cycle), and read in that order (the epoch's shuffle places
// the sources' slots), so none repeats in the stream before all have been seen; a source
// taken exactly once per epoch (every source, without weights) is shuffled with the
// epoch, as one shard is. Counts are whole documents: a source of a few long documents
// gets the share its rounded count gives (the run prints it). A weight-0 source is not read.
struct Mix;
typedef struct {
    size_t min_doc_tokens, upsample_min_tokens;
    int upsample_factor;
    size_t max_doc_tokens;
    struct Mix *mix;
    const Sources *sources;
} LoaderOptions;

// LoaderSource: one source as the loader indexed it.
typedef struct {
    size_t first, n;                 // its documents: doc_start[first, first + n)
    size_t tokens;                   // their tokens (after filtering and upsampling)
    size_t per_epoch;                // documents it gives each epoch
    size_t at;                       // where they start in Loader.list
    size_t epoch_tokens;             // their expected tokens per epoch (exact when per_epoch == n)
    double share;                    // its weight over the weights' sum (or tokens' share)
} LoaderSource;

// LoaderCursor: where the loader stands, exactly: the epoch, the index into that epoch's
// document order, and the tokens of that document already consumed. A later run that
// seeks to a saved cursor continues with the same batches.
typedef struct {
    uint64_t epoch, doc, offset;
} LoaderCursor;

// Loader: packing. Each epoch orders the documents by a permutation seeded by (seed,
// epoch) and concatenates them into one stream; a sequence is the next T + 1 tokens of
// the stream (inputs: the first T, targets: the last T) and may span documents;
// consecutive sequences overlap by one token, so every token is a target once per epoch.
typedef struct {
    const Shard *shard;
    size_t *doc_start, *doc_len;     // (n_table) after filtering, long documents repeated
    size_t n_table;
    size_t n_real, n_docs;           // documents of the shard per epoch, and with the mix's after them
    size_t epoch_tokens;             // with the mix's expected tokens (sources with weights: expected)
    struct Mix *mix;
    LoaderSource src[MAX_SOURCES];
    size_t n_src;
    size_t *list;                    // (n_real) order_epoch's documents of the shard (into doc_start)
    size_t *cycle;                   // (the largest source's n) scratch: a source's cycle order
    size_t *order;                   // (n_docs) the permutation of order_epoch
    uint64_t order_epoch, seed;
    LoaderCursor cur;
} Loader;

// loader_init: index the shard's documents; dies, naming the shard (or the source), when
// the options leave no document or an epoch holds fewer than T + 1 tokens (T: the run's longest
// sequence; under data.mix.whole the mix's share holds at T, mix_count).
void loader_init(Loader *l, const Shard *s, const LoaderOptions *o, uint64_t seed, int T);
void loader_free(Loader *l);
// loader_next: the next B sequences: inputs, targets (B, T); doc (B, T, may be NULL): the
// row index where each input's document starts (PosIds.doc; a row's first document
// starts at 0 even when it began in an earlier sequence).
void loader_next(Loader *l, int *inputs, int *targets, int *doc, int B, int T);
// loader_skip: move past `rows` sequences of T tokens, as if read (the sequences another
// rank of a multi-rank run reads: every rank walks the same cursor).
void loader_skip(Loader *l, size_t rows, int T);
// loader_seek: continue from a cursor of loader_cursor (dies if it does not fit, or,
// under data.mix.whole, if it stops inside a mix document: one saved without it).
void loader_seek(Loader *l, LoaderCursor c);
LoaderCursor loader_cursor(const Loader *l);

// window_fill: inputs/targets of window k (B windows from k0) in the llm.c eval
// convention: inputs tokens[kT ... kT+T-1], targets tokens[kT+1 ... kT+T]; doc (B, T, may
// be NULL): where each input's document starts in its window (a BOS or a file start opens
// one), as loader_next.
void window_fill(const Shard *s, size_t k0, int *inputs, int *targets, int *doc, int B, int T);
size_t window_count(const Shard *s, int T);
// doc_starts: doc (B, T) holding 1 where a token opens a document (else 0) becomes each
// token's document start row (PosIds.doc): row 0 always opens one.
void doc_starts(int *doc, int B, int T);

// Pose: positional skip-wise training (PoSE, Zhu et al., ICLR 2024, arXiv:2309.10400):
// a window of T tokens is cut into `chunks` pieces whose position ids are shifted by
// growing skips, so that windows of T tokens train the positions of [0, target_len).
// target_len 0: off (ids 0 .. T-1); 1 <= chunks <= POSE_MAX_CHUNKS (one chunk: no skip).
#define POSE_MAX_CHUNKS 64
typedef struct {
    int target_len, chunks;
} Pose;

// batch_positions: the position ids pos (B, T) of a training batch: contiguous, or the
// PoSE ids of each row drawn from the generator seeded by `seed` (the caller derives it
// from the run's seed and the step: resume redraws the same ids); row b of this call
// draws as row b0 + b of the batch `seed` belongs to (a rank that holds rows b0.. of it
// draws what one process would). doc (B, T, may be NULL: one document per row): ids
// restart at 0 at each document start (intra-document positions), i.e. pos[t] =
// row_pos[t] - row_pos[doc[t]].
void batch_positions(int *pos, const int *doc, const Pose *p, uint64_t seed, int b0, int B, int T);
// shard_opens_doc: token i of the shard starts a document (its document token, or a file start: a
// binary search of file_start).
int shard_opens_doc(const Shard *s, size_t i);
// shard_text: the shard's tokens without its document tokens, at most `cap` of them from its
// start: one long text, the filler of retrieval prompts (caller frees); *n gets the count.
uint32_t *shard_text(const Shard *s, size_t cap, size_t *n);
// shard_documents: how many documents the shard holds (a BOS or a file start opens one).
size_t shard_documents(const Shard *s);

// Batch: the buffers of one forward's tokens and positions, each of `n` ints (the most
// tokens of any forward): inputs, targets, document starts, position ids (B, T).
typedef struct {
    int *in, *tg, *doc, *pos;
} Batch;
void batch_alloc(Batch *b, size_t n);
void batch_free(Batch *b);

// pose_chunks: the chunk starts (N + 1 entries, the last = T) and skips (N) of one row,
// as batch_positions draws them from r; returns N = min(chunks, T).
int pose_chunks(const Pose *p, Rng *r, int T, int *start, int *skip);

// prepare_main: `train prepare` — text or JSONL files (plain, gzip, zstd) + tokenizer ->
// shards of train / val (/ test) and manifest.json (prepare.c).
int prepare_main(int argc, char **argv);
// tokenize_main: `train tokenize --tokenizer TOK [--no-bos] [FILE...]` — standard input's
// text as ids, one per line, or each FILE's on one line, space-separated; the special
// tokens (BOS) unless --no-bos, as prepare would encode one document.
int tokenize_main(int argc, char **argv);

#endif
