"""Fake French lab patients, internally consistent: names, birth, NIR, address, phone, care.

Everything is drawn from one `random.Random` passed in, so the same seed gives the same
patients. Ages are computed against `today`, which defaults to REFERENCE_DATE rather
than the clock so that output does not drift from one day to the next; pass
`today=datetime.date.today()` for ages as of now.
"""
from __future__ import annotations

import bisect
import datetime
import itertools
import random
import threading
import unicodedata

from faker import Faker

from . import nir as nir_rules
from . import phones
from .refdata.comments import CLINICAL_COMMENTS
from .refdata.communes import COMMUNES
from .refdata.countries import BIRTH_COUNTRIES
from .refdata.departments import DEPARTMENTS, REGIONS
from .refdata.first_names import FIRST_NAMES_BY_DECADE
from .refdata.insurers import INSURERS
from .refdata.last_names import LAST_NAMES, REGIONAL_LAST_NAMES
from .refdata.streets import ADDRESS_COMPLEMENTS, COMMON_STREET_NAMES, STREET_TYPES, TREES

__all__ = ["REGIONS", "REFERENCE_DATE", "generate_patient", "generate_patients", "region_departments"]

REFERENCE_DATE = datetime.date(2025, 1, 1)

# No range of NIRs is set aside for tests, so a made-up NIR may be someone's. Order
# numbers count the births of one month in one commune; 900-999 is reached only by the
# largest maternity towns, which keeps collisions with real people rare.
NIR_ORDER_RANGE = (900, 999)

# (youngest, oldest, weight): a lab sees many elderly patients and some children.
_AGE_BANDS = ((0, 4, 4), (5, 14, 5), (15, 24, 7), (25, 34, 11), (35, 44, 11), (45, 54, 13),
              (55, 64, 15), (65, 74, 16), (75, 84, 12), (85, 102, 6))
_BLOOD_GROUPS = (("O+", 36), ("A+", 37), ("B+", 9), ("AB+", 3), ("O-", 6), ("A-", 7), ("B-", 1), ("AB-", 1))
_EMAIL_PATTERNS = (("{f}.{l}", 40), ("{i}{l}", 15), ("{f}.{l}{yy}", 15), ("{l}.{f}", 10), ("{f}{l}", 8),
                   ("{f}_{l}", 5), ("{f}.{l}{n}", 7))
_CORSICA_SPLIT_YEAR = 1976  # born in Corsica before 1976: department 20 in the NIR
_MAYOTTE_DEPARTMENT_YEAR = 2011  # Mayotte's 976 codes start when it became a department

_DEPARTMENT_REGION = {code: region for code, _, region in DEPARTMENTS}
_COMMUNES_BY_DEPARTMENT: dict[str, list[tuple]] = {}
for _row in COMMUNES:
    _COMMUNES_BY_DEPARTMENT.setdefault(_row[3], []).append(_row)


class _Weighted:
    """A weighted choice over fixed items, drawn with one rng.random() call."""

    def __init__(self, items_and_weights):
        self.items = [item for item, _ in items_and_weights]
        self.cumulative = list(itertools.accumulate(weight for _, weight in items_and_weights))

    def draw(self, rng: random.Random):
        return self.items[bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]


