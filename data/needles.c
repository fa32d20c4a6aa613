// needles.c — retrieval prompts (see needles.h). A prompt is assembled from token pieces:
// each needle and the question are encoded on their own (with the tokenizer's dummy
// prefix space, as a sentence inside text is), each answer as the tokens that follow the
// question when "question answer" is encoded whole, so that a candidate is scored on the
// tokens the model would see.
#include "needles.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const TASK_NAMES[NUM_NEEDLE_TASKS] = {"passkey", "multikey", "multivalue", "kv"};
static const char *const NAMES[] = {"Lily", "Tom", "Ben", "Sue", "Max", "Anna", "Sam", "Mia",
                                    "Tim", "Lucy", "Jack", "Amy", "Bob", "Sara", "Jake", "Zoe"};
// KV_MAX_PAIRS: a kv prompt's pairs stop there (two distinct numbers each, 10 spare for
// fresh candidates): about 760k tokens with tok512; longer prompts end short of T.
enum { N_NAMES = sizeof NAMES / sizeof NAMES[0], N_NUMBERS = 90000, KV_MAX_PAIRS = (N_NUMBERS - 10) / 2 };

const char *needle_task_name(NeedleTask t) { return TASK_NAMES[t]; }

int needle_task_find(const char *name) {
    for (int t = 0; t < NUM_NEEDLE_TASKS; t++)
        if (!strcmp(name, TASK_NAMES[t])) return t;
    return -1;
}

// Piece: the tokens of one needle or question.
typedef struct {
    uint32_t t[NEEDLE_TEXT_MAX];
    int n;
} Piece;

// Parts: what one prompt holds besides filler: needles (needle[0] is asked, placed at the
// depth; the others at drawn depths), the question, and the candidates' answer texts.
typedef struct {
    Piece needle[NEEDLE_MAX], question;
    int n_needles, kv;                       // kv: needles are the whole haystack, in order
    char question_text[160], answer_text[NEEDLE_CANDIDATES][96];
} Parts;

// Numbers: distinct five-digit numbers (10000 .. 99999), drawn without repeats.
typedef struct {
    uint8_t used[N_NUMBERS / 8 + 1];
} Numbers;

static int draw_number(Numbers *u, Rng *r) {
    size_t k;
    do k = rng_below(r, N_NUMBERS);
    while (u->used[k / 8] >> (k % 8) & 1);
    u->used[k / 8] |= (uint8_t)(1u << (k % 8));
    return 10000 + (int)k;
}

static int encode_piece(const Tokenizer *tok, const char *text, Piece *p) {
    size_t n;
    uint32_t *ids = tokenizer_encode(tok, NULL, text, 0, &n);
    const int fits = n <= NEEDLE_TEXT_MAX;
    if (fits) memcpy(p->t, ids, n * sizeof *ids);
    p->n = (int)n;
    free(ids);
    return fits;
}

// answer_tokens: the tokens that follow the question in "question answer"; 0 when the
// tokenizer merges the question's last token with the answer.
static int answer_tokens(const Tokenizer *tok, const Parts *q, const char *answer, uint32_t *out, int *n_out) {
    char text[sizeof q->question_text + sizeof q->answer_text[0] + 2];
    Piece all;
    snprintf(text, sizeof text, "%s %s", q->question_text, answer);
    if (!encode_piece(tok, text, &all) || all.n <= q->question.n || all.n - q->question.n > NEEDLE_ANSWER_MAX ||
        memcmp(all.t, q->question.t, (size_t)q->question.n * sizeof *all.t))
        return 0;
    *n_out = all.n - q->question.n;
    memcpy(out, all.t + q->question.n, (size_t)*n_out * sizeof *out);
    return 1;
}

