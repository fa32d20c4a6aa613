// json.c — see json.h. Recursive descent over RFC 8259 with a depth limit; each
// container's children are gathered on a stack and appended to Json.kids when it closes,
// so they are contiguous.
#include "json.h"
#include "util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 512

typedef struct {
    Json *j;
    const char *s, *end, *line_start;
    int line;
    size_t n_nodes, cap_nodes, n_kids, cap_kids, n_chars, cap_chars, n_stack, cap_stack;
    size_t *stack;         // children of the open containers, innermost last
    jmp_buf *fail;         // json_try_parse: where an error returns to (NULL: die)
    char *err;             // (err_cap) json_try_parse's message
    size_t err_cap;
} Parser;

#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 2, 3)))
#endif
static void perr(const Parser *p, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const int col = (int)(p->s - p->line_start) + 1;
    if (p->fail) {
        const int k = snprintf(p->err, p->err_cap, "%d:%d: ", p->line, col);
        if (k >= 0 && (size_t)k < p->err_cap) vsnprintf(p->err + k, p->err_cap - (size_t)k, fmt, ap);
        va_end(ap);
        longjmp(*p->fail, 1);
    }
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    die("%s:%d:%d: %s (not valid JSON)", p->j->source, p->line, col, msg);
}

static void skip_ws(Parser *p) {
    for (; p->s < p->end; p->s++) {
        if (*p->s == '\n') p->line++, p->line_start = p->s + 1;
        else if (*p->s != ' ' && *p->s != '\t' && *p->s != '\r') return;
    }
}

static size_t new_node(Parser *p, JsonType type) {
    if (p->n_nodes == p->cap_nodes)
        p->j->nodes = xrealloc(p->j->nodes, (p->cap_nodes = p->cap_nodes * 2 + 64) * sizeof(JsonNode));
    JsonNode *n = &p->j->nodes[p->n_nodes];
    memset(n, 0, sizeof *n);
    n->type = type;
    n->line = p->line;
    n->col = (int)(p->s - p->line_start) + 1;
    return p->n_nodes++;
}

static void put_char(Parser *p, char c) {
    if (p->n_chars == p->cap_chars) p->j->chars = xrealloc(p->j->chars, p->cap_chars = p->cap_chars * 2 + 4096);
    p->j->chars[p->n_chars++] = c;
}

static unsigned hex4(Parser *p) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++, p->s++) {
        const char c = p->s < p->end ? *p->s : 0;
        const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) perr(p, "\\u needs four hex digits");
        v = v * 16 + (unsigned)d;
    }
    return v;
}

static void put_utf8(Parser *p, unsigned c) {
    if (c < 0x80) put_char(p, (char)c);
    else if (c < 0x800) put_char(p, (char)(0xC0 | c >> 6)), put_char(p, (char)(0x80 | (c & 0x3F)));
    else if (c < 0x10000) {
        put_char(p, (char)(0xE0 | c >> 12));
        put_char(p, (char)(0x80 | (c >> 6 & 0x3F)));
        put_char(p, (char)(0x80 | (c & 0x3F)));
    } else {
        put_char(p, (char)(0xF0 | c >> 18));
        put_char(p, (char)(0x80 | (c >> 12 & 0x3F)));
        put_char(p, (char)(0x80 | (c >> 6 & 0x3F)));
        put_char(p, (char)(0x80 | (c & 0x3F)));
    }
}

// utf8_char: the UTF-8 character at p->s copied to chars; invalid UTF-8 is an error (RFC
// 8259 text is UTF-8; the tokenizers library refuses such a file too).
static void utf8_char(Parser *p) {
    const unsigned char *s = (const unsigned char *)p->s, b = s[0];
    const int need = b >= 0xC2 && b <= 0xDF ? 1 : b >= 0xE0 && b <= 0xEF ? 2 : b >= 0xF0 && b <= 0xF4 ? 3 : 0;
    unsigned lo = b == 0xE0 ? 0xA0 : b == 0xF0 ? 0x90 : 0x80, hi = b == 0xED ? 0x9F : b == 0xF4 ? 0x8F : 0xBF;
    if (!need || p->end - p->s <= need) perr(p, "invalid UTF-8 byte 0x%02x in a string", b);
    for (int k = 1; k <= need; k++, lo = 0x80, hi = 0xBF)
        if (s[k] < lo || s[k] > hi) perr(p, "invalid UTF-8 in a string (byte 0x%02x after 0x%02x)", s[k], b);
    for (int k = 0; k <= need; k++) put_char(p, (char)s[k]);
    p->s += need + 1;
}

