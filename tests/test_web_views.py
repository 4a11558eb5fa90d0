"""Dashboard pages: overview, canary page, contact list with filters, the scan page's limits."""
import datetime as dt
import io

from conftest import csrf_from

from canary.web.views import scanning
from canary.web.chart import nice_ceiling, timeline

# What an attacker puts in a contact, sent through the real listeners with real clients.
DNS_LABEL = "<script>alert('dns')</script>"
MAIL_SUBJECT = "<img src=x onerror=alert('mail')>"
MAIL_FROM_NAME = "<b>x</b>"
USER_AGENT = "<svg onload=alert('ua')>"
RTL_PATH = "/\u202egnp.exe"  # a right-to-left override: 'exe.png' to the eye
SHOWN = (f"{DNS_LABEL}.", MAIL_SUBJECT, USER_AGENT, "/\\u202egnp.exe")  # what the pages must show, as text


def send_hostile_contacts(deployment, canary_id) -> list[int]:
    """A DNS query (dnspython), an email (smtplib) and an HTTP request (requests) carrying script payloads.

    Returns the ids of the contacts the listeners stored.
    """
    import smtplib

    import dns.message
    import dns.name
    import dns.query
    import requests

    from listeners.runner import Listeners
    canary = deployment.store.get_canary(canary_id)
    hostname, address = canary["identifiers"]["hostname"][0], canary["identifiers"]["email"][0]
    before = deployment.store.last_contact_id()
    listeners = Listeners(deployment.settings, deployment.store, log=lambda line: None,
                          listen={name: "127.0.0.1:0" for name in ("dns", "smtp", "http")}).start()
    try:
        ports = {name: server.port for name, server in listeners.servers.items()}
        qname = dns.name.Name([DNS_LABEL.encode(), *hostname.encode().split(b"."), b""])
        dns.query.udp(dns.message.make_query(qname, "TXT"), "127.0.0.1", port=ports["dns"], timeout=5)
        message = (f"From: \"{MAIL_FROM_NAME}\" <a@example.net>\r\nTo: {address}\r\nSubject: {MAIL_SUBJECT}\r\n"
                   f"Content-Type: text/plain; charset=utf-8\r\n\r\n").encode() + b"\xff\xfe not UTF-8 <script>\r\n"
        with smtplib.SMTP("127.0.0.1", ports["smtp"], timeout=5) as client:
            client.sendmail("a@example.net", [address], message)
        requests.get(f"http://127.0.0.1:{ports['http']}{RTL_PATH}", timeout=5,
                     headers={"Host": hostname, "User-Agent": USER_AGENT, "Referer": "javascript:alert('ref')"})
    finally:
        listeners.stop()  # commits whatever is still queued
    stored = [contact["id"] for contact in deployment.store.contacts_after(before)]
    assert len(stored) == 4, stored  # DNS query, SMTP RCPT, SMTP message, HTTP request
    return stored


def test_the_demo_lab_is_consistent_evidence(deployment, demo_lab):
    from canary.evidence.verification import verify_store
    verification = verify_store(deployment.store).as_dict()
    assert verification["ok"], verification


def test_overview_shows_targets_states_contacts_and_chart(client, login, demo_lab, deployment):
    login()
    page = client.get("/").text
    victim = deployment.store.get_canary(demo_lab.leaked[1])["patient"]
    total = len(deployment.store.contacts())
    for text in ("Laboratoire Rennes Nord", "BioAtlantique Nantes", "lims-prod", "nightly-backup", "vendor-extract",
                 "<svg", f"Contacts per day, last 30 days: {total}", f"{victim['first_name']} {victim['last_name']}"):
        assert text in page, text
    assert 'class="num alarm">1<' in page  # lims-prod's last check found one canary altered at the lab
    assert "state-retired" in page