// needle_text: the facts and question of the filler tasks (not kv), drawn from r; the
// names are `force` (NULL: drawn).
static int needle_text(NeedleTask task, const NeedleSource *s, Rng *r, Parts *q, const int *force) {
    Numbers u = {{0}};
    char text[NEEDLE_MAX * 64];
    int num[NEEDLE_CANDIDATES + NEEDLE_MAX], ok = 1;
    const int m = task == NEEDLE_PASSKEY ? 1 : s->needles;
    for (int i = 0; i < NEEDLE_CANDIDATES + m; i++) num[i] = draw_number(&u, r);
    int name[NEEDLE_MAX] = {0};
    for (int i = 0; i < m; i++) {
        int fresh;
        do {
            name[i] = force ? force[i] : (int)rng_below(r, N_NAMES);
            fresh = 1;
            for (int j = 0; j < i; j++) fresh &= name[j] != name[i];
        } while (!fresh);
    }
    q->n_needles = task == NEEDLE_MULTIKEY ? m : 1;
    if (task == NEEDLE_PASSKEY) {
        snprintf(text, sizeof text, "The pass key is %d. Remember it. %d is the pass key.", num[0], num[0]);
        ok &= encode_piece(s->tok, text, &q->needle[0]);
        snprintf(q->question_text, sizeof q->question_text, "What is the pass key? The pass key is");
    } else if (task == NEEDLE_MULTIKEY) {
        for (int i = 0; i < m; i++) {
            snprintf(text, sizeof text, "The pass key of %s is %d. Remember it.", NAMES[name[i]], num[i]);
            ok &= encode_piece(s->tok, text, &q->needle[i]);
        }
        snprintf(q->question_text, sizeof q->question_text, "What is the pass key of %s? The pass key of %s is",
                 NAMES[name[0]], NAMES[name[0]]);
    } else {                                  // multivalue: one needle of m sentences
        size_t len = 0;
        for (int i = 0; i < m; i++)
            len += (size_t)snprintf(text + len, sizeof text - len, "%sOne of the special numbers of %s is %d.",
                                    i ? " " : "", NAMES[name[0]], num[i]);
        ok &= encode_piece(s->tok, text, &q->needle[0]);
        snprintf(q->question_text, sizeof q->question_text, "What are the special numbers of %s? The special numbers "
                 "of %s are", NAMES[name[0]], NAMES[name[0]]);
    }
    for (int c = 0; c < NEEDLE_CANDIDATES; c++) {
        if (task != NEEDLE_MULTIVALUE) {     // multikey: the other needles' keys come first
            snprintf(q->answer_text[c], sizeof q->answer_text[c], "%d", num[c]);
            continue;
        }
        size_t len = 0;
        for (int i = 0; i < m; i++)           // candidate c > 0 changes value (c - 1) mod m
            len += (size_t)snprintf(q->answer_text[c] + len, sizeof q->answer_text[c] - len, "%s%d", i ? ", " : "",
                                    c > 0 && i == (c - 1) % m ? num[m + c - 1] : num[i]);
    }
    return ok && encode_piece(s->tok, q->question_text, &q->question);
}

// answers: every candidate's tokens into p; 0 when the tokenizer merges one with the question.
static int answers(const NeedleSource *s, const Parts *q, NeedlePrompt *p) {
    p->max_answer = 0;
    for (int c = 0; c < NEEDLE_CANDIDATES; c++) {
        if (!answer_tokens(s->tok, q, q->answer_text[c], p->answer[c], &p->n_answer[c])) return 0;
        if (p->n_answer[c] > p->max_answer) p->max_answer = p->n_answer[c];
    }
    return 1;
}

// ends_sentence: the token's text ends a sentence.
static int ends_sentence(const Tokenizer *t, uint32_t id) {
    const char *p = t->pieces[id];
    const size_t n = strlen(p);
    return n > 0 && (p[n - 1] == '.' || p[n - 1] == '!' || p[n - 1] == '?');
}

// snap: filler offset d moved forward to the next sentence end (within NEEDLE_SNAP).
static int snap(const NeedleSource *s, const uint32_t *f, int d, int F) {
    for (int j = d; j <= F && j < d + NEEDLE_SNAP; j++)
        if (j == 0 || ends_sentence(s->tok, f[j - 1])) return j;
    return d;
}

// emit: append piece p to seq at *n.
static void emit(int *seq, int *n, const uint32_t *t, int k) {
    for (int j = 0; j < k; j++) seq[(*n)++] = (int)t[j];
}

