"""The simulated Docker engines, driven by the docker SDK and the official docker CLI over
mutual TLS on each node's own loopback address."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import docker
import pytest
import requests
import trustme

from tui.cluster import engines, fabric, sweep_loop, sweep_tls
from tui.cluster.engines import EngineConnection, ImageCache, fetch_engine
from tui.errors import ClusterError
from tui.rules.compat import CONTAINER_OS_MISMATCH
from tui.sim import docker_api, docker_wire
from tui.sim.faults import Fault
from tui.sim.scenario import load_scenario
from tui.sim.server import SimServer
from tui.sim.tls import TlsFiles, make_tls
from tui.winver import parse_version

DOCKER_CLI = shutil.which("docker")  # wherever the docker CLI is installed, if it is
LEGACY = "_Legacy_0"
BILLING_IMAGE = "contoso/billing-api:2.3"


def connection(sim: SimServer, node: str, **overrides) -> EngineConnection:
    d = sim.endpoints["docker"]
    fields = {
        "endpoint": d["nodes"][node],
        "ca": Path(d["ca"]),
        "client_cert": Path(d["client_cert"]),
        "client_key": Path(d["client_key"]),
        **overrides,
    }
    return EngineConnection(**fields)


@pytest.fixture
def sdk_client(sim: SimServer):
    """Builds docker SDK clients for nodes; closes them before the simulator stops."""
    made: list[docker.DockerClient] = []

    def build(node: str) -> docker.DockerClient:
        made.append(engines.build_client(connection(sim, node)))
        return made[-1]

    yield build
    for client in made:
        client.close()


def raw_session(sim: SimServer) -> requests.Session:
    d = sim.endpoints["docker"]
    session = requests.Session()
    session.trust_env = False
    session.verify = d["ca"]
    session.cert = (d["client_cert"], d["client_key"])
    return session


def https(sim: SimServer, node: str, path: str) -> str:
    return sim.endpoints["docker"]["nodes"][node].replace("tcp://", "https://") + path


def logged(sim: SimServer) -> list[dict]:
    lines = (sim.state_dir / "requests.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["protocol"] == "docker"]


# ------------------------------------------------------------------ endpoints


def test_endpoints_json_lists_every_node_on_one_port(sim, fabric_client):
    on_disk = json.loads(sim.endpoints_path.read_text())["docker"]
    assert on_disk == sim.endpoints["docker"]
    port = on_disk["port"]
    gateway_addresses = {n.name: n.ip_address for n in fabric.list_nodes(fabric_client)}
    assert on_disk["nodes"] == {
        name: f"tcp://{address}:{port}" for name, address in gateway_addresses.items()
    }
    assert len(set(gateway_addresses.values())) == len(gateway_addresses) == 8
    for key in ("ca", "client_cert", "client_key"):
        assert Path(on_disk[key]).is_file()


def test_a_second_simulator_picks_another_port(sim, tmp_path):
    with SimServer(load_scenario("seed"), tmp_path / "other", speed=0) as other:
        assert other.endpoints["docker"]["port"] != sim.endpoints["docker"]["port"]
        assert fetch_engine(LEGACY, connection(other, LEGACY)).os_version == "10.0.14393.1770"
    assert fetch_engine(LEGACY, connection(sim, LEGACY)).os_version == "10.0.14393.1770"


def test_a_port_taken_on_one_node_address_is_skipped(tmp_path, monkeypatch):
    blocker = socket.socket()
    blocker.bind(("127.2.0.8", 0))  # _Legacy_1's address in the seed scenario
    blocker.listen()
    taken = blocker.getsockname()[1]
    offers = iter([taken])
    real = docker_api.free_port
    monkeypatch.setattr(docker_api, "free_port", lambda host: next(offers, None) or real(host))
    try:
        with SimServer(load_scenario("seed"), tmp_path / "sim", speed=0) as server:
            port = server.endpoints["docker"]["port"]
            assert port != taken
            assert fetch_engine("_Legacy_1", connection(server, "_Legacy_1")).containers
    finally:
        blocker.close()


@dataclasses.dataclass
class OwnEngine:
    """An engine server started for one test, and how to reach it."""

    server: docker_api.EngineServer
    port: int
    tls: TlsFiles

    def endpoint(self, host: str) -> EngineConnection:
        """A connection to this engine through `host` (an address or a name for it)."""
        tls = self.tls
        return EngineConnection(
            f"tcp://{host}:{self.port}", tls.ca, tls.client_cert, tls.client_key
        )


@contextlib.contextmanager
def own_engine(tmp_path: Path, address: str, certificate_for: str | None):
    """An engine server of its own on `address` (seed's first node), serving the certificate
    issued for `certificate_for` (None: the gateway's, for localhost and 127.0.0.1)."""
    from tui.sim.clock import SimClock
    from tui.sim.engine_tls import EngineTLS
    from tui.sim.state import SimCluster

    cluster = SimCluster(load_scenario("seed"), SimClock(0))
    node = dataclasses.replace(next(iter(cluster.nodes.values())), address=address)
    tls = make_tls(tmp_path / "pki", [address, "127.0.0.99"])
    served = tls.engine_context(certificate_for) if certificate_for else None
    context = served or EngineTLS(tls.server_pem, tls.ca)
    server = docker_api.EngineServer(cluster, lambda *args, **kwargs: None)
    server.listen([node], {address: context}, docker_api.free_port(address))
    server.start()
    try:
        yield OwnEngine(server, next(iter(server._listeners)).getsockname()[1], tls)
    finally:
        server.stop()


def test_an_engine_connection_is_set_up_as_dockerd_sets_it(tmp_path):
    """Go's net/http: Nagle off (else a small answer waits ~40 ms for the client's delayed ACK);
    and the TLS session resumed at the next connection."""
    with own_engine(tmp_path, "127.0.0.1", certificate_for="127.0.0.1") as engine:
        conn = engine.endpoint("127.0.0.1")
        cache = engines.EngineCache()
        api = cache.open(conn)
        assert api.info()["OSType"] == "windows"
        accepted = engine.server.open_sockets()
        assert len(accepted) == 1
        assert accepted[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        cache.keep(api)
        again = cache.open(conn)
        assert again.info()["OSType"] == "windows"
        cache.keep(again)
        assert (cache.stats.handshakes, cache.stats.resumed) == (2, 1)


def _client_tls(tls: TlsFiles, address: str, port: int) -> ssl.SSLSocket:
    """A TLS connection to an own engine through the ssl module (OpenSSL's client: it asks
    for AES-256 first), handshake done."""
    context = ssl.create_default_context(cafile=tls.ca)
    context.load_cert_chain(tls.client_cert, tls.client_key)
    raw = socket.create_connection((address, port), timeout=10)
    return context.wrap_socket(raw, server_hostname=address)


def test_an_engine_picks_gos_tls_1_3_cipher_whatever_the_client_prefers(tmp_path):
    with own_engine(tmp_path, "127.0.0.1", certificate_for="127.0.0.1") as engine:
        conn = _client_tls(engine.tls, "127.0.0.1", engine.port)
        with conn:
            version, cipher = conn.version(), conn.cipher()[0]
    assert (version, cipher) == ("TLSv1.3", "TLS_AES_128_GCM_SHA256")


def test_an_engine_sends_no_alert_when_a_client_closes_without_close_notify(tmp_path):
    """Go's engine closes quietly; OpenSSL would write a fatal alert to the closing socket."""
    with own_engine(tmp_path, "127.0.0.1", certificate_for="127.0.0.1") as engine:
        conn = _client_tls(engine.tls, "127.0.0.1", engine.port)
        with conn:
            conn.sendall(b"GET /_ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            answer = b""
            while not answer.endswith(b"OK"):
                answer += conn.recv(4096)  # the session tickets are read on the way
            raw = socket.socket(fileno=conn.detach())  # past TLS: what the engine writes
            with raw:
                raw.settimeout(10)
                raw.shutdown(socket.SHUT_WR)  # an end of stream without close_notify
                after = b""
                while chunk := raw.recv(4096):
                    after += chunk
        assert answer.startswith(b"HTTP/1.1 200 OK")
        assert after == b""


# ------------------------------------------------------------------ the docker SDK


def test_sdk_reads_every_engine(sim):
    cache = ImageCache()
    scenario = sim.cluster.scenario
    for name, node in sim.cluster.nodes.items():
        engine = fetch_engine(name, connection(sim, name), cache)
        assert engine.os_version == str(node.host_version)  # the revision, from OperatingSystem
        assert f"(OS Build {node.host_version.build}.{node.host_version.revision})" in (
            engine.operating_system
        )
        assert engine.isolation == "process"
        assert engine.server_version == docker_wire.ENGINE_VERSION
        assert {(c.name, c.image, c.isolation, c.state) for c in engine.containers} == {
            (c.name, c.image, c.isolation, "running") for c in node.containers
        }
        assert {i.repo_tags[0]: i.os_version for i in engine.images} == {
            ref: str(scenario.images[ref].os_version) for ref in node.images
        }
        assert all(i.os == "windows" and i.size > 0 and i.created for i in engine.images)
    assert len(cache) == len(scenario.images)  # each image Id inspected once for all nodes


def test_engines_listing_the_same_image_share_one_image_object(sim):
    cache = ImageCache()
    front_0, front_1 = (
        engines.read_node(engines.EngineCache(), name, "1", connection(sim, name), cache)
        for name in ("_FrontEnd_0", "_FrontEnd_1")
    )
    shared = {i.id for i in front_0.images} & {i.id for i in front_1.images}
    assert shared  # the seed's front ends run the same images
    first = {i.id: i for i in front_0.images}
    assert all(first[i.id] is i for i in front_1.images if i.id in shared)
    assert all(i.os_version for i in front_1.images)  # still each image's own facts


def test_sdk_sees_the_missed_patch_and_hyperv_container(sim):
    assert fetch_engine("_FrontEnd_4", connection(sim, "_FrontEnd_4")).os_version == (
        "10.0.17763.5576"
    )
    reports = [
        c
        for c in fetch_engine("_FrontEnd_2", connection(sim, "_FrontEnd_2")).containers
        if c.image == "contoso/reports:1.2"
    ]
    assert [c.isolation for c in reports] == ["hyperv"]


def test_sdk_high_level_models(sim, sdk_client):
    client = sdk_client(LEGACY)
    assert client.ping() is True
    info = client.info()
    assert (info["OSType"], info["OSVersion"], info["Isolation"]) == (
        "windows",
        "10.0.14393",
        "process",
    )
    assert info["OperatingSystem"].endswith("(OS Build 14393.1770)")
    assert info["KernelVersion"].startswith("10.0 14393 (14393.")
    listed = client.containers.list(all=True)
    assert len(listed) == 3
    for container in listed:
        assert container.status == "running"
        assert container.attrs["HostConfig"]["Isolation"] == "process"
        assert container.attrs["Config"]["Image"] == container.image.tags[0]
        assert container.image.attrs["OsVersion"] == "10.0.14393.1770"
    image = client.images.get(BILLING_IMAGE)
    assert image.attrs["Os"] == "windows"
    assert image.attrs["RepoDigests"][0].startswith("contoso/billing-api@sha256:")
    assert client.images.get(image.id).id == image.id
    assert client.images.get(image.id.removeprefix("sha256:")[:12]).tags == [BILLING_IMAGE]
    assert [i.tags for i in client.images.list(name="contoso/billing-api")] == [[BILLING_IMAGE]]
    assert client.containers.list(filters={"status": "exited"}) == []
    assert client.version()["Os"] == "windows"


def test_sdk_negotiates_the_api_version(sim, monkeypatch):
    # With version negotiation the constructor calls /version at once, before trust_env can be
    # switched off, so REQUESTS_CA_BUNDLE has to be out of the way.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    d = sim.endpoints["docker"]
    tls = docker.tls.TLSConfig(
        client_cert=(d["client_cert"], d["client_key"]), ca_cert=d["ca"], verify=True
    )
    client = docker.DockerClient(base_url=d["nodes"][LEGACY], tls=tls, version="auto")
    try:
        assert client.api.api_version == docker_wire.API_VERSION
    finally:
        client.close()


def test_missing_image_and_container_are_404_with_the_daemon_text(sim, sdk_client):
    client = sdk_client(LEGACY)
    with pytest.raises(docker.errors.ImageNotFound, match="No such image: contoso/nope:1"):
        client.images.get("contoso/nope:1")
    with pytest.raises(docker.errors.NotFound, match="No such container: deadbeef"):
        client.containers.get("deadbeef")


def test_headers_versions_and_ping(sim):
    with raw_session(sim) as session:
        _check_headers_versions_and_ping(sim, session)


def _check_headers_versions_and_ping(sim: SimServer, session: requests.Session) -> None:
    ping = session.head(https(sim, LEGACY, "/_ping"))
    assert ping.status_code == 200
    assert ping.headers["Api-Version"] == docker_wire.API_VERSION
    assert ping.headers["Ostype"] == "windows"
    assert ping.headers["Server"] == f"Docker/{docker_wire.ENGINE_VERSION} (windows)"
    assert session.get(https(sim, LEGACY, "/_ping")).text == "OK"
    unversioned = session.get(https(sim, LEGACY, "/version"))
    assert unversioned.json()["ApiVersion"] == docker_wire.API_VERSION
    assert session.get(https(sim, LEGACY, "/info")).json()["OSType"] == "windows"
    too_new = session.get(https(sim, LEGACY, "/v1.45/info"))
    assert too_new.status_code == 400
    assert too_new.json() == {
        "message": "client version 1.45 is too new. Maximum supported API version is 1.41"
    }
    assert session.get(https(sim, LEGACY, "/v1.41/nope")).status_code == 404
    bad_filter = session.get(https(sim, LEGACY, '/v1.41/containers/json?filters={"x":["1"]}'))
    assert (bad_filter.status_code, bad_filter.json()) == (400, {"message": "invalid filter 'x'"})


def _raw_exchange(sim: SimServer, node: str, data: bytes) -> bytes:
    """Send `data` on one TLS connection to `node`'s engine; everything it answers until it
    closes the connection."""
    import ssl

    d = sim.endpoints["docker"]
    host, port = d["nodes"][node].removeprefix("tcp://").rsplit(":", 1)
    context = ssl.create_default_context(cafile=d["ca"])
    context.load_cert_chain(d["client_cert"], d["client_key"])
    raw = socket.create_connection((host, int(port)), timeout=10)
    with raw, context.wrap_socket(raw, server_hostname=host) as tls:
        tls.sendall(data)
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
    return answer


def test_requests_on_one_connection_are_parsed_as_http_1_1(sim):
    """Header names in any case, a body skipped by its length, keep-alive until `close`."""
    answer = _raw_exchange(
        sim,
        LEGACY,
        b"POST /v1.41/nope HTTP/1.1\r\nHOST: x\r\ncontent-length: 5\r\n\r\nhello"
        b"GET /v1.41/version HTTP/1.1\r\nhost: x\r\nConnection: close\r\n\r\n",
    )
    assert answer.count(b"HTTP/1.1 ") == 2
    assert answer.startswith(b"HTTP/1.1 404 ")
    assert b'"ApiVersion":"1.41"' in answer


@pytest.mark.parametrize(
    "request_line", [b"GET /v1.41/version HTTP/2.0", b"GET /v1.41/version", b"BREW"]
)
def test_a_malformed_request_line_is_a_400(sim, request_line):
    answer = _raw_exchange(sim, LEGACY, request_line + b"\r\nhost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n")[0]


def test_a_chunked_body_is_read_past_and_the_connection_kept(sim):
    answer = _raw_exchange(
        sim,
        LEGACY,
        b"POST /v1.41/nope HTTP/1.1\r\nhost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n"
        b"GET /v1.41/version HTTP/1.1\r\nhost: x\r\nConnection: close\r\n\r\n",
    )
    assert answer.count(b"HTTP/1.1 ") == 2
    assert answer.startswith(b"HTTP/1.1 404 ") and b'"ApiVersion":"1.41"' in answer


def test_a_bad_content_length_is_a_400_and_the_connection_closed(sim):
    answer = _raw_exchange(
        sim,
        LEGACY,
        b"POST /v1.41/nope HTTP/1.1\r\nhost: x\r\nContent-Length: 5x\r\n\r\nhello"
        b"GET /v1.41/version HTTP/1.1\r\nhost: x\r\nConnection: close\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 400 Bad Content-Length '5x'\r\n")
    assert answer.count(b"HTTP/1.1 ") == 1 and b"Connection: close\r\n" in answer


def test_a_head_is_answered_with_the_gets_headers_and_no_body(sim):
    request = b" /_ping HTTP/1.1\r\nhost: x\r\nConnection: close\r\n\r\n"
    got = _raw_exchange(sim, LEGACY, b"GET" + request)
    head = _raw_exchange(sim, LEGACY, b"HEAD" + request)
    got_head, _, body = got.partition(b"\r\n\r\n")
    undated = re.compile(rb"Date: [^\r]*")  # the two may be a second apart
    assert body and undated.sub(b"", head) == undated.sub(b"", got_head + b"\r\n\r\n")
    assert f"Content-Length: {len(body)}".encode() in head


def test_every_request_is_logged_with_its_node(sim):
    fetch_engine("_FrontEnd_0", connection(sim, "_FrontEnd_0"))
    records = logged(sim)
    assert {r["node"] for r in records} == {"_FrontEnd_0"}
    assert {r["path"].split("?")[0] for r in records} >= {
        "/v1.41/info",
        "/v1.41/containers/json",
        "/v1.41/images/json",
    }
    assert all(r["status"] == 200 and r["method"] == "GET" for r in records)


def _listed_now(sim: SimServer, node: str, query: dict[str, str]) -> bytes:
    """The container list of `node` encoded afresh, with no cached entry."""
    with sim.cluster.lock:
        node_state = sim.cluster.nodes[node]
        found = docker_wire.list_containers(
            node_state, query, sim.cluster.scenario.images, sim.clock.now()
        )
    return docker_wire.encode(found)


def test_an_answer_is_json_as_dockerds_go_encoder_writes_it(sim):
    with raw_session(sim) as session:
        listed = session.get(https(sim, LEGACY, "/v1.41/containers/json?all=1")).content
        info = session.get(https(sim, LEGACY, "/v1.41/info")).content
        missing = session.get(https(sim, LEGACY, "/v1.41/containers/nope/json")).content
    assert listed.startswith(b'[{"Id":"') and listed.endswith(b"}]\n")
    assert b'": ' not in listed and b'", "' not in listed and b"}, {" not in listed
    assert info.startswith(b'{"ID":') and info.endswith(b"}\n") and b'": ' not in info
    assert missing == b'{"message":"No such container: nope"}\n'


def test_a_listed_container_is_encoded_afresh_once_its_state_changes(sim):
    """The list's entries are cached by their content: a stopped container is listed stopped."""
    hyperv = '/v1.41/containers/json?all=1&filters={"isolation":["hyperv"]}'
    with raw_session(sim) as session:
        before = session.get(https(sim, LEGACY, "/v1.41/containers/json?all=1")).content
        assert {c["State"] for c in json.loads(before)} == {"running"}
        sim.cluster.reboot_host(LEGACY, 0, parse_version("10.0.14393.1944"))
        sim.clock.advance(sim.cluster.scenario.timing.restart + 1)
        after = session.get(https(sim, LEGACY, "/v1.41/containers/json?all=1")).content
        filtered = session.get(https(sim, LEGACY, hyperv)).content
    assert {c["State"] for c in json.loads(after)} == {"exited"}
    assert {c["Status"].split(")")[0] for c in json.loads(after)} == {"Exited (3221684481"}
    assert after == _listed_now(sim, LEGACY, {"all": "1"})
    assert filtered == _listed_now(sim, LEGACY, {"all": "1", "filters": '{"isolation":["hyperv"]}'})


def test_info_is_encoded_afresh_once_its_containers_stop(sim):
    """/info's JSON is cached by what it is made of: stopped containers are counted stopped."""

    def info_now() -> bytes:
        with sim.cluster.lock:
            node = sim.cluster.nodes[LEGACY]
            return docker_wire.encode(docker_wire.info_body(node, sim.clock.now()))

    with raw_session(sim) as session:
        before = session.get(https(sim, LEGACY, "/v1.41/info")).content
        assert before == info_now()
        sim.cluster.reboot_host(LEGACY, 0, parse_version("10.0.14393.1944"))
        sim.clock.advance(sim.cluster.scenario.timing.restart + 1)
        after = session.get(https(sim, LEGACY, "/v1.41/info")).content
    assert after == info_now()
    counts = json.loads(before)["ContainersRunning"], json.loads(after)["ContainersRunning"]
    assert counts[0] > 0 and counts[1] == 0
    assert json.loads(after)["SystemTime"] != json.loads(before)["SystemTime"]


def test_an_image_list_is_the_json_of_its_entries(sim):
    with raw_session(sim) as session:
        body = session.get(https(sim, LEGACY, "/v1.41/images/json")).content
    with sim.cluster.lock:
        node = sim.cluster.nodes[LEGACY]
        expected = docker_wire.list_images(node, {}, sim.cluster.scenario.images)
    assert body == docker_wire.encode(expected)
    assert [i["Created"] for i in expected] == sorted(
        (i["Created"] for i in expected), reverse=True
    )


def test_an_answer_has_dockerds_headers_in_order(sim):
    answer = _raw_exchange(
        sim, LEGACY, b"GET /v1.41/info HTTP/1.1\r\nhost: x\r\nConnection: close\r\n\r\n"
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0] == "HTTP/1.1 200 OK"
    assert [line.split(":")[0] for line in lines[1:]] == [
        "Server",
        "Date",
        "Api-Version",
        "Docker-Experimental",
        "Ostype",
        "Content-Type",
        "Content-Length",
    ]
    assert lines[2].endswith(" GMT") and lines[-1] == f"Content-Length: {len(body)}"


# ------------------------------------------------------------------ refusals and outages


def _foreign_client_cert(tmp_path: Path) -> tuple[Path, Path]:
    cert = trustme.CA().issue_cert("intruder.contoso.test")
    cert_path, key_path = tmp_path / "intruder.pem", tmp_path / "intruder-key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    return cert_path, key_path


def sweep_read(node: str, conn: EngineConnection) -> object:
    """One engine read through the inventory's lean sweep path (not the docker SDK)."""
    return engines.read_node(engines.EngineCache(), node, "1", conn)


def loop_read(node: str, conn: EngineConnection) -> object:
    """One engine read as the inventory's sweep loop makes it (tui.cluster.sweep_loop)."""
    job = engines.NodeSweep(
        engines.EngineCache(), node, "1", conn, ImageCache(), {}, lambda _: None
    )
    sweep_loop.run([job], 4)
    if job.result is engines.NEEDS_MORE:
        return job.finish_read()
    if isinstance(job.result, BaseException):
        raise job.result
    return job.result


READERS = pytest.mark.parametrize(
    "read", [fetch_engine, sweep_read, loop_read], ids=["sdk", "sweep", "loop"]
)
SWEEPS = pytest.mark.parametrize("read", [sweep_read, loop_read], ids=["sweep", "loop"])


@READERS
def test_a_client_certificate_from_another_ca_is_refused(sim, tmp_path, read):
    cert, key = _foreign_client_cert(tmp_path)
    # TLS 1.3: the engine rejects the certificate after the client's handshake completes.
    with pytest.raises(ClusterError, match=f"docker engine on {LEGACY}: (TLS failed|not answer)"):
        read(LEGACY, connection(sim, LEGACY, client_cert=cert, client_key=key))
    with pytest.raises(ClusterError, match="TLS failed|not answering"):
        read(LEGACY, connection(sim, LEGACY, client_cert=None, client_key=None))
    assert logged(sim) == []  # refused before any request was served


@READERS
def test_an_engine_signed_by_another_ca_is_not_trusted(sim, tmp_path, read):
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    with pytest.raises(ClusterError, match="TLS failed"):
        read(LEGACY, connection(sim, LEGACY, ca=other_ca))
    assert logged(sim) == []


@READERS
def test_an_engine_whose_certificate_is_for_another_address_is_not_trusted(tmp_path, read):
    with own_engine(tmp_path, "127.0.0.1", certificate_for="127.0.0.99") as engine:
        with pytest.raises(ClusterError, match="TLS failed"):
            read(LEGACY, engine.endpoint("127.0.0.1"))
        # An address's certificate names the address alone, not a host name for it.
        with pytest.raises(ClusterError, match="TLS failed"):
            read(LEGACY, engine.endpoint("localhost"))


@SWEEPS
def test_the_sweep_says_which_address_the_certificate_is_not_for(tmp_path, read):
    with (
        own_engine(tmp_path, "127.0.0.1", certificate_for="127.0.0.99") as engine,
        pytest.raises(ClusterError, match="not for 127.0.0.1: it is for 127.0.0.99"),
    ):
        read(LEGACY, engine.endpoint("127.0.0.1"))


@READERS
def test_an_engine_reached_by_a_host_name_is_checked_against_its_dns_names(tmp_path, read):
    with own_engine(tmp_path, "127.0.0.1", certificate_for=None) as engine:
        assert read(LEGACY, engine.endpoint("localhost")).containers  # DNS:localhost in its SAN
        assert read(LEGACY, engine.endpoint("127.0.0.1")).containers  # and IP:127.0.0.1


@SWEEPS
def test_the_sweep_times_out_on_an_engine_that_never_answers(sim, read):
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never speaks TLS
        conn = dataclasses.replace(
            connection(sim, LEGACY),
            endpoint=f"tcp://127.0.0.1:{silent.getsockname()[1]}",
            timeout=0.2,
        )
        with pytest.raises(ClusterError, match=f"docker engine on {LEGACY}: timed out"):
            read(LEGACY, conn)


def test_a_full_read_asks_for_info_containers_and_images_in_one_write(sim, monkeypatch):
    writes = []
    request = sweep_tls.TLSConnection.request

    def recording(conn, method, *targets):
        writes.append(targets)
        return request(conn, method, *targets)

    monkeypatch.setattr(sweep_tls.TLSConnection, "request", recording)
    for name in sim.cluster.nodes:
        writes.clear()
        engine = sweep_read(name, connection(sim, name))
        assert writes[0] == (
            engines.INFO_TARGET,
            engines.containers_target(True),
            engines.IMAGES_TARGET,
        )
        assert all(len(targets) == 1 for targets in writes[1:])  # what the answers asked for
        read_by_sdk = fetch_engine(name, connection(sim, name))
        assert engine == dataclasses.replace(read_by_sdk, node_instance_id="1")


def test_the_sweep_connects_an_engine_address_without_a_name_lookup(sim, monkeypatch):
    asked = []
    getaddrinfo = socket.getaddrinfo

    def recording(host, *args, **kwargs):
        asked.append(host)
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    conn = connection(sim, LEGACY)
    assert sweep_read(LEGACY, conn).containers  # TLS checked against the address, as before
    assert conn.endpoint.removeprefix("tcp://").rpartition(":")[0] not in asked


def test_engine_down_fault(sim, sdk_client):
    fault = Fault("engine-down", "_FrontEnd_1")
    sim.cluster.faults.add(fault)
    with pytest.raises(ClusterError, match="_FrontEnd_1: not answering"):
        fetch_engine("_FrontEnd_1", connection(sim, "_FrontEnd_1"))
    with pytest.raises(requests.exceptions.ConnectionError):
        sdk_client("_FrontEnd_1").ping()
    assert fetch_engine("_FrontEnd_0", connection(sim, "_FrontEnd_0")).containers
    sim.cluster.faults.remove(fault)
    assert fetch_engine("_FrontEnd_1", connection(sim, "_FrontEnd_1")).containers


def test_engine_slow_waits_before_the_handshake_and_each_answer(sim, sdk_client, monkeypatch):
    waits: list[float] = []
    real = docker_api.EngineServer._defer

    def defer(server, seconds, conn, step, *args):
        waits.append(seconds)
        real(server, 0, conn, step, *args)  # no real wait in a test: the step runs at once

    monkeypatch.setattr(docker_api.EngineServer, "_defer", defer)
    client = sdk_client("_FrontEnd_1")
    assert client.api.info()["OSType"] == "windows"
    assert waits == []  # no fault: no wait
    sim.cluster.faults.add(Fault("engine-slow", "250"))
    assert client.api.info()["OSType"] == "windows"  # the kept connection: one answer
    assert waits == [0.25]
    client.close()
    assert sdk_client("_FrontEnd_2").api.info()["OSType"] == "windows"  # a new connection
    assert waits == [0.25, 0.25, 0.25]


def test_a_kept_alive_connection_is_reset_while_the_engine_is_down(sim, sdk_client):
    client = sdk_client("_FrontEnd_1")
    assert client.ping() is True  # the connection stays in the client's pool
    fault = Fault("engine-down", "_FrontEnd_1")
    sim.cluster.faults.add(fault)
    served = len(logged(sim))
    with pytest.raises(requests.exceptions.ConnectionError):
        client.api.info()
    assert len(logged(sim)) == served  # reset, not answered
    sim.cluster.faults.remove(fault)
    assert client.api.info()["OSType"] == "windows"
    sim.cluster.reboot_host("_FrontEnd_1", 0)
    with pytest.raises(requests.exceptions.ConnectionError):
        client.api.info()
    sim.clock.advance(sim.cluster.scenario.timing.restart)
    assert client.api.info()["OSType"] == "windows"


def test_engine_is_down_while_its_vm_reboots(sim):
    sim.cluster.reboot_host("_FrontEnd_3", 0)
    with pytest.raises(ClusterError, match="not answering"):
        fetch_engine("_FrontEnd_3", connection(sim, "_FrontEnd_3"))
    sim.clock.advance(sim.cluster.scenario.timing.restart + 1)
    engine = fetch_engine("_FrontEnd_3", connection(sim, "_FrontEnd_3"))
    assert {c.state for c in engine.containers} == {"running"}  # same build: all restart


# ------------------------------------------------------------------ the headline


def test_patching_legacy_0_stops_its_2016_containers(sim, sdk_client, fabric_client):
    sim.cluster.reboot_host(LEGACY, 0, parse_version("10.0.14393.1944"))
    sim.clock.advance(sim.cluster.scenario.timing.restart + 1)

    engine = fetch_engine(LEGACY, connection(sim, LEGACY))
    assert engine.os_version == "10.0.14393.1944"
    assert len(engine.containers) == 3
    for container in engine.containers:
        assert container.state == "exited"
        assert container.exit_code == 3221684481
        assert container.error.endswith(CONTAINER_OS_MISMATCH)
        assert container.status.startswith("Exited (3221684481) ")
    assert {i.os_version for i in engine.images} == {"10.0.14393.1770"}

    attrs = sdk_client(LEGACY).containers.get("sf-billing-api-legacy-0").attrs
    assert attrs["State"]["Status"] == "exited"
    assert attrs["State"]["Running"] is False
    assert "(0xc0370101)" in attrs["State"]["Error"]
    assert attrs["State"]["FinishedAt"] != docker_wire.ZERO_TIME

    untouched = fetch_engine("_Legacy_1", connection(sim, "_Legacy_1"))
    assert {c.state for c in untouched.containers} == {"running"}

    health = fabric.cluster_health(fabric_client)
    billing = [
        e
        for e in health.evaluations
        if e.application == "fabric:/Billing" and e.node_name == LEGACY
    ]
    assert billing and all(e.health_state == "Error" for e in billing)
    assert health.application_states["fabric:/Billing"] == "Error"


# ------------------------------------------------------------------ the docker CLI


@pytest.fixture
def docker_cli(sim, tmp_path):
    if DOCKER_CLI is None:
        pytest.skip("no docker CLI on PATH: the tests of the official docker CLI did not run")
    d = sim.endpoints["docker"]
    base = [
        DOCKER_CLI,
        "-H",
        d["nodes"][LEGACY],
        "--tlsverify",
        "--tlscacert",
        d["ca"],
        "--tlscert",
        d["client_cert"],
        "--tlskey",
        d["client_key"],
    ]
    env = {"HOME": str(tmp_path), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}

    def run(*args: str) -> str:
        done = subprocess.run([*base, *args], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run


def test_cli_info(docker_cli, sim):
    text = docker_cli("info")
    expected = "Windows Server 2016 Datacenter Version 1607 (OS Build 14393.1770)"
    assert f"Operating System: {expected}" in text
    assert "OSType: windows" in text
    assert "Default Isolation: process" in text
    assert docker_cli("info", "--format", "{{.OSVersion}}").strip() == "10.0.14393"
    paths = [(r["method"], r["path"]) for r in logged(sim)]
    assert ("HEAD", "/_ping") in paths and ("GET", "/v1.41/info") in paths


def test_cli_ps_and_images(docker_cli, sim):
    sim.cluster.reboot_host(LEGACY, 0, parse_version("10.0.14393.1944"))
    sim.clock.advance(sim.cluster.scenario.timing.restart + 1)
    assert docker_cli("ps", "--format", "{{.Names}}") == ""
    rows = docker_cli("ps", "-a", "--format", "{{.Names}}|{{.Image}}|{{.Status}}").splitlines()
    assert sorted(r.split("|")[0] for r in rows) == [
        "sf-batch-legacy-0",
        "sf-billing-api-legacy-0",
        "sf-ledger-worker-legacy-0",
    ]
    assert all("|Exited (3221684481) " in r for r in rows)
    images = docker_cli("images", "--format", "{{.Repository}}:{{.Tag}} {{.Size}}").splitlines()
    assert sorted(images) == [
        "contoso/billing-api:2.3 11.1GB",
        "contoso/ledger-worker:1.8 10.9GB",
        "microsoft/windowsservercore:10.0.14393.1770 10.7GB",
    ]
    assert "REPOSITORY" in docker_cli("images")


def test_cli_image_inspect(docker_cli):
    inspected = json.loads(docker_cli("image", "inspect", BILLING_IMAGE))
    assert [(i["Os"], i["OsVersion"], i["RepoTags"]) for i in inspected] == [
        ("windows", "10.0.14393.1770", [BILLING_IMAGE])
    ]
    assert docker_cli("image", "inspect", "-f", "{{.OsVersion}}", BILLING_IMAGE).strip() == (
        "10.0.14393.1770"
    )


# ------------------------------------------------------------------ wire helpers


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.2, "Less than a second"),
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "About a minute"),
        (300, "5 minutes"),
        (3600, "About an hour"),
        (5 * 3600, "5 hours"),
        (12 * 86400, "12 days"),
        (20 * 86400, "2 weeks"),
        (90 * 86400, "3 months"),
        (3 * 365 * 86400, "3 years"),
    ],
)
def test_human_duration_matches_go_units(seconds, text):
    assert docker_wire.human_duration(seconds) == text


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("contoso/web:4.1", True),
        ("docker.io/contoso/web:4.1", True),
        ("contoso/web", False),  # means contoso/web:latest
        ("contoso/gateway", True),
        ("contoso/web:4.2", False),
    ],
)
def test_find_image_normalizes_references(sim, name, found):
    specs = sim.cluster.scenario.images.values()
    assert (docker_wire.find_image(specs, name) is not None) is found


