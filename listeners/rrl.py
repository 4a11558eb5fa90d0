"""Response rate limiting (RRL-style): a token bucket per source network, with slip.

Over the rate, most answers are dropped and every `slip`-th one is sent truncated (TC),
so a real resolver whose address is being spoofed can still retry over TCP, while a
spoofed flood gets no amplification. Recording a known identifier never depends on it.
"""
from __future__ import annotations

import functools
import ipaddress
import socket
import time

SEND, SLIP, DROP = "send", "slip", "drop"
_MAX_SOURCES = 50_000  # bound on memory under a flood from many addresses


class RateLimiter:
    """`rate` a second per network, `burst` at once (default: a second's worth)."""

    def __init__(self, rate: float, slip: int = 2, clock=time.monotonic, burst: float | None = None):
        self.rate = float(rate)
        self.burst = float(burst) if burst else self.rate
        self.slip = int(slip)
        self.clock = clock
        self._buckets: dict[str, list[float]] = {}   # network -> [tokens, last time, limited count]

    def decide(self, address: str) -> str:
        """SEND, SLIP (answer with TC) or DROP for one answer to `address`."""
        if self.rate <= 0:
            return SEND
        key = _network(address)
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _MAX_SOURCES:
                self._prune(now)
            bucket = self._buckets[key] = [self.burst, now, 0]
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens >= 1:
            bucket[0] = tokens - 1
            return SEND
        bucket[0] = tokens
        bucket[2] += 1
        if self.slip and bucket[2] % self.slip == 0:
            return SLIP
        return DROP

    def _prune(self, now: float) -> None:
        # Buckets that have refilled carry no state worth keeping.
        full = [key for key, (tokens, last, _) in self._buckets.items()
                if tokens + (now - last) * self.rate >= self.burst]
        for key in full or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[key]


def _network(address: str) -> str:
    """Sources are grouped as RRL does: IPv4 by /24, IPv6 by /56.

    Called for every datagram read, shed ones included: under a flood, parsing the address with
    ipaddress was 40 % of the DNS listener's time (bench/hostile.py profile), so an IPv4 address
    takes inet_pton (C) and IPv6 ones are remembered (a bounded cache: spoofed sources thrash it,
    they do not grow it)."""
    try:
        a, b, c, _ = socket.inet_pton(socket.AF_INET, address)
        return f"{a}.{b}.{c}.0/24"
    except OSError:
        return _other_network(address)


@functools.lru_cache(maxsize=4096)
def _other_network(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return address
    prefix = 24 if ip.version == 4 else 56
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
