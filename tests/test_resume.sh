#!/usr/bin/env bash
# test_resume.sh — checkpoints that never lose work and resume that is exact. The run of
# tests/resume.yaml (16 steps over two stages, a checkpoint every 3 steps, evals every 4)
# is done uninterrupted once; every interrupted variant must then end with the same
# metrics.jsonl rows (all but timings) and a byte-identical final model.safetensors:
#   kill -9 right after checkpoint 6, then --resume (the stage boundary is at step 8)
#   SIGTERM from outside while running: the step finishes, a checkpoint, exit 0, --resume
#   kill -9 in the middle of saving checkpoint 9: step_00000009.tmp is never taken for
#     whole; --resume removes it and continues from step 8
#   a corrupted (one byte flipped) and a truncated newest checkpoint: detected by CRC and
#     size, reported, and resume falls back to the checkpoint before it
#   zlib-compressed optimizer state; --resume PATH of another run's checkpoint
# and: a run directory is not overwritten without --resume, keep_last, init_from of a
# checkpoint or run directory, a finished run resumes to "nothing to do".
cd "$(dirname "$0")/.."
. tests/lib.sh
begin resume
CFG=tests/resume.yaml

train() { local name=$1; shift; ./train --config $CFG --set run.name="test_resume_$name" "$@"; }
# same NAME: run NAME ended exactly as the uninterrupted reference
same() {
  local d=checkpoints/test_resume_$1 r=checkpoints/test_resume_ref
  [ "$(strip_timing $d/metrics.jsonl)" = "$(strip_timing $r/metrics.jsonl)" ] && cmp -s $d/model.safetensors $r/model.safetensors \
    && cmp -s $d/step_00000016/model.safetensors $r/step_00000016/model.safetensors
}

train ref >"$TMP/ref.out" 2>&1 || { echo "test_resume: the reference run failed"; tail -5 "$TMP/ref.out"; exit 1; }
R=checkpoints/test_resume_ref
if [ "$(grep -c '"type": "train"' $R/metrics.jsonl)" -eq 16 ] && [ "$(ls -d $R/step_* | wc -l)" -eq 7 ] \
   && grep -q '"reason": "stage"' $R/step_00000008/trainer_state.json && grep -q '"reason": "end"' $R/step_00000016/trainer_state.json \
   && [ "$(sed -n 1p $R/step_00000003/DONE)" = "stretch checkpoint v1" ] && grep -qE '^[0-9a-f]{8} [0-9]+ optimizer.safetensors$' $R/step_00000003/DONE; then
  ok "checkpoints every 3 steps, at the stage end and the end, each with DONE"
else bad "checkpoints every 3 steps, at the stage end and the end, each with DONE" "$(ls $R)"; fi

# ---- kill -9 after a checkpoint --------------------------------------------------------
STRETCH_FAULT=kill-after-checkpoint:6 train kill >"$TMP/kill1.out" 2>&1; rc=$?
train kill --resume >"$TMP/kill2.out" 2>&1 && grep -q "resuming from checkpoints/test_resume_kill/step_00000006: step 6/16" "$TMP/kill2.out" \
  && [ $rc -eq 137 ] && same kill && ok "kill -9 after checkpoint 6, --resume: identical metrics and weights" \
  || bad "kill -9 after checkpoint 6, --resume: identical metrics and weights" "exit $rc; $(tail -2 "$TMP/kill2.out")"

# ---- SIGTERM while training --------------------------------------------------------------
./train --config $CFG --set run.name=test_resume_term --set checkpoint.every=0 >"$TMP/term1.out" 2>&1 &
pid=$!
M=checkpoints/test_resume_term/metrics.jsonl
for _ in $(seq 1 2000); do [ -f $M ] && [ "$(grep -c '"train"' $M)" -ge 3 ] && break; sleep 0.01; done
train term --resume >/dev/null 2>"$TMP/lock.err"; lrc=$?
kill -TERM $pid; wait $pid; rc=$?
k=$(sed -n 's/^stopped by SIGTERM after step \([0-9]*\);.*/\1/p' "$TMP/term1.out")
train term --set checkpoint.every=0 --set train.log_every=2 --resume >"$TMP/term2.out" 2>&1
if [ $rc -eq 0 ] && [ -n "$k" ] && [ "$k" -lt 16 ] && grep -q '"reason": "signal"' "checkpoints/test_resume_term/step_$(printf %08d "$k")/trainer_state.json" \
   && grep -q "note: settings changed since the checkpoint (.*): train.log_every;" "$TMP/term2.out" && same term; then
  ok "SIGTERM: finishes the step ($k), saves, exits 0; --resume: identical"
