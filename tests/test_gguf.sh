#!/usr/bin/env bash
# test_gguf.sh — GGUF in and out, proven in llama.cpp itself: build/llama_logits links
# libllama v0.4.0 as the npm package node-llama-cpp@3.21.1 ships it (Makefile, "llama.cpp").
# - Retrofitted runs (linear, NTK, YaRN, Llama 3, LongRoPE; factor 4, trained at 1024 > the base's
#   512) and the base exported to F32 GGUF: llama.cpp's log p of the next token at every
#   position of 1024 held-out tokens (val) matches `train score` of the run within
#   |d| <= 5e-4 + 1e-4 |log p|, mean |d| <= 1e-4; also YaRN with attention factor 1.3. The
#   same with the stretch.* keys stripped, so the scheme
#   comes from llama.cpp's own keys on the way back in. A control: the linear file with
#   its scaling factor overwritten by 1 (the rope scale dropped) is caught. LongRoPE also at
#   400 tokens (below L_o: the short factors, llama.cpp choosing by its context of 400).
#   Other writers' keys: a factor without a type (linear), the old scale_linear key;
#   refused: an attn_factor stretch has no place for, longrope with a factor key, a file
#   whose stretch.position the llama.cpp keys contradict (edited by another tool).
# - F16 (--dtype f16): within 5e-2 at every position, 2e-3 on average (llama.cpp rounds
#   activations to F16 for F16 matrices).
# - GGUF -> GGUF is bit-exact (F32); init_from a GGUF evaluates bit-identically to the run.
# - llama.cpp's Q8_0, Q4_0 and BF16 quantizations of the base read back to the values
#   ggml's own to_float gives; the shared tiny-random-llama2.gguf (F16, Llama 2 vocabulary)
#   scores as in llama.cpp.
# - Tokenizers: llama.cpp tokenizes TinyStories text (tok512 embedded; the Llama 2 vocabulary
#   of the shared GGUF) to the ids `train tokenize` gives.
# - Refused with the reason: dynamic NTK, ALiBi, T5, YaRN with beta_fast 16;
#   malformed files (tests/gguf_tool.py bad) are one line, exit 2, valgrind clean.
cd "$(dirname "$0")/.."
. tests/lib.sh
begin gguf
BASE=checkpoints/base/stories260K.bin
TOK=checkpoints/base/tok512.bin
VAL=data/tinystories/val.bin
LL=build/llama_logits
BINS=.cache/llama/bins
TINY=$SHARED/models/tiny-random-llama2.gguf
TOK32K=$SHARED/models/tokenizers/tok32000.bin
[ -x $LL ] || { bad "llama.cpp" "$LL is missing (make test builds it: make $LL)"; finish test_gguf; }

# agree NAME GGUF SRC N ATOL RTOL [MEAN]: llama.cpp's log p at every position of the first
# N val tokens of GGUF vs `train score` of SRC; prints the largest and mean |d|.
agree() {
  local name=$1 gguf=$2 src=$3 n=$4 atol=$5 rtol=$6 mean=${7:-1}
  ./train score --model "$src" --data $VAL --tokens "$n" --threads 2 2>&1 | grep -E '^[0-9]+ ' >"$TMP/$name.score"
  awk '{print $2; t = $3} END {print t}' "$TMP/$name.score" | $LL "$gguf" $BINS logprobs >"$TMP/$name.llama" 2>"$TMP/$name.err"
  paste "$TMP/$name.score" "$TMP/$name.llama" | awk -v a="$atol" -v r="$rtol" -v mean="$mean" -v n=$((n - 1)) '
    { d = $4 - $6; d = d < 0 ? -d : d; ref = $4 < 0 ? -$4 : $4; m = d > m ? d : m; s += d; c++; if (d > a + r * ref) out++ }
    END { printf "max |d| %.2g, mean %.2g, %d positions", m, c ? s / c : 0, c; exit !(c == n && out == 0 && s / c <= mean) }'
}
# check NAME CMD...: ok with CMD's output as detail, else bad
check() { local name=$1 out; shift; if out=$("$@" 2>&1); then ok "$name: $out"; else bad "$name" "$out"; fi; }

