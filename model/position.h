// position.h — how positions enter attention: RoPE and its scaling family (linear PI,
// NTK base scaling, dynamic NTK, YaRN, Llama 3, LongRoPE), ALiBi, and the T5 bucketed
// relative bias with a learned (num_buckets, NH) table. Formulas follow the papers and
// Hugging Face's rope_init_functions so a retrofitted model behaves the same there.
// Notation: d = HS rotary dims, pairs i = 0 .. d/2-1, theta_i = b^(-2i/d), s = factor,
// L_o = original_max_position_embeddings.
//
// This module owns the scheme end to end: one table of its keys (position.c: name, type,
// range, default, whether a curriculum stage may change it, its Hugging Face name) and
// one table of methods (the keys each uses and needs), the parser of those keys from a
// YAML/JSON node (configs, --set, checkpoint metadata, a stage's overrides, HF
// rope_scaling), the checks that need the model (position_resolve), the one JSON writer
// (position_json), and the frequencies and tables the kernels use. A new method is one
// row of SCALINGS and its formula in rope_inv_freq.
#ifndef STRETCH_POSITION_H
#define STRETCH_POSITION_H

#include <stddef.h>
#include "../util/ytree.h"

#define POS_MAX_PAIRS 512
#define POS_WHERE 256
#define POS_JSON_MAX 32768         // bytes of the longest position_json (two lists of 512 factors)

typedef enum { SCALE_NONE, SCALE_LINEAR, SCALE_NTK, SCALE_DYNAMIC, SCALE_YARN, SCALE_LLAMA3, SCALE_LONGROPE, NUM_SCALINGS } RopeScaling;
typedef enum { BIAS_NONE, BIAS_ALIBI, BIAS_T5, NUM_BIASES } PosBias;

// PosKey: the keys of the `position:` section, rows of the key table in position.c.
typedef enum {
    PK_ROPE, PK_THETA, PK_SCALING, PK_FACTOR, PK_ORIGINAL_MAX, PK_BETA_FAST, PK_BETA_SLOW, PK_TRUNCATE,
    PK_ATTENTION_FACTOR, PK_LOW_FREQ, PK_HIGH_FREQ, PK_SHORT_FACTOR, PK_LONG_FACTOR,
    PK_BIAS, PK_T5_BUCKETS, PK_T5_MAX_DISTANCE, PK_T5_INIT, NUM_POS_KEYS
} PosKey;

// Position: a position scheme. As parsed (position_set/position_apply) it holds the
// keys' values, with `set` naming those given explicitly; position_resolve fills in
// what comes from the checkpoint (theta, L_o) and validates the whole.
typedef struct {
    int rope;                  // 1: rotary embeddings on q and k; 0: `rope: off`
    double theta;              // b; 0 = the checkpoint's base (until resolved)
    RopeScaling scaling;
    double factor;             // s >= 1
    int original_max;          // L_o; 0 = the checkpoint's context (until resolved)
    double beta_fast, beta_slow;
    int truncate;
    double attention_factor;   // < 0: the method's default
    double low_freq_factor, high_freq_factor;
    int n_short, n_long;       // d/2 each for longrope
    double short_factor[POS_MAX_PAIRS], long_factor[POS_MAX_PAIRS];
    PosBias bias;
    int t5_buckets, t5_max_distance;
    int t5_init_alibi;         // 1: init the table as an ALiBi recency prior
    unsigned set;              // bit k: key k was given (a file, --set, metadata), not a default
    char where[NUM_POS_KEYS][POS_WHERE];   // where each given key was set, for errors
} Position;

extern const char *const SCALING_NAMES[];   // indexed by RopeScaling
extern const char *const BIAS_NAMES[];      // indexed by PosBias

