"""`canary init`, `site`, `target`, `issue`, `list` as a user runs them."""
import json
import pathlib
import tomllib

import pytest
from click.testing import CliRunner

from canary.cli import main
from canary.store import Store


def run(*args, env=None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def files_under(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else []


def test_init_creates_settings_and_store(tmp_path):
    result = run("init", "--home", str(tmp_path / "d"), "--zone", "Canary.Test")
    assert result.exit_code == 0, result.output
    assert "Created deployment" in result.output
    settings = tomllib.loads((tmp_path / "d" / "canary.toml").read_text())
    assert settings["deployment"]["zones"] == ["canary.test"]
    assert Store(tmp_path / "d" / "canary.db").events()[0]["kind"] == "deployment.created"


def test_init_uses_canary_home(tmp_path):
    result = run("init", "--zone", "canary.test", env={"CANARY_HOME": str(tmp_path / "e")})
    assert result.exit_code == 0 and (tmp_path / "e" / "canary.toml").is_file()


@pytest.mark.parametrize("args, message", [
    (["--zone", "bad_zone"], "bad zone name"),
    (["--zone", "localhost"], "bad zone name"),
    (["--zone", "canary.test", "--mail-domain", "example.org"], "not inside a zone"),
    (["--zone", "canary.test", "--phone-pool", "/nonexistent/pool.txt"], "pool.txt"),
])
def test_init_bad_input_is_one_line_and_writes_nothing(tmp_path, args, message):
    result = run("init", "--home", str(tmp_path / "d"), *args)
    assert result.exit_code == 1
    assert message in result.output and result.output.count("\n") == 1
    assert files_under(tmp_path / "d") == []


def test_init_refuses_an_existing_deployment(home):
    before = (home / "canary.toml").read_bytes()
    result = run("init", "--home", str(home), "--zone", "other.test")
    assert result.exit_code == 1 and "refusing to overwrite" in result.output
    assert (home / "canary.toml").read_bytes() == before


def test_missing_deployment_is_a_clear_error(tmp_path):
    result = run("site", "list", "--home", str(tmp_path / "nowhere"))
    assert result.exit_code == 1 and "no deployment in" in result.output


def test_sites_and_targets(invoke):
    invoke("site", "add", "Labo Rennes Nord")
    assert "already exists" in invoke("site", "add", "Labo Rennes Nord", expect_exit=1).output
    invoke("target", "add", "lims-prod", "--site", "Labo Rennes Nord")
    result = invoke("target", "add", "backup", "--site", "Nowhere", expect_exit=1)
    assert "no site named 'Nowhere'" in result.output
    targets = json.loads(invoke("target", "list", "--json").output)
    assert [(t["site"], t["name"], t["canaries"]) for t in targets] == [("Labo Rennes Nord", "lims-prod", 0)]
    sites = json.loads(invoke("site", "list", "--json").output)
    assert [(s["name"], s["targets"]) for s in sites] == [("Labo Rennes Nord", 1)]


@pytest.mark.parametrize("kind", ["dns", "email", "url", "phone"])
def test_issue_prints_a_token_that_resolves_back(invoke, deployment, kind):
    token = json.loads(invoke("issue", kind, "--note", "runbook", "--json").output)
    assert token["kind"] == kind and token["note"] == "runbook" and token["created_at"].endswith("Z")
    kind_of_value = {"dns": "hostname", "email": "email", "url": "url", "phone": "phone"}[kind]
    from canary.generation.identifiers import normalise
    value = token["value"].upper() if kind != "phone" else token["value"]
    resolved = deployment.store.resolve(normalise(kind_of_value, value))
    assert resolved["token"] == token["token"]
    listed = json.loads(invoke("list", "--json").output)
    assert [t["token"] for t in listed if t["type"] == "token"] == [token["token"]]


def test_dns_and_url_tokens_live_under_the_zone(invoke):
    for kind in ("dns", "url", "email"):
        value = json.loads(invoke("issue", kind, "--json").output)["value"]
        assert value.rstrip("/").endswith(".canary.test")


def test_generate_is_reproducible(tmp_path):
    first = run("generate", "--count", "3", "--seed", "42")
    second = run("generate", "--count", "3", "--seed", "42")
    assert first.exit_code == 0 and first.output == second.output
    patients = json.loads(first.output)
    assert len(patients) == 3 and all(len(p["nir"]) == 15 for p in patients)
    csv_output = run("generate", "--count", "2", "--seed", "1", "--format", "csv").output.splitlines()
    assert len(csv_output) == 3 and "birth_date" in csv_output[0] and "address_postal_code" in csv_output[0]


def test_every_command_has_help_with_an_example():
    missing = []

    def walk(command, path):
        if getattr(command, "commands", None):
            for name, sub in command.commands.items():
                walk(sub, path + [name])
        elif "Example:" not in (command.help or ""):
            missing.append(" ".join(path))

    walk(main, ["canary"])
    assert missing == []


def test_every_command_is_in_the_guides():
    """Each command is shown where its user reads (the generated CLI reference does not count)."""
    docs = pathlib.Path(__file__).parent.parent / "docs"
    readme = "\n".join(page.read_text("utf-8") for page in docs.rglob("*.md") if page.name != "cli.md")
    names = []

    def walk(command, path):
        if getattr(command, "commands", None):
            for name, sub in command.commands.items():
                walk(sub, path + [name])
        else:
            names.append(" ".join(path))

    walk(main, ["canary"])
    assert [name for name in names if name not in readme] == []


def test_list_says_which_canaries_are_retired_or_missing(invoke, demo_lab):
    rows = {row["id"]: row for row in json.loads(invoke("list", "--json").output) if row["type"] == "canary"}
    assert rows[demo_lab.retired]["state"] == "retired" and rows[demo_lab.altered]["state"] == "missing"
    assert rows[demo_lab.leaked[0]]["state"] == "planted"
    table = invoke("list").output.splitlines()
    assert table[0].split()[:5] == ["id", "site", "target", "state", "planted_at"]
    assert " retired " in next(line for line in table if line.startswith(f"{demo_lab.retired} "))
