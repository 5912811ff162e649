"""Cluster profiles: a complete file loads; each mistake is one line naming the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from tui.config import (
    DEFAULT_ENDPOINT_TEMPLATE,
    ClusterProfile,
    load_profile,
    load_profiles,
    parse_target,
    render_profile,
)
from tui.errors import ConfigError, UsageError
from tui.winver import parse_version

THUMB = "AB:CD:" + "0" * 36

COMPLETE = f"""
[clusters.contoso-prod.gateway]
endpoint = "https://contoso-prod.westeurope.cloudapp.azure.com:19080/"
client_cert = "certs/admin.crt"
client_key = "certs/admin.key"
server_thumbprints = ["{THUMB}"]

[clusters.contoso-prod.arm]
subscription = "8f3c2a1e-4b5d-4c6e-9f70-112233445566"
resource_group = "contoso-prod-rg"
scale_sets = {{ FrontEnd = "FrontEnd", Legacy = "legacy-vmss" }}

[clusters.contoso-prod.docker]
ca = "certs/docker-ca.pem"
client_cert = "certs/docker.crt"
client_key = "certs/docker.key"

[clusters.contoso-prod.patch_targets]
Legacy = "10.0.14393.1944"

[clusters.contoso-prod.inventory]
concurrency = 8
timeout = 5

