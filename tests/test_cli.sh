#!/usr/bin/env bash
# test_cli.sh — ./train as a user meets it: every malformed file or config is one line
# on stderr naming the file (or key, with line:column) and exit code 2; --set, the
# configs/ lookup, the resolved config, `train eval` output and `train info`.
cd "$(dirname "$0")/.."
. tests/lib.sh
begin cli

BASE=checkpoints/base/stories260K.bin
V1=$SHARED/models/stories260K/stories260K_v1.bin        # from ../shared (tests/shared.sh)
TOK32K=$SHARED/models/tokenizers/tok32000.bin
VAL=data/tinystories/val.bin

# ---- llama2.c checkpoints -----------------------------------------------------------
head -c 1000 "$BASE" >"$TMP/trunc_legacy.bin"
expect_error "truncated legacy checkpoint" "trunc_legacy.bin: truncated" ./train info "$TMP/trunc_legacy.bin"
if need "$V1" "truncated v1 checkpoint, v1 magic with version 2"; then
  head -c 5000 "$V1" >"$TMP/trunc_v1.bin"
  expect_error "truncated v1 checkpoint" "trunc_v1.bin: truncated llama2.c v1" ./train info "$TMP/trunc_v1.bin"
  { printf 'ak42' | rev | tr -d '\n'; printf '\x02\x00\x00\x00'; tail -c +9 "$V1"; } >"$TMP/v2.bin"
  expect_error "v1 magic with version 2" "v2.bin: llama2.c format version 2" ./train info "$TMP/v2.bin"
fi
{ printf '\x00\x00\x00\x00'; tail -c +5 "$BASE"; } >"$TMP/zero_dim.bin"
expect_error "impossible shape (dim 0)" "zero_dim.bin: impossible model shape" ./train info "$TMP/zero_dim.bin"
{ printf '\x40\x00\x00\x00\xac\x00\x00\x00\x05\x00\x00\x00\x07\x00\x00\x00'; tail -c +17 "$BASE"; } >"$TMP/heads.bin"
expect_error "heads that do not divide dim" "heads.bin: dim 64 is not divisible by n_heads 7" ./train info "$TMP/heads.bin"
cat "$BASE" "$BASE" >"$TMP/long.bin"
expect_error "checkpoint longer than its header implies" "long.bin: llama2.c legacy checkpoint has [0-9]+ bytes, the header implies" ./train info "$TMP/long.bin"
expect_error "missing model file" "nope.bin: no such model file" ./train info "$TMP/nope.bin"

# ---- token shards --------------------------------------------------------------------
head -c 2000 "$VAL" >"$TMP/trunc_shard.bin"
expect_error "truncated shard" "trunc_shard.bin: [0-9]+ bytes, but the header's" ./train eval --config ft_native.yaml --set data.val="$TMP/trunc_shard.bin"
head -c 100 "$VAL" >"$TMP/tiny_shard.bin"
expect_error "shard shorter than its header" "tiny_shard.bin: truncated" ./train eval --config ft_native.yaml --set data.val="$TMP/tiny_shard.bin"
{ printf '\x01\x02\x03\x04'; tail -c +5 "$VAL"; } >"$TMP/magic_shard.bin"
expect_error "shard with a wrong magic" "magic_shard.bin: not a token shard" ./train eval --config ft_native.yaml --set data.val="$TMP/magic_shard.bin"
if need "$TOK32K" "shard tokens outside the model vocab"; then
  printf 'Once upon a time there was a xylophone.\n\nOnce upon a time, a zebra.\n' >"$TMP/t.txt"
  ./train prepare --text "$TMP/t.txt" --tokenizer "$TOK32K" --out "$TMP/big" --val-fraction 0.5 >/dev/null
  expect_error "shard tokens outside the model vocab" "train.bin: token [0-9]+ at index [0-9]+ is outside the model's vocabulary of 512" ./train --config ft_native.yaml --set data.train="$TMP/big/train.bin"
fi

# ---- safetensors and Hugging Face directories -----------------------------------------
HF=tests/fixtures/hf_tiny_bf16
cp -r "$HF" "$TMP/hf_cfg"
sed -i 's/"intermediate_size": 24/"intermediate_size": 32/' "$TMP/hf_cfg/config.json"
expect_error "config.json contradicting the tensors" "model.safetensors: tensor 'model.layers.0.mlp.gate_proj.weight' has shape \[24, 16\]" ./train info "$TMP/hf_cfg"
cp -r "$HF" "$TMP/hf_tied"
sed -i 's/"tie_word_embeddings": false/"tie_word_embeddings": true/' "$TMP/hf_tied/config.json"
expect_error "tied config with an lm_head tensor" "tensor 'lm_head.weight' is not part of the model" ./train info "$TMP/hf_tied"
cp -r "$HF" "$TMP/hf_layers"
sed -i 's/"num_hidden_layers": 2/"num_hidden_layers": 3/' "$TMP/hf_layers/config.json"
expect_error "config with more layers than tensors" "tensor 'model.layers.2.input_layernorm.weight' is missing" ./train info "$TMP/hf_layers"
mkdir -p "$TMP/hf_bad"
cp "$HF/config.json" "$TMP/hf_bad/"
printf '\xff\xff\xff\x00\x00\x00\x00\x00{}' >"$TMP/hf_bad/model.safetensors"
expect_error "safetensors header length past the end" "model.safetensors: header length [0-9]+ is impossible" ./train info "$TMP/hf_bad"
hdr='{"model.embed_tokens.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,4000]}}'
{ printf "\\x$(printf %02x ${#hdr})\\x00\\x00\\x00\\x00\\x00\\x00\\x00"; printf '%s' "$hdr"; head -c 16 /dev/zero; } >"$TMP/hf_bad/model.safetensors"
expect_error "safetensors offsets out of range" "data_offsets \[0, 4000\] out of range" ./train info "$TMP/hf_bad"
hdr='{"x":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]'
{ printf "\\x$(printf %02x ${#hdr})\\x00\\x00\\x00\\x00\\x00\\x00\\x00"; printf '%s' "$hdr"; head -c 16 /dev/zero; } >"$TMP/hf_bad/model.safetensors"
expect_error "safetensors header that is not JSON" "model.safetensors:[0-9]+:[0-9]+: cannot parse" ./train info "$TMP/hf_bad"
mkdir -p "$TMP/hf_empty"
expect_error "a directory with no model in it" "hf_empty: not a model directory: no DONE \\(checkpoint\\), config.json \\(Hugging Face\\)" ./train info "$TMP/hf_empty"
cp -r tests/fixtures/hf_tiny_sharded "$TMP/hf_shard"
rm "$TMP/hf_shard/model-00002-of-00002.safetensors"
expect_error "sharded checkpoint with a missing shard" "model-00002-of-00002.safetensors: cannot open" ./train info "$TMP/hf_shard"

