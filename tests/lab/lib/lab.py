#!/usr/bin/env python3
"""lab.py - host side of the relocd lab: boot Xen hosts under QEMU, run
scenarios in their dom0s, collect logs and results.

Called by tests/lab/run and tests/lab/demo after lib/prepare.sh has built
the images (see tests/lab/README.md). Everything here is the standard
library only.
"""

import argparse
import datetime
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time

LAB = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIOS = os.path.join(LAB, "scenarios")

# Measured on the 2-core dev machine: one vCPU per QEMU (and dom0) avoids
# the emulated-SVM triple fault (tests/lab/README.md, "Flakiness").
QEMU = "qemu-system-x86_64"
SMP = int(os.environ.get("LAB_SMP", "1"))
MEM = int(os.environ.get("LAB_MEM", "1536"))
DOM0_MEM = os.environ.get("LAB_DOM0_MEM", "768M")
XEN_ARGS = ("dom0_mem={m},max:{m} dom0_max_vcpus={c} console=com1 "
            "com1=115200,8n1 loglvl=all guest_loglvl=all conring_size=1M "
            "{extra}").format(m=DOM0_MEM, c=SMP,
                              extra=os.environ.get("LAB_XEN_EXTRA", ""))
DOM0_ARGS = "console=hvc0 earlyprintk=xen loglevel=4"
BOOT_ALLOWANCE = 240     # s: Xen + dom0 boot, poweroff, slack
DEFAULT_TIMEOUT = 300    # s per scenario when its header has none
HANG_GRACE = 240         # s past a scenario's timeout before the boot is
                         # declared hung (the runner's own cleanup runs)
SILENCE = int(os.environ.get("LAB_SILENCE", "300"))
                         # s without a dom0 line (dom0 prints LAB-ALIVE
                         # every 20 s) before a host is declared stuck
PROBE_AFTER = min(60, SILENCE)
                         # s of dom0 silence before Xen is asked whether
                         # its timers still fire (see Boot.watch_silence)
LOST_TIMER_S = 5         # Xen timers this overdue: the timer interrupt
                         # stopped (seen in the lab: QEMU idle, vCPU halted)
POKE_S = float(os.environ.get("LAB_POKE", "2"))
                         # s between two NUL bytes on each Xen's serial
                         # line: a UART interrupt that wakes a machine
                         # whose timer interrupt QEMU lost (it stalls
                         # until the next interrupt: seen for 70 s and
                         # for good). Xen ignores the key. 0: every loop
XEN_KEYS = "ad0qr"       # Xen debug keys for a stuck host's serial log:
                         # timer queues, CPU and dom0 registers, domains,
                         # run queues

# The lab links: (name, dom0 cmdline of host a, of host b)
TOPOLOGIES = {
    "local": None,
    "link": ("lab.ip=169.254.77.1/24 lab.peer=169.254.77.2 lab.mtu=65000",
             "lab.ip=169.254.77.2/24 lab.peer=169.254.77.1 lab.mtu=65000"),
    "routed": ("lab.ip=10.1.0.2/24 lab.gw=10.1.0.1 lab.peer=10.2.0.2 "
               "lab.mtu=65000",
               "lab.ip=10.2.0.2/24 lab.gw=10.2.0.1 lab.peer=10.1.0.2 "
               "lab.mtu=65000"),
}

procs = set()            # every QEMU we started, for cleanup
procs_lock = threading.Lock()
out_lock = threading.Lock()
stopping = threading.Event()


def out(line):
    with out_lock:
        print(line, flush=True)


# ---- scenarios ------------------------------------------------------------

