// prepare.c — `train prepare`: turn a text file into llm.c token shards.
// Documents are paragraphs separated by blank lines; with --story-start PREFIX a
// paragraph starting with PREFIX opens a new document and the others join the current
// one (TinyStories text marks no story boundaries). Each document is encoded with the
// llama2.c tokenizer, BOS before it; the last --val-fraction of documents are val.
#define _POSIX_C_SOURCE 200809L
#include "data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *USAGE =
    "usage: train prepare --text FILE --tokenizer TOK.bin --out DIR [--val-fraction 0.1] [--story-start PREFIX]";

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

int prepare_main(int argc, char **argv) {
    const char *text_path = NULL, *tok_path = NULL, *out = NULL, *story = NULL;
    double val_frac = 0.1;
    for (int i = 0; i < argc; i++) {
        if (i + 1 >= argc) die("prepare: %s needs a value (%s)", argv[i], USAGE);
        if (!strcmp(argv[i], "--text")) text_path = argv[++i];
        else if (!strcmp(argv[i], "--tokenizer")) tok_path = argv[++i];
        else if (!strcmp(argv[i], "--out")) out = argv[++i];
        else if (!strcmp(argv[i], "--story-start")) story = argv[++i];
        else if (!strcmp(argv[i], "--val-fraction")) {
            char *e;
            val_frac = strtod(argv[++i], &e);
            if (*e || !(val_frac >= 0.0 && val_frac < 1.0)) die("--val-fraction must be in [0, 1), got '%s'", argv[i]);
        } else die("prepare: unknown option '%s' (%s)", argv[i], USAGE);
    }
    if (!text_path || !tok_path || !out) die("prepare: missing --text, --tokenizer or --out (%s)", USAGE);
    Tokenizer tok;
    tokenizer_load(&tok, tok_path);
    char *text = read_file(text_path, NULL), **docs;
    size_t n_docs = split_docs(text, story, &docs);
    if (n_docs < 2) die("%s: found %zu documents; need at least 2 to split train/val", text_path, n_docs);
    size_t n_val = (size_t)ceil(val_frac * (double)n_docs), n_train = n_docs - n_val;
    uint32_t **ids = xmalloc(n_docs * sizeof(uint32_t *));
    size_t *lens = xmalloc(n_docs * sizeof(size_t));
    #pragma omp parallel for schedule(dynamic)
    for (size_t i = 0; i < n_docs; i++) {
        ids[i] = xmalloc((strlen(docs[i]) + 3) * sizeof(uint32_t));
        lens[i] = tokenizer_encode(&tok, docs[i], 1, ids[i]);
    }
    make_dirs(out);
    const char *names[2] = {"train.bin", "val.bin"};
    size_t ranges[3] = {0, n_train, n_docs};
    for (int s = 0; s < 2; s++) {
        size_t total = 0, k = 0;
        for (size_t i = ranges[s]; i < ranges[s + 1]; i++) total += lens[i];
        uint32_t *all = xmalloc((total ? total : 1) * sizeof(uint32_t));
        for (size_t i = ranges[s]; i < ranges[s + 1]; i++) {
            memcpy(all + k, ids[i], lens[i] * sizeof(uint32_t));
            k += lens[i];
        }
        char *path = path_join(out, names[s]);
        if (total) shard_write(path, all, total, tok.vocab);
        printf("%s: %zu documents, %zu tokens\n", path, ranges[s + 1] - ranges[s], total);
        free(path);
        free(all);
    }
    for (size_t i = 0; i < n_docs; i++) free(ids[i]);
    free(ids);
    free(lens);
    free(docs);
    free(text);
    tokenizer_free(&tok);
    return 0;
}
