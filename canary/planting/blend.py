"""Canaries drawn from a host's model (planting/model.py): a draw from the host, not from us.

`patient_like_host` draws the fields jointly (names by sex and birth decade, an address
from the host's own commune/postcode/street combinations, its spellings, presence of
phone, email and NIR at its rates), keeping what makes a patient hold together (NIR key,
sex, birth date and place; commune and postcode) and at least one contactable identifier.
Where the host's value is too rare to take (shared by fewer than k patients), a value of
our own is drawn as often, so canaries sit in the host's long tail as its patients do.
"""
from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random

from ..generation import nir as nir_rules
from ..generation import patients as generic
from ..generation.refdata.communes import COMMUNES
from ..generation.refdata.countries import BIRTH_COUNTRIES
from .model import ORDER_BIN, PRESENCE_BAND, YEAR_BIN, fold, split_street
from .tail import LongTail

_NIR_ATTEMPTS = 50
_EMAIL_ATTEMPTS = 40
_PREGNANCY_WORDS = ("enceinte", "grossesse", "sa ", "bhcg")
MAIL_MODES = ("per-canary", "shared", "pool")

_COMMUNE_BY_PLACE: dict[tuple[str, str], tuple] = {}
_COMMUNE_BY_NAME: dict[str, tuple] = {}
_COMMUNE_BY_INSEE: dict[str, tuple] = {}
for _row in COMMUNES:
    _COMMUNE_BY_INSEE[_row[0]] = _row
    _COMMUNE_BY_NAME.setdefault(fold(_row[1]), _row)
    for _code in _row[2]:
        _COMMUNE_BY_PLACE[(fold(_row[1]), _code)] = _row
_COUNTRY_BY_INSEE = {row[0]: row for row in BIRTH_COUNTRIES}


def _weighted(pairs, rng: random.Random):
    """One item of [[item, weight], ...], drawn with one rng.random() call."""
    if not pairs:
        return None
    cumulative = list(itertools.accumulate(weight for _, weight in pairs))
    return pairs[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])][0]


def _from_host(learnt: dict | None, rng: random.Random, whole_tail: bool = False):
    """A value the host's patients share (None when the draw falls in the tail or nothing was learnt).

    `whole_tail`: the tail is every patient whose value fewer than k share (the caller gives those a value a
    group of canaries shares, tail.py); otherwise only those whose value nobody else has (the caller gives them
    a value of their own, and the others a shared one)."""
    if not learnt or not learnt.get("values") or rng.random() < (learnt.get("tail", 0.0) if whole_tail
                                                               else _lone_share(learnt)):
        return None
    return _weighted(learnt["values"], rng)


def _in_tail(long_tail: LongTail, field: str, learnt: dict | None, rng: random.Random, invent, context: str = ""):
    """A canary's value in the host's tail (tail.py); a value the host's patients share where a value of ours
    would stand out (one more alone with its value than the host has)."""
    value = long_tail.value(field, learnt, rng, invent, context)
    if value is None:
        value = _weighted((learnt or {}).get("values"), rng)
    return value if value is not None else invent()


def _lone_share(learnt: dict) -> float:
    sharing = learnt.get("sharing")
    if sharing is None:
        return learnt.get("tail", 0.0)
    rare = sum(patients for _, patients in sharing)
    lone = sum(patients for size, patients in sharing if size == 1)
    return learnt.get("tail", 0.0) * lone / rare if rare else 0.0


def _present(rate: float | None, rng: random.Random) -> bool:
    return True if rate is None else rng.random() < rate


CONTACT_FIELDS = ("phone", "email")


