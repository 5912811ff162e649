"""The one choke point every value passes before it reaches a transcript: secrets out, JSON-safe in.

Keys that name a secret have their value replaced; PEM blocks, JSON Web Tokens and base64
certificate blobs are masked wherever they appear in a string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tui.transcript.schema import format_ts

REDACTED = "[redacted]"

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
)
_PEM = re.compile(r"-----BEGIN [A-Z0-9 ]+-----.*?(?:-----END [A-Z0-9 ]+-----|\Z)", re.DOTALL)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
_SAS_SIG = re.compile(r"(?i)([?&]sig=)[^&\s\"']+")
# DER certificates and keys in base64 start with MII (a SEQUENCE with a two-byte length).
_DER_B64 = re.compile(r"\bMII[A-Za-z0-9+/]{60,}={0,2}")


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
    return text


def clean(value: Any) -> Any:
    """A JSON-safe copy of value with secrets removed; floats become strings, tuples lists."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key)
            out[name] = REDACTED if is_secret_key(name) and item else clean(item)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [clean(item) for item in items]
    if isinstance(value, bytes | bytearray):
        return f"[{len(value)} bytes]"
    if isinstance(value, datetime):
        return format_ts(value)
    return mask_text(str(value))
