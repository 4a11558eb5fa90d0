"""Malformed DNS packets from tests/data/dns/: the listener answers as their names say, records nothing."""
import pathlib
import socket
import struct

import dns.message
import dns.query
import dns.rcode
import pytest

from listeners.dns import Authority
from listeners.dns_server import DnsServer

CORPUS = sorted((pathlib.Path(__file__).parent / "data" / "dns").glob("*.bin"))
EXPECTED_RCODE = {"formerr": dns.rcode.FORMERR, "notimp": dns.rcode.NOTIMP, "refused": dns.rcode.REFUSED}


@pytest.fixture
def server(deployment, recorder):
    # The corpus carries this label: recognising it in a malformed packet would be a false contact.
    deployment.store.add_token("aaaaaaaaaaa", "dns", "aaaaaaaaaaa.canary.test", None,
                               [("hostname", "aaaaaaaaaaa.canary.test")])
    started = DnsServer(Authority.from_settings(deployment.settings), recorder, "127.0.0.1", 0, rrl_rate=0,
                        tcp_idle_seconds=1).start()
    yield started
    started.stop()


def test_corpus_is_there():
    assert len(CORPUS) >= 30


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_each_malformed_packet_over_udp(server, deployment, path):
    expectation = path.stem.split("-")[0]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.3 if expectation == "drop" else 3)
        sock.sendto(path.read_bytes(), ("127.0.0.1", server.port))
        try:
            reply = sock.recv(65535)
        except TimeoutError:
            reply = None
    if expectation == "drop":
        assert reply is None
    else:
        assert reply is not None and len(reply) >= 12
        assert reply[2] & 0x80, "QR set in the answer"
        assert reply[:2] == path.read_bytes()[:2], "same id"
        if expectation in EXPECTED_RCODE:
            assert reply[3] & 0xF == EXPECTED_RCODE[expectation]
        assert len(reply) <= 512
    still = dns.message.make_query("aaaaaaaaaaa.canary.test", "A")
    assert dns.query.udp(still, "127.0.0.1", port=server.port, timeout=3).rcode() == dns.rcode.NOERROR
    assert len(deployment.store.contacts()) == 1   # only the well-formed query


def test_whole_corpus_on_one_tcp_connection_then_a_real_query(server, deployment):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        answered = 0
        for path in CORPUS:
            data = path.read_bytes()
            conn.sendall(struct.pack("!H", len(data)) + data)
            if not path.stem.startswith("drop"):
                answered += 1
        good = dns.message.make_query("AAAAAAAAAAA.canary.test", "A").to_wire()
        conn.sendall(struct.pack("!H", len(good)) + good)
        replies = [_read_frame(conn) for _ in range(answered + 1)]
    assert dns.message.from_wire(replies[-1]).rcode() == dns.rcode.NOERROR
    assert len(deployment.store.contacts()) == 1


def _read_frame(conn):
    head = _exactly(conn, 2)
    return _exactly(conn, struct.unpack("!H", head)[0])


def _exactly(conn, count):
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        assert chunk, "connection closed early"
        data += chunk
    return data
