#!/usr/bin/env bash
# test_mpi.sh — data-parallel training on OpenMPI (mpirun -np 1, 2, 4, oversubscribed on
# this machine's cores) against the one-process run of tests/mpi.yaml (YaRN + a learned T5
# bias, document masking, PoSE, gradient accumulation, evals and retrieval tasks):
#   mpirun -np 1 is the one-process run bit for bit; -np 2 twice is bit-identical;
#   -np 2 and -np 4 match one process to float rounding: every step's loss and gradient
#   norm within 1e-5 + 1e-5|ref|, the final weights within 1e-5 + 1e-4|ref|, eval losses
#   within 1e-5 + 1e-5|ref| and task accuracies equal; `train eval` on 2 ranks
#   likewise. Resume: a rank killed after checkpoint 6 and --resume on 2 ranks ends
#   bit-identical; a 2-rank checkpoint resumed on 1 and on 4 ranks (and a 1-rank one on 2)
#   ends within the tolerance above. SIGTERM to rank 1 stops both ranks after the same
#   step with one checkpoint; SIGKILL to rank 1 ends the job (no hang) and --resume ends
#   bit-identical.
# Context parallel (ring attention over a zigzag split): tests/mpi_cp.yaml (YaRN + ALiBi,
#   4096-token sequences with document masking, PoSE ids to 8192) on rings of 2 and 4
#   ranks and on 2 groups of 2, with dynamic NTK on a ring of 2, and tests/mpi.yaml (T5)
#   on a ring of 2, against one
#   process: losses and norms within 1e-5 + 5e-5|ref|; weights within 1e-5 + 1e-4|ref|
#   but for at most 1e-4 of them, none beyond 30 times that. The ring merges each row's
#   softmax in another order, so every token differs by rounding (data parallel: only
#   the cross-rank sum), and AdamW's m / sqrt(v) turns rounding in near-zero gradients
#   into lr-sized steps for a few weights: one process with 2 threads instead of 1 is
#   as far from itself (tests/mpi.yaml: 4 weights beyond, the worst 10 times the bound,
#   norms 4.6e-5 apart; a ring of 2: 7 weights, 19 times). A ring run twice is
#   bit-identical.
# Bad input: a batch the ranks cannot share, ranks started with other settings, a
#   one-process subcommand on 2 ranks, context_parallel that does not divide the ranks or
#   a seq_len, dynamic NTK whose tables would follow smaller forwards than one process's:
#   one line, exit 2, nothing written. `train eval` reads a context-parallel config.
cd "$(dirname "$0")/.."
. tests/lib.sh
begin mpi
CFG=tests/mpi.yaml
D=checkpoints/test_mpi_
MPIRUN="mpirun -q --oversubscribe --allow-run-as-root"
if ! command -v mpirun >/dev/null; then bad "mpirun is installed" "make installs openmpi-bin (MPI=1)"; finish mpi; fi

