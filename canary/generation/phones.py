"""French phone numbers: normalising to E.164, the fiction ranges, a pool, an allocator."""
from __future__ import annotations

import pathlib
import random

import phonenumbers

# Blocks of 10,000 numbers that the national numbering plan reserves for fiction
# (films, books, examples): never assigned to a subscriber, so a canary's number
# cannot ring anyone. Source: Arcep, décision n° 2018-0881 du 24 juillet 2018
# établissant le plan national de numérotation et ses règles de gestion (annexe:
# plan national de numérotation), as amended by décision n° 2022-1583 du
# 1er septembre 2022. The stored copies of those decisions we could search held only
# their tables of contents; the six blocks are the ones cited with décision 2018-0881
# by several public projects, and we found no 07 or 09 block with a source behind
# it, so none is added (a guessed block could be someone's real number).
FICTION_RANGES: tuple[str, ...] = (
    "0199 00",  # zone 01, Île-de-France
    "0261 91",  # zone 02, north-west
    "0353 01",  # zone 03, north-east
    "0465 71",  # zone 04, south-east
    "0536 49",  # zone 05, south-west
    "0639 98",  # mobile
)
MOBILE_RANGE = "0639 98"
LANDLINE_RANGE_OF_ZONE = {r[1]: r for r in FICTION_RANGES if r[1] in "12345"}
KINDS = ("mobile", "landline")

# Geographic zone (the digit after 0) of each department's landlines. Réunion and
# Mayotte (0262, 0269) are in zone 2; Guadeloupe, Martinique and Guyane (0590, 0596,
# 0594) in zone 5. Their own blocks have no fiction range, so their canaries get the
# zone's metropolitan fiction block.
_ZONE_DEPARTMENTS = {
    "1": "75 77 78 91 92 93 94 95",
    "2": "14 18 22 27 28 29 35 36 37 41 44 45 49 50 53 56 61 72 76 85 974 976",
    "3": "02 08 10 21 25 39 51 52 54 55 57 58 59 60 62 67 68 70 71 80 88 89 90",
    "4": "01 03 04 05 06 07 11 13 15 26 2A 2B 30 34 38 42 43 48 63 66 69 73 74 83 84",
    "5": "09 12 16 17 19 23 24 31 32 33 40 46 47 64 65 79 81 82 86 87 971 972 973",
}
ZONE_OF_DEPARTMENT = {dep: zone for zone, deps in _ZONE_DEPARTMENTS.items() for dep in deps.split()}

# Country codes whose numbers belong to the French numbering plan (written 0X XX XX XX XX).
_FRENCH_PLAN = {33, 262, 590, 594, 596}
_OVERSEAS_REGIONS = ("RE", "YT", "GP", "MQ", "GF")


class PhonePoolError(ValueError):
    """A phone pool file has a malformed or duplicate line."""


class PhonesExhausted(ValueError):
    """No free number is left to give a canary."""


def _digits(prefix: str) -> str:
    return prefix.replace(" ", "")


def _e164_of_national(national: str) -> str:
    return "+33" + national[1:]


def _in_fiction_range(national: str) -> bool:
    return any(national.startswith(_digits(block)) for block in FICTION_RANGES)


