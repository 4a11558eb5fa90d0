"""Signing investigation reports so that anyone with the public key can check them.

v2 (written now): an Ed25519 signature by the deployment's key (canary.signing_keys) over
the exact bytes of the report before its signature line (Markdown, HTML) or over the
canonical JSON of the report (JSON), and, when a timestamping authority is configured, an
RFC 3161 timestamp response over the same bytes. The last line of a Markdown or HTML report:

    <!-- canary-report-v2 key=FINGERPRINT sig=BASE64 tsr=BASE64|none -->

so that `head -n -1 report.md` gives the signed bytes to `openssl pkeyutl -verify -rawin`
and `openssl ts -verify -data`. v1 reports (an HMAC under the deployment's secret, which
only the deployment itself can check) are still checked with the deployment.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re

import itsdangerous
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .. import signing_keys, timestamping
from .chain import canonical

PREFIX = "canary-report-v2"
V1_PREFIX = "canary-report-v1:"
_SALT = "canary.investigation-report"
_LINE = re.compile(r"<!-- canary-report-v2 key=([0-9a-f]{64}) sig=([A-Za-z0-9+/=]+) tsr=([A-Za-z0-9+/=]+|none) -->")


class ReportCheckError(ValueError):
    """A report that is not signed, signed by someone else, or altered."""


@dataclasses.dataclass
class Signer:
    """What signs a report: the deployment's key, and a timestamper (None: no TSA configured)."""
    key: Ed25519PrivateKey
    timestamper: object = None     # callable(bytes) -> timestamping.Stamp | None

    def stamp(self, data: bytes):
        return self.timestamper(data) if self.timestamper else None


@dataclasses.dataclass
class ReportCheck:
    sha256: str
    scheme: str
    key: str | None = None             # fingerprint of the key that signed
    timestamp: str | None = None       # the TSA's time for these bytes
    tsa: str | None = None
    tsa_checked: bool = False          # the token's signature verified against a given CA

    def summary(self, name: str) -> str:
        text = f"{name}: signature valid, report unaltered (sha256 {self.sha256})"
        if self.key:
            text += f"\n  signed by Ed25519 key {self.key}"
        if self.timestamp:
            how = "verified against the given CA" if self.tsa_checked else \
                  "token matches; give --tsa-ca to check the TSA's signature too"
            text += f"\n  timestamped {self.timestamp} by {self.tsa} ({how})"
        elif self.scheme == PREFIX:
            text += "\n  no trusted timestamp (no timestamping authority was configured)"
        return text


def verification_steps(name: str, fingerprint: str) -> list[tuple[str, str]]:
    """How a third party checks a Markdown or HTML report named `name` with OpenSSL alone: (why, command)."""
    last_field = "sed -n '$s/.* {field}=\\([^ ]*\\) .*/\\1/p' " + name + " | openssl base64 -d -A > {out}"
    return [
        ("Save the deployment's public key, as printed above and as the deployment publishes it "
         "(`canary evidence public-key`), in canary-public.pem; its fingerprint must read " + fingerprint,
         "openssl pkey -pubin -in canary-public.pem -outform DER | openssl dgst -sha256"),
        ("The signed bytes are the whole file but its last line", f"sed '$d' {name} > signed.bin"),
        ("The Ed25519 signature is the sig= field of the last line", last_field.format(field="sig", out="report.sig")),
        ("Check it: OpenSSL prints \"Signature Verified Successfully\"; a one-byte change makes it fail",
         "openssl pkeyutl -verify -pubin -inkey canary-public.pem -rawin -in signed.bin -sigfile report.sig"),
        ("The RFC 3161 timestamp (when tsr= is not none) is the tsr= field",
         last_field.format(field="tsr", out="report.tsr")),
        ("Read its time, and check it with the timestamping authority's CA certificate: \"Verification: OK\"",
         "openssl ts -reply -in report.tsr -text | grep 'Time stamp'; "
         "openssl ts -verify -data signed.bin -in report.tsr -CAfile tsa-ca.pem"),
        ("Or all at once, with canary installed and no deployment",
         f"canary report --check {name} --public-key canary-public.pem --tsa-ca tsa-ca.pem"),
    ]


def sign_text(text: str, signer: Signer) -> str:
    """Markdown or HTML with a last line `<!-- canary-report-v2 key=... sig=... tsr=... -->`."""
    if not text.endswith("\n"):
        text += "\n"
    data = text.encode("utf-8")
    stamp = signer.stamp(data)
    tsr = base64.b64encode(stamp.response).decode() if stamp else "none"
    return (text + f"<!-- {PREFIX} key={signing_keys.fingerprint(signer.key.public_key())} "
                   f"sig={signing_keys.sign(signer.key, data)} tsr={tsr} -->\n")


