"""Bad input to every option that takes a file, and to the options that take a name or a number:
exit 2, exactly one line on stderr, no traceback, in bounded time and memory.

Most cases run in-process through `tui.cli.main`. The ones that hung or ate memory before
(a FIFO, /dev/zero, a scenario of 100,000 nodes) run as `python -m tui.cli` under a memory limit
(RLIMIT_AS) and a 5 s subprocess timeout, so that a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from tempfile import mkdtemp

import pytest

from tui import cli

from .transcript.conftest import header, write_session

ROOT = Path(__file__).resolve().parents[1]
MEMORY_LIMIT = 2 << 30  # bytes of address space for a subprocess: far above what sfpatch needs
HANG_GUARD = 5  # seconds

KIB, MIB = 1024, 1024 * 1024
GOOD_PROFILES = """\
[clusters.x.gateway]
endpoint = "https://127.0.0.1:9"
aad = true

[clusters.x.inventory]
timeout = 5
concurrency = 8

[clusters.x.patch_targets]
Web = "10.0.17763.6054"
"""
GOOD_SCENARIO = """\
format = 1

[cluster]
name = "fuzz"
upgrade_domains = 2
seed = 1

[timing]
restart = 90

[[images]]
ref = "app:1"
os_version = "10.0.17763.6054"

[[node_types]]
name = "Web"
instances = 3
host_version = "10.0.17763.6054"
is_primary = true

