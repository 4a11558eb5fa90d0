"""Host formats: dates, case, phone spacing and key schemes, written and learnt."""
import datetime as dt

import pytest

from canary.planting import value_formats

MOMENT = dt.datetime(2020, 11, 7, 9, 5, 3)


@pytest.mark.parametrize("form, expected", [
    ("DD/MM/YYYY", "07/11/2020"), ("YYYY-MM-DD HH:MM:SS", "2020-11-07 09:05:03"),
    ("YYYY-MM-DD HH:MM", "2020-11-07 09:05"), ("DD.MM.YY", "07.11.20"), ("YYYYMMDD", "20201107"),
    ("ISO", "2020-11-07T09:05:03"),
])
def test_date_formats(form, expected):
    assert value_formats.format_date(MOMENT, form) == expected


def test_learning_date_formats_prefers_what_most_values_fit():
    assert value_formats.learn_date_format(["07/11/2020", "31/01/1950", None]) == "DD/MM/YYYY"
    assert value_formats.learn_date_format(["2020-11-07 09:05", "2019-01-02 10:00"]) == "YYYY-MM-DD HH:MM"
    assert value_formats.learn_date_format(["2020-11-07 09:05:03"]) == "YYYY-MM-DD HH:MM:SS"
    assert value_formats.learn_date_format([dt.date(2020, 1, 1)]) == "native"
    assert value_formats.learn_date_format(["MARTIN", "DUPONT"]) is None


def test_learning_case():
    assert value_formats.learn_case(["MARTIN", "LE GALL", "DA SILVA"]) == "upper"
    assert value_formats.learn_case(["jean@example.com", "a.b@example.org"]) == "lower"
    assert value_formats.learn_case(["Jean", "Marie-Anne"]) == "as-is"
    assert value_formats.apply_case("Ploudalmézeau", "upper") == "PLOUDALMÉZEAU"


@pytest.mark.parametrize("style, expected", [
    ("spaced", "06 39 98 12 34"), ("compact", "0639981234"), ("dotted", "06.39.98.12.34"),
    ("e164", "+33639981234"), ("international", "+33 6 39 98 12 34"),
])
def test_phone_styles_round_trip_through_learning(style, expected):
    assert value_formats.format_phone("+33639981234", style) == expected
    assert value_formats.learn_phone_style([expected, "someone@example.com"]) == style


def test_key_schemes_are_learnt_from_the_hosts_keys():
    ipps = ["2019004512", "2015000001", "2020004999"]
    assert value_formats.learn_key_pattern(ipps) == "{yyyy}{seq:6}"
    assert value_formats.next_sequence("{yyyy}{seq:6}", ipps) == 5000
    assert value_formats.render_key("{yyyy}{seq:6}", 5000, MOMENT) == "2020005000"
    dossiers = ["20-1107-0042", "19-0315-0007", "16-1231-0100"]
    assert value_formats.learn_key_pattern(dossiers) == "{yy}-{mmdd}-{seq:4}"
    assert value_formats.next_sequence("{yy}-{mmdd}-{seq:4}", dossiers) == 101
    assert value_formats.render_key("{yy}-{mmdd}-{seq:4}", 101, MOMENT) == "20-1107-0101"
    assert value_formats.learn_key_pattern(["LAB-A-12", "LAB-B-13"]) is None


def test_unpadded_counters_and_counters_that_outgrow_their_width():
    # '1' ... '11999': no single width holds 80 % of them, and none is zero-padded.
    assert value_formats.learn_key_pattern([str(n) for n in range(1, 12000)]) == "{seq}"
    assert value_formats.learn_key_pattern([f"P{n}" for n in range(1, 3000)]) == "P{seq}"
    assert value_formats.next_sequence("P{seq}", ["P98", "P99", "P100"]) == 101
    # Zero-padded keys of mixed widths are not an unpadded counter.
    assert value_formats.learn_key_pattern(["P007", "P12", "P3"]) is None
    # A padded counter past its width: the next key is after '10000', not '10000' again.
    keys = [f"{n:04d}" for n in range(9990, 10005)]
    assert value_formats.next_sequence("{seq:4}", keys) == 10005
    assert value_formats.next_sequence("{yyyy}{seq:6}", ["2019999999", "20201000000"]) == 1000001


def test_nir_spacing_is_learnt():
    assert value_formats.format_nir("185057800608436", "spaced") == "1 85 05 78 006 084 36"
    assert value_formats.learn_nir_style(["1 85 05 78 006 084 36", "2 90 12 35 238 001 12", None]) == "spaced"
    assert value_formats.learn_nir_style(["185057800608436"]) == "compact"


def test_accents_are_stripped_only_where_the_host_never_writes_them():
    assert value_formats.strip_accents("GUÉRIN Œuvre Noël") == "GUERIN OEuvre Noel"
    assert value_formats.learn_ascii_only(["LORIENT"] * 150)
    assert not value_formats.learn_ascii_only(["LORIENT"] * 150 + ["LE VAL-SAINT-PÈRE"])
    assert not value_formats.learn_ascii_only(["LORIENT"] * 20)      # too few to tell
    assert not value_formats.learn_ascii_only(["0639989257"] * 150)  # no words at all
