"""Listeners under hostile load (issue 11): while 1,100 idle SMTP connections, a flood of
100,000 random names under a token's label and 1 MB messages in a loop run, a legitimate DNS,
SMTP and HTTP contact every second must be answered within 100 ms and stored.

`canary serve` runs as a process of its own; each load runs in its own process from its own
loopback /24 (127.2.0.2, 127.3.0.3, 127.4.0.4: DNS rate limiting groups sources by /24); the
legitimate client is 127.0.0.1. Prints the store's growth
(target: under 50 MB for the whole run), answer-time percentiles per channel, and the
contacts stored whole vs tallied beyond the storage budget.

Run: .venv/bin/python bench/hostile.py [--quick]   (full: 60 s; --quick: 10 s, 10,000 names)
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import pathlib
import random
import re
import resource
import signal
import smtplib
import socket
import statistics
import string
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _query(name: str, ident: int) -> bytes:
    wire = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + wire + struct.pack("!HH", 1, 1)


# -- the loads (each in its own process) --------------------------------------------------------
def idle_smtp(port: int, count: int, seconds: float, result) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    held, refused = [], 0
    for _ in range(count):
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=("127.3.0.3", 0))
            held.append(sock)
        except OSError:
            refused += 1
    time.sleep(seconds)
    open_ = 0
    for sock in held:
        try:
            sock.settimeout(0.01)
            data = sock.recv(100)
            open_ += not data.startswith(b"421") and data != b""
        except OSError:
            open_ += 1
        sock.close()
    result.put(("idle", {"opened": len(held), "refused_at_connect": refused, "still_open": open_}))


def name_flood(port: int, label_suffix: str, names: int, seconds: float, result) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.2.0.2", 0))
    sock.setblocking(False)
    rng = random.Random(11)
    deadline = time.monotonic() + seconds
    interval = seconds / names
    sent = 0
    started = time.monotonic()
    while sent < names and time.monotonic() < deadline:
        name = "".join(rng.choices(string.ascii_lowercase + string.digits, k=16)) + "." + label_suffix
        try:
            sock.sendto(_query(name, sent & 0xFFFF), ("127.0.0.1", port))
            sent += 1
        except BlockingIOError:
            time.sleep(0.001)
        try:
            while sock.recv(4096):
                pass
        except (BlockingIOError, ConnectionRefusedError):
            pass
        lag = started + sent * interval - time.monotonic()
        if lag > 0:
            time.sleep(lag)
    result.put(("flood", {"names_sent": sent}))


def big_messages(port: int, address: str, seconds: float, result) -> None:
    body = b"Subject: x\r\n\r\n" + b"\r\n".join(os.urandom(300).hex().encode() for _ in range(1_650))  # ~1 MB
    sent = failed = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10, source_address=("127.4.0.4", 0)) as client:
                while time.monotonic() < deadline:
                    client.sendmail("spam@example.org", [address], body[:-8] + os.urandom(4).hex().encode())
                    sent += 1
        except (smtplib.SMTPException, OSError):
            failed += 1
            time.sleep(0.05)
    result.put(("messages", {"sent": sent, "sessions_failed": failed, "bytes": sent * len(body)}))


# -- the legitimate client (this process) --------------------------------------------------------
RESOLVER_RETRY = 0.4     # a resolver asks again after ~400 ms (Unbound's first timeout: 376 ms)
RETRIED = []             # seconds of the run at which a legitimate DNS query had to be asked again


def legit_dns(port: int, name: str, started_run: float) -> float:
    """Time to an answer, from the first try; asked again every RESOLVER_RETRY seconds, up to 5 s."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(RESOLVER_RETRY)
        started = time.perf_counter()
        for attempt in range(int(5 / RESOLVER_RETRY)):
            sock.sendto(_query(name, 7), ("127.0.0.1", port))
            try:
                sock.recv(4096)
            except TimeoutError:
                continue
            if attempt:
                RETRIED.append(time.monotonic() - started_run)
            return time.perf_counter() - started
        raise TimeoutError(f"no answer in {int(5 / RESOLVER_RETRY)} tries")


def legit_smtp(port: int, address: str) -> float:
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
        client.ehlo("client.example.org")
        client.mail("someone@example.org")
        started = time.perf_counter()
        code = client.rcpt(address)[0]
        elapsed = time.perf_counter() - started
    assert code == 250, code
    return elapsed


def legit_http(port: int, path: str) -> float:
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert b" 200 " in answer.split(b"\r\n", 1)[0], answer[:60]
    return time.perf_counter() - started


def store_size(home: pathlib.Path) -> int:
    return sum(path.stat().st_size for path in home.glob("canary.db*"))


