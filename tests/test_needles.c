// test_needles.c — the RULER-style retrieval prompts and the training mix (data/needles.c,
// data/loader.c) on the real tok512 tokenizer and TinyStories shards. The reference is the
// prompt's TEXT: tokens decoded piece by piece, read with strstr/sscanf against the formats
// of needles.h; needles are found in the tokens by encoding the text the format says.
//   1. shape: BOS first and only there, ids < vocab, n + max_answer == T + 1 (kv: <= T + 1,
//      short of it by less than one pair);
//   2. text: the question ends the prompt; the asked fact holds answer[0]; the task's wrong
//      candidates (other keys / one value changed / other pairs' values); all distinct,
//      five-digit;
//   3. depth: the asked needle's filler offset in [round(depth F), + NEEDLE_SNAP] after a
//      sentence end; kv's asked pair at round(depth (pairs - 1)); forward with depth;
//   4. filler: the prompt minus needles and question is one run of the source's text;
//   5. the same seed draws the same prompt, another seed another one;
//   6. needle_min_len: a prompt of exactly that length fits (with NEEDLE_SNAP filler);
//   7. the mix in the loader: deterministic, seekable inside a synthetic document, its share
//      of tokens, its documents (BOS, length, question then right answer), mix_count per
//      epoch, new ones each epoch, filler from train and never from val.
// usage: test_needles TOKENIZER TRAIN_SHARD VAL_SHARD
#define _POSIX_C_SOURCE 200809L
#include "../data/data.h"
#include "../data/needles.h"
#include "../util/util.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_FACTS = 64, FACT_LEN = 512 };
// encode_into: tokenizer_encode's ids copied into out (which holds them).
static size_t encode_into(const Tokenizer *t, const char *text, uint32_t *out) {
    size_t n;
    uint32_t *ids = tokenizer_encode(t, NULL, text, 0, &n);
    memcpy(out, ids, n * sizeof *ids);
    free(ids);
    return n;
}

static Tokenizer tok;
static uint32_t *train_text, *val_text;
static size_t n_train_text, n_val_text;

// --- tallies: a kind of check counted over many prompts, reported once per task ---
enum { SHAPE, QUESTION, FACTS, CANDIDATES, TOKENS, DEPTH, SENTENCE, FILLER, ROOM, ORDER, SAME_SEED, OTHER_SEED, N_TALLY };
static const char *const TALLY[N_TALLY] = {
    "shape (BOS, ids, length)", "the question ends the prompt", "facts and the right answer in the text",
    "candidates (distinct, five digits, wrong ones)", "needles are their own encoding in the tokens",
    "asked fact at its depth", "needle after a sentence end", "filler is one run of the source text",
    "needle_min_len leaves NEEDLE_SNAP filler tokens", "asked fact moves forward with depth",
    "same seed, same prompt", "other seed, other prompt"};
static int tally_ok[N_TALLY], tally_n[N_TALLY], last_F;   // last_F: filler tokens of the last prompt
static char where[160];                                     // what is being checked, for failures

static void expect(int k, int ok) {
    tally_n[k]++;
    tally_ok[k] += !!ok;
    if (!ok && tally_n[k] - tally_ok[k] == 1) printf("  first failure of '%s': %s\n", TALLY[k], where);
}

static void report(const char *name) {
    for (int k = 0; k < N_TALLY; k++)
        if (tally_n[k])
            check_report(tally_ok[k] == tally_n[k], check_what("%s: %s (%d)", name, TALLY[k], tally_n[k]),
                         tally_ok[k], tally_n[k]);
    memset(tally_ok, 0, sizeof tally_ok);
    memset(tally_n, 0, sizeof tally_n);
}

// --- text and token helpers ---
// decode: the text of ids[1, n) following ids[0] (after BOS: no leading space).
static char *decode(const int *ids, int n) {
    size_t cap = 64, len = 0;
    char *out = xmalloc(cap), buf[2];
    for (int i = 1; i < n; i++) {
        const char *p = tokenizer_decode_piece(&tok, ids[i - 1], ids[i], buf);
        const size_t k = strlen(p);
        if (len + k + 1 > cap) out = xrealloc(out, cap = 2 * (len + k + 1));
        memcpy(out + len, p, k);
        len += k;
    }
    out[len] = '\0';
    return out;
}

