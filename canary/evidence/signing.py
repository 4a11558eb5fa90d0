"""Signing investigation reports so that any later edit is detected.

The signature covers the sha256 of every byte before the signature line (Markdown,
HTML) or of the canonical JSON of the report (JSON), signed with itsdangerous under
the deployment's secret and a salt of its own, behind a fixed, greppable prefix.
"""
from __future__ import annotations

import hashlib
import json

import itsdangerous

from .chain import canonical

PREFIX = "canary-report-v1:"
_SALT = "canary.investigation-report"
_COMMENT = "<!-- {prefix}{token} -->\n"


class ReportCheckError(ValueError):
    """A report that is not signed, signed by someone else, or altered."""


def _signer(secret: str) -> itsdangerous.Signer:
    if not secret:
        raise ReportCheckError("this deployment has no secret in canary.toml: cannot sign or check reports")
    return itsdangerous.Signer(secret, salt=_SALT, digest_method=hashlib.sha256)


def sign_text(text: str, secret: str) -> str:
    """Markdown or HTML with a last line `<!-- canary-report-v1:DIGEST.SIG -->`."""
    if not text.endswith("\n"):
        text += "\n"
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return text + _COMMENT.format(prefix=PREFIX, token=_signer(secret).sign(digest).decode())


def sign_json(report: dict, secret: str) -> str:
    digest = hashlib.sha256(canonical(report)).hexdigest()
    signed = {"report": report, "signature": PREFIX + _signer(secret).sign(digest).decode()}
    return json.dumps(signed, indent=2, ensure_ascii=False) + "\n"


def check_report(text: str, secret: str) -> str:
    """The signed digest when the report is intact; raises ReportCheckError saying why not."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            document = json.loads(text)
            report, token = document["report"], document["signature"]
        except (ValueError, KeyError, TypeError):
            raise ReportCheckError("not a signed canary JSON report (no report/signature fields)") from None
        if set(document) != {"report", "signature"}:
            raise ReportCheckError("the report was altered: fields were added after the signature, "
                                   "outside what it covers") from None
        digest = hashlib.sha256(canonical(report)).hexdigest()
    else:
        start = text.rfind("<!-- " + PREFIX)
        if start < 0:
            raise ReportCheckError(f"no {PREFIX} signature line: not a signed canary report")
        token, _, after = text[start + len("<!-- "):].partition(" -->")
        if after.strip():
            raise ReportCheckError("the report was altered: text was added after the signature line, "
                                   "outside what it covers")
        digest = hashlib.sha256(text[:start].encode("utf-8")).hexdigest()
    if not isinstance(token, str) or not token.startswith(PREFIX):
        raise ReportCheckError(f"no {PREFIX} signature: not a signed canary report")
    try:
        signed_digest = _signer(secret).unsign(token[len(PREFIX):]).decode()
    except itsdangerous.BadSignature:
        raise ReportCheckError("the signature is not this deployment's: forged, damaged, or signed by "
                               "another deployment") from None
    if signed_digest != digest:
        raise ReportCheckError("the report was altered after it was signed: its content no longer "
                               "matches the signature")
    return digest
