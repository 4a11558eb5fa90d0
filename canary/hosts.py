"""Which listener hosts share this deployment's store, and whether each is alive."""
from __future__ import annotations

import datetime as dt

from . import clock

# A host that missed this many heartbeats in a row is reported as silent.
MISSED_BEATS = 3


def listener_hosts(store, heartbeat_seconds: float, now: dt.datetime | None = None) -> list[dict]:
    """Every host that ever served, with its state: alive, stopped (cleanly) or silent (killed, cut off)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    rows = store.listener_hosts()
    for row in rows:
        quiet = (now - clock.parse_time(row["last_seen"])).total_seconds()
        if row["stopped_at"]:
            row["state"] = "stopped"
        elif quiet <= MISSED_BEATS * heartbeat_seconds:
            row["state"] = "alive"
        else:
            row["state"] = "silent"
        row["seconds_since_seen"] = round(quiet, 1)
    return rows