def _tls_to(sim: SimServer, node: str) -> socket.socket:
    import ssl

    d = sim.endpoints["docker"]
    host, port = d["nodes"][node].removeprefix("tcp://").rsplit(":", 1)
    context = ssl.create_default_context(cafile=d["ca"])
    context.load_cert_chain(d["client_cert"], d["client_key"])
    raw = socket.create_connection((host, int(port)), timeout=10)
    return context.wrap_socket(raw, server_hostname=host)


def test_a_half_sent_request_or_a_half_done_handshake_holds_up_no_other_engine(sim):
    """One thread serves every connection: one waiting on its client waits alone."""
    d = sim.endpoints["docker"]
    host, port = d["nodes"][LEGACY].removeprefix("tcp://").rsplit(":", 1)
    stalled = socket.create_connection((host, int(port)), timeout=10)  # no handshake at all
    with stalled, _tls_to(sim, LEGACY) as half:
        half.sendall(b"GET /v1.41/version HTTP/1.1\r\nhost: x\r\n")  # no blank line yet
        assert fetch_engine("_FrontEnd_0", connection(sim, "_FrontEnd_0")).containers
        half.sendall(b"Connection: close\r\n\r\n")
        answer = b""
        while chunk := half.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ") and b'"ApiVersion":"1.41"' in answer


