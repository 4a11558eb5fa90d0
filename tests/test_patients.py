"""Generated patients: internally consistent, plausible, reproducible."""
import collections
import datetime
import json
import random
import re

import pytest

from canary.generation.nir import is_valid_nir, parse_nir
from canary.generation.patients import REFERENCE_DATE, REGIONS, generate_patient, generate_patients, region_departments
from canary.generation.phones import FICTION_RANGES, landline_zone, phone_kind
from canary.generation.refdata.communes import COMMUNES
from canary.generation.refdata.countries import BIRTH_COUNTRIES
from canary.generation.refdata.departments import DEPARTMENTS
from canary.generation.refdata.first_names import FIRST_NAMES_BY_DECADE

COMMUNE_BY_INSEE = {row[0]: row for row in COMMUNES}
REGION_OF_DEPARTMENT = {code: region for code, _, region in DEPARTMENTS}
PREGNANCY = re.compile(r"enceinte|grossesse|\d+ SA\b|FIV|allaitement", re.IGNORECASE)


@pytest.fixture(scope="module")
def patients():
    return generate_patients(10_000, 20210223)


def age_of(patient, today=REFERENCE_DATE):
    born = datetime.date.fromisoformat(patient["birth_date"])
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def test_every_nir_is_valid_and_agrees_with_the_patient(patients):
    for p in patients:
        assert is_valid_nir(p["nir"]) and len(p["nir"]) == 15, p
        fields = parse_nir(p["nir"])
        born = datetime.date.fromisoformat(p["birth_date"])
        assert fields["sex"] == p["sex"]
        assert (fields["year"], fields["month"]) == (born.year % 100, born.month)
        place = p["birth_place"]
        if place["department"] == "99":
            assert fields["insee"] == place["insee"]
        elif place["department"] in ("2A", "2B") and born.year < 1976:
            assert fields["insee"] == "20" + place["insee"][2:]  # Corsica was one department, 20
        else:
            assert (fields["department"], fields["insee"]) == (place["department"], place["insee"])
    assert len({p["nir"] for p in patients}) == len(patients)


def test_birthplaces_are_real_communes_or_listed_countries(patients):
    countries = {code: (country, city) for code, country, city, _, _ in BIRTH_COUNTRIES}
    for p in patients:
        place = p["birth_place"]
        if place["department"] == "99":
            assert (place["country"], place["commune"]) == countries[place["insee"]]
        else:
            insee, name, _, department, _ = COMMUNE_BY_INSEE[place["insee"]]
            assert (place["commune"], place["department"], place["country"]) == (name, department, "France")


def test_every_address_matches_the_reference_table(patients):
    for p in patients:
        address = p["address"]
        insee, name, postal_codes, department, _ = COMMUNE_BY_INSEE[address["insee"]]
        assert address["postal_code"] in postal_codes, address
        assert (address["commune"], address["department"]) == (name, department)
        assert address["region"] == REGION_OF_DEPARTMENT[department]
        assert re.fullmatch(r"\d+( bis| ter)? \S.*", address["line1"]), address
        assert address["line2"] is None or address["line2"].strip()


def test_reference_table_is_well_formed():
    insee_codes = [row[0] for row in COMMUNES]
    assert len(insee_codes) == len(set(insee_codes)) >= 300
    departments = {code for code, _, _ in DEPARTMENTS}
    assert {row[3] for row in COMMUNES} == departments  # every department, incl. 2A/2B and 971-976
    for insee, name, postal_codes, department, weight in COMMUNES:
        assert insee.startswith(department) and len(insee) == 5 and weight > 0
        assert postal_codes and all(re.fullmatch(r"\d{5}", code) for code in postal_codes)
        if department in ("2A", "2B"):
            assert all(code.startswith("20") for code in postal_codes)
        else:
            assert all(code.startswith(department[:2]) for code in postal_codes), (insee, name, postal_codes)
    # A few spot checks against the La Poste / INSEE codes we know by heart.
    assert COMMUNE_BY_INSEE["75116"][1:3] == ("Paris", ("75016", "75116"))
    assert COMMUNE_BY_INSEE["13201"][1:3] == ("Marseille", ("13001",))
    assert COMMUNE_BY_INSEE["2A004"][1] == "Ajaccio" and "20000" in COMMUNE_BY_INSEE["2A004"][2]
    assert COMMUNE_BY_INSEE["97411"][1] == "Saint-Denis" and "97400" in COMMUNE_BY_INSEE["97411"][2]


