"""A self-signed certificate for the SMTP listener's STARTTLS, made by `canary init`.

Ordinary mail servers offer STARTTLS (Debian's Postfix with its snakeoil certificate):
one that does not stands out. Senders do not check an MX certificate, so a self-signed
one is what most servers present; the operator may replace it with their own.
"""
from __future__ import annotations

import datetime
import os
import pathlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def write_self_signed(cert_path: pathlib.Path, key_path: pathlib.Path, hostname: str,
                      days: int = 3650) -> tuple[pathlib.Path, pathlib.Path]:
    """Write a key (mode 0600) and a self-signed certificate for `hostname`.

    An ECDSA P-256 key: common on mail servers today, and made in a millisecond (RSA 2048
    takes ~100 ms, paid by every `canary init` in the tests).
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
            .sign(key, hashes.SHA256()))
    key_bytes = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption())
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_bytes)
    pathlib.Path(cert_path).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return pathlib.Path(cert_path), pathlib.Path(key_path)
