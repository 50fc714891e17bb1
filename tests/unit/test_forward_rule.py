"""The forward-rule judgement: a member's forward rule covers every event the central bus's rules need, or the reason
a person reads says which rule, where, which events are lost and what that means. The member admin writes the rule:
anything the judgement cannot prove is not covered."""

from __future__ import annotations

import json
import random
import time
from typing import Any

import pytest

from tests.unit.test_template_org import CENTRAL_ACCOUNT, HOME, MEMBER_ACCOUNT, STACK, central, org_rules
from tests.unit.test_template_org import forward_pattern as deployed_pattern
from warden.policy.forward_rule import (
    ForwardRule,
    ForwardTarget,
    NeededRule,
    PatternError,
    branches,
    forward_rule_problem,
    parse_pattern,
    uncovered,
    value_covered,
    wildcard_match,
)

RULE = f"{STACK}-forward"
BUS = f"arn:aws:events:{HOME}:{CENTRAL_ACCOUNT}:event-bus/{STACK}-central"
ROLE = f"arn:aws:iam::{MEMBER_ACCOUNT}:role/StackSet-{STACK}-members-ForwardRole-ABC"
REGION = "eu-west-1"


def needed() -> list[NeededRule]:
    """The central bus's rules as ListRules gives them: resolved names and JSON patterns."""
    resolver = central()
    return [
        NeededRule(
            name=resolver.resolve(rule["Properties"]["Name"]),
            pattern=json.dumps(resolver.resolve(rule["Properties"]["EventPattern"])),
        )
        for rule in org_rules().values()
    ]


def rule_with(
    pattern: Any = None, *, state: str = "ENABLED", targets: tuple[ForwardTarget, ...] | None = None
) -> ForwardRule:
    text = pattern if isinstance(pattern, str) else json.dumps(deployed_pattern() if pattern is None else pattern)
    return ForwardRule(
        name=RULE,
        state=state,
        pattern=text,
        targets=targets if targets is not None else (ForwardTarget(arn=BUS, role_arn=ROLE, rewrites=False),),
    )


def problem_of(rule: ForwardRule | None) -> str | None:
    return forward_rule_problem(
        rule, rule_name=RULE, needed=needed(), central_bus_arn=BUS, account=MEMBER_ACCOUNT, region=REGION
    )


def session_branch(pattern: dict[str, Any]) -> dict[str, Any]:
    [found] = [b for b in pattern["$or"] if "StartSession" in b["detail"].get("eventName", [])]
    return found


def test_the_deployed_forward_rule_forwards_every_event_the_central_rules_need() -> None:
    assert problem_of(rule_with()) is None
    assert len(needed()) == len(org_rules()) >= 5


def test_a_rule_narrowed_to_drop_session_calls_names_the_rule_account_region_lost_events_and_what_it_means() -> None:
    # GIVEN the member admin removed StartSession and TerminateSession, keeping the canary's PutParameter
    narrowed = deployed_pattern()
    session_branch(narrowed)["detail"]["eventName"] = ["ResumeSession"]
    # WHEN judged THEN the reason names them and says sessions are seen only by the sweeper
    problem = problem_of(rule_with(narrowed))
    assert problem == (
        f"forward rule {RULE} in account {MEMBER_ACCOUNT} region {REGION} no longer forwards StartSession, "
        "TerminateSession: session events from there reach the warden only through the sweeper"
    )


def test_a_rule_narrowed_to_drop_tamper_events_says_they_reach_the_warden_not_at_all() -> None:
    narrowed = deployed_pattern()
    narrowed["$or"] = [b for b in narrowed["$or"] if b["source"] != ["aws.cloudtrail"]]
    problem = problem_of(rule_with(narrowed))
    assert problem is not None
    assert "no longer forwards StopLogging, DeleteTrail, UpdateTrail, PutEventSelectors" in problem
    assert problem.endswith("tamper events from there not at all")


def test_a_rule_narrowed_by_a_tighter_resource_name_is_not_covered() -> None:
    # The canary's PutParameter still comes back, but the policy parameter's writes do not.
    narrowed = deployed_pattern()
    [parameters] = [b for b in narrowed["$or"] if "PutParameter" in b["detail"]["eventName"]]
    parameters["detail"]["requestParameters"]["name"] = [f"/session-warden/{STACK}/canary"]
    problem = problem_of(rule_with(narrowed))
    assert problem is not None and "no longer forwards PutParameter, DeleteParameter" in problem


