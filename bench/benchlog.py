"""bench/benchlog.py - the lab's BENCH lines, for the bench reports.

A bench scenario prints each measurement as one line "BENCH {json}" on
dom0's serial console; the reports (migrate-report.py,
storage-report.py) read them back from the lab's serial logs.
"""
import json


def read_lines(paths):
    """The BENCH records of the files at paths, and how many were bad."""
    recs, bad = [], 0
    for p in paths:
        with open(p, errors="replace") as f:
            for line in f:
                i = line.find("BENCH {")
                if i < 0:
                    continue
                try:
                    recs.append(json.loads(line[i + 6:].strip()))
                except ValueError:
                    bad += 1
    return recs, bad
