#!/usr/bin/env bash
# heldout.sh — the README's held-out check: the base model and each run's final model
# evaluated on the splits `make` prepares (val.bin, which recipes are tuned on, and the
# held-out test.bin with its long- and short-story parts), across packed documents as in
# a run's evals. Prints one markdown table: per model and split, 0–256 at T = 512 (and its
# change against the base model on the same split), 256–512 and the last bucket at
# T = 4096 and at T = 32768 (where the split holds a window of that length).
# usage: [MAXT=4096] scripts/heldout.sh RUN_DIR...   (e.g. checkpoints/retrofit_32k; MAXT=4096
# skips the 32768-token evals, for runs trained to 4096 such as the quickstart)
set -eu
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: scripts/heldout.sh RUN_DIR..." >&2; exit 2; }
OUT=checkpoints

SPLITS="val test test_long test_short"

. scripts/evaljson.sh

# evaluate NAME MODEL SPLIT: eval.json of MODEL on data/tinystories/SPLIT.bin
evaluate() {
  local f=data/tinystories/$3.bin lens="[512, 4096]"
  if [ "$1" = base ] && [ -f "$OUT/heldout_base_$3/eval.json" ]; then echo "$OUT/heldout_base_$3/eval.json"; return; fi
  [ "${MAXT:-32768}" -ge 32768 ] && [ "$(( ($(stat -c %s "$f") - 1024) / 2 ))" -gt 32768 ] && lens="[512, 4096, 32768]"
  ./train eval --config ft_native.yaml --set run.name="heldout_$1_$3" --set model.init_from="$2" \
    --set data.val="$f" --set "eval.seq_lens=$lens" --set eval.max_tokens=65536 --set eval.document_mask=false \
    --set train.batch_tokens=32768 --set train.micro_batch=0 --set train.seq_len=512 >/dev/null
  echo "$OUT/heldout_$1_$3/eval.json"
}

printf '| model | split | 0–256 at 512 | T = 4096: 256–512 | 2k–4k | T = 32768: 256–512 | 16k–32k |\n'
printf '|---|---|---|---|---|---|---|\n'
for m in base "$@"; do
  name=$(basename "$m") model=$m/model.safetensors
  [ "$m" = base ] && model=checkpoints/base/stories260K.bin
  for s in $SPLITS; do
    f=$(evaluate "$name" "$model" "$s")
    b0=$(bucket "$f" 512 0 "—") ref=$(bucket "$OUT/heldout_base_$s/eval.json" 512 0 "—")
    d=$(awk -v a="$b0" -v b="$ref" 'BEGIN { printf "%+.1f%%", 100 * (a - b) / b }')
    printf '| %s | %s | %s (%s) | %s | %s | %s | %s |\n' "$name" "$s" "$b0" "$d" "$(bucket "$f" 4096 256 "—")" \
      "$(bucket "$f" 4096 2048 "—")" "$(bucket "$f" 32768 256 "—")" "$(bucket "$f" 32768 16384 "—")"
  done
done
