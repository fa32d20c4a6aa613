#!/usr/bin/env bash
# bench_vs.sh — this tree's tests/bench against another revision's, case by case, in one
# run: `make bench-vs REV=<git revision> CASES=a,b,... [ROUNDS=5]`.
# The revision's tests/bench is built in .cache/bench-vs/<rev> (a git worktree, its own
# objects). Each round runs every case once with each binary, each case in a fresh
# process, the order of the two binaries alternating between rounds so that a slow
# stretch of this shared machine falls on both. Prints each case's median tokens/s of
# each side over the rounds, and their ratio (the medians' ratio, and the range of the
# per-round ratios). PyTorch's rows are left out (a `torch` module on PYTHONPATH that
# fails to import, which both binaries' `import torch` probe meets).
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: scripts/bench_vs.sh REV CASES [ROUNDS]}
cases=${2:?usage: scripts/bench_vs.sh REV CASES [ROUNDS]}
rounds=${3:-5}
sha=$(git rev-parse --short "$rev")
dir=.cache/bench-vs/$sha
if [ ! -x "$dir/tests/bench" ]; then
  rm -rf "$dir"
  git worktree prune
  git worktree add --detach "$dir" "$sha" >/dev/null
  make -C "$dir" tests/bench SHARED="$(cd "${SHARED:-../shared}" && pwd)" >/dev/null
fi
# OpenBLAS's kernels for both sides: those this tree's binary runs (model/blas.c fits them
# to the CPU when OpenBLAS does not know it; a revision before that ran what OpenBLAS detected)
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  t=$(./tests/bench --coretype)
  if [ -n "$t" ]; then export OPENBLAS_CORETYPE=$t; fi
fi
out=$(mktemp)
notorch=$(mktemp -d)
trap 'rm -rf "$out" "$notorch"' EXIT
echo 'raise ImportError("bench-vs leaves out the PyTorch rows")' >"$notorch/torch.py"
export PYTHONPATH=$notorch${PYTHONPATH:+:$PYTHONPATH}
for r in $(seq 1 "$rounds"); do
  for side in $([ $((r % 2)) = 1 ] && echo "base head" || echo "head base"); do
    bin=./tests/bench
    [ "$side" = base ] && bin=$dir/tests/bench
    "$bin" "$cases" | awk -v side="$side" -v r="$r" '$1 != "case" && $1 != "bench:" && $1 != "bound" && NF >= 8 { print side, r, $1, $4 }' >>"$out"
  done
done
printf '%-22s %12s %12s %8s %s\n' case "$sha tok/s" "this tok/s" ratio "(per-round ratios)"
for c in $(echo "$cases" | tr , ' '); do
  awk -v c="$c" '
    $3 == c { v[$1, $2] = $4; if ($2 > n) n = $2 }
    function median(a, k,   i, j, t) {
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }
    END {
      for (i = 1; i <= n; i++) { b[i] = v["base", i]; h[i] = v["head", i]; q[i] = h[i] / b[i] }
      mb = median(b, n); mh = median(h, n); lo = hi = q[1]
      for (i = 2; i <= n; i++) { if (q[i] < lo) lo = q[i]; if (q[i] > hi) hi = q[i] }
      printf "%-22s %12.0f %12.0f %7.2fx (%.2f-%.2f)\n", c, mb, mh, mh / mb, lo, hi
    }' "$out"
done
