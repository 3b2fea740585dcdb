"""Bit-exactness of presso's importance-weighted quantizers against
llama.cpp's, run by tests/test_imatrix_py.sh.

  1. kernels: real weight rows (tinystories-656k's token_embd from the F32
     GGUF presso writes, 128 wide, and seen as rows of 256 for the
     K-quants) plus seeded random rows, with a heavy-tailed importance
     vector, quantized by ggml_quantize_chunk (llama.cpp's own library as
     llama-cpp-python ships it) and by presso (test_imatrix --quantize):
     byte-identical for Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K Q5_K Q6_K;
  2. end to end (when llama-quantize is found): a synthetic 256-wide model,
     an importance matrix written in both of llama-imatrix's formats (GGUF
     and legacy .dat), quantized by `llama-quantize --imatrix` and by
     `presso quantize --method rtn --imatrix`: every blk.* tensor has the
     same bytes, and differs from the quantization without the matrix.

Exit 0 when all agree, 1 otherwise."""

import argparse
import ctypes
import glob
import os
import struct
import subprocess
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

TYPES = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"]
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def ggml_lib():
    import llama_cpp
    libdir = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
    for name in ("libggml-base.so", "libggml.so"):
        path = os.path.join(libdir, name)
        if os.path.exists(path):
            lib = ctypes.CDLL(path)
            if hasattr(lib, "ggml_quantize_chunk"):
                lib.ggml_quantize_chunk.restype = ctypes.c_size_t
                lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                                    ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
                return lib
    return None