def _fold(text: str) -> str:
    """Lowercase ASCII without accents or punctuation, for matching names typed loosely."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    for mark in "-'’_":
        ascii_text = ascii_text.replace(mark, " ")
    return " ".join(ascii_text.lower().split())


_REGION_ALIASES = {"idf": "Île-de-France", "paca": "Provence-Alpes-Côte d'Azur", "reunion": "La Réunion",
                   "centre": "Centre-Val de Loire", "aura": "Auvergne-Rhône-Alpes", "ara": "Auvergne-Rhône-Alpes",
                   "bfc": "Bourgogne-Franche-Comté", "corsica": "Corse"}


def region_departments(region: str | None) -> tuple[str, ...]:
    """The department codes a region name, department code or department name stands for."""
    if region is None:
        return tuple(_COMMUNES_BY_DEPARTMENT)
    key = _fold(str(region))
    code = key.upper().zfill(2) if key.isdigit() or key in ("2a", "2b") else None
    if code in _DEPARTMENT_REGION:
        return (code,)
    named = _REGION_ALIASES.get(key) or next((name for name in REGIONS if _fold(name) == key), None)
    if named:
        return tuple(code for code, _, name in DEPARTMENTS if name == named)
    for code, name, _ in DEPARTMENTS:
        if _fold(name) == key:
            return (code,)
    raise ValueError(f"unknown region {region!r}: give a region ({', '.join(REGIONS)}), "
                     "a department code such as 35 or 2A, or a department name")


_commune_choices: dict[tuple[str, ...], _Weighted] = {}


def _communes_of(departments: tuple[str, ...]) -> _Weighted:
    choice = _commune_choices.get(departments)
    if choice is None:
        rows = [row for dep in departments for row in _COMMUNES_BY_DEPARTMENT[dep]]
        choice = _commune_choices[departments] = _Weighted([(row, row[4]) for row in rows])
    return choice


_blood_groups = _Weighted(_BLOOD_GROUPS)
_ages = _Weighted([((low, high), weight) for low, high, weight in _AGE_BANDS])
_street_types = _Weighted(STREET_TYPES)
_insurers = _Weighted(INSURERS)
_email_patterns = _Weighted(_EMAIL_PATTERNS)
_last_names = _Weighted([(name, 1 / (rank + 8)) for rank, name in enumerate(LAST_NAMES)])
_first_names = {(decade, sex): _Weighted([(name, 1 / (rank + 3)) for rank, name in enumerate(names)])
                for decade, women, men in FIRST_NAMES_BY_DECADE for sex, names in (("F", women), ("M", men))}
_faker_per_thread = threading.local()


def _faker(rng: random.Random) -> Faker:
    """A French Faker re-seeded from `rng`: one instance per thread, since building one is slow."""
    faker = getattr(_faker_per_thread, "faker", None)
    if faker is None:
        faker = _faker_per_thread.faker = Faker("fr_FR")
    faker.seed_instance(rng.getrandbits(64))
    return faker


def _first_name(rng: random.Random, sex: str, birth_year: int) -> str:
    decade = min(max(birth_year // 10 * 10, FIRST_NAMES_BY_DECADE[0][0]), FIRST_NAMES_BY_DECADE[-1][0])
    return _first_names[(decade, sex)].draw(rng)


def _last_name(rng: random.Random, department: str) -> str:
    for departments, names in REGIONAL_LAST_NAMES:
        if department in departments and rng.random() < 0.4:
            return rng.choice(names)
    return _last_names.draw(rng)


def _birth_date(rng: random.Random, today: datetime.date) -> datetime.date:
    low, high = _ages.draw(rng)
    days = int((rng.randint(low, high) + rng.random()) * 365.2425)
    return today - datetime.timedelta(days=max(1, days))


def _age(birth_date: datetime.date, today: datetime.date) -> int:
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def _french_birthplace(rng: random.Random, departments: tuple[str, ...], birth_year: int) -> tuple:
    commune = _communes_of(departments).draw(rng)
    if commune[3] == "976" and birth_year < _MAYOTTE_DEPARTMENT_YEAR:
        return _french_birthplace(rng, tuple(d for d in _COMMUNES_BY_DEPARTMENT if d != "976"), birth_year)
    return commune


def _birthplace(rng: random.Random, home_department: str, birth_year: int) -> tuple[dict, str, str]:
    """The birthplace dict and the NIR's department and commune fields."""
    roll = rng.random()
    if roll < 0.05:
        countries = [(c, c[4]) for c in BIRTH_COUNTRIES if birth_year >= c[3]]
        if countries:
            code, country, city, _, _ = _Weighted(countries).draw(rng)
            place = {"commune": city, "insee": code, "department": "99", "country": country}
            return place, "99", code[2:]
    if roll < 0.65:
        scope: tuple[str, ...] = (home_department,)
    elif roll < 0.80:
        scope = region_departments(_DEPARTMENT_REGION[home_department])
    else:
        scope = tuple(_COMMUNES_BY_DEPARTMENT)
    insee, name, _, department, _ = _french_birthplace(rng, scope, birth_year)
    place = {"commune": name, "insee": insee, "department": department, "country": "France"}
    if department in ("2A", "2B") and birth_year < _CORSICA_SPLIT_YEAR:
        return place, "20", insee[2:]
    return place, department, insee[len(department):]


