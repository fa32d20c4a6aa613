// tok_json.c — reading a Hugging Face tokenizer.json (the `tokenizers` library's
// serialization, tokenizers/src/tokenizer/serialization.rs) into a Tokenizer: model BPE
// (vocab, merges as "a b" strings or [a, b] pairs, unk_token, fuse_unk, byte_fallback,
// ignore_merges), normalizers NFC / Prepend / Replace (String patterns) / Sequence, pre-tokenizers
// Split (Isolated) / ByteLevel / Metaspace / Digits / Sequence, added tokens, and the
// post-processors TemplateProcessing / ByteLevel / Sequence. Anything else is refused with
// the JSON key that names it.
#include "tok_hf.h"

#include <stdlib.h>
#include <string.h>

// The regex of ByteLevel's use_regex (pre_tokenizers/byte_level.rs, GPT-2's).
static const char *GPT2_RE = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// Oniguruma's \s (what `tokenizers` compiles patterns with): Unicode White_Space, which
// PCRE2's \s is not (it adds U+180E); spelled out inside and outside classes.
#define SPACE_SET "\\t-\\r\\x20\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

static const char *str_of(const Json *j, const JsonNode *n, const char *key) {
    if (!n || n->type != JSON_STR) json_fail(j, n ? n : json_root(j), "%s must be a string", key);
    return json_str(j, n);
}

static int bool_of(const Json *j, const JsonNode *obj, const char *name, int dflt) {
    const JsonNode *n = json_get(j, obj, name);
    if (!n || n->type == JSON_NULL) return dflt;
    if (n->type != JSON_BOOL) json_fail(j, n, "'%s' must be true or false", name);
    return (int)n->num;
}

static const char *type_of(const Json *j, const JsonNode *obj, const char *key) {
    const JsonNode *t = json_get(j, obj, "type");
    if (!obj || obj->type != JSON_OBJ || !t) json_fail(j, obj ? obj : json_root(j), "%s needs a \"type\"", key);
    return str_of(j, t, key);
}

// compile: PCRE2 code for an Oniguruma pattern of tokenizer.json (\s, \S rewritten).
static pcre2_code *compile(const Json *j, const JsonNode *at, const char *pat, int literal) {
    size_t cap = strlen(pat) * 8 + 256, n = 0;
    char *re = xmalloc(cap);
    int in_class = 0;
    for (const char *c = pat; *c; c++) {
        if (n + 128 > cap) re = xrealloc(re, cap *= 2);
        if (literal) { re[n++] = *c; continue; }
        if (*c == '\\' && (c[1] == 's' || c[1] == 'S')) {
            if (c[1] == 'S' && in_class) json_fail(j, at, "pattern '%s': \\S inside a class is not supported", pat);
            n += (size_t)sprintf(re + n, in_class ? "%s" : c[1] == 's' ? "[%s]" : "[^%s]", SPACE_SET);
            c++;
            continue;
        }
        if (*c == '\\' && c[1]) { re[n++] = *c++; re[n++] = *c; continue; }
        if (*c == '[' && !in_class) in_class = 1;
        else if (*c == ']' && in_class) in_class = 0;
        re[n++] = *c;
    }
    int err;
    PCRE2_SIZE off;
    const uint32_t opts = literal ? PCRE2_LITERAL | PCRE2_UTF : PCRE2_UTF | PCRE2_UCP;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, n, opts, &err, &off, NULL);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        json_fail(j, at, "pattern '%s' does not compile: %s", pat, (const char *)msg);
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);      // falls back to the interpreter without JIT
    free(re);
    return code;
}

typedef void (*StepFn)(TokHf *h, const Json *j, const JsonNode *n, const char *key);

// sequence: when n is a {"type": "Sequence"}, each step of its `list` through fn; 1 then,
// else 0 (n is one step).
static int sequence(TokHf *h, const Json *j, const JsonNode *n, const char *key, const char *list, StepFn fn) {
    if (strcmp(type_of(j, n, key), "Sequence")) return 0;
    const JsonNode *l = json_get(j, n, list);
    if (!l || l->type != JSON_ARR) json_fail(j, n, "%s.%s must be a list", key, list);
    for (size_t i = 0; i < l->n; i++) fn(h, j, json_at(j, l, i), key);
    return 1;
}

