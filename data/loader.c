// loader.c — packing documents into training sequences, with a seeded document order per
// epoch, length filtering and upsampling, and an exact cursor (data.h).
#include "data.h"
#include "needles.h"

#include <stdlib.h>
#include <string.h>

// add_doc: append the document [start, start + len) `times` times, each time as pieces
// of at most `max` tokens (0: whole), each piece a document of its own.
static void add_doc(Loader *l, size_t *cap, size_t start, size_t len, int times, size_t max) {
    const size_t piece = max ? max : len;
    for (int k = 0; k < times; k++)
        for (size_t off = 0; off < len; off += piece) {
            if (l->n_table == *cap) {
                *cap = *cap ? 2 * *cap : 1024;
                l->doc_start = xrealloc(l->doc_start, *cap * sizeof *l->doc_start);
                l->doc_len = xrealloc(l->doc_len, *cap * sizeof *l->doc_len);
            }
            const size_t n = len - off < piece ? len - off : piece;
            l->doc_start[l->n_table] = start + off;
            l->doc_len[l->n_table++] = n;
            l->src[l->n_src - 1].tokens += n;
        }
}

// index_docs: the documents of tokens [from, to) — a BOS or a file start opens one —
// filtered, upsampled and split as one source (filter and upsampling judge a document by
// its whole length).
static void index_docs(Loader *l, size_t *cap, size_t from, size_t to, size_t min, size_t up_min, int up_factor,
                       size_t max) {
    const Shard *s = l->shard;
    LoaderSource *src = &l->src[l->n_src++];
    src->first = l->n_table;
    for (size_t i = from + 1, start = from; i <= to; i++) {
        if (i < to && !shard_opens_doc(s, i)) continue;
        const size_t len = i - start;
        const int upsample = up_min && len >= up_min;
        if (len >= min) add_doc(l, cap, start, len, upsample ? up_factor : 1, max);
        start = i;
    }
    src->n = l->n_table - src->first;
}

// index_sources: every source's documents and how many of them each epoch takes.
static void index_sources(Loader *l, const LoaderOptions *o) {
    const Shard *s = l->shard;
    const Sources *so = o->sources;
    CHECK(!so || (size_t)so->n == s->n_src, "loader: %d sources for a shard of %zu", so ? so->n : 0, s->n_src);
    size_t cap = 0, all = 0;
    double weights = 0;
    for (size_t k = 0; k < s->n_src; k++) {
        const Source *c = so ? &so->s[k] : NULL;
        const long long min = c && c->min_doc_tokens >= 0 ? c->min_doc_tokens : (long long)o->min_doc_tokens;
        const int own_up = c && c->upsample_factor >= 0;
        index_docs(l, &cap, s->src_start[k], s->src_start[k + 1], (size_t)min,
                   own_up ? (size_t)c->upsample_min_tokens : o->upsample_min_tokens,
                   own_up ? (int)c->upsample_factor : o->upsample_factor, o->max_doc_tokens);
        if (!l->src[k].n && (!c || c->weight != 0))
            die("%s: %s %lld leaves no document (of %zu tokens)", c && *c->where ? c->where : s->path,
                c && c->min_doc_tokens >= 0 ? "min_doc_tokens" : "data.min_doc_tokens", min,
                s->src_start[k + 1] - s->src_start[k]);
        all += l->src[k].tokens;
        weights += c && c->weight > 0 ? c->weight : 0;
    }
    for (size_t k = 0; k < l->n_src; k++) {
        LoaderSource *src = &l->src[k];
        const double w = so && so->s[k].weight >= 0 ? so->s[k].weight : -1;
        src->share = w >= 0 ? w / weights : (double)src->tokens / (double)all;
        const double want = src->n ? (double)src->n * src->share * (double)all / (double)src->tokens : 0;
        src->per_epoch = w < 0 ? src->n : w == 0 ? 0 : want < 1 ? 1 : (size_t)(want + 0.5);
        src->at = l->n_real;
        l->n_real += src->per_epoch;
        src->epoch_tokens = src->per_epoch == src->n ? src->tokens
                            : (size_t)((double)src->per_epoch * (double)src->tokens / (double)src->n + 0.5);
        l->epoch_tokens += src->epoch_tokens;
    }
}

