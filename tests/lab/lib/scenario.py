"""scenario.py - the scenarios in tests/lab/scenarios: the metadata their
headers declare (suite, hosts, topology, timeout), and which of them a
lab run selects."""

import os
import re

from qemu import TOPOLOGIES

LAB = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIOS = os.path.join(LAB, "scenarios")

DEFAULT_TIMEOUT = 300    # s per scenario when its header has none
HEADER_END = 40          # the header is within the file's first 41 lines

# --suite NAME runs the scenarios of these suites (any other NAME: itself)
SUITE_MEMBERS = {"default": ["default"], "full": ["default", "full"]}


class Scenario:
    def __init__(self, path):
        self.name = os.path.basename(path)
        self.path = path
        self.meta = {}
        self.title = ""
        self.read_header(path)
        self.suites = self.meta.get("suite", "full").split()
        self.hosts = int(self.meta.get("hosts", "1"))
        self.topology = self.meta.get(
            "topology", "link" if self.hosts == 2 else "local")
        self.timeout = int(self.meta.get("timeout", DEFAULT_TIMEOUT))
        if self.topology not in TOPOLOGIES:
            raise SystemExit("lab: %s: unknown topology %s"
                             % (self.name, self.topology))

    def read_header(self, path):
        """The `# key: value` lines into self.meta, the first other
        comment after the #! line into self.title (shown by --list)."""
        with open(path) as f:
            for i, line in enumerate(f):
                if i > HEADER_END:
                    break
                m = re.match(r"#\s*(suite|hosts|topology|timeout):\s*"
                             r"(.*?)\s*$", line)
                if m:       # "# timeout: 300   # a comment" is allowed
                    self.meta[m.group(1)] = m.group(2).split("#")[0].strip()
                elif (not self.title and line.startswith("# ")
                      and i > 0):
                    self.title = line[2:].strip()


def load_scenarios():
    """Every scenario file (no dot in its name), by name, sorted."""
    res = {}
    for n in sorted(os.listdir(SCENARIOS)):
        p = os.path.join(SCENARIOS, n)
        if os.path.isfile(p) and not n.startswith(".") and "." not in n:
            res[n] = Scenario(p)
    return res


def select(all_sc, suite, names):
    """The scenarios named on the command line, or else those of suite."""
    if names:
        bad = [n for n in names if n not in all_sc]
        if bad:
            raise SystemExit("lab: no such scenario: %s (see --list)"
                             % " ".join(bad))
        return [all_sc[n] for n in names]
    suites = SUITE_MEMBERS.get(suite, [suite])
    return [s for s in all_sc.values() if set(s.suites) & set(suites)]
