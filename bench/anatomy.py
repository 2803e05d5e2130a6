#!/usr/bin/env python3
"""bench/anatomy.py - where a migration's downtime goes, for the bench.

usage: anatomy.py [--domid N] [--log FILE] -- COMMAND...

Runs one migrating COMMAND in dom0 and prints one line
    ANATOMY {json}
with the phases of its downtime in the names relocd's result uses
(README.xen 5.5), so that relocd and stock xl land in one table
(bench/migrate-report.py).  Run it as root in the dom0 that sends.

  xl-relocate migrate --json ...   the phases are relocd's own: the
                                   "anatomy" of the result event.
  xl -vvv migrate ...               stock xl measured from outside: every
                                   line xl (and, over -s "" or ssh, its
                                   xl migrate-receive) writes to stderr is
                                   stamped on this host's monotonic clock
                                   when read, and the phases come from
                                   xl's and libxl's own messages (below).

Stock xl's markers (tools/xl/xl_migrate.c, tools/libs/light/
libxl_dom_suspend.c of Xen 4.17; libxl's need -vvv):
  suspend requested  "issuing ... suspend request via"      (libxl, debug)
  suspended          "guest has suspended"                  (libxl, debug)
  received           "migration sender: Target has acknowledged transfer."
  renamed            "migration sender: Giving target permission to start."
  running            "migration sender: Target reports successful startup."
  target received    "migration target: Transfer complete"
  target go          "migration target: Got permission"
  target started     "migration target: Domain started"
xl prints nothing between the guest suspended and "domain received" (it
hides libxc's progress meanwhile), nor between the rename and "go"
written: for stock xl, final_copy_ms + end_ms + restore_ms come as one
phase ("to_received_ms") and go_ms is part of start_ms.  The target's
lines give its own intervals when its stderr reaches ours (-s "" and ssh
do); they are stamped on this host's clock, so they include the transit.

--domid N also watches /local/domain/N/control/shutdown with
xenstore-watch: each firing is stamped ("xs_shutdown_ms", relative to the
start), which shows when libxl wrote "suspend" and when the guest
acknowledged it.  --log FILE keeps every stamped line.
"""
import json
import re
import subprocess
import sys
import threading
import time

XL_MARKS = [
    ("suspend_req", re.compile(r"issuing .* suspend request via")),
    ("suspended", re.compile(r"guest has suspended")),
    ("received", re.compile(r"migration sender: Target has acknowledged")),
    ("renamed", re.compile(r"migration sender: Giving target permission")),
    ("running", re.compile(r"migration sender: Target reports successful")),
    ("t_received", re.compile(r"migration target: Transfer complete")),
    ("t_go", re.compile(r"migration target: Got permission")),
    ("t_started", re.compile(r"migration target: Domain started succ")),
]


def now_ms():
    return time.monotonic() * 1000.0


def span(marks, a, b):
    if a in marks and b in marks and marks[b] >= marks[a]:
        return marks[b] - marks[a]
    return None


def xl_phases(marks):
    """Stock xl's marks (first of each, ms) -> relocd's phase names."""
    ph = {
        "suspend_ms": span(marks, "suspend_req", "suspended"),
        "to_received_ms": span(marks, "suspended", "received"),
        "rename_ms": span(marks, "received", "renamed"),
        "start_ms": span(marks, "renamed", "running"),
    }
    ph = {k: v for k, v in ph.items() if v is not None}
    if ph:
        ph["total_ms"] = sum(ph.values())
    target = {
        "go_wait_ms": span(marks, "t_received", "t_go"),
        "start_ms": span(marks, "t_go", "t_started"),
    }
    target = {k: v for k, v in target.items() if v is not None}
    if target:
        ph["target"] = target
    return ph


def mark_line(marks, line, t):
    for name, rx in XL_MARKS:
        if name not in marks and rx.search(line):
            marks[name] = t


def watch_xenstore(domid, t0, events):
    """Stamps each firing of the guest's control/shutdown node, in a
    thread; returns the watcher process (the caller kills it), or None."""
    path = "/local/domain/%d/control/shutdown" % domid
    try:
        p = subprocess.Popen(["xenstore-watch", path], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    except OSError:
        return None

    def read():
        for _ in p.stdout:
            events.append(round(now_ms() - t0, 3))

    threading.Thread(target=read, daemon=True).start()
    return p


def main(argv):
    domid, logf = None, None
    while argv and argv[0] != "--":
        opt = argv.pop(0)
        if opt == "--domid" and argv:
            domid = int(argv.pop(0))
        elif opt == "--log" and argv:
            logf = argv.pop(0)
        else:
            print(__doc__, file=sys.stderr)
            return 2
    if not argv or argv[0] != "--" or len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1:]
    t0 = now_ms()
    xs, watcher = [], None
    if domid is not None:
        watcher = watch_xenstore(domid, t0, xs)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, errors="replace")
    marks, stamped, result = {}, [], None

    def read_stdout():
        nonlocal result
        for line in p.stdout:
            sys.stdout.write(line)
            if '"event":"result"' in line:
                try:
                    result = json.loads(line)
                except ValueError:
                    pass

    th = threading.Thread(target=read_stdout, daemon=True)
    th.start()
    for line in p.stderr:
        t = now_ms() - t0
        stamped.append("%10.3f %s" % (t, line.rstrip("\n")))
        mark_line(marks, line, t)
        sys.stderr.write(line)
    rc = p.wait()
    th.join()
    if watcher:
        watcher.kill()
        watcher.wait()
    out = {"command": cmd, "rc": rc, "wall_ms": round(now_ms() - t0, 3)}
    if result is not None:
        out["tool"] = "relocd"
        out["anatomy"] = result.get("anatomy")
        out["downtime_ms"] = result.get("downtime_ms")
    else:
        out["tool"] = "xl"
        out["anatomy"] = xl_phases(marks) or None
        out["marks_ms"] = {k: round(v, 3) for k, v in marks.items()}
    if xs:
        out["xs_shutdown_ms"] = xs
    if logf:
        with open(logf, "w") as f:
            f.write("\n".join(stamped) + "\n")
    print("ANATOMY " + json.dumps(out, sort_keys=True), flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
