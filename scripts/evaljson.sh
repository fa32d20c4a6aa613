# evaljson.sh — read figures out of eval.json (sourced by compare_methods.sh, heldout.sh and
# compare_retrieval.sh).
# bucket FILE T FROM [NONE]: the loss of positions [FROM, ...) in the eval at length T, or
# NONE (default: nothing) when the file has no such bucket.
bucket() { tr '{' '\n' <"$1" | awk -v T="$2" -v F="$3" -v NONE="${4:-}" '
  /"seq_len": / && /"loss_by_position"/ { split($0, a, /[:,] */); cur = a[2] + 0 }
  /"from": / && cur == T { split($0, a, /[:,] */); if (a[2] + 0 == F) { printf "%.3f", a[8]; found = 1; exit } }
  END { if (!found) printf "%s", NONE }'; }
# acc FILE TASK T [DEPTH]: accuracy (%) at length T, the mean over depths or at DEPTH
acc() { tr '{' '\n' <"$1" | awk -v K="\"$2\"" -v T="$3" -v D="${4:-}" '
  index($0, "\"task\": " K ",") && match($0, /"seq_len": [0-9]+/) && substr($0, RSTART + 11, RLENGTH - 11) + 0 == T {
    match($0, /"depth": [0-9.]+/); d = substr($0, RSTART + 9, RLENGTH - 9) + 0
    if (D != "" && d != D + 0) next
    match($0, /"accuracy": [0-9.]+/); s += substr($0, RSTART + 12, RLENGTH - 12); n++ }
  END { if (n) printf "%.0f", 100 * s / n; else printf "—" }'; }
# gap FILE D: the copy gap (nats) at distance D
gap() { tr '{' '\n' <"$1" | awk -v D="$2" '
  match($0, /"distance": [0-9]+/) && substr($0, RSTART + 12, RLENGTH - 12) + 0 == D {
    match($0, /"gap": -?[0-9.]+/); printf "%+.2f", substr($0, RSTART + 7, RLENGTH - 7); f = 1 }
  END { if (!f) printf "—" }'; }
# eff FILE TASK: the effective length (— when none)
eff() { sed -n 's/.*"effective_length": {\(.*\)}}.*/\1/p' "$1" | tr ',' '\n' |
  awk -v K="\"$2\"" 'index($0, K ":") { split($0, a, ": "); v = a[2] } END { printf "%s", (v == "" || v == "null") ? "—" : v }'; }
