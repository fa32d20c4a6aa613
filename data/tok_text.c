// tok_text.c — encoding with a tokenizer.json pipeline (tok_hf.h), step for step as
// Hugging Face's `tokenizers` does it: WHATWG replacement of invalid UTF-8, added tokens
// split out (leftmost, then longest), the normalizer, the pre-tokenizer's parts, the BPE
// model on each word (tokenizers/src/models/bpe/model.rs: ignore_merges, byte_fallback,
// fuse_unk), the template. Parts are byte ranges of one text buffer per stage.
#include "tok_hf.h"

#include <utf8proc.h>

#include <stdlib.h>
#include <string.h>

typedef struct {
    char *p;
    size_t n, cap;
} Buf;

static void put(Buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) b->p = xrealloc(b->p, b->cap = (b->n + n + 1) * 2);
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

typedef struct {
    uint32_t *p;
    size_t n, cap;
} Ids;

static void push(Ids *v, uint32_t id) {
    if (v->n == v->cap) v->p = xrealloc(v->p, (v->cap = v->cap * 2 + 64) * sizeof *v->p);
    v->p[v->n++] = id;
}

// Part: bytes [off, off + n) of a stage's buffer; first: it starts the text (offset 0 of
// the original, which Metaspace's prepend_scheme "first" asks for).
typedef struct {
    size_t off, n;
    int first;
} Part;

typedef struct {
    Part *p;
    size_t n, cap;
} Parts;

static void add_part(Parts *v, size_t off, size_t n, int first) {
    if (!n) return;
    if (v->n == v->cap) v->p = xrealloc(v->p, (v->cap = v->cap * 2 + 16) * sizeof *v->p);
    v->p[v->n++] = (Part){off, n, first};
}

// sanitize: s as valid UTF-8, each maximal invalid subpart replaced by U+FFFD and a
// leading byte order mark dropped (the WHATWG Encoding Standard's UTF-8 decode, what
// TextDecoder does; Rust's from_utf8_lossy replaces alike).
static void sanitize(const unsigned char *s, size_t len, Buf *out) {
    for (size_t i = len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3) ? 3 : 0; i < len;) {
        const unsigned b = s[i];
        int need = 0;
        unsigned lo = 0x80, hi = 0xBF;
        if (b < 0x80) { put(out, (const char *)s + i++, 1); continue; }
        if (b >= 0xC2 && b <= 0xDF) need = 1;
        else if (b >= 0xE0 && b <= 0xEF) need = 2, lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
        else if (b >= 0xF0 && b <= 0xF4) need = 3, lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
        size_t j = i + 1;
        int k = 0;
        for (; need && k < need && j < len && s[j] >= lo && s[j] <= hi; k++, j++) lo = 0x80, hi = 0xBF;
        if (need && k == need) put(out, (const char *)s + i, j - i);
        else put(out, "\xEF\xBF\xBD", 3);
        i = j;
    }
}

// white: the bytes of the Unicode White_Space character at s[0, n), or 0 (Rust's
// char::is_whitespace, which lstrip/rstrip use).
static size_t white(const char *s, size_t n) {
    static const char *const wide[] = {"\xc2\x85", "\xc2\xa0", "\xe1\x9a\x80", "\xe2\x80\xa8", "\xe2\x80\xa9", "\xe2\x80\xaf",
                                       "\xe2\x81\x9f", "\xe3\x80\x80"};
    if (!n) return 0;
    if (*s == ' ' || (*s >= '\t' && *s <= '\r')) return 1;
    if (n >= 3 && !memcmp(s, "\xe2\x80", 2) && (unsigned char)s[2] >= 0x80 && (unsigned char)s[2] <= 0x8a) return 3;
    for (size_t i = 0; i < sizeof wide / sizeof *wide; i++) {
        const size_t k = strlen(wide[i]);
        if (n >= k && !memcmp(s, wide[i], k)) return k;
    }
    return 0;
}

// Cut: where the added tokens of one kind cut a text, as the tokenizers library finds
// them (added_vocabulary.rs find_matches): the next search starts at the last match's end,
// the next piece of text after its rstrip whitespace (so a token may follow inside it).
typedef struct {
    size_t search, from;
} Cut;

