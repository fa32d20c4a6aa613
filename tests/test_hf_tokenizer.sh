#!/usr/bin/env bash
# test_hf_tokenizer.sh — `train tokenize --tokenizer tokenizer.json` gives the token ids of
# Hugging Face's own tokenizers library — its Rust code, what Python's `tokenizers` and
# transformers run, through its Node binding (npm tokenizers@0.23.2, tests/hf_tokenize.js) —
# id for id, for five real tokenizer.json files (npm @lenml/tokenizer-{llama2,llama3,llama3_1,gpt2,qwen2_5}@3.7.2):
#   llama2  SentencePiece-style BPE: Prepend + Replace normalizers, byte fallback, <s> template
#           (the package's file is the Mistral 7B vocabulary: same scheme, 32000 pieces)
#   llama3  byte-level BPE, Split pre-tokenizer with the Llama 3 regex, ignore_merges, 256 added tokens
#   llama3_1  the same with a Sequence post-processor: ByteLevel, then <|begin_of_text|> by template
#   gpt2    byte-level BPE, the ByteLevel pre-tokenizer's own regex
#   qwen2_5 byte-level BPE, an NFC normalizer, Split with the Qwen2 regex, then ByteLevel
# on the documents of tests/tok_corpus.py (50 files: TinyStories prose, many scripts, emoji,
# code, whitespace and digit runs, contractions, special-token strings, unusual whitespace,
# invalid UTF-8, ...), each with add_special_tokens (default) and without (--no-bos).
# Also: gpt2 with its merges written as pairs (the format of tokenizers >= 0.20) gives the same
# ids; tokenizer.json files stretch cannot reproduce are refused with exit 2 and one line naming
# the key: model.type Unigram / WordPiece, a Whitespace pre_tokenizer, an NFKD normalizer, a
# merges entry naming a token that is not in the vocab.
#
#   bash tests/test_hf_tokenizer.sh [CACHEDIR]
#
# CACHEDIR (default .cache/hftok, made by `make test`: the HFTOK_* rule of the Makefile) holds
# the extracted packages: tokenizers/ (index.js and the native library), llama2/ llama3/ llama3_1/ gpt2/
# (models/tokenizer.json). Needs node, /usr/bin/python3, ./train and the TinyStories text
# (build/tinystories.txt or $SHARED/data/tinystories/tinystories_valid_part.txt). Work files
# go to a fresh tests/tmp/hf_tokenizer.XXXXXX, removed at exit (HF_KEEP=1 keeps it).
if [ $# -gt 0 ]; then CACHE=$(cd "$1" 2>/dev/null && pwd) || CACHE=$1; fi
cd "$(dirname "$0")/.."
. tests/lib.sh
CACHE=${CACHE:-$PWD/.cache/hftok}
mkdir -p tests/tmp
TMP=$(mktemp -d "$PWD/tests/tmp/hf_tokenizer.XXXXXX") || exit 1
if [ "${HF_KEEP:-0}" = 1 ]; then echo "work files: $TMP"; else trap 'rm -rf "$TMP"' EXIT; fi
MODELS="llama2 llama3 llama3_1 gpt2 qwen2_5"

# --- what it needs --------------------------------------------------------------------------
missing=""
command -v node >/dev/null 2>&1 || missing="$missing node (apt-get install nodejs);"
[ -x /usr/bin/python3 ] || missing="$missing /usr/bin/python3;"
[ -x ./train ] || missing="$missing ./train (make);"
[ -f "$CACHE/tokenizers/index.js" ] || missing="$missing $CACHE/tokenizers/index.js;"
for m in $MODELS; do
  [ -f "$CACHE/$m/models/tokenizer.json" ] || missing="$missing $CACHE/$m/models/tokenizer.json;"
done
[ -n "$missing" ] && { bad "what the test needs" "missing:$missing (the packages: make test fetches them)"; finish test_hf_tokenizer; }
TEXT=build/tinystories.txt
[ -f $TEXT ] || TEXT=$SHARED/data/tinystories/tinystories_valid_part.txt
need "$TEXT" "TinyStories text for the corpus" || finish test_hf_tokenizer

# --- the corpus -----------------------------------------------------------------------------
if /usr/bin/python3 tests/tok_corpus.py "$TMP/corpus" "$TEXT" >"$TMP/corpus.tsv" 2>"$TMP/corpus.err"; then
  files=("$TMP"/corpus/doc_*.txt)
  ok "corpus: ${#files[@]} documents, $(cat "${files[@]}" | wc -c) bytes (tests/tok_corpus.py)"
else bad "corpus: tests/tok_corpus.py" "$(cat "$TMP/corpus.err")"; finish test_hf_tokenizer; fi

# firstdiff WANT GOT: where two id lists (one id a line) first differ, with ids around it
firstdiff() {
  awk 'FILENAME == ARGV[1] { a[++na] = $0; next } { b[++nb] = $0 }
    function around(v, n, i,   s, j) {
      s = i > 4 ? " ..." : ""
      for (j = (i > 4 ? i - 3 : 1); j <= i + 3 && j <= n; j++) s = s " " (j == i ? "[" v[j] "]" : v[j])
      return s (i + 3 < n ? " ..." : (i > n ? " [end]" : ""))
    }
    END {
      for (i = 1; i <= na && i <= nb && a[i] == b[i]; i++) ;
      printf "first difference at index %d (tokenizers %d ids, train %d): tokenizers:%s | train:%s",
        i - 1, na, nb, around(a, na, i), around(b, nb, i)
    }' "$1" "$2"
}
# describe FILE: the corpus line of a document (name, bytes, what it covers)
describe() { awk -F '\t' -v n="$(basename "$1")" '$1 == n { print $1 " (" $3 ")" }' "$TMP/corpus.tsv"; }

# compare NAME JSON [--no-bos]: the reference once over the corpus, ./train tokenize once over
# it (one line of ids per document, both), then document by document
compare() {
  local name=$1 json=$2; shift 2
  local key; key=$(printf %s "$name" | tr -c 'A-Za-z0-9' _)
  local ref="$TMP/$key.ref" got="$TMP/$key.got" t0=$EPOCHREALTIME secs rc
  if ! node tests/hf_tokenize.js "$CACHE/tokenizers" "$json" "$@" "${files[@]}" >"$ref" 2>"$ref.err" \
     || [ "$(wc -l <"$ref")" -ne ${#files[@]} ]; then
    bad "$name: the tokenizers reference" "$(head -c 400 "$ref.err")"; return
  fi
  secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  ./train tokenize --tokenizer "$json" "$@" "${files[@]}" >"$got" 2>"$got.err"; rc=$?
  if [ $rc -ne 0 ] || [ "$(wc -l <"$got")" -ne ${#files[@]} ]; then
    bad "$name: ./train tokenize" "exit $rc: $(head -c 300 "$got.err")"; return
  fi
  local k=0 ids differ=0 first="" f
  ids=$(wc -w <"$ref")
  for f in "${files[@]}"; do
    k=$((k + 1))
    if [ "$(sed -n "${k}p" "$ref")" != "$(sed -n "${k}p" "$got")" ]; then
      differ=$((differ + 1))
      sed -n "${k}p" "$ref" | tr ' ' '\n' | sed '/^$/d' >"$TMP/want"
      sed -n "${k}p" "$got" | tr ' ' '\n' | sed '/^$/d' >"$TMP/have"
      [ -z "$first" ] && first="$(describe "$f"): $(firstdiff "$TMP/want" "$TMP/have")"
    fi
  done
  if [ $differ -eq 0 ]; then ok "$name: $k files, $ids ids identical to tokenizers (reference ${secs} s)"
  else bad "$name: $k files, $ids ids; $differ files differ" "first: $first"; fi
}

for m in $MODELS; do
  compare "$m" "$CACHE/$m/models/tokenizer.json"
  compare "$m --no-bos" "$CACHE/$m/models/tokenizer.json" --no-bos
done

# --- variants of the real files, made with python -----------------------------------------
# variant NAME SRC PYTHON: $TMP/var/NAME/tokenizer.json = SRC's tokenizer.json with the
# statements PYTHON applied to the parsed JSON `t`; 
variant() {
  local d="$TMP/var/$1"; mkdir -p "$d"
  /usr/bin/python3 -c 'import json, sys
t = json.load(open(sys.argv[1], encoding="utf-8"))
exec(sys.argv[3])
json.dump(t, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)' \
    "$CACHE/$2/models/tokenizer.json" "$d/tokenizer.json" "$3" || bad "variant $1: python failed"
}

variant gpt2_pairs gpt2 't["model"]["merges"] = [m.split(" ") for m in t["model"]["merges"]]'
compare "gpt2, merges as pairs" "$TMP/var/gpt2_pairs/tokenizer.json"
cmp -s "$TMP/gpt2.ref" "$TMP/gpt2__merges_as_pairs.ref" && ok "tokenizers: gpt2's ids the same with merges as pairs" \
  || bad "tokenizers: gpt2's ids the same with merges as pairs"

# variants that exercise what the five files do not: each against the reference on the corpus
ms='t["normalizer"] = None; t["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": S, "split": P}'
for scheme in first always never; do for split in True False; do
  variant "ms_${scheme}_$split" llama2 "S = '$scheme'; P = $split; $ms"
  compare "llama2 as Metaspace, prepend_scheme $scheme, split $split" "$TMP/var/ms_${scheme}_$split/tokenizer.json"
done; done
variant added llama2 't["added_tokens"] += [{"id": 32000, "content": "hello world", "single_word": False, "lstrip": False,
  "rstrip": False, "normalized": True, "special": False}]; t["added_tokens"][2].update(lstrip=True, rstrip=True)'
compare "llama2 + a normalized added token, </s> with lstrip and rstrip" "$TMP/var/added/tokenizer.json"
variant spaces gpt2 't["added_tokens"] += [{"id": 50257, "content": " ", "single_word": False, "lstrip": True, "rstrip": True,
  "normalized": False, "special": True}, {"id": 50258, "content": "\n", "single_word": False, "lstrip": False,
  "rstrip": False, "normalized": False, "special": True}]'
compare "gpt2 + added ' ' (lstrip, rstrip) and '\\n': overlapping matches" "$TMP/var/spaces/tokenizer.json"
variant digits gpt2 't["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True},
  {"type": "Split", "pattern": {"String": "e"}, "behavior": "Isolated", "invert": False}, t["pre_tokenizer"]]};