static void normalizer(TokHf *h, const Json *j, const JsonNode *n, const char *key) {
    if (!n || n->type == JSON_NULL || sequence(h, j, n, key, "normalizers", normalizer)) return;
    const char *type = type_of(j, n, key);
    NormStep s = {0};
    if (!strcmp(type, "Prepend")) {
        s.kind = NORM_PREPEND;
        s.a = xstrdup(str_of(j, json_get(j, n, "prepend"), "normalizer.prepend"));
    } else if (!strcmp(type, "Replace")) {
        const JsonNode *pat = json_get(j, n, "pattern"), *lit = json_get(j, pat, "String");
        if (!lit) json_fail(j, pat ? pat : n, "%s.pattern: only {\"String\": ...} patterns are supported (not Regex)", key);
        s.kind = NORM_REPLACE;
        s.a = xstrdup(str_of(j, lit, "normalizer.pattern.String"));
        s.b = xstrdup(str_of(j, json_get(j, n, "content"), "normalizer.content"));
        if (!*s.a) json_fail(j, lit, "%s.pattern: an empty pattern", key);
    } else if (!strcmp(type, "NFC")) {
        s.kind = NORM_NFC;
        s.a = xstrdup("");
    } else {
        json_fail(j, n, "%s.type '%s' is not supported (stretch implements NFC, Prepend, Replace and Sequence; hint: "
                  "tokenizer.json files of Llama 2, Mistral, GPT-2, Llama 3, Qwen2 use these or none)", key, type);
    }
    s.la = strlen(s.a);
    s.lb = s.b ? strlen(s.b) : 0;
    h->norm = xrealloc(h->norm, (size_t)(h->n_norm + 1) * sizeof *h->norm);
    h->norm[h->n_norm++] = s;
}

static void pre_tokenizer(TokHf *h, const Json *j, const JsonNode *n, const char *key) {
    if (!n || n->type == JSON_NULL || sequence(h, j, n, key, "pretokenizers", pre_tokenizer)) return;
    const char *type = type_of(j, n, key);
    PreStep s = {0};
    if (h->byte_level)          // ByteLevel hands later steps its characters, not bytes
        json_fail(j, n, "%s: a step after ByteLevel ('%s') is not supported", key, type);
    if (!strcmp(type, "Split")) {
        const JsonNode *pat = json_get(j, n, "pattern"), *re = json_get(j, pat, "Regex"), *lit = json_get(j, pat, "String");
        const char *behavior = str_of(j, json_get(j, n, "behavior"), "pre_tokenizer.behavior");
        if (strcmp(behavior, "Isolated")) json_fail(j, n, "%s.behavior '%s' is not supported (only Isolated)", key, behavior);
        if (bool_of(j, n, "invert", 0)) json_fail(j, n, "%s.invert true is not supported", key);
        if (!re && !lit) json_fail(j, pat ? pat : n, "%s.pattern needs Regex or String", key);
        s.kind = PRE_SPLIT;
        s.re = compile(j, re ? re : lit, str_of(j, re ? re : lit, "pre_tokenizer.pattern"), !re);
    } else if (!strcmp(type, "ByteLevel")) {
        s.kind = PRE_BYTELEVEL;
        s.prefix_space = bool_of(j, n, "add_prefix_space", 1);
        if (bool_of(j, n, "use_regex", 1)) s.re = compile(j, n, GPT2_RE, 0);
        h->byte_level = 1;
    } else if (!strcmp(type, "Metaspace")) {
        const char *rep = str_of(j, json_get(j, n, "replacement"), "pre_tokenizer.replacement");
        const JsonNode *scheme = json_get(j, n, "prepend_scheme");
        s.kind = PRE_METASPACE;
        if (!rep[0] || strlen(rep) != utf8_len(rep))
            json_fail(j, n, "%s.replacement must be one character", key);
        strcpy(s.rep, rep);
        s.split = bool_of(j, n, "split", 1);
        s.prepend = bool_of(j, n, "add_prefix_space", 1) ? PREPEND_ALWAYS : PREPEND_NEVER;
        if (scheme) {
            const char *v = str_of(j, scheme, "pre_tokenizer.prepend_scheme");
            s.prepend = !strcmp(v, "always") ? PREPEND_ALWAYS : !strcmp(v, "first") ? PREPEND_FIRST : !strcmp(v, "never") ? PREPEND_NEVER : -1;
            if (s.prepend < 0) json_fail(j, scheme, "%s.prepend_scheme '%s' is not always, first or never", key, v);
        }
    } else if (!strcmp(type, "Digits")) {
        s.kind = PRE_SPLIT;
        s.re = compile(j, n, bool_of(j, n, "individual_digits", 0) ? "\\p{N}" : "\\p{N}+", 0);
    } else {
        json_fail(j, n, "%s.type '%s' is not supported (stretch implements Split, ByteLevel, Metaspace, Digits and "
                  "Sequence)", key, type);
    }
    h->pre = xrealloc(h->pre, (size_t)(h->n_pre + 1) * sizeof *h->pre);
    h->pre[h->n_pre++] = s;
}