else bad "SIGTERM: finishes the step, saves, exits 0; --resume: identical" "exit $rc, step '$k'; $(tail -2 "$TMP/term1.out")"; fi

[ $lrc -eq 2 ] && grep -q "test_resume_term: another train process (pid $pid) is running this run" "$TMP/lock.err" \
  && ok "a run being trained cannot be resumed by a second process (LOCK)" \
  || bad "a run being trained cannot be resumed by a second process (LOCK)" "exit $lrc: $(cat "$TMP/lock.err")"

# ---- kill -9 while a checkpoint is being written -----------------------------------------
STRETCH_FAULT=kill-in-checkpoint:9 train crash >"$TMP/crash1.out" 2>&1; rc=$?
C=checkpoints/test_resume_crash
if [ $rc -eq 137 ] && [ -f $C/step_00000009.tmp/model.safetensors ] && [ ! -f $C/step_00000009.tmp/DONE ] && [ ! -d $C/step_00000009 ] \
   && ./train eval --config $CFG --set run.name=test_resume_crash_eval --set model.init_from=$C >"$TMP/crash_eval.out" 2>&1 \
   && grep -q "using its newest whole checkpoint checkpoints/test_resume_crash/step_00000008" "$TMP/crash_eval.out"; then
  ok "killed mid-save: step_00000009.tmp is left, step_00000008 still loads"
else bad "killed mid-save: step_00000009.tmp is left, step_00000008 still loads" "exit $rc; $(ls $C)"; fi
train crash --resume >"$TMP/crash2.out" 2>&1 && grep -q "removed checkpoints/test_resume_crash/step_00000009.tmp" "$TMP/crash2.out" \
  && grep -q "resuming from checkpoints/test_resume_crash/step_00000008" "$TMP/crash2.out" && [ ! -d $C/step_00000009.tmp ] && same crash \
  && ok "--resume after the mid-save kill: the .tmp is removed, identical result" \
  || bad "--resume after the mid-save kill: the .tmp is removed, identical result" "$(tail -2 "$TMP/crash2.out")"

# ---- corrupted and truncated checkpoints ------------------------------------------------
STRETCH_FAULT=kill-after-checkpoint:12 train bad >/dev/null 2>&1
B=checkpoints/test_resume_bad
printf '\xff' | dd of=$B/step_00000012/optimizer.safetensors bs=1 seek=5000 conv=notrunc status=none
train bad --resume >"$TMP/bad1.out" 2>"$TMP/bad1.err"
if grep -q "checkpoint checkpoints/test_resume_bad/step_00000012 is not usable: optimizer.safetensors has CRC-32 [0-9a-f]*, DONE records [0-9a-f]* (corrupted); trying the one before it" "$TMP/bad1.err" \
   && grep -q "resuming from checkpoints/test_resume_bad/step_00000009" "$TMP/bad1.out" && same bad \
  && [ -d $B/step_00000012.stale ] && grep -q '"reason": "every"' $B/step_00000012/trainer_state.json; then
  ok "a flipped byte: CRC mismatch reported, resume falls back to step 9, 12 set aside"
else bad "a flipped byte: CRC mismatch reported, resume falls back to step 9, 12 set aside" "$(cat "$TMP/bad1.err")"; fi
rm -rf $B && STRETCH_FAULT=kill-after-checkpoint:12 train bad >/dev/null 2>&1
truncate -s 100000 $B/step_00000012/model.safetensors
./train eval --config $CFG --set run.name=test_resume_x --set model.init_from=$B/step_00000012 >/dev/null 2>"$TMP/bad3.err"; rc=$?
[ $rc -eq 2 ] && grep -q "step_00000012: damaged checkpoint: model.safetensors has 100000 bytes" "$TMP/bad3.err" \
  && ok "init_from a damaged checkpoint: one clear error, exit 2" || bad "init_from a damaged checkpoint: one clear error, exit 2" "$(cat "$TMP/bad3.err")"