class Scenario:
    def __init__(self, path):
        self.name = os.path.basename(path)
        self.path = path
        self.meta = {}
        self.title = ""
        with open(path) as f:
            for i, line in enumerate(f):
                if i > 40:
                    break
                m = re.match(r"#\s*(suite|hosts|topology|timeout):\s*"
                             r"(.*?)\s*$", line)
                if m:       # "# timeout: 300   # a comment" is allowed
                    self.meta[m.group(1)] = m.group(2).split("#")[0].strip()
                elif (not self.title and line.startswith("# ")
                      and i > 0):
                    self.title = line[2:].strip()
        self.suites = self.meta.get("suite", "full").split()
        self.hosts = int(self.meta.get("hosts", "1"))
        self.topology = self.meta.get(
            "topology", "link" if self.hosts == 2 else "local")
        self.timeout = int(self.meta.get("timeout", DEFAULT_TIMEOUT))
        if self.topology not in TOPOLOGIES:
            raise SystemExit("lab: %s: unknown topology %s"
                             % (self.name, self.topology))


def load_scenarios():
    res = {}
    for n in sorted(os.listdir(SCENARIOS)):
        p = os.path.join(SCENARIOS, n)
        if os.path.isfile(p) and not n.startswith(".") and "." not in n:
            res[n] = Scenario(p)
    return res


def select(all_sc, suite, names):
    if names:
        bad = [n for n in names if n not in all_sc]
        if bad:
            raise SystemExit("lab: no such scenario: %s (see --list)"
                             % " ".join(bad))
        return [all_sc[n] for n in names]
    suites = {"default": ["default"], "full": ["default", "full"]}.get(
        suite, [suite])
    return [s for s in all_sc.values() if set(s.suites) & set(suites)]


# ---- boots ----------------------------------------------------------------

