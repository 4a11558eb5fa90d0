"""The HTTP listener with a real HTTP client: token URLs, Twilio and JSON webhooks, bad signatures."""
import json
import urllib.parse

import pytest
import requests

from canary.generation.issuing import Issuer
from canary.settings import Settings
from listeners.http import GIF, HttpServer, json_signature, twilio_signature


def start(settings, recorder):
    server = HttpServer(settings, recorder, "127.0.0.1", 0).start()
    return server, f"http://127.0.0.1:{server.port}"


@pytest.fixture
def served(deployment, recorder):
    server, base = start(deployment.settings, recorder)
    yield base
    server.stop()


@pytest.fixture
def issuer(deployment):
    return Issuer(deployment.store, deployment.settings)


def test_token_in_the_host_name_gets_a_gif_and_is_recorded(served, deployment, issuer):
    token = issuer.issue_token("url")
    host = urllib.parse.urlsplit(token["value"]).hostname
    answer = requests.get(served + "/logo.png?u=1", headers={"Host": host.upper(), "User-Agent": "curl/8.0"})
    assert answer.status_code == 200 and answer.content == GIF and answer.headers["Content-Type"] == "image/gif"
    [contact] = deployment.store.contacts()
    assert contact["channel"] == "http" and contact["token"] == token["token"]
    details = contact["details"]
    assert (details["method"], details["path"], details["query"], details["user_agent"]) == \
        ("GET", "/logo.png", "u=1", "curl/8.0")
    assert contact["source"].startswith("127.0.0.1:")


def test_token_in_the_path_and_a_browser_gets_a_plain_page(served, deployment, issuer):
    token = issuer.issue_token("dns")
    answer = requests.get(f"{served}/docs/{token['token']}", headers={"Accept": "text/html,*/*"})
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
    assert deployment.store.contacts()[0]["token"] == token["token"]


def test_unknown_url_is_a_small_404_and_counted(served, deployment, recorder):
    assert requests.get(served + "/wp-login.php").status_code == 404
    recorder.stop()
    recorder.start()
    assert deployment.store.contacts() == []
    assert [(r["channel"], r["kind"]) for r in deployment.store.unknown_counts()] == [("http", "path")]


def test_forwarded_for_is_trusted_only_from_the_configured_proxy(deployment, recorder, issuer):
    token = issuer.issue_token("dns")
    for proxy, expected in (("", "127.0.0.1:"), ("127.0.0.1", "198.51.100.7")):
        settings = Settings.load(deployment.settings.home, overrides={"http": {"trusted_proxy": proxy}})
        server, base = start(settings, recorder)
        try:
            requests.get(f"{base}/{token['token']}", headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.7"})
        finally:
            server.stop()
        assert deployment.store.contacts()[-1]["source"].startswith(expected)


def twilio_post(base, path, token, params, public=None, signature=None):
    url = (public or base) + path
    signature = signature or twilio_signature(token, url, {k: [v] for k, v in params.items()})
    return requests.post(base + path, data=params, headers={"X-Twilio-Signature": signature})


def test_signed_twilio_sms_is_recorded_and_answered_with_empty_twiml(served, deployment, issuer):
    phone = issuer.issue_token("phone")["value"]
    token = deployment.settings["webhooks"]["twilio_auth_token"]
    params = {"From": "+33612345678", "To": phone, "Body": "Votre colis", "MessageSid": "SM123",
              "AccountSid": "AC1"}
    answer = twilio_post(served, "/hooks/twilio/sms", token, params)
    assert answer.status_code == 200 and answer.text.endswith("<Response/>")
    [contact] = deployment.store.contacts()
    assert (contact["channel"], contact["identifier"], contact["source"]) == ("sms", phone, "+33612345678")
    assert contact["details"]["body"] == "Votre colis" and contact["details"]["MessageSid"] == "SM123"


def test_twilio_signature_matches_twilios_documented_example():
    # The example of Twilio's "Webhooks security" page: URL, sorted POST parameters, auth token 12345.
    params = {"CallSid": ["CA1234567890ABCDE"], "Caller": ["+12349013030"], "Digits": ["1234"],
              "From": ["+12349013030"], "To": ["+18005551212"]}
    assert twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params) == \
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_twilio_call_with_a_public_url_behind_a_proxy(deployment, recorder, issuer):
    phone = issuer.issue_token("phone")["value"]
    settings = Settings.load(deployment.settings.home,
                             overrides={"webhooks": {"public_url": "https://hooks.canary.test/"}})
    server, base = start(settings, recorder)
    try:
        params = {"From": "+33799999999", "To": phone, "CallSid": "CA9", "CallStatus": "ringing"}
        answer = twilio_post(base, "/hooks/twilio/voice", settings["webhooks"]["twilio_auth_token"], params,
                             public="https://hooks.canary.test")
    finally:
        server.stop()
    assert answer.status_code == 200
    assert [c["channel"] for c in deployment.store.contacts()] == ["call"]


def test_bad_twilio_signature_is_refused_and_not_recorded(served, deployment, issuer, caplog):
    phone = issuer.issue_token("phone")["value"]
    answer = twilio_post(served, "/hooks/twilio/sms", "wrong-token", {"From": "+33612345678", "To": phone})
    assert answer.status_code == 403
    assert deployment.store.contacts() == []
    assert "bad X-Twilio-Signature" in caplog.text


