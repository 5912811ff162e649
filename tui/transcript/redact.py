"""The one choke point every value passes before it reaches a transcript: secrets out, JSON-safe in.

Keys that name a secret have their value replaced. In any string, these are masked: PEM blocks
(any spacing or case), JSON Web Tokens, tokens with a well-known prefix (GitHub, Slack, GitLab,
AWS, Entra ID client secrets, ...), the password of a URL (`https://user:pw@host`), SAS
signatures, base64 key material (DER bodies, key lines, padded keys), and the value after a
secret-looking name (`password=..`, `pass=..`, `pw: ..`, `--password ..`, `AccountKey=..;`),
the name kept. A Redactor learns every value it masked, and masks it wherever it appears again:
in the rest of that record and in every later one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
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
# Words too short or too common to mark a mapping key ("passed", "bypass"), but a secret when
# they are a whole name, or its last word (`db_pass`), followed by a value.
_FREE_TEXT_NAMES = frozenset({"pwd", "pw", "pass", "sig"})
# Authorization schemes: the word stays visible, the credential after it is masked.
_SCHEMES = frozenset({"bearer", "basic"})

_PEM = re.compile(
    r"-{3,}[ \t]*BEGIN\b[^\n-]*-{3,}.*?(?:-{3,}[ \t]*END\b[^\n-]*-{3,}|\Z)",
    re.DOTALL | re.IGNORECASE,
)
# The password of a URL's userinfo; the scheme, user and host stay.
_URL_PASSWORD = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s:/?#@]*:(?P<secret>[^\s/?#@]+)@")
_PREFIXED_TOKEN = re.compile(
    r"\b(?:"
    r"gh[pousr]_[A-Za-z0-9]{30,}"  # GitHub tokens
    r"|github_pat_[A-Za-z0-9_]{30,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
    r"|xapp-[A-Za-z0-9-]{10,}"
    r"|glpat-[A-Za-z0-9_-]{20,}"  # GitLab
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}"  # AWS access key ids
    r"|AIza[0-9A-Za-z_-]{35}"  # Google API keys
    r"|npm_[A-Za-z0-9]{36}"
    r"|pypi-[A-Za-z0-9_-]{50,}"
    r"|[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}"  # Entra ID (AAD) client secrets
    r")(?![A-Za-z0-9_~-])"
)
# A JSON Web Token, or any base64 of a JSON object ("eyJ" is `{"`), with its later parts.
_JWT = re.compile(r"\beyJ[A-Za-z0-9_+/-]{10,}={0,2}(?:\.[A-Za-z0-9_+/=-]+)*")
_SAS_SIG = re.compile(r"(?i)(?P<name>[?&]sig=)(?P<secret>[^&\s\"']+)")
# A run of base64 long enough to be key material; `_is_key_material` decides.
_BASE64_RUN = re.compile(
    r"(?<![A-Za-z0-9+/_.-])[A-Za-z0-9+/]{40,}={0,2}(?![A-Za-z0-9+/=_-])(?!\.\w)"
)
_HEX = re.compile(r"[0-9a-fA-F]*")
# A DER SEQUENCE (0x30) in base64 starts with M, then a letter from its length byte.
_DER_PREFIXES = frozenset(f"M{c}" for c in "ABCDEFGHI")
# name (maybe a command-line flag), optional closing quote (JSON), separator, optional auth
# scheme, value. A value already masked by an earlier pass is left alone.
_NAMED_VALUE = re.compile(
    r"""(?<![\w.-])(?P<flag>--?)?(?P<name>[A-Za-z][\w.-]*)["']?(?P<sep>\s*[=:]\s*|\s+)"""
    r"""(?P<scheme>(?i:bearer|basic)\s+)?(?!\[redacted)"""
    r"""(?P<value>"[^"]*"|'[^']*'|[^\s;&,"']+)"""
)


def is_secret_key(key: str) -> bool:
    """True when a mapping key names a secret (token, password, private key, ...)."""
    norm = re.sub(r"[^a-z0-9]", "", key.lower())
    return any(part in norm for part in _SECRET_KEY_PARTS)


def mask_text(text: str) -> str:
    """Every secret pattern in a string masked (see the module docstring)."""
    return _scan(text, [])


def _scan(text: str, found: list[str]) -> str:
    """`text` with every secret pattern masked; each value masked is appended to `found`."""
    if "BEGIN" in text.upper():
        text = _PEM.sub(_whole("[redacted PEM]", found), text)
    if "://" in text:
        text = _URL_PASSWORD.sub(_group("secret", found), text)
    if len(text) >= 20:
        text = _PREFIXED_TOKEN.sub(_whole("[redacted token]", found), text)
    if "eyJ" in text:
        text = _JWT.sub(_whole("[redacted token]", found), text)
    if "sig=" in text.lower():
        text = _SAS_SIG.sub(_group("secret", found), text)
    if len(text) >= 40:
        text = _BASE64_RUN.sub(_key_material(found), text)
    return _mask_named_values(text, found)


def _whole(label: str, found: list[str]) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        found.append(match[0])
        return label

    return replace


