"""DNS labels, name rules and normal forms."""
import pytest

from canary.generation import identifiers as ids


def test_labels_are_unguessable_lowercase_alphanumerics():
    labels = {ids.new_label() for _ in range(5000)}
    assert len(labels) == 5000
    for label in labels:
        assert len(label) == ids.LABEL_LENGTH and label[0].isalpha()
        assert set(label) <= set(ids.LABEL_ALPHABET)
    # ~5.17 bits per base-36 character: at least 40 random bits.
    assert (ids.LABEL_LENGTH - 1) * 5.169 + 4.7 >= 40


@pytest.mark.parametrize("name", ["a" * 64 + ".test", ("a" * 60 + ".") * 5 + "test", "bad_label.test",
                                  "-lead.test", "trail-.test", "", "a..test"])
def test_bad_dns_names_are_refused(name):
    with pytest.raises(ids.IdentifierError):
        ids.check_dns_name(name)


def test_dns_names_are_lowercased_without_trailing_dot():
    assert ids.check_dns_name("AbC.Canary.TEST.") == "abc.canary.test"


def test_zone_needs_two_labels():
    with pytest.raises(ids.IdentifierError, match="zone"):
        ids.check_zone("localhost")


@pytest.mark.parametrize("name, expected", [
    ("canary.test", []),
    ("AbC.canary.test.", ["abc"]),
    ("x.Y.canary.test", ["x", "y"]),
    ("evilcanary.test", None),
    ("canary.test.evil", None),
    ("test", None),
])
def test_labels_below_compares_labels_not_strings(name, expected):
    assert ids.labels_below(name, "canary.test") == expected


def test_normal_forms():
    assert ids.normalise("email", " <Jean.Dupont@ABC.Canary.Test> ") == "jean.dupont@abc.canary.test"
    assert ids.normalise("url", "HTTP://ABC.canary.test/") == "http://abc.canary.test/"
    with pytest.raises(ids.IdentifierError):
        ids.normalise("email", "no-at-sign")
    with pytest.raises(ids.IdentifierError, match="unknown identifier kind"):
        ids.normalise("fax", "123")
