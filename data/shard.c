// shard.c — llm.c token shards, globs of them, and eval windows (data.h).
#define _POSIX_C_SOURCE 200809L
#include "data.h"
#include "../util/fs.h"

#include <glob.h>
#include <assert.h>
#include <stdlib.h>
#include <string.h>

void shard_load(Shard *s, const char *path, int vocab) {
    int32_t h[256];
    memset(s, 0, sizeof *s);
    FILE *f = xfopen(path, "rb");
    size_t size = file_size(f, path);
    if (size < sizeof h) die("%s: truncated: %zu bytes, a token shard header is 1024", path, size);
    xfread(h, sizeof h, f, path, "the 1024-byte header");
    size_t w;
    if (h[0] == SHARD_MAGIC_U16 && h[1] == 1) w = 2;
    else if (h[0] == SHARD_MAGIC_U32 && h[1] == 7) w = 4;
    else die("%s: not a token shard: magic %d version %d (expected 20240520 v1 or 20240801 v7)", path, h[0], h[1]);
    if (h[2] <= 0) die("%s: header says %d tokens", path, h[2]);
    if (h[3] < 0 || h[3] > vocab) die("%s: header's document token %lld is outside the model's vocabulary of %d", path, (long long)h[3] - 1, vocab);
    s->doc = h[3] ? (uint32_t)h[3] - 1 : BOS_ID;
    size_t n = (size_t)h[2];
    if (size != sizeof h + n * w)
        die("%s: %zu bytes, but the header's %zu tokens of %zu bytes need %zu", path, size, n, w, sizeof h + n * w);
    s->path = xstrdup(path);
    s->n = n;
    s->file_start = xcalloc(1, sizeof *s->file_start);
    s->n_files = 1;
    s->n_src = 1;
    s->src_start = xmalloc(2 * sizeof *s->src_start);
    s->src_start[0] = 0, s->src_start[1] = n;
    s->tokens = xmalloc(n * sizeof(uint32_t));
    if (w == 4) xfread(s->tokens, n * 4, f, path, "the tokens");
    else {
        uint16_t *tmp = xmalloc(n * 2);
        xfread(tmp, n * 2, f, path, "the tokens");
        for (size_t i = 0; i < n; i++) s->tokens[i] = tmp[i];
        free(tmp);
    }
    fclose(f);
    for (size_t i = 0; i < n; i++)
        if (s->tokens[i] >= (uint32_t)vocab)
            die("%s: token %u at index %zu is outside the model's vocabulary of %d (wrong tokenizer?)", path,
                s->tokens[i], i, vocab);
}

void shard_concat(Shard *dst, Shard *one, const char *key, const char *first, const char *name) {
    if (dst->n_files && one->doc != dst->doc)
        die("%s: %s opens documents with token %u, %s with %u (hint: shards of another tokenizer)", key, first, dst->doc,
            name, one->doc);
    dst->doc = one->doc;
    dst->tokens = xrealloc(dst->tokens, (dst->n + one->n) * sizeof *dst->tokens);
    memcpy(dst->tokens + dst->n, one->tokens, one->n * sizeof *dst->tokens);
    dst->file_start = xrealloc(dst->file_start, (dst->n_files + one->n_files) * sizeof *dst->file_start);
    for (size_t f = 0; f < one->n_files; f++) dst->file_start[dst->n_files++] = dst->n + one->file_start[f];
    dst->n += one->n;
    shard_free(one);
}

void shard_load_glob(Shard *s, const char *pattern, int vocab, const char *key) {
    glob_t g;
    const int rc = glob(pattern, 0, NULL, &g);
    if (rc == GLOB_NOMATCH || (rc == 0 && g.gl_pathc == 0)) die("%s: no file matches '%s'", key, pattern);
    if (rc != 0) die("%s: cannot expand '%s'", key, pattern);
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        Shard one;
        shard_load(&one, g.gl_pathv[i], vocab);
        shard_concat(s, &one, key, g.gl_pathv[0], g.gl_pathv[i]);
    }
    s->path = xstrdup(pattern);
    s->n_src = 1;
    s->src_start = xmalloc(2 * sizeof *s->src_start);
    s->src_start[0] = 0, s->src_start[1] = s->n;
    globfree(&g);
}

void shard_free(Shard *s) {
    free(s->src_start);
    free(s->file_start);
    free(s->tokens);
    free(s->path);
    memset(s, 0, sizeof *s);
}