./train export --from $BASE --to "$TMP/base.gguf" --format gguf --tokenizer $TOK >"$TMP/base.export" 2>&1
check "base: llama.cpp = train score at 512 (F32)" agree base "$TMP/base.gguf" $BASE 512 5e-4 1e-4 1e-4
$LL "$TMP/base.gguf" $BINS info | grep -q "n_vocab 512 n_ctx_train 512 llama.rope.freq_base 10000" \
  && ok "base: llama.cpp reads vocab 512, context 512, base 10000" || bad "base: llama.cpp's view" "$($LL "$TMP/base.gguf" $BINS info 2>&1)"

for m in linear ntk yarn llama3 longrope yarn_a13; do
  set -- --set position.rope.scaling=${m%_a13} --set position.rope.factor=4
  [ $m = longrope ] && set -- "$@" --set 'position.rope.short_factor=[1, 1.5, 2, 3]' --set 'position.rope.long_factor=[1, 2, 3, 4]'
  [ $m = yarn_a13 ] && set -- "$@" --set position.rope.attention_factor=1.3
  [ $m = linear ] && set -- "$@" --set data.tokenizer=$TOK      # exported without --tokenizer: the run's own
  ./train --config ft_native.yaml --set run.name=test_gguf_$m "$@" \
    --set train.seq_len=1024 --set train.max_steps=2 --set train.batch_tokens=2048 --set train.micro_batch=1 \
    --set eval.every=0 --set eval.max_tokens=2048 --set run.threads=2 >"$TMP/${m}_train.out" 2>&1
  R=checkpoints/test_gguf_$m
  tok=(--tokenizer $TOK); [ $m = linear ] && tok=()
  ./train export --from $R --to "$TMP/$m.gguf" --format gguf "${tok[@]}" >"$TMP/$m.export" 2>&1
  check "$m: llama.cpp = train score at 1024 (F32)" agree $m "$TMP/$m.gguf" $R 1024 5e-4 1e-4 1e-4
  python3 tests/gguf_tool.py strip "$TMP/$m.gguf" "$TMP/${m}_foreign.gguf"
  check "$m, llama.cpp keys only: stretch reads the scheme back" agree ${m}_foreign "$TMP/${m}_foreign.gguf" "$TMP/${m}_foreign.gguf" 1024 5e-4 1e-4 1e-4
done
check "longrope, 400 tokens (short factors in both): llama.cpp = train score" \
  agree longrope_short "$TMP/longrope.gguf" checkpoints/test_gguf_longrope 400 5e-4 1e-4 1e-4
grep -q "note: llama.cpp applies LongRoPE's long factors to every sequence of a context (n_ctx) longer than 512" \
  "$TMP/longrope.export" && ok "longrope: the export notes llama.cpp's choice of factors per context" \
  || bad "longrope: the export notes llama.cpp's choice of factors per context" "$(cat "$TMP/longrope.export")"
# keys of other writers: a factor without a type (llama.cpp: linear), the old scale_linear key
python3 tests/gguf_tool.py edit "$TMP/linear_foreign.gguf" "$TMP/notype.gguf" -d llama.rope.scaling.type
check "linear, factor without a type (llama.cpp: linear)" agree notype "$TMP/notype.gguf" "$TMP/notype.gguf" 1024 5e-4 1e-4 1e-4
python3 tests/gguf_tool.py edit "$TMP/linear_foreign.gguf" "$TMP/old_key.gguf" -d llama.rope.scaling.type \
  -d llama.rope.scaling.factor -s llama.rope.scale_linear f32 4
check "linear, the old llama.rope.scale_linear key" agree old_key "$TMP/old_key.gguf" "$TMP/old_key.gguf" 1024 5e-4 1e-4 1e-4
python3 tests/gguf_tool.py edit "$TMP/linear_foreign.gguf" "$TMP/attn.gguf" -s llama.rope.scaling.attn_factor f32 2
expect_error "linear with an attn_factor: refused (no such factor here)" "attn_factor 2: llama.cpp multiplies cos/sin by it" \
  ./train info "$TMP/attn.gguf"
