"""A model of one target, learnt from its rows: aggregates only, never a row.

Canaries are drawn from this model so that a thief who computes statistics over a copy
(value frequencies, presence of fields, child rows per parent, time offsets, spellings)
cannot tell them from the host's own patients. A value taken from the host (a name, a
street, a commune, an insurer's spelling) enters the model only when at least `k`
distinct host patients share it; the share of patients whose value is rarer is kept as
`tail` (the share of patients whose value nobody else has), so the generator can give as
many canaries a value of their own.

The model is a plain JSON-serialisable dict; `learn_model` builds it, `save_model` keeps
a copy in the deployment (models/<target>.json) for the operator to inspect.
"""
from __future__ import annotations

import bisect
import collections
import datetime as dt
import functools
import json
import math
import pathlib
import random
import re
import statistics
import unicodedata

from ..generation import nir as nir_rules
from ..generation import phones
from . import value_formats as formats
from .mapping import Entry, Mapping

DEFAULT_K = 5
LEARN_ROWS = 200_000          # rows read per table to learn from (the whole table for a lab)
YEAR_BIN = 5                  # birth years and registration months are kept in bins, never one by one
ORDER_BIN = 50                # NIR order numbers, by bins
TIMED_PARENTS = 3000          # parents whose children's times are learnt
_NUMBER = re.compile(r"\d+")
_LEADING_NUMBER = re.compile(r"^\s*(\d+)(\s*(?:bis|ter|b|t)\b)?[\s,]*", re.IGNORECASE)
# Fields taken from the host as they are written (spellings), when k patients share them.
VALUE_FIELDS = ("last_name", "insurer", "blood_group", "comment", "address.line2")
EMAIL_PATTERNS = ("{f}.{l}", "{i}{l}", "{l}.{f}", "{f}{l}", "{f}_{l}", "{f}-{l}", "{i}.{l}", "{l}{f}", "{l}{i}",
                  "{l}", "{f}", "{l}.{i}", "{f}.{i}")


def _slug(text: str) -> str:
    text = str(text).lower().replace("œ", "oe").replace("æ", "ae")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in text if ch.isalnum())


