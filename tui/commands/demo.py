"""`sfpatch demo`: the console against a simulated cluster; no Azure, no config."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "demo",
        help="open the console on a simulated cluster (no Azure needed)",
        description="Start the simulator in-process and open the console against it. "
        "Every action is recorded to a session transcript, as against a real cluster.",
        epilog="example:\n  sfpatch demo --scenario seed --speed 10 --ticket CHG-1234",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--scenario", default="seed", help="shipped scenario name or .toml path")
    parser.add_argument(
        "--speed",
        type=float,
        default=10.0,
        help="simulated seconds per real second (default 10: a disable takes ~3 s)",
    )
    parser.add_argument(
        "--transcript-dir",
        type=Path,
        default=None,
        help="where transcripts go (default: the user data dir)",
    )
    parser.add_argument("--ticket", default="", help="change ticket recorded in the transcript")
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between refreshes")
    parser.add_argument(
        "--transcript-key",
        type=Path,
        default=None,
        metavar="FILE",
        help="sign checkpoints with this HMAC secret or Ed25519 private key "
        "(default: $SFPATCH_TRANSCRIPT_KEY if set)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tui.errors import UsageError
    from tui.sim.scenario import load_scenario
    from tui.sim.server import SimServer

    if args.speed <= 0:
        raise UsageError("--speed must be > 0 for the demo")
    if args.poll <= 0:
        raise UsageError("--poll must be > 0")
    scenario = load_scenario(args.scenario)
    print(f"sfpatch: starting the simulated cluster {scenario.cluster_name} ...", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="sfpatch-demo-") as state_dir:
        server = SimServer(scenario, Path(state_dir), speed=args.speed).start()
        try:
            session = build_session(server.endpoints, args.transcript_dir, args.ticket, args.poll)
            try:
                from tui.app.app import SfpatchApp

                SfpatchApp(session).run()
            finally:
                session.close()
        finally:
            server.stop()
    if session.transcript_path:
        print(f"sfpatch: transcript written to {session.transcript_path}", file=sys.stderr)
    return 0


def build_session(
    server,
    transcript_dir: Path | None,
    ticket: str,
    poll: float,
    read_only: bool = False,
    key: Path | None = None,
):
    """A session on the simulator through the profile it wrote, as against a real cluster."""
    from tui.config import load_profile
    from tui.session import open_session
    from tui.transcript.keys import load_signing_key

    profile = load_profile(server.cluster.scenario.cluster_name, server.profile_path)
    return open_session(
        profile,
        transcript_dir=transcript_dir,
        ticket=ticket,
        poll_seconds=poll,
        read_only=read_only,
        transcript_key=None if read_only else load_signing_key(key),
    )
