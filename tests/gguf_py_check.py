#!/usr/bin/env python3
"""Cross-check presso's GGUF reader and writer against the reference gguf-py.

usage: gguf_py_check.py TEST_GGUF_BINARY TMP_DIR [SHARED_DIR]

1. presso writes the sample (test_gguf --write-sample); gguf.GGUFReader must
   read back every key, type, value, tensor name, shape, type and byte.
2. gguf.GGUFWriter writes the same sample; presso must read it back
   (test_gguf --read-sample checks every value itself).
3. For both files and the shipped f32/f16 stories260K models, presso's
   canonical dump (test_gguf --dump) must equal one computed from GGUFReader.
The sample is defined twice, here and in tests/test_gguf.c: keep them equal.
"""
import os
import subprocess
import sys
import zlib

import numpy as np
from gguf import GGMLQuantizationType as QT
from gguf import GGUFReader, GGUFValueType as VT, GGUFWriter

SAMPLE_KV = [
    ("general.architecture", VT.STRING, None, "llama"),
    ("sample.u8", VT.UINT8, None, 200),
    ("sample.i8", VT.INT8, None, -100),
    ("sample.u16", VT.UINT16, None, 60000),
    ("sample.i16", VT.INT16, None, -30000),
    ("sample.u32", VT.UINT32, None, 4000000000),
    ("sample.i32", VT.INT32, None, -2000000000),
    ("sample.f32", VT.FLOAT32, None, 1.5),
    ("sample.bool", VT.BOOL, None, True),
    ("sample.string", VT.STRING, None, "h\u00e9llo w\u00f6rld"),
    ("sample.empty_string", VT.STRING, None, ""),
    ("sample.u64", VT.UINT64, None, 18000000000000000000),
    ("sample.i64", VT.INT64, None, -9000000000000000000),
    ("sample.f64", VT.FLOAT64, None, 3.141592653589793),
    ("sample.arr_u8", VT.ARRAY, VT.UINT8, [1, 2, 255]),
    ("sample.arr_i8", VT.ARRAY, VT.INT8, [-1, 0, 127]),
    ("sample.arr_u16", VT.ARRAY, VT.UINT16, [1, 65535]),
    ("sample.arr_i16", VT.ARRAY, VT.INT16, [-32768, 32767]),
    ("sample.arr_u32", VT.ARRAY, VT.UINT32, [0, 4294967295]),
    ("sample.arr_i32", VT.ARRAY, VT.INT32, [-5, 5, 7]),
    ("sample.arr_f32", VT.ARRAY, VT.FLOAT32, [0.5, -2.25, float(np.float32(1e30))]),
    ("sample.arr_bool", VT.ARRAY, VT.BOOL, [True, False, True]),
    ("sample.arr_str", VT.ARRAY, VT.STRING, ["a", "", "\u00fcn\u00ef"]),
    ("sample.arr_u64", VT.ARRAY, VT.UINT64, [1, 2**64 - 1]),
    ("sample.arr_i64", VT.ARRAY, VT.INT64, [-(2**63), 2**63 - 1]),
    ("sample.arr_f64", VT.ARRAY, VT.FLOAT64, [1e-300, -0.125]),
]

# (name, type, ne (ggml order), numpy array in numpy order = reversed ne)
SAMPLE_TENSORS = [
    ("t.f32", QT.F32, [3, 2],
     np.array([0.0, 0.5, 1.0, -1.5, 2.0, 1e-3], dtype=np.float32).reshape(2, 3)),
    ("t.f16", QT.F16, [4], np.array([0x3C00, 0xC000, 0x0001, 0x7BFF], dtype=np.uint16).view(np.float16)),
    ("t.stream", QT.F32, [2, 1, 3, 2],
     (np.arange(12, dtype=np.float32) * np.float32(0.25) - np.float32(1.0)).reshape(2, 3, 1, 2)),
    ("t.bf16", QT.BF16, [2, 2, 2],
     np.array([0x3F80, 0xBF80, 0x4000, 0, 1, 0x7F7F, 0x0080, 0xC2F7], dtype=np.uint16).reshape(2, 2, 2)),
]

failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what, file=sys.stderr)


def user_fields(reader):
    return [f for f in reader.fields.values() if not f.name.startswith("GGUF.")]


def elem_type(field):
    if len(field.types) > 1:
        return field.types[1]
    return VT(int(field.parts[3][0]))  # empty array: [key_len, key, type, elem_type, count]


def field_value(field):
    t = field.types[0]
    if t == VT.STRING:
        return bytes(field.parts[field.data[0]]).decode("utf-8")
    if t == VT.ARRAY:
        if elem_type(field) == VT.STRING:
            return [bytes(field.parts[i]).decode("utf-8") for i in field.data]
        return [field.parts[i][0].item() for i in field.data]
    return field.parts[field.data[0]][0].item()


