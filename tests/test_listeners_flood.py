"""Floods against the real listeners (issue 11, defect 2): the disk stays bounded, every contact
is still accounted for (stored whole within the budget, tallied beyond), and the evidence checks."""
import os
import random
import smtplib
import string

import dns.message
import dns.query
import pytest

from canary.generation.issuing import Issuer
from listeners.runner import Listeners


@pytest.fixture
def listening(deployment):
    budget = deployment.settings.values["budget"]
    budget.update(contacts_per_identifier=20, bytes_per_identifier=1 << 20)
    deployment.settings.values["dns"].update(rrl_rate=0, udp_queries_per_network=0)   # one client asks everything
    listeners = Listeners(deployment.settings, deployment.store, log=lambda line: None,
                          listen={name: "127.0.0.1:0" for name in ("dns", "smtp", "http")}).start()
    yield {name: server.port for name, server in listeners.servers.items()}
    listeners.stop()


def store_bytes(deployment) -> int:
    store = deployment.store
    if store.path is None:  # PostgreSQL: the store schema's tables with their TOAST and indexes
        return store.conn.execute("SELECT sum(pg_total_relation_size(oid)) FROM pg_class WHERE relkind = 'r' "
                                  "AND relnamespace = current_schema()::regnamespace").fetchone()[0]
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return os.path.getsize(store.path)


def test_random_names_under_a_token_label_are_tallied_beyond_the_budget(deployment, listening):
    token = Issuer(deployment.store, deployment.settings).issue_token("dns")
    rng = random.Random(11)
    for _ in range(300):   # 100,000 such names made 100,000 contacts (+101 MB) before
        name = "".join(rng.choices(string.ascii_lowercase, k=20)) + "." + token["value"]
        answer = dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1", port=listening["dns"], timeout=5)
        assert answer.answer or answer.authority
    contacts = deployment.store.contacts(token=token["token"])
    [tally] = deployment.store.contact_tallies()
    assert len(contacts) == 20 and tally["count"] == 280 and tally["reason"] == "identifier"
    assert tally["source"] == "127.0.0.1" and tally["first_time"] <= tally["last_time"]
    assert deployment.store.audit_tables() == [] and deployment.store.verify_evidence().ok


def test_big_messages_are_stored_once_capped_and_tallied_beyond_the_budget(deployment, listening):
    address = Issuer(deployment.store, deployment.settings).issue_token("email")["value"]
    before = store_bytes(deployment)
    with smtplib.SMTP("127.0.0.1", listening["smtp"], timeout=10) as client:
        for number in range(12):
            lines = b"\r\n".join(os.urandom(250).hex().encode() for _ in range(1_900))
            body = f"Subject: {number}\r\n\r\n".encode() + lines
            client.sendmail("a@example.org", [address], body)
    grown = store_bytes(deployment) - before
    # 12 MB sent: each message capped at 256 KB and stored once (not in the contact and again in its
    # event); beyond the identifier's 1 MB budget, the messages are counted, not stored.
    assert grown < 3 << 20, grown
    messages = [c for c in deployment.store.contacts() if c["details"]["stage"] == "data"]
    assert 1 <= len(messages) <= 4
    assert all(len(c["details"]["raw_base64"]) <= 262_144 * 4 // 3 + 4 and c["details"]["truncated"]
               for c in messages)
    events = deployment.store.events("contact")
    assert all("raw_base64" not in event["payload"]["details"] for event in events)
    tallied = sum(t["count"] for t in deployment.store.contact_tallies())
    assert len(deployment.store.contacts()) + tallied == 24   # 12 RCPTs and 12 messages, every one counted
    assert deployment.store.audit_tables() == [] and deployment.store.verify_evidence().ok


def test_an_edited_stored_message_is_caught_by_the_audit(deployment, listening):
    address = Issuer(deployment.store, deployment.settings).issue_token("email")["value"]
    with smtplib.SMTP("127.0.0.1", listening["smtp"], timeout=10) as client:
        client.sendmail("a@example.org", [address], b"Subject: x\r\n\r\nthe original\r\n")
    deployment.store.conn.execute("UPDATE raw_messages SET raw_base64 = 'AAAA'")
    assert any("no longer hashes" in problem for problem in deployment.store.audit_tables())
