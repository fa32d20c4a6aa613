#!/usr/bin/python3
"""Generate the PyTorch reference fixtures under tests/fixtures/ (run by a developer,
never by `make test`; needs Debian's python3-torch):

    /usr/bin/python3 tests/make_fixtures.py [--shared ../shared] [--only docs]

1. refcheck_*.safetensors: tiny random Llama models (MHA/GQA, tied/untied, interleaved/
   half RoPE pairs) with input_ids, the mean loss and every parameter gradient — the
   contract read by `tests/refcheck`. refcheck_docs_*, refcheck_pose_* (docs_fixtures;
   `--only docs` writes just these): packed (B, T) batches with position_ids and
   doc_start, whose reference runs each document piece alone (see packed_loss).
2. hf_tiny_bf16/, hf_tiny_sharded/: Hugging Face directories (config.json + BF16
   model.safetensors; F16 weights in two shards + index) with expected.safetensors
   holding input_ids and the loss of the rounded weights.
3. adamw_trajectory.safetensors: 10 training steps of a tiny random Llama (GQA, untied,
   interleaved pairs) on one fixed batch with torch.optim.AdamW (two parameter groups:
   weight decay on matrices, none on RMSNorm gains), clip_grad_norm_ and a warmup + cosine
   learning rate: initial weights, the lr / loss / gradient norm of every step, the
   weights after step 1 and after step 10 — the contract read by `tests/test_optim`.
4. stories260K_val.safetensors: input_ids (4 windows of 512+1 tokens of the staged
   data/tinystories/val.bin) and the loss of the real stories260K checkpoint on them —
   no weights are stored (they stay in ../shared).

The reference model is written from the Llama/Hugging Face equations, in float64. Its
position methods (ref_inv_freq, alibi_slopes, t5_bucket) are asserted, for every fixture
written, against tests/rope_published.py (the same methods written from their published
sources, which `make test` also checks the C against).
"""
import argparse, json, math, os, struct, sys
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures")
sys.path.insert(0, HERE)
import rope_published   # the position methods written from their published sources (no torch)

