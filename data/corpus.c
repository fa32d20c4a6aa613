// corpus.c — corpus files cut into documents, one after another (corpus.h). Text files
// are cut at blank lines as `prepare` always has: a paragraph starts at its first
// character that is not a space, tab, CR or newline, runs to the next empty line ("\n\n"),
// and loses its trailing spaces, CRs and newlines. JSONL lines are parsed by util/json.c.
#define _POSIX_C_SOURCE 200809L
#include "corpus.h"
#include "../util/json.h"
#include "../util/util.h"

#include <glob.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

// format_of: the format of `path` under o (AUTO: by its name).
static CorpusFormat format_of(const char *path, CorpusFormat o) {
    if (o != CORPUS_AUTO) return o;
    size_t n = strlen(path);
    static const char *const zip[] = {".gz", ".zst", ".zstd"}, *const js[] = {".jsonl", ".ndjson", ".json"};
    for (int i = 0; i < 3; i++)
        if (n > strlen(zip[i]) && !strcmp(path + n - strlen(zip[i]), zip[i])) n -= strlen(zip[i]);
    for (int i = 0; i < 3; i++)
        if (n > strlen(js[i]) && !strncmp(path + n - strlen(js[i]), js[i], strlen(js[i]))) return CORPUS_JSONL;
    return CORPUS_TEXT;
}

void corpus_open(Corpus *c, const char *const *patterns, size_t n, const CorpusOptions *o) {
    memset(c, 0, sizeof *c);
    c->opt = *o;
    for (size_t p = 0; p < n; p++) {
        struct stat st;
        if (stat(patterns[p], &st) == 0) {           // a file's own name, even with [ or * in it
            c->files = xrealloc(c->files, (c->n_files + 1) * sizeof *c->files);
            c->files[c->n_files++] = xstrdup(patterns[p]);
            continue;
        }
        glob_t g;
        const int rc = glob(patterns[p], 0, NULL, &g);
        if (rc == GLOB_NOMATCH || (rc == 0 && !g.gl_pathc)) die("--input '%s': no file matches it", patterns[p]);
        if (rc) die("--input '%s': cannot expand it", patterns[p]);
        c->files = xrealloc(c->files, (c->n_files + g.gl_pathc) * sizeof *c->files);
        for (size_t i = 0; i < g.gl_pathc; i++) c->files[c->n_files++] = xstrdup(g.gl_pathv[i]);
        globfree(&g);
    }
    c->stats = xcalloc(c->n_files, sizeof *c->stats);
    for (size_t i = 0; i < c->n_files; i++) {     // every file is readable before any is read
        Input in;
        input_open(&in, c->files[i]);
        c->stats[i].bytes = in.size;
        input_close(&in);
    }
}

// grow: room for k more bytes (and a NUL) in buf[0, *cap) of which n are used.
static char *grow(char *buf, size_t *cap, size_t n, size_t k) {
    if (n + k + 1 > *cap) buf = xrealloc(buf, *cap = 2 * (n + k + 1));
    return buf;
}

// take: the document built so far becomes the one returned (c->doc empties).
static void take(Corpus *c, Doc *d, size_t len) {
    char *t = c->out;
    size_t cap = c->out_cap;
    c->out = c->doc, c->out_cap = c->doc_cap;
    c->doc = t, c->doc_cap = cap, c->doc_n = 0;
    *d = (Doc){c->out, len, c->cur, c->doc_line};
    c->stats[c->cur].documents++;
    c->stats[c->cur].text_bytes += len;
}

// text_line: one line of a text file; 1 when it completes a document (in d). c->doc holds
// the document being built; it ends with '\n' once its last paragraph has been closed by
// a blank line (a paragraph's own text never ends so), the first newline of the "\n\n"
// that joins the next paragraph of the document.
static int text_line(Corpus *c, const char *line, size_t len, Doc *d) {
    if (strlen(line) != len) die("%s:%lld: a NUL byte (not text; hint: is it a binary file?)", c->in.path, c->in.line);
    if (len && c->doc_n && c->doc[c->doc_n - 1] != '\n') {   // inside a paragraph: one more line
        c->doc = grow(c->doc, &c->doc_cap, c->doc_n, len + 1);
        c->doc[c->doc_n++] = '\n';
        memcpy(c->doc + c->doc_n, line, len + 1);
        c->doc_n += len;
        return 0;
    }
    if (!len && c->doc_n && c->doc[c->doc_n - 1] != '\n') {  // a blank line ends the paragraph
        while (c->doc_n && strchr("\n\r ", c->doc[c->doc_n - 1]) && c->doc[c->doc_n - 1]) c->doc_n--;
        c->doc[c->doc_n] = '\0';
        c->doc = grow(c->doc, &c->doc_cap, c->doc_n, 2);
        c->doc[c->doc_n++] = '\n';                 // the paragraph is closed: "...\n" marks it
        c->doc[c->doc_n] = '\0';
        return 0;
    }
    const size_t skip = strspn(line, " \t\r");
    if (skip == len) return 0;                     // blank lines between paragraphs
    const char *para = line + skip;
    const int opens = !c->opt.story_start || !c->doc_n || !strncmp(para, c->opt.story_start, strlen(c->opt.story_start));
    int done = 0;
    if (opens && c->doc_n) {                       // the document built so far is whole
        take(c, d, c->doc_n - 1);
        c->out[d->len] = '\0';
        done = 1;
    }
    if (c->doc_n) {                                // join the paragraph to the document
        c->doc = grow(c->doc, &c->doc_cap, c->doc_n, 1);
        c->doc[c->doc_n++] = '\n';
    } else c->doc_line = c->in.line;
    c->doc = grow(c->doc, &c->doc_cap, c->doc_n, len - skip);
    memcpy(c->doc + c->doc_n, para, len - skip + 1);
    c->doc_n += len - skip;
    return done;
}

