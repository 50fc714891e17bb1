"""Every time format the warden writes or reads is one named function in warden.timefmt, with a fixed output."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from warden import timefmt

BERLIN = ZoneInfo("Europe/Berlin")
NOON_BERLIN = datetime(2026, 11, 24, 12, 0, tzinfo=BERLIN)  # 11:00 UTC


def test_each_written_format_renders_the_same_instant_as_documented() -> None:
    precise = datetime(2026, 11, 24, 11, 0, 0, 250000, tzinfo=UTC)
    assert timefmt.iso(NOON_BERLIN) == "2026-11-24T11:00:00Z"
    assert timefmt.cloudtrail_time(NOON_BERLIN) == "2026-11-24T11:00:00Z"
    assert timefmt.iso_z(NOON_BERLIN) == "2026-11-24T11:00:00Z"
    assert timefmt.iso_z(precise) == "2026-11-24T11:00:00.250000Z"
    assert timefmt.iso_millis(precise) == "2026-11-24T11:00:00.250Z"
    assert timefmt.iso_offset(NOON_BERLIN.astimezone(UTC)) == "2026-11-24T11:00:00+00:00"
    assert timefmt.utc_seconds(NOON_BERLIN) == "2026-11-24 11:00:00 UTC"
    assert timefmt.table_time(NOON_BERLIN) == "2026-11-24 11:00Z"
    assert timefmt.local_minute(NOON_BERLIN, BERLIN) == "2026-11-24 12:00 CET"
    assert timefmt.wall_clock(NOON_BERLIN, BERLIN) == "12:00"
    assert timefmt.time_of_day(NOON_BERLIN) == "12:00"
    assert timefmt.time_of_day(NOON_BERLIN + timedelta(seconds=30)) == "12:00:30"
    assert timefmt.iso_day(NOON_BERLIN) == "2026-11-24"
    assert timefmt.iso_day(date(2026, 12, 24)) == "2026-12-24"
    assert timefmt.log_stream_day(NOON_BERLIN) == "2026/11/24"
    assert timefmt.mail_date(NOON_BERLIN, BERLIN) == "Tue, 24 Nov 2026 12:00:00 +0100"


def test_a_naive_time_is_utc_where_cloudtrail_says_so_and_refused_where_an_offset_is_required() -> None:
    naive = datetime(2026, 11, 24, 11, 0)
    assert timefmt.cloudtrail_time(naive) == "2026-11-24T11:00:00Z"
    assert timefmt.parse_utc("2026-11-24T11:00:00") == datetime(2026, 11, 24, 11, tzinfo=UTC)
    with pytest.raises(ValueError, match="an offset is required"):
        timefmt.iso(naive)
    with pytest.raises(ValueError, match="has no UTC offset"):
        timefmt.parse_iso("2026-11-24T11:00:00")


def test_parsing_reads_z_offsets_and_what_a_person_types() -> None:
    eleven = datetime(2026, 11, 24, 11, tzinfo=UTC)
    assert timefmt.parse_iso("2026-11-24T11:00:00Z") == eleven
    assert timefmt.parse_iso("2026-11-24T12:00:00+01:00") == eleven
    assert timefmt.parse_utc("2026-11-24T12:00:00+01:00") == eleven
    assert timefmt.parse_instant(" 2026-11-24T11:00:00z ") == eleven
    assert timefmt.parse_instant("2026-11-24") == datetime(2026, 11, 24, tzinfo=UTC)
    assert timefmt.parse_day("2026-12-24") == date(2026, 12, 24)
    assert timefmt.to_utc(datetime(2026, 11, 24, 12, tzinfo=timezone(timedelta(hours=1)))) == eleven
    with pytest.raises(ValueError, match="invalid time 'tomorrow'"):
        timefmt.parse_instant("tomorrow")
