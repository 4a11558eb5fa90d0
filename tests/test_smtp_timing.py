"""RCPT answer times do not tell a canary from an unknown address (bench/bench_rcpt_timing.py at full size)."""
import pathlib
import sys

import pytest

from canary.generation.issuing import Issuer
from listeners.recorder import Recorder
from listeners.smtp import SmtpServer
from smtp_probe import converse

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "bench"))


@pytest.fixture
def slow_flushing_recorder(deployment):
    started = Recorder(deployment.store, unknown_flush_seconds=3600).start()
    yield started
    started.stop()


def test_an_unknown_address_is_answered_after_the_same_commit_as_a_canary(deployment, slow_flushing_recorder):
    canary = Issuer(deployment.store, deployment.settings).issue_token("email")["value"]
    server = SmtpServer(slow_flushing_recorder, "127.0.0.1", 0, hostname="mx.canary.test",
                        local_domains=["canary.test"], answer_seconds=0.001).start()
    try:
        transcript = converse(server.port, ["EHLO x", "MAIL FROM:<a@example.org>", f"RCPT TO:<{canary}>",
                                            "RCPT TO:<nobody@canary.test>", "RCPT TO:<a@gmail.com>"])
        # Checked while the session is open: both were committed before their answers.
        tallies = {(row["channel"], row["kind"]): row["count"] for row in deployment.store.unknown_counts()}
    finally:
        server.stop()
    assert [replies[0][:3] for _, replies in transcript[3:]] == ["250", "550", "454"]
    assert len(deployment.store.contacts()) == 1
    assert tallies == {("smtp", "rcpt"): 1, ("smtp", "relay"): 1}


def test_a_two_sample_test_cannot_tell_the_answer_times_apart():
    from bench_rcpt_timing import run
    results = run(tries=120, answer_ms=30)     # a few seconds; the bench runs 10,000
    ours = results["canary (30 ms answer)"]
    assert ours["codes"] == ({250}, {550})
    assert min(ours["ks_p"], ours["mw_p"]) > 0.001, ours
    baseline = results["baseline (as before)"]
    assert max(baseline["ks_p"], baseline["mw_p"]) < 0.001, baseline   # the test has the power to see a leak
