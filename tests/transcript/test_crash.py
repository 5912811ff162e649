"""SIGKILL mid-write, many times: no acknowledged record is lost and the file always verifies."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui.transcript.keys import HmacKey
from tui.transcript.reader import iter_records, verify_file
from tui.transcript.writer import TranscriptWriter

SECRET = b"crash-test-secret-0123456789"
KILLS = 32

# The child appends forever (some records large, so kills land inside write()), and prints each
# record's seq and hash only after append() has returned, i.e. after fsync.
CHILD = r"""
import random, sys
from pathlib import Path
from tui.transcript.keys import HmacKey
from tui.transcript.writer import SessionHeader, TranscriptWriter
directory, seed = Path(sys.argv[1]), int(sys.argv[2])
key = HmacKey(sys.argv[3].encode())
existing = sorted(directory.rglob("*.jsonl"))
if existing:
    w = TranscriptWriter.resume(existing[0], key=key)
else:
    w = TranscriptWriter.create(SessionHeader(cluster="c", endpoint="e"), directory, key=key,
                                checkpoint_every=7)
rng = random.Random(seed)
while True:
    size = rng.choice([10, 100, 1000, 50_000, 250_000])
    rec = w.append("note", data={"text": "x" * size})
    sys.stdout.write(f"{rec['seq']} {rec['hash']}\n")
    sys.stdout.flush()
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_never_loses_an_acknowledged_record(tmp_path: Path) -> None:
    rng = random.Random(20250114)
    acked: dict[int, str] = {}
    torn_seen = 0
    for i in range(KILLS):
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(tmp_path), str(i), SECRET.decode()],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        for _ in range(rng.randint(1, 12)):
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "child died"
            seq, digest = line.split()
            acked[int(seq)] = digest
        time.sleep(rng.random() * 0.004)
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate()
        for line in rest.splitlines(keepends=True):
            if not line.endswith("\n"):
                continue  # the ack itself was cut off, so it was never given
            seq, digest = line.split()
            acked[int(seq)] = digest
        assert proc.returncode == -signal.SIGKILL

        path = next(tmp_path.rglob("*.jsonl"))
        result = verify_file(path)
        assert result.exit_code in (0, 3), result.summary()
        torn_seen += result.exit_code == 3
        on_disk = {r["seq"]: r["hash"] for r in iter_records(path)}
        lost = {s: h for s, h in acked.items() if on_disk.get(s) != h}
        assert not lost, f"kill {i}: acknowledged records lost or changed: {sorted(lost)[:5]}"

    key = HmacKey(SECRET)
    TranscriptWriter.resume(path, key=key).close()
    final = verify_file(path, key)
    assert final.exit_code == 0 and final.resumes == KILLS, final.summary()
    on_disk = {r["seq"]: r["hash"] for r in iter_records(path)}
    assert all(on_disk.get(s) == h for s, h in acked.items())
    print(f"{KILLS} kills, {torn_seen} left a torn tail, {len(acked)} acknowledged records kept")
