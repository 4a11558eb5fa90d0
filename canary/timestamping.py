"""RFC 3161 trusted timestamps: a timestamping authority (TSA) signs "these bytes existed at
this time", so that a report or a checkpoint of the evidence log cannot be back-dated by
whoever holds the deployment's key.

Requests are built and responses parsed by `rfc3161-client` (Trail of Bits); the whole
TimeStampResp (DER) is kept, which `openssl ts -verify -data FILE -in RESPONSE -CAfile CA`
checks with no canary code at all.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import pathlib
import urllib.error
import urllib.request

import cryptography.x509
from rfc3161_client import (HashAlgorithm, PKIStatus, TimestampRequestBuilder, VerificationError, VerifierBuilder,
                            decode_timestamp_response)

from .clock import format_time

MAX_RESPONSE_BYTES = 1 << 20  # a token with its certificate chain is a few KB


class TimestampError(ValueError):
    """No token could be had from the TSA, or a token does not stamp what it should."""


@dataclasses.dataclass
class Stamp:
    response: bytes          # DER TimeStampResp
    time: str                # genTime, UTC, as the store writes times
    serial: int
    tsa: str                 # the TSA's name as the token gives it, or its URL

    def as_dict(self) -> dict:
        return {"time": self.time, "serial": self.serial, "tsa": self.tsa,
                "response": base64.b64encode(self.response).decode()}


def stamp(settings, data: bytes) -> Stamp | None:
    """A token over sha256(data) from the configured TSA; None when none is configured."""
    config = settings["timestamping"]
    if not config["url"]:
        return None
    return request_timestamp(config["url"], data, float(config["timeout_seconds"]))


def request_timestamp(url: str, data: bytes, timeout: float = 10) -> Stamp:
    request = TimestampRequestBuilder().data(data).hash_algorithm(HashAlgorithm.SHA256).build()
    http = urllib.request.Request(url, data=request.as_bytes(), method="POST",
                                  headers={"Content-Type": "application/timestamp-query"})
    try:
        with urllib.request.urlopen(http, timeout=timeout) as answer:
            body = answer.read(MAX_RESPONSE_BYTES + 1)
    except (urllib.error.URLError, OSError) as error:
        raise TimestampError(f"timestamping authority {url}: no answer ({error}); set timestamping.url to a "
                             "working TSA, or pass --no-timestamp") from None
    if len(body) > MAX_RESPONSE_BYTES:
        raise TimestampError(f"timestamping authority {url}: answer larger than {MAX_RESPONSE_BYTES} bytes")
    result = read_stamp(body, data, source=url)
    if result_nonce(body) != request.nonce:
        raise TimestampError(f"timestamping authority {url}: the token answers another request (nonce)")
    return result


def result_nonce(response: bytes) -> int | None:
    return decode_timestamp_response(response).tst_info.nonce


def read_stamp(response: bytes, data: bytes, source: str = "the token", ca_file: str | None = None) -> Stamp:
    """The token's time, once it is known to stamp sha256(data); with ca_file, its signature and
    certificate chain are checked against that CA too."""
    try:
        parsed = decode_timestamp_response(response)
    except ValueError as error:
        raise TimestampError(f"{source}: not an RFC 3161 timestamp response ({error})") from None
    if PKIStatus(parsed.status) not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise TimestampError(f"{source}: the TSA refused the request (status {parsed.status}: "
                             f"{' '.join(parsed.status_string) or 'no reason given'})")
    imprint = parsed.tst_info.message_imprint
    if imprint.hash_algorithm.dotted_string != "2.16.840.1.101.3.4.2.1" or \
            imprint.message != hashlib.sha256(data).digest():
        raise TimestampError(f"{source}: the token stamps other bytes than these")
    if ca_file:
        try:
            ca = cryptography.x509.load_pem_x509_certificate(pathlib.Path(ca_file).read_bytes())
            VerifierBuilder(roots=[ca]).build().verify_message(parsed, data)
        except (VerificationError, ValueError, OSError) as error:
            raise TimestampError(f"{source}: the token's signature does not verify against {ca_file} "
                                 f"({error})") from None
    generated = parsed.tst_info.gen_time
    if generated.tzinfo is None:   # GeneralizedTime in a token is UTC
        generated = generated.replace(tzinfo=dt.timezone.utc)
    return Stamp(response, format_time(generated), parsed.tst_info.serial_number,
                 _tsa_name(parsed) or source)


def decode(text: str, source: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise TimestampError(f"{source}: the timestamp token is not base64") from None


def _tsa_name(parsed) -> str | None:
    try:
        name = parsed.tst_info.name
        value = getattr(name, "value", name)
        return None if name is None else (value.rfc4514_string() if hasattr(value, "rfc4514_string") else str(value))
    except ValueError:
        return None
