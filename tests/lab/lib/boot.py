"""boot.py - one lab boot from QEMU's start to its end: it starts the
hosts, follows what their dom0s report on the serial line, and ends the
boot when they are done, the deadline passed or the watchdog says a host
is stuck."""

import os
import shlex
import signal
import subprocess
import threading
import time

import serialline
from qemu import Network, dom0_cmdline, qemu_argv, wait_listen
from report import count_rerun, merge
from watchdog import Watchdog

BOOT_ALLOWANCE = 240     # s: Xen + dom0 boot, poweroff, slack


class Boot:
    """One QEMU (or two joined by a link) running a list of scenarios in
    order."""

    def __init__(self, ident, scenarios, session, retry_why=None):
        self.id = ident
        self.scenarios = scenarios
        self.session = session
        self.hosts = scenarios[0].hosts
        self.topology = scenarios[0].topology
        self.retry_why = retry_why   # on a re-run: why it was needed
        self.network = Network(ident, self.hosts, self.topology)
        self.qs = {}             # host -> its QEMU
        self.readers = []        # the serial line readers' threads
        self.watchdog = None     # from run()
        self.t0 = None
        self.lock = threading.Lock()
        self.results = {}        # scenario -> {host: dict}
        self.done_hosts = set()
        self.failure = None      # why the boot itself failed
        self.emulator_froze = False   # the one failure a boot is re-run on
        self.rerun = None        # the re-run of this boot, if any

    @property
    def cost(self):
        """Cores the boot takes: one QEMU, one vCPU per host."""
        return self.hosts

    def timeout(self):
        """s from QEMU's start to the boot's deadline: every scenario's
        timeout twice (it may be retried once), 120 s more each."""
        return BOOT_ALLOWANCE + sum(2 * s.timeout + 120
                                    for s in self.scenarios)

    def file_name(self, kind, host, ext):
        """serial-1.log, qemu-3b.cmd: the host only in a pair's names."""
        return "%s-%s%s.%s" % (kind, self.id,
                               host if self.hosts > 1 else "", ext)

    def serial_log(self, host):
        return self.file_name("serial", host, "log")

    # ---- the boot ----

    def run(self):
        self.t0 = time.time()
        try:
            nets = self.network.setup()
        except (subprocess.CalledProcessError, OSError) as e:
            self.failure = "cannot set up the %s network: %s" % (
                self.topology, e)
            return
        self.watchdog = Watchdog(self.id, self.qs, self.serial_log, self.t0,
                                 self.session)
        try:
            self.start_hosts(nets)
            self.watch()
        finally:
            for q in self.qs.values():
                self.session.qemus.kill(q)
            for th in self.readers:
                th.join(10)
            self.network.cleanup()
        if self.session.stopping.is_set() and not self.failure:
            self.failure = "interrupted"
        for host, q in self.qs.items():
            if host not in self.done_hosts and not self.failure:
                self.failure = "host %s: QEMU exited (rc %s) before the " \
                    "scenarios finished" % (host, q.returncode)

    def start_hosts(self, nets):
        images = self.session.options.images
        for host in sorted(nets, reverse=True):      # b (listener) first
            net, prefix = nets[host]
            argv = prefix + qemu_argv(images, self.cmdline(host), net)
            self.qs[host] = self.start(host, argv)
            if host == "b":
                wait_listen(net)

    def cmdline(self, host):
        options = self.session.options
        return dom0_cmdline(options.mode, [s.name for s in self.scenarios],
                            host, self.hosts, self.topology, options.set,
                            reboot=bool(self.retry_why))

    def start(self, host, argv):
        results = self.session.results
        with open(os.path.join(results, self.file_name("qemu", host, "cmd")),
                  "w") as f:
            f.write(" ".join(shlex.quote(a) for a in argv) + "\n")
        q = self.session.qemus.start(argv)
        th = threading.Thread(target=self.read_serial,
                              args=(host, q, os.path.join(
                                  results, self.serial_log(host))),
                              daemon=True)
        th.start()
        self.readers.append(th)
        return q

    def watch(self):
        """Until every QEMU has exited, or self.failure says why the boot
        ended before."""
        deadline = self.t0 + self.timeout()
        while any(q.poll() is None for q in self.qs.values()):
            if self.session.stopping.is_set():
                self.failure = "interrupted"
                return
            now = time.time()
            if now > deadline:
                self.failure = "boot timed out after %ds" % (now - self.t0)
                return
            stuck = self.watchdog.check(now, self.done_hosts)
            if stuck:
                self.failure, self.emulator_froze = stuck
                return
            self.watchdog.poke(now)
            dead = [h for h, q in self.qs.items()
                    if q.poll() is not None and h not in self.done_hosts]
            if dead and len(self.qs) > 1:
                # one host of a pair died: the other cannot finish
                time.sleep(5)       # let the reader see its last lines
                if dead[0] in self.done_hosts:
                    continue
                self.failure = "host %s: QEMU exited (rc %s) before the " \
                    "scenarios finished" % (dead[0],
                                            self.qs[dead[0]].returncode)
                return
            time.sleep(0.5)

    # ---- the serial line ----

    def read_serial(self, host, q, logname):
        """The reader thread of host: its serial log, timestamped from
        the boot's start, and what dom0 reports."""
        consoles = serialline.Consoles(self.session.results,
                                       host if self.hosts > 1 else None)
        with open(logname, "w", errors="replace") as log:
            for raw in q.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                now = time.time()
                self.watchdog.heard(host, line, now)
                t = now - self.t0
                log.write("[%8.3f] %s\n" % (t, line))
                log.flush()
                self.on_line(host, line, t, consoles)
        consoles.close()

    def on_line(self, host, line, t, consoles):
        """Acts on the LAB-* messages of dom0/init and dom0/runner."""
        msg = serialline.lab_message(line)
        kind, body = msg or (None, None)
        if self.session.options.stream and kind not in serialline.QUIET:
            serialline.stream_line(self.session.out,
                                   host if self.hosts > 1 else "", line, t)
        if kind == serialline.SELFTEST_FREEZE:
            # scenario selftest-freeze: freeze this machine like a QEMU
            # fault would (the boot's re-run does not ask)
            os.kill(self.qs[host].pid, signal.SIGSTOP)
        elif kind == serialline.CON:
            consoles.write(body)
        elif kind == serialline.INIT:
            self.watchdog.dom0_started(host)
        elif kind == serialline.BEGIN:
            begin = serialline.parse_begin(body)
            if begin:
                name, timeout = begin
                self.watchdog.scenario_began(host, name, timeout,
                                             pair=self.hosts > 1)
        elif kind == serialline.RESULT:
            self.on_result(host, body)
        elif kind == serialline.DONE:
            with self.lock:
                self.done_hosts.add(host)

    def on_result(self, host, body):
        """A host's result; reported once every host of the boot sent
        theirs."""
        try:
            r = serialline.parse_result(body)
        except ValueError as e:
            r = {"name": self.watchdog.scenario(host) or "?",
                 "status": "FAIL",
                 "reason": "unparsable result line (%s)" % e}
        with self.lock:
            self.results.setdefault(r.get("name"), {})[host] = r
        self.watchdog.scenario_ended(host)
        if len(self.results[r.get("name")]) == self.hosts:
            self.session.report(self, r.get("name"))

    def result(self, name):
        """The merged result of scenario NAME (both hosts' views), with
        the boot's re-run counted as a retry."""
        r = merge(name, self.results.get(name, {}), self.hosts, self.failure)
        if self.retry_why:
            count_rerun(r, self.retry_why)
        return r
