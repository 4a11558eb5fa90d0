"""For bench_dns.py: recorded DNS token hits per second by store, SQLite vs PostgreSQL, one and two
`canary serve` processes.

Whole processes: each `canary serve` (DNS only, no rate limit) is loaded by its own client process
with WINDOW queries in flight for SECONDS; what counts is what the store holds afterwards (every
answered hit must be there, once). PostgreSQL: a fresh database on the server of
CANARY_BENCH_POSTGRES_DSN (default: the local socket as user postgres), dropped afterwards.
"""
from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import tempfile
import threading
import uuid

from _load import in_processes, udp_load

from canary.deployment import Deployment, init_deployment
from canary.generation.issuing import Issuer

ADMIN_DSN = os.environ.get("CANARY_BENCH_POSTGRES_DSN", "postgresql:///postgres?host=/var/run/postgresql&user=postgres")
WINDOW = 128
CANARY = pathlib.Path(sys.executable).parent / "canary"


# One client (127.0.0.1) asks everything: without these, the bench would measure the response rate
# limit, the per-network shedding (100 queries/s from one /24) and the storage budget (1,000 contacts
# per source an hour, beyond counted in tallies), not the store.
UNLIMITED = {"CANARY_DNS_RRL_RATE": "0", "CANARY_DNS_UDP_QUERIES_PER_NETWORK": "0",
             "CANARY_BUDGET_CONTACTS_PER_SOURCE": "10000000", "CANARY_BUDGET_CONTACTS_PER_IDENTIFIER": "10000000",
             "CANARY_BUDGET_CONTACTS_PER_PERIOD": "10000000"}


def start_serve(home: pathlib.Path, host: str) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen([str(CANARY), "serve", "--home", str(home), "--dns", "127.0.0.1:0", "--smtp", "off",
                                "--http", "off"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, **UNLIMITED, "CANARY_STORE_HOST": host, "PYTHONUNBUFFERED": "1"})
    port = None
    for line in process.stdout:
        found = re.match(r"dns listening on 127\.0\.0\.1:(\d+)", line)
        port = int(found[1]) if found else port
        if line.startswith("ready"):
            threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
            return process, port
    raise SystemExit("canary serve did not start")


def measure(store_url: str | None, processes: int, seconds: float, queries: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        home = pathlib.Path(tmp) / "bench"
        deployment = init_deployment(home, ["canary.test"], store=store_url)
        issuer = Issuer(deployment.store, deployment.settings)
        tokens = [issuer.issue_token("dns")["value"] for _ in range(20)]
        deployment.close()
        servers = [start_serve(home, f"host{n}") for n in range(processes)]
        try:
            loads = in_processes(udp_load, [(port, [f"q{n}p{i}.{tokens[n % len(tokens)]}" for n in range(queries)],
                                             seconds, WINDOW) for i, (_, port) in enumerate(servers)])
        finally:
            for process, _ in servers:
                process.terminate()
                process.wait(30)
        deployment = Deployment.open(home)
        try:
            stored = len(deployment.store.contacts())
            intact = deployment.store.verify_evidence().ok
        finally:
            deployment.close()
    answered = sum(load["answered"] for load in loads)
    elapsed = max(load["seconds"] for load in loads)
    return {"answered": answered, "stored": stored, "per_second": stored / elapsed, "intact": intact}


def postgres_database() -> tuple[str, str]:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo
    name = f"canary_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    params = {**conninfo_to_dict(ADMIN_DSN), "dbname": name}
    query = "&".join(f"{k}={v}" for k, v in params.items() if k != "dbname")
    return name, f"postgresql:///{name}?{query}"


def drop_database(name: str) -> None:
    import psycopg
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def store_table(seconds: float, queries: int) -> bool:
    """Print recorded token hits/s per store and number of serve processes; False if a hit was lost."""
    results, ok = {}, True
    for processes in (1, 2):
        results[("sqlite", processes)] = measure(None, processes, seconds, queries)
        name, url = postgres_database()
        try:
            results[("postgresql", processes)] = measure(url, processes, seconds, queries)
        finally:
            drop_database(name)
    base = results[("sqlite", 1)]["per_second"]
    for (store, processes), result in results.items():
        lost = result["answered"] - result["stored"]
        ok &= lost <= 0 and result["intact"]
        print(f"store {store:10} {processes} serve process{'es' if processes > 1 else '  '} "
              f"{result['per_second']:6.0f} recorded token hits/s  ({result['answered']} answered, "
              f"{result['stored']} stored, chain {'intact' if result['intact'] else 'BROKEN'})  "
              f"ratio to SQLite x1 {result['per_second'] / base:.2f}")
    return ok
