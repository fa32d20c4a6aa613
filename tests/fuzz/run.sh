#!/usr/bin/env bash
# run.sh — the fuzz targets of tests/fuzz/fuzz.c (built by `make fuzz-build` into build/fuzz/).
#   bash tests/fuzz/run.sh smoke [TARGET...]   each target FUZZ_SMOKE seconds (default 8): make test
#   bash tests/fuzz/run.sh long [TARGET...]    each target FUZZ_SECONDS seconds (default 60): make fuzz
# Each target starts from its committed corpus (tests/fuzz/corpus/TARGET: handmade seeds and
# every crasher found, kept as regression tests), real files copied from ../shared,
# tests/fixtures and configs/ into build/fuzz/seeds/TARGET (never committed), and what
# earlier runs found (build/fuzz/work/TARGET), with tests/fuzz/TARGET.dict when there is one.
# Prints one line per target: executions, seconds, corpus size; a crash, leak, timeout or
# sanitizer report fails the run and leaves the input in build/fuzz/crashes/ (commit it
# to tests/fuzz/corpus/TARGET once fixed).
set -u
cd "$(dirname "$0")/../.."
. tests/shared.sh
mode=${1:-smoke}; shift || true
targets=${*:-shard llama2c state hfconfig hfindex gguf tokenizer config metrics trainstate done jsonl}
secs=$([ "$mode" = long ] && echo "${FUZZ_SECONDS:-60}" || echo "${FUZZ_SMOKE:-8}")
S=build/fuzz/seeds
rm -rf $S && mkdir -p build/fuzz/crashes
seed() { local t=$1; shift; mkdir -p $S/$t; for f in "$@"; do [ -f "$f" ] && cp "$f" "$S/$t/$(echo "$f" | tr / _)"; done; return 0; }
M=$SHARED/models
seed shard data/tinystories/test_short.bin
seed llama2c "$M/stories260K/stories260K.bin" "$M/stories260K/stories260K_v1.bin"
seed state tests/fixtures/*.safetensors tests/fixtures/hf_tiny_bf16/model.safetensors
seed hfconfig tests/fixtures/hf_tiny_bf16/config.json tests/fixtures/hf_tiny_sharded/config.json
seed gguf "$M/tiny-random-llama2.gguf"
seed tokenizer "$M/stories260K/tok512.bin"
seed config configs/*.yaml tests/*.yaml
seed metrics $(find tests/fixtures/report -name metrics.jsonl 2>/dev/null)
seed trainstate
seed done
seed hfindex tests/fixtures/hf_tiny_sharded/model.safetensors.index.json
seed jsonl
fail=0 total=0
for t in $targets; do
  bin=build/fuzz/fuzz_$t
  [ -x $bin ] || { echo "fuzz $t: $bin missing (make fuzz-build)"; fail=1; continue; }
  mkdir -p build/fuzz/work/$t tests/fuzz/corpus/$t
  dict=""; [ -f tests/fuzz/$t.dict ] && dict=-dict=tests/fuzz/$t.dict
  log=build/fuzz/$t.log
  # fuzzing without LeakSanitizer's check after every input (a rejected input leaves memory
  # to the exit it would take, and LSan's scan then dominates); then every input of the
  # corpus once more, each followed by a leak check
  export ASAN_OPTIONS=allocator_may_return_null=0:detect_odr_violation=0 UBSAN_OPTIONS=print_stacktrace=1
  $bin -max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 -max_len=2000000 -print_final_stats=1 -detect_leaks=0 \
    -artifact_prefix=build/fuzz/crashes/$t- $dict build/fuzz/work/$t tests/fuzz/corpus/$t $S/$t >"$log" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then
    find build/fuzz/work/$t tests/fuzz/corpus/$t $S/$t -type f | sort >build/fuzz/$t.inputs
    xargs -a build/fuzz/$t.inputs $bin -detect_leaks=1 -timeout=20 -rss_limit_mb=4096 \
      -artifact_prefix=build/fuzz/crashes/$t-leak- >>"$log" 2>&1
    rc=$?
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  size=$(find build/fuzz/work/$t tests/fuzz/corpus/$t $S/$t -type f | wc -l)
  total=$((total + ${runs:-0}))
  if [ $rc -eq 0 ]; then
    printf 'fuzz %-11s %9s executions in %s s; %s corpus inputs rerun with leak checks: no crash, leak or sanitizer report\n' \
      "$t" "${runs:-?}" "$secs" "$size"
  else
    fail=1
    printf 'fuzz %-11s FAILED (exit %d): %s\n' "$t" "$rc" "$(grep -m1 -E 'ERROR|SUMMARY|runtime error|deadly signal' "$log")"
    grep -m3 -E '^    #[0-9] ' "$log" | sed 's/^/    /'
    ls build/fuzz/crashes/$t-* 2>/dev/null | sed 's/^/    input: /'
  fi
done
echo "fuzz: $total executions in all"
exit $fail
