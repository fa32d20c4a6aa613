// rope_dump.c — prints what model/position.c computes, for tests/rope_published.py to
// check against its own implementations of the published sources. No checking here.
//
// Reads requests from stdin, one a line; answers each with one line of numbers (%.17g):
//   rope METHOD d base factor L_o T beta_fast beta_slow truncate attn low_ff high_ff n s_1..s_n l_1..l_n
//        -> mscale inv_0 .. inv_{d/2-1}     (rope_inv_freq; attn < 0: the method's default;
//                                            n short and n long LongRoPE factors, n = 0 otherwise)
//   yarnrange d base L_o beta_fast beta_slow truncate  -> low high   (yarn_correction_range)
//   ntkbase base s d                                   -> b'         (rope_ntk_base)
//   alibi NH                                           -> m_1 .. m_NH (alibi_slopes, float32)
//   t5 num_buckets max_distance n_max                  -> bucket(0) .. bucket(n_max)  (t5_bucket)
// A request it cannot parse ends the run with exit 2.
#define _DEFAULT_SOURCE
#include "../model/position.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_method(const char *s, RopeScaling *out) {
    for (int i = 0; i <= SCALE_LONGROPE; i++)
        if (!strcmp(s, SCALING_NAMES[i])) { *out = (RopeScaling)i; return 1; }
    return 0;
}

// next_double / next_int: the next whitespace-separated field of the line.
static int next_double(char **cur, double *v) {
    char *end;
    *v = strtod(*cur, &end);
    if (end == *cur) return 0;
    *cur = end;
    return 1;
}

static int next_int(char **cur, int *v) {
    double d;
    if (!next_double(cur, &d) || d != (int)d) return 0;
    *v = (int)d;
    return 1;
}

static int do_rope(char *cur) {
    char name[32];
    int used = 0;
    if (sscanf(cur, " %31s%n", name, &used) != 1) return 0;
    cur += used;
    Position p;
    position_default(&p);
    int d, T, L_o, truncate, n;
    double base;
    if (!parse_method(name, &p.scaling) || !next_int(&cur, &d) || !next_double(&cur, &base) ||
        !next_double(&cur, &p.factor) || !next_int(&cur, &L_o) || !next_int(&cur, &T) ||
        !next_double(&cur, &p.beta_fast) || !next_double(&cur, &p.beta_slow) || !next_int(&cur, &truncate) ||
        !next_double(&cur, &p.attention_factor) || !next_double(&cur, &p.low_freq_factor) ||
        !next_double(&cur, &p.high_freq_factor) || !next_int(&cur, &n))
        return 0;
    if (d < 4 || d % 2 || d / 2 > POS_MAX_PAIRS || n < 0 || n > POS_MAX_PAIRS) return 0;
    p.theta = base;
    p.original_max = L_o;
    p.truncate = truncate;
    p.n_short = p.n_long = n;
    for (int i = 0; i < n; i++)
        if (!next_double(&cur, &p.short_factor[i])) return 0;
    for (int i = 0; i < n; i++)
        if (!next_double(&cur, &p.long_factor[i])) return 0;
    double inv[POS_MAX_PAIRS], ms;
    rope_inv_freq(&p, d, T, inv, &ms);
    printf("%.17g", ms);
    for (int i = 0; i < d / 2; i++) printf(" %.17g", inv[i]);
    printf("\n");
    return 1;
}

static int do_yarnrange(char *cur) {
    Position p;
    position_default(&p);
    p.scaling = SCALE_YARN;
    int d, truncate;
    double base, lo, hi;
    if (!next_int(&cur, &d) || !next_double(&cur, &base) || !next_int(&cur, &p.original_max) ||
        !next_double(&cur, &p.beta_fast) || !next_double(&cur, &p.beta_slow) || !next_int(&cur, &truncate))
        return 0;
    p.truncate = truncate;
    p.theta = base;
    yarn_correction_range(&p, d, &lo, &hi);
    printf("%.17g %.17g\n", lo, hi);
    return 1;
}

static int do_ntkbase(char *cur) {
    double base, s;
    int d;
    if (!next_double(&cur, &base) || !next_double(&cur, &s) || !next_int(&cur, &d)) return 0;
    printf("%.17g\n", rope_ntk_base(base, s, d));
    return 1;
}

static int do_alibi(char *cur) {
    int NH;
    if (!next_int(&cur, &NH) || NH < 1 || NH > 4096) return 0;
    float *m = malloc(sizeof(float) * (size_t)NH);
    alibi_slopes(NH, m);
    for (int h = 0; h < NH; h++) printf(h ? " %.17g" : "%.17g", (double)m[h]);
    printf("\n");
    free(m);
    return 1;
}

static int do_t5(char *cur) {
    int nb, md, nmax;
    if (!next_int(&cur, &nb) || !next_int(&cur, &md) || !next_int(&cur, &nmax) || nb < 2 || nmax < 0) return 0;
    for (int n = 0; n <= nmax; n++) printf(n ? " %d" : "%d", t5_bucket(n, nb, md));
    printf("\n");
    return 1;
}

int main(void) {
    char line[65536];
    int lineno = 0;
    while (fgets(line, sizeof line, stdin)) {
        lineno++;
        char verb[16];
        int used = 0;
        if (sscanf(line, " %15s%n", verb, &used) != 1) continue;    // blank line
        char *rest = line + used;
        int ok = !strcmp(verb, "rope")        ? do_rope(rest)
               : !strcmp(verb, "yarnrange")   ? do_yarnrange(rest)
               : !strcmp(verb, "ntkbase")     ? do_ntkbase(rest)
               : !strcmp(verb, "alibi")       ? do_alibi(rest)
               : !strcmp(verb, "t5")          ? do_t5(rest)
               : 0;
        if (!ok) {
            fprintf(stderr, "rope_dump: cannot parse line %d: %s", lineno, line);
            return 2;
        }
    }
    return 0;
}
