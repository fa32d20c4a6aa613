#!/usr/bin/python3
"""rope_published — the position methods of model/position.c checked against the
PUBLISHED sources, each written here afresh from the upstream code named in its
docstring (formula for formula, in double precision; nothing here is shared with the C
or with tests/make_fixtures.py's torch transcription, which in turn asserts against these
functions when it writes fixtures).

    /usr/bin/python3 tests/rope_published.py        (run by tests/run_all.sh)

Runs ./tests/rope_dump (built by `make test`) over a grid of cases, compares every
inverse frequency and cos/sin multiplier with |c - ref| <= 1e-12 + 1e-9 |ref|, ALiBi slopes
at float32 precision (one float32 ulp: C stores them as float) and T5 buckets exactly,
prints one line per case and closes with "rope_published: N passed, M failed" (exit 1 on
any failure). Where a second published source covers a case, it must agree with the first;
where published sources disagree with each other, the NOTE lines say how and which one C
follows.

Standard library only (os, sys, math, struct, subprocess: all in Debian's python3-minimal).

Sources read (upstream repository, path, commit):
  HF    huggingface/transformers  src/transformers/modeling_rope_utils.py
        at ef46806472a64b0013ed413781e3afed82bfa047 (_compute_default_rope_parameters,
        _compute_linear_scaling_rope_parameters, _compute_dynamic_ntk_parameters,
        _compute_yarn_parameters, _compute_longrope_parameters, _compute_llama3_parameters);
        later releases add to _compute_yarn_parameters the `truncate` key (default True;
        False skips floor/ceil in find_correction_range), get_mscale(scale) = 1 for
        scale <= 1, and L_o = rope_scaling["original_max_position_embeddings"] in place of
        max_position_embeddings for the correction range; read in stored copies of that
        later file (v4.5x rope_scaling and v5 rope_parameters forms), same formulas.
  HF    huggingface/transformers  src/transformers/models/t5/modeling_t5.py
        at 6b8b757dfcb582379a64f013cdce46c43629f2b0 (T5Attention._relative_position_bucket)
  YaRN  jquesnelle/yarn  scaled_rope/modeling_llama_yarn.py at 995db5b575e75230b3384d658f8b944c9662f775
        (_yarn_find_correction_dim, _yarn_find_correction_range, _yarn_linear_ramp_mask,
        _yarn_get_mscale, LlamaYaRNScaledRotaryEmbedding.yarn; identical in
        scaled_rope/LlamaYaRNScaledRotaryEmbedding.py), and
        scaled_rope/LlamaNTKScaledRotaryEmbedding.py (static NTK-aware base, bloc97)
  oss   openai/gpt-oss  gpt_oss/torch/model.py at 7b583341fe16729127f6d5b94a7b09ccae97e1a1
        (RotaryEmbedding._compute_concentration_and_inv_freq: YaRN without floor/ceil)
  Meta  meta-llama/llama-models  models/llama3_1/api/model.py at 1f0feb795a4130697ced243fb53051670d591653
        (apply_scaling, Llama 3.1 release; the same rule in models/llama3/model.py at
        a9c89c471f793423afd4cc3ca8671d6e56fe64cb)
  LRoPE microsoft/LongRoPE  rope/longrope.py at c9e56aa54007c328399677232a489feec446e4b8
        (LongRoPEScaledRotaryEmbedding._calc_mscale_su, _calc_inv_freq); Phi-3's
        Phi3LongRoPEScaledRotaryEmbedding (transformers modeling_phi3.py) has the same
        sqrt(1 + ln s / ln L_o) and the long/short switch at seq_len > L_o
  ALiBi ofirpress/attention_with_linear_biases  fairseq/models/transformer.py
        at 4b92f28a005ead2567abe2359f633e73e08f3833 (get_slopes, get_slopes_power_of_2)
"""
import math, os, struct, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
DUMP = os.environ.get("ROPE_DUMP") or os.path.join(HERE, "rope_dump")   # ROPE_DUMP: another build
ATOL, RTOL = 1e-12, 1e-9
F32_ULP = 2.0 ** -23


