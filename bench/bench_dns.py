"""DNS queries per second: token hits and unknown names, ours beside a bare dnslib server, same run.

Bounded: each measurement sends at most MAX_QUERIES from 127.0.0.1 for at most SECONDS.
Token hits are counted in the store afterwards: every answered hit must be stored.
Then recorded token hits per second by store (SQLite, PostgreSQL) with one and two whole
`canary serve` processes (PostgreSQL: CANARY_BENCH_POSTGRES_DSN, default the local socket).
Run: .venv/bin/python bench/bench_dns.py [--quick]
"""
from __future__ import annotations

import argparse
import pathlib
import secrets
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from dnslib import RR, A                                     # noqa: E402
from dnslib.server import BaseResolver, DNSLogger, DNSServer  # noqa: E402

from _load import in_processes, udp_load                    # noqa: E402
from _stores import store_table                             # noqa: E402
from canary.deployment import init_deployment  # noqa: E402
from canary.generation.issuing import Issuer  # noqa: E402
from listeners.dns import Authority  # noqa: E402
from listeners.dns_server import DnsServer  # noqa: E402
from listeners.recorder import Recorder  # noqa: E402

SECONDS = 4.0
MAX_QUERIES = 20_000
WINDOW = 256   # queries in flight: many resolvers at once, as on the internet


class BareResolver(BaseResolver):
    """The baseline: dnslib's own server answering every query with one A record."""

    def resolve(self, request, handler):
        reply = request.reply()
        reply.add_answer(RR(request.q.qname, rdata=A("127.0.0.1"), ttl=300))
        return reply


class QuietLogger(DNSLogger):
    def __init__(self):
        super().__init__("-request,-reply,-truncated,-error,-recv,-send,-data")


def measure(port: int, names: list[str]) -> dict:
    [result] = in_processes(udp_load, [(port, names, SECONDS, WINDOW)])
    result["qps"] = result["answered"] / result["seconds"]
    return result


def main() -> None:
    global SECONDS, MAX_QUERIES
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1.5 s per measurement instead of 4")
    if parser.parse_args().quick:
        SECONDS, MAX_QUERIES = 1.5, 5_000
    with tempfile.TemporaryDirectory() as home:
        deployment = init_deployment(pathlib.Path(home) / "bench", ["canary.test"])
        issuer = Issuer(deployment.store, deployment.settings)
        tokens = [issuer.issue_token("dns")["value"] for _ in range(50)]
        hit_names = [f"q{n}.{tokens[n % len(tokens)]}" for n in range(MAX_QUERIES)]
        unknown_names = [f"{secrets.token_hex(6)}.canary.test" for _ in range(MAX_QUERIES)]

        bare = DNSServer(BareResolver(), port=0, address="127.0.0.1", logger=QuietLogger())
        bare.start_thread()
        bare_port = bare.server.server_address[1]
        bare_result = measure(bare_port, hit_names)
        bare.stop()

        recorder = Recorder(deployment.store).start()
        ours = DnsServer(Authority.from_settings(deployment.settings), recorder, "127.0.0.1", 0, rrl_rate=0).start()
        hit_result = measure(ours.port, hit_names)
        unknown_result = measure(ours.port, unknown_names)
        ours.stop()
        recorder.stop()
        stored = len(deployment.store.contacts())
        deployment.close()

    print(f"bare dnslib DNSServer      {bare_result['qps']:8.0f} q/s  ({bare_result['answered']} answered)")
    print(f"canary, token hits         {hit_result['qps']:8.0f} q/s  ({hit_result['answered']} answered, "
          f"{stored} stored)  ratio {hit_result['qps'] / bare_result['qps']:.2f}")
    print(f"canary, unknown names      {unknown_result['qps']:8.0f} q/s  ({unknown_result['answered']} answered)"
          f"  ratio {unknown_result['qps'] / bare_result['qps']:.2f}")
    lost = hit_result["answered"] - stored
    print(f"recorded token hits/s      {stored / hit_result['seconds']:8.0f}  lost: {max(lost, 0)}")
    if lost > 0:
        sys.exit("FAIL: answered token hits missing from the store")
    if not store_table(SECONDS, MAX_QUERIES):
        sys.exit("FAIL: an answered token hit is missing from a store, or its chain does not verify")


if __name__ == "__main__":
    main()