def _street(rng: random.Random) -> str:
    kind = _street_types.draw(rng)
    if rng.random() < 0.25:
        return f"{kind} {rng.choice(COMMON_STREET_NAMES)}"
    # An invented street named after a person rarely exists in the commune, so post sent
    # to a canary's address is unlikely to reach a real household.
    faker = _faker(rng)
    person = f"{faker.first_name()} {faker.last_name()}" if rng.random() < 0.6 else faker.last_name()
    return f"{kind} {person}"


def _address(rng: random.Random, departments: tuple[str, ...]) -> dict:
    insee, name, postal_codes, department, _ = _communes_of(departments).draw(rng)
    number = min(1 + int(rng.expovariate(1 / 22)), 350)
    suffix = rng.choice((" bis", " ter")) if rng.random() < 0.03 else ""
    line2 = None
    if rng.random() < 0.18:
        line2 = rng.choice(ADDRESS_COMPLEMENTS).format(
            n=rng.randint(1, 60), letter=rng.choice("ABCDEF"), trees=rng.choice(TREES), name=_last_names.draw(rng))
    return {"line1": f"{number}{suffix} {_street(rng)}", "line2": line2, "postal_code": rng.choice(postal_codes),
            "commune": name, "insee": insee, "department": department, "region": _DEPARTMENT_REGION[department]}


def _ascii_slug(text: str) -> str:
    text = text.lower().replace("œ", "oe").replace("æ", "ae")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in text if ch.isalnum() or ch == "-").strip("-")


def _email(rng: random.Random, first: str, last: str, birth_year: int, domain: str, taken: set[str] | None) -> str:
    f, l = _ascii_slug(first), _ascii_slug(last)
    local = _email_patterns.draw(rng).format(f=f, l=l, i=f[0], yy=f"{birth_year % 100:02d}", n=rng.randint(1, 99))
    email = f"{local}@{domain}".lower()
    attempt = 0
    while taken is not None and email in taken:
        attempt += 1
        email = f"{local}{rng.randint(2, 99 if attempt < 20 else 999_999)}@{domain}".lower()
    return email


def _rpps(rng: random.Random) -> str:
    """An 11-digit RPPS number: 10, eight digits, and a Luhn check digit."""
    body = "10" + f"{rng.randrange(10 ** 8):08d}"
    total = 0
    for position, digit in enumerate(reversed(body)):
        value = int(digit) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return body + str((10 - total % 10) % 10)


def _physician(rng: random.Random, address: dict, today: datetime.date) -> dict:
    sex = rng.choice("MF")
    commune = address["commune"] if rng.random() < 0.5 else _communes_of((address["department"],)).draw(rng)[1]
    return {"first_name": _first_name(rng, sex, today.year - rng.randint(30, 68)),
            "last_name": _last_name(rng, address["department"]), "rpps": _rpps(rng), "commune": commune}