def test_a_fault_accepting_one_connection_resets_it_and_the_engines_go_on(sim, monkeypatch):
    real, calls = docker_api.engine_up, []

    def fails_once(cluster, node):
        calls.append(node.name)
        if len(calls) == 1:
            raise RuntimeError("a simulator bug")
        return real(cluster, node)

    monkeypatch.setattr(docker_api, "engine_up", fails_once)
    with pytest.raises(ClusterError, match="_FrontEnd_0: not answering"):
        fetch_engine("_FrontEnd_0", connection(sim, "_FrontEnd_0"))
    assert fetch_engine("_FrontEnd_0", connection(sim, "_FrontEnd_0")).containers
    assert calls[:2] == ["_FrontEnd_0", "_FrontEnd_0"]


def test_a_connection_idle_past_the_keepalive_is_closed(sim, monkeypatch):
    with _tls_to(sim, LEGACY) as idle:
        idle.sendall(b"GET /_ping HTTP/1.1\r\nhost: x\r\n\r\n")
        assert idle.recv(65536).startswith(b"HTTP/1.1 200 ")
        later = time.monotonic() + docker_api.KEEPALIVE_TIMEOUT + docker_api.SWEEP_EVERY + 1
        monkeypatch.setattr(docker_api, "monotonic", lambda: later)
        # Another engine's answer wakes the serving thread, which then looks for idle ones.
        assert fetch_engine("_FrontEnd_0", connection(sim, "_FrontEnd_0")).containers
        assert idle.recv(65536) == b""  # closed by the engine
