"""Connection caps of the TCP listeners (issue 11, defect 4): one source holding connections
cannot starve another; beyond the caps a connection is refused at once, not queued."""
import smtplib
import socket
import struct

import dns.message
import pytest

from canary.generation.issuing import Issuer
from listeners.dns_server import DnsServer
from listeners.http import HttpServer
from listeners.smtp import SmtpServer


def connect_from(source: str, port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    return sock


def test_smtp_sessions_are_capped_per_source_and_in_all(deployment, recorder):
    address = Issuer(deployment.store, deployment.settings).issue_token("email")["value"]
    server = SmtpServer(recorder, "127.0.0.1", 0, max_connections=6, max_connections_per_source=3).start()
    held = []
    try:
        for _ in range(3):
            held.append(connect_from("127.0.0.2", server.port))
            assert held[-1].recv(100).startswith(b"220")
        fourth = connect_from("127.0.0.2", server.port)   # ~1,000 idle sessions were all accepted before
        assert fourth.recv(100).startswith(b"421") and fourth.recv(100) == b""
        fourth.close()
        # Another source still gets in and makes its contact.
        with smtplib.SMTP("127.0.0.1", server.port, timeout=5, source_address=("127.0.0.3", 0)) as client:
            client.ehlo("client.example.org")
            client.mail("a@example.org")
            assert client.rcpt(address)[0] == 250
        for source in ("127.0.0.4", "127.0.0.5", "127.0.0.6"):
            held.append(connect_from(source, server.port))
            assert held[-1].recv(100).startswith(b"220")
        refused = connect_from("127.0.0.7", server.port)   # 6 in all
        assert refused.recv(100).startswith(b"421")
        refused.close()
    finally:
        for sock in held:
            sock.close()
        server.stop()
    assert len(deployment.store.contacts()) == 1


def test_one_address_cannot_hold_every_dns_tcp_slot(deployment, recorder):
    token = Issuer(deployment.store, deployment.settings).issue_token("dns")
    server = DnsServer.from_settings(deployment.settings, recorder, "127.0.0.1", 0)
    server.tcp_caps.per_source = 4
    server.start()
    held = []
    try:
        held = [connect_from("127.0.0.2", server.port) for _ in range(4)]
        extra = connect_from("127.0.0.2", server.port)
        assert extra.recv(10) == b""   # closed at once
        extra.close()
        with connect_from("127.0.0.3", server.port) as other:
            query = dns.message.make_query(token["value"], "A").to_wire()
            other.sendall(struct.pack("!H", len(query)) + query)
            length = struct.unpack("!H", other.recv(2))[0]
            assert dns.message.from_wire(other.recv(length)).answer
    finally:
        for sock in held:
            sock.close()
        server.stop()


def test_http_connections_are_capped_per_source(deployment, recorder):
    import requests
    server = HttpServer(deployment.settings, recorder, "127.0.0.1", 0, max_connections=10,
                        max_connections_per_source=2).start()
    held = []
    try:
        held = [connect_from("127.0.0.2", server.port) for _ in range(2)]
        extra = connect_from("127.0.0.2", server.port)
        assert extra.recv(10) == b""   # closed at once
        extra.close()
        assert requests.get(f"http://127.0.0.1:{server.port}/", timeout=5).status_code == 404
    finally:
        for sock in held:
            sock.close()
        server.stop()


def test_a_refused_smtp_connection_costs_no_session(deployment, recorder, monkeypatch):
    """aiosmtpd's session costs ~0.6 ms of CPU to make (under the GIL the DNS and HTTP listeners
    share): 1,100 connections refused one after the other delayed their answers by up to 300 ms
    (bench/hostile.py, second 0). A connection beyond the caps is refused before any is made."""
    from listeners import smtp
    made = []
    original = smtp._CappedSMTP.__init__

    def counting(self, *args, **kwargs):
        made.append(1)
        original(self, *args, **kwargs)
    monkeypatch.setattr(smtp._CappedSMTP, "__init__", counting)
    server = SmtpServer(recorder, "127.0.0.1", 0, max_connections=50, max_connections_per_source=5).start()
    held = []
    try:
        made.clear()    # what start() made to try itself
        for _ in range(5):
            held.append(connect_from("127.0.0.2", server.port))
            assert held[-1].recv(100).startswith(b"220")
        for _ in range(40):
            refused = connect_from("127.0.0.2", server.port)
            assert refused.recv(100).startswith(b"421")
            refused.close()
    finally:
        for sock in held:
            sock.close()
        server.stop()
    assert len(made) == 5
