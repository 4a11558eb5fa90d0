"""The documentation: the site builds (mkdocs --strict), its console examples run, the CLI is documented."""
from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest
from docs_examples import Sandbox, console_commands, missing_lines


ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
RUNNABLE = [page for page in PAGES if console_commands(page.read_text("utf-8"))]


def test_the_site_builds_strictly(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
                           "-f", str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    cli = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text("utf-8")
    assert "canary config check" in cli and "canary plant" in cli
    settings = (tmp_path / "site" / "reference" / "settings" / "index.html").read_text("utf-8")
    assert "CANARY_ALERTS_WEBHOOK_URL" in settings


@pytest.mark.parametrize("page", RUNNABLE, ids=[str(p.relative_to(ROOT)) for p in RUNNABLE])
def test_console_examples_run(page, tmp_path):
    sandbox = Sandbox(tmp_path)
    for command in console_commands(page.read_text("utf-8")):
        status, output = sandbox.run(command)
        where = f"{page.relative_to(ROOT)}:{command.line}: $ {command.text}"
        assert status == command.exit_status, f"{where}\nexit {status}, expected {command.exit_status}:\n{output}"
        missing = missing_lines(command.expected, output)
        assert not missing, f"{where}\nmissing from the output: {missing}\noutput:\n{output}"


def test_the_example_runner_compares_loosely_and_in_order():
    output = "id  site   name\n1   Labo   lims-prod\nCreated deployment in /tmp/x\n"
    assert missing_lines(["id site name", "1 Labo ...", "Created ... in /tmp/x"], output) == []
    assert missing_lines(["Created deployment in /tmp/x", "id site name"], output) == ["id site name"]
    commands = console_commands("```console\n$ canary a \\\n  --b\nout\n[exit 2]\n```\n```text\n$ no\n```\n")
    assert [(c.text, c.expected, c.exit_status) for c in commands] == [("canary a \\\n  --b", ["out"], 2)]
