#!/usr/bin/env python3
"""Build a second example lab of another shape and vocabulary: a Provence lab, one wide table.

Realism is measured on two hosts so that the method cannot be tuned to one: this one has
one table of identity and contacts (no address or telecom tables), text keys ('P0001234')
that rise with registration time, ISO birth dates, NIRs in groups, international phone
numbers, southern names with a long tail of rare ones, email domains with a long tail,
sample times with seconds and validations a number of minutes (not hours) later.
Standard library only; same --seed, same database; every value is invented: emails use
.example domains, phone numbers the fiction ranges.

    python3 make_clinic_db.py --db clinic.db --patients 5000 --seed 11
"""
from __future__ import annotations

import argparse
import datetime as dt
import pathlib
import random
import sqlite3
import sys
import unicodedata

SCHEMA = """
CREATE TABLE individu (
    num_dossier     TEXT PRIMARY KEY,        -- 'P0001234', in order of registration
    civilite        TEXT NOT NULL,           -- 'M.' or 'MME'
    nom             TEXT NOT NULL,
    prenom          TEXT NOT NULL,
    nom_jeune_fille TEXT,
    naissance       TEXT NOT NULL,           -- 'YYYY-MM-DD'
    num_secu        TEXT,                    -- '2 85 03 13 055 123 45'
    voie            TEXT,
    cp              TEXT,
    ville           TEXT,
    tel             TEXT,                    -- '+33 6 39 98 12 34'
    courriel        TEXT,
    organisme       TEXT,
    saisi_le        TEXT NOT NULL            -- 'DD/MM/YYYY HH:MM'
);
CREATE TABLE prelevement (
    id          INTEGER PRIMARY KEY,
    num_dossier TEXT NOT NULL REFERENCES individu (num_dossier),
    preleve_le  TEXT NOT NULL,               -- 'YYYY-MM-DDTHH:MM:SS'
    site        TEXT NOT NULL
);
CREATE TABLE analyse (
    id             INTEGER PRIMARY KEY,
    prelevement_id INTEGER NOT NULL REFERENCES prelevement (id),
    code           TEXT NOT NULL,
    resultat       TEXT,
    valide_le      TEXT                      -- 'YYYY-MM-DDTHH:MM:SS'
);
"""
# (commune, INSEE code, postcodes, weight): Provence, Var, Alpes-Maritimes.
COMMUNES = (
    ("Marseille", "13055", ("13001", "13004", "13005", "13008", "13010", "13013"), 30),
    ("Aix-en-Provence", "13001", ("13090", "13100"), 8), ("Toulon", "83137", ("83000", "83100", "83200"), 10),
    ("Nice", "06088", ("06000", "06100", "06200", "06300"), 12), ("Avignon", "84007", ("84000",), 5),
    ("Aubagne", "13005", ("13400",), 3), ("La Ciotat", "13028", ("13600",), 2),
    ("Martigues", "13056", ("13500",), 2), ("Hyères", "83069", ("83400",), 2),
    ("Fréjus", "83061", ("83600",), 2), ("Antibes", "06004", ("06600",), 3), ("Cannes", "06029", ("06400",), 3),
    ("Arles", "13004", ("13200",), 2), ("Salon-de-Provence", "13103", ("13300",), 2),
    ("Istres", "13047", ("13800",), 1), ("Vitrolles", "13117", ("13127",), 1),
    ("Carpentras", "84031", ("84200",), 1), ("Draguignan", "83050", ("83300",), 1),
    ("Grasse", "06069", ("06130",), 1), ("Menton", "06083", ("06500",), 1),
)
LAST = ("Garcia", "Martinez", "Rossi", "Ferrari", "Bonnet", "Fabre", "Roux", "Blanc", "Giraud", "Martin",
        "Benali", "Haddad", "Mansouri", "Cohen", "Nguyen", "Lopez", "Sanchez", "Fernandez", "Perez", "Romero",
        "Rey", "Arnaud", "Barthélemy", "Michel", "Gauthier", "Olivier", "Maurin", "Pons", "Guigou", "Audibert",
        "Espitalier", "Reynaud", "Castellan", "Bianchi", "Russo", "Colombo", "Esposito", "Marchetti", "Amar",
        "Belkacem", "Ait Ali", "Diop", "Traoré", "Vidal", "Jourdan", "Aubert", "Chabert", "Silvestre", "Roubaud",
        "Imbert")
# Rare surnames: syllables that make a long tail of names shared by one to four patients.
SYLLABLES = ("ber", "tou", "gal", "mar", "ric", "lan", "vel", "pas", "ro", "bel", "fon", "cas", "sar", "don",
             "tin", "lio", "mo", "dre", "gui", "net")