// The ByteLevel alphabet (GPT-2's bytes_to_unicode): printable bytes stand for
// themselves, the other 68 for U+0100 onwards in byte order.
static void byte_alphabet(int cp_to_byte[324]) {
    for (int c = 0; c < 324; c++) cp_to_byte[c] = -1;
    for (int b = 0, extra = 0; b < 256; b++) {
        const int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        cp_to_byte[printable ? b : 256 + extra++] = b;
    }
}

// raw: s (a ByteLevel vocabulary string) as the bytes it stands for; -1 when a character
// is outside the alphabet. out holds strlen(s) bytes.
static long raw(const char *s, const int cp_to_byte[324], char *out) {
    long n = 0;
    for (const unsigned char *c = (const unsigned char *)s; *c;) {
        int cp;
        if (*c < 0x80) cp = *c++;
        else if ((*c & 0xE0) == 0xC0 && (c[1] & 0xC0) == 0x80) cp = (*c & 0x1F) << 6 | (c[1] & 0x3F), c += 2;
        else return -1;
        if (cp >= 324 || cp_to_byte[cp] < 0) return -1;
        out[n++] = (char)cp_to_byte[cp];
    }
    return n;
}

// text_form: what a vocabulary string reads as (Metaspace's U+2581 as a space).
static char *text_form(const char *s) {
    char *out = xmalloc(strlen(s) + 1), *o = out;
    for (const char *c = s; *c;) {
        if (!strncmp(c, "\xe2\x96\x81", 3)) *o++ = ' ', c += 3;
        else *o++ = *c++;
    }
    *o = 0;
    return out;
}

static int id_of(const Json *j, const JsonNode *n, const char *key) {
    if (!n || n->type != JSON_NUM || !n->n || n->num < 0 || n->num >= (1 << 24))
        json_fail(j, n ? n : json_root(j), "%s must be a token id in [0, 2^24)", key);
    return (int)n->num;
}

// part_id: the id of a merge's part (match form), or a failure naming it.
static int part_id(const Tokenizer *t, const Json *j, const JsonNode *at, const char *s, size_t i, const int *alpha) {
    char *buf = xmalloc(strlen(s) + 1);
    long n = t->hf->byte_level ? raw(s, alpha, buf) : (long)strlen(s);
    const int id = n < 0 ? -1 : tokenizer_lookup(t, t->hf->byte_level ? buf : s, (size_t)n);
    free(buf);
    if (id < 0) json_fail(j, at, "model.merges[%zu]: '%s' is not in model.vocab", i, s);
    return id;
}

static void merges(Tokenizer *t, const Json *j, const JsonNode *list, const int *alpha) {
    TokHf *h = t->hf;
    if (!list || list->type != JSON_ARR) json_fail(j, list ? list : json_root(j), "model.merges must be a list");
    if (list->n >= (1u << 24)) json_fail(j, list, "model.merges: %zu merges (at most 2^24)", list->n);
    for (h->merge_cap = 1; h->merge_cap < 2 * list->n + 2; h->merge_cap *= 2) {}
    h->merge_key = xcalloc(h->merge_cap, sizeof *h->merge_key);
    h->merge_rank = xmalloc(h->merge_cap * sizeof *h->merge_rank);
    h->merge_id = xmalloc(h->merge_cap * sizeof *h->merge_id);
    for (size_t r = 0; r < list->n; r++) {
        const JsonNode *m = json_at(j, list, r);
        int ab[2];
        if (m->type == JSON_STR) {
            const char *s = json_str(j, m), *sp = strchr(s, ' ');
            if (!sp || strchr(sp + 1, ' ')) json_fail(j, m, "model.merges[%zu]: '%s' is not two tokens separated by one space", r, s);
            char *left = xstrdup(s);
            left[sp - s] = 0;
            ab[0] = part_id(t, j, m, left, r, alpha);
            ab[1] = part_id(t, j, m, sp + 1, r, alpha);
            free(left);
        } else if (m->type == JSON_ARR && m->n == 2) {
            for (int k = 0; k < 2; k++) ab[k] = part_id(t, j, m, str_of(j, json_at(j, m, (size_t)k), "model.merges[]"), r, alpha);
        } else {
            json_fail(j, m, "model.merges[%zu] must be \"a b\" or [\"a\", \"b\"]", r);
        }
        const size_t la = t->match_len[ab[0]], lb = t->match_len[ab[1]];
        char *both = xmalloc(la + lb + 1);
        memcpy(both, t->match[ab[0]], la);
        memcpy(both + la, t->match[ab[1]], lb);
        const int id = tokenizer_lookup(t, both, la + lb);
        free(both);
        if (id < 0) json_fail(j, m, "model.merges[%zu]: the merged token is not in model.vocab", r);
        tok_hf_merge_add(h, (uint32_t)ab[0], (uint32_t)ab[1], (uint32_t)r, (uint32_t)id);
    }
}

