"""The shipped example policy does what its comments say."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from warden.policy import Grant, Principal, decide, load_policy, principal_from_arn

from .support import ALICE, BOB, grant, request

EXAMPLE = load_policy((Path(__file__).resolve().parents[3] / "policies" / "example.yaml").read_text())
SSO = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
ON_CALL = principal_from_arn(
    "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_OnCall_42/erin@example.com",
    role_arn=SSO + "AWSReservedSSO_OnCall_42",
)
DEVELOPER = principal_from_arn(
    "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Developer_7/dan@example.com",
    role_arn=SSO + "AWSReservedSSO_Developer_7",
)
# Anyone allowed to create roles can make one of that name at another path, and name its session.
LOOKALIKE_DEVELOPER = principal_from_arn(
    "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Developer_7/alice@example.com",
    role_arn="arn:aws:iam::111122223333:role/AWSReservedSSO_Developer_7",
)
PROD = {"Environment": "prod", "Name": "prod-db-1"}
PROD_GRANT = grant(targets={"tags": {"Environment": "prod"}})

ANALYTICS = {"Department": "Analytics"}
STAGING = {"Environment": "staging"}
DEV = {"Environment": "dev"}
PORT_FORWARDING = "AWS-StartPortForwardingSession"
REMOTE_FORWARDING = "AWS-StartPortForwardingSessionToRemoteHost"
# 2026-11-24 is a Tuesday (Berlin is UTC+1); 2026-11-29 a Sunday; 2026-12-24 is in the except list.
TUESDAY_10_BERLIN = "2026-11-24T09:00Z"
TUESDAY_18_BERLIN = "2026-11-24T17:00Z"
SUNDAY_1_UTC = "2026-11-29T01:00Z"


@dataclass(frozen=True)
class Case:
    who: Principal
    tags: dict[str, str]
    now: str
    expected: tuple[str, str | None]
    document: str | None = None
    reason: str | None = None
    grants: tuple[Grant, ...] = ()
    host: str | None = None


CASES = {
    "analyst with a ticket in office hours": Case(
        ALICE, ANALYTICS, TUESDAY_10_BERLIN, ("allow", "analysts-on-analytics"), reason="ABC-1 query"
    ),
    "analyst without a ticket": Case(ALICE, ANALYTICS, TUESDAY_10_BERLIN, ("deny", None), reason="looking around"),
    "analyst after office hours": Case(ALICE, ANALYTICS, TUESDAY_18_BERLIN, ("deny", None), reason="ABC-1"),
    "analyst on christmas eve": Case(ALICE, ANALYTICS, "2026-12-24T09:00Z", ("deny", None), reason="ABC-1"),
    "analyst port forwarding": Case(
        ALICE, ANALYTICS, TUESDAY_10_BERLIN, ("deny", None), document=PORT_FORWARDING, reason="ABC-1"
    ),
    "nobody reaches prod without a grant": Case(ALICE, PROD, TUESDAY_10_BERLIN, ("deny", None)),
    "a grant opens prod": Case(ALICE, PROD, "2026-11-24T11:00Z", ("allow", "g-123"), grants=(PROD_GRANT,)),
    "a grant never opens a pci host": Case(
        ALICE, {**PROD, "Compliance": "pci"}, "2026-11-24T11:00Z", ("deny", "no-pci"), grants=(PROD_GRANT,)
    ),
    "on-call on saturday night": Case(ON_CALL, STAGING, SUNDAY_1_UTC, ("allow", "ops-on-call-maintenance")),
    "on-call on a weekday night": Case(ON_CALL, STAGING, "2026-11-24T01:00Z", ("deny", None)),
    "on-call never on prod": Case(ON_CALL, PROD, SUNDAY_1_UTC, ("deny", None)),
    "developer port forwarding to dev": Case(
        DEVELOPER, DEV, "2026-11-24T23:00Z", ("allow", "developers-port-forwarding"), document=PORT_FORWARDING
    ),
    "developer shell on dev": Case(DEVELOPER, DEV, "2026-11-24T23:00Z", ("deny", None)),
    "developer tunnel to a dev database": Case(
        DEVELOPER,
        DEV,
        "2026-11-24T23:00Z",
        ("allow", "developers-port-forwarding"),
        document=REMOTE_FORWARDING,
        host="orders.dev.internal",
    ),
    "developer tunnel through dev to a prod database": Case(
        DEVELOPER, DEV, "2026-11-24T23:00Z", ("deny", None), document=REMOTE_FORWARDING, host="orders.prod.internal"
    ),
    "developer tunnel to an unknown host": Case(
        DEVELOPER, DEV, "2026-11-24T23:00Z", ("deny", None), document=REMOTE_FORWARDING
    ),
    "a look-alike Developer role at another path": Case(
        LOOKALIKE_DEVELOPER, DEV, "2026-11-24T23:00Z", ("deny", None), document=PORT_FORWARDING
    ),
    "a look-alike role's session named like an analyst": Case(
        LOOKALIKE_DEVELOPER, ANALYTICS, TUESDAY_10_BERLIN, ("deny", None), reason="ABC-1 query"
    ),
    "an IAM user nobody mentions": Case(BOB, DEV, TUESDAY_10_BERLIN, ("deny", None)),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_the_example_policy_decides_as_documented(case: Case) -> None:
    # GIVEN the example policy and a session
    session = replace(
        request(principal=case.who, tags=case.tags, document=case.document, reason=case.reason, started=case.now),
        host=case.host,
    )
    # WHEN it is decided
    decision = decide(EXAMPLE, session, list(case.grants), session.started)
    # THEN the outcome and what decided it are as the policy's comments promise
    assert (decision.decision, decision.rule or decision.grant) == case.expected, decision.reasons
