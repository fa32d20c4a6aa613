#!/usr/bin/env bash
# compare_retrieval.sh — the README's retrieval comparison (`make compare-retrieval`): the
# retrieval demo base (checkpoints/base/retrieval260K.safetensors, `make base-retrieval`)
# retrofitted with each method at the same data, budget and curriculum, with passkey
# documents as 30% of the training tokens (data.mix: a retrofit on plain text erases the
# base's retrieval whatever the method: README "Choosing a method"), then scored on val:
# near-range loss (0–256 at T = 512), far loss (the top half of the target length),
# passkey and multikey accuracy by length and depth, copy by distance, and each task's
# effective length. Prints two markdown tables (OUT/table.md). The base model itself
# (under its own RoPE, no retrofit) is the first row.
#   TARGET=4096 (default): configs/retrofit_<method>.yaml (a 512 -> 2048 -> 4096
#     curriculum, 128 steps of 8192 tokens), passkey documents of 276–4096 tokens;
#     about 5 minutes per method on 2 cores; OUT checkpoints/compare_retrieval.
#   TARGET=32768: configs/retrofit_32k_<method>.yaml (abf: retrofit_32k.yaml, linear:
#     retrofit_32k_pi.yaml; PoSE windows of 2048 over positions 0–32767, 112 steps of
#     32768 tokens), passkey documents of 276–2048 tokens (whose PoSE ids reach far);
#     passkey only (the base is at chance on multikey), at 512–32768 with fewer trials
#     (TRIALS, default 5); about 35 minutes per method on 2 cores; OUT
#     checkpoints/compare_retrieval_32k.
#   MIX=0: plain text (OUT gets _plain).
#   THREADS=N: run.threads of every run (default: the configs', all cores), e.g. two
#     instances in parts with THREADS=1 on 2 cores.
# Methods named on the command line run (the base first, if it has no row yet); the
# tables hold every method with a result in OUT, so a long comparison can run in parts.
# OUT/stamp records the base's sha256 and the settings: results of another base or
# other settings are removed before a run adds to them.
# --table: only print the tables of the results in OUT (no run).
# usage: [TARGET=4096|32768] [MIX=0] scripts/compare_retrieval.sh [--table | method ...]
set -eu
cd "$(dirname "$0")/.."
ALL="linear ntk abf yarn llama3 alibi t5 yarn_alibi yarn_t5"
METHODS=${*:-$ALL}
BASE=${BASE:-checkpoints/base/retrieval260K.safetensors}
TARGET=${TARGET:-4096}
case $TARGET in
  4096)  OUT=checkpoints/compare_retrieval; LENS=(512 1024 2048 4096); COPY="64, 256, 1024, 4000"
         MIXLEN=4096; TRIALS=${TRIALS:-10}; NAMES="passkey, multikey" ;;
  32768) OUT=checkpoints/compare_retrieval_32k; LENS=(512 4096 16384 32768); COPY="64, 1024, 16000"
         MIXLEN=2048; TRIALS=${TRIALS:-5}; NAMES="passkey" ;;
  *) echo "compare_retrieval: TARGET must be 4096 or 32768, not $TARGET" >&2; exit 2 ;;
esac
[ "${MIX:-1}" = 0 ] && OUT=${OUT}_plain
mkdir -p "$OUT"
[ -f "$BASE" ] || { echo "compare_retrieval: $BASE is missing (hint: make base-retrieval)" >&2; exit 2; }

. scripts/evaljson.sh