// template: TemplateProcessing's "single": special tokens before and after $A.
static void template(TokHf *h, const Json *j, const JsonNode *pp) {
    const JsonNode *single = json_get(j, pp, "single"), *specials = json_get(j, pp, "special_tokens");
    if (!single || single->type != JSON_ARR) json_fail(j, pp, "post_processor.single must be a list");
    int seen_a = 0;
    for (size_t i = 0; i < single->n; i++) {
        const JsonNode *item = json_at(j, single, i), *seq = json_get(j, item, "Sequence"), *sp = json_get(j, item, "SpecialToken");
        if (seq) {
            if (seen_a++) json_fail(j, item, "post_processor.single holds $A twice");
            continue;
        }
        if (!sp) json_fail(j, item, "post_processor.single[%zu] is neither Sequence nor SpecialToken", i);
        const char *name = str_of(j, json_get(j, sp, "id"), "post_processor.single[].SpecialToken.id");
        const JsonNode *ids = json_get(j, json_get(j, specials, name), "ids");
        if (!ids || ids->type != JSON_ARR) json_fail(j, sp, "post_processor.special_tokens has no ids for '%s'", name);
        for (size_t k = 0; k < ids->n; k++) {
            int **list = seen_a ? &h->suffix : &h->prefix, *count = seen_a ? &h->n_suffix : &h->n_prefix;
            *list = xrealloc(*list, (size_t)(*count + 1) * sizeof **list);
            (*list)[(*count)++] = id_of(j, json_at(j, ids, k), "post_processor.special_tokens[].ids[]");
        }
    }
    if (!seen_a) json_fail(j, single, "post_processor.single has no Sequence $A");
}

static void post_processor(TokHf *h, const Json *j, const JsonNode *pp) {
    if (!pp || pp->type == JSON_NULL) return;
    const char *type = type_of(j, pp, "post_processor");
    if (!strcmp(type, "ByteLevel")) return;        // offsets only
    if (!strcmp(type, "TemplateProcessing")) {
        if (h->n_prefix || h->n_suffix) json_fail(j, pp, "post_processor: two TemplateProcessing steps");
        template(h, j, pp);
        return;
    }
    if (!strcmp(type, "Sequence")) {
        const JsonNode *list = json_get(j, pp, "processors");
        if (!list || list->type != JSON_ARR) json_fail(j, pp, "post_processor.processors must be a list");
        for (size_t i = 0; i < list->n; i++) post_processor(h, j, json_at(j, list, i));
        return;
    }
    json_fail(j, pp, "post_processor.type '%s' is not supported (stretch implements TemplateProcessing, ByteLevel and "
              "Sequence)", type);
}

static int cmp_added(const void *a, const void *b) {
    const AddedToken *x = a, *y = b;
    return x->len != y->len ? (x->len < y->len ? 1 : -1) : x->id - y->id;
}

// added_id: the id the tokenizers library gives added token i (added_vocabulary.rs
// add_tokens): an earlier added token's or the vocabulary's id of its content, else the
// next id past the vocabulary (n_vocab entries) and past the added ids so far (*top).
static int added_id(const Tokenizer *t, const int *alpha, const AddedToken *ks, int i, int n_vocab, int *top) {
    const AddedToken *k = &ks[i];
    int id = -1;
    for (int e = 0; e < i && id < 0; e++)
        if (!strcmp(ks[e].content, k->content)) id = ks[e].id;
    if (id < 0) {
        char *b = xmalloc(k->len + 1);
        const long n = t->hf->byte_level ? raw(k->content, alpha, b) : (long)k->len;
        id = n < 0 ? -1 : tokenizer_lookup(t, t->hf->byte_level ? b : k->content, (size_t)n);
        free(b);
    }
    if (id < 0) id = *top < 0 ? n_vocab : *top >= n_vocab ? *top + 1 : n_vocab;
    *top = id > *top ? id : *top;
    return id;
}

