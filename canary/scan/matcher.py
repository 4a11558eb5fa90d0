"""The identifier index: every written form of every identifier, matched in blocks of records.

Matching is a handful of C-level passes per block, never a loop over identifiers:
- hostnames, URLs and emails are found by their zone suffixes (`bytes.find`), then the
  token around each hit is looked up;
- phone numbers, NIRs and birth dates are found by deleting the separators people put in
  them (spaces, dots, dashes, slashes, brackets), splitting the block into runs of digits
  and intersecting those runs with the set of every digit form we know.
Case is folded with `bytes.lower()`; accents only matter in names and local parts, which
are folded (NFKD) on the few records that hit.
"""
from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from collections import defaultdict

from .formats import decode_record

_SEPARATORS = b" .-/()"
_DIGITS_ONLY = bytes(c if 48 <= c <= 57 else 32 for c in range(256))
_HOST_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-")
# Read right to left from a zone suffix: the labels before it, then maybe "@local-part".
_LEFT = re.compile(rb"([a-z0-9\-.]*)(?:@([a-z0-9._%+\-\x80-\xff]*))?")
_SCHEMES = (b"http://", b"https://", b"http:\\/\\/", b"https:\\/\\/")
LONGEST_RUN = 15  # an NIR; a longer run is numbers glued by deleted separators


def fold(text: str) -> str:
    """Lowercase without accents: 'Hélène LE GOFF' -> 'helene le goff'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


@dataclasses.dataclass(frozen=True)
class Owner:
    """An identifier and who carries it."""
    identifier_id: int
    kind: str
    value: str
    canary_id: int | None
    token_id: int | None
    token: str | None
    target: str | None
    site: str | None


@dataclasses.dataclass
class Hit:
    """One identifier found in one record."""
    owner: Owner
    file: str
    line: int
    found: str
    corroborated_by: str | None = None


@dataclasses.dataclass
class Corroboration:
    """A canary's name and birth date in one record: weaker evidence, never proof alone."""
    canary_id: int
    target: str | None
    site: str | None
    file: str
    line: int
    found: str


@dataclasses.dataclass
class Person:
    canary_id: int
    target: str | None
    site: str | None
    date_keys: frozenset[bytes]
    names: re.Pattern       # last or birth name, as a word
    first_name: re.Pattern


@dataclasses.dataclass
class BlockResult:
    hits: list[Hit]
    corroborations: list[Corroboration]
    uncorroborated_phones: dict[int, int]   # canary_id -> records with its phone alone


def phone_forms(e164: str) -> list[bytes]:
    """Digit strings a number may be written as once separators are gone."""
    digits = e164.lstrip("+")
    if digits.startswith("33") and len(digits) == 11:
        national = digits[2:]
        forms = ["0" + national, digits, "00" + digits, "330" + national, national]
    else:
        forms = [digits, "00" + digits]
    return [form.encode() for form in forms]


def nir_forms(nir: str) -> list[bytes]:
    """The NIR with and without its two-digit key."""
    nir = nir.lower()
    return [nir.encode(), nir[:13].encode()]


def date_forms(iso_date: str) -> list[bytes]:
    """1985-03-12 as it reads once separators are gone: 19850312 and 12031985."""
    year, month, day = iso_date[:10].split("-")
    return [f"{year}{month}{day}".encode(), f"{day}{month}{year}".encode()]


def _word(text: str) -> re.Pattern:
    parts = [re.escape(part) for part in re.split(r"[\s\-']+", fold(text).strip()) if part]
    return re.compile(r"(?<!\w)" + r"[\s\-']*".join(parts) + r"(?!\w)")


