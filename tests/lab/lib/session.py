"""session.py - what the boots of one lab run share: the options, the
results dir and its reporter, the QEMU processes, the output lines (the
boots print from several threads), and the interrupt that ends them all."""

import os
import subprocess
import threading

from qemu import Processes
from report import Reporter


class Session:
    def __init__(self, options):
        self.options = options   # parsed command line: images, set,
                                 # stream, mode
        self.results = None      # the results dir (open_results)
        self.report = None       # its Reporter
        self.revivals = []       # hosts that came back after the probe
        self.qemus = Processes()
        self.stopping = threading.Event()
        self.out_lock = threading.Lock()

    def out(self, line):
        with self.out_lock:
            print(line, flush=True)

    def open_results(self, results):
        """Starts the results dir with an empty results.jsonl."""
        self.results = results
        os.makedirs(results, exist_ok=True)
        open(os.path.join(results, "results.jsonl"), "w").close()
        # the tree under test, so that tests/lab/matrix can tell runs of
        # today's code from older ones
        repo = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "..", "..", "..")
        tree = subprocess.run(["git", "-C", repo, "describe", "--always",
                               "--dirty"], capture_output=True, text=True)
        with open(os.path.join(results, "tree"), "w") as f:
            f.write((tree.stdout.strip() or "unknown") + "\n")
        self.report = Reporter(results, self.out)

    def interrupt(self, *_):
        """The signal handler: no new boot starts, every QEMU dies."""
        self.stopping.set()
        self.qemus.kill_all()
