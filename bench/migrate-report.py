#!/usr/bin/env python3
"""bench/migrate-report.py - the table and JSON of `make bench`.

usage: migrate-report.py JSON-OUT [SERIAL-LOG...] < /dev/null

Reads the `BENCH {json}` lines that tests/lab/scenarios/bench-migrate
printed on the lab's serial logs, prints the table on stdout and writes
every migration, the statistics and the ratios to JSON-OUT.
"""
import json
import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from anatomy import xl_phases  # noqa: E402  (stock xl's marks -> phases)
from benchlog import read_lines  # noqa: E402

CASES = {
    "ssh": ("stock xl, ssh", 'xl migrate g localhost'),
    "tcp": ("stock xl, raw TCP", 'xl migrate -s "" g "socat -b 1048576 - TCP:127.0.0.1:8004"'),
    "nc": ("stock xl, busybox nc", 'xl migrate -s "" g "nc 127.0.0.1 8002"'),
    "pipe": ("stock xl, pipe", 'xl migrate -s "" g "xl migrate-receive"'),
    "xlr-tls": ("xl-relocate TLS", "xl-relocate migrate g 127.0.0.1"),
    "xlr-md100": ("xlr TLS md=100", "xl-relocate migrate --max-downtime 100 g 127.0.0.1"),
    "xlr-pipe": ("xl-relocate, pipe", 'xl-relocate migrate -s "" g "xl migrate-receive"'),
    "xl-tls": ("stock xl, TLS", 'xl migrate -s "xl-relocate connect" g 127.0.0.1'),
}
# relocd's engine and stock xl's on one transport: issue 16's downtime goal
ENGINE_PAIRS = (("xlr-pipe", "pipe"), ("xlr-tls", "xl-tls"))
DOWNTIME_GOAL = 0.7
BASE = "ssh"
PATHS_NOTE = ("  (ktls: the kernel encrypts on the source and decrypts on the "
              "target, no relay; relay: user-space TLS)")
# the cases whose stream crosses loopback (its bytes counted there)
LOOPBACK_CASES = ("xlr-tls", "xlr-md100", "xl-tls", "ssh", "tcp", "nc")


def stats(vals):
    vals = [v for v in vals if isinstance(v, (int, float))]
    if not vals:
        return None
    return {"min": min(vals), "median": statistics.median(vals),
            "max": max(vals), "n": len(vals)}


def fmt3(s, f="%.1f"):
    if not s:
        return "-"
    if s["n"] == 1:
        return f % s["median"]
    return "/".join(f % s[k] for k in ("min", "median", "max"))


def ratio(a, b):
    if not a or not b or not b["median"]:
        return None
    return a["median"] / b["median"]


# The downtime's phases (README.xen 5.5), as relocd's result and
# bench/anatomy.py name them; "to_received_ms" is suspended -> "domain
# received", the one span stock xl's messages give of final copy + END +
# restore.
ANAT_COLS = [("suspend_ms", "suspend"), ("final_copy_ms", "copy"),
             ("end_ms", "END"), ("restore_ms", "restore"),
             ("to_received_ms", "->recv"), ("rename_ms", "rename"),
             ("go_ms", "go"), ("start_ms", "start"), ("total_ms", "total")]


# xl-relocate's "downtime anatomy:" line (README.xen 5.5) -> its phases
ANAT_LINE = [("suspend_ms", r"suspend ([0-9.]+) ms"),
             ("final_copy_ms", r"final copy ([0-9.]+) ms"),
             ("end_ms", r"END ([0-9.]+) ms"),
             ("restore_ms", r"restore ([0-9.]+) ms"),
             ("rename_ms", r"rename ([0-9.]+) ms"),
             ("go_ms", r"\bgo ([0-9.]+) ms"),
             ("start_ms", r"\bstart ([0-9.]+) ms"),
             ("total_ms", r"total ([0-9.]+) ms")]
ANAT_LINE_TARGET = [("restore_ms", r"restore [0-9.]+ ms \(target ([0-9.]+) ms"),
                    ("start_ms", r"\bstart [0-9.]+ ms \(target ([0-9.]+) ms")]


