// prepare.c — `train prepare`: corpus files (text or JSONL, plain, gzip or zstd; corpus.h)
// into llm.c token shards and a manifest. Each document is encoded with the tokenizer
// (llama2.c, GGUF or tokenizer.json) and its special tokens, which open it with the
// tokenizer's BOS; a tokenizer without one (GPT-2, early Llama 3 files) needs --doc-token,
// the special token put before each document (as llm.c puts GPT-2's <|endoftext|>),
// recorded in the shards' header. The last --val-fraction of the documents (in input
// order) are val, and with --test-fraction the documents just before them are test (a
// split to read only for final numbers); with --long-doc-tokens N the test documents are
// also written by length: test_long (>= N tokens), test_short. Those fractions need the
// document count first: a counting pass reads the inputs once before the encoding pass.
//
// Encoding runs in batches of documents over the OpenMP threads and writes in input
// order, so the output is the same for any thread count; shards are streamed to disk
// (memory stays bounded by the batch). Everything is written into DIR/.prepare.tmp and
// moved into DIR only once whole, the manifest last: a directory with a manifest.json
// holds one complete run.
#define _POSIX_C_SOURCE 200809L
#include "data.h"
#include "corpus.h"
#include "../util/fs.h"
#include "../util/json.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *USAGE =
    "usage: train prepare --input FILE|GLOB [--input ...] --tokenizer TOK --out DIR [--format text|jsonl] "
    "[--field text] [--skip-bad-lines] [--shard-tokens N] [--threads N] [--val-fraction 0.1] [--test-fraction 0] "
    "[--long-doc-tokens N] [--story-start PREFIX] [--doc-token TOKEN|ID]";

#define BATCH_BYTES ((size_t)1 << 20)   // text per thread in one encoding batch
#define BATCH_DOCS 65536
#define N_SPLITS 5

typedef struct {
    const char **inputs;     // (n_inputs) paths or globs
    size_t n_inputs;
    const char *tok, *out, *doc_name;
    CorpusOptions corpus;
    double val, test;
    size_t long_doc, shard_tokens;
    int threads;
} Options;

// Split: one output — documents [from, to) of the corpus (in input order) of at least
// min and fewer than max tokens — written as shards into the staging directory.
typedef struct {
    const char *name;
    size_t from, to, min, max;
    ShardWriter w;
    int open;
    char **files;            // (n_files) the shards' names, in order
    size_t n_files, docs, tokens;
} Split;

// fraction: the value of --val-fraction or --test-fraction, in [0, 1).
static double fraction(const char *opt, const char *v) {
    char *e;
    double f = strtod(v, &e);
    if (*e || !(f >= 0.0 && f < 1.0)) die("%s must be in [0, 1), got '%s'", opt, v);
    return f;
}

// count: a positive whole number option.
static size_t count(const char *opt, const char *v, long long hi) {
    char *e;
    const long long k = strtoll(v, &e, 10);
    if (*e || !*v || k < 1 || k > hi) die("%s must be a whole number in [1, %lld], got '%s'", opt, hi, v);
    return (size_t)k;
}