// filler_prompt: <s> filler with the needles at their offsets, then the question.
static void filler_prompt(const NeedleSource *s, const Parts *q, int T, double depth, Rng *r, int *seq, NeedlePrompt *p) {
    int F = T + 1 - 1 - q->question.n - p->max_answer, at[NEEDLE_MAX], order[NEEDLE_MAX];
    for (int i = 0; i < q->n_needles; i++) F -= q->needle[i].n;
    CHECK(F >= 0 && (size_t)F <= s->n_filler, "needles: no room for filler in a prompt of %d positions", T);
    const uint32_t *f = s->filler + rng_below(r, s->n_filler - (size_t)F + 1);
    for (int i = 0; i < q->n_needles; i++) {
        at[i] = snap(s, f, i == 0 ? (int)lround(depth * F) : (int)rng_below(r, (size_t)F + 1), F);
        order[i] = i;
    }
    for (int i = 1; i < q->n_needles; i++)   // by offset; the asked needle first on a tie
        for (int j = i; j > 0 && at[order[j]] < at[order[j - 1]]; j--) {
            const int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    int n = 0, from = 0;
    seq[n++] = (int)s->doc;
    for (int k = 0; k < q->n_needles; k++) {
        const Piece *nd = &q->needle[order[k]];
        emit(seq, &n, f + from, at[order[k]] - from);
        emit(seq, &n, nd->t, nd->n);
        from = at[order[k]];
    }
    emit(seq, &n, f + from, F - from);
    emit(seq, &n, q->question.t, q->question.n);
    p->n = n;
}

// kv_pairs: draw pairs from r (and u) while they fit in `budget` tokens, appending their
// tokens to seq at *n when seq is not NULL; the key and value of pair want[j] (j < n_want)
// go to key[j], val[j]. Returns the pairs that fit, -1 when a pair does not encode. The
// pair that does not fit is drawn too, so two walks from the same r and u draw the same.
static int kv_pairs(const NeedleSource *s, int budget, Rng *r, Numbers *u, int *seq, int *n, const int *want, int n_want,
                    int *key, int *val) {
    Piece pair;
    char text[64];
    for (int pairs = 0, used = 0;; pairs++) {
        if (pairs == KV_MAX_PAIRS) return pairs;
        const int k = draw_number(u, r), v = draw_number(u, r);
        snprintf(text, sizeof text, "The value of %d is %d.", k, v);
        if (!encode_piece(s->tok, text, &pair)) return -1;
        if (used + pair.n > budget) return pairs;
        used += pair.n;
        if (seq) emit(seq, n, pair.t, pair.n);
        for (int j = 0; j < n_want; j++)
            if (want[j] == pairs) key[j] = k, val[j] = v;
    }
}

// kv_prompt: <s> pairs "The value of K is V." filling T, the one at depth asked; the
// wrong candidates are the values of the 9 pairs after it (cyclically; fresh numbers when
// there are fewer than 10 pairs). Two walks over the pairs: one counts them, the second
// emits them and keeps the ones asked about (no memory that grows with T).
static int kv_prompt(const NeedleSource *s, int T, double depth, Rng *r, int *seq, NeedlePrompt *p) {
    static const char QUESTION[] = "What is the value of %d? The value of %d is";
    Numbers u = {{0}};
    Parts q;
    int ok = 1, n = 1, want[NEEDLE_CANDIDATES], key[NEEDLE_CANDIDATES], val[NEEDLE_CANDIDATES];
    snprintf(q.question_text, sizeof q.question_text, QUESTION, 10000, 10000);
    ok &= encode_piece(s->tok, q.question_text, &q.question);
    snprintf(q.answer_text[0], sizeof q.answer_text[0], "%d", 10000);
    ok = ok && answer_tokens(s->tok, &q, q.answer_text[0], p->answer[0], &p->n_answer[0]);
    if (!ok) return 0;
    const int budget = T + 1 - 1 - q.question.n - p->n_answer[0];
    const Rng r0 = *r;
    const int pairs = kv_pairs(s, budget, r, &u, NULL, NULL, NULL, 0, NULL, NULL);
    if (pairs < 2) return 0;
    const int a = (int)lround(depth * (pairs - 1)), others = pairs >= NEEDLE_CANDIDATES;
    for (int c = 0; c < NEEDLE_CANDIDATES; c++) want[c] = c == 0 || others ? (a + c) % pairs : -1;
    *r = r0;
    memset(&u, 0, sizeof u);
    seq[0] = (int)s->doc;
    kv_pairs(s, budget, r, &u, seq, &n, want, NEEDLE_CANDIDATES, key, val);
    snprintf(q.question_text, sizeof q.question_text, QUESTION, key[0], key[0]);
    ok &= encode_piece(s->tok, q.question_text, &q.question);
    for (int c = 0; c < NEEDLE_CANDIDATES; c++)
        snprintf(q.answer_text[c], sizeof q.answer_text[c], "%d", want[c] >= 0 ? val[c] : draw_number(&u, r));
    ok = ok && answers(s, &q, p) && n + q.question.n + p->max_answer <= T + 1;   // checked before it is written
    if (!ok) return 0;
    emit(seq, &n, q.question.t, q.question.n);
    p->n = n;
    return 1;
}

// make_prompt: needle_prompt without the checks; 0 when the tokenizer cannot encode the
// task's text or T cannot hold it (kv).
static int make_prompt(NeedleTask task, const NeedleSource *s, int T, double depth, Rng *r, int *seq, NeedlePrompt *p) {
    if (task == NEEDLE_KV) return kv_prompt(s, T, depth, r, seq, p);
    Parts q;
    if (!needle_text(task, s, r, &q, NULL) || !answers(s, &q, p)) return 0;
    filler_prompt(s, &q, T, depth, r, seq, p);
    return 1;
}

void needle_prompt(NeedleTask task, const NeedleSource *s, int T, double depth, Rng *r, int *seq, NeedlePrompt *p) {
    CHECK(make_prompt(task, s, T, depth, r, seq, p), "needles: the %s prompt does not encode or fit in %d positions",
          TASK_NAMES[task], T);
}

// longest_names: the indexes of the names in order of decreasing token count (a name's
// tokens are the same wherever it follows a space).
static void longest_names(const Tokenizer *tok, int *order) {
    int len[N_NAMES];
    Piece p;
    for (int i = 0; i < N_NAMES; i++) {
        len[i] = encode_piece(tok, NAMES[i], &p) ? p.n : 0;
        order[i] = i;
        for (int j = i; j > 0 && len[order[j]] > len[order[j - 1]]; j--) {
            const int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    }
}

int needle_min_len(NeedleTask task, const NeedleSource *s, const char *where) {
    Rng r = {1};
    Parts q;
    NeedlePrompt p;
    if (task == NEEDLE_KV) {
        int *seq = xmalloc(1024 * sizeof *seq), T = 16;
        while (T < 1023 && !kv_prompt(s, T, 0.5, &r, seq, &p)) T++;
        free(seq);
        if (T == 1023) die("%s: the tokenizer cannot encode the kv task's text (a question that merges with its answer)", where);
        return T;
    }
    int names[N_NAMES];                       // the longest prompt: the names of most tokens
    longest_names(s->tok, names);
    if (!needle_text(task, s, &r, &q, names) || !answers(s, &q, &p))
        die("%s: the tokenizer cannot encode the %s task's text (a question that merges with its answer, or pieces "
            "over %d tokens)", where, TASK_NAMES[task], NEEDLE_TEXT_MAX);
    int T = q.question.n + p.max_answer + NEEDLE_SNAP;
    for (int i = 0; i < q.n_needles; i++) T += q.needle[i].n;
    return T;
}

// --- data.mix: synthetic retrieval documents in the training stream (Mix, needles.h) ---
// A document is a needle prompt of L - 1 positions followed by its right answer:
// <s> haystack question answer, at most L tokens.
void mix_init(Mix *x, const Shard *train, const Tokenizer *tok, const MixOptions *o) {
    memset(x, 0, sizeof *x);
    x->opt = *o;
    x->filler = shard_text(train, MIX_FILLER_MAX, &x->src.n_filler);
    x->src = (NeedleSource){tok, x->filler, x->src.n_filler, o->needles, train->doc};
    for (int t = 0; t < MIX_KINDS; t++)
        if (o->tasks >> t & 1) x->task[x->n_tasks++] = t;
    CHECK(x->n_tasks > 0 && o->share > 0.0 && o->share < 1.0 && o->min_len >= 2 && o->min_len <= o->max_len &&
          o->depth_lo >= 0.0 && o->depth_lo <= o->depth_hi && o->depth_hi <= 1.0,
          "mix: tasks %lld, share %g, lengths [%d, %d], depths [%g, %g]", o->tasks, o->share, o->min_len, o->max_len,
          o->depth_lo, o->depth_hi);
    CHECK(!o->whole || x->src.n_filler + 1 >= (size_t)o->max_len, "mix: %zu tokens of training text cannot fill the gaps "
          "before documents of %d", x->src.n_filler, o->max_len);
    x->doc = xmalloc((size_t)o->max_len * sizeof *x->doc);
    x->epoch = UINT64_MAX;
}

const char *mix_kind_name(int kind) { return kind == MIX_COPY ? "copy" : needle_task_name((NeedleTask)kind); }

int mix_min_len(int kind, const NeedleSource *s, const char *where) {
    if (kind == MIX_COPY) return 1 + 2 * MIX_COPY_SPAN;
    return needle_min_len((NeedleTask)kind, s, where) - (kind == NEEDLE_KV ? 0 : NEEDLE_SNAP) + 1;
}

int copy_text(const uint32_t *text, int d, int span, uint32_t doc, int *seq) {
    int n = 0;
    seq[n++] = (int)doc;
    for (int j = 0; j < d; j++) seq[n++] = (int)text[j];
    for (int j = 0; j < span; j++) seq[n++] = (int)text[j];
    return n;
}

// copy_doc: a copy document of L tokens: a span s uniform in [MIX_COPY_SPAN, (L - 1) / 2]
// of filler text at a uniform offset, copied d = L - 1 - s tokens on.
static size_t copy_doc(const NeedleSource *s, int L, Rng *r, int *doc) {
    const int span = MIX_COPY_SPAN + (int)rng_below(r, (size_t)((L - 1) / 2 - MIX_COPY_SPAN + 1)), d = L - 1 - span;
    const uint32_t *text = s->filler + rng_below(r, s->n_filler - (size_t)d + 1);
    return (size_t)copy_text(text, d, span, s->doc, doc);
}

// longest: the longest document drawn for sequences of T tokens (mix_doc).
static int longest(const MixOptions *o, int T) { return o->whole && T > 0 && T < o->max_len ? T : o->max_len; }

double mix_mean_len(const Mix *x, int T) { return 0.5 * (x->opt.min_len + longest(&x->opt, T)); }

size_t mix_count(const Mix *x, size_t tokens, int T) {
    const double n = x->opt.share / (1.0 - x->opt.share) * (double)tokens / mix_mean_len(x, T);
    return n < 1.0 ? 1 : (size_t)(n + 0.5);
}

// doc_seed: the seed of document k of epoch e.
static uint64_t doc_seed(const MixOptions *o, uint64_t epoch, size_t k) {
    return o->seed ^ ((epoch + 1) * 0x9E3779B97F4A7C15ull) ^ (((uint64_t)k + 1) * 0xC2B2AE3D27D4EB4Full);
}

const uint32_t *mix_gap(const Mix *x, uint64_t epoch, size_t k) {
    Rng r = {doc_seed(&x->opt, epoch, k) ^ 0x474150ull};
    return x->filler + rng_below(&r, x->src.n_filler - (size_t)x->opt.max_len + 2);
}

const int *mix_doc(Mix *x, uint64_t epoch, size_t k, int T, size_t *len) {
    const MixOptions *o = &x->opt;
    const int hi = longest(o, T);
    if (x->epoch != epoch || x->k != k || x->T != hi) {
        CHECK(hi >= o->min_len, "mix: sequences of %d tokens cannot hold whole documents of %d", T, o->min_len);
        Rng r = {doc_seed(o, epoch, k)};
        const int task = x->task[rng_below(&r, (size_t)x->n_tasks)];
        const int L = o->min_len + (int)rng_below(&r, (size_t)(hi - o->min_len + 1));
        const double depth = o->depth_lo + (o->depth_hi - o->depth_lo) * rng_uniform(&r);
        if (task == MIX_COPY) {
            x->len = copy_doc(&x->src, L, &r, x->doc);
        } else {
            NeedlePrompt p;
            needle_prompt((NeedleTask)task, &x->src, L - 1, depth, &r, x->doc, &p);
            for (int j = 0; j < p.n_answer[0]; j++) x->doc[p.n + j] = (int)p.answer[0][j];
            x->len = (size_t)(p.n + p.n_answer[0]);
        }
        x->epoch = epoch;
        x->k = k;
        x->T = hi;
    }
    *len = x->len;
    return x->doc;
}

void mix_free(Mix *x) {
    free(x->filler);
    free(x->doc);
    memset(x, 0, sizeof *x);
}
