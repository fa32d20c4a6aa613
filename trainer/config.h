// config.h — the run configuration: a schema table of dotted keys, parsed from YAML
// with libyaml (errors name the key and its file:line:column) and overridden by
// `--set key=value` through the same validation.
#ifndef STRETCH_CONFIG_H
#define STRETCH_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "../model/position.h"
#include "../util/ytree.h"

#define CFG_STR 256
#define MAX_STAGES 16
#define MAX_STAGE_KEYS 8
#define MAX_LIST 16                // eval lists: seq_lens, passkey lengths and depths

// Stage: one curriculum stage: a sequence length, a token budget, an LR scale, and
// position.rope.* overrides kept as (key, YAML value text, "file:line:col") triples and
// applied over the run's configuration when the stage starts (stage_config).
typedef struct {
    long long seq_len, tokens;
    double lr_scale;
    int n_keys;
    char key[MAX_STAGE_KEYS][64], value[MAX_STAGE_KEYS][64], where[MAX_STAGE_KEYS][CFG_STR];
} Stage;

typedef struct {
    char run_name[CFG_STR];
    long long seed;
    long long threads;             // 0 = all cores
    char init_from[CFG_STR];       // llama2.c file or Hugging Face directory
    char train_path[CFG_STR];
    char val_path[CFG_STR];
    char tokenizer[CFG_STR];       // llama2.c tokenizer of the model (passkey prompts)
    long long min_doc_tokens;      // drop shorter documents from training
    long long upsample_min_tokens; // documents at least this long (0 = none) ...
    long long upsample_factor;     // ... appear this many times per epoch
    long long seq_len;             // T
    long long batch_tokens;        // tokens per optimizer step
    long long micro_batch;         // sequences per forward; 0 = batch_tokens / seq_len
    int recompute;                 // keep one layer of activations, recompute in backward
    long long n_stages;            // curriculum: 0 = one stage of train.seq_len, train.max_steps
    Stage stages[MAX_STAGES];
    long long max_steps;
    char optimizer[CFG_STR];       // adamw
    double lr, beta1, beta2, eps, weight_decay;
    long long warmup_steps;
    char decay[CFG_STR];           // cosine | linear | constant
    double min_lr;
    double grad_clip;              // 0 = off
    long long log_every;
    long long eval_every;          // 0 = only at the end
    long long eval_max_tokens;
    double eval_lens[MAX_LIST];    // eval.seq_lens; none = the run's longest seq_len
    long long n_eval_lens;
    double passkey_lens[MAX_LIST]; // eval.passkey.lengths; none = no passkey eval
    long long n_passkey_lens;
    double passkey_depths[MAX_LIST];
    long long n_passkey_depths;
    long long passkey_trials;
    long long passkey_every;       // 0 = only at the end (and in `train eval`)
    long long ckpt_every;          // checkpoint every N steps (0: stage ends and the end only)
    long long ckpt_keep_last;      // keep the newest N whole checkpoints (0 = all)
    int ckpt_compress;             // zlib the optimizer state
    // position: how positions enter attention (see model/position.h)
    char rope[CFG_STR];            // on | off
    double rope_theta;             // 0 = the checkpoint's base
    char rope_scaling[CFG_STR];
    double rope_factor;
    long long rope_original_max;   // 0 = the checkpoint's context
    double beta_fast, beta_slow;
    double attention_factor;       // < 0 (null) = the method's default
    int truncate;
    double low_freq_factor, high_freq_factor;
    double short_factor[512], long_factor[512];
    long long n_short, n_long;
    char bias[CFG_STR];            // none | alibi | t5
    long long t5_buckets, t5_max_distance;
    char t5_init[CFG_STR];         // zeros | alibi
    char out_dir[CFG_STR + 16];    // checkpoints/<run.name> (derived)
    // where each key was set ("file:line:col", "--set" or "default"), by schema index
    char where[64][CFG_STR];
} Config;

// config_load: defaults, then the YAML file `path` (a path, or a name under configs/),
// then each "key=value" override. Dies on any mistake, naming the key and location.
void config_load(Config *c, const char *path, char **overrides, int n_overrides);
// config_write: the resolved configuration as YAML that config_load reads back.
void config_write(const Config *c, const char *path);
// config_diff: the keys whose values differ between a and b, comma-separated into out;
// returns how many.
size_t config_diff(const Config *a, const Config *b, char *out, size_t cap);
// config_where: where a key was set (for cross-key error messages).
const char *config_where(const Config *c, const char *key);
// config_apply: set the keys of a YAML/JSON mapping node whose keys live under `prefix`
// (e.g. a refcheck state's position metadata under "position").
void config_apply(Config *c, YTree *t, yaml_node_t *map, const char *prefix);
// config_apply_json: parse `json` (named `source` in errors) and apply it under `prefix`.
void config_apply_json(Config *c, const char *json, const char *source, const char *prefix);
// config_set: set `key` from the YAML text `value`, validated as a file value would be;
// `where` names the origin in errors and in config_where.
void config_set(Config *c, const char *key, const char *value, const char *where);
// config_set_node: the same for a YAML node of a parsed file (errors at its line:column).
void config_set_node(Config *c, const char *key, YTree *t, yaml_node_t *n, const char *where);
// config_is_set: whether `key` was set by a file or --set (not a default).
int config_is_set(const Config *c, const char *key);
// config_position_is_set: whether any position key was set (file or --set).
int config_position_is_set(const Config *c);
// config_position: the validated position scheme for a model of head size HS, RoPE base
// theta0 and pretraining context L0 (0 = unknown). Dies naming the key on a mistake:
// keys that do not belong to the method, missing keys, wrong list lengths.
void config_position(const Config *c, int HS, double theta0, int L0, Position *p);

#endif
