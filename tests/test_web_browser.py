"""The dashboard in headless Chromium (Debian's, driven by Playwright): what a person sees and does."""
from __future__ import annotations

import pathlib
import threading
import time

import pytest
from services import service_missing
from werkzeug.serving import make_server

from conftest import ADMIN_PASSWORD
from test_web_views import PAYLOADS, record_hostile_contacts

CHROMIUM = pathlib.Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        service_missing("no /usr/bin/chromium: run .ci/services.sh (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def server(app):
    """The dashboard on 127.0.0.1, a free port, in a thread."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join()


@pytest.fixture
def page(browser, server, demo_lab):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.dialogs = []
    opened.on("dialog", lambda dialog: (opened.dialogs.append(dialog.message), dialog.dismiss()))
    opened.goto(server + "/")
    opened.fill("input[name=username]", "admin")
    opened.fill("input[name=password]", ADMIN_PASSWORD)
    opened.click("button[type=submit]")
    opened.wait_for_selector("h1:text-is('Overview')")
    yield opened
    context.close()


@pytest.fixture
def dns_listener(deployment):
    """The real DNS listener on a free port when listeners/ is installed, else None."""
    try:
        from listeners.dns import Authority
        from listeners.dns_server import DnsServer
        from listeners.recorder import Recorder
    except ImportError:
        yield None
        return
    recorder = Recorder(deployment.store, unknown_flush_seconds=0.2).start()
    server = DnsServer(Authority.from_settings(deployment.settings), recorder, "127.0.0.1", 0, rrl_rate=0).start()
    yield server
    server.stop()
    recorder.stop()


def dns_contact(store, dns_listener, canary_id: int, qname: str) -> int:
    """Make a DNS contact for `qname` and return its id once it is stored."""
    before = store.last_contact_id()  # the canary already has contacts: wait for the new one
    if dns_listener is None:
        # TODO(listeners): until listeners/dns.py is on main, record the contact as the listener would.
        found = store.resolve(qname.lower())
        store.record_contacts([{"channel": "dns", "identifier_id": found["identifier_id"], "canary_id": canary_id,
                                "source": "127.0.0.1:53530", "details": {"qname": qname, "qtype": "A"}}])
    else:
        import dns.message
        import dns.query
        dns.query.udp(dns.message.make_query(qname, "A"), "127.0.0.1", port=dns_listener.port, timeout=3)
    deadline = time.monotonic() + 10  # the recorder writes in its own thread: wait until it has
    while time.monotonic() < deadline:
        stored = store.search_contacts(canary_id=canary_id, channel="dns", limit=1)
        if stored and stored[0]["id"] > before:
            return stored[0]["id"]
        time.sleep(0.02)
    raise AssertionError(f"no DNS contact stored for {qname}")


def test_log_in_see_a_contact_appear_and_open_its_canary(page, server, demo_lab, deployment, dns_listener):
    assert page.locator("table.targets").inner_text().count("Laboratoire Rennes Nord") == 2
    canary_id = demo_lab.leaked[0]
    canary = deployment.store.get_canary(canary_id)
    qname = canary["identifiers"]["hostname"][0].upper()
    contact_id = dns_contact(deployment.store, dns_listener, canary_id, qname)
    page.reload()
    row = page.locator(f"tr.contact[data-contact-id='{contact_id}']")
    assert qname in row.inner_text() and "127.0.0.1:" in row.inner_text()
    row.get_by_role("link").click()
    page.wait_for_url(f"{server}/canaries/{canary_id}")
    name = f"{canary['patient']['first_name']} {canary['patient']['last_name']}"
    assert page.locator("h1").inner_text().startswith(f"Canary {canary_id}: {name}")
    detail = page.locator(f"article.contact-detail[data-contact-id='{contact_id}']")
    assert qname in detail.inner_text()


def test_stored_script_payloads_stay_inert(page, server, demo_lab, deployment):
    canary_id = demo_lab.leaked[1]
    record_hostile_contacts(deployment.store, canary_id)
    for path in ("/", "/contacts", f"/canaries/{canary_id}"):
        page.goto(server + path)
        page.wait_for_load_state("load")
        # Nothing ran and nothing was injected: no script, image or svg handler exists in the page.
        assert page.dialogs == []
        assert page.locator("script").count() == 0
        assert page.locator("img").count() == 0
        assert page.locator("svg[onload], [onerror], b").count() == 0
        text = page.locator("main").inner_text()
        assert "<script>alert('source')</script>" in text  # shown as the text it was
    text = page.locator("main").inner_text()
    for details in PAYLOADS.values():
        for value in details.values():
            assert value.replace("\u202e", "\\u202e") in text
