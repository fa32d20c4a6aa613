// test_position.c — every position method against closed-form values, including the
// worked examples: NTK d=128, b=1e4, s=2 -> b' ~= 20221; YaRN correction range for d=128,
// b=1e4, L_o=4096 is [20, 46]; ALiBi slopes for 8 and 12 heads; T5 bucket starts for 32
// buckets, max_distance 128. Plus config validation of position keys.
#define _DEFAULT_SOURCE
#include "../model/position.h"
#include "../trainer/config.h"
#include "../util/util.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static Position rope_pos(RopeScaling s, double factor, int L_o) {
    Position p;
    position_default(&p);
    p.theta = 1e4;
    p.scaling = s;
    p.factor = factor;
    p.original_max = L_o;
    return p;
}

static void test_scalings(void) {
    double inv[64], ms;
    Position p = rope_pos(SCALE_NTK, 2, 0);
    rope_inv_freq(&p, 128, 1, inv, &ms);
    // b' = b s^(d/(d-2)); the slowest pair i = 63: theta' = b'^(-126/128)
    double bp = pow(inv[63], -128.0 / 126.0);
    CHECK_CLOSE("ntk: d=128 b=1e4 s=2 -> b' ~= 20221", bp, 20221.0, 1e-12, 1e-4);
    CHECK_CLOSE("ntk: slowest period grows by exactly s", (2 * M_PI / inv[63]) / (2 * M_PI * pow(1e4, 126.0 / 128)), 2.0, 1e-12, 1e-9);
    CHECK_CLOSE("ntk: fastest pair unchanged", inv[0], 1.0, 1e-12, 0);
    p = rope_pos(SCALE_LINEAR, 4, 0);
    rope_inv_freq(&p, 128, 1, inv, &ms);
    CHECK_CLOSE("linear: theta_i / s", inv[10], pow(1e4, -20.0 / 128) / 4, 1e-12, 1e-12);
    p = rope_pos(SCALE_YARN, 8, 4096);
    double lo, hi;
    yarn_correction_range(&p, 128, &lo, &hi);
    CHECK_CLOSE("yarn: correction range low (d=128, b=1e4, L_o=4096)", lo, 20, 1e-12, 0);
    CHECK_CLOSE("yarn: correction range high", hi, 46, 1e-12, 0);
    rope_inv_freq(&p, 128, 1, inv, &ms);
    CHECK_CLOSE("yarn: pair below the range extrapolates (theta_10)", inv[10], pow(1e4, -20.0 / 128), 1e-12, 1e-12);
    CHECK_CLOSE("yarn: pair above the range interpolates (theta_50 / s)", inv[50], pow(1e4, -100.0 / 128) / 8, 1e-12, 1e-12);
    double r = (33.0 - 20) / 26;
    CHECK_CLOSE("yarn: ramp inside the range (pair 33)", inv[33], pow(1e4, -66.0 / 128) * (r / 8 + 1 - r), 1e-12, 1e-12);
    CHECK_CLOSE("yarn: default attention factor 0.1 ln s + 1", ms, 0.1 * log(8.0) + 1, 1e-12, 1e-12);
    p.attention_factor = 1.5;
    rope_inv_freq(&p, 128, 1, inv, &ms);
    CHECK_CLOSE("yarn: explicit attention factor", ms, 1.5, 1e-12, 0);
    p = rope_pos(SCALE_DYNAMIC, 4, 512);
    rope_inv_freq(&p, 8, 512, inv, &ms);
    CHECK_CLOSE("dynamic: T <= L_o keeps the base", inv[3], pow(1e4, -6.0 / 8), 1e-12, 1e-12);
    rope_inv_freq(&p, 8, 2048, inv, &ms);
    CHECK_CLOSE("dynamic: T = 2048 -> b (s T/L_o - s + 1)^(d/(d-2))", inv[3], pow(1e4 * pow(13.0, 8.0 / 6), -6.0 / 8), 1e-12, 1e-12);
    p = rope_pos(SCALE_LLAMA3, 8, 8192);                  // Llama 3.1: 8192 context, bands 1 and 4
    p.theta = 500000;
    rope_inv_freq(&p, 128, 1, inv, &ms);
    double t63 = pow(500000, -126.0 / 128), t30 = pow(500000, -60.0 / 128);
    double wl30 = 2 * M_PI / t30, sm = (8192 / wl30 - 1) / 3;     // L_o/wl between 1 and 4
    CHECK_CLOSE("llama3: high-frequency pair unchanged", inv[0], 1.0, 1e-12, 0);
    CHECK_CLOSE("llama3: low-frequency pair / s", inv[63], t63 / 8, 1e-12, 1e-12);
    CHECK_TRUE("llama3: pair 30 lies in the medium band (2048, 8192)", wl30 > 2048 && wl30 < 8192);
    CHECK_CLOSE("llama3: medium pair smoothly interpolated", inv[30], (1 - sm) * t30 / 8 + sm * t30, 1e-12, 1e-12);
    p = rope_pos(SCALE_LONGROPE, 16, 4096);
    for (int i = 0; i < 4; i++) { p.short_factor[i] = 1 + i; p.long_factor[i] = 10 + i; }
    rope_inv_freq(&p, 8, 4096, inv, &ms);
    CHECK_CLOSE("longrope: T <= L_o uses short_factor", inv[2], pow(1e4, -4.0 / 8) / 3, 1e-12, 1e-12);
    rope_inv_freq(&p, 8, 4097, inv, &ms);
    CHECK_CLOSE("longrope: T > L_o uses long_factor", inv[2], pow(1e4, -4.0 / 8) / 12, 1e-12, 1e-12);
    CHECK_CLOSE("longrope: attention factor sqrt(1 + ln s / ln L_o)", ms, sqrt(1 + log(16.0) / log(4096.0)), 1e-12, 1e-12);
}