class Boot:
    """One lab boot: one QEMU (or two joined by a link) running a list of
    scenarios in order."""

    def __init__(self, ident, scenarios, args):
        self.id = ident
        self.scenarios = scenarios
        self.args = args
        self.hosts = scenarios[0].hosts
        self.topology = scenarios[0].topology
        self.results = {}        # scenario -> {host: dict}
        self.failure = None      # why the boot itself failed
        self.t0 = None
        self.active = {}         # host -> (scenario, deadline)
        self.done_hosts = set()
        self.lock = threading.Lock()
        self.netns = None
        self.last_dom0 = {}      # host -> time of its last non-Xen line
        self.probed = {}         # host -> last_dom0 when Xen was probed
        self.capture = {}        # host -> list collecting Xen's answer
        self.xen_input = set()   # hosts whose serial input goes to Xen
        self.stdin_lock = threading.Lock()
        self.last_poke = 0
        self.qs = {}
        self.emulator_froze = False   # the one failure a boot is re-run on
        self.retry_why = None    # set on the re-run: why it was needed
        self.rerun = None        # the re-run of this boot, if any

    @property
    def cost(self):
        return self.hosts

    def timeout(self):
        return BOOT_ALLOWANCE + sum(2 * s.timeout + 120
                                    for s in self.scenarios)

    def cmdline(self, host):
        plan = ":".join(s.name for s in self.scenarios)
        parts = [DOM0_ARGS, "lab.mode=" + self.args.mode, "lab.plan=" + plan,
                 "lab.host=" + host, "lab.hosts=%d" % self.hosts]
        topo = TOPOLOGIES[self.topology]
        if topo:
            parts.append(topo[0 if host == "a" else 1])
        for kv in self.args.set:
            parts.append("lab.set." + kv)
        if self.retry_why:
            parts.append("lab.reboot=1")
        return " ".join(parts)

    def qemu_argv(self, host, net, serial="stdio"):
        img = self.args.images
        dom0 = self.cmdline(host).replace(",", ",,")
        argv = [QEMU, "-accel", "tcg,thread=multi", "-cpu", "qemu64,+npt",
                "-m", str(MEM), "-smp", str(SMP), "-nodefaults",
                "-display", "none", "-monitor", "none", "-no-reboot",
                "-serial", serial,
                "-kernel", img["XEN_ELF"], "-append", XEN_ARGS,
                "-initrd", "%s %s,%s" % (img["VMLINUZ"], dom0,
                                          img["INITRD"])]
        argv += net
        argv += shlex.split(os.environ.get("LAB_QEMU_EXTRA", ""))
        return argv

    def net_args(self):
        """QEMU network options per host, and a prefix to run QEMU with."""
        if self.hosts == 1:
            return {"a": ([], [])}
        mac = "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:0%d"
        if self.topology == "link":
            port = free_port()
            return {
                "b": (["-netdev", "socket,id=n0,listen=127.0.0.1:%d" % port,
                       "-device", mac % 2], []),
                "a": (["-netdev", "socket,id=n0,connect=127.0.0.1:%d" % port,
                       "-device", mac % 1], []),
            }
        # routed: both QEMUs in a namespace that is the router between
        # 10.1.0.0/24 (tap lta, host a) and 10.2.0.0/24 (tap ltb, host b)
        self.netns = "relocd-lab-%d-%s" % (os.getpid(), self.id)
        ns = self.netns
        sh = ["ip netns add %s" % ns,
              "ip -n %s link set lo up" % ns,
              "ip netns exec %s sysctl -qw net.ipv4.ip_forward=1" % ns]
        for t, net in (("lta", "10.1.0.1/24"), ("ltb", "10.2.0.1/24")):
            sh += ["ip -n %s tuntap add dev %s mode tap" % (ns, t),
                   "ip -n %s link set %s mtu 65000 up" % (ns, t),
                   "ip -n %s addr add %s dev %s" % (ns, net, t)]
        for c in sh:
            subprocess.run(c.split(), check=True)
        pre = ["ip", "netns", "exec", ns]
        tap = "tap,id=n0,ifname=%s,script=no,downscript=no"
        return {
            "b": (["-netdev", tap % "ltb", "-device", mac % 2], pre),
            "a": (["-netdev", tap % "lta", "-device", mac % 1], pre),
        }

    def cleanup_net(self):
        if self.netns:
            subprocess.run(["ip", "netns", "del", self.netns],
                           stderr=subprocess.DEVNULL)
            self.netns = None

    def run(self):
        self.t0 = time.time()
        try:
            nets = self.net_args()
        except (subprocess.CalledProcessError, OSError) as e:
            self.failure = "cannot set up the %s network: %s" % (
                self.topology, e)
            return
        qs = self.qs = {}
        try:
            for host in sorted(nets, reverse=True):      # b (listener) first
                net, pre = nets[host]
                argv = pre + self.qemu_argv(host, net)
                qs[host] = self.start(host, argv)
                if host == "b":
                    wait_listen(net)
            deadline = self.t0 + self.timeout()
            while any(q.poll() is None for q in qs.values()):
                if stopping.is_set():
                    self.failure = "interrupted"
                    break
                now = time.time()
                if now > deadline:
                    self.failure = "boot timed out after %ds" % (
                        now - self.t0)
                    break
                with self.lock:
                    hung = [(h, s) for h, (s, d) in self.active.items()
                            if now > d]
                if hung:
                    self.failure = "dom0 %s hung in %s" % hung[0]
                    self.diagnose(hung[0][0])
                    break
                if self.watch_silence(qs, now):
                    break
                self.poke(now)
                dead = [h for h, q in qs.items()
                        if q.poll() is not None and h not in self.done_hosts]
                if dead and len(qs) > 1:
                    # one host of a pair died: the other cannot finish
                    time.sleep(5)       # let the reader see its last lines
                    if dead[0] in self.done_hosts:
                        continue
                    self.failure = "host %s: QEMU exited (rc %s) before " \
                        "the scenarios finished" % (dead[0],
                                                    qs[dead[0]].returncode)
                    break
                time.sleep(0.5)
        finally:
            for q in qs.values():
                kill(q)
            for th in getattr(self, "readers", []):
                th.join(10)
            self.cleanup_net()
        if stopping.is_set() and not self.failure:
            self.failure = "interrupted"
        for host, q in qs.items():
            if host not in self.done_hosts and not self.failure:
                self.failure = "host %s: QEMU exited (rc %s) before the " \
                    "scenarios finished" % (host, q.returncode)

    def where(self, host):
        with self.lock:
            a = self.active.get(host)
        return " (in %s)" % a[0] if a else ""

    def watch_silence(self, qs, now):
        """A host whose dom0 has been silent PROBE_AFTER seconds is asked
        (Xen's timer queues) whether its machine still keeps time; one
        silent SILENCE seconds is stuck. True when the boot must end."""
        for h, q in qs.items():
            if q.poll() is not None or h in self.done_hosts:
                continue
            last = self.last_dom0.get(h, self.t0)
            quiet = now - last
            if quiet > PROBE_AFTER and self.probed.get(h) != last:
                self.probed[h] = last
                verdict = self.frozen_verdict(self.xen_keys(h, "a", 10))
                if not verdict or self.revived(h, last, verdict):
                    continue
                self.failure = "host %s was silent for %ds%s; %s" % (
                    h, quiet, self.where(h), verdict)
            elif quiet > SILENCE:
                self.failure = "host %s printed nothing for %ds%s" % (
                    h, quiet, self.where(h))
            else:
                continue
            self.diagnose(h)
            return True
        return False

    def revived(self, host, last, verdict, wait=20):
        """The serial interrupts of the probe may have woken a machine
        that lost its timer interrupt: dom0 speaking again says so."""
        end = time.time() + wait
        while time.time() < end:
            if self.last_dom0.get(host, self.t0) != last:
                self.args.revivals.append("boot %s host %s: %s; it came "
                                          "back after the probe" % (
                                              self.id, host, verdict))
                out("lab: " + self.args.revivals[-1])
                return True
            time.sleep(0.5)
        return False

    def to_xen(self, host, data):
        """Writes to Xen's serial line of host; False if QEMU is gone."""
        q = self.qs.get(host)
        try:
            with self.stdin_lock:
                q.stdin.write(data)
                q.stdin.flush()
            return True
        except (AttributeError, OSError, ValueError):
            return False

    def poke(self, now):
        """Every POKE_S seconds, one NUL byte to each Xen (see POKE_S)."""
        if now - self.last_poke < POKE_S:
            return
        self.last_poke = now
        for h in self.xen_input:
            self.to_xen(h, b"\0")

    def xen_keys(self, host, keys, wait):
        """Sends Xen debug keys (the serial input is Xen's since dom0
        started, see parse) and returns the Xen lines that came within
        `wait` seconds."""
        cap = self.capture[host] = []
        if host not in self.xen_input:
            self.to_xen(host, b"\x01\x01\x01")
        for k in keys:
            self.to_xen(host, k.encode())
            time.sleep(0.5)
        end = time.time() + wait
        while time.time() < end and self.qs[host].poll() is None:
            # done when Xen has answered and been quiet for 3 s
            if cap and time.time() - cap[-1][0] > 3:
                break
            time.sleep(0.5)
        self.capture[host] = None
        return [l for _, l in cap]

    @staticmethod
    def frozen_verdict(lines):
        """Why the machine itself (not dom0) stopped, from Xen's answer
        to 'a' (timer queues), or None when it keeps time."""
        if not lines:
            return "Xen does not answer its serial line either: the " \
                "emulated machine froze"
        ex = [int(m.group(1)) for m in (re.search(r"ex=\s*(-?\d+)us", l)
                                        for l in lines) if m]
        if ex and -min(ex) > LOST_TIMER_S * 1000000:
            return "Xen's timers are %.0fs overdue: the machine's timer " \
                "interrupt stopped (an emulator fault)" % (-min(ex) / 1e6)
        return None

    def diagnose(self, host):
        """Xen's debug keys on a stuck host: its timer queues, registers,
        domains and run queues land in the serial log. A machine that
        froze or lost its timer interrupt is a fault of QEMU's TCG, like
        the triple fault (tests/lab/README.md, "Flakiness"): its boot is
        run once more. Xen keeping time with dom0 silent is a real
        failure."""
        lines = self.xen_keys(host, XEN_KEYS, 30)
        log = "serial-%s%s.log" % (self.id, host if self.hosts > 1 else "")
        verdict = self.frozen_verdict(lines)
        if verdict and verdict not in self.failure:
            self.failure += "; " + verdict
        if verdict:
            self.emulator_froze = True
        else:
            self.failure += "; Xen answers and keeps time: dom0 is stuck " \
                "(Xen's dump in %s)" % log

    def start(self, host, argv):
        logname = os.path.join(self.args.results,
                               "serial-%s%s.log" % (self.id, host
                                                    if self.hosts > 1 else ""))
        with open(os.path.join(self.args.results, "qemu-%s%s.cmd" % (
                self.id, host if self.hosts > 1 else "")), "w") as f:
            f.write(" ".join(shlex.quote(a) for a in argv) + "\n")
        # stdin: Xen's debug keys when the host freezes (see diagnose)
        q = subprocess.Popen(argv, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT,
                             preexec_fn=die_with_parent)
        with procs_lock:
            procs.add(q)
        th = threading.Thread(target=self.reader, args=(host, q, logname),
                              daemon=True)
        th.start()
        self.readers = getattr(self, "readers", []) + [th]
        return q

    def reader(self, host, q, logname):
        con = {}
        with open(logname, "w", errors="replace") as log:
            for raw in q.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                now = time.time()
                if line.startswith("(XEN)"):
                    cap = self.capture.get(host)
                    if cap is not None:
                        cap.append((now, line))
                else:
                    self.last_dom0[host] = now
                t = now - self.t0
                log.write("[%8.3f] %s\n" % (t, line))
                log.flush()
                self.parse(host, line, t, con)
        for f in con.values():
            f.close()

    def parse(self, host, line, t, con):
        i = line.find("LAB-")
        if i < 0:
            if self.args.stream:
                stream_line(host if self.hosts > 1 else "", line, t)
            return
        body = line[i:]
        if body.startswith("LAB-ALIVE"):
            return
        if body.startswith("LAB-SELFTEST-FREEZE"):
            # scenario selftest-freeze: freeze this machine like a QEMU
            # fault would (the boot's re-run does not ask)
            os.kill(self.qs[host].pid, signal.SIGSTOP)
            return
        if body.startswith("LAB-CON "):
            m = re.match(r"LAB-CON ([^/]+)/(\d+)/([^:]+): ?(.*)", body)
            if m:
                key = (m.group(1), m.group(2), m.group(3))
                if key not in con:
                    d = os.path.join(self.args.results, "console", m.group(1),
                                     "attempt%s" % m.group(2))
                    if self.hosts > 1:
                        d = os.path.join(d, "host-" + host)
                    os.makedirs(d, exist_ok=True)
                    con[key] = open(os.path.join(d, m.group(3)), "w")
                con[key].write(m.group(4) + "\n")
            return
        if self.args.stream:
            stream_line(host if self.hosts > 1 else "", line, t)
        if body.startswith("LAB-INIT") and host not in self.xen_input:
            # Xen's serial input to Xen for good (Xen eats the Ctrl-A):
            # dom0 reads nothing from it, the NUL pokes and debug keys
            # go to Xen
            if self.to_xen(host, b"\x01\x01\x01"):
                self.xen_input.add(host)
        if body.startswith("LAB-BEGIN "):
            m = re.match(r"LAB-BEGIN (\S+) attempt=(\d+) timeout=(\d+)", body)
            if m:
                with self.lock:
                    self.active[host] = (m.group(1), time.time()
                                         + int(m.group(3)) + HANG_GRACE
                                         + (900 if self.hosts > 1 else 0))
        elif body.startswith("LAB-RESULT "):
            try:
                r = json.loads(body[len("LAB-RESULT "):])
            except ValueError as e:
                r = {"name": self.active.get(host, ("?",))[0],
                     "status": "FAIL",
                     "reason": "unparsable result line (%s)" % e}
            with self.lock:
                self.results.setdefault(r.get("name"), {})[host] = r
                self.active.pop(host, None)
            if len(self.results[r.get("name")]) == self.hosts:
                self.args.report(self, r.get("name"))
        elif body.startswith("LAB-DONE"):
            with self.lock:
                self.done_hosts.add(host)

    def result(self, name):
        """The merged result of scenario NAME (both hosts' views), with
        the boot's re-run counted as a retry."""
        r = self.merged(name)
        if self.retry_why:
            r["retries"] = r.get("retries", 0) + 1
            r["retry_reasons"] = "; ".join(
                x for x in (self.retry_why, r.get("retry_reasons")) if x)
            r["emulator_freezes"] = 1
        return r

    def merged(self, name):
        views = self.results.get(name, {})
        if not views:
            return {"name": name, "status": "FAIL", "retries": 0,
                    "reason": self.failure or "no result reported"}
        if len(views) < self.hosts:
            missing = [h for h in "ab" if h not in views]
            r = dict(list(views.values())[0])
            r["status"] = "FAIL"
            r["reason"] = "no result from host %s (%s)" % (
                missing[0], self.failure or "?")
            return r
        if self.hosts == 1:
            return dict(views["a"])
        a, b = views["a"], views["b"]
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


