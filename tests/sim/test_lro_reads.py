"""What a frozen clock waits for before it moves on: the ends live pollers have not read."""

from __future__ import annotations

from tui.sim.lro_reads import LIVE_READER_SECONDS, LroReads


def test_an_end_is_waited_for_until_read_at_its_last_read_only_while_its_reader_lives():
    now = [100.0]
    reads = LroReads(monotonic=lambda: now[0])
    reads.ended("never-read")  # no poller reads it: nothing to wait for
    reads.read("patch", ended=False, last=False)
    reads.read("update", ended=False, last=False)
    assert reads.unread_ends() == [] and reads.wait(timeout=0)  # still running: nothing yet
    reads.ended("patch")
    reads.ended("update")
    assert reads.unread_ends() == ["patch", "update"] and not reads.wait(timeout=0)
    reads.read("patch", ended=True, last=False)  # its status, not yet the result it reads last
    reads.read("update", ended=True, last=True)
    reads.read("early", ended=True, last=False)  # ended before its first read: waited for too
    assert reads.unread_ends() == ["patch", "early"]
    now[0] += LIVE_READER_SECONDS  # its poller stopped reading: the session that ran it is gone
    assert reads.unread_ends() == [] and reads.wait(timeout=0)
