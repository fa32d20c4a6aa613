// needles.h — retrieval prompts in the manner of RULER (Hsieh et al. 2024, "RULER: What's
// the Real Context Size of Your Long-Context Language Models?", arXiv:2404.06654): facts
// ("needles") hidden in a haystack, a question at the end, and candidate answers of which
// the first is right. The retrieval evals (trainer/tasks.c) rank the candidates by their
// likelihood; the training mix (Mix, below) appends the right answer and trains on it.
//
// The tasks (five-digit numbers, names from children's stories):
//   passkey     "The pass key is K. Remember it. K is the pass key." in filler text;
//               "What is the pass key? The pass key is" -> " K" (Mohtashami & Jaggi 2023)
//   multikey    `needles` such facts "The pass key of NAME is K. ..." with distinct names,
//               one asked; the other keys are the first wrong candidates
//   multivalue  `needles` facts "One of the special numbers of NAME is V." in a row, all
//               asked: " V1, V2, ..."; each wrong candidate changes one value
//   kv          no filler: the haystack is pairs "The value of K is V." (Liu et al. 2024,
//               "Lost in the Middle", key-value retrieval), one asked; other values of
//               the haystack are the wrong candidates
// The asked fact sits at `depth` (0 = first, 1 = last) of the haystack, moved forward to
// the next sentence end of the filler (within NEEDLE_SNAP tokens).
#ifndef STRETCH_NEEDLES_H
#define STRETCH_NEEDLES_H

#include <stddef.h>
#include <stdint.h>
#include "data.h"

typedef enum { NEEDLE_PASSKEY, NEEDLE_MULTIKEY, NEEDLE_MULTIVALUE, NEEDLE_KV, NUM_NEEDLE_TASKS } NeedleTask;

#define NEEDLE_CANDIDATES 10     // the right answer and 9 wrong ones (chance 10%)
#define NEEDLE_MAX 8             // needles of multikey / values of multivalue
#define NEEDLE_ANSWER_MAX 64     // tokens of one answer
#define NEEDLE_TEXT_MAX 256      // tokens of one needle (multivalue: all its sentences) or question
#define NEEDLE_SNAP 64           // the furthest a needle moves to reach a sentence end

// needle_task_name: "passkey", "multikey", "multivalue", "kv"; needle_task_find: the
// task of a name, -1 when unknown.
const char *needle_task_name(NeedleTask t);
int needle_task_find(const char *name);

// NeedleSource: what prompts are made of: the tokenizer, the filler text (document tokens
// removed, shard_text), the needles per multikey / multivalue prompt (2 .. NEEDLE_MAX),
// and the document token.
typedef struct {
    const Tokenizer *tok;
    const uint32_t *filler;      // (n_filler)
    size_t n_filler;
    int needles;
    uint32_t doc;                // the token a prompt starts with (the shards' document token)
} NeedleSource;

// NeedlePrompt: one prompt: its tokens seq[0, n) (seq[0] = BOS; the answer's first token
// follows position n - 1) and the candidates' answer tokens (answer[0] is right), as the
// tokenizer encodes them after the question.
typedef struct {
    int n, n_answer[NEEDLE_CANDIDATES], max_answer;
    uint32_t answer[NEEDLE_CANDIDATES][NEEDLE_ANSWER_MAX];
} NeedlePrompt;

// needle_prompt: a prompt of `task` drawn from r whose tokens and longest answer make
// T + 1 tokens (kv: at most T + 1; its pairs do not divide T exactly, and stop at
// 44995 pairs, about 760k tokens with tok512, the five-digit numbers being used up), the
// asked fact at `depth`, into seq (T + 1) and p. Dies (a CHECK: callers check
// needle_min_len first) when T cannot hold it.
void needle_prompt(NeedleTask task, const NeedleSource *s, int T, double depth, Rng *r, int *seq, NeedlePrompt *p);
// needle_min_len: the shortest T at which every prompt of `task` leaves room for
// NEEDLE_SNAP filler tokens (its needles and question with the names of most tokens;
// numbers are a token per digit in llama2.c tokenizers) (kv: 2 pairs); dies naming
// `where` when the tokenizer cannot encode the task's text (a question that merges with
// its answer).
int needle_min_len(NeedleTask task, const NeedleSource *s, const char *where);

