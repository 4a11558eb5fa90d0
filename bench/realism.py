#!/usr/bin/env python3
"""How well canaries blend in: an attacker's classifier against a planted copy (issue 9).

For each host (the example lab, and a second lab of another shape and vocabulary), the
bench builds the host, opens a deployment, and lets the host keep registering patients
while `canary rotate` plants canaries a few at a time, as a deployment would. Then it
plays the thief who holds the copy and nothing else: per patient it computes features
from the copy alone (value frequencies, key ranks, email domain and local-part
statistics, child-row counts and time offsets, NIR fields, presence patterns), trains
scikit-learn gradient boosting to tell canaries from the host's patients, and prints:

- the cross-validated ROC AUC (0.5: cannot tell; target <= 0.55);
- the five strongest single features' AUCs (target: none above 0.60);
- precision and recall of the one-line rules from the issue (target: no precision above
  twice the canaries' share of rows).

Baseline in the same run: the same canaries drawn by the generic generator (the code
before the host model) with per-canary mail domains.

    python bench/realism.py --quick                 # small hosts, a minute
    python bench/realism.py --host clinic --mail own
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import importlib.util
import pathlib
import random
import sqlite3
import statistics
import sys
import tempfile
import unicodedata
from dataclasses import dataclass, field

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(ROOT))

from canary.deployment import init_deployment  # noqa: E402
from canary.generation.nir import normalise_nir  # noqa: E402
from canary.planting.model import classify_local_part, split_street  # noqa: E402
from canary.planting.plant import plant_into_target  # noqa: E402
from canary.planting.registration import add_target  # noqa: E402

TARGET_AUC, TARGET_FEATURE_AUC, RULE_FACTOR = 0.55, 0.60, 2.0


def _module(name: str):
    if name == "make_lab_db":
        from canary.demo import labdb
        return labdb
    spec = importlib.util.spec_from_file_location(f"realism_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# -- hosts: build, grow, and read back as one record per patient -------------------------------
@dataclass
class Host:
    name: str
    builder: str
    mapping: str
    own_domains: list[str]          # an operator's own pool for --mail own
    # --mail providers: mailboxes at the providers the host's patients use (those still open to new
    # accounts), plus the operator's own small domains for the host's long tail when it has one.
    provider_domains: list[str]
    seed: int
    extra_files: list[str] = field(default_factory=list)


LAB = Host("lab", "make_lab_db", "lab_mapping.toml",
           [f"{w}.example" for w in ("bzh-famille", "kerlann", "le-gall-family", "menez", "penn-ar-bed",
                                     "goasguen", "ty-nevez", "kermarrec", "ar-mor", "lannuon")],
           ["example.com", "example.net", "example.org"], 7, ["lab_schema.sql"])
CLINIC = Host("clinic", "make_clinic_db", "clinic_mapping.toml",
              [f"{a}{b}{n}.example" for a, b, n in (("cal", "ou", 7), ("ven", "tou", 12), ("mis", "tral", 3),
                                                     ("ca", "lan", 21), ("ga", "rri", 9), ("su", "quet", 14),
                                                     ("ba", "ston", 5), ("pa", "nier", 33), ("es", "taque", 2),
                                                     ("cas", "tel", 44), ("pi", "chet", 8), ("va", "llon", 17))],
              ["gmail.example", "orange.example", "hotmail.example", "free.example", "sfr.example",
               "yahoo.example", "laposte.example", "outlook.example", "icloud.example"], 11)
# The clinic's patients have a long tail of small domains (employers', families'): the operator's own
# small domains take the canaries' share of it.
CLINIC.provider_domains += CLINIC.own_domains
HOSTS = {"lab": LAB, "clinic": CLINIC}


def _dt(text, *forms):
    for form in forms:
        try:
            return dt.datetime.strptime(text, form)
        except (TypeError, ValueError):
            continue
    return None


def read_lab(path: pathlib.Path) -> list[dict]:
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    records = {}
    for r in con.execute("SELECT p.*, a.ligne1, a.ligne2, a.code_postal, a.commune FROM patient p "
                         "JOIN adresse a ON a.patient_id = p.id"):
        records[r["id"]] = {
            "key": r["id"], "key_text": r["ipp"], "sex": r["sexe"], "first": r["prenom"], "last": r["nom_usage"],
            "birth_name": r["nom_naissance"], "birth": _dt(r["date_naissance"], "%d/%m/%Y"), "nir": r["nir"],
            "line1": r["ligne1"], "line2": r["ligne2"], "postcode": r["code_postal"], "commune": r["commune"],
            "insurer": r["mutuelle"], "comment": r["commentaire"], "blood": r["groupe_sanguin"],
            "doctor": r["medecin_traitant_id"], "created": _dt(r["cree_le"], "%Y-%m-%d %H:%M:%S"),
            "phone": None, "email": None, "children": []}
    for r in con.execute("SELECT patient_id, type, valeur FROM telecom ORDER BY id"):
        record = records[r["patient_id"]]
        record["email" if r["type"] == "EMAIL" else "phone"] = r["valeur"]
    dossiers = {}
    for r in con.execute("SELECT id, patient_id, date_prelevement FROM dossier ORDER BY id"):
        child = {"key": r["id"], "moment": _dt(r["date_prelevement"], "%Y-%m-%d %H:%M"), "results": []}
        dossiers[r["id"]] = child
        records[r["patient_id"]]["children"].append(child)
    for r in con.execute("SELECT dossier_id, valide_le FROM resultat ORDER BY id"):
        dossiers[r["dossier_id"]]["results"].append(_dt(r["valide_le"], "%Y-%m-%d %H:%M"))
    con.close()
    return list(records.values())


def read_clinic(path: pathlib.Path) -> list[dict]:
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    records = {}
    for r in con.execute("SELECT rowid, * FROM individu"):
        records[r["num_dossier"]] = {
            "key": r["rowid"], "key_text": r["num_dossier"], "sex": "M" if r["civilite"] == "M." else "F",
            "first": r["prenom"], "last": r["nom"], "birth_name": r["nom_jeune_fille"],
            "birth": _dt(r["naissance"], "%Y-%m-%d"), "nir": r["num_secu"], "line1": r["voie"], "line2": None,
            "postcode": r["cp"], "commune": r["ville"], "insurer": r["organisme"], "comment": None, "blood": None,
            "doctor": None, "created": _dt(r["saisi_le"], "%d/%m/%Y %H:%M"), "phone": r["tel"],
            "email": r["courriel"], "children": []}
    samples = {}
    for r in con.execute("SELECT id, num_dossier, preleve_le FROM prelevement ORDER BY id"):
        child = {"key": r["id"], "moment": _dt(r["preleve_le"], "%Y-%m-%dT%H:%M:%S"), "results": []}
        samples[r["id"]] = child
        records[r["num_dossier"]]["children"].append(child)
    for r in con.execute("SELECT prelevement_id, valide_le FROM analyse ORDER BY id"):
        samples[r["prelevement_id"]]["results"].append(_dt(r["valide_le"], "%Y-%m-%dT%H:%M:%S"))
    con.close()
    # Text keys sort in registration order: rank by them, as a thief would.
    for rank, record in enumerate(sorted(records.values(), key=lambda r: r["key_text"])):
        record["key"] = rank
    return list(records.values())


READERS = {"lab": read_lab, "clinic": read_clinic}


# -- a planted copy ----------------------------------------------------------------------------------
@dataclass
class Copy:
    host: str
    records: list[dict]
    canaries: set
    design: str


def planted_copy(host: Host, folder: pathlib.Path, *, patients: int, canaries: int, batches: int,
                 grown_share: float, mail: str, generic: bool = False, seed: int = 1, erased: float = 0.0,
                 beyond_holes: str = "next-keys") -> Copy:
    """The host as a thief copies it: grown while canaries were planted `batches` times, `erased` of its
    patients merged or erased along the way (the holes in its keys). `beyond_holes` = "wait": a canary with no
    hole left waits for the next rotation (and may never be planted)."""
    builder = _module(host.builder)
    database = folder / f"{host.name}.db"
    from canary.demo.labdb import DATA
    for extra in [host.mapping, *host.extra_files]:
        source = EXAMPLES / extra if (EXAMPLES / extra).exists() else DATA / extra
        (folder / extra).write_bytes(source.read_bytes())
    start = max(1, int(patients * (1 - grown_share)))
    builder.build(database, start, host.seed)
    builder.erase(database, erased, host.seed)
    domains = host.provider_domains if mail == "providers" else host.own_domains
    mode = "per-canary" if generic else "pool"
    deployment = init_deployment(folder / "deployment", ["canary.test"],
                                 domains if mode == "pool" else ["canary.test"], mail_mode=mode)
    deployment.store.add_site("Lab")
    deployment.settings.values["planting"]["beyond_holes"] = beyond_holes
    add_target(deployment, "copy", "Lab", kind="sqlite", location=str(database), mapping=str(folder / host.mapping))
    rng = random.Random(seed)
    remaining_patients, remaining_canaries = patients - start, canaries
    with _learn_every(10):
        for batch in range(batches):
            grow = remaining_patients // (batches - batch)
            if grow:
                before = _patients(database, host)
                builder.grow(database, grow, host.seed * 1000 + batch)
                builder.erase(database, erased, host.seed * 1000 + batch, above=before)
            remaining_patients -= grow
            count = remaining_canaries // (batches - batch)
            if count:
                if generic:
                    _plant_generic(deployment, count, rng)
                    remaining_canaries -= count
                else:
                    planted = plant_into_target(deployment, "copy", count, rng=random.Random(rng.getrandbits(64)))
                    remaining_canaries -= len(planted.canaries)
    target = deployment.store.get_target("copy")
    keys = {planting["rows"][0]["key"][next(iter(planting["rows"][0]["key"]))]
            for planting in deployment.store.plantings(target["id"])}
    deployment.close()
    records = READERS[host.name](database)
    ours = {r["key"] for r in records if r["key"] in keys or r["key_text"] in keys}
    design = "generic generator, per-canary domains" if generic else f"host model, {mail} mail pool"
    return Copy(host.name, records, ours, design)


def _patients(database: pathlib.Path, host: Host) -> int:
    con = sqlite3.connect(database)
    try:
        return con.execute(f"SELECT count(*) FROM {'patient' if host.name == 'lab' else 'individu'}").fetchone()[0]
    finally:
        con.close()


@contextlib.contextmanager
def _learn_every(plantings: int):
    """Plant one canary at a time but learn the host anew every `plantings` only: the model moves
    slowly, and learning at each of hundreds of rotations would make the bench take an hour.
    Undone on leaving: a model cached here must not reach another host (the test suite imports this)."""
    from canary.planting import plant as plant_module
    learn = plant_module._learn
    state = {"calls": 0, "model": None}

    def cached(deployment, target, writer, mapping, schema, host):
        if state["calls"] % plantings == 0 or state["model"] is None:
            state["model"] = learn(deployment, target, writer, mapping, schema, host)
            state["last"] = host.last_registration
        else:
            from canary.planting.model import latest_registration
            host.last_registration = latest_registration(writer, mapping, schema)
        state["calls"] += 1
        return state["model"]
    plant_module._learn = cached
    try:
        yield
    finally:
        plant_module._learn = learn


def _plant_generic(deployment, count, rng):
    """The code before the host model: the generic generator, every field present."""
    from canary.planting import plant as plant_module
    learn = plant_module._learn
    plant_module._learn = lambda *args: None
    try:
        plant_into_target(deployment, "copy", count, rng=random.Random(rng.getrandbits(64)))
    finally:
        plant_module._learn = learn


# -- the thief's features ----------------------------------------------------------------------------
def _fold(text) -> str:
    return unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower().strip()


def _digits(text) -> str:
    return "".join(ch for ch in str(text or "") if ch.isdigit())


def features(records: list[dict]) -> tuple[list[str], list[list[float]]]:
    """One row of numbers per patient, computed from the copy alone."""
    count = collections.Counter

    def freq(getter):
        values = [getter(r) for r in records]
        counts = count(v for v in values if v not in (None, ""))
        return [counts.get(v, 0) if v not in (None, "") else -1 for v in values]

    def street(r):
        return _fold(split_street(r["line1"])[2]) if r["line1"] else None

    def domain(r):
        return r["email"].rpartition("@")[2].lower() if r["email"] else None

    def phone_digits(r):
        return _digits(r["phone"])[-9:] if r["phone"] else None

    def nir(r):
        return normalise_nir(r["nir"]) if r["nir"] else None

    key_rank = _ranks([r["key"] for r in records])
    created_rank = _ranks([r["created"] or dt.datetime.min for r in records])
    columns: dict[str, list[float]] = {
        "key rank": key_rank,
        "key rank - registration rank": [abs(a - b) for a, b in zip(key_rank, created_rank)],
        "registration date": [r["created"].toordinal() if r["created"] else -1 for r in records],
        "registration second of day": [(r["created"].hour * 3600 + r["created"].minute * 60 + r["created"].second)
                                       if r["created"] else -1 for r in records],
        "birth year": [r["birth"].year if r["birth"] else -1 for r in records],
        "age at registration": [((r["created"] - r["birth"]).days / 365.25) if r["created"] and r["birth"] else -1
                                for r in records],
        "first name frequency": freq(lambda r: (r["sex"], _fold(r["first"]))),
        "last name frequency": freq(lambda r: _fold(r["last"])),
        "birth name frequency": freq(lambda r: _fold(r["birth_name"]) if r["birth_name"] else None),
        "street frequency": freq(street),
        "street number": [split_street(r["line1"])[0] or -1 if r["line1"] else -1 for r in records],
        "commune frequency": freq(lambda r: _fold(r["commune"])),
        "postcode frequency": freq(lambda r: r["postcode"]),
        "commune+postcode frequency": freq(lambda r: (_fold(r["commune"]), r["postcode"])),
        "insurer frequency": freq(lambda r: r["insurer"]),
        "comment frequency": freq(lambda r: r["comment"]),
        "blood group frequency": freq(lambda r: r["blood"]),
        "email domain frequency": freq(domain),
        "phone prefix frequency": freq(lambda r: phone_digits(r)[:4] if phone_digits(r) else None),
        "phone shared": freq(phone_digits),
        "has phone": [r["phone"] is not None for r in records],
        "has email": [r["email"] is not None for r in records],
        "has NIR": [r["nir"] is not None for r in records],
        "has blood group": [r["blood"] is not None for r in records],
        "has address line 2": [r["line2"] is not None for r in records],
        "has birth name": [r["birth_name"] is not None for r in records],
        "has insurer": [r["insurer"] is not None for r in records],
        "has comment": [r["comment"] is not None for r in records],
        "has doctor": [r["doctor"] is not None for r in records],
        "NIR order": [int(nir(r)[10:13]) if nir(r) else -1 for r in records],
        "NIR birthplace frequency": freq(lambda r: nir(r)[5:10] if nir(r) else None),
        "NIR born in home department": [(nir(r)[5:7] == str(r["postcode"])[:2]) if nir(r) else -1 for r in records],
    }
    patterns = sorted({"none", "other", *(classify_local_part(r["email"].partition("@")[0], r["first"],
                                                              r["last"])[0] for r in records if r["email"])})
    local = [classify_local_part(r["email"].partition("@")[0], r["first"], r["last"]) if r["email"] else ("none", -1)
             for r in records]
    columns["email local-part pattern"] = [patterns.index(p) for p, _ in local]
    columns["email local-part digits"] = [d for _, d in local]
    columns["email local-part length"] = [len(r["email"].partition("@")[0]) if r["email"] else -1 for r in records]
    columns["children"] = [len(r["children"]) for r in records]
    columns["grandchildren"] = [sum(len(c["results"]) for c in r["children"]) for r in records]
    offsets = [[(res - c["moment"]).total_seconds() / 60 for c in r["children"] for res in c["results"]
                if res and c["moment"]] for r in records]
    columns["result offset, mean minutes"] = [statistics.fmean(o) if o else -1 for o in offsets]
    columns["result offset, min minutes"] = [min(o) if o else -1 for o in offsets]
    columns["results at another minute than their sample"] = [
        sum(round(x) % 60 != 0 for x in o) / len(o) if o else -1 for o in offsets]
    child_days = [[(c["moment"] - r["created"]).total_seconds() / 86400 for c in r["children"]
                   if c["moment"] and r["created"]] for r in records]
    columns["first sample, days after registration"] = [min(d) if d else -1 for d in child_days]
    columns["samples, mean days after registration"] = [statistics.fmean(d) if d else -1 for d in child_days]
    columns["samples in date order"] = [_in_order([c["moment"] for c in r["children"]]) for r in records]
    columns["sample minute of day"] = [statistics.fmean(c["moment"].hour * 60 + c["moment"].minute
                                                        for c in r["children"]) if r["children"] else -1
                                       for r in records]
    columns["child key rank"] = _ranks([min((c["key"] for c in r["children"]), default=-1) for r in records])
    names = list(columns)
    rows = [[float(columns[name][i]) for name in names] for i in range(len(records))]
    return names, rows


def _ranks(values) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    for rank, index in enumerate(order):
        ranks[index] = rank / max(1, len(values) - 1)
    return ranks


def _in_order(moments) -> int:
    if len(moments) < 2 or any(m is None for m in moments):
        return -1
    return int(moments == sorted(moments))


# -- the one-line rules of the issue --------------------------------------------------------------------
def rules(records: list[dict], canaries: set) -> dict[str, list[bool]]:
    domains = collections.Counter(r["email"].rpartition("@")[2].lower() for r in records if r["email"])
    phones = collections.Counter(_digits(r["phone"])[-9:] for r in records if r["phone"])
    top = sorted((r["key"] for r in records), reverse=True)[:len(canaries)]
    cut = min(top) if top else None

    def once(getter):
        counts = collections.Counter(getter(r) for r in records if getter(r))
        return [bool(getter(r)) and counts[getter(r)] == 1 for r in records]

    return {
        "email domain used by one patient": [bool(r["email"]) and domains[r["email"].rpartition("@")[2].lower()] == 1
                                             for r in records],
        "a result validated at another minute than its sample": [
            any(res and c["moment"] and res.minute != c["moment"].minute for c in r["children"] for res in c["results"])
            for r in records],
        "among the highest keys (as many as canaries)": [cut is not None and r["key"] >= cut for r in records],
        "NIR order number 900-999": [bool(r["nir"]) and (normalise_nir(r["nir"]) or "0" * 15)[10] == "9"
                                     for r in records],
        "last name seen once": once(lambda r: _fold(r["last"])),
        "first name seen once": once(lambda r: _fold(r["first"])),
        "street seen once": once(lambda r: _fold(split_street(r["line1"])[2]) if r["line1"] else None),
        "commune seen once": once(lambda r: _fold(r["commune"])),
        "insurer spelling seen once": once(lambda r: r["insurer"]),
        "both phone and email": [bool(r["phone"]) and bool(r["email"]) for r in records],
        "has a NIR": [bool(r["nir"]) for r in records],
        "phone number nobody else has": [bool(r["phone"]) and phones[_digits(r["phone"])[-9:]] == 1 for r in records],
        "samples in date order": [_in_order([c["moment"] for c in r["children"]]) == 1 for r in records],
    }


# -- scoring -----------------------------------------------------------------------------------------
@dataclass
class Score:
    auc: float
    features: list[tuple[str, float]]
    rules: list[tuple[str, float, float, int]]     # name, precision, recall, rows flagged
    share: float
    rows: int
    canaries: int
    auc_without_keys: float = 0.5

    @property
    def passed(self) -> bool:
        return (self.auc <= TARGET_AUC and self.features[0][1] <= TARGET_FEATURE_AUC
                and all(p <= RULE_FACTOR * self.share for _, p, _, n in self.rules if n))


def score(copy: Copy, *, folds: int = 5, seed: int = 0) -> Score:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    names, rows = features(copy.records)
    labels = [int(r["key"] in copy.canaries) for r in copy.records]
    classifier = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.08, random_state=seed)
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    predicted = cross_val_predict(classifier, rows, labels, cv=split, method="predict_proba")[:, 1]
    auc = roc_auc_score(labels, predicted)
    # What the generator alone achieves: the same attacker without key ranks (planting time's share).
    keyless = [i for i, name in enumerate(names) if "key" not in name]
    predicted = cross_val_predict(classifier, [[row[i] for i in keyless] for row in rows], labels, cv=split,
                                  method="predict_proba")[:, 1]
    auc_without_keys = roc_auc_score(labels, predicted)
    single = []
    for index, name in enumerate(names):
        column = [row[index] for row in rows]
        if len(set(column)) > 1:
            value = roc_auc_score(labels, column)
            single.append((name, max(value, 1 - value)))
    single.sort(key=lambda pair: -pair[1])
    flagged = []
    for name, hits in rules(copy.records, copy.canaries).items():
        n = sum(hits)
        true = sum(h and label for h, label in zip(hits, labels))
        flagged.append((name, true / n if n else 0.0, true / max(1, sum(labels)), n))
    return Score(auc, single, flagged, sum(labels) / len(labels), len(labels), sum(labels), auc_without_keys)


def report(copy: Copy, result: Score) -> str:
    lines = [f"{copy.host}: {result.rows} patients, {result.canaries} canaries ({result.share:.1%}); {copy.design}",
             f"  attacker ROC AUC (gradient boosting, 5-fold): {result.auc:.3f}   target <= {TARGET_AUC}",
             f"  the same attacker without key ranks: {result.auc_without_keys:.3f}",
             "  strongest single features (AUC, target <= 0.60):"]
    lines += [f"    {auc:.3f}  {name}" for name, auc in result.features[:5]]
    lines.append(f"  one-line rules (precision / recall / rows; target: precision <= {RULE_FACTOR * result.share:.3f}):")
    for name, precision, recall, n in result.rules:
        mark = "  " if precision <= RULE_FACTOR * result.share or not n else "!!"
        lines.append(f"   {mark}{precision:6.3f} / {recall:5.3f} / {n:5d}  {name}")
    lines.append(f"  {'PASS' if result.passed else 'FAIL'}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,500-patient hosts, 75 canaries")
    parser.add_argument("--host", choices=["lab", "clinic", "both"], default="both")
    parser.add_argument("--mail", choices=["providers", "own"], default="providers",
                        help="providers: mailboxes at the host's own providers; own: a pool of operator domains")
    parser.add_argument("--patients", type=int)
    parser.add_argument("--canaries", type=int)
    parser.add_argument("--batches", type=int, help="rotations the canaries are planted in (default: one canary per rotation)")
    parser.add_argument("--grown", type=float, default=0.5,
                        help="share of the host's patients registered while canaries were being planted")
    parser.add_argument("--erased", type=float, default=0.03,
                        help="share of the host's patients merged or erased (the holes in its keys; 0: none)")
    parser.add_argument("--beyond-holes", choices=["next-keys", "wait"], default="next-keys",
                        help="planting.beyond_holes: canaries with no hole left take the next keys, or wait")
    parser.add_argument("--no-baseline", action="store_true", help="skip the generic-generator baseline")
    args = parser.parse_args(argv)
    patients = args.patients or (1500 if args.quick else 5000)
    canaries = args.canaries or patients // 20
    batches = min(args.batches or canaries, canaries)
    failed = False
    for name in (["lab", "clinic"] if args.host == "both" else [args.host]):
        host = HOSTS[name]
        runs = [False] if args.no_baseline else [True, False]
        results = {}
        for generic in runs:
            with tempfile.TemporaryDirectory() as folder:
                copy = planted_copy(host, pathlib.Path(folder), patients=patients, canaries=canaries,
                                    batches=batches, grown_share=args.grown, mail=args.mail, generic=generic,
                                    erased=args.erased, beyond_holes=args.beyond_holes)
                results[generic] = score(copy)
                print(report(copy, results[generic]), flush=True)
        if True in results:
            print(f"  {name}: attacker AUC {results[False].auc:.3f} with the host model vs "
                  f"{results[True].auc:.3f} with the generic generator, same run")
        failed |= not results[False].passed
    print("realism targets:", "FAIL (see above)" if failed else "PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
