// prepare.c — `train prepare`: turn a text file into llm.c token shards.
// Documents are paragraphs separated by blank lines; with --story-start PREFIX a
// paragraph starting with PREFIX opens a new document and the others join the current
// one (TinyStories text marks no story boundaries). Each document is encoded with the
// tokenizer (llama2.c, GGUF or tokenizer.json) and its special tokens, which open it with
// the tokenizer's BOS; a tokenizer without one (GPT-2, early Llama 3 files) needs
// --doc-token, the special token to put before each document (as llm.c puts GPT-2's
// <|endoftext|>), recorded in the shards' header. The last --val-fraction of documents are val, and
// with --test-fraction the documents just before them are test (a split to read only for
// final numbers; val keeps the same documents). With --long-doc-tokens N the test
// documents are also written by length: test_long.bin (>= N tokens), test_short.bin.
#define _POSIX_C_SOURCE 200809L
#include "data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *USAGE =
    "usage: train prepare --text FILE --tokenizer TOK.bin --out DIR [--val-fraction 0.1] [--test-fraction 0] "
    "[--long-doc-tokens N] [--story-start PREFIX] [--doc-token TOKEN|ID]";

// Split: documents [from, to) of a shard, those of at least `min` and fewer than `max`
// tokens.
typedef struct {
    const char *name;
    size_t from, to, min, max;
} Split;

// write_split: the documents of sp, concatenated, into out/sp->name (none: no file).
static void write_split(const char *out, const Split *sp, uint32_t **ids, const size_t *lens, int vocab, uint32_t doc) {
    size_t total = 0, k = 0, n = 0;
    for (size_t i = sp->from; i < sp->to; i++) total += lens[i] >= sp->min && lens[i] < sp->max ? lens[i] : 0;
    uint32_t *all = xmalloc((total ? total : 1) * sizeof(uint32_t));
    for (size_t i = sp->from; i < sp->to; i++)
        if (lens[i] >= sp->min && lens[i] < sp->max) {
            memcpy(all + k, ids[i], lens[i] * sizeof(uint32_t));
            k += lens[i];
            n++;
        }
    char *path = path_join(out, sp->name);
    if (total) shard_write(path, all, total, vocab, doc);
    printf("%s: %zu documents, %zu tokens\n", path, n, total);
    free(path);
    free(all);
}

// fraction: the value of --val-fraction or --test-fraction, in [0, 1).
static double fraction(const char *opt, const char *v) {
    char *e;
    double f = strtod(v, &e);
    if (*e || !(f >= 0.0 && f < 1.0)) die("%s must be in [0, 1), got '%s'", opt, v);
    return f;
}