def test_canary_page_shows_record_identifiers_plantings_and_every_contact(client, login, demo_lab, deployment):
    login()
    canary_id = demo_lab.leaked[1]
    canary = deployment.store.get_canary(canary_id)
    page = client.get(f"/canaries/{canary_id}").text
    assert f"{canary['patient']['first_name']} {canary['patient']['last_name']}" in page
    assert canary["identifiers"]["hostname"][0] in page and canary["identifiers"]["phone"][0] in page
    assert "patient" in page and "planted" in page
    contacts = len(deployment.store.contacts(canary_id=canary_id))
    assert contacts >= 5 and page.count('class="contact-detail"') == contacts
    assert client.get("/canaries/999").status_code == 404


def test_contact_filters(client, login, demo_lab, deployment):
    login()
    store = deployment.store
    all_rows = client.get("/contacts").text.count('class="contact"')
    dns_rows = client.get("/contacts?channel=dns").text.count('class="contact"')
    smtp_rows = client.get("/contacts?channel=smtp&target=nightly-backup").text.count('class="contact"')
    assert all_rows == len(store.contacts()) and dns_rows == len(store.contacts(channel="dns"))
    assert smtp_rows == len(store.contacts(channel="smtp", target="nightly-backup"))
    assert 0 < smtp_rows < dns_rows < all_rows
    today = dt.datetime.now(dt.timezone.utc).date()
    recent = client.get(f"/contacts?since={today - dt.timedelta(days=3)}").text.count('class="contact"')
    assert 0 < recent < all_rows
    assert client.get("/contacts?site=Nowhere").text.count('class="contact"') == 0
    bad = client.get("/contacts?since=yesterday")
    assert bad.status_code == 200 and "bad time" in bad.text


def test_attacker_text_is_escaped_everywhere(client, login, demo_lab, deployment):
    login()
    canary_id = demo_lab.leaked[1]
    send_hostile_contacts(deployment, canary_id)
    for path in ("/", "/contacts", f"/canaries/{canary_id}"):
        page = client.get(path).text
        for raw in ("<script>alert", "<img src=x", "<svg onload", "<b>x</b>", 'href="javascript'):
            assert raw not in page, (path, raw)
        assert "&lt;img src=x onerror=alert(&#39;mail&#39;)&gt;" in page, path  # the subject is the email's summary
    canary_page = client.get(f"/canaries/{canary_id}").text
    assert "&lt;script&gt;alert(&#39;dns&#39;)&lt;/script&gt;" in canary_page
    assert "&lt;svg onload=alert(&#39;ua&#39;)&gt;" in canary_page
    assert "\\u202egnp.exe" in canary_page  # a right-to-left override is spelled out, not obeyed


