// tokenizer.c — the llama2.c tokenizer (sentencepiece BPE exported by llama2.c's
// tokenizer.py): encode by greedy best-score merges with byte fallback, decode pieces.
#include "data.h"

#include <stdlib.h>
#include <string.h>

static const Tokenizer *sort_ctx;
static int cmp_piece(const void *a, const void *b) {
    return strcmp(sort_ctx->pieces[*(const int *)a], sort_ctx->pieces[*(const int *)b]);
}

void tokenizer_load(Tokenizer *t, const char *path) {
    memset(t, 0, sizeof *t);
    FILE *f = xfopen(path, "rb");
    size_t size = file_size(f, path), pos = 4, cap = 1024;
    if (size < 4) die("%s: truncated: no max_token_length header", path);
    xfread(&t->max_len, 4, f, path, "max_token_length");
    if (t->max_len <= 0 || t->max_len > 65536) die("%s: max_token_length %d is impossible (not a llama2.c tokenizer?)", path, t->max_len);
    t->pieces = xmalloc(cap * sizeof(char *));
    t->scores = xmalloc(cap * sizeof(float));
    while (pos < size) {
        int32_t len;
        if ((size_t)t->vocab == cap) {
            cap *= 2;
            t->pieces = xrealloc(t->pieces, cap * sizeof(char *));
            t->scores = xrealloc(t->scores, cap * sizeof(float));
        }
        xfread(&t->scores[t->vocab], 4, f, path, "a token score");
        xfread(&len, 4, f, path, "a token length");
        if (len < 0 || len > t->max_len) die("%s: token %d has length %d (max_token_length %d)", path, t->vocab, len, t->max_len);
        t->pieces[t->vocab] = xmalloc((size_t)len + 1);
        xfread(t->pieces[t->vocab], (size_t)len, f, path, "a token's bytes");
        t->pieces[t->vocab][len] = '\0';
        pos += 8 + (size_t)len;
        if (++t->vocab > (1 << 22)) die("%s: more than 2^22 tokens: not a llama2.c tokenizer", path);
    }
    fclose(f);
    if (t->vocab < 259) die("%s: %d tokens; a llama2.c tokenizer has at least 3 specials + 256 bytes", path, t->vocab);
    t->sorted = xmalloc((size_t)t->vocab * sizeof(int));
    for (int i = 0; i < t->vocab; i++) t->sorted[i] = i;
    sort_ctx = t;
    qsort(t->sorted, (size_t)t->vocab, sizeof(int), cmp_piece);
}

void tokenizer_free(Tokenizer *t) {
    for (int i = 0; i < t->vocab; i++) free(t->pieces[i]);
    free(t->pieces);
    free(t->scores);
    free(t->sorted);
    memset(t, 0, sizeof *t);
}

static int lookup(const Tokenizer *t, const char *s) {
    int lo = 0, hi = t->vocab - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(s, t->pieces[t->sorted[mid]]);
        if (!c) return t->sorted[mid];
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return -1;
}

// push_piece: the id of `s`, or its bytes as <0xXX> fallback tokens (id = byte + 3).
static size_t push_piece(const Tokenizer *t, const char *s, size_t len, uint32_t *out, size_t n) {
    int id = lookup(t, s);
    if (id >= 0) out[n++] = (uint32_t)id;
    else for (size_t i = 0; i < len; i++) out[n++] = (uint32_t)(unsigned char)s[i] + 3;
    return n;
}

size_t tokenizer_encode(const Tokenizer *t, const char *text, int bos, uint32_t *out) {
    char small[512];                               // the usual vocabularies: no allocation per call
    const size_t need = (size_t)t->max_len * 2 + 8;
    char *buf = need <= sizeof small ? small : xmalloc(need);
    size_t n = 0, len = 0;
    if (bos) out[n++] = 1;
    if (text[0]) n = push_piece(t, " ", 1, out, n);
    for (const char *c = text; *c; c++) {          // one UTF-8 codepoint (<= 4 bytes) at a time
        if ((*c & 0xC0) != 0x80) len = 0;
        buf[len++] = *c;
        buf[len] = '\0';
        if ((c[1] & 0xC0) == 0x80 && len < 4) continue;
        n = push_piece(t, buf, len, out, n);
        len = 0;
    }
    for (;;) {                                     // merge the best-scoring adjacent pair
        float best = -1e30f;
        long best_i = -1;
        int best_id = -1;
        for (size_t i = 0; i + 1 < n; i++) {
            const char *a = t->pieces[out[i]], *b = t->pieces[out[i + 1]];
            size_t la = strlen(a), lb = strlen(b);
            if (la + lb > (size_t)t->max_len) continue;
            memcpy(buf, a, la);
            memcpy(buf + la, b, lb + 1);
            int id = lookup(t, buf);
            if (id >= 0 && t->scores[id] > best) {
                best = t->scores[id];
                best_i = (long)i;
                best_id = id;
            }
        }
        if (best_i < 0) break;
        out[best_i] = (uint32_t)best_id;
        memmove(out + best_i + 1, out + best_i + 2, (n - (size_t)best_i - 2) * sizeof(uint32_t));
        n--;
    }
    if (buf != small) free(buf);
    return n;
}

const char *tokenizer_decode_piece(const Tokenizer *t, int prev, int id, char buf[2]) {
    const char *p = t->pieces[id];
    unsigned int byte;
    if (prev == 1 && p[0] == ' ') p++;
    if (strlen(p) == 6 && sscanf(p, "<0x%02X>", &byte) == 1) {
        buf[0] = (char)byte;
        buf[1] = '\0';
        return buf;
    }
    return p;
}