// position_default: every key at its default (plain RoPE with the checkpoint's base),
// none set.
void position_default(Position *p);
// position_set: if `name` is a position key ("position.rope.factor"), validate node n as
// its value (type, range, choice; errors at n's line:column), store it, record `where`,
// and return 1; else return 0.
int position_set(Position *p, const char *name, YTree *t, yaml_node_t *n, const char *where);
// position_apply: every key of mapping `map` found at dotted path `prefix` ("position",
// or "position.rope" for a stage's `rope: {...}`); nested mappings are sections, unknown
// keys are errors. stage: NULL for a run's settings, or the stage ("curriculum[2]") whose
// overrides these are: then only keys that may change between stages are accepted, and
// `where` notes the stage.
void position_apply(Position *p, YTree *t, yaml_node_t *map, const char *prefix, const char *stage);
// position_parse_json: position_apply of the JSON text `json` (named `source` in errors)
// over a default scheme: the metadata of checkpoints and states.
void position_parse_json(Position *p, const char *json, const char *source);
// position_from_hf: a Hugging Face rope_scaling object (transformers v4: `rope_type` and
// its keys) or rope_parameters object (v5: the same, and rope_theta, which the caller
// reads: skipped here when v5) as position keys over p; `path` names config.json in `where`.
void position_from_hf(Position *p, YTree *t, yaml_node_t *rope_scaling, const char *path, int v5);
// position_overlay: p with the keys `over` sets (and their `where`) replacing its own.
void position_overlay(Position *p, const Position *over);
// position_resolve: complete p for a model of head size HS, RoPE base theta0 and
// pretraining context L0 (0 = unknown): theta and L_o default to the checkpoint's; dies
// naming where the key at fault was set when a key does not belong to the method, a
// needed key is missing, a list has the wrong length, or values contradict each other.
void position_resolve(Position *p, int HS, double theta0, int L0);
// position_is_set: any key was given.
int position_is_set(const Position *p);
// position_reach: the context a resolved scheme is built for: factor x L_o for the
// methods whose factor names a target context (linear, ntk, yarn, llama3, longrope);
// 0 = no designed end (plain RoPE, a raised base, dynamic NTK, ALiBi, T5).
long long position_reach(const Position *p);
// position_is_plain: RoPE with no scaling, no bias and the checkpoint's base.
int position_is_plain(const Position *p, double theta0);

// PosJson: what position_json writes.
typedef enum {
    POS_JSON_SCHEME,   // what the scheme does: every key its method uses ("{}" = plain RoPE at theta0)
    POS_JSON_SET,      // only the keys given (a config's `position:` section, a stage's overrides)
    POS_JSON_HF,       // transformers' rope_scaling object, or null when the method has none
} PosJson;
// position_json: p as JSON in a new string (caller frees); at most POS_JSON_MAX bytes.
char *position_json(const Position *p, PosJson mode, double theta0);
// position_key_name: the dotted name of key k ("position.rope.factor").
const char *position_key_name(PosKey k);
// position_differs: whether key k has another value in a than in b.
int position_differs(const Position *a, const Position *b, PosKey k);

// rope_inv_freq: the per-pair inverse frequencies theta_i' (d/2) for sequence length T
// (dynamic and longrope depend on T) of a resolved scheme, and the cos/sin multiplier
// (the attention factor of yarn/longrope, else 1).
void rope_inv_freq(const Position *p, int HS, int T, double *inv_freq, double *mscale);
// rope_ntk_base: b s^(d/(d-2)), NTK-aware base scaling (bloc97 2023): the base under
// which the slowest pair's period grows s-fold, with the fastest pair unchanged.
double rope_ntk_base(double theta, double s, int d);
// yarn_correction_range: HF find_correction_range (floor/ceil when truncate), clamped
// to [0, d-1].
void yarn_correction_range(const Position *p, int HS, double *low, double *high);
// rope_position_tables: cos/sin (n, HS/2) of position ids t < n: t * theta_i', times
// mscale, in double then stored as fp32; theta_i' for sequences of length L (dynamic and
// longrope depend on it).
void rope_position_tables(float *cos_tab, float *sin_tab, const Position *p, int HS, int n, int L);
// rope_tables_depend_on_T: dynamic and longrope recompute their tables per length L
// (the largest position id of a forward + 1).
int rope_tables_depend_on_T(const Position *p);

// alibi_slopes: m_h of Press et al. 2022 (get_slopes, incl. non-powers of two).
void alibi_slopes(int NH, float *slopes);
// t5_bucket: HF _relative_position_bucket(bidirectional=False) of distance n = i - j >= 0.
int t5_bucket(int n, int num_buckets, int max_distance);
// t5_bucket_start: the smallest distance falling in bucket k (-1 if none does).
int t5_bucket_start(int k, int num_buckets, int max_distance);
// t5_init: table (num_buckets, NH); zeros, or -m_h * (bucket k's first distance).
void t5_init(float *table, const Position *p, int NH);

#endif
