"""The deployment's Ed25519 key: it signs reports and evidence-log checkpoints, so that
anyone holding only the public key (the CNIL, a court expert, a lab's lawyer) can check
them, and nobody without the private key can forge one.

The private key lives in canary.toml (`deployment.signing_key`, 32 raw bytes in base64),
like the deployment's other secrets. The fingerprint is the sha256 of the public key's
DER SubjectPublicKeyInfo, so a third party recomputes it with standard tools:
`openssl pkey -pubin -in canary-public.pem -outform DER | sha256sum`.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import pathlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class SigningKeyError(ValueError):
    """A signing or public key that cannot be read."""


def new_private_key_text() -> str:
    """A fresh private key as canary.toml holds it."""
    return base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()


def load_private_key(text: str) -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PrivateKey.from_private_bytes(raw)
    except (binascii.Error, ValueError):
        raise SigningKeyError("deployment.signing_key in canary.toml is not an Ed25519 key (32 bytes, base64)") from None


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def fingerprint(key: Ed25519PublicKey) -> str:
    """sha256 of the DER SubjectPublicKeyInfo, hex: what `openssl pkey ... -outform DER | sha256sum` prints."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def load_public_key(source: str) -> Ed25519PublicKey:
    """A public key from a PEM file, PEM text, or the base64 of its 32 raw bytes."""
    text = source
    path = pathlib.Path(source)
    if "-----BEGIN" not in source and len(source) < 4096:
        try:
            if path.is_file():
                text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise SigningKeyError(f"{source}: cannot read the public key ({error})") from None
    try:
        if "-----BEGIN" in text:
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip(), validate=True))
    except (binascii.Error, ValueError, TypeError):
        raise SigningKeyError(f"{source}: not an Ed25519 public key (PEM, as `canary evidence public-key` "
                        "prints it)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{source}: not an Ed25519 public key")
    return key


def sign(key: Ed25519PrivateKey, data: bytes) -> str:
    """The signature of `data`, base64."""
    return base64.b64encode(key.sign(data)).decode()


def verify(key: Ed25519PublicKey, signature: str, data: bytes) -> bool:
    try:
        key.verify(base64.b64decode(signature, validate=True), data)
        return True
    except (InvalidSignature, binascii.Error, ValueError):
        return False
