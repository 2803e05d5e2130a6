#!/usr/bin/env python3
"""bench/storage-report.py - the table and JSON of `make bench-storage`.

usage: storage-report.py JSON-OUT [SERIAL-LOG...]

Reads the `BENCH {json}` lines that tests/lab/scenarios/bench-storage
printed on the lab's serial logs, prints the side-by-side table (relocd's
block migration, the same guest moved by xl save + rsync --sparse + xl
restore, and its memory-only move) with the ratios and issue 14's goals,
and writes every row with the derived figures to JSON-OUT.
"""
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlog import read_lines  # noqa: E402

MB = 1e6
GOALS = {"idle_wire_over_alloc_max": 1.1, "copy_over_link_min": 0.9,
         "light_down_over_memonly_max": 1.2}


def num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def div(a, b):
    a, b = num(a), num(b)
    if a is None or not b:
        return None
    return a / b


def get(d, *keys):
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def f(v, fmt="%.2f"):
    return "-" if v is None else fmt % v


def pass0(r, m):
    """A relocd move r's disk pass 0: bytes, ms, MB/s.

    Its own timing when the move reports it (the first "iteration"
    event's disk.last_pass_ms: pass 0 alone); from an older relocd, the
    span between the "stream" note and that event (the pass runs in
    libxenguest's precopy callback before memory round 0) less the same
    span of the memory-only move m (no pass)."""
    b = get(r, "it0", "disk", "wire_bytes")
    span = num(get(r, "it0", "disk", "last_pass_ms"))
    if span is None and num(r.get("t_it0_ms")) is not None and \
            num(r.get("t_mem_ms")) is not None:
        span = r["t_it0_ms"] - r["t_mem_ms"]
        if num(m.get("t_it0_ms")) is not None and num(m.get("t_mem_ms")) is not None:
            span -= m["t_it0_ms"] - m["t_mem_ms"]
    rate = div(b, span / 1000.0) if span and span > 0 else None
    return b, span, rate / MB if rate else None


def kibps(move):
    """A move's guest writes in KiB/s (4 KiB stamps)."""
    w = num(move.get("write_rate"))
    return None if w is None else w * 4096 / 1024


def relocd_figures(r, m, link):
    """The figures of one relocd move r (TLS or plain TCP); m: the
    memory-only move of the same guest."""
    d = get(r, "result", "disk") or {}
    b0, ms0, rate0 = pass0(r, m)
    x = {
        "ok": bool(r.get("ok")),
        "total_s": num(get(r, "result", "total_s")) or num(r.get("wall_s")),
        "down_ms": num(r.get("guest_down_ms")),
        "sender_down_ms": num(get(r, "result", "downtime_ms")),
        "disk_wire_b": num(d.get("wire_bytes")),
        "disk_data_b": num(d.get("data_bytes")),
        "passes": num(d.get("passes")),
        "veth_b": num(r.get("wire_b")),
        "pass0_b": b0, "pass0_ms": ms0, "pass0_mbps": rate0,
        "write_kibps": kibps(r),
        "target_over_src": div(r.get("target_alloc_b"), r.get("src_alloc_b")),
    }
    alloc = num(d.get("allocated_bytes"))
    x["wire_over_alloc"] = div(x["disk_wire_b"], alloc)
    x["data_over_alloc"] = div(x["disk_data_b"], alloc)
    x["pass0_over_link"] = div(rate0, link)
    return x