t["model"]["unk_token"] = "<|endoftext|>"'
compare "gpt2 after Digits and a literal Split, with an unk_token" "$TMP/var/digits/tokenizer.json"

printf 'Hello world, <s> this is a test.\n' >"$TMP/hello.txt"
tok() { ./train tokenize "$@" <"$TMP/hello.txt"; }
refuse() {   # refuse NAME SRC PATTERN PYTHON: the variant is refused, exit 2, one line matching PATTERN
  variant "$1" "$2" "$4"
  expect_error "refused: $1" "$3" tok --tokenizer "$TMP/var/$1/tokenizer.json"
}
refuse "model.type Unigram" llama2 'model\.type' 't["model"]["type"] = "Unigram"'
refuse "model.type WordPiece" gpt2 'model\.type' 't["model"]["type"] = "WordPiece"'
refuse "pre_tokenizer Whitespace" gpt2 'pre_tokenizer' 't["pre_tokenizer"] = {"type": "Whitespace"}'
refuse "pre_tokenizer Whitespace in a Sequence" gpt2 'pre_tokenizer' \
  't["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [{"type": "Whitespace"}, t["pre_tokenizer"]]}'
refuse "normalizer NFKD" llama2 'normalizer' 't["normalizer"] = {"type": "NFKD"}'
refuse "normalizer NFKD in a Sequence" llama2 'normalizer' 't["normalizer"]["normalizers"].append({"type": "NFKD"})'
refuse "merges: a token not in the vocab (gpt2)" gpt2 'merges' \
  'm = t["model"]["merges"]; m[len(m) // 2] = "Ġqzx zzqj"'