def _group(group: str, found: list[str]) -> Callable[[re.Match[str]], str]:
    """Mask one group of the match, keep the rest (the URL around a password)."""

    def replace(match: re.Match[str]) -> str:
        found.append(match[group])
        start, end = match.start(group) - match.start(), match.end(group) - match.start()
        return match[0][:start] + REDACTED + match[0][end:]

    return replace


def _key_material(found: list[str]) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        if not _is_key_material(match[0]):
            return match[0]
        found.append(match[0])
        return "[redacted key]"

    return replace


def _is_key_material(run: str) -> bool:
    """Whether a base64 run looks random (a key or certificate body), not a hex digest, a
    thumbprint or a path of words."""
    body = run.rstrip("=")
    if _HEX.fullmatch(body):
        return False  # thumbprints, digests, container and session ids
    if not (any(c.isupper() for c in body) and any(c.islower() for c in body)):
        return False
    digits = sum(c.isdigit() for c in body)
    if not digits:
        return False
    if "/" in body and all(
        s.isalpha() or s.isdigit() or _HEX.fullmatch(s) for s in body.split("/")
    ):
        return False  # a path: Microsoft.Compute/virtualMachineScaleSets/Legacy/...
    return digits >= 4 or run.endswith("=") or body[:2] in _DER_PREFIXES


def _names_secret(name: str, sep: str, flag: str | None) -> bool:
    lowered = name.lower()
    if lowered in _SCHEMES:
        return True
    words = re.split(r"[_.-]", lowered)
    if not sep.strip():
        # "client_secret abc", "--password abc", but not "token was" nor "pass the node":
        # a bare space only follows compound names and command-line flags.
        compound = flag is not None or "_" in name or "-" in name
        return compound and (is_secret_key(name) or words[-1] in _FREE_TEXT_NAMES)
    return words[-1] in _FREE_TEXT_NAMES or is_secret_key(name)


def _mask_named_values(text: str, found: list[str]) -> str:
    """Mask the value after each secret-looking name; a name that is not a secret consumes only
    itself, so a secret later in its would-be value is still found."""
    out: list[str] = []
    pos = 0
    while match := _NAMED_VALUE.search(text, pos):
        if not _names_secret(match["name"], match["sep"], match["flag"]):
            out.append(text[pos : match.end("name")])
            pos = match.end("name")
            continue
        start, end = match.span("value")
        if match["value"][0] in "\"'" and len(match["value"]) > 2:
            start, end = start + 1, end - 1
        found.append(text[start:end])
        out.append(text[pos:start] + REDACTED)
        pos = end
    out.append(text[pos:])
    return "".join(out)


class Redactor:
    """Cleans values for the transcript and remembers every secret it masked (under a secret
    key, or found in text), so that the same secret is masked wherever it appears again."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._known: set[str] = set()
        self._longest_first: list[str] = []
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        """Mask these exact strings (and each line of a multi-line one) from now on."""
        pieces = set()
        for secret in secrets:
            if isinstance(secret, str):
                pieces.add(secret.strip())
                pieces.update(line.strip() for line in secret.splitlines())
        new = {p for p in pieces if len(p) >= _MIN_SECRET} - self._known
        if new:
            self._known |= new
            self._longest_first = sorted(self._known, key=len, reverse=True)

    def clean(self, value: Any) -> Any:
        """A JSON-safe copy of value with secrets removed; floats become strings, tuples lists.

        A secret found anywhere in `value` is masked everywhere in it, earlier parts too."""
        found: list[str] = []
        out = self._clean(value, found)
        before = len(self._known)
        self.add(*found)
        return self._mask_known(out) if len(self._known) > before else out

    def _clean(self, value: Any, found: list[str]) -> Any:
        if value is None or isinstance(value, bool | int):
            return value
        if isinstance(value, str):
            return self._mask(value, found)
        if isinstance(value, float):
            return repr(value)
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for key, item in value.items():
                name = str(key)
                if is_secret_key(name) and item:
                    found.extend(_strings(item))
                    out[name] = REDACTED
                else:
                    out[name] = self._clean(item, found)
            return out
        if isinstance(value, list | tuple | set | frozenset):
            items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
            return [self._clean(item, found) for item in items]
        if isinstance(value, bytes | bytearray):
            return f"[{len(value)} bytes]"
        if isinstance(value, datetime):
            return format_ts(value)
        return self._mask(str(value), found)

    def _mask(self, text: str, found: list[str]) -> str:
        return self._replace_known(_scan(text, found))

    def _replace_known(self, text: str) -> str:
        for secret in self._longest_first:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def _mask_known(self, value: Any) -> Any:
        """A cleaned value with the known secrets masked again (after learning new ones)."""
        if isinstance(value, str):
            return self._replace_known(value)
        if isinstance(value, dict):
            return {key: self._mask_known(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._mask_known(item) for item in value]
        return value


def _strings(value: Any) -> list[str]:
    """Every string inside a value held under a secret key."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    return []


def clean(value: Any) -> Any:
    """clean() of a fresh Redactor: structure-based redaction only."""
    return Redactor().clean(value)