def check_sample(path, who):
    r = GGUFReader(path)
    fields = user_fields(r)
    check([f.name for f in fields] == [k for k, *_ in SAMPLE_KV],
          f"{who}: keys {[f.name for f in fields]}")
    by_name = {f.name: f for f in fields}
    for key, vtype, etype, value in SAMPLE_KV:
        f = by_name.get(key)
        if f is None:
            check(False, f"{who}: missing {key}")
            continue
        check(f.types[0] == vtype, f"{who}: {key}: type {f.types[0]!r}, expected {vtype!r}")
        if etype is not None:
            check(elem_type(f) == etype, f"{who}: {key}: element type {elem_type(f)!r}, expected {etype!r}")
        got = field_value(f)
        if vtype == VT.BOOL or etype == VT.BOOL:
            got = [bool(x) for x in got] if isinstance(got, list) else bool(got)
        check(got == value, f"{who}: {key}: value {got!r}, expected {value!r}")
    check(len(r.tensors) == len(SAMPLE_TENSORS), f"{who}: {len(r.tensors)} tensors")
    alignment = 32
    for t, (name, qtype, ne, arr) in zip(r.tensors, SAMPLE_TENSORS):
        check(t.name == name, f"{who}: tensor {t.name}, expected {name}")
        check(t.tensor_type == qtype, f"{who}: {name}: type {t.tensor_type!r}, expected {qtype!r}")
        check([int(x) for x in t.shape] == ne, f"{who}: {name}: shape {list(t.shape)}, expected {ne}")
        check(t.data.tobytes() == arr.tobytes(), f"{who}: {name}: bytes differ")
        check(t.data_offset % alignment == 0, f"{who}: {name}: data offset {t.data_offset} unaligned")


def write_sample_with_gguf_py(path):
    w = GGUFWriter(path, "llama")  # writes general.architecture first
    scalar = {
        VT.UINT8: w.add_uint8, VT.INT8: w.add_int8, VT.UINT16: w.add_uint16, VT.INT16: w.add_int16,
        VT.UINT32: w.add_uint32, VT.INT32: w.add_int32, VT.FLOAT32: w.add_float32, VT.BOOL: w.add_bool,
        VT.STRING: w.add_string, VT.UINT64: w.add_uint64, VT.INT64: w.add_int64, VT.FLOAT64: w.add_float64,
    }
    for key, vtype, etype, value in SAMPLE_KV[1:]:
        if vtype == VT.ARRAY:
            w.add_key_value(key, value, VT.ARRAY, sub_type=etype)
        elif value == "":
            w.add_key_value(key, value, VT.STRING)  # add_string() drops empty strings
        else:
            scalar[vtype](key, value)
    for name, qtype, _, arr in SAMPLE_TENSORS:
        w.add_tensor(name, arr, raw_dtype=qtype if qtype == QT.BF16 else None)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def py_scalar(vtype, part):
    if vtype == VT.FLOAT32:
        return "f%08x" % int(part.view(np.uint32)[0])
    if vtype == VT.FLOAT64:
        return "d%016x" % int(part.view(np.uint64)[0])
    return str(int(part[0]))


def py_dump(path):
    r = GGUFReader(path)
    lines = []
    for f in user_fields(r):
        t = f.types[0]
        line = f"kv {f.name} {int(t)} "
        if t == VT.STRING:
            line += '"' + bytes(f.parts[f.data[0]]).hex() + '"'
        elif t == VT.ARRAY:
            et = elem_type(f)
            if et == VT.STRING:
                elems = ['"' + bytes(f.parts[i]).hex() + '"' for i in f.data]
            else:
                elems = [py_scalar(et, f.parts[i]) for i in f.data]
            line += f"{int(et)} [" + ",".join(elems) + "]"
        else:
            line += py_scalar(t, f.parts[f.data[0]])
        lines.append(line)
    for t in r.tensors:
        data = t.data.tobytes()
        lines.append(f"tensor {t.name} {int(t.tensor_type)} [{','.join(str(int(x)) for x in t.shape)}] "
                     f"{int(t.data_offset)} {len(data)} {zlib.crc32(data):08x}")
    return lines


def compare_dumps(binary, path):
    out = subprocess.run([binary, "--dump", path], capture_output=True, text=True)
    check(out.returncode == 0, f"dump {path}: rc {out.returncode}: {out.stderr.strip()}")
    ours, theirs = out.stdout.splitlines(), py_dump(path)
    check(len(ours) == len(theirs), f"dump {path}: {len(ours)} lines vs gguf-py {len(theirs)}")
    for a, b in zip(ours, theirs):
        if a != b:
            check(False, f"dump {path}:\n  presso: {a[:200]}\n  gguf-py: {b[:200]}")
            break


def main():
    binary, tmp = sys.argv[1], sys.argv[2]
    shared = sys.argv[3] if len(sys.argv) > 3 else ""

    ours = os.path.join(tmp, "presso-sample.gguf")
    rc = subprocess.run([binary, "--write-sample", ours]).returncode
    check(rc == 0, f"--write-sample rc {rc}")
    if rc == 0:
        check_sample(ours, "presso-written")
        compare_dumps(binary, ours)

    theirs = os.path.join(tmp, "gguf-py-sample.gguf")
    write_sample_with_gguf_py(theirs)
    check_sample(theirs, "gguf-py-written")  # the sample itself is right
    out = subprocess.run([binary, "--read-sample", theirs], capture_output=True, text=True)
    check(out.returncode == 0, f"--read-sample rc {out.returncode}:\n{out.stderr}{out.stdout}")
    compare_dumps(binary, theirs)

    models = os.path.join(shared, "models/stories260K/gguf-by-llama.cpp")
    for name in ("stories260K-f32.gguf", "stories260K-f16.gguf"):
        path = os.path.join(models, name)
        if shared and os.path.exists(path):
            compare_dumps(binary, path)

    print(f"gguf-py cross-check: {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
