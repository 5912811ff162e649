"""Keys that sign and verify transcript checkpoints: HMAC-SHA256 or Ed25519.

HMAC needs the verifier to hold the same secret (which can also forge); Ed25519 lets an
auditor verify with the public key alone.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tui.transcript.errors import TranscriptKeyError
from tui.userfile import KEY, read_user_file

ENV_VAR = "SFPATCH_TRANSCRIPT_KEY"
HMAC_ALG = "hmac-sha256"
ED25519_ALG = "ed25519"
MIN_HMAC_BYTES = 16


class VerifyKey(Protocol):
    """Anything that can check a checkpoint signature."""

    alg: str
    kid: str

    def verify(self, message: bytes, signature: bytes) -> bool: ...


class SigningKey(VerifyKey, Protocol):
    """A key that can also sign checkpoints."""

    def sign(self, message: bytes) -> bytes: ...


@dataclass(frozen=True, repr=False)
class HmacKey:
    """A shared secret; signs and verifies with HMAC-SHA256."""

    secret: bytes
    alg: str = HMAC_ALG

    def __repr__(self) -> str:
        return f"HmacKey(kid={self.kid})"

    @property
    def kid(self) -> str:
        return hashlib.sha256(b"sfpatch-transcript-kid\0" + self.secret).hexdigest()[:16]

    def sign(self, message: bytes) -> bytes:
        return hmac.new(self.secret, message, hashlib.sha256).digest()

    def verify(self, message: bytes, signature: bytes) -> bool:
        return hmac.compare_digest(self.sign(message), signature)


@dataclass(frozen=True, repr=False)
class Ed25519Verifier:
    """An Ed25519 public key; verifies only."""

    public_raw: bytes
    alg: str = ED25519_ALG

    def __repr__(self) -> str:
        return f"Ed25519Verifier(kid={self.kid})"

    @property
    def kid(self) -> str:
        return hashlib.sha256(self.public_raw).hexdigest()[:16]

    def verify(self, message: bytes, signature: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            Ed25519PublicKey.from_public_bytes(self.public_raw).verify(signature, message)
        except InvalidSignature:
            return False
        return True


class Ed25519Signer(Ed25519Verifier):
    """An Ed25519 private key; signs, and verifies with its public half."""

    def __init__(self, private_key: object) -> None:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        public = private_key.public_key()  # type: ignore[attr-defined]
        super().__init__(public.public_bytes(Encoding.Raw, PublicFormat.Raw))
        object.__setattr__(self, "_private", private_key)

    def __repr__(self) -> str:
        return f"Ed25519Signer(kid={self.kid})"

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)  # type: ignore[attr-defined]


def generate_ed25519() -> tuple[bytes, bytes]:
    """A fresh Ed25519 key pair as (private PEM, public PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def load_signing_key(
    path: Path | None = None, env: Mapping[str, str] | None = None
) -> SigningKey | None:
    """The key to sign with: Ed25519 private PEM or HMAC secret file, else the env var."""
    key = _load(path, env, want_private=True)
    return key  # type: ignore[return-value]


def load_verify_key(
    path: Path | None = None, env: Mapping[str, str] | None = None
) -> VerifyKey | None:
    """The key to verify with: Ed25519 public/private PEM, HMAC secret file, or the env var."""
    return _load(path, env, want_private=False)


def add_key_arguments(parser: argparse.ArgumentParser) -> None:
    """The --key / --no-key options that verify, report, replay and observe share."""
    parser.add_argument(
        "--key",
        type=Path,
        default=None,
        metavar="FILE",
        help="HMAC secret file or Ed25519 public key PEM to check the signatures with "
        f"(default: ${ENV_VAR} if set)",
    )
    parser.add_argument(
        "--no-key", action="store_true", help=f"ignore ${ENV_VAR}; check the chain only"
    )


def key_from_arguments(args: argparse.Namespace) -> VerifyKey | None:
    """The verify key the options name: --key, else $SFPATCH_TRANSCRIPT_KEY unless --no-key."""
    return None if args.no_key else load_verify_key(args.key)


def _load(path: Path | None, env: Mapping[str, str] | None, want_private: bool) -> VerifyKey | None:
    if path is None:
        secret = (os.environ if env is None else env).get(ENV_VAR, "")
        return _hmac(secret.encode("utf-8"), f"${ENV_VAR}") if secret else None
    content = read_user_file(Path(path), KEY, TranscriptKeyError)
    if b"-----BEGIN" in content:
        return _pem(content, path, want_private)
    return _hmac(content.strip(), str(path))


def _hmac(secret: bytes, source: str) -> HmacKey:
    if len(secret) < MIN_HMAC_BYTES:
        raise TranscriptKeyError(
            f"HMAC key from {source} is {len(secret)} bytes; use at least {MIN_HMAC_BYTES}"
        )
    return HmacKey(secret)


def _pem(content: bytes, path: Path, want_private: bool) -> VerifyKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    if b"PRIVATE KEY" in content:
        try:
            key = serialization.load_pem_private_key(content, password=None)
        except (ValueError, TypeError) as exc:
            raise TranscriptKeyError(f"{path}: not a usable private key ({exc})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise TranscriptKeyError(f"{path}: only Ed25519 private keys are supported")
        return Ed25519Signer(key)
    if want_private:
        raise TranscriptKeyError(f"{path} is a public key; signing needs the private key")
    try:
        public = serialization.load_pem_public_key(content)
    except ValueError as exc:
        raise TranscriptKeyError(f"{path}: not a usable public key ({exc})") from None
    if not isinstance(public, Ed25519PublicKey):
        raise TranscriptKeyError(f"{path}: only Ed25519 public keys are supported")
    return Ed25519Verifier(public.public_bytes(Encoding.Raw, PublicFormat.Raw))
