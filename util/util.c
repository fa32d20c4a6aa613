// util.c — see util.h.
#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int die_rank = 0;

void die_set_rank(int rank) { die_rank = rank; }

// defer_to_rank0: on rank k > 0 of a multi-rank run, wait DIE_RANK_WAIT seconds: when
// every rank meets the same failure (a config error), mpirun has ended the others by
// then on seeing rank 0 exit, and only rank 0's account is shown.
#define DIE_RANK_WAIT 3
void defer_to_rank0(void) {
    struct timespec t = {DIE_RANK_WAIT, 0};
    if (die_rank > 0)
        while (nanosleep(&t, &t) != 0 && errno == EINTR) {}
}

// die_prefix: "stretch: ", or "stretch: rank k: " (after defer_to_rank0) on rank k > 0.
static void die_prefix(void) {
    fflush(stdout);
    defer_to_rank0();
    if (die_rank > 0) fprintf(stderr, "stretch: rank %d: ", die_rank);
    else fputs("stretch: ", stderr);
}

static jmp_buf *die_jump;                // die_catch's target (fuzz harnesses), else NULL

void die_catch(jmp_buf *jb) { die_jump = jb; }

void die(const char *fmt, ...) {
    if (die_jump) longjmp(*die_jump, 1);
    va_list ap;
    va_start(ap, fmt);
    die_prefix();
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(EXIT_USER);
}

void check_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    die_prefix();
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " [%s:%d]\n", file, line);
    va_end(ap);
    if (die_jump) abort();               // under a fuzz harness a failed check is a bug: a crash
    exit(EXIT_USER);
}

void *xmalloc_at(size_t n, const char *file, int line) {
    void *p = malloc(n ? n : 1);
    if (!p) check_fail(file, line, "out of memory allocating %zu bytes (hint: lower seq_len or micro_batch)", n);
    return p;
}

void *xcalloc_at(size_t n, size_t size, const char *file, int line) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) check_fail(file, line, "out of memory allocating %zu x %zu bytes (hint: lower seq_len or micro_batch)", n, size);
    return p;
}

void *xrealloc_at(void *p, size_t n, const char *file, int line) {
    void *q = realloc(p, n ? n : 1);
    if (!q) check_fail(file, line, "out of memory reallocating %zu bytes", n);
    return q;
}

char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = xmalloc(n);
    memcpy(d, s, n);
    return d;
}

FILE *xfopen(const char *path, const char *mode) {
    FILE *f = fopen(path, mode);
    if (!f) die("%s: cannot open for %s: %s", path, mode[0] == 'r' ? "reading" : "writing", strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) die("%s: is a directory, not a file", path);
    return f;
}

void xfread(void *dst, size_t n, FILE *f, const char *path, const char *what) {
    if (n && fread(dst, 1, n, f) != n) die("%s: truncated: file ends inside %s", path, what);
}

int fault_at(const char *point, long long k) {
    const char *f = getenv("STRETCH_FAULT");
    char want[64];
    snprintf(want, sizeof want, "%s:%lld", point, k);
    return f && !strcmp(f, want);
}

static long long writes;                 // fault_write's count

static void print_writes(void) { fprintf(stderr, "stretch: STRETCH_FAULT=count-writes: %lld\n", writes); }

void fault_write(void) {
    static long long at = -1;
    if (at < 0) {
        const char *f = getenv("STRETCH_FAULT");
        at = f && !strncmp(f, "kill-at-write:", 14) ? atoll(f + 14) : 0;
        if (f && !strcmp(f, "count-writes")) atexit(print_writes);
    }
    if (++writes == at) raise(SIGKILL);
}

void xfwrite(const void *src, size_t n, FILE *f, const char *path) {
    fault_write();
    if (n && fwrite(src, 1, n, f) != n)
        die("%s: write failed: %s%s", path, strerror(errno), errno == ENOSPC || errno == EFBIG ? " (disk full?)" : "");
}

size_t file_size(FILE *f, const char *path) {
    if (fseek(f, 0, SEEK_END) != 0) die("%s: cannot seek: %s", path, strerror(errno));
    long n = ftell(f);
    if (n < 0) die("%s: cannot tell size: %s", path, strerror(errno));
    rewind(f);
    return (size_t)n;
}

