#!/usr/bin/env bash
# test_export.sh — `train export` round trips. A model exported to a Hugging Face
# directory (config.json + model.safetensors with q/k rows in the half layout) or to
# llama2.c v1 and loaded back with model.init_from evaluates to bit-identical losses
# (eval.json compared byte for byte): the base model (plain RoPE) both ways, a YaRN run,
# a YaRN + T5-bias run; config.json's rope_scaling alone (the "stretch" key removed, as
# transformers would read it) describes the same YaRN model; static NTK becomes rope_theta.
# Every export also writes transformers v5's rope_parameters, which alone (no rope_scaling,
# rope_theta or stretch key) describes the same model; v4 and v5 keys that disagree are
# an error naming both.
# Refusals: llama2c for a scaled model, a non-empty --to, an unknown rope_scaling key.
cd "$(dirname "$0")/.."
. tests/lib.sh
begin export
BASE=checkpoints/base/stories260K.bin
# evaljson NAME MODEL: eval at 256 and 1024 tokens with the model's own position scheme
evaljson() {
  ./train eval --config ft_native.yaml --set run.name="test_export_$1" --set model.init_from="$2" \
    --set 'eval.seq_lens=[256, 1024]' --set eval.max_tokens=4096 >"$TMP/$1.out" 2>&1 && cat "checkpoints/test_export_$1/eval.json"
}
# roundtrip NAME SRC FORMAT MODEL_IN_EXPORT: export, then the export evaluates like SRC
roundtrip() {
  local name=$1 src=$2 fmt=$3 file=$4
  if ./train export --from "$src" --to "$TMP/$name" --format "$fmt" >"$TMP/$name.export" 2>&1 \
     && want=$(evaljson "${name}_src" "$src") && got=$(evaljson "${name}_dst" "$TMP/$name$file") && [ "$want" = "$got" ]; then
    ok "$name: $fmt export evaluates bit-identically"
  else bad "$name: $fmt export evaluates bit-identically" "$(tail -2 "$TMP/$name.export") | $want | $got"; fi
}

# v5only DIR OUT: DIR's export as transformers v5 alone would describe it: rope_parameters,
# without rope_scaling, the top-level rope_theta and the stretch key
v5only() {
  mkdir -p "$2" && cp "$1/model.safetensors" "$2/"
  sed 's/^  "rope_scaling": .*/  "rope_scaling_removed": null,/; s/^  "rope_theta": .*/  "rope_theta_removed": null,/;
       s/^  "stretch": .*/  "stretch_removed": null/' "$1/config.json" >"$2/config.json"
}
roundtrip base_hf "$BASE" hf ""
roundtrip base_llama2c "$BASE" llama2c /model.bin
grep -q '"rope_scaling": null' "$TMP/base_hf/config.json" && grep -q '"max_position_embeddings": 512' "$TMP/base_hf/config.json" \
  && ./train info "$TMP/base_hf" | grep -q "dim 64, hidden 172, layers 5, heads 8, kv heads 4" \
  && ok "base: plain config.json, train info reads it" || bad "base: plain config.json, train info reads it"

# a YaRN run (tests/resume.yaml: factor 2 from 512, trained at 256)
./train --config tests/resume.yaml --set run.name=test_export_yarn --set checkpoint.every=0 >"$TMP/yarn_train.out" 2>&1
Y=checkpoints/test_export_yarn/step_00000016
roundtrip yarn "$Y" hf ""
C="$TMP/yarn/config.json"
grep -q '"rope_scaling": {"rope_type": "yarn", "factor": 2, "original_max_position_embeddings": 512, "beta_fast": 32, "beta_slow": 1, "truncate": true}' "$C" \
  && grep -q '"max_position_embeddings": 256' "$C" && grep -q '"architectures": \["LlamaForCausalLM"\]' "$C" \
  && grep -q '"stretch": {"rope_theta": 10000, "max_seq_len": 512, "trained_seq_len": 256, "position": {"rope": {"theta": 10000, "scaling": "yarn"' "$C" \
  && ok "yarn: rope_scaling, max_position_embeddings = trained length, stretch key" || bad "yarn: config.json keys" "$(grep -E 'rope|max_pos' "$C")"
grep -q '"rope_parameters": {"rope_theta": 10000, "rope_type": "yarn", "factor": 2, "original_max_position_embeddings": 512, "beta_fast": 32, "beta_slow": 1, "truncate": true},' "$C" \
  && ok "yarn: transformers v5's rope_parameters beside v4's keys" || bad "yarn: v5 rope_parameters" "$(grep rope_parameters "$C")"
