// passkey.c — passkey retrieval (Mohtashami & Jaggi 2023, "Landmark Attention: Random-
// Access Infinite Context Length for Transformers", arXiv:2305.16300, section 4.2):
// a five-digit key hidden at a depth of real filler text, asked for at the end; the model
// retrieves it when the right key's digits are more likely than those of 9 wrong keys.
//
// One prompt of length T (input positions, as an eval window of T):
//   <s> filler[0, d) " The pass key is K. Remember it. K is the pass key." filler[d, F)
//   " What is the pass key? The pass key is" " K"
// The filler is data.val's text with its BOS tokens removed (one long document); d is the
// depth's share of F moved forward to the next sentence end (within 64 tokens). The prompt
// runs once through model_forward_cached; each key's digits are then scored by a short
// forward over the cached keys/values: log p(digits | prompt), summed over its tokens.
#include "passkey.h"
#include "../dist/dist.h"
#include "../util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { SNAP = 64 };   // the furthest a needle moves to reach a sentence end

static const char QUESTION[] = "What is the pass key? The pass key is";

// encode: the tokens of text (with the tokenizer's dummy prefix space) into out (cap).
static int encode(const Tokenizer *t, const char *text, uint32_t *out, size_t cap) {
    uint32_t *buf = xmalloc((strlen(text) + 3) * sizeof *buf);
    size_t n = tokenizer_encode(t, text, 0, buf);
    CHECK(n <= cap, "passkey: \"%s\" is %zu tokens, more than %zu", text, n, cap);
    memcpy(out, buf, n * sizeof *buf);
    free(buf);
    return (int)n;
}

// Trial: the prompt tokens of one trial and the answer tokens of each key (key[0] right).
typedef struct {
    int key[PASSKEY_KEYS];
    uint32_t needle[64], answer[PASSKEY_KEYS][16];
    int n_needle, n_answer[PASSKEY_KEYS], max_answer;
} Trial;

// answer_tokens: the tokens that follow the question in "question K" — they are the
// key's continuation as the model would see it. Dies if the question's tokens change.
static int answer_tokens(const Passkey *pk, int key, uint32_t *out) {
    char text[sizeof QUESTION + 16];
    uint32_t all[128];
    snprintf(text, sizeof text, "%s %d", QUESTION, key);
    const int n = encode(&pk->tok, text, all, 128), k = n - pk->n_question;
    CHECK(k > 0 && k <= 16 && !memcmp(all, pk->question, (size_t)pk->n_question * sizeof *all),
          "passkey: the tokenizer merges the question with the key %d (hint: a tokenizer unlike llama2.c's)", key);
    memcpy(out, all + pk->n_question, (size_t)k * sizeof *out);
    return k;
}

// make_trial: keys and tokens of trial `trial` of cell (T, depth index), from its own
// seed: every call of a run draws the same prompts.
static void make_trial(const Passkey *pk, int T, int di, int trial, Trial *tr, Rng *r) {
    r->s = pk->seed ^ ((uint64_t)T * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)(di * 1000003 + trial) << 20);
    for (int c = 0; c < PASSKEY_KEYS; c++) {
        int fresh;
        do {
            tr->key[c] = 10000 + (int)rng_below(r, 90000);
            fresh = 1;
            for (int j = 0; j < c; j++) fresh &= tr->key[j] != tr->key[c];
        } while (!fresh);
    }
    char text[128];
    snprintf(text, sizeof text, "The pass key is %d. Remember it. %d is the pass key.", tr->key[0], tr->key[0]);
    tr->n_needle = encode(&pk->tok, text, tr->needle, 64);
    tr->max_answer = 0;
    for (int c = 0; c < PASSKEY_KEYS; c++) {
        tr->n_answer[c] = answer_tokens(pk, tr->key[c], tr->answer[c]);
        tr->max_answer = tr->n_answer[c] > tr->max_answer ? tr->n_answer[c] : tr->max_answer;
    }
}

// filler_len: the filler tokens of a prompt of T positions: T + 1 tokens in all with
// the longest answer (its last token is only a target).
static int filler_len(const Passkey *pk, const Trial *tr, int T) {
    return T - tr->n_needle - pk->n_question - tr->max_answer;
}

// ends_sentence: the token's text ends a sentence.
static int ends_sentence(const Tokenizer *t, uint32_t id) {
    const char *p = t->pieces[id];
    const size_t n = strlen(p);
    return n > 0 && (p[n - 1] == '.' || p[n - 1] == '!' || p[n - 1] == '?');
}

// build_prompt: seq = <s> filler[o, o + d) needle filler[o + d, o + F) question; returns
// its length P (the answer's first token is at position P).
static int build_prompt(const Passkey *pk, const Trial *tr, int T, double depth, Rng *r, int *seq) {
    const int F = filler_len(pk, tr, T);
    CHECK(F >= 0 && (size_t)F <= pk->n_filler, "passkey: no room for filler in a prompt of %d positions", T);
    const size_t o = rng_below(r, pk->n_filler - (size_t)F + 1);
    const uint32_t *f = pk->filler + o;
    int d = (int)lround(depth * F), n = 0;
    for (int j = d; j <= F && j < d + SNAP; j++)
        if (j == 0 || ends_sentence(&pk->tok, f[j - 1])) { d = j; break; }
    seq[n++] = BOS_ID;
    for (int j = 0; j < d; j++) seq[n++] = (int)f[j];
    for (int j = 0; j < tr->n_needle; j++) seq[n++] = (int)tr->needle[j];
    for (int j = d; j < F; j++) seq[n++] = (int)f[j];
    for (int j = 0; j < pk->n_question; j++) seq[n++] = (int)pk->question[j];
    return n;
}

