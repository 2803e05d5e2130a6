"""serialline.py - the messages in a lab host's serial line: the LAB-*
lines of dom0's /init and runner (dom0/init, dom0/runner), the guest
consoles they carry, and the live view of --stream."""

import json
import os
import re

# The LAB-* messages the host side acts on (none is a prefix of another,
# so lab_message may try them in any order)
ALIVE = "LAB-ALIVE"          # dom0's heartbeat, every 20 s
SELFTEST_FREEZE = "LAB-SELFTEST-FREEZE"   # selftest-freeze: stop my QEMU
CON = "LAB-CON "             # a line of a guest console or dump
INIT = "LAB-INIT"            # dom0's /init started
BEGIN = "LAB-BEGIN "         # a scenario attempt starts
RESULT = "LAB-RESULT "       # a scenario's result, JSON
DONE = "LAB-DONE"            # the runner is done with the boot's plan
KINDS = (ALIVE, SELFTEST_FREEZE, CON, INIT, BEGIN, RESULT, DONE)
QUIET = (ALIVE, SELFTEST_FREEZE, CON)   # never shown by --stream


def lab_message(line):
    """(kind, body) of the LAB-* message in a serial line: kind is the
    entry of KINDS that body starts with ("" for any other LAB- line),
    body the text from "LAB-" on. None for a line without one."""
    i = line.find("LAB-")
    if i < 0:
        return None
    body = line[i:]
    for kind in KINDS:
        if body.startswith(kind):
            return kind, body
    return "", body


def parse_begin(body):
    """LAB-BEGIN NAME attempt=N timeout=S: (NAME, S) or None."""
    m = re.match(r"LAB-BEGIN (\S+) attempt=(\d+) timeout=(\d+)", body)
    return (m.group(1), int(m.group(3))) if m else None


def parse_result(body):
    """LAB-RESULT {json}: the dict; ValueError if it does not parse."""
    return json.loads(body[len(RESULT):])


class Consoles:
    """LAB-CON SCENARIO/ATTEMPT/FILE: TEXT lines into
    RESULTS/console/SCENARIO/attemptATTEMPT/[host-H/]FILE."""

    def __init__(self, results, host):
        self.results = results
        self.host = host         # None for a one-host boot
        self.files = {}

    def write(self, body):
        m = re.match(r"LAB-CON ([^/]+)/(\d+)/([^:]+): ?(.*)", body)
        if not m:
            return
        key = (m.group(1), m.group(2), m.group(3))
        if key not in self.files:
            d = os.path.join(self.results, "console", m.group(1),
                             "attempt%s" % m.group(2))
            if self.host:
                d = os.path.join(d, "host-" + self.host)
            os.makedirs(d, exist_ok=True)
            self.files[key] = open(os.path.join(d, m.group(3)), "w")
        self.files[key].write(m.group(4) + "\n")

    def close(self):
        for f in self.files.values():
            f.close()


def stream_line(out, host, line, t):
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