def normalise_phone(text: str, default_region: str = "FR") -> str | None:
    """The E.164 form (+33639981234) of a phone number written any usual way, or None."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return None
    if number.country_code == 33:
        national = "0" + str(number.national_number)
        if len(national) != 10 or national[1] == "0":
            return None
        # libphonenumber files 0639 under Mayotte (+262) and knows no fiction range,
        # so fiction numbers would fail its validity check: keep them as +33.
        if _in_fiction_range(national):
            return _e164_of_national(national)
        if not phonenumbers.is_valid_number(number):
            for region in _OVERSEAS_REGIONS:
                overseas = phonenumbers.parse(national, region)
                if phonenumbers.is_valid_number(overseas):
                    return phonenumbers.format_number(overseas, phonenumbers.PhoneNumberFormat.E164)
        return _e164_of_national(national)
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _french_national(e164: str) -> str | None:
    """The ten-digit national form of a number of the French plan, or None."""
    number = phonenumbers.parse(e164, "FR")
    nsn = str(number.national_number)
    if number.country_code in _FRENCH_PLAN and len(nsn) == 9:
        return "0" + nsn
    return None


def format_national(e164: str) -> str:
    """The way the French write a number: '06 39 98 12 34' (foreign numbers: international form)."""
    normalised = normalise_phone(e164)
    if normalised is None:
        raise ValueError(f"not a phone number: {e164!r}")
    national = _french_national(normalised)
    if national is None:
        return phonenumbers.format_number(phonenumbers.parse(normalised), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return " ".join(national[i:i + 2] for i in range(0, 10, 2))


def phone_kind(e164: str) -> str:
    """'mobile' or 'landline' (fixed and VoIP lines both count as landline)."""
    national = _french_national(e164)
    if national is not None:
        return "mobile" if national[1] in "67" else "landline"
    kind = phonenumbers.number_type(phonenumbers.parse(e164))
    return "mobile" if kind == phonenumbers.PhoneNumberType.MOBILE else "landline"


def phone_zone(e164: str) -> str | None:
    """The geographic zone digit ('1'-'5') of a French landline, else None."""
    national = _french_national(e164)
    if national is None or national[1] not in "12345":
        return None
    return national[1]


def landline_zone(department: str) -> str:
    """The geographic zone digit of a department's landlines ('35' -> '2')."""
    zone = ZONE_OF_DEPARTMENT.get(str(department).upper())
    if zone is None:
        raise ValueError(f"unknown department {department!r}")
    return zone


def _fiction_block(kind: str, department: str | None) -> str:
    if kind == "mobile":
        return MOBILE_RANGE
    if kind == "landline":
        if department is None:
            raise ValueError("a landline needs a department (its zone)")
        return LANDLINE_RANGE_OF_ZONE[landline_zone(department)]
    raise ValueError(f"phone kind must be one of {', '.join(KINDS)}, not {kind!r}")


def fiction_number(rng: random.Random, kind: str, department: str | None) -> str:
    """A random E.164 number from the fiction range for `kind` (a landline in the department's zone)."""
    block = _digits(_fiction_block(kind, department))
    return _e164_of_national(f"{block}{rng.randrange(10_000):04d}")


def load_phone_pool(path: str | pathlib.Path) -> list[str]:
    """The E.164 numbers of a pool file: one a line, any usual format, '#' comments and blank lines."""
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PhonePoolError(f"{path}: cannot read the phone pool: {error}") from error
    numbers: list[str] = []
    first_line: dict[str, int] = {}
    for line_number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        number = normalise_phone(entry)
        if number is None:
            raise PhonePoolError(f"{path}, line {line_number}: not a phone number: {entry!r}")
        if number in first_line:
            raise PhonePoolError(
                f"{path}, line {line_number}: {entry!r} is {number}, already on line {first_line[number]}")
        first_line[number] = line_number
        numbers.append(number)
    return numbers


