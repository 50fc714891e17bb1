"""Compact durations: what parses, what does not, and the way back to text."""

from __future__ import annotations

from datetime import timedelta

import pytest

from warden.policy import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d", timedelta(days=1)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("45s", timedelta(seconds=45)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        (" 90m ", timedelta(minutes=90)),
    ],
)
def test_parse_duration_reads_day_hour_minute_second_combinations(text: str, expected: timedelta) -> None:
    # GIVEN a duration in the policy's compact form
    # WHEN it is parsed
    # THEN it is the expected timedelta
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("0m", "longer than zero"),
        ("0h0m", "longer than zero"),
        ("-2h", "expected e.g. 30m"),
        ("", "expected e.g. 30m"),
        ("2", "expected e.g. 30m"),
        ("2 hours", "expected e.g. 30m"),
        ("30m2h", "expected e.g. 30m"),
        ("2H", "expected e.g. 30m"),
        ("1w", "expected e.g. 30m"),
        ("1.5h", "expected e.g. 30m"),
        ("h", "expected e.g. 30m"),
        ("999999999999d", "too long"),
    ],
)
def test_parse_duration_rejects_zero_negative_and_garbage_naming_the_value(text: str, complaint: str) -> None:
    # GIVEN something that is not a positive compact duration
    # WHEN it is parsed
    # THEN a ValueError names the value and says what is wrong
    with pytest.raises(ValueError, match="invalid duration") as raised:
        parse_duration(text)
    assert repr(text) in str(raised.value)
    assert complaint in str(raised.value)


def test_parse_duration_rejects_a_number_that_is_not_text() -> None:
    # GIVEN a bare number (YAML `max_duration: 30`)
    # WHEN it is parsed
    # THEN it is refused rather than guessed to be minutes or seconds
    with pytest.raises(ValueError, match="invalid duration 30"):
        parse_duration(30)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(minutes=30), "30m"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(days=1), "1d"),
        (timedelta(days=2, seconds=5), "2d5s"),
        (timedelta(0), "0s"),
        (timedelta(minutes=1, microseconds=999), "1m"),
    ],
)
def test_format_duration_writes_the_compact_form(duration: timedelta, text: str) -> None:
    # GIVEN a duration
    # WHEN it is formatted
    # THEN it reads in the compact form (fractions of a second dropped)
    assert format_duration(duration) == text


@pytest.mark.parametrize("text", ["30m", "2h", "1h30m", "1d", "1d12h", "45s", "3d23h59m59s"])
def test_format_duration_is_the_inverse_of_parse_duration(text: str) -> None:
    assert format_duration(parse_duration(text)) == text


def test_format_duration_refuses_a_negative_duration() -> None:
    with pytest.raises(ValueError, match="negative"):
        format_duration(timedelta(minutes=-1))
