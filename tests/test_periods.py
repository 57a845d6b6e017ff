"""Calendar buckets: how many there are is known before they are made, and bounded."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carecli.core.errors import InvalidInput
from carecli.measure.periods import MAX_BUCKETS, UNITS, Period, bucket_count, buckets

BERLIN = ZoneInfo("Europe/Berlin")


@given(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2090, 1, 1), timezones=st.just(timezone.utc)),
    st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=3000)),
    st.sampled_from(UNITS),
)
@settings(max_examples=300, deadline=None)
def test_bucket_count_is_the_number_of_buckets(since, length, unit):
    period = Period(since, since + length)
    assert bucket_count(period, unit, BERLIN) == len(list(buckets(period, unit, BERLIN)))


def test_more_buckets_than_the_bound_is_an_error_naming_the_coarser_unit_that_fits():
    century = Period(datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(2070, 1, 1, tzinfo=timezone.utc))
    with pytest.raises(InvalidInput, match=f"36526 groups, more than {MAX_BUCKETS}") as error:
        buckets(century, "day", BERLIN)
    assert error.value.hint is not None and error.value.hint.startswith("use --by month")  # 5218 weeks: too many
    assert len(list(buckets(century, "month", BERLIN))) == 1201  # 2070-01 begins at 23:00 UTC
