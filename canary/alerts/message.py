"""What an alert says: what was touched, how, and where to look. Built from a stored contact."""
from __future__ import annotations

from ..display import contact_summary, visible

MAX_FIELD = 300  # attacker-controlled text is cut: an alert is a pointer to the evidence, not a copy


def _clean(value, limit: int = MAX_FIELD) -> str | None:
    return None if value is None else visible(value, limit).replace("\n", " ")


def dashboard_link(public_url: str, contact: dict) -> str:
    base = public_url.rstrip("/")
    if contact.get("canary_id"):
        return f"{base}/canaries/{contact['canary_id']}"
    return f"{base}/contacts"


def subject_of(contact: dict) -> str:
    """'canary:12' or 'token:3': what throttling counts per."""
    if contact.get("canary_id"):
        return f"canary:{contact['canary_id']}"
    return f"token:{contact.get('token_id')}"


def _subject(contact: dict, deployment: str) -> dict:
    """What was touched: the canary (with its name) or the token, its site and target."""
    if contact.get("canary_id"):
        what = f"canary {contact['canary_id']}" + (f" ({contact['canary_name']})" if contact.get("canary_name") else "")
    else:
        what = f"token {contact.get('token')}"
    return {"deployment": deployment, "what": what, "canary_id": contact.get("canary_id"),
            "token": contact.get("token"), "site": contact.get("site"), "target": contact.get("target")}


def contact_alert(contact: dict, deployment: str, public_url: str, held_back: dict | None = None) -> dict:
    """The alert for one contact, with a summary of contacts held back since the last alert, if any."""
    return {
        "type": "contact",
        **_subject(contact, deployment),
        "channel": contact["channel"],
        "identifier": contact.get("identifier"),
        "source": _clean(contact.get("source")),
        "time": contact["time"],
        "contact_id": contact["id"],
        # The contact's evidence event: an anchor held outside the store (see `evidence verify --anchor`).
        "evidence": f"{contact['evidence_seq']}:{contact['evidence_hash']}" if contact.get("evidence_hash") else None,
        "summary": _clean(contact_summary(contact)),
        "url": dashboard_link(public_url, contact),
        "held_back": held_back,
    }


def held_back_summary(throttle: dict) -> dict | None:
    if not throttle or not throttle.get("held"):
        return None
    return {"count": throttle["held"], "first": throttle["held_first"], "last": throttle["held_last"],
            "sources": [_clean(source, 80) for source in throttle.get("held_sources") or []]}


def summary_alert(throttle: dict, deployment: str, public_url: str, last_contact: dict | None) -> dict:
    """An alert that only reports what throttling held back once the window has closed."""
    kind, _, subject_id = throttle["subject"].partition(":")
    contact = last_contact or {"canary_id": int(subject_id) if kind == "canary" else None}
    return {
        "type": "summary",
        **_subject(contact, deployment),
        "channel": throttle["channel"],
        "url": dashboard_link(public_url, contact),
        "held_back": held_back_summary(throttle),
    }


def alert_text(alert: dict) -> str:
    """Plain-text body for email and chat."""
    where = " / ".join(part for part in (alert.get("site"), alert.get("target")) if part) or "no target"
    lines = []
    if alert["type"] == "contact":
        lines.append(f"Canary touched: {alert['what']} ({where})")
        lines.append(f"How: {alert['channel']} contact from {alert['source']} at {alert['time']}")
        lines.append(f"Identifier: {alert['identifier']}")
        lines.append(f"What: {alert['summary']}")
    elif alert["type"] == "summary":
        lines.append(f"More contacts with {alert['what']} ({where}) over {alert['channel']}")
    else:
        lines.append(f"Test alert from canary deployment {alert.get('deployment')}: delivery works.")
    held = alert.get("held_back")
    if held:
        sources = ", ".join(held["sources"]) or "?"
        lines.append(f"Held back by throttling: {held['count']} more {alert['channel']} contact(s) "
                     f"between {held['first']} and {held['last']} (sources: {sources})")
    if alert.get("url"):
        lines.append(f"Dashboard: {alert['url']}")
    return "\n".join(lines)


def alert_title(alert: dict) -> str:
    """A one-line title (email subject): our own names only, never attacker text."""
    where = " / ".join(part for part in (alert.get("site"), alert.get("target")) if part)
    if alert["type"] == "test":
        return f"[canary] test alert ({alert.get('deployment')})"
    title = f"[canary] {alert['what']} touched via {alert['channel']}" + (f" ({where})" if where else "")
    return " ".join(title.split())[:200]
