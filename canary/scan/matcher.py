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
from itertools import islice

from .corroboration import agreement, needs_agreement
from .engine import Engine
from .file_formats import decode_record
from .lines import BlockLines, record_at

_SEPARATORS = b" .-/()"
_SEPARATOR_SET = frozenset(_SEPARATORS)
_DIGITS_AND_NEWLINES = bytes(c if 48 <= c <= 57 or c == 10 else 32 for c in range(256))
_HOST_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-")
# Read right to left from a zone suffix: the labels before it, then maybe "@local-part".
_LEFT = re.compile(rb"([a-z0-9\-.]*)(?:@([a-z0-9._%+\-\x80-\xff]*))?")
_SCHEMES = (b"http://", b"https://", b"http:\\/\\/", b"https:\\/\\/")
LONGEST_RUN = 15  # an NIR; a longer run is numbers glued by deleted separators
_LONGEST_KEY = 15  # digits: a longer run is no key
_LONG_RECORD = 4096  # bytes: longer than any patient's row
_NEARBY = 512  # bytes either side of a phone number where a long record's row about it lies
_NEARBY_TRIED = 1000  # occurrences of one number in one long record looked around


_LIGATURES = (("œ", "oe"), ("Œ", "OE"), ("æ", "ae"), ("Æ", "AE"), ("ß", "ss"))  # NFKD keeps them whole


def fold(text: str) -> str:
    """Lowercase ASCII without accents: 'Hélène LE GOFF' -> 'helene le goff', 'Cœur' -> 'coeur'."""
    if text.isascii():
        return text.lower()
    for ligature, letters in _LIGATURES:
        if ligature in text:
            text = text.replace(ligature, letters)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


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
    last_names: tuple[str, ...]    # last name and birth name
    first: str

    @property
    def names(self) -> re.Pattern:
        return _words(self.last_names)

    @property
    def first_name(self) -> re.Pattern:
        return _words((self.first,))

    def named_in(self, text: str) -> bool:
        """Its last (or birth) name and its first name are words of the folded record."""
        # Most records asked about are strangers': a substring test of the longest word of each
        # name rules them out before any regex is compiled or run (a word of a name is in the text
        # wherever the name is).
        first, lasts = self._longest_words
        if first not in text or not any(last in text for last in lasts):
            return False
        return self.names.search(text) is not None and self.first_name.search(text) is not None

    @functools.cached_property
    def _longest_words(self) -> tuple[str, tuple[str, ...]]:
        return _longest_word(self.first), tuple(_longest_word(name) for name in self.last_names)


@dataclasses.dataclass
class RecordMatches:
    """What the engine found in a block, per record index: (owner, key as found) pairs, the
    canaries whose birth date the record holds, and where the record starts in the block.
    Records are the block's lines; judging (which hits count, corroboration) reads their text."""
    identifiers: dict[int, list[tuple[Owner, bytes]]]
    births: dict[int, set[int]]
    starts: dict[int, int] = dataclasses.field(default_factory=dict)
    records: int = 0   # in the block

    def __bool__(self) -> bool:
        return bool(self.identifiers or self.births)


@dataclasses.dataclass
class BlockResult:
    hits: list[Hit]
    corroborations: list[Corroboration]
    uncorroborated: dict[tuple[str, int], int]   # (kind, canary_id) -> records with its NIR or phone alone
    records: int = 0   # in the block

    def renumber(self, first: int) -> None:
        """Lines counted from the block's start (`numbers` None) made the file's: record 0 is line `first`."""
        for found in (*self.hits, *self.corroborations):
            found.line += first


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


def _parts(name: str) -> tuple[str, ...]:
    """A name's words, folded: 'Le Goff-Hélène' -> ('le', 'goff', 'helene')."""
    return tuple(part for part in re.split(r"[\s\-']+", fold(name).strip()) if part)


def _longest_word(name: str) -> str:
    return max(_parts(name), key=len, default="")