# ---- configs ---------------------------------------------------------------------------
# config_error NAME PATTERN YAML [SUBCOMMAND]: a config file holding YAML fails with PATTERN
config_error() {
  local f="$TMP/$(echo "$1" | tr -c 'a-z0-9\n' _ | head -c 40).yaml"
  printf '%b' "$3" >"$f"
  expect_error "$1" "$(basename "$f"):$2" ./train ${4:-train} --config "$f"
}
config_error "unknown config key with line:column, and the nearest key" "4:3: unknown key 'train.bacth_tokens' \(did you mean 'train.batch_tokens'\?\)" 'run: {name: x}\ntrain:\n  seq_len: 512\n  bacth_tokens: 4096\n'
config_error "wrong type with line:column" "2:12: train.seq_len: expected an integer, got 'long'" 'train:\n  seq_len: long\n'
config_error "out-of-range value" "2:19: train.optimizer.lr = -1 is out of range" 'train:\n  optimizer: {lr: -1}\n'
config_error "betas that are not a pair" "2:.*train.optimizer.betas: expected a list of two numbers" 'train:\n  optimizer: {betas: [0.9]}\n'
config_error "unknown choice" "2:.*'cosin' is not one of cosine\|linear\|constant" 'train:\n  schedule: {decay: cosin}\n'
config_error "YAML syntax error" "[0-9]+:[0-9]+: cannot parse" 'train: [1, 2\n'
# position keys: validated against the chosen method once the checkpoint's head size is known
pos_error() { config_error "$1" "$2" "model: {init_from: $BASE}\\n$3" positions; }
pos_error "position key of another method" "3:49: position.rope.beta_fast does not belong to position.rope.scaling linear" 'position:\n  rope: {scaling: linear, factor: 2, beta_fast: 32}\n'
pos_error "position method missing a key it needs" "3:19: position.rope.scaling yarn needs position.rope.factor" 'position:\n  rope: {scaling: yarn}\n'
pos_error "position factor below 1" "3:32: position.rope.factor = 0.5 is out of range" 'position:\n  rope: {scaling: ntk, factor: 0.5}\n'
pos_error "longrope factor list that is not d/2 long" "3:81: position.rope.short_factor has 3 values; the head size 8 needs d/2 = 4" 'position:\n  rope: {scaling: longrope, factor: 4, long_factor: [1, 2, 3, 4], short_factor: [1, 1, 1]}\n'
printf 'position: {rope: off, bias: alibi}\n' >"$TMP/rope_off.yaml"
expect_error "rope keys with rope: off" "--set position.rope.theta: position.rope.theta does not belong to position.rope.scaling off \(rope: off\)" \
  ./train positions --config "$TMP/rope_off.yaml" --set model.init_from=$BASE --set position.rope.theta=500000
pos_error "t5 keys without a t5 bias" "4:21: position.t5.num_buckets does not belong to position.bias alibi" 'position:\n  bias: alibi\n  t5: {num_buckets: 16}\n'
pos_error "unknown bias" "2:18: position.bias: 'alibii' is not one of none\|alibi\|t5" 'position: {bias: alibii}\n'
pos_error "llama3 bands out of order" "3:76: position.rope.high_freq_factor 1 must exceed low_freq_factor 2" 'position:\n  rope: {scaling: llama3, factor: 8, low_freq_factor: 2, high_freq_factor: 1}\n'
# data.train as weighted sources: each mistake at its line:column
config_error "a source with a negative weight" "3:33: data.train\[1\].weight -1 is out of range \[0, 1e12\]" 'data:\n  train: [{path: a.bin, weight: 1},\n          {path: b.bin, weight: -1}]\n'
config_error "a key given twice in a source" "2:36: data.train\[0\]: 'weight' is given twice" 'data:\n  train: [{path: a.bin, weight: 1, weight: 2}]\n'
config_error "weights on some sources only" "2:10: data.train: 1 of 2 sources have a weight: give every source a weight, or none" 'data:\n  train: [{path: a.bin, weight: 1}, {path: b.bin}]\n'
config_error "weights all zero" "2:10: data.train: the weights are all zero" 'data:\n  train: [{path: a.bin, weight: 0}, {path: b.bin, weight: 0}]\n'
config_error "a source without a path" "2:11: data.train\[0\]: a source needs a path" 'data:\n  train: [{weight: 1}]\n'
config_error "an unknown source key" "2:25: data.train\[0\]: unknown key 'weigth'" 'data:\n  train: [{path: a.bin, weigth: 1}]\n'
config_error "upsample without its factor" "2:11: data.train\[0\]: upsample needs both min_tokens and factor" 'data:\n  train: [{path: a.bin, upsample: {min_tokens: 9}}]\n'
expect_error "a source glob that matches nothing, named with its line:column" \
  "data.train\[1\] \(--set data.train:1:[0-9]+\): no file matches 'nothing\*\.bin'" \
  ./train --config ft_native.yaml --set 'data.train=[{path: data/tinystories/train.bin, weight: 1}, {path: nothing*.bin, weight: 1}]'
expect_error "a one-source list that min_doc_tokens empties, named with its line:column" "data.train\[0\] \(--set data.train:1:[0-9]+\): min_doc_tokens 100000 leaves no document" \
  ./train --config ft_native.yaml --set 'data.train=[{path: data/tinystories/val.bin, min_doc_tokens: 100000}]'
expect_error "a source that min_doc_tokens empties" "data.train\[1\] \(--set data.train:1:[0-9]+\): min_doc_tokens 100000 leaves no document" \
  ./train --config ft_native.yaml --set 'data.train=[{path: data/tinystories/train.bin, weight: 1}, {path: data/tinystories/val.bin, weight: 1, min_doc_tokens: 100000}]'
expect_error "--set of an unknown key" "--set train.max_step=5: unknown key 'train.max_step'" ./train --config ft_native.yaml --set train.max_step=5
expect_error "--set with a bad value" "--set train.max_steps:1:1: train.max_steps: expected an integer, got 'many'" ./train --config ft_native.yaml --set train.max_steps=many
expect_error "batch_tokens not a multiple of micro_batch x seq_len" "train.batch_tokens 4000 must be a multiple of seq_len 512 x train.micro_batch 8" ./train --config ft_native.yaml --set train.batch_tokens=4000
expect_error "a val shard too short for one window fails before training" "val.bin: [0-9]+ tokens and eval.max_tokens [0-9]+ hold no evaluation window of 131072 \\+ 1 tokens" \
  ./train --config ft_native.yaml --set train.seq_len=131072 --set train.batch_tokens=131072 --set train.micro_batch=1 \
  --set eval.max_tokens=131072