FIRST = {
    "M": {1930: ("Marius", "Joseph", "Antoine", "Louis", "Henri", "Jean", "Fernand", "Paul", "Ange", "Vincent"),
          1960: ("Patrick", "Gilles", "Christian", "Alain", "Serge", "Gérard", "Mohamed", "Richard", "Marc", "Bruno"),
          1980: ("Julien", "Sébastien", "Mickaël", "Cédric", "Karim", "Romain", "Anthony", "Fabien", "Yannick", "Medhi"),
          2000: ("Lucas", "Enzo", "Nathan", "Rayan", "Noah", "Adam", "Mathéo", "Yanis", "Ilyes", "Jules")},
    "F": {1930: ("Marie", "Rose", "Odette", "Lucienne", "Paulette", "Andrée", "Mireille", "Josette", "Marcelle", "Fernande"),
          1960: ("Martine", "Sylvie", "Brigitte", "Corinne", "Patricia", "Fatima", "Chantal", "Muriel", "Pascale", "Danielle"),
          1980: ("Émilie", "Audrey", "Laetitia", "Sabrina", "Jessica", "Élodie", "Samia", "Amandine", "Vanessa", "Mélanie"),
          2000: ("Léa", "Inès", "Lina", "Jade", "Chloé", "Manon", "Sarah", "Yasmine", "Lola", "Maëlle")},
}
STREETS = ("boulevard de la Libération", "avenue du Prado", "rue Paradis", "cours Mirabeau", "chemin des Oliviers",
           "traverse des Pins", "montée Saint-Joseph", "avenue Jean Médecin", "rue d'Italie", "boulevard Baille",
           "rue de Rome", "avenue des Cigales", "impasse des Lavandes", "route de Gémenos", "quai du Port",
           "rue Sainte", "avenue de Toulon", "chemin du Vallon", "place Castellane", "rue Saint-Ferréol")
PROVIDERS = (("gmail.example", 40), ("orange.example", 14), ("hotmail.example", 10), ("free.example", 8),
             ("sfr.example", 5), ("yahoo.example", 5), ("laposte.example", 3), ("wanadoo.example", 3),
             ("outlook.example", 3), ("icloud.example", 2))
TAIL_SHARE = 0.09      # patients whose domain is a small one (their employer, their family's own)
ORGANISMES = (("MUTUELLE GENERALE", 10), ("HARMONIE MUT.", 14), ("MGEN", 8), ("SMATIS", 3), ("CSS", 9),
              ("MUT. DU SOLEIL", 4), ("AXA SANTE", 4), ("SWISSLIFE", 2), (None, 12))
TESTS = (("HEMO", None, None), ("GLYC", (3.9, 7.8), "{:.1f}"), ("CREAT", (45, 130), "{:.0f}"),
         ("TSHUS", (0.2, 5.5), "{:.2f}"), ("CRP", (1, 60), "{:.0f}"), ("FERRI", (10, 500), "{:.0f}"),
         ("VITD", (8, 70), "{:.0f}"), ("PSA", (0.1, 9), "{:.2f}"), ("HBGLY", (4.5, 10), "{:.1f}"))
SITES = ("PRADO", "CASTELLANE", "TOULON-MAYOL", "NICE-GAMBETTA")
START = dt.datetime(2012, 3, 1, 8, 0)
PER_DAY = 6            # registrations a day, on average


def weighted(rng, pairs):
    items, weights = zip(*pairs)
    return rng.choices(items, weights=weights, k=1)[0]


def slug(text: str) -> str:
    kept = "".join(c for c in unicodedata.normalize("NFKD", text) if c.isascii() and (c.isalnum() or c in " -"))
    return kept.lower().replace(" ", "").replace("-", "")


def rare_name(rng) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 3)))).capitalize()


def tail_domain(rng) -> str:
    return f"{rng.choice(SYLLABLES)}{rng.choice(SYLLABLES)}{rng.randint(1, 60)}.example"


def nir(rng, sex, birth, insee) -> str:
    first13 = f"{1 if sex == 'M' else 2}{birth.year % 100:02d}{birth.month:02d}{insee}{int(rng.triangular(1, 999, 40)):03d}"
    key = f"{97 - int(first13) % 97:02d}"
    full = first13 + key
    return " ".join((full[0], full[1:3], full[3:5], full[5:7], full[7:10], full[10:13], full[13:]))


def phone(rng, mobile: bool) -> str:
    head = "+33 6 39 98" if mobile else "+33 4 65 71"
    return f"{head} {rng.randint(0, 99):02d} {rng.randint(0, 99):02d}"


def first_name(rng, sex, year) -> str:
    cohorts = sorted(FIRST[sex])
    cohort = max([c for c in cohorts if c <= year] or cohorts[:1])
    return rng.choice(FIRST[sex][cohort])


