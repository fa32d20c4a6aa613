// bpe.c — what every kind of tokenizer encodes with: the hash of match forms (lookup),
// the byte tokens, the word boundaries, the merge table of a tokenizer.json, and the
// merge loop, a priority queue of candidate merges (O(n log n) in a word's symbols).
#include "data.h"
#include "tok_hf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// hash: FNV-1a of s[0, len).
static uint64_t hash(const char *s, size_t len) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

int tokenizer_lookup(const Tokenizer *t, const char *s, size_t len) {
    for (size_t i = hash(s, len) & (t->map_cap - 1);; i = (i + 1) & (t->map_cap - 1)) {
        const uint32_t e = t->map[i];
        if (!e) return -1;
        if (t->match_len[e - 1] == len && !memcmp(t->match[e - 1], s, len)) return (int)e - 1;
    }
}

// byte_piece: p is "<0xHH>" (two uppercase hex digits, as sentencepiece and the
// tokenizers library spell byte tokens); *byte gets HH.
static int byte_piece(const char *p, unsigned *byte) {
    static const char hex[] = "0123456789ABCDEF";
    if (strlen(p) != 6 || strncmp(p, "<0x", 3) || p[5] != '>' || !p[3] || !p[4]) return 0;
    const char *hi = strchr(hex, p[3]), *lo = strchr(hex, p[4]);
    if (!hi || !lo) return 0;
    *byte = (unsigned)((hi - hex) * 16 + (lo - hex));
    return 1;
}

int tokenizer_byte_of(const Tokenizer *t, int id) {
    for (int b = 0; b < 256; b++)
        if (t->byte_ids[b] == id) return b;
    return -1;
}

void tokenizer_index(Tokenizer *t, const char *path) {
    if (!t->match) {
        t->match = t->pieces;
        t->match_len = xmalloc((size_t)t->vocab * sizeof *t->match_len);
        for (int i = 0; i < t->vocab; i++) t->match_len[i] = (uint32_t)strlen(t->pieces[i]);
    }
    for (t->map_cap = 1; t->map_cap < 2 * (size_t)t->vocab; t->map_cap *= 2) {}
    t->map = xcalloc(t->map_cap, sizeof *t->map);
    t->max_len = 0;
    for (int i = 0; i < t->vocab; i++) {
        if (!t->match[i]) continue;                  // an id tokenizer.json leaves unused
        const char *s = t->match[i];
        const size_t len = t->match_len[i];
        if (tokenizer_lookup(t, s, len) >= 0)
            die("%s: tokens %d and %d are both '%.*s' (hint: a damaged vocabulary)", path, tokenizer_lookup(t, s, len), i,
                (int)len, s);
        size_t k = hash(s, len) & (t->map_cap - 1);
        while (t->map[k]) k = (k + 1) & (t->map_cap - 1);
        t->map[k] = (uint32_t)i + 1;
        if ((int)len > t->max_len) t->max_len = (int)len;
    }
    for (int b = 0; b < 256; b++) t->byte_ids[b] = -1;
    if (t->hf && t->hf->byte_level) {
        for (int b = 0; b < 256; b++) t->byte_ids[b] = tokenizer_lookup(t, (const char[]){(char)b}, 1);
        return;
    }
    for (int i = 0; i < t->vocab; i++) {
        unsigned b;
        if (t->pieces[i] && byte_piece(t->pieces[i], &b) && t->byte_ids[b] < 0) t->byte_ids[b] = i;
    }
}

// word_start: s[k] (k >= 1) begins a word: sep (ls bytes) there, not right after another.
static int word_start(const char *s, size_t k, const char *sep, size_t ls) {
    return !memcmp(s + k, sep, ls) && !(k >= ls && !memcmp(s + k - ls, sep, ls));
}

void tokenizer_set_sep(Tokenizer *t, const char *sep) {
    const size_t ls = strlen(sep);
    t->sep[0] = 0;                                   // one character: a symbol of its own
    if (!ls || ls != utf8_len(sep) || tokenizer_lookup(t, sep, ls) < 0) return;
    for (int i = 0; i < t->vocab; i++)
        for (size_t k = 1; t->match[i] && k + ls <= t->match_len[i]; k++)
            if (word_start(t->match[i], k, sep, ls)) return;
    memcpy(t->sep, sep, ls + 1);
}

size_t tokenizer_word(const Tokenizer *t, const char *s, size_t n) {
    const size_t ls = strlen(t->sep);
    for (size_t i = 1; ls && i + ls <= n; i++)
        if (word_start(s, i, t->sep, ls)) return i;
    return n;
}

