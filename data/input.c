// input.c — a corpus file as a stream of lines: plain, gzip (RFC 1952, through zlib's
// gz* functions) or zstd (RFC 8878, through libzstd's streaming decompressor), told apart
// by the magic numbers of their first bytes, not by the file's name (corpus.h). Inputs
// are regular files: prepare reads them twice (the counting pass, then the encoding).
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
#define ZBUF ((size_t)1 << 17)       // compressed bytes read per fread

// zstd_magic: m starts a zstd frame, or a skippable frame (0x184D2A50..5F, little-endian).
static int zstd_magic(const unsigned char *m, size_t k) {
    return k == 4 && ((m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) ||
                      ((m[0] & 0xf0) == 0x50 && m[1] == 0x2a && m[2] == 0x4d && m[3] == 0x18));
}

void input_open(Input *in, const char *path) {
    memset(in, 0, sizeof *in);
    in->path = path;
    struct stat st;
    if (stat(path, &st) != 0) die("%s: cannot read it (does it exist?)", path);
    if (S_ISDIR(st.st_mode)) die("%s: is a directory (hint: a glob such as '%s/*.jsonl.zst')", path, path);
    if (!S_ISREG(st.st_mode)) die("%s: not a regular file (prepare reads its inputs twice: a pipe will not do)", path);
    in->size = (uint64_t)st.st_size;
    in->file = xfopen(path, "rb");
    unsigned char m[4] = {0};
    const size_t k = fread(m, 1, 4, in->file);
    if (fseek(in->file, 0, SEEK_SET) != 0) die("%s: cannot seek back to its start", path);
    if (k >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
        in->kind = INPUT_GZIP;
        z_stream *z = in->gz = xcalloc(1, sizeof *z);
        CHECK(inflateInit2(z, 15 + 16) == Z_OK, "%s: cannot start a gzip decoder", path);
        in->zbuf = xmalloc(ZBUF);
    } else if (zstd_magic(m, k)) {
        in->kind = INPUT_ZSTD;
        in->zstd = ZSTD_createDStream();
        CHECK(in->zstd && !ZSTD_isError(ZSTD_initDStream(in->zstd)), "%s: cannot start a zstd decoder", path);
        ZSTD_DCtx_setParameter(in->zstd, ZSTD_d_windowLogMax, 31);   // frames of zstd --long
        in->zbuf = xmalloc(ZBUF);
    } else in->kind = INPUT_PLAIN;
}

// refill: more compressed bytes into zbuf (returns how many: 0 at the end of the file).
static size_t refill(Input *in) {
    in->zn = fread(in->zbuf, 1, ZBUF, in->file);
    in->zat = 0;
    if (ferror(in->file)) die("%s: read error", in->path);
    return in->zn;
}

// zstd_read: up to cap decompressed bytes into dst; 0 at the end of the file (dies when
// the last frame is unfinished or the data is damaged).
static size_t zstd_read(Input *in, char *dst, size_t cap) {
    ZSTD_outBuffer out = {dst, cap, 0};
    while (out.pos == 0) {
        if (in->zat == in->zn && !refill(in)) {
            if (in->zhint) die("%s: truncated zstd stream (its last frame ends early)", in->path);
            return 0;
        }
        ZSTD_inBuffer src = {in->zbuf, in->zn, in->zat};
        in->zhint = ZSTD_decompressStream(in->zstd, &out, &src);
        if (ZSTD_isError(in->zhint)) die("%s: damaged zstd data: %s", in->path, ZSTD_getErrorName(in->zhint));
        in->zat = src.pos;
    }
    return out.pos;
}

// gz_read: as zstd_read, for gzip (RFC 1952): members one after another; after a member's
// end the file must end or another member start (1f 8b), else it is damaged.
static size_t gz_read(Input *in, char *dst, size_t cap) {
    z_stream *z = in->gz;
    z->next_out = (unsigned char *)dst;
    z->avail_out = (unsigned)cap;
    while (z->avail_out == cap) {
        if (in->zat == in->zn && !refill(in)) {
            if (in->zhint) die("%s: truncated gzip data (its last member ends early)", in->path);
            return 0;
        }
        if (!in->zhint) {                              // between members: only another one
            if (in->zbuf[in->zat] != 0x1f || (in->zat + 1 < in->zn && in->zbuf[in->zat + 1] != 0x8b))
                die("%s: damaged gzip data: not a gzip member at byte %llu (junk after the data?)", in->path,
                    (unsigned long long)(input_offset(in)));
            inflateReset(z);
            in->zhint = 1;
        }
        z->next_in = in->zbuf + in->zat;
        z->avail_in = (unsigned)(in->zn - in->zat);
        const int rc = inflate(z, Z_NO_FLUSH);
        in->zat = in->zn - z->avail_in;
        if (rc == Z_STREAM_END) in->zhint = 0;
        else if (rc != Z_OK && rc != Z_BUF_ERROR)
            die("%s: damaged gzip data: %s", in->path, z->msg ? z->msg : "inflate failed");
    }
    return cap - z->avail_out;
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
        char *nl = in->n > scan ? memchr(in->buf + scan, '\n', in->n - scan) : NULL;
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
    const long at = ftell(in->file);
    const uint64_t pending = in->kind == INPUT_PLAIN ? 0 : in->zn - in->zat;   // read, not yet decoded
    return at < 0 || (uint64_t)at < pending ? 0 : (uint64_t)at - pending;
}

void input_close(Input *in) {
    if (in->gz) inflateEnd(in->gz);
    free(in->gz);
    if (in->file) fclose(in->file);
    if (in->zstd) ZSTD_freeDStream(in->zstd);
    free(in->zbuf);
    free(in->buf);
    memset(in, 0, sizeof *in);
}