// find_added: the leftmost, then longest added token (normalized: 0 or 1) in s[from, n);
// its index (*at: where it starts), or -1.
static int find_added(const TokHf *h, const char *s, size_t from, size_t n, int normalized, size_t *at) {
    for (size_t i = from; i < n; i++) {
        if (!h->first[normalized][(unsigned char)s[i]]) continue;
        for (int k = 0; k < h->n_added; k++) {
            const AddedToken *t = &h->added[k];
            if (t->normalized == normalized && t->len <= n - i && !memcmp(s + i, t->content, t->len)) {
                *at = i;
                return k;
            }
        }
    }
    return -1;
}

// next_cut: the next added token (normalized: 0 or 1) in s[0, n) after c, its lstrip
// whitespace (back to the last piece's end at most) and rstrip whitespace taken in; one
// that lstrip leaves empty is dropped, as the library does. [*g0, *g1) is the text before
// it (may be empty). Returns the token's index, or -1 when none is left ([*g0, *g1): the rest).
static int next_cut(const TokHf *h, const char *s, size_t n, int normalized, Cut *c, size_t *g0, size_t *g1) {
    size_t i;
    for (int k; (k = find_added(h, s, c->search, n, normalized, &i)) >= 0;) {
        const AddedToken *t = &h->added[k];
        size_t a = i, b = i + t->len;
        while (t->lstrip && a > c->from) {
            size_t back = 1;
            while (back < a - c->from && back < 4 && (s[a - back] & 0xC0) == 0x80) back++;
            if (white(s + a - back, back) != back) break;
            a -= back;
        }
        if (t->lstrip && a < c->from) a = c->from;
        for (size_t w; t->rstrip && (w = white(s + b, n - b));) b += w;
        c->search = i + t->len;
        if (a >= b) continue;
        *g0 = c->from;
        *g1 = a > c->from ? a : c->from;
        c->from = b;
        return k;
    }
    *g0 = c->from;
    *g1 = n > c->from ? n : c->from;
    c->from = c->search = n;
    return -1;
}

// normalize: s[0, n) through the normalizer's steps into out.
static void normalize(const TokHf *h, const char *s, size_t n, Buf *out) {
    Buf cur = {0}, next = {0};
    put(&cur, s, n);
    for (int k = 0; k < h->n_norm; k++) {
        const NormStep *st = &h->norm[k];
        next.n = 0;
        if (st->kind == NORM_PREPEND) {
            if (cur.n) put(&next, st->a, st->la);
            put(&next, cur.p, cur.n);
        } else if (st->kind == NORM_NFC) {
            utf8proc_uint8_t *nfc = NULL;
            const utf8proc_ssize_t k = cur.n ? utf8proc_map((const utf8proc_uint8_t *)cur.p, (utf8proc_ssize_t)cur.n, &nfc,
                                                            UTF8PROC_STABLE | UTF8PROC_COMPOSE) : 0;
            CHECK(k >= 0, "tokenizer: NFC of a text failed: %s", utf8proc_errmsg(k));
            put(&next, (const char *)nfc, (size_t)k);
            free(nfc);
        } else {
            for (size_t i = 0; i < cur.n;) {
                if (i + st->la <= cur.n && !memcmp(cur.p + i, st->a, st->la)) put(&next, st->b, st->lb), i += st->la;
                else put(&next, cur.p + i, 1), i++;
            }
        }
        Buf swap = cur;
        cur = next;
        next = swap;
    }
    put(out, cur.p, cur.n);
    free(cur.p);
    free(next.p);
}

// Matcher: one encoding's PCRE2 state: match data and, made when a match first runs out of
// the default 32 KB JIT stack (long runs some patterns backtrack over), a context with a
// JIT stack that grows to 64 MB.
typedef struct {
    pcre2_match_data *md;
    pcre2_match_context *mc;
    pcre2_jit_stack *js;
} Matcher;

static int match(const pcre2_code *re, const char *s, size_t n, size_t at, Matcher *mt) {
    int rc = pcre2_match(re, (PCRE2_SPTR)s, n, at, PCRE2_NO_UTF_CHECK, mt->md, mt->mc);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !mt->js) {
        mt->mc = pcre2_match_context_create(NULL);
        mt->js = pcre2_jit_stack_create(32 << 10, 64 << 20, NULL);
        CHECK(mt->mc && mt->js, "tokenizer: out of memory for PCRE2's JIT stack");
        pcre2_jit_stack_assign(mt->mc, NULL, mt->js);
        rc = pcre2_match(re, (PCRE2_SPTR)s, n, at, PCRE2_NO_UTF_CHECK, mt->md, mt->mc);
    }
    return rc;
}

