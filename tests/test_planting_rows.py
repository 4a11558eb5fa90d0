"""When a canary's rows "happened": moments drawn like the host's, never before the patient was born."""
import datetime as dt
import random

from canary.planting.mapping import Entry
from canary.planting.rows import _moment


def test_a_newborn_is_registered_after_birth_at_an_office_hour_not_at_a_fixed_time():
    entry = Entry("patient", "patient", {}, moment={"days_ago": [60, 1800], "hours": [7, 19]})
    now, born = dt.datetime(2020, 10, 31, 18, 0), dt.datetime(2020, 7, 21)
    moments = [_moment(entry, None, random.Random(seed), now, born) for seed in range(20)]
    assert all(born <= m <= now and 7 <= m.hour < 19 for m in moments)
    assert len({m.time() for m in moments}) == 20