static void parse_options(Options *o, int argc, char **argv) {
    *o = (Options){.inputs = xcalloc((size_t)argc + 1, sizeof(char *)), .corpus = {.field = "text"}, .val = 0.1};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--skip-bad-lines")) {
            o->corpus.skip_bad_lines = 1;
            continue;
        }
        if (i + 1 >= argc) die("prepare: %s needs a value (%s)", a, USAGE);
        const char *v = argv[++i];
        if (!strcmp(a, "--input") || !strcmp(a, "--text")) o->inputs[o->n_inputs++] = v;
        else if (!strcmp(a, "--tokenizer")) o->tok = v;
        else if (!strcmp(a, "--out")) o->out = v;
        else if (!strcmp(a, "--story-start")) o->corpus.story_start = v;
        else if (!strcmp(a, "--doc-token")) o->doc_name = v;
        else if (!strcmp(a, "--field")) o->corpus.field = v;
        else if (!strcmp(a, "--format")) {
            if (strcmp(v, "text") && strcmp(v, "jsonl")) die("--format must be text or jsonl, got '%s'", v);
            o->corpus.format = !strcmp(v, "text") ? CORPUS_TEXT : CORPUS_JSONL;
        } else if (!strcmp(a, "--val-fraction")) o->val = fraction(a, v);
        else if (!strcmp(a, "--test-fraction")) o->test = fraction(a, v);
        else if (!strcmp(a, "--long-doc-tokens")) o->long_doc = count(a, v, 0x7fffffff);
        else if (!strcmp(a, "--shard-tokens")) o->shard_tokens = count(a, v, 0x7fffffff);
        else if (!strcmp(a, "--threads")) o->threads = (int)count(a, v, 1024);
        else die("prepare: unknown option '%s' (%s)", a, USAGE);
    }
    if (!o->n_inputs || !o->tok || !o->out) die("prepare: missing --input, --tokenizer or --out (%s)", USAGE);
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
static uint32_t *encode_doc(const Tokenizer *t, WordCache *cache, const char *text, uint32_t doc, size_t *n) {
    size_t k;
    uint32_t *ids = tokenizer_encode(t, cache, text, 1, &k);
    if (t->bos < 0) {
        ids = xrealloc(ids, (k + 1) * sizeof *ids);
        memmove(ids + 1, ids, k * sizeof *ids);
        ids[0] = doc;
        k++;
    }
    *n = k;
    return ids;
}

// Progress: a live line on standard error while it is a terminal (a bar over the inputs'
// bytes, MB/s of text, documents, ETA), and one summary line on standard output.
typedef struct {
    const char *what;
    double t0, shown;
    int tty;
} Progress;

static void progress(Progress *p, const Corpus *c, uint64_t docs, uint64_t text, int final) {
    const double now = now_seconds(), dt = now - p->t0 > 1e-9 ? now - p->t0 : 1e-9;
    if (!final && (!p->tty || now - p->shown < 0.25)) return;
    p->shown = now;
    uint64_t read, total;
    corpus_progress(c, &read, &total);
    const double frac = total ? (double)read / (double)total : 1.0, eta = frac > 0 ? dt * (1 - frac) / frac : 0;
    if (p->tty) {
        char bar[21];
        for (int i = 0; i < 20; i++) bar[i] = i < (int)(20 * frac) ? '#' : '-';
        bar[20] = 0;
        fprintf(stderr, "\r\033[Kprepare: %s [%s] %3.0f%% of %.1f MB, %.1f MB/s, %llu documents, ETA %.0f s",
                p->what, bar, 100 * frac, (double)total / 1e6, (double)text / 1e6 / dt, (unsigned long long)docs, eta);
        if (final) fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    if (final)
        printf("prepare: %s %llu documents, %.1f MB of text in %.1f s (%.2f MB/s, threads: %d)\n", p->what,
               (unsigned long long)docs, (double)text / 1e6, dt, (double)text / 1e6 / dt, omp_get_max_threads());
}

// count_documents: the counting pass.
static size_t count_documents(Corpus *c) {
    Progress p = {"counted", now_seconds(), 0, isatty(STDERR_FILENO)};
    Doc d;
    size_t n = 0;
    uint64_t text = 0;
    while (corpus_next(c, &d)) {
        n++;
        text += d.len;
        progress(&p, c, n, text, 0);
    }
    progress(&p, c, n, text, 1);
    return n;
}

// split_put: append one document's ids to sp (a new shard when the current one would pass
// --shard-tokens; one file per split without it).
static void split_put(Split *sp, const Options *o, const char *stage, int vocab, uint32_t doc, const uint32_t *ids,
                      size_t n) {
    if (sp->open && o->shard_tokens && sp->w.n + n > o->shard_tokens) {
        shard_close(&sp->w);
        sp->open = 0;
    }
    if (n > 0x7fffffff - (sp->open ? sp->w.n : 0))
        die("%s: the %s split passes 2^31-1 tokens, the most one shard holds: give --shard-tokens (e.g. 100000000)",
            o->out, sp->name);
    if (!sp->open) {
        char name[64], *path;
        if (o->shard_tokens) snprintf(name, sizeof name, "%s_%06zu.bin", sp->name, sp->n_files);
        else snprintf(name, sizeof name, "%s.bin", sp->name);
        sp->files = xrealloc(sp->files, (sp->n_files + 1) * sizeof *sp->files);
        sp->files[sp->n_files++] = xstrdup(name);
        shard_open(&sp->w, path = path_join(stage, name), vocab, doc);
        free(path);
        sp->open = 1;
    }
    shard_append(&sp->w, ids, n);
    sp->docs++;
    sp->tokens += n;
}

// DocBatch: documents read and not yet written; text holds them NUL-separated.
typedef struct {
    char *text;
    size_t text_n, text_cap;
    size_t *at, *src, n, cap;   // (cap) each document's offset in text, source file
    uint32_t **ids;             // (cap) its ids, n_ids of them, malloc'd by thread owner
    size_t *n_ids;
    int *owner;
} DocBatch;

static void batch_add(DocBatch *b, const Doc *d) {
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 1024;
        b->at = xrealloc(b->at, b->cap * sizeof *b->at);
        b->src = xrealloc(b->src, b->cap * sizeof *b->src);
        b->ids = xrealloc(b->ids, b->cap * sizeof *b->ids);
        b->n_ids = xrealloc(b->n_ids, b->cap * sizeof *b->n_ids);
        b->owner = xrealloc(b->owner, b->cap * sizeof *b->owner);
    }
    if (b->text_n + d->len + 1 > b->text_cap) b->text = xrealloc(b->text, b->text_cap = 2 * (b->text_n + d->len + 1));
    memcpy(b->text + b->text_n, d->text, d->len + 1);
    b->at[b->n] = b->text_n;
    b->src[b->n++] = d->source;
    b->text_n += d->len + 1;
}