def fold(text) -> str:
    """Lowercase ASCII, single spaces: 'SAINT-BRIEUC' and 'Saint Brieuc' are one commune."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    for mark in "-'’_.,":
        text = text.replace(mark, " ")
    return " ".join(text.split())


def k_filtered(counter: collections.Counter, k: int, total: int | None = None) -> dict:
    """{'values': [[value, patients], ...] shared by >= k patients, 'tail': share of patients whose value fewer
    than k share, 'sharing': [[s, patients whose value s patients share], ...] for s < k (the tail's shape)}."""
    kept = sorted(([value, count] for value, count in counter.items() if count >= k),
                  key=lambda pair: (-pair[1], str(pair[0])))
    total = total if total is not None else sum(counter.values())
    return {"values": kept, **_tail(((count, count) for count in counter.values()), k, total)}


def _tail(shared, k: int, total: int) -> dict:
    """The tail's share and shape from (how many patients share a value, how many of them count here) pairs:
    a canary falls in the tail as often as the host's patients do, and shares its (invented) value with as
    many others (tail.py)."""
    sharing = collections.Counter()
    for size, patients in shared:
        if size < k:
            sharing[size] += patients
    return {"tail": sum(sharing.values()) / total if total else 0.0,
            "sharing": sorted([size, patients] for size, patients in sharing.items())}


def grouped(groups: dict, k: int) -> dict:
    """Per group, the values shared by >= k patients across the host (not only in the group), weighted
    by their counts in the group; `tail` and `sharing` as in k_filtered, by the value's count in the host."""
    overall = collections.Counter()
    for counter in groups.values():
        overall.update(counter)
    out = {}
    for group, counter in groups.items():
        total = sum(counter.values())
        kept = sorted(([v, n] for v, n in counter.items() if overall[v] >= k), key=lambda p: (-p[1], str(p[0])))
        out[str(group)] = {"values": kept, **_tail(((overall[v], n) for v, n in counter.items()), k, total)}
    return out


def histogram(values, width: int = 1) -> list[list[int]]:
    """[[bin start, count], ...]: an aggregate, whatever k is."""
    counts = collections.Counter(int(v) // width * width for v in values)
    return sorted([start, count] for start, count in counts.items())


# -- reading the host through the mapping ---------------------------------------------------------
class _Block:
    """One [[table]] block as the host holds it: its rows, grouped under their parent's key."""

    def __init__(self, entry: Entry, rows: list[dict], ref_column: str | None, parent_column: str | None,
                 shared_table: bool = False, key_column: str | None = None):
        self.entry = entry
        self.ref_column = ref_column          # this block's column naming the parent row
        self.parent_column = parent_column    # the parent's column it points at
        filters = _block_filter(entry) if shared_table else {}
        self.rows = [r for r in rows if all(r.get(c) in allowed for c, allowed in filters.items())]
        self.by_parent: dict = collections.defaultdict(list)
        if ref_column:
            for row in self.rows:
                self.by_parent[row.get(ref_column)].append(row)
        if key_column:
            # A sample comes in no particular order; a thief reads a parent's rows in key order, and that is
            # the order in which the host's habits (files in date order, the first file) are learnt.
            for siblings in self.by_parent.values():
                siblings.sort(key=lambda row: _key_order(row.get(key_column)))


def _block_filter(entry: Entry) -> dict:
    """Columns that tell this block's rows from other blocks of the same table (type = 'EMAIL')."""
    filters = {}
    for column, spec in entry.columns.items():
        if spec.source == "value" and spec.argument is not None:
            filters[column] = {spec.argument}
        elif spec.source == "field" and isinstance(spec.options.get("map"), dict):
            filters[column] = set(spec.options["map"].values())
    return filters


@functools.lru_cache(maxsize=256)
def _moment_column_of(columns: tuple) -> str | None:
    return next((c for c, source in columns if source == "moment"), None)


def _moment_column(entry: Entry) -> str | None:
    return _moment_column_of(tuple((c, spec.source) for c, spec in entry.columns.items()))


def _key_column(entry: Entry, schema) -> str | None:
    table = schema.get(entry.table)
    if entry.key:
        return entry.key[0]
    if table is not None and table.primary_key:
        return table.primary_key[0]
    return entry.lookup


def read_blocks(target, mapping: Mapping, schema, limit: int = LEARN_ROWS) -> dict[str, _Block]:
    """Every block's host rows (every column the model needs), in a fixed order."""
    blocks: dict[str, _Block] = {}
    for entry in mapping.entries:
        ref_column = next((c for c, s in entry.columns.items() if s.source == "ref"), None)
        parent_column = None
        if ref_column and entry.parent:
            table = schema.get(entry.table)
            fk = table.foreign_key(ref_column) if table else None
            parent_column = fk.ref_column if fk else _key_column(mapping.entry(entry.parent), schema)
        columns = set(entry.columns) | set(entry.sample)
        key = _key_column(entry, schema)
        if key:
            columns.add(key)
        # Columns of the row that children refer to (a lookup, a non-key column).
        for child in mapping.entries:
            if child.parent == entry.name:
                child_table = schema.get(child.table)
                for column, spec in child.columns.items():
                    fk = child_table.foreign_key(column) if child_table and spec.source == "ref" else None
                    if fk and fk.table == entry.table:
                        columns.add(fk.ref_column)
        table = schema.get(entry.table)
        columns = sorted(c for c in columns if table is None or c in table.columns)
        rows = target.sample(entry.table, columns, limit) if columns else []
        shared = sum(e.table == entry.table for e in mapping.entries) > 1
        blocks[entry.name] = _Block(entry, rows, ref_column, parent_column, shared, key)
    return blocks


def _key_order(value) -> tuple:
    """A key as it sorts in its table: numbers as numbers, text as text, missing keys last."""
    if value is None:
        return (2, 0, "")
    if isinstance(value, (int, float)):
        return (0, value, "")
    text = str(value)
    return (0, int(text), "") if text.strip().lstrip("-").isdigit() else (1, 0, text)


# -- turning host values back into canary values -------------------------------------------------
def _field_columns(entry: Entry) -> dict[str, str]:
    """canary field -> column of this block."""
    return {spec.argument: column for column, spec in entry.columns.items() if spec.source == "field"}


def _unmap(entry: Entry, column: str, value):
    spec = entry.columns[column]
    mapped = spec.options.get("map")
    if isinstance(mapped, dict):
        reverse = {v: k for k, v in mapped.items()}
        return reverse.get(value, value)
    return value


_FRENCH_NUMBER = re.compile(r"^(?:0|\+33|0033)([1-9]\d{8})$")


def _phone(text: str) -> str | None:
    """E.164 of a French number as labs write it, without libphonenumber's cost per row."""
    match = _FRENCH_NUMBER.match(re.sub(r"[\s.\-()]", "", text))
    return f"+33{match.group(1)}" if match else phones.normalise_phone(text)


def _as_date(value, form: str | None):
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    if form in (None, "native"):
        form = formats.learn_date_format([str(value)])
    if not form:
        return None
    text = str(value)
    try:
        # Fast paths for the usual forms: a lab's whole history is parsed at each plant.
        if form.startswith("YYYY-MM-DD"):
            return dt.datetime.fromisoformat(text)
        if form.startswith("DD/MM/YYYY"):
            day = dt.datetime(int(text[6:10]), int(text[3:5]), int(text[:2]))
            if len(text) > 10:
                day += dt.timedelta(hours=int(text[11:13]), minutes=int(text[14:16]),
                                    seconds=int(text[17:19]) if len(text) >= 19 else 0)
            return day
        return dt.datetime.strptime(text, _strftime(form))
    except ValueError:
        return None


@functools.lru_cache(maxsize=64)
def _strftime(form: str) -> str:
    return formats.strftime_pattern(form)


class _Reader:
    """Per-patient records joined from the root block and its direct children."""

    def __init__(self, mapping: Mapping, blocks: dict[str, _Block]):
        self.mapping = mapping
        self.blocks = blocks
        self.root = next(e for e in mapping.entries if e.parent is None)
        self.date_formats: dict[tuple, str | None] = {}
        self.moments: dict[int, dt.datetime | None] = {}   # by id() of a row, which the blocks keep alive

    def date_format(self, entry: Entry, column: str) -> str | None:
        key = (entry.name, column)
        if key not in self.date_formats:
            given = entry.columns[column].options.get("format") if column in entry.columns else None
            sample = [str(r[column]) for r in self.blocks[entry.name].rows[:200] if r.get(column) not in (None, "")]
            self.date_formats[key] = given or formats.learn_date_format(sample)
        return self.date_formats[key]

    def moment(self, entry: Entry, row: dict) -> dt.datetime | None:
        cached = self.moments.get(id(row), False)
        if cached is not False:
            return cached
        column = _moment_column(entry)
        value = row.get(column) if column else None
        moment = None if value is None else _as_date(value, None if isinstance(value, (dt.date, dt.datetime))
                                                    else self.date_format(entry, column))
        self.moments[id(row)] = moment
        return moment

    def patients(self) -> list[dict]:
        """[{field path: value as the canary would hold it}] for every host patient."""
        root_block = self.blocks[self.root.name]
        children = [e for e in self.mapping.entries if e.parent == self.root.name]
        records = []
        for row in root_block.rows:
            record = self._fields(self.root, row)
            record["_moment"] = self.moment(self.root, row)
            for child in children:
                block = self.blocks[child.name]
                key = row.get(block.parent_column) if block.parent_column else None
                found = block.by_parent.get(key, [])
                fields = self._fields(child, found[0]) if found else dict.fromkeys(_field_columns(child))
                for name, value in fields.items():
                    if record.get(name) is None:
                        record[name] = value
            records.append(record)
        return records

    def _fields(self, entry: Entry, row: dict) -> dict:
        record = {}
        for name, column in _field_columns(entry).items():
            value = _unmap(entry, column, row.get(column))
            if value in ("", None):
                record.setdefault(name, None)
                continue
            if name in ("birth_date",):
                moment = _as_date(value, self.date_format(entry, column))
                value = moment.date() if moment else None
            elif name.endswith("phone"):
                value = _phone(str(value))
            elif name == "nir":
                value = nir_rules.normalise_nir(str(value))
            elif name == "email":
                value = str(value).strip().lower()
            record[name] = value
        return record


# -- learning ------------------------------------------------------------------------------------
def learn_model(target, mapping: Mapping, schema, *, k: int = DEFAULT_K, limit: int = LEARN_ROWS) -> dict:
    """The model of a target: see the module docstring. `k` >= 2."""
    k = max(2, int(k))
    blocks = read_blocks(target, mapping, schema, limit)
    reader = _Reader(mapping, blocks)
    records = reader.patients()
    model: dict = {"version": 1, "k": k, "patients": len(records)}
    if not records:
        return model
    model["person"] = _learn_person(records, k)
    model["values"] = {name: _learn_values(records, name, k) for name in VALUE_FIELDS
                       if any(name in r for r in records)}
    model["address"] = _learn_address(records, k)
    model["nir"] = _learn_nir(records, k)
    model["phone"] = _learn_phone(records, k)
    model["email"] = _learn_email(records, k)
    model["presence"] = _learn_presence(records)
    model["registration"] = _learn_registration(records, blocks[reader.root.name], reader.root, schema)
    model["blocks"] = {e.name: _learn_block(e, blocks, reader, mapping, k) for e in mapping.entries if e.parent}
    return model


def _presence(records, name) -> float | None:
    present = [r.get(name) is not None for r in records if name in r]
    return sum(present) / len(present) if present else None


# Fields present or absent together (a patient registered at the desk has a phone, an email and a card),
# learnt as one pattern so that a canary's fields are absent together as the host's are.
PRESENCE_FIELDS = ("phone", "email", "nir", "blood_group", "insurer", "comment", "address.line2")
PRESENCE_BAND = 10            # birth years per band of presence patterns (the young give an email more)
PRESENCE_MIN_BAND = 50        # patients a band needs to have patterns of its own


def _learn_presence(records) -> dict:
    """{'fields': [...], 'patterns': [[pattern, patients]], 'by_birth': {band: [[pattern, patients]]}}: which
    fields are present together ('1' or '0' per field), overall and per band of birth years (counts only)."""
    fields = [name for name in PRESENCE_FIELDS if any(name in r for r in records)]
    overall, bands = collections.Counter(), collections.defaultdict(collections.Counter)
    for r in records:
        pattern = "".join("1" if r.get(name) is not None else "0" for name in fields)
        overall[pattern] += 1
        if r.get("birth_date"):
            bands[r["birth_date"].year // PRESENCE_BAND * PRESENCE_BAND][pattern] += 1
    return {"fields": fields, "band_years": PRESENCE_BAND,
            "patterns": sorted([p, n] for p, n in overall.items()),
            "by_birth": {str(band): sorted([p, n] for p, n in counter.items())
                         for band, counter in sorted(bands.items()) if sum(counter.values()) >= PRESENCE_MIN_BAND}}


def _decade(birth: dt.date | None) -> str:
    return str(birth.year // 10 * 10) if birth else "?"


def _learn_person(records, k) -> dict:
    sexes = collections.Counter(r.get("sex") for r in records if r.get("sex"))
    years = [r["birth_date"].year for r in records if r.get("birth_date")]
    first = collections.defaultdict(collections.Counter)
    for r in records:
        if r.get("first_name") and r.get("sex"):
            first[f"{r['sex']}|{_decade(r.get('birth_date'))}"][r["first_name"]] += 1
    birth_name = {}
    for sex in sexes:
        own = [r for r in records if r.get("sex") == sex and "birth_name" in r]
        if own:
            birth_name[sex] = sum(r.get("birth_name") is not None for r in own) / len(own)
    return {
        "sex": [[s, c] for s, c in sorted(sexes.items())],
        "birth_years": histogram(years, YEAR_BIN),
        "first_names": grouped(dict(sorted(first.items())), k),
        "birth_name_share": birth_name,
    }


def _learn_values(records, name, k) -> dict:
    present = [r[name] for r in records if r.get(name) is not None]
    learnt = k_filtered(collections.Counter(present), k)
    learnt["presence"] = _presence(records, name)
    if name == "comment":
        by_sex = collections.defaultdict(collections.Counter)
        for r in records:
            if r.get(name) is not None:
                by_sex[r.get("sex") or "?"][r[name]] += 1
        learnt["by_sex"] = {sex: k_filtered(counter, k) for sex, counter in by_sex.items()}
    return learnt


def split_street(line: str) -> tuple[int | None, str, str]:
    """'12 bis rue Pasteur' -> (12, ' bis', 'rue Pasteur')."""
    match = _LEADING_NUMBER.match(str(line))
    if not match:
        return None, "", str(line).strip()
    suffix = (match.group(2) or "")
    return int(match.group(1)), suffix, str(line)[match.end():].strip()


def _learn_address(records, k) -> dict:
    places = collections.Counter()
    streets = collections.defaultdict(collections.Counter)
    numbers, suffixes = [], collections.Counter()
    for r in records:
        commune, postcode = r.get("address.commune"), r.get("address.postal_code")
        if commune is None and postcode is None:
            continue
        places[(commune, postcode)] += 1
        line = r.get("address.line1")
        if line:
            number, suffix, street = split_street(line)
            streets[commune][street] += 1
            streets[None][street] += 1
            if number is not None:
                numbers.append(number)
                suffixes[suffix] += 1
    return {
        "places": {**(learnt := k_filtered(places, k)),
                   "values": [[list(place), n] for place, n in learnt["values"]]},
        "streets": grouped({commune: counter for commune, counter in streets.items() if commune is not None}, k),
        "all_streets": k_filtered(streets[None], k),
        "numbers": histogram(numbers),
        "number_share": len(numbers) / max(1, sum(streets[None].values())),
        "number_suffixes": [[s, n] for s, n in suffixes.most_common() if n >= k],
    }


def _learn_nir(records, k) -> dict:
    nirs = [r["nir"] for r in records if r.get("nir")]
    parsed = []
    for value in nirs:
        try:
            parsed.append(nir_rules.parse_nir(value))
        except (ValueError, KeyError):
            continue
    places = collections.Counter(p["insee"] for p in parsed)
    same_place = sum(1 for r in records if r.get("nir") and r.get("address.postal_code")
                     and str(r["nir"])[5:7] == str(r["address.postal_code"])[:2])
    return {
        "presence": _presence(records, "nir"),
        "orders": histogram([p["order"] for p in parsed], ORDER_BIN),
        "birthplaces": k_filtered(places, k),
        "same_department_share": same_place / len(parsed) if parsed else None,
    }


def _national(e164: str | None) -> str | None:
    if not e164 or not e164.startswith("+33"):
        return None
    return "0" + e164[3:]


PHONE_BLOCK = 6               # characters of E.164 a number's block is told by ('+33639', '+44770')


def _learn_phone(records, k: int = DEFAULT_K) -> dict:
    numbers = [r["phone"] for r in records if r.get("phone")]
    national = [n for n in map(_national, numbers) if n]
    # The zone of landlines and the block of mobiles (06/07): aggregates, no number.
    prefixes = collections.Counter(n[:2] for n in national)
    by_age = collections.defaultdict(lambda: [0, 0])
    by_birth = collections.defaultdict(lambda: [0, 0])
    for r in records:
        n = _national(r.get("phone"))
        if n and r.get("birth_date"):
            band = min(90, (2020 - r["birth_date"].year) // 15 * 15)
            by_age[band][0 if n[1] in "67" else 1] += 1
            by_birth[r["birth_date"].year // PRESENCE_BAND * PRESENCE_BAND][0 if n[1] in "67" else 1] += 1
    return {
        "presence": _presence(records, "phone"),
        "prefixes": [[p, c] for p, c in sorted(prefixes.items())],
        "landline_share_by_age": {str(band): counts[1] / sum(counts) for band, counts in sorted(by_age.items())},
        # By decade of birth too: an age is counted from a date, and the host's copy is of another year than
        # today (a lab's archive, or the bench's hosts of 2012), so its ages are not the canary's.
        "landline_share_by_birth": {str(band): counts[1] / sum(counts) for band, counts in sorted(by_birth.items())
                                    if sum(counts) >= PRESENCE_MIN_BAND},
        # The blocks the host's numbers are in (an operator's, a country's), shared by >= k patients: a pool
        # number is taken in them as often as the host's patients have one there.
        "blocks": k_filtered(collections.Counter(n[:PHONE_BLOCK] for n in numbers), k),
    }


def classify_local_part(local: str, first: str | None, last: str | None) -> tuple[str, int]:
    """(pattern, digits): 'nathalie.guillou23' with Nathalie Guillou -> ('{f}.{l}', 2)."""
    stem = local.rstrip("0123456789")
    digits = len(local) - len(stem)
    f, l = _slug(first or ""), _slug(last or "")
    if f and l:
        for pattern in EMAIL_PATTERNS:
            if stem == pattern.format(f=f, l=l, i=f[0]):
                return pattern, digits
    return "other", digits


def _learn_email(records, k) -> dict:
    domains = collections.Counter()
    patterns = collections.Counter()
    digits = collections.Counter()
    together = collections.Counter()
    years = [0, 0]                # two-digit suffixes: [that are the birth year's, all]
    for r in records:
        email = r.get("email")
        if not email or "@" not in email:
            continue
        local, _, domain = email.rpartition("@")
        domains[domain] += 1
        pattern, count = classify_local_part(local, r.get("first_name"), r.get("last_name"))
        if pattern == "other":
            pattern, count = classify_local_part(local, r.get("first_name"), r.get("birth_name"))
        patterns[pattern] += 1
        digits[count] += 1
        together[(pattern, count)] += 1
        if count == 2:
            years[1] += 1
            years[0] += bool(r.get("birth_date")) and local[-2:] == f"{r['birth_date'].year % 100:02d}"
    sharing = collections.Counter(domains.values())
    return {
        "presence": _presence(records, "email"),
        "domains": k_filtered(domains, k),
        # How many patients share each domain: [[patients per domain, domains]], the long tail's shape.
        "domain_sharing": sorted([n, d] for n, d in sharing.items()),
        "patterns": [[p, n] for p, n in patterns.most_common()],
        "digits": [[d, n] for d, n in sorted(digits.items())],
        # Digits go with a pattern ('first.last' alone, 'firstlast' with the birth year): drawn together.
        "pattern_digits": [[p, d, n] for (p, d), n in sorted(together.items())],
        "year_digits": years[0] / years[1] if years[1] else 0.0,
    }


def _learn_registration(records, block: _Block, entry: Entry, schema) -> dict:
    """When the host's most recent registrations (by key) happened: month bins and time of day."""
    key = _key_column(entry, schema)
    dated = [(r, rec["_moment"]) for r, rec in zip(block.rows, records) if rec.get("_moment")]
    if not dated:
        return {}

    def rank(pair):
        value = pair[0].get(key) if key else None
        return (0, float(value)) if isinstance(value, (int, float)) else (1, str(value))
    dated.sort(key=rank)
    recent = dated[-max(1, len(dated) // 10):]   # the newest tenth by key: what a canary planted now sits among
    months = collections.Counter(m.strftime("%Y-%m") for _, m in recent)
    seconds = [m.hour * 3600 + m.minute * 60 + m.second for _, m in dated]
    has_seconds = any(m.second for _, m in dated)
    moments = [m for _, m in dated]
    # Do keys rise with registration time? Then a canary keyed last is registered last.
    rising = sum(b >= a for a, b in zip(moments, moments[1:])) / max(1, len(moments) - 1)
    gaps = sorted((b - a).total_seconds() for a, b in zip(moments[-2000:], moments[-1999:]) if b >= a)
    # Every month's registrations: when a patient keyed in a hole of the host's keys registered.
    every_month = collections.Counter(m.strftime("%Y-%m") for _, m in dated)
    learnt = {"recent_months": sorted([m, c] for m, c in months.items()),
              "months": sorted([m, c] for m, c in every_month.items()),
              "time_of_day": histogram(seconds, 60), "seconds": has_seconds, "keys_follow_time": rising}
    if gaps:
        learnt["gap_quantiles"] = [gaps[min(len(gaps) - 1, i * len(gaps) // 100)] for i in range(101)]
    return learnt


def _learn_block(entry: Entry, blocks: dict[str, _Block], reader: _Reader, mapping: Mapping, k: int) -> dict:
    block = blocks[entry.name]
    parent_entry = mapping.entry(entry.parent)
    parent_block = blocks[parent_entry.name]
    counts = collections.Counter()
    offsets, fractions, sorted_flags, random_sorted, first_offsets, spans = [], [], [], [], [], []
    sibling_counts, later_offsets = [], []
    latest = None
    child_moment_column = _moment_column(entry)
    if child_moment_column:
        form = reader.date_format(entry, child_moment_column) or ""
        if form.startswith("YYYY"):   # sorts as text: parse one value, not the whole table
            texts = [str(r[child_moment_column]) for r in block.rows if r.get(child_moment_column)]
            latest = _as_date(max(texts), form) if texts else None
        else:
            latest = max(filter(None, (reader.moment(entry, row) for row in block.rows)), default=None)
    times, day_pairs = [], []
    timed = 0
    for parent in parent_block.rows:
        key = parent.get(block.parent_column) if block.parent_column else None
        children = block.by_parent.get(key, []) if key is not None else []
        counts[len(children)] += 1
        # Times from the first TIMED_PARENTS parents (a fixed spread over the table) are plenty.
        if not child_moment_column or not children or timed >= TIMED_PARENTS:
            continue
        timed += 1
        start = reader.moment(parent_entry, parent)
        moments = [reader.moment(entry, child) for child in children]
        if start is None or any(m is None for m in moments):
            continue
        times += [m.hour * 60 + m.minute for m in moments]
        # Rows a day or more after their parent: at the parent's time of day give or take (a patient who
        # comes back at the hour they first came), or at the host's usual times whatever the parent's?
        for m in moments:
            if (m - start).total_seconds() >= 86400:
                day_pairs.append((start.hour * 60 + start.minute, m.hour * 60 + m.minute))
        first_offsets.append(min((m - start).total_seconds() for m in moments))
        later_offsets += sorted((m - start).total_seconds() for m in moments)[1:]
        sibling_counts.append(len(moments))
        for moment in moments:
            offsets.append((moment - start).total_seconds())
            span = (latest - start).total_seconds() if latest else 0
            if span > 0:
                fractions.append(min(1.0, max(0.0, (moment - start).total_seconds() / span)))
                spans.append((span, offsets[-1], fractions[-1]))
        if len(moments) > 1:
            sorted_flags.append(moments == sorted(moments))
            random_sorted.append(1 / math.factorial(min(len(moments), 10)))
    learnt = {"counts": sorted([n, c] for n, c in counts.items())}
    if offsets:
        minutes = collections.Counter(round(o / 60) for o in offsets)
        whole = {unit: sum(o % unit == 0 for o in offsets) / len(offsets) for unit in (60, 3600, 86400)}
        learnt["offsets_minutes"] = sorted([m, c] for m, c in minutes.items() if c >= k)
        learnt["offset_units"] = whole
        learnt["fractions"] = histogram([f * 1000 for f in fractions], 10)
        # Does a child come a share of the time its parent has had (a lab that sees a patient again any
        # time until today: older patients, longer gaps), or after a delay of its own (results hours after
        # the sample)? Whichever does not grow with the parent's age is the host's habit.
        if len(spans) >= 30:
            by_offset = abs(_rank_correlation([a for a, _, _ in spans], [b for _, b, _ in spans]))
            by_share = abs(_rank_correlation([a for a, _, _ in spans], [c for _, _, c in spans]))
            learnt["scales_with_age"] = by_share < by_offset
        spread = sorted(offsets)
        learnt["absolute"] = bool(minutes and sum(c for m, c in minutes.items() if c >= k) >= 0.9 * len(offsets))
        learnt["median_offset_seconds"] = spread[len(spread) // 2]
        # The whole distribution as 100 quantiles (an aggregate), and the unit it is counted in
        # (a host that validates a whole number of hours after the sample).
        learnt["offset_quantiles"] = [spread[min(len(spread) - 1, i * len(spread) // 100)] for i in range(101)]
        # The first child apart (a first visit minutes after registration, the next ones days later) only
        # when the host's firsts are not what the earliest of as many independent draws would be: otherwise
        # drawing the first apart makes every canary's earliest child too early.
        if _first_apart(first_offsets, sibling_counts, spread):
            if len(later_offsets) >= 30:
                # The others, then, from what comes after a first (the next visits, days later).
                later_offsets.sort()
                learnt["offset_quantiles"] = [later_offsets[min(len(later_offsets) - 1,
                                                                i * len(later_offsets) // 100)] for i in range(101)]
            first_offsets.sort()
            learnt["first_offset_quantiles"] = [first_offsets[min(len(first_offsets) - 1,
                                                                  i * len(first_offsets) // 100)] for i in range(101)]
        learnt["offset_unit"] = next((unit for unit in (86400, 3600, 60) if whole[unit] == 1.0), 1)
        learnt["negative_share"] = sum(o < 0 for o in offsets) / len(offsets)
        learnt["time_of_day"] = histogram(times)
        shifts = _time_of_day_shifts(day_pairs)
        if shifts:
            learnt["day_shift_quantiles"] = shifts
        learnt["seconds"] = any(m.second for row in block.rows[:500] if (m := reader.moment(entry, row)))
    if sorted_flags:
        learnt["sorted_share"] = sum(sorted_flags) / len(sorted_flags)
        # What rows inserted in no particular date order would give: the host may keep no order at all.
        learnt["random_sorted_share"] = sum(random_sorted) / len(random_sorted)
    return learnt


def _circular_minutes(delta: int) -> int:
    """A difference of times of day in minutes, in [-720, 720)."""
    return (delta + 720) % 1440 - 720


def _time_of_day_shifts(pairs: list[tuple[int, int]]) -> list[int] | None:
    """100 quantiles of (child's time of day - parent's) for rows a day or more after their parent, when
    the host's are tied to the parent's time of day: further from what independent times would give (the
    same children's times paired with other parents') than sampling noise (KS distance > 0.15). None: the
    host's times of day do not follow the parent's (then they are drawn from its histogram)."""
    if len(pairs) < 50:
        return None
    shifts = sorted(_circular_minutes(child - parent) for parent, child in pairs)
    parents = [parent for parent, _ in pairs]
    random.Random(0).shuffle(parents)
    independent = sorted(_circular_minutes(child - parent) for parent, (_, child) in zip(parents, pairs))
    if _ks_distance(shifts, independent) <= 0.15:
        return None
    return [shifts[min(len(shifts) - 1, i * len(shifts) // 100)] for i in range(101)]


def _first_apart(firsts: list[float], counts: list[int], offsets: list[float]) -> bool:
    """Whether the host's earliest child per parent is not what the earliest of as many independent draws
    would be (Kolmogorov-Smirnov distance between the two: sampling noise stays well under the bound)."""
    rng = random.Random(0)
    drawn = sorted(min(rng.choice(offsets) for _ in range(n)) for n in counts)
    return _ks_distance(sorted(firsts), drawn) > 0.15


def _ks_distance(a: list[float], b: list[float]) -> float:
    """Kolmogorov-Smirnov distance between two sorted samples: the widest gap between their cumulative shares."""
    return max((abs(bisect.bisect_right(a, value) / len(a) - bisect.bisect_right(b, value) / len(b))
                for value in set(a) | set(b)), default=0.0)


def _rank_correlation(xs: list, ys: list) -> float:
    """Spearman's rho (statistics.correlation has no `method` before Python 3.12)."""
    def ranks(values):
        order = sorted(range(len(values)), key=values.__getitem__)
        result = [0.0] * len(values)
        for rank, index in enumerate(order):
            result[index] = float(rank)
        return result
    try:
        return statistics.correlation(ranks(xs), ranks(ys))
    except statistics.StatisticsError:       # a constant column: no relation to speak of
        return 0.0


def latest_registration(target, mapping: Mapping, schema) -> dt.datetime | None:
    """The host's latest registration time: used at plant time, never kept in the model."""
    root = next(e for e in mapping.entries if e.parent is None)
    column = _moment_column(root)
    if column is None:
        return None
    reader = _Reader(mapping, {root.name: _Block(root, target.sample(root.table, [column], LEARN_ROWS), None, None)})
    return max(filter(None, (reader.moment(root, row) for row in reader.blocks[root.name].rows)), default=None)


# -- keeping it ------------------------------------------------------------------------------------
def model_path(home: pathlib.Path, target_name: str) -> pathlib.Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", target_name)
    return pathlib.Path(home) / "models" / f"{safe}.json"


def save_model(model: dict, path: pathlib.Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(model, ensure_ascii=False, indent=1, default=str), "utf-8")
    temporary.replace(path)


def load_model(path: pathlib.Path) -> dict | None:
    try:
        return json.loads(pathlib.Path(path).read_text("utf-8"))
    except (OSError, ValueError):
        return None
