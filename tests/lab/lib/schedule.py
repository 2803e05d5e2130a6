"""schedule.py - which scenarios share a boot, and when each boot runs:
at most one QEMU per core, on cores no other lab run on this machine
holds, and a boot that the emulator froze once more."""

import fcntl
import os
import threading
import time

from boot import Boot


def plan(selected, jobs):
    """Group scenarios into as few boots as is safe: all scenarios of one
    topology share a boot; single-host scenarios are spread over `jobs`
    boots that run in parallel (one vCPU each)."""
    boots = []
    singles = [s for s in selected if s.hosts == 1]
    for topo in ("link", "routed"):
        pair = [s for s in selected if s.hosts == 2 and s.topology == topo]
        if pair:
            boots.append(pair)
    n = max(1, min(jobs, len(singles)))
    shards = [[] for _ in range(n)]
    load = [0] * n
    for s in sorted(singles, key=lambda s: -s.timeout):
        i = load.index(min(load))
        shards[i].append(s)
        load[i] += s.timeout
    boots += [sh for sh in shards if sh]
    # keep each shard in the order the scenarios were listed
    order = {s.name: i for i, s in enumerate(selected)}
    return [sorted(b, key=lambda s: order[s.name]) for b in boots]


def boot_name(i):
    """1 … 9, then 10, 11, …"""
    return chr(ord("1") + i) if i < 9 else str(i + 1)


class Slots:
    """One lock file per CPU in the cache: concurrent lab runs on one
    machine (a developer's and CI's, say) queue for cores instead of
    oversubscribing them, which would slow every boot past its timeouts."""

    def __init__(self, n):
        # One directory for the whole machine, whatever LAB_CACHE a run
        # uses (a second checkout, a helper's cache, tests/fresh/run binds
        # it into its container): runs with their own locks would
        # oversubscribe the cores after all.
        d = os.environ.get("LAB_SLOTS", "/var/tmp/relocd-lab/slots")
        try:
            os.makedirs(d, exist_ok=True)
        except OSError:
            d = os.path.join(os.environ.get("LAB_CACHE",
                                            "/var/tmp/relocd-lab"), "slots")
            os.makedirs(d, exist_ok=True)
        self.files = [open(os.path.join(d, "cpu%d" % i), "w")
                      for i in range(n)]
        self.held = set()

    def take(self, k):
        """Take k free slots, all or none; returns the list or None."""
        got = []
        for i, f in enumerate(self.files):
            if len(got) == k:
                break
            if i in self.held:
                continue
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                got.append(i)
            except OSError:
                pass
        if len(got) < k:
            self.give(got)
            return None
        self.held.update(got)
        return got

    def give(self, got):
        for i in got:
            fcntl.flock(self.files[i], fcntl.LOCK_UN)
            self.held.discard(i)


def run_boots(boots, capacity, session):
    """Run boots, at most `capacity` QEMUs at a time (one per core), and
    only on cores no other lab run on this machine holds."""
    pending = list(boots)
    running = []
    slots = Slots(max(os.cpu_count() or 1, 2))
    waiting = False
    while pending or running:
        for b, th, got in running:
            if not th.is_alive():
                slots.give(got)
        running = [(b, th, got) for b, th, got in running if th.is_alive()]
        used = sum(b.cost for b, _, _ in running)
        for b in list(pending):
            if session.stopping.is_set() or (running and
                                             used + b.cost > capacity):
                continue
            got = slots.take(b.cost)
            if got is None:
                if not running and not waiting:
                    session.out("lab: waiting for a free core (another lab "
                                "run on this machine holds them)")
                    waiting = True
                continue
            pending.remove(b)
            session.out("lab: boot %s: %s host%s, %s" % (
                b.id, b.hosts, "s" if b.hosts > 1 else "",
                " ".join(s.name for s in b.scenarios)))
            th = threading.Thread(target=boot_thread, args=(b, session))
            th.start()
            running.append((b, th, got))
            used += b.cost
        if session.stopping.is_set():
            for b in pending:
                b.failure = "interrupted"
            pending = []
        time.sleep(0.5)


def boot_thread(b, session):
    run_boot(b)
    left = [s for s in b.scenarios if not session.report.has(s.name)]
    if b.emulator_froze and left and not session.stopping.is_set():
        # the one boot failure that is the emulator's, not ours: once more
        # for the scenarios without a result, and the re-run says why
        session.out("lab: boot %s: %s; running %s once more in a new boot"
                    % (b.id, b.failure, " ".join(s.name for s in left)))
        b.rerun = Boot(b.id + "r", left, session,
                       retry_why="boot %s: %s" % (b.id, b.failure))
        b = b.rerun
        run_boot(b)
    for s in b.scenarios:
        session.report(b, s.name)


def run_boot(b):
    try:
        b.run()
    except Exception as e:          # noqa: a boot bug must not hang the lab
        b.failure = "lab error: %r" % e
