"""decide(): deny first, then rules and grants, then the default; deadlines and explanations."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from warden.policy import Decision, Grant, Policy, SessionRequest, decide, normalise_document

from .support import ALICE, BOB, at, grant, policy, request

ANALYTICS = {"Department": "Analytics", "Name": "analytics-1"}
TICKET = "ABC-123 investigate slow query"

# 2026-11-24 is a Tuesday; Berlin is UTC+1 in November, so business hours are 07:00-17:00 UTC.
OFFICE = policy(
    """\
    windows:
      business-hours:
        timezone: Europe/Berlin
        weekly: [{days: [mon, tue, wed, thu, fri], from: "08:00", to: "18:00"}]
      freeze:
        weekly: [{days: [wed], from: "20:00", to: "22:00"}]
    rules:
      - name: no-pci
        effect: deny
        targets: {tags: {Compliance: pci}}
      - name: no-pci-again
        effect: deny
        targets: {tags: {Compliance: "p*"}}
      - name: analysts-on-analytics
        principals: ["role:AWSReservedSSO_Analyst_*", "user:alice@example.com"]
        targets: {tags: {Department: Analytics}}
        documents: [SSM-SessionManagerRunShell]
        windows: [business-hours]
        max_duration: 2h
        require_reason: "^[A-Z]+-[0-9]+"
      - name: analytics-freeze
        effect: deny
        targets: {tags: {Department: Analytics}}
        windows: [freeze]
    """
)


def run(
    subject: Policy,
    now: str,
    *,
    grants: tuple[Grant, ...] = (),
    **fields: Any,
) -> Decision:
    return decide(subject, request(**fields), list(grants), at(now))


# --- 1. deny rules -------------------------------------------------------------------------------


def test_a_matching_deny_rule_beats_allow_rules_and_grants() -> None:
    # GIVEN an analytics host that is also in PCI scope, an analyst with a ticket in office hours,
    # and a grant for that very host
    tags = {**ANALYTICS, "Compliance": "pci"}
    cover = grant(starts_at="2026-11-24T00:00:00Z", expires_at="2026-11-25T00:00:00Z")

    # WHEN the session is decided
    decision = run(OFFICE, "2026-11-24T09:00Z", tags=tags, reason=TICKET, grants=(cover,))

    # THEN the first matching deny rule denies, and says why
    assert (decision.allowed, decision.basis, decision.rule, decision.grant) == (False, "deny-rule", "no-pci", None)
    assert decision.reasons == ("denied by rule no-pci (target tag Compliance=pci)",)
    assert (decision.deadline, decision.lapsed) == (None, ())


def test_a_deny_rule_with_windows_denies_only_while_a_window_is_open() -> None:
    # GIVEN an analytics host and the Wednesday-evening freeze (2026-11-25 is a Wednesday)
    inside = run(OFFICE, "2026-11-25T21:00Z", tags=ANALYTICS, reason=TICKET, started="2026-11-25T21:00Z")
    outside = run(OFFICE, "2026-11-25T22:00Z", tags=ANALYTICS, reason=TICKET, started="2026-11-25T22:00Z")

    # THEN inside the freeze the deny rule decides, outside it does not
    assert (inside.decision, inside.rule) == ("deny", "analytics-freeze")
    assert inside.reasons == (
        "denied by rule analytics-freeze (target tag Department=Analytics; window freeze until 22:00 UTC)",
    )
    assert (outside.decision, outside.basis) == ("deny", "default-deny")


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("{name: d, effect: deny, targets: {ids: ['i-0a*']}}", "denied by rule d (target i-0abc)"),
        ("{name: d, effect: deny, principals: ['user:alice@*']}", "denied by rule d (principal alice@example.com)"),
        (
            "{name: d, effect: deny, documents: [SSM-SessionManagerRunShell]}",
            "denied by rule d (document SSM-SessionManagerRunShell)",
        ),
        ("{name: d, effect: deny}", "denied by rule d"),
    ],
)
def test_a_denial_says_what_matched(rule: str, reason: str) -> None:
    decision = run(policy(f"rules:\n  - {rule}\n"), "2026-11-24T09:00Z")
    assert decision.reasons == (reason,)


# --- 2. allow rules ------------------------------------------------------------------------------


def test_an_analyst_with_a_ticket_in_office_hours_is_allowed_until_the_first_limit() -> None:
    # GIVEN an analyst who started at 09:00 UTC with a ticket reference
    decision = run(OFFICE, "2026-11-24T09:30Z", tags=ANALYTICS, reason=TICKET, started="2026-11-24T09:00Z")

    # THEN the rule allows until start + 2h (before the window closes at 17:00 UTC)
    assert (decision.allowed, decision.basis, decision.rule) == (True, "allow-rule", "analysts-on-analytics")
    assert decision.deadline == at("2026-11-24T11:00Z")
    assert decision.reasons == ("allowed by rule analysts-on-analytics until 11:00 UTC (maximum duration 2h)",)


def test_when_the_window_closes_first_the_deadline_is_the_close() -> None:
    decision = run(OFFICE, "2026-11-24T16:00Z", tags=ANALYTICS, reason=TICKET, started="2026-11-24T16:00Z")
    assert decision.deadline == at("2026-11-24T17:00Z")
    assert decision.reasons == (
        "allowed by rule analysts-on-analytics until 18:00 Europe/Berlin (window business-hours closes)",
    )


@pytest.mark.parametrize(
    ("now", "allowed"),
    [
        ("2026-11-24T10:59:59.999999Z", True),
        ("2026-11-24T11:00:00Z", False),
    ],
)
def test_max_duration_holds_until_start_plus_duration_exclusive(now: str, allowed: bool) -> None:
    decision = run(OFFICE, now, tags=ANALYTICS, reason=TICKET, started="2026-11-24T09:00Z")
    assert decision.allowed is allowed


def test_a_session_past_its_max_duration_lapses_at_start_plus_duration() -> None:
    decision = run(OFFICE, "2026-11-24T11:30Z", tags=ANALYTICS, reason=TICKET, started="2026-11-24T09:00Z")
    (lapse,) = decision.lapsed
    assert (lapse.why, lapse.at, lapse.detail) == (
        "max-duration",
        at("2026-11-24T11:00Z"),
        "maximum duration 2h reached at 11:00 UTC",
    )
    assert decision.reasons == (
        "no rule or grant allows alice@example.com on i-0abc; default is deny",
        "rule analysts-on-analytics: maximum duration 2h reached at 11:00 UTC",
    )


def test_when_both_limits_have_passed_the_earlier_one_explains_the_lapse() -> None:
    decision = run(OFFICE, "2026-11-24T18:00Z", tags=ANALYTICS, reason=TICKET, started="2026-11-24T09:00Z")
    assert (decision.lapsed[0].why, decision.lapsed[0].at) == ("max-duration", at("2026-11-24T11:00Z"))


@pytest.mark.parametrize(
    ("reason", "allowed", "detail"),
    [
        ("ABC-123 slow query", True, None),
        ("INC-1", True, None),
        ("fix ABC-123", False, "reason 'fix ABC-123' does not match ^[A-Z]+-[0-9]+"),
        ("abc-123", False, "reason 'abc-123' does not match ^[A-Z]+-[0-9]+"),
        ("", False, "no reason given (required: ^[A-Z]+-[0-9]+)"),
        (None, False, "no reason given (required: ^[A-Z]+-[0-9]+)"),
    ],
)
def test_require_reason_is_searched_in_the_reason_and_no_reason_never_matches(
    reason: str | None, allowed: bool, detail: str | None
) -> None:
    decision = run(OFFICE, "2026-11-24T09:00Z", tags=ANALYTICS, reason=reason, started="2026-11-24T09:00Z")
    assert decision.allowed is allowed
    if detail is not None:
        assert (decision.lapsed[0].why, decision.lapsed[0].at, decision.lapsed[0].detail) == (
            "reason-missing",
            None,
            detail,
        )


def test_require_reason_uses_search_not_match() -> None:
    subject = policy("rules:\n  - {name: r, require_reason: 'INC-[0-9]+'}\n")
    assert run(subject, "2026-11-24T09:00Z", reason="see INC-42 for details").allowed


@pytest.mark.parametrize(
    ("who", "tags", "document", "allowed"),
    [
        (ALICE, ANALYTICS, "SSM-SessionManagerRunShell", True),
        (ALICE, ANALYTICS, None, True),
        (ALICE, ANALYTICS, "arn:aws:ssm:eu-west-1::document/SSM-SessionManagerRunShell", True),
        (ALICE, ANALYTICS, "AWS-StartPortForwardingSession", False),
        (ALICE, {"Department": "analytics"}, "SSM-SessionManagerRunShell", False),
        (ALICE, {"Name": "analytics-1"}, "SSM-SessionManagerRunShell", False),
        (BOB, ANALYTICS, "SSM-SessionManagerRunShell", False),
    ],
    ids=["all match", "no document", "document ARN", "other document", "tag case", "tag missing", "other principal"],
)
def test_an_allow_rule_needs_principal_target_and_document_to_match(
    who: Any, tags: dict[str, str], document: str | None, allowed: bool
) -> None:
    decision = decide(
        OFFICE,
        SessionRequest(who, "i-0abc", tags, document, TICKET, at("2026-11-24T09:00Z")),  # type: ignore[arg-type]
        [],
        at("2026-11-24T09:00Z"),
    )
    assert decision.allowed is allowed


@pytest.mark.parametrize(
    ("targets", "target", "tags", "matches"),
    [
        ("{}", "i-1", {}, True),
        ("{tags: {Env: '*'}}", "i-1", {"Env": ""}, True),
        ("{tags: {Env: '*'}}", "i-1", {}, False),
        ("{tags: {Env: [dev, 'stag*']}}", "i-1", {"Env": "staging"}, True),
        ("{tags: {Env: [dev, 'stag*']}}", "i-1", {"Env": "prod"}, False),
        ("{tags: {Env: dev, Team: data}}", "i-1", {"Env": "dev"}, False),
        ("{tags: {Env: dev, Team: data}}", "i-1", {"Env": "dev", "Team": "data"}, True),
        ("{ids: ['i-0*', 'mi-*']}", "mi-0123", {}, True),
        ("{ids: ['i-0*']}", "i-1abc", {}, False),
        ("{ids: ['i-0*'], tags: {Env: dev}}", "i-0abc", {"Env": "prod"}, False),
        ("{ids: ['i-0*'], tags: {Env: dev}}", "i-0abc", {"Env": "dev"}, True),
        ("{tags: {Env: '[dev]'}}", "i-1", {"Env": "d"}, False),
    ],
)
def test_targets_match_ids_and_every_tag_key_by_glob(
    targets: str, target: str, tags: dict[str, str], matches: bool
) -> None:
    subject = policy(f"rules:\n  - {{name: r, targets: {targets}}}\n")
    assert run(subject, "2026-11-24T09:00Z", target=target, tags=tags).allowed is matches


@pytest.mark.parametrize(
    ("documents", "document", "matches"),
    [
        ("[AWS-StartPortForwardingSession]", "AWS-StartPortForwardingSession", True),
        ("[AWS-StartPortForwardingSession]", "arn:aws:ssm:us-east-1::document/AWS-StartPortForwardingSession", True),
        ("[AWS-StartPortForwardingSession]", "AWS-StartPortForwardingSessionToRemoteHost", False),
        ("['AWS-StartPortForwarding*']", "AWS-StartPortForwardingSessionToRemoteHost", True),
        ("[SSM-SessionManagerRunShell]", "", True),
        # An arn: glob names documents given by ARN: a bare name is this account's or AWS's (spec section 2).
        ("['arn:aws:ssm:eu-west-1:111122223333:document/Custom-Shell']", "Custom-Shell", False),
        (
            "['arn:aws:ssm:eu-west-1:111122223333:document/Custom-Shell']",
            "arn:aws:ssm:eu-west-1:111122223333:document/Custom-Shell",
            True,
        ),
    ],
)
def test_documents_match_by_name_after_normalisation(documents: str, document: str, matches: bool) -> None:
    subject = policy(f"rules:\n  - {{name: r, documents: {documents}}}\n")
    assert run(subject, "2026-11-24T09:00Z", document=document).allowed is matches


@pytest.mark.parametrize(
    ("given", "name"),
    [
        (None, "SSM-SessionManagerRunShell"),
        ("", "SSM-SessionManagerRunShell"),
        ("  ", "SSM-SessionManagerRunShell"),
        ("AWS-StartSSHSession", "AWS-StartSSHSession"),
        # The ledger keeps the full ARN: its account tells another account's document apart (spec section 2).
        (
            "arn:aws:ssm:eu-west-1:111122223333:document/Custom-Shell",
            "arn:aws:ssm:eu-west-1:111122223333:document/Custom-Shell",
        ),
        (
            " arn:aws:ssm:us-east-1::document/AWS-StartPortForwardingSession ",
            "arn:aws:ssm:us-east-1::document/AWS-StartPortForwardingSession",
        ),
    ],
)
def test_normalise_document_defaults_and_keeps_arns_whole(given: str | None, name: str) -> None:
    assert normalise_document(given) == name


# --- grants --------------------------------------------------------------------------------------

NOTHING = policy("rules: []\n")


@pytest.mark.parametrize(
    ("now", "state", "allowed", "lapse"),
    [
        ("2026-11-24T09:59:59Z", "active", False, "grant-not-started"),
        ("2026-11-24T10:00:00Z", "active", True, None),
        ("2026-11-24T11:59:59.999999Z", "active", True, None),
        ("2026-11-24T12:00:00Z", "active", False, "grant-expired"),
        ("2026-11-24T11:00:00Z", "revoked", False, "grant-revoked"),
        ("2026-11-24T11:00:00Z", "expired", True, None),
    ],
    ids=["before start", "at start", "just before expiry", "at expiry", "revoked", "expired state is bookkeeping"],
)
def test_a_grant_holds_from_start_inclusive_to_expiry_exclusive_unless_revoked(
    now: str, state: str, allowed: bool, lapse: str | None
) -> None:
    decision = run(NOTHING, now, grants=(grant(state=state),))
    assert decision.allowed is allowed
    if allowed:
        assert (decision.basis, decision.grant, decision.rule) == ("grant", "g-123", None)
        assert decision.deadline == at("2026-11-24T12:00Z")
    else:
        assert [item.why for item in decision.lapsed] == [lapse]


def test_grant_lapses_explain_themselves() -> None:
    revoked = grant(id="g-r", state="revoked", revoked_at="2026-11-24T10:30:00Z", revoked_by="carol")
    expired = grant(id="g-e", starts_at="2026-11-24T06:00:00Z", expires_at="2026-11-24T08:00:00Z")
    later = grant(id="g-l", starts_at="2026-11-25T10:00:00Z", expires_at="2026-11-25T12:00:00Z")

    decision = run(NOTHING, "2026-11-24T11:00Z", grants=(revoked, expired, later))

    assert [(lapse.name, lapse.why, lapse.at, lapse.detail) for lapse in decision.lapsed] == [
        (
            "g-r",
            "grant-revoked",
            at("2026-11-24T10:30Z"),
            "grant g-r was revoked at 2026-11-24T10:30:00+00:00 by carol",
        ),
        ("g-e", "grant-expired", at("2026-11-24T08:00Z"), "grant g-e expired at 2026-11-24T08:00:00+00:00"),
        ("g-l", "grant-not-started", None, "grant g-l starts at 2026-11-25T10:00:00+00:00"),
    ]
    assert decision.reasons[1:] == tuple(lapse.detail for lapse in decision.lapsed)


def test_a_grant_revoked_after_it_expired_lapses_as_expired() -> None:
    late = grant(state="revoked", revoked_at="2026-11-24T13:00:00Z")
    assert run(NOTHING, "2026-11-24T14:00Z", grants=(late,)).lapsed[0].why == "grant-expired"


@pytest.mark.parametrize(
    ("overrides", "covered"),
    [
        ({}, True),
        ({"principal": "user:bob"}, False),
        ({"principal": "role:AWSReservedSSO_Analyst_*"}, True),
        ({"targets": {"ids": ["i-9*"]}}, False),
        ({"targets": {"tags": {"Department": "Analytics"}}}, True),
        ({"targets": {"tags": {"Department": "Finance"}}}, False),
    ],
)
def test_a_grant_covers_only_its_principal_and_targets(overrides: dict[str, Any], covered: bool) -> None:
    decision = run(NOTHING, "2026-11-24T11:00Z", grants=(grant(**overrides),), tags=ANALYTICS)
    assert decision.allowed is covered
    assert grant(**overrides).covers(ALICE, "i-0abc", ANALYTICS) is covered


def test_unrelated_grants_do_not_appear_in_the_explanation() -> None:
    decision = run(NOTHING, "2026-11-24T11:00Z", grants=(grant(principal="user:bob", state="revoked"),))
    assert decision.lapsed == ()


# --- several allowances, deadlines ---------------------------------------------------------------


def test_the_allowance_that_lasts_longest_is_reported() -> None:
    # GIVEN a rule ending at 11:00 (max duration), a rule ending at 17:00 (window) and a grant to 19:00
    subject = policy(
        """\
        windows:
          day: {weekly: [{days: [tue], from: "07:00", to: "17:00"}]}
        rules:
          - {name: short, max_duration: 2h}
          - {name: daytime, windows: [day]}
        """
    )
    long_grant = grant(id="g-long", starts_at="2026-11-24T08:00:00Z", expires_at="2026-11-24T19:00:00Z")

    # WHEN the session is decided
    decision = run(subject, "2026-11-24T10:00Z", started="2026-11-24T09:00Z", grants=(long_grant,))

    # THEN the grant is the basis and its expiry the deadline
    assert (decision.basis, decision.grant, decision.rule) == ("grant", "g-long", None)
    assert decision.deadline == at("2026-11-24T19:00Z")
    assert decision.reasons == ("allowed by grant g-long until 2026-11-24T19:00:00+00:00 (reason: INC-1234 disk full)",)


def test_on_equal_deadlines_a_rule_is_reported_before_a_grant_and_earlier_rules_first() -> None:
    subject = policy(
        """\
        windows:
          day: {weekly: [{days: [tue], from: "07:00", to: "12:00"}]}
        rules:
          - {name: first, windows: [day]}
          - {name: second, windows: [day]}
        """
    )
    decision = run(subject, "2026-11-24T10:00Z", grants=(grant(),))
    assert (decision.basis, decision.rule, decision.deadline) == ("allow-rule", "first", at("2026-11-24T12:00Z"))


def test_an_indefinite_allowance_beats_any_deadline() -> None:
    subject = policy("rules:\n  - {name: short, max_duration: 30m}\n  - {name: always}\n")
    decision = run(subject, "2026-11-24T10:00Z", grants=(grant(),))
    assert (decision.rule, decision.deadline) == ("always", None)
    assert decision.reasons == ("allowed by rule always",)


@pytest.mark.parametrize(
    ("windows", "now", "deadline"),
    [
        pytest.param(
            'a: {weekly: [{days: [tue], from: "08:00", to: "12:00"}, {days: [tue], from: "12:00", to: "18:00"}]}',
            "2026-11-24T09:00Z",
            "2026-11-24T18:00Z",
            id="contiguous entries",
        ),
        pytest.param(
            'a: {weekly: [{days: [tue], from: "08:00", to: "13:00"}, {days: [tue], from: "12:00", to: "18:00"}]}',
            "2026-11-24T09:00Z",
            "2026-11-24T18:00Z",
            id="overlapping entries",
        ),
        pytest.param(
            'a: {weekly: [{days: [tue], from: "08:00", to: "12:00"}, {days: [tue], from: "12:01", to: "18:00"}]}',
            "2026-11-24T09:00Z",
            "2026-11-24T12:00Z",
            id="a one-minute gap ends it",
        ),
        pytest.param(
            'a: {weekly: [{days: [tue], from: "08:00", to: "12:00"}]}\n'
            '  b: {timezone: Europe/Berlin, weekly: [{days: [tue], from: "12:30", to: "20:00"}]}',
            "2026-11-24T09:00Z",
            "2026-11-24T19:00Z",
            id="windows in different zones chain",
        ),
        pytest.param(
            'a: {weekly: [{days: [mon, tue, wed, thu, fri, sat, sun], from: "00:00", to: "24:00"}]}',
            "2026-11-24T09:00Z",
            None,
            id="open around the clock",
        ),
        pytest.param(
            'a: {weekly: [{days: [mon, tue, wed, thu, fri, sat, sun], from: "00:00", to: "24:00"}], except: ["2026-12-01"]}',
            "2026-11-24T09:00Z",
            "2026-12-01T00:00Z",
            id="around the clock until an except date",
        ),
        pytest.param(
            'a: {weekly: [{days: [sun, mon, tue, wed, thu, fri], from: "18:00", to: "08:00"}, {days: [sat, sun], from: "00:00", to: "24:00"}]}',
            "2026-11-27T19:00Z",
            "2026-11-30T08:00Z",
            id="nights and weekend chain to monday morning",
        ),
    ],
)
def test_the_deadline_is_when_the_union_of_a_rules_windows_closes(windows: str, now: str, deadline: str | None) -> None:
    names = "[a, b]" if "\n" in windows else "[a]"
    subject = policy(f"windows:\n  {windows}\nrules:\n  - {{name: r, windows: {names}}}\n")
    decision = run(subject, now)
    assert decision.allowed
    assert decision.deadline == (None if deadline is None else at(deadline))


def test_the_deadline_is_capped_by_the_next_opening_of_a_matching_deny_window() -> None:
    # GIVEN an indefinite allow rule and a deny rule for the same host on Wednesday evenings
    subject = policy(
        """\
        windows:
          freeze: {weekly: [{days: [wed], from: "20:00", to: "22:00"}]}
        rules:
          - {name: always}
          - {name: freeze, effect: deny, windows: [freeze], targets: {ids: ["i-0*"]}}
        """
    )
    # WHEN a session on that host is decided on Tuesday
    decision = run(subject, "2026-11-24T09:00Z")
    # THEN it is allowed until the freeze begins
    assert (decision.rule, decision.deadline) == ("always", at("2026-11-25T20:00Z"))
    assert decision.reasons == (
        "allowed by rule always",
        "rule freeze denies from 2026-11-25 20:00 UTC (window freeze opens)",
    )
    # AND a host the deny rule does not cover is allowed indefinitely
    assert run(subject, "2026-11-24T09:00Z", target="mi-1").deadline is None


def test_a_deny_window_opening_after_the_allowance_ends_does_not_change_the_deadline() -> None:
    subject = policy(
        """\
        windows:
          freeze: {weekly: [{days: [wed], from: "20:00", to: "22:00"}]}
        rules:
          - {name: short, max_duration: 1h}
          - {name: freeze, effect: deny, windows: [freeze]}
        """
    )
    decision = run(subject, "2026-11-24T09:30Z", started="2026-11-24T09:00Z")
    assert decision.deadline == at("2026-11-24T10:00Z")
    assert len(decision.reasons) == 1


def test_with_default_allow_the_deadline_is_the_next_deny_window() -> None:
    subject = policy(
        """\
        default: allow
        windows:
          freeze: {weekly: [{days: [wed], from: "20:00", to: "22:00"}]}
        rules:
          - {name: freeze, effect: deny, windows: [freeze]}
        """
    )
    decision = run(subject, "2026-11-24T09:00Z")
    assert (decision.allowed, decision.basis, decision.rule) == (True, "default-allow", None)
    assert decision.deadline == at("2026-11-25T20:00Z")
    assert decision.reasons[0] == "no rule or grant allows alice@example.com on i-0abc; default is allow"


def test_with_default_allow_and_no_deny_window_the_session_is_allowed_indefinitely() -> None:
    decision = run(policy("default: allow\n"), "2026-11-24T09:00Z")
    assert (decision.allowed, decision.basis, decision.deadline) == (True, "default-allow", None)


def test_default_deny_names_who_and_where() -> None:
    decision = run(NOTHING, "2026-11-24T09:00Z", principal=BOB, target="i-0def")
    assert (decision.allowed, decision.basis, decision.rule, decision.grant, decision.deadline) == (
        False,
        "default-deny",
        None,
        None,
        None,
    )
    assert decision.reasons == ("no rule or grant allows bob on i-0def; default is deny",)


# --- the JSON view and input checks --------------------------------------------------------------


def test_to_json_has_exactly_the_explain_fields_with_a_utc_deadline() -> None:
    decision = run(OFFICE, "2026-11-24T16:00Z", tags=ANALYTICS, reason=TICKET, started="2026-11-24T16:00Z")
    assert decision.to_json() == {
        "decision": "allow",
        "rule": "analysts-on-analytics",
        "grant": None,
        "reasons": ["allowed by rule analysts-on-analytics until 18:00 Europe/Berlin (window business-hours closes)"],
        "deadline": "2026-11-24T17:00:00Z",
    }


def test_to_json_of_a_denial() -> None:
    decision = run(NOTHING, "2026-11-24T09:00Z")
    assert decision.to_json() == {
        "decision": "deny",
        "rule": None,
        "grant": None,
        "reasons": ["no rule or grant allows alice@example.com on i-0abc; default is deny"],
        "deadline": None,
    }


def test_deadlines_are_utc_whatever_the_offset_of_now() -> None:
    decision = run(OFFICE, "2026-11-24T17:00+01:00", tags=ANALYTICS, reason=TICKET, started="2026-11-24T16:00Z")
    assert decision.deadline is not None
    assert decision.deadline.utcoffset() == timedelta(0)
    assert decision.deadline == at("2026-11-24T17:00Z")


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 11, 24, 9, 0)
    with pytest.raises(ValueError, match="now must be a timezone-aware datetime"):
        decide(NOTHING, request(), [], naive)
    with pytest.raises(ValueError, match="started must be a timezone-aware datetime"):
        decide(NOTHING, request(started=naive), [], at("2026-11-24T09:00Z"))
    with pytest.raises(ValueError, match="timezone-aware"):
        grant().active_at(naive)