# ---- curriculum -------------------------------------------------------------------------
config_error "a stage may not change the bias" "4:32: curriculum\\[1\\]: 'bias' cannot change between stages" \
  'train: {batch_tokens: 512}\ncurriculum:\n  - {seq_len: 256, tokens: 1K}\n  - {seq_len: 512, tokens: 1K, bias: alibi}\n'
config_error "a stage may not change the T5 table" "3:37: curriculum\[0\]: 't5.num_buckets' cannot change between stages" \
  'train: {batch_tokens: 512}\ncurriculum:\n  - {seq_len: 256, tokens: 1K, t5: {num_buckets: 8}}\n'
config_error "a stage token budget that is not a count" "3:28: curriculum\\[0\\].tokens: '4X' is not a token count" \
  'train: {batch_tokens: 512}\ncurriculum:\n  - {seq_len: 256, tokens: 4X}\n'
config_error "a stage rope value out of range" "3:47: position.rope.factor = 0.5 is out of range" \
  'train: {batch_tokens: 512}\ncurriculum:\n  - {seq_len: 256, tokens: 1K, rope: {factor: 0.5}}\n'
# ---- positions as data: PoSE and document masking ----------------------------------------
# each mistake is one line naming the key at its line:column, exit 2, and no run directory
PB='run: {name: test_cli_pose}\nmodel: {init_from: checkpoints/base/stories260K.bin}\ndata: {train: data/tinystories/train.bin}\ntrain: {batch_tokens: 1024}\n'
pose_error() { config_error "$@"; [ -d checkpoints/test_cli_pose ] && bad "$1: nothing written" "checkpoints/test_cli_pose exists"; }
pose_error "PoSE target_len shorter than the window" "6:51: PoSE target_len 256 is shorter than the window of stage 1 \\(seq_len 512\\)" \
  "${PB}curriculum:\n  - {seq_len: 512, tokens: 1K, pose: {target_len: 256}}\n"
pose_error "train.pose.target_len shorter than train.seq_len" "4:62: PoSE target_len 128 is shorter than the window" \
  'run: {name: test_cli_pose}\nmodel: {init_from: checkpoints/base/stories260K.bin}\ndata: {train: data/tinystories/train.bin}\ntrain: {batch_tokens: 1024, seq_len: 512, pose: {target_len: 128}}\n'
pose_error "PoSE chunks below 1" "5:42: train.pose.chunks = 0 is out of range" \
  "${PB}train: {pose: {target_len: 4096, chunks: 0}}\n"
pose_error "PoSE chunks larger than the window" "6:50: PoSE chunks 20 exceed the window of stage 1 \\(seq_len 16" \
  "${PB}curriculum:\n  - {seq_len: 16, tokens: 1K, pose: {target_len: 4096, chunks: 20}}\n"
pose_error "PoSE beyond what the scaling reaches" "8:51: PoSE target_len 8192 of stage 1 is beyond what its position scheme reaches: yarn, factor 4 x original context 512 = 2048 positions \\(.*:6:33\\)" \
  "${PB}position:\n  rope: {scaling: yarn, factor: 4}\ncurriculum:\n  - {seq_len: 512, tokens: 1K, pose: {target_len: 8192}}\n"
pose_error "an unknown key under a stage's pose" "6:57: curriculum\\[0\\]: unknown key pose.chunk " \
  "${PB}curriculum:\n  - {seq_len: 512, tokens: 1K, pose: {target_len: 4096, chunk: 2}}\n"
pose_error "a stage's pose that is neither a mapping nor off" "6:38: curriculum\\[0\\]: pose is a mapping" \
  "${PB}curriculum:\n  - {seq_len: 512, tokens: 1K, pose: 4096}\n"
printf 'Once upon a time there was one story only.\n\nOnce upon a time, another.\n' >"$TMP/one.txt"
./train prepare --text "$TMP/one.txt" --tokenizer checkpoints/base/tok512.bin --out "$TMP/one" --val-fraction 0.5 >/dev/null
printf 'run: {name: test_cli_pose}\nmodel: {init_from: checkpoints/base/stories260K.bin}\ndata: {train: %s/one/train.bin, document_mask: true}\ntrain: {batch_tokens: 16, seq_len: 8, max_steps: 1}\n' "$TMP" >"$TMP/nodocs.yaml"
expect_error "document masking on a shard without document boundaries" "nodocs.yaml:3:[0-9]+: data.document_mask is on, but .*one/train.bin has no document boundaries" \
  ./train --config "$TMP/nodocs.yaml"
[ -d checkpoints/test_cli_pose ] && bad "document masking without boundaries: nothing written" "checkpoints/test_cli_pose exists"
expect_error "train.seq_len beside a curriculum" "ft_native.yaml:7:12: train.seq_len and curriculum are both set" \
  ./train --config ft_native.yaml --set 'curriculum=[{seq_len: 256, tokens: 4K}]'
cat >"$TMP/curriculum.yaml" <<YAML
run: {name: test_cli_curriculum, seed: 1}
model: {init_from: $BASE}
data:
  train: data/tinystories/train.bin
  val: $VAL
  tokenizer: checkpoints/base/tok512.bin
train: {batch_tokens: 1024, micro_batch: 2, log_every: 1}
position:
  rope: {scaling: linear, factor: 1}
curriculum:
  - {seq_len: 256, tokens: 2K}
  - {seq_len: 512, tokens: 1K, rope: {factor: 2}, lr_scale: 0.5}
eval: {every: 2, max_tokens: 2048, seq_lens: [256, 1024], tasks: {names: [passkey], lengths: [1024], depths: [0.5], trials: 2, every: 2}}
YAML
M=checkpoints/test_cli_curriculum/metrics.jsonl
rm -rf checkpoints/test_cli_curriculum
if ./train --config "$TMP/curriculum.yaml" >"$TMP/cur.out" 2>&1 \
   && [ -f checkpoints/test_cli_curriculum/stage_1/model.safetensors ] && [ ! -d checkpoints/test_cli_curriculum/stage_2 ] \
   && grep -q '"step": 2, "stage": 1, "seq_len": 256' $M && grep -q '"step": 3, "stage": 2, "seq_len": 512' $M \
   && [ "$(grep -c '"type": "eval"' $M)" -eq 6 ] && [ "$(grep -c '"seq_len": 1024, "val_loss"' $M)" -eq 3 ] \
   && grep -q '"seq_len": 1024, "loss"' checkpoints/test_cli_curriculum/eval.json \
   && [ "$(grep -c '"type": "task", "step": [023], "tokens": [0-9]*, "task": "passkey", "seq_len": 1024, "depth": 0.5' $M)" -eq 3 ] \
   && [ "$(grep -c '"type": "effective_length", "step": [023], "tokens": [0-9]*, "task": "passkey"' $M)" -eq 3 ] \
   && grep -q '"tasks": \[{"task": "passkey", "seq_len": 1024, "depth": 0.5, "trials": 2' checkpoints/test_cli_curriculum/eval.json \
   && grep -q 'stage 2/2: seq_len 512, steps 3-3 (1024 tokens), 2 x 1 sequences per step, lr x 0.5' "$TMP/cur.out" \
   && grep -q 'step     3/3 | stage 2/2 T 512' "$TMP/cur.out" && grep -q '"factor": 2' "$TMP/cur.out"; then
  ok "a two-stage curriculum: stages, seq_len, evals, passkey, stage model"
