// tokenizer.c — the tokenizer's front and its sentencepiece files: loading by kind
// (llama2.c's tokenizer.bin, exported by llama2.c's tokenizer.py; GGUF's tokenizer.ggml.*
// keys, model "llama", read and written as llama.cpp's SPM vocabulary and its
// convert-llama2c-to-ggml converter see them; tokenizer.json: tok_json.c), encoding (sentencepiece as llama2.c and llama.cpp's SPM vocabulary,
// llama-vocab.cpp, do it: dummy prefix space, UTF-8 codepoints with byte fallback,
// best-score merges; tokenizer.json: tok_text.c), decoding, freeing. The merge engine
// and the vocabulary hash: bpe.c.
#include "data.h"
#include "tok_hf.h"

#include <stdlib.h>
#include <string.h>

static void load_llama2c(Tokenizer *t, const char *path) {
    FILE *f = xfopen(path, "rb");
    size_t size = file_size(f, path), pos = 4, cap = 1024;
    int32_t max_len;
    if (size < 4) die("%s: truncated: no max_token_length header", path);
    xfread(&max_len, 4, f, path, "max_token_length");
    if (max_len <= 0 || max_len > 65536) die("%s: max_token_length %d is impossible (not a llama2.c tokenizer?)", path, max_len);
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
        if (len < 0 || len > max_len) die("%s: token %d has length %d (max_token_length %d)", path, t->vocab, len, max_len);
        t->pieces[t->vocab] = xmalloc((size_t)len + 1);
        xfread(t->pieces[t->vocab], (size_t)len, f, path, "a token's bytes");
        t->pieces[t->vocab][len] = '\0';
        pos += 8 + (size_t)len;
        if (++t->vocab > (1 << 22)) die("%s: more than 2^22 tokens: not a llama2.c tokenizer", path);
    }
    fclose(f);
    if (t->vocab < 259) die("%s: %d tokens; a llama2.c tokenizer has at least 3 specials + 256 bytes", path, t->vocab);
    t->bos = BOS_ID;
    tokenizer_index(t, path);
    tokenizer_set_sep(t, " ");
    for (int b = 0; b < 256; b++)
        if (t->byte_ids[b] < 0) die("%s: no byte token <0x%02X>; stretch's byte fallback needs all 256", path, b);
}

void tokenizer_load(Tokenizer *t, const char *path) {
    memset(t, 0, sizeof *t);
    if (gguf_is_file(path)) {
        tokenizer_load_gguf(t, path);
        return;
    }
    FILE *f = xfopen(path, "rb");
    unsigned char bom[3];
    int c;
    if (fread(bom, 1, 3, f) != 3 || memcmp(bom, "\xEF\xBB\xBF", 3)) rewind(f);   // a UTF-8 byte order mark
    while ((c = fgetc(f)) == ' ' || c == '\n' || c == '\r' || c == '\t') {}
    fclose(f);
    if (c == '{') tokenizer_load_json(t, path);
    else load_llama2c(t, path);
}

void tokenizer_free(Tokenizer *t) {
    if (t->match != t->pieces)
        for (int i = 0; i < t->vocab; i++) free(t->match[i]);
    for (int i = 0; i < t->vocab; i++) free(t->pieces[i]);
    if (t->match != t->pieces) free(t->match);
    free(t->pieces);
    free(t->match_len);
    free(t->scores);
    free(t->types);
    free(t->map);
    if (t->hf) tok_hf_free(t->hf);
    memset(t, 0, sizeof *t);
}

// push_piece: the id of s[0, len), or its bytes as byte-fallback tokens.
static size_t push_piece(const Tokenizer *t, const char *s, size_t len, uint32_t *out, size_t n) {
    int id = tokenizer_lookup(t, s, len);
    if (id >= 0) out[n++] = (uint32_t)id;
    else for (size_t i = 0; i < len; i++) out[n++] = (uint32_t)t->byte_ids[(unsigned char)s[i]];
    return n;
}

uint32_t *tokenizer_encode(const Tokenizer *t, WordCache *cache, const char *text, int bos, size_t *n_out) {
    if (t->hf) return tok_hf_encode(t, cache, text, bos, n_out);
    uint32_t *out = xmalloc((strlen(text) + 3) * sizeof *out);
    size_t n = 0, k;
    if (bos) out[n++] = (uint32_t)t->bos;
    size_t start = n;
    if (text[0]) n = push_piece(t, " ", 1, out, n);   // the dummy prefix, merged with the first word
    for (size_t at = 0, len = strlen(text), w; at < len; at += w) {
        w = tokenizer_word(t, text + at, len - at);
        const uint32_t *hit = at ? word_cache_get(cache, text + at, w, &k) : NULL;   // the first word has the prefix
        if (hit) {
            memcpy(out + n, hit, k * sizeof *out);
            start = n += k;
            continue;
        }
        for (const char *c = text + at; c < text + at + w;) {   // one UTF-8 codepoint (<= 4 bytes) at a time
            size_t b = 1;
            while (b < 4 && (c[b] & 0xC0) == 0x80) b++;
            n = push_piece(t, c, b, out, n);
            c += b;
        }
        n = start + tokenizer_bpe(t, out + start, n - start);
        if (at) word_cache_put(cache, text + at, w, out + start, n - start);
        start = n;
    }
    *n_out = n;
    return out;
}

const char *tokenizer_decode_piece(const Tokenizer *t, int prev, int id, char buf[2]) {
    const char *p = t->pieces[id] ? t->pieces[id] : "";
    const int byte = t->hf && t->hf->byte_level ? -1 : tokenizer_byte_of(t, id);
    if ((!t->hf || !t->hf->byte_level) && prev == t->bos && p[0] == ' ') p++;
    if (byte >= 0) {
        buf[0] = (char)byte;
        buf[1] = '\0';
        return buf;
    }
    return p;
}

// ---- GGUF's tokenizer.ggml.* keys -------------------------------------------------------
enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_BYTE = 6 };
#define SPACE_MARK "\xe2\x96\x81"          // U+2581, sentencepiece's space


// wrapped: a llama2.c control piece "\n<s>\n" (1 + the bare piece + 1 bytes).
static int wrapped(const char *p) { size_t n = strlen(p); return n >= 2 && p[0] == '\n' && p[n - 1] == '\n'; }

static int32_t derived_type(const Tokenizer *t, int id) {
    const char *p = t->pieces[id];
    if (id == 0) return TT_UNKNOWN;
    if (!*p || wrapped(p)) return TT_CONTROL;
    return tokenizer_byte_of(t, id) >= 0 ? TT_BYTE : TT_NORMAL;
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
    if (t->hf)
        die("export: a tokenizer.json cannot be written as GGUF's tokenizer.ggml.* yet (only sentencepiece "
            "vocabularies: llama2.c tokenizer.bin or a GGUF's own); hint: --tokenizer names one, or leave it out");
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
    t->bos = BOS_ID;
    tokenizer_index(t, path);
    tokenizer_set_sep(t, " ");
}
