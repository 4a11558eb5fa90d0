"""UTC time for everything stored, and a note of which clock said so."""
from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
import os
import socket

# Set only while the demo replays a made-up past (canary.demo.seeding); never in a real deployment.
_replayed: contextvars.ContextVar[dt.datetime | None] = contextvars.ContextVar("replayed", default=None)


def utc_now() -> str:
    """Now, UTC, ISO 8601 with microseconds and a Z: '2026-11-28T17:40:12.123456Z'."""
    return format_time(_replayed.get() or dt.datetime.now(dt.timezone.utc))


@contextlib.contextmanager
def replaying(moment: dt.datetime):
    """Make `utc_now` say `moment` in this thread, and evidence events say the time was replayed."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: times are UTC and must say so")
    token = _replayed.set(moment.astimezone(dt.timezone.utc))
    try:
        yield
    finally:
        _replayed.reset(token)


def format_time(moment: dt.datetime) -> str:
    """A datetime as stored: UTC, ISO 8601, microseconds, Z."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: times are UTC and must say so")
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> dt.datetime:
    """'2026-11-28', '2026-11-28T17:40', '...Z' or '+01:00' -> aware UTC datetime; naive means UTC."""
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"bad time {text!r}: expected ISO 8601, e.g. 2026-11-28T17:40:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def clock_source() -> str:
    """Which clock stamped an event: host and whether systemd-timesyncd reports NTP sync (or a demo replay)."""
    return ("demo-replay;" if _replayed.get() else "") + _system_clock()


@functools.cache
def _system_clock() -> str:
    synced = "ntp-synchronised" if os.path.exists("/run/systemd/timesync/synchronized") else "ntp-unknown"
    return f"system-utc;host={socket.gethostname()};{synced}"