v5only "$TMP/yarn" "$TMP/yarn_v5"
[ "$(evaljson yarn_v5 "$TMP/yarn_v5")" = "$(evaljson yarn_src3 "$Y")" ] \
  && ok "yarn: rope_parameters alone (v5) gives the same losses" || bad "yarn: rope_parameters alone (v5) gives the same losses"
mkdir -p "$TMP/v5_conflict" && cp "$TMP/yarn/model.safetensors" "$TMP/v5_conflict/"
sed 's/^\(  "rope_parameters": .*\)"factor": 2,/\1"factor": 3,/; s/^  "stretch": .*/  "stretch_removed": null/' "$C" >"$TMP/v5_conflict/config.json"
expect_error "v4 rope_scaling and v5 rope_parameters that disagree: an error naming both" \
  'config.json:[0-9]+:[0-9]+: rope_parameters \(.*"factor": 3.*\) and rope_scaling \(line [0-9]+: .*"factor": 2.*\) disagree' \
  ./train info "$TMP/v5_conflict"
sed 's/"rope_parameters": {"rope_theta": 10000,/"rope_parameters": {"rope_theta": 500000,/' "$TMP/v5_conflict/config.json" \
  | sed 's/"factor": 3,/"factor": 2,/' >"$TMP/v5_theta.json" && mv "$TMP/v5_theta.json" "$TMP/v5_conflict/config.json"
expect_error "v4 rope_theta and v5 rope_parameters.rope_theta that disagree: an error naming both" \
  'rope_parameters.rope_theta 500000 disagrees with rope_theta 10000 \(line [0-9]+\)' ./train info "$TMP/v5_conflict"
mkdir -p "$TMP/yarn_plain" && cp "$TMP/yarn/model.safetensors" "$TMP/yarn_plain/"
sed 's/^  "stretch": .*/  "stretch_removed": null/' "$C" >"$TMP/yarn_plain/config.json"
[ "$(evaljson yarn_plain "$TMP/yarn_plain")" = "$(evaljson yarn_src2 "$Y")" ] \
  && ok "yarn: rope_scaling alone (no stretch key) gives the same losses" || bad "yarn: rope_scaling alone gives the same losses"
./train export --from "$Y" --to "$TMP/yarn_l2c" --format llama2c >/dev/null 2>"$TMP/l2c.err"; rc=$?
[ $rc -eq 2 ] && grep -q "llama2.c v1 stores no position settings.*export it with --format hf" "$TMP/l2c.err" && [ ! -e "$TMP/yarn_l2c" ] \
  && ok "llama2c export of a YaRN model is refused, explaining why" || bad "llama2c export of a YaRN model is refused" "exit $rc: $(cat "$TMP/l2c.err")"
./train export --from "$Y" --to "$TMP/yarn" --format hf >/dev/null 2>"$TMP/busy.err"; rc=$?
[ $rc -eq 2 ] && grep -q "yarn: the directory exists and is not empty" "$TMP/busy.err" \
  && ok "export to a non-empty directory is refused" || bad "export to a non-empty directory is refused" "$(cat "$TMP/busy.err")"

# YaRN + a learned T5 bias: no transformers equivalent, carried under "stretch"
./train --config tests/resume.yaml --set run.name=test_export_t5 --set position.bias=t5 --set position.t5.init=alibi \
  --set checkpoint.every=0 >"$TMP/t5_train.out" 2>&1
roundtrip t5 checkpoints/test_export_t5 hf ""
grep -q '"bias": "t5", "t5": {"num_buckets": 32' "$TMP/t5/config.json" && grep -q "note: transformers' Llama has no t5 bias" "$TMP/t5.export" \
  && ok "t5: the bias under the stretch key, with a note" || bad "t5: the bias under the stretch key, with a note"

# static NTK is a change of base: rope_theta carries it for transformers
./train --config ft_native.yaml --set run.name=test_export_ntk --set position.rope.scaling=ntk --set position.rope.factor=4 \
  --set train.max_steps=2 --set train.batch_tokens=1024 --set train.micro_batch=2 --set eval.every=0 --set eval.max_tokens=1024 \
  >"$TMP/ntk_train.out" 2>&1
