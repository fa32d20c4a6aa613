"""bench_torch.py — the peer of a `make bench` step case: the same Llama shape trained by
PyTorch (Debian's python3-torch) on this machine, one full step (forward, backward, AdamW)
at a time, float32, random weights and tokens.

  /usr/bin/python3 scripts/bench_torch.py DIM HIDDEN LAYERS HEADS KV VOCAB T B STEPS THREADS

Prints one line: `tokens_per_s=X s_per_step=Y rss_gib=Z attention=A blas=LIB` (the median
step over STEPS, after one warm-up step when STEPS > 1, as tests/bench.c does; peak RSS of
this process less its RSS once Python and libtorch are loaded), or `skip=REASON` when the
shape cannot fit in this machine's memory.

Fair to the peer: torch.set_num_threads(THREADS) (the same threads as stretch), its BLAS is
the same OpenBLAS (OpenMP) build stretch links (reported from the loaded libraries), AdamW
with foreach=True (its fastest CPU path in 1.13), and tcmalloc as its allocator when Debian's
libtcmalloc-minimal4 is installed (make bench installs it): the script runs itself again
with it in LD_PRELOAD, as PyTorch's CPU performance guide advises. PyTorch allocates its
large tensors anew every step, and glibc's malloc maps and unmaps them, so every step
faults its pages in again; on this VM a page fault is slow, and a one-layer 110M step at
T = 2048 took 6x longer under glibc than under tcmalloc, which keeps freed memory for
reuse (jemalloc's defaults gave no gain: it returns pages after a delay). Attention is the
exact causal softmax; 1.13 has no fused CPU attention (scaled_dot_product_attention arrived in
2.0), so it is the best of two plain paths: the whole (T, T) score matrix per layer when it
fits in a quarter of memory, else query chunks, each recomputed in backward
(torch.utils.checkpoint) so that only one chunk's scores exist at a time. Layers are
checkpointed (recomputed in backward) only when the weights, their gradients, AdamW's
moments and the saved activations would not fit in two thirds of memory: a step that
recomputes runs slower (stories110M's shape at T = 8192 on a 2-core Zen 5 with 23 GiB:
80.6 tokens/s in 6.03 GiB recomputing, 113.5 in 11.13 GiB not), and a PyTorch user whose
step fits would not recompute. (Until 2026-12-07 the rule was a third of memory for the
activations alone, which made the peer recompute at that shape.)
"""
import glob
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint


