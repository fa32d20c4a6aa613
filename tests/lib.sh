# lib.sh — shared by the shell tests (sourced): pass/fail counting and the checks.
#   ok NAME / bad NAME [DETAIL]       count and print one case
#   expect_error NAME PATTERN CMD...  CMD exits 2 with one stderr line matching PATTERN
#   begin NAME                        TMP=tests/tmp/NAME, emptied, and no checkpoints/test_NAME_*
#   strip_timing FILE                 metrics.jsonl without tokens_per_s, elapsed_s, comm_s (the
#                                     only values that differ between equal runs)
#   need FILE NAME                    true when FILE (from $SHARED) exists; otherwise the case
#                                     NAME fails with the message of tests/shared.sh
#   memcheck CODE CMD...              CMD under valgrind (exit CODE on a memory error); under
#                                     `make test-debug` (STRETCH_SANITIZED) CMD's own ASan and
#                                     UBSan check it instead (valgrind cannot run them), exit CODE
#   finish SUITE                      print "SUITE: N passed, M failed"; exit 1 on a failure
# Sourced from the repository root.
set -u
. tests/shared.sh
pass=0 fail=0
begin() { TMP=tests/tmp/$1; rm -rf "$TMP" checkpoints/test_"$1"_*; mkdir -p "$TMP"; }
ok()  { pass=$((pass + 1)); printf '%-72s ok\n' "$1"; }
bad() { fail=$((fail + 1)); printf '%-72s FAIL\n' "$1"; [ -n "${2:-}" ] && printf '    %s\n' "$2"; }
expect_error() {
  local name=$1 pat=$2; shift 2
  "$@" >"$TMP/out" 2>"$TMP/err"; local rc=$?
  local lines; lines=$(wc -l <"$TMP/err")
  if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && grep -qE -- "$pat" "$TMP/err"; then ok "$name"
  else bad "$name" "exit $rc, $lines stderr lines: $(head -c 300 "$TMP/err")"; fi
}
need() { [ -f "$1" ] && return 0; bad "$2" "$(shared_missing_msg "$1")"; return 1; }
strip_timing() { sed 's/, "tokens_per_s": [0-9.]*, "elapsed_s": [0-9.]*//; s/, "comm_s": [0-9.]*//' "$1"; }
memcheck() {
  local code=$1; shift
  if [ -n "${STRETCH_SANITIZED:-}" ]; then ASAN_OPTIONS="${ASAN_OPTIONS:-}:exitcode=$code" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:exitcode=$code" "$@"
  else valgrind -q --error-exitcode="$code" "$@"; fi
}
finish() { echo "$1: $pass passed, $fail failed"; [ $fail -eq 0 ]; exit $?; }