run1() { local name=$1; shift; ./train --config $CFG --set run.name=test_mpi_"$name" "$@"; }
runN() { local n=$1 name=$2; shift 2; $MPIRUN -np "$n" ./train --config $CFG --set run.name=test_mpi_"$name" "$@"; }
# same A B: run A ended bit-identical to run B (metrics but timings, final model, last checkpoint)
same() {
  [ "$(strip_timing $D$1/metrics.jsonl)" = "$(strip_timing $D$2/metrics.jsonl)" ] && cmp -s $D$1/model.safetensors $D$2/model.safetensors \
    && cmp -s $D$1/step_00000016/model.safetensors $D$2/step_00000016/model.safetensors
}
# numbers FILE [K]: the loss, grad_norm, val_loss, accuracy and mean_rank values of the
# metrics.jsonl rows after step K (default 0), one per line
numbers() {
  awk -v k="${2:-0}" 'match($0, /"step": [0-9]+/) && substr($0, RSTART + 8, RLENGTH - 8) + 0 > k' "$1" \
    | grep -oE '"(loss|grad_norm|val_loss|accuracy|mean_rank)": [-0-9.e]+' | sed 's/.*: //'
}
# close A B [K [RTOL FRACTION CAP]]: run A's metrics rows (after step K, where A resumed)
# within 1e-5 + RTOL|B| (1e-5) of B's, task accuracies equal, final weights within
# 1e-5 + 1e-4|B| (st_diff.py, for all but FRACTION of them and none beyond CAP times that)
close() {
  local k=${3:-0} rt=${4:-1e-5}
  paste <(numbers $D$1/metrics.jsonl "$k") <(numbers $D$2/metrics.jsonl "$k") | awk -v rt="$rt" -v n="$(numbers $D$2/metrics.jsonl "$k" | wc -l)" '
    { d = $1 - $2; if (d < 0) d = -d; r = $2 < 0 ? -$2 : $2; if (d > 1e-5 + rt * r || $1 == "" || $2 == "") bad++; i++ }
    END { exit !(i == n && n > 0 && !bad) }' \
  && [ "$(numbers $D$1/metrics.jsonl "$k" | wc -l)" -eq "$(numbers $D$2/metrics.jsonl "$k" | wc -l)" ] \
  && [ "$(grep '"type": "task"' $D$1/metrics.jsonl | grep -o '"step": [0-9]*.*"accuracy": [0-9.]*' | tail -2)" \
     = "$(grep '"type": "task"' $D$2/metrics.jsonl | grep -o '"step": [0-9]*.*"accuracy": [0-9.]*' | tail -2)" ] \
  && /usr/bin/python3 tests/st_diff.py $D$1/model.safetensors $D$2/model.safetensors 1e-5 1e-4 ${5:-0} ${6:-1} >"$TMP/diff_$1" \
  || { echo "    $1 vs $2: $(cat "$TMP/diff_$1" 2>/dev/null)"; return 1; }
}
# rank_pid NAME R: the pid of rank R of the running run NAME
rank_pid() {
  for p in $(pgrep -f "run.name=test_mpi_$1( |\$)"); do
    tr '\0' '\n' </proc/"$p"/environ 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && { echo "$p"; return; }
  done
}
# wait_rows NAME K: until run NAME has K train rows
wait_rows() {
  local n
  for _ in $(seq 1 3000); do n=$(grep -c '"train"' $D$1/metrics.jsonl 2>/dev/null); [ "${n:-0}" -ge "$2" ] && return; sleep 0.01; done
}

# ---- against one process -------------------------------------------------------------------
run1 ref >"$TMP/ref.out" 2>&1 || { echo "test_mpi: the one-process run failed"; tail -5 "$TMP/ref.out"; exit 1; }
runN 1 np1 >"$TMP/np1.out" 2>&1 && same np1 ref && ok "mpirun -np 1: bit-identical to one process" \
  || bad "mpirun -np 1: bit-identical to one process" "$(tail -2 "$TMP/np1.out")"
runN 2 n2 >"$TMP/n2.out" 2>&1; rc=$?
runN 2 n2b >"$TMP/n2b.out" 2>&1
[ $rc -eq 0 ] && same n2b n2 && cmp -s ${D}n2/step_00000016/optimizer.safetensors ${D}n2b/step_00000016/optimizer.safetensors \
  && ok "2 ranks, twice: bit-identical (metrics, weights, AdamW moments)" \
  || bad "2 ranks, twice: bit-identical (metrics, weights, AdamW moments)" "exit $rc; $(tail -2 "$TMP/n2.out")"
grep -q "on each of 2 ranks (data parallel, ZeRO-1)" "$TMP/n2.out" && [ "$(grep -c '"comm_s"' ${D}n2/metrics.jsonl)" -eq 16 ] \
  && [ "$(grep -c '^step ' "$TMP/n2.out")" -eq 16 ] && ok "2 ranks: one progress output (rank 0), comm_s per step" \
  || bad "2 ranks: one progress output (rank 0), comm_s per step" "$(grep -c '^step ' "$TMP/n2.out") step lines"
close n2 ref && ok "2 ranks = one process to float rounding (losses, norms, evals, tasks, weights)" \
  || bad "2 ranks = one process to float rounding (losses, norms, evals, tasks, weights)"
runN 4 n4 >"$TMP/n4.out" 2>&1 && close n4 ref && ok "4 ranks = one process to float rounding" \
  || bad "4 ranks = one process to float rounding" "$(tail -2 "$TMP/n4.out")"