void loader_init(Loader *l, const Shard *s, const LoaderOptions *o, uint64_t seed, int T) {
    memset(l, 0, sizeof *l);
    l->shard = s;
    l->seed = seed;
    index_sources(l, o);
    l->n_docs = l->n_real;
    if (!l->n_docs)
        die("%s: data.min_doc_tokens %zu leaves no document (of %zu tokens)", s->path, o->min_doc_tokens, s->n);
    if (l->epoch_tokens < (size_t)T + 1)
        die("%s: an epoch holds %zu tokens, fewer than one sequence of seq_len + 1 = %d", s->path, l->epoch_tokens, T + 1);
    l->mix = o->mix;
    if (l->mix) {                                 // the mix's documents follow the shard's
        const size_t k = mix_count(l->mix, l->epoch_tokens, T);
        l->n_docs += k;
        l->epoch_tokens += (size_t)((double)k * mix_mean_len(l->mix, T));
    }
    size_t most = 1;
    for (size_t k = 0; k < l->n_src; k++) most = l->src[k].n > most ? l->src[k].n : most;
    l->list = xmalloc((l->n_real ? l->n_real : 1) * sizeof *l->list);
    l->cycle = xmalloc(most * sizeof *l->cycle);
    l->order = xmalloc(l->n_docs * sizeof *l->order);
    l->order_epoch = UINT64_MAX;
}

void loader_free(Loader *l) {
    free(l->doc_start);
    free(l->doc_len);
    free(l->list);
    free(l->cycle);
    free(l->order);
    memset(l, 0, sizeof *l);
}

