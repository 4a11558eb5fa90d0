"""The store's schema as numbered migrations; a store records the last one applied.

Append new migrations at the end, never edit an applied one: existing deployments
upgrade by running the ones they lack, in order, each in its own transaction.
"""

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, """
    CREATE TABLE sites (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        created_at  TEXT NOT NULL
    );
    CREATE TABLE targets (
        id          INTEGER PRIMARY KEY,
        site_id     INTEGER NOT NULL REFERENCES sites (id),
        name        TEXT NOT NULL UNIQUE,
        kind        TEXT NOT NULL,            -- sqlite, postgresql, sql, csv, manual
        location    TEXT,                     -- DSN or path
        mapping     TEXT,                     -- path of the mapping file
        region      TEXT,                     -- where its patients live, for realistic addresses
        created_at  TEXT NOT NULL
    );
    CREATE TABLE canaries (
        id          INTEGER PRIMARY KEY,
        target_id   INTEGER REFERENCES targets (id),
        label       TEXT NOT NULL UNIQUE,     -- the canary's DNS label
        patient     TEXT NOT NULL,            -- JSON: the fake patient as registered
        created_at  TEXT NOT NULL
    );
    CREATE TABLE tokens (
        id          INTEGER PRIMARY KEY,
        token       TEXT NOT NULL UNIQUE,     -- public name of a standalone token
        kind        TEXT NOT NULL,            -- dns, email, url, phone
        value       TEXT NOT NULL,
        note        TEXT,
        created_at  TEXT NOT NULL
    );
    -- Every value exactly one canary or token carries, normalised, one lookup away.
    CREATE TABLE identifiers (
        id          INTEGER PRIMARY KEY,
        kind        TEXT NOT NULL,            -- email, phone, hostname, url, nir
        value       TEXT NOT NULL UNIQUE,
        canary_id   INTEGER REFERENCES canaries (id),
        token_id    INTEGER REFERENCES tokens (id),
        created_at  TEXT NOT NULL,
        CHECK ((canary_id IS NULL) <> (token_id IS NULL))
    );
    CREATE INDEX identifiers_canary ON identifiers (canary_id);
    CREATE INDEX identifiers_token ON identifiers (token_id);
    CREATE TABLE plantings (
        id           INTEGER PRIMARY KEY,
        canary_id    INTEGER NOT NULL REFERENCES canaries (id),
        target_id    INTEGER NOT NULL REFERENCES targets (id),
        state        TEXT NOT NULL,           -- pending (script written), planted, retired
        planted_at   TEXT,                    -- when the rows went in (or were confirmed)
        removed_at   TEXT,
        rows         TEXT NOT NULL,           -- JSON [{table, key: {column: value}}]
        fingerprint  TEXT,                    -- JSON of the values written, for `check`
        created_at   TEXT NOT NULL
    );
    CREATE INDEX plantings_target ON plantings (target_id, planted_at);
    CREATE INDEX plantings_canary ON plantings (canary_id);
    CREATE TABLE checks (
        id          INTEGER PRIMARY KEY,
        target_id   INTEGER NOT NULL REFERENCES targets (id),
        time        TEXT NOT NULL,
        result      TEXT NOT NULL             -- JSON {canary_id: present|missing|altered}
    );
    CREATE TABLE contacts (
        id            INTEGER PRIMARY KEY,
        time          TEXT NOT NULL,
        channel       TEXT NOT NULL,          -- dns, smtp, http, sms, call
        identifier_id INTEGER NOT NULL REFERENCES identifiers (id),
        canary_id     INTEGER REFERENCES canaries (id),
        token_id      INTEGER REFERENCES tokens (id),
        source        TEXT,                   -- address:port of the peer, or the caller
        details       TEXT NOT NULL,          -- JSON, attacker-controlled: display escaped
        evidence_seq  INTEGER NOT NULL
    );
    CREATE INDEX contacts_time ON contacts (time);
    CREATE INDEX contacts_canary ON contacts (canary_id, time);
    -- Contacts with names we do not know: counted per day, channel and kind, never stored one by one.
    CREATE TABLE unknown_contacts (
        day         TEXT NOT NULL,
        channel     TEXT NOT NULL,
        kind        TEXT NOT NULL,
        count       INTEGER NOT NULL,
        PRIMARY KEY (day, channel, kind)
    );
    CREATE TABLE scans (
        id          INTEGER PRIMARY KEY,
        time        TEXT NOT NULL,
        files       TEXT NOT NULL,            -- JSON [{path, sha256, size}]
        result      TEXT NOT NULL             -- JSON attribution
    );
    CREATE TABLE sightings (
        id            INTEGER PRIMARY KEY,
        scan_id       INTEGER NOT NULL REFERENCES scans (id),
        time          TEXT NOT NULL,
        canary_id     INTEGER REFERENCES canaries (id),
        token_id      INTEGER REFERENCES tokens (id),
        identifier_id INTEGER REFERENCES identifiers (id),
        kind          TEXT NOT NULL,
        value         TEXT NOT NULL,
        file          TEXT NOT NULL,
        file_sha256   TEXT NOT NULL,
        line          INTEGER
    );
    CREATE INDEX sightings_canary ON sightings (canary_id);
    -- Append-only, hash-chained: hash = sha256(canonical(seq, time, clock, kind, payload, prev_hash)).
    CREATE TABLE evidence (
        seq         INTEGER PRIMARY KEY,
        time        TEXT NOT NULL,
        clock       TEXT NOT NULL,
        kind        TEXT NOT NULL,
        payload     TEXT NOT NULL,
        prev_hash   TEXT NOT NULL,
        hash        TEXT NOT NULL UNIQUE
    );
    CREATE TRIGGER evidence_no_update BEFORE UPDATE ON evidence
        BEGIN SELECT RAISE(ABORT, 'the evidence log is append-only'); END;
    CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence
        BEGIN SELECT RAISE(ABORT, 'the evidence log is append-only'); END;
    CREATE TABLE users (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        created_at    TEXT NOT NULL
    );
    CREATE TABLE api_tokens (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL,
        token_hash  TEXT NOT NULL UNIQUE,     -- sha256 of the token; the token is shown once
        created_at  TEXT NOT NULL,
        revoked_at  TEXT
    );
    """),
    (2, """
    -- Alerts read contacts and never write them: their own state lives here.
    CREATE TABLE alert_state (
        name        TEXT PRIMARY KEY,         -- e.g. 'cursor': id of the last contact turned into alerts
        value       TEXT NOT NULL
    );
    -- One row per (canary or token, contact channel): when it last alerted and what was held back since.
    CREATE TABLE alert_throttle (
        subject     TEXT NOT NULL,            -- 'canary:12' or 'token:3'
        channel     TEXT NOT NULL,            -- contact channel: dns, smtp, http, sms, call
        alerted_at  TEXT NOT NULL,
        held        INTEGER NOT NULL DEFAULT 0,
        held_first  TEXT,
        held_last   TEXT,
        held_sources TEXT NOT NULL DEFAULT '[]',  -- JSON, a few distinct sources for the summary
        PRIMARY KEY (subject, channel)
    );
    -- The outbox: every alert for every destination, pending until delivered.
    CREATE TABLE alert_deliveries (
        id          INTEGER PRIMARY KEY,
        created_at  TEXT NOT NULL,
        destination TEXT NOT NULL,            -- webhook, slack, email, jsonl
        contact_id  INTEGER REFERENCES contacts (id),
        kind        TEXT NOT NULL,            -- contact, summary, test
        alert       TEXT NOT NULL,            -- JSON: what the alert says
        state       TEXT NOT NULL,            -- pending, sent
        attempts    INTEGER NOT NULL DEFAULT 0,
        next_at     TEXT NOT NULL,
        last_error  TEXT,
        sent_at     TEXT
    );
    CREATE INDEX alert_deliveries_due ON alert_deliveries (state, next_at);
    """),
    (3, """
    -- A removed target keeps its row: its canaries stay registered, so a copy taken before still attributes.
    ALTER TABLE targets ADD COLUMN removed_at TEXT;
    """),
    (4, """
    -- Several listener hosts share one store (PostgreSQL): each contact names the host that recorded it.
    ALTER TABLE contacts ADD COLUMN host TEXT;
    -- One row per listener host: `canary serve` says it is alive every few seconds.
    CREATE TABLE listener_hosts (
        name        TEXT PRIMARY KEY,         -- [store] host, default the machine's host name
        started_at  TEXT NOT NULL,
        last_seen   TEXT NOT NULL,            -- its last heartbeat
        last_write  TEXT,                     -- its last committed contact
        stopped_at  TEXT,                     -- set by a clean stop; a killed host just goes quiet
        pid         INTEGER,
        listeners   TEXT NOT NULL             -- e.g. 'dns 0.0.0.0:53, smtp 0.0.0.0:25'
    );
    -- A delivery being sent: until when its worker holds it. Only the alert leader sends, so a new
    -- leader (the last one died) frees every claim at once instead of waiting for them to expire.
    ALTER TABLE alert_deliveries ADD COLUMN claimed_until TEXT;
    """),
    (5, """
    -- A message's stored bytes, once, whatever the number of its recipients (contacts refer
    -- to it by the sha256 of what is stored; the evidence event carries that hash).
    CREATE TABLE raw_messages (
        sha256      TEXT PRIMARY KEY,         -- of the stored (possibly cut) bytes
        size        INTEGER NOT NULL,         -- bytes stored
        raw_base64  TEXT NOT NULL,
        first_time  TEXT NOT NULL
    );
    ALTER TABLE contacts ADD COLUMN raw_sha256 TEXT REFERENCES raw_messages (sha256);
    -- Contacts beyond the storage budget of their identifier or source in a period: counted,
    -- never stored one by one (each group commit appends a contacts.tallied event of its deltas).
    CREATE TABLE contact_tallies (
        period        TEXT NOT NULL,          -- UTC start of the budget period
        identifier_id INTEGER NOT NULL REFERENCES identifiers (id),
        channel       TEXT NOT NULL,
        source        TEXT NOT NULL,          -- address without port; '*' beyond the global budget
        reason        TEXT NOT NULL,          -- identifier, source, global: which budget was spent
        count         INTEGER NOT NULL,
        bytes         INTEGER NOT NULL,
        first_time    TEXT NOT NULL,
        last_time     TEXT NOT NULL,
        PRIMARY KEY (period, identifier_id, channel, source)
    );
    -- Logging out ends every session of the user: sessions carry the generation they began in.
    ALTER TABLE users ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0;
    """),
    (6, """
    -- `canary plant --count N --over 90d`: N canaries planted a few at a time by `canary rotate`
    -- over the period, so that their keys interleave with the host's own new registrations.
    CREATE TABLE planting_schedules (
        id          INTEGER PRIMARY KEY,
        target_id   INTEGER NOT NULL REFERENCES targets (id),
        total       INTEGER NOT NULL,
        planted     INTEGER NOT NULL DEFAULT 0,
        starts_at   TEXT NOT NULL,
        ends_at     TEXT NOT NULL,
        created_at  TEXT NOT NULL
    );
    """),
)

LATEST_VERSION = MIGRATIONS[-1][0]