// added_tokens: model.vocab already indexed; each token's id checked against the one the
// library would give it (a file whose ids disagree encodes differently there), matched as
// written or, with normalized: true, as the normalizer writes it.
static void added_tokens(Tokenizer *t, const Json *j, const JsonNode *list, const int *alpha, int n_vocab) {
    TokHf *h = t->hf;
    if (!list || list->type == JSON_NULL) return;
    if (list->type != JSON_ARR) json_fail(j, list, "added_tokens must be a list");
    h->added = xcalloc(list->n + 1, sizeof *h->added);
    for (int i = 0, top = -1; i < (int)list->n; i++) {
        const JsonNode *a = json_at(j, list, (size_t)i);
        AddedToken *k = &h->added[h->n_added++];
        k->content = xstrdup(str_of(j, json_get(j, a, "content"), "added_tokens[].content"));
        k->len = strlen(k->content);
        k->id = id_of(j, json_get(j, a, "id"), "added_tokens[].id");
        k->lstrip = bool_of(j, a, "lstrip", 0);
        k->rstrip = bool_of(j, a, "rstrip", 0);
        k->normalized = bool_of(j, a, "normalized", 0);
        if (bool_of(j, a, "single_word", 0)) json_fail(j, a, "added_tokens[%d].single_word true is not supported", i);
        if (!k->len) json_fail(j, a, "added_tokens[%d].content is empty", i);
        const int want = added_id(t, alpha, h->added, i, n_vocab, &top);
        if (k->id != want)
            json_fail(j, a, "added_tokens[%d] '%s' has id %d, but Hugging Face's tokenizers gives it %d (its "
                      "vocabulary id, or the next free one)", i, k->content, k->id, want);
        if (!t->pieces[k->id]) t->pieces[k->id] = xstrdup(k->content);
        if (k->normalized) {
            char *norm = tok_hf_normalize(h, k->content, &k->len);
            free(k->content);
            k->content = norm;
            if (!k->len) json_fail(j, a, "added_tokens[%d] normalizes to nothing", i);
        }
        h->first[k->normalized][(unsigned char)k->content[0]] = 1;
    }
    qsort(h->added, (size_t)h->n_added, sizeof *h->added, cmp_added);
}

static void model_options(TokHf *h, const Json *j, const JsonNode *model) {
    const JsonNode *dropout = json_get(j, model, "dropout");
    if (dropout && dropout->type != JSON_NULL && !(dropout->type == JSON_NUM && dropout->num == 0))
        json_fail(j, dropout, "model.dropout: BPE dropout is not supported (set it to null)");
    const char *affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++) {
        const JsonNode *n = json_get(j, model, affixes[i]);
        if (n && n->type != JSON_NULL && (n->type != JSON_STR || n->n))
            json_fail(j, n, "model.%s is not supported (only null or \"\")", affixes[i]);
    }
    h->fuse_unk = bool_of(j, model, "fuse_unk", 0);
    h->byte_fallback = bool_of(j, model, "byte_fallback", 0);
    h->ignore_merges = bool_of(j, model, "ignore_merges", 0);
}

// vocab: the ids of model.vocab and added_tokens give V; match forms and pieces of each.
static void vocab(Tokenizer *t, const Json *j, const JsonNode *v, const JsonNode *added, const int *alpha) {
    if (!v || v->type != JSON_OBJ) json_fail(j, v ? v : json_root(j), "model.vocab must be an object of token: id");
    int V = 0;
    for (size_t i = 0; i < v->n; i++) {
        const int id = id_of(j, json_at(j, v, i), "model.vocab values");
        V = id + 1 > V ? id + 1 : V;
    }
    for (size_t i = 0; added && added->type == JSON_ARR && i < added->n; i++) {
        const int id = id_of(j, json_get(j, json_at(j, added, i), "id"), "added_tokens[].id");
        V = id + 1 > V ? id + 1 : V;
    }
    t->vocab = V;
    t->pieces = xcalloc((size_t)V, sizeof *t->pieces);
    t->match = xcalloc((size_t)V, sizeof *t->match);
    t->match_len = xcalloc((size_t)V, sizeof *t->match_len);
    for (size_t i = 0; i < v->n; i++) {
        const JsonNode *m = json_at(j, v, i);
        const int id = (int)m->num;
        const char *s = json_key(j, m);
        if (t->match[id]) json_fail(j, m, "model.vocab: id %d given twice ('%s')", id, s);
        if (t->hf->byte_level) {
            char *b = xmalloc(strlen(s) + 1);
            const long n = raw(s, alpha, b);
            if (n < 0) json_fail(j, m, "model.vocab: '%s' has a character outside ByteLevel's 256-byte alphabet", s);
            b[n] = 0;
            t->match[id] = b;
            t->match_len[id] = (uint32_t)n;
            t->pieces[id] = xmalloc((size_t)n + 1);
            memcpy(t->pieces[id], b, (size_t)n + 1);
        } else {
            t->match[id] = xstrdup(s);
            t->match_len[id] = (uint32_t)strlen(s);
            t->pieces[id] = text_form(s);
        }
    }
}