def presence_like_host(model: dict, rng: random.Random, birth: dt.date, *, all_contacts: bool = False) -> dict:
    """{field: present} drawn as one of the host's presence patterns for that band of birth years, among
    the patterns with a contact (phone or email): fields absent together as the host's are, and every
    canary reachable. Empty when no pattern was learnt (then each field is drawn at its own rate)."""
    learnt = model.get("presence") or {}
    fields = learnt.get("fields") or []
    width = learnt.get("band_years") or PRESENCE_BAND
    contacts = [i for i, name in enumerate(fields) if name in CONTACT_FIELDS]

    def reachable(patterns):
        return [[p, n] for p, n in patterns or [] if not contacts or any(p[i] == "1" for i in contacts)]
    patterns = reachable(learnt.get("by_birth", {}).get(str(birth.year // width * width))) or \
        reachable(learnt.get("patterns"))
    if not patterns:
        return {}
    pattern = _weighted(patterns, rng)
    drawn = {name: pattern[i] == "1" for i, name in enumerate(fields)}
    if all_contacts:
        drawn.update({fields[i]: True for i in contacts})
    return drawn


def _has(present: dict, name: str, rate: float | None, rng: random.Random) -> bool:
    """Whether the canary has this field: from the drawn pattern, else at the field's own rate."""
    return present[name] if name in present else _present(rate, rng)


# -- person ------------------------------------------------------------------------------------
def _birth_date(model: dict, rng: random.Random, today: dt.date) -> dt.date | None:
    bins = model.get("person", {}).get("birth_years")
    for _ in range(20):
        start = _weighted(bins, rng) if bins else None
        if start is None:
            return None
        year = start + rng.randrange(YEAR_BIN)
        day = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(366 if year % 4 == 0 else 365))
        if day < today:
            return day
    return None


def _first_name(model: dict, rng: random.Random, sex: str, birth: dt.date, long_tail: LongTail) -> str:
    groups = model.get("person", {}).get("first_names", {})
    decade = birth.year // 10 * 10
    learnt = groups.get(f"{sex}|{decade}")
    if not (learnt or {}).get("values"):
        # No name k patients of that decade share (few were born then): the nearest decade's, rather than
        # a name of ours that nobody else in the copy has.
        for delta in (10, -10, 20, -20, 30, -30):
            near = groups.get(f"{sex}|{decade + delta}")
            if (near or {}).get("values"):
                return _weighted(near["values"], rng)
    name = _from_host(learnt, rng, whole_tail=True)
    if name is not None:
        return name
    known = _known(learnt)
    return _in_tail(long_tail, "first_name", learnt, rng, lambda: _own_value(
        lambda: generic._first_name(rng, sex, birth.year), known), context=sex)


def _own_value(draw, known: set[str], attempts: int = 30):
    """A value of our own for the tail: one the host does not have among its shared values."""
    value = draw()
    for _ in range(attempts):
        if fold(value) not in known:
            return value
        value = draw()
    return value


def _known(learnt: dict | None) -> set[str]:
    return {fold(v) for v, _ in (learnt or {}).get("values", [])}


def _last_name(model: dict, rng: random.Random, department: str, long_tail: LongTail, field: str = "last_name") -> str:
    """A surname (`field`: the usage or the birth name, whose tails are counted apart as a thief would)."""
    learnt = model.get("values", {}).get("last_name")
    name = _from_host(learnt, rng, whole_tail=True)
    if name is not None:
        return name
    return _in_tail(long_tail, field, learnt, rng, lambda: _own_value(lambda: generic._last_name(rng, department),
                                                                  _known(learnt)))


# -- address -----------------------------------------------------------------------------------
def _place(commune: str | None, postcode: str | None) -> dict:
    """Department, INSEE code and region of a host commune/postcode pair, from the reference list."""
    row = _COMMUNE_BY_PLACE.get((fold(commune or ""), str(postcode or "")))
    if row is None and commune:
        row = _COMMUNE_BY_NAME.get(fold(commune))
    text = str(postcode or "")
    department = row[3] if row else (text[:3] if text.startswith("97") else text[:2])
    if department not in generic._DEPARTMENT_REGION:
        department = None         # a postcode we cannot place: the generic address's department stands
    return {"insee": row[0] if row else None, "department": department,
            "region": generic._DEPARTMENT_REGION.get(department)}


def _with_new_numbers(text: str, rng: random.Random) -> str:
    """A host value's shape with other numbers in it ('Bât. B, apt 12' -> 'Bât. B, apt 7')."""
    out, number = [], ""
    for ch in text + "\0":
        if ch.isdigit():
            number += ch
            continue
        if number:
            out.append(str(rng.randint(1, max(2, int(number) * 2))))
            number = ""
        out.append(ch)
    return "".join(out[:-1])


def _address(model: dict, rng: random.Random, base: dict, long_tail: LongTail, present: dict | None = None) -> dict:
    learnt = model.get("address", {})
    place = _from_host(learnt.get("places"), rng)
    located = _place(*place) if place is not None else None
    if located is None or located["department"] is None:
        # No host place (the draw fell in the host's tail of communes nobody else lives in): one of ours.
        # A host place the reference list has no INSEE code for is kept: a commune of ours instead would
        # be one no other patient of the copy lives in.
        address = dict(base)
    else:
        commune, postcode = place
        address = {"commune": commune, "postal_code": postcode, **located}
        if address["region"] is None:
            address["region"] = base.get("region")
    streets = learnt.get("streets", {}).get(str(address["commune"])) or learnt.get("all_streets")
    street = _from_host(streets, rng, whole_tail=True)
    if street is None:
        known = _known(learnt.get("all_streets"))
        street = _in_tail(long_tail, "street", streets, rng, lambda: _own_value(
            lambda: split_street(generic._street(rng))[2], known), context=fold(address["commune"] or ""))
    if learnt.get("numbers") and rng.random() < learnt.get("number_share", 1.0):
        number = _weighted(learnt["numbers"], rng)
        suffix = _weighted(learnt.get("number_suffixes") or [["", 1]], rng) or ""
        line1 = f"{number}{suffix} {street}"
    else:
        line1 = street if learnt.get("numbers") else base["line1"]
    address["line1"] = line1
    line2 = model.get("values", {}).get("address.line2")
    if line2 is None:
        address["line2"] = base.get("line2")
    elif _has(present or {}, "address.line2", line2.get("presence"), rng):
        value = _from_host(line2, rng)
        if value is None:
            shaped = _weighted(line2.get("values"), rng)
            value = _with_new_numbers(shaped, rng) if shaped else base.get("line2")
        address["line2"] = value
    else:
        address["line2"] = None
    return {key: address.get(key) for key in ("line1", "line2", "postal_code", "commune", "insee", "department",
                                              "region")}


# -- NIR ---------------------------------------------------------------------------------------
def _birthplace_of(insee: str, birth_year: int) -> tuple[dict, str, str] | None:
    """The birthplace dict and the NIR's department and commune fields of a host birthplace code."""
    if insee.startswith("99"):
        country = _COUNTRY_BY_INSEE.get(insee)
        name, city = (country[1], country[2]) if country else (None, None)
        return {"commune": city, "insee": insee, "department": "99", "country": name}, "99", insee[2:]
    department = insee[:3] if insee.startswith("97") else insee[:2]
    row = _COMMUNE_BY_INSEE.get(insee)
    place = {"commune": row[1] if row else None, "insee": insee, "department": department, "country": "France"}
    if department == "20" and birth_year >= generic._CORSICA_SPLIT_YEAR:
        return None
    if department in ("2A", "2B") and birth_year < generic._CORSICA_SPLIT_YEAR:
        return place, "20", insee[2:]
    return place, department, insee[len(department):]


def _nir(model: dict, rng: random.Random, patient: dict, base: dict, is_free) -> tuple[dict, str] | None:
    learnt = model.get("nir", {})
    birth = dt.date.fromisoformat(patient["birth_date"])
    home = patient["address"].get("department") or ""
    places = learnt.get("birthplaces") or {}
    same = learnt.get("same_department_share")
    if same is not None and places.get("values"):
        # Born where they live as often as the host's patients are.
        at_home = rng.random() < same
        places = {**places, "values": [pair for pair in places["values"]
                                       if (str(pair[0])[:2] == str(home)[:2]) == at_home] or places["values"]}
    for _ in range(_NIR_ATTEMPTS):
        insee = _from_host(places, rng)
        chosen = _birthplace_of(insee, birth.year) if insee else None
        if chosen is None:
            chosen = generic._birthplace(rng, patient["address"].get("department") or base["address"]["department"],
                                         birth.year)
        place, department, commune = chosen
        start = _weighted(learnt.get("orders"), rng) if learnt.get("orders") else None
        order = (start + rng.randrange(ORDER_BIN)) if start is not None else rng.randint(1, 999)
        order = min(999, max(1, order))
        try:
            nir = nir_rules.make_nir(patient["sex"], birth, department, commune, order)
        except ValueError:
            continue
        if is_free(nir):
            return place, nir
    return None


# -- contacts ----------------------------------------------------------------------------------
def _landline_share(model: dict, age: int, birth: dt.date | None = None) -> float | None:
    by_birth = model.get("phone", {}).get("landline_share_by_birth") or {}
    band = str(birth.year // PRESENCE_BAND * PRESENCE_BAND) if birth is not None else None
    if band in by_birth:
        return by_birth[band]
    shares = model.get("phone", {}).get("landline_share_by_age")
    if not shares:
        return None
    band = str(min(90, max(0, age) // 15 * 15))
    return shares.get(band, sum(shares.values()) / len(shares))


def _phone(model: dict, rng: random.Random, patient: dict, age: int, allocator) -> str:
    share = _landline_share(model, age, dt.date.fromisoformat(patient["birth_date"]))
    kind = generic._phone_kind_wanted(rng, age) if share is None else (
        "landline" if rng.random() < share else "mobile")
    zone = None
    if kind == "landline":
        zones = [[p[1], n] for p, n in model.get("phone", {}).get("prefixes", []) if p[1] in "12345"]
        zone = _weighted(zones, rng) if zones else None
    department = patient["address"].get("department")
    blocks = model.get("phone", {}).get("blocks", {}).get("values")
    return allocator.allocate(kind, department if department in generic.phones.ZONE_OF_DEPARTMENT else None, zone=zone,
                              blocks=blocks)


def local_part(model: dict | None, patient: dict, rng: random.Random) -> str:
    """An email local part in the host's patterns (first.last, initial+last, digits at its rate)."""
    from .model import EMAIL_PATTERNS, _slug
    learnt = (model or {}).get("email", {})
    if learnt.get("pattern_digits"):
        # Pattern and digits as the host's patients have them together.
        pattern, digits = _weighted([[(p, d), n] for p, d, n in learnt["pattern_digits"]], rng)
    else:
        pattern = _weighted([p for p in learnt.get("patterns", []) if p[0] != "other"] or [["{f}.{l}", 1]], rng)
        if learnt.get("patterns") and rng.random() < dict(map(tuple, learnt["patterns"])).get("other", 0) / max(
                1, sum(n for _, n in learnt["patterns"])):
            pattern = "other"
        digits = _weighted(learnt.get("digits") or [[0, 1]], rng)
    f, l = _slug(patient["first_name"]) or "x", _slug(patient["last_name"]) or "x"
    if pattern == "other" or pattern not in EMAIL_PATTERNS:
        local = f[: rng.randint(2, 4)] + l[: rng.randint(3, 6)]
    else:
        local = pattern.format(f=f, l=l, i=f[0])
    if digits == 2 and patient.get("birth_date") and rng.random() < learnt.get("year_digits", 0.0):
        local += patient["birth_date"][2:4]          # the birth year, as the host's patients write it
    elif digits:
        local += str(rng.randint(10 ** (digits - 1) if digits > 1 else 1, 10 ** digits - 1))
    return local


def pool_domain(model: dict | None, domains: list[str], rng: random.Random) -> str:
    """A domain of the pool, as often as the host's patients use it: a pool domain the host's patients share
    (a provider the operator holds mailboxes at) by their count, the others (the operator's own small
    domains) sharing the host's long tail (patients at domains fewer than k share). A pool the host has
    none of: evenly, each then shared by the canaries alone (size it to the host's tail, docs/realism.md)."""
    learnt = (model or {}).get("email", {})
    known = {str(domain).lower(): count for domain, count in learnt.get("domains", {}).get("values", [])}
    k = (model or {}).get("k", 5)
    tail = sum(size * count for size, count in learnt.get("domain_sharing", []) if size < k)
    own = [domain for domain in domains if domain.lower() not in known]
    weights = [[domain, known[domain.lower()] if domain.lower() in known else tail / len(own)] for domain in domains]
    if not any(weight for _, weight in weights):
        return rng.choice(domains)
    return _weighted([pair for pair in weights if pair[1]], rng)


def choose_email(model: dict | None, patient: dict, rng: random.Random, settings, taken) -> str:
    """The canary's email address: the one place a mail design (domain pool, mailboxes) plugs in.

    "pool": a domain of the operator's pool (deployment.mail_domains), each shared by several
    canaries, with a local part in the host's patterns; "per-canary" and "shared": an address
    whose domain Issuer.register_canary then puts under the canary's label or the shared domain.
    `taken(address)` says whether an address is already given out.
    """
    mode = settings["deployment"]["mail_mode"] if settings is not None else "per-canary"
    domains = settings.mail_domains if settings is not None else ["example.com"]
    email = None
    for attempt in range(_EMAIL_ATTEMPTS):
        local = local_part(model, patient, rng)
        if attempt > _EMAIL_ATTEMPTS // 2:
            local += str(rng.randint(1, 9999))
        domain = pool_domain(model, domains, rng) if mode == "pool" else domains[0]
        email = f"{local}@{domain}".lower()
        if not taken(email):
            return email
    return email


# -- the whole patient ---------------------------------------------------------------------------
def _comment(model: dict, rng: random.Random, sex: str, age: int, long_tail: LongTail,
             present: dict | None = None):
    learnt = model.get("values", {}).get("comment")
    if learnt is None:
        return generic._comment(rng, sex, age)
    if not _has(present or {}, "comment", learnt.get("presence"), rng):
        return None
    for _ in range(10):
        own = learnt.get("by_sex", {}).get(sex) or learnt
        comment = _from_host(own, rng, whole_tail=True)
        if comment is None:
            comment = _in_tail(long_tail, "comment", own, rng, lambda: _drawn(lambda: generic._comment(rng, sex, age)),
                                      context=sex)
        pregnancy = any(word in f"{fold(comment)} " for word in _PREGNANCY_WORDS)
        if not pregnancy or (sex == "F" and 16 <= age <= 45):
            return comment
    return None


def _drawn(draw, attempts: int = 50):
    """A value from a generator that often gives none (generic comments: most patients have none)."""
    value = None
    for _ in range(attempts):
        value = draw()
        if value:
            break
    return value


def _value(model: dict, name: str, rng: random.Random, fallback, present: dict | None = None,
           long_tail: LongTail | None = None, invent=None):
    """A host value of field `name` at its presence; in its tail, `fallback`, or one a group of canaries shares
    (`invent`: a generic value of that field)."""
    learnt = model.get("values", {}).get(name)
    if learnt is None:
        return fallback
    if not _has(present or {}, name, learnt.get("presence"), rng):
        return None
    value = _from_host(learnt, rng, whole_tail=long_tail is not None)
    if value is None and long_tail is not None:
        return _in_tail(long_tail, name, learnt, rng, lambda: _own_value(invent, _known(learnt)))
    return fallback if value is None else value


def patient_like_host(model: dict, rng: random.Random, *, today: dt.date, region: str | None = None,
                      settings=None, phone_allocator=None, is_free_nir=lambda nir: True,
                      email_taken=lambda email: False, long_tail: LongTail | None = None) -> dict:
    """One canary patient drawn from `model` (see the module docstring); same rng, same patient.
    `long_tail`: what the target holds of the host's tail values and ours (tail.py); without it, a canary in
    the tail has a value of its own."""
    long_tail = long_tail or LongTail()
    base = generic.generate_patient(rng, region=region, today=today)
    person = model.get("person", {})
    sexes = [pair for pair in person.get("sex", []) if pair[0] in ("M", "F")]
    sex = _weighted(sexes, rng) if sexes else base["sex"]
    birth = _birth_date(model, rng, today) or dt.date.fromisoformat(base["birth_date"])
    age = generic._age(birth, today)
    patient = {**base, "sex": sex, "birth_date": birth.isoformat()}
    all_contacts = settings is not None and settings["planting"].get("contacts") == "all"
    present = presence_like_host(model, rng, birth, all_contacts=all_contacts)
    patient["address"] = _address(model, rng, base["address"], long_tail, present)
    department = patient["address"].get("department") or base["address"]["department"]
    patient["first_name"] = _first_name(model, rng, sex, birth, long_tail)
    # Whether the patient uses another name than their birth name first: the two tails are counted apart.
    other_name = bool(person.get("birth_name_share")) and _present(person["birth_name_share"].get(sex, 0.0), rng)
    last = _last_name(model, rng, department, long_tail, "birth_name" if other_name else "last_name")
    while fold(last) == fold(patient["first_name"]):
        last = _last_name(model, rng, department, long_tail, "birth_name" if other_name else "last_name")
    patient["last_name"], patient["birth_name"] = last, None
    if other_name:
        married = _last_name(model, rng, department, long_tail)
        if fold(married) != fold(last):
            patient["birth_name"], patient["last_name"] = last, married
    chosen = _nir(model, rng, patient, base, is_free_nir)
    if chosen is None:
        raise ValueError("could not draw a NIR new to the host and the store")
    patient["birth_place"], nir = chosen
    patient["nir"] = nir if _has(present, "nir", model.get("nir", {}).get("presence"), rng) else None
    # At least one way to reach the canary: the drawn pattern has one; without a pattern, drawn at the
    # host's rates, conditioned on "not neither".
    phone_rate = model.get("phone", {}).get("presence")
    email_rate = model.get("email", {}).get("presence")
    has_phone, has_email = _has(present, "phone", phone_rate, rng), _has(present, "email", email_rate, rng)
    if all_contacts:
        has_phone = has_email = True
    while not (has_phone or has_email):
        has_phone, has_email = _present(phone_rate, rng), _present(email_rate, rng)
    patient["phone"] = _phone(model, rng, patient, age, phone_allocator) if has_phone and phone_allocator else None
    if has_phone and phone_allocator is None:
        patient["phone"] = base["phone"]
    patient["phone_kind"] = generic.phones.phone_kind(patient["phone"]) if patient["phone"] else None
    patient["email"] = choose_email(model, patient, rng, settings, email_taken) if has_email else None
    patient["blood_group"] = _value(model, "blood_group", rng, base["blood_group"], present)
    patient["insurer"] = _value(model, "insurer", rng, base["insurer"], present, long_tail,
                                lambda: generic._insurers.draw(rng))
    patient["comment"] = _comment(model, rng, sex, age, long_tail, present)
    return patient
