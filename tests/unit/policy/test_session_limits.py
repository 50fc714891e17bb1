"""Concurrent-session limits (NIST AC-10): max_sessions per rule, max_sessions_per_target, validated and decided."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from warden.policy import Decision, OpenSession, PolicyError, SessionRequest, decide, load_policy

from .support import ACCOUNT, ALICE, BOB, at, policy, request

NOW = "2026-11-24T09:30:00+00:00"
STARTED = "2026-11-24T09:20:00+00:00"
OPS = policy(
    """\
    rules:
      - name: ops
        principals: ["user:bob"]
        targets: {tags: {Team: ops}}
        max_sessions: 1
      - name: analysts
        principals: ["user:alice@example.com"]
    """
)
PER_TARGET = policy(
    """\
    max_sessions_per_target: 2
    rules:
      - name: everyone
    """
)
BOTH = policy(
    """\
    max_sessions_per_target: 1
    rules:
      - name: ops
        principals: ["user:bob"]
        max_sessions: 2
    """
)
OPS_TAGS = {"Team": "ops"}


def other(
    session_id: str,
    *,
    started: str,
    owner: str = BOB.arn,
    target: str = "i-0abc",
    status: str = "Connected",
    tags: dict[str, str] | None = None,
) -> OpenSession:
    return OpenSession(session_id, owner, target, at(started), status, dict(OPS_TAGS if tags is None else tags))


def decided(subject: object, *sessions: OpenSession, **fields: object) -> Decision:
    fields.setdefault("principal", BOB)
    fields.setdefault("tags", OPS_TAGS)
    fields.setdefault("started", STARTED)
    session_id = fields.pop("session_id", "bob-new")
    base = request(**fields)  # type: ignore[arg-type]  # the builder's keyword types
    subject_request = dataclasses.replace(base, session_id=session_id)
    return decide(subject, subject_request, [], at(NOW), sessions)  # type: ignore[arg-type]  # a Policy


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path", "value", "message"),
    [
        pytest.param(
            "rules:\n  - name: ops\n    max_sessions: 0\n",
            "rules[0].max_sessions",
            0,
            "0 is not a session limit: expected a whole number of at least 1",
            id="zero",
        ),
        pytest.param(
            "rules:\n  - name: ops\n    max_sessions: '2'\n",
            "rules[0].max_sessions",
            "2",
            "'2' is not a session limit",
            id="text",
        ),
        pytest.param(
            "rules:\n  - name: ops\n    max_sessions: true\n",
            "rules[0].max_sessions",
            True,
            "True is not a session limit",
            id="boolean",
        ),
        pytest.param(
            "rules:\n  - name: ops\n    effect: deny\n    max_sessions: 2\n",
            "rules[0].max_sessions",
            2,
            "max_sessions 2 is only meaningful on allow rules: a deny rule already denies every session it matches",
            id="deny rule",
        ),
        pytest.param(
            "max_sessions_per_target: -1\nrules: []\n",
            "max_sessions_per_target",
            -1,
            "-1 is not a session limit",
            id="negative per target",
        ),
        pytest.param(
            "max_sessions_per_target: 1.5\nrules: []\n",
            "max_sessions_per_target",
            1.5,
            "1.5 is not a session limit",
            id="fraction per target",
        ),
    ],
)
def test_a_bad_session_limit_is_refused_naming_its_path_and_value(
    text: str, path: str, value: object, message: str
) -> None:
    # GIVEN a policy with a bad limit / WHEN it is loaded
    with pytest.raises(PolicyError) as raised:
        load_policy("version: 1\n" + text, source="test.yaml")

    # THEN the one issue names the field's path, the value as written, and why
    (issue,) = raised.value.issues
    assert (issue.path, issue.value) == (path, value)
    assert message in issue.message
    assert path in str(raised.value)


def test_session_limits_load_and_round_trip_through_the_document() -> None:
    # GIVEN a policy with both limits / WHEN it is loaded and written back
    document = BOTH.to_document()

    # THEN both fields are there, and the document loads to the same policy
    assert document["max_sessions_per_target"] == 1
    assert document["rules"] == [{"name": "ops", "effect": "allow", "principals": ["user:bob"], "max_sessions": 2}]
    assert load_policy(__import__("json").dumps(document)) == BOTH


def test_a_policy_without_limits_sets_none() -> None:
    subject = policy("rules:\n  - name: everyone\n")
    assert subject.max_sessions_per_target is None
    assert subject.rules[0].max_sessions is None
    assert decided(subject, other("bob-old", started="2026-11-24T09:00:00+00:00")).limits == ()


# --- the decision --------------------------------------------------------------------------------

EARLY = "2026-11-24T09:00:00+00:00"
LATER = "2026-11-24T09:25:00+00:00"

CASES = [
    # (id, policy, open sessions, request fields, allowed, reason fragment, holders)
    ("rule limit free", OPS, [], {}, True, "allowed by rule ops", ()),
    (
        "rule limit held by an older session of the principal",
        OPS,
        [other("bob-old", started=EARLY)],
        {},
        False,
        "max_sessions 1 of rule 'ops' is held by session bob-old on i-0abc since 09:00 UTC",
        ("bob-old",),
    ),
    (
        "a newer session does not hold it",
        OPS,
        [other("bob-newer", started=LATER)],
        {},
        True,
        "allowed by rule ops",
        (),
    ),
    (
        "another principal's session does not count for a rule",
        OPS,
        [other("alice-old", started=EARLY, owner=ALICE.arn)],
        {},
        True,
        "allowed by rule ops",
        (),
    ),
    (
        "a session on a target the rule does not match does not count",
        OPS,
        [other("bob-old", started=EARLY, target="i-0dev", tags={"Team": "dev"})],
        {},
        True,
        "allowed by rule ops",
        (),
    ),
    (
        "a session on another target the rule matches counts",
        OPS,
        [other("bob-old", started=EARLY, target="i-0ops2")],
        {},
        False,
        "held by session bob-old on i-0ops2 since 09:00 UTC",
        ("bob-old",),
    ),
    ("Terminating does not count", OPS, [other("bob-old", started=EARLY, status="Terminating")], {}, True, "", ()),
    ("Terminated does not count", OPS, [other("bob-old", started=EARLY, status="Terminated")], {}, True, "", ()),
    ("Disconnected does not count", OPS, [other("bob-old", started=EARLY, status="Disconnected")], {}, True, "", ()),
    (
        "Connecting counts",
        OPS,
        [other("bob-old", started=EARLY, status="Connecting")],
        {},
        False,
        "held by session bob-old",
        ("bob-old",),
    ),
    (
        "the session itself is not counted",
        OPS,
        [other("bob-new", started=STARTED)],
        {},
        True,
        "allowed by rule ops",
        (),
    ),
    (
        "a tie of start times is broken by session id: the smaller id is older",
        OPS,
        [other("bob-aaa", started=STARTED)],
        {"session_id": "bob-bbb"},
        False,
        "held by session bob-aaa",
        ("bob-aaa",),
    ),
    (
        "a tie of start times: the larger id is newer and does not hold it",
        OPS,
        [other("bob-ccc", started=STARTED)],
        {"session_id": "bob-bbb"},
        True,
        "allowed by rule ops",
        (),
    ),
    (
        "AWS's own start time of the session orders it, not the event's",
        OPS,
        [other("bob-new", started="2026-11-24T09:26:00+00:00"), other("bob-other", started=LATER)],
        {},
        False,
        "held by session bob-other",
        ("bob-other",),
    ),
    (
        "per target: two older sessions from anyone hold a limit of two",
        PER_TARGET,
        [other("alice-1", started=EARLY, owner=ALICE.arn), other("bob-2", started="2026-11-24T09:05:00+00:00")],
        {},
        False,
        "max_sessions_per_target 2 on i-0abc is held by sessions "
        "alice-1 of AWSReservedSSO_Analyst_0123456789abcdef/alice@example.com since 09:00 UTC, bob-2 of bob since 09:05 UTC",
        ("alice-1", "bob-2"),
    ),
    (
        "per target: one older session leaves room",
        PER_TARGET,
        [other("alice-1", started=EARLY, owner=ALICE.arn)],
        {},
        True,
        "allowed by rule everyone",
        (),
    ),
    (
        "per target: sessions on other targets do not count",
        PER_TARGET,
        [other("alice-1", started=EARLY, target="i-1"), other("alice-2", started=EARLY, target="i-2")],
        {},
        True,
        "allowed by rule everyone",
        (),
    ),
    (
        "both: the rule's limit is checked first",
        BOTH,
        [other("bob-1", started=EARLY, target="i-1"), other("bob-2", started=EARLY, target="i-0abc")],
        {},
        False,
        "max_sessions 2 of rule 'ops' is held by sessions bob-1 on i-1 since 09:00 UTC, bob-2 on i-0abc",
        ("bob-1", "bob-2"),
    ),
    (
        "both: the per-target limit holds when the rule's does not",
        BOTH,
        [other("alice-1", started=EARLY, owner=ALICE.arn)],
        {},
        False,
        "max_sessions_per_target 1 on i-0abc is held by session alice-1",
        ("alice-1",),
    ),
]


@pytest.mark.parametrize(
    ("subject", "sessions", "fields", "allowed", "fragment", "holders"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_session_limits_decide_on_the_older_open_sessions(
    subject: object,
    sessions: list[OpenSession],
    fields: dict[str, object],
    allowed: bool,
    fragment: str,
    holders: tuple[str, ...],
) -> None:
    # GIVEN a policy with a limit and some open sessions / WHEN a session is decided
    decision = decided(subject, *sessions, **fields)

    # THEN it is allowed or denied by the limit, naming the limit and the sessions holding it
    assert decision.allowed is allowed, decision.reasons
    assert fragment in decision.reasons[0]
    assert decision.holders == holders
    assert decision.basis == ("session-limit" if not allowed else "allow-rule")


def test_a_limit_denial_says_what_would_have_allowed_it() -> None:
    decision = decided(OPS, other("bob-old", started=EARLY))
    assert decision.rule == "ops"
    assert decision.reasons[1] == "without the limit: allowed by rule ops"
    assert decision.limits == ("principal",)


def test_the_limit_of_a_matching_rule_holds_even_when_another_rule_allows() -> None:
    # GIVEN bob has a limited rule and an unlimited one on the same targets
    subject = policy(
        """\
        rules:
          - name: ops
            principals: ["user:bob"]
            max_sessions: 1
          - name: ops-unlimited
            principals: ["user:bob"]
            max_duration: 8h
        """
    )
    # WHEN he holds a session already / THEN the unlimited rule is no way around the limit
    decision = decided(subject, other("bob-old", started=EARLY))
    assert not decision.allowed
    assert "max_sessions 1 of rule 'ops'" in decision.reasons[0]


def test_a_denied_session_stays_denied_by_what_denied_it() -> None:
    subject = policy(
        """\
        max_sessions_per_target: 1
        rules:
          - name: no-bob
            effect: deny
            principals: ["user:bob"]
        """
    )
    decision = decided(subject, other("alice-1", started=EARLY, owner=ALICE.arn))
    assert decision.basis == "deny-rule"
    assert decision.limits == ()


def test_a_default_allow_session_is_limited_per_target() -> None:
    subject = policy("default: allow\nmax_sessions_per_target: 1\n")
    decision = decided(subject, other("alice-1", started=EARLY, owner=ALICE.arn))
    assert not decision.allowed
    assert decision.reasons[1].startswith("without the limit: no rule or grant allows")


def test_an_allowed_session_reports_which_limits_apply_so_the_caller_knows_what_to_fetch() -> None:
    assert decided(OPS).limits == ("principal",)
    assert decided(PER_TARGET).limits == ("target",)
    assert decided(BOTH).limits == ("principal", "target")
    # alice matches no limited rule: only a per-target limit could apply, and OPS has none
    assert decided(OPS, principal=ALICE, session_id="alice-new").limits == ()


def test_many_holders_are_named_up_to_three() -> None:
    subject = policy("max_sessions_per_target: 4\nrules:\n  - name: everyone\n")
    sessions = [other(f"s-{index}", started=f"2026-11-24T09:0{index}:00+00:00") for index in range(5)]
    decision = decided(subject, *sessions)
    assert decision.holders == ("s-0", "s-1", "s-2", "s-3")
    assert decision.reasons[0].endswith("s-2 of bob since 09:02 UTC and 1 more")


def test_the_oldest_sessions_hold_and_every_newer_one_is_denied() -> None:
    # GIVEN three sessions of bob, limit 1: every decider orders them by (start, id) alike
    starts = {"bob-a": EARLY, "bob-b": LATER, "bob-c": LATER}
    sessions = [other(session_id, started=started) for session_id, started in starts.items()]

    # WHEN each is decided with all three open
    outcomes = {
        session_id: decided(OPS, *sessions, session_id=session_id, started=started).allowed
        for session_id, started in starts.items()
    }

    # THEN exactly the oldest stays
    assert outcomes == {"bob-a": True, "bob-b": False, "bob-c": False}


def test_an_owner_that_is_not_an_arn_is_named_as_given() -> None:
    decision = decided(PER_TARGET, other("x-1", started=EARLY, owner="??"), other("x-2", started=EARLY, owner="??"))
    assert "x-1 of ?? since" in decision.reasons[0]


def test_naive_start_times_of_open_sessions_are_not_needed_for_unlimited_policies() -> None:
    # Unlimited policies never read the open sessions at all.
    subject = policy("rules:\n  - name: everyone\n")
    odd = OpenSession("x", f"arn:aws:iam::{ACCOUNT}:user/bob", "i-0abc", datetime(2026, 1, 1), "Connected")
    request_ = SessionRequest(BOB, "i-0abc", {}, "SSM-SessionManagerRunShell", None, at(STARTED))
    assert decide(subject, request_, [], at(NOW), [odd]).allowed
