#!/usr/bin/env bash
# run_all.sh — every test of `make test`; prints "N passed, M failed" and exits non-zero
# on any failure. Inputs come from the staged checkpoints/base and data/ (see Makefile)
# and from ../shared (or SHARED=/path): a test whose shared file is missing FAILS with a
# message naming the file and how to provide it (tests/shared.sh); nothing is skipped.
set -u
cd "$(dirname "$0")/.."
. tests/shared.sh
BASE=checkpoints/base/stories260K.bin
V1=$SHARED/models/stories260K/stories260K_v1.bin
TOK32K=$SHARED/models/tokenizers/tok32000.bin
pass=0 fail=0 failed=""

# need FILE CMD...: CMD when FILE exists; otherwise the message of tests/shared.sh and failure.
need() { local f=$1; shift; need_shared "$f" && "$@"; }

run() {
  local name=$1; shift
  echo "=== $name"
  local t0=$SECONDS
  if "$@"; then pass=$((pass + 1)); echo "--- $name: ok ($((SECONDS - t0))s)"
  else fail=$((fail + 1)); failed="$failed $name"; echo "--- $name: FAILED ($((SECONDS - t0))s)"; fi
}

run layers ./tests/test_layers
run gradcheck ./tests/test_gradcheck
run attention ./tests/test_attention
# the x86-64-v2 (SSE) copies of the KERNEL loops, built apart (Makefile, tests/*_v2)
run "layers, x86-64-v2 kernels" ./tests/test_layers_v2
run "attention, x86-64-v2 kernels" ./tests/test_attention_v2
run "optim, x86-64-v2 kernels" ./tests/test_optim_v2 tests/fixtures/adamw_trajectory.safetensors
run curriculum ./tests/test_curriculum
run data ./tests/test_data
run sources ./tests/test_sources
for f in tests/fixtures/refcheck_*.safetensors; do
  run "refcheck $(basename "$f" .safetensors)" ./tests/refcheck "$f"
done
run real need "$V1" ./tests/test_real "$BASE" "$V1" checkpoints/base/tok512.bin build/tinystories.txt
run train ./tests/test_train "$BASE" data/tinystories/val.bin
run optim ./tests/test_optim tests/fixtures/adamw_trajectory.safetensors
run position ./tests/test_position
run rope_published /usr/bin/python3 tests/rope_published.py
run cached ./tests/test_cached
run needles ./tests/test_needles checkpoints/base/tok512.bin data/tinystories/train.bin data/tinystories/val.bin
run tasks ./tests/test_tasks "$BASE" checkpoints/base/tok512.bin data/tinystories/val.bin
run copier ./tests/test_copier checkpoints/base/tok512.bin data/tinystories/val.bin
run report ./tests/test_report tests/fixtures/report
run tokenizer need "$TOK32K" ./tests/test_tokenizer "$TOK32K"
run hf_tokenizer bash tests/test_hf_tokenizer.sh
run prepare bash tests/test_prepare.sh
run cli bash tests/test_cli.sh
run resume bash tests/test_resume.sh
run faults bash tests/test_faults.sh
# make test-debug: the fuzz targets are sanitized builds of their own, run by make test
[ -z "${STRETCH_SANITIZED:-}" ] && run fuzz bash tests/fuzz/run.sh smoke
run ring ./tests/test_ring
run dist ./tests/test_dist
MPIRUN="mpirun -q --oversubscribe --allow-run-as-root -x OMP_NUM_THREADS=1"
for n in 2 3 4; do run "ring on $n ranks" $MPIRUN -np $n ./tests/test_ring; done
for n in 2 3 5; do run "dist on $n ranks" $MPIRUN -np $n ./tests/test_dist; done
run mpi bash tests/test_mpi.sh
run export bash tests/test_export.sh
run gguf bash tests/test_gguf.sh
run compare bash tests/test_report.sh
# make test-debug: 200 training steps of the code paths test_resume and test_cli run take
# about 15 minutes under the sanitizers; make test runs them
[ -z "${STRETCH_SANITIZED:-}" ] && run finetune bash tests/test_finetune.sh

echo
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
