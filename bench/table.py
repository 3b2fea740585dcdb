#!/usr/bin/env python3
"""Helpers for bench/run_bench.sh (python3 standard library only).

  table.py copybw                    STREAM-like copy bandwidth of a 1 GiB buffer, as JSON
  table.py report WORK OUT.json [OUT.md]
                                     collect the raw outputs in WORK (written by
                                     run_bench.sh), print the markdown table, write JSON
"""
import json
import math
import os
import re
import struct
import sys
import time


def copybw(n=1 << 30, tries=5):
    # Both buffers are touched before timing so that no page fault lands in the
    # timed copy; memoryview slice assignment is one memcpy. STREAM counts a copy
    # as 2 bytes moved (read + write) per byte, so do we.
    src = bytearray(b"\x01") * n
    dst = bytearray(b"\x02") * n
    ms, md = memoryview(src), memoryview(dst)
    best = float("inf")
    for _ in range(tries):
        t0 = time.perf_counter()
        md[:] = ms
        best = min(best, time.perf_counter() - t0)
    return {"method": "python3 memoryview copy of 1 GiB, best of %d" % tries,
            "bytes": n, "seconds": best, "copy_GBps": 2 * n / best / 1e9}


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def last_error(text):
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    for l in reversed(lines):
        if re.search(r"error|fail|unable|invalid|cannot|not supported", l, re.I):
            return l[:300]
    return lines[-1][:300] if lines else "no output"


def load_presso(work, rid):
    rc = read_text(os.path.join(work, rid + ".presso.rc")).strip()
    out = read_json(os.path.join(work, rid + ".presso.json"))
    if rc != "0" or not isinstance(out, dict):
        return {"ok": False, "rc": rc,
                "error": last_error(read_text(os.path.join(work, rid + ".presso.err")))}
    out["ok"] = True
    return out


def load_llama(work, rid):
    rcpath = os.path.join(work, rid + ".llama.rc")
    if not os.path.exists(rcpath):
        return None
    rc = read_text(rcpath).strip()
    out = read_json(os.path.join(work, rid + ".llama.json"))
    if rc != "0" or not isinstance(out, list) or not out:
        return {"ok": False, "rc": rc,
                "error": last_error(read_text(os.path.join(work, rid + ".llama.err")))}
    r = {"ok": True, "raw": out}
    for e in out:
        if e.get("n_prompt", 0) > 0 and e.get("n_gen", 0) == 0:
            r["pp_tps"], r["pp_tps_sd"] = e.get("avg_ts"), e.get("stddev_ts")
        elif e.get("n_gen", 0) > 0 and e.get("n_prompt", 0) == 0:
            r["tg_tps"], r["tg_tps_sd"] = e.get("avg_ts"), e.get("stddev_ts")
    m = re.search(r"maxrss_kb=(\d+)", read_text(os.path.join(work, rid + ".llama.rss")))
    if m:
        r["peak_rss_bytes"] = int(m.group(1)) * 1024
    e = out[0]
    r["version"] = {k: e.get(k) for k in ("build_commit", "build_number", "cpu_info", "backends", "model_type")}
    return r


# GGUF tensor types: (elements per block, bytes per block), as ggml's type traits.
GGML_BLOCKS = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
               9: (32, 36), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
               15: (256, 292), 30: (1, 2)}


