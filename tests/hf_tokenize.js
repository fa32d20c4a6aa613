// hf_tokenize.js — the reference side of tests/test_hf_tokenizer.sh: the token ids that
// Hugging Face's own tokenizers library gives for a tokenizer.json — its Rust code (the code
// Python's `tokenizers` and transformers run) through its Node binding, npm tokenizers@0.23.2
// (Apache-2.0; the package carries the prebuilt linux-x64 library) — to compare with
// `./train tokenize --tokenizer`.
//
//   node tests/hf_tokenize.js PKGDIR TOKENIZER_JSON [--no-bos] FILE...
//
// PKGDIR: the extracted `tokenizers` package (holds index.js). For each FILE, in order,
// prints one line: its ids, space-separated (an empty line for none). Default:
// encode(text) with addSpecialTokens true (the post-processor's template, e.g. Llama 2's
// <s>); --no-bos: false. Each FILE is read as bytes and decoded as WHATWG TextDecoder does
// (fatal: false): every ill-formed subsequence becomes U+FFFD, a leading byte order mark is
// dropped — what `train tokenize` does to a text before a tokenizer.json encodes it. Any
// error: a message on stderr, exit 1.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const fail = (msg) => { process.stderr.write(`hf_tokenize: ${msg}\n`); process.exit(1); };
const usage = "usage: node tests/hf_tokenize.js PKGDIR TOKENIZER_JSON [--no-bos] FILE...";
const args = process.argv.slice(2);
if (args.length < 2) fail(usage);
const [pkgdir, json] = args;
let addSpecialTokens = true;
const files = [];
for (const a of args.slice(2)) {
  if (a === "--no-bos") addSpecialTokens = false;
  else if (a.startsWith("--")) fail(`unknown option ${a}; ${usage}`);
  else files.push(a);
}

let Tokenizer;
try { ({ Tokenizer } = require(path.resolve(pkgdir, "index.js"))); }
catch (e) { fail(`${pkgdir}: cannot load the tokenizers binding: ${e.message}`); }

(async () => {
  let tok;
  try { tok = Tokenizer.fromFile(json); } catch (e) { fail(`${json}: tokenizers refuses it: ${e.message}`); }
  const out = [];
  for (const f of files) {
    const text = new TextDecoder("utf-8").decode(fs.readFileSync(f));
    let ids;
    try { ids = (await tok.encode(text, null, { addSpecialTokens })).getIds(); }
    catch (e) { fail(`${f}: ${e.message}`); }
    out.push(ids.join(" ") + "\n");
  }
  process.stdout.write(out.join(""));
})().catch((e) => fail(e.message));