// batch_read: the next documents of c into b, up to `budget` bytes of text; 0 when c
// has no more (b may still hold some).
static int batch_read(Corpus *c, DocBatch *b, size_t budget) {
    Doc d;
    int more = 1;
    b->n = b->text_n = 0;
    while (b->text_n < budget && b->n < BATCH_DOCS && (more = corpus_next(c, &d))) batch_add(b, &d);
    return more;
}

// Sink: where encoded documents go: the splits, by their index g in the corpus.
typedef struct {
    Split *sp;
    int n_splits;
    const Options *o;
    const char *stage;
    int vocab;
    uint32_t doc;
    uint64_t *src_tokens;    // (files) tokens of each source
    size_t g;                // documents written
    uint64_t text;           // their bytes of text
} Sink;

static void batch_write(Sink *k, DocBatch *b) {
    for (size_t i = 0; i < b->n; i++, k->g++) {
        for (int s = 0; s < k->n_splits; s++) {
            Split *sp = &k->sp[s];
            if (k->g >= sp->from && k->g < sp->to && b->n_ids[i] >= sp->min && b->n_ids[i] < sp->max)
                split_put(sp, k->o, k->stage, k->vocab, k->doc, b->ids[i], b->n_ids[i]);
        }
        k->src_tokens[b->src[i]] += b->n_ids[i];
    }
    k->text += b->text_n - b->n;
}

