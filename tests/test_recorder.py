"""The recorder: group commits, one bad contact failing alone, unknown names tallied not stored."""
import concurrent.futures
import threading

import pytest

from canary.generation.issuing import Issuer
from listeners.contact import make_contact
from listeners.recorder import Recorder


@pytest.fixture
def resolved(deployment):
    token = Issuer(deployment.store, deployment.settings).issue_token("dns")
    return deployment.store.resolve(token["value"])


def test_concurrent_contacts_are_committed_in_groups(deployment, resolved):
    batches = []
    recorder = Recorder(deployment.store, on_recorded=batches.append).start()
    start = threading.Barrier(20)

    def client(n):
        start.wait()
        return [recorder.record(make_contact("dns", resolved, f"192.0.2.{n}:53", {"i": i})) for i in range(25)]

    try:
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            ids = [i for chunk in pool.map(client, range(20)) for i in chunk]
    finally:
        recorder.stop()
    assert len(set(ids)) == 500 and len(deployment.store.contacts()) == 500
    assert sum(len(batch) for batch in batches) == 500
    assert len(batches) < 500          # some commits carried several contacts
    assert deployment.store.verify_evidence().ok


def test_a_contact_the_store_refuses_fails_alone(deployment, resolved):
    recorder = Recorder(deployment.store).start()
    try:
        good = [recorder.submit(make_contact("dns", resolved, "192.0.2.1:53", {})) for _ in range(3)]
        bad = recorder.submit(make_contact("dns", {**resolved, "identifier_id": 999_999}, "192.0.2.1:53", {}))
        good += [recorder.submit(make_contact("dns", resolved, "192.0.2.1:53", {})) for _ in range(3)]
        with pytest.raises(deployment.store.dialect.integrity_errors):
            bad.result(10)
        assert all(future.result(10) for future in good)
    finally:
        recorder.stop()
    assert len(deployment.store.contacts()) == 6


def test_unknown_names_are_tallied_and_flushed_on_stop(deployment):
    recorder = Recorder(deployment.store, unknown_flush_seconds=3600).start()
    for _ in range(1000):
        recorder.count_unknown("dns", "nxdomain")
    recorder.count_unknown("smtp", "rcpt", 3)
    recorder.stop()
    counts = {(r["channel"], r["kind"]): r["count"] for r in deployment.store.unknown_counts()}
    assert counts == {("dns", "nxdomain"): 1000, ("smtp", "rcpt"): 3}
    assert deployment.store.contacts() == []


def test_record_before_start_is_an_error(deployment, resolved):
    with pytest.raises(RuntimeError, match="not started"):
        Recorder(deployment.store).record(make_contact("dns", resolved, None, {}))
