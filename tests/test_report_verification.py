"""Reports and checkpoints a third party checks with the public key alone, and with OpenSSL;
RFC 3161 timestamps from a real TSA (`openssl ts -reply`) on 127.0.0.1."""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tomllib

import pytest
import tomli_w
from click.testing import CliRunner

from canary import signing_keys
from canary.cli import main
from canary.deployment import Deployment, init_deployment
from canary.evidence.signing import verification_steps
from canary.settings import SETTINGS_FILE, save_setting

from investigation_world import build_world
from services import service_missing
from tsa import openssl_verify, running_tsa
from storemode import tampering  # noqa: E402



@pytest.fixture(scope="module")
def tsa(tmp_path_factory):
    if shutil.which("openssl") is None:
        service_missing("openssl is not installed; .ci/services.sh installs it")
    with running_tsa(tmp_path_factory.mktemp("tsa")) as (url, files, server):
        yield url, files, server


@pytest.fixture(scope="module")
def world(tmp_path_factory, tsa, module_store_url):
    home = tmp_path_factory.mktemp("verification") / "deployment"
    built = build_world(home, module_store_url)
    save_setting(home, "timestamping", "url", tsa[0])
    built.deployment.close()
    built.deployment = Deployment.open(home)
    yield built
    built.deployment.close()


def canary_cli(*args, home=None, env=None):
    result = CliRunner().invoke(main, [*args, *(["--home", str(home)] if home else [])], env=env)
    assert "Traceback" not in result.output, result.output
    return result


def published_key(world, folder):
    result = canary_cli("evidence", "public-key", home=world.deployment.settings.home)
    assert result.exit_code == 0, result.output
    path = folder / "canary-public.pem"
    path.write_text(result.stdout)
    return path


def elsewhere(tmp_path, monkeypatch, *files):
    """A directory with no deployment in it (and no CANARY_HOME): the third party's desk."""
    desk = tmp_path / "desk"
    desk.mkdir()
    for file in files:
        shutil.copy(file, desk / file.name)
    monkeypatch.chdir(desk)
    monkeypatch.delenv("CANARY_HOME", raising=False)
    return desk


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_a_report_checks_with_the_public_key_alone_and_a_one_byte_edit_fails(world, tmp_path, monkeypatch, fmt):
    report = tmp_path / f"report.{fmt}"
    assert canary_cli("report", "--target", "lims-prod", "--format", fmt, "--output", str(report),
                      home=world.deployment.settings.home).exit_code == 0
    key = published_key(world, tmp_path)
    desk = elsewhere(tmp_path, monkeypatch, report, key)
    assert canary_cli("evidence", "verify").exit_code == 1          # indeed no deployment here
    checked = canary_cli("report", "--check", report.name, "--public-key", key.name)
    assert checked.exit_code == 0, checked.output
    assert "signature valid" in checked.output and "timestamped" in checked.output
    data = bytearray((desk / report.name).read_bytes())
    position = data.index(b"lims-prod")
    data[position] = ord("L")                                       # one byte
    (desk / report.name).write_bytes(bytes(data))
    refused = canary_cli("report", "--check", report.name, "--public-key", key.name)
    assert refused.exit_code == 1 and "altered" in refused.output


