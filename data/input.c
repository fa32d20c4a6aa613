// input.c — a corpus file as a stream of lines: plain, gzip (RFC 1952, through zlib's
// gz* functions) or zstd (RFC 8878, through libzstd's streaming decompressor), told apart
// by the magic numbers of their first bytes, not by the file's name (corpus.h).
#define _POSIX_C_SOURCE 200809L
#include "corpus.h"
#include "../util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

#define CHUNK ((size_t)1 << 20)      // decompressed bytes asked for per read

void input_open(Input *in, const char *path) {
    memset(in, 0, sizeof *in);
    in->path = path;
    struct stat st;
    if (stat(path, &st) != 0) die("%s: cannot read it (does it exist?)", path);
    if (S_ISDIR(st.st_mode)) die("%s: is a directory (hint: a glob such as '%s/*.jsonl.zst')", path, path);
    in->size = (uint64_t)st.st_size;
    FILE *f = xfopen(path, "rb");
    unsigned char m[4] = {0};
    const size_t k = fread(m, 1, 4, f);
    rewind(f);
    if (k >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
        fclose(f);
        in->kind = INPUT_GZIP;
        if (!(in->file = gzopen(path, "rb"))) die("%s: cannot open it as gzip", path);
        gzbuffer(in->file, 1 << 17);
    } else if (k == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) {
        in->kind = INPUT_ZSTD;
        in->file = f;
        in->zstd = ZSTD_createDStream();
        CHECK(in->zstd && !ZSTD_isError(ZSTD_initDStream(in->zstd)), "%s: cannot start a zstd decoder", path);
        in->zbuf = xmalloc(ZSTD_DStreamInSize());
    } else {
        in->kind = INPUT_PLAIN;
        in->file = f;
    }
}

// zstd_read: up to cap decompressed bytes into dst; 0 at the end of the file (dies when
// the last frame is unfinished or the data is damaged).
static size_t zstd_read(Input *in, char *dst, size_t cap) {
    ZSTD_outBuffer out = {dst, cap, 0};
    while (out.pos == 0) {
        if (in->zat == in->zn) {
            in->zn = fread(in->zbuf, 1, ZSTD_DStreamInSize(), in->file);
            in->zat = 0;
            if (ferror(in->file)) die("%s: read error", in->path);
            if (!in->zn) {
                if (in->zhint) die("%s: truncated zstd stream (its last frame ends early)", in->path);
                return 0;
            }
        }
        ZSTD_inBuffer src = {in->zbuf, in->zn, in->zat};
        in->zhint = ZSTD_decompressStream(in->zstd, &out, &src);
        if (ZSTD_isError(in->zhint)) die("%s: damaged zstd data: %s", in->path, ZSTD_getErrorName(in->zhint));
        in->zat = src.pos;
    }
    return out.pos;
}

// gz_read: as zstd_read, for gzip.
static size_t gz_read(Input *in, char *dst, size_t cap) {
    const int k = gzread(in->file, dst, (unsigned)cap);
    int err = Z_OK;
    const char *msg = gzerror(in->file, &err);
    if (k < 0 || (err != Z_OK && err != Z_STREAM_END)) {
        const size_t n = strlen(in->path);         // zlib's message starts "<path>: "
        if (!strncmp(msg, in->path, n) && !strncmp(msg + n, ": ", 2)) msg += n + 2;
        die("%s: %s gzip data: %s", in->path, err == Z_BUF_ERROR ? "truncated" : "damaged", msg);
    }
    return (size_t)k;
}

// fill: append the next decompressed bytes to buf (eof set at the end).
static void fill(Input *in) {
    if (in->at > 0) {                              // drop the lines already returned
        memmove(in->buf, in->buf + in->at, in->n - in->at);
        in->n -= in->at;
        in->at = 0;
    }
    if (in->cap - in->n < CHUNK + 1) in->buf = xrealloc(in->buf, in->cap = 2 * in->cap + CHUNK + 1);
    size_t k;
    if (in->kind == INPUT_ZSTD) k = zstd_read(in, in->buf + in->n, CHUNK);
    else if (in->kind == INPUT_GZIP) k = gz_read(in, in->buf + in->n, CHUNK);
    else {
        k = fread(in->buf + in->n, 1, CHUNK, in->file);
        if (ferror(in->file)) die("%s: read error", in->path);
    }
    in->n += k;
    in->eof = k == 0;
}

char *input_line(Input *in, size_t *len) {
    size_t scan = in->at;
    for (;;) {
        char *nl = memchr(in->buf + scan, '\n', in->n - scan);
        if (nl || (in->eof && in->n > in->at)) {
            char *line = in->buf + in->at;
            const size_t k = nl ? (size_t)(nl - line) : in->n - in->at;
            line[k] = '\0';                        // over the '\n', or the spare byte after n
            in->at += nl ? k + 1 : k;
            in->line++;
            *len = k;
            return line;
        }
        if (in->eof) return NULL;
        scan = in->n - in->at;                     // fill moves the unread bytes to the front
        fill(in);
    }
}

uint64_t input_offset(const Input *in) {
    if (in->kind == INPUT_GZIP) return (uint64_t)gzoffset(in->file);
    const long at = ftell(in->file);
    return at < 0 ? 0 : (uint64_t)at;
}

void input_close(Input *in) {
    if (in->kind == INPUT_GZIP) gzclose(in->file);
    else if (in->file) fclose(in->file);
    if (in->zstd) ZSTD_freeDStream(in->zstd);
    free(in->zbuf);
    free(in->buf);
    memset(in, 0, sizeof *in);
}
