"""What the dashboard and the API show, assembled from the store: one source for both."""
from __future__ import annotations

import datetime as dt

from .. import clock
from . import listing
from ..store import Store

STATES = ("planted", "missing", "retired", "registered")
MAX_ID = 2**63 - 1  # SQLite's largest integer: a bigger number in a URL is simply no such row


def parse_id(text, what: str = "canary") -> int:
    """A row id typed in a URL or flag; ValueError for anything but a number SQLite can hold."""
    text = str(text).strip()
    if not text.isdigit() or int(text) > MAX_ID:
        raise ValueError(f"bad {what} {text!r}: expected its number")
    return int(text)


def targets_with_canaries(store: Store) -> list[dict]:
    """Sites' targets, each with its canaries (summary + state), state counts and last check."""
    last_checks = store.last_checks()
    by_target: dict[str | None, list[dict]] = {}
    for canary in listing.canary_summaries(store):
        by_target.setdefault(canary["target"], []).append(canary)
    targets = []
    for target in store.targets():
        canaries = by_target.get(target["name"], [])
        counts = {state: sum(1 for c in canaries if c["state"] == state) for state in STATES}
        targets.append({"id": target["id"], "name": target["name"], "site": target["site"], "kind": target["kind"],
                        "location": target["location"], "last_check": last_checks.get(target["id"]),
                        "counts": counts, "canaries": canaries})
    return targets


def canary_detail(store: Store, canary_id: int, limit: int = 100, offset: int = 0) -> dict:
    """A canary with its patient, identifiers, state, plantings, its contact count and a page of contacts (newest first)."""
    canary = store.get_canary(canary_id)
    summary = listing.canary_summary(canary)
    summary.update(patient=canary["patient"], identifiers=canary["identifiers"], label=canary["label"],
                   state=store.canary_states().get(canary_id, "registered"),
                   plantings=store.canary_plantings(canary_id),
                   contact_count=store.count_contacts(canary_id),
                   sightings=store.sightings([canary_id]),
                   contacts=store.search_contacts(canary_id=canary_id, limit=limit, offset=offset))
    return summary


def scan_history(store: Store) -> list[dict]:
    """Scans, newest first: when, which files (name, sha256, size, format), what they were found to hold."""
    counts: dict[int, int] = {}
    for sighting in store.sightings():
        counts[sighting["scan_id"]] = counts.get(sighting["scan_id"], 0) + 1
    return [{"id": scan["id"], "time": scan["time"], "files": scan["files"],
             "targets": scan["result"].get("targets", []), "sightings": counts.get(scan["id"], 0)}
            for scan in reversed(store.scans())]


def scan_detail(store: Store, scan_id: int) -> dict:
    """One scan: its files, its attribution and its sightings (NotFound when there is no such scan)."""
    from ..store import NotFound
    found = next((scan for scan in scan_history(store) if scan["id"] == scan_id), None)
    if found is None:
        raise NotFound(f"no scan {scan_id}")
    found["matches"] = [s for s in store.sightings() if s["scan_id"] == scan_id]
    return found


def contact_filters(channel=None, site=None, target=None, since=None, until=None, canary=None) -> dict:
    """Filters from a query string or flags: empty values dropped, times parsed (ValueError names a bad one)."""
    filters = {"channel": channel or None, "site": site or None, "target": target or None}
    if canary:
        filters["canary_id"] = parse_id(canary)
    for name, value in (("since", since), ("until", until)):
        filters[name] = clock.format_time(clock.parse_time(value)) if value else None
    return filters


def contacts_per_day(store: Store, days: int = 30, today: dt.date | None = None) -> tuple[dict, dt.date]:
    today = today or clock.parse_time(clock.utc_now()).date()
    first = today - dt.timedelta(days=days - 1)
    return store.contacts_per_day(first.isoformat()), today


def unknown_total(store: Store, days: int = 7) -> int:
    first = (clock.parse_time(clock.utc_now()).date() - dt.timedelta(days=days - 1)).isoformat()
    return sum(row["count"] for row in store.unknown_counts() if row["day"] >= first)