def test_phones_are_unique_fictional_and_in_the_address_zone(patients):
    blocks = tuple("+33" + block.replace(" ", "")[1:] for block in FICTION_RANGES)
    assert len({p["phone"] for p in patients}) == len(patients)
    for p in patients:
        assert p["phone"].startswith(blocks), p["phone"]
        assert p["phone_kind"] == phone_kind(p["phone"])
        if p["phone_kind"] == "landline":
            assert p["phone"][3] == landline_zone(p["address"]["department"])
    kinds = collections.Counter(p["phone_kind"] for p in patients)
    assert kinds["mobile"] > kinds["landline"] > 1000


def test_emails_are_unique_ascii_and_derived_from_the_name(patients):
    assert len({p["email"] for p in patients}) == len(patients)
    for p in patients:
        local, _, domain = p["email"].partition("@")
        assert domain == "example.com"
        assert re.fullmatch(r"[a-z0-9._-]+", local), p["email"]
        last = re.sub(r"[^a-z]", "", p["last_name"].lower().replace("é", "e").replace("è", "e")
                      .replace("ë", "e").replace("ç", "c").replace("ï", "i").replace("ô", "o").replace("â", "a")
                      .replace("û", "u").replace("ê", "e").replace("î", "i"))
        assert last[:3] in local.replace("-", ""), (p["last_name"], p["email"])


def test_no_pregnancy_for_men_children_or_anyone_over_50(patients):
    pregnancies = [p for p in patients if p["comment"] and PREGNANCY.search(p["comment"])]
    assert len(pregnancies) > 50
    for p in pregnancies:
        assert p["sex"] == "F" and 16 <= age_of(p) <= 50, p


def test_comments_are_occasional(patients):
    with_comment = sum(1 for p in patients if p["comment"])
    assert 0.15 * len(patients) < with_comment < 0.35 * len(patients)
    assert not any(p["comment"] == "suivi PSA" and p["sex"] == "F" for p in patients)