class PhoneAllocator:
    """Gives each canary a number nobody else has: from the operator's pool, else from the fiction ranges."""

    def __init__(self, pool: list[str] | None, used: set[str], rng: random.Random):
        self.used = used
        self.rng = rng
        self.pool = None if not pool else [self._checked(number) for number in pool]
        # Free candidates, shuffled once and popped: allocation stays O(1) however
        # full a range is. `used` is checked at each pop, so numbers taken by others
        # since the shuffle are skipped.
        self._candidates: dict[str, list[str]] = {}
        self._kinds: dict[str, str] | None = None

    @staticmethod
    def _checked(number: str) -> str:
        normalised = normalise_phone(number)
        if normalised is None:
            raise PhonePoolError(f"phone pool: not a phone number: {number!r}")
        return normalised

    def allocate(self, kind: str, department: str | None, zone: str | None = None,
                 blocks: list | None = None) -> str:
        """A free E.164 number, of `kind` if one is left (a landline in the department's zone, or in
        `zone` when given: the zone the host's own landlines are in); marks it used.

        `blocks` ([[E.164 prefix, patients], ...], the host's): with a pool, a number of `kind` in one of
        the blocks the pool has numbers in, drawn as often as the host's patients are in it, so that the
        copy's prefixes look like the host's; blocks the pool has no number in cannot be matched."""
        if kind not in KINDS:
            raise ValueError(f"phone kind must be one of {', '.join(KINDS)}, not {kind!r}")
        preferences = self._preferences(kind, department, zone)
        if self.pool is not None and blocks:
            preferences = self._blocks_by_weight(kind, blocks) + preferences
        for bucket in preferences:
            number = self._pop_free(bucket)
            if number is not None:
                self.used.add(number)
                return number
        if self.pool is not None:
            raise PhonesExhausted(
                f"the phone pool is used up: all {len(set(self.pool))} numbers already belong to canaries or "
                "tokens; add numbers to the pool file")
        raise PhonesExhausted(
            "the fiction ranges are used up for this request (10,000 mobile numbers and 10,000 landlines per "
            "zone); configure a phone pool of numbers you own")

    def _preferences(self, kind: str, department: str | None, zone: str | None = None) -> list[str]:
        other = "landline" if kind == "mobile" else "mobile"
        if zone is None or zone not in LANDLINE_RANGE_OF_ZONE:
            zone = ZONE_OF_DEPARTMENT.get(str(department).upper()) if department is not None else None
        if self.pool is not None:
            wanted = [f"{kind}:{zone}"] if kind == "landline" and zone else []
            return wanted + [kind, other, "any"]
        if department is not None and zone is None:
            raise ValueError(f"unknown department {department!r}")
        # Without a pool a landline must stay in its zone, so fall back to a mobile, not another zone.
        buckets = {"mobile": [MOBILE_RANGE], "landline": [LANDLINE_RANGE_OF_ZONE[zone]] if zone else []}
        return buckets[kind] + buckets[other]

    def _blocks_by_weight(self, kind: str, blocks: list) -> list[str]:
        """Buckets of the host's blocks the pool has free numbers of `kind` in, in an order drawn by weight."""
        weighted = [[f"block:{kind}:{prefix}", count] for prefix, count in blocks if count > 0]
        order = []
        while weighted:
            cumulative, total = [], 0.0
            for _, count in weighted:
                total += count
                cumulative.append(total)
            pick = self.rng.random() * total
            index = next(i for i, bound in enumerate(cumulative) if pick < bound or i == len(cumulative) - 1)
            order.append(weighted.pop(index)[0])
        return order

    def _pop_free(self, bucket: str) -> str | None:
        candidates = self._candidates.get(bucket)
        if candidates is None:
            candidates = self._candidates[bucket] = self._shuffled(bucket)
        while candidates:
            number = candidates.pop()
            if number not in self.used:
                return number
        return None

    def _pool_kinds(self) -> dict[str, str]:
        """{number: kind} of the pool, worked out once (each is a libphonenumber parse)."""
        if self._kinds is None:
            self._kinds = {n: phone_kind(n) for n in dict.fromkeys(self.pool)}
        return self._kinds

    def _shuffled(self, bucket: str) -> list[str]:
        if self.pool is None:
            block = _digits(bucket)
            numbers = [_e164_of_national(f"{block}{n:04d}") for n in range(10_000)]
        elif bucket == "any":
            numbers = list(dict.fromkeys(self.pool))
        elif bucket.startswith("block:"):
            _, kind, prefix = bucket.split(":", 2)
            numbers = [n for n, its_kind in self._pool_kinds().items() if its_kind == kind and n.startswith(prefix)]
        else:
            kind, _, zone = bucket.partition(":")
            numbers = [n for n, its_kind in self._pool_kinds().items()
                       if its_kind == kind and (not zone or phone_zone(n) == zone)]
        self.rng.shuffle(numbers)
        return numbers
