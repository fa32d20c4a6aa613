#!/usr/bin/env bash
# compare_retrieval.sh — the README's retrieval comparison (`make compare-retrieval`): the
# retrieval demo base (checkpoints/base/retrieval260K.safetensors, `make base-retrieval`)
# retrofitted with each method's configs/retrofit_<method>.yaml (512 -> 4096: the same
# data, budget and curriculum for every method), with passkey documents of 276–4096
# tokens as 30% of the training tokens (data.mix: a retrofit on plain text erases the
# base's retrieval whatever the method: README "Choosing a method"), then scored on
# val: near-range loss (0–256 at T = 512), far loss (2k–4k at T = 4096), passkey and
# multikey accuracy by length and depth, copy by distance, and each task's effective
# length. Prints two markdown tables (checkpoints/compare_retrieval/table.md). The base
# model itself (under its own RoPE, no retrofit) is the first row. MIX=0: plain text.
# usage: scripts/compare_retrieval.sh [method ...]   (about 5 minutes per method on 2 cores)
set -eu
cd "$(dirname "$0")/.."
METHODS=${*:-linear ntk abf yarn llama3 alibi t5 yarn_alibi yarn_t5}
BASE=${BASE:-checkpoints/base/retrieval260K.safetensors}
OUT=checkpoints/compare_retrieval
[ "${MIX:-1}" = 0 ] && OUT=checkpoints/compare_retrieval_plain
LENS="512, 1024, 2048, 4096"
mkdir -p "$OUT"
[ -f "$BASE" ] || { echo "compare_retrieval: $BASE is missing (hint: make base-retrieval)" >&2; exit 2; }

. scripts/evaljson.sh

TASKS=(--set model.init_from="$BASE" --set "eval.tasks.names=[passkey, multikey]"
       --set "eval.tasks.lengths=[$LENS]" --set "eval.tasks.depths=[0.1, 0.5, 0.9]" --set eval.tasks.trials=10
       --set "eval.tasks.copy.distances=[64, 256, 1024, 4000]" --set eval.tasks.copy.trials=10)
MIXED=()
[ "${MIX:-1}" = 0 ] || MIXED=(--set "data.mix.tasks=[passkey]" --set data.mix.share=0.3 --set "data.mix.lengths=[276, 4096]")

run() {   # run NAME: eval.json of the method NAME (none: the base model, evaluated only)
  local m=$1
  if [ "$m" = none ]; then
    ./train eval --config configs/retrofit_none.yaml --set run.name="$(basename "$OUT")_none" "${TASKS[@]}" \
      >"$OUT/none.log"
    cp "checkpoints/$(basename "$OUT")_none/eval.json" "$OUT/none.json"
  else
    rm -rf "checkpoints/$(basename "$OUT")_$m"
    ./train --config "configs/retrofit_$m.yaml" --set run.name="$(basename "$OUT")_$m" "${TASKS[@]}" "${MIXED[@]}" \
      >"$OUT/$m.log"
    cp "checkpoints/$(basename "$OUT")_$m/eval.json" "$OUT/$m.json"
  fi
}

for m in none $METHODS; do
  echo "== $m" >&2
  run "$m"
done

label() { [ "$1" = none ] && echo "base model (no retrofit)" || echo "$1"; }
{
  echo "| method | 0–256 at 512 | 2k–4k at 4096 | passkey 512 | 1024 | 2048 | 4096 | 4096 by depth 0.1 / 0.5 / 0.9 | effective length |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for m in none $METHODS; do
    f=$OUT/$m.json
    printf '| %s | %s | %s | %s%% | %s%% | %s%% | %s%% | %s / %s / %s %% | %s |\n' "$(label "$m")" "$(bucket "$f" 512 0)" \
      "$(bucket "$f" 4096 2048)" "$(acc "$f" passkey 512)" "$(acc "$f" passkey 1024)" "$(acc "$f" passkey 2048)" \
      "$(acc "$f" passkey 4096)" "$(acc "$f" passkey 4096 0.1)" "$(acc "$f" passkey 4096 0.5)" \
      "$(acc "$f" passkey 4096 0.9)" "$(eff "$f" passkey)"
  done
  echo
  echo "| method | multikey 512 / 1024 / 2048 / 4096 | effective length | copy gap at 64 / 256 / 1024 / 4000 (nats) |"
  echo "|---|---|---|---|"
  for m in none $METHODS; do
    f=$OUT/$m.json
    printf '| %s | %s / %s / %s / %s %% | %s | %s / %s / %s / %s |\n' "$(label "$m")" \
      "$(acc "$f" multikey 512)" "$(acc "$f" multikey 1024)" "$(acc "$f" multikey 2048)" "$(acc "$f" multikey 4096)" \
      "$(eff "$f" multikey)" "$(gap "$f" 64)" "$(gap "$f" 256)" "$(gap "$f" 1024)" "$(gap "$f" 4000)"
  done
} | tee "$OUT/table.md"
