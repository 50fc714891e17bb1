"""Recurring windows: wall-clock times in their zone, across DST changes, midnight and except dates."""

from __future__ import annotations

import json
from typing import Any

import pytest

from warden.policy import Decision, Policy, decide

from .support import at, policy, request

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def window(days: list[str], start: str, end: str, zone: str | None = None, *, exceptions: Any = ()) -> Policy:
    """A policy whose single allow rule opens only inside one window."""
    definition: dict[str, Any] = {"weekly": [{"days": days, "from": start, "to": end}]}
    if zone is not None:
        definition["timezone"] = zone
    if exceptions:
        definition["except"] = list(exceptions)
    document = {"version": 1, "windows": {"w": definition}, "rules": [{"name": "in-window", "windows": ["w"]}]}
    return policy(json.dumps(document))


def parse_spec(spec: str, zone: str | None) -> Policy:
    """``"sat 22:00-06:00 except 2026-11-28"`` -> a one-window policy."""
    days, hours, *rest = spec.split()
    start, end = hours.split("-")
    return window(days.split(","), start, end, zone, exceptions=rest[1:])


def decide_at(subject: Policy, now: str) -> Decision:
    return decide(subject, request(started=now), [], at(now))


WEEKDAYS = "mon,tue,wed,thu,fri"