def derive(row, link):
    r, p, m = (row.get(k) or {} for k in ("relocd", "peer", "memonly"))
    x = dict(("relocd_" + k, v) for k, v in relocd_figures(r, m, link).items())
    for k in ("pass0_b", "pass0_ms", "pass0_mbps", "pass0_over_link"):
        x[k] = x.pop("relocd_" + k)
    t = row.get("relocd_tcp")
    if t:
        x.update(("tcp_" + k, v) for k, v in relocd_figures(t, m, link).items())
    x.update({
        "peer_ok": bool(p.get("ok")),
        "memonly_ok": bool(m.get("ok")) if m else None,
        "peer_total_s": num(p.get("wall_s")),
        "memonly_total_s": num(get(m, "result", "total_s")) if m else None,
        "peer_down_ms": num(p.get("guest_down_ms")),
        "memonly_down_ms": num(m.get("guest_down_ms")) if m else None,
        "memonly_sender_down_ms": num(get(m, "result", "downtime_ms")) if m else None,
        "alloc_b": num(get(r, "result", "disk", "allocated_bytes")),
        "memonly_veth_b": num(m.get("wire_b")) if m else None,
        "peer_disk_wire_b": num(p.get("wire_disk_b")),
        "peer_save_wire_b": num(p.get("wire_save_b")),
        "peer_alloc_b": num(p.get("disk_alloc_b")),
        "peer_disk_mbps": div(div(p.get("wire_disk_b"), p.get("rsync_disk_s")), MB),
        "write_kibps_before": div(num(row.get("write_rate_before")) and
                                  row["write_rate_before"] * 4096, 1024),
        "peer_write_kibps": kibps(p),
    })
    if num(row.get("write_rate_before")) == 0:
        x["write_kibps_before"] = 0.0
    x["peer_wire_over_alloc"] = div(x["peer_disk_wire_b"], x["peer_alloc_b"])
    x["peer_target_over_src"] = div(p.get("target_alloc_b"), p.get("disk_alloc_b"))
    # relocd's own stream (TLS) as the mem-only move ran it: its bytes
    # over its time, suspend and restore included (a lower bound)
    x["memonly_mbps"] = div(div(get(m, "result", "bytes"), x["memonly_total_s"]), MB)
    x["pass0_over_stream"] = div(x["pass0_mbps"], x["memonly_mbps"])
    x["peer_disk_over_link"] = div(x["peer_disk_mbps"], link)
    x["link_mbps"] = link
    x["total_relocd_over_peer"] = div(x["relocd_total_s"], x["peer_total_s"])
    x["down_relocd_over_peer"] = div(x["relocd_down_ms"], x["peer_down_ms"])
    x["down_relocd_over_memonly"] = div(x["relocd_down_ms"], x["memonly_down_ms"])
    return x


def move_line(name, label, x, p, wb):
    """A relocd move's row of the table: its figures are x's keys with the
    prefix p (relocd's pass 0 figures are unprefixed, as in the JSON)."""
    def k(n):
        return x[p + n] if p + n in x else x[n]
    return "%-11s %-8s %8s %9s %9s %10s %10s %7s %7s %13s  %s/%s" % (
        name, label + ("" if k("ok") else "!"),
        f(k("total_s"), "%.1f"), f(k("down_ms"), "%.0f"),
        f(k("sender_down_ms"), "%.0f"), f(div(k("disk_wire_b"), MB), "%.1f"),
        f(k("wire_over_alloc")), f(k("pass0_mbps"), "%.1f"),
        f(k("pass0_over_link")), f(k("target_over_src")), wb,
        f(k("write_kibps"), "%.0f"))


