"""The peak memory of a command, measured from a small process of its own.

Linux counts a child's peak RSS (`ru_maxrss`) over its whole life, the part before exec
included: a command forked from a large process (a benchmark holding 1,000 nodes' snapshots)
is reported at least as large as that process. So the command is started by a bare
interpreter (`python -S`, a few MB), which waits for it and prints the peak it was told.
"""

from __future__ import annotations

import subprocess
import sys
import time

LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        os.execv(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def run_for_peak(command: list[str]) -> tuple[float, float, int]:
    """Run `command` (its output dropped); its wall seconds, peak RSS in MB and exit code."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-S", "-c", LAUNCHER, *command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    wall = time.perf_counter() - start
    code, peak_kib = done.stdout.split()
    return wall, int(peak_kib) / 1024, int(code)