def percentiles(values: list[float]) -> str:
    if not values:
        return "no answers"
    ms = sorted(v * 1000 for v in values)
    p = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]  # noqa: E731
    return f"p50 {statistics.median(ms):6.1f} ms  p95 {p(0.95):6.1f} ms  p99 {p(0.99):6.1f} ms  max {ms[-1]:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 s and 10,000 names instead of 60 s and 100,000")
    args = parser.parse_args()
    seconds, names = (10.0, 10_000) if args.quick else (60.0, 100_000)
    from canary.deployment import Deployment, init_deployment
    from canary.generation.issuing import Issuer
    with tempfile.TemporaryDirectory() as folder:
        home = pathlib.Path(folder) / "deployment"
        made = init_deployment(home, ["canary.test"])
        issuer = Issuer(made.store, made.settings)
        flood_token, flood_mail = issuer.issue_token("dns"), issuer.issue_token("email")
        legit = {"dns": issuer.issue_token("dns"), "email": issuer.issue_token("email"),
                 "http": issuer.issue_token("dns")}
        made.close()
        before = store_size(home)
        server = subprocess.Popen([str(pathlib.Path(sys.executable).with_name("canary")), "serve", "--home", str(home),
                                   "--dns", "127.0.0.1:0", "--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  env={**os.environ, "PYTHONUNBUFFERED": "1"})
        ports = {}
        for line in server.stdout:
            found = re.match(r"(dns|smtp|http) listening on 127\.0\.0\.1:(\d+)", line)
            if found:
                ports[found[1]] = int(found[2])
            if line.startswith("ready"):
                break
        log_lines = []   # read all along, as a journal would (once, unread, it stalled the server: see contact_log.py)
        reader = threading.Thread(target=lambda: log_lines.extend(server.stdout), daemon=True)
        reader.start()
        results = multiprocessing.Queue()
        loads = [multiprocessing.Process(target=idle_smtp, args=(ports["smtp"], 1_100, seconds, results)),
                 multiprocessing.Process(target=name_flood, args=(ports["dns"], flood_token["value"], names, seconds,
                                                                  results)),
                 multiprocessing.Process(target=big_messages, args=(ports["smtp"], flood_mail["value"], seconds,
                                                                    results))]
        for load in loads:
            load.start()
        times = {"dns": [], "smtp": [], "http": []}
        when = {"dns": [], "smtp": [], "http": []}      # second of the run each answer came at
        failures = {"dns": [], "smtp": [], "http": []}   # (second of the run, what went wrong)
        probes = 0
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            tick = time.monotonic()
            probes += 1
            for channel, probe in (("dns", lambda: legit_dns(ports["dns"], legit["dns"]["value"], started)),
                                   ("smtp", lambda: legit_smtp(ports["smtp"], legit["email"]["value"])),
                                   ("http", lambda: legit_http(ports["http"], "/" + legit["http"]["token"]))):
                try:
                    times[channel].append(probe())
                    when[channel].append(time.monotonic() - started)
                except (OSError, AssertionError, smtplib.SMTPException) as error:
                    failures[channel].append((time.monotonic() - started, f"{type(error).__name__}: {error}"[:80]))
            time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        loaded = dict(results.get(timeout=120) for _ in loads)
        for load in loads:
            load.join(60)
        server.send_signal(signal.SIGTERM)
        server.wait(60)
        reader.join(30)
        grown = store_size(home) - before
        deployment = Deployment.open(home)
        try:
            store = deployment.store
            stored = len(store.contacts())
            tallies = store.contact_tallies()
            tallied = sum(t["count"] for t in tallies)
            shed = sum(row["count"] for row in store.unknown_counts() if (row["channel"], row["kind"]) == ("dns", "shed"))
            legit_stored = {channel: len(store.contacts(token=legit[key]["token"], channel=channel))
                            for channel, key in (("dns", "dns"), ("smtp", "email"), ("http", "http"))}
            audit = store.audit_tables()
            verified = store.verify_evidence().ok
        finally:
            deployment.close()
    print(f"hostile load for {seconds:.0f} s: {loaded['idle']['opened']:,} idle SMTP connections opened "
          f"({loaded['idle']['still_open']:,} still held by the server at the end), "
          f"{loaded['flood']['names_sent']:,} random names under one token, "
          f"{loaded['messages']['sent']:,} messages of ~1 MB ({loaded['messages']['bytes'] / 2**20:,.0f} MB)")
    for channel in ("dns", "smtp", "http"):
        within = sum(t <= 0.1 for t in times[channel])
        print(f"legitimate {channel:4s}: {probes} probes, {len(failures[channel])} failed, {within}/{len(times[channel])} "
              f"within 100 ms, {legit_stored[channel]} stored; {percentiles(times[channel])}")
        late = [f"{time_ * 1000:.0f} ms at {second:.0f} s" for time_, second in zip(times[channel], when[channel])
                if time_ > 0.1]
        if late:
            print(f"    beyond 100 ms: {', '.join(late)}")
        if channel == "dns" and RETRIED:
            print(f"    asked again (first try lost): at {', '.join(f'{second:.0f} s' for second in RETRIED)}")
        for second, reason in failures[channel]:
            print(f"    failed at {second:5.1f} s: {reason}")
    print(f"store growth: {grown / 2**20:.1f} MB (target < 50 MB)")
    print(f"contacts stored whole: {stored:,}; tallied beyond the budget: {tallied:,} in {len(tallies)} tallies; "
          f"DNS queries shed unread (per-network rate, counted): {shed:,}")
    print(f"evidence: chain {'ok' if verified else 'BROKEN'}, tables {'agree' if not audit else audit[:3]}; "
          f"server log lines: {len(log_lines):,}")


if __name__ == "__main__":
    main()