// regex_split: part p of buf cut at the matches of re (matches and the text between them,
// behavior Isolated) into out.
static void regex_split(const pcre2_code *re, Matcher *mt, const char *buf, Part p, Parts *out) {
    size_t at = 0, last = 0;
    while (at < p.n) {
        const int rc = match(re, buf + p.off, p.n, at, mt);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            die("tokenizer: the pre-tokenizer's regex failed: %s", (const char *)msg);
        }
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(mt->md);
        if (ov[1] == ov[0]) {                      // an empty match: step one character on
            at = ov[0] + utf8_len(buf + p.off + ov[0]);
            continue;
        }
        add_part(out, p.off + last, ov[0] - last, p.first && last == 0);
        add_part(out, p.off + ov[0], ov[1] - ov[0], p.first && ov[0] == 0);
        at = last = ov[1];
    }
    add_part(out, p.off + last, p.n - last, p.first && last == 0);
}

// metaspace: part p with ' ' -> rep and rep prepended (by the scheme) into nb, then cut
// before every rep but a leading one when split (MergedWithNext).
static void metaspace(const PreStep *st, const char *buf, Part p, Buf *nb, Parts *out) {
    const size_t lr = strlen(st->rep), start = nb->n;
    const int pre = st->prepend == PREPEND_ALWAYS || (st->prepend == PREPEND_FIRST && p.first);
    if (pre && buf[p.off] != ' ' && !(p.n >= lr && !memcmp(buf + p.off, st->rep, lr))) put(nb, st->rep, lr);
    for (size_t i = 0; i < p.n; i++) {
        if (buf[p.off + i] == ' ') put(nb, st->rep, lr);
        else put(nb, buf + p.off + i, 1);
    }
    size_t from = start;
    for (size_t i = start + 1; st->split && i + lr <= nb->n; i++)
        if (!memcmp(nb->p + i, st->rep, lr)) {
            add_part(out, from, i - from, p.first && from == start);
            from = i;
        }
    add_part(out, from, nb->n - from, p.first && from == start);
}

char *tok_hf_normalize(const TokHf *h, const char *s, size_t *len) {
    Buf out = {0};
    normalize(h, s, strlen(s), &out);
    *len = out.n;
    return out.p ? out.p : xstrdup("");
}

// pre_tokenize: the words of s[0, n) (a normalized piece; first: it starts the text),
// into *words over *buf (which it replaces: the last stage's text).
static void pre_tokenize(const TokHf *h, Matcher *mt, Buf *buf, int first, Parts *words) {
    Parts cur = {0}, next = {0};
    add_part(&cur, 0, buf->n, first);
    for (int k = 0; k < h->n_pre; k++) {
        const PreStep *st = &h->pre[k];
        Buf nb = {0};
        next.n = 0;
        for (size_t i = 0; i < cur.n; i++) {
            Part p = cur.p[i];
            if (st->kind == PRE_METASPACE) { metaspace(st, buf->p, p, &nb, &next); continue; }
            if (st->kind == PRE_BYTELEVEL && st->prefix_space && buf->p[p.off] != ' ') {
                const size_t at = nb.n;
                put(&nb, " ", 1);
                put(&nb, buf->p + p.off, p.n);
                p = (Part){at, p.n + 1, p.first};
            } else {
                const size_t at = nb.n;
                put(&nb, buf->p + p.off, p.n);
                p.off = at;
            }
            if (st->re) regex_split(st->re, mt, nb.p, p, &next);
            else add_part(&next, p.off, p.n, p.first);
        }
        free(buf->p);
        *buf = nb;
        Parts swap = cur;
        cur = next;
        next = swap;
    }
    free(next.p);
    *words = cur;
}

// symbols: the initial symbols of s[0, n) into sym: its bytes (ByteLevel) or characters,
// a character not in the vocabulary as its byte tokens (byte_fallback) or as unk (runs of
// unknowns fused into one with fuse_unk), or dropped without unk.
static void symbols(const Tokenizer *t, const char *s, size_t n, Ids *sym) {
    const TokHf *h = t->hf;
    int id, was_unk = 0;
    for (size_t i = 0, k; i < n; i += k) {
        k = h->byte_level ? 1 : utf8_len(s + i);
        if (h->byte_level ? (id = t->byte_ids[(unsigned char)s[i]]) >= 0 : (id = tokenizer_lookup(t, s + i, k)) >= 0) {
            push(sym, (uint32_t)id), was_unk = 0;
            continue;
        }
        size_t b = 0;
        while (h->byte_fallback && b < k && t->byte_ids[(unsigned char)s[i + b]] >= 0) b++;
        if (h->byte_fallback && b == k) {
            for (b = 0; b < k; b++) push(sym, (uint32_t)t->byte_ids[(unsigned char)s[i + b]]);
            was_unk = 0;
        } else if (h->unk >= 0 && !(h->fuse_unk && was_unk)) {
            push(sym, (uint32_t)h->unk), was_unk = 1;
        }
    }
}