python3 tests/gguf_tool.py edit "$TMP/longrope_foreign.gguf" "$TMP/lr_factor.gguf" -s llama.rope.scaling.factor f32 4
expect_error "longrope with a factor key: refused" "factor 4 with type longrope: llama.cpp would scale by it on top" \
  ./train info "$TMP/lr_factor.gguf"
python3 tests/gguf_tool.py set-f32 "$TMP/linear.gguf" llama.rope.scaling.factor 2 "$TMP/edited.gguf"
expect_error "stretch.position contradicted by edited llama.cpp keys: refused" \
  "stretch.position .* and the llama.rope.\* keys .* give different RoPE frequencies" ./train info "$TMP/edited.gguf"
$LL "$TMP/yarn_a13.gguf" $BINS info | grep -q "llama.rope.scaling.attn_factor 1.14172" \
  && ./train info "$TMP/yarn_a13_foreign.gguf" | grep -q '"attention_factor": 1.30000' \
  && ok "yarn, attention factor 1.3: written as 1.3 / (1 + 0.1 ln 4) = 1.14172, read back as 1.3" \
  || bad "yarn, attention factor 1.3: written and read back" "$($LL "$TMP/yarn_a13.gguf" $BINS info 2>&1) $(./train info "$TMP/yarn_a13_foreign.gguf" 2>&1 | tail -1)"
want=("llama.rope.freq_base 10000.000000 llama.rope.scaling.type linear llama.rope.scaling.factor 4.000000"
      "llama.rope.freq_base 63496.042969" "llama.rope.scaling.type yarn llama.rope.scaling.factor 4.000000")
i=0
for m in linear ntk yarn; do
  $LL "$TMP/$m.gguf" $BINS info | grep -qF "${want[$i]}" && ok "$m: llama.cpp reads ${want[$i]}" \
    || bad "$m: llama.cpp reads ${want[$i]}" "$($LL "$TMP/$m.gguf" $BINS info 2>&1)"
  i=$((i + 1))
done
python3 tests/gguf_tool.py set-f32 "$TMP/linear.gguf" llama.rope.scaling.factor 1 "$TMP/dropped.gguf"
if out=$(agree dropped "$TMP/dropped.gguf" checkpoints/test_gguf_linear 1024 5e-2 0); then bad "control: a dropped rope scale goes unnoticed" "$out"
else ok "control: the linear file with its rope scale dropped is caught (${out%%,*})"; fi

./train export --from checkpoints/test_gguf_yarn --to "$TMP/yarn16.gguf" --format gguf --dtype f16 >"$TMP/f16.export" 2>&1
check "yarn, F16: llama.cpp = train score at 1024" agree yarn16 "$TMP/yarn16.gguf" "$TMP/yarn16.gguf" 1024 5e-2 0 2e-3
for t in token_embd.weight blk.3.ffn_down.weight; do     # f32 -> f16 rounding: Python's struct 'e' (nearest even) of the f32 value
  $LL "$TMP/yarn.gguf" $BINS dequant $t | tail -n +2 | python3 -c 'import struct, sys
for v in sys.stdin: print("%.9g" % struct.unpack("<e", struct.pack("<e", struct.unpack("<f", struct.pack("<f", float(v)))[0]))[0])' \
    >"$TMP/half_py"
  $LL "$TMP/yarn16.gguf" $BINS dequant $t | tail -n +2 >"$TMP/half_ggml"
  [ "$(wc -l <"$TMP/half_py")" -gt 10000 ] && cmp -s "$TMP/half_py" "$TMP/half_ggml" \
    && ok "F16: $t rounded as IEEE round-to-nearest-even ($(wc -l <"$TMP/half_py") values)" || bad "F16: $t rounded to nearest even"
done
[ "$(stat -c %s "$TMP/yarn16.gguf")" -lt "$(( $(stat -c %s "$TMP/yarn.gguf") * 6 / 10 ))" ] \
  && ok "yarn, F16: the file is about half the F32 one" || bad "yarn, F16: the file is about half the F32 one"

