#!/usr/bin/env python3
"""Writes the golden reference logits for presso's forward pass.

The reference is Hugging Face transformers' LlamaForCausalLM in float32 with
eager attention on the CPU, run on the tinystories-656k model from the team's
shared directory. See tests/golden/README.md for the file format.

Usage (any Python with torch + transformers + tokenizers, e.g. the venv made by
    python3 -m venv ~/.cache/presso/torch-venv
    ~/.cache/presso/torch-venv/bin/pip install torch==2.13.0 transformers safetensors numpy):

    ~/.cache/presso/torch-venv/bin/python tests/golden/make_golden.py \
        [--model DIR] [--out tests/golden/tinystories656k_logits.bin]
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import tokenizers
import torch
import transformers
from tokenizers import Tokenizer
from transformers import AutoTokenizer, LlamaForCausalLM

PROMPT = "Once upon a time, there was a little girl named Lily."
N_GENERATE = 20
MAGIC = b"PRGL"
VERSION = 1

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
DEFAULT_MODEL = os.path.join(SOURCE_DIR, "..", "shared", "models", "tinystories-656k")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.environ.get("PRESSO_GOLDEN_MODEL", DEFAULT_MODEL))
    ap.add_argument("--out", default=os.path.join(HERE, "tinystories656k_logits.bin"))
    args = ap.parse_args()
    model_dir = os.path.realpath(args.model)
    if not os.path.isdir(model_dir):
        if os.path.isdir("/work/shared/models/tinystories-656k"):
            model_dir = "/work/shared/models/tinystories-656k"
        else:
            sys.exit(f"model directory {args.model} not found")

    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # fixed reduction order

    # The tokenizer exactly as tokenizer.json defines it: its post-processor
    # prepends BOS (<|start_story|> = 1).
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    ids = tok.encode(PROMPT).ids
    hf_ids = AutoTokenizer.from_pretrained(model_dir)(PROMPT)["input_ids"]
    if list(hf_ids) != list(ids):
        print(f"warning: AutoTokenizer gives {hf_ids}, tokenizer.json gives {ids}", file=sys.stderr)

    model = LlamaForCausalLM.from_pretrained(
        model_dir, torch_dtype=torch.float32, attn_implementation="eager")
    model.eval()
    vocab = model.config.vocab_size
    input_ids = torch.tensor([ids], dtype=torch.long)
    with torch.no_grad():
        logits = model(input_ids=input_ids).logits[0].to(torch.float32).numpy()
        assert logits.shape == (len(ids), vocab), logits.shape
        out = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                             do_sample=False, num_beams=1, max_new_tokens=N_GENERATE,
                             pad_token_id=model.config.eos_token_id)
        hf_generated = out[0, len(ids):].tolist()
        # generate() stops at EOS (this model writes the text "<|end_story|>"
        # and then EOS after 5 tokens). A generation test wants all 20, so
        # continue plain argmax decoding past EOS: each step re-runs the whole
        # sequence, the definition of greedy decoding, with no logits processors.
        seq = list(ids)
        for _ in range(N_GENERATE):
            step = model(input_ids=torch.tensor([seq], dtype=torch.long)).logits[0, -1]
            seq.append(int(torch.argmax(step)))
        generated = seq[len(ids):]
    assert generated[:len(hf_generated)] == hf_generated, (generated, hf_generated)
    # Greedy's first token must be the argmax of the last position's logits.
    assert generated[0] == int(np.argmax(logits[-1])), (generated[0], int(np.argmax(logits[-1])))

    with open(args.out + ".tmp", "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack("<III", VERSION, len(ids), vocab))
        f.write(np.asarray(ids, dtype="<i4").tobytes())
        f.write(np.ascontiguousarray(logits, dtype="<f4").tobytes())
        f.write(struct.pack("<I", len(generated)))
        f.write(np.asarray(generated, dtype="<i4").tobytes())
    os.replace(args.out + ".tmp", args.out)

    meta = {
        "prompt": PROMPT,
        "prompt_token_ids": ids,
        "greedy_token_ids": generated,
        "greedy_text": tok.decode(generated, skip_special_tokens=False),
        "hf_generate_token_ids": hf_generated,
        "hf_generate_note": "generate(do_sample=False, max_new_tokens=%d) stops at EOS; "
                            "greedy_token_ids continue argmax past it" % N_GENERATE,
        "argmax_per_position": [int(i) for i in np.argmax(logits, axis=1)],
        "model": "tinystories-656k (shared/models)",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "dtype": "float32",
        "attn_implementation": "eager",
    }
    json_path = os.path.splitext(args.out)[0] + ".json"
    with open(json_path, "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes) and {json_path}")
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
