"""The contacts-per-day timeline: bar geometry computed here, drawn as inline SVG by a template."""
from __future__ import annotations

import datetime as dt

from .present import CHANNELS

WIDTH, HEIGHT = 720, 180
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_BOTTOM, MARGIN_TOP = 36, 24, 22, 8


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... at or above `value`: a readable top for the axis."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def timeline(counts: dict[str, dict[str, int]], end: dt.date, days: int = 30) -> dict:
    """Stacked bars, one per day from end - days + 1 to end, one segment per channel."""
    first = end - dt.timedelta(days=days - 1)
    day_list = [first + dt.timedelta(days=n) for n in range(days)]
    totals = [sum(counts.get(day.isoformat(), {}).values()) for day in day_list]
    top = nice_ceiling(max(totals + [1]))
    plot_w, plot_h = WIDTH - MARGIN_LEFT - MARGIN_RIGHT, HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    slot = plot_w / days
    bars = []
    for index, day in enumerate(day_list):
        per_channel = counts.get(day.isoformat(), {})
        y = MARGIN_TOP + plot_h
        ordered = [c for c in CHANNELS if c in per_channel] + sorted(c for c in per_channel if c not in CHANNELS)
        for channel in ordered:
            height = plot_h * per_channel[channel] / top
            y -= height
            bars.append({"x": round(MARGIN_LEFT + index * slot + 1, 1), "y": round(y, 1),
                         "w": round(max(slot - 2, 1), 1), "h": round(height, 1), "channel": channel,
                         "day": day.isoformat(), "count": per_channel[channel]})
    labels = [{"x": round(MARGIN_LEFT + index * slot + slot / 2, 1), "text": day.strftime("%d %b")}
              for index, day in enumerate(day_list) if index % 5 == 0 or index == days - 1]
    ticks = [{"y": round(MARGIN_TOP + plot_h - plot_h * value / top, 1), "value": value}
             for value in (0, top // 2 if top >= 2 else None, top) if value is not None]
    channels = sorted({bar["channel"] for bar in bars},
                      key=lambda c: (CHANNELS.index(c) if c in CHANNELS else len(CHANNELS), c))
    return {"width": WIDTH, "height": HEIGHT, "bars": bars, "labels": labels, "ticks": ticks,
            "left": MARGIN_LEFT, "right": WIDTH - MARGIN_RIGHT, "baseline": MARGIN_TOP + plot_h, "total": sum(totals), "days": days,
            "channels": channels, "first": first.isoformat(), "last": end.isoformat()}
