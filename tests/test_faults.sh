#!/usr/bin/env bash
# test_faults.sh — kills at any instant of a save, full disks, non-finite numbers. The run
# of tests/resume.yaml (16 steps, a checkpoint every 3) is done once uninterrupted; then:
#   - SIGKILL at 24 instants drawn (seeded) from all of a run's write points: every
#     xfwrite, fsync and rename of checkpoints, stage and final models (about 1,200 of
#     them; STRETCH_FAULT=kill-at-write:N, util.h): each time --resume finds the newest
#     whole checkpoint and the run ends with the reference's metrics and weights, bit
#     for bit;
#   - a full disk (ulimit -f, the process keeps running: SIGXFSZ is ignored) while a
#     checkpoint is saved: one line naming the file, exit 2, the checkpoint before it
#     intact, and --resume without the limit ends identical; while metrics.jsonl grows: one
#     line naming it; while exporting: one line naming the file and no file left under
#     its final name;
#   - a NaN in a weight after step 5's update (STRETCH_FAULT=nan-at-step:5): the run stops
#     naming the step and the tensor, saves nothing of that step, and --resume ends
#     identical; a NaN in a checkpoint file's weights: refused naming the tensor;
#   - learning rate 10: finite weights, but the update's size (train.max_update) stops the
#     run at step 1 before any checkpoint;
#   - a read-only run directory (--resume and a new run) and export directory: one line
#     naming it before any step, exit 2, nothing changed.
cd "$(dirname "$0")/.."
. tests/lib.sh
begin faults
CFG=tests/resume.yaml
train() { local name=$1; shift; ./train --config $CFG --set run.name="test_faults_$name" "$@"; }
R=checkpoints/test_faults_ref
same() {
  local d=checkpoints/test_faults_$1
  [ "$(strip_timing $d/metrics.jsonl)" = "$(strip_timing $R/metrics.jsonl)" ] && cmp -s $d/model.safetensors $R/model.safetensors
}
train ref >"$TMP/ref.out" 2>&1 || { bad "the reference run" "$(tail -3 "$TMP/ref.out")"; finish test_faults; }
W=$(STRETCH_FAULT=count-writes train count 2>&1 >/dev/null | sed -n 's/.*count-writes: \([0-9]*\)$/\1/p')
rm -rf checkpoints/test_faults_count
[ -n "$W" ] && [ "$W" -gt 100 ] && ok "a run has $W write points (xfwrite, fsync, rename)" || bad "counting write points" "got '$W'"

# ---- SIGKILL at 24 random write points, then --resume ------------------------------------
RANDOM=2026
failed="" kills=0 fresh=0
for k in $(seq 1 24); do
  n=$(( (RANDOM * 32768 + RANDOM) % W + 1 ))
  rm -rf checkpoints/test_faults_kill
  STRETCH_FAULT=kill-at-write:$n train kill >"$TMP/kill.out" 2>&1; rc=$?
  [ $rc -eq 137 ] && kills=$((kills + 1))
  if ls checkpoints/test_faults_kill/step_*/DONE >/dev/null 2>&1; then
    train kill --resume >"$TMP/resume.out" 2>&1
  else                                   # killed before the first whole checkpoint: --resume says so
    train kill --resume >"$TMP/resume.out" 2>&1 && failed="$failed $n(resumed without a checkpoint)"
    grep -q "has no whole checkpoint (the run stopped before its first save); remove the directory to start over" "$TMP/resume.out" \
      || failed="$failed $n($(tail -1 "$TMP/resume.out"))"
    fresh=$((fresh + 1))
    rm -rf checkpoints/test_faults_kill
    train kill >"$TMP/resume.out" 2>&1
  fi
  same kill || failed="$failed $n(rc $rc: $(grep -m1 stretch "$TMP/resume.out"))"
done
[ -z "$failed" ] && [ $kills -ge 20 ] \
  && ok "SIGKILL at 24 random write points ($kills killed; $fresh before the first checkpoint, which --resume refuses with its hint): --resume ends bit-identical every time" \
  || bad "SIGKILL at random write points, --resume" "killed $kills; differ at:$failed"