@pytest.mark.parametrize(
    "wider",
    [
        {"detail-type": ["AWS API Call via CloudTrail"]},
        {"source": [{"prefix": "aws."}]},
        {"detail": {"eventSource": [{"wildcard": "*.amazonaws.com"}]}},
        {"detail": {"eventName": [{"exists": True}]}},
    ],
)
def test_a_wider_pattern_is_covered(wider: dict[str, Any]) -> None:
    assert problem_of(rule_with(wider)) is None


def test_a_pattern_with_its_names_widened_to_prefixes_and_wildcards_is_covered() -> None:
    wider = deployed_pattern()
    for branch in wider["$or"]:
        for field in (branch["detail"].get("requestParameters") or {}).values():
            field[:] = [{"prefix": ""}]
    session_branch(wider)["detail"]["eventName"] = [{"wildcard": "*Session"}]
    assert problem_of(rule_with(wider)) is None


def test_a_reordered_pattern_is_covered() -> None:
    shuffled = deployed_pattern()
    generator = random.Random(7)
    generator.shuffle(shuffled["$or"])
    for branch in shuffled["$or"]:
        generator.shuffle(branch["detail"]["eventName"])
    reordered = dict(reversed(list(shuffled.items())))
    assert problem_of(rule_with(reordered)) is None


def test_an_or_moved_inside_detail_is_read_as_eventbridge_reads_it() -> None:
    # GIVEN the session calls and everything else, written with a nested $or
    pattern = deployed_pattern()
    session = session_branch(pattern)
    nested = {
        "detail-type": ["AWS API Call via CloudTrail"],
        "$or": [
            {"source": ["aws.ssm"], "detail": {"$or": [session["detail"], {"eventName": ["SendCommand"]}]}},
            *[b for b in pattern["$or"] if b is not session],
        ],
    }
    assert problem_of(rule_with(nested)) is None


def test_a_disabled_rule_is_not_covered() -> None:
    assert problem_of(rule_with(state="DISABLED")) == (
        f"forward rule {RULE} in account {MEMBER_ACCOUNT} region {REGION} is DISABLED (not ENABLED): no event from "
        "there reaches the warden: sessions there are adopted only by the sweeper; tamper events are lost"
    )


def test_a_missing_rule_is_not_covered() -> None:
    problem = problem_of(None)
    assert problem is not None and problem.startswith(f"forward rule {RULE} in account {MEMBER_ACCOUNT} region ")
    assert "is missing" in problem


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        ((ForwardTarget(arn=BUS.replace(CENTRAL_ACCOUNT, "999999999999"), role_arn=ROLE, rewrites=False),), "targets"),
        ((), "its targets: none"),
        ((ForwardTarget(arn=BUS, role_arn=None, rewrites=False),), "without a role of this account"),
        (
            (ForwardTarget(arn=BUS, role_arn="arn:aws:iam::999999999999:role/x", rewrites=False),),
            "without a role of this account",
        ),
        ((ForwardTarget(arn=BUS, role_arn=ROLE, rewrites=True),), "rewrites the events it forwards"),
    ],
)
def test_a_wrong_target_is_not_covered(targets: tuple[ForwardTarget, ...], expected: str) -> None:
    problem = problem_of(rule_with(targets=targets))
    assert problem is not None and expected in problem