# ---- train eval on 2 ranks -----------------------------------------------------------------
./train eval --config $CFG --set run.name=test_mpi_e1 --set model.init_from=${D}ref >"$TMP/e1.out" 2>&1
$MPIRUN -np 2 ./train eval --config $CFG --set run.name=test_mpi_e2 --set model.init_from=${D}ref >"$TMP/e2.out" 2>&1; rc=$?
j() { grep -oE '"(loss|accuracy|mean_rank|tokens|gap)": [0-9.]+' $D$1/eval.json | sed 's/.*: //'; }
if [ $rc -eq 0 ] && [ "$(grep -c 'wrote' "$TMP/e2.out")" -eq 1 ] && [ "$(j e2 | wc -l)" -gt 4 ] \
   && paste <(j e2) <(j e1) | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-5 + 1e-5 * $2) bad++ } END { exit bad > 0 }'; then
  ok "train eval on 2 ranks: windows and task trials shared, results = one process"
else bad "train eval on 2 ranks: windows and task trials shared, results = one process" "exit $rc; $(tail -2 "$TMP/e2.out")"; fi

# ---- resume ----------------------------------------------------------------------------------
STRETCH_FAULT=kill-after-checkpoint:6 runN 2 kill >"$TMP/kill1.out" 2>&1; rc=$?
runN 2 kill --resume >"$TMP/kill2.out" 2>&1 && [ $rc -ne 0 ] && grep -q "resuming from ${D}kill/step_00000006: step 6/16" "$TMP/kill2.out" \
  && same kill n2 && ok "2 ranks, rank 0 killed after checkpoint 6, --resume on 2: bit-identical" \
  || bad "2 ranks, rank 0 killed after checkpoint 6, --resume on 2: bit-identical" "exit $rc; $(tail -2 "$TMP/kill2.out")"
run1 to1 --resume ${D}n2/step_00000006 >"$TMP/to1.out" 2>&1 && grep -q "note: the checkpoint ran on 2 ranks, this run on 1" "$TMP/to1.out" \
  && close to1 ref 6 && ok "a 2-rank checkpoint resumed on 1 rank: = one process to float rounding" \
  || bad "a 2-rank checkpoint resumed on 1 rank: = one process to float rounding" "$(tail -2 "$TMP/to1.out")"
runN 4 to4 --resume ${D}n2/step_00000006 >"$TMP/to4.out" 2>&1 && close to4 ref 6 \
  && ok "a 2-rank checkpoint resumed on 4 ranks (moments re-split): = one process to float rounding" \
  || bad "a 2-rank checkpoint resumed on 4 ranks (moments re-split): = one process to float rounding" "$(tail -2 "$TMP/to4.out")"
runN 2 to2 --resume ${D}ref/step_00000009 >"$TMP/to2.out" 2>&1 && close to2 ref 9 \
  && ok "a 1-rank checkpoint resumed on 2 ranks: = one process to float rounding" \
  || bad "a 1-rank checkpoint resumed on 2 ranks: = one process to float rounding" "$(tail -2 "$TMP/to2.out")"

# ---- signals and a dead rank -----------------------------------------------------------------
runN 2 term --set checkpoint.every=0 >"$TMP/term1.out" 2>&1 &
pid=$!
wait_rows term 3
p1=$(rank_pid term 1)
[ -n "$p1" ] && kill -TERM "$p1"
wait $pid; rc=$?
k=$(sed -n 's/^stopped by SIGTERM after step \([0-9]*\);.*/\1/p' "$TMP/term1.out")
ck=$(ls -d ${D}term/step_* 2>/dev/null | grep -vc step_00000008)
runN 2 term --set checkpoint.every=0 --resume >"$TMP/term2.out" 2>&1
if [ $rc -eq 0 ] && [ -n "$k" ] && [ "$ck" -eq 1 ] && grep -q '"reason": "signal"' ${D}term/step_$(printf %08d "$k")/trainer_state.json \
   && [ "$(grep -c '"train"' ${D}term/metrics.jsonl)" -eq 16 ] && same term n2; then
  ok "SIGTERM to rank 1: both stop after step $k, one checkpoint, exit 0; --resume: identical"
