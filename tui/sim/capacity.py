"""How many nodes the simulator can serve in this process, counted in file descriptors.

Measured on the simulator (a scenario of N nodes, one engine each): serving takes N + 10
descriptors (one listening socket per engine address, one accepting thread for all). A client
reading every engine holds no connection per engine, only the reads in flight (the sweep's:
four times the inventory's concurrency, MAX_CONCURRENCY at most). Measured with 8 in flight:
N + 13 after a full inventory from another process, and a peak of N + 73 with the client in
this process (`demo`, `check --scenario`, `run --scenario`, the tests), which holds both ends
of each connection.
"""

from __future__ import annotations

import resource
from collections.abc import Callable

from tui.config import MAX_CONCURRENCY
from tui.errors import ScenarioError

FDS_PER_NODE = 1  # the engine's listening socket
# The other listeners, the accept loop's selector and wake-up pipe, the request log, stdio.
FDS_FIXED = 64
FDS_PER_CONNECTION = 1  # the simulator's end; the client's end too when it runs here
CONNECTIONS = MAX_CONCURRENCY  # reads in flight at once, at most


def fds_needed(nodes: int, client_in_process: bool) -> int:
    """File descriptors a simulator of `nodes` nodes needs, with or without its client."""
    ends = 2 if client_in_process else 1
    return nodes * FDS_PER_NODE + FDS_FIXED + CONNECTIONS * FDS_PER_CONNECTION * ends


def ensure_capacity(
    name: str,
    nodes: int,
    client_in_process: bool,
    getrlimit: Callable[[int], tuple[int, int]] = resource.getrlimit,
    setrlimit: Callable[[int, tuple[int, int]], None] = resource.setrlimit,
) -> None:
    """Raise this process's open-file limit to what `nodes` need when the hard limit allows;
    a ScenarioError naming the limit and the largest scenario that fits when it does not."""
    needed = fds_needed(nodes, client_in_process)
    soft, hard = getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or needed <= soft:
        return
    if hard == resource.RLIM_INFINITY or needed <= hard:
        try:
            setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
            return
        except (OSError, ValueError):
            pass  # some systems cap below the hard limit (macOS: OPEN_MAX): refuse below
    else:
        soft = hard
    overhead = fds_needed(0, client_in_process)
    fits = (soft - overhead) // FDS_PER_NODE
    what = f"use at most {fits} nodes or raise" if fits > 0 else "raise"
    ends = "both ends, as the client runs here" if client_in_process else "the simulator's end"
    raise ScenarioError(
        f"scenario {name}: {nodes} nodes need {needed} open files (a listening socket per "
        f"engine, {overhead} for the simulator and {CONNECTIONS} connections in flight, {ends}), "
        f"but this process may open {soft} (RLIMIT_NOFILE); {what} the limit (ulimit -n {needed})"
    )