def test_the_steps_written_in_the_report_verify_it_with_openssl_alone(world, tmp_path, monkeypatch, tsa):
    report = tmp_path / "report.md"
    canary_cli("report", "--target", "backup-nightly", "--output", str(report), home=world.deployment.settings.home)
    text = report.read_text()
    key = published_key(world, tmp_path)
    desk = elsewhere(tmp_path, monkeypatch, report, key)
    shutil.copy(tsa[1]["ca"], desk / "tsa-ca.pem")
    fingerprint = signing_keys.fingerprint(world.deployment.signing_key().public_key())
    steps = verification_steps("report.md", fingerprint)
    for why, command in steps[:-1]:
        assert command in text                                       # the report says it, word for word
    shell = "\n".join(command for _, command in steps[:-1])
    done = subprocess.run(["bash", "-c", "set -eo pipefail\n" + shell], cwd=desk, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert fingerprint in done.stdout             # the fingerprint, recomputed by openssl
    assert "Signature Verified Successfully" in done.stdout
    assert "Verification: OK" in done.stdout and "Time stamp:" in done.stdout
    edited = text.replace("backup-nightly", "backup-nightlY", 1)
    (desk / "report.md").write_text(edited)
    again = subprocess.run(["bash", "-c", "\n".join(command for _, command in steps[1:4])], cwd=desk,
                           capture_output=True, text=True)
    assert "Signature Verified Successfully" not in again.stdout and again.returncode != 0


def test_a_timestamp_token_verifies_with_openssl_ts_verify(world, tmp_path, tsa):
    report = tmp_path / "report.json"
    canary_cli("report", "--format", "json", "--output", str(report), home=world.deployment.settings.home)
    document = json.loads(report.read_text())
    stamp = document["signature"]["timestamp"]
    signed = tmp_path / "signed.bin"
    signed.write_bytes(json.dumps(document["report"], sort_keys=True, separators=(",", ":"),
                                  ensure_ascii=False).encode())
    response = tmp_path / "report.tsr"
    response.write_bytes(base64.b64decode(stamp["response"]))
    done = openssl_verify(signed, response, tsa[1]["ca"])
    assert done.returncode == 0 and "Verification: OK" in done.stdout, done.stderr
    other = tmp_path / "other.bin"
    other.write_bytes(signed.read_bytes()[:-1] + b" ")
    assert openssl_verify(other, response, tsa[1]["ca"]).returncode != 0
    checked = canary_cli("report", "--check", str(report), "--public-key", str(published_key(world, tmp_path)),
                         "--tsa-ca", str(tsa[1]["ca"]))
    assert checked.exit_code == 0 and f"timestamped {stamp['time']}" in checked.output
    assert "verified against the given CA" in checked.output


def test_anchor_signs_and_timestamps_the_head_and_verify_holds_the_log_to_it(world, tmp_path, tsa):
    home = world.deployment.settings.home
    result = canary_cli("evidence", "anchor", "--output", str(tmp_path / "out"), home=home)
    assert result.exit_code == 0, result.output
    (statement_file,) = (tmp_path / "out").glob("*.statement")
    statement = json.loads(statement_file.read_text())
    assert f"{statement['seq']}:{statement['hash']}" in result.output and "timestamped" in result.output
    done = openssl_verify(statement_file, statement_file.with_suffix(".tsr"), tsa[1]["ca"])
    assert done.returncode == 0 and "Verification: OK" in done.stdout, done.stderr
    key = published_key(world, tmp_path)
    signature = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(key), "-rawin",
                                "-in", str(statement_file), "-sigfile", str(statement_file.with_suffix(".sig"))],
                               capture_output=True, text=True)
    assert "Signature Verified Successfully" in signature.stdout, signature.stderr
    events = world.deployment.store.events(kind="evidence.checkpoint")
    assert json.loads(events[-1]["payload"]["statement"]) == statement
    assert canary_cli("evidence", "verify", home=home).exit_code == 0


def test_an_unreachable_tsa_is_one_line_and_no_timestamp_still_signs(world, tmp_path):
    env = {"CANARY_TIMESTAMPING_URL": "http://127.0.0.1:9/tsa", "CANARY_TIMESTAMPING_TIMEOUT_SECONDS": "2"}
    home = world.deployment.settings.home
    result = canary_cli("report", "--target", "lims-prod", home=home, env=env)
    assert result.exit_code == 1 and "timestamping authority http://127.0.0.1:9/tsa" in result.output
    assert "--no-timestamp" in result.output
    signed = canary_cli("report", "--target", "lims-prod", "--no-timestamp", home=home, env=env)
    assert signed.exit_code == 0 and "tsr=none -->" in signed.output


def test_init_creates_the_key_and_an_older_deployment_gets_one_on_first_use(tmp_path, store_url):
    home = tmp_path / "older"
    init_deployment(home, ["canary.test"], store=store_url).close()
    deployment = Deployment.open(home)
    created = deployment.store.events(kind="signing_key.created")
    assert [e["payload"]["how"] for e in created] == ["canary init"]
    deployment.close()
    # A deployment made before keys existed: no signing_key in canary.toml.
    settings = tomllib.loads((home / SETTINGS_FILE).read_text())
    del settings["deployment"]["signing_key"]
    (home / SETTINGS_FILE).write_text(tomli_w.dumps(settings))
    result = canary_cli("evidence", "public-key", home=home)
    assert result.exit_code == 0 and result.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    assert tomllib.loads((home / SETTINGS_FILE).read_text())["deployment"]["signing_key"]
    deployment = Deployment.open(home)
    events = deployment.store.events(kind="signing_key.created")
    assert [e["payload"]["how"] for e in events] == ["canary init", "created on first use"]
    assert events[-1]["payload"]["fingerprint"] in result.stderr
    assert canary_cli("evidence", "public-key", home=home).stdout == result.stdout    # one key, kept
    assert len(deployment.store.events(kind="signing_key.created")) == 2
    deployment.close()


def test_a_checkpoint_rewritten_after_the_tsa_stamped_it_is_caught(world, tmp_path):
    home = world.deployment.settings.home
    assert canary_cli("evidence", "anchor", home=home).exit_code == 0
    event = world.deployment.store.events(kind="evidence.checkpoint")[-1]
    forged = dict(event["payload"], statement=event["payload"]["statement"].replace('"seq":', '"seq": '))
    with tampering(world.deployment.store) as connection:
        connection.execute("UPDATE evidence SET payload = ? WHERE seq = ?", (json.dumps(forged), event["seq"]))
    result = canary_cli("evidence", "verify", home=home)
    assert result.exit_code == 1 and "stamps other bytes" in result.output
