"""Hostile SMTP sessions on a raw socket: the listener keeps answering and stores nothing false."""
import smtplib
import socket

import pytest

from canary.generation.issuing import Issuer
from listeners.smtp import SmtpServer


@pytest.fixture
def server(deployment, recorder):
    started = SmtpServer(recorder, "127.0.0.1", 0, hostname="mx.canary.test", max_recipients=5,
                         max_message_bytes=20_000, idle_seconds=1, max_commands=300,
                         local_domains=["canary.test"], answer_seconds=0.001, error_sleep_seconds=0).start()
    yield started
    started.stop()


@pytest.fixture
def address(deployment):
    return Issuer(deployment.store, deployment.settings).issue_token("email")["value"]


class Raw:
    """A line-level SMTP client that sends whatever it is given."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.file = self.sock.makefile("rb")
        assert self.reply()[0] == 220

    def send(self, data: bytes):
        self.sock.sendall(data)

    def reply(self):
        lines = []
        while True:
            line = self.file.readline()
            if not line:
                return (None, lines)
            lines.append(line)
            if line[3:4] != b"-":
                return (int(line[:3]), lines)

    def command(self, data: bytes):
        self.send(data + b"\r\n")
        return self.reply()[0]

    def close(self):
        self.file.close()
        self.sock.close()


@pytest.fixture
def raw(server):
    clients = []

    def open_client():
        clients.append(Raw(server.port))
        return clients[-1]
    yield open_client
    for client in clients:
        client.close()


def still_answers(server):
    client = smtplib.SMTP("127.0.0.1", server.port, timeout=5)
    assert client.noop()[0] == 250
    client.quit()


def test_huge_command_line(server, raw, deployment):
    client = raw()
    assert client.command(b"EHLO " + b"a" * 200_000) == 500
    assert client.command(b"RCPT TO:<" + b"b" * 5000 + b"@canary.test>") in (500, 503)
    assert client.command(b"NOOP") == 250
    still_answers(server)
    assert deployment.store.contacts() == []


def test_thousands_of_recipients_are_refused_then_cut_off(server, raw, deployment):
    client = raw()
    assert client.command(b"EHLO x") == 250
    assert client.command(b"MAIL FROM:<a@example.org>") == 250
    client.send(b"".join(b"RCPT TO:<user%d@canary.test>\r\n" % n for n in range(2000)))
    codes = []
    while True:
        code, _ = client.reply()
        if code is None:
            break
        codes.append(code)
    # As Postfix: 20 errors (smtpd_hard_error_limit), then 421 and the connection is closed.
    assert set(codes[:20]) == {550} and codes[20] == 421 and len(codes) == 21
    still_answers(server)
    assert deployment.store.contacts() == []


def test_nul_bytes_never_match_a_known_address(server, raw, deployment, address):
    local, domain = address.split("@")
    client = raw()
    assert client.command(b"EHLO he\x00lo") == 250
    assert client.command(b"MAIL FROM:<a\x00b@example.org>") in (250, 501, 553)
    assert client.command(b"RCPT TO:<" + local.encode() + b"\x00@" + domain.encode() + b">") in (501, 503, 550, 553)
    assert client.command(b"\x00\x00\x00") == 500
    still_answers(server)
    assert deployment.store.contacts() == []


def test_bare_lf_dot_does_not_end_the_message(server, raw, deployment, address):
    client = raw()
    assert client.command(b"EHLO x") == 250
    assert client.command(b"MAIL FROM:<a@example.org>") == 250
    assert client.command(b"RCPT TO:<" + address.encode() + b">") == 250
    assert client.command(b"DATA") == 354
    # The smuggling attempt: an end of data with bare LFs, then a second transaction.
    client.send(b"Subject: one\r\n\r\nbody\n.\nMAIL FROM:<b@example.org>\r\nRCPT TO:<" + address.encode()
                + b">\r\nDATA\r\n\r\nsmuggled\r\n.\r\n")
    assert client.reply()[0] == 250
    assert client.command(b"QUIT") == 221
    rcpt, data = deployment.store.contacts()
    assert data["details"]["stage"] == "data" and b"smuggled" in __import__("base64").b64decode(
        data["details"]["raw_base64"])


def test_oversized_message_is_refused_without_a_data_contact(server, raw, deployment, address):
    client = raw()
    for line in (b"EHLO x", b"MAIL FROM:<a@example.org>", b"RCPT TO:<" + address.encode() + b">"):
        assert client.command(line) == 250
    assert client.command(b"DATA") == 354
    client.send((b"y" * 998 + b"\r\n") * 30 + b".\r\n")
    assert client.reply()[0] == 552
    assert [c["details"]["stage"] for c in deployment.store.contacts()] == ["rcpt"]
    still_answers(server)


def test_binary_garbage_and_idle_clients_are_dropped(server, raw, deployment):
    client = raw()
    client.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) + b"\r\n")
    assert client.reply()[0] == 500
    idle = raw()
    assert idle.reply()[0] is None       # idle_seconds=1: the server hangs up
    still_answers(server)
    assert deployment.store.contacts() == []


def test_a_huge_bdat_chunk_is_read_and_refused_without_being_kept(server, raw, address):
    client = raw()
    assert client.command(b"EHLO x") == 250
    assert client.command(b"MAIL FROM:<a@example.org>") == 250
    assert client.command(b"RCPT TO:<" + address.encode() + b">") == 250
    client.send(b"BDAT 300000 LAST\r\n" + b"x" * 300_000)     # over max_message_bytes (20,000)
    assert client.reply()[0] == 552
    assert client.command(b"NOOP") == 250