void shard_open(ShardWriter *w, const char *path, int vocab, uint32_t doc) {
    int32_t h[256] = {0};
    *w = (ShardWriter){.f = xfopen(path, "wb"), .path = xstrdup(path), .wide = vocab > 65536, .doc = doc};
    xfwrite(h, sizeof h, w->f, path);              // a header of 0 tokens until shard_close
}

void shard_append(ShardWriter *w, const uint32_t *tokens, size_t n) {
    CHECK(n <= 0x7fffffff - w->n, "%s: %zu tokens do not fit one shard (max 2^31-1)", w->path, w->n + n);
    if (w->wide) xfwrite(tokens, n * 4, w->f, w->path);
    else {
        uint16_t tmp[4096];
        for (size_t i = 0; i < n; i += 4096) {
            const size_t k = n - i < 4096 ? n - i : 4096;
            for (size_t j = 0; j < k; j++) tmp[j] = (uint16_t)tokens[i + j];
            xfwrite(tmp, k * 2, w->f, w->path);
        }
    }
    w->n += n;
}

void shard_close(ShardWriter *w) {
    int32_t h[4];
    h[0] = w->wide ? SHARD_MAGIC_U32 : SHARD_MAGIC_U16;
    h[1] = w->wide ? 7 : 1;
    h[2] = (int32_t)w->n;
    h[3] = w->doc == BOS_ID ? 0 : (int32_t)w->doc + 1;  // llama2.c's BOS: the header llm.c writes
    if (fseek(w->f, 0, SEEK_SET) != 0) die("%s: cannot seek to its header", w->path);
    xfwrite(h, sizeof h, w->f, w->path);
    if (fflush(w->f) != 0) die("%s: write failed (disk full?)", w->path);
    fsync_path(w->path);
    if (fclose(w->f) != 0) die("%s: write failed (disk full?)", w->path);
    free(w->path);
    memset(w, 0, sizeof *w);
}

void shard_write(const char *path, const uint32_t *tokens, size_t n, int vocab, uint32_t doc) {
    char *part = with_suffix(path, ".tmp");
    ShardWriter w;
    shard_open(&w, part, vocab, doc);
    shard_append(&w, tokens, n);
    shard_close(&w);
    rename_path(part, path);
    free(part);
}

size_t window_count(const Shard *s, int T) { return s->n < 1 ? 0 : (s->n - 1) / (size_t)T; }

int shard_opens_doc(const Shard *s, size_t i) {
    if (s->tokens[i] == s->doc) return 1;
    size_t lo = 0, hi = s->n_files;                  // file_start is sorted: binary search
    while (lo < hi) {
        const size_t mid = (lo + hi) / 2;
        if (s->file_start[mid] < i) lo = mid + 1;
        else hi = mid;
    }
    return lo < s->n_files && s->file_start[lo] == i;
}

void window_fill(const Shard *s, size_t k0, int *inputs, int *targets, int *doc, int B, int T) {
    for (int b = 0; b < B; b++) {
        size_t start = (k0 + (size_t)b) * (size_t)T;
        assert(start + (size_t)T < s->n);
        for (int t = 0; t < T; t++) {
            inputs[(size_t)b * T + t] = (int)s->tokens[start + t];
            targets[(size_t)b * T + t] = (int)s->tokens[start + t + 1];
            if (doc) doc[(size_t)b * T + t] = t > 0 && shard_opens_doc(s, start + t);
        }
    }
    if (doc) doc_starts(doc, B, T);
}

size_t shard_documents(const Shard *s) {
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) n += i == 0 || shard_opens_doc(s, i);
    return n;
}

void doc_starts(int *doc, int B, int T) {
    for (int b = 0; b < B; b++) {
        int *d = doc + (size_t)b * T, cur = 0;
        for (int t = 0; t < T; t++) {
            cur = t > 0 && d[t] ? t : cur;
            d[t] = cur;
        }
    }
}

uint32_t *shard_text(const Shard *s, size_t cap, size_t *n) {
    const size_t most = s->n < cap ? s->n : cap;
    uint32_t *out = xmalloc((most ? most : 1) * sizeof *out);
    *n = 0;
    for (size_t i = 0; i < s->n && *n < cap; i++)
        if (s->tokens[i] != s->doc) out[(*n)++] = s->tokens[i];
    return out;
}
