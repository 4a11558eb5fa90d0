"""Build the example LIS (schema.*.sql beside this file) and fill it with a synthetic host population.

    python3 examples/lis/make_lis_db.py --location lis.db --patients 2000 --seed 7
    python3 examples/lis/make_lis_db.py --location "postgresql:///lis?host=/var/run/postgresql&user=postgres"
    python3 examples/lis/make_lis_db.py --location "mysql://root@localhost/lis?unix_socket=/run/mysqld/mysqld.sock"

The database (SQLite file, PostgreSQL or MariaDB database) must exist and be empty. Keys are
numbered 1..N as the software would have, and its sequences left past them. The patients are
fictional (canary's generator: fiction phone ranges, example.com mail).
"""
from __future__ import annotations

import argparse
import datetime as dt
import pathlib
import random
import uuid

HERE = pathlib.Path(__file__).parent
IDENTITY_TYPES = [(1, "NIR", "Numéro de sécurité sociale"), (2, "GUID", "Identifiant FHIR"),
                  (3, "BIRTH_NAME", "Nom de naissance"), (4, "IPP", "Identifiant permanent")]
ADDRESS_PARTS = [(1, "street_number", 1), (2, "street", 2), (3, "postal_code", 3), (4, "commune", 4),
                 (5, "department", 5)]
LAST_ACTIVITY = dt.datetime(2024, 6, 28, 17, 42, 11, 318_204)


def engine_of(location: str) -> str:
    if location.startswith(("postgresql://", "postgres://")) or "dbname=" in location:
        return "postgresql"
    if location.startswith(("mysql://", "mariadb://")):
        return "mysql"
    return "sqlite"


def connect(location: str):
    """A DB-API connection and its placeholder."""
    engine = engine_of(location)
    if engine == "postgresql":
        import psycopg
        return psycopg.connect(location), "%s"
    if engine == "mysql":
        import pymysql

        from canary.planting.mysql import connection_arguments
        return pymysql.connect(**{**connection_arguments(location), "autocommit": False}), "%s"
    import sqlite3
    return sqlite3.connect(location), "?"


def host_rows(patients: int, seed: int) -> dict[str, list[tuple]]:
    """Every table's rows for `patients` fictional patients, keys 1..N."""
    from canary.planting.fields import field_values
    try:
        from canary.generation.patients import generate_patients
    except ImportError:  # before the package regrouping
        from canary.generation.patients import generate_patients
    rng = random.Random(f"lis-host-{seed}")   # its own stream: a plant seeded alike draws other UUIDs
    rows: dict[str, list[tuple]] = {name: [] for name in ("identity_type", "address_part", "person", "patient",
                                                          "patient_identity", "person_address", "contact")}
    rows["identity_type"] = IDENTITY_TYPES
    rows["address_part"] = ADDRESS_PARTS
    identity_id = contact_id = 0
    for number, patient in enumerate(generate_patients(patients, seed), 1):
        fields = field_values(patient)
        created = LAST_ACTIVITY - dt.timedelta(days=(patients - number) * 1800 / patients,
                                               seconds=rng.randrange(36_000), microseconds=rng.randrange(10 ** 6))
        updated = created + dt.timedelta(days=rng.randrange(60), microseconds=rng.randrange(10 ** 6))
        updated = min(updated, LAST_ACTIVITY)
        birth = dt.datetime.fromisoformat(patient["birth_date"])
        guid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        rows["person"].append((number, patient["last_name"].upper(), patient["first_name"], fields["civility"],
                               updated))
        rows["patient"].append((number, number, patient["sex"], birth, f"{birth:%d/%m/%Y}", f"LAB{number:08d}",
                                guid, True, created))
        identities = [(2, guid), (1, patient["nir"])] + ([(3, patient["birth_name"].upper())]
                                                         if patient["birth_name"] else [])
        for type_id, data in identities:
            identity_id += 1
            rows["patient_identity"].append((identity_id, number, type_id, data, updated))
        parts = [(1, fields["address.street_number"]), (2, fields["address.street"]),
                 (3, fields["address.postal_code"]), (4, fields["address.commune"].upper()),
                 (5, fields["address.department_name"])]
        rows["person_address"] += [(number, part, "D", value) for part, value in parts if value]
        national = "0" + patient["phone"][3:]
        phone = " ".join(national[i:i + 2] for i in range(0, 10, 2))
        for kind, value in (("MOBILE" if patient["phone_kind"] == "mobile" else "HOME", phone),
                            ("EMAIL", patient["email"])):
            contact_id += 1
            rows["contact"].append((contact_id, number, kind, value))
    return rows


COLUMNS = {
    "identity_type": ("id", "code", "description"),
    "address_part": ("id", "part_name", "display_order"),
    "person": ("id", "last_name", "first_name", "civility", "updated_at"),
    "patient": ("id", "person_id", "sex", "birth_date", "entered_birth_date", "external_id", "fhir_uuid", "active",
                "created_at"),
    "patient_identity": ("id", "patient_id", "identity_type_id", "identity_data", "updated_at"),
    "person_address": ("person_id", "address_part_id", "type", "value"),
    "contact": ("id", "person_id", "kind", "value"),
}
# The sequences the software draws keys from, left where it would have left them.
SEQUENCES = {
    "postgresql": ["SELECT setval('person_seq', {person})", "SELECT setval('contact_seq', {contact})",
                   "SELECT setval(pg_get_serial_sequence('patient', 'id'), {patient})",
                   "SELECT setval(pg_get_serial_sequence('patient_identity', 'id'), {patient_identity})"],
    "mysql": ["SELECT SETVAL(person_seq, {person})", "SELECT SETVAL(contact_seq, {contact})"],
    "sqlite": [],
}


def statements(script: str) -> list[str]:
    """The statements of a schema file (no semicolon inside one)."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def build(location: str, patients: int = 2000, seed: int = 7) -> None:
    engine = engine_of(location)
    conn, mark = connect(location)
    rows = host_rows(patients, seed)
    if engine == "sqlite":
        rows = {t: [tuple(str(v) if isinstance(v, dt.datetime) else int(v) if isinstance(v, bool) else v
                          for v in row) for row in table_rows] for t, table_rows in rows.items()}
    try:
        cursor = conn.cursor()
        for statement in statements((HERE / f"schema.{engine}.sql").read_text("utf-8")):
            cursor.execute(statement)
        for table, columns in COLUMNS.items():
            sql = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})")
            cursor.executemany(sql, rows[table])
        counts = {table: len(table_rows) for table, table_rows in rows.items()}
        for statement in SEQUENCES[engine]:
            cursor.execute(statement.format(**counts))
        conn.commit()
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--location", required=True, help="SQLite file, PostgreSQL DSN or mysql:// location")
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    build(arguments.location, arguments.patients, arguments.seed)


if __name__ == "__main__":
    main()
