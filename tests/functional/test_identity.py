"""Who a session is, on both paths: only what AWS vouches for (SPEC section 2, "The identity of a session")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.functional.conftest import Stack
from warden.adapters.dynamo import from_item, to_item
from warden.policy import Grant
from warden.sweeper import ADOPTION_GRACE

pytestmark = pytest.mark.functional

POLICY = """\
version: 1
mode: enforce
default: deny
rules:
  - name: no-pci
    effect: deny
    targets: {tags: {Compliance: pci}}
  - name: alice-by-name
    principals: ["user:alice@example.com"]
    targets: {tags: {Department: Analytics}}
  - name: analysts
    principals: ["permission-set:Analyst"]
    targets: {tags: {Department: Finance}}
"""


def sso_ssm(stack: Stack, user: str, permission_set: str) -> Any:
    return stack.cloud.sso_user(user, permission_set=permission_set).client("ssm")


def terminated_mail(stack: Stack, session_id: str) -> str:
    mails = [mail for mail in stack.inbox.about(session_id) if mail.kind == "session-terminated"]
    assert mails, f"no termination alert for {session_id}; got {stack.inbox.kinds()}"
    return mails[-1].body


@pytest.fixture
def identity_stack(stack: Stack) -> Stack:
    stack.cloud.put_policy(POLICY)
    return stack


def test_role_session_named_like_a_user_does_not_get_that_users_rules(identity_stack: Stack) -> None:
    # GIVEN a rule for user:alice@example.com, and an ordinary role whose caller picked that session name
    stack = identity_stack
    analytics = stack.cloud.add_instance({"Department": "Analytics"})
    impostor = stack.person("alice@example.com", role="Contractors")
    # WHEN that role session starts a session on Analytics
    session = stack.start(impostor, analytics)
    # THEN it is denied and ended: a role session name is the caller's choice, never a user's name
    assert session not in stack.active()
    row = stack.row(session)
    assert (row.decision, row.principal) == ("deny", "Contractors/alice@example.com")
    assert "Contractors/alice@example.com" in terminated_mail(stack, session)


def test_grant_for_a_user_does_not_cover_a_role_session_of_that_name(identity_stack: Stack) -> None:
    # GIVEN a grant to user:bob on prod
    stack = identity_stack
    prod = stack.cloud.add_instance({"Environment": "prod"})
    now = stack.cloud.clock.now()
    stack.grants.create(
        Grant(
            id="g-bob",
            principal="user:bob",
            targets={"tags": {"Environment": "prod"}},  # type: ignore[arg-type]
            starts_at=now,
            expires_at=now + timedelta(hours=1),
            reason="INC-1 failover",
            created_by="arn:aws:iam::123456789012:user/oncall-lead",
        )
    )
    # WHEN the IAM user bob and a role session someone named "bob" both start sessions on prod
    real_bob = stack.start(stack.person("bob"), prod)
    named_bob = stack.start(stack.person("bob", role="Ops"), prod)
    # THEN only the IAM user is covered by the grant
    assert real_bob in stack.active() and named_bob not in stack.active()
    assert (stack.row(real_bob).decision, stack.row(real_bob).grant) == ("allow", "g-bob")
    assert stack.row(named_bob).decision == "deny"


def test_role_named_like_a_permission_set_outside_the_identity_center_path_is_not_that_set(
    identity_stack: Stack,
) -> None:
    # GIVEN permission-set:Analyst allows Finance, and someone creates AWSReservedSSO_Analyst_x at "/"
    stack = identity_stack
    finance = stack.cloud.add_instance({"Department": "Finance"})
    lookalike = stack.person("mallory", role="AWSReservedSSO_Analyst_0123456789abcdef")
    # WHEN its session starts on Finance
    session = stack.start(lookalike, finance)
    # THEN it is not the permission set: denied and ended
    assert session not in stack.active()
    assert stack.row(session).decision == "deny"


def test_identity_center_users_are_allowed_by_user_and_permission_set_rules_on_the_event_path(
    identity_stack: Stack,
) -> None:
    # GIVEN Identity Center users: alice signed in with any permission set, carol with Analyst
    stack = identity_stack
    analytics = stack.cloud.add_instance({"Department": "Analytics"})
    finance = stack.cloud.add_instance({"Department": "Finance"})
    alice = stack.start(sso_ssm(stack, "alice@example.com", "Viewer"), analytics)
    carol = stack.start(sso_ssm(stack, "carol@example.com", "Analyst"), finance)
    # WHEN their StartSession events are decided and a sweep re-decides them
    stack.cloud.advance("1m")
    # THEN both stay open, each allowed by its rule, under the name AWS vouches for
    assert {alice, carol} <= stack.active()
    assert (stack.row(alice).rule, stack.row(alice).principal) == ("alice-by-name", "alice@example.com")
    assert (stack.row(carol).rule, stack.row(carol).principal) == ("analysts", "carol@example.com")
    assert not stack.inbox.kinds()


def test_identity_center_sessions_whose_start_event_was_lost_are_adopted_on_the_same_identity(
    identity_stack: Stack,
) -> None:
    # GIVEN Identity Center sessions whose StartSession events never reach the warden
    stack = identity_stack
    analytics = stack.cloud.add_instance({"Department": "Analytics"})
    finance = stack.cloud.add_instance({"Department": "Finance"})
    stack.cloud.faults.drop_next_event("StartSession")
    alice = stack.start(sso_ssm(stack, "alice@example.com", "Viewer"), analytics)
    stack.cloud.faults.drop_next_event("StartSession")
    carol = stack.start(sso_ssm(stack, "carol@example.com", "Analyst"), finance)
    # WHEN the sweeper adopts them, past the adoption grace, from DescribeSessions' Owner and IAM's role path
    stack.cloud.advance(ADOPTION_GRACE + timedelta(minutes=1))
    # THEN they stay open, allowed by the same rules as on the event path
    assert {alice, carol} <= stack.active()
    for session, rule in ((alice, "alice-by-name"), (carol, "analysts")):
        row = stack.row(session)
        assert (row.adopted, row.decision, row.rule) == (True, "allow", rule)
    assert not stack.inbox.kinds()
    assert not stack.errors()


def test_sweeper_leaves_a_session_unjudged_when_iam_cannot_give_its_role_path(identity_stack: Stack) -> None:
    # GIVEN an Identity Center session whose start event was lost, and IAM GetRole failing for a while
    stack = identity_stack
    finance = stack.cloud.add_instance({"Department": "Finance"})
    stack.cloud.faults.drop_next_event("StartSession")
    carol = stack.start(sso_ssm(stack, "carol@example.com", "Analyst"), finance)
    stack.cloud.advance(ADOPTION_GRACE - timedelta(minutes=1))
    stack.cloud.faults.fail("iam:GetRole", code="AccessDenied", status=403, times=100)
    # WHEN a sweep is due to adopt it
    stack.cloud.advance("2m")
    # THEN it is neither killed nor adopted on a guess, and the sweep says it could not settle it
    assert carol in stack.active()
    assert stack.ledger.get(carol) is None
    assert any("SweepIncomplete" in error and carol in error for error in stack.errors())
    # AND once IAM answers again the next sweep adopts it as the Analyst it is
    stack.cloud.faults.clear()
    stack.cloud.advance("1m")
    assert carol in stack.active()
    assert (stack.row(carol).decision, stack.row(carol).rule) == ("allow", "analysts")


def test_a_deny_rule_that_names_no_one_ends_a_session_even_when_iam_cannot_give_its_role_path(
    identity_stack: Stack,
) -> None:
    # GIVEN a lost start event of an Identity Center session on a pci target, and IAM GetRole failing
    stack = identity_stack
    pci = stack.cloud.add_instance({"Department": "Finance", "Compliance": "pci"})
    stack.cloud.faults.drop_next_event("StartSession")
    carol = stack.start(sso_ssm(stack, "carol@example.com", "Analyst"), pci)
    stack.cloud.faults.fail("iam:GetRole", code="AccessDenied", status=403, times=100)
    # WHEN the sweeper adopts it
    stack.cloud.advance(ADOPTION_GRACE + timedelta(minutes=1))
    # THEN no-pci denies whoever it is: ended
    assert carol not in stack.active()
    assert stack.row(carol).rule == "no-pci"


LEDGER_POLICY = """\
version: 1
mode: enforce
default: deny
rules:
  - name: alice-shell
    principals: ["user:alice"]
    targets: {tags: {Department: Analytics}}
    documents: [SSM-SessionManagerRunShell]
    require_reason: "^TICKET-[0-9]+"