else bad "a two-stage curriculum: stages, seq_len, evals, passkey, stage model" "$(tail -4 "$TMP/cur.out")"; fi
# ---- train sample: text from a model ------------------------------------------------------
# greedy from BOS must give stories260K's published greedy sample (llama2.c; ../shared/README.md)
S="$TMP/sample"
if ./train sample --model checkpoints/base/stories260K.bin --out "$S.greedy.bin" --tokens 600 --temperature 0 \
     --tokenizer checkpoints/base/tok512.bin >"$TMP/greedy.out" 2>&1 \
   && head -1 "$TMP/greedy.out" | grep -q '^Once upon a time, there was a little girl named Lily. She loved to play outside in the park' \
   && grep -qE '^sampled [0-9]+ documents, [0-9]+ tokens from .*stories260K.bin \(temperature 0, seed 1337, at most 512 tokens each\)' "$TMP/greedy.out"; then
  ok "train sample --temperature 0: stories260K's published greedy story"
else bad "train sample --temperature 0: stories260K's published greedy story" "$(head -c 300 "$TMP/greedy.out")"; fi
if ./train sample --model checkpoints/base/stories260K.bin --out "$S.a.bin" --tokens 3000 --seed 5 >/dev/null 2>&1 \
   && ./train sample --model checkpoints/base/stories260K.bin --out "$S.b.bin" --tokens 3000 --seed 5 >/dev/null 2>&1 \
   && ./train sample --model checkpoints/base/stories260K.bin --out "$S.c.bin" --tokens 3000 --seed 6 >/dev/null 2>&1 \
   && cmp -s "$S.a.bin" "$S.b.bin" && ! cmp -s "$S.a.bin" "$S.c.bin" \
   && ./train eval --config ft_native.yaml --set run.name=test_cli_sample --set data.val="$S.a.bin" --set 'eval.seq_lens=[256]' \
        --set eval.max_tokens=2048 >"$TMP/seval.out" 2>&1 \
   && awk '$1 == "all" && $3 > 0.5 && $3 < 2.5 { found = 1 } END { exit !found }' "$TMP/seval.out"; then
  ok "train sample: the same seed the same shard, another seed another; a shard the model reads at a plausible loss"
else bad "train sample: the same seed the same shard, another seed another; a shard the model reads at a plausible loss" "$(tail -3 "$TMP/seval.out")"; fi
expect_error "sample without --model" "usage: train sample --model SRC" ./train sample --out "$S.x.bin" --tokens 10
expect_error "sample of 0 tokens" "--tokens 0: expected a whole number in \\[1, 1000000000000\\]" \
  ./train sample --model checkpoints/base/stories260K.bin --out "$S.x.bin" --tokens 0
expect_error "a negative sampling temperature" "--temperature -1: expected a number in \\[0, 100\\]" \
  ./train sample --model checkpoints/base/stories260K.bin --out "$S.x.bin" --tokens 10 --temperature -1
expect_error "an unknown sample option" "sample: unknown option '--top-k'" \
  ./train sample --model checkpoints/base/stories260K.bin --out "$S.x.bin" --tokens 10 --top-k 5
if need "$TOK32K" "sample with another model's tokenizer"; then
  expect_error "sample with another model's tokenizer" "--tokenizer .*tok32000.bin has 32000 tokens, the model 512" \
    ./train sample --model checkpoints/base/stories260K.bin --out "$S.x.bin" --tokens 10 --tokenizer "$TOK32K"
fi

# ---- training data: globs and document filters -------------------------------------------
expect_error "a data.train glob that matches nothing" "--set data.train: data.train: no file matches 'data/nowhere/\\*.bin'" \
  ./train --config ft_native.yaml --set 'data.train=data/nowhere/*.bin'
expect_error "max_doc_tokens without document_mask" "--set data.max_doc_tokens: data.max_doc_tokens cuts documents into pieces, but data.document_mask is off" \
  ./train --config ft_native.yaml --set data.max_doc_tokens=512
expect_error "min_doc_tokens that leaves no document" "train.bin: data.min_doc_tokens 100000 leaves no document" \
  ./train --config ft_native.yaml --set data.min_doc_tokens=100000
if ./train --config ft_native.yaml --set run.name=test_cli_glob --set 'data.train=data/tinystories/[t]rain.bin' \
     --set data.upsample.min_tokens=600 --set data.upsample.factor=2 --set train.max_steps=1 --set train.batch_tokens=512 \
     --set train.micro_batch=1 --set eval.every=0 --set eval.max_tokens=512 >"$TMP/glob.out" 2>&1 \
   && grep -qE '^data: [0-9]+ tokens in 1 file; an epoch packs [0-9]+ documents' "$TMP/glob.out"; then
  ok "a glob for data.train, upsampled documents"
else bad "a glob for data.train, upsampled documents" "$(tail -3 "$TMP/glob.out")"; fi

# ---- copy by distance (eval.tasks.copy) -----------------------------------------------------
CP="--set run.name=test_cli_copy"
expect_error "copy distances shorter than the span" "eval.tasks.copy.distances must be whole, increasing and at least eval.tasks.copy.span 32 \\(16\\)" \
  ./train eval --config ft_native.yaml $CP --set 'eval.tasks.copy.distances=[16, 64]'
expect_error "copy distances out of order" "eval.tasks.copy.distances must be whole, increasing and at least eval.tasks.copy.span 32 \\(64\\)" \
  ./train eval --config ft_native.yaml $CP --set 'eval.tasks.copy.distances=[128, 64]'
expect_error "a copy distance longer than the val text" "a copy at distance 1000000 needs 1000001 tokens of text; .*val.bin holds [0-9]+" \
  ./train eval --config ft_native.yaml $CP --set 'eval.tasks.copy.distances=[1000000]'
expect_error "an unknown retrieval task" "unknown key 'eval.tasks.needle.lengths'" \
  ./train eval --config ft_native.yaml $CP --set 'eval.tasks.needle.lengths=[512]'