def test_upload_larger_than_the_limit_is_refused(app, client, login):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    login()
    token = csrf_from(client.get("/scan").text)
    response = client.post("/scan", data={"csrf_token": token, "file": (io.BytesIO(b"x" * 5000), "leak.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 413


def test_an_uploaded_file_is_scanned_and_attributed(client, login, monkeypatch):
    seen = []

    def fake_scan(path):  # the real one is canary.scan.scan_files, tested on its own
        seen.append((path.name, path.read_bytes()))
        return {"scan_id": 7, "evidence_seq": 42, "warnings": [], "matches": [
                    {"canary_id": 1, "token": None, "kind": "email", "value": "a@b.canary.test",
                     "found": "<script>x</script>", "line": 3}],
                "targets": [{"site": "Labo", "target": "lims-prod", "canaries_found": 1, "canaries_expected": 1,
                             "probability": 0.99, "probability_text": "0.990000", "taken_after": "2026-11-01", "taken_before": None,
                             "complete": True, "notes": []}]}

    monkeypatch.setattr(scanning, "scan_uploaded", fake_scan)
    login()
    token = csrf_from(client.get("/scan").text)
    page = client.post("/scan", data={"csrf_token": token, "file": (io.BytesIO(b"nom;email"), "../../etc/leak.csv")},
                       content_type="multipart/form-data").text
    assert seen == [("etc_leak.csv", b"nom;email")]  # a name the uploader cannot steer out of the temp folder
    assert "lims-prod" in page and "0.990000" in page and "&lt;script&gt;x" in page


def test_chart_bars_are_stacked_and_scaled():
    end = dt.date(2026, 11, 28)
    chart = timeline({"2026-11-28": {"dns": 3, "smtp": 1}, "2026-11-01": {"http": 2}}, end, days=30)
    assert chart["total"] == 6 and chart["channels"] == ["dns", "smtp", "http"]
    last_day = [bar for bar in chart["bars"] if bar["day"] == "2026-11-28"]
    assert last_day[0]["channel"] == "dns" and last_day[1]["y"] + last_day[1]["h"] == last_day[0]["y"]
    assert [nice_ceiling(n) for n in (1, 3, 7, 11, 180)] == [1, 5, 10, 20, 200]


def test_a_flooded_canary_page_is_paged(client, login, demo_lab, deployment, monkeypatch):
    from canary.web.views import pages
    monkeypatch.setattr(pages, "PAGE_SIZE", 5)
    login()
    canary_id = demo_lab.leaked[1]
    count = len(deployment.store.contacts(canary_id=canary_id))
    assert 10 < count <= 15  # three pages of five
    first = client.get(f"/canaries/{canary_id}").text
    assert first.count('class="contact-detail"') == 5 and f"Contacts ({count})" in first and "older →" in first
    last = client.get(f"/canaries/{canary_id}?page=3").text
    assert last.count('class="contact-detail"') == count - 10 and "older →" not in last and "← newer" in last
    assert client.get(f"/contacts?canary={canary_id}&page=3").text.count('class="contact"') == count - 10
    assert "bad canary" in client.get("/contacts?canary=x").text


def test_a_real_upload_is_scanned_attributed_and_reported(client, login, demo_lab, deployment):
    canary = deployment.store.get_canary(demo_lab.canaries["lims-prod"][1])
    patient = canary["patient"]
    leak = (f"nom;prenom;email;nir\n{patient['last_name']};{patient['first_name']};{canary['identifiers']['email'][0]};"
            f"{canary['identifiers'].get('nir', [''])[0]}\nDupont;Jean;jean@example.net;\n").encode()
    login()
    token = csrf_from(client.get("/scan").text)
    page = client.post("/scan", data={"csrf_token": token, "file": (io.BytesIO(leak), "fuite.csv")},
                       content_type="multipart/form-data").text
    assert "lims-prod" in page and "Laboratoire Rennes Nord" in page and f"canary {canary['id']}" in page
    assert len(deployment.store.scans()) == 1
    report = client.get("/report?target=lims-prod&format=json")
    assert report.status_code == 200 and report.headers["Content-Disposition"].startswith("attachment;")
    assert patient["first_name"] in report.text and report.headers["Content-Security-Policy"]
    assert client.get(f"/report?canary={canary['id']}&format=md").status_code == 200
    assert client.get("/report?target=lims-prod&site=x").status_code == 400
    assert client.get("/report?target=nowhere").status_code == 404


def test_numbers_too_big_for_the_database_are_not_found_or_refused(client, login, demo_lab):
    login()
    huge = "9" * 25
    assert client.get(f"/canaries/{huge}").status_code == 404
    assert client.get(f"/report?canary={huge}").status_code == 400
    for path in (f"/contacts?page={huge}", f"/canaries/{demo_lab.leaked[0]}?page={huge}"):
        assert client.get(path).status_code == 200, path
    assert "bad canary" in client.get(f"/contacts?canary={huge}").text


def test_an_upload_of_a_padded_gzip_is_scanned_and_a_bad_one_hides_the_temporary_path(client, login, tmp_path):
    """Issue 11: a gzip followed by zero padding looped forever in a dashboard worker; the error page named
    the upload's temporary path."""
    import threading

    import hostile_files
    login()
    token = csrf_from(client.get("/scan").text)
    pages = []

    def upload(path):
        pages.append(client.post("/scan", data={"csrf_token": token, "file": (io.BytesIO(path.read_bytes()), path.name)},
                                  content_type="multipart/form-data"))
    worker = threading.Thread(target=upload, args=(hostile_files.padded(tmp_path, "gz"),), daemon=True)
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), "the scan of a padded gzip never ends"
    assert pages[0].status_code == 200 and "(scan 1, evidence" in pages[0].text
    upload(hostile_files.zip_version(tmp_path))
    assert pages[1].status_code == 200 and "version 9.2" in pages[1].text
    assert "canary-upload-" not in pages[1].text and "/tmp" not in pages[1].text


def scan_stolen_file(deployment, demo_lab_template) -> dict:
    """`canary scan` of the demo's stolen backup extract: a scan with sightings to show."""
    from canary.demo.seeding import STOLEN_FILE
    from canary.scan import scan_files
    return scan_files(deployment, [str(demo_lab_template[0].parent / "lab" / STOLEN_FILE)]).as_dict()


def test_scan_history_shows_each_scan_with_its_file_name_sha256_and_format(client, login, demo_lab, deployment,
                                                                           demo_lab_template):
    result = scan_stolen_file(deployment, demo_lab_template)
    sha256 = result["files"][0]["sha256"]
    login()
    history = client.get("/scans").text
    assert f"scan {result['scan_id']}" in history and "stolen-backup-extract.csv" in history
    assert sha256[:12] in history and "nightly-backup" in history
    detail = client.get(f"/scans/{result['scan_id']}").text
    assert sha256 in detail and "csv (delimiter" in detail and "bytes" in detail
    assert f"canary {demo_lab.leaked[0]}" in detail and " UTC" in detail
    assert client.get("/scans/999").status_code == 404


def test_a_canary_page_lists_its_sightings(client, login, demo_lab, deployment, demo_lab_template):
    login()
    assert "Not found in any scanned file." in client.get(f"/canaries/{demo_lab.leaked[0]}").text
    result = scan_stolen_file(deployment, demo_lab_template)
    page = client.get(f"/canaries/{demo_lab.leaked[0]}").text
    assert "Sightings in leaked files (" in page and f"scan {result['scan_id']}" in page
    assert result["files"][0]["sha256"] in page and "stolen-backup-extract.csv" in page


def test_an_uploaded_scan_shows_the_file_name_sha256_and_format(client, login, demo_lab):
    login()
    token = csrf_from(client.get("/scan").text)
    data = b"nom;prenom\nDupont;Jean\n"
    page = client.post("/scan", data={"csrf_token": token, "file": (io.BytesIO(data), "fuite.csv")},
                       content_type="multipart/form-data").text
    import hashlib
    assert "fuite.csv" in page and hashlib.sha256(data).hexdigest() in page and "csv (delimiter" in page


def test_an_email_is_shown_decoded_a_dns_query_with_its_type_and_times_in_utc(client, login, demo_lab, deployment):
    login()
    emailed = next(c for c in deployment.store.contacts() if c["details"].get("raw_base64"))
    page = client.get(f"/canaries/{emailed['canary_id']}").text
    assert "Vos résultats sont disponibles" in page   # the body, decoded from raw_base64
    assert "Subject: Vos résultats d&#39;analyses sont disponibles" in page
    assert " UTC</span>" in page
    looked_up = next(c for c in deployment.store.contacts() if c["details"].get("qtype") == "MX")
    contacts = client.get(f"/contacts?canary={looked_up['canary_id']}&channel=dns").text
    assert f"MX {looked_up['details']['qname']}" in contacts


def test_the_html_report_shows_contact_details_as_fields(client, login, demo_lab):
    login()
    html = client.get(f"/report?canary={demo_lab.leaked[0]}&format=html").text
    assert "<dt>qtype</dt>" in html and "<dd>MX</dd>" in html
    assert '{&#34;' not in html and '{"' not in html.split("<body")[1]   # no raw JSON
