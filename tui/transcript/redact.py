"""The one choke point every value passes before it reaches a transcript: secrets out, JSON-safe in.

Keys that name a secret have their value replaced; PEM blocks, JSON Web Tokens and base64
certificate blobs are masked wherever they appear in a string, and so is the value after a
secret-looking name in free text (`password=..`, `pwd: ..`, `AccountKey=..;`), the name kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from tui.transcript.schema import format_ts

REDACTED = "[redacted]"
_MIN_SECRET = 6  # shorter values would mask ordinary words

# Substrings of a normalised key name (lower case, no separators) that mark a secret.
_SECRET_KEY_PARTS = (
    "token",
    "password",
    "passwd",
    "passphrase",
    "secret",
    "privatekey",
    "keypem",
    "clientpem",
    "certpem",
    "pempath",
    "pfx",
    "p12",
    "authorization",
    "cookie",
    "apikey",
    "connectionstring",
    "hmackey",
    "signingkey",
    "accountkey",
    "accesskey",
)
# Names too short or too common to mark a mapping key, but a secret when followed by a value.
_FREE_TEXT_NAMES = frozenset({"pwd", "sig"})
# Authorization schemes: the word stays visible, the credential after it is masked.
_SCHEMES = frozenset({"bearer", "basic"})
_PEM = re.compile(r"-----BEGIN [A-Z0-9 ]+-----.*?(?:-----END [A-Z0-9 ]+-----|\Z)", re.DOTALL)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
_SAS_SIG = re.compile(r"(?i)([?&]sig=)[^&\s\"']+")
# DER certificates and keys in base64 start with MII (a SEQUENCE with a two-byte length).
_DER_B64 = re.compile(r"\bMII[A-Za-z0-9+/]{60,}={0,2}")
# name, optional closing quote (JSON), separator, optional auth scheme, value. A value already
# masked by an earlier pass is left alone.
_NAMED_VALUE = re.compile(
    r"""(?<![\w.-])(?P<name>[A-Za-z][\w.-]*)["']?(?P<sep>\s*[=:]\s*|\s+)"""
    r"""(?P<scheme>(?i:bearer|basic)\s+)?(?!\[redacted)"""
    r"""(?P<value>"[^"]*"|'[^']*'|[^\s;&,"']+)"""
)


def is_secret_key(key: str) -> bool:
    """True when a mapping key names a secret (token, password, private key, ...)."""
    norm = re.sub(r"[^a-z0-9]", "", key.lower())
    return any(part in norm for part in _SECRET_KEY_PARTS)


def mask_text(text: str) -> str:
    """Mask PEM blocks, JSON Web Tokens, SAS signatures and base64 certificates in a string."""
    if "-----BEGIN" in text:
        text = _PEM.sub("[redacted PEM]", text)
    if "eyJ" in text:
        text = _JWT.sub("[redacted token]", text)
    if "sig=" in text.lower():
        text = _SAS_SIG.sub(r"\1[redacted]", text)
    if "MII" in text:
        text = _DER_B64.sub("[redacted certificate]", text)
    return _mask_named_values(text)


def _names_secret(name: str, sep: str) -> bool:
    lowered = name.lower()
    if lowered in _SCHEMES:
        return True
    if not sep.strip():
        # "client_secret abc" but not "token was": a bare space only follows compound names.
        return ("_" in name or "-" in name) and is_secret_key(name)
    return lowered in _FREE_TEXT_NAMES or is_secret_key(name)


def _mask_named_values(text: str) -> str:
    """Mask the value after each secret-looking name; a name that is not a secret consumes only
    itself, so a secret later in its would-be value is still found."""
    out: list[str] = []
    pos = 0
    while match := _NAMED_VALUE.search(text, pos):
        if not _names_secret(match["name"], match["sep"]):
            out.append(text[pos : match.end("name")])
            pos = match.end("name")
            continue
        start, end = match.span("value")
        if match["value"][0] in "\"'" and len(match["value"]) > 2:
            start, end = start + 1, end - 1
        out.append(text[pos:start] + REDACTED)
        pos = end
    out.append(text[pos:])
    return "".join(out)


class Redactor:
    """Cleans values for the transcript and remembers every secret it has seen under a secret key,
    so that the same secret is masked later even inside free text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._known: set[str] = set()
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        """Mask these exact strings wherever they appear from now on."""
        self._known.update(s for s in secrets if isinstance(s, str) and len(s) >= _MIN_SECRET)

    def clean(self, value: Any) -> Any:
        """A JSON-safe copy of value with secrets removed; floats become strings, tuples lists."""
        if value is None or isinstance(value, bool | int):
            return value
        if isinstance(value, str):
            return self._mask(value)
        if isinstance(value, float):
            return repr(value)
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for key, item in value.items():
                name = str(key)
                if is_secret_key(name) and item:
                    self._remember(item)
                    out[name] = REDACTED
                else:
                    out[name] = self.clean(item)
            return out
        if isinstance(value, list | tuple | set | frozenset):
            items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
            return [self.clean(item) for item in items]
        if isinstance(value, bytes | bytearray):
            return f"[{len(value)} bytes]"
        if isinstance(value, datetime):
            return format_ts(value)
        return self._mask(str(value))

    def _remember(self, value: Any) -> None:
        if isinstance(value, str):
            self.add(value, *(line.strip() for line in value.splitlines()))
        elif isinstance(value, Mapping):
            for item in value.values():
                self._remember(item)
        elif isinstance(value, list | tuple):
            for item in value:
                self._remember(item)

    def _mask(self, text: str) -> str:
        text = mask_text(text)
        for secret in sorted(self._known, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


def clean(value: Any) -> Any:
    """clean() of a fresh Redactor: structure-based redaction only."""
    return Redactor().clean(value)
