"""Oracle for presso eval --task hellaswag: llama.cpp's rule re-implemented on
llama.cpp's own tokens and logits (llama-cpp-python), tools/perplexity/perplexity.cpp
hellaswag_score:
  - tasks drawn with std::mt19937(1) and libstdc++'s uniform_int_distribution
    (Lemire's method for a 32-bit engine), without replacement;
  - each ending tokenized as tokenize(context + " " + ending, add_special, no
    special parsing); the common prefix of the four sequences is skipped;
  - score = mean log-softmax over the tokens after the common prefix;
  - prediction = first argmax.
usage: eval_hellaswag_check.py MODEL.gguf DATA.txt PRESSO.json TOL
Exits non-zero (with the differences) when presso's tasks, predictions or
accuracy differ, or a score by more than TOL (llama.cpp keeps an F16 KV
cache and, for block types, rounds activations to 8 bits: scores agree to
~1e-3 on F32 weights, ~1e-2 on Q8_0)."""
import json
import sys

import llama_cpp
import numpy as np


class MT19937:
    def __init__(self, seed):
        self.s = [0] * 624
        self.s[0] = seed
        for i in range(1, 624):
            self.s[i] = (1812433253 * (self.s[i - 1] ^ (self.s[i - 1] >> 30)) + i) & 0xFFFFFFFF
        self.i = 624

    def next(self):
        if self.i >= 624:
            for k in range(624):
                y = (self.s[k] & 0x80000000) | (self.s[(k + 1) % 624] & 0x7FFFFFFF)
                self.s[k] = self.s[(k + 397) % 624] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
            self.i = 0
        y = self.s[self.i]
        self.i += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        y ^= y >> 18
        return y


def uniform_below(g, r):
    product = g.next() * r
    low = product & 0xFFFFFFFF
    if low < r:
        threshold = ((1 << 32) - r) % r
        while low < threshold:
            product = g.next() * r
            low = product & 0xFFFFFFFF
    return product >> 32


def main():
    model, data, presso_json, tol = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    lines = open(data, encoding="utf-8").read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    n_all = len(lines) // 6
    task = json.load(open(presso_json))["tasks"][0]
    items = task["items"]
    g = MT19937(1)
    left = list(range(n_all))
    order = []
    for _ in range(len(items)):
        order.append(left.pop(uniform_below(g, len(left))))
    errors = []
    if [it["line"] for it in items] != [6 * k + 1 for k in order]:
        errors.append("task order: presso %s, llama.cpp %s" % ([it["line"] for it in items][:8], [6 * k + 1 for k in order][:8]))
    llm = llama_cpp.Llama(model_path=model, n_ctx=512, n_batch=512, n_ubatch=512, logits_all=True, verbose=False,
                          n_threads=1, n_threads_batch=1)
    add_bos = bool(llama_cpp.llama_vocab_get_add_bos(llama_cpp.llama_model_get_vocab(llm.model)))
    correct = 0
    for it, k in zip(items, order):
        ctx, gold = lines[6 * k], int(lines[6 * k + 1])
        seqs = [llm.tokenize((ctx + " " + lines[6 * k + 2 + j]).encode(), add_bos=add_bos, special=False)
                for j in range(4)]
        cp = 0
        while all(cp < len(s) and s[cp] == seqs[0][cp] for s in seqs):
            cp += 1
        scores = []
        for s in seqs:
            llm.reset()
            llm.eval(s)
            rows = np.asarray(llm.scores[cp - 1:len(s) - 1], dtype=np.float64)
            m = rows.max(axis=1)
            lse = m + np.log(np.exp(rows - m[:, None]).sum(axis=1))
            lp = rows[np.arange(rows.shape[0]), np.asarray(s[cp:])] - lse
            scores.append(float(lp.mean()))
        pred = int(np.argmax(scores))
        correct += pred == gold
        if any(abs(a - b) > tol for a, b in zip(scores, it["scores"])) or pred != it["pred"]:
            errors.append("task at line %d: llama.cpp scores %s pred %d, presso %s pred %d"
                          % (6 * k + 1, [round(x, 5) for x in scores], pred, [round(x, 5) for x in it["scores"]], it["pred"]))
    acc = correct / len(items)
    if abs(acc - task["acc"]) > 1e-12:
        errors.append("acc: llama.cpp rule %.6f, presso %.6f" % (acc, task["acc"]))
    print(json.dumps({"n": len(items), "acc_oracle": acc, "acc_presso": task["acc"], "errors": len(errors)}))
    for e in errors:
        print(e, file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