class IdentifierIndex:
    """Lookup structures for every identifier of a deployment, built once per scan."""

    def __init__(self, identifiers: list[dict], canaries: list[dict] = ()):
        self.digits: dict[bytes, list[Owner]] = defaultdict(list)
        self.corsican: dict[bytes, list[Owner]] = defaultdict(list)   # NIRs with 2A / 2B
        self.hosts: dict[bytes, Owner] = {}
        self.url_hosts: dict[bytes, Owner] = {}
        self.emails: dict[bytes, Owner] = {}
        self.size = len(identifiers)
        # True unless the operator owns the numbers (phone pool): see scan.scan_files.
        self.phones_need_corroboration = True
        suffixes = set()
        for row in identifiers:
            owner = Owner(row["identifier_id"], row["kind"], row["value"], row.get("canary_id"),
                          row.get("token_id"), row.get("token"), row.get("target"), row.get("site"))
            value = row["value"]
            if owner.kind == "phone":
                for form in phone_forms(value):
                    self.digits[form].append(owner)
            elif owner.kind == "nir":
                for form in nir_forms(value):
                    (self.digits if form.isdigit() else self.corsican)[form].append(owner)
            elif owner.kind == "hostname":
                self.hosts[value.encode()] = owner
                suffixes.add(value.partition(".")[2])
            elif owner.kind == "url":
                host = value.split("://", 1)[-1].split("/", 1)[0].split(":")[0]
                self.url_hosts[host.encode()] = owner
                suffixes.add(host.partition(".")[2])
            elif owner.kind == "email":
                for form in {value, fold(value)}:
                    self.emails[form.encode("utf-8")] = owner
                suffixes.add(value.rpartition("@")[2].partition(".")[2])
        # ".canary.test" also finds "x.mail.canary.test": keep only the shortest suffixes.
        kept: list[str] = []
        for suffix in sorted(filter(None, suffixes), key=len):
            if not any(suffix == k or suffix.endswith("." + k) for k in kept):
                kept.append(suffix)
        self.suffixes = [("." + suffix).encode() for suffix in kept]
        self.people: dict[int, Person] = {}
        self.birth_dates: dict[bytes, list[int]] = defaultdict(list)
        for canary in canaries:
            person = _person(canary)
            if person is not None:
                self.people[person.canary_id] = person
                for key in person.date_keys:
                    self.birth_dates[key].append(person.canary_id)
        self.digit_keys = frozenset(self.digits) | frozenset(self.birth_dates)

    # -- one block ----------------------------------------------------------------------------
    def scan_block(self, label: str, numbers, data: bytes) -> BlockResult:
        """Every hit in a block of records (separated by b"\\n"), with corroboration applied."""
        low = data.lower()
        per_record: dict[int, list[tuple[Owner, bytes]]] = defaultdict(list)
        births: dict[int, set[int]] = defaultdict(set)
        for index, owner, found in self._named_hits(low):
            per_record[index].append((owner, found))
        for index, key in self._digit_hits(low):
            if key in self.birth_dates:
                births[index].update(self.birth_dates[key])
            for owner in self.digits.get(key, ()) or self.corsican.get(key, ()):
                per_record[index].append((owner, key))
        if not per_record and not births:
            return BlockResult([], [], {})
        lines = data.split(b"\n")
        return self._judge(label, numbers, lines, per_record, births)

    def _named_hits(self, low: bytes):
        """(record index, owner, text) for hostnames, URLs and emails, via their zone suffixes."""
        positions = []
        for suffix in self.suffixes:
            pos = low.find(suffix)
            while pos >= 0:
                end = pos + len(suffix)
                if not (end < len(low) and (low[end] in _HOST_BYTES or
                                            (low[end] == 46 and end + 1 < len(low) and low[end + 1] in _HOST_BYTES))):
                    positions.append((pos, end))
                pos = low.find(suffix, end)
        positions.sort()
        index, counted_to = 0, 0
        for pos, end in positions:
            found = self._name_at(low, pos, end)
            if found is None:
                continue
            index += low.count(b"\n", counted_to, pos)
            counted_to = pos
            yield index, *found

    def _name_at(self, low: bytes, pos: int, end: int):
        window = low[max(0, pos - 320):pos][::-1]
        match = _LEFT.match(window)
        labels = match.group(1)[::-1].lstrip(b".")
        host = labels + low[pos:end]
        start = pos - len(labels)
        if match.group(2) is not None:
            local = match.group(2)[::-1]
            email = local + b"@" + host
            owner = self.emails.get(email) or self.emails.get(
                fold(decode_record(email)).encode("utf-8", "ignore"))
            if owner is not None:
                return owner, email
        candidate = host
        while candidate.count(b".") >= 1:
            if any(low[max(0, start - len(s)):start] == s for s in _SCHEMES) and candidate in self.url_hosts:
                return self.url_hosts[candidate], low[max(0, start - 8):end]
            if candidate in self.hosts:
                return self.hosts[candidate], host
            if candidate in self.url_hosts:
                return self.url_hosts[candidate], host
            dot = candidate.find(b".")
            start += dot + 1
            candidate = candidate[dot + 1:]
        return None

    def _digit_hits(self, low: bytes):
        """(record index, digit key) for phones, NIRs and birth dates in any of their writings."""
        compact = low.translate(None, _SEPARATORS)
        runs = compact.translate(_DIGITS_ONLY).split()
        found = self.digit_keys.intersection(runs)
        if runs and max(map(len, runs)) > LONGEST_RUN:
            found |= self._inside_long_runs(runs)
        positions = []
        for key in found:
            pos = compact.find(key)
            while pos >= 0:
                end = pos + len(key)
                glued = len(key) <= LONGEST_RUN and (pos and compact[pos - 1] in _DIGIT_BYTES
                                                    or end < len(compact) and compact[end] in _DIGIT_BYTES)
                if not glued or key not in self.birth_dates and self._glued_ok(compact, pos, end):
                    positions.append((pos, key))
                pos = compact.find(key, end)
        if self.corsican:
            for marker in (b"2a", b"2b"):
                pos = compact.find(marker)
                while pos >= 0:
                    for length in (15, 13):
                        key = compact[pos - 5:pos - 5 + length] if pos >= 5 else b""
                        if key in self.corsican:
                            positions.append((pos - 5, key))
                            break
                    pos = compact.find(marker, pos + 2)
        positions.sort()
        index, counted_to = 0, 0
        for pos, key in positions:
            index += compact.count(b"\n", counted_to, pos)
            counted_to = pos
            yield index, key

    def _inside_long_runs(self, runs) -> set[bytes]:
        """Keys inside runs longer than an NIR: numbers a plain-text file wrote side by side."""
        found = set()
        lengths = sorted({len(key) for key in self.digits})
        for run in runs:
            if len(run) <= LONGEST_RUN:
                continue
            for size in lengths:
                found.update(k for k in (run[i:i + size] for i in range(len(run) - size + 1)) if k in self.digits)
        return found

    @staticmethod
    def _glued_ok(compact: bytes, pos: int, end: int) -> bool:
        """A key glued to other digits only counts inside a long run (side-by-side numbers)."""
        left = pos
        while left and compact[left - 1] in _DIGIT_BYTES:
            left -= 1
        right = end
        while right < len(compact) and compact[right] in _DIGIT_BYTES:
            right += 1
        return right - left > LONGEST_RUN

    def _judge(self, label, numbers, lines, per_record, births) -> BlockResult:
        hits, corroborations, lone_phones = [], [], defaultdict(int)
        for index in sorted(set(per_record) | set(births)):
            line = lines[index]
            number = numbers[index]
            text = None
            seen = set()
            for owner, found in per_record.get(index, ()):
                if owner.identifier_id in seen:
                    continue
                seen.add(owner.identifier_id)
                corroborated_by = None
                if owner.kind == "phone" and owner.canary_id is not None and self.phones_need_corroboration:
                    text = text if text is not None else fold(decode_record(line))
                    corroborated_by = self._phone_support(owner.canary_id, births.get(index, ()), text)
                    if corroborated_by is None:
                        lone_phones[owner.canary_id] += 1
                        continue
                hits.append(Hit(owner, label, number, _as_written(owner.kind, line, found), corroborated_by))
            for canary_id in births.get(index, ()):
                person = self.people[canary_id]
                text = text if text is not None else fold(decode_record(line))
                if person.names.search(text) and person.first_name.search(text):
                    corroborations.append(Corroboration(canary_id, person.target, person.site, label, number,
                                                        _excerpt(decode_record(line))))
        return BlockResult(hits, corroborations, dict(lone_phones))

    def _phone_support(self, canary_id: int, born: set[int], text: str) -> str | None:
        """A fiction-range number is shared with any fiction: it needs the birth date or the full name.

        A last name alone is not enough: in 100,000 generated rows a canary's number turned
        up beside a stranger called Marchand, who shared only the canary's last name.
        """
        person = self.people.get(canary_id)
        if person is None:
            return None
        if canary_id in born:
            return "birth_date"
        if person.names.search(text) and person.first_name.search(text):
            return "name"
        return None


def _as_written(kind: str, line: bytes, found: bytes) -> str:
    """The identifier as the file wrote it: '06 39 98 12 34', not the key it matched."""
    if kind not in ("phone", "nir"):
        return decode_record(found)
    match = _written_digits(found).search(line.lower())
    return decode_record(match.group(0)).strip() if match else found.decode()


_DIGIT_BYTES = frozenset(b"0123456789")


@functools.lru_cache(maxsize=4096)
def _written_digits(key: bytes) -> re.Pattern:
    return re.compile(rb"(?:\+|00)?" + rb"[ .\-/()]*".join(re.escape(bytes([c])) for c in key))


def _excerpt(text: str, width: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def _person(canary: dict) -> Person | None:
    patient = canary.get("patient") or {}
    first, last, born = patient.get("first_name"), patient.get("last_name"), patient.get("birth_date")
    if not (first and last and born):
        return None
    names = {last, patient.get("birth_name") or last}
    name_pattern = re.compile("|".join(f"(?:{_word(name).pattern})" for name in sorted(names)))
    return Person(canary["id"], canary.get("target"), canary.get("site"), frozenset(date_forms(born)),
                  name_pattern, _word(first))
