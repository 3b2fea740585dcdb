#!/usr/bin/env python3
"""Helpers for bench/run_bench.sh (python3 standard library only).

  table.py copybw                    STREAM-like copy bandwidth of a 1 GiB buffer, as JSON
  table.py report WORK OUT.json [OUT.md]
                                     collect the raw outputs in WORK (written by
                                     run_bench.sh), print the markdown table, write JSON
"""
import json
import os
import re
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

    rows = []
    llama_version = None
    for line in read_text(os.path.join(work, "manifest.tsv")).splitlines():
        rid, label, typ, threads, path, gguf, ngen = line.split("\t")
        p = load_presso(work, rid)
        l = load_llama(work, rid)
        info = read_json(os.path.join(work, rid + ".info.json")) or {}
        if l and l.get("ok") and not llama_version:
            llama_version = l["version"]
        bpt = bytes_per_token(info)
        row = {"model": label, "type": typ, "threads": int(threads), "file": path,
               "gguf": gguf == "1", "n_prompt": int(machine.get("n_prompt", 128)),
               "n_gen": int(ngen), "reps": int(machine.get("reps", 0)),
               "bytes_per_token": bpt, "presso": p, "llama_cpp": l}
        for who, r in (("presso", p), ("llama_cpp", l)):
            if r and r.get("ok") and bpt and r.get("tg_tps"):
                r["effective_GBps"] = bpt * r["tg_tps"] / 1e9
        rows.append(row)

    kernels = next((r["presso"].get("kernels") for r in rows if r["presso"].get("ok")), None)
    head = ("| model | type | threads | presso pp t/s | llama.cpp pp t/s | presso tg t/s "
            "| llama.cpp tg t/s | tg ratio | presso peak RSS | llama.cpp peak RSS |")
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        p, l = r["presso"], r["llama_cpp"]
        if p.get("ok"):
            ppp, ptg, prss = fmt_tps(p["pp_tps"], p["pp_tps_sd"]), fmt_tps(p["tg_tps"], p["tg_tps_sd"]), fmt_mib(p["peak_rss_bytes"])
        else:
            ppp = ptg = "failed (rc %s)" % p.get("rc")
            prss = "–"
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
        ng = "" if r["n_gen"] == 64 else " (tg%d)" % r["n_gen"]
        lines.append("| %s | %s%s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
            r["model"], r["type"], ng, r["threads"], ppp, lpp, ptg, ltg, ratio, prss, lrss))

    foot = []
    foot.append("pp = %s-token prompt from an empty cache, tg = %s tokens one at a time; mean ± sd over %s reps "
                "after one warm-up; tg ratio = presso tg / llama.cpp tg (> 1: presso faster)."
                % (machine.get("n_prompt"), machine.get("n_gen"), machine.get("reps")))
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
                        "copy": copy},
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