char *read_file(const char *path, size_t *len) {
    FILE *f = xfopen(path, "rb");
    size_t n = file_size(f, path);
    char *buf = xmalloc(n + 1);
    xfread(buf, n, f, path, "the file");
    buf[n] = '\0';
    fclose(f);
    if (len) *len = n;
    return buf;
}

size_t utf8_len(const char *s) {
    const unsigned char c = (unsigned char)*s;
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

char *read_stream(FILE *f, const char *name, size_t *len) {
    size_t cap = 1 << 16, n = 0, k;
    char *buf = xmalloc(cap + 1);
    while ((k = fread(buf + n, 1, cap - n, f)) > 0)
        if ((n += k) == cap) buf = xrealloc(buf, (cap *= 2) + 1);
    if (ferror(f)) die("%s: read failed", name);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

void make_dirs(const char *path) {
    char *p = xstrdup(path);
    for (char *s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) die("%s: cannot create directory: %s", p, strerror(errno));
            *s = c;
            if (c == '\0') break;
        }
    }
    free(p);
}

char *path_join(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = xmalloc(n);
    snprintf(s, n, "%s/%s", a, b);
    return s;
}

char *with_suffix(const char *path, const char *suffix) {
    char *s = xmalloc(strlen(path) + strlen(suffix) + 1);
    return strcat(strcpy(s, path), suffix);
}

void appendf(char *buf, size_t cap, size_t *n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(*n < cap ? buf + *n : NULL, *n < cap ? cap - *n : 0, fmt, ap);
    va_end(ap);
    *n += k > 0 ? (size_t)k : 0;
}

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

uint64_t rng_u64(Rng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double rng_uniform(Rng *r) { return (double)(rng_u64(r) >> 11) * (1.0 / 9007199254740992.0); }

float rng_normal(Rng *r) {
    double u1 = rng_uniform(r), u2 = rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

size_t rng_below(Rng *r, size_t n) {
    if (n == 0) return 0;
    return (size_t)(rng_u64(r) % (uint64_t)n);
}

float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    float v;
    if (exp == 0) v = ldexpf((float)man, -24);                       // zero / subnormal
    else if (exp == 31) v = man ? NAN : INFINITY;
    else v = ldexpf((float)(man | 0x400), (int)exp - 25);
    return sign ? -v : v;
}

float bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

uint16_t f32_to_f16(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    const uint32_t sign = (u >> 16) & 0x8000, exp = (u >> 23) & 0xff, man = u & 0x7fffff;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));   // inf, nan
    const int e = (int)exp - 127 + 15;                                     // the half's biased exponent
    if (e >= 31) return (uint16_t)(sign | 0x7c00);
    uint32_t half, rem, mid;
    if (e <= 0) {                                                          // subnormal half: units of 2^-24
        if (e < -10) return (uint16_t)sign;
        const uint32_t m = man | 0x800000, shift = (uint32_t)(14 - e);
        half = m >> shift, rem = m & ((1u << shift) - 1), mid = 1u << (shift - 1);
    } else {
        half = ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fff, mid = 0x1000;
    }
    if (rem > mid || (rem == mid && (half & 1))) half++;                   // a carry rounds up to the next binade / inf
    return (uint16_t)(sign | half);
}

// edit_distance: Levenshtein distance of a and b (two rows of the dynamic program).
static size_t edit_distance(const char *a, const char *b) {
    const size_t la = strlen(a), lb = strlen(b);
    size_t *row = xmalloc((lb + 1) * 2 * sizeof *row), *prev = row, *cur = row + lb + 1;
    for (size_t j = 0; j <= lb; j++) prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            const size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]), del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        size_t *t = prev;
        prev = cur;
        cur = t;
    }
    const size_t d = prev[lb];
    free(row);
    return d;
}

const char *nearest(const char *s, const char *const *names, size_t n) {
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        const size_t d = edit_distance(s, names[i]);
        if (d < best_d) best = names[i], best_d = d;
    }
    const size_t len = strlen(s), most = len / 3 > 2 ? len / 3 : 2;
    return best_d <= most ? best : NULL;
}

int wants_help(int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
    return 0;
}
