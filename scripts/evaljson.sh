# evaljson.sh — read figures out of eval.json (sourced by compare_methods.sh and heldout.sh).
# bucket FILE T FROM [NONE]: the loss of positions [FROM, ...) in the eval at length T, or
# NONE (default: nothing) when the file has no such bucket.
bucket() { tr '{' '\n' <"$1" | awk -v T="$2" -v F="$3" -v NONE="${4:-}" '
  /"seq_len": / && /"loss_by_position"/ { split($0, a, /[:,] */); cur = a[2] + 0 }
  /"from": / && cur == T { split($0, a, /[:,] */); if (a[2] + 0 == F) { printf "%.3f", a[8]; found = 1; exit } }
  END { if (!found) printf "%s", NONE }'; }