# --- plain RoPE -----------------------------------------------------------------------
def rope_default(d, base):
    """HF modeling_rope_utils._compute_default_rope_parameters:
    inv_freq = 1 / base ** (arange(0, dim, 2) / dim), attention_factor 1."""
    return [1.0 / base ** (j / d) for j in range(0, d, 2)], 1.0


# --- linear position interpolation ------------------------------------------------------
def rope_linear(d, base, factor):
    """HF modeling_rope_utils._compute_linear_scaling_rope_parameters: the default
    inv_freq, then inv_freq /= factor (positions / factor, kaiokendev / Chen et al.)."""
    inv, _ = rope_default(d, base)
    return [f / factor for f in inv], 1.0


# --- static NTK-aware base ----------------------------------------------------------------
def ntk_base(base, alpha, d):
    """jquesnelle/yarn scaled_rope/LlamaNTKScaledRotaryEmbedding.__init__ (bloc97):
    base = base * alpha ** (dim / (dim - 2))."""
    return base * alpha ** (d / (d - 2))


def rope_ntk(d, base, alpha):
    """Same source: inv_freq = 1 / base' ** (arange(0, dim, 2) / dim), no magnitude change."""
    return rope_default(d, ntk_base(base, alpha, d))


# --- dynamic NTK --------------------------------------------------------------------------
def rope_dynamic(d, base, factor, L_o, T):
    """HF modeling_rope_utils._compute_dynamic_ntk_parameters (with dynamic_rope_update,
    which recomputes for seq_len = T past max_position_embeddings = L_o and keeps the
    original frequencies below it): seq_len = max(T, L_o);
    base = base * ((factor * seq_len / L_o) - (factor - 1)) ** (dim / (dim - 2))."""
    seq_len = T if T > L_o else L_o
    b = base * ((factor * seq_len / L_o) - (factor - 1)) ** (d / (d - 2))
    return rope_default(d, b)[0], 1.0


# --- YaRN ---------------------------------------------------------------------------------
def yarn_correction_dim(num_rotations, d, base, L_o):
    """find_correction_dim (HF _compute_yarn_parameters) = _yarn_find_correction_dim
    (jquesnelle/yarn): the dimension whose wavelength fits num_rotations turns in L_o,
    dim * ln(L_o / (num_rotations 2 pi)) / (2 ln base)."""
    return (d * math.log(L_o / (num_rotations * 2 * math.pi))) / (2 * math.log(base))


def yarn_correction_range_hf(beta_fast, beta_slow, d, base, L_o, truncate=True):
    """HF find_correction_range(low_rot, high_rot, dim, base, L_o, truncate): floor/ceil
    only when truncate (the key's default is True), then max(low, 0), min(high, dim - 1)."""
    low = yarn_correction_dim(beta_fast, d, base, L_o)
    high = yarn_correction_dim(beta_slow, d, base, L_o)
    if truncate:
        low, high = math.floor(low), math.ceil(high)
    return max(low, 0), min(high, d - 1)


def yarn_ramp(low, high, n):
    """HF linear_ramp_factor = jquesnelle/yarn _yarn_linear_ramp_mask:
    clamp((arange(n) - min) / (max - min), 0, 1), max += 0.001 when min == max."""
    if low == high:
        high += 0.001
    return [min(max((i - low) / (high - low), 0.0), 1.0) for i in range(n)]


def yarn_get_mscale(scale, mscale=1.0):
    """HF get_mscale (inside _compute_yarn_parameters) / jquesnelle/yarn _yarn_get_mscale:
    1 for scale <= 1, else 0.1 * mscale * ln(scale) + 1."""
    if scale <= 1:
        return 1.0
    return 0.1 * mscale * math.log(scale) + 1.0


