#!/usr/bin/env python3
"""Reference perplexity computed by llama.cpp itself (through llama-cpp-python),
following llama-perplexity's protocol, for cross-checking `presso ppl --protocol llamacpp`.

usage: ppl_llamacpp_check.py MODEL.gguf TEXT CTX [--chunks N] [--threads T]
prints one JSON object: {ppl, ppl_err, n_tokens, n_chunks, n_scored, ctx, add_bos, seconds}

Protocol (llama.cpp tools/perplexity/perplexity.cpp, perplexity()):
  - tokenize the whole text, BOS prepended iff the vocab's add_bos, special=False;
  - n_chunks = n_tokens // ctx (capped by --chunks);
  - each chunk is evaluated from an empty KV cache; its first token is replaced by
    BOS when add_bos;
  - positions j = ctx/2 .. ctx-2 are scored: -log softmax(logits[j])[tok[j+1]],
    accumulated in double;
  - ppl = exp(mean nll), err = ppl * sqrt((mean(nll^2) - mean^2) / (count - 1)).
"""
import argparse
import json
import math
import sys
import time

import numpy as np
import llama_cpp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("text")
    ap.add_argument("ctx", type=int)
    ap.add_argument("--chunks", type=int, default=-1)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    ctx = a.ctx
    t0 = time.time()
    llm = llama_cpp.Llama(model_path=a.model, n_ctx=ctx, n_batch=ctx, n_ubatch=ctx,
                          logits_all=True, verbose=False,
                          n_threads=a.threads, n_threads_batch=a.threads)
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    add_bos = bool(llama_cpp.llama_vocab_get_add_bos(vocab))
    bos = llama_cpp.llama_vocab_bos(vocab)

    with open(a.text, "rb") as f:
        text = f.read()
    tokens = llm.tokenize(text, add_bos=add_bos, special=False)
    n_tokens = len(tokens)
    n_chunks = n_tokens // ctx
    if a.chunks >= 0:
        n_chunks = min(n_chunks, a.chunks)
    if n_chunks < 1:
        sys.exit(f"{a.text}: {n_tokens} tokens, need at least {ctx}")

    first = ctx // 2
    nll = 0.0
    nll2 = 0.0
    count = 0
    for i in range(n_chunks):
        start = i * ctx
        chunk = list(tokens[start:start + ctx])
        if add_bos:
            chunk[0] = bos
        llm.reset()  # n_tokens = 0: eval() then removes the whole KV cache
        llm.eval(chunk)
        logits = np.asarray(llm.scores[:ctx], dtype=np.float64)
        rows = logits[first:ctx - 1]
        m = rows.max(axis=1)
        lse = m + np.log(np.exp(rows - m[:, None]).sum(axis=1))
        targets = np.asarray(tokens[start + first + 1:start + ctx], dtype=np.int64)
        v = lse - rows[np.arange(rows.shape[0]), targets]
        nll += float(v.sum())
        nll2 += float((v * v).sum())
        count += v.shape[0]

    mean = nll / count
    mean2 = nll2 / count
    ppl = math.exp(mean)
    var = mean2 - mean * mean
    err = ppl * math.sqrt(var / (count - 1)) if var > 0 and count > 1 else 0.0
    print(json.dumps({"ppl": ppl, "ppl_err": err, "n_tokens": n_tokens, "n_chunks": n_chunks,
                      "n_scored": count, "ctx": ctx, "add_bos": add_bos,
                      "seconds": time.time() - t0}))


if __name__ == "__main__":
    main()