./train --config $CFG --set run.name=test_resume_x --resume $B/step_00000012 >/dev/null 2>"$TMP/bad4.err"; rc=$?
[ $rc -eq 2 ] && grep -q "resume .*step_00000012: damaged checkpoint: .*hint" "$TMP/bad4.err" \
  && ok "--resume of a named damaged checkpoint: clear error, exit 2" || bad "--resume of a named damaged checkpoint: clear error, exit 2" "$(cat "$TMP/bad4.err")"
train bad --resume >"$TMP/bad2.out" 2>"$TMP/bad2.err"
grep -q "step_00000012 is not usable: model.safetensors has 100000 bytes, DONE records [0-9]* (truncated?)" "$TMP/bad2.err" \
  && grep -q "resuming from checkpoints/test_resume_bad/step_00000009" "$TMP/bad2.out" && same bad \
  && ok "a truncated weights file: size mismatch reported, resume falls back" \
  || bad "a truncated weights file: size mismatch reported, resume falls back" "$(cat "$TMP/bad2.err")"

# ---- compressed optimizer state, --resume PATH --------------------------------------------
STRETCH_FAULT=kill-after-checkpoint:6 train zlib --set checkpoint.compress=true >/dev/null 2>&1
Z=checkpoints/test_resume_zlib/step_00000006
train zlib --set checkpoint.compress=true --resume >"$TMP/zlib.out" 2>&1
[ -f $Z/optimizer.safetensors.zlib ] && [ ! -f $Z/optimizer.safetensors ] && grep -q "resuming from $Z" "$TMP/zlib.out" && same zlib \
  && ok "checkpoint.compress: zlib optimizer state, exact resume" || bad "checkpoint.compress: zlib optimizer state, exact resume" "$(tail -2 "$TMP/zlib.out")"
./train --resume $R/step_00000003 --set run.name=test_resume_branch >"$TMP/branch.out" 2>&1
D=checkpoints/test_resume_branch
if cmp -s $D/model.safetensors $R/model.safetensors && [ "$(grep -c '"type": "train"' $D/metrics.jsonl)" -eq 13 ] \
   && [ "$(strip_timing $D/metrics.jsonl | grep '"step": 16, "stage"')" = "$(strip_timing $R/metrics.jsonl | grep '"step": 16, "stage"')" ]; then
  ok "--resume PATH (another run's step 3, its own config): same final weights"
else bad "--resume PATH (another run's step 3, its own config): same final weights" "$(tail -2 "$TMP/branch.out")"; fi

./train --resume $R/step_00000003 --set run.name=test_resume_kill >/dev/null 2>"$TMP/branch2.err"; rc=$?
[ $rc -eq 2 ] && grep -q "the checkpoint belongs to another run directory, and checkpoints/test_resume_kill already holds run 'test_resume_kill'" "$TMP/branch2.err" \
  && ok "--resume PATH into another existing run is refused" || bad "--resume PATH into another existing run is refused" "$(cat "$TMP/branch2.err")"

# ---- refusing to overwrite, finished runs, keep_last, init_from ----------------------------
train ref >/dev/null 2>"$TMP/refuse.err"; rc=$?
[ $rc -eq 2 ] && grep -q "checkpoints/test_resume_ref already holds run 'test_resume_ref' .*pass --resume" "$TMP/refuse.err" \
  && [ "$(grep -c '"type": "train"' $R/metrics.jsonl)" -eq 16 ] && ok "a run directory is not overwritten without --resume" \
  || bad "a run directory is not overwritten without --resume" "exit $rc: $(cat "$TMP/refuse.err")"
train ref --resume >"$TMP/done.out" 2>&1 && grep -q "run test_resume_ref is complete (step 16 of 16); nothing to do" "$TMP/done.out" \
  && ok "--resume of a finished run: nothing to do" || bad "--resume of a finished run: nothing to do" "$(tail -1 "$TMP/done.out")"
train keep --set checkpoint.keep_last=2 >"$TMP/keep.out" 2>&1
[ "$(ls -d checkpoints/test_resume_keep/step_* | xargs -n1 basename | tr '\n' ' ')" = "step_00000015 step_00000016 " ] \
  && ok "checkpoint.keep_last 2 keeps the two newest" || bad "checkpoint.keep_last 2 keeps the two newest" "$(ls checkpoints/test_resume_keep)"
