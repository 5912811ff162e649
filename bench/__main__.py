"""Run the benchmark modules in bench/ (all of them, or those named) and print their figures.

Each module exposes `run() -> list[tuple[str, str]]` (label, figure) and is run in a fresh
subprocess, so that peak-memory figures of one do not include another's.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import subprocess
import sys

import bench


def _modules() -> list[str]:
    return sorted(
        m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_")
    )


def _run_one(name: str) -> None:
    rows = importlib.import_module(f"bench.{name}").run()
    print(json.dumps(rows))


def _parser(known: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure sfpatch's speed and memory and print the figures (never asserted).",
        epilog=f"benchmarks: {', '.join(known)}",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="run only these (default: all)")
    parser.add_argument("--one", metavar="NAME", help=argparse.SUPPRESS)  # a child: JSON rows
    return parser


def main(argv: list[str] | None = None) -> int:
    known = _modules()
    parser = _parser(known)
    args = parser.parse_args(argv)
    unknown = [n for n in [*args.names, *([args.one] if args.one else [])] if n not in known]
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)} (choose from {', '.join(known)})")
    if args.one:
        _run_one(args.one)
        return 0
    failed = 0
    for name in args.names or known:
        print(f"== {name}", flush=True)
        proc = subprocess.run(
            [sys.executable, "-m", "bench", "--one", name], capture_output=True, text=True
        )
        if proc.returncode != 0:
            failed += 1
            print(f"   FAILED: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}")
            continue
        for label, figure in json.loads(proc.stdout.strip().splitlines()[-1]):
            print(f"   {label:<48} {figure}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
