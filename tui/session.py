"""The composition root: wires the cluster adapters, the transcript and the clock into the
runbook engine, and gives the CLI (demo, run) a Session to drive and close.

The app and the headless command only call the engine, so they need no knowledge of SDKs,
simulators or files; nothing here writes to the transcript itself.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tui.errors import SfpatchError, UsageError
from tui.leasing import BreakConfirm, take_lease
from tui.model import ClusterSnapshot
from tui.runbook.clock import WallClock
from tui.runbook.engine import Engine, RunSettings
from tui.runbook.operator import Operator
from tui.runbook.ports import Clock
from tui.runbook.report import StepEvent
from tui.winver import WindowsVersion

if TYPE_CHECKING:
    from tui.transcript.writer import ResumeScan

OPERATE = "operate"
READ_ONLY = "read-only"
ENDING_CALL_SECONDS = 1.0  # the longest a call made while the session closes may take


@dataclass
class Session:
    """One session against one cluster: the engine it drives and what to close at the end."""

    cluster_name: str
    endpoint: str
    mode: str
    engine: Engine
    transcript_path: Path | None = None
    poll_seconds: float = 2.0
    on_close: list[Callable[[str], None]] = field(default_factory=list)  # each gets the reason
    after_action: list[Callable[[], None]] = field(default_factory=list)
    patch_targets: Mapping[str, WindowsVersion] = field(default_factory=dict)  # by node type
    ticket: str = ""
    # Who holds the cluster lease, read from the cluster (a read-only session holds none).
    read_holder: Callable[[], str] | None = None
    notices: list[str] = field(default_factory=list)  # shown once on screen when the console opens
    _closing: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def operator(self) -> Operator:
        return self.engine.operator

    @property
    def read_only(self) -> bool:
        return self.engine.read_only

    @property
    def window_end(self):
        """When the run's change window ends (None without one), for the header's countdown."""
        window = self.engine.settings.window
        return window.end if window else None

    def lease_holder(self) -> str:
        """Who holds the cluster lease: this session, or as read from the cluster."""
        held = self.operator.lease
        if held is not None:
            return f"{held.record.holder} (this session)"
        return self.read_holder() if self.read_holder else ""

    def keep_lease(self) -> str:
        """Renew the cluster lease when due; why it was lost, if it was."""
        return self.engine.keep_lease()

    def close(self, reason: str = "session ended") -> None:
        """Release the lease, seal the transcript with `reason`, close the clients.

        Once: a second call, from any thread, waits for the first to end and does nothing."""
        with self._closing:
            for fn in reversed(self.on_close):
                fn(reason)
            self.on_close.clear()


# Of one core: the most background full re-reads take on average. The console's idle budget is
# 0.05 of a core; its 2 s polls take about 0.02 of it on 1,000 nodes, and the rest is margin.
FULL_READ_CPU_SHARE = 0.02
# However much a read cost, the engines on screen are never older than this: a read that costly
# means a slow jump box, where stale engines would mislead more than the CPU would hurt.
FULL_READ_MAX_WAIT = 600.0


def full_read_wait(full_every: float, cpu_seconds: float) -> float:
    """How long after a full read the next background one waits: `full_every`, or longer when
    re-reading that often would take more than FULL_READ_CPU_SHARE of a core, up to
    FULL_READ_MAX_WAIT."""
    wait = max(full_every, max(cpu_seconds, 0.0) / FULL_READ_CPU_SHARE)
    return min(wait, max(full_every, FULL_READ_MAX_WAIT))


class SnapshotSource:
    """Full inventories now and then, partial refreshes in between.

    Health (nodes, cluster health) changes by the second during a change window; scale sets,
    engines and containers change when a node is patched, so they are re-read in the background
    every `full_every` seconds, or less often when a full read costs much CPU (see
    full_read_wait: on a thousand nodes, a few minutes), and at once when asked (`want_full`:
    after an action, a node done, the engineer's refresh). While the runbook steps a node
    (`focus`), that node's VM and engine are read with every refresh instead, and no full read
    is made unless asked for. `clock` and `cpu_clock` (the process's CPU time) are injectable.
    """

    def __init__(
        self,
        inventory,
        full_every: float = 30.0,
        clock: Callable[[], float] | None = None,
        cpu_clock: Callable[[], float] | None = None,
    ) -> None:
        import time

        self._inventory = inventory
        self._full_every = full_every
        self._clock = clock or time.monotonic
        self._cpu_clock = cpu_clock or time.process_time
        self._next_full: float | None = None
        self._want_full = True
        self.full_wait = full_every  # the wait after the last full read, in seconds
        self._costing: tuple[float, float] | None = None  # the last full read's (end, CPU then)

    def want_full(self) -> None:
        self._want_full = True

    def __call__(
        self, previous: ClusterSnapshot | None, focus: str | None = None, **fill_in
    ) -> ClusterSnapshot:
        """The next snapshot: a full gather (`fill_in`: progress, on_gateway, on_engine), the
        one node `focus` names, or health only."""
        from tui.cluster.inventory import gather, refresh_health, refresh_node

        self._cost_last_read()
        due = self._next_full is None or self._clock() >= self._next_full
        if previous is None or self._want_full or (due and focus is None):
            self._want_full = False
            cpu = self._cpu_clock()
            snapshot = gather(self._inventory, **fill_in)
            # The wait, from its end, is worked out at the next call (_cost_last_read), when
            # what the read brought has been judged and drawn.
            self._costing = (self._clock(), cpu)
            return snapshot
        if focus is not None:
            return refresh_node(self._inventory, previous, focus)
        return refresh_health(self._inventory, previous)

    def _cost_last_read(self) -> None:
        """The wait after the last full read, from the process's CPU time (all its threads)
        from that read's start to now: the read, and the judging, recording and drawing of
        what it brought."""
        if self._costing is None:
            return
        ended, cpu = self._costing
        self._costing = None
        self.full_wait = full_read_wait(self._full_every, self._cpu_clock() - cpu)
        # From the read's end: a slow read is not followed by one at once.
        self._next_full = ended + self.full_wait


def open_session(
    profile,
    *,
    transcript_dir: Path | None = None,
    ticket: str = "",
    poll_seconds: float = 2.0,
    read_only: bool = False,
    transcript_key=None,
    resume: Path | None = None,
    resume_elsewhere: bool = False,
    break_lease: BreakConfirm | None = None,
    settings: RunSettings | None = None,
    clock: Clock | None = None,
    on_event: Callable[[StepEvent], None] | None = None,
    resumable: Resumable | None = None,
) -> Session:
    """Connect to the cluster a profile describes and start the session's transcript (or, with
    `resume`, continue the one a crashed session left). Read-only sessions are recorded too.

    A resume must reach the gateway the transcript was recorded against, unless
    `resume_elsewhere` says the cluster moved (then the move is recorded). `break_lease` asks
    before an expired lease of another session is taken (--break-lease). The engine is wired
    here; `clock` is cluster time (a simulator's when it runs one). `resumable` is what
    check_resumable found: the file is not read again unless it has changed since."""
    from tui.cluster import fabric
    from tui.cluster.gateway import Gateway, ReadOnlyGateway
    from tui.cluster.inventory import connect, fabric_connection
    from tui.findings import CachedFindings
    from tui.transcript.writer import SessionHeader, TranscriptWriter, claim_transcript

    clock = clock or WallClock()
    claimed: int | None = None
    if resume is not None:
        # Before any connection is made: a transcript that may not be resumed touches nothing.
        if resumable is None or not resumable.holds_for(resume, transcript_key):
            resumable = _resumable_session(resume, profile.name, transcript_key)
        # Claimed before the cluster is touched: a transcript its session still writes is
        # refused here, and while we hold it nobody else resumes it, so a lease in its session's
        # name is the crashed one's.
        claimed = claim_transcript(resume)
        try:
            if not resumable.holds_for(resume, transcript_key):  # written to since it was read
                resumable = _resumable_session(resume, profile.name, transcript_key)
        except BaseException:
            _unclaim(claimed)
            raise
        session_id = resumable.session
    try:
        inventory = connect(profile, read_only=read_only)
    except BaseException:
        _unclaim(claimed)
        raise
    try:
        here = {
            "endpoint": profile.gateway.endpoint,
            "server_cert_sha256": fabric.server_certificate_sha256(fabric_connection(profile)),
        }
        if resume is not None:
            _check_same_gateway(resume, resumable.gateway, here, resume_elsewhere)
    except BaseException:
        _unclaim(claimed)
        inventory.close()
        raise
    source = SnapshotSource(inventory)
    mode = READ_ONLY if read_only else OPERATE
    read_holder: Callable[[], str] | None = None
    notices: list[str] = []
    secrets = [profile.arm.token] if profile.arm and profile.arm.token else []
    if resume is None:
        header = SessionHeader(
            cluster=profile.name,
            endpoint=here["endpoint"],
            server_cert_sha256=here["server_cert_sha256"],
            ticket=ticket,
            mode=mode,
        )
        session_id = header.session
    if read_only:
        # No client to act with, and the inventory's clients send only reads (see connect).
        gateway = ReadOnlyGateway()

        def read_holder() -> str:
            return lease_holder_text(inventory.fabric, profile.name)

    else:
        resource_group = profile.arm.resource_group if profile.arm else ""
        gateway = Gateway(inventory.fabric, inventory.compute, resource_group)
    holder = f"{getpass.getuser()}@{socket.gethostname()}"
    taken = None
    if not read_only:
        # The lease first: a session that may not run writes nothing, not even a transcript.
        try:
            taken = take_lease(
                gateway, profile.name, holder, session_id, transcript_dir, break_lease
            )
        except BaseException:
            _unclaim(claimed)
            inventory.close()
            raise
    lease = taken.held if taken else None
    pending: list[tuple[str, str]] = []
    try:
        if resume is not None:
            details: dict = {"gateway": here}
            if resume_elsewhere:
                details["resumed_elsewhere"] = resumable.gateway
            transcript = TranscriptWriter.resume(
                resume,
                key=transcript_key,
                secrets=secrets,
                claimed=claimed,
                details=details,
                scan=resumable.scan,
            )
            pending = list(resumable.pending)
            if transcript.torn:
                notices.append(_torn_notice(transcript.torn))
        else:
            transcript = TranscriptWriter.create(
                header, directory=transcript_dir, key=transcript_key, secrets=secrets
            )
    except BaseException:
        if lease is not None:
            with contextlib.suppress(SfpatchError):
                gateway.release_lease(lease)
        inventory.close()
        raise
    operator = Operator(gateway, transcript)
    engine = Engine(
        operator,
        fetch=source,
        evaluate=CachedFindings(profile.patch_targets),
        clock=clock,
        patch_targets=profile.patch_targets,
        settings=settings or RunSettings(),
        want_full=source.want_full,
        pending=pending,
        on_event=on_event or (lambda event: None),
    )
    session = Session(
        cluster_name=profile.name,
        endpoint=profile.gateway.endpoint,
        mode=mode,
        engine=engine,
        transcript_path=transcript.path,
        poll_seconds=poll_seconds,
        patch_targets=profile.patch_targets,
        ticket=ticket,
        read_holder=read_holder,
        notices=notices,
    )
    session.after_action.append(source.want_full)
    session.on_close.append(lambda _reason: inventory.close())
    session.on_close.append(transcript.close)
    if taken is not None:
        operator.adopt_lease(taken.held, holder, taken.broken)
        session.on_close.append(lambda _reason: operator.drop_lease())
    # First at close: an ending session waits on the gateway only briefly (the lease expires).
    session.on_close.append(lambda _reason: inventory.wind_down(ENDING_CALL_SECONDS))
    return session


def lease_holder_text(client, cluster_name: str) -> str:
    """Who holds a cluster's lease, in a few words, read through `client` (a read)."""
    from tui.cluster.gateway import read_lease
    from tui.cluster.lease import describe

    try:
        state = read_lease(client, cluster_name)
    except SfpatchError as exc:
        return f"unknown ({exc})"
    if state is None:
        return "nobody"
    return describe(state.record) if state.record else "unreadable lease record"


def _unclaim(claimed: int | None) -> None:
    """Let go of a transcript claimed for a resume that will not happen."""
    if claimed is not None:
        os.close(claimed)


@dataclass(frozen=True)
class Resumable:
    """A crashed session's transcript that may be continued: whose, on which gateway, and what
    the one read of it found (passed on so that opening the session reads it no more)."""

    session: str
    gateway: dict[str, str]  # endpoint and server_cert_sha256 it last ran against
    path: Path
    key_kid: str | None
    file: tuple[int, int, int, int]  # device, inode, size and mtime when it was read
    scan: ResumeScan
    pending: tuple[tuple[str, str], ...]  # (action, node) of each intent without a result

    def holds_for(self, path: Path, key) -> bool:
        """Whether this check is of `path`, with `key`, and the file is as it was then."""
        if Path(path) != self.path or (key.kid if key else None) != self.key_kid:
            return False
        try:
            return _file_identity(path) == self.file
        except OSError:  # gone or unreadable: the check again says so in its own words
            return False


def _file_identity(path: Path) -> tuple[int, int, int, int]:
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def check_resumable(path: Path, cluster: str, key) -> Resumable:
    """One-line UsageError unless the transcript at `path` may be resumed on `cluster`; what
    was found goes to open_session(resumable=...)."""
    return _resumable_session(path, cluster, key)


def _resumable_session(path: Path, cluster: str, key=None) -> Resumable:
    """Check, without changing it, that a transcript may be resumed by a session on `cluster`."""
    from itertools import islice

    from tui.transcript.audit import summarize
    from tui.transcript.reader import iter_records
    from tui.transcript.writer import scan_for_resume

    try:
        header = next(iter_records(path), None)
        if header is None or header.get("kind") != "start":
            raise UsageError(f"{path}: not an sfpatch transcript (no start record)")
    except (ValueError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise UsageError(f"{path}: not an sfpatch transcript ({type(exc).__name__})") from None
    identity = _file_identity(path)  # before the scan: a write during it makes it stale
    scan = scan_for_resume(path, key)  # tampering, damage or the wrong key: refused here
    data = scan.header
    if data.get("cluster") != cluster:
        raise UsageError(
            f"{path} is a transcript of cluster {data.get('cluster')!r}, not {cluster!r}"
        )
    if data.get("mode") != OPERATE:
        raise UsageError(f"{path} is a read-only session's transcript: nothing to resume")
    gateway = {
        "endpoint": str(data.get("endpoint", "")),
        "server_cert_sha256": str(data.get("server_cert_sha256", "")),
    }

    def good_records():
        nonlocal gateway
        for record in islice(iter_records(path), scan.chain.count):
            moved = record["data"].get("gateway") if record["kind"] == "resume" else None
            if isinstance(moved, dict):
                gateway = {k: str(moved.get(k, "")) for k in gateway}
            yield record

    audit = summarize(good_records())
    if audit.end_reason is not None:
        raise UsageError(
            f"{path} was closed ({audit.end_reason or 'ended'}): start a new session instead"
        )
    pending = tuple((step.action, step.node) for step in audit.pending())
    kid = key.kid if key else None
    return Resumable(str(data["session"]), gateway, Path(path), kid, identity, scan, pending)


def gateway_differences(recorded: Mapping[str, str], here: Mapping[str, str]) -> list[str]:
    """What differs between the gateway a transcript names and the one reached now."""
    differences = []
    if _endpoint_key(recorded["endpoint"]) != _endpoint_key(here["endpoint"]):
        differences.append(f"endpoint {recorded['endpoint']} is now {here['endpoint']}")
    if recorded["server_cert_sha256"].lower() != here["server_cert_sha256"].lower():
        differences.append(
            f"server certificate SHA-256 {recorded['server_cert_sha256'][:16] or '(none)'}... "
            f"is now {here['server_cert_sha256'][:16] or '(none)'}..."
        )
    return differences


def _endpoint_key(endpoint: str) -> tuple[str, str, int | None, str]:
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint.strip())
    try:
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme.lower())
    except ValueError:
        port = None
    return parts.scheme.lower(), (parts.hostname or "").lower(), port, parts.path.rstrip("/")


def _check_same_gateway(
    path: Path, recorded: Mapping[str, str], here: Mapping[str, str], elsewhere: bool
) -> None:
    """Refuse to continue a transcript on another gateway unless the engineer said it moved."""
    differences = gateway_differences(recorded, here)
    if differences and not elsewhere:
        raise UsageError(
            f"not resuming {path.name}: it was recorded on another gateway "
            f"({'; '.join(differences)}); if the cluster really moved, add --resume-elsewhere"
        )


def _torn_notice(torn: Mapping) -> str:
    return (
        f"The crashed session's last record was torn (incomplete: {torn.get('reason')}); "
        f"its {torn.get('bytes')} bytes were set aside in {torn.get('file')}, as the "
        "transcript's resume record says."
    )


@dataclass(frozen=True)
class Observed:
    """What the cluster's lease says of the session to observe."""

    holder: str  # who holds the lease, in a few words ("nobody")
    transcript: Path | None = None  # its transcript, when it is on this host
    why: str = ""  # why there is no transcript to follow


def find_observed(profile, transcript_dir: Path | None = None) -> Observed:
    """Read the lease with read-only clients and find its session's transcript on this host."""
    from tui.cluster.gateway import read_lease
    from tui.cluster.inventory import connect
    from tui.cluster.lease import describe
    from tui.leasing import find_session_transcript

    inventory = connect(profile, read_only=True)
    try:
        state = read_lease(inventory.fabric, profile.name)
    finally:
        inventory.close()
    if state is None or state.record is None:
        why = "nobody holds the lease" if state is None else "the lease record is unreadable"
        return Observed("nobody" if state is None else "unknown", why=why)
    holder = describe(state.record)
    found = find_session_transcript(state.record.session_id, transcript_dir)
    if found is None:
        return Observed(holder, why=f"the transcript of {holder} is not on this host")
    return Observed(holder, found)


def observer_source(profile, poll_seconds: float = 2.0):
    """The observer's live view: read-only clients, no gateway, no lease, no transcript."""
    from tui.cluster.inventory import connect
    from tui.findings import findings_for
    from tui.sources.watch import WatchSource

    inventory = connect(profile, read_only=True)
    return WatchSource(
        cluster=profile.name,
        endpoint=profile.gateway.endpoint,
        fetch=SnapshotSource(inventory),
        evaluate=lambda snapshot: findings_for(snapshot, profile.patch_targets),
        read_holder=lambda: lease_holder_text(inventory.fabric, profile.name),
        poll_seconds=poll_seconds,
        patch_targets=profile.patch_targets,
        on_close=inventory.close,
    )
