"""The SMTP listener against smtplib: RCPT probes, whole messages, refusals; contacts in the store."""
import base64
import hashlib
import smtplib

import pytest

from canary.generation.issuing import Issuer
from listeners.smtp import SmtpServer


@pytest.fixture
def server(deployment, recorder):
    started = SmtpServer(recorder, "127.0.0.1", 0, hostname="mx.canary.test", max_recipients=3,
                         max_stored_bytes=1000, max_message_bytes=100_000, idle_seconds=5,
                         local_domains=["canary.test"], answer_seconds=0.005).start()
    yield started
    started.stop()


@pytest.fixture
def address(deployment):
    return Issuer(deployment.store, deployment.settings).issue_token("email")["value"]


def connect(server):
    client = smtplib.SMTP("127.0.0.1", server.port, timeout=5)
    client.ehlo("probe.example.org")
    return client


def test_banner_does_not_name_the_software(server):
    client = smtplib.SMTP(timeout=5)
    code, banner = client.connect("127.0.0.1", server.port)
    assert code == 220 and banner == b"mx.canary.test ESMTP"
    client.quit()


def test_rcpt_only_probe_is_recorded_before_the_250(server, deployment, address):
    client = connect(server)
    client.mail("verifier@example.org")
    assert client.rcpt(address.upper())[0] == 250
    # Checked before QUIT: the contact is already stored when the 250 arrives.
    [contact] = deployment.store.contacts()
    assert contact["channel"] == "smtp" and contact["identifier"] == address
    assert contact["details"]["stage"] == "rcpt" and contact["details"]["helo"] == "probe.example.org"
    assert contact["details"]["mail_from"] == "verifier@example.org"
    client.quit()


def test_unknown_recipient_is_refused_and_not_stored(server, deployment, address):
    client = connect(server)
    client.mail("x@example.org")
    code, text = client.rcpt("someone@canary.test")
    assert (code, text) == (550, b"5.1.1 <someone@canary.test>: Recipient address rejected: "
                                 b"User unknown in local recipient table")
    # Never relays, and says so as Postfix does.
    assert client.rcpt("victim@gmail.com") == (454, b"4.7.1 <victim@gmail.com>: Relay access denied")
    client.quit()
    assert deployment.store.contacts() == []


def test_postmaster_and_abuse_are_accepted_and_counted_not_contacts(server, deployment, recorder):
    client = connect(server)
    client.mail("reporter@example.org")
    assert [client.rcpt(a)[0] for a in ("postmaster", "Postmaster@canary.test", "abuse@x1.canary.test",
                                        "abuse@gmail.com")] == [250, 250, 250, 454]
    assert client.data(b"Subject: spam report\r\n\r\nhello\r\n")[0] == 250
    client.quit()
    recorder.stop()     # flushes the tallies
    recorder.start()
    assert deployment.store.contacts() == []
    tallies = {(row["channel"], row["kind"]): row["count"] for row in deployment.store.unknown_counts()}
    assert tallies[("smtp", "postmaster")] == 2 and tallies[("smtp", "abuse")] == 1
    assert tallies[("smtp", "relay")] == 1 and tallies[("smtp", "role-message")] == 1


def test_whole_message_is_kept_with_its_hash(server, deployment, address):
    body = b"Subject: Bonjour\r\nFrom: a@example.org\r\n\r\n" + (b"x" * 70 + b"\r\n") * 40 + b"end\r\n"
    client = connect(server)
    refused = client.sendmail("a@example.org", [address, "nobody@canary.test"], body)
    assert list(refused) == ["nobody@canary.test"]
    client.quit()
    rcpt, data = deployment.store.contacts()
    assert (rcpt["details"]["stage"], data["details"]["stage"]) == ("rcpt", "data")
    details = data["details"]
    assert details["sha256"] == hashlib.sha256(body).hexdigest() and details["size"] == len(body)
    assert base64.b64decode(details["raw_base64"]) == body[:1000] and details["truncated"]
    assert details["headers"]["subject"] == "Bonjour"
    assert deployment.store.verify_evidence().ok


def test_vrfy_answers_the_same_for_every_address(server, deployment, address):
    client = connect(server)
    answers = {client.verify(a) for a in (address, "nobody@canary.test", "postmaster", "")}
    client.quit()
    assert answers == {(502, b"5.5.1 VRFY command is disabled")}
    assert deployment.store.contacts() == []


def test_too_many_recipients_in_one_transaction(server, deployment, address):
    client = connect(server)
    client.mail("a@example.org")
    codes = [client.rcpt(address)[0] for _ in range(5)]
    client.quit()
    assert codes == [250, 250, 250, 452, 452]
    # Every probe of a known address counts: those within the limit stored whole, the others tallied
    # (1,100 RCPTs in one session made 1,000 contacts before, issue 11).
    assert len(deployment.store.contacts()) == 3
    [tally] = deployment.store.contact_tallies()
    assert (tally["count"], tally["reason"], tally["identifier"]) == (2, "recipients", address)
    assert deployment.store.audit_tables() == []


def test_starttls_when_a_certificate_is_configured(tmp_path, deployment, recorder, address):
    import ssl
    import subprocess
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=mx.canary.test", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    server = SmtpServer(recorder, "127.0.0.1", 0, hostname="mx.canary.test", tls_cert=str(cert),
                        tls_key=str(key)).start()
    try:
        client = connect(server)
        assert client.has_extn("starttls")
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        assert client.starttls(context=context)[0] == 220
        client.ehlo("probe.example.org")
        client.mail("a@example.org")
        assert client.rcpt(address)[0] == 250
        client.quit()
    finally:
        server.stop()
    assert deployment.store.contacts()[0]["details"]["tls"] is True


def test_a_message_to_two_canaries_is_evidence_for_both(server, deployment, address):
    other = Issuer(deployment.store, deployment.settings).issue_token("email")["value"]
    client = connect(server)
    client.sendmail("a@example.org", [address, other, address], b"Subject: two\r\n\r\nhi\r\n")
    client.quit()
    data = [c for c in deployment.store.contacts() if c["details"]["stage"] == "data"]
    assert sorted(c["identifier"] for c in data) == sorted([address, other])
    assert len({c["details"]["sha256"] for c in data}) == 1


def test_init_creates_the_starttls_certificate(deployment, recorder):
    import ssl
    server = SmtpServer.from_settings(deployment.settings, recorder, "127.0.0.1", 0).start()
    try:
        client = connect(server)
        assert client.has_extn("starttls")
        assert client.esmtp_features["size"] == "10240000"
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        assert client.starttls(context=context)[0] == 220
        assert client.sock.getpeercert(binary_form=True)
        client.quit()
    finally:
        server.stop()
    assert (deployment.settings.home / "smtp-key.pem").stat().st_mode & 0o077 == 0
