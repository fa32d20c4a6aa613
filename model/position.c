// position.c — see position.h.
#define _DEFAULT_SOURCE
#include "position.h"
#include "../util/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const SCALING_NAMES[] = {"none", "linear", "ntk", "dynamic", "yarn", "llama3", "longrope"};
const char *const BIAS_NAMES[] = {"none", "alibi", "t5"};

void position_default(Position *p) {
    memset(p, 0, sizeof *p);
    p->rope = 1;
    p->factor = 1.0;
    p->beta_fast = 32.0;
    p->beta_slow = 1.0;
    p->attention_factor = -1.0;
    p->truncate = 1;
    p->low_freq_factor = 1.0;
    p->high_freq_factor = 4.0;
    p->t5_buckets = 32;
    p->t5_max_distance = 128;
}

int rope_tables_depend_on_T(const Position *p) {
    return p->rope && (p->scaling == SCALE_DYNAMIC || p->scaling == SCALE_LONGROPE);
}

// HF find_correction_dim: the pair index whose wavelength fits num_rot rotations in L_o.
static double correction_dim(double num_rot, int d, double base, int L_o) {
    return d * log(L_o / (num_rot * 2.0 * M_PI)) / (2.0 * log(base));
}

void yarn_correction_range(const Position *p, double theta, int HS, double *low, double *high) {
    double lo = correction_dim(p->beta_fast, HS, theta, p->original_max);
    double hi = correction_dim(p->beta_slow, HS, theta, p->original_max);
    if (p->truncate) { lo = floor(lo); hi = ceil(hi); }
    *low = lo > 0 ? lo : 0;
    *high = hi < HS - 1 ? hi : HS - 1;
}

double rope_ntk_base(double theta, double s, int d) { return theta * pow(s, d / (d - 2.0)); }

void rope_inv_freq(const Position *p, double theta, int HS, int T, double *inv, double *mscale) {
    const int half = HS / 2;
    const double s = p->factor, d = HS;
    double b = theta;
    *mscale = 1.0;
    if (p->scaling == SCALE_NTK) b = rope_ntk_base(theta, s, HS);             // period matching
    if (p->scaling == SCALE_DYNAMIC) {                                         // HF dynamic NTK
        double Th = T > p->original_max ? T : p->original_max;
        b = theta * pow(s * Th / p->original_max - (s - 1.0), d / (d - 2.0));
    }
    for (int i = 0; i < half; i++) inv[i] = pow(b, -2.0 * i / d);
    if (p->scaling == SCALE_LINEAR)
        for (int i = 0; i < half; i++) inv[i] /= s;                            // Chen et al. 2023
    if (p->scaling == SCALE_YARN) {                                            // Peng et al. 2023
        double lo, hi;
        yarn_correction_range(p, theta, HS, &lo, &hi);
        if (lo == hi) hi += 0.001;
        for (int i = 0; i < half; i++) {
            double r = (i - lo) / (hi - lo);
            r = r < 0 ? 0 : r > 1 ? 1 : r;                                     // ramp: 0 extrapolate, 1 interpolate
            inv[i] = inv[i] * (r / s + 1.0 - r);
        }
        *mscale = p->attention_factor >= 0 ? p->attention_factor : (s <= 1 ? 1.0 : 0.1 * log(s) + 1.0);
    }
    if (p->scaling == SCALE_LLAMA3) {                                          // HF _compute_llama3_parameters
        double low_wl = p->original_max / p->low_freq_factor, high_wl = p->original_max / p->high_freq_factor;
        for (int i = 0; i < half; i++) {
            double wl = 2.0 * M_PI / inv[i];
            if (wl > low_wl) inv[i] /= s;
            else if (wl >= high_wl) {
                double sm = (p->original_max / wl - p->low_freq_factor) / (p->high_freq_factor - p->low_freq_factor);
                inv[i] = (1.0 - sm) * inv[i] / s + sm * inv[i];
            }
        }
    }
    if (p->scaling == SCALE_LONGROPE) {                                        // Ding et al. 2024
        const double *ext = T > p->original_max ? p->long_factor : p->short_factor;
        for (int i = 0; i < half; i++) inv[i] /= ext[i];
        *mscale = p->attention_factor >= 0 ? p->attention_factor
                : (s <= 1 ? 1.0 : sqrt(1.0 + log(s) / log((double)p->original_max)));
    }
}

void rope_position_tables(float *cos_tab, float *sin_tab, const Position *p, double theta, int HS, int T) {
    double inv[POS_MAX_PAIRS], ms;
    rope_inv_freq(p, theta, HS, T, inv, &ms);
    for (int t = 0; t < T; t++)
        for (int j = 0; j < HS / 2; j++) {
            double a = (double)t * inv[j];
            cos_tab[(size_t)t * (HS / 2) + j] = (float)(cos(a) * ms);
            sin_tab[(size_t)t * (HS / 2) + j] = (float)(sin(a) * ms);
        }
}

