#!/usr/bin/python3
"""prepare_corpus.py — the inputs and the independent check of tests/test_prepare.sh.

    /usr/bin/python3 tests/prepare_corpus.py make CORPUS_DIR TINYSTORIES_TEXT INDIR REFDIR
    /usr/bin/python3 tests/prepare_corpus.py check OUTDIR REF_IDS VAL_FRACTION SHARD_TOKENS DOC_TOKEN TOKENIZER

make: the documents of tests/tok_corpus.py (CORPUS_DIR: those that are valid UTF-8 and not
empty) and 300 TinyStories paragraphs, written as three JSONL files of the kinds a corpus
comes in: INDIR/a.jsonl (plain, ASCII escapes, CRLF line ends, a blank line, an empty text, a
repeated "text" key, other members around "text"), INDIR/b.jsonl.gz (raw UTF-8, two gzip members one after the other),
INDIR/c.jsonl (raw UTF-8; the test compresses it with the zstd tool to c.jsonl.zst). Each
document also goes to REFDIR/NNNNNN.txt, in input order (a, b, c), for the reference
tokenizer; prints the document count.

check: OUTDIR (a `train prepare` output of those inputs, --val-fraction VAL_FRACTION,
--shard-tokens SHARD_TOKENS, document token DOC_TOKEN) against REF_IDS (one line of
reference ids per document, in input order): the train shards, concatenated in name order,
are DOC_TOKEN + ids of the first documents, val those of the last ceil(VAL_FRACTION * N);
every shard opens with DOC_TOKEN, holds at most SHARD_TOKENS tokens unless it holds one
document, and has a header whose count matches its size; the manifest's tokenizer sha256 is
hashlib's of TOKENIZER, its per-source documents and tokens match the reference, its splits
list exactly the shards on disk. Prints what it checked; exits 1 on the first mismatch.
"""
import glob
import gzip
import hashlib
import json
import math
import os
import struct
import sys


def fail(msg):
    print("prepare_corpus: " + msg, file=sys.stderr)
    sys.exit(1)


def make(corpus, text, indir, refdir):
    docs = []
    for name in sorted(os.listdir(corpus)):
        raw = open(os.path.join(corpus, name), "rb").read()
        try:
            s = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if s and "\0" not in s:
            docs.append(s)
    paras = [p.strip() for p in open(text, encoding="utf-8").read().split("\n\n")]
    docs += [p for p in paras if p][:300]
    os.makedirs(indir, exist_ok=True)
    os.makedirs(refdir, exist_ok=True)
    a, b, c = docs[: len(docs) // 3], docs[len(docs) // 3: 2 * len(docs) // 3], docs[2 * len(docs) // 3:]
    with open(os.path.join(indir, "a.jsonl"), "wb") as f:
        for i, d in enumerate(a):
            line = json.dumps({"id": i, "text": d, "meta": {"text": 1}}, ensure_ascii=True)
            if i == 5:                      # a repeated key: the last counts, as in Python
                line = '{"text": "decoy", ' + line[1:]
            f.write(line.encode() + b"\r\n")
            if i == 3:
                f.write(b"\r\n" + json.dumps({"text": ""}).encode() + b"\r\n")   # a blank line, an empty text
    half = len(b) // 2
    with open(os.path.join(indir, "b.jsonl.gz"), "wb") as f:
        for part in (b[:half], b[half:]):
            f.write(gzip.compress("".join(json.dumps({"text": d}, ensure_ascii=False) + "\n" for d in part).encode()))
    with open(os.path.join(indir, "c.jsonl"), "wb") as f:
        for d in c:
            f.write(json.dumps({"src": "c", "text": d}, ensure_ascii=False).encode() + b"\n")
    for i, d in enumerate(docs):
        open(os.path.join(refdir, "%06d.txt" % i), "wb").write(d.encode())
    print(len(docs), len(a), len(b), len(c))


def shard(path):
    data = open(path, "rb").read()
    h = struct.unpack("<256i", data[:1024])
    width = {20240520: 2, 20240801: 4}.get(h[0])
    if width is None or len(data) != 1024 + width * h[2]:
        fail("%s: header %d %d %d does not match its %d bytes" % (path, h[0], h[1], h[2], len(data)))
    return list(struct.unpack("<%d%s" % (h[2], "H" if width == 2 else "I"), data[1024:])), h[3] - 1


def check(out, ref_ids, val_fraction, shard_tokens, doc, tokenizer):
    ref = [[int(x) for x in line.split()] for line in open(ref_ids)]
    n = len(ref)
    n_val = math.ceil(float(val_fraction) * n)
    man = json.load(open(os.path.join(out, "manifest.json")))
    want = {"train": ref[: n - n_val], "val": ref[n - n_val:]}
    for split, docs in want.items():
        files = sorted(glob.glob(os.path.join(out, split + "_*.bin")))
        if [os.path.basename(f) for f in files] != man["splits"][split]["files"]:
            fail("%s: the shards on disk %s are not the manifest's %s" % (split, files, man["splits"][split]["files"]))
        stream = []
        for f in files:
            toks, hdoc = shard(f)
            if hdoc != doc or not toks or toks[0] != doc:
                fail("%s: header document token %d, first token %s; want %d" % (f, hdoc, toks[:1], doc))
            if len(toks) > shard_tokens and toks.count(doc) > 1:
                fail("%s: %d tokens, more than --shard-tokens %d, in %d documents" % (f, len(toks), shard_tokens,
                                                                                     toks.count(doc)))
            stream += toks
        expect = [t for d in docs for t in [doc] + d]
        if stream != expect:
            k = next((i for i, (x, y) in enumerate(zip(stream, expect)) if x != y), min(len(stream), len(expect)))
            fail("%s: %d tokens, the reference %d; first difference at token %d" % (split, len(stream), len(expect), k))
        if man["splits"][split]["tokens"] != len(expect) or man["splits"][split]["documents"] != len(docs):
            fail("%s: the manifest counts differ" % split)
        print("%s: %d shards, %d documents, %d tokens: the reference's ids" % (split, len(files), len(docs), len(expect)))
    sha = hashlib.sha256(open(tokenizer, "rb").read()).hexdigest()
    if man["tokenizer"]["sha256"] != sha or man["tokenizer"]["doc_token"] != doc:
        fail("manifest tokenizer %s; want sha256 %s" % (man["tokenizer"], sha))
    docs = sum(s["documents"] for s in man["sources"])
    toks = sum(s["tokens"] for s in man["sources"])
    if docs != n or toks != sum(len(d) + 1 for d in ref):
        fail("manifest sources: %d documents, %d tokens; want %d, %d" % (docs, toks, n, sum(len(d) + 1 for d in ref)))
    print("manifest: sha256 %s..., %d sources, %d documents, %d tokens" % (sha[:12], len(man["sources"]), docs, toks))


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "make":
        make(*sys.argv[2:])
    elif len(sys.argv) == 8 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), sys.argv[7])
    else:
        fail(__doc__)
