"""Properties of decide() over generated policies, sessions, grants and instants."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warden.policy import Grant, Policy, Principal, SessionRequest, decide, principal_from_arn

from .support import ALICE, BOB

PROPERTY_SETTINGS = settings(
    derandomize=True, max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
PRINCIPALS: list[Principal] = [
    ALICE,
    BOB,
    principal_from_arn("arn:aws:sts::111122223333:assumed-role/ops-admin/deploy"),
    principal_from_arn("arn:aws:iam::111122223333:root"),
]
PATTERNS = ["*", "user:alice@example.com", "user:b*", "role:AWSReservedSSO_*", "role:ops-*", "account:1111*"]
TARGETS = ["i-0abc", "i-0def", "mi-0123"]
TAG_SETS: list[dict[str, str]] = [
    {},
    {"Environment": "prod"},
    {"Environment": "dev", "Department": "Analytics"},
    {"Compliance": "pci", "Environment": "prod"},
]
TARGET_SPECS: list[dict[str, Any] | None] = [
    None,
    {"ids": ["i-0*"]},
    {"tags": {"Environment": ["dev", "stag*"]}},
    {"tags": {"Environment": "prod"}},
    {"tags": {"Department": "Analytics"}, "ids": ["i-0abc"]},
]
DOCUMENTS = ["SSM-SessionManagerRunShell", "AWS-StartPortForwardingSession", "AWS-StartSSHSession"]

# Instants spread over two years, plus instants near every DST change of the zones above.
TRANSITIONS = [
    datetime(2026, 3, 8, 7, tzinfo=UTC),
    datetime(2026, 3, 29, 1, tzinfo=UTC),
    datetime(2026, 4, 4, 15, tzinfo=UTC),
    datetime(2026, 10, 3, 15, 30, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC),
    datetime(2026, 11, 1, 6, tzinfo=UTC),
]
nows = st.one_of(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    st.builds(
        lambda base, minutes: base + timedelta(minutes=minutes),
        st.sampled_from(TRANSITIONS),
        st.integers(min_value=-36 * 60, max_value=36 * 60),
    ),
)
clock_times = st.integers(min_value=0, max_value=24 * 4 - 1).map(
    lambda quarter: f"{quarter // 4:02d}:{quarter % 4 * 15:02d}"
)
ends = st.one_of(clock_times, st.just("24:00"))
weekly_entries = st.fixed_dictionaries(
    {"days": st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True), "from": clock_times, "to": ends}
)
windows = st.fixed_dictionaries(
    {"weekly": st.lists(weekly_entries, min_size=1, max_size=3)},
    optional={"timezone": st.sampled_from(ZONES)},
)


@st.composite
def policies(draw: st.DrawFn, *, deny_rules: bool = True) -> dict[str, Any]:
    """A policy document: a few windows, a few rules of either effect."""
    named = draw(st.dictionaries(st.sampled_from(["w1", "w2", "w3"]), windows, min_size=1, max_size=3))
    rules: list[dict[str, Any]] = []
    for position in range(draw(st.integers(min_value=1, max_value=6))):
        effect = draw(st.sampled_from(["allow", "deny"])) if deny_rules else "allow"
        rule: dict[str, Any] = {"name": f"r{position}", "effect": effect}
        rule["principals"] = draw(st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=2, unique=True))
        if (targets := draw(st.sampled_from(TARGET_SPECS))) is not None:
            rule["targets"] = targets
        if draw(st.booleans()):
            rule["documents"] = draw(st.lists(st.sampled_from(DOCUMENTS), min_size=1, max_size=2, unique=True))
        if draw(st.booleans()):
            rule["windows"] = draw(st.lists(st.sampled_from(sorted(named)), min_size=1, max_size=2, unique=True))
        if effect == "allow" and draw(st.booleans()):
            rule["max_duration"] = draw(st.sampled_from(["30m", "2h", "1d"]))
        if effect == "allow" and draw(st.booleans()):
            rule["require_reason"] = "^INC-[0-9]+"
        rules.append(rule)
    return {
        "version": 1,
        "default": draw(st.sampled_from(["deny", "allow"])),
        "timezone": draw(st.sampled_from(ZONES)),
        "windows": named,
        "rules": rules,
    }


@st.composite
def sessions(draw: st.DrawFn) -> tuple[SessionRequest, datetime]:
    now = draw(nows)
    request = SessionRequest(
        principal=draw(st.sampled_from(PRINCIPALS)),
        target=draw(st.sampled_from(TARGETS)),
        tags=draw(st.sampled_from(TAG_SETS)),
        document=draw(st.sampled_from(DOCUMENTS)),
        reason=draw(st.sampled_from([None, "", "INC-42 disk full", "routine"])),
        started=now - timedelta(minutes=draw(st.integers(min_value=0, max_value=3 * 24 * 60))),
    )
    return request, now


@st.composite
def grant_lists(draw: st.DrawFn, now: datetime) -> list[Grant]:
    grants = []
    for position in range(draw(st.integers(min_value=0, max_value=3))):
        starts = now + timedelta(minutes=draw(st.integers(min_value=-600, max_value=120)))
        grants.append(
            Grant(
                id=f"g-{position}",
                principal=draw(st.sampled_from(PATTERNS)),
                targets=draw(st.sampled_from([{"ids": ["i-0*"]}, {"tags": {"Environment": "prod"}}])),
                starts_at=starts,
                expires_at=starts + timedelta(minutes=draw(st.integers(min_value=1, max_value=900))),
                reason="INC-1",
                created_by="bob",
                state=draw(st.sampled_from(["active", "active", "revoked", "expired"])),
            )
        )
    return grants


def load(document: dict[str, Any]) -> Policy:
    return Policy.model_validate(document)


@PROPERTY_SETTINGS
@given(document=policies(), session=sessions(), data=st.data())
def test_decide_is_deterministic_and_independent_of_earlier_calls(
    document: dict[str, Any], session: tuple[SessionRequest, datetime], data: st.DataObject
) -> None:
    # GIVEN a policy, a session, grants and an instant
    request, now = session
    grants = data.draw(grant_lists(now))
    first_policy, fresh_policy = load(document), load(document)

    # WHEN the same question is asked twice of one policy, after other questions, and of a fresh copy
    first = decide(first_policy, request, grants, now)
    decide(first_policy, request, grants, now + timedelta(hours=5))
    again = decide(first_policy, request, grants, now)
    fresh = decide(fresh_policy, request, grants, now)

    # THEN the answers are identical
    assert first == again == fresh


@PROPERTY_SETTINGS
@given(document=policies(), session=sessions(), data=st.data(), first=st.booleans())
def test_a_matching_deny_rule_without_windows_always_wins(
    document: dict[str, Any], session: tuple[SessionRequest, datetime], data: st.DataObject, first: bool
) -> None:
    # GIVEN any policy plus a deny rule that matches every session at any time
    request, now = session
    grants = data.draw(grant_lists(now))
    catch_all = {"name": "deny-everything", "effect": "deny"}
    document["rules"] = [catch_all, *document["rules"]] if first else [*document["rules"], catch_all]

    # WHEN any session is decided, whatever allow rules and grants exist
    decision = decide(load(document), request, grants, now)

    # THEN it is denied by a deny rule
    assert (decision.allowed, decision.basis, decision.grant, decision.deadline) == (False, "deny-rule", None, None)


@PROPERTY_SETTINGS
@given(document=policies(), session=sessions())
def test_outside_every_window_no_windowed_rule_allows(
    document: dict[str, Any], session: tuple[SessionRequest, datetime]
) -> None:
    # GIVEN a policy whose every allow rule has windows, none of which can be open now: no window
    # opens on now's local date or the day before, in its own zone
    request, now = session
    for rule in document["rules"]:
        if rule["effect"] == "allow":
            rule.setdefault("windows", [sorted(document["windows"])[0]])
    for window in document["windows"].values():
        local = now.astimezone(ZoneInfo(window.get("timezone", document["timezone"]))).date()
        window["except"] = [local.isoformat(), (local - timedelta(days=1)).isoformat()]

    # WHEN a session is decided without grants
    decision = decide(load(document), request, [], now)

    # THEN no rule allows it
    assert decision.basis != "allow-rule"
    assert all(lapse.why in ("outside-window", "reason-missing", "max-duration") for lapse in decision.lapsed)


@PROPERTY_SETTINGS
@given(document=policies(), session=sessions(), data=st.data())
def test_a_deadline_is_in_the_future_and_the_session_holds_until_just_before_it(
    document: dict[str, Any], session: tuple[SessionRequest, datetime], data: st.DataObject
) -> None:
    # GIVEN any policy, session and grants
    request, now = session
    grants = data.draw(grant_lists(now))
    subject = load(document)

    # WHEN an allowed session has a deadline
    decision = decide(subject, request, grants, now)
    if not decision.allowed or decision.deadline is None:
        return

    # THEN the deadline is after now, in UTC, and the session is still allowed just before it
    assert decision.deadline > now
    assert decision.deadline.utcoffset() == timedelta(0)
    just_before = decision.deadline - timedelta(microseconds=1)
    if just_before > now:
        assert decide(subject, request, grants, just_before).allowed


@PROPERTY_SETTINGS
@given(document=policies(), session=sessions(), data=st.data())
def test_every_decision_explains_itself_in_the_explain_json_shape(
    document: dict[str, Any], session: tuple[SessionRequest, datetime], data: st.DataObject
) -> None:
    request, now = session
    decision = decide(load(document), request, data.draw(grant_lists(now)), now)
    shown = decision.to_json()
    assert list(shown) == ["decision", "rule", "grant", "reasons", "deadline"]
    assert shown["reasons"]
    assert json.loads(json.dumps(shown)) == shown
    assert (decision.rule is not None) == (decision.basis in ("deny-rule", "allow-rule"))
    assert (decision.grant is not None) == (decision.basis == "grant")
