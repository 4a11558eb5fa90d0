"""Display text for values that come from attackers: shown as text, never markup.

Escaping HTML is the template's job; this adds what escaping does not cover: invisible
and direction-changing characters (which can make one name look like another) are spelled
out as \\uXXXX, and very long values are cut so a page or an alert stays readable.
"""
from __future__ import annotations

import base64
import binascii
import email
import email.policy
import json
import unicodedata


def visible(value, limit: int | None = 2000) -> str:
    """`value` as plain text with control and format characters spelled out, cut at `limit`."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    shown = []
    for char in text:
        if char in "\n\t":
            shown.append(char)
        elif unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"):
            shown.append(f"\\u{ord(char):04x}")
        else:
            shown.append(char)
    text = "".join(shown)
    if limit is not None and len(text) > limit:
        return text[:limit] + f"… ({len(text) - limit} more characters)"
    return text


def detail_items(details: dict, prefix: str = "") -> list[tuple[str, object]]:
    """A contact's details flattened to (key, value) pairs, nested keys joined with dots.

    A stored email (raw_base64) is also given decoded, as `message`, just before it."""
    items = []
    for key, value in (details or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            items.extend(detail_items(value, name + "."))
        else:
            if key == "raw_base64" and isinstance(value, str):
                items.append((f"{prefix}message", message_text(value)))
            items.append((name, value))
    return items


def message_text(raw_base64: str) -> str:
    """A stored email for reading: its headers and text body (an HTML body as its source), decoded.

    Text only: the caller escapes it; nothing in it is ever rendered or followed."""
    try:
        raw = base64.b64decode(raw_base64, validate=True)
    except (binascii.Error, ValueError):
        return "(not valid base64)"
    message = email.message_from_bytes(raw, policy=email.policy.default)
    lines = [f"{name}: {value}" for name, value in _safe_headers(message)]
    body = None
    try:
        part = message.get_body(preferencelist=("plain", "html"))
        body = part.get_content() if part is not None else None
    except (LookupError, ValueError, AttributeError, TypeError):   # an unknown charset, a broken MIME tree
        body = None
    if body is None:
        payload = message.get_payload(decode=True) if not message.is_multipart() else None
        body = payload.decode("utf-8", "replace") if payload else "(no readable text part)"
    return visible("\n".join(lines) + "\n\n" + body, 20000)


def _safe_headers(message) -> list[tuple[str, str]]:
    shown = []
    for name in ("From", "To", "Subject", "Date"):
        try:
            value = message.get(name)
        except (ValueError, TypeError, IndexError):   # headers an attacker wrote to break parsers
            value = "(unreadable)"
        if value is not None:
            shown.append((name, str(value)))
    return shown


def contact_summary(contact: dict) -> str:
    """One line saying what the contact was: the DNS question, email subject, HTTP request or caller."""
    details = contact.get("details") or {}
    if contact.get("channel") == "dns" and details.get("qname"):
        return visible(f"{details.get('qtype') or '?'} {details['qname']}", 160)   # MX, A, TXT...: says who asked
    if contact.get("channel") == "smtp":
        headers = details.get("headers")
        if isinstance(headers, dict) and headers.get("subject"):
            return visible(headers["subject"], 160)  # the SMTP listener keeps the subject among the message's headers
        if details.get("stage") in ("rcpt", "vrfy"):  # a probe, no message: who sent it is what there is to say
            return visible(f"{details['stage']} from <{details.get('mail_from') or ''}> helo {details.get('helo') or '?'}",
                           160)
    for key in ("qname", "subject", "path", "request_line", "body", "from"):
        if details.get(key):
            return visible(details[key], 160)
    return visible(contact.get("identifier") or "", 160)
