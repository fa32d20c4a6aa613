// tokenizer.c — the sentencepiece BPE tokenizer of llama2.c's tokenizer.bin (exported by
// llama2.c's tokenizer.py) and of GGUF's tokenizer.ggml.* keys, read and written the way
// llama.cpp's SPM vocabulary (llama-vocab.cpp) and its convert-llama2c-to-ggml converter
// see it: encode by greedy best-score merges with byte fallback, decode pieces.
#include "data.h"

#include <stdlib.h>
#include <string.h>

static const Tokenizer *sort_ctx;
static int cmp_piece(const void *a, const void *b) {
    return strcmp(sort_ctx->pieces[*(const int *)a], sort_ctx->pieces[*(const int *)b]);
}

void tokenizer_load(Tokenizer *t, const char *path) {
    if (gguf_is_file(path)) {
        tokenizer_load_gguf(t, path);
        return;
    }
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
    tokenizer_index(t);
}

void tokenizer_index(Tokenizer *t) {
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
    free(t->types);
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

// ---- GGUF's tokenizer.ggml.* keys ---------------------------------------------------------
enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_BYTE = 6 };
#define SPACE_MARK "\xe2\x96\x81"          // U+2581, sentencepiece's space

static int is_byte_piece(const char *p) {
    unsigned b;
    char end;
    return strlen(p) == 6 && sscanf(p, "<0x%2X%c", &b, &end) == 2 && end == '>';
}

// wrapped: a llama2.c control piece "\n<s>\n" (1 + the bare piece + 1 bytes).
static int wrapped(const char *p) { size_t n = strlen(p); return n >= 2 && p[0] == '\n' && p[n - 1] == '\n'; }

static int32_t derived_type(const Tokenizer *t, int id) {
    const char *p = t->pieces[id];
    if (id == 0) return TT_UNKNOWN;
    if (!*p || wrapped(p)) return TT_CONTROL;
    return is_byte_piece(p) ? TT_BYTE : TT_NORMAL;
}

// replace: s with every `from` replaced by `to`, in a new string.
static char *replace(const char *s, const char *from, const char *to) {
    const size_t lf = strlen(from), lt = strlen(to);
    size_t n = 0;
    for (const char *c = s; (c = strstr(c, from)); c += lf) n++;
    char *out = xmalloc(strlen(s) + n * lt + 1), *o = out;
    for (const char *c = s, *hit; ; c = hit + lf) {
        hit = strstr(c, from);
        const size_t k = hit ? (size_t)(hit - c) : strlen(c);
        memcpy(o, c, k);
        o += k;
        if (!hit) break;
        memcpy(o, to, lt);
        o += lt;
    }
    *o = 0;
    return out;
}

void tokenizer_put_gguf(const Tokenizer *t, GgufWriter *w) {
    char **pieces = xmalloc((size_t)t->vocab * sizeof *pieces);
    int32_t *types = xmalloc((size_t)t->vocab * sizeof *types);
    for (int i = 0; i < t->vocab; i++) {
        types[i] = t->types ? t->types[i] : derived_type(t, i);
        const char *p = t->pieces[i];
        if (types[i] == TT_CONTROL && wrapped(p)) {
            pieces[i] = xstrdup(p + 1);
            pieces[i][strlen(pieces[i]) - 1] = 0;
        } else {
            pieces[i] = replace(p, " ", SPACE_MARK);
        }
    }
    gguf_put_str(w, "tokenizer.ggml.model", "llama");
    gguf_put_strs(w, "tokenizer.ggml.tokens", (const char *const *)pieces, (size_t)t->vocab);
    gguf_put_f32s(w, "tokenizer.ggml.scores", t->scores, (size_t)t->vocab);
    gguf_put_i32s(w, "tokenizer.ggml.token_type", types, (size_t)t->vocab);
    gguf_put_u32(w, "tokenizer.ggml.bos_token_id", 1);
    gguf_put_u32(w, "tokenizer.ggml.eos_token_id", 2);
    gguf_put_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    gguf_put_bool(w, "tokenizer.ggml.add_bos_token", 1);
    gguf_put_bool(w, "tokenizer.ggml.add_space_prefix", 1);
    for (int i = 0; i < t->vocab; i++) free(pieces[i]);
    free(pieces);
    free(types);
}

int tokenizer_in_gguf(const char *path) {
    if (!gguf_is_file(path)) return 0;
    Gguf g;
    gguf_open(&g, path);
    const char *model = gguf_str(&g, "tokenizer.ggml.model", 0);
    const int yes = model && strcmp(model, "no_vocab");
    gguf_close(&g);
    return yes;
}

void tokenizer_load_gguf(Tokenizer *t, const char *path) {
    memset(t, 0, sizeof *t);
    Gguf g;
    gguf_open(&g, path);
    const char *model = gguf_str(&g, "tokenizer.ggml.model", 0);
    if (!model) die("%s: holds no tokenizer (no tokenizer.ggml.model; hint: data.tokenizer names another file)", path);
    if (strcmp(model, "llama"))
        die("%s: tokenizer.ggml.model '%s' is not supported (only llama: sentencepiece BPE with byte fallback)", path, model);
    const GgufKv *kv = gguf_find(&g, "tokenizer.ggml.tokens");
    if (!kv || kv->type != GGUF_ARRAY || kv->elem != GGUF_STRING || kv->count < 259 || kv->count > (1u << 22))
        die("%s: tokenizer.ggml.tokens must be an array of 259 to 2^22 strings (3 specials, 256 bytes, ...)", path);
    t->vocab = (int)kv->count;
    const char *const *src = gguf_array(&g, "tokenizer.ggml.tokens", GGUF_STRING, kv->count);
    t->scores = gguf_array(&g, "tokenizer.ggml.scores", GGUF_F32, kv->count);
    t->types = gguf_array(&g, "tokenizer.ggml.token_type", GGUF_I32, kv->count);
    if (!t->scores || !t->types) die("%s: tokenizer.ggml.scores and tokenizer.ggml.token_type are needed", path);
    const uint32_t ids[3] = {gguf_u32(&g, "tokenizer.ggml.unknown_token_id", 0, 0),
                             gguf_u32(&g, "tokenizer.ggml.bos_token_id", 0, 1), gguf_u32(&g, "tokenizer.ggml.eos_token_id", 0, 2)};
    if (ids[0] != 0 || ids[1] != 1 || ids[2] != 2)
        die("%s: tokenizer.ggml unknown/bos/eos ids are %u/%u/%u; stretch's documents need 0/1/2", path, ids[0], ids[1], ids[2]);
    t->pieces = xmalloc((size_t)t->vocab * sizeof *t->pieces);
    for (int i = 0; i < t->vocab; i++) {
        char want[8];
        snprintf(want, sizeof want, "<0x%02X>", (unsigned)(i - 3) & 0xff);
        if ((i >= 3 && i < 259) != (t->types[i] == TT_BYTE) || (i >= 3 && i < 259 && strcmp(src[i], want)))
            die("%s: token %d ('%s', type %d): the byte tokens <0x00>..<0xFF> must be ids 3..258, as stretch's byte "
                "fallback takes them", path, i, src[i], t->types[i]);
        if (t->types[i] == TT_CONTROL) {
            t->pieces[i] = xmalloc(strlen(src[i]) + 3);
            sprintf(t->pieces[i], "\n%s\n", src[i]);
        } else {
            t->pieces[i] = replace(src[i], SPACE_MARK, " ");
        }
        const int len = (int)strlen(t->pieces[i]);
        t->max_len = len > t->max_len ? len : t->max_len;
    }
    gguf_close(&g);
    tokenizer_index(t);
}