// split_docs: cut `text` in place into documents; returns their count, *docs malloc'd.
static size_t split_docs(char *text, const char *story_start, char ***docs) {
    size_t n = 0, cap = 256;
    char **d = xmalloc(cap * sizeof(char *));
    char *p = text, *cur = NULL;
    while (*p) {
        while (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t') p++;   // skip blank lines
        if (!*p) break;
        char *para = p, *end = strstr(p, "\n\n");
        char *next = end ? end + 2 : p + strlen(p);
        for (char *q = end ? end : next; q > para && (q[-1] == '\n' || q[-1] == '\r' || q[-1] == ' '); q--) q[-1] = '\0';
        if (end) *end = '\0';
        int opens = !story_start || !cur || !strncmp(para, story_start, strlen(story_start));
        if (opens) {
            if (n == cap) d = xrealloc(d, (cap *= 2) * sizeof(char *));
            d[n++] = cur = para;
        } else {
            size_t k = strlen(cur);                                         // join with "\n\n"
            memmove(cur + k + 2, para, strlen(para) + 1);
            cur[k] = cur[k + 1] = '\n';
        }
        p = next;
    }
    *docs = d;
    return n;
}

// doc_token: the token that opens each document: the tokenizer's BOS, or `name` (a
// token's text or id) when the tokenizer has none.
static uint32_t doc_token(const Tokenizer *t, const char *name, const char *tok_path) {
    int id = -1;
    if (name) {
        char *e;
        const long v = strtol(name, &e, 10);
        if (!*e && *name) id = v >= 0 && v < t->vocab && t->pieces[v] ? (int)v : -2;
        for (int i = 0; id == -1 && i < t->vocab; i++)
            if (t->pieces[i] && !strcmp(t->pieces[i], name)) id = i;
        if (id < 0) die("--doc-token '%s': no such token in %s", name, tok_path);
    }
    if (t->bos >= 0 && id >= 0 && id != t->bos)
        die("--doc-token '%s': %s opens every document with its BOS (token %d) already", name, tok_path, t->bos);
    if (t->bos < 0 && id < 0)
        die("%s adds no BOS before a text: --doc-token names the token that opens each document (e.g. GPT-2's "
            "<|endoftext|>, Llama 3's <|begin_of_text|>)", tok_path);
    return (uint32_t)(t->bos >= 0 ? t->bos : id);
}

// encode_doc: the document's ids, opened by `doc` (malloc'd; *n the count).
static uint32_t *encode_doc(const Tokenizer *t, const char *text, uint32_t doc, size_t *n) {
    size_t k;
    uint32_t *ids = tokenizer_encode(t, text, 1, &k);
    if (t->bos < 0) {
        ids = xrealloc(ids, (k + 1) * sizeof *ids);
        memmove(ids + 1, ids, k * sizeof *ids);
        ids[0] = doc;
        k++;
    }
    *n = k;
    return ids;
}

int prepare_main(int argc, char **argv) {
    const char *text_path = NULL, *tok_path = NULL, *out = NULL, *story = NULL, *doc_name = NULL;
    double val_frac = 0.1, test_frac = 0.0;
    long long long_doc = 0;
    for (int i = 0; i < argc; i++) {
        if (i + 1 >= argc) die("prepare: %s needs a value (%s)", argv[i], USAGE);
        if (!strcmp(argv[i], "--text")) text_path = argv[++i];
        else if (!strcmp(argv[i], "--tokenizer")) tok_path = argv[++i];
        else if (!strcmp(argv[i], "--out")) out = argv[++i];
        else if (!strcmp(argv[i], "--story-start")) story = argv[++i];
        else if (!strcmp(argv[i], "--doc-token")) doc_name = argv[++i];
        else if (!strcmp(argv[i], "--val-fraction")) val_frac = fraction(argv[i], argv[i + 1]), i++;
        else if (!strcmp(argv[i], "--test-fraction")) test_frac = fraction(argv[i], argv[i + 1]), i++;
        else if (!strcmp(argv[i], "--long-doc-tokens")) {
            char *e;
            long_doc = strtoll(argv[++i], &e, 10);
            if (*e || long_doc < 1) die("--long-doc-tokens must be a positive token count, got '%s'", argv[i]);
        } else die("prepare: unknown option '%s' (%s)", argv[i], USAGE);
    }
    if (!text_path || !tok_path || !out) die("prepare: missing --text, --tokenizer or --out (%s)", USAGE);
    Tokenizer tok;
    tokenizer_load(&tok, tok_path);
    const uint32_t doc = doc_token(&tok, doc_name, tok_path);
    char *text = read_file(text_path, NULL), **docs;
    size_t n_docs = split_docs(text, story, &docs);
    if (n_docs < 2) die("%s: found %zu documents; need at least 2 to split train/val", text_path, n_docs);
    const size_t n_val = (size_t)ceil(val_frac * (double)n_docs), n_test = (size_t)ceil(test_frac * (double)n_docs);
    if (n_val + n_test >= n_docs) die("%s: %zu documents leave none to train on after val and test", text_path, n_docs);
    const size_t n_train = n_docs - n_val - n_test;
    uint32_t **ids = xmalloc(n_docs * sizeof(uint32_t *));
    size_t *lens = xmalloc(n_docs * sizeof(size_t));
    #pragma omp parallel for schedule(dynamic)
    for (size_t i = 0; i < n_docs; i++) ids[i] = encode_doc(&tok, docs[i], doc, &lens[i]);
    make_dirs(out);
    const size_t all = SIZE_MAX, t0 = n_train, t1 = n_train + n_test, L = (size_t)long_doc;
    const Split splits[] = {{"train.bin", 0, t0, 0, all}, {"val.bin", t1, n_docs, 0, all}, {"test.bin", t0, t1, 0, all},
                            {"test_long.bin", t0, t1, L, all}, {"test_short.bin", t0, t1, 0, L}};
    const int n_splits = !n_test ? 2 : !long_doc ? 3 : 5;
    for (int s = 0; s < n_splits; s++) write_split(out, &splits[s], ids, lens, tok.vocab, doc);
    for (size_t i = 0; i < n_docs; i++) free(ids[i]);
    free(ids);
    free(lens);
    free(docs);
    free(text);
    tokenizer_free(&tok);
    return 0;
}

// tokenize_text: the ids of one text, one per line (files: on one line, space-separated).
static void tokenize_text(const Tokenizer *t, const char *text, size_t len, const char *name, int bos, int one_line) {
    if (strlen(text) != len) die("tokenize: %s holds a NUL byte", name);
    size_t n;
    uint32_t *ids = tokenizer_encode(t, text, bos, &n);
    for (size_t i = 0; i < n; i++) printf("%u%s", ids[i], !one_line ? "\n" : i + 1 < n ? " " : "");
    if (one_line) putchar('\n');
    free(ids);
}

int tokenize_main(int argc, char **argv) {
    static const char *usage = "usage: train tokenize --tokenizer TOK [--no-bos] [FILE...] (no FILE: standard input)";
    const char *tok = NULL;
    int bos = 1, n_files = 0;
    const char **files = xcalloc((size_t)argc + 1, sizeof *files);
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--no-bos")) bos = 0;
        else if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc) tok = argv[++i];
        else if (argv[i][0] == '-') die("tokenize: unexpected '%s' (%s)", argv[i], usage);
        else files[n_files++] = argv[i];
    }
    if (!tok) die("%s", usage);
    Tokenizer t;
    tokenizer_load(&t, tok);
    for (int f = 0; f < n_files; f++) {
        size_t len;
        char *text = read_file(files[f], &len);
        tokenize_text(&t, text, len, files[f], bos, 1);
        free(text);
    }
    if (!n_files) {
        size_t len;
        char *text = read_stream(stdin, "standard input", &len);
        tokenize_text(&t, text, len, "the input", bos, 0);
        free(text);
    }
    free(files);
    tokenizer_free(&t);
    return 0;
}