@functools.lru_cache(maxsize=8192)
def _words(names: tuple[str, ...]) -> re.Pattern:
    """Any of the names as whole words, however hyphens and spaces were written; compiled on first use."""
    alternatives = []
    for name in names:
        alternatives.append(r"[\s\-']*".join(re.escape(part) for part in _parts(name)))
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)")


class IdentifierIndex:
    """Lookup structures for every identifier of a deployment, built once per scan."""

    def __init__(self, identifiers: list[dict], canaries: list[dict] = ()):
        self.digits: dict[bytes, list[Owner]] = defaultdict(list)
        self.corsican: dict[bytes, list[Owner]] = defaultdict(list)   # NIRs with 2A / 2B
        # How the engine sees them (the letter is a space in the digits block) -> the NIRs written so.
        self.corsican_digits: dict[bytes, list[bytes]] = defaultdict(list)
        self.hosts: dict[bytes, Owner] = {}
        self.url_hosts: dict[bytes, Owner] = {}
        self.emails: dict[bytes, Owner] = {}
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
        for key in self.corsican:
            self.corsican_digits[key.translate(_DIGITS_AND_NEWLINES)].append(key)
        self.digit_keys = frozenset(self.digits) | frozenset(self.birth_dates)
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        """The compiled multi-pattern databases; built on first use (or loaded with a cached index)."""
        if self._engine is None:
            self._engine = Engine(*self.patterns())
        return self._engine

    def patterns(self) -> tuple[list[bytes], list[bytes]]:
        """What the engine is compiled from: digit keys (Corsican NIRs as the digits block shows them) and
        zone suffixes, in a fixed order."""
        return sorted(self.digit_keys | frozenset(self.corsican_digits)), list(self.suffixes)

    def use_engine(self, engine: Engine) -> None:
        """An engine compiled earlier from this index's patterns (see index_cache)."""
        self._engine = engine

    # -- one block ----------------------------------------------------------------------------
    def scan_block(self, label: str, numbers, data: bytes, free_text: bool = False) -> BlockResult:
        """Every hit in a block of records (separated by b"\\n"), with corroboration applied.

        numbers[i] is the line (or record) number of record i; with None, hits say the record's
        index in the block (BlockResult.renumber makes them the file's).
        free_text: numbers may sit side by side separated by spaces only (plain text), so
        runs longer than a phone number are searched inside too (not for CSV).
        """
        found = self.find(data, free_text)
        result = self._judge(label, numbers, data, found) if found else BlockResult([], [], {})
        result.records = found.records
        return result

    def find(self, data: bytes, free_text: bool = False) -> RecordMatches:
        """Which identifiers and birth dates each record of the block holds, before any judging."""
        # One pass: separators deleted, other bytes but line breaks to spaces.
        digits = data.translate(_DIGITS_AND_NEWLINES, _SEPARATORS)
        lines = BlockLines(data, digits)
        found = RecordMatches(defaultdict(list), defaultdict(set))
        starts, identifiers, births = found.starts, found.identifiers, found.births
        birth_dates, digit_owners, corsican_digits = self.birth_dates, self.digits, self.corsican_digits
        index, counted_to, record_end = 0, 0, -1   # records counted by line breaks up to their first hit
        for at, key in self._digit_hits(digits, 10 if free_text else LONGEST_RUN):
            if at > record_end:   # the first hit in its record
                index += digits.count(b"\n", counted_to, at)
                counted_to = at
                record_end = digits.find(b"\n", at)
                record_end = len(digits) if record_end < 0 else record_end
                starts[index] = lines.start(index, digits.rfind(b"\n", 0, at) + 1)
            if key in birth_dates:
                births[index].update(birth_dates[key])
            if key in digit_owners:
                identifiers[index].extend((owner, key) for owner in digit_owners[key])
            for corsican in corsican_digits.get(key, ()):   # 2A or 2B: checked in the record when judged
                identifiers[index].extend((owner, corsican) for owner in self.corsican[corsican])
        found.records = index + digits.count(b"\n", counted_to) + 1
        named: dict[int, list] = defaultdict(list)
        for position, owner, written in self._named_hits(data):
            index, starts[index] = lines.index(position)
            named[index].append((owner, written))
        for index, owners in named.items():   # a record's names before its numbers
            found.identifiers[index] = owners + found.identifiers.get(index, [])
        return found

    def _named_hits(self, data: bytes):
        """(where in data, owner, text as written) for hostnames, URLs and emails."""
        engine = self.engine
        for end, pattern in engine.name_ends(data):
            pos = end - len(engine.suffixes[pattern])
            # Lower-case only around the hit: the engine folded case on the way.
            offset = max(0, pos - 340)
            low = data[offset:end + 2].lower()
            if end - offset < len(low) and (low[end - offset] in _HOST_BYTES or (
                    low[end - offset] == 46 and end - offset + 1 < len(low) and low[end - offset + 1] in _HOST_BYTES)):
                continue   # the suffix goes on: another zone
            named = self._name_at(low, pos - offset, end - offset)
            if named is None:
                continue
            owner, start = named
            yield pos, owner, data[offset + start:end]

    def _name_at(self, low: bytes, pos: int, end: int) -> tuple[Owner, int] | None:
        """The identifier whose name ends at `end`, and where its written form starts."""
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
                return owner, start - 1 - len(local)
        candidate = host
        while candidate.count(b".") >= 1:
            scheme = next((s for s in _SCHEMES if low[max(0, start - len(s)):start] == s), None)
            if scheme is not None and candidate in self.url_hosts:
                return self.url_hosts[candidate], start - len(scheme)
            if candidate in self.hosts:
                return self.hosts[candidate], pos - len(labels)
            if candidate in self.url_hosts:
                return self.url_hosts[candidate], pos - len(labels)
            dot = candidate.find(b".")
            start += dot + 1
            candidate = candidate[dot + 1:]
        return None

    def _digit_hits(self, digits: bytes, longest: int):
        """(where in digits, digit key) for phones, NIRs and birth dates in any of their writings.

        A key counts where it is a whole run of digits once separators are deleted ("06 39 98
        12 34" is one run), or anywhere inside a run longer than `longest` that is no key itself
        (numbers a file wrote side by side).
        """
        keys = self.engine.digit_keys
        ends = [(end - len(keys[n]), -len(keys[n]), n) for end, n in self.engine.digit_ends(digits)]
        ends.sort()   # leftmost, then longest first: the same order whatever the block
        for start, _, n in ends:
            key = keys[n]
            end = start + len(key)
            if (start and digits[start - 1] > 32) or (end < len(digits) and digits[end] > 32):
                left, right = _run(digits, start, end)   # part of a longer run: numbers side by side?
                if right - left <= longest or digits[left:right] in self.digit_keys:
                    continue
            yield start, key

    def _judge(self, label, numbers, data: bytes, found: RecordMatches) -> BlockResult:
        per_record, births, starts = found.identifiers, found.births, found.starts
        hits, corroborations, alone = [], [], defaultdict(int)
        for index in sorted(set(per_record) | set(births)):
            line = record_at(data, starts[index])
            number = index if numbers is None else numbers[index]
            text = None
            seen = set()
            for owner, found in per_record.get(index, ()):
                if owner.identifier_id in seen:
                    continue
                if owner.kind == "nir" and not found.isdigit() and _locate(line, found) is None:
                    continue   # a Corsican NIR's digits, but not its letter (2B for 2A, or another letter)
                seen.add(owner.identifier_id)
                corroborated_by = None
                if needs_agreement(owner.kind, owner.canary_id):
                    if len(line) > _LONG_RECORD:
                        corroborated_by = self._agreement_nearby(owner, line, found)
                    else:
                        text = text if text is not None else fold(decode_record(line))
                        corroborated_by = agreement(owner.kind, self.people.get(owner.canary_id), text,
                                                    owner.canary_id in births.get(index, ()))
                    if corroborated_by is None:
                        alone[(owner.kind, owner.canary_id)] += 1
                        continue
                hits.append(Hit(owner, label, number, _as_written(owner.kind, line, found), corroborated_by))
            for canary_id in births.get(index, ()):
                person = self.people[canary_id]
                text = text if text is not None else fold(decode_record(line))
                if person.named_in(text):
                    corroborations.append(Corroboration(canary_id, person.target, person.site, label, number,
                                                        _excerpt(decode_record(line))))
        return BlockResult(hits, corroborations, dict(alone))

    def _agreement_nearby(self, owner: Owner, line: bytes, found: bytes) -> str | None:
        """corroboration.agreement within _NEARBY bytes of the value: a record without line breaks
        (a whole file, or a huge cell) holds every name and birth date somewhere, a patient's row does not."""
        for match in islice(_written_pattern(found).finditer(line), _NEARBY_TRIED):
            near = line[max(0, match.start() - _NEARBY):match.end() + _NEARBY]
            runs = near.lower().translate(_DIGITS_AND_NEWLINES, _SEPARATORS).split()
            born = any(owner.canary_id in self.birth_dates.get(run, ()) for run in runs)
            support = agreement(owner.kind, self.people.get(owner.canary_id), fold(decode_record(near)), born)
            if support is not None:
                return support
        return None