def gguf_tensor_bytes(path):
    """{tensor name: bytes} from a GGUF file's header (v2/v3), or None."""
    scalar = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"GGUF":
                return None
            version, n_tensors, n_kv = struct.unpack("<IQQ", f.read(20))
            if version < 2:
                return None

            def string():
                (n,) = struct.unpack("<Q", f.read(8))
                return f.read(n)

            def skip(vtype):
                if vtype in scalar:
                    f.seek(scalar[vtype], 1)
                elif vtype == 8:
                    string()
                elif vtype == 9:
                    etype, count = struct.unpack("<IQ", f.read(12))
                    if etype in scalar:
                        f.seek(scalar[etype] * count, 1)
                    else:
                        for _ in range(count):
                            skip(etype)
                else:
                    raise ValueError("GGUF value type %d" % vtype)

            for _ in range(n_kv):
                string()
                (vtype,) = struct.unpack("<I", f.read(4))
                skip(vtype)
            out = {}
            for _ in range(n_tensors):
                name = string().decode("utf-8", "replace")
                (nd,) = struct.unpack("<I", f.read(4))
                dims = struct.unpack("<%dQ" % nd, f.read(8 * nd))
                ttype, _offset = struct.unpack("<IQ", f.read(12))
                per, nbytes = GGML_BLOCKS[ttype]
                out[name] = math.prod(dims) // per * nbytes
            return out
    except (OSError, struct.error, ValueError, KeyError):
        return None


def bytes_per_token_gguf(path, info):
    """Weight bytes one generated token reads, from the file's own tensor
    sizes: every tensor once, except only one row of token_embd (unless the
    embedding is also the classifier)."""
    sizes = gguf_tensor_bytes(path)
    if not sizes:
        return None
    total = sum(sizes.values())
    emb = sizes.get("token_embd.weight")
    if emb and "output.weight" in sizes and info.get("vocab_size"):
        total -= emb - emb // info["vocab_size"]
    return total


def bytes_per_token(info):
    """Weight bytes one generated token reads: every matrix once, but only one row
    of the token embedding (KV-cache traffic is negligible at these contexts)."""
    try:
        wb, n = info["weight_bytes"], info["n_params"]
        emb = info["vocab_size"] * info["dim"]
        per = wb / n
        if info.get("tied_embeddings"):
            return wb  # the embedding is also the classifier: read in full
        return wb - (emb - info["dim"]) * per
    except (KeyError, TypeError, ZeroDivisionError):
        return None


def pooled(runs, key):
    """Mean and sample sd over all timings of several runs of `reps` each,
    from each run's mean and sd (exact pooling)."""
    got = [(r[key], r.get(key + "_sd") or 0.0, r.get("_reps", 1)) for r in runs if r.get(key) is not None]
    if not got:
        return None, None
    n = sum(k for _, _, k in got)
    mean = sum(m * k for m, _, k in got) / n
    if n < 2:
        return mean, 0.0
    ss = sum((k - 1) * sd * sd + k * (m - mean) ** 2 for m, sd, k in got)
    return mean, math.sqrt(ss / (n - 1))


def merge_rounds(runs, reps):
    """One result from the rounds of one tool (None when the tool did not run)."""
    runs = [r for r in runs if r is not None]
    if not runs:
        return None
    bad = [r for r in runs if not r.get("ok")]
    if bad:
        return bad[0]
    if len(runs) == 1:
        return runs[0]
    for r in runs:
        r["_reps"] = reps
    out = dict(runs[0])
    for key in ("pp_tps", "tg_tps"):
        out[key], out[key + "_sd"] = pooled(runs, key)
    rss = [r.get("peak_rss_bytes") for r in runs if r.get("peak_rss_bytes")]
    out["peak_rss_bytes"] = max(rss) if rss else None
    out["rounds"] = [{k: r.get(k) for k in ("pp_tps", "pp_tps_sd", "tg_tps", "tg_tps_sd")} for r in runs]
    out.pop("raw", None)
    for r in runs:
        r.pop("_reps", None)
    return out


def fmt_tps(v, sd):
    if v is None:
        return "–"
    if v >= 100:
        return "%.0f ± %.0f" % (v, sd or 0)
    return "%.2f ± %.2f" % (v, sd or 0)


def fmt_mib(b):
    return "–" if not b else "%.0f MiB" % (b / 1048576) if b >= 100 * 1048576 else "%.1f MiB" % (b / 1048576)