void tokenizer_load_json(Tokenizer *t, const char *path) {
    memset(t, 0, sizeof *t);
    size_t len;
    char *text = read_file(path, &len);
    Json j;
    json_parse(&j, path, text, len);
    free(text);
    const JsonNode *root = json_root(&j), *model = json_get(&j, root, "model");
    if (!model || model->type != JSON_OBJ) json_fail(&j, root, "no \"model\" object: not a Hugging Face tokenizer.json");
    const JsonNode *mt = json_get(&j, model, "type");
    const char *type = mt ? str_of(&j, mt, "model.type") : json_get(&j, model, "merges") ? "BPE" : "(none)";
    if (strcmp(type, "BPE"))
        json_fail(&j, mt ? mt : model, "model.type '%s' is not supported (only BPE: Llama, Mistral, GPT-2, Llama 3, Qwen)", type);
    const char *off[] = {"truncation", "padding"};
    for (int i = 0; i < 2; i++) {
        const JsonNode *n = json_get(&j, root, off[i]);
        if (n && n->type != JSON_NULL) json_fail(&j, n, "%s is set: stretch encodes whole documents (set it to null)", off[i]);
    }
    TokHf *h = t->hf = xcalloc(1, sizeof *t->hf);
    normalizer(h, &j, json_get(&j, root, "normalizer"), "normalizer");
    pre_tokenizer(h, &j, json_get(&j, root, "pre_tokenizer"), "pre_tokenizer");
    model_options(h, &j, model);
    int alpha[324];
    byte_alphabet(alpha);
    const JsonNode *added = json_get(&j, root, "added_tokens");
    const JsonNode *vocab_node = json_get(&j, model, "vocab");
    vocab(t, &j, vocab_node, added, alpha);
    tokenizer_index(t, path);
    added_tokens(t, &j, added, alpha, (int)vocab_node->n);
    const JsonNode *unk = json_get(&j, model, "unk_token");
    h->unk = -1;
    if (unk && unk->type != JSON_NULL) {
        const char *u = str_of(&j, unk, "model.unk_token");
        char *b = xmalloc(strlen(u) + 1);
        const long n = h->byte_level ? raw(u, alpha, b) : (long)strlen(u);
        h->unk = n < 0 ? -1 : tokenizer_lookup(t, h->byte_level ? b : u, (size_t)n);
        free(b);
        if (h->unk < 0) json_fail(&j, unk, "model.unk_token '%s' is not in model.vocab", u);
    }
    merges(t, &j, json_get(&j, model, "merges"), alpha);
    post_processor(h, &j, json_get(&j, root, "post_processor"));
    for (int i = 0; i < h->n_prefix + h->n_suffix; i++) {
        const int id = i < h->n_prefix ? h->prefix[i] : h->suffix[i - h->n_prefix];
        if (id >= t->vocab || !t->pieces[id]) json_fail(&j, root, "post_processor: special token id %d is no token", id);
    }
    t->bos = h->n_prefix ? h->prefix[0] : -1;
    for (int i = 0; !h->ignore_merges && !h->byte_level && i < h->n_norm; i++)   // words split at the space mark
        if (h->norm[i].kind == NORM_REPLACE && !strcmp(h->norm[i].a, " ") && (h->n_pre == 0 ||
            (h->n_pre == 1 && h->pre[0].kind == PRE_METASPACE && !h->pre[0].split)))
            tokenizer_set_sep(t, h->norm[i].b);
    if (!h->ignore_merges && h->n_pre == 1 && h->pre[0].kind == PRE_METASPACE && !h->pre[0].split)
        tokenizer_set_sep(t, h->pre[0].rep);
    json_free(&j);
}