// get_slopes of the ALiBi reference code: for a power of two n, m_h = start^(h+1) with
// start = 2^(-8/n); otherwise the slopes of the largest power of two below n, then every
// other slope of twice that power.
static void slopes_pow2(int n, double *out) {
    double start = pow(2.0, -pow(2.0, -(log2((double)n) - 3.0)));
    for (int i = 0; i < n; i++) out[i] = pow(start, i + 1);
}

void alibi_slopes(int NH, float *slopes) {
    int p2 = 1;
    while (p2 * 2 <= NH) p2 *= 2;
    double *a = malloc(sizeof(double) * (size_t)(4 * p2)), *b = a + p2;
    slopes_pow2(p2, a);
    for (int h = 0; h < p2; h++) slopes[h] = (float)a[h];
    if (p2 < NH) {
        slopes_pow2(2 * p2, b);
        for (int h = p2; h < NH; h++) slopes[h] = (float)b[2 * (h - p2)];
    }
    free(a);
}

// In float32 like torch: exact below num_buckets/2, then log-spaced to max_distance.
int t5_bucket(int n, int num_buckets, int max_distance) {
    int max_exact = num_buckets / 2;
    if (n < max_exact) return n;
    float l = logf((float)n / (float)max_exact) / (float)log((double)max_distance / max_exact);
    long k = max_exact + (long)(l * (float)(num_buckets - max_exact));
    return k < num_buckets - 1 ? (int)k : num_buckets - 1;
}

int t5_bucket_start(int k, int num_buckets, int max_distance) {
    int limit = 4 * (max_distance > num_buckets ? max_distance : num_buckets) + 4;
    for (int n = 0; n <= limit; n++) {
        int b = t5_bucket(n, num_buckets, max_distance);
        if (b == k) return n;
        if (b > k) return -1;
    }
    return -1;
}

void t5_init(float *table, const Position *p, int NH) {
    const int NB = p->t5_buckets;
    memset(table, 0, (size_t)NB * NH * sizeof(float));
    if (!p->t5_init_alibi) return;
    float *m = malloc((size_t)NH * sizeof(float));
    alibi_slopes(NH, m);
    int start = 0;
    for (int k = 0; k < NB; k++) {
        int s = t5_bucket_start(k, NB, p->t5_max_distance);
        if (s >= 0) start = s;                  // an unreachable bucket keeps its predecessor's
        for (int h = 0; h < NH; h++) table[(size_t)k * NH + h] = -m[h] * (float)start;
    }
    free(m);
}

int position_is_plain(const Position *p, double theta0) {
    return p->rope && p->scaling == SCALE_NONE && p->bias == BIAS_NONE && p->theta == theta0;
}

void position_json(const Position *p, double theta0, char *buf, size_t cap) {
    size_t n = 0;
    const RopeScaling s = p->scaling;
    appendf(buf, cap, &n, "{");
    if (!p->rope) appendf(buf, cap, &n, "\"rope\": \"off\"");
    else if (s != SCALE_NONE || p->theta != theta0) {
        appendf(buf, cap, &n, "\"rope\": {\"theta\": %.17g", p->theta);
        if (s != SCALE_NONE) appendf(buf, cap, &n, ", \"scaling\": \"%s\", \"factor\": %.17g", SCALING_NAMES[s], p->factor);
        if (s == SCALE_DYNAMIC || s == SCALE_YARN || s == SCALE_LLAMA3 || s == SCALE_LONGROPE)
            appendf(buf, cap, &n, ", \"original_max_position_embeddings\": %d", p->original_max);
        if (s == SCALE_YARN)
            appendf(buf, cap, &n, ", \"beta_fast\": %.17g, \"beta_slow\": %.17g, \"truncate\": %s", p->beta_fast,
                    p->beta_slow, p->truncate ? "true" : "false");
        if (s == SCALE_YARN || s == SCALE_LONGROPE) {
            if (p->attention_factor >= 0) appendf(buf, cap, &n, ", \"attention_factor\": %.17g", p->attention_factor);
            else appendf(buf, cap, &n, ", \"attention_factor\": null");
        }
        if (s == SCALE_LLAMA3)
            appendf(buf, cap, &n, ", \"low_freq_factor\": %.17g, \"high_freq_factor\": %.17g", p->low_freq_factor,
                    p->high_freq_factor);
        if (s == SCALE_LONGROPE) {
            append_json_list(buf, cap, &n, "short_factor", p->short_factor, p->n_short);
            append_json_list(buf, cap, &n, "long_factor", p->long_factor, p->n_long);
        }
        appendf(buf, cap, &n, "}");
    }
    if (p->bias != BIAS_NONE) appendf(buf, cap, &n, "%s\"bias\": \"%s\"", n > 1 ? ", " : "", BIAS_NAMES[p->bias]);
    if (p->bias == BIAS_T5)
        appendf(buf, cap, &n, ", \"t5\": {\"num_buckets\": %d, \"max_distance\": %d, \"init\": \"%s\"}", p->t5_buckets,
                p->t5_max_distance, p->t5_init_alibi ? "alibi" : "zeros");
    appendf(buf, cap, &n, "}");
    if (n >= cap) buf[0] = '\0';     // too long: the caller checks for an empty result
}