expect_error "a copy span of 1" "eval.tasks.copy.span = 1 is out of range" \
  ./train eval --config ft_native.yaml $CP --set 'eval.tasks.copy.distances=[64]' --set eval.tasks.copy.span=1
expect_error "the copy task in training without data.val" "eval.tasks.copy needs data.val" \
  ./train --config ft_native.yaml $CP --set 'eval.tasks.copy.distances=[64]' --set 'data.val=""'
if ./train eval --config ft_native.yaml $CP --set 'eval.tasks.copy.distances=[32, 256]' --set eval.tasks.copy.trials=2 \
     >"$TMP/copy.out" 2>&1 && grep -qE '^256 +[0-9.]+ +[0-9.]+ +-?[0-9.]+$' "$TMP/copy.out" \
   && grep -q '"copy": \[{"distance": 32, "span": 32, "trials": 2, "first_loss": ' checkpoints/test_cli_copy/eval.json; then
  ok "train eval with eval.tasks.copy: a table by distance, eval.json \"copy\""
else bad "train eval with eval.tasks.copy: a table by distance, eval.json \"copy\"" "$(tail -3 "$TMP/copy.out")"; fi

# ---- needle tasks (eval.tasks) and the training mix (data.mix) ----------------------------
TOK=checkpoints/base/tok512.bin
PK="--set run.name=test_cli_pk --set eval.max_tokens=512"
N="eval.tasks.names=[passkey]"
expect_error "tasks without data.tokenizer" "--set eval.tasks.names: eval.tasks.names needs data.tokenizer" \
  ./train eval --config ft_native.yaml $PK --set $N --set 'eval.tasks.lengths=[512]'
if need "$TOK32K" "tasks with another model's tokenizer"; then
  expect_error "tasks with another model's tokenizer" "data.tokenizer .*tok32000.bin has 32000 tokens, the model 512" \
    ./train eval --config ft_native.yaml $PK --set $N --set 'eval.tasks.lengths=[512]' --set data.tokenizer="$TOK32K"
fi
expect_error "task names without lengths" "eval.tasks.names needs eval.tasks.lengths" \
  ./train eval --config ft_native.yaml $PK --set $N --set data.tokenizer=$TOK
expect_error "a task length too short for the prompt" "a multikey prompt of 100 positions leaves too little room for filler; use lengths of at least [0-9]+" \
  ./train eval --config ft_native.yaml $PK --set 'eval.tasks.names=[multikey]' --set 'eval.tasks.lengths=[100]' --set data.tokenizer=$TOK
expect_error "task lengths out of order" "eval.tasks.lengths must be whole lengths in increasing order \\(512\\)" \
  ./train eval --config ft_native.yaml $PK --set $N --set 'eval.tasks.lengths=[1024, 512]' --set data.tokenizer=$TOK
expect_error "a task depth outside [0, 1]" "--set eval.tasks.depths:1:7: eval.tasks.depths = 1.5 is out of range \\[0, 1\\]" \
  ./train eval --config ft_native.yaml $PK --set 'eval.tasks.depths=[0.5, 1.5]'
expect_error "a task length the val text cannot fill" "a prompt of 65536 positions needs as much filler text; .*val.bin holds [0-9]+" \
  ./train eval --config ft_native.yaml $PK --set $N --set 'eval.tasks.lengths=[65536]' --set data.tokenizer=$TOK
expect_error "tasks in training without data.val" "eval.tasks needs data.val" \
  ./train --config ft_native.yaml $PK --set $N --set 'eval.tasks.lengths=[512]' --set data.tokenizer=$TOK --set 'data.val=""'
expect_error "an unknown task name (--set)" "--set eval.tasks.names:1:11: eval.tasks.names: unknown name 'needle' \\(one of passkey\\|multikey\\|multivalue\\|kv\\)" \
  ./train eval --config ft_native.yaml $PK --set 'eval.tasks.names=[passkey, needle]'
expect_error "a task named twice" "eval.tasks.names: 'kv' is listed twice" \
  ./train eval --config ft_native.yaml $PK --set 'eval.tasks.names=[kv, kv]'
cat >"$TMP/tasks.yaml" <<'YAML'
run: {name: test_cli_pk}
model: {init_from: checkpoints/base/stories260K.bin}
data: {val: data/tinystories/val.bin, tokenizer: checkpoints/base/tok512.bin}
eval:
  tasks:
    names: [passkey,
            multi_key]
YAML
expect_error "an unknown task name (YAML: line:column)" "tasks.yaml:7:13: eval.tasks.names: unknown name 'multi_key'" \
  ./train eval --config "$TMP/tasks.yaml"
# eval.passkey of earlier versions (in old configs and checkpoints) is eval.tasks with names [passkey]
printf 'run: {name: test_cli_pk}\nmodel: {init_from: checkpoints/base/stories260K.bin}\ndata: {val: data/tinystories/val.bin, tokenizer: checkpoints/base/tok512.bin}\neval:\n  max_tokens: 512\n  passkey: {lengths: [512], depths: [0.5], trials: 2}\n' >"$TMP/oldpk.yaml"
if ./train eval --config "$TMP/oldpk.yaml" >"$TMP/old.out" 2>&1 && cp checkpoints/test_cli_pk/eval.json "$TMP/old.json" \
   && ./train eval --config ft_native.yaml $PK --set data.tokenizer=$TOK --set 'eval.passkey.depths=[0.5]' \
        --set eval.passkey.trials=2 --set 'eval.passkey.lengths=[512]' >/dev/null 2>&1 \
   && cmp -s checkpoints/test_cli_pk/eval.json "$TMP/old.json" \
   && grep -q '"tasks": \[{"task": "passkey", "seq_len": 512, "depth": 0.5, "trials": 2, ' "$TMP/old.json"; then
  ok "eval.passkey of earlier versions (YAML and --set) reads as eval.tasks with names [passkey]"
else bad "eval.passkey of earlier versions (YAML and --set) reads as eval.tasks with names [passkey]" "$(tail -2 "$TMP/old.out")"; fi
printf 'run: {name: test_cli_pk}\neval:\n  passkey: {needles: 3}\n' >"$TMP/oldbad.yaml"
if ./train eval --config ft_native.yaml $PK --set data.tokenizer=$TOK --set 'eval.tasks.names=[kv]' --set eval.tasks.trials=1 \
     --set 'eval.passkey.lengths=[300]' --set 'eval.passkey.depths=[0.5]' >"$TMP/both.out" 2>&1 \
   && grep -q '^passkey: accuracy' "$TMP/both.out" && grep -q '^kv: accuracy' "$TMP/both.out"; then
  ok "eval.passkey beside eval.tasks.names (in either order) adds passkey to the names"
