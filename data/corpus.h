// corpus.h — the text side of `train prepare`: corpus files read as streams of lines
// (plain, gzip or zstd, told apart by their first bytes: input.c) and cut into documents
// (paragraphs of text, or one JSON string per JSONL line: corpus.c).
#ifndef STRETCH_CORPUS_H
#define STRETCH_CORPUS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

// Input: one regular file as a stream of lines, decompressed as it is read: gzip (zlib's
// inflate; several members read as one stream, anything else after them is damage), zstd
// (libzstd's streaming API; several frames likewise, skippable frames skipped), else the
// bytes as they are. A truncated or damaged stream dies naming the file.
typedef enum { INPUT_PLAIN, INPUT_GZIP, INPUT_ZSTD } InputKind;
typedef struct {
    const char *path;
    InputKind kind;
    FILE *file;
    void *gz;                // z_stream (gzip)
    void *zstd;              // ZSTD_DStream
    unsigned char *zbuf;     // (ZBUF) compressed bytes
    size_t zn, zat;          // bytes held in zbuf, and consumed
    size_t zhint;            // zstd: the last ZSTD_decompressStream result; gzip: 1 inside a
                             // member; 0 at a frame's or member's end
    char *buf;               // (cap) decompressed bytes; [at, n) not yet returned as lines
    size_t n, at, cap;
    int eof;                 // the stream has ended (everything is in buf)
    uint64_t size;           // the file's size in bytes (compressed)
    long long line;          // the number (1-based) of the line input_line returned last
} Input;

// input_open: open `path` (dies naming it when it cannot be read or is a directory).
void input_open(Input *in, const char *path);
// input_line: the next line, without its '\n', NUL-terminated inside the Input's buffer
// (valid until the next call), *len its bytes (a NUL byte inside counts); NULL at the end.
char *input_line(Input *in, size_t *len);
// input_offset: how many of the file's (compressed) bytes have been read so far.
uint64_t input_offset(const Input *in);
void input_close(Input *in);

// CorpusFormat: how a file's lines become documents. TEXT: documents are paragraphs
// separated by blank lines (with story_start: a paragraph starting with it opens a
// document and the others join the current one, as TinyStories text marks no story
// boundaries); a file's end closes its last document. JSONL: each line is a JSON object
// whose member `field` (a string) is one document; blank lines are skipped. AUTO: JSONL
// for names ending .jsonl/.ndjson/.json (before .gz/.zst/.zstd), else TEXT.
typedef enum { CORPUS_AUTO, CORPUS_TEXT, CORPUS_JSONL } CorpusFormat;

typedef struct {
    CorpusFormat format;
    const char *field;         // JSONL: the member holding the text ("text")
    const char *story_start;   // TEXT: NULL, every paragraph is a document
    int skip_bad_lines;        // JSONL: skip (and count) lines that are not an object with
                               // a string `field`, instead of dying naming file:line
} CorpusOptions;

// SourceStats: what corpus_next has read of one file.
typedef struct {
    uint64_t bytes;            // the file's size (compressed)
    uint64_t text_bytes;       // the bytes of its documents' text
    uint64_t documents, bad_lines, empty;   // empty: JSONL strings of no text, skipped
} SourceStats;

// Corpus: the documents of files[0, n_files), in order.
typedef struct {
    char **files;              // (n_files) the expanded inputs
    size_t n_files;
    SourceStats *stats;        // (n_files)
    CorpusOptions opt;
    size_t cur;                // the file being read (n_files: done)
    int open;                  // `in` holds files[cur]
    Input in;
    char *doc, *out;           // (doc_cap, out_cap) the document being built, the one returned
    size_t doc_n, doc_cap, out_cap;
    long long doc_line;        // the line of the file where `doc` starts
    uint64_t done_bytes;       // the sizes of the files already read
} Corpus;

// Doc: one document of corpus_next; text valid until the next call.
typedef struct {
    const char *text;          // NUL-terminated, no NUL inside
    size_t len;
    size_t source;             // index into Corpus.files
    long long line;            // the line of its file where it starts
} Doc;

// corpus_open: expand each pattern (a path or a glob; sorted matches) into the file list;
// dies naming the pattern when it matches nothing or names a directory. Reading starts
// with the first file.
void corpus_open(Corpus *c, const char *const *patterns, size_t n, const CorpusOptions *o);
// corpus_next: the next document (0 at the end of the last file). Dies on a NUL byte in
// text, or on a bad JSONL line (unless skip_bad_lines), naming file:line.
int corpus_next(Corpus *c, Doc *d);
// corpus_rewind: read again from the first file, statistics reset.
void corpus_rewind(Corpus *c);
// corpus_progress: compressed bytes read so far, and in all files.
void corpus_progress(const Corpus *c, uint64_t *read, uint64_t *total);
void corpus_free(Corpus *c);

#endif
