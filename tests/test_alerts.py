"""Alerts against a real local HTTP receiver and SMTP sink: content, throttling, retries, restarts."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import http.server
import json
import socket
import threading

import pytest
from aiosmtpd.controller import Controller

from canary.alerts import AlertWorker
from canary.alerts.channels import slack_escape
from canary.deployment import Deployment
from canary.settings import Settings


class Receiver:
    """A webhook receiver on 127.0.0.1 that fails the first `failures` requests with HTTP 503."""

    def __init__(self, failures: int = 0):
        self.failures = failures
        self.bodies: list[dict] = []
        self.headers: list[dict] = []
        self.attempts = 0
        self.received = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.attempts += 1
                if receiver.failures > 0:
                    receiver.failures -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.bodies.append(json.loads(body))
                receiver.headers.append(dict(self.headers))
                receiver.received.set()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()


class Sink:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_sink():
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.relay = f"127.0.0.1:{controller.port}"
    yield sink
    controller.stop()


class Clock:
    def __init__(self):
        self.moment = dt.datetime.now(dt.timezone.utc)

    def __call__(self):
        return self.moment

    def advance(self, seconds):
        self.moment += dt.timedelta(seconds=seconds)


def settings_with(deployment, **alerts):
    return Settings.load(deployment.settings.home, environ={},
                         overrides={"alerts": {"retry_base_seconds": 1, "retry_max_seconds": 8, **alerts},
                                    "dashboard": {"public_url": "https://canary.example.org"}})


def touch(store, canary_id, channel="dns", source="192.0.2.7:5353", time=None, details=None):
    canary = store.get_canary(canary_id)
    value = canary["identifiers"]["hostname"][0] if channel != "smtp" else canary["identifiers"]["email"][0]
    found = store.resolve(value)
    details = details or {"qname": value, "qtype": "A"}
    return store.record_contacts([{"channel": channel, "identifier_id": found["identifier_id"], "canary_id": canary_id,
                                   "source": source, "details": details, "time": time}])[0]


@pytest.fixture
def lab(deployment):
    """Two canaries in a target, no contact yet."""
    deployment.store.add_site("Labo Rennes Nord")
    target = deployment.store.add_target("lims-prod", "Labo Rennes Nord")
    ids = [deployment.store.add_canary({"first_name": "Maëlle", "last_name": "Guillou"}, label,
                                       [("hostname", f"{label}.canary.test"), ("email", f"m@{label}.canary.test")],
                                       target["id"]) for label in ("aaalabel01", "bbblabel02")]
    return ids


def test_webhook_alert_says_what_how_and_where(deployment, lab, receiver):
    settings = settings_with(deployment, webhook_url=receiver.url, webhook_secret="s3cret")
    worker = AlertWorker(deployment.store, settings)
    contact_id = touch(deployment.store, lab[0])
    assert worker.run_once() == {"sent": 1, "failed": 0}
    alert = receiver.bodies[0]
    assert alert["what"] == f"canary {lab[0]} (Maëlle Guillou)"
    assert (alert["canary_id"], alert["site"], alert["target"]) == (lab[0], "Labo Rennes Nord", "lims-prod")
    assert (alert["channel"], alert["source"], alert["contact_id"]) == ("dns", "192.0.2.7:5353", contact_id)
    assert alert["url"] == f"https://canary.example.org/canaries/{lab[0]}"
    import hashlib
    import hmac
    body = json.dumps(alert, sort_keys=True, ensure_ascii=False).encode()
    assert receiver.headers[0]["X-Canary-Signature"] == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()


def test_throttled_per_canary_and_channel_with_a_summary(deployment, lab, receiver):
    clock = Clock()
    worker = AlertWorker(deployment.store, settings_with(deployment, webhook_url=receiver.url, throttle_seconds=300),
                         now=clock)
    start = clock()
    at = lambda seconds: (start + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: E731
    touch(deployment.store, lab[0], time=at(0))
    for n in range(1, 6):  # a flood: five more DNS contacts within the window, two sources
        touch(deployment.store, lab[0], time=at(n), source=f"192.0.2.{n % 2}:53")
    touch(deployment.store, lab[0], channel="smtp", time=at(2), details={"subject": "hello"})  # other channel
    touch(deployment.store, lab[1], time=at(3))  # other canary
    worker.run_once()
    assert [(b["canary_id"], b["channel"]) for b in receiver.bodies] == [(lab[0], "dns"), (lab[0], "smtp"), (lab[1], "dns")]
    # The window closes with nothing new: a summary of the five held back.
    clock.advance(301)
    worker.run_once()
    summary = receiver.bodies[-1]
    assert summary["type"] == "summary" and summary["held_back"]["count"] == 5
    assert sorted(summary["held_back"]["sources"]) == ["192.0.2.0:53", "192.0.2.1:53"]
    assert len(deployment.store.contacts()) == 8  # throttling held alerts, never contacts


def test_next_contact_after_the_window_carries_the_held_back_summary(deployment, lab, receiver):
    clock = Clock()
    worker = AlertWorker(deployment.store, settings_with(deployment, webhook_url=receiver.url, throttle_seconds=60),
                         now=clock)
    start = clock() - dt.timedelta(seconds=200)
    at = lambda seconds: (start + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: E731
    for second in (0, 10, 20, 100):
        touch(deployment.store, lab[0], time=at(second))
    worker.queue_new_contacts()
    worker.deliver_due()
    assert len(receiver.bodies) == 2
    assert receiver.bodies[1]["type"] == "contact" and receiver.bodies[1]["held_back"]["count"] == 2


def test_a_receiver_that_fails_then_recovers_gets_everything_once(deployment, lab):
    receiver = Receiver(failures=3)
    try:
        clock = Clock()
        worker = AlertWorker(deployment.store, settings_with(deployment, webhook_url=receiver.url, throttle_seconds=0),
                             now=clock)
        for canary_id in lab:
            touch(deployment.store, canary_id)
        assert worker.run_once() == {"sent": 0, "failed": 1}
        assert worker.run_once() == {"sent": 0, "failed": 0}  # backing off: no request at all
        delays = []
        while len(receiver.bodies) < 2:
            retrying = [d for d in deployment.store.alert_deliveries() if d["state"] == "pending" and d["attempts"]]
            due = min(dt.datetime.fromisoformat(d["next_at"].replace("Z", "+00:00")) for d in retrying)
            delays.append(round((due - clock()).total_seconds()))
            clock.moment = due
            worker.run_once()
            assert len(delays) < 10
        assert delays == [1, 2, 4]  # exponential backoff, then both delivered in order
        assert [b["canary_id"] for b in receiver.bodies] == lab
        assert receiver.attempts == 5
        assert worker.run_once() == {"sent": 0, "failed": 0}
    finally:
        receiver.close()


def test_restart_neither_repeats_nor_loses(deployment, lab, receiver):
    settings = settings_with(deployment, webhook_url=receiver.url, throttle_seconds=0)
    touch(deployment.store, lab[0])
    AlertWorker(deployment.store, settings).run_once()
    touch(deployment.store, lab[1])  # recorded while no worker runs
    reopened = Deployment.open(deployment.settings.home)
    try:
        AlertWorker(reopened.store, settings).run_once()
    finally:
        reopened.close()
    assert [b["canary_id"] for b in receiver.bodies] == lab


def test_background_worker_delivers_and_stops(deployment, lab, receiver):
    worker = AlertWorker(deployment.store, settings_with(deployment, webhook_url=receiver.url, poll_seconds=0.05))
    worker.start()
    try:
        touch(deployment.store, lab[0])
        assert receiver.received.wait(10)
    finally:
        worker.stop()
    assert worker._thread is None and len(receiver.bodies) == 1


def test_email_through_a_relay(deployment, lab, smtp_sink):
    settings = settings_with(deployment, smtp_relay=smtp_sink.relay, email_from="canary@example.org",
                             email_to="soc@example.org, dpo@example.org")
    touch(deployment.store, lab[0], channel="smtp",  # the SMTP listener's shape: the subject among the headers
          details={"stage": "data", "headers": {"subject": "Résultats\r\nBcc: victim@example.net"}})
    assert AlertWorker(deployment.store, settings).run_once() == {"sent": 1, "failed": 0}
    envelope = smtp_sink.envelopes[0]
    assert envelope.rcpt_tos == ["soc@example.org", "dpo@example.org"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["Subject"] == f"[canary] canary {lab[0]} (Maëlle Guillou) touched via smtp (Labo Rennes Nord / lims-prod)"
    assert message["Bcc"] is None  # attacker text never reaches the headers
    assert f"https://canary.example.org/canaries/{lab[0]}" in message.get_content()
    assert "What: Résultats\\u000d Bcc: victim@example.net" in message.get_content()  # the subject, as inert text


def test_slack_text_is_escaped(deployment, lab, receiver):
    settings = settings_with(deployment, slack_url=receiver.url)
    touch(deployment.store, lab[0], details={"qname": "<!channel> <https://evil.example|click me>"})
    AlertWorker(deployment.store, settings).run_once()
    text = receiver.bodies[0]["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text and "<https://evil" not in text
    assert slack_escape("a & <b>") == "a &amp; &lt;b&gt;"


def test_jsonl_file_for_a_siem(deployment, lab):
    settings = settings_with(deployment, jsonl_path="alerts.jsonl")
    touch(deployment.store, lab[0])
    touch(deployment.store, lab[1])
    AlertWorker(deployment.store, settings).run_once()
    lines = (deployment.settings.home / "alerts.jsonl").read_text().splitlines()
    assert [json.loads(line)["canary_id"] for line in lines] == lab


def test_half_configured_email_is_a_clear_error(deployment):
    from canary.settings import SettingsError
    with pytest.raises(SettingsError, match="alerts.email_from, alerts.smtp_relay"):
        AlertWorker(deployment.store, settings_with(deployment, email_to="soc@example.org"))


class RawReceiver:
    """A misbehaving 'receiver' on 127.0.0.1: it answers every request with `reply` (bytes that are not
    HTTP), or with None accepts connections and never answers until closed."""

    def __init__(self, reply: bytes | None):
        self.reply = reply
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/hook"
        self.connected = threading.Event()
        self.connections = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections.append(connection)
            self.connected.set()
            if self.reply is not None:
                connection.recv(65536)
                connection.sendall(self.reply)
                connection.close()

    def close(self):
        for connection in self.connections:
            connection.close()
        self.server.close()


def test_a_hanging_channel_never_delays_recording(deployment, lab):
    import dns.message
    import dns.query

    from listeners.runner import Listeners
    hanging = RawReceiver(reply=None)
    settings = settings_with(deployment, webhook_url=hanging.url, timeout_seconds=30, poll_seconds=0.05)
    listeners = Listeners(settings, deployment.store, log=lambda line: None,
                          workers=[AlertWorker(deployment.store, settings)],
                          listen={"dns": "127.0.0.1:0", "smtp": "off", "http": "off"})
    listeners.start()
    try:
        port = listeners.servers["dns"].port
        dns.query.udp(dns.message.make_query("aaalabel01.canary.test", "A"), "127.0.0.1", port=port, timeout=5)
        assert hanging.connected.wait(10)  # the worker is now stuck in the webhook for up to 30 s
        # While it hangs, the listener answers (after storing) as fast as ever.
        reply = dns.query.udp(dns.message.make_query("bbblabel02.canary.test", "A"), "127.0.0.1", port=port, timeout=5)
        assert reply.answer
        assert [c["canary_id"] for c in deployment.store.contacts()] == lab
        assert not [d for d in deployment.store.alert_deliveries() if d["state"] == "sent"]
    finally:
        hanging.close()  # the webhook call fails now, so the worker stops at once
        listeners.stop()


def test_worker_for_a_deployment_without_channels_starts_as_a_no_op(deployment):
    from canary.alerts import worker_for
    worker = worker_for(deployment)
    worker.start()
    assert worker._thread is None
    worker.stop()


def test_standalone_tokens_alert_and_summarise_too(deployment, receiver):
    from canary.generation.issuing import Issuer
    token = Issuer(deployment.store, deployment.settings).issue_token("dns", "runbook")
    clock = Clock()
    worker = AlertWorker(deployment.store, settings_with(deployment, webhook_url=receiver.url), now=clock)
    found = deployment.store.resolve(token["value"])
    for _ in range(3):
        deployment.store.record_contacts([{"channel": "dns", "identifier_id": found["identifier_id"],
                                           "token_id": found["token_id"], "source": "192.0.2.9:53",
                                           "details": {"qname": token["value"]}}])
    worker.run_once()
    clock.advance(301)
    worker.run_once()
    assert [(b["type"], b["what"]) for b in receiver.bodies] == [("contact", f"token {token['token']}"),
                                                                  ("summary", f"token {token['token']}")]
    assert receiver.bodies[1]["held_back"]["count"] == 2


def test_a_webhook_url_that_is_not_http_is_refused(deployment):
    from canary.settings import SettingsError
    with pytest.raises(SettingsError, match="alerts.slack_url must be an http"):
        AlertWorker(deployment.store, settings_with(deployment, slack_url="file:///etc/passwd"))


def test_a_receiver_answering_garbage_backs_off_and_never_holds_up_other_channels(deployment, lab):
    garbage = RawReceiver(reply=b"garbage\r\n\r\n")
    try:
        clock = Clock()
        worker = AlertWorker(deployment.store, settings_with(deployment, webhook_url=garbage.url,
                                                             jsonl_path="alerts.jsonl"), now=clock)
        touch(deployment.store, lab[0])
        assert worker.run_once() == {"sent": 1, "failed": 1}
        assert [json.loads(line)["canary_id"] for line in
                (deployment.settings.home / "alerts.jsonl").read_text().splitlines()] == [lab[0]]
        webhook = next(d for d in deployment.store.alert_deliveries() if d["destination"] == "webhook")
        assert (webhook["state"], webhook["attempts"]) == ("pending", 1)
        assert "bad HTTP reply" in webhook["last_error"]
        assert worker.run_once() == {"sent": 0, "failed": 0}  # backing off, as for any other failure
    finally:
        garbage.close()


def test_a_long_queue_for_a_dead_channel_never_starves_the_others(deployment, lab, monkeypatch):
    from canary.alerts import worker as worker_module
    monkeypatch.setattr(worker_module, "BATCH", 3)  # as if hundreds of alerts had queued for a dead webhook
    settings = settings_with(deployment, webhook_url=f"http://127.0.0.1:{free_port()}/", jsonl_path="alerts.jsonl",
                             throttle_seconds=0, timeout_seconds=1)
    worker = AlertWorker(deployment.store, settings)
    for _ in range(4):
        touch(deployment.store, lab[0])
    for _ in range(3):
        worker.run_once()
    assert len((deployment.settings.home / "alerts.jsonl").read_text().splitlines()) == 4
    webhook = [d for d in deployment.store.alert_deliveries() if d["destination"] == "webhook"]
    assert sorted(d["attempts"] for d in webhook) == [0, 0, 0, 1]  # one try, then it backs off; the rest wait


def test_two_workers_on_one_deployment_send_each_alert_once(deployment, lab, receiver):
    from canary.alerts.channels import WebhookChannel
    settings = settings_with(deployment, webhook_url=receiver.url, throttle_seconds=0)
    other = Deployment.open(deployment.settings.home)  # `canary alerts run` beside `canary serve`
    second = AlertWorker(other.store, settings)

    class SlowWebhook(WebhookChannel):
        def send(self, alert):
            if alert["canary_id"] == lab[0]:
                second.deliver_due()  # the other worker polls while this one is still sending
            super().send(alert)

    first = AlertWorker(deployment.store, settings, channels={"webhook": SlowWebhook(receiver.url)})
    try:
        for canary_id in lab:
            touch(deployment.store, canary_id)
        first.queue_new_contacts()
        first.deliver_due()
        second.deliver_due()
    finally:
        other.close()
    assert sorted(body["canary_id"] for body in receiver.bodies) == sorted(lab)  # each once


def test_each_alert_carries_its_contacts_evidence_anchor(deployment, lab):
    from canary.evidence.chain import parse_anchor
    from canary.evidence.verification import verify_store
    settings = settings_with(deployment, jsonl_path="alerts.jsonl")
    touch(deployment.store, lab[0])
    AlertWorker(deployment.store, settings).run_once()
    alert = json.loads((deployment.settings.home / "alerts.jsonl").read_text().splitlines()[0])
    seq, digest = parse_anchor(alert["evidence"])
    assert deployment.store.contacts()[0]["evidence_seq"] == seq
    assert verify_store(deployment.store, [(seq, digest)]).ok