def report(work, out_json, out_md=None):
    machine = {}
    for line in read_text(os.path.join(work, "machine.txt")).splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            machine[k] = v
    notes = [l for l in read_text(os.path.join(work, "notes.txt")).splitlines() if l.strip()]

    dd = read_text(os.path.join(work, "dd.txt"))
    m = re.search(r"([\d.]+) (GB|MB)/s", dd)
    ddbw = None
    if m:
        ddbw = float(m.group(1)) * (1 if m.group(2) == "GB" else 1e-3)
    copy = read_json(os.path.join(work, "copybw.json")) or {}
    membw = read_json(os.path.join(work, "membw.json")) or {}
    read_bw = membw.get("read_GBps") or {}

    rows = []
    llama_version = None
    reps = int(machine.get("reps", 1) or 1)
    for line in read_text(os.path.join(work, "manifest.tsv")).splitlines():
        rid, label, typ, threads, path, gguf, ngen, nprompt, rounds = line.split("\t")
        ids = ["%s.k%d" % (rid, k) for k in range(1, int(rounds) + 1)]
        p = merge_rounds([load_presso(work, i) for i in ids], reps)
        l = merge_rounds([load_llama(work, i) for i in ids], reps)
        info = read_json(os.path.join(work, rid + ".info.json")) or {}
        if l and l.get("ok") and not llama_version:
            llama_version = l["version"]
        bpt = (bytes_per_token_gguf(path, info) if gguf == "1" else None) or bytes_per_token(info)
        row = {"model": label, "type": typ, "threads": int(threads), "file": path,
               "gguf": gguf == "1", "n_prompt": int(nprompt), "n_gen": int(ngen), "reps": reps,
               "rounds": int(rounds), "bytes_per_token": bpt, "presso": p, "llama_cpp": l}
        bw = read_bw.get(threads)
        # A bound only where the weights are far larger than any cache.
        if bw and bpt and bpt > 256 * 1048576:
            row["read_GBps"] = bw
            row["tg_bound_tps"] = bw * 1e9 / bpt
        for who, r in (("presso", p), ("llama_cpp", l)):
            if r and r.get("ok") and bpt and r.get("tg_tps"):
                r["effective_GBps"] = bpt * r["tg_tps"] / 1e9
                if row.get("tg_bound_tps"):
                    r["tg_pct_of_bound"] = 100 * r["tg_tps"] / row["tg_bound_tps"]
        rows.append(row)

    kernels = next((r["presso"].get("kernels") for r in rows if r["presso"].get("ok")), None)
    head = ("| model | type | threads | presso pp t/s | llama.cpp pp t/s | pp ratio | presso tg t/s "
            "| llama.cpp tg t/s | tg ratio | tg bound t/s | presso / llama.cpp % of bound "
            "| presso peak RSS | llama.cpp peak RSS |")
    lines = [head, "|" + "---|" * 13]
    for r in rows:
        p, l = r["presso"], r["llama_cpp"]
        if p.get("ok"):
            ppp, ptg, prss = fmt_tps(p["pp_tps"], p["pp_tps_sd"]), fmt_tps(p["tg_tps"], p["tg_tps_sd"]), fmt_mib(p["peak_rss_bytes"])
        else:
            ppp = ptg = "failed (rc %s)" % p.get("rc")
            prss = "–"
        pratio = "–"
        if l is None:
            lpp = ltg = lrss = "n/a" if not r["gguf"] else "–"
            ratio = "–"
        elif not l.get("ok"):
            lpp = ltg = "failed (rc %s)" % l.get("rc")
            lrss, ratio = "–", "–"
        else:
            lpp, ltg = fmt_tps(l.get("pp_tps"), l.get("pp_tps_sd")), fmt_tps(l.get("tg_tps"), l.get("tg_tps_sd"))
            lrss = fmt_mib(l.get("peak_rss_bytes"))
            ratio = "%.2f" % (p["tg_tps"] / l["tg_tps"]) if p.get("ok") and l.get("tg_tps") else "–"
            if p.get("ok") and p.get("pp_tps") and l.get("pp_tps"):
                pratio = "%.2f" % (p["pp_tps"] / l["pp_tps"])
        bound = "%.1f" % r["tg_bound_tps"] if r.get("tg_bound_tps") else "–"
        pct = "–"
        if r.get("tg_bound_tps"):
            pct = " / ".join("%.0f%%" % x["tg_pct_of_bound"] if x and x.get("tg_pct_of_bound") else "–" for x in (p, l))
        ng = "" if r["n_gen"] == 64 and r["n_prompt"] == 128 else " (pp%d, tg%d)" % (r["n_prompt"], r["n_gen"])
        lines.append("| %s | %s%s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["model"], r["type"], ng, r["threads"], ppp, lpp, pratio, ptg, ltg, ratio, bound, pct, prss, lrss))

    foot = []
    rounds = machine.get("rounds", "1")
    foot.append("pp = %s-token prompt from an empty cache, tg = %s tokens one at a time; mean ± sd over %s reps "
                "after one warm-up%s (a row marked (ppP, tgN) used those lengths); "
                "ratios = presso / llama.cpp (> 1: presso faster)."
                % (machine.get("n_prompt"), machine.get("n_gen"), machine.get("reps"),
                   "" if rounds == "1" else " in each of %s rounds, presso and llama-bench alternating "
                   "(sd over all %d timings)" % (rounds, int(rounds) * int(machine.get("reps", 1)))))
    if read_bw:
        foot.append("tg bound = read bandwidth at that thread count (bench/membw.c: %s) / weight bytes read per "
                    "generated token (every tensor of the file once, one row of token_embd); %% of bound = tg / bound."
                    % ", ".join("%s thread(s) %.1f GB/s" % (k, v) for k, v in sorted(read_bw.items())))
    foot.append("Machine: %s, %s CPUs, %.1f GiB RAM; presso %s (%s kernels); llama.cpp %s; %s; load avg before %s, after %s."
                % (machine.get("cpu"), machine.get("nproc"), int(machine.get("mem_total_kb", 0)) / 1048576,
                   machine.get("presso_commit"), kernels,
                   ("build %s (%s)" % (llama_version["build_number"], llama_version["build_commit"])) if llama_version else "not run",
                   machine.get("date"), machine.get("load_before"), machine.get("load_after")))
    bw = []
    for r in rows:
        if r["model"] != "synth-1b":
            continue
        for who, name in (("presso", "presso"), ("llama_cpp", "llama.cpp")):
            x = r[who]
            if x and x.get("effective_GBps"):
                bw.append("%s %s -t %d: %.1f GB/s" % (name, r["type"].split()[0], r["threads"], x["effective_GBps"]))
    if bw:
        foot.append("Effective bandwidth in tg on the 1B model (bytes read per token × tg tok/s): " + "; ".join(bw) + ".")
    mb = []
    if ddbw:
        mb.append("`dd if=/dev/zero of=/dev/null bs=1G count=8` (kernel fill of a 1 GiB buffer, write-only): %.1f GB/s" % ddbw)
    if copy.get("copy_GBps"):
        mb.append("python3 1 GiB memcpy, STREAM copy convention (read + write bytes), 1 thread: %.1f GB/s" % copy["copy_GBps"])
    if mb:
        foot.append("Machine memory bandwidth: " + "; ".join(mb) + ".")
    for n in notes:
        foot.append("Note: " + n)

    md = "\n".join(lines) + "\n\n" + "\n".join("- " + f for f in foot) + "\n"
    sys.stdout.write(md)
    if out_md:
        with open(out_md, "w") as f:
            f.write(md)

    result = {"machine": machine, "presso_kernels": kernels, "llama_cpp_version": llama_version,
              "membw": {"dd_GBps": ddbw, "dd_raw": dd.strip().splitlines()[-1:] if dd.strip() else [],
                        "copy": copy, "read": membw},
              "notes": notes, "rows": rows}
    tmp = out_json + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    os.replace(tmp, out_json)
    sys.stderr.write("wrote %s\n" % out_json)


def main(argv):
    if len(argv) >= 2 and argv[1] == "copybw":
        json.dump(copybw(), sys.stdout)
        sys.stdout.write("\n")
        return 0
    if len(argv) in (4, 5) and argv[1] == "report":
        report(*argv[2:])
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