stamp="base $(sha256sum "$BASE" | cut -d' ' -f1) target $TARGET trials $TRIALS mix ${MIX:-1}"
if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" != "$stamp" ]; then
  [ "${1:-}" = --table ] && { echo "compare_retrieval: $OUT holds results of another base or settings" >&2; exit 2; }
  echo "compare_retrieval: $OUT holds results of another base or settings; removing them" >&2
  rm -f "$OUT"/*.json "$OUT"/*.log "$OUT/table.md"
fi
echo "$stamp" >"$OUT/stamp"

config() {   # config METHOD: the method's retrofit config at TARGET (none: the base, no retrofit)
  if [ "$TARGET" = 4096 ] || [ "$1" = none ]; then echo "configs/retrofit_$1.yaml"
  elif [ "$1" = abf ]; then echo configs/retrofit_32k.yaml
  elif [ "$1" = linear ]; then echo configs/retrofit_32k_pi.yaml
  else echo "configs/retrofit_32k_$1.yaml"; fi
}
lens=$(IFS=,; echo "${LENS[*]}" | sed 's/,/, /g')
TASKS=(--set model.init_from="$BASE" --set "eval.tasks.names=[$NAMES]"
       --set "eval.tasks.lengths=[$lens]" --set "eval.tasks.depths=[0.1, 0.5, 0.9]" --set eval.tasks.trials="$TRIALS"
       --set "eval.tasks.copy.distances=[$COPY]" --set eval.tasks.copy.trials="$TRIALS")
[ "$TARGET" = 32768 ] && TASKS+=(--set "eval.seq_lens=[512, 4096, 32768]" --set eval.max_tokens=32768)
[ -n "${THREADS:-}" ] && TASKS+=(--set run.threads="$THREADS")
MIXED=()
[ "${MIX:-1}" = 0 ] || MIXED=(--set "data.mix.tasks=[passkey]" --set data.mix.share=0.3 --set "data.mix.lengths=[276, $MIXLEN]")

run() {   # run NAME: eval.json of the method NAME (none: the base model, evaluated only)
  local m=$1 name
  name=$(basename "$OUT")_$m
  if [ "$m" = none ]; then
    ./train eval --config "$(config none)" --set run.name="$name" "${TASKS[@]}" >"$OUT/none.log"
  else
    rm -rf "checkpoints/$name"
    ./train --config "$(config "$m")" --set run.name="$name" "${TASKS[@]}" "${MIXED[@]}" >"$OUT/$m.log"
  fi
  cp "checkpoints/$name/eval.json" "$OUT/$m.json"
}

if [ "${1:-}" = --table ]; then set --
else [ -f "$OUT/none.json" ] && [ $# -gt 0 ] || set -- none $METHODS; fi   # the base: once, or on a full run
for m in "$@"; do
  echo "== $m" >&2
  run "$m"
done
ROWS=""                       # every method with a result (a run may be split: script m1 m2, then m3 ...)
for m in none $ALL; do [ -f "$OUT/$m.json" ] && ROWS="$ROWS $m"; done
for f in "$OUT"/*.json; do   # others, e.g. dynamic, longrope
  m=$(basename "$f" .json); [ -f "$f" ] && case " $ROWS " in *" $m "*) ;; *) ROWS="$ROWS $m" ;; esac
done

label() { [ "$1" = none ] && echo "base model (no retrofit)" || echo "$1"; }
top=${LENS[${#LENS[@]} - 1]}
{
  printf '| method | 0–256 at 512 | %sk–%sk at %s |' "$((top / 2048))" "$((top / 1024))" "$top"
  sep=' passkey'
  for L in "${LENS[@]}"; do printf '%s %s |' "$sep" "$L"; sep=; done
  printf ' %s by depth 0.1 / 0.5 / 0.9 | effective length |\n|---|---|---|' "$top"
  for L in "${LENS[@]}"; do printf -- '---|'; done
  printf -- '---|---|\n'
  for m in $ROWS; do
    f=$OUT/$m.json
    printf '| %s | %s | %s |' "$(label "$m")" "$(bucket "$f" 512 0)" "$(bucket "$f" "$top" "$((top / 2))")"
    for L in "${LENS[@]}"; do printf ' %s%% |' "$(acc "$f" passkey "$L")"; done
    printf ' %s / %s / %s %% | %s |\n' "$(acc "$f" passkey "$top" 0.1)" "$(acc "$f" passkey "$top" 0.5)" \
      "$(acc "$f" passkey "$top" 0.9)" "$(eff "$f" passkey)"
  done
  echo
  mk=; [ "$NAMES" = passkey ] || mk=1     # multikey: at 4096 only (the base is at chance on it)
  printf '| method |%s copy gap at %s (nats) |\n|---|---|%s\n' \
    "${mk:+ multikey $(echo "$lens" | sed 's|, | / |g') | effective length |}" "$(echo "$COPY" | sed 's|, | / |g')" \
    "${mk:+---|---|}"
  for m in $ROWS; do
    f=$OUT/$m.json
    printf '| %s |' "$(label "$m")"
    sep=' '
    if [ -n "$mk" ]; then
      for L in "${LENS[@]}"; do printf '%s%s' "$sep" "$(acc "$f" multikey "$L")"; sep=' / '; done
      printf ' %% | %s |' "$(eff "$f" multikey)"
    fi
    sep=' '
    for d in ${COPY//,/}; do printf '%s%s' "$sep" "$(gap "$f" "$d")"; sep=' / '; done
    printf ' |\n'
  done
} | tee "$OUT/table.md"
