"""`canary serve` as a real process: readiness, one line per contact, clean stop, and SIGKILL durability."""
import json
import os
import pathlib
import random
import re
import signal
import smtplib
import socket
import subprocess
import sys
import threading

import dns.message
import dns.query
import pytest
import requests

from canary.deployment import Deployment
from canary.generation.issuing import Issuer
from canary.generation.patients import generate_patient
from listeners.runner import Listeners


def start_serve(home, **environ):
    canary = pathlib.Path(sys.executable).parent / "canary"
    process = subprocess.Popen([str(canary), "serve", "--home", str(home), "--dns", "127.0.0.1:0",
                                "--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1", **environ})
    ports, lines = {}, []
    for line in process.stdout:
        lines.append(line)
        found = re.match(r"(dns|smtp|http) listening on 127\.0\.0\.1:(\d+)", line)
        if found:
            ports[found[1]] = int(found[2])
        if line.startswith("ready"):
            return process, ports
    raise AssertionError("canary serve did not start:\n" + "".join(lines))


def drain(process) -> threading.Thread:
    """Read what `canary serve` prints (one line per contact) so that a full pipe never blocks it;
    join the thread returned after the process ended (it closes the pipe)."""
    def read():
        for _ in process.stdout:
            pass
        process.stdout.close()
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


@pytest.fixture
def tokens(home):
    deployment = Deployment.open(home)
    issuer = Issuer(deployment.store, deployment.settings)
    made = {kind: issuer.issue_token(kind) for kind in ("dns", "email")}
    deployment.close()
    return made


def test_acknowledged_contacts_survive_sigkill(home, tokens):
    # One client sends 300 queries: without the rate limit, so that every one is answered.
    process, ports = start_serve(home, CANARY_DNS_RRL_RATE="0")
    try:
        acknowledged = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(5)
            # Windows of 50 queries in flight: many land in one group commit.
            for window in range(6):
                names = [f"n{window}x{n}.{tokens['dns']['value']}" for n in range(50)]
                for name in names:
                    sock.sendto(dns.message.make_query(name, "A").to_wire(), ("127.0.0.1", ports["dns"]))
                for _ in names:
                    acknowledged.append(dns.message.from_wire(sock.recv(4096)).question[0].name.to_text())
        client = smtplib.SMTP("127.0.0.1", ports["smtp"], timeout=5)
        client.ehlo("x")
        client.mail("a@example.org")
        assert client.rcpt(tokens["email"]["value"])[0] == 250
        assert requests.get(f"http://127.0.0.1:{ports['http']}/{tokens['dns']['token']}").status_code == 200
        process.kill()                     # SIGKILL: no chance to flush anything
        process.wait(10)
        client.close()
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
    deployment = Deployment.open(home)
    try:
        contacts = deployment.store.contacts()
        stored = {c["details"].get("qname") for c in contacts if c["channel"] == "dns"}
        assert len(acknowledged) == 300 and set(acknowledged) <= stored
        assert {c["channel"] for c in contacts} == {"dns", "smtp", "http"}
        assert deployment.store.verify_evidence().ok
    finally:
        deployment.close()


def test_sigterm_stops_cleanly_after_logging_each_contact(home, tokens):
    process, ports = start_serve(home)
    try:
        dns.query.udp(dns.message.make_query(tokens["dns"]["value"].upper(), "A"), "127.0.0.1",
                      port=ports["dns"], timeout=5)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert re.search(rf"dns {tokens['dns']['value']} token {tokens['dns']['token']} from 127\.0\.0\.1:\d+: A ", output)
    assert output.rstrip().endswith("stopped")


def test_what_clients_send_reaches_the_serve_log_escaped(home, tokens):
    """aiosmtpd logs an unknown command as sent: an ESC or a CR there must not reach the operator's terminal."""
    process, ports = start_serve(home)
    try:
        with socket.create_connection(("127.0.0.1", ports["smtp"]), timeout=5) as conn:
            replies = conn.makefile("rb")
            replies.readline()
            conn.sendall(b"\x1b[31mX\rERROR forged\r\nQUIT\r\n")
            assert replies.readline().startswith(b"500") and replies.readline().startswith(b"221")
            replies.close()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    [warning] = [line for line in output.splitlines() if "unrecognised" in line]
    assert warning.endswith("unrecognised: \\u001b[31MX\\u000dERROR")
    assert "\x1b" not in output and "\r" not in output


class Worker:
    def __init__(self):
        self.events = []

    def start(self):
        self.events.append("start")

    def stop(self):
        self.events.append("stop")


