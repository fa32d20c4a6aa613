#!/usr/bin/python3
# st_diff.py A B ATOL RTOL [FRACTION CAP] — compare two safetensors files of F32
# tensors, standard library only: the same tensor names and shapes, and every element
# within |a - b| <= ATOL + RTOL * |b| — or, with FRACTION and CAP, at most FRACTION of
# the elements beyond that and none beyond CAP * (ATOL + RTOL * |b|). Prints the largest
# difference; exit 1 when out of tolerance or the files do not match in names or shapes.
import json, struct, sys


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        data = f.read()
    head.pop("__metadata__", None)
    out = {}
    for name, t in head.items():
        if t["dtype"] != "F32":
            sys.exit(f"{path}: {name} is {t['dtype']}, not F32")
        a, b = t["data_offsets"]
        out[name] = (t["shape"], struct.unpack(f"<{(b - a) // 4}f", data[a:b]))
    return out


def main():
    pa, pb, atol, rtol = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    fraction = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    cap = float(sys.argv[6]) if len(sys.argv) > 6 else 1.0
    A, B = load(pa), load(pb)
    if A.keys() != B.keys():
        sys.exit(f"tensor names differ: {sorted(A.keys() ^ B.keys())[:5]}")
    worst, where, bad, wild, n = 0.0, "", 0, 0, 0
    for name in A:
        (sa, va), (sb, vb) = A[name], B[name]
        if sa != sb:
            sys.exit(f"{name}: shape {sa} vs {sb}")
        for x, y in zip(va, vb):
            d = abs(x - y)
            if d > worst:
                worst, where = d, name
            bad += d > atol + rtol * abs(y)
            wild += d > cap * (atol + rtol * abs(y))
            n += 1
    print(f"max |a-b| {worst:.3g} ({where}); {bad} of {n} elements beyond {atol:g} + {rtol:g}|b|, {wild} beyond {cap:g} times that")
    return 1 if bad > fraction * n or wild else 0


sys.exit(main())