else bad "eval.passkey beside eval.tasks.names (in either order) adds passkey to the names" "$(tail -2 "$TMP/both.out")"; fi
expect_error "an unknown eval.passkey key" "oldbad.yaml:3:13: unknown key 'eval.passkey.needles'" \
  ./train eval --config "$TMP/oldbad.yaml"
if ./train eval --config ft_native.yaml $PK --set 'eval.tasks.names=[passkey, multikey, multivalue, kv]' \
     --set 'eval.tasks.lengths=[300, 512]' --set eval.tasks.trials=2 --set data.tokenizer=$TOK >"$TMP/pk.out" 2>&1 \
   && [ "$(grep -cE '^512 +[0-9]+% +[0-9]+% +[0-9]+% +[0-9]+% +[0-9.]+$' "$TMP/pk.out")" -eq 4 ] \
   && [ "$(grep -c '^effective length' "$TMP/pk.out")" -eq 4 ] \
   && grep -q '"tasks": \[{"task": "passkey", "seq_len": 300, "depth": 0.1, "trials": 2, "accuracy": ' checkpoints/test_cli_pk/eval.json \
   && [ "$(grep -o '"depth"' checkpoints/test_cli_pk/eval.json | wc -l)" -eq 24 ] \
   && grep -qE '"effective_length": \{"original": 512, "threshold": 0.8, "passkey": (null|[0-9]+), "multikey": (null|[0-9]+), "multivalue": (null|[0-9]+), "kv": (null|[0-9]+)\}' checkpoints/test_cli_pk/eval.json; then
  ok "train eval prints and writes every task's accuracy per length x depth and effective length"
else bad "train eval prints and writes every task's accuracy per length x depth and effective length" "$(tail -4 "$TMP/pk.out")"; fi
MX="--set run.name=test_cli_mix --set train.max_steps=2 --set train.batch_tokens=1024 --set train.micro_batch=2 --set eval.every=0 --set eval.max_tokens=512"
expect_error "a mix share outside (0, 1)" "--set data.mix.share: data.mix.share 0 must be in \\(0, 1\\)" \
  ./train --config ft_native.yaml $MX --set 'data.mix.tasks=[passkey]' --set data.tokenizer=$TOK --set data.mix.share=0
expect_error "a mix share above 1" "--set data.mix.share:1:1: data.mix.share = 1.5 is out of range \\[0, 1\\]" \
  ./train --config ft_native.yaml $MX --set 'data.mix.tasks=[passkey]' --set data.tokenizer=$TOK --set data.mix.share=1.5
expect_error "a mix without a share" "--set data.mix.tasks: data.mix.tasks needs data.mix.share" \
  ./train --config ft_native.yaml $MX --set 'data.mix.tasks=[passkey]' --set data.tokenizer=$TOK
expect_error "mix documents longer than the training text" "--set data.mix.lengths: data.mix.lengths 300000 is longer than the training text's [0-9]+ tokens" \
  ./train --config ft_native.yaml $MX --set 'data.mix.tasks=[passkey]' --set data.tokenizer=$TOK --set data.mix.share=0.2 --set 'data.mix.lengths=[200, 300000]'
expect_error "whole mix documents that no sequence holds" "--set data.mix.whole: data.mix.whole needs every sequence to hold a whole document, but the shortest seq_len 512 is below data.mix.lengths' 600" \
  ./train --config ft_native.yaml $MX --set 'data.mix.tasks=[passkey]' --set data.tokenizer=$TOK --set data.mix.share=0.2 --set 'data.mix.lengths=[600, 700]' --set data.mix.whole=true
expect_error "a mix without data.tokenizer" "--set data.mix.tasks: data.mix.tasks needs data.tokenizer" \
  ./train --config ft_native.yaml $MX --set 'data.mix.tasks=[kv]' --set data.mix.share=0.2
expect_error "mix lengths too short for the prompts" "--set data.mix.lengths: data.mix.lengths 50 is too short for the tasks' prompts; use at least [0-9]+" \
  ./train --config ft_native.yaml $MX --set 'data.mix.tasks=[passkey, kv]' --set data.tokenizer=$TOK --set data.mix.share=0.2 --set 'data.mix.lengths=[50, 300]'
expect_error "mix lengths out of order" "data.mix.lengths must be \\[shortest, longest\\] whole document lengths" \
  ./train --config ft_native.yaml $MX --set 'data.mix.tasks=[kv]' --set data.tokenizer=$TOK --set data.mix.share=0.2 --set 'data.mix.lengths=[400, 300]'
expect_error "mix depths out of order" "--set data.mix.depths: data.mix.depths must be \\[lowest, highest\\] depths in \\[0, 1\\]" \
  ./train --config ft_native.yaml $MX --set 'data.mix.tasks=[kv]' --set data.tokenizer=$TOK --set data.mix.share=0.2 --set 'data.mix.depths=[0.5, 0.2]'
expect_error "a mix depth above 1" "--set data.mix.depths:1:7: data.mix.depths = 1.5 is out of range \\[0, 1\\]" \
  ./train --config ft_native.yaml $MX --set 'data.mix.depths=[0.2, 1.5]'
expect_error "an unknown mix task" "data.mix.tasks: unknown name 'summary'" \
  ./train --config ft_native.yaml $MX --set 'data.mix.tasks=[summary]'
if ./train --config ft_native.yaml $MX --set 'data.mix.tasks=[passkey, kv]' --set data.tokenizer=$TOK --set data.mix.share=0.25 \
     --set 'data.mix.lengths=[200, 400]' >"$TMP/mix.out" 2>&1 \
   && grep -qE '^data.mix: [0-9]+ retrieval documents per epoch \(passkey, kv\), 200-400 tokens each, 25% of the tokens, depths 0-1; filler from data.train$' "$TMP/mix.out" \
   && grep -q 'mix:' checkpoints/test_cli_mix/config.yaml && grep -q 'tasks: \[passkey, kv\]' checkpoints/test_cli_mix/config.yaml; then
  ok "data.mix: retrieval documents in the training stream, recorded in the resolved config"
else bad "data.mix: retrieval documents in the training stream, recorded in the resolved config" "$(tail -3 "$TMP/mix.out")"; fi
if ./train --config ft_native.yaml $MX --set run.name=test_cli_mixcopy --set 'data.mix.tasks=[copy]' --set data.mix.share=0.3 \
     --set 'data.mix.lengths=[100, 300]' >"$TMP/mixcopy.out" 2>&1 \
   && grep -qE '^data.mix: [0-9]+ retrieval documents per epoch \(copy\), 100-300 tokens each, 30% of the tokens' "$TMP/mixcopy.out"; then
  ok "data.mix: copy documents alone, without a tokenizer"