// encode_pass: every document into its splits; returns the document count. While the
// threads encode one batch, the master thread reads the next (then joins the encoding).
// Memory goes back to the thread that allocated it — the reader is always the master, and
// each thread frees the ids it encoded — because glibc puts a chunk freed by another
// thread into that thread's cache, from where its reallocs take the owner's arena lock:
// measured, 2 threads then encoded no faster than one.
static size_t encode_pass(Corpus *c, Sink *k, const Tokenizer *t) {
    Progress p = {"encoded", now_seconds(), 0, isatty(STDERR_FILENO)};
    DocBatch b[2] = {{0}};
    const int threads = omp_get_max_threads();
    const size_t budget = BATCH_BYTES * (size_t)threads;
    WordCache **cache = xmalloc((size_t)threads * sizeof *cache);   // one per thread
    for (int i = 0; i < threads; i++) cache[i] = word_cache_new();
    int more = batch_read(c, &b[0], budget);
    for (int cur = 0; b[cur].n; cur ^= 1) {
        DocBatch *now = &b[cur], *next = &b[cur ^ 1];
        #pragma omp parallel
        {
            const int me = omp_get_thread_num();
            for (size_t i = 0; i < next->n; i++)      // the batch written last: each its own
                if (next->owner[i] == me) free(next->ids[i]);
            #pragma omp barrier
            #pragma omp master
            {
                if (more) more = batch_read(c, next, budget);
                else next->n = 0;
            }
            #pragma omp for schedule(dynamic, 1) nowait
            for (size_t i = 0; i < now->n; i++) {
                now->ids[i] = encode_doc(t, cache[me], now->text + now->at[i], k->doc, &now->n_ids[i]);
                now->owner[i] = me;
            }
        }
        batch_write(k, now);
        progress(&p, c, k->g, k->text, !next->n);
    }
    for (int i = 0; i < 2; i++) {
        for (size_t j = 0; j < b[i].n; j++) free(b[i].ids[j]);
        free(b[i].text), free(b[i].at), free(b[i].src), free(b[i].ids), free(b[i].n_ids), free(b[i].owner);
    }
    for (int i = 0; i < threads; i++) word_cache_free(cache[i]);
    free(cache);
    for (int s = 0; s < k->n_splits; s++)
        if (k->sp[s].open) shard_close(&k->sp[s].w);
    return k->g;
}

// write_manifest: DIR's manifest.json (through the staging directory).
static void write_manifest(const char *stage, const char *out, const Options *o, const Tokenizer *t, uint32_t doc,
                           const Corpus *c, const uint64_t *src_tokens, const Split *sp, int n_splits) {
    char sha[65], *path = path_join(stage, "manifest.json"), *dst = path_join(out, "manifest.json");
    if (file_sha256(o->tok, sha) != 0) die("%s: cannot read it to hash it", o->tok);
    FILE *f = xfopen(path, "w");
    fputs("{\n  \"tokenizer\": {\"path\": ", f);
    json_write_str(f, o->tok);
    fprintf(f, ", \"sha256\": \"%s\", \"vocab\": %d, \"doc_token\": %u},\n", sha, t->vocab, doc);
    fprintf(f, "  \"options\": {\"val_fraction\": %.15g, \"test_fraction\": %.15g, \"long_doc_tokens\": %zu, "
               "\"shard_tokens\": %zu, \"field\": ", o->val, o->test, o->long_doc, o->shard_tokens);
    json_write_str(f, o->corpus.field);
    fputs(", \"story_start\": ", f);
    if (o->corpus.story_start) json_write_str(f, o->corpus.story_start);
    else fputs("null", f);
    fprintf(f, ", \"skip_bad_lines\": %s},\n  \"sources\": [", o->corpus.skip_bad_lines ? "true" : "false");
    for (size_t i = 0; i < c->n_files; i++) {
        const SourceStats *s = &c->stats[i];
        fputs(i ? ",\n    {\"path\": " : "\n    {\"path\": ", f);
        json_write_str(f, c->files[i]);
        fprintf(f, ", \"bytes\": %llu, \"text_bytes\": %llu, \"documents\": %llu, \"tokens\": %llu, "
                   "\"bad_lines\": %llu, \"empty\": %llu}", (unsigned long long)s->bytes,
                (unsigned long long)s->text_bytes, (unsigned long long)s->documents,
                (unsigned long long)src_tokens[i], (unsigned long long)s->bad_lines, (unsigned long long)s->empty);
    }
    fputs("\n  ],\n  \"splits\": {", f);
    for (int s = 0; s < n_splits; s++) {
        fprintf(f, "%s\n    \"%s\": {\"documents\": %zu, \"tokens\": %zu, \"files\": [", s ? "," : "", sp[s].name,
                sp[s].docs, sp[s].tokens);
        for (size_t k = 0; k < sp[s].n_files; k++) {
            if (k) fputs(", ", f);
            json_write_str(f, sp[s].files[k]);
        }
        fputs("]}", f);
    }
    fputs("\n  }\n}\n", f);
    if (fflush(f) != 0 || ferror(f)) die("%s: write failed (disk full?)", path);
    fsync_path(path);
    if (fclose(f) != 0) die("%s: write failed (disk full?)", path);
    rename_path(path, dst);
    free(path);
    free(dst);
}