def anatomy_of_line(line):
    a = {}
    for k, rx in ANAT_LINE:
        m = re.search(rx, line)
        if m:
            a[k] = float(m.group(1))
    t = {}
    for k, rx in ANAT_LINE_TARGET:
        m = re.search(rx, line)
        if m:
            t[k] = float(m.group(1))
    if t:
        a["target"] = t
    return a or None


def fill_anatomy(m):
    """The record's "anatomy" from what the scenario kept: xl-relocate's
    line, or stock xl's stamped marks."""
    if isinstance(m.get("anatomy"), dict):
        return
    if isinstance(m.get("anatomy_line"), str):
        m["anatomy"] = anatomy_of_line(m["anatomy_line"])
    elif isinstance(m.get("xl_marks"), dict):
        m["anatomy"] = xl_phases(m["xl_marks"]) or None


def anat_row(a):
    """One migration's anatomy with to_received_ms filled in for relocd."""
    if not isinstance(a, dict):
        return None
    a = dict(a)
    parts = [a.get(k) for k in ("final_copy_ms", "end_ms", "restore_ms")]
    if "to_received_ms" not in a and all(
            isinstance(v, (int, float)) for v in parts):
        a["to_received_ms"] = sum(parts)
    return a


def cell(st):
    return "%.0f" % st["median"] if st else "-"


def in_group(m, group):
    """Whether migration m is of group (mem MiB, load)."""
    mem, load = group
    return m["load"] == load and m.get("mem_mib", mem) == mem


def case_stats(migs, group, case, key):
    """stats() of one field over a case's good migrations in a group."""
    return stats([m.get(key) for m in migs if m.get("ok") and
                  m["case"] == case and in_group(m, group)])


def group_label(group, several):
    mem, load = group
    return "%s, %s MiB" % (load, mem) if several else load


def group_title(group, several):
    return "load " + group_label(group, several)


def moved_mib(m):
    """What a migration put on the wire, MiB: xl-relocate's own count, or
    the loopback bytes of a stock xl case that goes through a socket."""
    if isinstance(m.get("wire_mib"), (int, float)):
        return m["wire_mib"]
    if m.get("case") in LOOPBACK_CASES and isinstance(
            m.get("lo_bytes"), (int, float)):
        return m["lo_bytes"] / 1048576.0
    return None


def tls_goals(recs, groups, migs, several):
    """Issue 16's two TLS ratios on a lab dom0: relocd's TLS against raw
    TCP (relocd-bench tlsrate), and a TLS move's total time against stock
    xl's over raw TCP (cases xlr-tls and tcp)."""
    out = {}
    tr = next((r for r in recs if r.get("kind") == "tlsrate"), None)
    if tr and isinstance(tr.get("ratio"), (int, float)):
        out["tlsrate"] = tr
        print("relocd TLS on this dom0 (relocd-bench tlsrate, %s MiB x %s, "
              "path %s, %s): %s MB/s against raw TCP's %s MB/s = %.2f "
              "(goal 0.9: %s); CPU s per GiB %s against %s"
              % (tr.get("mib"), tr.get("runs"), tr.get("tls_path"),
                 tr.get("cipher"), tr.get("tls_mbps"), tr.get("raw_mbps"),
                 tr["ratio"], "met" if tr["ratio"] >= 0.9 else "NOT met",
                 tr.get("tls_cpu_s_per_gib"), tr.get("raw_cpu_s_per_gib")))
    moves = []
    for group in groups:
        tot = {c: case_stats(migs, group, c, "total_s")
               for c in ("xlr-tls", "tcp")}
        r = ratio(tot["xlr-tls"], tot["tcp"])
        if r:
            moves.append({"mem_mib": group[0], "load": group[1],
                          "xlr_tls_over_tcp_total": r})
            print("a TLS move against stock xl over raw TCP, total time, "
                  "%s: %.2f (goal 1.0: %s)"
                  % (group_label(group, several), r,
                     "met" if r <= 1.0 else "NOT met"))
    out["moves"] = moves
    if out.get("tlsrate") or moves:
        print()
    return out


