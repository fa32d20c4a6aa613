#!/usr/bin/env bash
# bench_ranks.sh — make bench's multi-rank cases (CASES=ranks, or the default and all):
# on this machine's 2 cores, 2 ranks x 1 thread (mpirun) against 1 rank x 2 threads, for
# data parallelism (stories260K, 32 x 512 tokens per step) and context parallelism (a
# ring of 2 splitting each of 2 sequences of 8192 tokens). Each configuration runs REPS
# times (default 3) for 8 steps; a run's figure is the median over its steps 2-8, the
# table shows the median of the runs: tokens/s, seconds per step blocked in
# communication (metrics.jsonl comm_s: gradient reduce-scatter, weight all-gather, the
# ring's waits) and the ratio to 1 x 2 measured in the same invocation.
set -u
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
CFG=scripts/bench_ranks.yaml
MPIRUN="mpirun -q --oversubscribe --allow-run-as-root"
command -v mpirun >/dev/null || { echo "bench_ranks: mpirun not found (make installs openmpi-bin)" >&2; exit 1; }

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
# field RUN KEY: the median of KEY over the run's train rows after the first
field() { grep '"train"' checkpoints/bench_ranks_"$1"/metrics.jsonl | tail -n +2 | grep -o "\"$2\": [0-9.e-]*" | sed 's/.*: //' | median; }
# measure NAME CMD...: REPS runs of CMD; prints "tokens/s comm_s" (medians of the runs)
measure() {
  local name=$1; shift
  local t="" c=""
  for i in $(seq 1 "$REPS"); do
    rm -rf checkpoints/bench_ranks_"$name"
    "$@" --config $CFG --set run.name=bench_ranks_"$name" >/dev/null 2>&1 || { echo "bench_ranks: $name failed" >&2; return 1; }
    t="$t $(field "$name" tokens_per_s)"
    c="$c $(field "$name" comm_s)"
  done
  rm -rf checkpoints/bench_ranks_"$name"
  echo "$(echo $t | tr ' ' '\n' | median) $(echo $c | tr ' ' '\n' | median)"
}
printf "bench_ranks: medians of %d runs x 7 steps; 16384 tokens per step\n" "$REPS"
printf "%-22s %-14s %10s %9s %11s %8s %8s\n" "case" "ranks x thr" "tokens/s" "s/step" "comm s/step" "comm %" "vs 1x2"
for kind in dp cp; do
  if [ $kind = dp ]; then set_t=(--set train.seq_len=512 --set train.micro_batch=8); label="data parallel T=512"
  else set_t=(--set train.seq_len=8192 --set train.micro_batch=1 --set train.recompute=true); label="context par. T=8192"; fi
  one=$(measure ${kind}_1x2 ./train "${set_t[@]}" --set run.threads=2) || exit 1
  if [ $kind = dp ]; then two=$(measure ${kind}_2x1 $MPIRUN -np 2 ./train "${set_t[@]}" --set run.threads=1) || exit 1
  else two=$(measure ${kind}_2x1 $MPIRUN -np 2 ./train "${set_t[@]}" --set run.threads=1 --set train.context_parallel=2) || exit 1; fi
  base=${one%% *}
  awk -v c="$label" -v l="1 x 2" -v t="$base" 'BEGIN { printf "%-22s %-14s %10.0f %9.3f %11s %8s %8s\n", c, l, t, 16384 / t, "-", "-", "1.00" }'
  set -- $two
  awk -v c="$label" -v l="2 x 1" -v t="$1" -v m="$2" -v b="$base" 'BEGIN {
    s = 16384 / t; printf "%-22s %-14s %10.0f %9.3f %11.4f %7.0f%% %8.2f\n", c, l, t, s, m, 100 * m / s, t / b }'
done
