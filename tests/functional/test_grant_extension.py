"""A grant extended in time keeps its sessions open: the sweeper moves their deadline and ends them at the new expiry.

Also the extension's conditional write on the stack's real grants table, and alerts on the real topic: e-mail and
SQS subscribers get the e-mail text (the default of the per-protocol message), and subscription filters still work.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.cli.conftest import cli_env, run_warden
from tests.functional.conftest import TUESDAY_MORNING, Stack
from tests.functional.test_sweeper import grant
from warden.errors import GrantConflict
from warden.policy import Grant

pytestmark = pytest.mark.functional


def bob_on_prod(stack: Stack, grant_id: str) -> Grant:
    """A one-hour grant for bob on ``Environment=prod``, from now."""
    return grant(stack, grant_id)


def test_a_session_under_a_grant_extended_in_time_is_not_ended_at_the_old_expiry(stack: Stack) -> None:
    # GIVEN a one-hour grant for bob on production (until 10:00) and bob's session under it
    bob_on_prod(stack, "g-0extendme000")
    prod = stack.cloud.add_instance({"Name": "prod-db-1", "Environment": "prod"})
    session = stack.start(stack.person("bob"), prod)
    assert stack.row(session).deadline == TUESDAY_MORNING + timedelta(hours=1)
    # WHEN at 09:30 the on-call lead extends it by 30 minutes with `warden grant extend`
    stack.cloud.advance("30m")
    result = run_warden(
        "grant", "extend", "g-0extendme000", "--for", "30m", "--reason", "INC-4711 still failing over",
        env=cli_env(stack.cloud),
    )  # fmt: skip
    assert result.code == 0, result.stderr
    # THEN at the next sweep the ledger's deadline is the new expiry
    stack.cloud.advance("1m")
    assert stack.row(session).deadline == TUESDAY_MORNING + timedelta(hours=1, minutes=30)
    # AND the sweeps at and after the old expiry leave the session open, with no termination or expiry alert
    stack.cloud.advance("29m")  # 10:00
    stack.cloud.advance("1m")
    assert session in stack.active()
    assert stack.inbox.kinds() == ["grant-extended"]
    # AND the sweep of the new expiry minute ends it, saying the grant expired at 10:30
    stack.cloud.advance("29m")  # 10:30
    assert session not in stack.active()
    # (warned ten minutes before the new expiry, at 10:20: the old one's warnings never came due)
    assert stack.inbox.kinds() == ["grant-extended", "session-expiring", "grant-expired", "session-terminated"]
    terminated = [mail.body for mail in stack.inbox.mails() if mail.kind == "session-terminated"][-1]
    assert "  - grant g-0extendme000 expired at 2026-11-24 10:30:00 UTC" in terminated
    assert stack.row(session).ended_at == TUESDAY_MORNING + timedelta(hours=1, minutes=30)
    assert stack.errors() == []


def test_an_extension_from_a_stale_read_does_not_overwrite_one_that_landed_first(stack: Stack) -> None:
    # GIVEN two operators who read the same grant
    read = bob_on_prod(stack, "g-0racing00000")
    now = stack.cloud.clock.now()
    first, _ = stack.grants.extend(read, until=read.expires_at + timedelta(minutes=30), by="a", reason="r1", now=now)
    # WHEN the second writes from the stale read THEN it is refused, saying what changed, and the first stands
    with pytest.raises(GrantConflict, match="changed meanwhile: it now expires at 2026-11-24T10:30:00Z"):
        stack.grants.extend(read, until=read.expires_at + timedelta(hours=2), by="b", reason="r2", now=now)
    assert stack.grants.get(read.id) == first


def test_a_revoke_that_lands_before_the_extension_stays_revoked(stack: Stack) -> None:
    read = bob_on_prod(stack, "g-0revokefirst")
    now = stack.cloud.clock.now()
    stack.grants.revoke(read.id, by="oncall-lead", now=now)
    with pytest.raises(GrantConflict, match="was revoked at 2026-11-24T09:00:00Z by oncall-lead"):
        stack.grants.extend(read, until=read.expires_at + timedelta(hours=1), by="b", reason="r", now=now)
    stored = stack.grants.get(read.id)
    assert stored is not None and (stored.state, stored.expires_at) == ("revoked", read.expires_at)


def test_sqs_and_email_subscribers_get_the_email_text_and_filter_policies_still_match(stack: Stack) -> None:
    # GIVEN a second subscriber that only wants HIGH alerts (a filter policy on the severity attribute)
    sqs, sns = stack.cloud.client("sqs"), stack.cloud.client("sns")
    url = sqs.create_queue(QueueName="high-only")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=stack.outputs["AlertsTopicArn"],
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"FilterPolicy": json.dumps({"severity": ["HIGH"]})},
    )
    # WHEN a grant expires (INFO) and ends a session (HIGH)
    bob_on_prod(stack, "g-0filtered000")
    session = stack.start(stack.person("bob"), stack.cloud.add_instance({"Environment": "prod"}))
    stack.cloud.advance("1h")
    assert session not in stack.active()
    # THEN the inbox gets them as plain e-mail text, not the per-protocol JSON (the warning 10 minutes before, INFO,
    # then the expiry and the termination)
    mails = stack.inbox.mails()
    assert [mail.kind for mail in mails] == ["session-expiring", "grant-expired", "session-terminated"]
    assert mails[2].body.startswith("Session Warden terminated a Session Manager session.\n")
    assert '"https"' not in mails[2].body
    # AND the filtered subscriber gets only the HIGH one
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    envelopes = [json.loads(message["Body"]) for message in messages]
    assert [envelope["MessageAttributes"]["kind"]["Value"] for envelope in envelopes] == ["session-terminated"]
    assert envelopes[0]["Message"] == mails[2].body
