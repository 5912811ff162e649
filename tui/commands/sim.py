"""`sfpatch sim`: serve a simulated cluster for rehearsals, sfctl, docker and the tests."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from tui.cli import HelpFormatter


def register(sub: argparse._SubParsersAction) -> None:
    from tui.sim.faults import FAULTS

    usages = {name: f"{name}:{kind.upper()}" for name, (kind, _) in FAULTS.items()}
    width = max(map(len, usages.values()))
    faults = "\n".join(f"  {usages[name]:<{width}}  {text}" for name, (_, text) in FAULTS.items())
    parser = sub.add_parser(
        "sim",
        help="serve a simulated cluster (SF gateway, ARM, Docker engines) on loopback",
        description="Serve a simulated Service Fabric cluster over mutual TLS on loopback until "
        "SIGINT/SIGTERM. When ready, DIR/endpoints.json says where each service listens and "
        "which certificates to use; DIR/requests.jsonl logs every request served.",
        epilog=f"faults (--fault NAME:ARG, repeatable):\n{faults}\n\n"
        "examples:\n  sfpatch sim --scenario seed --state-dir /tmp/sim --speed 60\n"
        "  sfpatch sim --state-dir /tmp/sim --speed 0 --start 2026-11-26T22:00:00Z "
        "--fault no-return:_FrontEnd_3\n"
        "      frozen clock (move it with POST /clock/advance), one node that never comes back",
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--scenario",
        default="seed",
        help="shipped scenario name or .toml path (default: %(default)s)",
    )
    parser.add_argument("--state-dir", required=True, type=Path, help="where to write files")
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="simulated seconds per real second; 0 freezes the clock (default: %(default)s)",
    )
    parser.add_argument(
        "--start",
        metavar="ISO8601",
        help="simulated time at start, e.g. 2026-11-26T22:00:00Z, to reproduce a run exactly "
        "(default: now, to the second, UTC)",
    )
    parser.add_argument("--seed", type=int, default=None, help="RNG seed (default: the scenario's)")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME:ARG",
        help="inject a fault from the start (repeatable; the list is below; add and remove "
        "faults at run time through the control endpoint)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tui.inputs import Range, check_number
    from tui.sim.clock import check_speed, parse_start, real_now
    from tui.sim.faults import parse_fault, require_known_node
    from tui.sim.scenario import MAX_INT64, load_scenario

    check_speed(args.speed)
    if args.seed is not None:
        check_number(args.seed, Range(0, MAX_INT64, whole=True), "--seed")
    start = parse_start(args.start) if args.start is not None else real_now()
    faults = tuple(parse_fault(text) for text in args.fault)
    scenario = load_scenario(args.scenario)
    for fault in faults:
        require_known_node(fault, _node_names(scenario))
    from tui.sim.server import SimServer  # aiohttp and TLS: only once the input is known good

    server = SimServer(
        scenario,
        args.state_dir,
        speed=args.speed,
        faults=faults,
        seed=args.seed,
        start=start,
        client_in_process=False,  # sfctl, docker, the console: each in a process of its own
    )
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: server.stop_from_signal())
    print(
        f"sfpatch sim: {scenario.cluster_name} ({scenario.name}), speed {args.speed}, "
        f"start {start.isoformat().replace('+00:00', 'Z')}; "
        f"endpoints in {server.endpoints_path}",
        file=sys.stderr,
    )
    server.run_forever()
    return 0


def _node_names(scenario) -> set[str]:
    return {f"_{nt.name}_{i}" for nt in scenario.node_types for i in range(nt.instances)}
