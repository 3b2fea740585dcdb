"""Bit-exactness of presso's reference quantizers and dequantizers against
llama.cpp's gguf-py (gguf.quants), run by tests/test_quants_py.sh.

  1. quantize: seeded random and adversarial float rows, quantized by presso
     (test_quants --quantize) and by gguf.quants.quantize, for every type
     gguf-py can quantize: the blocks must be byte-identical;
  2. dequantize: presso's own blocks plus random-byte blocks, for every type
     gguf-py can dequantize: the floats must be bit-identical (nan only
     where gguf-py has nan);
  3. real tensors: the quantized tensors of the llama.cpp-written
     stories260K GGUFs, dequantized by both (bit-identical), and requantized
     by presso from the f32 GGUF of the same model (byte-identical to what
     llama-quantize wrote).

Exit 0 when all agree, 1 otherwise; prints which types were checked how."""

import argparse
import os
import subprocess
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf import quants

PRESSO_TYPES = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q8_1",
                "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K"]

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def gguf_can(fn, qtype):
    """Whether gguf-py implements quantize / dequantize for the type."""
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    try:
        if fn == "quantize":
            quants.quantize(np.zeros((1, block), np.float32), qtype)
        else:
            quants.dequantize(np.zeros((1, size), np.uint8), qtype)
        return True
    except NotImplementedError:
        return False


class Presso:
    def __init__(self, binary, tmp):
        self.binary, self.tmp = binary, tmp

    def run(self, mode, name, data, out_dtype):
        src = os.path.join(self.tmp, "in.bin")
        dst = os.path.join(self.tmp, "out.bin")
        np.ascontiguousarray(data).tofile(src)
        subprocess.run([self.binary, mode, name, src, dst], check=True)
        return np.fromfile(dst, dtype=out_dtype)

    def quantize(self, qtype, x):
        return self.run("--quantize", qtype.name, x.astype(np.float32), np.uint8)

    def dequantize(self, qtype, blocks):
        return self.run("--dequantize", qtype.name, blocks.view(np.uint8), np.float32)


