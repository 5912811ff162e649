"""How many nodes the simulator can serve in this process, counted in file descriptors.

Measured on the simulator (a scenario of N nodes, one engine each): serving takes N + 7
descriptors (one listening socket per engine); after one inventory the simulator holds 2N + 12
(each engine keeps the client's connection open), and 3N + 12 when the client runs in the same
process (`demo`, `check --scenario`, the tests), which holds the other end of each connection.
"""

from __future__ import annotations

import resource
from collections.abc import Callable

from tui.errors import ScenarioError

FDS_PER_NODE_SERVED = 2  # the engine's listening socket and the client connection it keeps
FDS_PER_NODE_CLIENT = 1  # the client's end of that connection, when it runs in this process
# The other listeners, the gateway and ARM connection pools, the request log, the event loop.
FDS_FIXED = 128


def fds_needed(nodes: int, client_in_process: bool) -> int:
    """File descriptors a simulator of `nodes` nodes needs, with or without its client."""
    per_node = FDS_PER_NODE_SERVED + (FDS_PER_NODE_CLIENT if client_in_process else 0)
    return nodes * per_node + FDS_FIXED


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
    per_node = FDS_PER_NODE_SERVED + (FDS_PER_NODE_CLIENT if client_in_process else 0)
    fits = max(0, (soft - FDS_FIXED) // per_node)
    ends = "both ends of" if client_in_process else "its end of"
    raise ScenarioError(
        f"scenario {name}: {nodes} nodes need {needed} open files ({per_node} per node: each "
        f"engine's listening socket and {ends} a client's connection to it, plus {FDS_FIXED}), "
        f"but this process may open {soft} (RLIMIT_NOFILE); "
        f"use at most {fits} nodes or raise the limit (ulimit -n {needed})"
    )