[[node_types.containers]]
name = "web"
image = "app:1"
application = "fabric:/web"
"""


def profiles(old: str, new: str) -> bytes:
    assert old in GOOD_PROFILES, old
    return GOOD_PROFILES.replace(old, new, 1).encode()


def scenario(old: str, new: str) -> bytes:
    assert old in GOOD_SCENARIO, old
    return GOOD_SCENARIO.replace(old, new, 1).encode()


# ------------------------------------------------------------------ the malformed inputs

TRANSCRIPTS = ("transcript", "resume")
KEYS = ("verify-key", "signing-key")
TOML = ("profiles", "scenario")
ALL = (*TRANSCRIPTS, *KEYS, *TOML)


@dataclass(frozen=True)
class Case:
    """One malformed input: which kinds of option it is bad for, how to make it, and whether
    it must run in a subprocess (it hung or grew memory before)."""

    name: str
    kinds: tuple[str, ...]
    make: Callable[[Path], str | None]  # -> the path to give; None: not possible here (skip)
    subprocess: bool = False
    only: str | None = None  # one option stands for all of its kind (the case is costly)


def data(content: bytes | Callable[[], bytes]) -> Callable[[Path], str]:
    def make(d: Path) -> str:
        body = content() if callable(content) else content
        path = d / f"file-{hashlib.sha256(body).hexdigest()[:16]}"
        if not path.exists():
            path.write_bytes(body)
        return str(path)

    return make


def fifo(d: Path) -> str:
    path = d / "fifo"
    if not path.exists():
        os.mkfifo(path)
    return str(path)


def symlink_to(target: Callable[[Path], str], name: str) -> Callable[[Path], str]:
    def make(d: Path) -> str:
        link = d / name
        if not link.is_symlink():
            link.symlink_to(target(d))
        return str(link)

    return make


def symlink_loop(d: Path) -> str:
    link = d / "loop"
    if not link.is_symlink():
        link.symlink_to(link)
    return str(link)


def directory(d: Path) -> str:
    (d / "a-dir").mkdir(exist_ok=True)
    return str(d / "a-dir")


def unreadable(d: Path) -> str | None:
    """A file open() refuses with EACCES; root reads a mode-000 file, but not a 0200 sysctl."""
    if os.geteuid() != 0:
        path = d / "unreadable"
        path.write_text("secret")
        path.chmod(0)
        return str(path)
    candidate = "/proc/sys/vm/drop_caches"
    try:
        open(candidate, "rb").close()
    except PermissionError:
        return candidate
    except OSError:
        return None
    return None


def pem_rsa_private() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def pem_rsa_public() -> bytes:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(pem_rsa_private(), None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def pem_ed25519(encrypted: bool = False, public: bool = False) -> Callable[[], bytes]:
    def make() -> bytes:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        key = Ed25519PrivateKey.generate()
        if public:
            return key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        protection = (
            serialization.BestAvailableEncryption(b"pass phrase")
            if encrypted
            else serialization.NoEncryption()
        )
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, protection
        )

    return make


def certificate() -> bytes:
    import trustme

    return trustme.CA().cert_pem.bytes()


def transcript_file(closed: bool = False, **overrides: object) -> Callable[[Path], str]:
    """A real transcript (closed or not) whose header differs from what `run` expects."""

    def make(d: Path) -> str:
        from tui.transcript.writer import TranscriptWriter

        writer = TranscriptWriter.create(header(**overrides), directory=Path(mkdtemp(dir=d)))
        write_session(writer)
        if closed:
            writer.close()
        return str(writer.path)

    return make


# One more container on every instance of the scenario's last node type.
CONTAINER = (
    b'\n[[node_types.containers]]\nname = "more"\nimage = "app:1"\napplication = "fabric:/m"\n'
)
BINARY = bytes(range(256)) * 64
HUGE_LINE = b"x" * (17 * MIB)  # over the transcript line cap (16 MiB), no newline

CASES = [
    # Not a regular file, or not there at all: the same for every kind.
    Case("missing file", ALL, lambda d: str(d / "absent")),
    Case("directory", ALL, directory),
    Case("/dev/null", ALL, lambda d: "/dev/null"),
    Case("symlink loop", ALL, symlink_loop),
    Case("dangling symlink", ALL, symlink_to(lambda d: str(d / "gone"), "dangling")),
    Case("unreadable file", ALL, unreadable),
    Case("read error (EIO)", ALL, lambda d: "/proc/self/mem"),
    Case("NUL in the path", ALL, lambda d: str(d / "a\x00b")),
    Case("newline in the path", ALL, lambda d: str(d / "no\nsuch")),
    Case("FIFO", ALL, fifo, subprocess=True),
    Case("/dev/zero", ALL, lambda d: "/dev/zero", subprocess=True),
    Case("symlink to a FIFO", ("verify-key",), symlink_to(fifo, "to-fifo"), True),
    Case("/dev/urandom", ("transcript",), lambda d: "/dev/urandom", subprocess=True),
    # Content no transcript has.
    Case("empty file", ("resume", *TOML, *KEYS), data(b"")),
    Case("binary", (*TRANSCRIPTS, *TOML), data(BINARY)),
    Case("invalid UTF-8", (*TRANSCRIPTS, *TOML), data(b'name = "\xff\xfe"\n')),
    Case("NUL bytes", (*TRANSCRIPTS, *TOML), data(b"\x00" * 100)),
    Case("a line over 16 MiB", TRANSCRIPTS, data(HUGE_LINE)),
    Case("a blank line", TRANSCRIPTS, data(b"\n")),
    # A complete record that does not hash is tampering to `run --resume` (exit 1), not input.
    Case("JSON, not a transcript", ("transcript",), data(b'{"kind": "start", "data": {}}\n')),
    Case("TOML, not a transcript", TRANSCRIPTS, data(GOOD_PROFILES.encode())),
    Case("another cluster's transcript", ("resume",), transcript_file(cluster="other")),
    Case(
        "a read-only session's transcript",
        ("resume",),
        transcript_file(cluster="x", mode="read-only"),
    ),
    Case("a closed transcript", ("resume",), transcript_file(cluster="x", closed=True)),
    # Keys.
    Case("whitespace only", KEYS, data(b"  \n\t\n")),
    Case("HMAC secret too short", KEYS, data(b"abc\n")),
    Case(
        "PEM armour around garbage",
        KEYS,
        data(b"-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n"),
    ),
    Case("RSA private key", KEYS, data(pem_rsa_private)),
    Case("RSA public key", KEYS, data(pem_rsa_public)),
    Case("encrypted Ed25519 key", KEYS, data(pem_ed25519(encrypted=True))),
    Case("a certificate", KEYS, data(certificate)),
    Case("public key to sign with", ("signing-key",), data(pem_ed25519(public=True))),
    Case("binary with PEM armour", KEYS, data(b"\xff\x00-----BEGIN\xfe" * 10)),
    Case("key over 64 KiB", KEYS, data(b"k" * (64 * KIB + 1))),
    # TOML that tomllib chokes on or that nests without end.
    Case("file over 4 MiB", TOML, data(b"#" + b"x" * (4 * MIB))),
    Case("arrays nested 100,000 deep", TOML, data(b"a = " + b"[" * 100_000 + b"]" * 100_000)),
    Case(
        "inline tables nested 3,000 deep",
        TOML,
        data(b"a = " + b"{b = " * 3000 + b"1" + b"}" * 3000),
    ),
    Case("dotted key 2,000 deep", TOML, data(b"a" + b".a" * 2000 + b" = 1\n")),
    Case("arrays nested 20 deep", TOML, data(b"a = " + b"[" * 20 + b"1" + b"]" * 20)),
    Case("byte order mark", TOML, data(b"\xef\xbb\xbf" + GOOD_PROFILES.encode())),
    Case("integer of 5,000 digits", TOML, data(b"a = " + b"9" * 5000)),
    Case("invalid TOML", TOML, data(b"[clusters\n")),
    # Profiles: wrong types, numbers out of range, names outside their alphabet.
    Case("clusters is a number", ("profiles",), data(b"clusters = 1\n")),
    Case("gateway is a string", ("profiles",), data(b'[clusters.x]\ngateway = "https://a"\n')),
    Case("timeout = inf", ("profiles",), data(profiles("timeout = 5", "timeout = inf"))),
    Case("timeout = nan", ("profiles",), data(profiles("timeout = 5", "timeout = nan"))),
    Case("timeout = -inf", ("profiles",), data(profiles("timeout = 5", "timeout = -inf"))),
    Case("timeout = -5", ("profiles",), data(profiles("timeout = 5", "timeout = -5"))),
    Case("timeout = 1e308", ("profiles",), data(profiles("timeout = 5", "timeout = 1e308"))),
    Case("timeout is a string", ("profiles",), data(profiles("timeout = 5", 'timeout = "5"'))),
    Case("concurrency = 0", ("profiles",), data(profiles("concurrency = 8", "concurrency = 0"))),
    Case(
        "concurrency = 10**9",
        ("profiles",),
        data(profiles("concurrency = 8", "concurrency = 1_000_000_000")),
    ),
    Case(
        "concurrency = 0x" + "f" * 40,
        ("profiles",),
        data(profiles("concurrency = 8", "concurrency = 0x" + "f" * 4000)),
    ),
    Case("port 99999", ("profiles",), data(profiles("127.0.0.1:9", "127.0.0.1:99999"))),
    Case("port 0", ("profiles",), data(profiles("127.0.0.1:9", "127.0.0.1:0"))),
    Case("port not a number", ("profiles",), data(profiles("127.0.0.1:9", "127.0.0.1:ab"))),
    Case(
        "port in full-width digits",
        ("profiles",),
        data(profiles("127.0.0.1:9", "127.0.0.1:\uff19")),
    ),
    Case("no host", ("profiles",), data(profiles("127.0.0.1:9", ":9"))),
    Case(
        'profile named "a/b"',
        ("profiles",),
        data(GOOD_PROFILES.replace("clusters.x.", 'clusters."a/b".').encode()),
    ),
    Case(
        'profile named ""',
        ("profiles",),
        data(GOOD_PROFILES.replace("clusters.x.", 'clusters."".').encode()),
    ),
    Case(
        "profile name with a newline",
        ("profiles",),
        data(GOOD_PROFILES.replace("clusters.x.", 'clusters."x\\ny".').encode()),
    ),
    Case("node type with a space", ("profiles",), data(profiles("Web =", '"W eb" ='))),
    Case(
        "version in full-width digits",
        ("profiles",),
        data(profiles('"10.0.17763.6054"', '"\uff11\uff10.0.17763.6054"')),
    ),
    Case(
        "version build over 65535",
        ("profiles",),
        data(profiles('"10.0.17763.6054"', '"10.0.99999.6054"')),
    ),
    Case(
        "a 4 MiB key name",
        ("profiles",),
        data(profiles("timeout = 5", '"' + "k" * (MIB) + '" = 1')),
    ),
    Case(
        "ca is a FIFO",
        ("profiles",),
        lambda d: data(profiles("aad = true", f'aad = true\nca = "{fifo(d)}"'))(d),
    ),
    Case(
        "ca is /dev/zero",
        ("profiles",),
        data(profiles("aad = true", 'aad = true\nca = "/dev/zero"')),
    ),
    Case("ca is a directory", ("profiles",), data(profiles("aad = true", 'aad = true\nca = "/"'))),
    # Scenarios: the same kinds of mistake, and clusters too large to serve.
    Case("cluster is a string", ("scenario",), data(b'cluster = "x"\n')),
    Case("instances = -1", ("scenario",), data(scenario("instances = 3", "instances = -1"))),
    Case("instances = 0", ("scenario",), data(scenario("instances = 3", "instances = 0"))),
    Case("instances = 3.5", ("scenario",), data(scenario("instances = 3", "instances = 3.5"))),
    Case("instances = inf", ("scenario",), data(scenario("instances = 3", "instances = inf"))),
    Case(
        "instances is a string", ("scenario",), data(scenario("instances = 3", 'instances = "3"'))
    ),
    Case("restart = inf", ("scenario",), data(scenario("restart = 90", "restart = inf"))),
    Case("restart = nan", ("scenario",), data(scenario("restart = 90", "restart = nan"))),
    Case("restart = -1", ("scenario",), data(scenario("restart = 90", "restart = -1"))),
    Case("restart = 1e308", ("scenario",), data(scenario("restart = 90", "restart = 1e308"))),
    Case(
        "upgrade_domains = 10**6",
        ("scenario",),
        data(scenario("upgrade_domains = 2", "upgrade_domains = 1000000")),
    ),
    Case("seed = -1", ("scenario",), data(scenario("seed = 1", "seed = -1"))),
    Case("seed over 64 bits", ("scenario",), data(scenario("seed = 1", "seed = 0x" + "f" * 40))),
    Case('cluster named "a/b"', ("scenario",), data(scenario('name = "fuzz"', 'name = "a/b"'))),
    Case('cluster named ".."', ("scenario",), data(scenario('name = "fuzz"', 'name = ".."'))),
    Case('cluster named ""', ("scenario",), data(scenario('name = "fuzz"', 'name = ""'))),
    Case(
        "cluster name with a newline",
        ("scenario",),
        data(scenario('name = "fuzz"', 'name = "fu\\nzz"')),
    ),
    Case(
        "node type in full-width letters",
        ("scenario",),
        data(scenario('name = "Web"', 'name = "\uff37eb"')),
    ),
    Case(
        "host version in Arabic-Indic digits",
        ("scenario",),
        data(
            scenario(
                'host_version = "10.0.17763.6054"', 'host_version = "\u0661\u0660.0.17763.6054"'
            )
        ),
    ),
    Case(
        "150,000 containers",
        ("scenario",),
        subprocess=True,
        make=data(scenario("instances = 3", "instances = 50000") + CONTAINER * 2),
        only="check --scenario",
    ),
    Case(
        "100,000 nodes", ("scenario",), data(scenario("instances = 3", "instances = 100000")), True
    ),
    Case(
        "70,000 nodes in two node types",
        ("scenario",),
        data(
            scenario("instances = 3", "instances = 35000")
            + b'\n[[node_types]]\nname = "Api"\ninstances = 35000\n'
            + b'host_version = "10.0.17763.6054"\n'
        ),
        True,
        only="check --scenario",
    ),
]


@dataclass(frozen=True)
class Option:
    """An option that takes a file, as argv around the path; `kind` picks its cases."""

    kind: str
    argv: Callable[[Path, str], list[str]]


OPTIONS = {
    "verify TRANSCRIPT": Option("transcript", lambda d, p: ["verify", p]),
    "verify --key": Option("verify-key", lambda d, p: ["verify", "--key", p, str(d / "t.jsonl")]),
    "report TRANSCRIPT": Option("transcript", lambda d, p: ["report", p]),
    "report --key": Option("verify-key", lambda d, p: ["report", "--key", p, str(d / "t.jsonl")]),
    "check --config": Option("profiles", lambda d, p: ["check", "--profile", "x", "--config", p]),
    "check --scenario": Option("scenario", lambda d, p: ["check", "--scenario", p]),
    "run --config": Option("profiles", lambda d, p: ["run", "--profile", "x", "--config", p]),
    "run --resume": Option(
        "resume",
        lambda d, p: ["run", "--profile", "x", "--config", str(d / "good.toml"), "--resume", p],
    ),
    "run --transcript-key": Option(
        "signing-key",
        lambda d, p: [
            "run",
            "--profile",
            "x",
            "--config",
            str(d / "good.toml"),
            "--transcript-key",
            p,
        ],
    ),
    "demo --scenario": Option("scenario", lambda d, p: ["demo", "--scenario", p]),
    "run --scenario": Option("scenario", lambda d, p: ["run", "--scenario", p]),
    "demo --transcript-key": Option("signing-key", lambda d, p: ["demo", "--transcript-key", p]),
    "sim --scenario": Option(
        "scenario", lambda d, p: ["sim", "--state-dir", str(d / "sim"), "--scenario", p]
    ),
}

PAIRS = [
    pytest.param(option, case, id=f"{name}: {case.name}")
    for name, option in OPTIONS.items()
    for case in CASES
    if option.kind in case.kinds and case.only in (None, name)
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the inputs are made in, with a good profiles file and a good transcript."""
    d = tmp_path_factory.mktemp("bad-input")
    (d / "good.toml").write_text(GOOD_PROFILES)
    from tui.transcript.writer import TranscriptWriter

    writer = TranscriptWriter.create(header(cluster="x"), directory=d / "good")
    write_session(writer)
    writer.close()
    writer.path.rename(d / "t.jsonl")
    return d


