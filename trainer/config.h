// config.h — the run configuration: a schema table of dotted keys, parsed from YAML
// with libyaml (errors name the key and its file:line:column) and overridden by
// `--set key=value` through the same validation.
#ifndef STRETCH_CONFIG_H
#define STRETCH_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CFG_STR 256

typedef struct {
    char run_name[CFG_STR];
    long long seed;
    long long threads;             // 0 = all cores
    char init_from[CFG_STR];       // llama2.c file or Hugging Face directory
    char train_path[CFG_STR];
    char val_path[CFG_STR];
    long long seq_len;             // T
    long long batch_tokens;        // tokens per optimizer step
    long long micro_batch;         // sequences per forward; 0 = batch_tokens / seq_len
    long long max_steps;
    char optimizer[CFG_STR];       // adamw
    double lr, beta1, beta2, eps, weight_decay;
    long long warmup_steps;
    char decay[CFG_STR];           // cosine | linear | constant
    double min_lr;
    double grad_clip;              // 0 = off
    long long log_every;
    long long eval_every;          // 0 = only at the start and the end
    long long eval_max_tokens;
    char out_dir[CFG_STR + 16];    // checkpoints/<run.name> (derived)
    // where each key was set ("file:line:col", "--set" or "default"), by schema index
    char where[64][CFG_STR];
} Config;

// config_load: defaults, then the YAML file `path` (a path, or a name under configs/),
// then each "key=value" override. Dies on any mistake, naming the key and location.
void config_load(Config *c, const char *path, char **overrides, int n_overrides);
// config_write: the resolved configuration as YAML that config_load reads back.
void config_write(const Config *c, const char *path);
// config_where: where a key was set (for cross-key error messages).
const char *config_where(const Config *c, const char *key);

#endif
