// passkey.h — passkey retrieval (passkey.c): prompts of real filler text with a key
// hidden at a depth, scored by the right key's likelihood against wrong keys.
#ifndef STRETCH_PASSKEY_H
#define STRETCH_PASSKEY_H

#include <stdint.h>
#include "config.h"
#include "../data/data.h"
#include "../model/model.h"

// Passkey: the passkey retrieval eval (passkey.c) of eval.passkey: prompts of `T[i]`
// positions with the key at each depth, `trials` prompts per (length, depth).
#define PASSKEY_KEYS 10          // the right key and 9 wrong ones
typedef struct {
    int n_lens, T[MAX_LIST];
    int n_depths;
    double depth[MAX_LIST];
    int trials;
    uint64_t seed;
    Tokenizer tok;
    uint32_t *filler;            // (n_filler) data.val without its BOS tokens
    size_t n_filler;
    uint32_t question[64];       // "What is the pass key? The pass key is"
    int n_question;
    int *seq;                    // (T[n_lens - 1] + 1) a prompt
} Passkey;

// PasskeyResult: one (length, depth) cell: trials whose right key scored highest, and
// the right key's mean rank among the PASSKEY_KEYS (1 = first, ties count against it).
typedef struct {
    int T, trials, correct;
    double depth, mean_rank;
} PasskeyResult;

// passkey_plan: from eval.passkey (n_lens = 0 when unset); dies, naming the key, when
// data.tokenizer is missing or does not match the model, or a length cannot hold the
// prompt or the filler text.
void passkey_plan(const Config *c, const Shard *val, int vocab, Passkey *pk);
// passkey_reserve: the key/value cache and the forwards of the longest prompt.
void passkey_reserve(Model *m, const Passkey *pk);
// passkey_run: every (length, depth) cell into r (n_lens * n_depths, length-major);
// the same prompts at every call of a run (seeded by run.seed). Forward only.
void passkey_run(Model *m, const Passkey *pk, PasskeyResult *r);
void passkey_free(Passkey *pk);
// PasskeyTrial: one prompt: its length P (the answer starts at position P), the keys
// (key[0] the right one), each key's log p(answer | prompt), and the right key's rank.
typedef struct {
    int P, rank, key[PASSKEY_KEYS];
    double logp[PASSKEY_KEYS];
} PasskeyTrial;
// passkey_trial: trial `trial` of cell (T, depth index di): seq (T + 1) gets the prompt.
void passkey_trial(Model *m, const Passkey *pk, int T, int di, int trial, int *seq, PasskeyTrial *out);

#endif