// is_output: name is one prepare writes: <split>.bin or <split>_NNNNNN.bin.
static int is_output(const char *name, const Split *sp) {
    for (int s = 0; s < N_SPLITS; s++) {
        const size_t k = strlen(sp[s].name);
        if (strncmp(name, sp[s].name, k)) continue;
        const char *r = name + k;
        if (!strcmp(r, ".bin")) return 1;
        if (*r == '_' && strspn(r + 1, "0123456789") >= 6 && !strcmp(r + 1 + strspn(r + 1, "0123456789"), ".bin"))
            return 1;
    }
    return 0;
}

// publish: move the staged shards into DIR (the old manifest removed first, the new one
// written last), and remove the shards of an earlier run that this one did not write.
static void publish(const char *stage, const char *out, const Split *sp, int n_splits) {
    char *old = path_join(out, "manifest.json");
    remove(old);
    free(old);
    size_t n;
    char **names = list_dir(out, &n);
    for (size_t i = 0; i < n; i++) {
        int ours = 0;
        for (int s = 0; s < n_splits; s++)
            for (size_t k = 0; k < sp[s].n_files; k++) ours |= !strcmp(names[i], sp[s].files[k]);
        if (ours || !is_output(names[i], sp)) continue;
        char *p = path_join(out, names[i]);
        if (remove(p) != 0) die("%s: cannot remove this shard of an earlier run", p);
        printf("removed %s (an earlier run's; not written by this one)\n", p);
        free(p);
    }
    free_list(names, n);
    for (int s = 0; s < n_splits; s++)
        for (size_t k = 0; k < sp[s].n_files; k++) {
            char *from = path_join(stage, sp[s].files[k]), *to = path_join(out, sp[s].files[k]);
            rename_path(from, to);
            free(from);
            free(to);
        }
}

