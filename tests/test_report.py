"""Investigation reports: content, escaping, signatures that catch any edit."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from canary.cli import main
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from canary.evidence.report import build_report, render, report_signer
from canary.evidence.signing import ReportCheckError, Signer, check_report
from canary.scan import scan_files
from canary.scan.leakgen import population, write_leak

from investigation_world import CONTACT_TIME, PLANTED, build_world, mix

HOSTILE = '<script>alert("x")</script> | **bold** '


@pytest.fixture(scope="module")
def world(tmp_path_factory, module_store_url):
    built = build_world(tmp_path_factory.mktemp("report") / "deployment", module_store_url)
    store = built.deployment.store
    canary = built.canaries["lims-prod"][0]
    ident = store.resolve(canary["identifiers"]["email"][0])
    store.record_contacts([{"time": "2026-03-20T08:00:00.000000Z", "channel": "smtp",
                            "identifier_id": ident["identifier_id"], "canary_id": canary["id"],
                            "source": "198.51.100.7:40000", "details": {"subject": HOSTILE, "mail_from": HOSTILE}}])
    rows = mix(list(population(1500, seed=4, base=300)), built.leaked_rows())
    leak = write_leak(rows, tmp_path_factory.mktemp("leak") / "leak.jsonl.gz", "jsonl", compression="gzip")
    scan_files(built.deployment, [str(leak)])
    yield built
    built.deployment.close()


def run(world, *args):
    result = CliRunner().invoke(main, [*args, "--home", str(world.deployment.settings.home)])
    assert "Traceback" not in result.output
    return result


def test_target_report_has_plantings_contacts_sightings_window_and_chain(world):
    report = build_report(world.deployment, target="lims-prod")
    assert [p["planted_at"] for p in report["plantings"]] == PLANTED
    assert report["contacts"][0]["details"]["subject"] == HOSTILE
    assert {s["canary_id"] for s in report["sightings"]} == {c["id"] for c in world.canaries["lims-prod"][:3]}
    window = report["windows"][0]
    # The March contact with a canary it holds is now the tighter upper bound.
    assert (window["taken_after"], window["taken_before"]) == (PLANTED[2], "2026-03-20T08:00:00.000000Z")
    assert report["evidence"]["ok"]


def test_canary_and_site_scopes(world):
    canary = world.canaries["backup-nightly"][1]
    report = build_report(world.deployment, canary_id=canary["id"])
    assert [c["id"] for c in report["canaries"]] == [canary["id"]]
    assert [c["time"] for c in report["contacts"]] == [CONTACT_TIME]
    site = build_report(world.deployment, site="Labo Quimper")
    assert len(site["canaries"]) == 5 and site["sightings"] == [] and site["windows"] == []


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_reports_check_and_any_edit_fails(world, tmp_path, fmt):
    path = tmp_path / f"report.{fmt}"
    result = run(world, "report", "--target", "lims-prod", "--format", fmt, "--output", str(path))
    assert result.exit_code == 0, result.output
    assert run(world, "report", "--check", str(path)).exit_code == 0
    text = path.read_text("utf-8")
    edited = text.replace("2026-03-01", "2026-02-01", 1)
    assert edited != text
    path.write_text(edited, "utf-8")
    result = run(world, "report", "--check", str(path))
    assert result.exit_code == 1 and "altered" in result.output


ADDENDA = {"md": "\n## Addendum\n\nThe copy came from Labo Quimper.\n",
           "html": "<p>Addendum: the copy came from Labo Quimper.</p>\n"}


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_text_added_after_the_signature_fails_the_check(world, tmp_path, fmt):
    """The signature covers what is above it: anything below it must not pass as signed."""
    path = tmp_path / f"report.{fmt}"
    run(world, "report", "--target", "lims-prod", "--format", fmt, "--output", str(path))
    text = path.read_text("utf-8")
    if fmt == "json":
        document = json.loads(text)
        document["note"] = "The copy came from Labo Quimper."
        edited = json.dumps(document, indent=2)
    else:
        edited = text + ADDENDA[fmt]
    path.write_text(edited, "utf-8")
    result = run(world, "report", "--check", str(path))
    assert result.exit_code == 1 and "after the signature" in result.output
    path.write_text(text + "\n\n", "utf-8")   # an editor's trailing blank lines change nothing
    assert run(world, "report", "--check", str(path)).exit_code == 0


def test_a_report_signed_by_another_deployment_is_refused(world):
    text = render(build_report(world.deployment, target="lims-prod"), "md", Signer(Ed25519PrivateKey.generate()))
    public_key = world.deployment.signing_key().public_key()
    with pytest.raises(ReportCheckError, match="signed by another key"):
        check_report(text, public_key=public_key)
    with pytest.raises(ReportCheckError, match="not a signed canary report"):
        check_report("# some notes\n", public_key=public_key)


def test_html_is_a_timeline_with_every_contact_field_escaped(world):
    html = render(build_report(world.deployment, target="lims-prod"), "html", report_signer(world.deployment))
    assert "<script>" not in html and "&lt;script&gt;" in html.replace("\\u003c", "&lt;").replace("\\u003e", "&gt;")
    assert html.index("planted in Labo Rennes Nord") < html.index("smtp contact") < html.index("found canaries")
    assert html.index("was taken after this moment") < html.index("was taken before this moment (the first contact")
    markdown = render(build_report(world.deployment, target="lims-prod"), "md", report_signer(world.deployment))
    assert "<script>" not in markdown and "\\*\\*bold\\*\\*" in markdown


def test_json_report_is_json_with_a_signature(world, tmp_path):
    result = run(world, "report", "--canary", str(world.canaries["lims-prod"][0]["id"]), "--format", "json")
    document = json.loads(result.output)
    assert (document["signature"]["scheme"], document["signature"]["algorithm"]) == ("canary-report-v2", "ed25519")
    assert document["report"]["scope"]["canary"] == world.canaries["lims-prod"][0]["id"]


def test_bad_scope_is_one_line(world):
    result = run(world, "report", "--target", "nope")
    assert result.exit_code == 1 and "no target named 'nope'" in result.output
    result = run(world, "report", "--target", "lims-prod", "--site", "Labo Brest")
    assert result.exit_code == 1 and "at most one" in result.output


def test_markdown_says_how_many_contacts_only_the_json_lists(world, monkeypatch):
    import canary.evidence.report as report_module
    report = build_report(world.deployment, target="lims-prod")
    monkeypatch.setattr(report_module, "MAX_LISTED_CONTACTS", 0)
    text = render(report, "md", report_signer(world.deployment))
    assert f"{len(report['contacts'])} more contacts are in the JSON report" in text


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_reports_anchor_the_chain_head_they_were_signed_with(world, fmt):
    report = build_report(world.deployment, target="lims-prod")
    head = report["evidence"]["head"]
    assert head == f"{report['evidence']['events']}:{world.deployment.store.events()[-1]['hash']}"
    assert f"canary evidence verify --anchor {head}" in render(report, fmt, report_signer(world.deployment))