def _yarn_blend(d, base, factor, low, high):
    pos_freqs = [base ** (j / d) for j in range(0, d, 2)]
    extrapolation = [1.0 / p for p in pos_freqs]
    interpolation = [1.0 / (factor * p) for p in pos_freqs]
    extra_factor = [1.0 - r for r in yarn_ramp(low, high, d // 2)]
    return [ip * (1 - e) + ex * e for ip, ex, e in zip(interpolation, extrapolation, extra_factor)]


def rope_yarn_hf(d, base, factor, L_o, beta_fast=32, beta_slow=1, truncate=True, attention_factor=None):
    """HF modeling_rope_utils._compute_yarn_parameters: inv_freq blends
    1/(factor pos_freqs) and 1/pos_freqs by 1 - ramp over the correction range;
    attention_factor = the configured value when given, else get_mscale(factor)."""
    low, high = yarn_correction_range_hf(beta_fast or 32, beta_slow or 1, d, base, L_o, truncate)
    inv = _yarn_blend(d, base, factor, low, high)
    return inv, (attention_factor if attention_factor is not None else yarn_get_mscale(factor))


def rope_yarn_reference(d, base, scale, L_o, beta_fast=32, beta_slow=1, attn_factor=1.0, extrapolation_factor=1.0):
    """jquesnelle/yarn LlamaYaRNScaledRotaryEmbedding.yarn: always floor/ceil
    (_yarn_find_correction_range), inv_freq_mask = (1 - ramp) * extrapolation_factor, and
    mscale = _yarn_get_mscale(scale) * attn_factor (a multiplier ON the default)."""
    low = max(math.floor(yarn_correction_dim(beta_fast, d, base, L_o)), 0)
    high = min(math.ceil(yarn_correction_dim(beta_slow, d, base, L_o)), d - 1)
    pos_freqs = [base ** (j / d) for j in range(0, d, 2)]
    mask = [(1.0 - r) * extrapolation_factor for r in yarn_ramp(low, high, d // 2)]
    inv = [(1.0 / (scale * p)) * (1 - m) + (1.0 / p) * m for p, m in zip(pos_freqs, mask)]
    return inv, float(yarn_get_mscale(scale) * attn_factor)


def rope_yarn_gpt_oss(d, base, scaling_factor, L_o, ntk_beta=32, ntk_alpha=1):
    """openai/gpt-oss gpt_oss/torch/model.py RotaryEmbedding._compute_concentration_and_inv_freq:
    low/high = d_half ln(L_o / (beta 2 pi)) / ln(base), neither rounded nor clamped (it
    asserts 0 < low < high < d_half - 1); concentration = 0.1 ln s + 1. Returns None where
    that assertion would fail."""
    if scaling_factor <= 1.0:
        return rope_default(d, base)[0], 1.0
    d_half = d / 2
    low = d_half * math.log(L_o / (ntk_beta * 2 * math.pi)) / math.log(base)
    high = d_half * math.log(L_o / (ntk_alpha * 2 * math.pi)) / math.log(base)
    if not (0 < low < high < d_half - 1):
        return None
    freq = [base ** (j / d) for j in range(0, d, 2)]
    mask = [1 - min(max((i - low) / (high - low), 0.0), 1.0) for i in range(int(d_half))]
    inv = [(1.0 / (scaling_factor * f)) * (1 - m) + (1.0 / f) * m for f, m in zip(freq, mask)]
    return inv, 0.1 * math.log(scaling_factor) + 1.0


# --- Llama 3.1 ----------------------------------------------------------------------------
def rope_llama3_meta(d, base, scale_factor=8, low_freq_factor=1, high_freq_factor=4, old_context_len=8192):
    """meta-llama/llama-models models/llama3_1/api/model.py apply_scaling (its constants
    8, 1, 4, 8192 made parameters), per frequency: wavelen = 2 pi / freq; keep it when
    wavelen < L_o / high; freq / scale when wavelen > L_o / low; else blend with
    smooth = (L_o / wavelen - low) / (high - low): (1 - smooth) freq / scale + smooth freq."""
    freqs, _ = rope_default(d, base)
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    out = []
    for freq in freqs:
        wavelen = 2 * math.pi / freq
        if wavelen < high_freq_wavelen:
            out.append(freq)
        elif wavelen > low_freq_wavelen:
            out.append(freq / scale_factor)
        else:
            smooth = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
            out.append((1 - smooth) * freq / scale_factor + smooth * freq)
    return out, 1.0


def rope_llama3_hf(d, base, factor, low_freq_factor, high_freq_factor, L_o):
    """HF modeling_rope_utils._compute_llama3_parameters (the vectorised form):
    inv_llama = where(wavelen > low_wl, inv / factor, inv); smoothed from inv_llama;
    used where not (wavelen < high_wl) and not (wavelen > low_wl)."""
    inv, _ = rope_default(d, base)
    low_wl, high_wl = L_o / low_freq_factor, L_o / high_freq_factor
    out = []
    for f in inv:
        wl = 2 * math.pi / f
        g = f / factor if wl > low_wl else f
        smooth = (L_o / wl - low_freq_factor) / (high_freq_factor - low_freq_factor)
        smoothed = (1 - smooth) * g / factor + smooth * g
        out.append(smoothed if (not wl < high_wl and not wl > low_wl) else g)
    return out, 1.0


# --- LongRoPE -----------------------------------------------------------------------------
def longrope_mscale(scale, L_o):
    """microsoft/LongRoPE rope/longrope.py _calc_mscale_su (= HF _compute_longrope_parameters'
    default, = Phi-3's scaling_factor): 1 for scale <= 1, else sqrt(1 + ln scale / ln L_o)."""
    if scale <= 1.0:
        return 1.0
    return math.sqrt(1 + math.log(scale) / math.log(L_o))


def rope_longrope(d, base, factor, L_o, T, short_factor, long_factor, attention_factor=None):
    """HF modeling_rope_utils._compute_longrope_parameters (and microsoft/LongRoPE
    _calc_inv_freq): ext = long_factor when seq_len > L_o, else short_factor;
    inv_freq = 1 / (ext * base ** (arange(0, dim, 2) / dim)); attention_factor = the
    configured value, else the 'su' mscale of factor."""
    ext = long_factor if T > L_o else short_factor
    inv = [1.0 / (e * base ** (j / d)) for e, j in zip(ext, range(0, d, 2))]
    return inv, (attention_factor if attention_factor is not None else longrope_mscale(factor, L_o))


# --- ALiBi --------------------------------------------------------------------------------
def alibi_get_slopes(n):
    """ofirpress/attention_with_linear_biases fairseq/models/transformer.py get_slopes:
    for n a power of two, start = 2 ** (-2 ** -(log2 n - 3)), slopes start * start ** i;
    otherwise those of the closest power of two p below n, then get_slopes(2p)[0::2][:n-p]."""
    def geometric(k):   # get_slopes_power_of_2: ratio = start
        start = 2.0 ** -(2.0 ** -(math.log2(k) - 3))
        return [start * start ** i for i in range(k)]
    if math.log2(n).is_integer():
        return geometric(n)
    p = 2 ** math.floor(math.log2(n))
    return geometric(p) + alibi_get_slopes(2 * p)[0::2][: n - p]


# --- T5 relative buckets --------------------------------------------------------------------
def f32(x):
    """x rounded to IEEE float32 (torch's float tensors)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def t5_relative_position_bucket(relative_position, bidirectional=False, num_buckets=32, max_distance=128, float32=True):
    """HF modeling_t5.py T5Attention._relative_position_bucket (after Mesh TensorFlow), for
    one relative_position = memory - query position. The large-distance branch is torch
    float32 arithmetic: log(rp.float() / max_exact) / math.log(max_distance / max_exact)
    * (num_buckets - max_exact), truncated by .to(long), with torch.log taken as the
    correctly rounded float32 logarithm; float32=False does it in
    double instead (to see where float32 rounding decides a bucket)."""
    bucket, nb = 0, num_buckets
    if bidirectional:                        # later keys get the upper half of the buckets
        nb //= 2
        bucket += nb if relative_position > 0 else 0
        distance = abs(relative_position)
    else:                                    # keys after the query all fall in bucket 0
        distance = max(-relative_position, 0)
    max_exact = nb // 2
    if distance < max_exact:                 # one bucket per distance
        return bucket + distance
    rnd = f32 if float32 else (lambda v: v)  # then log-spaced up to max_distance
    v = rnd(math.log(rnd(distance / max_exact)))
    v = rnd(v / rnd(math.log(max_distance / max_exact)))
    v = rnd(v * (nb - max_exact))
    return bucket + min(max_exact + int(v), nb - 1)


# --- one dispatcher for the grid (and for make_fixtures.py) -------------------------------
def published(method, d, base, factor=1.0, L_o=None, T=1, beta_fast=32, beta_slow=1, truncate=True,
              attention_factor=None, low_freq_factor=1, high_freq_factor=4, short_factor=None, long_factor=None):
    """(inv_freq list of d/2, cos/sin multiplier) for one method, from the primary
    published source of that method."""
    if method == "none":
        return rope_default(d, base)
    if method == "linear":
        return rope_linear(d, base, factor)
    if method == "ntk":
        return rope_ntk(d, base, factor)
    if method == "dynamic":
        return rope_dynamic(d, base, factor, L_o, T)
    if method == "yarn":
        return rope_yarn_hf(d, base, factor, L_o, beta_fast, beta_slow, truncate, attention_factor)
    if method == "llama3":
        return rope_llama3_meta(d, base, factor, low_freq_factor, high_freq_factor, L_o)
    if method == "longrope":
        return rope_longrope(d, base, factor, L_o, T, short_factor, long_factor, attention_factor)
    raise ValueError("unknown method " + method)


# --- the test -------------------------------------------------------------------------------
def close(a, ref, atol=ATOL, rtol=RTOL):
    return abs(a - ref) <= atol + rtol * abs(ref)


def fmt(x):
    return repr(float(x)) if isinstance(x, float) else str(x)


class Case:
    def __init__(self, label, request, check):
        self.label, self.request, self.check = label, request, check


def rope_case(method, d, base, factor=1.0, L_o=512, T=1, beta_fast=32, beta_slow=1, truncate=True,
              attention_factor=None, low=1.0, high=4.0, short=None, long=None):
    n = len(short) if short else 0
    req = ["rope", method, d, base, factor, L_o, T, beta_fast, beta_slow, int(truncate),
           -1.0 if attention_factor is None else attention_factor, low, high, n]
    req += list(short or []) + list(long or [])
    ref_inv, ref_ms = published(method, d, base, factor, L_o, T, beta_fast, beta_slow, truncate,
                                attention_factor, low, high, short, long)
    # second published sources, where they cover the case
    seconds = []
    if method == "yarn" and truncate:
        # the YaRN authors' code agrees with HF when its attn_factor (a multiplier) is 1
        seconds.append(("jquesnelle/yarn", rope_yarn_reference(d, base, factor, L_o, beta_fast, beta_slow, 1.0),
                        attention_factor is None))
    if method == "yarn" and not truncate and attention_factor is None:
        g = rope_yarn_gpt_oss(d, base, factor, L_o, beta_fast, beta_slow)
        if g is not None:        # inside gpt-oss's assertion HF's clamp changes nothing
            seconds.append(("openai/gpt-oss", g, True))
    if method == "llama3":
        seconds.append(("HF llama3", rope_llama3_hf(d, base, factor, low, high, L_o), True))

    attn = "default" if attention_factor is None else fmt(attention_factor)
    label = f"{method:8s} d={d:<3d} base={base:g} s={factor:g}"
    if method in ("dynamic", "yarn", "llama3", "longrope"):
        label += f" L_o={L_o} T={T}"
    if method == "yarn":
        label += f" beta={beta_fast:g}/{beta_slow:g} truncate={int(truncate)} attn={attn}"
    if method == "llama3":
        label += f" low={low:g} high={high:g}"
    if method == "longrope":
        label += f" attn={attn}"

    def check(fields):
        vals = [float(v) for v in fields]
        if len(vals) != 1 + d // 2:
            return False, f"expected {1 + d // 2} numbers, got {len(vals)}"
        ms, inv = vals[0], vals[1:]
        bad = [i for i in range(d // 2) if not close(inv[i], ref_inv[i])]
        worst = max(abs(a - b) / abs(b) for a, b in zip(inv, ref_inv))
        msgs = []
        if bad:
            i = bad[0]
            msgs.append(f"inv_freq[{i}] {inv[i]!r} vs {ref_inv[i]!r} ({len(bad)} pairs off)")
        if not close(ms, ref_ms):
            msgs.append(f"mscale {ms!r} vs {ref_ms!r}")
        used = []
        for name, (inv2, ms2), mscale_too in seconds:
            off = [i for i in range(d // 2) if not close(inv2[i], ref_inv[i])]
            if off or (mscale_too and not close(ms2, ref_ms)):
                msgs.append(f"published sources disagree: {name} gives inv_freq[{off[0] if off else '-'}]"
                            f" / mscale {ms2!r} vs {ref_ms!r}")
            used.append(name)
        extra = f"; agrees with {', '.join(used)}" if used and not msgs else ""
        return not msgs, "; ".join(msgs) if msgs else f"max rel err {worst:.1e}, mscale {ms:.17g}{extra}"

    return Case(label, " ".join(fmt(x) for x in req), check)


def yarnrange_case(d, base, L_o, beta_fast, beta_slow, truncate):
    ref = yarn_correction_range_hf(beta_fast, beta_slow, d, base, L_o, truncate)

    def check(fields):
        lo, hi = float(fields[0]), float(fields[1])
        ok = close(lo, ref[0]) and close(hi, ref[1])
        return ok, f"[{lo:.17g}, {hi:.17g}]" + ("" if ok else f" vs [{ref[0]!r}, {ref[1]!r}]")

    return Case(f"yarn correction range d={d} base={base:g} L_o={L_o} beta={beta_fast}/{beta_slow} truncate={int(truncate)}",
                f"yarnrange {d} {fmt(base)} {L_o} {beta_fast} {beta_slow} {int(truncate)}", check)


def ntkbase_case(base, s, d):
    ref = ntk_base(base, s, d)

    def check(fields):
        v = float(fields[0])
        return close(v, ref), f"{v:.17g}" + ("" if close(v, ref) else f" vs {ref!r}")

    return Case(f"ntk base b s^(d/(d-2)) base={base:g} s={s:g} d={d}", f"ntkbase {fmt(base)} {fmt(s)} {d}", check)


def alibi_case(nh):
    ref = [f32(m) for m in alibi_get_slopes(nh)]

    def check(fields):
        vals = [float(v) for v in fields]
        if len(vals) != nh:
            return False, f"expected {nh} slopes, got {len(vals)}"
        bad = [h for h in range(nh) if not close(vals[h], ref[h], 0.0, F32_ULP)]
        exact = sum(v == r for v, r in zip(vals, ref))
        if bad:
            h = bad[0]
            return False, f"slope {h}: {vals[h]!r} vs {ref[h]!r} ({len(bad)} off)"
        return True, f"{exact}/{nh} bit-exact in float32, m_1 = {vals[0]:.9g}, m_NH = {vals[-1]:.9g}"

    return Case(f"alibi NH={nh}", f"alibi {nh}", check)


T5_SPLITS = []   # (nb, md, n, float32 bucket, double-arithmetic bucket) where they differ


def t5_case(nb, md, nmax):
    # relative_position = memory - query = -n for a causal key n tokens back
    ref = [t5_relative_position_bucket(-n, False, nb, md) for n in range(nmax + 1)]
    for n in range(nmax + 1):
        exact = t5_relative_position_bucket(-n, False, nb, md, float32=False)
        if exact != ref[n]:
            T5_SPLITS.append((nb, md, n, ref[n], exact))

    def check(fields):
        vals = [int(v) for v in fields]
        if len(vals) != nmax + 1:
            return False, f"expected {nmax + 1} buckets, got {len(vals)}"
        bad = [n for n in range(nmax + 1) if vals[n] != ref[n]]
        if bad:
            n = bad[0]
            return False, f"distance {n}: bucket {vals[n]} vs {ref[n]} ({len(bad)} distances off)"
        return True, f"distances 0..{nmax} exact, last bucket {vals[-1]}"

    return Case(f"t5 buckets num_buckets={nb} max_distance={md}", f"t5 {nb} {md} {nmax}", check)


def longrope_factors(n, factor, seed):
    """Deterministic LongRoPE-like rescale factors: short near 1, long rising to ~factor."""
    short = [1.0 + 0.05 * ((i * 7 + seed) % 5) / 4 for i in range(n)]
    long = [1.0 + (factor - 1.0) * (i / max(n - 1, 1)) ** 1.5 + 0.01 * ((i + seed) % 3) for i in range(n)]
    return short, long


def grid():
    D, BASES, FACTORS, LOS = (8, 64, 128), (1e4, 5e5), (2.0, 4.0, 8.0, 32.0), (512, 4096, 8192)
    cases = []
    for d in D:
        for b in BASES:
            cases.append(rope_case("none", d, b, T=64))
            for s in FACTORS:
                cases.append(rope_case("linear", d, b, s, T=64))
                cases.append(rope_case("ntk", d, b, s, T=64))
                cases.append(ntkbase_case(b, s, d))
                for L in LOS:
                    for T in (L // 2, L, L + 1, 4 * L):
                        cases.append(rope_case("dynamic", d, b, s, L, T))
                    for truncate in (True, False):
                        for attn in (None, 1.25):
                            for bf, bs in ((32, 1), (16, 2)):
                                cases.append(rope_case("yarn", d, b, s, L, 2 * L, bf, bs, truncate, attn))
                    for T in (L // 2, L, 2 * L):
                        for attn in (None, 1.1):
                            sh, lg = longrope_factors(d // 2, s, d + L)
                            cases.append(rope_case("longrope", d, b, s, L, T, attention_factor=attn, short=sh, long=lg))
            # factor 1: the attention factors' s <= 1 branch
            cases.append(rope_case("yarn", d, b, 1.0, 4096, 8192))
            sh, lg = longrope_factors(d // 2, 1.0, d)
            cases.append(rope_case("longrope", d, b, 1.0, 4096, 8192, short=sh, long=lg))
            # Llama 3.1 as released (factor 8, low 1, high 4, L_o 8192), then variations
            cases.append(rope_case("llama3", d, b, 8.0, 8192, 16384, low=1.0, high=4.0))
            for s in (2.0, 4.0, 32.0):
                for lo, hi in ((1.0, 4.0), (2.0, 8.0)):
                    for L in (512, 4096):
                        cases.append(rope_case("llama3", d, b, s, L, 2 * L, low=lo, high=hi))
            for L in LOS:
                for truncate in (True, False):
                    for bf, bs in ((32, 1), (16, 2)):
                        cases.append(yarnrange_case(d, b, L, bf, bs, truncate))
    for nh in range(1, 33):
        cases.append(alibi_case(nh))
    # (10, 160) and (20, 320): distances where float32 rounding (as torch does it) decides the bucket
    for nb, md in ((32, 128), (8, 20), (16, 64), (64, 512), (4, 8), (32, 4096), (10, 160), (20, 320)):
        cases.append(t5_case(nb, md, 4 * md))
    return cases


def notes():
    """Where the published sources disagree with each other, and which one C follows."""
    out = []
    # YaRN attention factor: replaced (HF) or multiplied (YaRN authors)
    s, af = 8.0, 1.25
    hf = rope_yarn_hf(64, 1e4, s, 4096, attention_factor=af)[1]
    ref = rope_yarn_reference(64, 1e4, s, 4096, attn_factor=af)[1]
    out.append(f"yarn attention factor: HF uses an explicit attention_factor AS the cos/sin multiplier "
               f"({hf:g} for s={s:g}, {af}); jquesnelle/yarn multiplies its attn_factor ONTO 0.1 ln s + 1 "
               f"({ref:.6g}). They agree only at the default (HF None, YaRN 1). C follows HF.")
    # truncation
    lo_t = yarn_correction_range_hf(32, 1, 128, 1e4, 4096, True)
    lo_f = yarn_correction_range_hf(32, 1, 128, 1e4, 4096, False)
    out.append(f"yarn truncation: jquesnelle/yarn (and HF before its `truncate` key) always floor/ceil the "
               f"correction range ({lo_t[0]}, {lo_t[1]} for d=128, b=1e4, L_o=4096); openai/gpt-oss never does "
               f"({lo_f[0]:.4f}, {lo_f[1]:.4f}) and does not clamp (it asserts 0 < low < high < d/2 - 1); "
               f"HF's truncate=false skips floor/ceil but keeps the clamp to [0, dim - 1]. C follows HF (truncate "
               f"key, clamp kept); where the gpt-oss assertion holds the two agree (checked above).")
    out.append("yarn clamp: HF and jquesnelle/yarn clamp the range to [0, dim - 1] although the ramp runs over "
               "dim/2 pairs (dim - 1, not dim/2 - 1); C does the same.")
    out.append("yarn L_o and factor: HF up to ~4.45 takes the correction range from config.max_position_embeddings; "
               "later HF (and the YaRN authors) from original_max_position_embeddings, and HF 4.46-4.5x then "
               "replaces factor by max_position_embeddings / original_max_position_embeddings when the latter is "
               "in rope_scaling. C takes L_o = original_max and the explicit factor (the same numbers whenever "
               "max_position_embeddings = factor * L_o). DeepSeek's mscale/mscale_all_dim ratio is not in C.")
    out.append("yarn default attention factor for s <= 1: HF ~4.45 gives 0.1 ln s + 1 unguarded (< 1 for s < 1); "
               "later HF, jquesnelle/yarn and gpt-oss give 1. C gives 1 (and the config takes s >= 1).")
    out.append("llama3: Meta's apply_scaling (loop, llama3_1) and HF's vectorised _compute_llama3_parameters give "
               "the same frequencies, band edges included (checked above); C follows both.")
    out.append("longrope: HF derives the default attention factor from max_position_embeddings / "
               "original_max_position_embeddings when the config has the latter (Phi-3's convention, as "
               "microsoft/LongRoPE does); C uses its explicit factor. Same formula sqrt(1 + ln s / ln L_o).")
    out.append("dynamic: HF's dynamic_rope_update keeps the original frequencies for T <= L_o and rescales the "
               "base for T > L_o with seq_len = T; C does the same (T = the window length).")
    if T5_SPLITS:
        ex = ", ".join(f"(nb={nb}, md={md}, n={n}: float32 {a}, double {b})" for nb, md, n, a, b in T5_SPLITS[:4])
        out.append(f"t5: {len(T5_SPLITS)} distances where torch's float32 arithmetic gives another bucket than "
                   f"double arithmetic would (ln(n/max_exact) / ln(max_distance/max_exact) * k lands on an "
                   f"integer in exact arithmetic), e.g. {ex}; C computes in float32 like the published code.")
    else:
        out.append("t5: float32 (torch, as published) and double arithmetic give the same buckets on this grid.")
    return out


def main():
    if not os.access(DUMP, os.X_OK):
        print(f"rope_published: {DUMP} not built (make tests/rope_dump)")
        print("rope_published: 0 passed, 1 failed")
        return 1
    cases = grid()
    stdin = "\n".join(c.request for c in cases) + "\n"
    run = subprocess.run([DUMP], input=stdin, capture_output=True, text=True)
    lines = run.stdout.splitlines()
    passed = failed = 0
    if run.returncode != 0:
        print(f"rope_dump exited {run.returncode}: {run.stderr.strip()}")
        failed += 1
    for i, c in enumerate(cases):
        if i < len(lines):
            ok, msg = c.check(lines[i].split())
        else:
            ok, msg = False, "no output from rope_dump"
        passed += ok
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {c.label}: {msg}")
    if len(lines) > len(cases):
        print(f"FAIL rope_dump printed {len(lines) - len(cases)} lines more than requested")
        failed += 1
    print()
    for n in notes():
        print("NOTE " + n)
    print(f"rope_published: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