def rows(rng):
    """name -> float32 rows of 4096 (16 super-blocks, 128 small blocks)."""
    n = 4096
    out = {
        "normal": rng.standard_normal(n) * 0.02,
        "uniform": rng.uniform(-3, 3, n),
        "positive": rng.uniform(0, 1, n),
        "heavy-tail": rng.standard_t(2, n),
        "log-range 1e-30..1e4": np.sign(rng.standard_normal(n)) * 10.0 ** rng.uniform(-30, 4, n),
        "tiny 1e-6": rng.standard_normal(n) * 1e-6,
        "subnormal-scale 1e-9": rng.standard_normal(n) * 1e-9,
        # So small that id = 1/d overflows: llama.cpp's casts of +-inf/nan,
        # as x86 executes them (presso reproduces that, see cvt_i8).
        "near-subnormal 1e-39": rng.standard_normal(n) * 1e-39,
        "sparse": rng.standard_normal(n) * (rng.uniform(size=n) < 0.05),
        "integers": rng.integers(-40, 40, n),
        "eighths": (rng.integers(-40, 40, n) + 0.5) / 8,
        "zeros": np.zeros(n),
        "constant": np.full(n, 0.7),
        "negative constant": np.full(n, -3.25),
    }
    outlier = rng.standard_normal(n)
    outlier[n // 3] = 100.0
    out["outlier"] = outlier
    # One huge value per block among tiny ones: fp16 scales near the top of their range.
    spiky = rng.standard_normal(n) * 1e-3
    spiky[::32] = rng.uniform(-6e4, 6e4, n // 32)
    out["spiky 6e4"] = spiky
    # Q4_0/Q5_0 rounding boundaries: x*id lands within a few ulps of k + 0.5,
    # where fused and unfused x*id + 8.5f disagree.
    k = rng.integers(-8, 8, (n // 32, 32)) + 0.5
    scale = rng.uniform(0.01, 10, (n // 32, 1))
    b = k * scale
    b[:, 0] = -8 * scale[:, 0]
    out["half-level boundaries"] = (b * (1 + rng.uniform(-3e-7, 3e-7, b.shape))).ravel()
    return {name: np.asarray(v, dtype=np.float32) for name, v in out.items()}


def same_floats(a, b):
    """Bit-identical, except that any nan matches any nan (payloads differ between C and numpy)."""
    a = np.asarray(a, np.float32).ravel()
    b = np.asarray(b, np.float32).ravel()
    if a.shape != b.shape:
        return np.zeros(max(a.size, b.size), bool)
    eq = a.view(np.uint32) == b.view(np.uint32)
    return eq | (np.isnan(a) & np.isnan(b))


# Byte offsets of the fp16 fields (d, and m for the _1 types) of the blocks gguf-py quantizes.
FP16_FIELDS = {"Q4_0": [0], "Q5_0": [0], "Q8_0": [0], "Q4_1": [0, 2], "Q5_1": [0, 2]}
signed_zero_blocks = {}


def check_quantize(presso, qtype, data):
    """Byte-identical blocks, with one known gguf-py deviation: where a scale
    or min is zero because the block's max or min is a zero (all-zero blocks,
    or Q4_1/Q5_1 blocks whose smallest value is 0), ggml's loops keep the sign
    of their +0 seed or of the first zero, numpy's argmax/min that of another
    zero, so the fp16 field is -0 in one and +0 in the other. presso follows
    ggml (checked against ggml-quants.c itself); such blocks are compared with
    +0 == -0 in those fields and counted apart."""
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    total_bad = 0
    # one presso run for all rows (each row is whole blocks), split afterwards
    all_got = presso.quantize(qtype, np.concatenate(list(data.values()))).reshape(-1, size)
    start = 0
    for name, x in data.items():
        want = quants.quantize(x.reshape(-1, block * 8), qtype).reshape(-1, size)
        got = all_got[start:start + len(want)]
        start += len(want)
        diff = want != got
        for off in FP16_FIELDS.get(qtype.name, []):
            fw = want[:, off].astype(np.uint16) | want[:, off + 1].astype(np.uint16) << 8
            fg = got[:, off].astype(np.uint16) | got[:, off + 1].astype(np.uint16) << 8
            zeros = ((fw & 0x7FFF) == 0) & ((fg & 0x7FFF) == 0) & (fw != fg)
            others = np.delete(diff, [off, off + 1], axis=1).any(axis=1)
            signed_zero_blocks[qtype.name] = signed_zero_blocks.get(qtype.name, 0) + int((zeros & ~others).sum())
            diff[zeros, off:off + 2] = False
        bad = np.nonzero(diff.any(axis=1))[0]
        if len(bad):
            i = bad[0]
            fail(f"quantize {qtype.name} {name}: {len(bad)}/{len(want)} blocks differ; "
                 f"block {i}: gguf-py {want[i][:12].tolist()}... presso {got[i][:12].tolist()}...")
        total_bad += len(bad)
    return total_bad


def check_dequantize(presso, qtype, blocks, what):
    size = gguf.GGML_QUANT_SIZES[qtype][1]
    blocks = np.ascontiguousarray(blocks, np.uint8).reshape(-1, size)
    with np.errstate(all="ignore"):
        want = quants.dequantize(blocks, qtype).ravel()
    got = presso.dequantize(qtype, blocks)
    ok = same_floats(want, got)
    if not ok.all():
        i = int(np.argmin(ok))
        fail(f"dequantize {qtype.name} {what}: {int((~ok).sum())}/{ok.size} floats differ; "
             f"first at {i}: gguf-py {want[i]!r} presso {got[i]!r}")
    return ok.size


def check_real_tensors(presso, shared, deq_types):
    model_dir = os.path.join(shared, "models", "stories260K", "gguf-by-llama.cpp")
    f32_path = os.path.join(model_dir, "stories260K-f32.gguf")
    if not os.path.exists(f32_path):
        print(f"real tensors: skipped, {model_dir} not present")
        return
    f32 = {t.name: t for t in gguf.GGUFReader(f32_path).tensors}
    for variant in ["q4_0", "q8_0", "q4_k_m"]:
        reader = gguf.GGUFReader(os.path.join(model_dir, f"stories260K-{variant}.gguf"))
        by_type = {}
        for t in reader.tensors:
            if t.tensor_type.name in PRESSO_TYPES:
                by_type.setdefault(t.tensor_type, []).append(t)
        summary = []
        for qtype, tensors in by_type.items():
            # Blocks are independent, so each type's tensors go through presso in one run.
            raw = [np.ascontiguousarray(t.data).view(np.uint8).ravel() for t in tensors]
            if qtype in deq_types:
                check_dequantize(presso, qtype, np.concatenate(raw), f"{variant}: {len(raw)} {qtype.name} tensors")
            # llama-quantize (no imatrix) ran the _ref quantizer on the f32 weights.
            pairs = [(t, r) for t, r in zip(tensors, raw) if t.name in f32 and f32[t.name].tensor_type == T.F32]
            src = np.concatenate([np.asarray(f32[t.name].data, np.float32).ravel() for t, _ in pairs])
            got = presso.quantize(qtype, src)
            want = np.concatenate([r for _, r in pairs])
            if not np.array_equal(got, want):
                fail(f"requantize {variant} {qtype.name}: presso's bytes from the f32 weights "
                     "differ from llama-quantize's")
            summary.append(f"{qtype.name} x{len(tensors)} (requantized from f32: {len(pairs)})")
        print(f"real tensors {variant}: " + ", ".join(summary))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--shared", default="")
    ap.add_argument("--tmp", required=True)
    args = ap.parse_args()
    presso = Presso(args.bin, args.tmp)
    rng = np.random.default_rng(20240611)
    data = rows(rng)

    types = [getattr(T, name) for name in PRESSO_TYPES if hasattr(T, name)]
    q_types = [t for t in types if gguf_can("quantize", t)]
    d_types = [t for t in types if gguf_can("dequantize", t)]
    try:
        from importlib.metadata import version
        gguf_version = version("gguf")
    except Exception:
        gguf_version = "?"
    print(f"gguf {gguf_version} from {os.path.dirname(gguf.__file__)}, numpy {np.__version__}")

    for qtype in q_types:
        with np.errstate(all="ignore"):
            bad = check_quantize(presso, qtype, data)
        n_blocks = sum(x.size for x in data.values()) // gguf.GGML_QUANT_SIZES[qtype][0]
        zs = signed_zero_blocks.get(qtype.name, 0)
        print(f"quantize   {qtype.name:5s} byte-identical: {n_blocks - bad}/{n_blocks} blocks"
              + (f" ({zs} of them up to +0 vs -0 in a zero d/m, see check_quantize)" if zs else ""))

    for qtype in d_types:
        block, size = gguf.GGML_QUANT_SIZES[qtype]
        # presso's blocks of all rows, then arbitrary bytes: every bit pattern
        # of scales and levels (fp16 inf/nan scales included).
        own = presso.quantize(qtype, np.concatenate(list(data.values()))).reshape(-1, size)
        rand = rng.integers(0, 256, (512, size), dtype=np.uint8)
        n = check_dequantize(presso, qtype, np.concatenate([own, rand]), "of presso blocks + random bytes")
        print(f"dequantize {qtype.name:5s} bit-identical floats checked: {n}")

    check_real_tensors(presso, args.shared, d_types)

    print("quantize checked against gguf-py:  ", " ".join(t.name for t in q_types))
    print("dequantize checked against gguf-py:", " ".join(t.name for t in d_types))
    print("not in gguf-py (checked in C only):", " ".join(t.name for t in types if t not in d_types))
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("all agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