def rms_norm(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, cos, sin):
    """x (B, T, H, HS): rotate interleaved pairs (x0, x1) by the position's angle."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)


def attend(q, k, v):
    """q, k, v (B, H, T, HS) -> (B, H, T, HS): causal softmax(q k^T / sqrt(HS)) v."""
    T = q.shape[2]
    s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
    mask = torch.ones(T, T, dtype=torch.bool).triu(1)
    return torch.matmul(s.masked_fill(mask, float("-inf")).softmax(-1), v)


def attend_rows(q, k, v, t0):
    """query rows t0.. of q against keys 0..t0+len(q)-1 (the causal prefix they see)."""
    n = q.shape[2]
    s = torch.matmul(q, k[:, :, : t0 + n].transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
    mask = torch.ones(n, t0 + n, dtype=torch.bool).triu(t0 + 1)
    return torch.matmul(s.masked_fill(mask, float("-inf")).softmax(-1), v[:, :, : t0 + n])


class Shape:
    def __init__(self, a):
        (self.dim, self.hidden, self.layers, self.heads, self.kv, self.vocab, self.T, self.B, self.steps,
         self.threads) = (int(x) for x in a)
        self.hs = self.dim // self.heads
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        scores = 4 * self.B * self.heads * self.T * self.T       # one layer's (T, T) probabilities
        self.chunk = self.T if 3 * scores <= mem // 4 else max(128, int(self.T * (mem // 16) / (3 * scores)) // 128 * 128)
        # saved activations per layer without recompute: about 20 (B, T, C)-sized tensors
        # plus 2 (B, T, H) and the scores when whole
        per_layer = 4 * self.B * self.T * (20 * self.dim + 3 * self.hidden) + (2 * scores if self.chunk == self.T else 0)
        self.params = self.vocab * self.dim + self.layers * (2 * self.dim * self.dim + 2 * self.dim * self.kv * self.hs
                                                            + 3 * self.dim * self.hidden)
        self.recompute = 16 * self.params + self.layers * per_layer > 2 * mem // 3
        self.mem = mem


def build(sh):
    g = torch.Generator().manual_seed(0)
    C, H, KV = sh.dim, sh.hidden, sh.kv * sh.hs

    def w(*s):
        return torch.nn.Parameter(torch.randn(*s, generator=g) * 0.02)

    p = {"emb": w(sh.vocab, C), "norm": torch.nn.Parameter(torch.ones(C))}
    for i in range(sh.layers):
        for name, s in (("wq", (C, C)), ("wk", (KV, C)), ("wv", (KV, C)), ("wo", (C, C)), ("w1", (H, C)),
                        ("w3", (H, C)), ("w2", (C, H))):
            p[f"{i}.{name}"] = w(*s)
        p[f"{i}.n1"] = torch.nn.Parameter(torch.ones(C))
        p[f"{i}.n2"] = torch.nn.Parameter(torch.ones(C))
    return p


def layer(x, p, i, sh, cos, sin):
    B, T, C = x.shape
    h = rms_norm(x, p[f"{i}.n1"])
    q = rope(F.linear(h, p[f"{i}.wq"]).view(B, T, sh.heads, sh.hs), cos, sin).transpose(1, 2)
    k = rope(F.linear(h, p[f"{i}.wk"]).view(B, T, sh.kv, sh.hs), cos, sin).transpose(1, 2)
    v = F.linear(h, p[f"{i}.wv"]).view(B, T, sh.kv, sh.hs).transpose(1, 2)
    if sh.kv != sh.heads:
        k = k.repeat_interleave(sh.heads // sh.kv, dim=1)
        v = v.repeat_interleave(sh.heads // sh.kv, dim=1)
    if sh.chunk >= T:
        o = attend(q, k, v)
    else:
        o = torch.cat([checkpoint(attend_rows, q[:, :, t0:t0 + sh.chunk], k, v, t0, use_reentrant=False)
                       for t0 in range(0, T, sh.chunk)], dim=2)
    x = x + F.linear(o.transpose(1, 2).reshape(B, T, C), p[f"{i}.wo"])
    h = rms_norm(x, p[f"{i}.n2"])
    return x + F.linear(F.silu(F.linear(h, p[f"{i}.w1"])) * F.linear(h, p[f"{i}.w3"]), p[f"{i}.w2"])


def loss_of(p, sh, idx, tgt, cos, sin):
    x = p["emb"][idx]
    for i in range(sh.layers):
        x = checkpoint(layer, x, p, i, sh, cos, sin, use_reentrant=False) if sh.recompute else layer(x, p, i, sh, cos, sin)
    logits = F.linear(rms_norm(x, p["norm"]), p["emb"])           # tied head, as the bench's models
    return F.cross_entropy(logits.view(-1, sh.vocab), tgt.view(-1))


def current_rss_gib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


def blas_library():
    with open("/proc/self/maps") as f:
        libs = {os.path.basename(line.split()[-1]) for line in f if "blas" in line}
    return ",".join(sorted(libs)) or "?"


TCMALLOC = next(iter(sorted(glob.glob("/usr/lib/*/libtcmalloc_minimal.so.4"))), "")


def malloc_name():
    """the allocator this process runs on: tcmalloc when it is preloaded, else glibc."""
    with open("/proc/self/maps") as f:
        return "tcmalloc" if any("tcmalloc" in line for line in f) else "glibc"


def main():
    if len(sys.argv) != 11:
        sys.exit(__doc__)
    if TCMALLOC and "tcmalloc" not in os.environ.get("LD_PRELOAD", ""):
        env = dict(os.environ, LD_PRELOAD=":".join(filter(None, [TCMALLOC, os.environ.get("LD_PRELOAD")])))
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    sh = Shape(sys.argv[1:])
    if 16 * sh.params > sh.mem // 2:                               # weights, grads, 2 moments
        print(f"skip=the weights, gradients and AdamW moments alone need {16 * sh.params / 2**30:.1f} GiB")
        return
    torch.set_num_threads(sh.threads)
    base_gib = current_rss_gib()                                   # the interpreter and libtorch, not counted
    p = build(sh)
    opt = torch.optim.AdamW(p.values(), lr=1e-5, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0, foreach=True)
    g = torch.Generator().manual_seed(1)
    idx = torch.randint(0, sh.vocab, (sh.B, sh.T), generator=g)
    tgt = torch.randint(0, sh.vocab, (sh.B, sh.T), generator=g)
    inv = 1.0 / (10000.0 ** (torch.arange(0, sh.hs, 2, dtype=torch.float64) / sh.hs))
    ang = torch.arange(sh.T, dtype=torch.float64)[:, None] * inv[None, :]
    cos, sin = (t.float()[None, :, None, :] for t in (ang.cos(), ang.sin()))
    times, warm = [], 1 if sh.steps > 1 else 0                     # as tests/bench.c: one-step cases run cold
    for s in range(sh.steps + warm):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss_of(p, sh, idx, tgt, cos, sin).backward()
        opt.step()
        if s >= warm:
            times.append(time.perf_counter() - t0)
    dt = statistics.median(times)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20 - base_gib
    att = "whole" if sh.chunk >= sh.T else f"chunks of {sh.chunk} queries"
    print(f"tokens_per_s={sh.B * sh.T / dt:.1f} s_per_step={dt:.3f} rss_gib={rss:.2f} "
          f"attention={att.replace(' ', '_')}{'+recompute' if sh.recompute else ''} blas={blas_library()} "
          f"malloc={malloc_name()} torch={torch.__version__}")


if __name__ == "__main__":
    main()