int prepare_main(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("%s\n  text (paragraphs) or JSONL (--field), plain, gzip or zstd, into llm.c shards of train / val "
               "(/ test) and manifest.json in DIR (README: prepare at corpus scale)\n", USAGE);
        return 0;
    }
    Options o;
    parse_options(&o, argc, argv);
    if (o.threads) omp_set_num_threads(o.threads);
    Tokenizer tok;
    tokenizer_load(&tok, o.tok);
    const uint32_t doc = doc_token(&tok, o.doc_name, o.tok);
    Corpus c;
    corpus_open(&c, o.inputs, o.n_inputs, &o.corpus);
    size_t n_docs = SIZE_MAX, n_train = SIZE_MAX, n_test = 0;
    if (o.val > 0 || o.test > 0) {               // the splits need the document count
        n_docs = count_documents(&c);
        if (n_docs < 2) die("%s: found %zu documents; need at least 2 to split train/val", o.inputs[0], n_docs);
        const size_t n_val = (size_t)ceil(o.val * (double)n_docs);
        n_test = (size_t)ceil(o.test * (double)n_docs);
        if (n_val + n_test >= n_docs) die("%s: %zu documents leave none to train on after val and test", o.inputs[0], n_docs);
        n_train = n_docs - n_val - n_test;
        corpus_rewind(&c);
    }
    make_dirs(o.out);
    char *stage = path_join(o.out, ".prepare.tmp");
    remove_tree(stage);
    make_dirs(stage);
    const size_t all = SIZE_MAX, t0 = n_train, t1 = n_train == all ? all : n_train + n_test, L = o.long_doc;
    Split sp[N_SPLITS] = {{.name = "train", .from = 0, .to = t0, .max = all},
                          {.name = "val", .from = t1, .to = all, .max = all},
                          {.name = "test", .from = t0, .to = t1, .max = all},
                          {.name = "test_long", .from = t0, .to = t1, .min = L, .max = all},
                          {.name = "test_short", .from = t0, .to = t1, .max = L}};
    const int n_splits = o.val == 0 && o.test == 0 ? 1 : !n_test ? 2 : !L ? 3 : 5;
    uint64_t *src_tokens = xcalloc(c.n_files, sizeof *src_tokens);
    Sink sink = {sp, n_splits, &o, stage, tok.vocab, doc, src_tokens, 0, 0};
    const size_t seen = encode_pass(&c, &sink, &tok);
    if (!seen) die("%s: no documents in the inputs", o.inputs[0]);
    if (n_docs != SIZE_MAX && seen != n_docs)
        die("the inputs changed while prepare read them: %zu documents, then %zu (%s left unpublished)", n_docs, seen,
            stage);
    publish(stage, o.out, sp, n_splits);
    write_manifest(stage, o.out, &o, &tok, doc, &c, src_tokens, sp, n_splits);
    remove_tree(stage);
    fsync_path(o.out);
    for (size_t i = 0; i < c.n_files; i++)
        if (c.stats[i].bad_lines || c.stats[i].empty)
            printf("%s: %llu bad lines skipped, %llu empty documents\n", c.files[i],
                   (unsigned long long)c.stats[i].bad_lines, (unsigned long long)c.stats[i].empty);
    for (int s = 0; s < n_splits; s++) {
        char name[64], shards[32] = "";
        snprintf(name, sizeof name, o.shard_tokens ? "%s_*.bin" : "%s.bin", sp[s].name);
        if (o.shard_tokens) snprintf(shards, sizeof shards, "%zu shards, ", sp[s].n_files);
        char *path = path_join(o.out, name);
        printf("%s: %s%zu documents, %zu tokens\n", path, shards, sp[s].docs, sp[s].tokens);
        free(path);
        free_list(sp[s].files, sp[s].n_files);
    }
    free(src_tokens);
    free(stage);
    corpus_free(&c);
    tokenizer_free(&tok);
    free(o.inputs);
    return 0;
}

// tokenize_text: the ids of one text, one per line (files: on one line, space-separated).
static void tokenize_text(const Tokenizer *t, WordCache *cache, const char *text, size_t len, const char *name, int bos,
                          int one_line) {
    if (strlen(text) != len) die("tokenize: %s holds a NUL byte", name);
    size_t n;
    uint32_t *ids = tokenizer_encode(t, cache, text, bos, &n);
    for (size_t i = 0; i < n; i++) printf("%u%s", ids[i], !one_line ? "\n" : i + 1 < n ? " " : "");
    if (one_line) putchar('\n');
    free(ids);
}

int tokenize_main(int argc, char **argv) {
    static const char *usage = "usage: train tokenize --tokenizer TOK [--no-bos] [FILE...] (no FILE: standard input)";
    if (wants_help(argc, argv)) {
        printf("%s\n  prints the ids of standard input's text one per line, or of each FILE on one line\n", usage);
        return 0;
    }
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
    WordCache *cache = word_cache_new();
    for (int f = 0; f < n_files; f++) {
        size_t len;
        char *text = read_file(files[f], &len);
        tokenize_text(&t, cache, text, len, files[f], bos, 1);
        free(text);
    }
    if (!n_files) {
        size_t len;
        char *text = read_stream(stdin, "standard input", &len);
        tokenize_text(&t, cache, text, len, "the input", bos, 0);
        free(text);
    }
    free(files);
    word_cache_free(cache);
    tokenizer_free(&t);
    return 0;
}
