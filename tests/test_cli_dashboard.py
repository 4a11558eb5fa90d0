"""Commands for the dashboard and alerts: init's admin password, users, API tokens, alert tests."""
import json

from click.testing import CliRunner

from canary import accounts
from canary.cli import main
from canary.deployment import Deployment


def test_init_generates_an_admin_password_shown_once(tmp_path):
    result = CliRunner().invoke(main, ["init", "--home", str(tmp_path / "d"), "--zone", "canary.test"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "dashboard login" in line)
    password = line.split("admin / ")[1].split()[0]
    deployment = Deployment.open(tmp_path / "d")
    try:
        assert accounts.authenticate(deployment.store, "admin", password)
        assert password not in (tmp_path / "d" / "canary.toml").read_text()
    finally:
        deployment.close()


def test_init_takes_an_admin_password_and_refuses_a_short_one(tmp_path):
    runner = CliRunner()
    short = runner.invoke(main, ["init", "--home", str(tmp_path / "a"), "--zone", "canary.test",
                                 "--admin-password", "short"])
    assert short.exit_code == 1 and "too short" in short.output and not (tmp_path / "a").exists()
    given = runner.invoke(main, ["init", "--home", str(tmp_path / "b"), "--zone", "canary.test"],
                          env={"CANARY_ADMIN_PASSWORD": "a long admin password"})
    assert given.exit_code == 0 and "a long admin password" not in given.output
    deployment = Deployment.open(tmp_path / "b")
    try:
        assert accounts.authenticate(deployment.store, "admin", "a long admin password")
    finally:
        deployment.close()


def test_user_add_prompts_twice_and_changes_a_password(invoke, deployment):
    invoke("user", "add", "alice", input="first password\nfirst password\n")
    invoke("user", "add", "alice", "--password", "second password")
    assert accounts.authenticate(deployment.store, "alice", "second password")
    assert not accounts.authenticate(deployment.store, "alice", "first password")
    mismatch = invoke("user", "add", "bob", input="one password\nanother one\n" * 3, expect_exit=None)
    assert mismatch.exit_code != 0 and deployment.store.find_user("bob") is None
    assert "alice" in invoke("user", "list").output


def test_api_token_create_list_revoke(invoke, deployment):
    created = json.loads(invoke("api-token", "create", "siem", "--json").output)
    assert created["token"].startswith("cnry_") and accounts.check_api_token(deployment.store, created["token"])
    listed = invoke("api-token", "list").output
    assert "siem" in listed and created["token"] not in listed
    invoke("api-token", "revoke", str(created["id"]))
    assert accounts.check_api_token(deployment.store, created["token"]) is None
    assert "no live API token" in invoke("api-token", "revoke", str(created["id"]), expect_exit=1).output


def test_alerts_test_writes_to_the_jsonl_channel(invoke, home):
    assert "no alert channel configured" in invoke("alerts", "test", expect_exit=1).output
    with open(home / "canary.toml", "a") as settings:
        settings.write('\n[alerts]\njsonl_path = "alerts.jsonl"\n')
    assert "jsonl: sent" in invoke("alerts", "test").output
    assert json.loads((home / "alerts.jsonl").read_text())["type"] == "test"
    assert "test" in invoke("alerts", "status").output


def test_hits_show_the_note_a_token_was_issued_with(invoke, demo_lab):
    lines = [line for line in invoke("hits").output.splitlines() if f"token {demo_lab.token}" in line]
    assert lines and all("fake backup host in the IT runbook" in line for line in lines)
    rows = json.loads(invoke("hits", "--json").output)
    assert {row["note"] for row in rows if row["token"] == demo_lab.token} == {"fake backup host in the IT runbook"}
    assert all(row["note"] is None for row in rows if row["canary_id"])
