#!/usr/bin/env python3
"""lab.py - host side of the relocd lab: boot Xen hosts under QEMU, run
scenarios in their dom0s, collect logs and results. This file is the
command line; beside it:

  scenario.py    scenario headers, suites, selection
  schedule.py    scenarios into boots, boots onto cores, a frozen boot's
                 re-run
  boot.py        one boot: its QEMUs from start to end, dom0's reports
  qemu.py        QEMU's command line, the hosts' network, the processes
  watchdog.py    hung, silent and frozen hosts (Xen's debug keys)
  serialline.py  the LAB-* lines of the serial line, --stream's view
  report.py      results merged, PASS/FAIL lines, results.jsonl, summary
  session.py     what one run's boots share (options, output, QEMUs)

Called by tests/lab/run and tests/lab/demo after lib/prepare.sh has built
the images (see tests/lab/README.md). Everything here is the standard
library only.
"""

import argparse
import datetime
import os
import shutil
import signal
import sys
import time

from boot import Boot
from qemu import dom0_cmdline, qemu_argv
from report import summary
from scenario import load_scenarios, select
from schedule import boot_name, plan, run_boots
from session import Session

KEEP_RESULTS = 20        # results dirs kept without --keep


def parse_args():
    ap = argparse.ArgumentParser(prog="tests/lab/run")
    ap.add_argument("--suite", default="default")
    ap.add_argument("--keep", action="store_true",
                    help="keep the boot images in the results dir and "
                    "older results dirs")
    ap.add_argument("--set", action="append", default=[],
                    metavar="KEY=VAL", help="export KEY=VAL to scenarios")
    ap.add_argument("--jobs", type=int,
                    default=int(os.environ.get("LAB_JOBS", os.cpu_count())))
    ap.add_argument("--stream", action="store_true",
                    help="show dom0's progress lines live")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--shell", action="store_true")
    ap.add_argument("--images", default=None)
    ap.add_argument("scenario", nargs="*")
    return ap.parse_args()


def main():
    args = parse_args()
    all_sc = load_scenarios()
    if args.list:
        for s in all_sc.values():
            print("%-22s suite=%-12s hosts=%d topology=%-6s timeout=%-4d %s"
                  % (s.name, ",".join(s.suites), s.hosts, s.topology,
                     s.timeout, s.title))
        return 0
    args.images = dict(l.split("=", 1) for l in args.images.split(";"))
    for kv in args.set:
        if "=" not in kv or " " in kv:
            raise SystemExit("lab: --set wants KEY=VAL without spaces")
    # A scenario may keep its long parts for its named suite (LAB_SUITE).
    args.set.append("LAB_SUITE=" + args.suite)
    if args.shell:
        return shell(args)
    args.mode = "run"
    return run(args, select(all_sc, args.suite, args.scenario))


def run(args, selected):
    """Runs the selected scenarios; the exit status (see summary)."""
    session = Session(args)
    if not selected:
        session.out("lab: nothing to run")
        session.out("lab: 0 passed, 0 failed")
        return 1
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    cache = os.environ.get("LAB_CACHE", "/var/tmp/relocd-lab")
    session.open_results(os.environ.get("RESULTS") or os.path.join(
        cache, "results", stamp))
    session.out("lab: results in %s" % session.results)
    if args.keep:
        keep_images(args, session.results)
    else:
        prune(os.path.join(cache, "results"), KEEP_RESULTS)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, session.interrupt)
    t0 = time.time()
    boots = [Boot(boot_name(i), sc, session)
             for i, sc in enumerate(plan(selected, max(1, args.jobs)))]
    run_boots(boots, max(2, args.jobs), session)
    every = boots + [b.rerun for b in boots if b.rerun]
    for b in every:
        if b.failure:
            session.out("lab: boot %s: %s (serial log in %s)" % (
                b.id, b.failure, session.results))
    frozen = sum(1 for b in every if b.emulator_froze)
    return summary(session, selected, time.time() - t0, frozen)


def keep_images(args, results):
    """--keep: the run's boot images into its results dir."""
    d = os.path.join(results, "images")
    os.makedirs(d, exist_ok=True)
    for k, v in args.images.items():
        shutil.copy(v, d)
        args.images[k] = os.path.join(d, os.path.basename(v))


def prune(d, keep):
    """All but the newest `keep` results dirs go."""
    try:
        old = sorted(os.listdir(d))[:-keep]
    except OSError:
        return
    for n in old:
        shutil.rmtree(os.path.join(d, n), ignore_errors=True)


def shell(args):
    """An interactive dom0: Xen's serial on this terminal."""
    cmdline = dom0_cmdline("shell", ["shell"], "a", 1, "local", args.set,
                           reboot=False)
    argv = qemu_argv(args.images, cmdline, [], serial="mon:stdio")
    print("lab: booting Xen + dom0 (about 30 s); Ctrl-a x quits QEMU, "
          "Ctrl-a c the QEMU monitor", flush=True)
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    sys.exit(main())