def _run(digits: bytes, start: int, end: int) -> tuple[int, int]:
    """The run of digits around digits[start:end], looked at no further than a key is long."""
    left, stop = start, max(0, start - _LONGEST_KEY - 1)
    while left > stop and digits[left - 1] > 32:   # digits hold digits, spaces and line breaks
        left -= 1
    right, stop = end, min(len(digits), end + _LONGEST_KEY + 1)
    while right < stop and digits[right] > 32:
        right += 1
    return left, right


def _as_written(kind: str, line: bytes, found: bytes) -> str:
    """The identifier as the file wrote it: '06 39 98 12 34', not the key it matched."""
    if kind not in ("phone", "nir"):
        return decode_record(found)
    span = _locate(line, found)
    return found.decode() if span is None else decode_record(line[span[0]:span[1]])


def _locate(line: bytes, found: bytes) -> tuple[int, int] | None:
    """Where a digit key is written in a record, separators and a leading '+' included."""
    if len(line) > _LONG_RECORD:
        match = _written_pattern(found).search(line)
        if match is None:
            return None
        start, end = match.span()
    else:
        # A patient's row: the key is looked for with the separators deleted, then mapped back (the
        # leftmost match, as the regex finds it), without compiling a regex per key found.
        at = line.translate(None, _SEPARATORS).lower().find(found)
        if at < 0:
            return None
        kept = [i for i, c in enumerate(line) if c not in _SEPARATOR_SET]
        start, end = kept[at], kept[at + len(found) - 1] + 1
    if start and line[start - 1] == ord("+"):
        start -= 1
    return start, end


@functools.lru_cache(maxsize=4096)
def _written_pattern(found: bytes) -> re.Pattern:
    # A regex, not a Python loop over the record's bytes: a record may be megabytes long.
    separators = b"[" + re.escape(_SEPARATORS) + b"]*"
    return re.compile(separators.join(re.escape(bytes([c])) for c in found), re.IGNORECASE)


def _excerpt(text: str, width: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def _person(canary: dict) -> Person | None:
    patient = canary.get("patient") or {}
    first, last, born = patient.get("first_name"), patient.get("last_name"), patient.get("birth_date")
    if not (first and last and born):
        return None
    names = tuple(sorted({last, patient.get("birth_name") or last}))
    return Person(canary["id"], canary.get("target"), canary.get("site"), frozenset(date_forms(born)), names, first)
