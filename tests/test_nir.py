"""NIR rules against vectors whose keys were worked out by hand."""
import datetime

import pytest

from canary.generation.nir import is_valid_nir, make_nir, nir_key, normalise_nir, parse_nir


def test_key_of_the_textbook_example():
    # 1 85 05 78 006 084: 1850578006084 = 97 * 19078123774 + 6, so the key is 97 - 6 = 91.
    assert nir_key("1850578006084") == 91


def test_corsica_counts_2a_as_19_and_2b_as_18():
    # 2 90 12 2A 004 123 -> 2901219004123 = 97 * 29909474269 + 30 -> key 67.
    assert nir_key("290122A004123") == 67
    # 2 90 12 2B 033 123 -> 2901218033123 = 97 * 29909464259 + 0 -> key 97, never 00.
    assert nir_key("290122B033123") == 97
    assert nir_key("290122a004123") == 67


def test_overseas_department_has_three_digits_and_a_two_digit_commune():
    # 1 75 03 974 11 456 (Saint-Denis de La Réunion, 97411): 1750397411456 mod 97 = 70 -> key 27.
    assert make_nir("M", datetime.date(1975, 3, 9), "974", "11", 456) == "175039741145627"


def test_make_nir_agrees_with_the_textbook_example():
    assert make_nir("M", datetime.date(1985, 5, 1), "78", "006", 84) == "185057800608491"


def test_make_nir_corsica_and_abroad():
    assert make_nir("F", datetime.date(1990, 12, 1), "2A", "004", 123) == "290122A00412367"
    assert make_nir("F", datetime.date(1990, 12, 1), "2b", "033", 123) == "290122B03312397"
    # Born in Corsica before 1976: department 20. 1650120004950 mod 97 = 76 -> key 21.
    assert make_nir("M", datetime.date(1965, 1, 20), "20", "004", 950) == "165012000495021"
    # Born in Algeria (country 99352): 2880399352901 mod 97 = 68 -> key 29.
    assert make_nir("F", datetime.date(1988, 3, 2), "99", "352", 901) == "288039935290129"


@pytest.mark.parametrize("args, message", [
    (("X", datetime.date(1985, 5, 1), "78", "006", 84), "sex"),
    (("M", datetime.date(1985, 5, 1), "78", "06", 84), "3-digit commune"),
    (("M", datetime.date(1985, 5, 1), "974", "011", 84), "2-digit commune"),
    (("M", datetime.date(1985, 5, 1), "7", "006", 84), "department"),
    (("M", datetime.date(1985, 5, 1), "78", "006", 0), "order"),
    (("M", datetime.date(1985, 5, 1), "78", "006", 1000), "order"),
])
def test_make_nir_refuses_bad_fields(args, message):
    with pytest.raises(ValueError, match=message):
        make_nir(*args)


@pytest.mark.parametrize("text, expected", [
    ("185057800608491", "185057800608491"),
    ("1 85 05 78 006 084 91", "185057800608491"),
    ("1.85.05.78.006.084.91", "185057800608491"),
    ("1-85-05-78-006-084-91", "185057800608491"),
    (" 1 85 05 78 006 084 ", "185057800608491"),  # 13 characters: the key is added
    ("2 90 12 2a 004 123 67", "290122A00412367"),
    ("2901219004123", "290121900412367"),  # department 19 (Corrèze): same digits as 2A, same key
])
def test_normalise_nir(text, expected):
    assert normalise_nir(text) == expected


@pytest.mark.parametrize("text", ["", "hello", "18505780060849", "0850578006084", "5850578006084",
                                  "1850578006084911", "1 85 05 2C 006 084", None, 185057800608491])
def test_normalise_nir_rejects_what_is_not_a_nir(text):
    assert normalise_nir(text) is None


def test_is_valid_nir():
    assert is_valid_nir("185057800608491")
    assert is_valid_nir("1 85 05 78 006 084 91")
    assert is_valid_nir("290122B03312397")
    assert not is_valid_nir("185057800608492")  # wrong key
    assert not is_valid_nir("1850578006084")  # no key
    assert not is_valid_nir("181357800608491")  # month 13
    assert not is_valid_nir("")
    assert not is_valid_nir(None)


def test_is_valid_nir_accepts_the_unknown_month_codes():
    for month in ("20", "35", "62"):
        head = f"185{month}78006084"
        assert is_valid_nir(f"{head}{nir_key(head):02d}")


def test_parse_nir():
    assert parse_nir("185057800608491") == {
        "sex": "M", "year": 85, "month": 5, "department": "78", "commune": "006", "insee": "78006",
        "order": 84, "key": 91}
    overseas = parse_nir("175039741145627")
    assert (overseas["department"], overseas["commune"], overseas["insee"]) == ("974", "11", "97411")
    corsica = parse_nir("290122A00412367")
    assert (corsica["sex"], corsica["department"], corsica["insee"]) == ("F", "2A", "2A004")
    with pytest.raises(ValueError):
        parse_nir("not a nir")
