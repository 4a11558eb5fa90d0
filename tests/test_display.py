"""Display text for attacker-controlled values: invisible characters spelled out, long values cut."""
from canary.display import contact_summary, detail_items, visible


def test_visible_spells_out_controls_and_direction_overrides():
    assert visible("evil\u202egnp.exe") == "evil\\u202egnp.exe"
    assert visible("a\x00b\x1b[31mc") == "a\\u0000b\\u001b[31mc"
    assert visible("zero\u200bwidth") == "zero\\u200bwidth"
    assert visible("line\nnext\ttab") == "line\nnext\ttab"
    assert visible("Résultat d'analyse") == "Résultat d'analyse"


def test_visible_cuts_long_values_and_says_so():
    assert visible("x" * 30, 10) == "x" * 10 + "… (20 more characters)"
    assert visible({"b": 1, "a": [2]}) == '{"a": [2], "b": 1}'


def test_details_flatten_and_summary_prefers_what_was_asked():
    assert detail_items({"a": {"b": 1, "c": {}}, "d": "x"}) == [("a.b", 1), ("a.c", {}), ("d", "x")]
    assert contact_summary({"details": {"qname": "X.canary.test"}, "identifier": "x.canary.test"}) == "X.canary.test"
    assert contact_summary({"details": {}, "identifier": "x@y.canary.test"}) == "x@y.canary.test"


def test_an_email_is_summed_up_by_its_subject_as_the_smtp_listener_stores_it():
    email = {"channel": "smtp", "identifier": "x@y.canary.test",
             "details": {"stage": "data", "headers": {"subject": "Vos résultats\u202e", "from": "a@example.net"}}}
    assert contact_summary(email) == "Vos résultats\\u202e"
    probe = {"channel": "smtp", "identifier": "x@y.canary.test",
             "details": {"stage": "rcpt", "mail_from": "probe@example.net", "helo": "mx.example.net\u202e"}}
    assert contact_summary(probe) == "rcpt from <probe@example.net> helo mx.example.net\\u202e"
    # An HTTP client choosing its own 'subject' header does not hide the path it asked for.
    request = {"channel": "http", "details": {"path": "/login", "headers": {"subject": "look here"}}}
    assert contact_summary(request) == "/login"