// score_keys: log p(answer of key c | prompt) for every key, with the prompt's positions
// [0, P - 1) already cached: each answer runs from the prompt's last token.
static void score_keys(Model *m, const Trial *tr, const int *seq, int P, int T, double *logp) {
    int in[17], tg[16];
    for (int c = 0; c < PASSKEY_KEYS; c++) {
        const int k = tr->n_answer[c];
        in[0] = seq[P - 1];
        for (int j = 0; j < k; j++) {
            tg[j] = (int)tr->answer[c][j];
            in[j + 1] = tg[j];
        }
        model_forward_cached(m, in, tg, NULL, k, P - 1, T);
        logp[c] = 0.0;
        for (int j = 0; j < k; j++) logp[c] -= m->acts.losses[j];
    }
}

void passkey_trial(Model *m, const Passkey *pk, int T, int di, int trial, int *seq, PasskeyTrial *out) {
    Trial tr;
    Rng rng;
    make_trial(pk, T, di, trial, &tr, &rng);
    out->P = build_prompt(pk, &tr, T, pk->depth[di], &rng, seq);
    model_forward_cached(m, seq, NULL, NULL, out->P - 1, 0, T);
    score_keys(m, &tr, seq, out->P, T, out->logp);
    out->rank = 1;
    for (int c = 0; c < PASSKEY_KEYS; c++) {
        out->key[c] = tr.key[c];
        out->rank += c > 0 && out->logp[c] >= out->logp[0];
    }
}

// passkey_run: on N ranks, rank r runs trials r, r + N, ...; the counts are summed.
void passkey_run(Model *m, const Passkey *pk, PasskeyResult *res) {
    const int N = dist_size(), cells = pk->n_lens * pk->n_depths;
    for (int li = 0; li < pk->n_lens; li++)
        for (int di = 0; di < pk->n_depths; di++) {
            PasskeyResult *r = &res[li * pk->n_depths + di];
            *r = (PasskeyResult){.T = pk->T[li], .depth = pk->depth[di], .trials = pk->trials};
            for (int trial = dist_rank(); trial < pk->trials; trial += N) {
                PasskeyTrial t;
                passkey_trial(m, pk, pk->T[li], di, trial, pk->seq, &t);
                r->correct += t.rank == 1;
                r->mean_rank += (double)t.rank / pk->trials;
            }
        }
    if (N == 1) return;
    double v[2 * MAX_LIST * MAX_LIST];
    for (int i = 0; i < cells; i++) v[i] = res[i].correct, v[cells + i] = res[i].mean_rank;
    dist_sum_f64(v, 2 * (size_t)cells);
    for (int i = 0; i < cells; i++) res[i].correct = (int)v[i], res[i].mean_rank = v[cells + i];
}

void passkey_plan(const Config *c, const Shard *val, int vocab, Passkey *pk) {
    memset(pk, 0, sizeof *pk);
    if (!c->n_passkey_lens) return;
    const char *where = config_where(c, "eval.passkey.lengths");
    if (!*c->tokenizer)
        die("%s: eval.passkey needs data.tokenizer (the model's llama2.c tokenizer, e.g. checkpoints/base/tok512.bin)", where);
    tokenizer_load(&pk->tok, c->tokenizer);
    if (pk->tok.vocab != vocab)
        die("%s: data.tokenizer %s has %d tokens, the model %d (hint: the tokenizer of another model?)",
            config_where(c, "data.tokenizer"), c->tokenizer, pk->tok.vocab, vocab);
    pk->n_question = encode(&pk->tok, QUESTION, pk->question, 64);
    pk->filler = shard_text(val, &pk->n_filler);
    pk->n_lens = (int)c->n_passkey_lens;
    pk->n_depths = (int)c->n_passkey_depths;
    pk->trials = (int)c->passkey_trials;
    pk->seed = (uint64_t)c->seed;
    for (int i = 0; i < pk->n_depths; i++) pk->depth[i] = c->passkey_depths[i];
    for (int i = 0; i < pk->n_lens; i++) {
        const double L = c->passkey_lens[i];
        if (L != floor(L) || (i > 0 && L <= pk->T[i - 1]))
            die("%s: eval.passkey.lengths must be whole lengths in increasing order (%g)", where, L);
        pk->T[i] = (int)L;
        Trial tr;
        Rng r;
        make_trial(pk, pk->T[i], 0, 0, &tr, &r);
        if (filler_len(pk, &tr, pk->T[i]) < SNAP)
            die("%s: a passkey prompt of %d positions leaves %d filler tokens (needle %d, question %d and answer %d "
                "tokens); use lengths of at least %d", where, pk->T[i], filler_len(pk, &tr, pk->T[i]), tr.n_needle,
                pk->n_question, tr.max_answer, pk->T[i] - filler_len(pk, &tr, pk->T[i]) + SNAP);
        if ((size_t)pk->T[i] > pk->n_filler)
            die("%s: a passkey prompt of %d positions needs as much filler text; %s holds %zu tokens of text "
                "(hint: a longer data.val)", where, pk->T[i], val->path, pk->n_filler);
    }
    pk->seq = xmalloc(((size_t)pk->T[pk->n_lens - 1] + 1) * sizeof *pk->seq);
}

void passkey_reserve(Model *m, const Passkey *pk) {
    if (pk->n_lens) model_reserve_cache(m, pk->T[pk->n_lens - 1]);
}

void passkey_free(Passkey *pk) {
    if (pk->n_lens) tokenizer_free(&pk->tok);
    free(pk->filler);
    free(pk->seq);
    memset(pk, 0, sizeof *pk);
}
