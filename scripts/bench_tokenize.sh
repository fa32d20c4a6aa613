#!/usr/bin/env bash
# bench_tokenize.sh — tokenizer throughput for `make bench` (CASES=tokenize alone): the
# documents of the TinyStories text (build/tinystories.txt, 676 KB, 3,686 paragraphs) with
# each kind of tokenizer (tests/bench_tok: one thread, two threads, the whole text as one
# document; each run the text 4 times, medians of 7, load not timed), and OpenAI's
# tiktoken (npm tiktoken@1.0.22, its Rust core compiled to WASM, .cache/tiktoken) on the
# same text with the same GPT-2 vocabulary (r50k "gpt2"), in the same run: the ratio is
# stretch's GPT-2 tokenizer.json against it, one thread each, without and with the word
# cache (tiktoken keeps none across calls).
set -eu
cd "$(dirname "$0")/.."
. tests/shared.sh
TEXT=build/tinystories.txt
HF=.cache/hftok
printf '%s\n' "tokenizer throughput on $TEXT ($(wc -c <"$TEXT") bytes)"
for tok in "$SHARED/models/tokenizers/tok32000.bin" $HF/llama2/models/tokenizer.json $HF/llama3/models/tokenizer.json \
           $HF/gpt2/models/tokenizer.json; do
  ./tests/bench_tok "$tok" "$TEXT" 2
done
line=$(./tests/bench_tok $HF/gpt2/models/tokenizer.json "$TEXT" 1)
ours=$(echo "$line" | sed -E 's/^[^|]* ([0-9.]+) MB\/s 1 thread \|.*/\1/')
cached=$(echo "$line" | sed -E 's/.*word cache +([0-9.]+) MB\/s.*/\1/')
node - "$TEXT" <<'JS'
const { get_encoding } = require(process.cwd() + "/.cache/tiktoken/tiktoken.cjs");
const fs = require("fs");
const enc = get_encoding("gpt2");
const docs = fs.readFileSync(process.argv[2], "utf8").split(/\n\n+/).filter((d) => d.length);
const mb = 4 * Buffer.byteLength(docs.join("")) / 1e6, s = [];
for (let r = 0; r < 8; r++) {
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < 4; k++) for (const d of docs) enc.encode(d, "all");
  if (r) s.push(Number(process.hrtime.bigint() - t0) / 1e9);
}
s.sort((a, b) => a - b);  // 7 timed runs (the first warms up): the median
fs.writeFileSync("build/tiktoken.mbs", String(mb / s[3]));
enc.free();
JS
tik=$(cat build/tiktoken.mbs)
awk -v a="$ours" -v c="$cached" -v b="$tik" 'BEGIN { printf "tiktoken 1.0.22 (WASM) gpt2, the same documents: %.2f MB/s one thread; stretch gpt2 tokenizer.json %.2f MB/s: x%.2f (with its word cache %.2f MB/s: x%.2f)\n", b, a, a / b, c, c / b }'

# prepare end to end: 40 copies of the TinyStories paragraphs as JSONL (27 MB; each copy's
# paragraphs end in its number, so documents differ), plain and zstd-compressed, GPT-2's
# tokenizer.json and the llama2.c tok512: --threads 1 and 2 alternately, 5 runs each, the
# median MB/s of text of the encoding pass (prepare's own summary line); outputs compared.
CORPUS=build/bench_corpus.jsonl
if [ ! -f $CORPUS.zst ]; then
  /usr/bin/python3 - "$TEXT" $CORPUS <<'PY'
import json, sys
paras = [p.strip() for p in open(sys.argv[1], encoding="utf-8").read().split("\n\n") if p.strip()]
with open(sys.argv[2], "w", encoding="utf-8") as f:
    for r in range(40):
        for p in paras:
            f.write(json.dumps({"text": "%s %d" % (p, r)}) + "\n")
PY
  zstd -q -f $CORPUS -o $CORPUS.zst
fi
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for case in "gpt2 $HF/gpt2/models/tokenizer.json $CORPUS 50256" "gpt2-zst $HF/gpt2/models/tokenizer.json $CORPUS.zst 50256" \
            "tok512 checkpoints/base/tok512.bin $CORPUS"; do
  set -- $case
  for th in 1 2 1 2 1 2 1 2 1 2; do
    ./train prepare --input "$3" --tokenizer "$2" ${4:+--doc-token $4} --val-fraction 0 --out build/bench_prep_$th \
      --threads $th --shard-tokens 100000000 2>/dev/null | sed -n "s/^prepare: encoded .*(\([0-9.]*\) MB\/s.*/$th \1/p"
    [ $th = 2 ] || continue
    cmp -s build/bench_prep_1/train_000000.bin build/bench_prep_2/train_000000.bin || { echo "prepare: 1 and 2 threads differ" >&2; exit 1; }
  done >build/bench_prep.txt
  one=$(awk '$1 == 1 { print $2 }' build/bench_prep.txt | median); two=$(awk '$1 == 2 { print $2 }' build/bench_prep.txt | median)
  awk -v c="$1" -v a="$one" -v b="$two" -v mb="$(wc -c <"$3")" 'BEGIN { printf "prepare %-9s %5.1f MB input: %6.2f MB/s 1 thread, %6.2f MB/s 2 threads (x%.2f, same shards), medians of 5\n", c, mb / 1e6, a, b, b / a }'
done
rm -rf build/bench_prep_1 build/bench_prep_2