"""

CAROL_ONLY = """\
version: 1
mode: enforce
default: deny
rules:
  - name: carol-only
    principals: ["user:carol"]
    targets: {tags: {Department: Analytics}}
    documents: [Carol-Shell]
    require_reason: "^CAROL-[0-9]+"
"""


def edit_row(stack: Stack, session_id: str, **fields: Any) -> None:
    dynamodb, table = stack.cloud.client("dynamodb"), stack.outputs["LedgerTableName"]
    item = from_item(dynamodb.get_item(TableName=table, Key={"session_id": {"S": session_id}})["Item"])
    item.update(fields)
    dynamodb.put_item(TableName=table, Item=to_item(item))


def test_sweeper_decides_on_aws_facts_not_on_an_edited_ledger_row(stack: Stack) -> None:
    # GIVEN alice's allowed session, and a policy that now allows only carol, with her document and reason
    stack.cloud.put_policy(LEDGER_POLICY)
    analytics = stack.cloud.add_instance({"Department": "Analytics"})
    session = stack.start(stack.person("alice"), analytics, Reason="TICKET-7 check disk")
    assert session in stack.active()
    stack.cloud.put_policy(CAROL_ONLY)
    # WHEN someone with access to the table rewrites the row as carol's session
    carol_arn = "arn:aws:iam::123456789012:user/carol"
    edit_row(
        stack,
        session,
        identity={"arn": carol_arn, "account": "123456789012", "kind": "IAMUser", "user": "carol"},
        principal_arn=carol_arn,
        principal="carol",
        document="Carol-Shell",
        reason="CAROL-1",
        tags={"Department": "Analytics"},
    )
    stack.cloud.advance("1m")
    # THEN the sweep judged alice's session as DescribeSessions and IAM describe it: ended
    assert session not in stack.active()
    row = stack.row(session)
    assert (row.decision, row.principal, row.document) == ("deny", "alice", "SSM-SessionManagerRunShell")
    assert row.reason == "TICKET-7 check disk"
    assert "alice" in terminated_mail(stack, session)