static int ends_with(const char *s, const char *suffix) {
    const size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static int same_ids(const int *a, const uint32_t *b, size_t k) {
    for (size_t j = 0; j < k; j++)
        if ((uint32_t)a[j] != b[j]) return 0;
    return 1;
}

// find_tokens: the first index of the run t[0, k) in ids[0, n), -1 when absent.
static long find_tokens(const int *ids, size_t n, const uint32_t *t, size_t k) {
    for (size_t i = 0; i + k <= n; i++)
        if (same_ids(ids + i, t, k)) return (long)i;
    return -1;
}

// in_text: the run r[0, k) occurs in text[0, n).
static int in_text(const int *r, size_t k, const uint32_t *text, size_t n) {
    for (size_t i = 0; i + k <= n; i++)
        if (same_ids(r, text + i, k)) return 1;
    return 0;
}

// Answers: the candidates decoded after the question, and their numbers (" V1, V2, ...":
// m values; m = -1 unless the text is exactly that form of five-digit numbers).
typedef struct {
    char text[NEEDLE_CANDIDATES][128];
    int v[NEEDLE_CANDIDATES][NEEDLE_MAX], m[NEEDLE_CANDIDATES];
} Answers;

static int parse_numbers(const char *a, int *v) {
    char again[256];
    size_t len = 0;
    int m = 0;
    for (const char *p = a; m < NEEDLE_MAX; p++) {
        char *end;
        v[m] = (int)strtol(p, &end, 10);
        if (end == p || v[m] < 10000 || v[m] > 99999) return -1;
        len += (size_t)snprintf(again + len, sizeof again - len, "%s%d", m ? ", " : " ", v[m]);
        m++;
        if (*(p = end) != ',') break;
    }
    return strcmp(again, a) ? -1 : m;
}

// --- the facts of a prompt's text ---
// Facts: the needle texts the format says the prompt holds (fact[asked] is asked), their
// names and numbers, the question, and where each needle's tokens sit in the prompt.
typedef struct {
    char fact[MAX_FACTS][FACT_LEN], name[MAX_FACTS][16], question[160];
    int key[MAX_FACTS], val[MAX_FACTS], start[MAX_FACTS], len[MAX_FACTS], n_facts, asked;
} Facts;
static Facts facts;

// scan_facts: every `prefix` followed by a number (named: by "NAME is V") in text, each
// checked whole against `form` (printf of V, V or of NAME, V); the question has no number.
static void scan_facts(const char *text, const char *prefix, int named, const char *form, Facts *f) {
    f->n_facts = 0;
    for (const char *q = text; (q = strstr(q, prefix)) != NULL && f->n_facts < MAX_FACTS; q++) {
        char name[16] = "";
        int v;
        const char *after = q + strlen(prefix);
        if (named ? sscanf(after, "%15[A-Za-z] is %d", name, &v) != 2 : sscanf(after, "%d", &v) != 1) continue;
        if (named) snprintf(f->fact[f->n_facts], FACT_LEN, form, name, v);
        else snprintf(f->fact[f->n_facts], FACT_LEN, form, v, v);
        expect(FACTS, !strncmp(q, f->fact[f->n_facts], strlen(f->fact[f->n_facts])));
        snprintf(f->name[f->n_facts], sizeof f->name[0], "%s", name);
        f->key[f->n_facts++] = v;
    }
}

// asked_name: the name after the last `prefix` (the question's).
static void asked_name(const char *text, const char *prefix, char *name) {
    const char *last = NULL;
    for (const char *q = text; (q = strstr(q, prefix)) != NULL; q++) last = q;
    name[0] = '\0';
    if (last) sscanf(last + strlen(prefix), "%15[A-Za-z]", name);
}

// kv_pairs: the pairs "The value of K is V." that make the text from its start, each but
// the first (after BOS) opening with a space; returns the rest (the question).
static const char *kv_pairs(const char *text, Facts *f) {
    int k, v, used;
    for (f->n_facts = 0; f->n_facts < MAX_FACTS; f->n_facts++) {
        const int sp = *text == ' ';
        if (sscanf(text + sp, "The value of %d is %d.%n", &k, &v, &used) != 2) break;
        snprintf(f->fact[f->n_facts], FACT_LEN, "The value of %d is %d.", k, v);
        expect(FACTS, sp == (f->n_facts > 0) && !strncmp(text + sp, f->fact[f->n_facts], (size_t)used));
        f->key[f->n_facts] = k;
        f->val[f->n_facts] = v;
        text += sp + used;
    }
    return text;
}

// --- per task: the facts in the text, the right answer, the wrong candidates ---
static void text_passkey(const char *text, const Answers *a, Facts *f) {
    scan_facts(text, "The pass key is ", 0, "The pass key is %d. Remember it. %d is the pass key.", f);
    snprintf(f->question, sizeof f->question, "What is the pass key? The pass key is");
    expect(FACTS, f->n_facts == 1 && f->key[0] == a->v[0][0]);       // exactly one needle
}

// multikey: `needles` facts with distinct names, one of them asked; the others' keys are
// candidates 1 .. needles - 1.
static void text_multikey(const char *text, int needles, const Answers *a, Facts *f) {
    char name[16];
    int asked = 0, distinct = 1;
    scan_facts(text, "The pass key of ", 1, "The pass key of %s is %d. Remember it.", f);
    asked_name(text, "What is the pass key of ", name);
    snprintf(f->question, sizeof f->question, "What is the pass key of %s? The pass key of %s is", name, name);
    for (int i = 0; i < f->n_facts; i++) {
        if (!strcmp(f->name[i], name)) f->asked = i, asked++;
        for (int j = 0; j < i; j++) distinct &= strcmp(f->name[i], f->name[j]) != 0;
    }
    expect(FACTS, f->n_facts == needles && distinct && asked == 1 && f->key[f->asked] == a->v[0][0]);
    for (int c = 1; c < needles; c++) {
        int other = 0;
        for (int i = 0; i < f->n_facts; i++) other |= i != f->asked && f->key[i] == a->v[c][0];
        expect(CANDIDATES, other);
    }
}

// multivalue: `needles` sentences of one name in a row (one needle), their values in order
// = answer[0]; each wrong candidate changes one value.
static void text_multivalue(const char *text, int needles, const Answers *a, Facts *f) {
    char name[16], block[FACT_LEN];
    size_t len = 0;
    scan_facts(text, "One of the special numbers of ", 1, "One of the special numbers of %s is %d.", f);
    asked_name(text, "What are the special numbers of ", name);
    snprintf(f->question, sizeof f->question, "What are the special numbers of %s? The special numbers of %s are",
             name, name);
    int same = f->n_facts == needles && a->m[0] == needles;
    for (int i = 0; i < f->n_facts && same; i++) {
        same &= !strcmp(f->name[i], name) && f->key[i] == a->v[0][i];
        len += (size_t)snprintf(block + len, sizeof block - len, "%s%s", i ? " " : "", f->fact[i]);
    }
    expect(FACTS, same && strstr(text, block) != NULL);
    snprintf(f->fact[0], FACT_LEN, "%s", block);
    f->n_facts = 1;
    for (int c = 1; c < NEEDLE_CANDIDATES; c++) {
        int changed = 0;
        for (int i = 0; i < needles && a->m[c] == needles; i++) changed += a->v[c][i] != a->v[0][i];
        expect(CANDIDATES, changed == 1);
    }
}

// kv: nothing but pairs before the question; distinct five-digit numbers; the asked pair at
// round(depth (pairs - 1)) holds answer[0]; with >= 10 pairs the wrong candidates are other
// pairs' values.
static void text_kv(const char *text, double depth, const Answers *a, Facts *f) {
    const char *rest = kv_pairs(text, f);
    int k = 0, fresh = 1;
    sscanf(rest, " What is the value of %d", &k);
    snprintf(f->question, sizeof f->question, "What is the value of %d? The value of %d is", k, k);
    expect(QUESTION, rest[0] == ' ' && !strcmp(rest + 1, f->question));
    for (int i = 0; i < f->n_facts; i++) {
        if (f->key[i] == k) f->asked = i;
        fresh &= f->key[i] >= 10000 && f->key[i] <= 99999 && f->val[i] >= 10000 && f->val[i] <= 99999;
        for (int j = 0; j < i; j++) fresh &= f->key[i] != f->key[j] && f->val[i] != f->val[j] && f->key[i] != f->val[j];
    }
    expect(FACTS, f->n_facts >= 2 && fresh && f->key[f->asked] == k && f->val[f->asked] == a->v[0][0]);
    expect(DEPTH, f->asked == (int)lround(depth * (f->n_facts - 1)));
    for (int c = 1; c < NEEDLE_CANDIDATES && f->n_facts >= NEEDLE_CANDIDATES; c++) {
        int other = 0;
        for (int i = 0; i < f->n_facts; i++) other |= i != f->asked && f->val[i] == a->v[c][0];
        expect(CANDIDATES, other);
    }
}

// check_prompt: every check of one prompt; returns the asked needle's token position.
static int check_prompt(NeedleTask task, const NeedleSource *s, int T, double depth, const int *seq,
                        const NeedlePrompt *p) {
    Facts *f = &facts;
    Answers a;
    int shape = seq[0] == BOS_ID && p->n > 1 && p->n <= T + 1, distinct = 1;
    for (int i = 1; i < p->n && shape; i++) shape &= seq[i] != BOS_ID && seq[i] >= 0 && seq[i] < tok.vocab;
    for (int c = 0; c < NEEDLE_CANDIDATES; c++) {            // decoded after the question's last token
        int ids[NEEDLE_ANSWER_MAX + 1] = {seq[p->n - 1]};
        for (int j = 0; j < p->n_answer[c]; j++) ids[j + 1] = (int)p->answer[c][j];
        char *text = decode(ids, p->n_answer[c] + 1);
        snprintf(a.text[c], sizeof a.text[c], "%s", text);
        free(text);
        a.m[c] = parse_numbers(a.text[c], a.v[c]);
        expect(CANDIDATES, a.m[c] == (task == NEEDLE_MULTIVALUE ? s->needles : 1));
        for (int d = 0; d < c; d++) distinct &= strcmp(a.text[c], a.text[d]) != 0;
    }
    expect(CANDIDATES, distinct);
    char *text = decode(seq, p->n);
    f->asked = 0;
    if (task == NEEDLE_PASSKEY) text_passkey(text, &a, f);
    else if (task == NEEDLE_MULTIKEY) text_multikey(text, s->needles, &a, f);
    else if (task == NEEDLE_MULTIVALUE) text_multivalue(text, s->needles, &a, f);
    else text_kv(text, depth, &a, f);
    const size_t tl = strlen(text), ql = strlen(f->question);     // " QUESTION" ends the text
    expect(QUESTION, tl > ql && text[tl - ql - 1] == ' ' && ends_with(text, f->question));
    free(text);
    // the needles and the question in the tokens: each as its own encoding
    uint32_t buf[FACT_LEN + 3];
    int needles = 0, before = 0, found = 1;
    for (int i = 0; i < f->n_facts; i++) {
        f->len[i] = (int)encode_into(&tok, f->fact[i], buf);
        f->start[i] = (int)find_tokens(seq, (size_t)p->n, buf, (size_t)f->len[i]);
        found &= f->start[i] > 0;
        needles += f->len[i];
    }
    const int qn = (int)encode_into(&tok, f->question, buf);
    found &= qn < p->n && same_ids(seq + p->n - qn, buf, (size_t)qn);
    expect(TOKENS, found);
    if (task == NEEDLE_KV) {                     // the haystack: the pairs back to back, filled
        int longest = 0, at = 1;
        for (int i = 0; i < f->n_facts; i++) {
            found &= f->start[i] == at;
            at += f->len[i];
            longest = f->len[i] > longest ? f->len[i] : longest;
        }
        expect(SHAPE, shape && found && at + qn == p->n && p->n + p->max_answer <= T + 1 &&
                          p->n + p->max_answer >= T + 1 - longest - 2);
        return f->start[f->asked];
    }
    expect(SHAPE, shape && p->n + p->max_answer == T + 1);
    if (!found) return -1;
    // the filler: the prompt minus BOS, needles and question: F tokens of the source's text
    const int F = last_F = T + 1 - 1 - needles - qn - p->max_answer;
    int *run = xmalloc((size_t)p->n * sizeof *run), k = 0;
    for (int t = 1; t < p->n - qn; t++) {
        int in_needle = 0;
        for (int i = 0; i < f->n_facts; i++) in_needle |= t >= f->start[i] && t < f->start[i] + f->len[i];
        if (!in_needle) run[k++] = seq[t];
    }
    expect(FILLER, k == F && in_text(run, (size_t)k, s->filler, s->n_filler));
    free(run);
    // the asked needle's filler offset (its position minus BOS and the needles before it):
    // round(depth F) moved forward at most NEEDLE_SNAP tokens, to just after a sentence end
    for (int i = 0; i < f->n_facts; i++) before += f->start[i] < f->start[f->asked] ? f->len[i] : 0;
    const int at = f->start[f->asked] - 1 - before, d = (int)lround(depth * F);
    const char *prev = tok.pieces[seq[f->start[f->asked] - 1]], end = prev[strlen(prev) - 1];
    expect(DEPTH, at >= d && at <= d + NEEDLE_SNAP);
    expect(SENTENCE, at == 0 || at == F || end == '.' || end == '!' || end == '?');
    return f->start[f->asked];
}

// test_task: prompts of one task at T 300, 1000 and needle_min_len, depths 0, 0.5, 1,
// seeds 1..3.
static void test_task(NeedleTask task, const NeedleSource *s) {
    const double depths[3] = {0.0, 0.5, 1.0};
    const int Ts[3] = {300, 1000, needle_min_len(task, s, "test_needles")};
    const size_t most = (size_t)(Ts[2] > 1000 ? Ts[2] : 1000) + 1;
    int *seq = xmalloc(most * sizeof *seq), *again = xmalloc(most * sizeof *again);
    NeedlePrompt p, q;
    for (int ti = 0; ti < 3; ti++)
        for (uint64_t seed = 1; seed <= 3; seed++) {
            int pos[3];
            for (int di = 0; di < 3; di++) {
                snprintf(where, sizeof where, "%s T %d depth %g seed %llu", needle_task_name(task), Ts[ti],
                         depths[di], (unsigned long long)seed);
                Rng r = {seed};
                needle_prompt(task, s, Ts[ti], depths[di], &r, seq, &p);
                pos[di] = check_prompt(task, s, Ts[ti], depths[di], seq, &p);
                if (ti == 2 && task != NEEDLE_KV) expect(ROOM, last_F >= NEEDLE_SNAP);
                r = (Rng){seed};
                needle_prompt(task, s, Ts[ti], depths[di], &r, again, &q);
                int same = p.n == q.n && p.max_answer == q.max_answer && !memcmp(seq, again, (size_t)p.n * sizeof *seq);
                for (int c = 0; c < NEEDLE_CANDIDATES && same; c++)
                    same &= p.n_answer[c] == q.n_answer[c] &&
                            !memcmp(p.answer[c], q.answer[c], (size_t)p.n_answer[c] * sizeof p.answer[c][0]);
                expect(SAME_SEED, same);
                r = (Rng){seed + 100};
                needle_prompt(task, s, Ts[ti], depths[di], &r, again, &q);
                expect(OTHER_SEED, p.n != q.n || memcmp(seq, again, (size_t)p.n * sizeof *seq));
            }
            // depth 0.5 may meet depth 1 (a snap to the filler's end; kv: round(0.5) = 1 of 2 pairs)
            expect(ORDER, pos[0] > 0 && pos[0] <= pos[1] && pos[1] <= pos[2] && pos[0] < pos[2]);
        }
    report(needle_task_name(task));
    free(seq);
    free(again);
}

// test_min_len: 20 prompts of exactly needle_min_len fit (needle_prompt dies otherwise), with
// 2 needles and with 8 (multivalue: 4; 5 of its sentences exceed NEEDLE_TEXT_MAX tokens of
// tok512); 8 multikey needles need more room than 2.
static void test_min_len(NeedleSource s) {
    int *seq = xmalloc(4096 * sizeof *seq), len[2][NUM_NEEDLE_TASKS];
    NeedlePrompt p;
    for (int k = 0; k < 2; k++)
        for (int t = 0; t < NUM_NEEDLE_TASKS; t++) {
            s.needles = k == 0 ? 2 : t == NEEDLE_MULTIVALUE ? 4 : 8;
            const int T = len[k][t] = needle_min_len((NeedleTask)t, &s, "test_needles");
            int ok = T > 0 && T < 4096;
            for (uint64_t seed = 1; seed <= 20 && ok; seed++) {
                Rng r = {seed};
                needle_prompt((NeedleTask)t, &s, T, (double)(seed % 3) / 2, &r, seq, &p);
                ok &= p.n + p.max_answer <= T + 1 && (t == NEEDLE_KV || p.n + p.max_answer == T + 1);
            }
            check_report(ok, check_what("needle_min_len %s, %d needles: 20 prompts at T = %d fit",
                                        needle_task_name(t), s.needles, T), T, T);
        }
    check_report(len[1][NEEDLE_MULTIKEY] > len[0][NEEDLE_MULTIKEY], "needle_min_len multikey: 8 needles > 2 needles",
                 len[1][NEEDLE_MULTIKEY], len[0][NEEDLE_MULTIKEY]);
    free(seq);
}

// --- the mix in the training loader ---
// Stream: two epochs read one token at a time, with the cursor before each token and
// whether the loader's order put a mix document (index >= n_real) there.
typedef struct {
    int *tok;
    LoaderCursor *cur;
    char *syn;
    size_t n;
} Stream;

static void stream_of(Loader *l, Stream *s, size_t cap) {
    s->tok = xmalloc(cap * sizeof *s->tok);
    s->cur = xmalloc(cap * sizeof *s->cur);
    s->syn = xmalloc(cap);
    for (s->n = 0; s->n < cap && loader_cursor(l).epoch < 2; s->n++) {
        const LoaderCursor c = s->cur[s->n] = loader_cursor(l);
        int in, tg, syn = -1;                    // l->order is the order of epoch l->order_epoch:
        if (l->order_epoch == c.epoch) syn = l->order[c.doc] >= l->n_real;   // c's before the read
        loader_next(l, &in, &tg, NULL, 1, 1);
        if (syn < 0) syn = l->order[c.doc] >= l->n_real;                      // or after it
        s->tok[s->n] = in;
        s->syn[s->n] = (char)syn;
    }
}

// mix_doc_ok: a synthetic document: BOS only first, a passkey or kv prompt (*is_kv) whose
// text ends with its question and the right answer; *filler_ok: 24 tokens of a passkey
// document's filler are train text and not val text (-1: not checked).
static int mix_doc_ok(const int *d, size_t len, int *is_kv, int *filler_ok) {
    char *text = decode(d, (int)len), want[200] = "", *question = strstr(text, " What is the pass key?");
    Facts *f = &facts;
    int ok = d[0] == BOS_ID, k = 0;
    for (size_t i = 1; i < len; i++) ok &= d[i] != BOS_ID;
    *filler_ok = -1;
    *is_kv = !question;
    if (question) {
        *question = '\0';                        // the needles: in the text before the question
        scan_facts(text, "The pass key is ", 0, "The pass key is %d. Remember it. %d is the pass key.", f);
        *question = ' ';
        snprintf(want, sizeof want, " What is the pass key? The pass key is %d", f->key[0]);
        ok &= f->n_facts == 1 && ends_with(text, want);
        uint32_t buf[FACT_LEN + 3];              // the filler: [1, at) and [at + nn, q)
        const size_t nn = encode_into(&tok, f->fact[0], buf);
        const long at = find_tokens(d, len, buf, nn);
        const size_t qn = encode_into(&tok, "What is the pass key? The pass key is", buf);
        const long q = find_tokens(d, len, buf, qn), before = at - 1, after = q - at - (long)nn;
        const int *run = before >= after ? d + 1 : d + at + nn;
        if (at > 0 && q > at && (before >= 24 || after >= 24))
            *filler_ok = in_text(run, 24, train_text, n_train_text) && !in_text(run, 24, val_text, n_val_text);
    } else {
        const char *rest = kv_pairs(text, f);
        ok &= sscanf(rest, " What is the value of %d", &k) == 1;
        for (int i = 0; i < f->n_facts; i++)
            if (f->key[i] == k) snprintf(want, sizeof want, " What is the value of %d? The value of %d is %d", k, k, f->val[i]);
        ok &= f->n_facts >= 2 && !strcmp(rest, want);
    }
    free(text);
    return ok;
}

static uint64_t hash_ids(const int *t, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint64_t)t[i]) * 1099511628211ull;
    return h;
}

