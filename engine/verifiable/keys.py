"""Ed25519 signing keys: PEM PKCS#8 files, ``key_id`` = hex SHA-256 of the raw public key."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from engine.errors import ConfigurationError


def generate(path: Path) -> Ed25519PrivateKey:
    """Write a new key to ``path`` (PEM, PKCS#8, unencrypted, mode 0600); refuses to overwrite."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    return key


def load_private(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 key in a PEM PKCS#8 file; ConfigurationError otherwise."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ConfigurationError(f"signing key {path}: not a readable PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"signing key {path}: not an Ed25519 key")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file (a public key, or a private key's public half)."""
    data = path.read_bytes()
    try:
        return public_from_pem(data.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        pass
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"{path}: not a PEM Ed25519 key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 key")
    return key.public_key()


def public_from_pem(pem: str) -> Ed25519PublicKey:
    """The Ed25519 public key in PEM text; ValueError otherwise."""
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError("not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def public_pem(key: Ed25519PublicKey) -> str:
    """PEM SubjectPublicKeyInfo text."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def key_id(key: Ed25519PublicKey) -> str:
    """Hex SHA-256 of the raw 32-byte public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def signature_holds(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` is ``key``'s over ``message``."""
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
