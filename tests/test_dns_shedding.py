"""A UDP name flood from one network is shed before parsing (issue 11, bench/hostile.py): the
excess is counted, and a legitimate query from elsewhere is still answered at once."""
import socket
import struct
import time

import dns.message
import dns.query

from canary.generation.issuing import Issuer
from listeners.dns import Authority
from listeners.dns_server import DnsServer


def _query(name: str, ident: int) -> bytes:
    wire = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + wire + struct.pack("!HH", 1, 1)


def test_a_flood_from_one_network_is_counted_and_shed_and_others_are_answered(deployment, recorder):
    issuer = Issuer(deployment.store, deployment.settings)
    flooded, legit = issuer.issue_token("dns"), issuer.issue_token("dns")
    server = DnsServer(Authority.from_settings(deployment.settings), recorder, "127.0.0.1", 0, rrl_rate=0,
                       shed_rate=50).start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as flood:
            flood.bind(("127.2.0.2", 0))
            for number in range(1000):
                flood.sendto(_query(f"n{number}.{flooded['value']}", number), ("127.0.0.1", server.port))
        started = time.monotonic()
        answer = dns.query.udp(dns.message.make_query(legit["value"], "A"), "127.0.0.1", port=server.port, timeout=5)
        assert answer.answer and time.monotonic() - started < 2
    finally:
        server.stop()
    recorder.stop()
    recorder.start()
    shed = sum(row["count"] for row in deployment.store.unknown_counts() if row["kind"] == "shed")
    recorded = len(deployment.store.contacts(token=flooded["token"]))
    tallied = sum(t["count"] for t in deployment.store.contact_tallies())
    # Everything the flood sent that reached the socket is accounted for: read and recorded, or shed and counted.
    assert shed >= 800 and recorded + tallied <= 200
    assert len(deployment.store.contacts(token=legit["token"])) == 1