# ---- a full disk ---------------------------------------------------------------------------
# model.safetensors of stories260K is 1.04 MB: under a 600 KB file-size limit the first save
# after checkpoint 6 fails (the stage model at step 8)
STRETCH_FAULT=kill-after-checkpoint:6 train disk >/dev/null 2>&1
(ulimit -f 600; train disk --resume) >"$TMP/disk.out" 2>"$TMP/disk.err"; rc=$?
D=checkpoints/test_faults_disk
if [ $rc -eq 2 ] && [ "$(wc -l <"$TMP/disk.err")" -eq 1 ] && grep -q "stage_1/model.safetensors.tmp: write failed: File too large (disk full?)" "$TMP/disk.err" \
   && [ ! -f $D/stage_1/model.safetensors ] && [ ! -d $D/step_00000009 ] && [ -f $D/step_00000006/DONE ]; then
  ok "full disk while saving after checkpoint 6: one line naming the file, exit 2, nothing whole-looking, step 6 whole"
else bad "full disk while saving a checkpoint" "exit $rc: $(cat "$TMP/disk.err"); $(ls $D)"; fi
train disk --resume >"$TMP/disk2.out" 2>&1
grep -q "resuming from $D/step_00000006" "$TMP/disk2.out" && same disk \
  && ok "then --resume without the limit: from step 6, bit-identical to the reference" \
  || bad "--resume after the full disk" "$(grep -m2 -E 'resuming|stretch' "$TMP/disk2.out")"
# one stage, no checkpoint or eval before the end: metrics.jsonl passes 2 KB before any model is saved
(ulimit -f 2; train metrics --set checkpoint.every=0 --set eval.every=0 --set 'curriculum=[{seq_len: 128, tokens: 16K}]') \
  >/dev/null 2>"$TMP/met.err"; rc=$?
[ $rc -eq 2 ] && grep -q "test_faults_metrics/metrics.jsonl: write failed: File too large (disk full?)" "$TMP/met.err" \
  && ok "full disk while metrics.jsonl grows: one line naming it, exit 2" || bad "full disk on metrics.jsonl" "exit $rc: $(cat "$TMP/met.err")"
for fmt in hf gguf; do
  rm -rf "$TMP/exp_$fmt"
  tok=""; [ $fmt = gguf ] && tok="--tokenizer checkpoints/base/tok512.bin"
  (ulimit -f 600; ./train export --from $R --to "$TMP/exp_$fmt" --format $fmt $tok) >/dev/null 2>"$TMP/exp.err"; rc=$?
  left=$( (find "$TMP/exp_$fmt" -name '*.safetensors' 2>/dev/null; [ -f "$TMP/exp_$fmt" ] && echo "$TMP/exp_$fmt") | head -3)
  [ $rc -eq 2 ] && [ "$(wc -l <"$TMP/exp.err")" -eq 1 ] && grep -q "File too large (disk full?)" "$TMP/exp.err" && [ -z "$left" ] \
    && ok "full disk while exporting ($fmt): one line naming the file, exit 2, nothing under its final name" \
    || bad "full disk while exporting ($fmt)" "exit $rc: $(cat "$TMP/exp.err"); left: $left"
done

# ---- non-finite numbers ------------------------------------------------------------------
STRETCH_FAULT=nan-at-step:5 train nan >"$TMP/nan.out" 2>"$TMP/nan.err"; rc=$?
N=checkpoints/test_faults_nan
if [ $rc -eq 1 ] && grep -q "step 5: after the update, tensor 'model.layers.3.mlp.gate_proj.weight' is nan; stopping the run, nothing of this step saved" "$TMP/nan.err" \
   && [ "$(ls -d $N/step_* | xargs -n1 basename | tr '\n' ' ')" = "step_00000003 " ]; then
  ok "a NaN weight after step 5's update: stops naming the step and the tensor; checkpoint 3 is the newest"
