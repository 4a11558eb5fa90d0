"""DNS answer times while `canary plant --count 1000` and then `canary retire --all` run (issue 11:
the listeners' p99 stays under 100 ms while any writer runs).

A real `canary serve` process; a prober sends a query for a fresh name under a DNS token every
20 ms (a contact each, durable before its answer) and times every answer. Measured three times in
the same run: first while nothing else touches the store (the baseline: what the machine gives),
then while a real `canary plant` process plants into the example lab database (SQLite, 5,000
patients), then while a real `canary retire --all` takes them out again. Prints p50/p99/worst of
each and the ratio of the p99s to the baseline's.

    .venv/bin/python bench/plant_stall.py [--quick] [--count 1000]
"""
from __future__ import annotations

import argparse
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import dns.message

from _load import dns_only_serve
from canary.demo.labdb import DATA, build
from canary.deployment import Deployment, init_deployment
from canary.generation.issuing import Issuer

BIN = pathlib.Path(sys.executable).parent
PROBE_EVERY = 0.02


def probe(port: int, zone: str, while_running) -> list[float]:
    """Answer times (seconds) of queries sent every PROBE_EVERY while `while_running()` runs."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(0.5)
    sent: dict[str, float] = {}
    answered: dict[str, float] = {}
    stop = threading.Event()

    def sender():
        n, start = 0, time.monotonic()
        while not stop.is_set():
            name = f"p{n}.{zone}"
            sent[name] = time.monotonic()
            sock.sendto(dns.message.make_query(name, "A").to_wire(), ("127.0.0.1", port))
            n += 1
            time.sleep(max(0.0, start + n * PROBE_EVERY - time.monotonic()))

    def receiver():
        while not stop.is_set() or len(answered) < len(sent):
            try:
                data = sock.recv(4096)
            except TimeoutError:
                if stop.is_set():
                    return
                continue
            name = dns.message.from_wire(data).question[0].name.to_text().rstrip(".").lower()
            answered[name] = time.monotonic() - sent[name]

    threads = [threading.Thread(target=sender), threading.Thread(target=receiver)]
    for thread in threads:
        thread.start()
    try:
        while_running()
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        sock.close()
    lost = len(sent) - len(answered)
    return sorted(answered.values()) + [float("inf")] * lost


def figures(times: list[float]) -> dict:
    at = lambda share: times[int(share * (len(times) - 1))] * 1000  # noqa: E731
    return {"n": len(times), "p50": at(0.5), "p99": at(0.99), "worst": times[-1] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="plant 300 canaries (about 15 s)")
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    count = 300 if args.quick else args.count
    work = pathlib.Path(tempfile.mkdtemp(prefix="plant-stall-"))
    try:
        build(work / "lab.db", 5000, 7)
        home = work / "home"
        init_deployment(home, ["canary.test"]).close()
        deployment = Deployment.open(home)
        deployment.store.add_site("Labo")
        deployment.store.add_target("lims", "Labo", kind="sqlite", location=str(work / "lab.db"),
                                    mapping=str(DATA / "lab_mapping.toml"))
        zone = Issuer(deployment.store, deployment.settings).issue_token("dns")["value"]
        deployment.close()
        with dns_only_serve(str(BIN / "canary"), str(home), CANARY_DNS_RRL_RATE="0") as port:
            idle = figures(probe(port, zone, lambda: time.sleep(5 if args.quick else 10)))
            rows = [("idle store", idle)]
            for command in (["plant", "lims", "--count", str(count), "--seed", "6"], ["retire", "lims", "--all"]):
                ran: dict = {}

                def run(command=command, ran=ran):
                    started = time.monotonic()
                    done = subprocess.run([str(BIN / "canary"), *command, "--home", str(home)], capture_output=True,
                                          text=True)
                    ran.update(seconds=time.monotonic() - started, returncode=done.returncode, stderr=done.stderr)
                during = figures(probe(port, zone, run))
                if ran["returncode"]:
                    sys.exit(f"canary {command[0]} failed: {ran['stderr']}")
                rows.append((f"{' '.join(command[:1] + command[2:4])} ({ran['seconds']:.1f} s)", during))
        for name, row in rows:
            print(f"{name:32} {row['n']:5} answers  p50 {row['p50']:7.1f} ms  p99 {row['p99']:7.1f} ms  "
                  f"worst {row['worst']:7.1f} ms")
        for name, row in rows[1:]:
            print(f"p99 during {name.split(' (')[0]} / idle: {row['p99'] / idle['p99']:.1f}x; "
                  f"rule p99 < 100 ms: {'holds' if row['p99'] < 100 else 'NOT MET'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
