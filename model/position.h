// position.h — how positions enter attention: RoPE and its scaling family (linear PI,
// NTK base scaling, dynamic NTK, YaRN, Llama 3, LongRoPE), ALiBi, and the T5 bucketed
// relative bias with a learned (num_buckets, NH) table. Formulas follow the papers and
// Hugging Face's rope_init_functions so a retrofitted model behaves the same there.
// Notation: d = HS rotary dims, pairs i = 0 .. d/2-1, theta_i = b^(-2i/d), s = factor,
// L_o = original_max_position_embeddings.
#ifndef STRETCH_POSITION_H
#define STRETCH_POSITION_H

#include <stddef.h>

#define POS_MAX_PAIRS 512

typedef enum { SCALE_NONE, SCALE_LINEAR, SCALE_NTK, SCALE_DYNAMIC, SCALE_YARN, SCALE_LLAMA3, SCALE_LONGROPE } RopeScaling;
typedef enum { BIAS_NONE, BIAS_ALIBI, BIAS_T5 } PosBias;

// Position: a resolved, validated position scheme (see position_resolve in config).
typedef struct {
    int rope;                  // 1: rotary embeddings on q and k; 0: `rope: off`
    double theta;              // b; 0 = the checkpoint's base
    RopeScaling scaling;
    double factor;             // s >= 1
    int original_max;          // L_o
    double beta_fast, beta_slow;
    double attention_factor;   // < 0: the method's default
    int truncate;
    double low_freq_factor, high_freq_factor;
    int n_short, n_long;       // d/2 each for longrope
    double short_factor[POS_MAX_PAIRS], long_factor[POS_MAX_PAIRS];
    PosBias bias;
    int t5_buckets, t5_max_distance;
    int t5_init_alibi;         // 1: init the table as an ALiBi recency prior
} Position;

extern const char *const SCALING_NAMES[];   // indexed by RopeScaling
extern const char *const BIAS_NAMES[];      // indexed by PosBias

// position_default: plain RoPE with the checkpoint's base.
void position_default(Position *p);
// rope_inv_freq: the per-pair inverse frequencies theta_i' (d/2) for sequence length T
// (dynamic and longrope depend on T) from the base `theta`, and the cos/sin multiplier
// (the attention factor of yarn/longrope, else 1).
void rope_inv_freq(const Position *p, double theta, int HS, int T, double *inv_freq, double *mscale);
// rope_ntk_base: b s^(d/(d-2)), NTK-aware base scaling (bloc97 2023): the base under
// which the slowest pair's period grows s-fold, with the fastest pair unchanged.
double rope_ntk_base(double theta, double s, int d);
// yarn_correction_range: HF find_correction_range (floor/ceil when truncate), clamped
// to [0, d-1].
void yarn_correction_range(const Position *p, double theta, int HS, double *low, double *high);
// rope_position_tables: cos/sin (T, HS/2) of t * theta_i', times mscale, in double
// then stored as fp32.
void rope_position_tables(float *cos_tab, float *sin_tab, const Position *p, double theta, int HS, int T);
// rope_tables_depend_on_T: dynamic and longrope recompute their tables per length.
int rope_tables_depend_on_T(const Position *p);

// position_json: p in the config's `position:` vocabulary as JSON (every key its method
// uses; "{}" for plain RoPE at the checkpoint's base `theta0`).
void position_json(const Position *p, double theta0, char *buf, size_t cap);
// position_is_plain: RoPE with no scaling, no bias and the checkpoint's base.
int position_is_plain(const Position *p, double theta0);

// alibi_slopes: m_h of Press et al. 2022 (get_slopes, incl. non-powers of two).
void alibi_slopes(int NH, float *slopes);
// t5_bucket: HF _relative_position_bucket(bidirectional=False) of distance n = i - j >= 0.
int t5_bucket(int n, int num_buckets, int max_distance);
// t5_bucket_start: the smallest distance falling in bucket k (-1 if none does).
int t5_bucket_start(int k, int num_buckets, int max_distance);
// t5_init: table (num_buckets, NH); zeros, or -m_h * (bucket k's first distance).
void t5_init(float *table, const Position *p, int NH);

#endif
