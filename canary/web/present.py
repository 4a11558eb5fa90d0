"""Turning stored values into display text. Contact fields come from attackers: they stay text.

Jinja escapes HTML; these helpers add what escaping does not cover: invisible and
direction-changing characters (which can make one name look like another) are shown as
\\uXXXX, and very long values are cut so a page stays readable.
"""
from __future__ import annotations

import json
import unicodedata

CHANNELS = ("dns", "smtp", "http", "sms", "call")


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
    for key in ("qname", "subject", "path", "request_line", "body", "from"):
        if details.get(key):
            return visible(details[key], 160)
    return visible(contact.get("identifier") or "", 160)


def channel_class(channel: str) -> str:
    """A CSS class for a contact channel; anything unexpected gets the neutral one."""
    return f"ch-{channel}" if channel in CHANNELS else "ch-other"


def patient_name(patient: dict) -> str:
    return " ".join(part for part in (patient.get("first_name"), patient.get("last_name")) if part) or "(unnamed)"


def patient_rows(patient: dict) -> list[tuple[str, str]]:
    """A registered patient as (field, text) rows for the canary page."""
    rows = []
    for key, value in patient.items():
        if isinstance(value, dict):
            rows.append((key, ", ".join(f"{k}: {v}" for k, v in value.items() if v not in (None, ""))))
        else:
            rows.append((key, "" if value is None else str(value)))
    return rows


def init_app(app) -> None:
    app.jinja_env.filters["visible"] = visible
    app.jinja_env.globals.update(detail_items=detail_items, contact_summary=contact_summary,
                                 channel_class=channel_class, patient_name=patient_name, patient_rows=patient_rows)