def hf_names(L, tied):
    names = ["model.embed_tokens.weight"]
    for i in range(L):
        p = f"model.layers.{i}."
        names += [p + "input_layernorm.weight", p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight",
                  p + "self_attn.v_proj.weight", p + "self_attn.o_proj.weight", p + "post_attention_layernorm.weight",
                  p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight", p + "mlp.down_proj.weight"]
    names.append("model.norm.weight")
    if not tied:
        names.append("lm_head.weight")
    return names

def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

def ref_inv_freq(pos, theta, d, T):
    """Hugging Face rope_init_functions (float64): per-pair inverse frequencies and the
    cos/sin multiplier, for sequence length T."""
    r = pos.get("rope", {}) if isinstance(pos.get("rope", {}), dict) else {}
    base = r.get("theta", theta)
    kind, s = r.get("scaling", "none"), r.get("factor", 1.0)
    L_o = r.get("original_max_position_embeddings")
    i = torch.arange(0, d, 2, dtype=torch.float64)
    if kind == "ntk":
        base = base * s ** (d / (d - 2))
    if kind == "dynamic":
        Th = max(T, L_o)
        base = base * (s * Th / L_o - (s - 1)) ** (d / (d - 2))
    inv = 1.0 / base ** (i / d)
    ms = 1.0
    if kind == "linear":
        inv = inv / s
    if kind == "yarn":
        def corr_dim(rot):
            return (d * math.log(L_o / (rot * 2 * math.pi))) / (2 * math.log(base))
        lo, hi = corr_dim(r.get("beta_fast", 32)), corr_dim(r.get("beta_slow", 1))
        if r.get("truncate", True):
            lo, hi = math.floor(lo), math.ceil(hi)
        lo, hi = max(lo, 0), min(hi, d - 1)
        if lo == hi:
            hi += 0.001
        ramp = ((torch.arange(d // 2, dtype=torch.float64) - lo) / (hi - lo)).clamp(0, 1)
        extra = 1 - ramp
        inv = (inv / s) * (1 - extra) + inv * extra
        ms = r.get("attention_factor") or (0.1 * math.log(s) + 1.0 if s > 1 else 1.0)
    if kind == "llama3":
        lf, hf = r.get("low_freq_factor", 1), r.get("high_freq_factor", 4)
        wl = 2 * math.pi / inv
        out = torch.where(wl > L_o / lf, inv / s, inv)
        smooth = (L_o / wl - lf) / (hf - lf)
        smoothed = (1 - smooth) * out / s + smooth * out
        medium = ~(wl < L_o / hf) & ~(wl > L_o / lf)
        inv = torch.where(medium, smoothed, out)
    if kind == "longrope":
        ext = torch.tensor(r["long_factor"] if T > L_o else r["short_factor"], dtype=torch.float64)
        inv = inv / ext
        ms = r.get("attention_factor") or (math.sqrt(1 + math.log(s) / math.log(L_o)) if s > 1 else 1.0)
    return inv, ms

def alibi_slopes(n):
    """get_slopes of the ALiBi reference implementation."""
    def pow2(n):
        start = 2 ** (-2 ** -(math.log2(n) - 3))
        return [start * start ** i for i in range(n)]
    if math.log2(n).is_integer():
        return pow2(n)
    p = 2 ** math.floor(math.log2(n))
    return pow2(p) + alibi_slopes(2 * p)[0::2][: n - p]

def t5_bucket(n, nb, md):
    """HF T5Attention._relative_position_bucket(bidirectional=False) of n = i - j >= 0."""
    max_exact = nb // 2
    large = max_exact + (torch.log(n.float() / max_exact) / math.log(md / max_exact) * (nb - max_exact)).to(torch.long)
    large = torch.min(large, torch.full_like(large, nb - 1))
    return torch.where(n < max_exact, n, large)

def published_check(pos, theta, d, T, NH):
    """Assert the torch transcription above (ref_inv_freq, alibi_slopes, t5_bucket) against
    tests/rope_published.py, written from the published sources, for this fixture's
    position scheme, head size d, length T and NH heads: a wrong transcription must not
    produce fixtures that the C then agrees with."""
    def close(a, b):
        return abs(a - b) <= 1e-12 + 1e-9 * abs(b)
    r = pos.get("rope", {})
    if r != "off":
        r = r if isinstance(r, dict) else {}
        kind = r.get("scaling", "none")
        inv, ms = ref_inv_freq(pos, theta, d, T)
        p_inv, p_ms = rope_published.published(
            kind, d, r.get("theta", theta), r.get("factor", 1.0), r.get("original_max_position_embeddings"), T,
            r.get("beta_fast", 32), r.get("beta_slow", 1), r.get("truncate", True), r.get("attention_factor"),
            r.get("low_freq_factor", 1), r.get("high_freq_factor", 4), r.get("short_factor"), r.get("long_factor"))
        inv = inv.tolist()
        assert len(inv) == len(p_inv) == d // 2, (kind, len(inv), len(p_inv))
        for i, (a, b) in enumerate(zip(inv, p_inv)):
            assert close(a, b), f"{kind}: ref_inv_freq[{i}] = {a!r}, published {b!r} ({pos})"
        assert close(ms, p_ms), f"{kind}: ref_inv_freq mscale {ms!r}, published {p_ms!r} ({pos})"
    if pos.get("bias") == "alibi":
        got, want = alibi_slopes(NH), rope_published.alibi_get_slopes(NH)
        assert len(got) == len(want) == NH, (NH, len(got), len(want))
        for h, (a, b) in enumerate(zip(got, want)):
            assert close(a, b), f"alibi NH={NH}: slope {h} = {a!r}, published {b!r}"
    if pos.get("bias") == "t5":
        t5 = pos.get("t5", {})
        nb, md = t5.get("num_buckets", 32), t5.get("max_distance", 128)
        got = t5_bucket(torch.arange(4 * md + T), nb, md).tolist()
        want = [rope_published.t5_relative_position_bucket(-n, False, nb, md) for n in range(4 * md + T)]
        assert got == want, f"t5 ({nb}, {md}): buckets {got} vs published {want}"

def position_bias(P, pos, NH, pos_ids):
    """(b, NH, T, T) additive logit bias for query i, key j (j <= i) of position ids
    pos_ids (b, T), from the distance pos_ids[i] - pos_ids[j], or None."""
    n = (pos_ids[:, :, None] - pos_ids[:, None, :]).clamp(min=0)
    if pos.get("bias") == "alibi":
        m = torch.tensor(alibi_slopes(NH), dtype=torch.float64)
        return -m[None, :, None, None] * n[:, None].double()
    if pos.get("bias") == "t5":
        t5 = pos.get("t5", {})
        b = t5_bucket(n, t5.get("num_buckets", 32), t5.get("max_distance", 128))
        return P["model.relative_attention_bias.weight"][b].permute(0, 3, 1, 2)
    return None

def rope(x, theta, layout, pos, pos_ids, T_rope):
    """x (B, T, nh, HS) at position ids pos_ids (b, T), b = 1 or B: token t turns by the
    float64 angle pos_ids[t] * inv_freq, with the tables of length T_rope (dynamic,
    longrope). interleaved: pairs (2j, 2j+1) (Meta); half: (j, j+HS/2) (HF)."""
    B, T, nh, HS = x.shape
    inv, ms = ref_inv_freq(pos or {}, theta, HS, T_rope)
    ang = (pos_ids.double()[:, :, None] * inv).to(x.dtype)                    # (b, T, HS/2)
    c, s = ang.cos()[:, :, None, :] * ms, ang.sin()[:, :, None, :] * ms
    if layout == "interleaved":
        x0, x1 = x[..., 0::2], x[..., 1::2]
        return torch.stack([x0 * c - x1 * s, x0 * s + x1 * c], dim=-1).flatten(-2)
    x1, x2 = x[..., : HS // 2], x[..., HS // 2:]
    return torch.cat([x1 * c - x2 * s, x2 * c + x1 * s], dim=-1)

def llama_loss(P, cfg, ids, layout, pos=None, pos_ids=None, T_rope=None, doc=None, reduction="mean"):
    """Next-token cross-entropy of ids (B, T+1) (mean, or sum with reduction="sum").
    pos_ids (B, T): the tokens' position ids (None: 0..T-1); T_rope: the length the
    dynamic / longrope tables are chosen for (None: T). doc (B, T): document starts as
    PosIds.doc (query t sees keys doc[t] <= s <= t), used only by docs_fixtures' check
    of its stored tensors; None: plain causal attention, the path of every reference."""
    C, NH, NKV, L = cfg["dim"], cfg["n_heads"], cfg["n_kv_heads"], cfg["n_layers"]
    HS, eps, theta = C // NH, cfg["norm_eps"], cfg["rope_theta"]
    inp, tgt = ids[:, :-1], ids[:, 1:]
    B, T = inp.shape
    x = P["model.embed_tokens.weight"][inp]
    mask = torch.ones(T, T, dtype=torch.bool).tril()[None]                       # (1, T, T)
    if doc is not None:
        mask = mask & (torch.arange(T)[None, None, :] >= doc[:, :, None])        # (B, T, T)
    pos = pos or {}
    pos_ids = torch.arange(T)[None] if pos_ids is None else pos_ids
    T_rope = T if T_rope is None else T_rope
    use_rope = pos.get("rope") != "off"
    bias = position_bias(P, pos, NH, pos_ids)
    for i in range(L):
        p = f"model.layers.{i}."
        h = rmsnorm(x, P[p + "input_layernorm.weight"], eps)
        q = (h @ P[p + "self_attn.q_proj.weight"].T).view(B, T, NH, HS)
        k = (h @ P[p + "self_attn.k_proj.weight"].T).view(B, T, NKV, HS)
        v = (h @ P[p + "self_attn.v_proj.weight"].T).view(B, T, NKV, HS)
        if use_rope:
            q, k = rope(q, theta, layout, pos, pos_ids, T_rope), rope(k, theta, layout, pos, pos_ids, T_rope)
        k = k.repeat_interleave(NH // NKV, dim=2)
        v = v.repeat_interleave(NH // NKV, dim=2)
        att = torch.einsum("bthd,bshd->bhts", q, k) / HS ** 0.5
        if bias is not None:
            att = att + bias
        att = att.masked_fill(~mask[:, None], float("-inf")).softmax(-1)
        o = torch.einsum("bhts,bshd->bthd", att, v).reshape(B, T, C)
        x = x + o @ P[p + "self_attn.o_proj.weight"].T
        h = rmsnorm(x, P[p + "post_attention_layernorm.weight"], eps)
        x = x + (F.silu(h @ P[p + "mlp.gate_proj.weight"].T) * (h @ P[p + "mlp.up_proj.weight"].T)) @ P[p + "mlp.down_proj.weight"].T
    x = rmsnorm(x, P["model.norm.weight"], eps)
    head = P["model.embed_tokens.weight"] if cfg["tied"] else P["lm_head.weight"]
    return F.cross_entropy((x @ head.T).reshape(B * T, -1), tgt.reshape(-1), reduction=reduction)

def random_params(cfg, gen, std=0.3):
    C, H, V, L = cfg["dim"], cfg["hidden"], cfg["vocab"], cfg["n_layers"]
    KV = cfg["n_kv_heads"] * (C // cfg["n_heads"])
    shapes = {"embed_tokens": (V, C), "q_proj": (C, C), "k_proj": (KV, C), "v_proj": (KV, C), "o_proj": (C, C),
              "gate_proj": (H, C), "up_proj": (H, C), "down_proj": (C, H), "lm_head": (V, C)}
    P = {}
    for n in hf_names(L, cfg["tied"]):
        if "norm" in n:
            P[n] = 1.0 + 0.1 * torch.randn(C, generator=gen, dtype=torch.float64)
        else:
            P[n] = std * torch.randn(*shapes[n.split(".")[-2]], generator=gen, dtype=torch.float64)
    # round to the fp32 the fixture stores, so the reference is exact for those weights
    return {k: v.float().double() for k, v in P.items()}

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int32: "I32"}

def write_safetensors(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        t = t.contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    print(f"wrote {os.path.relpath(path)} ({8 + len(h) + off} bytes)")

def refcheck_fixture(name, cfg, layout, T, seed, pos=None):
    published_check(pos or {}, cfg["rope_theta"], cfg["dim"] // cfg["n_heads"], T, cfg["n_heads"])
    gen = torch.Generator().manual_seed(seed)
    P = random_params(cfg, gen)
    if pos and pos.get("bias") == "t5":
        nb = pos.get("t5", {}).get("num_buckets", 32)
        P["model.relative_attention_bias.weight"] = torch.randn(nb, cfg["n_heads"], generator=gen, dtype=torch.float64).float().double()
    P = {k: v.requires_grad_() for k, v in P.items()}
    ids = torch.randint(0, cfg["vocab"], (1, T + 1), generator=gen)
    loss = llama_loss(P, cfg, ids, layout, pos)
    loss.backward()
    tensors = {k: v.detach().float() for k, v in P.items()}
    tensors["input_ids"] = ids[0].to(torch.int32)
    tensors["loss"] = loss.detach().float().reshape(1)
    tensors.update({"grad." + k: v.grad.float() for k, v in P.items()})
    meta = {"model": json.dumps({**cfg, "rope_layout": layout}), "position": json.dumps(pos or {})}
    write_safetensors(os.path.join(FIX, f"refcheck_{name}.safetensors"), tensors, meta)
    print(f"  loss {loss.item():.6f}")

def hf_config(cfg):
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
            "hidden_size": cfg["dim"], "intermediate_size": cfg["hidden"], "num_hidden_layers": cfg["n_layers"],
            "num_attention_heads": cfg["n_heads"], "num_key_value_heads": cfg["n_kv_heads"],
            "vocab_size": cfg["vocab"], "rms_norm_eps": cfg["norm_eps"], "rope_theta": cfg["rope_theta"],
            "tie_word_embeddings": cfg["tied"], "max_position_embeddings": 64, "rope_scaling": None,
            "torch_dtype": "float32"}

def hf_fixture(name, cfg, dtype, shards, seed, T=16):
    d = os.path.join(FIX, name)
    os.makedirs(d, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    P = random_params(cfg, gen)
    stored = {k: v.to(dtype) for k, v in P.items()}
    ids = torch.randint(0, cfg["vocab"], (1, T + 1), generator=gen)
    loss = llama_loss({k: v.double() for k, v in stored.items()}, cfg, ids, "half")
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(hf_config(cfg), f, indent=2)
    names = list(stored)
    if shards == 1:
        write_safetensors(os.path.join(d, "model.safetensors"), stored, {"format": "pt"})
    else:
        parts = [names[i::shards] for i in range(shards)]
        wmap = {}
        for i, part in enumerate(parts):
            fn = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
            write_safetensors(os.path.join(d, fn), {n: stored[n] for n in part}, {"format": "pt"})
            wmap.update({n: fn for n in part})
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": 0}, "weight_map": wmap}, f, indent=2)
    write_safetensors(os.path.join(FIX, f"{name}_expected.safetensors"),
                      {"input_ids": ids[0].to(torch.int32), "loss": loss.float().reshape(1)})
    print(f"  loss {loss.item():.6f}")

def read_llama2c_legacy(path):
    raw = open(path, "rb").read()
    dim, hidden, L, NH, NKV, V, maxT = struct.unpack("<7i", raw[:28])
    tied = V > 0
    V = abs(V)
    HS, KV = dim // NH, NKV * dim // NH
    w = np.frombuffer(raw, dtype="<f4", offset=28)
    P, off = {}, 0
    def take(*shape):
        nonlocal off
        n = int(np.prod(shape))
        t = torch.from_numpy(w[off:off + n].copy()).reshape(shape).double()
        off += n
        return t
    emb = take(V, dim); an = take(L, dim); wq = take(L, dim, dim); wk = take(L, KV, dim); wv = take(L, KV, dim)
    wo = take(L, dim, dim); fn = take(L, dim); w1 = take(L, hidden, dim); w2 = take(L, dim, hidden)
    w3 = take(L, hidden, dim); nf = take(dim)
    off += maxT * HS  # freq_cis real + imag: maxT * HS/2 each
    P["model.embed_tokens.weight"] = emb
    for i in range(L):
        p = f"model.layers.{i}."
        P[p + "input_layernorm.weight"], P[p + "self_attn.q_proj.weight"] = an[i], wq[i]
        P[p + "self_attn.k_proj.weight"], P[p + "self_attn.v_proj.weight"] = wk[i], wv[i]
        P[p + "self_attn.o_proj.weight"], P[p + "post_attention_layernorm.weight"] = wo[i], fn[i]
        P[p + "mlp.gate_proj.weight"], P[p + "mlp.down_proj.weight"], P[p + "mlp.up_proj.weight"] = w1[i], w2[i], w3[i]
    P["model.norm.weight"] = nf
    if not tied:
        P["lm_head.weight"] = take(V, dim)
    cfg = {"dim": dim, "hidden": hidden, "n_layers": L, "n_heads": NH, "n_kv_heads": NKV, "vocab": V,
           "norm_eps": 1e-5, "rope_theta": 10000.0, "tied": tied}
    return P, cfg

def stories_fixture(shared, val_path, windows=4, T=512):
    P, cfg = read_llama2c_legacy(os.path.join(shared, "models/stories260K/stories260K.bin"))
    raw = open(val_path, "rb").read()
    head = struct.unpack("<256i", raw[:1024])
    assert head[0] == 20240520 and head[1] == 1, "val.bin is not a uint16 llm.c shard"
    toks = np.frombuffer(raw, dtype="<u2", offset=1024).astype(np.int64)
    ids = torch.stack([torch.from_numpy(toks[k * T: k * T + T + 1]) for k in range(windows)])
    loss64 = llama_loss(P, cfg, ids, "interleaved")
    loss32 = llama_loss({k: v.float() for k, v in P.items()}, cfg, ids, "interleaved")
    write_safetensors(os.path.join(FIX, "stories260K_val.safetensors"),
                      {"input_ids": ids.to(torch.int32), "loss": loss64.float().reshape(1),
                       "loss_torch_f32": loss32.float().reshape(1)},
                      {"source": "stories260K.bin on the first 4 windows of 512+1 tokens of data/tinystories/val.bin"})
    print(f"  stories260K loss float64 {loss64.item():.7f}, torch float32 {loss32.item():.7f}")

def position_fixtures():
    """One refcheck state per position method and for the hybrids; sizes are chosen so
    that each method's T-dependence and frequency bands are exercised (d = 8: 4 pairs)."""
    small = dict(dim=16, hidden=8, n_layers=2, n_heads=2, n_kv_heads=1, vocab=16, norm_eps=1e-5,
                 rope_theta=10000.0, tied=True)
    P = {
        "abf_theta": {"rope": {"theta": 500000}},
        "linear": {"rope": {"scaling": "linear", "factor": 4}},
        "ntk": {"rope": {"scaling": "ntk", "factor": 4}},
        "dynamic": {"rope": {"scaling": "dynamic", "factor": 2, "original_max_position_embeddings": 8}},
        "yarn": {"rope": {"scaling": "yarn", "factor": 4, "original_max_position_embeddings": 4096}},
        "yarn_untruncated": {"rope": {"scaling": "yarn", "factor": 8, "original_max_position_embeddings": 2048,
                                      "beta_fast": 16, "beta_slow": 2, "truncate": False, "attention_factor": 1.25}},
        "llama3": {"rope": {"scaling": "llama3", "factor": 8, "original_max_position_embeddings": 64,
                            "low_freq_factor": 1, "high_freq_factor": 4}},
        "longrope_long": {"rope": {"scaling": "longrope", "factor": 3, "original_max_position_embeddings": 8,
                                   "short_factor": [1.0, 1.5, 2.0, 3.0], "long_factor": [1.0, 2.0, 4.0, 8.0]}},
        "longrope_short": {"rope": {"scaling": "longrope", "factor": 3, "original_max_position_embeddings": 64,
                                    "short_factor": [1.0, 1.5, 2.0, 3.0], "long_factor": [1.0, 2.0, 4.0, 8.0]}},
        "alibi": {"rope": "off", "bias": "alibi"},
        "t5": {"rope": "off", "bias": "t5", "t5": {"num_buckets": 8, "max_distance": 20}},
        "yarn_t5": {"rope": {"scaling": "yarn", "factor": 4, "original_max_position_embeddings": 16}, "bias": "t5",
                    "t5": {"num_buckets": 8, "max_distance": 20}},
        "linear_alibi": {"rope": {"scaling": "linear", "factor": 2}, "bias": "alibi"},
    }
    for i, (name, pos) in enumerate(P.items()):
        refcheck_fixture("pos_" + name, small, "half" if i % 2 else "interleaved", 24, 100 + i, pos)
    six = dict(small, dim=24, n_heads=6, n_kv_heads=3)          # ALiBi slopes for a non-power of two
    refcheck_fixture("pos_alibi_6heads", six, "interleaved", 20, 200, {"rope": "off", "bias": "alibi"})

# --- packed batches: position ids and documents. Their reference never masks: every
# document piece (a row's tokens [a, e) of one document; the whole row without documents)
# runs ALONE through llama_loss (its tokens, targets ids[a+1 .. e], its position ids, plain
# causal attention); the loss is the sum of the pieces' summed cross-entropies over the
# B*T targets, the gradients autograd's of that sum.

def pieces(starts, T):
    """[(a, e), ...]: the documents [a, e) of a row whose documents start at `starts`."""
    return list(zip(starts, starts[1:] + [T]))

def doc_start_row(starts, T):
    """PosIds.doc of one row: the row index of the first token of each token's document."""
    return [a for a, e in pieces(starts, T) for _ in range(a, e)]

def pose_row(chunks, T):
    """PoSE position ids of one row: chunks [(length, skip), ...] in order; chunk k's ids
    continue from the previous chunk's end plus its skip (the skips accumulate)."""
    ids, at = [], 0
    for length, skip in chunks:
        ids, at = ids + list(range(at + skip, at + skip + length)), at + skip + length
    assert len(ids) == T, (chunks, len(ids), T)
    return ids

def packed_loss(P, cfg, ids, layout, pos, pos_ids, starts):
    """The reference above: ids (B, T+1), pos_ids (B, T), starts[b]: row b's document
    starts ([0]: one document). T_rope = the batch's largest id + 1 for every piece, as
    transformers' dynamic_rope_update chooses it from torch.max(position_ids) + 1."""
    B, T = pos_ids.shape
    T_rope = int(pos_ids.max()) + 1
    total = 0.0
    for b in range(B):
        for a, e in pieces(starts[b], T):
            total = total + llama_loss(P, cfg, ids[b:b + 1, a:e + 1], layout, pos, pos_ids[b:b + 1, a:e], T_rope,
                                       reduction="sum")
    return total / (B * T)

def packed_fixture(name, cfg, layout, seed, pos, starts, pos_rows, with_doc):
    """refcheck_<name>.safetensors for a (B, T) batch: input_ids [B, T+1], position_ids
    [B, T], doc_start [B, T] when with_doc (else starts must be one document per row), the
    loss and gradients of packed_loss."""
    B, T = len(pos_rows), len(pos_rows[0])
    pos_ids = torch.tensor(pos_rows, dtype=torch.long)
    doc = torch.tensor([doc_start_row(s, T) for s in starts], dtype=torch.long)
    assert starts == [[0]] * B or with_doc, "without doc_start, one document per row"
    assert all(pos_rows[b][t] >= pos_rows[b][t - 1] >= 0 for b in range(B) for a, e in pieces(starts[b], T)
               for t in range(a + 1, e)), "PosIds: ids >= 0, never decreasing inside a document"
    T_rope = int(pos_ids.max()) + 1
    published_check(pos, cfg["rope_theta"], cfg["dim"] // cfg["n_heads"], T_rope, cfg["n_heads"])
    gen = torch.Generator().manual_seed(seed)
    P = random_params(cfg, gen)
    if pos.get("bias") == "t5":
        nb = pos.get("t5", {}).get("num_buckets", 32)
        P["model.relative_attention_bias.weight"] = torch.randn(nb, cfg["n_heads"], generator=gen, dtype=torch.float64).float().double()
    P = {k: v.requires_grad_() for k, v in P.items()}
    ids = torch.randint(0, cfg["vocab"], (B, T + 1), generator=gen)
    loss = packed_loss(P, cfg, ids, layout, pos, pos_ids, starts)
    loss.backward()
    # a second reading of the stored tensors (not the reference): the whole batch at once
    # under the document mask of doc_start must give the same loss
    with torch.no_grad():
        masked = llama_loss(P, cfg, ids, layout, pos, pos_ids, T_rope, doc)
    assert abs(masked.item() - loss.item()) <= 1e-12 * abs(loss.item()), (name, masked.item(), loss.item())
    tensors = {k: v.detach().float() for k, v in P.items()}
    tensors["input_ids"] = ids.to(torch.int32)
    tensors["position_ids"] = pos_ids.to(torch.int32)
    if with_doc:
        tensors["doc_start"] = doc.to(torch.int32)
    tensors["loss"] = loss.detach().float().reshape(1)
    tensors.update({"grad." + k: v.grad.float() for k, v in P.items()})
    meta = {"model": json.dumps({**cfg, "rope_layout": layout}), "position": json.dumps(pos),
            "reference": "sum over every document piece (whole rows without doc_start) of its summed "
                         "cross-entropy run alone (own tokens and position ids, causal, no mask), / (B*T); "
                         f"dynamic/longrope tables for L = max(position_ids) + 1 = {T_rope}"}
    write_safetensors(os.path.join(FIX, f"refcheck_{name}.safetensors"), tensors, meta)
    print(f"  loss {loss.item():.6f} (T_rope {T_rope})")

def docs_fixtures():
    """refcheck_docs_*, refcheck_pose_*, refcheck_pose_docs_*: B = 2 rows of T = 300 tokens,
    crossing the attention kernel's 128-row tiles [0,128) [128,256) [256,300). Documents
    (ids restarting at 0 in each) start inside tiles (77, 200, 140, 270) and on tile edges
    (128, 256), cross edges, include one-token documents (5, 200, 299); row 1's queries
    from 256 on see no key of [0,128) nor [128,256). The longest is 134 tokens: T_rope =
    134 < T, so dynamic and longrope must choose their tables from the ids, not from T
    (longrope_short: short factors at 134, long at 300). PoSE rows: 3 chunks with growing
    skips, ids up to 3599, no documents; pose_docs: both, id = PoSE id - its document's first."""
    small = dict(dim=16, hidden=8, n_layers=2, n_heads=2, n_kv_heads=1, vocab=16, norm_eps=1e-5,
                 rope_theta=10000.0, tied=True)
    T = 300
    starts = [[0, 77, 128, 200, 201, 299], [0, 5, 6, 140, 256, 270]]
    doc_pos = [[t - d for t, d in enumerate(doc_start_row(s, T))] for s in starts]
    pose = [pose_row([(100, 0), (90, 700), (110, 2000)], T), pose_row([(150, 0), (50, 300), (100, 3000)], T)]
    pose_doc_pos = [[p[t] - p[d] for t, d in enumerate(doc_start_row(s, T))] for s, p in zip(starts, pose)]
    whole = [[0], [0]]
    lr = {"short_factor": [1.0, 1.5, 2.0, 3.0], "long_factor": [1.0, 2.0, 4.0, 8.0]}
    t5 = {"num_buckets": 8, "max_distance": 20}
    docs = {
        "rope": {},
        "linear": {"rope": {"scaling": "linear", "factor": 4}},
        "ntk": {"rope": {"scaling": "ntk", "factor": 4}},
        "dynamic": {"rope": {"scaling": "dynamic", "factor": 2, "original_max_position_embeddings": 64}},
        "yarn": {"rope": {"scaling": "yarn", "factor": 4, "original_max_position_embeddings": 64}},
        "llama3": {"rope": {"scaling": "llama3", "factor": 8, "original_max_position_embeddings": 64,
                            "low_freq_factor": 1, "high_freq_factor": 4}},
        "longrope_long": {"rope": {"scaling": "longrope", "factor": 3, "original_max_position_embeddings": 64, **lr}},
        "longrope_short": {"rope": {"scaling": "longrope", "factor": 3, "original_max_position_embeddings": 200, **lr}},
        "alibi": {"rope": "off", "bias": "alibi"},
        "t5": {"rope": "off", "bias": "t5", "t5": t5},
        "yarn_t5": {"rope": {"scaling": "yarn", "factor": 4, "original_max_position_embeddings": 16}, "bias": "t5",
                    "t5": t5},
        "linear_alibi": {"rope": {"scaling": "linear", "factor": 2}, "bias": "alibi"},
    }
    for i, (name, pos) in enumerate(docs.items()):
        packed_fixture("docs_" + name, small, "half" if i % 2 else "interleaved", 300 + i, pos, starts, doc_pos, True)
    t5_far = {"num_buckets": 16, "max_distance": 1024}     # log buckets over PoSE's distances
    poses = {
        "rope": {},
        "linear": {"rope": {"scaling": "linear", "factor": 8}},
        "yarn": {"rope": {"scaling": "yarn", "factor": 8, "original_max_position_embeddings": 512}},
        "dynamic": {"rope": {"scaling": "dynamic", "factor": 4, "original_max_position_embeddings": 512}},
        "alibi": {"rope": "off", "bias": "alibi"},
        "t5": {"rope": "off", "bias": "t5", "t5": t5_far},
    }
    for i, (name, pos) in enumerate(poses.items()):
        packed_fixture("pose_" + name, small, "half" if i % 2 else "interleaved", 400 + i, pos, whole, pose, False)
    packed_fixture("pose_docs_yarn", small, "interleaved", 500, poses["yarn"], starts, pose_doc_pos, True)
    packed_fixture("pose_docs_t5", small, "half", 501, poses["t5"], starts, pose_doc_pos, True)

def lr_schedule(tr, step):
    """The learning rate of optimizer step `step` (from 0): linear warmup to lr over
    warmup_steps, then cosine decay to min_lr at max_steps (stretch's train.schedule)."""
    o, s = tr["optimizer"], tr["schedule"]
    lr, w, total = o["lr"], s["warmup_steps"], tr["max_steps"]
    if step < w:
        return lr * (step + 1) / w
    x = min((step - w) / (total - w), 1.0)
    return s["min_lr"] + (lr - s["min_lr"]) * 0.5 * (1 + math.cos(math.pi * x))

def adamw_run(P0, cfg, ids, layout, tr, dtype):
    """tr["max_steps"] steps of torch.optim.AdamW in `dtype` from the weights P0 on the
    batch ids: weight decay on matrices only (as TensorSpec.decay), global-norm clipping
    with clip_grad_norm_. Returns per-step lr, loss, gradient norm (before clipping) and
    the weights after step 1 and after the last step."""
    o = tr["optimizer"]
    P = {k: v.to(dtype).clone().requires_grad_() for k, v in P0.items()}
    groups = [{"params": [v for k, v in P.items() if v.dim() == 2], "weight_decay": o["weight_decay"]},
              {"params": [v for k, v in P.items() if v.dim() != 2], "weight_decay": 0.0}]
    assert all("norm" in k for k, v in P.items() if v.dim() != 2)
    opt = torch.optim.AdamW(groups, lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"], foreach=False)
    lrs, losses, norms, step1 = [], [], [], None
    for step in range(tr["max_steps"]):
        lr = lr_schedule(tr, step)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=False)
        loss = llama_loss(P, cfg, ids, layout)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(list(P.values()), tr["grad_clip"])
        opt.step()
        lrs.append(lr); losses.append(loss.item()); norms.append(norm.item())
        if step == 0:
            step1 = {k: v.detach().clone() for k, v in P.items()}
    return lrs, losses, norms, step1, {k: v.detach().clone() for k, v in P.items()}

def adamw_fixture(seed=7, B=4, T=12):
    """The AdamW trajectory fixture. The reference is the float64 run (the exact
    arithmetic of the algorithm from float32 initial weights); the same run in PyTorch
    float32 is stored next to it (torch_f32.*) as an example of a float32 implementation's
    honest deviation from it, which the C test's tolerances are measured against."""
    cfg = dict(dim=16, hidden=24, n_layers=2, n_heads=4, n_kv_heads=2, vocab=32, norm_eps=1e-5,
               rope_theta=10000.0, tied=False)
    layout = "interleaved"
    tr = {"optimizer": {"name": "adamw", "lr": 1e-2, "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1},
          "schedule": {"warmup_steps": 2, "decay": "cosine", "min_lr": 1e-3},
          "grad_clip": 2.5, "max_steps": 10}
    gen = torch.Generator().manual_seed(seed)
    P0 = random_params(cfg, gen)
    ids = torch.randint(0, cfg["vocab"] - 4, (B, T + 1), generator=gen)   # tokens V-4.. never occur:
    # their embedding rows get no gradient, so only weight decay moves them
    r64 = adamw_run(P0, cfg, ids, layout, tr, torch.float64)
    r32 = adamw_run(P0, cfg, ids, layout, tr, torch.float32)
    t = {k: v.float() for k, v in P0.items()}
    t["input_ids"] = ids.to(torch.int32)
    for pre, (lrs, losses, norms, step1, final) in (("", r64), ("torch_f32.", r32)):
        t[pre + "lr"] = torch.tensor(lrs, dtype=torch.float32)
        t[pre + "loss"] = torch.tensor(losses, dtype=torch.float32)
        t[pre + "grad_norm"] = torch.tensor(norms, dtype=torch.float32)
        t.update({pre + "step1." + k: v.float() for k, v in step1.items()})
        t.update({pre + "final." + k: v.float() for k, v in final.items()})
    meta = {"model": json.dumps({**cfg, "rope_layout": layout}), "position": "{}", "train": json.dumps(tr),
            "reference": "float64 torch.optim.AdamW (two groups: matrices weight_decay, norm gains 0) + "
                         "clip_grad_norm_ (coef max_norm / (norm + 1e-6), clamped to 1) on the float32 initial "
                         "weights; torch_f32.*: the same run in float32; grad_norm before clipping"}
    write_safetensors(os.path.join(FIX, "adamw_trajectory.safetensors"), t, meta)
    dev = lambda a, b: max(abs(x - y) for x, y in zip(a, b))
    wdev = lambda a, b: max((a[k].double() - b[k].double()).abs().max().item() for k in a)
    print("  loss  " + " ".join(f"{x:.5f}" for x in r64[1]))
    print("  norm  " + " ".join(f"{x:.4f}" for x in r64[2]))
    print(f"  torch f32 vs f64: loss {dev(r32[1], r64[1]):.2e}, grad norm {dev(r32[2], r64[2]):.2e}, "
          f"step-1 weights {wdev(r32[3], r64[3]):.2e}, final weights {wdev(r32[4], r64[4]):.2e} (max abs)")

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=os.path.join(HERE, "..", "..", "shared"))
    ap.add_argument("--val", default=os.path.join(HERE, "..", "data", "tinystories", "val.bin"))
    ap.add_argument("--only", choices=["docs"], help="write only this family (docs: refcheck_docs_*, "
                    "refcheck_pose_*), leaving every other fixture untouched")
    a = ap.parse_args()
    os.makedirs(FIX, exist_ok=True)
    if a.only == "docs":
        docs_fixtures()
        return
    base = dict(dim=16, hidden=24, n_layers=2, n_heads=4, vocab=32, norm_eps=1e-5, rope_theta=10000.0)
    refcheck_fixture("mha_tied_interleaved", {**base, "n_kv_heads": 4, "tied": True}, "interleaved", 12, 1)
    refcheck_fixture("gqa_untied_half", {**base, "n_kv_heads": 2, "tied": False}, "half", 12, 2)
    refcheck_fixture("gqa_tied_half", {**base, "n_kv_heads": 1, "tied": True, "rope_theta": 500000.0}, "half", 12, 3)
    refcheck_fixture("mha_untied_interleaved", {**base, "n_kv_heads": 4, "tied": False, "norm_eps": 1e-6}, "interleaved", 12, 4)
    position_fixtures()
    docs_fixtures()
    adamw_fixture()
    hf_fixture("hf_tiny_bf16", {**base, "n_kv_heads": 2, "tied": False}, torch.bfloat16, 1, 5)
    hf_fixture("hf_tiny_sharded", {**base, "n_kv_heads": 2, "tied": True}, torch.float16, 2, 6)
    if os.path.exists(a.val):
        stories_fixture(a.shared, a.val)
    else:
        print(f"skipping the stories260K fixture: {a.val} not staged (run make first)", file=sys.stderr)

if __name__ == "__main__":
    main()