def test_a_second_target_beside_the_central_bus_does_not_matter() -> None:
    extra = ForwardTarget(arn="arn:aws:events:us-east-1:222222222222:event-bus/audit", role_arn=ROLE, rewrites=True)
    assert problem_of(rule_with(targets=(extra, ForwardTarget(arn=BUS, role_arn=ROLE, rewrites=False)))) is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ("", "no event pattern"),
        ('{"a": ' * 5000 + "{}" + "}" * 5000, "the event pattern is n"),  # not JSON to Python, or too deep
        (json.dumps({"source": ["aws.ssm"], "$or": "everything"}), "$or"),
        ('{"a": ' * 14 + "{}" + "}" * 14, "deeper"),
        (json.dumps({"x": " " * 70000}), "characters long"),
        # a key written twice: EventBridge applies both values, a JSON reader only the last
        (
            '{"source": ["aws.ssm"], "detail": {"eventName": ["X"]}, "detail": {"eventName": ["StartSession"]}}',
            "repeats",
        ),
        ('{"$or": [{"source": ["aws.ssm"]}], "$or": [{"source": ["aws.events"]}]}', "repeats the key '$or'"),
        ('{"detail.eventName": ["StartSession"]}', "a key with a dot"),
    ],
)
def test_an_unreadable_pattern_is_not_covered_and_says_why(text: str, why: str) -> None:
    problem = problem_of(rule_with(text))
    assert problem is not None and "cannot read" in problem and why in problem and "forwarding nothing" in problem


def test_a_pattern_of_many_nested_ors_is_refused_not_expanded() -> None:
    # 2**12 alternatives: refused before it costs the sweep its time.
    pattern: dict[str, Any] = {}
    node = pattern
    for level in range(12):
        node["$or"] = [{f"a{level}": ["x"]}, {f"b{level}": ["y"], "next": {}}]
        node = node["$or"][1]["next"]
    started = time.perf_counter()
    with pytest.raises(PatternError, match=r"alternatives|deeper"):
        branches(parse_pattern(json.dumps(pattern)))
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize(
    "matcher",
    [
        {"prefix": {"equals-ignore-case": "session-warden-"}},
        {"wildcard": "session-warde?-*"},  # '?' is no wildcard in EventBridge
        {"wildcard": "session\\-warden-*"},
        {"anything-but": ["nothing"]},
        {"prefix": "session-warden-", "suffix": "x"},
        {"numeric": [">", 0]},
    ],
)
def test_a_matcher_the_judgement_cannot_prove_is_not_covered_and_never_crashes(matcher: dict[str, Any]) -> None:
    narrowed = deployed_pattern()
    [rules] = [b for b in narrowed["$or"] if "DisableRule" in b["detail"]["eventName"]]
    rules["detail"]["requestParameters"]["name"] = [matcher]
    problem = problem_of(rule_with(narrowed))
    assert problem is not None and "no longer forwards DisableRule, DeleteRule, PutRule" in problem


def test_the_central_only_policy_store_events_are_not_asked_of_members() -> None:
    # GIVEN a central rule that also watches the AppConfig policy store (in the central account only)
    [tamper] = [rule for rule in needed() if rule.name.endswith("-org-tamper-watch")]
    policy_store = [
        b for b in uncovered(deployed_pattern(), json.loads(tamper.pattern)) if b["source"] == ["aws.appconfig"]
    ]
    assert policy_store  # the forward rule does not carry them
    # THEN the deployed forward rule is still judged complete
    assert problem_of(rule_with()) is None


def test_wildcards_match_as_eventbridge_does_in_linear_time() -> None:
    assert wildcard_match("arn:*:ssm:*:*:document/sw-*", "arn:aws:ssm:eu-west-1:222222222222:document/sw-x")
    assert not wildcard_match("arn:*:ssm:*", "arn:aws:lambda:x")
    assert wildcard_match("*", "")
    assert not wildcard_match("a?c", "abc")
    started = time.perf_counter()
    assert not wildcard_match("*a" * 2000 + "b", "a" * 3000)
    assert time.perf_counter() - started < 2