def stream_line(host, line, t):
    """--stream: show the interesting dom0 lines live, not Xen's noise."""
    h = host + " " if host else ""
    m = re.search(r"(\[lab .*|LAB-(BEGIN|RETRY|END) .*)", line)
    if not m:
        if re.search(r"Triple fault|Panic|panic|Oops|BUG:", line):
            out("  %6.1fs %s!! %s" % (t, h, line.strip()))
        elif "Xen version" in line and "(XEN)" in line:
            out("  %6.1fs %sXen is booting" % (t, h))
        elif "Linux version" in line:
            out("  %6.1fs %sdom0 Linux is booting" % (t, h))
        return
    text = m.group(1)
    text = re.sub(r"^\[lab (\S+?)(@\w)? \+[\d.]+s\] ", "", text)
    text = re.sub(r"^\[lab dom0 [\d.]+s\] ", "dom0: ", text)
    text = text.replace("dom0: LAB-INIT start", "dom0: starting xenstored, "
                        "xenconsoled")
    text = text.replace("dom0: LAB-READY", "dom0: Xen host ready:")
    text = re.sub(r"^LAB-BEGIN (\S+) attempt=(\d+).*",
                  r"scenario \1 (attempt \2) starts", text)
    text = re.sub(r"^LAB-END (\S+) (\S+)", r"scenario \1: \2", text)
    out("  %6.1fs %s%s" % (t, h, text))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listen(net):
    """Wait until the QEMU of host b listens on its socket netdev (a probe
    connection would be taken for the peer, so read /proc/net/tcp)."""
    m = [re.search(r"listen=127.0.0.1:(\d+)", a) for a in net]
    m = [x for x in m if x]
    if not m:
        time.sleep(1)
        return
    port = "%04X" % int(m[0].group(1))
    for _ in range(100):
        with open("/proc/net/tcp") as f:
            if any(l.split()[1].endswith(":" + port) and l.split()[3] == "0A"
                   for l in f.readlines()[1:]):
                return
        time.sleep(0.1)


