"""The dashboard attacks of issue 11 (defects 8, and the uploads of 1 and 5) against the real server: the dashboard on
waitress on 127.0.0.1, real HTTP clients from several loopback addresses (the per-address limit
counts the socket's peer, as it would on the internet).

Before: 60 parallel wrong passwords from one address got 26 checked (limit 10); 300 addresses
got 300 tries; the failure table reset at 10,000 addresses, unlocking a locked account; logout
left the old session cookie valid.
"""
import concurrent.futures
import http.client
import re
import urllib.parse

import pytest
from conftest import ADMIN_PASSWORD, csrf_from

from canary import accounts
from canary.web.serving import dashboard_server


@pytest.fixture
def dashboard(deployment):
    """(port, settings) of the real dashboard server; limits lowered per test before it starts."""
    if deployment.store.find_user("admin") is None:
        accounts.set_password(deployment.store, "admin", ADMIN_PASSWORD)
    started = []

    def start(**limits):
        deployment.settings.values["dashboard"].update(limits)
        server = dashboard_server(deployment.settings, "127.0.0.1", 0).start()
        started.append(server)
        return server.port
    yield start
    for server in started:
        server.stop()


def request(port, method, path, *, source="127.0.0.1", cookie=None, form=None):
    """(status, headers, body) of one request from `source`, on a connection of its own."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        headers = {"Cookie": f"canary_session={cookie}"} if cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.headers, answer.read().decode()
    finally:
        connection.close()


def login_form(port, source="127.0.0.1"):
    """(cookie, csrf token) of a fresh login page."""
    _, headers, body = request(port, "GET", "/login", source=source)
    cookie = re.search(r"canary_session=([^;]+)", headers["Set-Cookie"]).group(1)
    return cookie, csrf_from(body)


def attempt(port, source, username="admin", password="guess guess guess"):
    cookie, token = login_form(port, source)
    return request(port, "POST", "/login", source=source, cookie=cookie,
                   form={"csrf_token": token, "username": username, "password": password})


def test_parallel_wrong_passwords_from_one_address_get_exactly_the_limit_checked(dashboard):
    port = dashboard()
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        codes = [status for status, _, _ in pool.map(lambda _: attempt(port, "127.8.0.1"), range(60))]
    assert codes.count(401) == 10 and codes.count(429) == 50, codes


def test_many_addresses_meet_the_account_and_global_limits_and_cannot_unlock_it(dashboard):
    port = dashboard(login_failures_per_account=5, login_failures_global=8)
    codes = [attempt(port, f"127.9.0.{n}")[0] for n in range(1, 20)]
    assert codes.count(401) == 5 and codes[5:] == [429] * 14          # the account's limit
    others = [attempt(port, f"127.10.0.{n}", username=f"user{n}")[0] for n in range(1, 20)]
    assert others.count(401) == 3 and others[3:] == [429] * 16        # the global limit: 8 in all
    assert attempt(port, "127.11.0.1", password=ADMIN_PASSWORD)[0] == 429    # still locked


def test_logout_ends_the_session_server_side(dashboard):
    port = dashboard()
    cookie, token = login_form(port)
    status, headers, _ = request(port, "POST", "/login", cookie=cookie,
                                 form={"csrf_token": token, "username": "admin", "password": ADMIN_PASSWORD})
    assert status == 302
    stolen = session_of(headers, cookie)
    status, headers, page = request(port, "GET", "/", cookie=stolen)
    assert status == 200
    current = session_of(headers, stolen)
    assert request(port, "POST", "/logout", cookie=current, form={"csrf_token": csrf_from(page)})[0] == 302
    assert request(port, "GET", "/", cookie=stolen)[0] == 302        # copies taken before logout
    assert request(port, "GET", "/", cookie=current)[0] == 302


def session_of(headers, cookie: str) -> str:
    """The session cookie a response set, else the one sent."""
    found = re.search(r"canary_session=([^;]+)", headers.get("Set-Cookie") or "")
    return found.group(1) if found else cookie


def test_uploads_of_hostile_files_end_in_a_page_without_the_temporary_path(dashboard, tmp_path):
    """Defects 1, 5 and 8 through the real server: a gzip followed by zero padding looped forever in
    a dashboard worker after the client gave up; a zip needing "version 9.2" was a 500; the error
    page named the upload's temporary path."""
    import requests

    import hostile_files
    port = dashboard()
    with requests.Session() as client:
        base = f"http://127.0.0.1:{port}"
        token = csrf_from(client.get(base + "/login", timeout=10).text)
        assert client.post(base + "/login", data={"csrf_token": token, "username": "admin",
                                                  "password": ADMIN_PASSWORD}, timeout=30).ok
        pages = []
        for path in (hostile_files.padded(tmp_path, "gz"), hostile_files.zip_version(tmp_path)):
            token = csrf_from(client.get(base + "/scan", timeout=10).text)
            pages.append(client.post(base + "/scan", data={"csrf_token": token},
                                     files={"file": (path.name, path.read_bytes())}, timeout=30))
    assert pages[0].status_code == 200 and "(scan 1, evidence" in pages[0].text
    assert pages[1].status_code == 200 and "version 9.2" in pages[1].text
    assert "canary-upload-" not in pages[1].text and "/tmp" not in pages[1].text
