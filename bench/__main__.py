"""Run every benchmark module in bench/ and print its figures.

Each module exposes `run() -> list[tuple[str, str]]` (label, figure) and is run in a fresh
subprocess, so that peak-memory figures of one do not include another's.
"""

from __future__ import annotations

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


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        _run_one(sys.argv[2])
        return 0
    failed = 0
    for name in _modules():
        print(f"== {name}")
        proc = subprocess.run(
            [sys.executable, "-m", "bench", "--one", name], capture_output=True, text=True
        )
        if proc.returncode != 0:
            failed += 1
            print(f"   FAILED: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}")
            continue
        for label, figure in json.loads(proc.stdout.strip().splitlines()[-1]):
            print(f"   {label:<48} {figure}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