want=$(grep '"type": "eval", "step": 16, .*"seq_len": 256' $R/metrics.jsonl | sed 's/.*"val_loss": \([0-9.]*\).*/\1/')
./train eval --config $CFG --set run.name=test_resume_ev1 --set model.init_from=$R/step_00000016 >/dev/null 2>&1
./train eval --config $CFG --set run.name=test_resume_ev2 --set model.init_from=$R >/dev/null 2>&1
got1=$(sed 's/.*"seq_len": 256, "loss": \([0-9.]*\),.*/\1/' checkpoints/test_resume_ev1/eval.json)
got2=$(sed 's/.*"seq_len": 256, "loss": \([0-9.]*\),.*/\1/' checkpoints/test_resume_ev2/eval.json)
[ -n "$want" ] && [ "$want" = "$(printf %.6f "$got1")" ] && [ "$want" = "$(printf %.6f "$got2")" ] \
  && ok "init_from a checkpoint or a run directory: the run's final val loss ($want)" \
  || bad "init_from a checkpoint or a run directory: the run's final val loss" "want $want, got $got1 / $got2"

# ---- stage overrides without run-level position keys: a resumed run lays them over the
# scheme of model.init_from, not over the checkpoint's (the scheme of the stage it was saved in)
printf 'run: {seed: 7, threads: 2}\nmodel: {init_from: checkpoints/base/stories260K.bin}\ndata: {train: data/tinystories/train.bin}\ntrain: {batch_tokens: 512, micro_batch: 4}\ncurriculum:\n  - {seq_len: 128, tokens: 1K, rope: {scaling: yarn, factor: 2, theta: 20000}}\n  - {seq_len: 128, tokens: 1K, rope: {scaling: linear, factor: 2}}\n  - {seq_len: 128, tokens: 1K}\ncheckpoint: {every: 1}\n' >"$TMP/over.yaml"
./train --config "$TMP/over.yaml" --set run.name=test_resume_over1 >"$TMP/over1.out" 2>&1
(STRETCH_FAULT=kill-after-checkpoint:3 ./train --config "$TMP/over.yaml" --set run.name=test_resume_over2) >/dev/null 2>&1
./train --config "$TMP/over.yaml" --set run.name=test_resume_over2 --resume >"$TMP/over2.out" 2>&1
A=checkpoints/test_resume_over1 B=checkpoints/test_resume_over2
if grep -q 'stage 3/3: .*position {}' "$TMP/over2.out" && [ "$(strip_timing $A/metrics.jsonl)" = "$(strip_timing $B/metrics.jsonl)" ] \
   && cmp -s $A/model.safetensors $B/model.safetensors; then
  ok "stage overrides without position keys: resumed mid-run, identical metrics and weights"
else bad "stage overrides without position keys: resumed mid-run, identical metrics and weights" "$(grep -E 'stage|stretch' "$TMP/over2.out" | head -4)"; fi

# ---- data.train as weighted sources: kill -9 mid-run, --resume -------------------------------
# two sources at 0.7 / 0.3 (the second upsampled): the resumed run reads the same documents
MIX='data.train=[{path: data/tinystories/train.bin, weight: 0.7}, {path: data/tinystories/test_long.bin, weight: 0.3, upsample: {min_tokens: 600, factor: 2}}]'
train mixref --set "$MIX" >"$TMP/mixref.out" 2>&1
(STRETCH_FAULT=kill-after-checkpoint:6 train mixkill --set "$MIX") >/dev/null 2>&1
train mixkill --set "$MIX" --resume >"$TMP/mixkill.out" 2>&1
A=checkpoints/test_resume_mixref B=checkpoints/test_resume_mixkill
if grep -q '\[1\] data/tinystories/test_long.bin: .* weight share 30.0% -> 30.[0-9]% of an epoch' "$TMP/mixref.out" \
   && grep -q "resuming from $B/step_00000006" "$TMP/mixkill.out" && grep -q 'weight: 0.3, upsample' $B/config.yaml \
   && [ "$(strip_timing $A/metrics.jsonl)" = "$(strip_timing $B/metrics.jsonl)" ] && cmp -s $A/model.safetensors $B/model.safetensors \
   && ! cmp -s $A/model.safetensors $R/model.safetensors; then
  ok "weighted sources (0.7 / 0.3, shares printed): kill -9 after checkpoint 6, --resume: identical metrics and weights"
else bad "weighted sources: kill -9, --resume: identical" "$(grep -E 'data.train|\[[01]\]|stretch' "$TMP/mixref.out" "$TMP/mixkill.out" | head -6)"; fi

finish test_resume