def sign_json(report: dict, signer: Signer) -> str:
    data = canonical(report)
    stamp = signer.stamp(data)
    signature = {"scheme": PREFIX, "algorithm": "ed25519", "key": signing_keys.fingerprint(signer.key.public_key()),
                 "signature": signing_keys.sign(signer.key, data),
                 "timestamp": stamp.as_dict() if stamp else None}
    return json.dumps({"report": report, "signature": signature}, indent=2, ensure_ascii=False) + "\n"


def check_report(text: str, *, public_key: Ed25519PublicKey | None = None, secret: str | None = None,
                 tsa_ca: str | None = None) -> ReportCheck:
    """The check of an intact report; raises ReportCheckError saying why not.

    public_key: checks a v2 report with nothing else (no deployment); secret: a v1 report.
    """
    if text.lstrip().startswith("{"):
        data, token = _json_parts(text)
        if isinstance(token, str):
            return _check_v1(data, token, secret)
        if not isinstance(token, dict) or token.get("scheme") != PREFIX:
            raise ReportCheckError("not a signed canary JSON report (unknown signature scheme)")
        stamp = token.get("timestamp") or {}
        return _check_v2(data, token.get("key"), token.get("signature"), stamp.get("response"), public_key, tsa_ca)
    start = text.rfind("<!-- " + PREFIX)
    if start >= 0:
        match = _LINE.match(text, start)
        if match is None:
            raise ReportCheckError(f"the {PREFIX} signature line is damaged")
        if text[match.end():].strip():
            raise ReportCheckError("the report was altered: text was added after the signature line, "
                                   "outside what it covers")
        key, signature, tsr = match.groups()
        return _check_v2(text[:start].encode("utf-8"), key, signature, None if tsr == "none" else tsr,
                         public_key, tsa_ca)
    start = text.rfind("<!-- " + V1_PREFIX)
    if start < 0:
        raise ReportCheckError(f"no {PREFIX} signature line: not a signed canary report")
    token, _, after = text[start + len("<!-- "):].partition(" -->")
    if after.strip():
        raise ReportCheckError("the report was altered: text was added after the signature line, "
                               "outside what it covers")
    return _check_v1(text[:start].encode("utf-8"), token, secret)


def _json_parts(text: str) -> tuple[bytes, object]:
    try:
        document = json.loads(text)
        report, token = document["report"], document["signature"]
    except (ValueError, KeyError, TypeError):
        raise ReportCheckError("not a signed canary JSON report (no report/signature fields)") from None
    if set(document) != {"report", "signature"}:
        raise ReportCheckError("the report was altered: fields were added after the signature, "
                               "outside what it covers")
    return canonical(report), token


def _check_v2(data: bytes, key_fingerprint, signature, tsr, public_key, tsa_ca) -> ReportCheck:
    if public_key is None:
        raise ReportCheckError("give the deployment's public key (--public-key FILE) to check this report")
    expected = signing_keys.fingerprint(public_key)
    if key_fingerprint != expected:
        raise ReportCheckError(f"signed by another key ({str(key_fingerprint)[:16]}...), not {expected[:16]}...: "
                               "forged, or signed by another deployment")
    if not isinstance(signature, str) or not signing_keys.verify(public_key, signature, data):
        raise ReportCheckError("the report was altered after it was signed, or the signature is forged: "
                               "the Ed25519 signature does not verify")
    check = ReportCheck(hashlib.sha256(data).hexdigest(), PREFIX, expected)
    if tsr:
        try:
            stamp = timestamping.read_stamp(timestamping.decode(tsr, "the report"), data, "the report's timestamp",
                                            tsa_ca)
        except timestamping.TimestampError as error:
            raise ReportCheckError(str(error)) from None
        check.timestamp, check.tsa, check.tsa_checked = stamp.time, stamp.tsa, bool(tsa_ca)
    return check


def _check_v1(data: bytes, token: str, secret: str | None) -> ReportCheck:
    if not secret:
        raise ReportCheckError("a v1 report (signed with the deployment's secret) can only be checked by the "
                               "deployment itself: run `canary report --check` in the deployment")
    if not token.startswith(V1_PREFIX):
        raise ReportCheckError(f"no {V1_PREFIX} signature: not a signed canary report")
    signer = itsdangerous.Signer(secret, salt=_SALT, digest_method=hashlib.sha256)
    try:
        signed_digest = signer.unsign(token[len(V1_PREFIX):]).decode()
    except itsdangerous.BadSignature:
        raise ReportCheckError("the signature is not this deployment's: forged, damaged, or signed by "
                               "another deployment") from None
    digest = hashlib.sha256(data).hexdigest()
    if signed_digest != digest:
        raise ReportCheckError("the report was altered after it was signed: its content no longer "
                               "matches the signature")
    return ReportCheck(digest, V1_PREFIX.rstrip(":"))