else bad "SIGTERM to rank 1: both stop after the same step, one checkpoint; --resume: identical" "exit $rc, step '$k', pid '$p1'; $(tail -2 "$TMP/term1.out")"; fi

# without -q: mpirun's own report names the rank that died
mpirun --oversubscribe --allow-run-as-root -np 2 ./train --config $CFG --set run.name=test_mpi_dead --set checkpoint.every=2 >"$TMP/dead1.out" 2>&1 &
pid=$!
wait_rows dead 5
p1=$(rank_pid dead 1)
[ -n "$p1" ] && kill -KILL "$p1"
t0=$SECONDS
while kill -0 $pid 2>/dev/null && [ $((SECONDS - t0)) -lt 60 ]; do sleep 0.2; done
kill -0 $pid 2>/dev/null && { kill -KILL $pid; hung=1; } || hung=0
wait $pid; rc=$?
runN 2 dead --set checkpoint.every=2 --resume >"$TMP/dead2.out" 2>&1
if [ $hung -eq 0 ] && [ $rc -ne 0 ] && grep -q "process rank 1 .* exited on signal 9" "$TMP/dead1.out" && grep -q "resuming from" "$TMP/dead2.out" && same dead n2; then
  ok "SIGKILL to rank 1: the job ends in $((SECONDS - t0))s naming it, no hang; --resume: identical"
else bad "SIGKILL to rank 1: the job ends naming it, no hang; --resume: identical" "hung $hung, exit $rc, pid '$p1'; $(tail -3 "$TMP/dead1.out")"; fi

# ---- context parallel --------------------------------------------------------------------------
cp() { local n=$1 p=$2 name=$3; shift 3; $MPIRUN -np "$n" ./train --config tests/mpi_cp.yaml --set run.name=test_mpi_"$name" --set train.context_parallel="$p" "$@"; }
./train --config tests/mpi_cp.yaml --set run.name=test_mpi_cpref >"$TMP/cpref.out" 2>&1 || { echo "test_mpi: the one-process T=4096 run failed"; tail -3 "$TMP/cpref.out"; }
cp 2 2 cp2 >"$TMP/cp2.out" 2>&1; rc=$?
for mode in true full; do
  cp 2 2 cp2$mode --set train.recompute=$mode >"$TMP/cp2$mode.out" 2>&1
  [ $rc -eq 0 ] && grep -q "1 data-parallel groups of 2: context parallel, ring attention" "$TMP/cp2.out" \
    && [ "$(strip_timing ${D}cp2/metrics.jsonl)" = "$(strip_timing ${D}cp2$mode/metrics.jsonl)" ] \
    && cmp -s ${D}cp2/model.safetensors ${D}cp2$mode/model.safetensors \
    && ok "a ring of 2 ranks at T=4096, again with recompute $mode: bit-identical" \
    || bad "a ring of 2 ranks at T=4096, again with recompute $mode: bit-identical" "$(tail -2 "$TMP/cp2$mode.out")"
done
close cp2 cpref 0 5e-5 1e-4 30 && ok "a ring of 2 ranks at T=4096 (YaRN, ALiBi, documents, PoSE) = one process" \
  || bad "a ring of 2 ranks at T=4096 (YaRN, ALiBi, documents, PoSE) = one process"
cp 4 4 cp4 >"$TMP/cp4.out" 2>&1 && close cp4 cpref 0 5e-5 1e-4 30 && ok "a ring of 4 ranks at T=4096 = one process" \
  || bad "a ring of 4 ranks at T=4096 = one process" "$(tail -2 "$TMP/cp4.out")"
cp 4 2 cp22 >"$TMP/cp22.out" 2>&1 && grep -q "2 data-parallel groups of 2" "$TMP/cp22.out" && close cp22 cpref 0 5e-5 1e-4 30 \
  && ok "2 data-parallel groups x rings of 2 at T=4096 = one process" || bad "2 data-parallel groups x rings of 2 at T=4096 = one process" "$(tail -2 "$TMP/cp22.out")"