@pytest.fixture(autouse=True)
def _no_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SFPATCH_TRANSCRIPT_KEY", raising=False)


@pytest.fixture
def nothing_starts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Input that got through would start a simulator or a console: fail at once instead."""
    from tui.sim.server import SimServer

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the input was accepted: the simulator started")

    monkeypatch.setattr(SimServer, "start", refuse)
    monkeypatch.setattr(SimServer, "run_forever", refuse)
    monkeypatch.setattr("tui.commands.demo.run_console", refuse)
    monkeypatch.setattr("tui.commands.run.run_console", refuse)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # no transcript lands in ~


def in_process(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code if isinstance(exc.code, int) else 1
    return code, capsys.readouterr().err


def in_subprocess(argv: list[str], nofile: int | None = None) -> tuple[int, str]:
    """`python -m tui.cli ARGV` with its memory capped; a hang past HANG_GUARD fails the test."""

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    env = {k: v for k, v in os.environ.items() if k != "SFPATCH_TRANSCRIPT_KEY"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tui.cli", *argv],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=HANG_GUARD,
            preexec_fn=limits,  # noqa: PLW1509 - only setrlimit, before exec
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"sfpatch {' '.join(argv)} did not finish within {HANG_GUARD} s (it hangs)")
    return done.returncode, done.stderr.decode("utf-8", "backslashreplace")


def assert_refused(code: int, err: str, path: str | None = None) -> None:
    """Exit 2 and one line on stderr that names `path` (when given); never a traceback."""
    shown = err[-3000:]
    assert "Traceback" not in err, shown
    assert code == 2, shown
    assert err.endswith("\n") and err.count("\n") == 1, shown
    assert err.startswith("sfpatch"), shown
    if path is not None:  # control characters in a path are shown escaped, as repr() would
        assert path.replace("\n", "\\n").replace("\x00", "\\x00") in err, shown


@pytest.mark.parametrize(("option", "case"), PAIRS)
def test_every_file_option_refuses_bad_input_in_one_line(
    option: Option, case: Case, inputs: Path, capsys, nothing_starts
) -> None:
    path = case.make(inputs)
    if path is None:
        pytest.skip("no such input on this machine (an unreadable file, as root)")
    argv = option.argv(inputs, path)
    if case.subprocess:
        assert "\x00" not in path
        code, err = in_subprocess(argv)
    else:
        code, err = in_process(argv, capsys)
    assert_refused(code, err, path)


def test_there_are_at_least_50_inputs_per_kind_of_file_in_all() -> None:
    assert len(CASES) >= 50
    assert all(sum(o.kind in c.kinds for c in CASES) >= 12 for o in OPTIONS.values())


def test_the_good_inputs_the_cases_start_from_are_good(inputs: Path) -> None:
    from tui.config import load_profiles
    from tui.sim.scenario import load_scenario
    from tui.transcript.reader import verify_file

    assert load_profiles(inputs / "good.toml")["x"].inventory.concurrency == 8
    (inputs / "good-scenario.toml").write_text(GOOD_SCENARIO)
    assert load_scenario(str(inputs / "good-scenario.toml")).cluster_name == "fuzz"
    assert verify_file(inputs / "t.jsonl").ok


# ------------------------------------------------------------------ report -o


OUTPUTS = [
    pytest.param(lambda d: str(d / "a-dir"), False, id="a directory"),
    pytest.param(lambda d: str(d / "absent" / "out.md"), False, id="a folder that does not exist"),
    pytest.param(lambda d: "/dev/full", False, id="a device that is full"),
    pytest.param(lambda d: str(d / "out\x00.md"), False, id="NUL in the path"),
    pytest.param(fifo, True, id="a FIFO nobody reads"),
]


@pytest.mark.parametrize(("make", "in_a_subprocess"), OUTPUTS)
def test_report_refuses_an_output_it_cannot_write(
    make, in_a_subprocess: bool, inputs: Path, capsys
) -> None:
    directory(inputs)
    path = make(inputs)
    argv = ["report", str(inputs / "t.jsonl"), "-o", path]
    code, err = in_subprocess(argv) if in_a_subprocess else in_process(argv, capsys)
    assert_refused(code, err, path)


# ------------------------------------------------------------------ names and numbers

ARGUMENTS = [
    (
        ["compat", "--host", "\uff11\uff10.0.14393.1944", "--image", "10.0.14393.1944"],
        "not a Windows version",
    ),
    (
        ["compat", "--host", "10.0.14393.1944", "--image", "\u0661\u0660.0.14393.1944"],
        "not a Windows version",
    ),
    (["compat", "--host", "10.0.99999.1", "--image", "10.0.14393.1944"], "go up to 65535"),
    (
        ["compat", "--host", "10.0.14393.99999999999", "--image", "10.0.14393.1"],
        "not a Windows version",
    ),
    (
        ["compat", "--host", "10.0.14393." + "9" * 5000, "--image", "10.0.14393.1"],
        "not a Windows version",
    ),
    (["compat", "--host", "", "--image", "10.0.14393.1"], "not a Windows version: ''"),
    (
        ["compat", "--host", "10.0.14393.1\u00a0", "--image", "10.0.14393.1"],
        "not a Windows version",
    ),
    (["compat", "--host", "-10.0.14393.1", "--image", "10.0.14393.1"], "expected one argument"),
    (["compat", "--host", "10.0.14393.1.5", "--image", "10.0.14393.1"], "not a Windows version"),
    (
        ["sim", "--state-dir", "{d}/sim", "--speed", "1e308"],
        "--speed must be a number from 0 to 10000 (got 1e+308)",
    ),
    (["sim", "--state-dir", "{d}/sim", "--speed", "1e400"], "--speed must be a finite number"),
    (["sim", "--state-dir", "{d}/sim", "--speed", "fast"], "argument --speed: invalid float value"),
    (["sim", "--state-dir", "{d}/sim", "--seed", "-1"], "--seed must be a whole number from 0"),
    (["sim", "--state-dir", "{d}/sim", "--seed", str(2**64)], "--seed must be a whole number"),
    (["sim", "--state-dir", "{d}/sim", "--fault", "gateway-slow:\u00b2"], "milliseconds must be"),
    (
        ["sim", "--state-dir", "{d}/sim", "--fault", "gateway-slow:" + "9" * 5000],
        "milliseconds must be",
    ),
    (["sim", "--state-dir", "{d}/sim", "--fault", "gateway-flaky:nan"], "rate must be between"),
    (["sim", "--state-dir", "{d}/sim", "--start", "99999-01-01"], "not an ISO 8601 time"),
    (["demo", "--speed", "0"], "--speed must be a number above 0 and at most 10000"),
    (["demo", "--speed", "1e308"], "--speed must be a number above 0"),
    (["demo", "--poll", "0"], "--poll must be a number from 0.01 to 3600 (got 0.0)"),
    (["demo", "--poll", "nan"], "--poll must be a finite number from 0.01 to 3600 (got nan)"),
    (["demo", "--poll", "1e308"], "--poll must be a number from 0.01 to 3600"),
    (["demo", "--poll=-inf"], "--poll must be a finite number"),
    (["run", "--profile", "a/b"], "--profile: not a valid profile name 'a/b': use 1 to 64 ASCII"),
    (["run", "--profile", ""], "--profile: not a valid profile name ''"),
    (["run", "--profile", ".."], "not a valid profile name '..'"),
    (["run", "--profile", "x" * 65], "not a valid profile name"),
    (["run", "--profile", "con\ntoso"], "not a valid profile name 'con\\ntoso'"),
    (["run", "--profile", "k\u00f6ln"], "not a valid profile name"),
    (["check", "--profile", "a/b"], "--profile: not a valid profile name 'a/b'"),
    (["run", "--scenario", "seed", "--speed", "1e308"], "--speed must be a number from 0 to 10000"),
    (["run", "--profile", "x", "--settle", "nan"], "--settle must be a finite number from 0"),
    (["run", "--profile", "x", "--settle", "1e9"], "--settle must be a number from 0 to 86400"),
    (
        [
            "check",
            "--profile",
            "x",
            "--config",
            "{d}/good.toml",
            "--target",
            "Le/gacy=10.0.14393.1944",
        ],
        "not a valid node type name",
    ),
    (
        [
            "check",
            "--profile",
            "x",
            "--config",
            "{d}/good.toml",
            "--target",
            "Web=\uff11\uff10.0.17763.1",
        ],
        "not a Windows version",
    ),
    (
        ["check", "--profile", "x", "--config", "{d}/good.toml", "--target", "Web"],
        "expected NODETYPE=VERSION",
    ),
]


@pytest.mark.parametrize(
    ("argv", "says"), ARGUMENTS, ids=lambda v: " ".join(v)[:60] if isinstance(v, list) else None
)
def test_names_and_numbers_out_of_their_alphabet_or_range_are_one_line(
    argv: list[str], says: str, inputs: Path, capsys, nothing_starts
) -> None:
    code, err = in_process([a.replace("{d}", str(inputs)) for a in argv], capsys)
    assert_refused(code, err)
    assert says in err, err


# ------------------------------------------------------------------ limits in the message


@pytest.mark.parametrize(
    ("argv", "limit"),
    [
        (
            ["verify", "--key", "{key}", "{d}/t.jsonl"],
            "larger than 64 KiB, the limit for a key file",
        ),
        (
            ["check", "--profile", "x", "--config", "{big}"],
            "larger than 4 MiB, the limit for a profiles file",
        ),
        (["check", "--scenario", "{big}"], "larger than 4 MiB, the limit for a scenario file"),
    ],
)
def test_a_file_over_its_cap_is_refused_with_the_limit(
    argv: list[str], limit: str, inputs: Path, capsys
) -> None:
    (inputs / "big.toml").write_bytes(b"#" * (4 * MIB + 1))
    (inputs / "big.key").write_bytes(b"k" * (64 * KIB + 1))
    names = {
        "{d}": str(inputs),
        "{big}": str(inputs / "big.toml"),
        "{key}": str(inputs / "big.key"),
    }
    for placeholder, value in names.items():
        argv = [a.replace(placeholder, value) for a in argv]
    code, err = in_process(argv, capsys)
    assert_refused(code, err)
    assert limit in err


def test_a_scenario_this_process_cannot_open_enough_files_for_is_refused(inputs: Path) -> None:
    code, err = in_subprocess(["check", "--scenario", "large"], nofile=1024)
    assert_refused(code, err)
    assert "scenario large: 1000 nodes need 1576 open files (a listening socket per engine" in err
    assert "this process may open 1024 (RLIMIT_NOFILE); use at most 448 nodes" in err
