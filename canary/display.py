"""Display text for values that come from attackers: shown as text, never markup.

Escaping HTML is the template's job; this adds what escaping does not cover: invisible
and direction-changing characters (which can make one name look like another) are spelled
out as \\uXXXX, and very long values are cut so a page or an alert stays readable.
"""
from __future__ import annotations

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
    """A contact's details flattened to (key, value) pairs, nested keys joined with dots."""
    items = []
    for key, value in (details or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            items.extend(detail_items(value, name + "."))
        else:
            items.append((name, value))
    return items


def contact_summary(contact: dict) -> str:
    """One line saying what the contact was: the DNS question, email subject, HTTP request or caller."""
    details = contact.get("details") or {}
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
