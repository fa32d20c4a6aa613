"""gguf_tool.py — GGUF files for tests/test_gguf.sh, by an independent reading of the layout
(ggml docs/gguf.md) written without stretch's code.
  gguf_tool.py bad GOOD.gguf OUTDIR   malformed files made from a good one, each named after
      the defect it carries, with "NAME<TAB>expected message" lines in OUTDIR/cases.tsv;
      first checks GOOD's layout as llama.cpp's loader demands it (offsets the running sum
      of 32-padded sizes, data 32-aligned, nothing after the last tensor's padding)
  gguf_tool.py strip IN OUT           IN without its stretch.* keys: a file as another tool
      writing llama.cpp's keys only would make it
  gguf_tool.py set-f32 IN KEY X OUT   IN with the f32 value of KEY replaced by X, in place
  gguf_tool.py edit IN OUT [-d KEY | -s KEY TYPE VALUE]...   IN with keys dropped (-d; -d
      stretch.* drops all of this project's) or set, replaced or appended (-s; TYPE f32,
      u32, i32 or str)"""
import os
import struct
import sys

SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
TBYTES = {0: (1, 4), 1: (1, 2), 30: (1, 2), 8: (32, 34), 2: (32, 18)}


def parse(b):
    """Field positions: kv [(key, type, value_start, value_end)], tensors [dict], data start."""
    pos = 24
    n_t, n_kv = struct.unpack_from("<QQ", b, 8)

    def string(p):
        n = struct.unpack_from("<Q", b, p)[0]
        return b[p + 8:p + 8 + n].decode(), p + 8 + n

    def value(t, p):
        if t == 8:
            return string(p)[1]
        if t == 9:
            et, cnt = struct.unpack_from("<IQ", b, p)
            p += 12
            for _ in range(cnt):
                p = value(et, p)
            return p
        return p + SIZES[t]

    kvs = []
    for _ in range(n_kv):
        key, pos = string(pos)
        t = struct.unpack_from("<I", b, pos)[0]
        start = pos + 4
        pos = value(t, start)
        kvs.append((key, t, start, pos))
    tensors = []
    for _ in range(n_t):
        at = pos
        name, pos = string(pos)
        nd = struct.unpack_from("<I", b, pos)[0]
        ne = list(struct.unpack_from("<%dQ" % nd, b, pos + 4))
        pos += 4 + 8 * nd
        typ, off = struct.unpack_from("<IQ", b, pos)
        tensors.append(dict(name=name, at=at, ne_at=pos - 8 * nd, ne=ne, type_at=pos, off_at=pos + 4, type=typ, off=off))
        pos += 12
    return kvs, tensors, (pos + 31) // 32 * 32, pos


def nbytes(t):
    n = 1
    for d in t["ne"]:
        n *= d
    blk, size = TBYTES[t["type"]]
    return n // blk * size


def bad(good_path, out):
    good = open(good_path, "rb").read()
    kvs, tensors, data, _ = parse(good)
    expect = 0
    for t in tensors:                       # what llama.cpp's loader insists on
        if t["off"] != expect:
            sys.exit("gguf_tool.py: %s: tensor %s at offset %d, expected %d" % (good_path, t["name"], t["off"], expect))
        expect += (nbytes(t) + 31) // 32 * 32
    if len(good) != data + expect:
        sys.exit("gguf_tool.py: %s is %d bytes, expected %d" % (good_path, len(good), data + expect))
    kv = {k: (t, s, e) for k, t, s, e in kvs}
    ten = {t["name"]: t for t in tensors}
    cases = []

    def case(name, blob, message):
        open(os.path.join(out, name + ".gguf"), "wb").write(blob)
        cases.append("%s\t%s" % (name, message))

    def patch(at, fmt, *v):
        b = bytearray(good)
        struct.pack_into(fmt, b, at, *v)
        return bytes(b)

    case("truncated_counts", good[:1000], "more than the file's 1000 bytes hold")
    case("truncated_header", good[:6000], "truncated: ")
    case("truncated_data", good[:len(good) - 4096], "ends past the end of the file")
    case("magic", b"GGUG" + good[4:], "not a GGUF file")
    case("version", patch(4, "<I", 4), "GGUF version 4 is not supported")
    case("n_kv_huge", patch(16, "<Q", 1 << 60), "more than the file's")
    _, s, _ = kv["general.name"]
    case("string_huge", patch(s, "<Q", 1 << 40), "longer than the")
    _, s, _ = kv["tokenizer.ggml.tokens"]
    case("array_huge", patch(s + 4, "<Q", 1 << 58), "more than the")
    case("value_type", patch(kv["general.name"][1] - 4, "<I", 13), "not a GGUF type")
    q = ten["blk.0.attn_q.weight"]
    case("dtype", patch(q["type_at"], "<I", 99), "ggml type 99")
    case("offset_past_end", patch(q["off_at"], "<Q", len(good)), "ends past the end of the file")
    case("offset_unaligned", patch(q["off_at"], "<Q", q["off"] + 4), "not a multiple of the alignment")
    k = ten["blk.0.attn_k.weight"]
    case("overlap", patch(k["off_at"], "<Q", q["off"]), "overlap")
    case("dims_overflow", patch(q["ne_at"], "<Q", 1 << 62), "overflows")
    case("shape", patch(q["ne_at"], "<QQ", 32, 128), "has shape (128, 32), expected (64, 64)")
    _, s, _ = kv["llama.context_length"]
    case("key_type", patch(s - 4, "<I", 6), "llama.context_length must be a non-negative integer")
    _, s, e = kv["general.architecture"]
    case("arch", good[:s] + struct.pack("<Q", 5) + b"gpt2x" + good[e:], "architecture 'gpt2x' is not supported")
    case("n_dims_0", patch(q["ne_at"] - 4, "<I", 0), "has 0 dimensions")
    case("n_dims_5", patch(q["ne_at"] - 4, "<I", 5), "has 5 dimensions")
    case("ne_0", patch(q["ne_at"], "<Q", 0), "has an empty dimension")
    _, s, _ = kv["tokenizer.ggml.tokens"]
    case("nested_array", patch(s, "<I", 9), "an array of arrays")
    dup = bytearray(good)
    dup[k["at"] + 8:k["at"] + 8 + len("blk.0.attn_k")] = b"blk.0.attn_q"
    case("duplicate_tensor", bytes(dup), "tensor 'blk.0.attn_q.weight' appears twice")
    ctl = bytearray(good)
    ctl[q["at"] + 8 + 3] = 0x0a
    case("control_byte", bytes(ctl), "holds a control byte (0x0a)")
    nul = bytearray(good)
    nul[kv["general.name"][1] - 4 - 3] = 0
    case("nul_key", bytes(nul), "holds a NUL byte")
    blobs, tail, data = kv_blobs(good)
    case("duplicate_key", rebuild(good, blobs + [blobs[1]], tail, data), "metadata key %s appears twice" % blobs[1][0])
    case("alignment", rebuild(good, blobs + [("general.alignment", scalar("general.alignment", "u32", 24))], tail, data),
         "general.alignment must be a u32 power of two")
    case("no_context", rebuild(good, [x for x in blobs if x[0] != "llama.context_length"], tail, data),
         "metadata key llama.context_length is missing")
    case("huge_model", rebuild(good, [(k, scalar(k, "u32", 64) if k == "llama.block_count" else v)
                                      for k, v in blobs], tail, data), "tensor 'blk.5.attn_norm.weight' is missing")
    for name, new, message in (("output_norm.weight", b"outpux", "tensor 'outpux_norm.weight' is not one of"),
                               ("token_embd.weight", b"tokex_", "tensor 'token_embd.weight' is missing")):
        renamed = bytearray(good)
        renamed[ten[name]["at"] + 8:ten[name]["at"] + 14] = new
        case(new.decode().strip("_x") + "_tensor", bytes(renamed), message)
    open(os.path.join(out, "cases.tsv"), "w").write("\n".join(cases) + "\n")