static uint64_t mix64(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
}

int tok_hf_merge(const TokHf *h, uint32_t a, uint32_t b, uint32_t *rank, uint32_t *id) {
    const uint64_t key = (uint64_t)(a + 1) << 32 | b;
    for (size_t i = mix64(key) & (h->merge_cap - 1);; i = (i + 1) & (h->merge_cap - 1)) {
        if (!h->merge_key[i]) return 0;
        if (h->merge_key[i] == key) {
            *rank = h->merge_rank[i];
            *id = h->merge_id[i];
            return 1;
        }
    }
}

void tok_hf_merge_add(TokHf *h, uint32_t a, uint32_t b, uint32_t rank, uint32_t id) {
    uint32_t old_rank, old_id;
    if (tok_hf_merge(h, a, b, &old_rank, &old_id)) return;       // a pair listed twice: its first rank
    const uint64_t key = (uint64_t)(a + 1) << 32 | b;
    size_t i = mix64(key) & (h->merge_cap - 1);
    while (h->merge_key[i]) i = (i + 1) & (h->merge_cap - 1);
    h->merge_key[i] = key;
    h->merge_rank[i] = rank;
    h->merge_id[i] = id;
}

// Merge: a candidate merge of the live symbols at `left` and its right neighbour, whose
// ids were a and b when it was queued; better: higher score, then the leftmost.
typedef struct {
    float score;
    uint32_t left, a, b, id;
} Merge;

static int better(const Merge *x, const Merge *y) {
    return x->score > y->score || (x->score == y->score && x->left < y->left);
}

// candidate: the merge of ids a and b (sentencepiece: the piece of both, by its score;
// tokenizer.json: its merge, by rank); 0 when there is none.
static int candidate(const Tokenizer *t, uint32_t a, uint32_t b, Merge *m) {
    if (t->hf) {
        uint32_t rank, id;
        if (!tok_hf_merge(t->hf, a, b, &rank, &id)) return 0;
        m->score = -(float)rank;                     // ranks < 2^24: exact in a float
        m->id = id;
        return 1;
    }
    const size_t la = t->match_len[a], lb = t->match_len[b];
    char small[256];
    if (la + lb > (size_t)t->max_len) return 0;
    char *buf = la + lb <= sizeof small ? small : xmalloc(la + lb);
    memcpy(buf, t->match[a], la);
    memcpy(buf + la, t->match[b], lb);
    const int id = tokenizer_lookup(t, buf, la + lb);
    if (buf != small) free(buf);
    if (id < 0) return 0;
    m->score = t->scores[id];
    m->id = (uint32_t)id;
    return 1;
}

static void heap_push(Merge *h, size_t *n, Merge m) {
    size_t i = (*n)++;
    for (; i && better(&m, &h[(i - 1) / 2]); i = (i - 1) / 2) h[i] = h[(i - 1) / 2];
    h[i] = m;
}

static Merge heap_pop(Merge *h, size_t *n) {
    const Merge top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && better(&h[c + 1], &h[c])) c++;
        if (!better(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = last;
    return top;
}

static void queue(const Tokenizer *t, const uint32_t *ids, uint32_t left, uint32_t right, Merge *h, size_t *n) {
    Merge m = {.left = left, .a = ids[left], .b = ids[right]};
    if (candidate(t, m.a, m.b, &m)) heap_push(h, n, m);
}

// tokenizer_bpe: symbols in a linked list (next/prev, UINT32_MAX: none); a queued merge
// is stale when either symbol has changed since (a symbol's id only grows longer, so an
// id seen again is the same symbol) or the right one is gone.
size_t tokenizer_bpe(const Tokenizer *t, uint32_t *ids, size_t n) {
    if (n < 2) return n;
    uint32_t small_links[2 * 64];                  // a word of up to 64 symbols: no allocation
    Merge small_heap[2 * 64];
    uint32_t *next = n <= 64 ? small_links : xmalloc(2 * n * sizeof *next), *prev = next + n;
    Merge *h = n <= 64 ? small_heap : xmalloc(2 * n * sizeof *h);   // n - 1 queued, then at most one more per merge
    size_t nh = 0;
    for (size_t i = 0; i < n; i++) {
        next[i] = i + 1 < n ? (uint32_t)i + 1 : UINT32_MAX;
        prev[i] = i ? (uint32_t)i - 1 : UINT32_MAX;
    }
    for (size_t i = 0; i + 1 < n; i++) queue(t, ids, (uint32_t)i, (uint32_t)i + 1, h, &nh);
    while (nh) {
        const Merge m = heap_pop(h, &nh);
        const uint32_t r = next[m.left];
        if (ids[m.left] != m.a || r == UINT32_MAX || ids[r] != m.b) continue;
        ids[m.left] = m.id;
        ids[r] = UINT32_MAX;
        next[m.left] = next[r];
        if (next[r] != UINT32_MAX) prev[next[r]] = m.left;
        if (prev[m.left] != UINT32_MAX) queue(t, ids, prev[m.left], m.left, h, &nh);
        if (next[m.left] != UINT32_MAX) queue(t, ids, m.left, next[m.left], h, &nh);
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] != UINT32_MAX) ids[k++] = ids[i];
    if (next != small_links) free(next), free(h);
    return k;
}


