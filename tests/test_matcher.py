"""The identifier index on its own: writings of each kind, boundaries, corroboration."""
from __future__ import annotations

import pytest

from canary.scan.matcher import IdentifierIndex, phone_forms

CANARY = {"id": 1, "target": "prod", "site": "Lab",
          "patient": {"first_name": "Hélène", "last_name": "Le Goff", "birth_name": "Kerbrat",
                      "birth_date": "1985-03-12"}}
SECOND = {"id": 2, "target": "prod", "site": "Lab",
          "patient": {"first_name": "Jean", "last_name": "Dupont", "birth_date": "1985-03-20"}}


def ident(n, kind, value, canary_id=1, token=None):
    return {"identifier_id": n, "kind": kind, "value": value, "canary_id": None if token else canary_id,
            "token_id": 9 if token else None, "token": token, "target": None if token else "prod",
            "site": None if token else "Lab"}


@pytest.fixture
def index():
    return IdentifierIndex([ident(1, "email", "helene.legoff@abc123.canary.test"),
                            ident(2, "phone", "+33639981234"),
                            ident(3, "nir", "285032A12345678"),
                            ident(4, "hostname", "abc123.canary.test"),
                            ident(5, "url", "http://abc123.canary.test/"),
                            ident(6, "nir", "185033523812345", canary_id=2)], [CANARY, SECOND])


def kinds(index, text: str, free_text: bool = False) -> list[tuple[str, int]]:
    lines = text.split("\n")
    result = index.scan_block("f", range(1, len(lines) + 1), text.encode("utf-8"), free_text)
    return sorted((hit.owner.kind, hit.line) for hit in result.hits)


def test_phone_forms_cover_the_french_writings():
    assert set(phone_forms("+33639981234")) == {b"0639981234", b"33639981234", b"0033639981234",
                                                  b"330639981234", b"639981234"}


@pytest.mark.parametrize("written", ["06 39 98 12 34", "0639981234", "+33 6 39 98 12 34", "0033 6 39 98 12 34",
                                     "06.39.98.12.34", "06-39-98-12-34", "+33 (0)6 39 98 12 34"])
def test_every_phone_writing_with_the_birth_date(index, written):
    assert kinds(index, f"LE GOFF;HELENE;12/03/1985;{written}") == [("phone", 1)]


def test_numbers_written_side_by_side_in_plain_text(index):
    assert kinds(index, "le goff helene tel 06 39 98 12 34 35000 rennes 12 03 1985", free_text=True) == [("phone", 1)]
    text = "Le Goff Hélène, Dupont Jean 1 85 03 35 238 123 45 06 39 98 12 34 12 03 1985"
    assert kinds(index, text, free_text=True) == [("nir", 1), ("phone", 1)]


def test_a_number_inside_a_longer_number_is_not_a_match(index):
    assert kinds(index, "ref 7063998123499 born 12/03/1985") == []


def test_corsican_nir_with_and_without_key_and_spaces(index):
    text = ("Le Goff;Hélène;2 85 03 2A 123 456 78\nLE GOFF;HELENE;285032a123456\nLe Goff;Hélène;285032B12345678\n"
            "Le Goff;Hélène;285032Z12345678")   # 2B or any letter but 2A: another NIR
    assert kinds(index, text) == [("nir", 1), ("nir", 2)]


def test_upper_case_email_and_url_and_lookalikes(index):
    text = ("HELENE.LEGOFF@ABC123.CANARY.TEST\n"
            "<a href='HTTPS://abc123.canary.test/x'>\n"
            "abc123.canary.test.evil.example xabc123.canary.test other@abc123.canary.testing")
    assert kinds(index, text) == [("email", 1), ("url", 2)]


def test_changed_local_part_still_names_the_canary_by_its_domain(index):
    assert kinds(index, "someone.else@abc123.canary.test") == [("hostname", 1)]


def test_corroboration_needs_birth_date_and_full_name_folded(index):
    result = index.scan_block("f", range(1, 4), "HELENE;KERBRAT;1985-03-12\nHelene;Martin;12.03.1985\nx;19850312"
                              .encode())
    assert [(c.canary_id, c.line) for c in result.corroborations] == [(1, 1)]


def test_a_phone_needs_the_last_name_first_name_and_birth_date(index):
    counted = index.scan_block("f", [1], "Hélène Le Goff 06 39 98 12 34 1985-03-12".encode())
    assert [h.corroborated_by for h in counted.hits] == ["last_name+first_name+birth_date"]
    for stranger in ("Hélène Le Goff 06 39 98 12 34", "Paul Martin 06 39 98 12 34 12/03/1985",
                     "Paul Le Goff 06 39 98 12 34 12/03/1985", "Hélène Martin 06 39 98 12 34 12/03/1985"):
        result = index.scan_block("f", [1], stranger.encode())
        assert result.hits == [] and result.uncorroborated == {("phone", 1): 1}


def test_a_nir_needs_the_last_name_and_first_name(index):
    """A NIR is a real person's number: a stranger born the same month in the same place may hold it."""
    counted = index.scan_block("f", [1], "DUPONT;JEAN;1 85 03 35 238 123 45".encode())
    assert [(h.owner.kind, h.corroborated_by) for h in counted.hits] == [("nir", "last_name+first_name")]
    for stranger in ("MARTIN;PAUL;185033523812345;20/03/1985", "DUPONT;PAUL;185033523812345",
                     "MARTIN;JEAN;1850335238123"):
        result = index.scan_block("f", [1], stranger.encode())
        assert result.hits == [] and result.uncorroborated == {("nir", 2): 1}


