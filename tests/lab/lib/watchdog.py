"""watchdog.py - tells a lab host that is merely slow from one that is
stuck, and a stuck dom0 (a real failure) from an emulated machine that
froze or lost its timer interrupt (QEMU's fault: the boot is run once
more). It watches each scenario's deadline and dom0's silence, owns Xen's
serial input (the NUL pokes and the debug keys) and reads the verdict
from Xen's answer. See tests/lab/README.md, "Flakiness"."""

import os
import re
import threading
import time

HANG_GRACE = 240         # s past a scenario's timeout before the boot is
                         # declared hung (the runner's own cleanup runs)
PAIR_GRACE = 900         # s more for a two-host scenario: dom0/runner
                         # waits up to this long for its peer at the
                         # scenario's begin and end barriers
SILENCE = int(os.environ.get("LAB_SILENCE", "300"))
                         # s without a dom0 line (dom0 prints LAB-ALIVE
                         # every 20 s) before a host is declared stuck
PROBE_AFTER = min(60, SILENCE)
                         # s of dom0 silence before Xen is asked whether
                         # its timers still fire (see Watchdog.silence)
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
PROBE_KEYS = "a"         # timer queues: does the machine keep time?
PROBE_WAIT = 10          # s for Xen's answer to the probe
DUMP_WAIT = 30           # s for Xen's answer to XEN_KEYS
ANSWERED_QUIET = 3       # s without a Xen line after one: Xen is done
REVIVE_WAIT = 20         # s for dom0 to speak again after the probe
SWITCH_INPUT = b"\x01\x01\x01"   # three Ctrl-A: Xen's serial input to Xen