def downtime_goals(groups, migs, several):
    """Issue 16's downtime goal: the guest-seen downtime (medians) of
    relocd's engine at most DOWNTIME_GOAL of stock xl's on the same
    transport, for each pair of cases this run has."""
    out = []
    for group in groups:
        for ours, theirs in ENGINE_PAIRS:
            dt = {c: case_stats(migs, group, c, "downtime_ms")
                  for c in (ours, theirs)}
            r = ratio(dt[ours], dt[theirs])
            if not r:
                continue
            out.append({"mem_mib": group[0], "load": group[1],
                        "case": ours, "peer": theirs,
                        "guest_downtime_ratio": r})
            print("guest-seen downtime, %s against %s, %s: %.0f / %.0f ms "
                  "= %.2f (goal %.1f: %s)"
                  % (CASES[ours][0], CASES[theirs][0],
                     group_label(group, several), dt[ours]["median"],
                     dt[theirs]["median"], r, DOWNTIME_GOAL,
                     "met" if r <= DOWNTIME_GOAL else "NOT met"))
    if out:
        print()
    return out


def scaling_table(mems, loads, cases, migs):
    """How total time, downtime and bytes grow with the guest's memory:
    medians per size, and the largest size's over the smallest's."""
    out = []
    if len(mems) < 2:
        return out
    lo, hi = mems[0], mems[-1]
    print("scaling with the guest's memory (medians at %s MiB; x: %s MiB "
          "over %s MiB)" % (", ".join(str(m) for m in mems), hi, lo))
    cols = [("total_s", "total s", "%.1f"),
            ("downtime_ms", "downtime ms", "%.0f"),
            ("moved_mib", "MiB moved", "%.0f")]
    for load in loads:
        print("load %s" % load)
        print("%-18s " % "case" + "  ".join("%-28s" % h for _, h, _ in cols))
        for c in cases:
            row = {"load": load, "case": c}
            cells = []
            for k, _, f in cols:
                med = []
                for mem in mems:
                    good = [m for m in migs if m.get("ok") and m["case"] == c
                            and in_group(m, (mem, load))]
                    vals = [moved_mib(m) if k == "moved_mib" else m.get(k)
                            for m in good]
                    st = stats(vals)
                    med.append(st["median"] if st else None)
                row[k] = dict(zip([str(m) for m in mems], med))
                grow = med[-1] / med[0] if med[-1] and med[0] else None
                row[k + "_growth"] = grow
                cells.append(" ".join(f % v if v is not None else "-"
                                      for v in med) +
                             (" (x%.2f)" % grow if grow else ""))
            print("%-18s " % CASES.get(c, (c,))[0] +
                  "  ".join("%-28s" % t for t in cells))
            out.append(row)
        print()
    return out


def anatomy_table(groups, cases, migs):
    """Where each millisecond goes: medians per phase, per load and case.
    Returns the JSON of it; prints nothing when no migration has one."""
    out = []
    have = [m for m in migs if m.get("ok") and isinstance(
        m.get("anatomy"), dict)]
    if not have:
        print("where each millisecond goes: not measured in this run (no "
              "migration carries an \"anatomy\"; bench/README.md says how)")
        print()
        return out
    print("where each millisecond goes (medians, ms; target: what the "
          "target measured of that phase itself)")
    hdr = "%-18s " % "case" + " ".join("%-8s" % h for _, h in ANAT_COLS) + \
        " %-8s %s" % ("guest", "target restore/go wait/start")
    for group in groups:
        print(group_title(group, len(groups) > len({g[1] for g in groups})))
        print(hdr)
        for c in cases:
            rows = [(m, anat_row(m["anatomy"])) for m in have
                    if in_group(m, group) and m["case"] == c]
            if not rows:
                continue
            med = {k: stats([a.get(k) for _, a in rows]) for k, _ in ANAT_COLS}
            tgt = {k: stats([(a.get("target") or {}).get(k) for _, a in rows])
                   for k in ("restore_ms", "go_wait_ms", "start_ms")}
            guest = stats([m.get("downtime_ms") for m, _ in rows])
            print("%-18s " % CASES.get(c, (c,))[0] +
                  " ".join("%-8s" % cell(med[k]) for k, _ in ANAT_COLS) +
                  " %-8s %s" % (cell(guest), "/".join(
                      cell(tgt[k]) for k in ("restore_ms", "go_wait_ms",
                                             "start_ms"))))
            out.append({"load": group[1], "mem_mib": group[0], "case": c,
                        "n": len(rows),
                        "phases": med, "target": tgt,
                        "guest_downtime_ms": guest})
        print()
    print("guest: the longest stall the guest saw (its ticks); total: suspend "
          "requested -> the target's report, on the sender's clock")
    print()
    return out


