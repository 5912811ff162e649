"""Replay figures: open a 100,000-record transcript (verify + index; wall and CPU time), seek
anywhere (a record, a time, the next finding, a node step, home/end) with what the screen then
redraws, and peak memory.

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
from datetime import timedelta
from pathlib import Path

from tui.app.widgets.timeline_bar import timeline_text
from tui.sources.replay import ReplaySource
from tui.transcript import schema
from tui.transcript.snapshot import NODE_COLUMNS

RECORDS = 100_000
SEEKS = 200  # of each kind: a record, a time (g), a finding or a node step (f [ ])
PANE_ROWS = 40
LARGE_RECORDS, LARGE_NODES = 3_000, 1_000


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
        # Every position after a snapshot record, a second or more later, moves its uptimes on
        # (what a replay does between snapshot records), so the seeks pay for it.
        data = {"taken_at": "2025-11-26T22:00:00.000Z", "cluster": "bench", "nodes": rows,
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


def _large_data(seq: int) -> tuple[str, str, dict]:
    """As _data, with a snapshot of 1,000 nodes every 10 records: the worst case of a seek is
    decoding one (and the pane's rows of others)."""
    if seq % 10:
        return _data(seq % 20 or 1)
    node = f"_FrontEnd_{(seq // 10) % LARGE_NODES}"
    kind, _, data = _data(0)
    rows = [
        _node_row(i, "Disabled" if f"_FrontEnd_{i}" == node else "Up") for i in range(LARGE_NODES)
    ]
    return kind, "", {**data, "nodes": rows}


def _session(path: Path, count: int, data_of=_data) -> None:  # type: ignore[no-untyped-def]
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
                kind, node, data = data_of(seq)
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


def _moves(source: ReplaySource, rng: random.Random) -> list[tuple[str, object]]:
    """The moves of a replay, each from a random record: what the keys do."""
    first, last = source.time_of(0), source.time_of(source.count - 1)
    span = (last - first).total_seconds()
    moves: list[tuple[str, object]] = []
    for _ in range(SEEKS):
        moves.append(("record", rng.randrange(source.count)))
        moves.append(("g time", first + timedelta(seconds=rng.uniform(0, span))))
        moves.append((rng.choice(("f", "]", "[")), rng.randrange(source.count)))
    moves += [("home/end", 0), ("home/end", source.count - 1)] * (SEEKS // 20)
    rng.shuffle(moves)
    return moves


def _move(source: ReplaySource, kind: str, arg) -> None:  # type: ignore[no-untyped-def]
    """One move and what the screen redraws after it: the state at the record (its snapshot,
    decoded), the transcript pane's rows around it and the timeline."""
    if kind == "g time":
        source.seek_time(arg)
    else:
        source.seek(arg)
        if kind == "f":
            source.next_finding()
        elif kind == "]":
            source.next_step()
        elif kind == "[":
            source.previous_step()
    source.read()
    n = source.position
    for k in range(max(0, n - PANE_ROWS // 2), min(source.count, n + PANE_ROWS // 2)):
        source.line(k)
    tl = source.timeline
    timeline_text(source.count, tl.steps, tl.findings, n, width=160)


def _ms(seconds: list[float], q: float) -> str:
    return f"{sorted(seconds)[min(len(seconds) - 1, int(len(seconds) * q))] * 1000:.1f}"


def _seeks(source: ReplaySource, rng: random.Random) -> tuple[dict[str, list[float]], float]:
    """Wall seconds of each move, by kind, and the worst move's CPU seconds."""
    took: dict[str, list[float]] = {}
    cpu_worst = 0.0
    for kind, arg in _moves(source, rng):
        start, cpu = time.perf_counter(), time.thread_time()
        _move(source, kind, arg)
        took.setdefault(kind, []).append(time.perf_counter() - start)
        cpu_worst = max(cpu_worst, time.thread_time() - cpu)
    return took, cpu_worst


def _open(path: Path) -> tuple[ReplaySource, float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    source = ReplaySource(path)
    return source, time.perf_counter() - start, time.process_time() - cpu


def run() -> list[tuple[str, str]]:
    rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="sfpatch-bench-", dir=os.getcwd()) as tmp:
        path = Path(tmp) / "session.jsonl"
        _session(path, RECORDS)
        size_mb = path.stat().st_size / 1e6
        before_mb = rss()
        source, open_s, open_cpu = _open(path)
        assert source.count == RECORDS and source.verdict == "INTACT, unsigned", source.verdict
        opened_mb = rss()
        took, cpu_worst = _seeks(source, random.Random(7))
        after_mb = rss()
        source.close("")
        large = Path(tmp) / "large.jsonl"
        _session(large, LARGE_RECORDS, _large_data)
        large_mb = large.stat().st_size / 1e6
        source, large_open_s, large_open_cpu = _open(large)
        large_took, large_cpu_worst = _seeks(source, random.Random(7))
    every = [t for ts in took.values() for t in ts]
    large_every = [t for ts in large_took.values() for t in ts]
    rows = [
        (
            f"replay open {RECORDS:,} records, verify + index (file {size_mb:,.0f} MB)",
            f"{open_s:.2f} s wall, {open_cpu:.2f} s CPU",
        ),
        (
            f"replay seek + redraw state, {len(every)} moves: median / p90 / worst",
            f"{_ms(every, 0.5)} / {_ms(every, 0.9)} / {max(every) * 1000:.1f} ms",
        ),
        ("replay seek + redraw state, worst in CPU time", f"{cpu_worst * 1000:.1f} ms"),
    ]
    rows += [
        (f"  {kind}: median / worst", f"{_ms(ts, 0.5)} / {max(ts) * 1000:.1f} ms")
        for kind, ts in sorted(took.items())
    ]
    rows += [
        (
            "replay peak RSS before open / opened / after seeks",
            f"{before_mb:,.0f} / {opened_mb:,.0f} / {after_mb:,.0f} MB",
        ),
        (
            f"replay {LARGE_RECORDS:,} records, a {LARGE_NODES:,}-node snapshot every 10 "
            f"({large_mb:,.0f} MB): open",
            f"{large_open_s:.2f} s wall, {large_open_cpu:.2f} s CPU",
        ),
        (
            "  seek + redraw state: median / p90 / worst (worst CPU)",
            f"{_ms(large_every, 0.5)} / {_ms(large_every, 0.9)} / "
            f"{max(large_every) * 1000:.1f} ms ({large_cpu_worst * 1000:.1f} ms)",
        ),
        ("replay peak RSS, both files", f"{rss():,.0f} MB"),
    ]
    return rows
