"""A plant never stalls the listeners (issue 11, defect 6): DNS answers stay fast while `canary plant` runs.

Before: the plant held the store's write transaction while it read the host and generated every
canary, so a DNS contact (durable before its answer) waited for the whole plant: 25.6 s during
`plant --count 300`. Then the slow work moved outside the store's transactions and the store
was written in chunks of 20 canaries, but SQLite has no queue of writers: the listeners' contact
writer, asleep in its busy handler, missed the microsecond gaps between the plant's chunks, and
waited for all of them (p99 1.2 s during `plant --count 300`, 2.6 s during `--count 1000`). Now
a waiting writer is announced and the plant lets it in between chunks (canary/store/write_turns.py).
"""
import pathlib
import subprocess
import sys
import threading
import time

import dns.message
import pytest
from labdb import MAPPING
from test_runner import drain, start_serve

from canary.deployment import Deployment
from canary.generation.issuing import Issuer

PROBE_EVERY = 0.02          # one DNS contact every 20 ms, whatever the answers do (a resolver does not wait)


class Prober:
    """Sends a query for a fresh name under a token every PROBE_EVERY seconds; times each answer."""

    def __init__(self, port: int, zone_name: str):
        import socket
        self.port, self.zone_name = port, zone_name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(0.5)
        self.sent: dict[str, float] = {}
        self.answered: dict[str, float] = {}
        self.stop = threading.Event()

    def run_sender(self) -> None:
        n, start = 0, time.monotonic()
        while not self.stop.is_set():
            name = f"p{n}.{self.zone_name}"
            self.sent[name] = time.monotonic()
            self.sock.sendto(dns.message.make_query(name, "A").to_wire(), ("127.0.0.1", self.port))
            n += 1
            time.sleep(max(0.0, start + n * PROBE_EVERY - time.monotonic()))

    def run_receiver(self) -> None:
        while not self.stop.is_set() or len(self.answered) < len(self.sent):
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                if self.stop.is_set():
                    return
                continue
            name = dns.message.from_wire(data).question[0].name.to_text().rstrip(".").lower()
            self.answered[name] = time.monotonic() - self.sent[name]


@pytest.fixture
def lims(deployment, lab_db):
    deployment.store.add_site("Labo Rennes Nord")
    deployment.store.add_target("lims", "Labo Rennes Nord", kind="sqlite", location=str(lab_db), mapping=str(MAPPING))
    return lab_db


# The issue's rule is a p99 under 100 ms during `plant --count 1000` (bench/plant_stall.py measures
# it). Here a plant of 300 canaries (the size of the defect's report) on a shared 2-core machine:
# measured 53 to 68 ms p99 (worst 96 ms) with the fix, 1,230 ms p99 without. The bound sits well
# between the two: a suite's test must not fail on a machine busy with other work (one run at load
# 6.5 measured 200 ms, the fsync of one-contact commits on a shared disk); the bench holds the 100 ms.
P99_BOUND = 0.5


def test_dns_answers_stay_fast_while_a_plant_runs(home, lims):
    deployment = Deployment.open(home)
    try:
        token = Issuer(deployment.store, deployment.settings).issue_token("dns")
    finally:
        deployment.close()
    serve, ports = start_serve(home, CANARY_DNS_RRL_RATE="0")
    reader = drain(serve)
    prober = Prober(ports["dns"], token["value"])
    threads = [threading.Thread(target=prober.run_sender), threading.Thread(target=prober.run_receiver)]
    try:
        for thread in threads:
            thread.start()
        canary = pathlib.Path(sys.executable).parent / "canary"
        started = time.monotonic()
        plant = subprocess.run([str(canary), "plant", "lims", "--count", "300", "--seed", "6", "--home", str(home)],
                               capture_output=True, text=True, timeout=600)
        plant_seconds = time.monotonic() - started
        prober.stop.set()
        for thread in threads:
            thread.join(10)
    finally:
        serve.terminate()
        serve.wait(20)
        reader.join(10)
        prober.sock.close()
    assert plant.returncode == 0, plant.stderr
    times = sorted(prober.answered.values())
    assert len(prober.sent) >= 100, "the plant was too quick to probe"
    assert len(times) == len(prober.sent), f"{len(prober.sent) - len(times)} queries never answered"
    p99 = times[int(0.99 * (len(times) - 1))]
    summary = (f"DNS answers during a {plant_seconds:.1f} s `plant --count 300`: p50 {times[len(times) // 2] * 1000:.1f} ms, "
               f"p99 {p99 * 1000:.1f} ms, worst {times[-1] * 1000:.1f} ms over {len(times)}")
    print(summary)
    assert p99 < P99_BOUND, summary