for m in yarn llama3; do
  ./train export --from "$TMP/$m.gguf" --to "$TMP/${m}_again.gguf" --format gguf >/dev/null 2>&1 \
    && cmp -s "$TMP/$m.gguf" "$TMP/${m}_again.gguf" && ok "$m: GGUF -> GGUF is bit-exact (F32, tokenizer included)" \
    || bad "$m: GGUF -> GGUF is bit-exact"
done
evaljson() {
  ./train eval --config ft_native.yaml --set run.name="test_gguf_$1" --set model.init_from="$2" \
    --set 'eval.seq_lens=[256, 1024]' --set eval.max_tokens=4096 >"$TMP/$1.eval" 2>&1 && cat "checkpoints/test_gguf_$1/eval.json"
}
a=$(evaljson yarn_src checkpoints/test_gguf_yarn) && [ -n "$a" ] && [ "$a" = "$(evaljson yarn_dst "$TMP/yarn.gguf")" ] \
  && ok "yarn: init_from the GGUF evaluates bit-identically to the run" || bad "yarn: init_from the GGUF evaluates bit-identically"

for q in q8_0 q4_0 bf16; do
  $LL "$TMP/base.gguf" $BINS quantize $q "$TMP/$q.gguf" >"$TMP/$q.log" 2>&1
  ./train export --from "$TMP/$q.gguf" --to "$TMP/${q}_f32.gguf" --format gguf >/dev/null 2>"$TMP/$q.err"
  same=0 types=""
  for t in token_embd.weight blk.0.attn_q.weight blk.2.ffn_up.weight blk.4.ffn_down.weight output_norm.weight; do
    $LL "$TMP/$q.gguf" $BINS dequant $t >"$TMP/a" 2>&1; $LL "$TMP/${q}_f32.gguf" $BINS dequant $t >"$TMP/b" 2>&1
    types="$types $(head -1 "$TMP/a" | cut -d' ' -f2)"
    [ "$(tail -n +2 "$TMP/a")" = "$(tail -n +2 "$TMP/b")" ] && [ "$(wc -l <"$TMP/a")" -gt 64 ] && same=$((same + 1))
  done
  case $q in bf16) tw=" bf16 bf16 bf16 bf16 f32" ;; *) tw=" $q $q $q f16 f32" ;; esac   # ffn_down: 172 columns, F16 fallback
  [ $same -eq 5 ] && [ "$types" = "$tw" ] && ok "$q: read as ggml's to_float gives (types$types)" \
    || bad "$q: read as ggml's to_float gives" "$same of 5, types$types; $(cat "$TMP/$q.err")"
done

if need "$TINY" "tiny-random-llama2.gguf"; then
  ./train info "$TINY" | grep -q "dim 8, hidden 32, layers 1, heads 2, kv heads 2, head size 4, vocab 32000, untied" \
    && ok "tiny-random-llama2: train info" || bad "tiny-random-llama2: train info" "$(./train info "$TINY" 2>&1)"
  check "tiny-random-llama2 (F16): llama.cpp = train score at 512" agree tiny "$TINY" "$TINY" 512 5e-2 0 2e-3
fi

head -c 6000 build/tinystories.txt | sed '$d' >"$TMP/text.txt"
$LL "$TMP/base.gguf" $BINS tokenize <"$TMP/text.txt" >"$TMP/llama.ids"
./train tokenize --tokenizer $TOK <"$TMP/text.txt" >"$TMP/tok512.ids"
./train tokenize --tokenizer "$TMP/base.gguf" <"$TMP/text.txt" >"$TMP/gguf.ids"
[ "$(wc -l <"$TMP/llama.ids")" -gt 1000 ] && cmp -s "$TMP/llama.ids" "$TMP/tok512.ids" && cmp -s "$TMP/llama.ids" "$TMP/gguf.ids" \
  && ok "tok512: llama.cpp's ids = train tokenize's ($(wc -l <"$TMP/llama.ids") ids; from tok512.bin and from the GGUF)" \
  || bad "tok512: llama.cpp's ids = train tokenize's" "$(diff "$TMP/llama.ids" "$TMP/tok512.ids" | head -4)"
