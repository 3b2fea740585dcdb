#!/usr/bin/env python3
"""How much a perplexity moves when a model only changes its confidence.

Reads base files written by `presso ppl MODEL -f TEXT -c 128 --kl-divergence-base FILE`
(llama-perplexity's "_logits_" format, see src/eval/kld.h) and prints, per file, the
mean entropy of the saved next-token distributions and the perplexity of the scored
tokens after dividing the log-probabilities by a temperature T (T = 1: the file's own
perplexity, up to the format's floor: log-probs more than 16 below the maximum are
stored as that floor, which lowers the NLL of text far out of domain).

If softening a model (T > 1) lowers a text's perplexity by more than two quantizers
differ by, then comparing those quantizers by perplexity on that text ranks how
their errors happen to move confidence, not how faithful they are (KL divergence).

usage: bench/kld_temperature.py [--temps 1,1.05,1.1,1.2] FILE.kld...   (needs numpy)
"""
import argparse
import sys

import numpy as np


def load(path):
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    if raw.size < 20 or bytes(raw[:8]) != b"_logits_":
        sys.exit(f"kld_temperature: {path}: not a base log-probability file (no _logits_ magic)")
    n_ctx, n_vocab, n_chunk = (int(v) for v in np.frombuffer(bytes(raw[8:20]), dtype="<i4"))
    first = n_ctx // 2
    n_pos = n_ctx - 1 - first
    nv = 2 * ((n_vocab + 1) // 2) + 4
    head = 20 + 4 * n_chunk * n_ctx
    if n_ctx < 4 or n_vocab < 2 or n_chunk < 1 or raw.size != head + 2 * nv * n_chunk * n_pos:
        sys.exit(f"kld_temperature: {path}: header (ctx {n_ctx}, vocab {n_vocab}, chunks {n_chunk}) "
                 f"does not match the file size {raw.size}")
    tokens = np.frombuffer(raw[20:head], dtype="<i4").reshape(n_chunk, n_ctx)
    records = np.frombuffer(raw[head:], dtype="<u2").reshape(n_chunk * n_pos, nv)
    targets = tokens[:, first + 1:first + 1 + n_pos].reshape(-1)
    return records, targets, n_vocab


def measure(path, temps, batch=20000):
    records, targets, vocab = load(path)
    nll = dict.fromkeys(temps, 0.0)
    entropy = 0.0
    for s in range(0, len(targets), batch):
        r = records[s:s + batch]
        scale = r[:, 0:2].copy().view("<f4")[:, 0]
        floor = r[:, 2:4].copy().view("<f4")[:, 0]
        logp = r[:, 4:4 + vocab].astype(np.float64) * scale[:, None] + floor[:, None]
        t = targets[s:s + batch]
        for temp in temps:  # log softmax(logp / T) at the target
            z = logp / temp
            z -= z.max(axis=1, keepdims=True)
            nll[temp] -= (z[np.arange(len(t)), t] - np.log(np.exp(z).sum(axis=1))).sum()
        p = np.exp(logp)
        p /= p.sum(axis=1, keepdims=True)
        entropy -= (p * np.log(np.maximum(p, 1e-300))).sum()
    n = len(targets)
    return entropy / n, {temp: float(np.exp(v / n)) for temp, v in nll.items()}, n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--temps", default="1,1.05,1.1,1.2")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    temps = [float(v) for v in a.temps.split(",")]
    if any(not np.isfinite(t) or t <= 0 for t in temps):
        sys.exit("kld_temperature: --temps must be positive numbers")
    for path in a.files:  # every file checked before any output
        load(path)
    print("| file | scored tokens | mean entropy (nats) | " + " | ".join(f"ppl at T={t:g}" for t in temps) + " |")
    print("|---|---:|---:|" + "---:|" * len(temps))
    for path in a.files:
        h, ppl, n = measure(path, temps)
        print(f"| {path} | {n} | {h:.4f} | " + " | ".join(f"{ppl[t]:.2f}" for t in temps) + " |", flush=True)


if __name__ == "__main__":
    main()
