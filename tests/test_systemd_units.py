"""The systemd units shipped in docs/systemd (issue 11, defect 4): a file limit and sandboxing."""
import configparser
import pathlib
import shutil
import subprocess

import pytest

UNITS = sorted((pathlib.Path(__file__).parent.parent / "docs" / "systemd").glob("*.service"))
REQUIRED = {"LimitNOFILE", "NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices",
            "RestrictAddressFamilies", "UMask", "ReadWritePaths"}


@pytest.mark.parametrize("unit", UNITS, ids=lambda path: path.name)
def test_units_set_a_file_limit_and_the_usual_sandboxing(unit):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(unit)
    service = parser["Service"]
    assert REQUIRED <= set(service), REQUIRED - set(service)
    assert int(service["LimitNOFILE"]) >= 4096 and service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == "true" and service["UMask"] == "0077"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
@pytest.mark.parametrize("unit", UNITS, ids=lambda path: path.name)
def test_systemd_accepts_the_units(unit):
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    # The only complaint allowed: the deployment's executable is not installed on this machine.
    problems = [line for line in result.stderr.splitlines() if line.strip() and "is not executable" not in line]
    assert problems == []
