"""Transcript figures: appends per second with fsync, records verified per second, peak memory.

The files live in a temporary directory under the current directory (a real disk, not tmpfs).
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path

from tui.transcript import schema
from tui.transcript.keys import HmacKey
from tui.transcript.reader import TranscriptReader, verify_file
from tui.transcript.writer import SessionHeader, TranscriptWriter

APPENDS = 2_000
VERIFY_RECORDS = 1_000_000


def _appends(directory: Path) -> float:
    key = HmacKey(b"bench-secret-0123456789")
    header = SessionHeader(cluster="bench", endpoint="https://127.0.0.1:19080", ticket="CHG-0")
    writer = TranscriptWriter.create(header, directory, key=key)
    start = time.perf_counter()
    for i in range(APPENDS // 2):
        op = writer.new_op()
        writer.intent(op, "disable", node=f"_FrontEnd_{i % 5}", intent="Restart")
        writer.result(op, True, node=f"_FrontEnd_{i % 5}")
    elapsed = time.perf_counter() - start
    writer.close()
    return APPENDS / elapsed


def _synthetic(path: Path, count: int) -> None:
    """A valid, closed-shape transcript of intent/result pairs, written without fsync."""
    prev = schema.GENESIS
    header = {"format": schema.FORMAT, "version": schema.VERSION, "session": "bench"}
    with open(path, "wb", buffering=1 << 20) as out:
        for seq in range(count):
            kind = "start" if seq == 0 else ("intent" if seq % 2 else "result")
            data = header if seq == 0 else {"action": "disable", "intent": "Restart"}
            line, prev = schema.encode_record(
                {
                    "seq": seq,
                    "ts": "2025-01-14T09:30:00.000Z",
                    "mono_ms": seq,
                    "kind": kind,
                    "op": f"{seq // 2:016x}",
                    "node": f"_FrontEnd_{seq % 5}",
                    "data": data,
                    "prev": prev,
                }
            )
            out.write(line)


def run() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="sfpatch-bench-", dir=os.getcwd()) as tmp:
        directory = Path(tmp)
        rate = _appends(directory)
        big = directory / "big.jsonl"
        _synthetic(big, VERIFY_RECORDS)
        size_mb = big.stat().st_size / 1e6
        start, cpu = time.perf_counter(), time.process_time()
        result = verify_file(big)
        verify_s, verify_cpu = time.perf_counter() - start, time.process_time() - cpu
        assert result.ok and result.records == VERIFY_RECORDS, result.summary()
        start = time.perf_counter()
        reader = TranscriptReader(big)
        index_s = time.perf_counter() - start
        start = time.perf_counter()
        for n in range(0, VERIFY_RECORDS, VERIFY_RECORDS // 100):
            reader.record(n)
        jump_ms = (time.perf_counter() - start) * 1000 / 100
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [
        ("transcript appends/s (write+fsync each)", f"{rate:,.0f}"),
        ("transcript verify records/s (1M records, wall)", f"{VERIFY_RECORDS / verify_s:,.0f}"),
        ("transcript verify records/s (per CPU second)", f"{VERIFY_RECORDS / verify_cpu:,.0f}"),
        ("transcript verify MB/s", f"{size_mb / verify_s:,.1f}"),
        ("transcript index build (1M records)", f"{index_s:.2f} s"),
        ("transcript jump to record N via index", f"{jump_ms:.2f} ms"),
        (f"transcript peak RSS (file {size_mb:,.0f} MB)", f"{peak_mb:,.0f} MB"),
    ]
