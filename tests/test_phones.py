"""Phone normalisation, fiction ranges, pool files and the allocator."""
import random
import time

import pytest

from canary.generation.phones import FICTION_RANGES, PhoneAllocator, PhonePoolError, PhonesExhausted, fiction_number, format_national, landline_zone, load_phone_pool, normalise_phone, phone_kind


@pytest.mark.parametrize("text", ["06 39 98 12 34", "0639981234", "+33 6 39 98 12 34", "0033 6 39 98 12 34",
                                  "06.39.98.12.34", "06-39-98-12-34", "+33 (0)6 39 98 12 34", "+33639981234"])
def test_normalise_french_mobile(text):
    assert normalise_phone(text) == "+33639981234"


@pytest.mark.parametrize("text, expected", [
    ("01 99 00 12 34", "+33199001234"),
    ("02 62 12 34 56", "+262262123456"),  # Réunion landline: its own country code
    ("0590 12 34 56", "+590590123456"),  # Guadeloupe
    ("+1 202 555 0100", "+12025550100"),
    ("+44 20 7946 0000", "+442079460000"),
])
def test_normalise_other_numbers(text, expected):
    assert normalise_phone(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "hello", "06 39 98 12 3", "06 39 98 12 34 56", "00 00 00 00 00",
                                  None])
def test_normalise_rejects_non_numbers(text):
    assert normalise_phone(text) is None


def test_format_national():
    assert format_national("+33639981234") == "06 39 98 12 34"
    assert format_national("+33199001234") == "01 99 00 12 34"
    assert format_national("+262262123456") == "02 62 12 34 56"
    assert format_national("+12025550100") == "+1 202-555-0100"
    with pytest.raises(ValueError):
        format_national("nope")


def test_the_six_fiction_blocks():
    assert FICTION_RANGES == ("0199 00", "0261 91", "0353 01", "0465 71", "0536 49", "0639 98")


@pytest.mark.parametrize("department, zone", [
    ("75", "1"), ("93", "1"), ("35", "2"), ("45", "2"), ("76", "2"), ("974", "2"), ("976", "2"),
    ("59", "3"), ("67", "3"), ("21", "3"), ("69", "4"), ("13", "4"), ("2A", "4"), ("2b", "4"), ("34", "4"),
    ("33", "5"), ("31", "5"), ("87", "5"), ("971", "5"), ("972", "5"), ("973", "5"),
])
def test_landline_zones(department, zone):
    assert landline_zone(department) == zone


def test_every_department_has_a_zone():
    from canary.generation.refdata.departments import DEPARTMENTS
    assert all(landline_zone(code) for code, _, _ in DEPARTMENTS)
    with pytest.raises(ValueError, match="unknown department"):
        landline_zone("99")


def test_fiction_numbers_follow_kind_and_zone():
    rng = random.Random(1)
    for _ in range(200):
        assert fiction_number(rng, "mobile", "35").startswith("+3363998")
        assert fiction_number(rng, "landline", "35").startswith("+3326191")
        assert fiction_number(rng, "landline", "2A").startswith("+3346571")
        assert fiction_number(rng, "landline", "974").startswith("+3326191")
    assert phone_kind("+33639981234") == "mobile"
    assert phone_kind("+33199001234") == "landline"


def write_pool(tmp_path, text):
    path = tmp_path / "pool.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_phone_pool(tmp_path):
    path = write_pool(tmp_path, "# our numbers\n\n06 39 98 00 01\n+33 1 99 00 00 02  # desk\n  0033465710003\n")
    assert load_phone_pool(path) == ["+33639980001", "+33199000002", "+33465710003"]


def test_pool_error_names_file_and_line_of_a_bad_number(tmp_path):
    path = write_pool(tmp_path, "# ok\n06 39 98 00 01\nnot a number\n")
    with pytest.raises(PhonePoolError, match=r"pool\.txt, line 3: not a phone number"):
        load_phone_pool(path)


def test_pool_error_names_both_lines_of_a_duplicate(tmp_path):
    path = write_pool(tmp_path, "06 39 98 00 01\n\n+33639980001\n")
    with pytest.raises(PhonePoolError, match=r"line 3: .* already on line 1"):
        load_phone_pool(path)