static void test_mix(const Shard *train) {
    enum { MIN = 200, MAX = 400, PAIR_MAX = 32 };   // PAIR_MAX: tokens of a kv pair, at most (23 with tok512)
    const long long tasks = 1 << NEEDLE_PASSKEY | 1 << NEEDLE_KV;
    Mix mix, mix2;                               // mix2: a second run's (a fresh process's)
    const MixOptions opt = {tasks, 0.3, MIN, MAX, 4, 0.0, 1.0, 7, 0};
    mix_init(&mix, train, &tok, &opt);
    mix_init(&mix2, train, &tok, &opt);
    LoaderOptions o = {.upsample_factor = 1, .mix = &mix}, o2 = {.upsample_factor = 1, .mix = &mix2};
    Loader l, l2;
    loader_init(&l, train, &o, 42, 256);
    // (e) share / (1 - share) x the real tokens / the mean length documents per epoch
    const size_t k = mix_count(&mix, train->n, 256), want = (size_t)lround(0.3 / 0.7 * (double)train->n / 300.0);
    check_report(l.n_docs - l.n_real == k && k == want, "mix: n_docs - n_real = mix_count = 0.3/0.7 x tokens / 300",
                 (double)(l.n_docs - l.n_real), (double)want);
    Stream s;
    stream_of(&l, &s, 4 * train->n);
    // the documents of each epoch (a cursor at offset 0 opens one): synthetic ones checked
    size_t docs[2] = {0}, syn_docs[2] = {0}, syn_tok[2] = {0}, all_tok[2] = {0};
    uint64_t *hash[2] = {xmalloc(k * sizeof(uint64_t)), xmalloc(k * sizeof(uint64_t))};
    int ok_docs = 1, ok_len[2] = {1, 1}, n_task[2] = {0}, real_plain = 1, filler_checked = 0, filler_ok = 1;
    for (size_t i = 0, j; i < s.n; i = j) {
        const int e = (int)s.cur[i].epoch;
        for (j = i + 1; j < s.n && s.cur[j].offset != 0; j++) {}
        const size_t len = j - i;
        docs[e]++;
        all_tok[e] += len;
        if (!s.syn[i]) {                         // a real document: no retrieval question
            char *text = decode(s.tok + i, (int)len);
            real_plain &= !strstr(text, "What is the pass key?") && !strstr(text, "What is the value of");
            free(text);
            continue;
        }
        int fill = -1, kv = 0;
        snprintf(where, sizeof where, "mix: epoch %d, document %llu", e + 1, (unsigned long long)s.cur[i].doc);
        ok_docs &= s.cur[i].offset == 0 && mix_doc_ok(s.tok + i, len, &kv, &fill);
        n_task[kv]++;
        const int outside = len + (kv ? PAIR_MAX : 0) < MIN || len > MAX;   // kv: whole pairs, up to one short
        if (outside && ok_len[kv])
            printf("  first %s document outside [%d, %d]: %zu tokens (%s)\n", kv ? "kv" : "passkey", MIN, MAX, len, where);
        ok_len[kv] &= !outside;
        if (fill >= 0 && filler_checked < 20) filler_checked++, filler_ok &= fill;
        if (syn_docs[e] < k) hash[e][syn_docs[e]] = hash_ids(s.tok + i, len);
        syn_docs[e]++;
        syn_tok[e] += len;
    }
    check_report(docs[0] == l.n_docs && docs[1] == l.n_docs && syn_docs[0] == k && syn_docs[1] == k,
                 "mix: an epoch reads n_docs, mix_count of them synthetic", (double)syn_docs[0], (double)k);
    CHECK_TRUE("mix: every synthetic document is BOS + prompt + its question + the right answer", ok_docs && syn_docs[0]);
    CHECK_TRUE("mix: real documents hold no retrieval question", real_plain);
    report("mix documents");                     // the exact form of their facts (scan_facts, kv_pairs)
    for (int kv = 0; kv < 2; kv++)               // needles.h, Mix: lengths in [min_len, max_len], kv up to a pair short
        check_report(ok_len[kv] && n_task[kv] > 0, check_what("mix: %s documents hold %s .. 400 tokens (%d)",
                                                              kv ? "kv" : "passkey", kv ? "200 - a pair" : "200",
                                                              n_task[kv]), ok_len[kv], 1);
    for (int e = 0; e < 2; e++)
        check_close(check_what("mix: share of synthetic tokens in epoch %d", e + 1),
                    (double)syn_tok[e] / (double)all_tok[e], 0.3, 0.05, 0.0);
    check_report(filler_checked == 20 && filler_ok, "mix: passkey filler (24 tokens) is train text, not val",
                 filler_checked, 20);
    int repeats = 0;                             // (f) epoch 2 draws new documents
    for (size_t a = 0; a < k && syn_docs[1] == k; a++)
        for (size_t b = 0; b < k; b++) repeats += hash[1][a] == hash[0][b];
    check_report(repeats == 0, "mix: epoch 2's synthetic documents differ from epoch 1's", repeats, 0);
    // (a) a fresh loader with its own mix, read in rows of 2 x 256: the same stream
    loader_init(&l2, train, &o2, 42, 256);
    int in[512], tg[512], same = 1;
    for (size_t i = 0; i + 513 <= s.n; i += 512) {
        loader_next(&l2, in, tg, NULL, 2, 256);
        for (int t = 0; t < 512; t++) same &= in[t] == s.tok[i + t] && tg[t] == s.tok[i + t + 1];
    }
    CHECK_TRUE("mix: a fresh loader reads the same two epochs (rows of 2 x 256)", same);
    // (b) a fresh loader seeked to a cursor 100 tokens into a synthetic document mid-epoch
    for (int e = 0; e < 2; e++) {
        size_t i = 0;
        while (i < s.n && !(s.cur[i].epoch == (uint64_t)e && s.cur[i].doc > l.n_docs / 2 && s.syn[i] &&
                            s.cur[i].offset == 100))
            i++;
        if (i + 2000 >= s.n) i = 0;              // none: a failed check, not a crash
        Loader l3;
        loader_init(&l3, train, &o2, 42, 256);
        loader_seek(&l3, s.cur[i]);
        same = i > 0;
        for (size_t n = 0; n < 2000; n += 500) {
            loader_next(&l3, in, tg, NULL, 1, 500);
            same &= !memcmp(in, s.tok + i + n, 500 * sizeof *in);
        }
        CHECK_TRUE(check_what("mix: seek into a synthetic document (epoch %d, document %llu) continues the stream",
                              e + 1, (unsigned long long)s.cur[i].doc), same);
        loader_free(&l3);
    }
    free(hash[0]); free(hash[1]); free(s.tok); free(s.cur); free(s.syn);
    loader_free(&l);
    loader_free(&l2);
    mix_free(&mix);
    mix_free(&mix2);
}