// jsonl_line: one line of a JSONL file; 1 when it is a document (in d).
static int jsonl_line(Corpus *c, const char *line, size_t len, Doc *d) {
    if (strspn(line, " \t\r") == len) return 0;
    Json j;
    char err[256] = "";
    const char *bad = NULL;
    int parsed = !json_try_parse(&j, c->in.path, line, len, err, sizeof err);
    const JsonNode *f = parsed ? json_get(&j, json_root(&j), c->opt.field) : NULL;
    if (!parsed) bad = err;
    else if (json_root(&j)->type != JSON_OBJ) bad = "not a JSON object";
    else if (!f || f->type != JSON_STR) {
        snprintf(err, sizeof err, f ? "member \"%.64s\" (--field) is not a string" : "no member \"%.64s\" (--field)",
                 c->opt.field);
        bad = err;
    }
    if (bad) {
        if (c->in.line == 1 && line[strspn(line, " \t\r")] == '[')
            die("%s:1: a JSON array, not JSON Lines (one object per line; --format text reads a file as text)", c->in.path);
        if (!c->opt.skip_bad_lines)
            die("%s:%lld: %s%s; --skip-bad-lines skips and counts such lines", c->in.path, c->in.line,
                parsed ? "" : "column ", bad + (parsed ? 0 : strcspn(bad, ":") + 1));
        c->stats[c->cur].bad_lines++;
        if (parsed) json_free(&j);
        return 0;
    }
    const size_t n = f->n;
    if (!n) c->stats[c->cur].empty++;
    else {
        c->doc = grow(c->doc, &c->doc_cap, 0, n);
        memcpy(c->doc, json_str(&j, f), n + 1);
        c->doc_line = c->in.line;
        take(c, d, n);
    }
    json_free(&j);
    return n > 0;
}

int corpus_next(Corpus *c, Doc *d) {
    while (c->cur < c->n_files) {
        if (!c->open) {
            input_open(&c->in, c->files[c->cur]);
            c->open = 1;
            c->doc_n = 0;
        }
        const CorpusFormat fmt = format_of(c->files[c->cur], c->opt.format);
        size_t len;
        const char *line = input_line(&c->in, &len);
        if (line) {
            if (fmt == CORPUS_JSONL ? jsonl_line(c, line, len, d) : text_line(c, line, len, d)) return 1;
            continue;
        }
        const int last = c->doc_n > 0;             // the file's end closes its document
        if (last) {
            size_t n = c->doc_n;
            while (n && strchr("\n\r ", c->doc[n - 1]) && c->doc[n - 1]) n--;
            take(c, d, n);
            c->out[n] = '\0';
        }
        c->done_bytes += c->in.size;
        input_close(&c->in);
        c->open = 0;
        c->cur++;
        if (last) {
            d->source = c->cur - 1;
            return 1;
        }
    }
    return 0;
}

void corpus_rewind(Corpus *c) {
    if (c->open) input_close(&c->in);
    c->open = 0;
    c->cur = 0;
    c->done_bytes = 0;
    c->doc_n = 0;
    for (size_t i = 0; i < c->n_files; i++) {
        const uint64_t bytes = c->stats[i].bytes;
        c->stats[i] = (SourceStats){.bytes = bytes};
    }
}

void corpus_progress(const Corpus *c, uint64_t *read, uint64_t *total) {
    *read = c->done_bytes + (c->open ? input_offset(&c->in) : 0);
    *total = 0;
    for (size_t i = 0; i < c->n_files; i++) *total += c->stats[i].bytes;
}

void corpus_free(Corpus *c) {
    if (c->open) input_close(&c->in);
    for (size_t i = 0; i < c->n_files; i++) free(c->files[i]);
    free(c->files);
    free(c->stats);
    free(c->doc);
    free(c->out);
    memset(c, 0, sizeof *c);
}