def table(rows, link):
    out = []
    h = ("%-11s %-8s %8s %9s %9s %10s %10s %7s %7s %13s" %
         ("row", "method", "total s", "down ms", "sender ms", "disk MB",
          "wire/alloc", "MB/s", "/link", "tgt/src alloc"))
    out.append(h + "  writes KiB/s before/during")
    for row in rows:
        x = row["derived"]
        name = "%s %d%%" % (row["load"], row["alloc_pct"])
        wb = f(x["write_kibps_before"], "%.0f")
        out.append(move_line(name, "relocd", x, "relocd_", wb))
        if "tcp_ok" in x:
            out.append(move_line("", "tcp", x, "tcp_", wb))
        out.append("%-11s %-8s %8s %9s %9s %10s %10s %7s %7s %13s  %s/%s" % (
            "", "peer" + ("" if x["peer_ok"] else "!"),
            f(x["peer_total_s"], "%.1f"), f(x["peer_down_ms"], "%.0f"), "-",
            f(div(x["peer_disk_wire_b"], MB), "%.1f"),
            f(x["peer_wire_over_alloc"]), f(x["peer_disk_mbps"], "%.1f"),
            f(x["peer_disk_over_link"]), f(x["peer_target_over_src"]), wb,
            f(x["peer_write_kibps"], "%.0f")))
        if x["memonly_ok"] is not None:
            out.append("%-11s %-8s %8s %9s %9s %10s %10s %7s %7s" % (
                "", "mem-only" + ("" if x["memonly_ok"] else "!"),
                f(x["memonly_total_s"], "%.1f"), f(x["memonly_down_ms"], "%.0f"),
                f(x["memonly_sender_down_ms"], "%.0f"), "-", "-",
                f(x["memonly_mbps"], "%.1f"), f(div(x["memonly_mbps"], link))))
        out.append("%-11s ratios: total relocd/peer %s, downtime relocd/peer %s, "
                   "relocd/mem-only %s; allocated %s MB; link beside it %s MB/s" % (
                       "", f(x["total_relocd_over_peer"]), f(x["down_relocd_over_peer"]),
                       f(x["down_relocd_over_memonly"]), f(div(x["alloc_b"], MB), "%.1f"),
                       f(x.get("row_link_mbps"), "%.1f")))
        for k in ("relocd", "relocd_tcp", "peer", "memonly"):
            e = (row.get(k) or {}).get("error") or (
                None if (row.get(k) or {}).get("ok", True) else
                get(row, k, "result", "message"))
            if e:
                out.append("%-11s %s failed: %s" % ("", k, e))
    return out


def goals(rows):
    """Issue 14's goals: per allocation, the median of the rows of that
    load (a load listed more than once in BENCH_LOADS runs again), each
    row's value after it."""
    def of(load, key):
        by = {}
        for r in rows:
            v = r["derived"].get(key)
            if r["load"] == load and v is not None:
                by.setdefault(r["alloc_pct"], []).append(v)
        return sorted((a, statistics.median(vs), vs) for a, vs in by.items())

    def say(pairs, fmt, met, extra=lambda a: ""):
        return ", ".join(
            ("%d%% " + fmt + " %s%s%s") % (
                a, v, "met" if met(v) else "NOT met", extra(a),
                "" if len(vs) == 1 else
                " (median of " + " ".join(fmt % x for x in vs) + ")")
            for a, v, vs in pairs) or "not measured"

    out, res = [], {}
    w = of("idle", "relocd_wire_over_alloc")
    res["idle_wire_over_alloc"] = dict(("%d%%" % a, v) for a, v, _ in w)
    out.append("goal: idle, disk bytes on the wire / allocated <= %.1f: %s" % (
        GOALS["idle_wire_over_alloc_max"],
        say(w, "%.3f", lambda v: v <= GOALS["idle_wire_over_alloc_max"])))
    c = of("idle", "pass0_over_link")
    res["idle_copy_over_link"] = dict(("%d%%" % a, v) for a, v, _ in c)
    out.append("goal: idle, disk copy rate / raw TCP link rate >= %.1f: %s" % (
        GOALS["copy_over_link_min"],
        say(c, "%.2f", lambda v: v >= GOALS["copy_over_link_min"])))
    t = of("idle", "tcp_pass0_over_link")
    res["idle_copy_over_link_tcp"] = dict(("%d%%" % a, v) for a, v, _ in t)
    if t:
        out.append("      the same over plain TCP (--no-ssl, as the peer's rsync): %s" % (
            say(t, "%.2f", lambda v: v >= GOALS["copy_over_link_min"])))
    d = of("light", "down_relocd_over_memonly")
    p = dict((a, v) for a, v, _ in of("light", "down_relocd_over_peer"))
    res["light_down_over_memonly"] = dict(("%d%%" % a, v) for a, v, _ in d)
    res["light_down_over_peer"] = dict(("%d%%" % a, v) for a, v in p.items())
    out.append("goal: light writer, downtime / memory-only <= %.1f: %s" % (
        GOALS["light_down_over_memonly_max"],
        say(d, "%.2f", lambda v: v <= GOALS["light_down_over_memonly_max"],
            lambda a: " (vs peer %s)" % f(p.get(a)))))
    s = of("idle", "pass0_over_stream")
    res["idle_copy_over_stream"] = dict(("%d%%" % a, v) for a, v, _ in s)
    out.append("      (idle, disk copy rate / relocd's own stream in its mem-only move: %s)" % (
        ", ".join("%d%% %.2f" % (a, v) for a, v, _ in s) or "not measured"))
    return out, res