def die_with_parent():
    """In the child: SIGKILL when the lab runner dies, however it dies."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except OSError:
        pass
    os.setpgrp()


def kill(q):
    if q.poll() is None:
        try:
            q.kill()
        except OSError:
            pass
    try:
        q.wait(10)
    except subprocess.TimeoutExpired:
        pass
    with procs_lock:
        procs.discard(q)


def kill_all(*_):
    stopping.set()
    with procs_lock:
        for q in list(procs):
            try:
                q.kill()
            except OSError:
                pass


# ---- planning and reporting ------------------------------------------------

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


def describe(r):
    bits = []
    for key, label, fmt in (("migrate_s", "migrate", "%.1fs"),
                            ("downtime_ms", "downtime", "%.0fms"),
                            ("ping_gap_ms", "ping gap", "%.0fms"),
                            ("bytes_sent", "sent", "%s B"),
                            ("link_mb_s", "link", "%.2f MB/s"),
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


class Reporter:
    def __init__(self, results):
        self.results = results
        self.lines = []
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
            st = r.get("status", "FAIL")
            if st == "PASS":
                line = "PASS %s %s" % (name, describe(r))
            elif st == "SKIP":
                line = "SKIP %s: %s" % (name, r.get("reason", ""))
            else:
                line = "FAIL %s: %s %s" % (name, r.get("reason", ""),
                                           describe(r))
            self.lines.append((name, r))
            with open(os.path.join(self.results, "results.jsonl"), "a") as f:
                f.write(json.dumps(r, sort_keys=True) + "\n")
            out(line.rstrip())


class Slots:
    """One lock file per CPU in the cache: concurrent lab runs on one
    machine (a developer's and CI's, say) queue for cores instead of
    oversubscribing them, which would slow every boot past its timeouts."""

    def __init__(self, n):
        import fcntl
        self.fcntl = fcntl
        d = os.path.join(os.environ.get("LAB_CACHE", "/var/tmp/relocd-lab"),
                         "slots")
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
                self.fcntl.flock(f, self.fcntl.LOCK_EX | self.fcntl.LOCK_NB)
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
            self.fcntl.flock(self.files[i], self.fcntl.LOCK_UN)
            self.held.discard(i)


def run_boots(boots, capacity, args):
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
            if stopping.is_set() or (running and
                                     used + b.cost > capacity):
                continue
            got = slots.take(b.cost)
            if got is None:
                if not running and not waiting:
                    out("lab: waiting for a free core (another lab run on "
                        "this machine holds them)")
                    waiting = True
                continue
            pending.remove(b)
            out("lab: boot %s: %s host%s, %s" % (
                b.id, b.hosts, "s" if b.hosts > 1 else "",
                " ".join(s.name for s in b.scenarios)))
            th = threading.Thread(target=boot_thread, args=(b, args))
            th.start()
            running.append((b, th, got))
            used += b.cost
        if stopping.is_set():
            for b in pending:
                b.failure = "interrupted"
            pending = []
        time.sleep(0.5)


def boot_thread(b, args):
    run_boot(b)
    left = [s for s in b.scenarios if not args.report.has(s.name)]
    if b.emulator_froze and left and not stopping.is_set():
        # the one boot failure that is the emulator's, not ours: once more
        # for the scenarios without a result, and the re-run says why
        out("lab: boot %s: %s; running %s once more in a new boot" % (
            b.id, b.failure, " ".join(s.name for s in left)))
        again = Boot(b.id + "r", left, args)
        again.retry_why = "boot %s: %s" % (b.id, b.failure)
        b.rerun = again
        b = again
        run_boot(b)
    for s in b.scenarios:
        args.report(b, s.name)


def run_boot(b):
    try:
        b.run()
    except Exception as e:          # noqa: a boot bug must not hang the lab
        b.failure = "lab error: %r" % e


def main():
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
    args = ap.parse_args()
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
    if args.shell:
        return shell(args)
    args.mode = "run"
    selected = select(all_sc, args.suite, args.scenario)
    if not selected:
        out("lab: nothing to run")
        out("lab: 0 passed, 0 failed")
        return 1
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    cache = os.environ.get("LAB_CACHE", "/var/tmp/relocd-lab")
    args.results = os.environ.get("RESULTS") or os.path.join(
        cache, "results", stamp)
    os.makedirs(args.results, exist_ok=True)
    open(os.path.join(args.results, "results.jsonl"), "w").close()
    args.report = Reporter(args.results)
    args.revivals = []
    out("lab: results in %s" % args.results)
    if args.keep:
        keep_images(args)
    else:
        prune(os.path.join(cache, "results"), 20)
    signal.signal(signal.SIGINT, kill_all)
    signal.signal(signal.SIGTERM, kill_all)
    signal.signal(signal.SIGHUP, kill_all)
    t0 = time.time()
    boots = [Boot(chr(ord("1") + i) if i < 9 else str(i + 1), sc, args)
             for i, sc in enumerate(plan(selected, max(1, args.jobs)))]
    run_boots(boots, max(2, args.jobs), args)
    every = boots + [b.rerun for b in boots if b.rerun]
    for b in every:
        if b.failure:
            out("lab: boot %s: %s (serial log in %s)" % (
                b.id, b.failure, args.results))
    args.frozen = sum(1 for b in every if b.emulator_froze)
    return summary(args, selected, time.time() - t0)


def summary(args, selected, wall):
    rs = {n: r for n, r in args.report.lines}
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for s in selected:
        counts[rs.get(s.name, {}).get("status", "FAIL")] += 1
    retried = [(n, r) for n, r in args.report.lines if r.get("retries")]
    with open(os.path.join(args.results, "summary.txt"), "w") as f:
        for n, r in args.report.lines:
            f.write("%s %s %s\n" % (r.get("status"), n, describe(r)))
        f.write("wall %.0fs\n" % wall)
    out("lab: wall time %.0fs; serial logs, guest consoles and results.jsonl "
        "in %s" % (wall, args.results))
    tf = sum(r.get("triple_faults", 0) for _, r in args.report.lines)
    fr = args.frozen
    if args.revivals:
        out("lab: %d host(s) lost their timer interrupt and came back: %s"
            % (len(args.revivals), "; ".join(args.revivals)))
    if retried or tf or fr:
        out("lab: %d triple fault(s) (QEMU SVM emulation), %d frozen "
            "boot(s), %d scenario(s) retried: %s" % (tf, fr, len(retried),
                                                      ", ".join(
                "%s (%s)" % (n, r.get("retry_reasons")) for n, r in retried)
                or "none"))
    last = "lab: %d passed, %d failed" % (counts["PASS"], counts["FAIL"])
    if counts["SKIP"]:
        last += ", %d skipped" % counts["SKIP"]
    out(last)
    return 0 if counts["FAIL"] == 0 and counts["PASS"] + counts["SKIP"] else 1


def keep_images(args):
    import shutil
    d = os.path.join(args.results, "images")
    os.makedirs(d, exist_ok=True)
    for k, v in args.images.items():
        shutil.copy(v, d)
        args.images[k] = os.path.join(d, os.path.basename(v))


def prune(d, keep):
    import shutil
    try:
        old = sorted(os.listdir(d))[:-keep]
    except OSError:
        return
    for n in old:
        shutil.rmtree(os.path.join(d, n), ignore_errors=True)


def shell(args):
    """An interactive dom0: Xen's serial on this terminal."""
    args.mode = "shell"
    args.scenario = []
    fake = Scenario.__new__(Scenario)
    fake.name, fake.hosts, fake.topology = "shell", 1, "local"
    b = Boot("shell", [fake], args)
    argv = b.qemu_argv("a", [], serial="mon:stdio")
    print("lab: booting Xen + dom0 (about 30 s); Ctrl-a x quits QEMU, "
          "Ctrl-a c the QEMU monitor", flush=True)
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    sys.exit(main())