# id: (window, zone, now, deadline if allowed else None)
CASES: dict[str, tuple[str, str | None, str, str | None]] = {
    # Europe/Berlin springs forward on Sunday 2026-03-29 at 02:00 CET (01:00 UTC) to 03:00 CEST.
    "be-spring-day-opens-in-summer-time": ("sun 08:00-18:00", BERLIN, "2026-03-29T06:00Z", "2026-03-29T16:00Z"),
    "be-spring-day-not-yet-open": ("sun 08:00-18:00", BERLIN, "2026-03-29T05:59Z", None),
    "be-spring-night-before-opening": ("sat 22:00-06:00", BERLIN, "2026-03-28T20:59Z", None),
    "be-spring-night-opens-in-winter-time": ("sat 22:00-06:00", BERLIN, "2026-03-28T21:00Z", "2026-03-29T04:00Z"),
    "be-spring-night-closes-in-summer-time": ("sat 22:00-06:00", BERLIN, "2026-03-29T03:59Z", "2026-03-29T04:00Z"),
    "be-spring-night-closed": ("sat 22:00-06:00", BERLIN, "2026-03-29T04:00Z", None),
    "be-gap-opening-lands-after-the-gap": ("sun 02:30-04:00", BERLIN, "2026-03-29T01:29Z", None),
    "be-gap-opening-at-0330-summer-time": ("sun 02:30-04:00", BERLIN, "2026-03-29T01:30Z", "2026-03-29T02:00Z"),
    "be-window-inside-the-gap-never-opens": ("sun 02:00-03:00", BERLIN, "2026-03-29T01:00Z", None),
    "be-same-window-a-week-later": ("sun 02:00-03:00", BERLIN, "2026-04-05T00:30Z", "2026-04-05T01:00Z"),
    # Europe/Berlin falls back on Sunday 2026-10-25 at 03:00 CEST (01:00 UTC) to 02:00 CET.
    "be-fall-night-opens-in-summer-time": ("sat 22:00-06:00", BERLIN, "2026-10-24T20:00Z", "2026-10-25T05:00Z"),
    "be-fall-night-lasts-nine-hours": ("sat 22:00-06:00", BERLIN, "2026-10-25T04:59Z", "2026-10-25T05:00Z"),
    "be-fall-night-closed": ("sat 22:00-06:00", BERLIN, "2026-10-25T05:00Z", None),
    "be-ambiguous-opening-not-yet": ("sun 02:30-03:00", BERLIN, "2026-10-25T00:29Z", None),
    "be-ambiguous-opening-takes-first-0230": ("sun 02:30-03:00", BERLIN, "2026-10-25T00:30Z", "2026-10-25T02:00Z"),
    "be-ambiguous-window-covers-repeated-hour": ("sun 02:30-03:00", BERLIN, "2026-10-25T01:45Z", "2026-10-25T02:00Z"),
    "be-ambiguous-window-closed": ("sun 02:30-03:00", BERLIN, "2026-10-25T02:00Z", None),
    "be-fall-day-in-winter-time": ("sun 08:00-18:00", BERLIN, "2026-10-25T07:00Z", "2026-10-25T17:00Z"),
    "be-fall-day-not-yet-open": ("sun 08:00-18:00", BERLIN, "2026-10-25T06:59Z", None),
    # America/New_York springs forward on Sunday 2026-03-08 at 02:00 EST (07:00 UTC) to 03:00 EDT.
    "ny-spring-day-in-daylight-time": ("sun 09:00-17:00", NEW_YORK, "2026-03-08T13:00Z", "2026-03-08T21:00Z"),
    "ny-spring-day-not-yet-open": ("sun 09:00-17:00", NEW_YORK, "2026-03-08T12:59Z", None),
    "ny-spring-night-before-opening": ("sat 22:00-06:00", NEW_YORK, "2026-03-08T02:59Z", None),
    "ny-spring-night-opens-in-standard-time": ("sat 22:00-06:00", NEW_YORK, "2026-03-08T03:00Z", "2026-03-08T10:00Z"),
    "ny-spring-night-lasts-seven-hours": ("sat 22:00-06:00", NEW_YORK, "2026-03-08T09:59Z", "2026-03-08T10:00Z"),
    "ny-spring-night-closed": ("sat 22:00-06:00", NEW_YORK, "2026-03-08T10:00Z", None),
    "ny-window-inside-the-gap-never-opens": ("sun 02:00-03:00", NEW_YORK, "2026-03-08T07:00Z", None),
    # America/New_York falls back on Sunday 2026-11-01 at 02:00 EDT (06:00 UTC) to 01:00 EST.
    "ny-fall-night-opens-in-daylight-time": ("sat 22:00-06:00", NEW_YORK, "2026-11-01T02:00Z", "2026-11-01T11:00Z"),
    "ny-fall-night-lasts-nine-hours": ("sat 22:00-06:00", NEW_YORK, "2026-11-01T10:59Z", "2026-11-01T11:00Z"),
    "ny-fall-night-closed": ("sat 22:00-06:00", NEW_YORK, "2026-11-01T11:00Z", None),
    "ny-ambiguous-opening-not-yet": ("sun 01:30-02:30", NEW_YORK, "2026-11-01T05:29Z", None),
    "ny-ambiguous-opening-takes-first-0130": ("sun 01:30-02:30", NEW_YORK, "2026-11-01T05:30Z", "2026-11-01T07:30Z"),
    "ny-ambiguous-window-covers-repeated-hour": ("sun 01:30-02:30", NEW_YORK, "2026-11-01T06:45Z", "2026-11-01T07:30Z"),
    # Midnight, in UTC (2026-11-23 is a Monday).
    "midnight-before-opening": ("mon 22:00-02:00", None, "2026-11-23T21:59Z", None),
    "midnight-from-is-inclusive": ("mon 22:00-02:00", None, "2026-11-23T22:00Z", "2026-11-24T02:00Z"),
    "midnight-open-on-the-next-day": ("mon 22:00-02:00", None, "2026-11-24T01:59:59Z", "2026-11-24T02:00Z"),
    "midnight-to-is-exclusive": ("mon 22:00-02:00", None, "2026-11-24T02:00Z", None),
    "midnight-days-name-the-opening-day": ("tue 22:00-02:00", None, "2026-11-24T01:00Z", None),
    "until-2400-closes-at-midnight": ("mon 20:00-24:00", None, "2026-11-23T23:59Z", "2026-11-24T00:00Z"),
    "until-2400-closed-after-midnight": ("mon 20:00-24:00", None, "2026-11-24T00:00Z", None),
    "from-equal-to-lasts-a-day": ("mon 08:00-08:00", None, "2026-11-24T07:59Z", "2026-11-24T08:00Z"),
    # Except dates name the local day a window would open on (2026-11-28 is a Saturday).
    "except-the-opening-day-of-a-night": ("sat 22:00-04:00 except 2026-11-28", None, "2026-11-29T01:00Z", None),
    "except-the-closing-day-does-not-matter": (
        "sat 22:00-04:00 except 2026-11-29",
        None,
        "2026-11-29T01:00Z",
        "2026-11-29T04:00Z",
    ),
    "except-only-that-date": ("sat 22:00-04:00 except 2026-11-28", None, "2026-12-06T01:00Z", "2026-12-06T04:00Z"),
    "except-is-a-local-date": (f"{WEEKDAYS} 00:00-24:00 except 2026-12-24", BERLIN, "2026-12-23T23:30Z", None),
    "except-ends-the-day-before-at-local-midnight": (
        f"{WEEKDAYS} 00:00-24:00 except 2026-12-24",
        BERLIN,
        "2026-12-23T22:59Z",
        "2026-12-23T23:00Z",
    ),
}