def kv_blobs(b):
    """The metadata entries' bytes, by key, in order; and the header's parts around them."""
    kvs, _, data, end = parse(b)
    blobs = [(k, b[s - 4 - 8 - len(k.encode()):e]) for k, t, s, e in kvs]
    return blobs, b[kvs[-1][3]:end], b[data:]


def rebuild(b, blobs, tail, data):
    head = b[:16] + struct.pack("<Q", len(blobs)) + b"".join(v for _, v in blobs) + tail
    return head + b"\0" * ((-len(head)) % 32) + data


def scalar(key, typ, value):
    k = key.encode()
    if typ == "str":
        v = value.encode()
        return struct.pack("<Q", len(k)) + k + struct.pack("<IQ", 8, len(v)) + v
    code, fmt = {"f32": (6, "<f"), "u32": (4, "<I"), "i32": (5, "<i")}[typ]
    return struct.pack("<Q", len(k)) + k + struct.pack("<I", code) + struct.pack(fmt, float(value) if typ == "f32" else int(value))


def edit(src, dst, drop=(), put=()):
    """src without the keys `drop` (and without stretch.* when drop holds "stretch.*"),
    with the (key, type, value) entries `put` replacing or appended."""
    b = open(src, "rb").read()
    blobs, tail, data = kv_blobs(b)
    gone = lambda k: k in drop or ("stretch.*" in drop and k.startswith("stretch."))
    blobs = [(k, v) for k, v in blobs if not gone(k)]
    for key, typ, value in put:
        new = (key, scalar(key, typ, value))
        at = [i for i, (k, _) in enumerate(blobs) if k == key]
        if at:
            blobs[at[0]] = new
        else:
            blobs.append(new)
    open(dst, "wb").write(rebuild(b, blobs, tail, data))


def set_f32(src, key, x, dst):
    b = bytearray(open(src, "rb").read())
    kvs = {k: (t, s) for k, t, s, e in parse(bytes(b))[0]}
    t, s = kvs[key]
    assert t == 6, "%s is not f32" % key
    struct.pack_into("<f", b, s, float(x))
    open(dst, "wb").write(bytes(b))


if sys.argv[1] == "bad":
    bad(sys.argv[2], sys.argv[3])
elif sys.argv[1] == "strip":
    edit(sys.argv[2], sys.argv[3], drop=("stretch.*",))
elif sys.argv[1] == "set-f32":
    set_f32(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
elif sys.argv[1] == "edit":
    args, drop, put = sys.argv[4:], [], []
    while args:
        if args[0] == "-d":
            drop.append(args[1])
            args = args[2:]
        else:
            put.append((args[1], args[2], args[3]))
            args = args[4:]
    edit(sys.argv[2], sys.argv[3], drop, put)
else:
    sys.exit("usage: gguf_tool.py bad GOOD OUTDIR | strip IN OUT | set-f32 IN KEY X OUT | "
             "edit IN OUT [-d KEY | -s KEY f32|u32|i32|str VALUE]...")
