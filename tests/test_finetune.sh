#!/usr/bin/env bash
# test_finetune.sh — the example job end to end: 200 steps of configs/ft_native.yaml on
# the staged data must write 200 train rows to metrics.jsonl, lower the val loss from
# the first eval to the last, and leave a model.bin that evaluates to that loss.
set -u
cd "$(dirname "$0")/.."
RUN=test_finetune
DIR=checkpoints/$RUN
rm -rf "$DIR"
./train --config ft_native.yaml --set run.name=$RUN --set train.log_every=25 || { echo "test_finetune: training failed"; exit 1; }
rows=$(grep -c '"type": "train"' "$DIR/metrics.jsonl")
first=$(grep '"type": "eval"' "$DIR/metrics.jsonl" | head -1 | sed 's/.*"val_loss": \([0-9.]*\).*/\1/')
last=$(grep '"type": "eval"' "$DIR/metrics.jsonl" | tail -1 | sed 's/.*"val_loss": \([0-9.]*\).*/\1/')
./train eval --config ft_native.yaml --set run.name=$RUN --set model.init_from=$DIR/model.bin >/dev/null
saved=$(sed 's/^{"evals": \[{"seq_len": [0-9]*, "loss": \([0-9.]*\),.*/\1/' "$DIR/eval.json")
echo "val loss $first -> $last over $rows steps; saved model evaluates to $saved"
awk -v r="$rows" -v a="$first" -v b="$last" -v s="$saved" 'BEGIN {
  ok = (r == 200) && (b < a) && (s - b < 1e-4) && (b - s < 1e-4)
  exit ok ? 0 : 1 }' && { echo "test_finetune: 1 passed, 0 failed"; exit 0; }
echo "test_finetune: 0 passed, 1 failed"
exit 1