def _comment(rng: random.Random, sex: str, age: int) -> str | None:
    if rng.random() >= 0.25:
        return None
    fitting = [(text, weight) for text, who, youngest, oldest, weight in CLINICAL_COMMENTS
               if who in (None, sex) and youngest <= age <= oldest]
    text = _Weighted(fitting).draw(rng)
    return text.format(weeks=rng.randint(6, 39)) if "{weeks}" in text else text


def _phone_kind_wanted(rng: random.Random, age: int) -> str:
    landline_share = 0.5 if age >= 75 else 0.3 if age >= 60 else 0.12
    return "landline" if rng.random() < landline_share else "mobile"


def _unique_nir(rng: random.Random, sex: str, birth_date: datetime.date, department: str, commune: str,
                taken: set[str] | None) -> str:
    while True:
        nir = nir_rules.make_nir(sex, birth_date, department, commune, rng.randint(*NIR_ORDER_RANGE))
        if taken is None or nir not in taken:
            return nir


def generate_patient(rng: random.Random, *, region: str | None = None, mail_domain: str = "example.com",
                     today: datetime.date | None = None, phone_allocator: phones.PhoneAllocator | None = None,
                     taken: set[str] | None = None) -> dict:
    """One fake patient living in `region` (JSON-serialisable dict); see the module docstring.

    With `phone_allocator` the phone number is one nobody has; `taken` (normalised
    identifiers already given out) keeps the email and NIR unique too, and receives them.
    """
    departments = region_departments(region)
    today = today or REFERENCE_DATE
    address = _address(rng, departments)
    sex = "F" if rng.random() < 0.55 else "M"
    birth_date = _birth_date(rng, today)
    age = _age(birth_date, today)
    first_name = _first_name(rng, sex, birth_date.year)
    last_name = birth_name = _last_name(rng, address["department"])
    while _fold(last_name) == _fold(first_name):  # a "Louis Louis" would catch a DBA's eye
        last_name = birth_name = _last_name(rng, address["department"])
    married_share = 0.0 if sex == "M" or age < 25 else 0.35 if age < 35 else 0.6
    if rng.random() < married_share:
        while last_name == birth_name or _fold(last_name) == _fold(first_name):
            last_name = _last_name(rng, address["department"])
    else:
        birth_name = None
    birth_place, nir_department, nir_commune = _birthplace(rng, address["department"], birth_date.year)
    nir = _unique_nir(rng, sex, birth_date, nir_department, nir_commune, taken)
    kind = _phone_kind_wanted(rng, age)
    if phone_allocator is not None:
        phone = phone_allocator.allocate(kind, address["department"])
    else:
        phone = phones.fiction_number(rng, kind, address["department"])
    email = _email(rng, first_name, last_name, birth_date.year, mail_domain, taken)
    if taken is not None:
        taken.update((nir, email))
    return {
        "sex": sex,
        "first_name": first_name,
        "last_name": last_name,
        "birth_name": birth_name,
        "birth_date": birth_date.isoformat(),
        "birth_place": birth_place,
        "nir": nir,
        "address": address,
        "phone": phone,
        "phone_kind": phones.phone_kind(phone),
        "email": email,
        "blood_group": _blood_groups.draw(rng),
        "physician": _physician(rng, address, today),
        "insurer": None if rng.random() < 0.12 else _insurers.draw(rng),
        "comment": _comment(rng, sex, age),
    }


def generate_patients(count: int, seed: int | None, *, region: str | None = None, mail_domain: str = "example.com",
                      today: datetime.date | None = None, phone_pool: list[str] | None = None,
                      taken: set[str] | None = None) -> list[dict]:
    """`count` patients from `seed`, with phone numbers, emails and NIRs unique among them and `taken`."""
    rng = random.Random(seed)
    taken = set() if taken is None else taken
    allocator = phones.PhoneAllocator(phone_pool, taken, random.Random(rng.getrandbits(64)))
    return [generate_patient(rng, region=region, mail_domain=mail_domain, today=today,
                             phone_allocator=allocator, taken=taken) for _ in range(count)]
