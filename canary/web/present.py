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


def init_app(app) -> None:
    app.jinja_env.filters["visible"] = visible
    app.jinja_env.globals.update(detail_items=detail_items, contact_summary=contact_summary,
                                 channel_class=channel_class, patient_name=patient_name, patient_rows=patient_rows)