class Watchdog:
    """Watches the hosts of one boot. The boot's serial readers report
    what they hear (heard, dom0_started, scenario_began/_ended), its main
    loop calls check and poke."""

    def __init__(self, boot_id, qemus, serial_log, t0, session):
        self.boot_id = boot_id
        self.qemus = qemus           # host -> QEMU (the boot's dict)
        self.serial_log = serial_log  # host -> its serial log's name
        self.t0 = t0
        self.session = session       # out, revivals
        self.lock = threading.Lock()
        self.active = {}         # host -> (scenario, deadline)
        self.last_dom0 = {}      # host -> time of its last non-Xen line
        self.probed = {}         # host -> last_dom0 when Xen was probed
        self.capture = {}        # host -> list collecting Xen's answer
        self.xen_input = set()   # hosts whose serial input goes to Xen
        self.stdin_lock = threading.Lock()
        self.last_poke = 0

    # ---- what the serial readers report ----

    def heard(self, host, line, now):
        if line.startswith("(XEN)"):
            cap = self.capture.get(host)
            if cap is not None:
                cap.append((now, line))
        else:
            self.last_dom0[host] = now

    def dom0_started(self, host):
        """Xen's serial input to Xen for good (Xen eats the Ctrl-A):
        dom0 reads nothing from it, the NUL pokes and debug keys go to
        Xen."""
        if host not in self.xen_input and self.to_xen(host, SWITCH_INPUT):
            self.xen_input.add(host)

    def scenario_began(self, host, name, timeout, pair):
        deadline = time.time() + timeout + HANG_GRACE + (
            PAIR_GRACE if pair else 0)
        with self.lock:
            self.active[host] = (name, deadline)

    def scenario_ended(self, host):
        with self.lock:
            self.active.pop(host, None)

    def scenario(self, host):
        """The scenario host is in, or None."""
        with self.lock:
            a = self.active.get(host)
        return a[0] if a else None

    # ---- the boot's main loop ----

    def check(self, now, finished):
        """None while the boot may go on; else (why it must end, whether
        that is the emulator's fault). finished: hosts that are done."""
        with self.lock:
            hung = [(h, s) for h, (s, d) in self.active.items() if now > d]
        if hung:
            return self.diagnose(hung[0][0], "dom0 %s hung in %s" % hung[0])
        return self.silence(now, finished)

    def poke(self, now):
        """Every POKE_S seconds, one NUL byte to each Xen (see POKE_S)."""
        if now - self.last_poke < POKE_S:
            return
        self.last_poke = now
        for h in self.xen_input:
            self.to_xen(h, b"\0")

    # ---- silence ----

    def silence(self, now, finished):
        """A host whose dom0 has been silent PROBE_AFTER seconds is asked
        (Xen's timer queues) whether its machine still keeps time; one
        silent SILENCE seconds is stuck."""
        for h, q in self.qemus.items():
            if q.poll() is not None or h in finished:
                continue
            last = self.last_dom0.get(h, self.t0)
            quiet = now - last
            if quiet > PROBE_AFTER and self.probed.get(h) != last:
                self.probed[h] = last
                verdict = frozen_verdict(self.xen_keys(h, PROBE_KEYS,
                                                       PROBE_WAIT))
                if not verdict or self.revived(h, last, verdict):
                    continue
                return self.diagnose(h, "host %s was silent for %ds%s; %s"
                                     % (h, quiet, self.where(h), verdict))
            if quiet > SILENCE:
                return self.diagnose(h, "host %s printed nothing for %ds%s"
                                     % (h, quiet, self.where(h)))
        return None

    def where(self, host):
        name = self.scenario(host)
        return " (in %s)" % name if name else ""

    def revived(self, host, last, verdict):
        """The serial interrupts of the probe may have woken a machine
        that lost its timer interrupt: dom0 speaking again says so."""
        end = time.time() + REVIVE_WAIT
        while time.time() < end:
            if self.last_dom0.get(host, self.t0) != last:
                revivals = self.session.revivals
                revivals.append("boot %s host %s: %s; it came back after "
                                "the probe" % (self.boot_id, host, verdict))
                self.session.out("lab: " + revivals[-1])
                return True
            time.sleep(0.5)
        return False

    # ---- Xen's serial input ----

    def to_xen(self, host, data):
        """Writes to Xen's serial line of host; False if QEMU is gone."""
        q = self.qemus.get(host)
        try:
            with self.stdin_lock:
                q.stdin.write(data)
                q.stdin.flush()
            return True
        except (AttributeError, OSError, ValueError):
            return False

    def xen_keys(self, host, keys, wait):
        """Sends Xen debug keys (the serial input is Xen's since dom0
        started, see dom0_started) and returns the Xen lines that came
        within `wait` seconds."""
        cap = self.capture[host] = []
        if host not in self.xen_input:
            self.to_xen(host, SWITCH_INPUT)
        for k in keys:
            self.to_xen(host, k.encode())
            time.sleep(0.5)
        end = time.time() + wait
        while time.time() < end and self.qemus[host].poll() is None:
            # done when Xen has answered and been quiet for 3 s
            if cap and time.time() - cap[-1][0] > ANSWERED_QUIET:
                break
            time.sleep(0.5)
        self.capture[host] = None
        return [l for _, l in cap]

    def diagnose(self, host, failure):
        """Xen's debug keys on a stuck host: its timer queues, registers,
        domains and run queues land in the serial log. A machine that
        froze or lost its timer interrupt is a fault of QEMU's TCG, like
        the triple fault (tests/lab/README.md, "Flakiness"): its boot is
        run once more. Xen keeping time with dom0 silent is a real
        failure. Returns (failure with the verdict, emulator's fault)."""
        verdict = frozen_verdict(self.xen_keys(host, XEN_KEYS, DUMP_WAIT))
        if verdict:
            if verdict not in failure:
                failure += "; " + verdict
            return failure, True
        return failure + "; Xen answers and keeps time: dom0 is stuck " \
            "(Xen's dump in %s)" % self.serial_log(host), False


def frozen_verdict(lines):
    """Why the machine itself (not dom0) stopped, from Xen's answer to
    'a' (timer queues), or None when it keeps time."""
    if not lines:
        return "Xen does not answer its serial line either: the " \
            "emulated machine froze"
    ex = [int(m.group(1)) for m in (re.search(r"ex=\s*(-?\d+)us", l)
                                    for l in lines) if m]
    if ex and -min(ex) > LOST_TIMER_S * 1000000:
        return "Xen's timers are %.0fs overdue: the machine's timer " \
            "interrupt stopped (an emulator fault)" % (-min(ex) / 1e6)
    return None
