"""The shape of a contact as the listeners build it and `Store.record_contacts` takes it."""
from __future__ import annotations

from canary import clock


def host_port(host, port) -> str:
    """A contact's source as one string: '192.0.2.1:53', '[2001:db8::1]:53'."""
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def make_contact(channel: str, resolved: dict, source: str | None, details: dict,
                 time: str | None = None) -> dict:
    """A contact as `Store.record_contacts` takes it, plus the owner names a log line shows."""
    return {
        "time": time or clock.utc_now(),
        "channel": channel,
        "identifier_id": resolved["identifier_id"],
        "identifier": resolved["value"],
        "canary_id": resolved.get("canary_id"),
        "token_id": resolved.get("token_id"),
        "token": resolved.get("token"),
        "site": resolved.get("site"),
        "target": resolved.get("target"),
        "source": _storable(source),
        "details": _storable(details),
    }


def _storable(value):
    """Attacker text made valid UTF-8: a lone surrogate (JSON's "\\ud800") is spelled out, not a failed commit."""
    if isinstance(value, str):
        return value if value.isascii() else value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_storable(item) for item in value]
    return value
