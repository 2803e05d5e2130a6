"""report.py - a scenario's result: the two hosts' views merged into one,
its PASS/FAIL/SKIP line and results.jsonl entry, and the run's summary,
whose last line ("lab: N passed, N failed") other tools parse."""

import json
import os
import threading


def merge(name, views, hosts, failure):
    """One result of scenario name from its views {host: dict} on a boot
    of `hosts` hosts; failure: why the boot itself failed, if it did."""
    if not views:
        return {"name": name, "status": "FAIL", "retries": 0,
                "reason": failure or "no result reported"}
    if len(views) < hosts:
        missing = [h for h in "ab" if h not in views]
        r = dict(list(views.values())[0])
        r["status"] = "FAIL"
        r["reason"] = "no result from host %s (%s)" % (
            missing[0], failure or "?")
        return r
    if hosts == 1:
        return dict(views["a"])
    return merge_pair(views["a"], views["b"])


def merge_pair(a, b):
    """FAIL if either host failed; host a's fields, plus b's fields a
    lacks, plus b's whole line under "peer" (tests/lab/README.md)."""
    r = dict(b)
    r.update(a)
    r["peer"] = b
    r["retries"] = max(a.get("retries", 0), b.get("retries", 0))
    r["triple_faults"] = a.get("triple_faults", 0) + \
        b.get("triple_faults", 0)
    if a.get("retry_reasons") or b.get("retry_reasons"):
        r["retry_reasons"] = a.get("retry_reasons") or \
            b.get("retry_reasons")
    bad = [(h, v) for h, v in (("a", a), ("b", b))
           if v.get("status") == "FAIL"]
    if bad:
        r["status"] = "FAIL"
        r["reason"] = "; ".join("host %s: %s" % (h, v.get("reason"))
                                for h, v in bad)
    elif "SKIP" in (a.get("status"), b.get("status")):
        r["status"] = "SKIP"
        r["reason"] = a.get("reason") or b.get("reason")
    return r


def count_rerun(r, retry_why):
    """A result from a boot's re-run: the re-run counts as a retry."""
    r["retries"] = r.get("retries", 0) + 1
    r["retry_reasons"] = "; ".join(
        x for x in (retry_why, r.get("retry_reasons")) if x)
    r["emulator_freezes"] = 1


def describe(r):
    """The measurements of a result line: "(migrate 17.8s, …)" and the
    retries."""
    bits = []
    for key, label, fmt in (("migrate_s", "migrate", "%.1fs"),
                            ("downtime_ms", "downtime", "%.0fms"),
                            ("ping_gap_ms", "ping gap", "%.0fms"),
                            ("bytes_sent", "sent", "%s B"),
                            ("link_mb_s", "link", "%.2f MB/s"),
                            ("load_ratio", "loaded/unloaded", "%.2fx"),
                            ("create_s", "create", "%.1fs"),
                            ("duration_s", "total", "%.0fs")):
        v = r.get(key)
        if isinstance(v, (int, float)):
            bits.append(label + " " + fmt % v)
    s = "(" + ", ".join(bits) + ")" if bits else ""
    if r.get("retries"):
        s += " [retried%s: %s]" % (
            " %d times" % r["retries"] if r["retries"] > 1 else " once",
            r.get("retry_reasons", ""))
    return s


def result_line(name, r):
    st = r.get("status", "FAIL")
    if st == "PASS":
        line = "PASS %s %s" % (name, describe(r))
    elif st == "SKIP":
        line = "SKIP %s: %s" % (name, r.get("reason", ""))
    else:
        line = "FAIL %s: %s %s" % (name, r.get("reason", ""), describe(r))
    return line.rstrip()


class Reporter:
    """Reports each scenario once, as soon as its result is complete
    (from a serial reader) or its boot ended without one."""

    def __init__(self, results, out):
        self.results = results
        self.out = out
        self.lines = []          # (name, result) in the order reported
        self.reported = set()
        self.lock = threading.Lock()

    def has(self, name):
        with self.lock:
            return name in self.reported

    def __call__(self, boot, name):
        with self.lock:
            if name in self.reported:
                return
            self.reported.add(name)
            r = boot.result(name)
            r["boot"] = boot.id
            r["hosts"] = boot.hosts
            r["topology"] = boot.topology
            self.lines.append((name, r))
            with open(os.path.join(self.results, "results.jsonl"), "a") as f:
                f.write(json.dumps(r, sort_keys=True) + "\n")
            self.out(result_line(name, r))


def summary(session, selected, wall, frozen):
    """summary.txt and the closing lines, the count last; the exit
    status: 0 if nothing failed and something ran."""
    out = session.out
    lines = session.report.lines
    rs = {n: r for n, r in lines}
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for s in selected:
        counts[rs.get(s.name, {}).get("status", "FAIL")] += 1
    retried = [(n, r) for n, r in lines if r.get("retries")]
    with open(os.path.join(session.results, "summary.txt"), "w") as f:
        for n, r in lines:
            f.write("%s %s %s\n" % (r.get("status"), n, describe(r)))
        f.write("wall %.0fs\n" % wall)
    out("lab: wall time %.0fs; serial logs, guest consoles and results.jsonl "
        "in %s" % (wall, session.results))
    tf = sum(r.get("triple_faults", 0) for _, r in lines)
    if session.revivals:
        out("lab: %d host(s) lost their timer interrupt and came back: %s"
            % (len(session.revivals), "; ".join(session.revivals)))
    if retried or tf or frozen:
        out("lab: %d triple fault(s) (QEMU SVM emulation), %d frozen "
            "boot(s), %d scenario(s) retried: %s" % (
                tf, frozen, len(retried),
                ", ".join("%s (%s)" % (n, r.get("retry_reasons"))
                          for n, r in retried) or "none"))
    last = "lab: %d passed, %d failed" % (counts["PASS"], counts["FAIL"])
    if counts["SKIP"]:
        last += ", %d skipped" % counts["SKIP"]
    out(last)
    return 0 if counts["FAIL"] == 0 and counts["PASS"] + counts["SKIP"] else 1