// string: the string at p->s (at its '"') into chars; returns its offset, *len its bytes.
static size_t string(Parser *p, size_t *len) {
    const size_t at = p->n_chars;
    p->s++;
    for (;;) {
        if (p->s >= p->end) perr(p, "unterminated string");
        const unsigned char c = (unsigned char)*p->s;
        if (c == '"') break;
        if (c < 0x20) perr(p, "control character 0x%02x inside a string (must be escaped)", c);
        if (c >= 0x80) { utf8_char(p); continue; }
        if (c != '\\') { put_char(p, (char)c); p->s++; continue; }
        p->s++;
        const char e = p->s < p->end ? *p->s++ : 0;
        const char *simple = strchr("\"\\/bfnrt", e), *to = "\"\\/\b\f\n\r\t";
        if (e && simple) { put_char(p, to[simple - "\"\\/bfnrt"]); continue; }
        if (e != 'u') perr(p, "unknown escape '\\%c'", e ? e : '0');
        unsigned u = hex4(p);
        if (u >= 0xDC00 && u < 0xE000) perr(p, "lone low surrogate \\u%04X", u);
        if (u >= 0xD800 && u < 0xDC00) {
            if (p->end - p->s < 6 || p->s[0] != '\\' || p->s[1] != 'u') perr(p, "high surrogate \\u%04X without its low half", u);
            p->s += 2;
            const unsigned lo = hex4(p);
            if (lo < 0xDC00 || lo >= 0xE000) perr(p, "high surrogate \\u%04X followed by \\u%04X", u, lo);
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (!u) perr(p, "\\u0000 in a string is not supported (strings are C strings here)");
        put_utf8(p, u);
    }
    p->s++;
    *len = p->n_chars - at;
    put_char(p, 0);
    return at;
}

static void push_child(Parser *p, size_t idx) {
    if (p->n_stack == p->cap_stack) p->stack = xrealloc(p->stack, (p->cap_stack = p->cap_stack * 2 + 256) * sizeof(size_t));
    p->stack[p->n_stack++] = idx;
}

// close: node idx's children are the stack's top n entries; move them to kids.
static void close_container(Parser *p, size_t idx, size_t n) {
    if (p->n_kids + n > p->cap_kids)
        p->j->kids = xrealloc(p->j->kids, (p->cap_kids = (p->n_kids + n) * 2 + 256) * sizeof(size_t));
    if (n) memcpy(p->j->kids + p->n_kids, p->stack + p->n_stack - n, n * sizeof(size_t));
    p->j->nodes[idx].at = p->n_kids;
    p->j->nodes[idx].n = n;
    p->n_kids += n;
    p->n_stack -= n;
}

static int literal(Parser *p, const char *word) {
    const size_t k = strlen(word);
    if ((size_t)(p->end - p->s) < k || memcmp(p->s, word, k)) return 0;
    p->s += k;
    return 1;
}

static size_t value(Parser *p, int depth);

static size_t container(Parser *p, int depth, int obj) {
    if (depth > JSON_MAX_DEPTH) perr(p, "nested deeper than %d", JSON_MAX_DEPTH);
    const size_t idx = new_node(p, obj ? JSON_OBJ : JSON_ARR);
    size_t n = 0;
    p->s++;
    skip_ws(p);
    if (p->s < p->end && *p->s == (obj ? '}' : ']')) { p->s++; close_container(p, idx, 0); return idx; }
    for (;;) {
        size_t key = 0, len;
        skip_ws(p);
        if (obj) {
            if (p->s >= p->end || *p->s != '"') perr(p, "expected a member name in double quotes");
            key = string(p, &len) + 1;
            skip_ws(p);
            if (p->s >= p->end || *p->s != ':') perr(p, "expected ':' after a member name");
            p->s++;
        }
        const size_t v = value(p, depth + 1);
        p->j->nodes[v].key = key;
        push_child(p, v);
        n++;
        skip_ws(p);
        if (p->s < p->end && *p->s == ',') { p->s++; continue; }
        if (p->s < p->end && *p->s == (obj ? '}' : ']')) { p->s++; break; }
        perr(p, "expected ',' or '%c'", obj ? '}' : ']');
    }
    close_container(p, idx, n);
    return idx;
}

static size_t value(Parser *p, int depth) {
    skip_ws(p);
    if (p->s >= p->end) perr(p, "unexpected end of input");
    const char c = *p->s;
    if (c == '{' || c == '[') return container(p, depth, c == '{');
    if (c == '"') {
        const size_t idx = new_node(p, JSON_STR);
        size_t len;
        const size_t at = string(p, &len);
        p->j->nodes[idx].at = at;
        p->j->nodes[idx].n = len;
        return idx;
    }
    const size_t idx = new_node(p, JSON_NULL);
    JsonNode *n = &p->j->nodes[idx];
    if (literal(p, "null")) return idx;
    if (literal(p, "true") || literal(p, "false")) {
        n->type = JSON_BOOL;
        n->num = p->s[-1] == 'e' && p->s[-2] == 'u';
        return idx;
    }
    const char *q = p->s;                          // -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?
    if (q < p->end && *q == '-') q++;
    const char *digits = q;
    while (q < p->end && *q >= '0' && *q <= '9') q++;
    if (q == digits || (*digits == '0' && q - digits > 1)) perr(p, "unexpected '%c'", c);
    if (q < p->end && *q == '.') {
        const char *f = ++q;
        while (q < p->end && *q >= '0' && *q <= '9') q++;
        if (q == f) perr(p, "a number needs digits after '.'");
    }
    if (q < p->end && (*q == 'e' || *q == 'E')) {
        if (++q < p->end && (*q == '+' || *q == '-')) q++;
        const char *e = q;
        while (q < p->end && *q >= '0' && *q <= '9') q++;
        if (q == e) perr(p, "a number needs digits in its exponent");
    }
    char buf[400];
    const size_t k = (size_t)(q - p->s);
    if (k >= sizeof buf) perr(p, "a number of %zu characters", k);
    memcpy(buf, p->s, k);
    buf[k] = 0;
    n->type = JSON_NUM;
    n->num = strtod(buf, NULL);
    n->n = !strpbrk(buf, ".eE");                   // an integer literal
    p->s = q;
    return idx;
}

// parse: the document of p's text into p->j (p->fail set: an error longjmps there).
static void parse(Parser *p) {
    if (p->end - p->s >= 3 && !memcmp(p->s, "\xEF\xBB\xBF", 3)) p->s += 3, p->line_start += 3;
    value(p, 0);
    skip_ws(p);
    if (p->s != p->end) perr(p, "unexpected text after the JSON value");
    p->j->n_nodes = p->n_nodes;
    free(p->stack);
}

void json_parse(Json *j, const char *source, const char *text, size_t len) {
    memset(j, 0, sizeof *j);
    j->source = source;
    Parser p = {.j = j, .s = text, .end = text + len, .line_start = text, .line = 1};
    parse(&p);
}

int json_try_parse(Json *j, const char *source, const char *text, size_t len, char *err, size_t cap) {
    memset(j, 0, sizeof *j);
    j->source = source;
    jmp_buf fail;
    Parser *p = xcalloc(1, sizeof *p);             // on the heap: unchanged by longjmp
    *p = (Parser){.j = j, .s = text, .end = text + len, .line_start = text, .line = 1, .fail = &fail, .err = err,
                  .err_cap = cap};
    if (setjmp(fail)) {
        free(p->stack);
        free(p);
        json_free(j);
        return -1;
    }
    parse(p);
    free(p);
    return 0;
}

void json_free(Json *j) {
    free(j->nodes);
    free(j->kids);
    free(j->chars);
    memset(j, 0, sizeof *j);
}

const JsonNode *json_root(const Json *j) { return &j->nodes[0]; }

const JsonNode *json_at(const Json *j, const JsonNode *n, size_t i) {
    CHECK((n->type == JSON_ARR || n->type == JSON_OBJ) && i < n->n, "json_at: index %zu of a node of %zu", i, n->n);
    return &j->nodes[j->kids[n->at + i]];
}

const JsonNode *json_get(const Json *j, const JsonNode *obj, const char *key) {
    if (!obj || obj->type != JSON_OBJ) return NULL;
    for (size_t i = obj->n; i-- > 0;) {            // the last of a repeated key, as JavaScript and Python take
        const JsonNode *m = json_at(j, obj, i);
        if (!strcmp(j->chars + m->key - 1, key)) return m;
    }
    return NULL;
}

const char *json_str(const Json *j, const JsonNode *n) {
    CHECK(n->type == JSON_STR, "json_str on a node of type %d", (int)n->type);
    return j->chars + n->at;
}

const char *json_key(const Json *j, const JsonNode *n) { return n->key ? j->chars + n->key - 1 : ""; }

void json_fail(const Json *j, const JsonNode *n, const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    die("%s:%d:%d: %s", j->source, n->line, n->col, msg);
}

// utf8_valid: the bytes of the well-formed UTF-8 character at s (RFC 3629), or 0.
static size_t utf8_valid(const unsigned char *s) {
    const size_t k = utf8_len((const char *)s);
    const unsigned lo = s[0] == 0xE0 ? 0xA0 : s[0] == 0xF0 ? 0x90 : 0x80, hi = s[0] == 0xED ? 0x9F : s[0] == 0xF4 ? 0x8F : 0xBF;
    if (k == 1) return s[0] < 0x80;
    if (s[0] < 0xC2 || s[0] > 0xF4 || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < k; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return k;
}

void json_write_str(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        const size_t k = utf8_valid(p);
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else if (!k) fputs("\xEF\xBF\xBD", f);           // not UTF-8: U+FFFD
        else fwrite(p, 1, k, f);
        p += k ? k : 1;
    }
    fputc('"', f);
}
