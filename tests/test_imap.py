"""The mailbox pool: canaries get the operator's mailboxes; mail there, read over IMAP, is a contact.

Against Dovecot's IMAP (Debian's dovecot-imapd), started privately per test.
"""
import imaplib
import time

import pytest

from canary.deployment import Deployment
from canary.generation.issuing import Issuer
from canary.store import Conflict
from listeners.imap import RECORDED_FLAG, ImapWatcher, message_contact
from listeners.recorder import Recorder
from recorders import MemoryRecorder
from listeners.runner import Listeners
from reference_servers import private_dovecot

POOL = ["jeanne.martin1961@mail.example.net", "p.durand@mail.example.net"]
USER, PASSWORD = "watcher@mail.example.net", "not-a-real-secret"


def pool_settings(port=0, **extra):
    return {"deployment": {"mail_mode": "mailboxes"},
            "mailboxes": {"addresses": POOL, "imap_host": "127.0.0.1" if port else "", "imap_port": port,
                          "imap_security": "none", "imap_user": USER, "imap_password_file": "imap-password",
                          **extra}}


@pytest.fixture
def pool_deployment(home):
    (home / "imap-password").write_text(PASSWORD + "\n")
    opened = Deployment.open(home, pool_settings())
    yield opened
    opened.close()


@pytest.fixture
def imap_port():
    with private_dovecot(USER, PASSWORD) as port:
        yield port


def deliver(port, message: bytes) -> None:
    """What the provider does when mail arrives: the message lands in the INBOX."""
    client = imaplib.IMAP4("127.0.0.1", port, timeout=10)
    client.login(USER, PASSWORD)
    assert client.append("INBOX", None, None, message)[0] == "OK"
    client.logout()


def message(to: str, subject: str = "Vos résultats", delivered_to: str | None = None) -> bytes:
    lines = [f"Delivered-To: {delivered_to}" if delivered_to else None,
             "Received: from buyer.example.org (buyer.example.org [192.0.2.7]) by mx.mail.example.net "
             f"with ESMTPS for <{delivered_to or to}>; Mon, 30 Nov 2026 10:00:00 +0000",
             "From: Buyer <buyer@example.org>", f"To: {to}", f"Subject: {subject}",
             "Message-ID: <1@example.org>", "", "Bonjour,", ""]
    return "\r\n".join(line for line in lines if line is not None).encode("utf-8")


def test_canaries_get_the_pool_mailboxes_one_each(pool_deployment):
    issuer = Issuer(pool_deployment.store, pool_deployment.settings)
    given = {issuer.issue_token("email")["value"] for _ in POOL}
    assert given == set(POOL)
    with pytest.raises(Conflict, match="mailbox pool is used up"):
        issuer.issue_token("email")


def test_a_message_names_its_canary_by_envelope_or_header():
    known = {POOL[0]: {"identifier_id": 1, "value": POOL[0], "token_id": 7, "token": "t", "kind": "email"}}
    recorder = MemoryRecorder(known)
    bcc = message("list@example.org", delivered_to=POOL[0].upper())     # a Bcc: only the envelope names it
    contact = message_contact(bcc, recorder.resolve, mailbox="m", uid=3)
    assert contact["channel"] == "imap" and contact["identifier"] == POOL[0]
    assert contact["source"] == "buyer@example.org" and contact["details"]["subject"] == "Vos résultats"
    assert ["Delivered-To", POOL[0].upper()] in contact["details"]["headers"]
    assert message_contact(message("someone@mail.example.net"), recorder.resolve, mailbox="m", uid=4) is None


def test_mail_to_a_pool_mailbox_is_recorded_once_with_its_headers(pool_deployment, imap_port):
    canary = Issuer(pool_deployment.store, pool_deployment.settings).issue_token("email")["value"]
    deliver(imap_port, message(canary))
    deliver(imap_port, message("newsletter@mail.example.net", subject="not for a canary"))
    recorder = Recorder(pool_deployment.store).start()
    try:
        watcher = ImapWatcher(recorder, "127.0.0.1", imap_port, USER, PASSWORD, security="none")
        assert watcher.poll_once() == 1
        assert watcher.poll_once() == 0          # flagged: never recorded twice
    finally:
        recorder.stop()
    [contact] = pool_deployment.store.contacts()
    details = contact["details"]
    assert contact["channel"] == "imap" and contact["identifier"] == canary
    assert details["subject"] == "Vos résultats" and details["uid"] == 1 and details["uidvalidity"]
    assert any(name == "Received" and "192.0.2.7" in value for name, value in details["headers"])
    assert pool_deployment.store.verify_evidence().ok
    client = imaplib.IMAP4("127.0.0.1", imap_port, timeout=10)
    client.login(USER, PASSWORD)
    client.select("INBOX", readonly=True)
    assert client.uid("SEARCH", None, "KEYWORD", RECORDED_FLAG)[1][0].split() == [b"1", b"2"]
    assert client.uid("SEARCH", None, "SEEN")[1][0] == b""     # the operator's unread mail stays unread
    client.logout()


def test_canary_serve_runs_the_watcher(home, imap_port):
    (home / "imap-password").write_text(PASSWORD + "\n")
    deployment = Deployment.open(home, pool_settings(imap_port, poll_seconds=0.2))
    try:
        canary = Issuer(deployment.store, deployment.settings).issue_token("email")["value"]
        lines = []
        listeners = Listeners(deployment.settings, deployment.store, listen={"dns": "off", "smtp": "off",
                                                                             "http": "off"}, log=lines.append)
        listeners.start()
        try:
            deliver(imap_port, message(canary))
            deadline = time.monotonic() + 20
            while not deployment.store.contacts() and time.monotonic() < deadline:
                time.sleep(0.05)      # the watcher polls every 0.2 s: wait for its contact
        finally:
            listeners.stop()
        assert [c["identifier"] for c in deployment.store.contacts()] == [canary]
        assert any(line.startswith("imap watching") for line in lines)
        assert any(f"imap {canary}" in line for line in lines)
    finally:
        deployment.close()


def test_an_unreadable_password_file_is_one_clear_error(home):
    from canary.settings import SettingsError
    deployment = Deployment.open(home, pool_settings(143))
    try:
        with pytest.raises(SettingsError, match="mailboxes.imap_password_file: cannot read .*imap-password"):
            Listeners(deployment.settings, deployment.store)
    finally:
        deployment.close()
