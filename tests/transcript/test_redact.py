"""Secrets never reach a transcript, wherever a caller puts them."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tui.transcript.reader import verify_file
from tui.transcript.redact import REDACTED, Redactor, clean, is_secret_key, mask_text
from tui.transcript.writer import TranscriptWriter

from .conftest import header

KEY_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7secretkeymaterial0123456789abcdef"
PROFILE = f'''
[cluster]
name = "contoso-prod"
endpoint = "https://contoso.westeurope.cloudapp.azure.com:19080"
server_thumbprint = "AB12CD34"

[auth]
client_pem = """-----BEGIN CERTIFICATE-----
MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJRTESMBAGA1UEChMJQmFsdGltb3Jl
-----END CERTIFICATE-----
-----BEGIN PRIVATE KEY-----
{KEY_BODY}
-----END PRIVATE KEY-----"""
pfx_password = "Hunter2-pfx-pass"
client_secret = "aad-client-secret-value-42"
access_token = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQifQ.c2lnbmF0dXJlLXZhbHVl"

[docker]
tls_key = """-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIDockerEngineKeyMaterial0123456789
-----END EC PRIVATE KEY-----"""
'''
SECRETS = (
    KEY_BODY,
    "MIIDdzCCAl",
    "Hunter2-pfx-pass",
    "aad-client-secret-value-42",
    "eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQifQ",
    "DockerEngineKeyMaterial",
    "BEGIN PRIVATE KEY",
)


def test_a_profiles_secrets_never_appear_in_the_file(tmp_path: Path) -> None:
    profile = tomllib.loads(PROFILE)
    auth = profile["auth"]
    writer = TranscriptWriter.create(header(extra={"profile": profile}), tmp_path)
    writer.intent("op", "connect", **profile["auth"])
    writer.result("op", False, f"TLS handshake failed using {auth['client_pem']}")
    writer.note(f"token was {auth['access_token']} and pfx pass {auth['pfx_password']}")
    writer.append("lease", data={"nested": [{"Authorization": "Bearer abc.def"}, profile]})
    writer.append(
        "warning", node=auth["client_pem"], data={"message": profile["docker"]["tls_key"]}
    )
    writer.close()
    content = writer.path.read_text(encoding="utf-8")
    for secret in SECRETS:
        assert secret not in content, secret
    assert verify_file(writer.path).exit_code == 0
    assert "contoso.westeurope.cloudapp.azure.com" in content and "AB12CD34" in content
    assert REDACTED in content and "[redacted PEM]" in content


def test_secret_key_names() -> None:
    for key in (
        "token",
        "AccessToken",
        "password",
        "client_secret",
        "private_key",
        "key_pem",
        "client_pem",
        "pfx",
        "Authorization",
        "sas_token",
    ):
        assert is_secret_key(key), key
    for key in ("action", "intent", "node", "server_cert_sha256", "thumbprint", "key_kid"):
        assert not is_secret_key(key), key


def test_masking_inside_free_text_and_values() -> None:
    assert mask_text("see https://a.blob/c?sv=1&sig=abc%3D&se=2") == (
        "see https://a.blob/c?sv=1&sig=[redacted]&se=2"
    )
    assert "BEGIN" not in mask_text("x -----BEGIN RSA PRIVATE KEY-----\nabc (cut short")
    assert clean({"password": "", "n": None, "t": (1, 2.5)}) == {
        "password": "",
        "n": None,
        "t": [1, "2.5"],
    }


def test_secrets_given_up_front_are_masked_in_free_text(tmp_path: Path) -> None:
    writer = TranscriptWriter.create(header(), tmp_path, secrets=["s3cr3t-value"])
    writer.note("I typed s3cr3t-value into the wrong box")
    writer.add_secrets("another-one")
    writer.note("and another-one too")
    writer.close()
    content = writer.path.read_text(encoding="utf-8")
    assert "s3cr3t-value" not in content and "another-one" not in content


def test_values_after_secret_names_in_free_text_are_masked_names_kept() -> None:
    cases = {
        "password=hunter2 and Bearer opaque-abc": "password=[redacted] and Bearer [redacted]",
        "pwd: abc123 ok": "pwd: [redacted] ok",
        "secret=xyz token=t0k": "secret=[redacted] token=[redacted]",
        "client_secret s3cr3tv then": "client_secret [redacted] then",
        "Authorization: Bearer opaque123": "Authorization: Bearer [redacted]",
        '{"password": "p w", "node": "n1"}': '{"password": "[redacted]", "node": "n1"}',
        "AccountName=acct;AccountKey=abc+/==;EndpointSuffix=core": (
            "AccountName=acct;AccountKey=[redacted];EndpointSuffix=core"
        ),
        "url: https://x?password=abc": "url: https://x?password=[redacted]",
        # ordinary prose and non-secret pairs stay as they are
        "token was renewed, node=_nt1_0 upgraded": "token was renewed, node=_nt1_0 upgraded",
    }
    for text, expected in cases.items():
        assert mask_text(text) == expected, text


def test_a_note_with_an_inline_password_keeps_only_the_name(tmp_path: Path) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)
    writer.note("password=hunter2 and Bearer eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2lnbmF0dXJl")
    writer.close()
    content = writer.path.read_text(encoding="utf-8")
    assert "hunter2" not in content and "eyJhdWQiOiJ4In0" not in content
    assert "password=[redacted]" in content


# ------------------------------------------------------------------ a table of strings

# (text, what must not survive): each secret as people paste it, with or without a key.
SECRET_CASES = [
    ("password=hunter2 then hunter2 again", ["hunter2"]),
    ("pass=hunter22 ok", ["hunter22"]),
    ("pw: Tr0ub4dor&3 is it", ["Tr0ub4dor"]),
    ("db_pass: s3cretive, user sa", ["s3cretive"]),
    ("https://deploy:Zx9pQ2mK@registry.contoso.com/v2/", ["Zx9pQ2mK"]),
    ("git clone https://ghp_16C7e42F292c6912E7710c838347Ae178B4a@github.com/x/y", ["ghp_16C7"]),
    ("use 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 now", ["wWPw5k4a"]),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN", ["11ABCDEFG"]),
    ("slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", ["AbCdEfGh"]),
    ("xoxp-1234-5678-9012-QwErTy0987", ["QwErTy0987"]),
    ("jwt eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo", ["ZRrHA1JJ"]),
    ("line u8b6sQy5fX+0ZcR3Wv9kL2mN4pQ7tH1jD6gA8eC0rS5yV3xB9nM2kF7hJ4lP1qW0", ["u8b6sQy5"]),
    (
        "key 9Fq3kLm2Xz8pQr4sTu7vWx1yZa5bCd6eFg0hIj2kLm3nOp4qRs5tUv6w"
        "Xy7zAb8cDe9fGh0iJk1lMn2oPq3rS==",
        ["9Fq3kLm2"],
    ),
    ("MHcCAQEEIDockerEngineKeyMaterial0123456789aBcDeFgHiJkLmNoPqRsTuVw", ["DockerEngine"]),
    (
        "----- BEGIN PRIVATE KEY -----\n MIIEvQIBADANBg kqhkiG9w0BAQEF \n"
        "----- END PRIVATE KEY -----",
        ["kqhkiG9w", "BEGIN"],
    ),
    (
        "-----begin rsa private key-----\n"
        "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n"
        "-----end rsa private key-----",
        ["KLs1Pt8Qu", "begin rsa"],
    ),
    (
        "-----BEGIN  RSA PRIVATE KEY-----\r\n\tMIIBOgIBAAJBAKj34GkxFhD90vcNLYLI\r\n"
        "-----END RSA PRIVATE KEY-----",
        ["AKj34Gkx"],
    ),
    ("run with --password hunter2x please", ["hunter2x"]),
    ("aws AKIAIOSFODNN7EXAMPLE here", ["AKIAIOSFODNN7EXAMPLE"]),
    ("client secret abc8Q~Zx9.pQ2mK-Tr0ub4dor3Xq1Wv5Ls7Yh8Jn", ["Zx9.pQ2mK"]),
    ('{"pass": "hunter2-json"}', ["hunter2-json"]),
    ("PASSWORD: CorrectHorse9 and later CorrectHorse9", ["CorrectHorse9"]),
]
PLAIN_CASES = [
    "_FrontEnd_0",
    "_Legacy_2 is Down",
    "10.0.17763.6189",
    "patching _Legacy_0 to 10.0.14393.1944 will stop 3 containers built on 10.0.14393.1770",
    "server thumbprint 3F2A9C0B1D4E5F60718293A4B5C6D7E8F9012345",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB",
    "contoso/web:4.1 and mcr.microsoft.com/windows/servercore:ltsc2019-amd64",
    "2025-01-14T09:30:00.123Z",
    "session 0123456789abcdef0123456789abcdef",
    "8f3c2a1e-4b5d-4c6e-9f70-112233445566",
    "/subscriptions/8f3c2a1e-4b5d-4c6e-9f70-112233445566/resourceGroups/contoso-prod-rg/providers/Microsoft.Compute/virtualMachineScaleSets/Legacy/virtualMachines/2",
    "token was renewed, node=_nt1_0 upgraded",
    "gate containers-survive-patch passed: no container on it is predicted to stop",
    "the lease passed to alice@jumpbox-1 at 09:30",
    "KB5041578 installed; Reboot required: True",
    "https://contoso.westeurope.cloudapp.azure.com:19080/Nodes?api-version=6.0",
    "tcp://127.2.0.7:2376",
    "/home/alice/.local/share/sfpatch/transcripts/contoso-prod/20250114T093000Z-0123456789abcdef0123456789abcdef.jsonl",
    "Windows Server 2019 Datacenter (OS Build 17763.6189)",
    "the password policy is strong; pass the node over",
    "C:/ProgramData/SF/Log/Traces/fabric_traces_7.2.457.9590_133700000000000001_1.etl",
    "Compute/virtualMachineScaleSets/Legacy/virtualMachines/12 in contoso-prod-rg",
    "Cluster health is Ok: 8 nodes, 3 applications (fabric:/Storefront)",
    "contoso/web@sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
    "uptime 3 days; pass rate 99%; sig quality fine",
]


def test_the_table_has_thirty_strings_half_of_them_plain() -> None:
    assert len(SECRET_CASES) + len(PLAIN_CASES) >= 30
    assert len(PLAIN_CASES) >= len(SECRET_CASES)


@pytest.mark.parametrize(("text", "secrets"), SECRET_CASES)
def test_secrets_in_text_are_masked(text: str, secrets: list[str]) -> None:
    masked = Redactor().clean(text)
    for secret in secrets:
        assert secret not in masked, masked
    assert "redacted" in masked


@pytest.mark.parametrize("text", PLAIN_CASES)
def test_ordinary_text_passes_unchanged(text: str) -> None:
    assert Redactor().clean(text) == text


def test_the_table_written_and_read_back_holds_no_secret(tmp_path: Path) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)
    for text, _ in SECRET_CASES:
        writer.note(text)
    for text in PLAIN_CASES:
        writer.note(text, node="_FrontEnd_0")
    writer.close()
    content = writer.path.read_text(encoding="utf-8")
    for _, secrets in SECRET_CASES:
        for secret in secrets:
            assert secret not in content, secret
    records = [json.loads(line) for line in content.splitlines()]
    plain = [r["data"]["text"] for r in records if r["kind"] == "note" and r["node"]]
    assert plain == PLAIN_CASES
    assert verify_file(writer.path).exit_code == 0


def test_a_value_masked_after_its_key_is_masked_everywhere_later(tmp_path: Path) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)
    # The node field comes before the data: it is masked too, in the same record.
    writer.append("warning", node="deploy-Gr8sekret9", data={"message": "pw: Gr8sekret9"})
    writer.note("then pass=hunter2x was typed, and hunter2x again")
    writer.note("hunter2x in a later record, Gr8sekret9 too, without any key")
    writer.intent("op", "connect", client_secret="s3cr3t-under-a-key")
    writer.result("op", False, "login with s3cr3t-under-a-key failed")
    writer.close()
    content = writer.path.read_text(encoding="utf-8")
    for secret in ("Gr8sekret9", "hunter2x", "s3cr3t-under-a-key"):
        assert secret not in content, secret
    assert "pass=[redacted]" in content and '"node":"deploy-[redacted]"' in content


def test_a_signed_checkpoint_is_written_as_signed(tmp_path: Path) -> None:
    """Signatures are base64 of the length of key material: the redactor must not touch them."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from tui.transcript.keys import Ed25519Signer, generate_ed25519

    key = Ed25519Signer(load_pem_private_key(generate_ed25519()[0], None))
    writer = TranscriptWriter.create(header(), tmp_path, key=key, checkpoint_every=2)
    for i in range(5):
        writer.note(f"note {i}")
    writer.close()
    content = writer.path.read_text(encoding="utf-8")
    assert "redacted" not in content
    assert verify_file(writer.path, key).exit_code == 0
