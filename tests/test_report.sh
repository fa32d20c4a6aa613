#!/usr/bin/env bash
# test_report.sh — `train compare` as a user meets it: the chart renders to a PNG of the
# expected size (rsvg-convert), the terminal chart and the Markdown table, a single run's
# report, a run still being written, and clear errors; and a training run writes its own
# report.svg at each eval.
cd "$(dirname "$0")/.."
. tests/lib.sh
begin report
F=tests/fixtures/report
# png_size FILE: "WIDTH HEIGHT" from the PNG's IHDR (bytes 17-24), or nothing if not a PNG
png_size() {
  [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || return
  od -An -tu1 -j16 -N8 "$1" | awk '{ print $1*16777216 + $2*65536 + $3*256 + $4, $5*16777216 + $6*65536 + $7*256 + $8 }'
}

if ./train compare $F/yarn $F/alibi --out "$TMP/two.svg" >"$TMP/two.out" 2>&1 \
   && rsvg-convert -o "$TMP/two.png" "$TMP/two.svg" && [ "$(png_size "$TMP/two.png")" = "1100 1110" ]; then
  ok "compare: an SVG that renders to a 1100 x 1110 PNG"
else bad "compare: an SVG that renders to a 1100 x 1110 PNG" "$(tail -2 "$TMP/two.out") $(png_size "$TMP/two.png")"; fi
# retrieval pictures: tests/fixtures/report/tasks is hand-written (passkey and kv cells at
# 3 lengths x 3 depths, copy gaps, effective lengths; an earlier round at 0 not shown)
if ./train compare $F/yarn $F/alibi $F/tasks --out "$TMP/three.svg" >"$TMP/three.out" 2>&1 \
   && rsvg-convert -o "$TMP/three.png" "$TMP/three.svg" && [ "$(png_size "$TMP/three.png")" = "1100 1110" ] \
   && grep -q '>passkey accuracy by length (rows) and depth (columns)<' "$TMP/three.svg" \
   && grep -q '>1. yarn<' "$TMP/three.svg" && grep -q '>2. alibi<' "$TMP/three.svg" && grep -q '>3. tasks<' "$TMP/three.svg" \
   && [ "$(grep -c 'fill="#08306b"' "$TMP/three.svg")" -ge 2 ] \
   && grep -q '>copy by distance, latest round<' "$TMP/three.svg" && grep -q 'clip-path="url(#clip-copy)"' "$TMP/three.svg"; then
  ok "compare: a needle heatmap naming every run and a copy-by-distance curve, rendered"
else bad "compare: a needle heatmap naming every run and a copy-by-distance curve, rendered" "$(tail -2 "$TMP/three.out")"; fi
grep -q '| passkey 512: 90%, 2K: 80%, 8K: 20% (eff 2048); kv 512: 50%, 2K: 10%, 8K: 3% (eff 512); copy eff 512 |' "$TMP/three.out" \
  && grep -q '^       512 ██ 100% ██  90% ██  80%$' "$TMP/three.out" && grep -q '^      8192 ░░  10%      0%      0%$' "$TMP/three.out" \
  && grep -q '^  copy gap (nats) by distance: 64 0.500 512 0.400 4096 0.100$' "$TMP/three.out" \
  && ok "compare: retrieval per run in the table (effective lengths) and as text heatmaps" \
  || bad "compare: retrieval per run in the table (effective lengths) and as text heatmaps" "$(tail -14 "$TMP/three.out")"
grep -q '^| 1 | yarn | yarn | 1.4167 | 1.3383 at T 4096 | 1.3911 | 1.3351 (2K–4K) | passkey 4K: 13% | 1M | 3:17 | 5862 |$' "$TMP/two.out" \
  && grep -q '^| 2 | alibi | rope off + alibi | 1.9536 | 1.8716 at T 4096 | 1.9561 | 1.8436 (2K–4K) | passkey 4K: 17% | 1M | 3:37 | 5308 |$' "$TMP/two.out" \
  && ok "compare: the Markdown table per run" || bad "compare: the Markdown table per run" "$(grep '^|' "$TMP/two.out")"
[ "$(LC_ALL=C grep -c $'\xe2[\xa0-\xa3]' "$TMP/two.out")" -ge 8 ] && grep -q "run number at each curve's end" "$TMP/two.out" \
  && [ "$(LC_ALL=C grep $'\xe2[\xa0-\xa3]' "$TMP/two.out" | grep -c '[12]$')" -eq 2 ] \
  && grep -q '^ *0 *1M$' "$TMP/two.out" && ok "compare: a braille chart in the terminal, runs numbered when not a TTY" \
  || bad "compare: a braille chart in the terminal, runs numbered when not a TTY" "$(head -18 "$TMP/two.out")"
./train compare $F/yarn $F/alibi --out "$TMP/val.svg" --metric val_loss --x steps --log-y >"$TMP/val.out" 2>&1 \
  && rsvg-convert -o "$TMP/val.png" "$TMP/val.svg" && grep -q "val loss (longest eval length) vs steps" "$TMP/val.out" \
  && grep -q "validation loss (nats/token)" "$TMP/val.svg" && grep -q "optimizer step" "$TMP/val.svg" \
  && ok "compare --metric val_loss --x steps --log-y" || bad "compare --metric val_loss --x steps --log-y" "$(tail -2 "$TMP/val.out")"

# one run: its report, next to its metrics; a run still being written
mkdir -p "$TMP/live" && cp $F/yarn/config.yaml "$TMP/live/" && head -60 $F/yarn/metrics.jsonl >"$TMP/live/metrics.jsonl"
printf '{"type": "train", "step": 58, "stage": 2, "seq_le' >>"$TMP/live/metrics.jsonl"
./train compare "$TMP/live" >"$TMP/live.out" 2>&1 && [ -f "$TMP/live/report.svg" ] \
  && grep -q "note: live is still being written; its last, incomplete line was skipped" "$TMP/live.out" \
  && grep -q '^| 1 | live | yarn | ' "$TMP/live.out" && rsvg-convert -o "$TMP/live.png" "$TMP/live/report.svg" \
  && ok "one run in progress: report.svg in its directory, the partial line skipped" \
  || bad "one run in progress: report.svg in its directory, the partial line skipped" "$(tail -3 "$TMP/live.out")"

# errors
mkdir -p "$TMP/empty"
expect_error "a directory without metrics.jsonl" "empty: no metrics.jsonl \\(not a run directory" ./train compare $F/yarn "$TMP/empty"
mkdir -p "$TMP/broken" && { head -3 $F/yarn/metrics.jsonl; echo '{"type": "train", "step": }'; echo; } >"$TMP/broken/metrics.jsonl"
expect_error "a damaged complete line names its line" "broken/metrics.jsonl line 4:" ./train compare "$TMP/broken"
expect_error "an unknown option" "--metric perplexity: not an option or value of compare" ./train compare $F/yarn --metric perplexity
expect_error "no run given" "usage: train compare RUN_DIR" ./train compare

# the training loop writes the run's report.svg at each eval and at the end
./train --config tests/resume.yaml --set run.name=test_report_run --set checkpoint.every=0 >"$TMP/run.out" 2>&1
R=checkpoints/test_report_run
[ -f $R/report.svg ] && rsvg-convert -o "$TMP/run.png" $R/report.svg && [ "$(png_size "$TMP/run.png")" = "1100 1110" ] \
  && grep -q "test_report_run (yarn): training loss" $R/report.svg && grep -q "wrote $R/report.svg" "$TMP/run.out" \
  && ok "a training run keeps report.svg up to date" || bad "a training run keeps report.svg up to date" "$(tail -2 "$TMP/run.out")"

# the live line: drawn in place on a terminal (script(1) provides one), absent in logs
script -qec "./train --config tests/resume.yaml --set run.name=test_report_tty --set checkpoint.every=0" /dev/null >"$TMP/tty.out" 2>&1
if LC_ALL=C grep -q $'\r\x1b\[Kstage 2/2 T 256 \xe2\x96\x95' "$TMP/tty.out" && grep -q "step 16/16 .* MiB .* ETA" "$TMP/tty.out" \
   && ! LC_ALL=C grep -q $'\x1b' "$TMP/run.out" && grep -q '^step    16/16 | stage 2/2 T 256' "$TMP/run.out"; then
  ok "progress: one line redrawn in place on a TTY, plain lines otherwise"
else bad "progress: one line redrawn in place on a TTY, plain lines otherwise" "$(tail -c 300 "$TMP/tty.out" | cat -v)"; fi

finish test_report