$LL "$TMP/linear.gguf" $BINS tokenize <"$TMP/text.txt" >"$TMP/linear.ids"
grep -q "tokenizer: $TOK (data.tokenizer of the run)" "$TMP/linear.export" && cmp -s "$TMP/llama.ids" "$TMP/linear.ids" \
  && ok "export without --tokenizer embeds the run's data.tokenizer (llama.cpp's ids the same)" \
  || bad "export without --tokenizer embeds the run's data.tokenizer" "$(head -3 "$TMP/linear.export")"
if need "$TINY" "Llama 2 vocabulary" && need "$TOK32K" "Llama 2 vocabulary"; then
  $LL "$TINY" $BINS tokenize <"$TMP/text.txt" >"$TMP/llama2.ids"
  ./train tokenize --tokenizer "$TINY" <"$TMP/text.txt" >"$TMP/tiny.ids"
  ./train tokenize --tokenizer "$TOK32K" <"$TMP/text.txt" >"$TMP/tok32k.ids"
  [ "$(wc -l <"$TMP/llama2.ids")" -gt 1000 ] && cmp -s "$TMP/llama2.ids" "$TMP/tiny.ids" && cmp -s "$TMP/llama2.ids" "$TMP/tok32k.ids" \
    && ok "Llama 2: llama.cpp's ids = train tokenize's (the GGUF's vocabulary and tok32000.bin)" \
    || bad "Llama 2: llama.cpp's ids = train tokenize's" "$(diff "$TMP/llama2.ids" "$TMP/tiny.ids" | head -4)"
fi

refuse() {   # refuse NAME PATTERN SET...: a 1-step run with the settings, then export is refused
  local name=$1 pat=$2; shift 2
  ./train --config ft_native.yaml --set run.name=test_gguf_$name "$@" --set train.seq_len=256 --set train.max_steps=1 \
    --set train.batch_tokens=256 --set train.micro_batch=1 --set eval.every=0 --set eval.max_tokens=512 >"$TMP/$name.out" 2>&1
  expect_error "$name: export refused, saying why" "$pat" ./train export --from checkpoints/test_gguf_$name --to "$TMP/$name.gguf" --format gguf
  [ -e "$TMP/$name.gguf" ] && bad "$name: no file left behind"
}
refuse dynamic "no dynamic NTK.*hint: --format hf" --set position.rope.scaling=dynamic --set position.rope.factor=4
refuse alibi "always applies RoPE and has no alibi bias" --set position.rope=off --set position.bias=alibi
refuse t5 "always applies RoPE and has no t5 bias" --set position.bias=t5
refuse yarn_beta "fixes YaRN's beta_fast 32" --set position.rope.scaling=yarn --set position.rope.factor=4 --set position.rope.beta_fast=16
expect_error "export: --dtype bf16 is refused" "--dtype bf16: expected f32 or f16" ./train export --from $BASE --to "$TMP/x.gguf" --format gguf --dtype bf16
expect_error "export: --dtype needs --format gguf" "--dtype applies to --format gguf only" ./train export --from $BASE --to "$TMP/x" --format hf --dtype f16
expect_error "export: an existing --to file is refused" "exists; choose a new file name" ./train export --from $BASE --to "$TMP/base.gguf" --format gguf

mkdir -p "$TMP/bad"
python3 tests/gguf_tool.py bad "$TMP/base.gguf" "$TMP/bad" && ok "base.gguf has the layout llama.cpp's loader demands (gguf_tool.py)" \
  || bad "base.gguf has the layout llama.cpp's loader demands"
while IFS=$'\t' read -r n msg; do
  f="$TMP/bad/$n.gguf"
  memcheck 99 ./train info "$f" >/dev/null 2>"$TMP/bad/$n.err"; rc=$?
  if [ $rc -eq 2 ] && [ "$(wc -l <"$TMP/bad/$n.err")" -eq 1 ] && grep -q "^stretch: $f: " "$TMP/bad/$n.err" \
     && sed "s|^stretch: $f: ||" "$TMP/bad/$n.err" | grep -qF -- "$msg"; then ok "bad file, $n: one line, exit 2, valgrind clean"
  else bad "bad file, $n: one line, exit 2, valgrind clean" "exit $rc: $(head -c 300 "$TMP/bad/$n.err")"; fi
done <"$TMP/bad/cases.tsv"

finish test_gguf