def test_a_stranger_with_a_canarys_phone_and_nir_but_another_name_is_not_counted(index):
    result = index.scan_block("f", [1], "Martin;Paul;12/03/1985;285032A12345678;06 39 98 12 34".encode())
    assert result.hits == [] and result.uncorroborated == {("phone", 1): 1, ("nir", 1): 1}


def test_our_hostnames_emails_and_urls_count_alone(index):
    result = index.scan_block("f", [1], "Martin;Paul;paul@abc123.canary.test".encode())
    assert [(h.owner.kind, h.corroborated_by) for h in result.hits] == [("hostname", None)]


def test_matches_say_what_the_file_wrote(index):
    result = index.scan_block("f", [1, 2], b"LE GOFF;HELENE.LEGOFF@ABC123.CANARY.TEST;12/03/1985\nvoir HTTP://ABC123.canary.test/")
    assert [h.found for h in result.hits] == ["HELENE.LEGOFF@ABC123.CANARY.TEST", "HTTP://ABC123.canary.test"]


def test_in_a_long_record_a_phone_needs_its_name_and_birth_date_nearby(index):
    """A file without line breaks is one huge record: everyone's names and dates are somewhere in it."""
    filler = b"Paul;Martin;01/01/1970;0100000000;" * 3000       # ~100 KB of strangers
    far = b"Le Goff;Helene;12/03/1985;" + filler + b"Paul;Martin;06 39 98 12 34"
    result = index.scan_block("f", [1], far)
    assert result.hits == [] and result.uncorroborated == {("phone", 1): 1}
    near = filler + b"Le Goff;Helene;12/03/1985;06 39 98 12 34;" + filler
    counted = ["last_name+first_name+birth_date"]
    assert [h.corroborated_by for h in index.scan_block("f", [1], near).hits] == counted
    stranger_first = b"Paul;Martin;06 39 98 12 34;" + near     # the same number on a stranger's row first
    assert [h.corroborated_by for h in index.scan_block("f", [1], stranger_first).hits] == counted


def test_hits_in_a_record_of_megabytes_are_written_out_quickly():
    """Where each hit sits used to be found by a Python loop over every byte of its record."""
    import time
    numbers = [f"06 39 98 00 {n:02d}" for n in range(40)]
    tokens = IdentifierIndex([ident(n, "phone", "+336399800" + f"{n:02d}", token=f"t{n}") for n in range(40)])
    data = b"".join(b"x" * 100_000 + f";{number};".encode() for number in numbers)   # 4 MB, one record
    started = time.perf_counter()
    result = tokens.scan_block("f", [1], data)
    assert time.perf_counter() - started < 3
    assert sorted(h.found for h in result.hits) == numbers


def test_strangers_rows_compile_no_regex_per_canary(index):
    """Thousands of strangers share a canary's fiction-range number or birth date: ruling them out must
    not compile a names regex per canary, nor a regex per key to show how a value was written."""
    from canary.scan import matcher
    matcher._words.cache_clear()
    matcher._written_pattern.cache_clear()
    strangers = "\n".join(f"MARTIN;PAUL;12/03/1985;06 39 98 12 {n:02d};1 85 03 35 238 123 45" for n in range(30, 40))
    assert kinds(index, strangers) == []
    assert matcher._words.cache_info().currsize == 0
    canary = "LE GOFF;HELENE;12/03/1985;06 39 98 12 34;2 85 03 2A 123 456"
    found = index.scan_block("f", [1], canary.encode())
    assert sorted((hit.owner.kind, hit.found) for hit in found.hits) == [
        ("nir", "2 85 03 2A 123 456"), ("phone", "06 39 98 12 34")]
    assert matcher._written_pattern.cache_info().currsize == 0


@pytest.mark.parametrize("seed", range(5))
def test_a_written_form_is_located_as_the_regex_locates_it(seed):
    """Patients' rows are searched with separators deleted, long records with a regex: same span."""
    import random
    from canary.scan.matcher import _locate, _written_pattern
    rng = random.Random(seed)
    for _ in range(200):
        key = "".join(rng.choice("0123456789") for _ in range(rng.randint(9, 13))) + rng.choice(["", "2a", "97"])
        written = "".join(c.upper() if rng.random() < 0.5 else c for c in key)
        written = "".join(c + rng.choice(["", "", " ", ".", "-", "/", "(", ") "]) for c in written).rstrip(" .-/()")
        noise = lambda: "".join(rng.choice("0123456789 .-/();+abAB") for _ in range(rng.randint(0, 40)))
        line = (noise() + (rng.choice(["+", ""]) + written if rng.random() < 0.9 else "") + noise()).encode()
        expected = _written_pattern(key.encode()).search(line)
        span = _locate(line, key.encode())
        if expected is None:
            assert span is None
        else:
            start = expected.start() - (expected.start() > 0 and line[expected.start() - 1] == ord("+"))
            assert span == (start, expected.end()), line
