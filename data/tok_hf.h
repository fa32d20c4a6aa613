// tok_hf.h — the pipeline of a Hugging Face tokenizer.json (Tokenizer.hf), shared by its
// reader (tok_json.c) and its encoder (tok_text.c). Stages, in the order Hugging Face's
// `tokenizers` runs them (tokenizer/mod.rs encode_single_sequence):
//   added tokens split out of the raw text (those with normalized: false), the normalizer
//   on each remaining part, added tokens split out of the normalized parts (normalized:
//   true), the pre-tokenizer into words, the BPE model on each word, the post-processor's
//   template around the whole.
#ifndef STRETCH_TOK_HF_H
#define STRETCH_TOK_HF_H

#include "data.h"
#include "../util/json.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

// Normalizer steps (normalizers/{prepend,replace,unicode}.rs): Prepend `a` to a non-empty
// part; Replace every (non-overlapping, left to right) `a` by `b`; NFC: Unicode
// canonical composition (UAX #15, by libutf8proc; Qwen2's files).
enum { NORM_PREPEND, NORM_REPLACE, NORM_NFC };
typedef struct {
    int kind;
    char *a, *b;
    size_t la, lb;
} NormStep;

// Pre-tokenizer steps, each applied to every part the previous ones left:
//   PRE_SPLIT: a regex; matches and the text between them become parts (behavior Isolated)
//   PRE_BYTELEVEL: optional prefix space; optional GPT-2 regex split (pre_tokenizers/byte_level.rs)
//   PRE_METASPACE: ' ' -> replacement, its prepend scheme, optional split before each
//     replacement (pre_tokenizers/metaspace.rs)
// (Digits, pre_tokenizers/digits.rs, is PRE_SPLIT on \p{N} or \p{N}+.)
enum { PRE_SPLIT, PRE_BYTELEVEL, PRE_METASPACE };
enum { PREPEND_NEVER, PREPEND_FIRST, PREPEND_ALWAYS };
typedef struct {
    int kind;
    pcre2_code *re;          // PRE_SPLIT, PRE_BYTELEVEL with use_regex (else NULL)
    int prefix_space;        // PRE_BYTELEVEL add_prefix_space
    char rep[8];             // PRE_METASPACE replacement (UTF-8)
    int prepend, split;      // PRE_METASPACE prepend scheme, split
} PreStep;

// AddedToken (tokenizer.json "added_tokens"): matched in the text as a whole, leftmost
// then longest; lstrip/rstrip take the whitespace beside a match into it.
typedef struct {
    char *content;
    size_t len;
    int id, lstrip, rstrip, normalized;
} AddedToken;

struct TokHf {
    NormStep *norm;
    int n_norm;
    PreStep *pre;
    int n_pre;
    AddedToken *added;       // sorted by length, longest first
    int n_added;
    uint8_t first[2][256];   // a byte some added token (normalized: 0 or 1) starts with
    int byte_level;          // the words are bytes (a ByteLevel step): match forms are raw bytes
    int unk, fuse_unk, byte_fallback, ignore_merges;
    int *prefix, n_prefix;   // the post-processor's template: ids before and after the text
    int *suffix, n_suffix;
    uint64_t *merge_key;     // (merge_cap) open addressing: (left id + 1) << 32 | right id; 0 empty
    uint32_t *merge_rank, *merge_id;
    size_t merge_cap;
};

// tok_hf_merge_add: (a, b) merges into id at rank (a pair given twice keeps its first).
void tok_hf_merge_add(TokHf *h, uint32_t a, uint32_t b, uint32_t rank, uint32_t id);
// tok_hf_merge: the rank and id of merging (a, b), or 0 when the pair is no merge.
int tok_hf_merge(const TokHf *h, uint32_t a, uint32_t b, uint32_t *rank, uint32_t *id);
// tok_hf_normalize: s through the normalizer (malloc'd; *len its bytes), as the library
// matches an added token with normalized: true.
char *tok_hf_normalize(const TokHf *h, const char *s, size_t *len);
// tok_hf_encode: tokenizer_encode for a tokenizer.json tokenizer.
uint32_t *tok_hf_encode(const Tokenizer *t, WordCache *cache, const char *text, int special, size_t *n);
void tok_hf_free(TokHf *h);

#endif
