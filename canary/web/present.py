"""Template helpers: contact fields stay text (see canary.display), channels get their colour."""
from __future__ import annotations

from ..display import contact_summary, detail_items, visible

CHANNELS = ("dns", "smtp", "http", "sms", "call")


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


def utc(value) -> str:
    """'2026-11-28T17:40:25.274685Z' -> '2026-11-28 17:40:25 UTC': stored times are UTC, and say so."""
    if not value:
        return "—"
    text = str(value)
    return text[:19].replace("T", " ") + " UTC" if len(text) >= 19 else text


def file_name(path) -> str:
    """A scanned file's name without the folder (an upload's temporary folder says nothing)."""
    return str(path).replace("\\", "/").rsplit("/", 1)[-1]


def init_app(app) -> None:
    app.jinja_env.filters["visible"] = visible
    app.jinja_env.filters["utc"] = utc
    app.jinja_env.filters["file_name"] = file_name
    app.jinja_env.globals.update(detail_items=detail_items, contact_summary=contact_summary,
                                 channel_class=channel_class, patient_name=patient_name, patient_rows=patient_rows)