refuse "merges: a token not in the vocab (llama2)" llama2 'merges' \
  't["model"]["merges"][0] = "▁ qqzzxx"'

refuse "an added token's id that the library would not give it" gpt2 'added_tokens\[1\]' \
  't["added_tokens"].append(dict(t["added_tokens"][0], id=50300, content="zzq"))'
refuse "a pre-tokenizer step after ByteLevel" gpt2 'after ByteLevel' \
  't["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [t["pre_tokenizer"], {"type": "Digits"}]}'
refuse "truncation set" gpt2 'truncation' 't["truncation"] = {"max_length": 8, "strategy": "LongestFirst", "stride": 0}'
refuse "added token single_word" gpt2 'single_word' 't["added_tokens"][0]["single_word"] = True'
head -c 5000 "$CACHE/gpt2/models/tokenizer.json" >"$TMP/cut.json"
expect_error "refused: a truncated tokenizer.json, at line:column" 'cut\.json:[0-9]+:[0-9]+: .*not valid JSON' \
  tok --tokenizer "$TMP/cut.json"

# --- prepare with a tokenizer.json: each document opened by --doc-token, as the reference
# encodes it; the shards record the document token ---------------------------------------
P=$TMP/prep
mkdir -p "$P/docs"
printf 'One day, a cat sat.\n\nIt said "héllo" 😀 to 12345 dogs.\n\n  Code: if (x) { y(); }\n\nThe end.\n\nVal text here.\n' >"$P/text.txt"
printf 'One day, a cat sat.' >"$P/docs/0"; printf 'It said "héllo" 😀 to 12345 dogs.' >"$P/docs/1"
printf 'Code: if (x) { y(); }' >"$P/docs/2"; printf 'The end.' >"$P/docs/3"
G=$CACHE/gpt2/models/tokenizer.json
expect_error "prepare: a tokenizer without BOS needs --doc-token" 'doc-token' \
  ./train prepare --text "$P/text.txt" --tokenizer "$G" --out "$P/out"