// shuffle: Fisher–Yates of a[0, n) from r.
static void shuffle(size_t *a, size_t n, Rng *r) {
    for (size_t i = n - 1; n > 1 && i > 0; i--) {
        const size_t j = rng_below(r, i + 1), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

// epoch_list: the shard's documents of `epoch`: source k's per_epoch of them, positions
// [epoch * per_epoch, (epoch + 1) * per_epoch) of its stream of cycles (each cycle its
// documents in an order seeded by (seed, k, cycle); index order when it gives each
// document once per epoch).
static void epoch_list(Loader *l, uint64_t epoch) {
    size_t at = 0;
    for (size_t k = 0; k < l->n_src; k++) {
        const LoaderSource *src = &l->src[k];
        uint64_t made = UINT64_MAX;
        for (size_t j = 0; j < src->per_epoch; j++) {
            if (src->per_epoch == src->n) {
                l->list[at++] = src->first + j;
                continue;
            }
            const uint64_t p = epoch * src->per_epoch + j, cycle = p / src->n;
            if (cycle != made) {
                Rng r = {l->seed ^ ((k + 1) * 0xD1B54A32D192ED03ull) ^ ((cycle + 1) * 0x8CB92BA72F3D8DD7ull)};
                for (size_t i = 0; i < src->n; i++) l->cycle[i] = i;
                shuffle(l->cycle, src->n, &r);
                made = cycle;
            }
            l->list[at++] = src->first + l->cycle[p % src->n];
        }
    }
}

// order_of: the document order of `epoch`: a Fisher–Yates shuffle from its own seed, so
// that any epoch's order is recomputed exactly (kept for the last epoch asked). The
// shuffle places the sources' slots; a source drawn in cycles then fills its slots in
// its cycle order, so that the stream reads its documents in that order.
static const size_t *order_of(Loader *l, uint64_t epoch) {
    if (l->order_epoch != epoch) {
        Rng r = {l->seed ^ ((epoch + 1) * 0x9E3779B97F4A7C15ull)};
        epoch_list(l, epoch);
        for (size_t i = 0; i < l->n_docs; i++) l->order[i] = i;
        shuffle(l->order, l->n_docs, &r);
        size_t next[MAX_SOURCES];
        for (size_t k = 0; k < l->n_src; k++) next[k] = l->src[k].at;
        for (size_t p = 0; p < l->n_docs; p++) {
            if (l->order[p] >= l->n_real) continue;
            size_t k = 0;
            while (l->order[p] >= l->src[k].at + l->src[k].per_epoch) k++;
            if (l->src[k].per_epoch != l->src[k].n) l->order[p] = next[k]++;
        }
        l->order_epoch = epoch;
    }
    return l->order;
}

// doc_tokens: document d of `epoch`'s order: its tokens and length (a mix document is
// drawn when read, for sequences of T tokens: mix_doc).
static const uint32_t *doc_tokens(Loader *l, uint64_t epoch, size_t d, int T, const int **syn, size_t *len) {
    *syn = NULL;
    if (d < l->n_real) {
        *len = l->doc_len[l->list[d]];
        return l->shard->tokens + l->doc_start[l->list[d]];
    }
    *syn = mix_doc(l->mix, epoch, d - l->n_real, T, len);
    return NULL;
}

// gap: under data.mix.whole, the `room` tokens before a mix document that does not fit in
// them, the rest of a sequence: BOS and training text (mix_gap). Returns the count.
static size_t gap(const Loader *l, uint64_t epoch, size_t d, size_t room, int *out, int *opens) {
    const uint32_t *text = mix_gap(l->mix, epoch, d - l->n_real);
    for (size_t i = 0; out && i < room; i++) out[i] = i ? (int)text[i - 1] : (int)l->shard->doc;
    for (size_t i = 0; opens && i < room; i++) opens[i] = i == 0;
    return room;
}

// walk: move c forward by n tokens of the stream, copying them to out and marking in
// opens (1: the token starts a document, else 0) when those are not NULL. The walk
// starts a sequence of T tokens (and n is a whole number of them, or 1): under
// data.mix.whole a mix document that would cross a sequence's end starts the next one,
// after a gap.
static void walk(Loader *l, LoaderCursor *c, size_t n, int T, int *out, int *opens) {
    for (size_t done = 0; done < n;) {
        const int *syn;
        size_t len;
        const size_t d = order_of(l, c->epoch)[c->doc], room = (size_t)T - done % (size_t)T;
        const uint32_t *tok = doc_tokens(l, c->epoch, d, T, &syn, &len);
        if (syn && l->mix->opt.whole && c->offset == 0 && len > room) {
            CHECK(room <= n - done, "loader: a walk of %zu tokens ends inside a sequence of %d", n, T);
            const size_t g = gap(l, c->epoch, d, room, out, opens);
            done += g;
            if (out) out += g;
            if (opens) opens += g;
            continue;
        }
        CHECK(c->offset < len, "loader: offset %llu past document %zu's %zu tokens", (unsigned long long)c->offset, d, len);
        const size_t left = len - c->offset, take = left < n - done ? left : n - done;
        for (size_t i = 0; out && i < take; i++) *out++ = syn ? syn[c->offset + i] : (int)tok[c->offset + i];
        for (size_t i = 0; opens && i < take; i++) *opens++ = c->offset + i == 0;
        done += take;
        c->offset += take;
        if (c->offset == len) {
            c->offset = 0;
            if (++c->doc == l->n_docs) {
                c->doc = 0;
                c->epoch++;
            }
        }
    }
}

void loader_next(Loader *l, int *inputs, int *targets, int *doc, int B, int T) {
    for (int b = 0; b < B; b++) {
        int *in = inputs + (size_t)b * T, *tg = targets + (size_t)b * T;
        walk(l, &l->cur, (size_t)T, T, in, doc ? doc + (size_t)b * T : NULL);
        memcpy(tg, in + 1, ((size_t)T - 1) * sizeof *tg);
        LoaderCursor ahead = l->cur;              // the last target starts the next sequence
        walk(l, &ahead, 1, T, tg + T - 1, NULL);
    }
    if (doc) doc_starts(doc, B, T);
}

void loader_skip(Loader *l, size_t rows, int T) { walk(l, &l->cur, rows * (size_t)T, T, NULL, NULL); }

void loader_seek(Loader *l, LoaderCursor c) {
    const int *syn;
    size_t len = 0;
    if (c.doc < l->n_docs) doc_tokens(l, c.epoch, order_of(l, c.epoch)[c.doc], 0, &syn, &len);
    if (c.doc < l->n_docs && syn && l->mix->opt.whole && c.offset > 0)
        die("%s: the data cursor (epoch %llu, document %llu, offset %llu) is inside a retrieval document, where "
            "data.mix.whole never stops (hint: data.mix.whole was off when the cursor was saved; resume with it off)",
            l->shard->path, (unsigned long long)c.epoch, (unsigned long long)c.doc, (unsigned long long)c.offset);
    if (c.doc >= l->n_docs || c.offset >= len)
        die("%s: the data cursor (epoch %llu, document %llu, offset %llu) does not fit its %zu documents "
            "(hint: data.train, its filters or data.mix changed since the cursor was saved)", l->shard->path,
            (unsigned long long)c.epoch, (unsigned long long)c.doc, (unsigned long long)c.offset, l->n_docs);
    l->cur = c;
}

LoaderCursor loader_cursor(const Loader *l) { return l->cur; }
