"""Window arithmetic: data intervals, params, export_since clamping."""

from datetime import date, datetime, timezone

import pendulum
import pytest

from lexoffice.staging.windows import Window, WindowError, clamp, day_start, requested_window, split

NOW = pendulum.datetime(2025, 3, 10, 12, tz="UTC")


def test_scheduled_run_reads_its_data_interval_half_open():
    start, end = pendulum.datetime(2025, 3, 1, 2, tz="UTC"), pendulum.datetime(2025, 3, 2, 2, tz="UTC")
    w = requested_window(data_interval_start=start, data_interval_end=end, from_date=None, to_date=None, now=NOW)
    assert (w.start, w.end) == (start, end)


def test_params_override_the_interval_and_to_date_is_inclusive_in_berlin():
    w = requested_window(data_interval_start=NOW, data_interval_end=NOW, from_date="2025-01-01",
                         to_date="2025-01-31", now=NOW)
    assert w.start == pendulum.datetime(2024, 12, 31, 23, tz="UTC")  # midnight Berlin (CET)
    assert w.end == pendulum.datetime(2025, 1, 31, 23, tz="UTC")


def test_summer_time_midnight():
    assert day_start(date(2025, 7, 1)) == pendulum.datetime(2025, 6, 30, 22, tz="UTC")


def test_manual_run_without_interval_or_dates_means_since_export_since():
    assert requested_window(data_interval_start=None, data_interval_end=None, from_date=None, to_date=None,
                            now=NOW) is None
    w = clamp(None, date(2025, 3, 1), now=NOW)
    assert w == Window(day_start(date(2025, 3, 1)), NOW, clamped=True)


@pytest.mark.parametrize("from_date,to_date,param", [
    ("2025-13-01", None, "from_date"), ("yesterday", None, "from_date"), (None, "2025-01-01", "from_date"),
    ("2025-02-01", "2025-01-01", "to_date"),
])
def test_bad_params_name_the_param(from_date, to_date, param):
    with pytest.raises(WindowError, match=param):
        requested_window(data_interval_start=None, data_interval_end=None, from_date=from_date, to_date=to_date,
                         now=NOW)


def test_clamp_by_export_since():
    since = date(2025, 3, 1)
    inside = Window(day_start(date(2025, 3, 5)), day_start(date(2025, 3, 6)))
    assert clamp(inside, since, now=NOW) == inside
    straddling = Window(day_start(date(2025, 2, 20)), day_start(date(2025, 3, 6)))
    assert clamp(straddling, since, now=NOW) == Window(day_start(since), straddling.end, clamped=True)
    before = Window(day_start(date(2025, 2, 1)), day_start(date(2025, 3, 1)))
    assert clamp(before, since, now=NOW) is None


def test_naive_datetimes_are_refused():
    with pytest.raises(WindowError, match="naive"):
        requested_window(data_interval_start=datetime(2025, 1, 1), data_interval_end=datetime(2025, 1, 2),
                         from_date=None, to_date=None, now=NOW)


def test_window_str_is_readable():
    w = Window(datetime(2025, 3, 1, 23, tzinfo=timezone.utc), datetime(2025, 3, 2, 23, tzinfo=timezone.utc))
    assert str(w) == "[2025-03-02 00:00 CET, 2025-03-03 00:00 CET)"


@pytest.mark.parametrize("parts", [1, 2, 7, 8])
def test_split_cuts_a_window_into_contiguous_equal_slices(parts):
    window = Window(day_start(date(2025, 3, 1)), day_start(date(2025, 3, 31)), clamped=True)
    slices = split(window, parts)
    assert len(slices) == parts
    assert slices[0].start == window.start and slices[-1].end == window.end
    assert all(a.end == b.start for a, b in zip(slices, slices[1:]))  # every moment in exactly one slice
    lengths = {s.end - s.start for s in slices}
    assert max(lengths) - min(lengths) <= pendulum.duration(microseconds=1)
    assert all(s.clamped for s in slices)


def test_split_of_a_window_shorter_than_the_parts_gives_fewer_slices():
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    window = Window(start, start + pendulum.duration(microseconds=3))
    assert [(s.start, s.end) for s in split(window, 8)] == [
        (start + pendulum.duration(microseconds=i), start + pendulum.duration(microseconds=i + 1)) for i in range(3)]
    with pytest.raises(ValueError, match="parts"):
        split(window, 0)


def test_a_nightly_window_starts_a_look_back_earlier_and_explicit_dates_do_not():
    """Issue 17: rows committed after the night's read are read again by the next nights."""
    from datetime import timedelta

    start, end = pendulum.datetime(2025, 3, 1, 2, tz="UTC"), pendulum.datetime(2025, 3, 2, 2, tz="UTC")
    w = requested_window(data_interval_start=start, data_interval_end=end, from_date=None, to_date=None, now=NOW,
                         lookback=timedelta(days=3))
    assert (w.start, w.end) == (start - timedelta(days=3), end)
    assert "3 days look-back" in str(w)
    explicit = requested_window(data_interval_start=start, data_interval_end=end, from_date="2025-01-01",
                                to_date="2025-01-31", now=NOW, lookback=timedelta(days=3))
    assert explicit.start == pendulum.datetime(2024, 12, 31, 23, tz="UTC")
    assert clamp(w, date(2025, 3, 1), now=NOW).start == day_start(date(2025, 3, 1))  # never before export_since


def test_look_back_from_the_environment(monkeypatch):
    from datetime import timedelta

    from lexoffice.staging.windows import LOOKBACK_ENV, lookback_from_env

    monkeypatch.delenv(LOOKBACK_ENV, raising=False)
    assert lookback_from_env() == timedelta(days=3)
    monkeypatch.setenv(LOOKBACK_ENV, "0.5")
    assert lookback_from_env() == timedelta(hours=12)
    monkeypatch.setenv(LOOKBACK_ENV, "0")
    assert lookback_from_env() == timedelta(0)
    for bad in ("drei", "-1", "400"):
        monkeypatch.setenv(LOOKBACK_ENV, bad)
        with pytest.raises(WindowError, match=LOOKBACK_ENV):
            lookback_from_env()
