"""Runs a command and reports the peak of its resident memory split the way the kernel
counts it (anonymous: heap and stacks; file: the mapped binary and libraries; shared
memory), sampled from /proc/<pid>/status every millisecond, plus the thread count.

    python3 bench/rss_split.py -- COMMAND...

Useful as `run.py --wrap 'python3 bench/rss_split.py --'` with `--runs 1`: the split
is printed on stderr, which run.py keeps in the run's output.
"""

import os
import subprocess
import sys
import time

FIELDS = ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM", "Threads")


def sample(pid):
    values = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in FIELDS:
                    values[key] = int(rest.split()[0])
    except OSError:
        pass
    return values


def main():
    argv = sys.argv[1:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        sys.exit(__doc__)
    child = subprocess.Popen(argv)
    peak = {}
    at_peak = {}
    while child.poll() is None:
        values = sample(child.pid)
        for key, value in values.items():
            peak[key] = max(peak.get(key, 0), value)
        if values.get("VmRSS", 0) >= at_peak.get("VmRSS", 0) and values:
            at_peak = values
        time.sleep(0.001)
    unit = lambda kb: f"{kb / 1024:.1f} MB"
    print("rss_split: at the sampled peak: " + ", ".join(
        f"{k} {unit(v) if k != 'Threads' else v}" for k, v in at_peak.items()), file=sys.stderr)
    print("rss_split: each one's own peak: " + ", ".join(
        f"{k} {unit(v) if k != 'Threads' else v}" for k, v in peak.items()), file=sys.stderr)
    sys.exit(child.returncode)


if __name__ == "__main__":
    main()
