"""The demo deployment behind `make run`: created once, same login on every run."""
import pytest

from canary import accounts
from canary.demo import open_demo


def test_demo_is_created_once_and_keeps_its_login(tmp_path):
    deployment, password = open_demo(tmp_path / "demo")
    try:
        assert len(deployment.store.canaries()) == 6 and deployment.store.contacts()
        assert deployment.settings["alerts"]["jsonl_path"] == "alerts.jsonl"
        assert accounts.authenticate(deployment.store, "admin", password)
    finally:
        deployment.close()
    again, same = open_demo(tmp_path / "demo")
    try:
        assert same == password and len(again.store.canaries()) == 6
    finally:
        again.close()


def test_demo_refuses_a_real_deployment(home):
    with pytest.raises(ValueError, match="not a demo"):
        open_demo(home)