def main():
    out_path, logs = sys.argv[1], sys.argv[2:]
    recs, bad = read_lines(logs)
    setup = next((r for r in recs if r.get("kind") == "setup"), {})
    links = [v for r in recs if r.get("kind") == "link" for v in r.get("mbps") or []
             if num(v)]
    link = statistics.median(links) if links else None
    rows = [r for r in recs if r.get("kind") == "row" and "relocd" in r]
    errors = [r for r in recs if r.get("kind") == "row" and "relocd" not in r]
    for r in rows:
        # against the run's link (start and end, no guest running): the
        # row's own measure, with its guest running beside dom0 on the
        # lab's one emulated CPU, came out below both copies (information)
        r["derived"] = derive(r, link)
        r["derived"]["row_link_mbps"] = num(r.get("link_mbps"))
    done = any(r.get("kind") == "done" for r in recs)
    print("bench-storage: %s MiB PVH guest, %s MiB disk; Xen %s, dom0 %s%s; %s" % (
        setup.get("mem_mib", "?"), setup.get("disk_mib", "?"), setup.get("xen", "?"),
        setup.get("dom0_kernel", "?"),
        {True: ", AES-NI", False: ", no AES-NI"}.get(setup.get("aesni"), ""),
        setup.get("rsync", "")))
    print("link (raw TCP over the veth, socat): %s MB/s median of %s" % (
        f(link, "%.1f"), ", ".join("%.1f" % v for v in links) or "none"))
    paths = next((r for r in recs if r.get("kind") == "paths"), {})
    if paths.get("target"):
        print("the target's connections (count, path): %s" % paths["target"].rstrip(";"))
    if os.environ.get("BENCH_LOADAVG"):
        print("host load average at the start: %s" % os.environ["BENCH_LOADAVG"])
    print()
    for line in table(rows, link):
        print(line)
    for e in errors:
        print("%s %s%%: %s" % (e.get("load"), e.get("alloc_pct"), e.get("error")))
    print()
    g, gres = goals(rows)
    for line in g:
        print(line)
    if not done:
        print("(the run did not finish: rows so far)")
    if bad:
        print("(%d BENCH lines unreadable)" % bad)
    doc = {"benchmark": "storage", "timestamp": os.environ.get("BENCH_TS"),
           "lab_results": os.environ.get("BENCH_LAB_RESULTS"), "complete": done,
           "setup": setup, "host": {"loadavg_start": os.environ.get("BENCH_LOADAVG"),
                                    "cpu": os.environ.get("BENCH_CPU")},
           "link_mbps": {"median": link, "runs": links}, "paths": paths.get("target"),
           "goals": GOALS,
           "measured": gres, "rows": rows, "errors": errors, "unparsed_lines": bad}
    with open(out_path, "w") as fo:
        json.dump(doc, fo, indent=1)
    print("\nJSON: %s" % out_path, file=sys.stderr)


if __name__ == "__main__":
    main()