// copy_text: <s> text[0, d) text[0, span) into seq (1 + d + span): a span of text and
// its copy d tokens on (the eval's copy task, and data.mix's copy documents); returns
// the count.
int copy_text(const uint32_t *text, int d, int span, uint32_t doc, int *seq);

// MIX_COPY: data.mix's kind after the needle tasks: a span of training text and, later in
// the same document, its copy (copy_text), so that the stream teaches induction, the
// copying the eval's copy task measures (Olsson et al. 2022). Spans are uniform in
// [MIX_COPY_SPAN, (L - 1) / 2] tokens.
#define MIX_COPY NUM_NEEDLE_TASKS
#define MIX_KINDS (NUM_NEEDLE_TASKS + 1)
#define MIX_COPY_SPAN 16

// Mix: data.mix, synthetic retrieval documents mixed into the packed training stream (the
// "information-intensive" training of An et al. 2024, arXiv:2404.16811): prompts of the
// listed tasks with the right answer appended (or copy documents), lengths L uniform in
// [min_len, max_len] tokens (kv documents: the whole pairs that fit in L, up to a pair
// shorter), the asked fact at a depth uniform in [depth_lo, depth_hi], the filler from
// the training text (never from val). Document k of epoch e is drawn from its own seed
// (seed, e, k), so the stream is the same at every reading and after a resume; each
// epoch holds new ones.
// MixOptions: the kinds (bit t = NeedleTask t, or MIX_COPY), their share of the stream's
// tokens (in expectation; kv a little less), document lengths, facts per multikey /
// multivalue document, the asked fact's depth range, the seed, and `whole`
// (data.mix.whole): no document straddles two training sequences, so none loses its fact
// or its question to a sequence edge (the loader packs them: data.h); documents are then
// at most a sequence long (mix_doc).
typedef struct {
    long long tasks;
    double share;
    int min_len, max_len, needles;
    double depth_lo, depth_hi;
    uint64_t seed;
    int whole;
} MixOptions;

typedef struct Mix {
    MixOptions opt;
    NeedleSource src;
    uint32_t *filler;            // (src.n_filler) owned: the training text without BOS
    int n_tasks, task[MIX_KINDS];
    int *doc;                    // (max_len) the document last drawn ...
    size_t len;
    uint64_t epoch, k;           // ... and which one it is (epoch UINT64_MAX: none)
    int T;                       // ... and for which sequence length
} Mix;

#define MIX_FILLER_MAX ((size_t)1 << 24)   // training text kept as filler (64 MiB of ids)

// mix_init: the mix of o over the text of `train`; the caller has checked o->min_len
// against mix_min_len.
void mix_init(Mix *x, const Shard *train, const Tokenizer *tok, const MixOptions *o);
// mix_kind_name: a needle task's name, or "copy".
const char *mix_kind_name(int kind);
// mix_min_len: the shortest document of `kind` (its prompt without filler, and the
// answer, with the names of most tokens; copy: two spans); dies naming `where` as
// needle_min_len does.
int mix_min_len(int kind, const NeedleSource *s, const char *where);
// mix_count: the synthetic documents of an epoch whose real documents hold `tokens`:
// share / (1 - share) x tokens / mean length (of documents drawn for sequences of T
// tokens), at least 1.
size_t mix_count(const Mix *x, size_t tokens, int T);
// mix_mean_len: the expected tokens of one synthetic document drawn for sequences of T
// tokens (mix_doc; T matters only under opt.whole).
double mix_mean_len(const Mix *x, int T);
// mix_doc: the tokens of document k of epoch e (valid until the next call); *len their
// count. Under opt.whole with T > 0 (the training sequence length, at least min_len) the
// length is drawn from [min_len, min(max_len, T)], else from [min_len, max_len].
const int *mix_doc(Mix *x, uint64_t epoch, size_t k, int T, size_t *len);
// mix_gap: the training text (at least max_len - 1 tokens, from an offset seeded by
// (seed, e, k)) that fills the rest of a sequence before document k of epoch e under
// opt.whole, after a BOS.
const uint32_t *mix_gap(const Mix *x, uint64_t epoch, size_t k);
void mix_free(Mix *x);

#endif
