#!/usr/bin/env bash
# test_prepare.sh — `train prepare` at scale: JSONL, gzip and zstd inputs named by a glob,
# sharded output and its manifest, the same bytes for 1 and 2 threads, and the inputs it
# must refuse without leaving a partial output that looks whole.
#   - JSONL of the tests/tok_corpus.py documents and TinyStories paragraphs, as plain
#     (ASCII escapes, CRLF), gzip (two members) and zstd (the zstd tool) files, encoded with
#     GPT-2's tokenizer.json (each document opened by <|endoftext|>): the shards hold exactly
#     the ids of Hugging Face's tokenizers library (tests/hf_tokenize.js), in input order,
#     val the last 10% (tests/prepare_corpus.py check);
#   - the TinyStories text gzip- and zstd-compressed gives byte for byte the shards `make`
#     prepared from the plain text;
#   - bad lines, truncated and damaged streams, a glob matching nothing, a NUL byte: exit 2,
#     one line naming file:line, and the previous output untouched.
#
#   bash tests/test_prepare.sh [CACHEDIR]
#
# CACHEDIR: as tests/test_hf_tokenizer.sh (default .cache/hftok, made by `make test`). Needs
# node, /usr/bin/python3, gzip, zstd, script (util-linux), ./train, data/tinystories (make).
if [ $# -gt 0 ]; then CACHE=$(cd "$1" 2>/dev/null && pwd) || CACHE=$1; fi
cd "$(dirname "$0")/.."
. tests/lib.sh
CACHE=${CACHE:-$PWD/.cache/hftok}
begin prepare
T=$TMP
G=$CACHE/gpt2/models/tokenizer.json
TEXT=build/tinystories.txt
[ -f "$TEXT" ] || TEXT=$SHARED/data/tinystories/tinystories_valid_part.txt
for f in "$G" "$CACHE/tokenizers/index.js" "$TEXT" data/tinystories/train.bin; do
  [ -f "$f" ] || { bad "input $f" "missing: run make test (it fetches the tokenizers and prepares data/)"; finish test_prepare; }
done
sums() { (cd "$1" && sha256sum -- * 2>/dev/null; ls -A); }

# --- JSONL inputs of three kinds, against the reference tokenizer -------------------------
/usr/bin/python3 tests/tok_corpus.py "$T/corpus" "$TEXT" >/dev/null \
  && read -r N NA NB NC < <(/usr/bin/python3 tests/prepare_corpus.py make "$T/corpus" "$TEXT" "$T/in" "$T/ref") \
  && zstd -q --rm "$T/in/c.jsonl" -o "$T/in/c.jsonl.zst" \
  && ok "inputs: $N documents: a.jsonl ($NA), b.jsonl.gz ($NB, two members), c.jsonl.zst ($NC)" \
  || { bad "inputs (tests/prepare_corpus.py make, zstd)"; finish test_prepare; }
node tests/hf_tokenize.js "$CACHE/tokenizers" "$G" --no-bos "$T"/ref/*.txt >"$T/ref_ids" \
  && [ "$(wc -l <"$T/ref_ids")" -eq "$N" ] && ok "reference: Hugging Face tokenizers' ids of the $N documents" \
  || { bad "reference ids (tests/hf_tokenize.js)"; finish test_prepare; }
run() { ./train prepare --input "$T/in/*.jsonl*" --tokenizer "$G" --doc-token '<|endoftext|>' --val-fraction 0.1 "$@"; }
for th in 1 2; do
  if run --shard-tokens 3000 --threads $th --out "$T/out$th" >"$T/log$th" 2>&1; then
    /usr/bin/python3 tests/prepare_corpus.py check "$T/out$th" "$T/ref_ids" 0.1 3000 50256 "$G" >"$T/check$th" 2>&1 \
      && ok "$th thread(s): $(head -1 "$T/check$th")" || bad "$th thread(s): shards = reference" "$(cat "$T/check$th")"
  else bad "prepare --threads $th" "$(cat "$T/log$th")"; fi
done
[ "$(sums "$T/out1")" = "$(sums "$T/out2")" ] && ok "1 and 2 threads: the same files, byte for byte ($(ls "$T/out1" | wc -l) files)" \
  || bad "1 and 2 threads: the same files" "$(diff <(sums "$T/out1") <(sums "$T/out2") | head -5)"
sed -n 2p "$T/check1" | grep -q . && ok "$(sed -n 2,3p "$T/check1" | tr '\n' ';')" || bad "check output" "$(cat "$T/check1")"
[ ! -e "$T/out1/.prepare.tmp" ] && ok "the staging directory is gone after a run" || bad "staging directory left behind"

# --- compressed text: the same shards as make's plain-text prepare -------------------------
gzip -c "$TEXT" >"$T/ts.txt.gz" && zstd -q -c "$TEXT" >"$T/ts.txt.zst"
for z in gz zst; do
  if ./train prepare --input "$T/ts.txt.$z" --tokenizer checkpoints/base/tok512.bin --out "$T/ts_$z" --val-fraction 0.15 \
       --test-fraction 0.15 --long-doc-tokens 512 --story-start "Once upon a time" >"$T/log_$z" 2>&1 \
     && for s in train val test test_long test_short; do cmp -s "$T/ts_$z/$s.bin" data/tinystories/$s.bin || exit 1; done; then
    ok "TinyStories text as .$z: the 5 shards of make's prepare of the plain text, byte for byte"
  else bad "TinyStories text as .$z = make's shards" "$(tail -3 "$T/log_$z")"; fi
done

# --- a rerun with bigger shards: the earlier run's extra shards are removed -----------------
before=$(ls "$T/out1"/train_*.bin | wc -l)
if run --shard-tokens 1000000 --out "$T/out1" >"$T/log_re" 2>&1 \
   && /usr/bin/python3 tests/prepare_corpus.py check "$T/out1" "$T/ref_ids" 0.1 1000000 50256 "$G" >/dev/null 2>"$T/check_re"; then
  [ "$before" -gt 1 ] && [ "$(ls "$T/out1"/train_*.bin | wc -l)" -eq 1 ] && grep -q "removed .*train_000001.bin" "$T/log_re" \
    && ok "rerun into the same directory: $before train shards become 1, the stale ones removed and reported" \
    || bad "rerun: stale shards" "$(ls "$T/out1"; cat "$T/log_re")"
else bad "rerun with --shard-tokens 1000000" "$(cat "$T/log_re" "$T/check_re")"; fi

# --- the progress line on a terminal -------------------------------------------------------
script -qec "./train prepare --input '$T/in/*.jsonl*' --tokenizer '$G' --doc-token 50256 --out '$T/tty'" /dev/null >"$T/tty.log" 2>&1
grep -aq 'prepare: encoded \[#*-*\] .*MB/s, [0-9]* documents, ETA' "$T/tty.log" \
  && ok "on a terminal: a progress line with a bar, MB/s, documents and ETA" || bad "progress line" "$(head -c 400 "$T/tty.log")"

# --- bad input: one line naming file:line, exit 2, the previous output untouched ----------
mkdir -p "$T/bad"
keep=$(sums "$T/out1")
printf '{"text": "fine"}\n{"text": "also fine"}\n{"text": "broken\n' >"$T/bad/json.jsonl"
printf '{"text": "fine"}\n[1, 2]\n' >"$T/bad/array.jsonl"
printf '{"text": "fine"}\n\n{"body": "no text"}\n' >"$T/bad/field.jsonl"
printf '{"text": "fine"}\n{"text": 42}\n' >"$T/bad/number.jsonl"
printf 'one paragraph\n\ntwo \000 paragraphs\n' >"$T/bad/nul.txt"
head -c 2000 "$T/in/b.jsonl.gz" >"$T/bad/cut.jsonl.gz"
zstd -q -c "$T/ref/000100.txt" | head -c 40 >"$T/bad/cut.txt.zst"
/usr/bin/python3 -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[len(d) // 2] ^= 0xff
open(sys.argv[2], "wb").write(d)' "$T/in/b.jsonl.gz" "$T/bad/flip.jsonl.gz"
bad_run() { ./train prepare --tokenizer "$G" --doc-token 50256 --out "$T/out1" --input "$@"; }
expect_error "refused: a line that is not JSON (file:line: column)" 'json\.jsonl:3: column [0-9]+: .*skip-bad-lines' bad_run "$T/bad/json.jsonl"
expect_error "refused: a line that is not an object" 'array\.jsonl:2: not a JSON object' bad_run "$T/bad/array.jsonl"
expect_error "refused: a line without the --field member" 'field\.jsonl:3: no member "text"' bad_run "$T/bad/field.jsonl"
expect_error "refused: a --field member that is not a string" 'number\.jsonl:2: member "text" \(--field\) is not a string' bad_run "$T/bad/number.jsonl"
expect_error "refused: a NUL byte in a text file" 'nul\.txt:3: a NUL byte' bad_run "$T/bad/nul.txt"
expect_error "refused: a truncated gzip file" 'cut\.jsonl\.gz: truncated gzip' bad_run "$T/bad/cut.jsonl.gz"
expect_error "refused: a damaged gzip file" 'flip\.jsonl\.gz: (damaged|truncated) gzip' bad_run "$T/bad/flip.jsonl.gz"
expect_error "refused: a truncated zstd file" 'cut\.txt\.zst: truncated zstd' bad_run "$T/bad/cut.txt.zst"
expect_error "refused: a glob that matches nothing" "--input '.*nothing\*\.jsonl': no file matches" bad_run "$T/bad/nothing*.jsonl"
expect_error "refused: a directory as input" 'is a directory' bad_run "$T/bad"
expect_error "refused: --shard-tokens 0" 'shard-tokens must be a whole number' bad_run "$T/bad/json.jsonl" --shard-tokens 0
expect_error "refused: --format csv" 'format must be text or jsonl' bad_run "$T/bad/json.jsonl" --format csv
(cat "$T/in/b.jsonl.gz"; printf 'junk\n\nafter') >"$T/bad/junk.jsonl.gz"
expect_error "refused: junk after the last gzip member" 'junk\.jsonl\.gz: damaged gzip data: not a gzip member at byte' bad_run "$T/bad/junk.jsonl.gz"
expect_error "refused: a pipe (inputs are read twice)" 'not a regular file' bad_run <(cat "$T/bad/json.jsonl")
printf '[{"text": "a"}, {"text": "b"}]\n' >"$T/bad/array.json"
expect_error "refused: a JSON array named .json, with a hint" 'array\.json:1: a JSON array, not JSON Lines' bad_run "$T/bad/array.json"
[ "$(sums "$T/out1")" = "$keep" ] && ok "after every refusal: the earlier output in the directory is untouched" \
  || bad "earlier output untouched" "$(diff <(echo "$keep") <(sums "$T/out1"))"

# --- --skip-bad-lines: counted, reported, in the manifest --------------------------------
if ./train prepare --input "$T/bad/*.jsonl" --tokenizer "$G" --doc-token 50256 --val-fraction 0 --skip-bad-lines \
     --out "$T/skip" >"$T/log_skip" 2>&1; then
  got=$(/usr/bin/python3 -c 'import json, sys; m = json.load(open(sys.argv[1]))
print(sum(s["bad_lines"] for s in m["sources"]), sum(s["documents"] for s in m["sources"]), m["splits"]["train"]["documents"])' "$T/skip/manifest.json")
  [ "$got" = "4 5 5" ] && grep -q 'json.jsonl: 1 bad lines skipped' "$T/log_skip" \
    && ok "--skip-bad-lines: 4 bad lines skipped and reported, 5 documents kept (manifest)" || bad "--skip-bad-lines counts" "$got; $(cat "$T/log_skip")"
else bad "--skip-bad-lines" "$(cat "$T/log_skip")"; fi

# --- names with glob characters, zstd skippable frames, and valgrind -------------------------
cp "$T/in/a.jsonl" "$T/br[1].jsonl"
/usr/bin/python3 -c 'import sys, struct; open(sys.argv[2], "wb").write(struct.pack("<II", 0x184D2A53, 4) + b"skip" + open(sys.argv[1], "rb").read())' \
  "$T/in/c.jsonl.zst" "$T/skip.jsonl.zst"
if ./train prepare --input "$T/br[1].jsonl" --input "$T/skip.jsonl.zst" --tokenizer "$G" --doc-token 50256 --val-fraction 0 \
     --out "$T/lit" >"$T/log_lit" 2>&1; then
  got=$(/usr/bin/python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); print(*[s["documents"] for s in m["sources"]], m["sources"][0]["empty"])' "$T/lit/manifest.json")
  [ "$got" = "$NA $NC 1" ] && ok "a file named br[1].jsonl read as itself, not as a glob; a zstd file opening with a skippable frame; an empty text counted" \
    || bad "literal name, skippable frame" "$got; want $NA $NC 1"
else bad "literal name, skippable frame" "$(cat "$T/log_lit")"; fi
if memcheck 9 ./train prepare --input "$T/bad/*.jsonl" --input "$T/bad/junk.jsonl.gz" --tokenizer checkpoints/base/tok512.bin \
     --skip-bad-lines --val-fraction 0 --threads 2 --out "$T/vg" >"$T/log_vg" 2>&1 && [ "$(grep -c . "$T/vg/manifest.json")" -gt 5 ]; then
  bad "valgrind: the junk gzip should have stopped the run" "$(tail -3 "$T/log_vg")"
elif grep -q "not a gzip member" "$T/log_vg" && ! grep -q "==[0-9]*==" "$T/log_vg"; then
  ok "valgrind: JSONL with bad lines, a gzip with junk: no invalid access, the one error line"
else bad "valgrind" "$(grep -m5 "==" "$T/log_vg"; tail -2 "$T/log_vg")"; fi
if memcheck 9 ./train prepare --input "$T/in/*.jsonl*" --tokenizer checkpoints/base/tok512.bin \
     --val-fraction 0.1 --threads 2 --shard-tokens 20000 --out "$T/vg2" >"$T/log_vg2" 2>&1; then
  ok "valgrind: the three JSONL inputs (plain, gzip, zstd), 2 threads, sharded: no invalid access, no error"
else bad "valgrind on the JSONL inputs" "$(grep -m5 "==" "$T/log_vg2"; tail -2 "$T/log_vg2")"; fi

finish test_prepare