def add_patients(con, rng, count: int) -> None:
    """`count` more registrations, after the last one (keys and times continue)."""
    last = con.execute("SELECT max(num_dossier), max(substr(saisi_le, 7, 4) || substr(saisi_le, 4, 2) || "
                       "substr(saisi_le, 1, 2) || substr(saisi_le, 12)) FROM individu").fetchone()
    seq = int(last[0][1:]) if last[0] else 0
    moment = START if not last[1] else dt.datetime.strptime(last[1], "%Y%m%d%H:%M")
    for _ in range(count):
        seq += 1
        moment += dt.timedelta(minutes=rng.expovariate(PER_DAY / (11 * 60)))
        if not 7 <= moment.hour < 18:   # the desk is open 7:00-18:00
            moment = dt.datetime.combine(moment.date() + dt.timedelta(days=1), dt.time(7)) + dt.timedelta(
                minutes=rng.randint(0, 40))
        sex = "F" if rng.random() < 0.56 else "M"
        age = min(99, int(rng.betavariate(1.6, 1.9) * 100))
        birth = moment.date() - dt.timedelta(days=age * 365 + rng.randint(0, 364))
        last_name = rare_name(rng) if rng.random() < 0.12 else rng.choice(LAST)
        maiden = None
        if sex == "F" and age >= 22 and rng.random() < 0.5:
            maiden, last_name = last_name, (rare_name(rng) if rng.random() < 0.12 else rng.choice(LAST))
        first = first_name(rng, sex, birth.year)
        home = weighted(rng, [(c, c[-1]) for c in COMMUNES])
        born = home if rng.random() < 0.5 else weighted(rng, [(c, c[-1]) for c in COMMUNES])
        street = f"{int(rng.expovariate(1 / 30)) + 1} {rng.choice(STREETS)}" if rng.random() < 0.97 else None
        tel = phone(rng, rng.random() < 0.85 - 0.004 * age) if rng.random() < 0.78 else None
        mail = None
        if rng.random() < (0.7 if age < 60 else 0.3):
            f, l = slug(first), slug(last_name)
            local = weighted(rng, ((f"{f}.{l}", 45), (f"{f}{l}", 20), (f"{f[0]}{l}", 10), (f"{f}_{l}", 5),
                                   (f"{l}{f}", 5), (f"{f}.{l}{rng.randint(1, 9)}", 5),
                                   (f"{f}{l}{birth.year % 100:02d}", 10)))
            domain = tail_domain(rng) if rng.random() < TAIL_SHARE else weighted(rng, PROVIDERS)
            mail = f"{local}@{domain}"
        key = f"P{seq:07d}"
        con.execute("INSERT INTO individu VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", (
            key, "M." if sex == "M" else "MME", last_name.upper(), first, maiden.upper() if maiden else None,
            birth.isoformat(), nir(rng, sex, birth, born[1]) if rng.random() < 0.88 else None, street,
            rng.choice(home[2]), home[0], tel, mail, weighted(rng, ORGANISMES), moment.strftime("%d/%m/%Y %H:%M")))
        visit = moment + dt.timedelta(minutes=rng.randint(5, 50), seconds=rng.randint(0, 59))
        # A course of tests over the next days; what came before this copy of the lab is not in it.
        for _ in range(1 + min(6, int(rng.expovariate(0.9)))):
            pid = con.execute("INSERT INTO prelevement (num_dossier, preleve_le, site) VALUES (?,?,?)",
                              (key, visit.isoformat(timespec="seconds"), rng.choice(SITES))).lastrowid
            for code, bounds, form in rng.sample(TESTS, rng.randint(1, 5)):
                value = None if bounds is None else form.format(rng.uniform(*bounds))
                validated = visit + dt.timedelta(minutes=int(rng.lognormvariate(4.6, 0.5)), seconds=rng.randint(0, 59))
                con.execute("INSERT INTO analyse (prelevement_id, code, resultat, valide_le) VALUES (?,?,?,?)",
                            (pid, code, value, validated.isoformat(timespec="seconds")))
            visit += dt.timedelta(days=int(rng.expovariate(1 / 3)) + 1, minutes=rng.randint(-90, 90))


def build(db: pathlib.Path, patients: int, seed: int) -> None:
    if db.exists():
        db.unlink()
    con = sqlite3.connect(db)
    con.executescript(SCHEMA)
    with con:
        add_patients(con, random.Random(seed), patients)
    con.close()


def grow(db: pathlib.Path, patients: int, seed: int) -> None:
    """Register `patients` more, as the lab keeps doing while canaries are planted."""
    con = sqlite3.connect(db)
    with con:
        add_patients(con, random.Random(seed), patients)
    con.close()


def erase(db: pathlib.Path, share: float, seed: int, above: int = 0) -> int:
    """Delete `share` of the patients registered after the `above`-th, with all their rows (merged duplicates,
    erasures on request): the holes in the file numbers every real database has."""
    con = sqlite3.connect(db)
    rng = random.Random(seed)
    keys = [row[0] for row in con.execute("SELECT num_dossier FROM individu ORDER BY num_dossier")][above:]
    gone = [(key,) for key in keys if rng.random() < share]      # each one by chance: a few new ones too
    with con:
        con.executemany("DELETE FROM analyse WHERE prelevement_id IN (SELECT id FROM prelevement WHERE num_dossier = ?)",
                        gone)
        con.executemany("DELETE FROM prelevement WHERE num_dossier = ?", gone)
        con.executemany("DELETE FROM individu WHERE num_dossier = ?", gone)
    con.close()
    return len(gone)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, type=pathlib.Path)
    ap.add_argument("--patients", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args(argv)
    build(a.db, a.patients, a.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