def test_first_names_fit_the_birth_cohort(patients):
    names_of = {(decade, sex): names for decade, women, men in FIRST_NAMES_BY_DECADE
                for sex, names in (("F", women), ("M", men))}
    first_decade, last_decade = FIRST_NAMES_BY_DECADE[0][0], FIRST_NAMES_BY_DECADE[-1][0]
    for p in patients:
        year = int(p["birth_date"][:4])
        decade = min(max(year // 10 * 10, first_decade), last_decade)
        assert p["first_name"] in names_of[(decade, p["sex"])], p
    # Spot checks: a Kévin is born 1980-1999, a Jade after 2000, a Germaine before 1940.
    births = collections.defaultdict(list)
    for p in patients:
        births[p["first_name"]].append(int(p["birth_date"][:4]))
    assert births["Kévin"] and all(1980 <= y < 2000 for y in births["Kévin"])
    assert births["Jade"] and all(y >= 2000 for y in births["Jade"])
    assert births["Germaine"] and all(y < 1940 for y in births["Germaine"])


def test_ages_look_like_a_lab(patients):
    ages = [age_of(p) for p in patients]
    assert min(ages) >= 0 and max(ages) <= 103
    assert 0.05 < sum(a < 15 for a in ages) / len(ages) < 0.15
    assert sum(a >= 65 for a in ages) > sum(15 <= a < 35 for a in ages)
    assert all(datetime.date.fromisoformat(p["birth_date"]) < REFERENCE_DATE for p in patients)


def test_no_first_name_doubles_as_a_last_name(patients):
    assert [p for p in patients if p["first_name"].lower() == p["last_name"].lower()] == []


def test_birth_names_for_part_of_married_women(patients):
    for p in patients:
        if p["birth_name"] is not None:
            assert p["sex"] == "F" and age_of(p) >= 25 and p["birth_name"] != p["last_name"]
    women = [p for p in patients if p["sex"] == "F" and age_of(p) >= 25]
    share = sum(p["birth_name"] is not None for p in women) / len(women)
    assert 0.45 < share < 0.65


def test_blood_groups_follow_french_frequencies(patients):
    counts = collections.Counter(p["blood_group"] for p in patients)
    assert set(counts) == {"O+", "A+", "B+", "AB+", "O-", "A-", "B-", "AB-"}
    assert 0.33 < counts["A+"] / len(patients) < 0.41 and 0.32 < counts["O+"] / len(patients) < 0.40
    assert counts["AB-"] < counts["AB+"] < counts["B+"]


def test_birthplace_is_mostly_near_home(patients):
    same_department = sum(p["birth_place"]["department"] == p["address"]["department"] for p in patients)
    abroad = sum(p["birth_place"]["department"] == "99" for p in patients)
    assert same_department > 0.5 * len(patients)
    assert 0.01 * len(patients) < abroad < 0.1 * len(patients)


def test_physicians_and_insurers(patients):
    for p in patients:
        doctor = p["physician"]
        assert doctor["first_name"] and doctor["last_name"] and doctor["commune"]
        assert re.fullmatch(r"10\d{9}", doctor["rpps"])
        digits = [int(d) for d in reversed(doctor["rpps"])]  # Luhn: doubled every second digit from the right
        assert sum(d if i % 2 == 0 else (2 * d - 9 if d > 4 else 2 * d) for i, d in enumerate(digits)) % 10 == 0
    insurers = collections.Counter(p["insurer"] for p in patients)
    assert 0.05 * len(patients) < insurers[None] < 0.2 * len(patients) and len(insurers) > 10


def test_corsica_and_overseas_appear(patients):
    departments = collections.Counter(p["address"]["department"] for p in patients)
    assert all(departments[d] for d in ("2A", "2B", "971", "972", "973", "974", "976"))
    corsicans_before_1976 = [p for p in patients if p["birth_place"]["department"] in ("2A", "2B")
                             and p["birth_date"] < "1976"]
    assert corsicans_before_1976 and all(p["nir"][5:7] == "20" for p in corsicans_before_1976)


def test_json_serialisable_and_keys(patients):
    expected = {"sex", "first_name", "last_name", "birth_name", "birth_date", "birth_place", "nir", "address",
                "phone", "phone_kind", "email", "blood_group", "physician", "insurer", "comment"}
    assert set(patients[0]) >= expected
    assert json.loads(json.dumps(patients[:100])) == patients[:100]


def test_same_seed_same_patients_other_seed_other_patients(patients):
    assert generate_patients(200, 20210223) == patients[:200]
    other = generate_patients(200, 20210224)
    assert other != patients[:200]
    assert len({p["nir"] for p in other} & {p["nir"] for p in patients[:200]}) < 5
    assert generate_patient(random.Random(5)) == generate_patient(random.Random(5))


def test_today_moves_the_ages():
    later = datetime.date(2040, 6, 1)
    patients = generate_patients(300, 1, today=later)
    assert all(p["birth_date"] < "2040-06-01" for p in patients)
    assert sum(p["birth_date"] > "2025" for p in patients) > 30


@pytest.mark.parametrize("region, departments", [
    ("Bretagne", {"22", "29", "35", "56"}),
    ("bretagne", {"22", "29", "35", "56"}),
    ("PAYS DE LA LOIRE", {"44", "49", "53", "72", "85"}),
    ("ile-de-france", {"75", "77", "78", "91", "92", "93", "94", "95"}),
    ("Provence-Alpes-Cote d'Azur", {"04", "05", "06", "13", "83", "84"}),
    ("Corse", {"2A", "2B"}),
    ("La Réunion", {"974"}),
    ("Réunion", {"974"}),
    ("35", {"35"}),
    ("2a", {"2A"}),
    ("976", {"976"}),
    ("Ille-et-Vilaine", {"35"}),
])
def test_region_restricts_addresses(region, departments):
    assert set(region_departments(region)) == departments
    patients = generate_patients(60, 3, region=region)
    assert {p["address"]["department"] for p in patients} <= departments
    for p in patients:
        if p["phone_kind"] == "landline":
            assert p["phone"][3] == landline_zone(p["address"]["department"])


def test_unknown_region_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown region 'Atlantis'.*Bretagne"):
        generate_patient(random.Random(0), region="Atlantis")
    with pytest.raises(ValueError, match="unknown region '99'"):
        generate_patients(1, 0, region="99")


def test_regions_are_the_eighteen():
    assert len(REGIONS) == 18 and "Île-de-France" in REGIONS and "Mayotte" in REGIONS


def test_mail_domain_and_taken_identifiers():
    taken = {"+33639980000"}
    patients = generate_patients(50, 9, mail_domain="labo.example", taken=taken)
    assert all(p["email"].endswith("@labo.example") for p in patients)
    assert "+33639980000" not in {p["phone"] for p in patients}
    assert {p["phone"] for p in patients} | {p["email"] for p in patients} | {p["nir"] for p in patients} <= taken
