#!/usr/bin/env bash
# run_all.sh — every test of `make test`; prints "N passed, M failed" and exits non-zero
# on any failure. Inputs come from the staged checkpoints/base and data/ (see Makefile)
# and ../shared when it is there.
set -u
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
BASE=checkpoints/base/stories260K.bin
V1=$SHARED/models/stories260K/stories260K_v1.bin
if [ ! -f "$V1" ]; then echo "note: $V1 not found; comparing the legacy file with itself"; V1=$BASE; fi
pass=0 fail=0 failed=""

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
run curriculum ./tests/test_curriculum
run data ./tests/test_data
for f in tests/fixtures/refcheck_*.safetensors; do
  run "refcheck $(basename "$f" .safetensors)" ./tests/refcheck "$f"
done
run real ./tests/test_real "$BASE" "$V1" checkpoints/base/tok512.bin build/tinystories.txt
run train ./tests/test_train "$BASE" data/tinystories/val.bin
run optim ./tests/test_optim tests/fixtures/adamw_trajectory.safetensors
run position ./tests/test_position
run rope_published /usr/bin/python3 tests/rope_published.py
run passkey ./tests/test_passkey "$BASE" checkpoints/base/tok512.bin data/tinystories/val.bin
run report ./tests/test_report tests/fixtures/report
run cli bash tests/test_cli.sh
run resume bash tests/test_resume.sh
run export bash tests/test_export.sh
run compare bash tests/test_report.sh
run finetune bash tests/test_finetune.sh

echo
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