static void test_biases(void) {
    float m[12];
    alibi_slopes(8, m);
    for (int h = 0; h < 8; h++) CHECK_CLOSE(check_what("alibi: 8 heads, m_%d = 2^-%d", h, h + 1), m[h], pow(2, -(h + 1)), 1e-12, 1e-7);
    alibi_slopes(12, m);
    double want12[12];
    for (int h = 0; h < 8; h++) want12[h] = pow(2, -(h + 1));
    for (int h = 0; h < 4; h++) want12[8 + h] = pow(2, -(0.5 + h));    // every other slope of 16 heads
    int ok = 1;
    for (int h = 0; h < 12; h++) ok &= fabs(m[h] - want12[h]) <= 1e-7 * want12[h];
    CHECK_TRUE("alibi: 12 heads = 8-head slopes + 2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5", ok);
    const int want[16] = {16, 19, 21, 24, 27, 31, 35, 40, 46, 52, 59, 67, 77, 87, 99, 113};
    ok = 1;
    for (int k = 0; k < 32; k++) ok &= t5_bucket_start(k, 32, 128) == (k < 16 ? k : want[k - 16]);
    CHECK_TRUE("t5: bucket starts for 32 buckets, max_distance 128", ok);
    CHECK_EQ("t5: distance 5000 falls in the last bucket", t5_bucket(5000, 32, 128), 31);
    Position p;
    position_default(&p);
    p.bias = BIAS_T5;
    p.t5_buckets = 32;
    p.t5_init_alibi = 1;
    float table[32 * 8];
    alibi_slopes(8, m);
    t5_init(table, &p, 8);
    CHECK_CLOSE("t5 init alibi: table[20, 2] = -m_2 * 27", table[20 * 8 + 2], -m[2] * 27, 1e-12, 1e-7);
    CHECK_CLOSE("t5 init alibi: bucket 0 is 0", table[3], 0, 1e-12, 0);
}

// position config errors are covered from the command line in test_cli.sh; here the
// resolved values of a valid config.
static void test_config(void) {
    Config c;
    char *sets[] = {"position.rope.scaling=yarn", "position.rope.factor=4", "position.bias=t5",
                    "position.t5.num_buckets=16", "position.t5.init=alibi"};
    config_load(&c, NULL, sets, 5);
    Position p = c.pos;
    position_resolve(&p, 8, 10000, 512);
    CHECK_EQ("config: yarn L_o defaults to the checkpoint's context", p.original_max, 512);
    CHECK_CLOSE("config: theta defaults to the checkpoint's base", p.theta, 10000, 1e-12, 0);
    CHECK_EQ("config: t5 buckets and init", p.t5_buckets * 10 + p.t5_init_alibi, 161);
}

int main(void) {
    test_scalings();
    test_biases();
    test_config();
    return check_done("test_position");
}