// word: the ids of one word by the BPE model, appended to out: each piece of it (cut at
// t->sep: see tokenizer_word) from the cache, or merged and then cached.
static void word(const Tokenizer *t, WordCache *cache, const char *s, size_t n, Ids *out, Ids *sym) {
    int id;
    if (t->hf->ignore_merges && (id = tokenizer_lookup(t, s, n)) >= 0) { push(out, (uint32_t)id); return; }
    for (size_t at = 0, w, k; at < n; at += w) {
        w = tokenizer_word(t, s + at, n - at);
        const uint32_t *hit = word_cache_get(cache, s + at, w, &k);
        if (hit) {
            for (size_t i = 0; i < k; i++) push(out, hit[i]);
            continue;
        }
        sym->n = 0;
        symbols(t, s + at, w, sym);
        const size_t m = tokenizer_bpe(t, sym->p, sym->n);
        for (size_t i = 0; i < m; i++) push(out, sym->p[i]);
        word_cache_put(cache, s + at, w, sym->p, m);
    }
}

// plain: the ids of a part that holds no raw-text added token: normalized, normalized
// added tokens split out, pre-tokenized, each word encoded.
static void plain(const Tokenizer *t, WordCache *cache, const char *s, size_t n, int first, Matcher *mt, Ids *out,
                  Ids *sym) {
    const TokHf *h = t->hf;
    Buf norm = {0};
    normalize(h, s, n, &norm);
    Cut c = {0, 0};
    for (;;) {
        size_t g0, g1;
        const int k = next_cut(h, norm.p, norm.n, 1, &c, &g0, &g1);
        if (g1 > g0) {
            Buf piece = {0};
            Parts words;
            put(&piece, norm.p + g0, g1 - g0);
            pre_tokenize(h, mt, &piece, first && g0 == 0, &words);
            for (size_t i = 0; i < words.n; i++) word(t, cache, piece.p + words.p[i].off, words.p[i].n, out, sym);
            free(words.p);
            free(piece.p);
        }
        if (k < 0) break;
        push(out, (uint32_t)h->added[k].id);
    }
    free(norm.p);
}

uint32_t *tok_hf_encode(const Tokenizer *t, WordCache *cache, const char *text, int special, size_t *n) {
    const TokHf *h = t->hf;
    Buf s = {0};
    Ids out = {0}, sym = {0};
    sanitize((const unsigned char *)text, strlen(text), &s);
    Matcher mt = {pcre2_match_data_create(4, NULL), NULL, NULL};
    CHECK(mt.md, "tokenizer: out of memory for PCRE2's match data");
    for (int i = 0; special && i < h->n_prefix; i++) push(&out, (uint32_t)h->prefix[i]);
    Cut c = {0, 0};
    for (;;) {
        size_t g0, g1;
        const int k = next_cut(h, s.p, s.n, 0, &c, &g0, &g1);
        if (g1 > g0) plain(t, cache, s.p + g0, g1 - g0, g0 == 0, &mt, &out, &sym);
        if (k < 0) break;
        push(&out, (uint32_t)h->added[k].id);
    }
    for (int i = 0; special && i < h->n_suffix; i++) push(&out, (uint32_t)h->suffix[i]);
    if (mt.js) pcre2_jit_stack_free(mt.js), pcre2_match_context_free(mt.mc);
    pcre2_match_data_free(mt.md);
    free(s.p);
    free(sym.p);
    *n = out.n;
    return out.p ? out.p : xmalloc(sizeof(uint32_t));
}

void tok_hf_free(TokHf *h) {
    for (int i = 0; i < h->n_norm; i++) free(h->norm[i].a), free(h->norm[i].b);
    for (int i = 0; i < h->n_pre; i++) pcre2_code_free(h->pre[i].re);
    for (int i = 0; i < h->n_added; i++) free(h->added[i].content);
    free(h->norm);
    free(h->pre);
    free(h->added);
    free(h->prefix);
    free(h->suffix);
    free(h->merge_key);
    free(h->merge_rank);
    free(h->merge_id);
    free(h);
}
