"""Planting speed: `canary plant` into the example LIS (examples/lis) in SQLite, PostgreSQL and MariaDB,
beside what a DBA would reach for: the very same rows inserted by a plain executemany, one
transaction, in a process of its own. Both are timed whole process vs whole process.

Prints canaries per second for each and their ratio. The plant does more per row: it generates
the patient, registers its identifiers in the hash-chained store, learns the host's habits and
checks every key; the baseline only inserts.

    .venv/bin/python bench/plant.py [--quick] [--count 1000] [--patients 2000] [--engines sqlite,postgresql,mysql]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import pathlib
import resource
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent
LIS = ROOT / "examples" / "lis"
PG_ADMIN = "postgresql:///postgres?host=/var/run/postgresql&user=postgres"
MY_SOCKET = "/run/mysqld/mysqld.sock"

BASELINE = r"""
import json, sys, importlib.util
spec = importlib.util.spec_from_file_location("make_lis_db", sys.argv[1])
lis = importlib.util.module_from_spec(spec); spec.loader.exec_module(lis)
rows = json.load(open(sys.argv[3]))
conn, mark = lis.connect(sys.argv[2])
cursor = conn.cursor()
for table, columns, values in rows:
    cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})",
                       values)
conn.commit()
conn.close()
"""


def builder():
    spec = importlib.util.spec_from_file_location("make_lis_db", LIS / "make_lis_db.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fresh_database(engine: str, folder: pathlib.Path, label: str) -> tuple[str, callable]:
    """A location of an empty database and a function that drops it."""
    name = f"canary_bench_{label}_{uuid.uuid4().hex[:8]}"
    if engine == "sqlite":
        return str(folder / f"{name}.db"), lambda: None
    if engine == "postgresql":
        import psycopg
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')

        def drop():
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return f"postgresql:///{name}?host=/var/run/postgresql&user=postgres", drop
    import pymysql
    with pymysql.connect(unix_socket=MY_SOCKET, user="root", autocommit=True) as admin:
        admin.cursor().execute(f"CREATE DATABASE `{name}`")

    def drop():
        with pymysql.connect(unix_socket=MY_SOCKET, user="root", autocommit=True) as admin:
            admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
    return f"mysql://root@localhost/{name}?unix_socket={MY_SOCKET}", drop


def planted_rows(home: pathlib.Path) -> list:
    """The rows the plant wrote (key and values), grouped per table in write order, for the baseline."""
    from canary.deployment import Deployment
    deployment = Deployment.open(home)
    try:
        plantings = deployment.store.plantings(deployment.store.get_target("lis")["id"])
    finally:
        deployment.close()
    groups: dict[tuple, list] = {}
    order: list[tuple] = []
    for planting in plantings:
        for row, values in zip(planting["rows"], planting["fingerprint"]):
            full = {**values, **row["key"]}
            signature = (row["table"], tuple(full))
            if signature not in groups:
                groups[signature] = []
                order.append(signature)
            groups[signature].append(list(full.values()))
    # Parents first: the mapping writes person before patient before identities, for every canary.
    tables = ["person", "patient", "patient_identity", "person_address", "contact"]
    order.sort(key=lambda s: tables.index(s[0]))
    return [[table, list(columns), groups[(table, columns)]] for table, columns in order]


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process): on a shared machine the wall clock counts the neighbours too."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run(engine: str, count: int, patients: int, folder: pathlib.Path) -> tuple[tuple, tuple]:
    lis = builder()
    canary_db, drop_canary = fresh_database(engine, folder, "plant")
    baseline_db, drop_baseline = fresh_database(engine, folder, "base")
    try:
        lis.build(canary_db, patients, 7)
        lis.build(baseline_db, patients, 7)
        home = folder / f"home-{engine}"
        from canary.deployment import Deployment, init_deployment
        from canary.planting.registration import add_target
        init_deployment(home, ["canary.test"]).close()
        deployment = Deployment.open(home)
        try:
            deployment.store.add_site("Bench lab")
            add_target(deployment, "lis", "Bench lab", kind=engine if engine != "mysql" else "mysql",
                       location=canary_db, mapping=str(LIS / "mapping.toml"))
        finally:
            deployment.close()
        canary = str(pathlib.Path(sys.executable).parent / "canary")
        plant_seconds = timed([canary, "plant", "lis", "--count", str(count), "--home", str(home)])
        rows_file = folder / f"rows-{engine}.json"
        rows_file.write_text(json.dumps(planted_rows(home)))
        baseline_seconds = timed([sys.executable, "-c", BASELINE, str(LIS / "make_lis_db.py"), baseline_db,
                                  str(rows_file)])
        return plant_seconds, baseline_seconds
    finally:
        drop_canary()
        drop_baseline()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 canaries into a 300-patient host")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--engines", default="sqlite,postgresql,mysql")
    arguments = parser.parse_args()
    count, patients = (200, 300) if arguments.quick else (arguments.count, arguments.patients)
    print(f"canary plant --count {count} into the example LIS ({patients} host patients), "
          "vs the same rows by executemany (whole processes)")
    with tempfile.TemporaryDirectory() as folder:
        for engine in arguments.engines.split(","):
            try:
                (plant_wall, plant_cpu), (base_wall, base_cpu) = run(engine, count, patients, pathlib.Path(folder))
            except Exception as error:  # noqa: BLE001 - a missing server skips its engine, the others still run
                print(f"{engine:<11} skipped: {' '.join(str(error).split())[:120]}")
                continue
            print(f"{engine:<11} canary plant {count / plant_wall:6.0f}/s wall {count / plant_cpu:6.0f}/s CPU   "
                  f"executemany {count / base_wall:6.0f}/s wall {count / base_cpu:6.0f}/s CPU   "
                  f"ratio {plant_wall / base_wall:5.1f}x wall")


if __name__ == "__main__":
    main()
