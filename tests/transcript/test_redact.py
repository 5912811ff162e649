"""Secrets never reach a transcript, wherever a caller puts them."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tui.transcript.reader import verify_file
from tui.transcript.redact import REDACTED, clean, is_secret_key, mask_text
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