@pytest.mark.parametrize(("spec", "zone", "now", "deadline"), list(CASES.values()), ids=list(CASES))
def test_a_window_rule_holds_exactly_inside_its_occurrences(
    spec: str, zone: str | None, now: str, deadline: str | None
) -> None:
    # GIVEN a policy whose only allow rule is limited to one window
    subject = parse_spec(spec, zone)

    # WHEN a session is decided at a given instant
    decision = decide_at(subject, now)

    # THEN it is allowed exactly inside the window, until the window closes
    if deadline is None:
        assert decision.decision == "deny", decision.reasons
        assert decision.lapsed[0].why == "outside-window"
    else:
        assert decision.decision == "allow", decision.reasons
        assert decision.deadline == at(deadline)


def test_windows_without_a_zone_use_the_policy_time_zone() -> None:
    # GIVEN a window without a zone in a New York policy
    subject = policy(
        """\
        timezone: America/New_York
        windows:
          office: {weekly: [{days: [mon], from: "09:00", to: "17:00"}]}
        rules:
          - {name: office, windows: [office]}
        """
    )
    # WHEN a session is decided at 09:00 New York time (14:00 UTC in November)
    decision = decide_at(subject, "2026-11-23T14:00Z")
    # THEN the window is open until 17:00 New York time
    assert decision.allowed
    assert decision.deadline == at("2026-11-23T22:00Z")
    assert decision.reasons == ("allowed by rule office until 17:00 America/New_York (window office closes)",)


def test_a_lapsed_window_says_when_and_where_it_closed() -> None:
    # GIVEN an office-hours window in Berlin
    subject = window(["mon", "tue", "wed", "thu", "fri"], "08:00", "18:00", BERLIN)
    # WHEN a session is decided on Tuesday evening
    decision = decide_at(subject, "2026-11-24T18:30Z")
    # THEN the lapse explains that the window closed at 18:00 Berlin time
    (lapse,) = decision.lapsed
    assert (lapse.kind, lapse.name, lapse.why, lapse.at) == (
        "rule",
        "in-window",
        "outside-window",
        at("2026-11-24T17:00Z"),
    )
    assert lapse.detail == "window w closed at 18:00 Europe/Berlin"
    assert "rule in-window: window w closed at 18:00 Europe/Berlin" in decision.reasons


def test_a_lapse_from_an_earlier_day_names_the_date() -> None:
    subject = window(["mon"], "08:00", "18:00")
    decision = decide_at(subject, "2026-11-25T09:00Z")
    assert decision.lapsed[0].detail == "window w closed at 2026-11-23 18:00 UTC"


def test_a_window_that_has_not_opened_for_a_week_lapses_without_a_time() -> None:
    subject = window(["mon"], "08:00", "18:00", exceptions=["2026-11-16", "2026-11-23"])
    decision = decide_at(subject, "2026-11-24T09:00Z")
    assert (decision.lapsed[0].at, decision.lapsed[0].detail) == (None, "outside window w")
