#!/usr/bin/env bash
# compare_methods.sh — the README's method comparison (512 -> 4096 tokens): for each
# configs/retrofit_<method>.yaml, the base model evaluated zero-shot under the method's
# scheme, then the adaptation run; prints one markdown table of val loss by position at
# T = 4096, the change of 0–256 at T = 512 against the base model, and passkey accuracy
# at 4096. usage: scripts/compare_methods.sh [method ...]   (run by `make compare`)
set -eu
cd "$(dirname "$0")/.."
METHODS=${*:-none linear ntk abf dynamic yarn llama3 longrope alibi t5 yarn_alibi}
OUT=checkpoints/compare
mkdir -p "$OUT"

. scripts/evaljson.sh
# passkey FILE T: mean accuracy over the depths at length T, with its % sign
passkey() { local a; a=$(acc "$1" passkey "$2"); [ "$a" = — ] && printf '%s' "$a" || printf '%s%%' "$a"; }

row() {   # row LABEL FILE
  local f=$2 base=$OUT/none_zeroshot.json
  local b0; b0=$(bucket "$f" 512 0)
  local ref; ref=$(bucket "$base" 512 0)
  local d; d=$(awk -v a="$b0" -v b="$ref" 'BEGIN { printf "%+.1f%%", 100 * (a - b) / b }')
  printf '| %s | %s | %s | %s | %s | %s | %s (%s) | %s |\n' "$1" "$(bucket "$f" 4096 0)" "$(bucket "$f" 4096 256)" \
    "$(bucket "$f" 4096 512)" "$(bucket "$f" 4096 1024)" "$(bucket "$f" 4096 2048)" "$b0" "$d" "$(passkey "$f" 4096)"
}

for m in $METHODS; do
  echo "== $m: zero-shot" >&2
  ./train eval --config "configs/retrofit_$m.yaml" --set run.name="compare_${m}_zeroshot" >"$OUT/${m}_zeroshot.log"
  cp "checkpoints/compare_${m}_zeroshot/eval.json" "$OUT/${m}_zeroshot.json"
  echo "== $m: adaptation" >&2
  rm -rf "checkpoints/retrofit_$m"
  ./train --config "configs/retrofit_$m.yaml" >"$OUT/${m}_adapted.log"
  cp "checkpoints/retrofit_$m/eval.json" "$OUT/${m}_adapted.json"
done

{
  echo "| method | 0–256 | 256–512 | 512–1k | 1k–2k | 2k–4k | 0–256 at T = 512 (vs base) | passkey 4096 |"
  echo "|---|---|---|---|---|---|---|---|"
  for m in $METHODS; do
    if [ "$m" = none ]; then row "no retrofit (base model)" "$OUT/none_zeroshot.json"
    else row "$m, zero-shot" "$OUT/${m}_zeroshot.json"; fi
  done
  for m in $METHODS; do row "$m, adapted" "$OUT/${m}_adapted.json"; done
} | tee "$OUT/table.md"