def test_generic_json_webhook_with_hmac(served, deployment, issuer):
    phone = issuer.issue_token("phone")["value"]
    secret = deployment.settings["webhooks"]["hmac_secret"]
    body = json.dumps({"channel": "call", "from": "+33700000000", "to": phone, "time": "2026-11-28T10:00:00Z"})
    bad = requests.post(served + "/hooks/json", data=body, headers={"X-Canary-Signature": "sha256=00"})
    assert bad.status_code == 403
    good = requests.post(served + "/hooks/json", data=body,
                         headers={"X-Canary-Signature": json_signature(secret, body.encode())})
    assert good.status_code == 200
    [contact] = deployment.store.contacts()
    assert contact["channel"] == "call" and contact["details"]["provider_time"] == "2026-11-28T10:00:00Z"


def test_a_silent_connection_is_closed_after_the_idle_time(deployment, recorder):
    import socket
    server = HttpServer(deployment.settings, recorder, "127.0.0.1", 0, idle_seconds=0.3).start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
            conn.sendall(b"GET / HTTP/1.1\r\n")          # and then nothing
            assert conn.recv(1024) == b""
    finally:
        server.stop()


def test_any_method_and_any_path_bytes_to_a_token_url_are_recorded(served, deployment, issuer):
    """A newline in the path or an unusual method must not turn a contact into a silent 404."""
    token = issuer.issue_token("dns")["token"]
    answers = [requests.get(f"{served}/{token}/%0aline%0d%1b[31m"), requests.delete(f"{served}/{token}"),
               requests.patch(f"{served}/{token}"), requests.request("PROPFIND", f"{served}/{token}")]
    assert [a.status_code for a in answers] == [200] * 4
    assert all("werkzeug" not in a.headers.get("Server", "").lower() + a.text.lower() for a in answers)
    contacts = deployment.store.contacts(token=token)
    assert [c["details"]["method"] for c in contacts] == ["GET", "DELETE", "PATCH", "PROPFIND"]
    assert contacts[0]["details"]["path"] == f"/{token}/\nline\r\x1b[31m"
    missing = requests.request("PROPFIND", f"{served}/nothing/%0a")
    assert missing.status_code == 404 and missing.text == "Not Found\n"


def test_twilio_signature_over_the_url_with_its_standard_port_is_accepted(deployment, recorder, issuer):
    """Twilio sometimes signs "https://host:443/..." for a webhook configured as "https://host/...": its libraries accept both."""
    phone = issuer.issue_token("phone")["value"]
    settings = Settings.load(deployment.settings.home,
                             overrides={"webhooks": {"public_url": "https://hooks.canary.test"}})
    server, base = start(settings, recorder)
    token = settings["webhooks"]["twilio_auth_token"]
    params = {"From": "+33612345678", "To": phone, "Body": "colis"}
    try:
        answers = [twilio_post(base, "/hooks/twilio/sms", token, params, public="https://hooks.canary.test:443"),
                   twilio_post(base, "/hooks/twilio/sms", token, params, public="https://hooks.canary.test:8443"),
                   requests.post(base + "/hooks/twilio/sms", data=params, headers={"X-Twilio-Signature": "é"}),
                   requests.post(base + "/hooks/json", data=b"{}", headers={"X-Canary-Signature": "sha256=é"})]
    finally:
        server.stop()
    assert [a.status_code for a in answers] == [200, 403, 403, 403]     # another port is another URL
    assert [c["channel"] for c in deployment.store.contacts()] == ["sms"]


def test_a_lone_surrogate_in_a_signed_json_webhook_is_stored_spelled_out(served, deployment, issuer):
    """JSON may escape a lone surrogate ("\\ud800") that UTF-8 cannot store: the contact must not be lost to it."""
    phone = issuer.issue_token("phone")["value"]
    secret = deployment.settings["webhooks"]["hmac_secret"]
    body = ('{"channel": "sms", "from": "+3361234\\udc00", "to": "%s", "body": "\\ud800 colis"}' % phone).encode()
    answer = requests.post(served + "/hooks/json", data=body, headers={"X-Canary-Signature": json_signature(secret, body)})
    assert answer.status_code == 200
    [contact] = deployment.store.contacts()
    assert (contact["source"], contact["details"]["body"]) == ("+3361234\\udc00", "\\ud800 colis")
    assert deployment.store.verify_evidence().ok


def test_a_flood_of_idle_connections_holds_a_bounded_number_of_threads(deployment, recorder, issuer):
    import socket
    token = issuer.issue_token("dns")["token"]
    server = HttpServer(deployment.settings, recorder, "127.0.0.1", 0, idle_seconds=30, max_connections=2).start()
    try:
        held = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(2)]
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as third:
            assert third.recv(1024) == b""                 # closed at once: no third thread
        held[0].sendall(f"GET /{token} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        assert held[0].recv(1024).startswith(b"HTTP/1.1 200")
        for conn in held:
            conn.close()
    finally:
        server.stop()
    assert len(deployment.store.contacts()) == 1


def test_stopping_a_stopped_listener_is_harmless(deployment, recorder):
    """A second stop (a test's finally after a failure, a shutdown racing a signal) found the loop's
    trigger closed and raised EBADF from waitress (seen once in CI)."""
    server, base = start(deployment.settings, recorder)
    assert requests.get(base + "/", timeout=5).status_code in (200, 404)
    server.stop()
    server.stop()

