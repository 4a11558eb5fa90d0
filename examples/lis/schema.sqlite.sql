-- The example LIS of schema.postgresql.sql for SQLite: rowid keys, text timestamps with
-- microseconds as the software writes them, UUIDs as text.
PRAGMA foreign_keys = ON;

CREATE TABLE identity_type (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    description TEXT
);

CREATE TABLE address_part (
    id            INTEGER PRIMARY KEY,
    part_name     TEXT NOT NULL UNIQUE,
    display_order INTEGER NOT NULL
);

CREATE TABLE person (
    id          INTEGER PRIMARY KEY,
    last_name   TEXT NOT NULL,
    first_name  TEXT NOT NULL,
    civility    TEXT,
    updated_at  TEXT NOT NULL
);

CREATE TABLE patient (
    id                 INTEGER PRIMARY KEY,
    person_id          INTEGER NOT NULL REFERENCES person (id),
    sex                TEXT NOT NULL,
    birth_date         TEXT NOT NULL,
    entered_birth_date TEXT,
    external_id        TEXT NOT NULL UNIQUE,
    fhir_uuid          TEXT NOT NULL UNIQUE,
    active             INTEGER NOT NULL DEFAULT 1,
    created_at         TEXT NOT NULL
);

CREATE TABLE patient_identity (
    id               INTEGER PRIMARY KEY,
    patient_id       INTEGER NOT NULL REFERENCES patient (id),
    identity_type_id INTEGER NOT NULL REFERENCES identity_type (id),
    identity_data    TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);

CREATE TABLE person_address (
    person_id       INTEGER NOT NULL REFERENCES person (id),
    address_part_id INTEGER NOT NULL REFERENCES address_part (id),
    type            TEXT NOT NULL DEFAULT 'D',
    value           TEXT NOT NULL,
    PRIMARY KEY (person_id, address_part_id)
);

CREATE TABLE contact (
    id         INTEGER PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES person (id),
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL
);