// test_mix_depths: data.mix.depths and the shortest documents: passkey documents of
// mix_min_len .. + 10 tokens (no room for filler to speak of) with the fact asked at depth 0
// open with the needle, and at depth 1 end with it right before the question.
static void test_mix_depths(const Shard *train) {
    const NeedleSource probe = {&tok, train->tokens, train->n, 4, train->doc};
    const int L0 = mix_min_len(NEEDLE_PASSKEY, &probe, "test");
    int first = 1, last = 1, fits = 1;
    for (int end = 0; end < 2; end++) {
        const MixOptions o = {1 << NEEDLE_PASSKEY, 0.3, L0, L0 + 10, 4, end, end, 11, 0};
        Mix x;
        mix_init(&x, train, &tok, &o);
        for (size_t k = 0; k < 40; k++) {
            size_t len;
            const int *d = mix_doc(&x, 0, k, 0, &len);
            char *text = decode(d, (int)len);
            fits &= len >= (size_t)L0 - 1 && len <= (size_t)L0 + 10 && d[0] == BOS_ID;
            if (!end) first &= !strncmp(text, "The pass key is ", 16);
            else last &= strstr(text, "is the pass key. What is the pass key? The pass key is") != NULL;
            free(text);
        }
        mix_free(&x);
    }
    CHECK_TRUE(check_what("mix: the shortest documents (%d .. %d tokens) are made", L0, L0 + 10), fits);
    CHECK_TRUE("mix: depths [0, 0]: the needle opens every document", first);
    CHECK_TRUE("mix: depths [1, 1]: the needle sits right before the question", last);
}