else bad "data.mix: copy documents alone, without a tokenizer" "$(tail -3 "$TMP/mixcopy.out")"; fi
MW=(--set run.name=test_cli_mixwhole --set 'data.mix.tasks=[passkey]' --set data.tokenizer=$TOK --set data.mix.share=0.9
    --set 'data.mix.lengths=[300, 500]' --set checkpoint.every=1)
./train --config ft_native.yaml $MX "${MW[@]}" >"$TMP/mixwhole.out" 2>&1 || bad "a mix run to resume" "$(tail -3 "$TMP/mixwhole.out")"
expect_error "resuming with data.mix.whole from inside a retrieval document" \
  "the data cursor \\(epoch 0, document [0-9]+, offset [1-9][0-9]*\\) is inside a retrieval document, where data.mix.whole never stops" \
  ./train --config ft_native.yaml $MX "${MW[@]}" --set data.mix.whole=true --resume checkpoints/test_cli_mixwhole/step_00000001
expect_error "missing config file" "missing.yaml: no such config file" ./train --config missing.yaml
expect_error "a directory as the config file" "configs: is a directory, not a file" ./train --config configs
expect_error "train.recompute: a value not in its choices" "train.recompute: 'maybe' is not one of false\|true\|full" \
  ./train --config ft_native.yaml --set train.recompute=maybe
expect_error "unknown subcommand, the nearest one and the list" "unknown subcommand 'prepar' \(did you mean 'prepare'\?\) \(the subcommands: eval, prepare, .*tokenize" ./train prepar
expect_error "--set of a misspelt key: the nearest key" "--set train.max_step=5: unknown key 'train.max_step' \(did you mean 'train.max_steps'\?\)" \
  ./train --config ft_native.yaml --set train.max_step=5
helps=""
for c in "" eval positions prepare tokenize info export compare sample score; do
  out=$(./train $c --help 2>&1); rc=$?
  [ $rc -eq 0 ] && echo "$out" | grep -q "^usage: train" && echo "$out" | grep -q "train ${c:---config}" || helps="$helps ${c:-train}(exit $rc)"
done
[ -z "$helps" ] && ok "every subcommand answers --help with its usage, exit 0" || bad "--help" "failed:$helps"
expect_error "prepare without --out" "prepare: missing --input, --tokenizer or --out" ./train prepare --text x

# ---- a NaN weight is refused when the model is loaded, naming the tensor (mid-run NaNs:
# tests/test_faults.sh) ---------------------------------------------------------------------
cp "$BASE" "$TMP/nan.bin"
printf '\x00\x00\xc0\x7f' | dd of="$TMP/nan.bin" bs=1 seek=131100 conv=notrunc status=none   # layer 0 attn norm gain
expect_error "a NaN weight: training refuses the model at load, naming the tensor" \
  "nan.bin: tensor 'model.layers.0.input_layernorm.weight' holds NaN: the weights are not finite" \
  ./train --config ft_native.yaml --set run.name=test_cli_nan --set model.init_from="$TMP/nan.bin" --set train.max_steps=3 \
  --set train.batch_tokens=512 --set train.micro_batch=1 --set eval.every=0

# ---- eval, resolved config, info -------------------------------------------------------
if ./train eval --config ft_native.yaml --set run.name=test_cli_eval --set eval.max_tokens=8192 >"$TMP/eval.out" 2>&1 \
   && grep -q '"loss_by_position": \[{"from": 0, "to": 256' checkpoints/test_cli_eval/eval.json \
   && grep -qE '^all +8192 ' "$TMP/eval.out"; then ok "train eval writes eval.json and a table by position"
else bad "train eval writes eval.json and a table by position" "$(tail -3 "$TMP/eval.out")"; fi
if ./train --config configs/ft_native.yaml --set run.name=test_cli_resolved --set train.max_steps=1 --set train.batch_tokens=512 \
      --set train.micro_batch=1 --set eval.max_tokens=512 >"$TMP/run.out" 2>&1 \
   && grep -q 'max_steps: 1$' checkpoints/test_cli_resolved/config.yaml \
   && ./train eval --config checkpoints/test_cli_resolved/config.yaml --set eval.max_tokens=512 >/dev/null 2>&1; then
  ok "resolved config.yaml is written and loads back"
else bad "resolved config.yaml is written and loads back" "$(tail -3 "$TMP/run.out")"; fi
if ./train positions --config ft_native.yaml --set position.rope.scaling=ntk --set position.rope.factor=4 \
     --set position.bias=alibi | grep -qE '^ +3 +1.000000e-03 +2.500000e-04 .* 4.000$' \
   && ./train positions --config ft_native.yaml --set position.rope=off --set position.bias=alibi | grep -q 'head  7  m = 0.00390625'; then
  ok "train positions prints theta per pair and the alibi slopes"
else bad "train positions prints theta per pair and the alibi slopes"; fi
# a retrofitted run saves a stretch state that re-evaluates to its last val loss
H="--set run.name=test_cli_hybrid --set train.max_steps=3 --set train.batch_tokens=1024 --set train.micro_batch=2 --set eval.max_tokens=2048 --set eval.seq_lens=[512] --set eval.tasks.names=[]"
if ./train --config retrofit_yarn_alibi.yaml $H --set 'curriculum=[{seq_len: 512, tokens: 3K}]' --set position.bias=t5 --set position.t5.init=alibi \
     >"$TMP/hyb.out" 2>&1 && [ -f checkpoints/test_cli_hybrid/model.safetensors ] && [ ! -f checkpoints/test_cli_hybrid/model.bin ]; then
  ok "a yarn+t5 run saves model.safetensors and no llama2.c model.bin"
else bad "a yarn+t5 run saves model.safetensors and no llama2.c model.bin" "$(tail -2 "$TMP/hyb.out")"; fi
expect_error "a state's learned T5 table is never dropped silently" "has a learned T5 table but position.bias is none" \
  ./train eval --config ft_native.yaml --set run.name=test_cli_hybrid --set position.rope.scaling=none \
  --set model.init_from=checkpoints/test_cli_hybrid/model.safetensors
want=$(grep '"type": "eval"' checkpoints/test_cli_hybrid/metrics.jsonl | tail -1 | sed 's/.*"val_loss": \([0-9.]*\).*/\1/')
# (the same eval batch, 2 windows per forward, as the run's: BLAS may round the last digit
# differently for another number of rows)
./train eval --config ft_native.yaml --set run.name=test_cli_hybrid --set eval.max_tokens=2048 \
  --set train.batch_tokens=1024 --set train.micro_batch=2 \
  --set model.init_from=checkpoints/test_cli_hybrid/model.safetensors >/dev/null 2>&1
