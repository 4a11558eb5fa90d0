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


def test_run_demo_serves_the_dashboard_and_records_a_real_dns_contact(tmp_path):
    import threading
    import time

    import dns.message
    import dns.query
    import requests

    from canary.demo import open_demo, run_demo
    deployment, _ = open_demo(tmp_path / "demo")  # create it first, then move the listeners to free ports
    deployment.close()
    with open(tmp_path / "demo" / "canary.toml", "a") as settings:
        settings.write('\n[dns]\nlisten = "127.0.0.1:0"\n[smtp]\nlisten = "off"\n[http]\nlisten = "off"\n'
                       '\n[dashboard]\nlisten = "127.0.0.1:0"\n')
    lines, stop, failures = [], threading.Event(), []

    def visit():  # a person using the running demo; the demo itself keeps the main thread (signals)
        try:
            deadline = time.monotonic() + 10
            while not any(line.startswith("ready") for line in lines) and time.monotonic() < deadline:
                time.sleep(0.02)
            dashboard = next(line for line in lines if line.startswith("Dashboard:")).split()[1]
            assert requests.get(dashboard + "login", timeout=5).status_code == 200
            dns_port = int(next(line for line in lines if line.startswith("dns listening")).split(":")[1].split()[0])
            hostname = next(line for line in lines if line.startswith("Touch a canary")).split()[7]
            answer = dns.query.udp(dns.message.make_query(hostname, "A"), "127.0.0.1", port=dns_port, timeout=3)
            assert answer.answer
            while not any(" dns " in line and hostname in line for line in lines) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert any(" dns " in line and hostname in line for line in lines)
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            failures.append(error)
        finally:
            stop.set()

    visitor = threading.Thread(target=visit)
    visitor.start()
    run_demo(tmp_path / "demo", "127.0.0.1", 0, echo=lines.append, stop=stop)
    visitor.join(10)
    if failures:
        raise failures[0]
    assert lines[-1] == "stopped"