// find_text: whether ids[0, n) occur in order somewhere in the training text.
static int find_text(const int *ids, size_t n) {
    for (size_t o = 0; o + n <= n_train_text; o++) {
        size_t j = 0;
        while (j < n && (uint32_t)ids[j] == train_text[o + j]) j++;
        if (j == n) return 1;
    }
    return 0;
}

// test_mix_copy: data.mix's copy documents (needles.h, MIX_COPY): <s> text[o, o + d)
// text[o, o + s) with s in [MIX_COPY_SPAN, (L - 1) / 2], L in the lengths, the text the
// training text's; the same document at every reading, and kinds drawn in the mix.
static void test_mix_copy(const Shard *train) {
    const MixOptions o = {1 << MIX_COPY | 1 << NEEDLE_PASSKEY, 0.3, 120, 300, 4, 0.0, 1.0, 5, 0};
    Mix x;
    mix_init(&x, train, &tok, &o);
    int n_copy = 0, n_pass = 0, shaped = 1, from_train = 1, same = 1;
    for (size_t k = 0; k < 60; k++) {
        size_t len;
        const int *d = mix_doc(&x, 1, k, 0, &len);
        char *text = decode(d, (int)len);
        const int passkey = strstr(text, "What is the pass key?") != NULL;
        free(text);
        n_pass += passkey;
        if (passkey) continue;
        n_copy++;
        int span = 0;                            // the longest s whose tail repeats the start
        for (int s = (int)(len - 1) / 2; s >= MIX_COPY_SPAN && !span; s--)
            if (!memcmp(d + 1, d + len - (size_t)s, (size_t)s * sizeof *d)) span = s;
        shaped &= d[0] == BOS_ID && len >= 120 && len <= 300 && span >= MIX_COPY_SPAN;
        if (n_copy <= 10) from_train &= find_text(d + 1, len - 1 - (size_t)span);
        int *again = xmalloc(len * sizeof *again);
        memcpy(again, d, len * sizeof *again);
        size_t len2;
        mix_doc(&x, 1, k + 1000, 0, &len2);
        const int *d2 = mix_doc(&x, 1, k, 0, &len2);
        same &= len2 == len && !memcmp(again, d2, len * sizeof *again);
        free(again);
    }
    check_report(n_copy > 15 && n_pass > 15, "mix: copy and passkey documents both drawn (of 60)", n_copy, n_pass);
    CHECK_TRUE("mix: a copy document is <s>, text, then its first 16 .. (L-1)/2 tokens again, L in [120, 300]", shaped);
    CHECK_TRUE("mix: copy documents' text is the training text's", from_train);
    CHECK_TRUE("mix: copy document k of an epoch is the same at every reading", same);
    CHECK_TRUE("mix: the copy kind is named copy", !strcmp(mix_kind_name(MIX_COPY), "copy") &&
                                                   mix_min_len(MIX_COPY, &x.src, "test") == 1 + 2 * MIX_COPY_SPAN);
    mix_free(&x);
}

int main(int argc, char **argv) {
    if (argc != 4) die("usage: test_needles TOKENIZER TRAIN_SHARD VAL_SHARD");
    Shard train, val;
    tokenizer_load(&tok, argv[1]);
    shard_load(&train, argv[2], tok.vocab);
    shard_load(&val, argv[3], tok.vocab);
    train_text = shard_text(&train, SIZE_MAX, &n_train_text);
    val_text = shard_text(&val, SIZE_MAX, &n_val_text);
    const NeedleSource src = {&tok, val_text, n_val_text, 4, val.doc};   // as the evals: val text
    for (int t = 0; t < NUM_NEEDLE_TASKS; t++) test_task((NeedleTask)t, &src);
    test_min_len(src);
    test_mix(&train);
    test_mix_depths(&train);
    test_mix_copy(&train);
    free(train_text);
    free(val_text);
    shard_free(&train);
    shard_free(&val);
    tokenizer_free(&tok);
    return check_done("test_needles");
}
