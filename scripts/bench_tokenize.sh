#!/usr/bin/env bash
# bench_tokenize.sh — tokenizer throughput for `make bench` (CASES=tokenize alone): the
# documents of the TinyStories text (build/tinystories.txt, 676 KB, 3,686 paragraphs) with
# each kind of tokenizer (tests/bench_tok: one thread, two threads, the whole text as one
# document; each run the text 4 times, medians of 7, load not timed), and OpenAI's
# tiktoken (npm tiktoken@1.0.22, its Rust core compiled to WASM, .cache/tiktoken) on the
# same text with the same GPT-2 vocabulary (r50k "gpt2"), in the same run: the ratio is
# stretch's GPT-2 tokenizer.json against it, one thread each.
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
ours=$(./tests/bench_tok $HF/gpt2/models/tokenizer.json "$TEXT" 1 | sed -E 's/.* ([0-9.]+) MB\/s 1 thread.*/\1/')
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
awk -v a="$ours" -v b="$tik" 'BEGIN { printf "tiktoken 1.0.22 (WASM) gpt2, the same documents: %.2f MB/s one thread; stretch gpt2 tokenizer.json %.2f MB/s: x%.2f\n", b, a, a / b }'