roundtrip ntk checkpoints/test_export_ntk hf ""
mkdir -p "$TMP/ntk_plain" && cp "$TMP/ntk/model.safetensors" "$TMP/ntk_plain/"
sed 's/^  "stretch": .*/  "stretch_removed": null/' "$TMP/ntk/config.json" >"$TMP/ntk_plain/config.json"
a=$(evaljson ntk_plain "$TMP/ntk_plain" | sed 's/^{"evals": \[{"seq_len": 256, "loss": \([0-9.]*\),.*/\1/')
b=$(evaljson ntk_src2 checkpoints/test_export_ntk | sed 's/^{"evals": \[{"seq_len": 256, "loss": \([0-9.]*\),.*/\1/')
v5only "$TMP/ntk" "$TMP/ntk_v5"
c=$(evaljson ntk_v5 "$TMP/ntk_v5" | sed 's/^{"evals": \[{"seq_len": 256, "loss": \([0-9.]*\),.*/\1/')
grep -q '"rope_parameters": {"rope_theta": 63496.04207872[0-9]*, "rope_type": "default"}' "$TMP/ntk/config.json" && [ "$a" = "$c" ] \
  && ok "ntk: v5 rope_parameters carries the raised base (default type); alone it gives $c" \
  || bad "ntk: v5 rope_parameters carries the raised base" "$(grep rope_parameters "$TMP/ntk/config.json") $a $c"
grep -q '"rope_theta": 63496.04207872' "$TMP/ntk/config.json" && grep -q '"rope_scaling": null' "$TMP/ntk/config.json" \
  && awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= 1e-5 + 1e-5 * b) }' \
  && ok "ntk: rope_theta = 10000 * 4^(8/6), rope_scaling null; alone it gives $a (vs $b)" \
  || bad "ntk: rope_theta = 10000 * 4^(8/6), rope_scaling null, same losses" "$(grep rope_theta "$TMP/ntk/config.json") $a $b"

# the other methods transformers knows: the export and its rope_scaling alone evaluate alike
for m in linear dynamic llama3 longrope alibi; do
  set -- --set position.rope.scaling=$m --set position.rope.factor=4
  [ $m = longrope ] && set -- "$@" --set 'position.rope.short_factor=[1, 1.5, 2, 3]' --set 'position.rope.long_factor=[1, 2, 3, 4]'
  [ $m = alibi ] && set -- --set position.rope=off --set position.bias=alibi
  ./train --config ft_native.yaml --set run.name=test_export_$m "$@" --set train.max_steps=2 --set train.batch_tokens=1024 \
    --set train.micro_batch=2 --set eval.every=0 --set eval.max_tokens=1024 >"$TMP/${m}_train.out" 2>&1
  ./train export --from checkpoints/test_export_$m --to "$TMP/$m" --format hf >/dev/null 2>&1
  mkdir -p "$TMP/${m}_plain" && cp "$TMP/$m/model.safetensors" "$TMP/${m}_plain/"
  sed 's/^  "stretch": .*/  "stretch_removed": null/' "$TMP/$m/config.json" >"$TMP/${m}_plain/config.json"
  v5only "$TMP/$m" "$TMP/${m}_v5"
  src=$(evaljson ${m}_src checkpoints/test_export_$m)
  if [ -n "$src" ] && [ "$(evaljson ${m}_dst "$TMP/$m")" = "$src" ] \
     && { [ $m = alibi ] || [ "$(evaljson ${m}_plain "$TMP/${m}_plain")" = "$src" ]; } \
     && { [ $m = alibi ] || [ "$(evaljson ${m}_v5 "$TMP/${m}_v5")" = "$src" ]; }; then
    ok "$m: hf export, its rope_scaling alone and its v5 rope_parameters alone evaluate bit-identically"
  else bad "$m: hf export, rope_scaling alone, rope_parameters alone evaluate bit-identically" "$(grep -E 'rope_|max_pos' "$TMP/$m/config.json")"; fi
done
grep -q '"rope_scaling": {"rope_type": "dynamic", "factor": 4, "original_max_position_embeddings": 512}' "$TMP/dynamic/config.json" \
  && grep -q '"max_position_embeddings": 512' "$TMP/dynamic/config.json" && grep -q '"rope_scaling": null' "$TMP/alibi/config.json" \
  && ok "dynamic: max_position_embeddings = L_o; alibi: rope_scaling null" || bad "dynamic: max_position_embeddings = L_o; alibi: rope_scaling null"

mkdir -p "$TMP/mscale" && cp "$TMP/yarn/model.safetensors" "$TMP/mscale/"
sed '/"rope_scaling"/s/"rope_type": "yarn",/"rope_type": "yarn", "mscale": 0.7,/; s/^  "stretch": .*/  "stretch_removed": null/' "$C" >"$TMP/mscale/config.json"
./train info "$TMP/mscale" >/dev/null 2>&1
./train eval --config ft_native.yaml --set run.name=test_export_x --set model.init_from="$TMP/mscale" >/dev/null 2>"$TMP/mscale.err"; rc=$?
[ $rc -eq 2 ] && grep -q "config.json:[0-9]*:[0-9]*: rope_scaling.mscale has no equivalent here" "$TMP/mscale.err" \
  && ok "an unknown rope_scaling key is named with its line" || bad "an unknown rope_scaling key is named with its line" "$(cat "$TMP/mscale.err")"

finish test_export