def test_the_central_accounts_own_warning_document_is_not_asked_of_members() -> None:
    # GIVEN the central tamper rule names the central stack's warning document by a name no member prefix covers
    document = "4736e9fb-fbe3-483b-9fc3-849128cc19b2"
    arn = f"arn:aws:ssm:{HOME}:{CENTRAL_ACCOUNT}:document/{document}"
    rules = []
    for rule in needed():
        pattern = json.loads(rule.pattern)
        for branch in pattern.get("$or", []):
            names = branch["detail"].get("requestParameters", {}).get("name")
            if "UpdateDocument" in branch["detail"]["eventName"] and names is not None:
                names[1:] = [document, arn]
        rules.append(NeededRule(rule.name, json.dumps(pattern)))

    def judged(central_only: frozenset[str]) -> str | None:
        return forward_rule_problem(
            rule_with(),
            rule_name=RULE,
            needed=rules,
            central_bus_arn=BUS,
            account=MEMBER_ACCOUNT,
            region=REGION,
            central_only=central_only,
        )

    # THEN with the document named as the central account's own, the deployed forward rule is complete
    assert judged(frozenset({document, arn})) is None
    # AND without, its events count as lost (the check does see them)
    problem = judged(frozenset())
    assert problem is not None and "UpdateDocument" in problem
    # AND the Session Manager preferences document is still asked of members
    narrowed = deployed_pattern()
    [documents] = [b for b in narrowed["$or"] if "UpdateDocument" in b["detail"]["eventName"]]
    documents["detail"]["requestParameters"]["name"] = [{"prefix": "session-warden-"}]
    assert forward_rule_problem(
        rule_with(narrowed),
        rule_name=RULE,
        needed=rules,
        central_bus_arn=BUS,
        account=MEMBER_ACCOUNT,
        region=REGION,
        central_only=frozenset({document, arn}),
    )


@pytest.mark.parametrize(
    ("wide", "narrow", "covered"),
    [
        # a member's document wildcard takes in the central rule's exact-name wildcard (stars in the middle)
        ("arn:*:ssm:*:*:document/sw-*", {"wildcard": "arn:*:ssm:*:*:document/sw-session-notice-1"}, True),
        ("arn:*:ssm:*:*:document/sw-*", {"wildcard": "arn:aws:ssm:*:*:document/sw-x*"}, True),
        ("arn:*:ssm:*:*:document/sw-*", {"prefix": "arn:aws:ssm:eu-west-1:1:document/sw-"}, True),
        # narrower than the central need: not covered
        ("arn:*:ssm:*:*:document/sw-session-notice-1", {"wildcard": "arn:*:ssm:*:*:document/sw-*"}, False),
        ("arn:aws:ssm:*:*:document/sw-*", {"wildcard": "arn:*:ssm:*:*:document/sw-*"}, False),
        ("arn:*:ssm:*:*:document/sw-*", {"prefix": "arn:aws:ssm:"}, False),
    ],
)
def test_a_wildcard_covers_exactly_the_wildcards_and_prefixes_it_takes_in(
    wide: str, narrow: dict[str, str], covered: bool
) -> None:
    assert value_covered(narrow, [{"wildcard": wide}]) is covered


def test_the_central_only_sweep_fan_out_events_are_not_asked_of_members() -> None:
    # GIVEN the central tamper rule also watches the sweep queues and the sweep worker's event source mapping
    [tamper] = [rule for rule in needed() if rule.name.endswith("-org-tamper-watch")]
    fan_out = [
        branch
        for branch in uncovered(deployed_pattern(), json.loads(tamper.pattern))
        if branch["source"] == ["aws.sqs"] or "EventSourceMapping" in json.dumps(branch["detail"]["eventName"])
    ]
    # the forward rule carries none of them (no member has the queues or the mapping)
    assert sorted(json.dumps(branch["detail"]["eventName"]) for branch in fan_out) == sorted(
        json.dumps(name)
        for name in (
            [{"prefix": "UpdateEventSourceMapping"}],
            [{"prefix": "DeleteEventSourceMapping"}],
            ["SetQueueAttributes"],
            ["PurgeQueue"],
            ["DeleteQueue"],
        )
    )
    # THEN the deployed forward rule is still judged complete
    assert problem_of(rule_with()) is None


def test_a_forward_rule_narrowed_by_a_repeated_key_is_not_covered() -> None:
    # GIVEN the deployed pattern with, in every branch, an earlier "detail" that EventBridge would apply as well
    # (only the warden role's own calls forwarded) and that a JSON reader would drop
    pattern = deployed_pattern()
    text = json.dumps(pattern)
    narrowing = '"detail": {"userIdentity": {"arn": [{"prefix": "arn:aws:sts::222222222222:assumed-role/w/"}]}}, '
    text = text.replace('"detail": {', narrowing + '"detail": {')
    assert json.loads(text) == pattern  # what a plain JSON reader sees is the deployed pattern
    # WHEN it is judged THEN the rule is not covered, and the reason says why
    problem = problem_of(rule_with(text))
    assert problem is not None and "repeats the key 'detail'" in problem