if ./train prepare --text "$P/text.txt" --tokenizer "$G" --out "$P/out" --val-fraction 0.2 --doc-token '<|endoftext|>' \
     >"$P/log" 2>&1 && node tests/hf_tokenize.js "$CACHE/tokenizers" "$G" "$P"/docs/* >"$P/ref"; then
  want=$(awk '{ printf "50256 %s ", $0 }' "$P/ref" | sed 's/ $//')
  have=$(/usr/bin/python3 -c 'import struct, sys
d = open(sys.argv[1], "rb").read(); h = struct.unpack("<256i", d[:1024])
print(h[3] - 1, *struct.unpack("<%dH" % h[2], d[1024:]))' "$P/out/train.bin")
  [ "$have" = "50256 $want" ] && ok "prepare --doc-token '<|endoftext|>' (gpt2): train.bin = the reference's ids, 50256 before each document, recorded in the header" \
    || bad "prepare --doc-token (gpt2): train.bin" "want 50256 $want | have $have"
else bad "prepare --doc-token (gpt2)" "$(cat "$P/log")"; fi
L31=$CACHE/llama3_1/models/tokenizer.json
if ./train prepare --text "$P/text.txt" --tokenizer "$L31" --out "$P/out31" --val-fraction 0.2 >"$P/log" 2>&1 \
   && node tests/hf_tokenize.js "$CACHE/tokenizers" "$L31" "$P"/docs/* >"$P/ref31"; then
  want=$(tr '\n' ' ' <"$P/ref31" | sed 's/ $//')
  have=$(/usr/bin/python3 -c 'import struct, sys
d = open(sys.argv[1], "rb").read(); h = struct.unpack("<256i", d[:1024])
print(h[0], h[3] - 1, *struct.unpack("<%dI" % h[2], d[1024:]))' "$P/out31/train.bin")
  [ "$have" = "20240801 128000 $want" ] && ok "prepare (llama3_1): train.bin (uint32) = the reference's ids, its template's <|begin_of_text|> recorded as document token" \
    || bad "prepare (llama3_1): train.bin" "want 20240801 128000 $want | have $have"
else bad "prepare (llama3_1)" "$(cat "$P/log")"; fi

finish test_hf_tokenizer