got=$(sed 's/^{"evals": \[{"seq_len": [0-9]*, "loss": \([0-9.]*\),.*/\1/' checkpoints/test_cli_hybrid/eval.json)
if [ -n "$want" ] && [ "$want" = "$got" ]; then ok "yarn+t5 state re-evaluates to its final val loss ($got)"
else bad "yarn+t5 state re-evaluates to its final val loss" "trained $want, state $got"; fi
# a config without position keys fine-tunes a retrofitted state under the state's own scheme
# (a stage's rope override is laid over it), and saves it with that scheme
printf 'run: {name: test_cli_keep}\nmodel: {init_from: checkpoints/test_cli_hybrid/model.safetensors}\ndata: {train: %s}\ntrain: {batch_tokens: 1024, micro_batch: 2}\ncurriculum:\n  - {seq_len: 512, tokens: 1K}\n  - {seq_len: 512, tokens: 1K, rope: {factor: 2}}\n' \
  data/tinystories/train.bin >"$TMP/keep.yaml"
if ./train --config "$TMP/keep.yaml" >"$TMP/keep.out" 2>&1 \
   && grep -q 'stage 1/2: .*"scaling": "yarn", "factor": 8, .*"bias": "t5"' "$TMP/keep.out" \
   && grep -q 'stage 2/2: .*"scaling": "yarn", "factor": 2, .*"bias": "t5"' "$TMP/keep.out" \
   && ./train info checkpoints/test_cli_keep/stage_1/model.safetensors | grep -q '"factor": 8, .*"bias": "t5"' \
   && ./train info checkpoints/test_cli_keep/model.safetensors | grep -q '"factor": 2, .*"bias": "t5"'; then
  ok "init_from a yarn+t5 state without position keys keeps its scheme; stages override it"
else bad "init_from a yarn+t5 state without position keys keeps its scheme; stages override it" "$(grep -E 'stage|stretch' "$TMP/keep.out" | head -3)"; fi
# two identical runs (same seed, same threads) are bit-identical: losses and grad norms
R="--set train.max_steps=3 --set train.batch_tokens=1024 --set train.micro_batch=2 --set eval.max_tokens=1024 --set run.threads=2 --set eval.seq_lens=[512] --set eval.tasks.names=[]"
./train --config retrofit_yarn_alibi.yaml $R --set 'curriculum=[{seq_len: 512, tokens: 3K}]' --set run.name=test_cli_det1 >/dev/null 2>&1
./train --config retrofit_yarn_alibi.yaml $R --set 'curriculum=[{seq_len: 512, tokens: 3K}]' --set run.name=test_cli_det2 >/dev/null 2>&1
if [ -s checkpoints/test_cli_det1/metrics.jsonl ] && [ "$(strip_timing checkpoints/test_cli_det1/metrics.jsonl)" = "$(strip_timing checkpoints/test_cli_det2/metrics.jsonl)" ] \
   && cmp -s checkpoints/test_cli_det1/model.safetensors checkpoints/test_cli_det2/model.safetensors; then
  ok "two equal runs give identical losses, grad norms and weights"
else bad "two equal runs give identical losses, grad norms and weights"; fi
if ./train info "$BASE" | grep -q "dim 64, hidden 172, layers 5, heads 8, kv heads 4, head size 8, vocab 512, tied head"; then
  ok "train info prints the checkpoint's shape"
else bad "train info prints the checkpoint's shape"; fi

# ---- OpenBLAS's kernels (model/blas.c) ---------------------------------------------------
# The kernels this CPU runs, from /proc/cpuinfo's flags; what OpenBLAS detects and then
# runs, from OpenBLAS itself (OPENBLAS_VERBOSE=2 prints "Core: NAME" as it loads). When its
# own pick is of a lower tier than the CPU's, train runs again with OPENBLAS_CORETYPE set.
blas_tier() { case $1 in Cooperlake|SapphireRapids) echo 4;; SkylakeX) echo 3;; Haswell|Zen|Excavator) echo 2;;
  Sandybridge|Bulldozer|Piledriver|Steamroller) echo 1;; *) echo 0;; esac; }
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { for f in "$@"; do case $flags in *" $f "*) ;; *) return 1;; esac; done; }
if has avx512f avx512bw avx512vl avx512dq avx512cd; then cpu_k=SkylakeX; has avx512_bf16 && cpu_k=Cooperlake
elif has avx2 fma; then cpu_k=Haswell; elif has avx; then cpu_k=Sandybridge; else cpu_k=; fi
K="--config ft_native.yaml --set train.max_steps=1 --set train.batch_tokens=512 --set train.micro_batch=1 --set eval.every=0"
env -u OPENBLAS_CORETYPE OPENBLAS_VERBOSE=2 ./train $K --set run.name=test_cli_blas1 >"$TMP/blas1.out" 2>&1
cores=$(grep -oE '^Core: [A-Za-z0-9()]+' "$TMP/blas1.out" | cut -d' ' -f2 | tr '\n' ' ')
set -- $cores
if [ -n "$cpu_k" ] && [ "$(blas_tier "${1:-}")" -lt "$(blas_tier $cpu_k)" ]; then
  [ "$cores" = "$1 $cpu_k " ] && grep -q "kernels: OpenBLAS $cpu_k (stretch's choice: OpenBLAS detected $1), ours" "$TMP/blas1.out" \
    && ok "OpenBLAS's $1 kernels on a $cpu_k CPU: train runs again on $cpu_k's" \
    || bad "OpenBLAS's $1 kernels on a $cpu_k CPU: train runs again on $cpu_k's" "cores: $cores; $(grep -E '^run |stretch' "$TMP/blas1.out" | head -2)"
else
  [ "$cores" = "${1:-} " ] && grep -q "kernels: OpenBLAS ${1:-}, ours" "$TMP/blas1.out" \
    && ok "OpenBLAS's own pick ($1) kept on a ${cpu_k:-pre-AVX} CPU" \
    || bad "OpenBLAS's own pick kept on a ${cpu_k:-pre-AVX} CPU" "cores: $cores; $(grep -E '^run |stretch' "$TMP/blas1.out" | head -2)"
fi
OPENBLAS_CORETYPE=Haswell OPENBLAS_VERBOSE=2 ./train $K --set run.name=test_cli_blas2 >"$TMP/blas2.out" 2>&1
if [ "$(grep -c '^Core: ' "$TMP/blas2.out")" = 1 ] && grep -q "kernels: OpenBLAS Haswell (OPENBLAS_CORETYPE=Haswell), ours" "$TMP/blas2.out"; then
  ok "a user's OPENBLAS_CORETYPE is kept"
else bad "a user's OPENBLAS_CORETYPE is kept" "$(grep -E '^Core|^run |stretch' "$TMP/blas2.out" | head -3)"; fi

finish test_cli