./train --config tests/mpi_cp.yaml --set run.name=test_mpi_dyn1 --set position.rope.scaling=dynamic >"$TMP/dyn1.out" 2>&1
cp 2 2 dyn2 --set position.rope.scaling=dynamic >"$TMP/dyn2.out" 2>&1 && close dyn2 dyn1 0 5e-5 1e-4 30 \
  && ok "a ring of 2 with dynamic NTK (tables from the ring's largest id, PoSE to 8192) = one process" \
  || bad "a ring of 2 with dynamic NTK (tables from the ring's largest id, PoSE to 8192) = one process" "$(tail -2 "$TMP/dyn2.out")"
runN 2 cpt5 --set train.context_parallel=2 >"$TMP/cpt5.out" 2>&1 && close cpt5 ref 0 5e-5 1e-4 30 \
  && ok "a ring of 2 with YaRN + T5, micro-batches, evals, tasks = one process" \
  || bad "a ring of 2 with YaRN + T5, micro-batches, evals, tasks = one process" "$(tail -2 "$TMP/cpt5.out")"
run1 cpto1 --resume ${D}cpt5/step_00000009 >"$TMP/cpto1.out" 2>&1 && grep -q "note: the checkpoint ran on 2 ranks, this run on 1" "$TMP/cpto1.out" \
  && close cpto1 ref 9 5e-5 1e-4 30 && ok "a ring's checkpoint resumed on 1 rank: = one process" \
  || bad "a ring's checkpoint resumed on 1 rank: = one process" "$(tail -2 "$TMP/cpto1.out")"

# ---- bad input -------------------------------------------------------------------------------
expect_error "3 ranks cannot share 8 sequences per step: one line, exit 2" \
  "curriculum\[0\]: train.batch_tokens 1024 is 8 sequences of seq_len 128 per step, which 3 ranks cannot share evenly" \
  runN 3 split
[ ! -e ${D}split ] && ok "... and nothing written" || bad "... and nothing written" "$(ls ${D}split)"
expect_error "micro_batch that does not divide a rank's sequences: one line, exit 2" \
  "each of 2 ranks trains 6 sequences per step, not a multiple of train.micro_batch 4" \
  runN 2 micro --set train.batch_tokens=1536 --set train.micro_batch=4
expect_error "ranks started with other settings: one line naming the key, exit 2" \
  "rank 1 was started with other settings than rank 0 \(train.optimizer.lr\)" \
  $MPIRUN -np 1 ./train --config $CFG --set run.name=test_mpi_mis : -np 1 ./train --config $CFG --set run.name=test_mpi_mis --set train.optimizer.lr=1e-3
[ ! -e ${D}mis ] && ok "... and nothing written" || bad "... and nothing written" "$(ls ${D}mis)"
expect_error "a one-process subcommand on 2 ranks: one line, exit 2" "train info runs as one process, not on 2 ranks" \
  $MPIRUN -np 2 ./train info checkpoints/base/stories260K.bin
expect_error "context_parallel that does not divide the ranks: one line, exit 2" \
  "train.context_parallel 2 does not divide the 3 ranks of this run" runN 3 cpn --set train.context_parallel=2
expect_error "a seq_len a ring of 3 cannot split evenly: one line, exit 2" \
  "curriculum\[0\]: seq_len 128 does not split into 2 x train.context_parallel = 6 equal chunks" runN 3 cps --set train.context_parallel=3
[ ! -e ${D}cpn ] && [ ! -e ${D}cps ] && ok "... and nothing written" || bad "... and nothing written"
expect_error "dynamic NTK on 2 groups whose forwards hold fewer sequences than one process's: one line, exit 2" \
  "position.rope.scaling dynamic picks its tables from a forward's largest position id, and on 2 data-parallel groups a forward of stage 1 holds 4 of the 8 sequences" \
  runN 2 dynmb --set train.micro_batch=0 --set position.rope.scaling=dynamic
./train eval --config tests/mpi_cp.yaml --set run.name=test_mpi_cpeval --set train.context_parallel=2 >"$TMP/cpeval.out" 2>&1 \
  && ok "train eval of a context-parallel config (one process; evals do not use the ring)" \
  || bad "train eval of a context-parallel config (one process; evals do not use the ring)" "$(tail -1 "$TMP/cpeval.out")"
finish mpi