def test_pool_error_for_a_missing_file(tmp_path):
    with pytest.raises(PhonePoolError, match="missing.txt"):
        load_phone_pool(tmp_path / "missing.txt")


def test_pool_errors_are_value_errors():
    assert issubclass(PhonePoolError, ValueError) and issubclass(PhonesExhausted, ValueError)


def test_allocator_uses_the_pool_preferring_kind_and_zone():
    pool = ["+33639980001", "+33199000002", "+33465710003"]
    used: set[str] = set()
    allocator = PhoneAllocator(pool, used, random.Random(3))
    assert allocator.allocate("landline", "13") == "+33465710003"  # zone 4
    assert allocator.allocate("landline", "13") == "+33199000002"  # another zone before a mobile
    assert allocator.allocate("landline", "13") == "+33639980001"  # then any number
    assert used == set(pool)
    with pytest.raises(PhonesExhausted, match="pool is used up"):
        allocator.allocate("mobile", None)


def test_allocator_with_a_pool_never_falls_back_to_fiction():
    allocator = PhoneAllocator(["+33639980001"], {"+33639980001"}, random.Random(0))
    with pytest.raises(PhonesExhausted):
        allocator.allocate("mobile", "75")


def test_allocator_without_pool_uses_fiction_ranges_and_never_repeats():
    used: set[str] = set()
    allocator = PhoneAllocator(None, used, random.Random(5))
    numbers = [allocator.allocate("landline", "69") for _ in range(500)]
    assert len(set(numbers)) == 500 and set(numbers) == used
    assert all(n.startswith("+3346571") for n in numbers)
    assert allocator.allocate("mobile", None).startswith("+3363998")


def test_allocator_is_fast_when_a_range_is_nearly_full():
    used = {f"+3363998{n:04d}" for n in range(10_000) if n != 4321}
    allocator = PhoneAllocator(None, used, random.Random(7))
    started = time.perf_counter()
    assert allocator.allocate("mobile", None) == "+33639984321"
    # The mobile block is full now: a mobile falls back to a landline of the department's zone.
    assert allocator.allocate("mobile", "29").startswith("+3326191")
    assert time.perf_counter() - started < 1


def test_allocator_exhaustion_without_pool():
    used = {f"+3363998{n:04d}" for n in range(10_000)} | {f"+3335301{n:04d}" for n in range(10_000)}
    allocator = PhoneAllocator(None, used, random.Random(0))
    assert allocator.allocate("landline", "75").startswith("+3319900")  # zone 1 is still free
    with pytest.raises(PhonesExhausted, match="fiction ranges are used up"):
        allocator.allocate("landline", "67")  # zone 3 and the mobiles are full


def test_allocator_rejects_unknown_kind_and_department():
    allocator = PhoneAllocator(None, set(), random.Random(0))
    with pytest.raises(ValueError, match="phone kind"):
        allocator.allocate("fax", "75")
    with pytest.raises(ValueError, match="unknown department"):
        allocator.allocate("landline", "00")


def test_allocator_is_deterministic():
    first = PhoneAllocator(None, set(), random.Random(11))
    second = PhoneAllocator(None, set(), random.Random(11))
    assert [first.allocate("mobile", None) for _ in range(20)] == [second.allocate("mobile", None) for _ in range(20)]


def test_a_pool_number_is_taken_in_the_hosts_blocks_as_often_as_its_patients_are_there():
    """A pool spread over several blocks: a canary's number is in one of the host's blocks, in the host's
    proportions (taken evenly, the copy's prefixes would not be the host's), never in a block it lacks."""
    pool = [f"+3319900{n:04d}" for n in range(300)] + [f"+3346571{n:04d}" for n in range(300)] + \
        [f"+3353649{n:04d}" for n in range(300)]
    allocator = PhoneAllocator(pool, set(), random.Random(4))
    drawn = [allocator.allocate("landline", None, blocks=[["+33199", 30], ["+33465", 10], ["+33261", 50]])
             for _ in range(200)]
    paris, south_east = sum(n.startswith("+33199") for n in drawn), sum(n.startswith("+33465") for n in drawn)
    assert paris + south_east == 200                         # the block the pool lacks cannot be matched
    assert 2.2 < paris / south_east < 4.2
