"""Replay figures: open a 100,000-record transcript (verify + index), seek anywhere, peak memory.

The file has the shape of a long session: a snapshot of 8 nodes every 20 records, node steps with
gates, confirmations, intents and results, warnings and notes, then the end and a final
checkpoint. Written straight through the schema (no fsync per record) on a real disk.
"""

from __future__ import annotations

import os
import random
import resource
import tempfile
import time
from pathlib import Path

from tui.sources.replay import ReplaySource
from tui.transcript import schema
from tui.transcript.snapshot import NODE_COLUMNS

RECORDS = 100_000
SEEKS = 200


def _node_row(i: int, status: str) -> list:
    name, address, ud, fd = f"_FrontEnd_{i}", f"10.0.0.{4 + i}", str(i % 5), f"fd:/{i % 5}"
    ids = (f"13389{i}", f"{i:032x}")
    return [name, "FrontEnd", address, ud, fd, status, "Ok", i < 5, "10.1.2448.1", *ids, 86400,
            "Invalid", "None"]  # fmt: skip


def _data(seq: int) -> tuple[str, str, dict]:
    """(kind, node, data) of record `seq`, in a repeating session-like pattern."""
    node = f"_FrontEnd_{(seq // 20) % 8}"
    slot = seq % 20
    if slot == 0:
        rows = [_node_row(i, "Disabled" if f"_FrontEnd_{i}" == node else "Up") for i in range(8)]
        health = {"aggregated": "Ok", "evaluation_columns": [], "evaluations": []}
        data = {"taken_at": "2026-11-26T22:00:00.000Z", "cluster": "bench", "nodes": rows,
                "node_columns": list(NODE_COLUMNS), "health": health, "findings": []}  # fmt: skip
        return schema.SNAPSHOT, "", data
    if slot in (1, 2, 3):
        return schema.GATE, node, {"gate": f"gate-{slot}", "passed": True, "state": "passed"}
    if slot == 4:
        return schema.CONFIRM, node, {"what": f"disable {node}", "typed_node_name": slot == 4}
    if slot in (5, 9, 13):
        return schema.INTENT, node, {"action": ("disable", "patch", "enable")[slot // 5 - 1]}
    if slot in (6, 10, 14):
        return schema.RESULT, node, {"outcome": "ok", "message": ""}
    if slot == 17:
        return schema.WARNING, node, {"message": "host behind", "rule": "r", "severity": "info"}
    return schema.NOTE, node, {"text": f"note {seq}"}


def _session(path: Path, count: int) -> None:
    prev = schema.GENESIS
    start_ms = 1_764_194_400_000  # 2025-11-26T22:00:00Z
    header = {"format": schema.FORMAT, "version": schema.VERSION, "session": "bench",
              "cluster": "bench", "endpoint": "https://127.0.0.1:19080",
              "ticket": "CHG-0"}  # fmt: skip
    with open(path, "wb", buffering=1 << 20) as out:
        for seq in range(count):
            if seq == 0:
                kind, node, data = schema.START, "", header
            elif seq == count - 2:
                kind, node, data = schema.END, "", {"reason": "quit by the engineer"}
            elif seq == count - 1:
                kind, node = schema.CHECKPOINT, ""
                data = {"count": seq, "head": prev, "final": True, "alg": "none"}
            else:
                kind, node, data = _data(seq)
            ms = start_ms + seq * 1000 + (600_000 if seq % 5000 == 0 else 0)
            ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".000Z"
            line, prev = schema.encode_record(
                {
                    "seq": seq,
                    "ts": ts,
                    "mono_ms": seq,
                    "kind": kind,
                    "op": None,
                    "node": node or None,
                    "data": data,
                    "prev": prev,
                }  # fmt: skip
            )
            out.write(line)


def run() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="sfpatch-bench-", dir=os.getcwd()) as tmp:
        path = Path(tmp) / "session.jsonl"
        _session(path, RECORDS)
        size_mb = path.stat().st_size / 1e6
        before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start = time.perf_counter()
        source = ReplaySource(path)
        open_s = time.perf_counter() - start
        assert source.count == RECORDS and source.verdict == "INTACT, unsigned", source.verdict
        rng = random.Random(7)
        worst = total = 0.0
        for _ in range(SEEKS):
            start = time.perf_counter()
            n = source.seek(rng.randrange(RECORDS))
            source.read()  # the screens' state at that record: its snapshot, decoded
            for k in range(max(0, n - 5), min(RECORDS, n + 5)):
                source.line(k)  # the transcript pane's rows around it
            took = time.perf_counter() - start
            worst, total = max(worst, took), total + took
        after_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [
        (f"replay open {RECORDS:,} records (verify + index)", f"{open_s:.2f} s"),
        ("replay seek anywhere + redraw state, mean", f"{total * 1000 / SEEKS:.1f} ms"),
        ("replay seek anywhere + redraw state, worst", f"{worst * 1000:.1f} ms"),
        (
            f"replay peak RSS before/after open (file {size_mb:,.0f} MB)",
            f"{before_mb:,.0f} / {after_mb:,.0f} MB",
        ),  # fmt: skip
    ]
