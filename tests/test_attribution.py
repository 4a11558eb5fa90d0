"""Dating a copy from its canaries: the window's bounds and what weakens them."""
import pytest

from canary.scan.attribution import attribute_target, format_probability

MONTHS = [f"2026-0{m}-01T00:00:00.000000Z" for m in range(1, 7)]


def plantings(*rows):
    return [{"canary_id": c, "planted_at": planted, "removed_at": removed} for c, planted, removed in rows]


HISTORY = plantings(*((n, MONTHS[n - 1], None) for n in range(1, 6)))


def test_complete_copy_sits_between_the_newest_planting_found_and_the_next():
    result = attribute_target("Lab", "prod", {1, 2, 3}, HISTORY, {}, p=0.05)
    assert (result.taken_after, result.taken_before, result.complete) == (MONTHS[2], MONTHS[3], True)
    assert result.probability == pytest.approx(1 - 0.05 ** 3)
    assert (result.canaries_found, result.canaries_expected, result.missing) == (3, 3, [])


def test_partial_copy_gives_the_chance_of_missing_later_canaries():
    result = attribute_target("Lab", "prod", {1, 4}, HISTORY, {}, p=0.01)
    assert (result.canaries_expected, result.missing, result.complete) == (4, [2, 3], False)
    assert result.taken_before is None   # May's absence proves nothing for a half copy
    assert result.bounds["chance_later_missed_by_sampling"] == pytest.approx(0.5)
    assert "sampling rate 50%" in result.notes[0]


def test_removed_canary_and_first_contact_are_upper_bounds():
    history = plantings((1, MONTHS[0], MONTHS[4]), (2, MONTHS[1], None))
    result = attribute_target("Lab", "prod", {1, 2}, history, {2: "2026-03-15T00:00:00.000000Z"}, p=0.01)
    assert result.taken_before == "2026-03-15T00:00:00.000000Z"
    assert result.bounds["first_removal_of_a_canary_present"] == MONTHS[4]
    assert result.taken_before_source == "first_contact" and result.conflicts == []


def test_canaries_removed_before_the_copy_are_not_expected():
    history = plantings((1, MONTHS[0], MONTHS[1]), (2, MONTHS[2], None), (3, MONTHS[3], None))
    result = attribute_target("Lab", "prod", {2, 3}, history, {}, p=0.01)
    assert (result.canaries_expected, result.complete) == (2, True)


def test_a_canary_never_planted_gives_no_date():
    result = attribute_target("Lab", "prod", {9}, HISTORY, {}, p=0.01)
    assert result.taken_after is None and "no recorded planting" in result.notes[0]


def test_a_contact_older_than_a_canary_in_the_copy_is_a_conflict_not_a_backwards_window():
    """The issue's scenario: plant 3, one looked up over DNS, plant 3 more, copy everything, scan."""
    planted = [f"2026-11-28T14:1{m}:00.000000Z" for m in range(6)]
    history = plantings(*((n, planted[n - 1], None) for n in range(1, 7)))
    contact = "2026-11-28T14:12:30.000000Z"          # canary 2, between the two rounds
    sighted = "2026-11-28T15:00:00.000000Z"
    result = attribute_target("Lab", "prod", {1, 2, 3, 4, 5, 6}, history, {2: contact}, p=0.01, sighted_at=sighted)
    assert (result.taken_after, result.taken_after_source) == (planted[5], "newest_planting_present")
    assert (result.taken_before, result.taken_before_source) == (sighted, "sighting")
    assert result.bounds["first_contact"] == contact
    assert len(result.conflicts) == 1 and result.conflicts[0] in result.notes
    assert "first contact" in result.conflicts[0] and contact in result.conflicts[0]


def test_a_removal_before_the_newest_planting_is_set_aside_too():
    history = plantings((1, MONTHS[0], MONTHS[1]), (2, MONTHS[2], None), (3, MONTHS[4], None))
    result = attribute_target("Lab", "prod", {1, 2}, history, {}, p=0.01)
    assert (result.taken_after, result.taken_before, result.taken_before_source) == (MONTHS[2], MONTHS[4],
                                                                                     "first_later_planting_absent")
    assert "mixes copies" in result.conflicts[0]


@pytest.mark.parametrize("p,k,text", [(0.01, 1, "0.990000"), (0.01, 3, "0.999999"), (0.01, 4, "1 - 1e-08"),
                                      (0.05, 6, "1 - 1.6e-08"), (0.01, 200, "1 - 1e-400"),
                                      (0.3, 1000, "1 - 1.3e-523")])
def test_probabilities_never_print_as_one_minus_zero(p, k, text):
    assert format_probability(1 - p ** k, p, k) == text
