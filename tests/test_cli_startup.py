"""Start-up is part of every scan's time: `canary scan` imports what scanning needs, nothing else."""
from __future__ import annotations

import json
import subprocess
import sys

# Heavy modules a scan has no use for: the report renderer, the web dashboard, alert channels, planting.
NOT_FOR_A_SCAN = ("jinja2", "flask", "werkzeug", "openpyxl", "tqdm", "canary.evidence.report", "canary.web",
                  "canary.alerts", "canary.planting", "canary.cli.investigation", "canary.cli.dashboard")


def test_a_scan_imports_neither_the_dashboard_nor_the_report_renderer(tmp_path):
    leak = tmp_path / "leak.csv"
    leak.write_text("nom;telephone\nMARTIN;0639981234\n")
    code = ("import sys, json\nfrom canary.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print(json.dumps(sorted(sys.modules)), file=sys.stderr)")
    home = tmp_path / "deployment"
    subprocess.run([sys.executable, "-c", "from canary.cli import main; main()", "init", "--home", str(home),
                    "--zone", "canary.test"], check=True, capture_output=True)
    run = subprocess.run([sys.executable, "-c", code, "scan", "--home", str(home), "--quiet", "--json", str(leak)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["files"][0]["path"] == str(leak)
    loaded = json.loads(run.stderr.strip().splitlines()[-1])
    assert [m for m in loaded if any(m == prefix or m.startswith(prefix + ".") for prefix in NOT_FOR_A_SCAN)] == []


def test_every_command_is_listed_and_found_by_name():
    from canary.cli import COMMANDS, main
    assert sorted(main.commands) == sorted(COMMANDS)
    assert all(main.get_command(None, name).name == name for name in COMMANDS)