def test_listeners_start_extra_workers_and_a_canary_mx_reaches_smtp(deployment):
    """A registered canary: its mail domain's MX names our SMTP host, and mail to it is recorded."""
    target = deployment.store.add_target("prod", deployment.store.add_site("Labo")["name"])
    canary = Issuer(deployment.store, deployment.settings).register_canary(
        generate_patient(random.Random(7), mail_domain="canary.test"), target["id"])
    email = canary["identifiers"]["email"][0]
    worker, lines = Worker(), []
    listeners = Listeners(deployment.settings, deployment.store, workers=[worker], log=lines.append,
                          listen={"dns": "127.0.0.1:0", "smtp": "127.0.0.1:0", "http": "off"}).start()
    try:
        mx = dns.query.udp(dns.message.make_query(email.split("@")[1].upper(), "MX"), "127.0.0.1",
                           port=listeners.servers["dns"].port, timeout=5)
        assert mx.answer[0][0].exchange.to_text() == "mx.canary.test."
        client = smtplib.SMTP("127.0.0.1", listeners.servers["smtp"].port, timeout=5)
        client.sendmail("a@example.org", [email], b"Subject: x\r\n\r\nhello\r\n")
        client.quit()
    finally:
        listeners.stop()
    assert worker.events == ["start", "stop"]
    contacts = deployment.store.contacts()
    assert [(c["channel"], c["site"], c["target"]) for c in contacts] == [("dns", "Labo", "prod")] + \
        [("smtp", "Labo", "prod")] * 2
    assert sum(" canary " in line and "(Labo/prod)" in line for line in lines) == 3


def test_hits_json_lists_contacts_since_a_time(invoke, deployment, tokens):
    ident = deployment.store.resolve(tokens["dns"]["value"])
    deployment.store.record_contacts([
        {"time": "2026-01-01T00:00:00.000000Z", "channel": "dns", "identifier_id": ident["identifier_id"],
         "token_id": ident["token_id"], "source": "192.0.2.1:53", "details": {"qname": "old"}},
        {"time": "2026-06-01T00:00:00.000000Z", "channel": "dns", "identifier_id": ident["identifier_id"],
         "token_id": ident["token_id"], "source": "192.0.2.2:53", "details": {"qname": "new"}}])
    rows = json.loads(invoke("hits", "--json", "--since", "2026-03-01").output)
    assert [(r["time"], r["channel"], r["identifier"], r["token"], r["source"]) for r in rows] == \
        [("2026-06-01T00:00:00.000000Z", "dns", tokens["dns"]["value"], tokens["dns"]["token"], "192.0.2.2:53")]
    assert {"time", "channel", "identifier", "canary_id", "token", "site", "target", "source", "details"} <= set(rows[0])
    assert "192.0.2.1:53" in invoke("hits").output
    assert "bad time" in invoke("hits", "--since", "yesterday", expect_exit=1).output


def test_serve_reports_a_bad_or_busy_address_in_one_line(invoke):
    assert "bad listen address 'nonsense'" in invoke("serve", "--dns", "nonsense", expect_exit=1).output
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("serve", "--dns", "off", "--smtp", "off", "--http", f"127.0.0.1:{port}", expect_exit=1)
    assert "in use" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_what_an_attacker_sends_cannot_forge_or_colour_a_log_line(deployment, invoke, tokens):
    """A newline, CR or ESC in a query name, a URL path or a caller ID stays inside its one escaped line."""
    import dns.name
    lines = []
    listeners = Listeners(deployment.settings, deployment.store, log=lines.append,
                          listen={"dns": "127.0.0.1:0", "smtp": "off", "http": "127.0.0.1:0"}).start()
    forged = "\n2026-01-01T00:00:00.000000Z dns forged"
    try:
        name = dns.name.Name([forged.encode(), b"\x1b[2J\x1b[31m", *dns.name.from_text(tokens["dns"]["value"]).labels])
        assert dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1", port=listeners.servers["dns"].port,
                             timeout=5).answer
        base = f"http://127.0.0.1:{listeners.servers['http'].port}/{tokens['dns']['token']}"
        assert requests.get(base + "/%0d%1b[31m%e2%80%a8red").status_code == 200
    finally:
        listeners.stop()
    contact_lines = lines[2:]                # after the two "listening on" lines: one line per contact
    assert len(contact_lines) == 2
    for line in contact_lines:
        assert not any(ord(char) < 32 or char in "\x7f\u2028" for char in line), repr(line)
    assert "A \\n2026-01-01T00:00:00" in contact_lines[0]
    stored = deployment.store.contacts()
    assert stored[0]["details"]["qname"].startswith("\n2026") and "\x1b[2J" in stored[0]["details"]["qname"]
    ident = deployment.store.resolve(tokens["dns"]["value"])     # a caller ID from a provider webhook
    deployment.store.record_contacts([{"channel": "sms", "identifier_id": ident["identifier_id"],
                                       "token_id": ident["token_id"], "source": "+336\x1b[31m\nx", "details": {}}])
    table = invoke("hits").output
    assert "\x1b" not in table and len(table.strip().splitlines()) == 1 + 3


def test_a_port_in_use_names_the_listener_and_its_address(deployment):
    import socket

    from listeners.runner import Listeners
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        listeners = Listeners(deployment.settings, deployment.store, log=lambda line: None,
                              listen={"dns": "off", "smtp": f"127.0.0.1:{port}", "http": "off"})
        with pytest.raises(OSError, match=rf"smtp listener cannot listen on 127.0.0.1:{port}: Address already in use"):
            listeners.start()
    finally:
        taken.close()