[clusters.staging.gateway]
endpoint = "https://staging:19080"
client_pem = "certs/admin.pem"
ca = "certs/ca.pem"
"""


@pytest.fixture(scope="module")
def pems() -> dict[str, bytes]:
    """A CA, a leaf certificate, its key and both in one file, as PEM."""
    ca = trustme.CA()
    leaf = ca.issue_cert("admin.contoso.test")
    return {
        "ca": ca.cert_pem.bytes(),
        "cert": leaf.cert_chain_pems[0].bytes(),
        "key": leaf.private_key_pem.bytes(),
        "pem": leaf.private_key_and_cert_chain_pem.bytes(),
    }


@pytest.fixture
def config_dir(tmp_path: Path, pems: dict[str, bytes]) -> Path:
    certs = tmp_path / "certs"
    certs.mkdir()
    for name, kind in (
        ("admin.crt", "cert"),
        ("admin.key", "key"),
        ("admin.pem", "pem"),
        ("ca.pem", "ca"),
        ("docker-ca.pem", "ca"),
        ("docker.crt", "cert"),
        ("docker.key", "key"),
    ):
        (certs / name).write_bytes(pems[kind])
    return tmp_path


def write(config_dir: Path, text: str) -> Path:
    path = config_dir / "profiles.toml"
    path.write_text(text)
    return path


def test_complete_profile_loads_with_paths_relative_to_the_file(config_dir: Path) -> None:
    profiles = load_profiles(write(config_dir, COMPLETE))
    assert sorted(profiles) == ["contoso-prod", "staging"]
    prod = profiles["contoso-prod"]
    assert prod.gateway.endpoint == "https://contoso-prod.westeurope.cloudapp.azure.com:19080"
    assert prod.gateway.client_cert == config_dir / "certs/admin.crt"
    assert prod.gateway.server_thumbprints == ("abcd" + "0" * 36,)
    assert prod.arm is not None and prod.arm.credential == "default"
    assert dict(prod.arm.scale_sets) == {"FrontEnd": "FrontEnd", "Legacy": "legacy-vmss"}
    assert prod.docker is not None and prod.docker.endpoint_template == DEFAULT_ENDPOINT_TEMPLATE
    assert dict(prod.patch_targets) == {"Legacy": parse_version("10.0.14393.1944")}
    assert (prod.inventory.concurrency, prod.inventory.timeout) == (8, 5.0)
    staging = profiles["staging"]
    assert staging.arm is None and staging.docker is None
    assert staging.gateway.ca == config_dir / "certs/ca.pem"


def test_render_profile_reads_back_the_same(config_dir: Path) -> None:
    prod = load_profiles(write(config_dir, COMPLETE))["contoso-prod"]
    again = write(config_dir, render_profile(prod))
    back = load_profile("contoso-prod", again)
    assert isinstance(back, ClusterProfile)
    assert back == ClusterProfile(
        prod.name, again, prod.gateway, prod.arm, prod.docker, prod.patch_targets, prod.inventory
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('timeout = 5', 'timeuot = 5', "clusters.contoso-prod.inventory.timeuot: unknown key"),
        ('"certs/admin.pem"', '"certs/missing.pem"',
         "clusters.staging.gateway.client_pem: no such file"),
        ('endpoint = "https://staging:19080"', 'endpoint = "http://staging:19080"',
         "clusters.staging.gateway.endpoint: must be an https:// URL"),
        ('Legacy = "10.0.14393.1944"', 'Legacy = "10.0.14393"',
         "clusters.contoso-prod.patch_targets.Legacy: needs the revision"),
        ('Legacy = "10.0.14393.1944"', 'Legacy = "ws2016"',
         "clusters.contoso-prod.patch_targets.Legacy: not a Windows version"),
        ('client_key = "certs/admin.key"\n', "",
         "clusters.contoso-prod.gateway.client_key: client_cert and client_key go together"),
        (f'server_thumbprints = ["{THUMB}"]', 'server_thumbprints = ["abc"]',
         "clusters.contoso-prod.gateway.server_thumbprints: not a SHA-1 thumbprint"),
        ('ca = "certs/ca.pem"', 'ca = "certs/ca.pem"\nserver_thumbprints = ["' + "1" * 40 + '"]',
         "clusters.staging.gateway.server_thumbprints: give ca or server_thumbprints, not both"),
        ('scale_sets = {', 'credential = "token"\nscale_sets = {',
         "clusters.contoso-prod.arm.credential: must be one of default, azure-cli, static-token"),
        ('scale_sets = {', 'token = "t"\nscale_sets = {',
         'clusters.contoso-prod.arm.token: only used with credential = "static-token"'),
        ('scale_sets = {', 'credential = "static-token"\nscale_sets = {',
         'clusters.contoso-prod.arm.token: required with credential = "static-token"'),
        ('scale_sets = { FrontEnd = "FrontEnd", Legacy = "legacy-vmss" }', "",
         "clusters.contoso-prod.arm.scale_sets: required key is missing"),
        ('ca = "certs/docker-ca.pem"', 'endpoint_template = "tcp://{host}:2376"',
         "clusters.contoso-prod.docker.endpoint_template: only {address} may be substituted"),
        ('ca = "certs/docker-ca.pem"', 'endpoint_template = "https://{address}:2376"',
         "clusters.contoso-prod.docker.endpoint_template: must look like tcp://{address}:2376"),
        ('concurrency = 8', 'concurrency = 0',
         "clusters.contoso-prod.inventory.concurrency: must be a whole number from 1 to 256 "
         "(got 0)"),
        ('concurrency = 8', 'concurrency = 100000',
         "clusters.contoso-prod.inventory.concurrency: must be a whole number from 1 to 256"),
        ('concurrency = 8', 'concurrency = 8.0',
         "clusters.contoso-prod.inventory.concurrency: must be a whole number"),
        ('timeout = 5', 'timeout = inf',
         "clusters.contoso-prod.inventory.timeout: must be a finite number from 0.1 to 3600 "
         "(got inf)"),
        ('timeout = 5', 'timeout = nan',
         "clusters.contoso-prod.inventory.timeout: must be a finite number from 0.1 to 3600 "
         "(got nan)"),
        ('timeout = 5', 'timeout = -5',
         "clusters.contoso-prod.inventory.timeout: must be a number from 0.1 to 3600 (got -5)"),
        ('timeout = 5', 'retries = 1000',
         "clusters.contoso-prod.inventory.retries: must be a whole number from 0 to 10"),
        ('scale_sets = {', 'poll_interval = inf\nscale_sets = {',
         "clusters.contoso-prod.arm.poll_interval: must be a finite number from 0.05 to 3600"),
        ('endpoint = "https://staging:19080"', 'endpoint = "https://staging:99999"',
         "clusters.staging.gateway.endpoint: 'https://staging:99999': its port must be a whole "
         "number from 1 to 65535"),
        ('endpoint = "https://staging:19080"', 'endpoint = "https://staging:0"',
         "clusters.staging.gateway.endpoint: 'https://staging:0': its port must be"),
        ('endpoint = "https://staging:19080"', 'endpoint = "https://:19080"',
         "clusters.staging.gateway.endpoint: 'https://:19080': it names no host"),
        ('scale_sets = {', 'endpoint = "https://arm:65536"\nscale_sets = {',
         "clusters.contoso-prod.arm.endpoint: 'https://arm:65536': its port must be"),
        ('ca = "certs/docker-ca.pem"', 'endpoint_template = "tcp://{address}:70000"',
         "clusters.contoso-prod.docker.endpoint_template: 'tcp://{address}:70000': its port"),
        ('[clusters.staging.gateway]', '[clusters."a/b".gateway]',
         "clusters.'a/b': not a valid profile name 'a/b': use 1 to 64 ASCII letters, digits"),
        ('[clusters.staging.gateway]', '[clusters."".gateway]',
         "clusters.'': not a valid profile name '': use 1 to 64 ASCII letters"),
        ('[clusters.staging.gateway]', '[clusters."x\\ny".gateway]',
         "clusters.'x\\ny': not a valid profile name"),
        ('Legacy = "10.0.14393.1944"', '"Leg acy" = "10.0.14393.1944"',
         "clusters.contoso-prod.patch_targets.'Leg acy': not a valid node type name 'Leg acy': "
         "use 1 to 64 ASCII letters, digits, '_' or '-'"),
        ('FrontEnd = "FrontEnd"', '"Front/End" = "FrontEnd"',
         "clusters.contoso-prod.arm.scale_sets.'Front/End': not a valid node type name"),
        ('Legacy = "10.0.14393.1944"', 'Legacy = "\uff11\uff10.0.14393.1944"',
         "clusters.contoso-prod.patch_targets.Legacy: not a Windows version"),
        ('endpoint = "https://staging:19080"\n', "",
         "clusters.staging.gateway.endpoint: required key is missing"),
    ],
)  # fmt: skip
def test_bad_profile_names_file_and_key(config_dir: Path, old: str, new: str, message: str) -> None:
    assert old in COMPLETE
    path = write(config_dir, COMPLETE.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_profiles(path)
    assert str(caught.value).startswith(f"{path}: {message}")
    assert "\n" not in str(caught.value)


NOT_A_CERT = "holds no certificate (a PEM -----BEGIN CERTIFICATE----- block)"
NOT_A_KEY = "holds no private key (a PEM -----BEGIN PRIVATE KEY----- block)"


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        ("admin.pem", "passwd", f"clusters.staging.gateway.client_pem: {{path}} {NOT_A_CERT}"),
        ("admin.pem", "cert", f"clusters.staging.gateway.client_pem: {{path}} {NOT_A_KEY}"),
        ("admin.pem", "key", f"clusters.staging.gateway.client_pem: {{path}} {NOT_A_CERT}"),
        ("admin.crt", "key", f"clusters.contoso-prod.gateway.client_cert: {{path}} {NOT_A_CERT}"),
        ("admin.key", "cert", f"clusters.contoso-prod.gateway.client_key: {{path}} {NOT_A_KEY}"),
        ("ca.pem", "passwd", f"clusters.staging.gateway.ca: {{path}} {NOT_A_CERT}"),
        ("ca.pem", "torn", "clusters.staging.gateway.ca: {path} holds a malformed certificate"),
        ("admin.key", "encrypted",
         "clusters.contoso-prod.gateway.client_key: {path} holds an encrypted private key"),
        ("docker-ca.pem", "passwd", f"clusters.contoso-prod.docker.ca: {{path}} {NOT_A_CERT}"),
        ("docker.crt", "passwd",
         f"clusters.contoso-prod.docker.client_cert: {{path}} {NOT_A_CERT}"),
        ("docker.key", "passwd", f"clusters.contoso-prod.docker.client_key: {{path}} {NOT_A_KEY}"),
    ],
)  # fmt: skip
def test_tls_files_must_hold_what_their_key_says(
    config_dir: Path, pems: dict[str, bytes], file: str, content: str, message: str
) -> None:
    from cryptography.hazmat.primitives.serialization import (
        BestAvailableEncryption,
        Encoding,
        PrivateFormat,
        load_pem_private_key,
    )

    data = {
        "passwd": b"root:x:0:0:root:/root:/bin/bash\n",
        "torn": pems["ca"][:120] + pems["ca"][-30:],
        "encrypted": load_pem_private_key(pems["key"], None).private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(b"pass phrase")
        ),
    }.get(content) or pems[content]
    target = config_dir / "certs" / file
    target.write_bytes(data)
    path = write(config_dir, COMPLETE)
    with pytest.raises(ConfigError) as caught:
        load_profiles(path)
    assert str(caught.value).startswith(f"{path}: {message.format(path=target)}")
    assert "\n" not in str(caught.value)


def test_arm_ca_must_be_a_certificate(config_dir: Path) -> None:
    passwd = config_dir / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n")
    arm_ca = f'resource_group = "contoso-prod-rg"\nca = "{passwd}"'
    path = write(config_dir, COMPLETE.replace('resource_group = "contoso-prod-rg"', arm_ca))
    with pytest.raises(ConfigError) as caught:
        load_profiles(path)
    assert str(caught.value) == f"{path}: clusters.contoso-prod.arm.ca: {passwd} {NOT_A_CERT}"


def test_gateway_needs_a_client_identity(config_dir: Path) -> None:
    path = write(config_dir, '[clusters.x.gateway]\nendpoint = "https://x:19080"\n')
    with pytest.raises(
        ConfigError, match=r"clusters\.x\.gateway\.client_pem: required: client_pem"
    ):
        load_profiles(path)
    path = write(config_dir, '[clusters.x.gateway]\nendpoint = "https://x:19080"\naad = true\n')
    assert load_profiles(path)["x"].gateway.aad


def test_missing_or_malformed_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"profiles\.toml: no such file"):
        load_profiles(tmp_path / "profiles.toml")
    path = write(tmp_path, "[clusters\n")
    with pytest.raises(ConfigError, match=r"profiles\.toml: invalid TOML"):
        load_profiles(path)
    path = write(tmp_path, "[other]\n")
    with pytest.raises(ConfigError, match=r"profiles\.toml: clusters: required key is missing"):
        load_profiles(path)


def test_unknown_profile_lists_the_known_ones(config_dir: Path) -> None:
    path = write(config_dir, COMPLETE)
    with pytest.raises(
        ConfigError, match=r"clusters\.prod: no such profile \(known: contoso-prod, staging\)"
    ):
        load_profile("prod", path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Legacy=10.0.14393.1944", ("Legacy", "10.0.14393.1944")),
     (" FrontEnd = 10.0.17763.6189 ", ("FrontEnd", "10.0.17763.6189"))],
)  # fmt: skip
def test_parse_target(text: str, expected: tuple[str, str]) -> None:
    node_type, version = parse_target(text)
    assert (node_type, str(version)) == expected


@pytest.mark.parametrize(
    "text", ["Legacy", "=10.0.14393.1944", "Legacy=", "Legacy=10.0.14393", "Legacy=x"]
)
def test_parse_target_refuses_malformed(text: str) -> None:
    with pytest.raises(UsageError, match="--target"):
        parse_target(text)


def test_sim_writes_a_profile_named_after_its_cluster(sim) -> None:
    profile = load_profile("contoso-prod", sim.profile_path)
    assert profile.gateway.endpoint == sim.endpoints["fabric"]["endpoint"]
    assert {k: str(v) for k, v in profile.patch_targets.items()} == {
        "FrontEnd": "10.0.17763.6189",
        "Legacy": "10.0.14393.1944",
    }


def test_node_type_settings_from_the_cluster_resource(tmp_path):
    from tui.config import load_profiles

    write_profile = tmp_path / "profiles.toml"
    write_profile.write_text(
        "[clusters.c.gateway]\n"
        'endpoint = "https://127.0.0.1:19080"\n'
        "aad = true\n"
        "[clusters.c.node_types.FrontEnd]\n"
        'durability = "Silver"\n'
        "[clusters.c.node_types.Batch]\n"
        'durability = "Bronze"\n'
        "stateless = true\n"
    )
    profile = load_profiles(write_profile)["c"]
    assert profile.node_types["FrontEnd"].durability == "Silver"
    assert profile.node_types["Batch"].stateless is True
    write_profile.write_text(
        "[clusters.c.gateway]\n"
        'endpoint = "https://127.0.0.1:19080"\n'
        "aad = true\n"
        "[clusters.c.node_types.FrontEnd]\n"
        'durability = "Platinum"\n'
    )
    with pytest.raises(ConfigError, match=r"clusters\.c\.node_types\.FrontEnd\.durability"):
        load_profiles(write_profile)