def ggml_quantize(lib, qtype, rows, imat):
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    nrows, n = rows.shape
    out = np.zeros(nrows * n // block * size, dtype=np.uint8)
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    imat = np.ascontiguousarray(imat, dtype=np.float32)
    lib.ggml_quantize_chunk(int(qtype), rows.ctypes.data, out.ctypes.data, 0, nrows, n, imat.ctypes.data)
    return out.tobytes()


def presso_quantize(binary, tmp, name, rows, imat):
    x, im, out = (os.path.join(tmp, f) for f in ("rows.f32", "imat.f32", "out.bin"))
    np.ascontiguousarray(rows, dtype=np.float32).tofile(x)
    np.ascontiguousarray(imat, dtype=np.float32).tofile(im)
    r = subprocess.run([binary, "--quantize", name.lower(), str(rows.shape[1]), x, im, out], capture_output=True)
    if r.returncode != 0:
        return None
    return open(out, "rb").read()


def check_kernels(args, lib):
    rng = np.random.default_rng(7)
    sets = []
    f32 = os.path.join(args.tmp, "ts-f32.gguf")
    if args.shared and subprocess.run([args.presso, "convert", os.path.join(args.shared, "models/tinystories-656k"),
                                       f32, "--type", "f32"], capture_output=True).returncode == 0:
        emb = next(t for t in gguf.GGUFReader(f32).tensors if t.name == "token_embd.weight")
        w = np.array(emb.data, dtype=np.float32).reshape(-1, 128)[:512]
        sets.append(("tinystories-656k token_embd", w))
    sets.append(("random", rng.standard_normal((64, 512)).astype(np.float32) * 0.02))
    for label, w in sets:
        for name in TYPES:
            qtype = T[name]
            block = gguf.GGML_QUANT_SIZES[qtype][0]
            rows = w if w.shape[1] % block == 0 else w.reshape(-1, 256)
            imat = np.exp(2.0 * rng.standard_normal(rows.shape[1])).astype(np.float32)
            want = ggml_quantize(lib, qtype, rows, imat)
            got = presso_quantize(args.bin, args.tmp, name, rows, imat)
            if got != want:
                nb = gguf.GGML_QUANT_SIZES[qtype][1]
                bad = next((i for i in range(0, len(want), nb) if got is None or got[i:i + nb] != want[i:i + nb]), -1)
                fail(f"{label} {name}: presso's weighted blocks differ from ggml_quantize_chunk (first block {bad // nb})")
            elif want == ggml_quantize(lib, qtype, rows, np.ones_like(imat)) and name != "Q6_K":
                fail(f"{label} {name}: the importance changed nothing; the check would not see a wrong weighting")
        print(f"kernels: {label}, {len(TYPES)} types byte-identical with ggml_quantize_chunk + quant_weights")


def write_imatrix(path_gguf, path_dat, names, width_of, rng):
    """Both formats llama-imatrix writes, from the same sums and counts."""
    count = 640
    sums = {n: (np.exp(2.0 * rng.standard_normal(width_of[n])) * count).astype(np.float32) for n in names}
    w = gguf.GGUFWriter(path_gguf, arch="")
    w.add_type("imatrix")
    w.add_array("imatrix.datasets", ["synthetic"])
    w.add_uint32("imatrix.chunk_count", 5)
    w.add_uint32("imatrix.chunk_size", 128)
    for n in names:
        w.add_tensor(n + ".in_sum2", sums[n].reshape(1, -1))
        w.add_tensor(n + ".counts", np.array([[float(count)]], dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    ncall = 5
    with open(path_dat, "wb") as f:
        f.write(struct.pack("<i", len(names)))
        for n in sorted(names):
            f.write(struct.pack("<i", len(n)) + n.encode())
            vals = (sums[n] / np.float32(count)) * np.float32(ncall)
            f.write(struct.pack("<ii", ncall, len(vals)) + vals.astype(np.float32).tobytes())
        f.write(struct.pack("<i", ncall) + struct.pack("<i", 9) + b"synthetic")


def tensors(path):
    return {t.name: (int(t.tensor_type), bytes(np.asarray(t.data).tobytes())) for t in gguf.GGUFReader(path).tensors}


def check_end_to_end(args):
    lq = args.llama_quantize
    if not lq or not os.access(lq, os.X_OK):
        print("end to end: skipped (no llama-quantize; set LLAMA_QUANTIZE)")
        return
    tmp = args.tmp
    model = os.path.join(tmp, "synth.gguf")
    r = subprocess.run([args.presso, "synth", "--dim", "256", "--hidden", "512", "--layers", "1", "--heads", "4",
                        "--kv-heads", "2", "--vocab", "512", "--ctx", "256", "-o", model], capture_output=True, text=True)
    if r.returncode != 0:
        fail("presso synth: " + r.stderr[-300:])
        return
    src = {t.name: t for t in gguf.GGUFReader(model).tensors}
    names = sorted(n for n in src if n.startswith("blk.") and len(src[n].shape) == 2)
    width = {n: int(src[n].shape[0]) for n in names}
    im_gguf, im_dat = os.path.join(tmp, "m.imatrix.gguf"), os.path.join(tmp, "m.imatrix.dat")
    write_imatrix(im_gguf, im_dat, names, width, np.random.default_rng(11))
    checked = 0
    for name in TYPES:
        # the legacy format on two types: it differs from GGUF only in how the file is read
        for im in ((im_gguf, im_dat) if name in ("Q4_0", "Q3_K") else (im_gguf,)):
            lc, pr, plain = (os.path.join(tmp, f) for f in ("lc.gguf", "pr.gguf", "plain.gguf"))
            r = subprocess.run([lq, "--pure", "--imatrix", im, model, lc, name, "1"], capture_output=True, text=True)
            if r.returncode != 0:
                fail(f"llama-quantize {name} --imatrix {os.path.basename(im)}: {r.stderr[-300:]}")
                continue
            r = subprocess.run([args.presso, "quantize", model, pr, "--method", "rtn", "--type", name.lower(),
                                "--imatrix", im, "-t", "1"], capture_output=True, text=True)
            if r.returncode != 0:
                fail(f"presso quantize {name} --imatrix {os.path.basename(im)}: {r.stderr[-300:]}")
                continue
            if im == im_gguf:
                subprocess.run([args.presso, "quantize", model, plain, "--method", "rtn", "--type", name.lower()],
                               capture_output=True)
            a, b, c = tensors(lc), tensors(pr), tensors(plain)
            for n in names:
                if n not in a or n not in b:
                    fail(f"{name}: {n} missing")
                elif a[n] != b[n]:
                    fail(f"{name} ({os.path.basename(im)}): {n} differs from llama-quantize --imatrix "
                         f"(types {a[n][0]} vs {b[n][0]})")
                elif b[n] == c.get(n):
                    fail(f"{name}: {n} is the same with and without the importance matrix")
                else:
                    checked += 1
    print(f"end to end: {checked} tensors byte-identical with llama-quantize --imatrix (GGUF and legacy .dat)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--presso", required=True)
    ap.add_argument("--shared", default="")
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--llama-quantize", default="")
    args = ap.parse_args()
    lib = ggml_lib()
    if lib is None:
        print("skipped: llama-cpp-python's libggml with ggml_quantize_chunk not found")
        return 77
    check_kernels(args, lib)
    check_end_to_end(args)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
