"""The dashboard in headless Chromium (Debian's, driven by Playwright): what a person sees and does."""
from __future__ import annotations

import pathlib
import threading

import pytest
from services import service_missing
from werkzeug.serving import make_server

from conftest import ADMIN_PASSWORD
from test_web_views import MAIL_SUBJECT, SHOWN, send_hostile_contacts

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
    """The real DNS listener (with its recorder) on a free port."""
    from listeners.runner import Listeners
    listeners = Listeners(deployment.settings, deployment.store, log=lambda line: None,
                          listen={"dns": "127.0.0.1:0", "smtp": "off", "http": "off"}).start()
    yield listeners.servers["dns"]
    listeners.stop()


def dns_contact(store, dns_listener, canary_id: int, qname: str) -> int:
    """Query `qname` with dnspython and return the id of the contact it made."""
    import dns.message
    import dns.query
    before = store.last_contact_id()
    # The listener answers once the contact is on disk: when the reply is here, so is the contact.
    dns.query.udp(dns.message.make_query(qname, "A"), "127.0.0.1", port=dns_listener.port, timeout=5)
    stored = store.contacts_after(before)
    assert [(c["canary_id"], c["channel"]) for c in stored] == [(canary_id, "dns")], stored
    return stored[0]["id"]


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
    send_hostile_contacts(deployment, canary_id)
    for path in ("/", "/contacts", f"/canaries/{canary_id}"):
        page.goto(server + path)
        page.wait_for_load_state("load")
        # Nothing ran and nothing was injected: no script, image, svg handler or javascript: link exists.
        assert page.dialogs == []
        assert page.locator("script").count() == 0
        assert page.locator("img").count() == 0
        assert page.locator("svg[onload], [onerror], b").count() == 0
        assert page.locator("a[href^='javascript'], a[href^='http']").count() == 0
        text = page.locator("main").inner_text()
        assert MAIL_SUBJECT in text  # shown as the text it was, as the email's summary
    text = page.locator("main").inner_text()
    for shown in SHOWN:
        assert shown in text, shown


def test_scan_history_and_a_canarys_sightings(page, server, demo_lab, deployment, demo_lab_template):
    from test_web_views import scan_stolen_file
    result = scan_stolen_file(deployment, demo_lab_template)
    page.goto(server + "/")
    page.get_by_role("link", name="Scans").click()
    page.wait_for_url(server + "/scans")
    row = page.locator(f"tr.scan[data-scan-id='{result['scan_id']}']")
    assert "stolen-backup-extract.csv" in row.inner_text() and "nightly-backup" in row.inner_text()
    row.get_by_role("link", name=f"scan {result['scan_id']}").click()
    page.wait_for_url(f"{server}/scans/{result['scan_id']}")
    assert result["files"][0]["sha256"] in page.locator("table.scan-files").inner_text()
    page.get_by_role("link", name=f"canary {demo_lab.leaked[0]}").first.click()
    page.wait_for_url(f"{server}/canaries/{demo_lab.leaked[0]}")
    sightings = page.locator("section.sightings tr.sighting")
    assert sightings.count() >= 1
    assert "stolen-backup-extract.csv" in sightings.first.inner_text()
    assert f"scan {result['scan_id']}" in sightings.first.inner_text()
