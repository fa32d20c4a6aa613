// config.h — the run configuration: a schema table of dotted keys, parsed from YAML
// with libyaml (errors name the key and its file:line:column) and overridden by
// `--set key=value` through the same validation; the curriculum's stages are parsed here
// too, once. The `position:` section belongs to model/position.h and is embedded as is.
#ifndef STRETCH_CONFIG_H
#define STRETCH_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "../data/data.h"
#include "../model/position.h"
#include "../util/ytree.h"

#define CFG_STR 256
#define MAX_STAGES 16
#define MAX_LIST 16                // eval lists: seq_lens, task lengths, depths and distances

// Stage: one curriculum stage: a sequence length, a token budget, an LR scale, the
// position settings it overrides (parsed once, at load time: only the keys it sets are
// set in `over`; curriculum_position lays them over the run's scheme), and its PoSE
// settings when it sets `pose:` (else the run's train.pose).
typedef struct {
    long long seq_len, tokens;
    double lr_scale;
    Position over;
    int pose_set;                  // the stage sets pose: {...} or pose: off
    Pose pose;                     // target_len 0 = off
    char pose_where[CFG_STR];      // where its target_len was set ("file:line:col")
} Stage;

typedef struct {
    char run_name[CFG_STR];
    long long seed;
    long long threads;             // 0 = all cores
    char init_from[CFG_STR];       // llama2.c file or Hugging Face directory
    Sources train;                 // data.train: one path or glob, or weighted sources (data.h)
    char val_path[CFG_STR];
    char tokenizer[CFG_STR];       // llama2.c tokenizer of the model (task prompts, data.mix)
    long long min_doc_tokens;      // drop shorter documents from training
    long long max_doc_tokens;      // split longer ones into pieces of this many (0 = no limit)
    long long upsample_min_tokens; // documents at least this long (0 = none) ...
    long long upsample_factor;     // ... appear this many times per epoch
    long long mix_tasks;           // data.mix.tasks: bit t = NeedleTask t (data/needles.h); 0 = no mix
    double mix_share;              // data.mix.share: of the training tokens, in (0, 1)
    double mix_lens[MAX_LIST];     // data.mix.lengths: [shortest, longest] document
    long long n_mix_lens;
    double mix_depths[MAX_LIST];   // data.mix.depths: [lowest, highest] depth of the asked fact
    long long n_mix_depths;
    long long mix_needles;
    int mix_whole;                 // data.mix.whole: no mix document straddles two sequences
    int document_mask;             // attention within documents, positions restart in each
    long long seq_len;             // T
    long long batch_tokens;        // tokens per optimizer step
    long long micro_batch;         // sequences per forward; 0 = batch_tokens / seq_len
    long long context_parallel;    // P: ranks that split each sequence (ring attention)
    char recompute[CFG_STR];       // false | true (keep each layer's input, attention output and lse;
                                   // recompute the rest in backward) | full (keep the inputs only)
    long long pose_target_len;     // train.pose: PoSE ids spanning [0, target_len); 0 = off
    long long pose_chunks;         // chunks per window
    long long n_stages;            // curriculum: 0 = one stage of train.seq_len, train.max_steps
    Stage stages[MAX_STAGES];
    long long max_steps;
    char optimizer[CFG_STR];       // adamw
    double lr, beta1, beta2, eps, weight_decay;
    long long warmup_steps;
    char decay[CFG_STR];           // cosine | linear | constant
    double min_lr;
    double grad_clip;              // 0 = off
    double max_update;             // stop when one update moves the weights by more than this
                                   // fraction of their L2 norm; 0 = off
    long long log_every;
    long long eval_every;          // 0 = only at the end
    long long eval_max_tokens;
    int eval_document_mask;        // eval.document_mask (default: data.document_mask)
    double eval_lens[MAX_LIST];    // eval.seq_lens; none = the run's longest seq_len
    long long n_eval_lens;
    long long eval_tasks;          // eval.tasks.names: bit t = NeedleTask t (data/needles.h)
    double task_lens[MAX_LIST];    // eval.tasks.lengths (prompt lengths)
    long long n_task_lens;
    double task_depths[MAX_LIST];  // eval.tasks.depths in [0, 1]
    long long n_task_depths;
    long long task_trials, task_needles;
    long long task_every;          // 0 = only at the end (and in `train eval`)
    double task_threshold;         // effective length: accuracy >= threshold x at the original context
    int passkey_alias;             // eval.passkey.lengths (earlier versions) named lengths: adds passkey
    double copy_dists[MAX_LIST];   // eval.tasks.copy.distances; none = no copy task
    long long n_copy_dists;
    long long copy_span, copy_trials;
    long long ckpt_every;          // checkpoint every N steps (0: stage ends and the end only)
    long long ckpt_keep_last;      // keep the newest N whole checkpoints (0 = all)
    int ckpt_compress;             // zlib the optimizer state
    Position pos;                  // `position:` as set (model/position.h owns its keys and
                                   // records where each was set); unresolved
    char out_dir[CFG_STR + 16];    // checkpoints/<run.name> (derived)
    // where each key was set ("file:line:col", "--set" or "default"), by schema index
    char where[64][CFG_STR];
} Config;

// config_load: defaults, then the YAML file `path` (a path, or a name under configs/),
// then each "key=value" override. Dies on any mistake, naming the key and location.
// `position.*` keys go to model/position (position_apply, position_set).
void config_load(Config *c, const char *path, char **overrides, int n_overrides);
// config_text: the resolved configuration as YAML that config_load reads back (caller
// frees); config_write: that text into the file `path`.
char *config_text(const Config *c);
void config_write(const Config *c, const char *path);
// config_diff: the keys whose values differ between a and b, comma-separated into out;
// returns how many.
size_t config_diff(const Config *a, const Config *b, char *out, size_t cap);
// config_apply_json: set the keys of the JSON (or YAML) mapping `json`, named `source`
// in errors, found under dotted path `prefix` (e.g. a fixture's settings under "train",
// or "position").
void config_apply_json(Config *c, const char *json, const char *source, const char *prefix);
// config_where: where a (non-position) key was set, for cross-key error messages.
const char *config_where(const Config *c, const char *key);
// config_is_set: whether `key` was set by a file or --set (not a default).
int config_is_set(const Config *c, const char *key);
// config_eval_document_mask: eval.document_mask when set, else data.document_mask.
int config_eval_document_mask(const Config *c);

#endif