def main():
    out = sys.argv[1]
    recs, bad = read_lines(sys.argv[2:])
    setup = next((r for r in recs if r.get("kind") == "setup"), {})
    link = next((r for r in recs if r.get("kind") == "link"), {})
    migs = [r for r in recs if r.get("kind") == "migration"]
    for m in migs:
        fill_anatomy(m)
    errors = [r for r in recs if r.get("kind") == "error"]
    done = any(r.get("kind") == "done" for r in recs)
    mems = sorted({int(x) for x in str(setup.get("mems") or "").split()
                   if x.isdigit()} |
                  {m["mem_mib"] for m in migs
                   if isinstance(m.get("mem_mib"), int)}) or \
        [setup.get("mem_mib", 192)]
    loads = [l for l in (setup.get("loads") or "").split() if l] or \
        sorted({m["load"] for m in migs})
    cases = [c for c in (setup.get("cases") or "").split() if c] or \
        sorted({m["case"] for m in migs})

    res = {"benchmark": "migrate",
           "timestamp": os.environ.get("BENCH_TS") or
           time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
           "lab_results": os.environ.get("BENCH_LAB_RESULTS"),
           "complete": done, "setup": setup, "link": link,
           "host": {"loadavg_start": os.environ.get("BENCH_LOADAVG"),
                    "cpu": os.environ.get("BENCH_CPU")},
           "loads": [], "migrations": migs, "errors": errors,
           "unparsed_lines": bad}

    groups = [(mem, load) for mem in mems for load in loads]
    several = len(mems) > 1
    print("relocd migration benchmark: PVH guest of %s MiB, localhost in one "
          "lab dom0 (Xen %s under QEMU TCG), %s rep(s)"
          % (", ".join(str(m) for m in mems), setup.get("xen", "?"),
             setup.get("reps", "?")))
    if res["host"]["loadavg_start"]:
        print("host load average at start: %s" % res["host"]["loadavg_start"])
    rates = [("pipe", link.get("pipe_mbps")),
             ("raw TCP (socat)", link.get("tcp_mbps")),
             ("busybox nc", link.get("tcp_nc_mbps")),
             ("ssh", link.get("ssh_mbps"))]
    print("dom0 link rates (dd, MB/s): " + ", ".join(
        "%s %s" % (n, "%.1f" % v if isinstance(v, (int, float)) else "-")
        for n, v in rates))
    limits = {}
    for n, v in rates:
        if isinstance(v, (int, float)) and v > 0:
            limits[n] = mems[-1] * 1048576 / (v * 1e6)
    if limits:
        print("physical limit (%s MiB / rate, one full copy): " % mems[-1] +
              ", ".join("%s %.1f s" % (n, s) for n, s in limits.items()))
    res["physical_limit_s"] = limits
    print()

    hdr = ("%-18s %-20s %-20s %-10s %-9s %-6s %-7s %-9s %s"
           % ("case", "total s", "downtime ms", "bytes/mem", "src", "rounds",
              "ok", "t/ssh", "down/ssh"))
    for group in groups:
        mem, load = group
        rows = []
        print(group_title(group, several))
        print(hdr)
        per = {}
        for c in cases:
            ms = [m for m in migs if in_group(m, group) and m["case"] == c]
            good = [m for m in ms if m.get("ok")]
            st = {"total_s": stats([m.get("total_s") for m in good]),
                  "downtime_ms": stats([m.get("downtime_ms") for m in good]),
                  "rounds": stats([m.get("rounds") for m in good])}
            if c in LOOPBACK_CASES:
                src = "lo"
                st["bytes_per_mem"] = stats(
                    [m["lo_bytes"] / (mem * 1048576.0) for m in good
                     if isinstance(m.get("lo_bytes"), (int, float))])
            elif c.startswith("xlr-pipe"):
                src = "xlr"
                st["bytes_per_mem"] = None
            else:
                src = "-"
                st["bytes_per_mem"] = None
            st["xlr_wire_per_mem"] = stats(
                [m["wire_mib"] / float(mem) for m in good
                 if isinstance(m.get("wire_mib"), (int, float))])
            if src == "xlr":
                st["bytes_per_mem"] = st["xlr_wire_per_mem"]
            per[c] = st
            rows.append((c, ms, good, st, src))
        base = per.get(BASE, {})
        for c, ms, good, st, src in rows:
            rt = ratio(st["total_s"], base.get("total_s"))
            rd = ratio(st["downtime_ms"], base.get("downtime_ms"))
            skipped = ms and all(m.get("skipped") for m in ms)
            okcol = "skipped" if skipped else "%d/%d" % (len(good), len(ms))
            print("%-18s %-20s %-20s %-10s %-9s %-6s %-7s %-9s %s"
                  % (CASES.get(c, (c,))[0], fmt3(st["total_s"]),
                     fmt3(st["downtime_ms"], "%.0f"),
                     fmt3(st["bytes_per_mem"], "%.2f"), src,
                     fmt3(st["rounds"], "%.0f"), okcol,
                     "%.2f" % rt if rt else "-", "%.2f" % rd if rd else "-"))
            paths = sorted({m["tls_path"] for m in ms if m.get("tls_path")})
            if paths:
                print("    TLS path: " + ", ".join(
                    "%s x%d" % (p, sum(1 for m in ms if m.get("tls_path") == p))
                    for p in paths) + PATHS_NOTE)
            for m in ms:
                if not m.get("ok") and not m.get("skipped"):
                    print("    rep %s failed: %s" % (m.get("rep"), m.get("error", "?")))
            res["loads"].append({"load": load, "mem_mib": mem, "case": c,
                                 "label": CASES.get(c, (c, c))[0],
                                 "command": CASES.get(c, (c, c))[1],
                                 "runs": len(ms), "ok": len(good),
                                 "skipped": bool(skipped), "bytes_source": src,
                                 **st, "ratio_total_vs_ssh": rt,
                                 "ratio_downtime_vs_ssh": rd})
        print()
    res["tls_goals"] = tls_goals(recs, groups, migs, several)
    res["downtime_goals"] = downtime_goals(groups, migs, several)
    res["scaling"] = scaling_table(mems, loads, cases, migs)
    res["anatomy"] = anatomy_table(groups, cases, migs)
    for e in errors:
        print("error: load %s%s: %s" % (
            e.get("load"), ", %s MiB" % e["mem_mib"] if "mem_mib" in e else "",
            e.get("error")))
    if not done:
        print("warning: the scenario did not finish (no 'done' line): "
              "the table is partial")
    if bad:
        print("warning: %d BENCH lines could not be parsed (serial noise)" % bad)
    print("cases:")
    for c in cases:
        print("  %-18s %s" % CASES.get(c, (c, c)))
    print("total s: wall time of the migrating command; downtime ms: longest "
          "stall the guest saw (its tick gaps)")
    print("bytes/mem: lo = loopback tx bytes during the migration (IP/TCP "
          "headers, ACKs, ssh/TLS overhead included) over guest memory;")
    print("           xlr = xl-relocate's own 'MiB on the wire'; - = a pipe, "
          "not counted.  rounds: xl-relocate's rounds, stock xl's 'Frames "
          "iteration' count")
    print("min/median/max when more than one rep; ratios are medians over "
          "stock xl over ssh")
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    print("json: %s" % out)
    return 0 if migs else 1


if __name__ == "__main__":
    sys.exit(main())