else bad "a NaN weight mid-run" "exit $rc: $(cat "$TMP/nan.err"); $(ls $N)"; fi
train nan --resume >/dev/null 2>&1 && same nan && ok "then --resume: from step 3, bit-identical to the reference" \
  || bad "--resume after the NaN stop" "$(ls $N)"
cp checkpoints/base/stories260K.bin "$TMP/nan.bin"
printf '\x00\x00\xc0\x7f' | dd of="$TMP/nan.bin" bs=1 seek=$((28 + 4 * 70000)) conv=notrunc 2>/dev/null
expect_error "a checkpoint holding a NaN weight: refused naming the tensor" \
  "nan.bin: tensor 'model.layers.[0-9].[a-z_.]*weight' holds NaN: the weights are not finite" ./train info "$TMP/nan.bin"

# an extreme learning rate: finite weights, but the update moves them 54 times their norm
train lr --set train.optimizer.lr=10 --set train.schedule.warmup_steps=0 --set checkpoint.every=1 \
  >/dev/null 2>"$TMP/lr.err"; rc=$?
[ $rc -eq 1 ] && grep -q "step 1: the update at lr 10 moved the weights by [0-9.]* times their norm, above train.max_update 0.5 (most: 'model.layers.\*.[a-z_.]*weight'" "$TMP/lr.err" \
  && ! ls -d checkpoints/test_faults_lr/step_* >/dev/null 2>&1 \
  && ok "learning rate 10: stops at step 1 naming the update's size and the tensor, before any checkpoint" \
  || bad "an extreme learning rate" "exit $rc: $(cat "$TMP/lr.err"); $(ls checkpoints/test_faults_lr)"

# ---- a read-only run directory -----------------------------------------------------------
# root writes anywhere; without CAP_DAC_OVERRIDE (setpriv, util-linux) it obeys the mode bits
ro() { if [ "$(id -u)" = 0 ]; then setpriv --bounding-set=-dac_override,-dac_read_search,-fowner "$@"; else "$@"; fi; }
O=checkpoints/test_faults_ro
STRETCH_FAULT=kill-after-checkpoint:6 train ro >/dev/null 2>&1
before=$(ls -R $O | md5sum)
chmod a-w $O
ro ./train --config $CFG --set run.name=test_faults_ro --resume >"$TMP/ro.out" 2>"$TMP/ro.err"; rc=$?
chmod u+w $O
[ $rc -eq 2 ] && [ "$(wc -l <"$TMP/ro.err")" -eq 1 ] && ! grep -q "^step" "$TMP/ro.out" \
  && grep -q "$O: the run directory does not take new files (Permission denied)" "$TMP/ro.err" \
  && [ "$(ls -R $O | md5sum)" = "$before" ] && [ -f $O/step_00000006/DONE ] \
  && ok "--resume in a read-only run directory: one line naming it before any step, exit 2, nothing changed" \
  || bad "--resume in a read-only run directory" "exit $rc: $(cat "$TMP/ro.err")"
rm -rf $O && mkdir $O && chmod a-w $O
ro ./train --config $CFG --set run.name=test_faults_ro >"$TMP/ro.out" 2>"$TMP/ro.err"; rc=$?
chmod u+w $O
[ $rc -eq 2 ] && ! grep -q "^step" "$TMP/ro.out" && grep -q "$O: the run directory does not take new files" "$TMP/ro.err" \
  && ok "a new run in a read-only directory: refused before any step, exit 2" || bad "a new run, read-only directory" "exit $rc: $(cat "$TMP/ro.err")"
mkdir -p "$TMP/rox" && chmod a-w "$TMP/rox"
ro ./train export --from $R --to "$TMP/rox/hf" --format hf >/dev/null 2>"$TMP/ro.err"; rc=$?
chmod u+w "$TMP/rox"
[ $rc -eq 2 ] && grep -q "rox/hf.tmp: cannot create directory: Permission denied" "$TMP/ro.err" && [ -z "$(ls "$TMP/rox")" ] \
  && ok "export into a read-only directory: one line naming it, exit 2, nothing left" || bad "export, read-only directory" "exit $rc: $(cat "$TMP/ro.err")"

rm -rf checkpoints/test_faults_*
finish test_faults
