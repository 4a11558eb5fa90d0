"""The rate limiter's grouping of sources (IPv4 /24, IPv6 /56) and its bucket: the fast path for
IPv4 (inet_pton, as every datagram of a flood goes through it) groups as ipaddress does."""
import ipaddress

import pytest

from listeners.rrl import DROP, SEND, RateLimiter, _network


def by_ipaddress(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return address
    return str(ipaddress.ip_network(f"{ip}/{24 if ip.version == 4 else 56}", strict=False))


@pytest.mark.parametrize("address", ["127.2.0.2", "10.1.2.255", "0.0.0.0", "255.255.255.255", "2001:db8::1",
                                     "2001:db8:0:ff::1", "fe80::1%eth0", "::ffff:192.0.2.1", "::1", "1.2.3",
                                     "01.2.3.4", "1.2.3.4 ", "not an address", ""])
def test_sources_are_grouped_as_ipaddress_groups_them(address):
    assert _network(address) == by_ipaddress(address)


def test_a_burst_smaller_than_the_rate_lets_that_many_through_at_once_then_the_rate():
    now = [0.0]
    limiter = RateLimiter(100, 0, clock=lambda: now[0], burst=10)
    assert [limiter.decide("192.0.2.1") for _ in range(11)] == [SEND] * 10 + [DROP]
    now[0] += 0.05      # 5 more tokens, never more than the burst
    assert [limiter.decide("192.0.2.9") for _ in range(6)] == [SEND] * 5 + [DROP]
    now[0] += 10
    assert sum(limiter.decide("192.0.2.1") == SEND for _ in range(50)) == 10
