"""The HTTP listener against attacker-sized fields (issue 11, defect 3), with a real client."""
import json
import time
import urllib.parse

import pytest
import requests

from canary.generation.issuing import Issuer
from listeners.http import HttpServer, json_signature


@pytest.fixture
def served(deployment, recorder):
    server = HttpServer(deployment.settings, recorder, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


def test_a_32_kb_host_header_is_answered_in_linear_time(served, deployment):
    token = Issuer(deployment.store, deployment.settings).issue_token("url")
    host = urllib.parse.urlsplit(token["value"]).hostname
    started = time.monotonic()
    for _ in range(4):   # took 28.6 s and 615 MB each before
        answer = requests.get(served + "/", headers={"Host": "a." * 16_000 + host}, timeout=30)
        assert answer.status_code == 404   # no DNS name is 32 KB long: no identifier in it
    assert time.monotonic() - started < 4
    # The same token in the path of such a request is still a contact, its host stored cut short.
    requests.get(f"{served}/{token['token']}", headers={"Host": "a." * 16_000 + host}, timeout=30)
    [contact] = deployment.store.contacts()
    assert contact["token"] == token["token"] and len(contact["details"]["host"]) <= 2048


def test_a_path_of_thousands_of_segments_is_answered_quickly(served):
    started = time.monotonic()
    assert requests.get(served + "/a" * 30_000, timeout=30).status_code == 404
    assert time.monotonic() - started < 2


def test_a_deeply_nested_signed_json_webhook_is_a_400_not_a_500(served, deployment):
    secret = deployment.settings["webhooks"]["hmac_secret"]
    body = b"[" * 100_000 + b"]" * 100_000
    answer = requests.post(served + "/hooks/json", data=body, timeout=30,
                           headers={"X-Canary-Signature": json_signature(secret, body),
                                    "Content-Type": "application/json"})
    assert answer.status_code == 400 and json.loads(answer.text)["error"]