// ---- the word cache ---------------------------------------------------------------------
// Open addressing over WC_SLOTS slots (linear probing), keys and ids in two arenas; at
// WC_SLOTS / 2 entries everything is dropped at once (no eviction bookkeeping: the words
// that repeat come back within the next few documents).
#define WC_SLOTS ((size_t)1 << 16)
#define WC_ENTRIES (WC_SLOTS / 2)
#define WC_BYTES (WC_ENTRIES * WORD_CACHE_MAX_BYTES)

struct WordCache {
    uint64_t *hash;          // (WC_SLOTS) the key's hash | 1; 0: empty
    uint32_t *key_at, *len, *ids_at, *n_ids;   // (WC_SLOTS)
    char *keys;              // (WC_BYTES)
    uint32_t *ids;           // (WC_BYTES) a word has at most one id per byte
    size_t n, keys_n, ids_n;
};

WordCache *word_cache_new(void) {
    WordCache *c = xcalloc(1, sizeof *c);
    c->hash = xcalloc(WC_SLOTS, sizeof *c->hash);
    c->key_at = xmalloc(WC_SLOTS * sizeof *c->key_at);
    c->len = xmalloc(WC_SLOTS * sizeof *c->len);
    c->ids_at = xmalloc(WC_SLOTS * sizeof *c->ids_at);
    c->n_ids = xmalloc(WC_SLOTS * sizeof *c->n_ids);
    c->keys = xmalloc(WC_BYTES);
    c->ids = xmalloc(WC_BYTES * sizeof *c->ids);
    return c;
}

void word_cache_free(WordCache *c) {
    if (!c) return;
    free(c->hash), free(c->key_at), free(c->len), free(c->ids_at), free(c->n_ids), free(c->keys), free(c->ids);
    free(c);
}

// slot: where s[0, n) is, or the empty slot where it would go.
static size_t slot(const WordCache *c, const char *s, size_t n, uint64_t h) {
    size_t i = h & (WC_SLOTS - 1);
    while (c->hash[i] && !(c->hash[i] == h && c->len[i] == n && !memcmp(c->keys + c->key_at[i], s, n)))
        i = (i + 1) & (WC_SLOTS - 1);
    return i;
}

const uint32_t *word_cache_get(const WordCache *c, const char *s, size_t n, size_t *k) {
    if (!c || n > WORD_CACHE_MAX_BYTES) return NULL;
    const size_t i = slot(c, s, n, hash(s, n) | 1);
    if (!c->hash[i]) return NULL;
    *k = c->n_ids[i];
    return c->ids + c->ids_at[i];
}

void word_cache_put(WordCache *c, const char *s, size_t n, const uint32_t *ids, size_t k) {
    if (!c || n > WORD_CACHE_MAX_BYTES || k > n) return;
    if (c->n == WC_ENTRIES) {
        memset(c->hash, 0, WC_SLOTS * sizeof *c->hash);
        c->n = c->keys_n = c->ids_n = 0;
    }
    const uint64_t h = hash(s, n) | 1;
    const size_t i = slot(c, s, n, h);
    if (c->hash[i]) return;
    c->hash[i] = h;
    c->len[i] = (uint32_t)n;
    c->key_at[i] = (uint32_t)c->keys_n;
    c->ids_at[i] = (uint32_t)c->ids_n;
    c->n_ids[i] = (uint32_t)k;
    memcpy(c->keys + c->keys_n, s, n);
    memcpy(c->ids + c->ids_n, ids, k * sizeof *ids);
    c->keys_n += n;
    c->ids_n += k;
    c->n++;
}
