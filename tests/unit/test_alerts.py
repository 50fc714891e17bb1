"""Golden tests: the exact e-mail a person receives for three alerts (SPEC section 4)."""

from __future__ import annotations

from datetime import UTC, datetime

from warden.alerts.lifecycle import grant_alert, policy_rejected_alert
from warden.alerts.session import session_alert
from warden.alerts.text import AlertContext
from warden.policy import Grant
from warden.records import LedgerEntry

CONTEXT = AlertContext(stack="session-warden", region="eu-central-1", account="123456789012")

ENTRY = LedgerEntry(
    session_id="alice@example.com-4f2kx7p9qz3m8n6r5t2v7w9y3b",
    principal="alice@example.com",
    principal_arn="arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_DBAdmin_0123456789abcdef/alice@example.com",
    target="i-0a1b2c3d4e5f60718",
    target_name="prod-db-1",
    document="SSM-SessionManagerRunShell",
    reason="INC-4711 replica lag",
    started_at=datetime(2026, 11, 24, 9, 12, 3, tzinfo=UTC),
)

TERMINATED = """\
Session Warden terminated a Session Manager session.

  Who:           alice@example.com
  Identity:      arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_DBAdmin_0123456789abcdef/alice@example.com
  Target:        i-0a1b2c3d4e5f60718 (prod-db-1)
  Document:      SSM-SessionManagerRunShell
  Started:       2026-11-24 09:12:03 UTC
  Reason given:  INC-4711 replica lag
  Session:       alice@example.com-4f2kx7p9qz3m8n6r5t2v7w9y3b

Decision: deny (grant expired)
  - grant g-7h3k9m2p4q8r for user:alice@example.com expired at 2026-11-24 10:00:00 UTC
  - no rule or grant allows alice@example.com on i-0a1b2c3d4e5f60718; default is deny

Action: terminated at 2026-11-24 10:00:31 UTC; DescribeSessions confirms it is no longer active.

Session history (AWS console):
  https://eu-central-1.console.aws.amazon.com/systems-manager/session-manager/session-history?region=eu-central-1

--
Session Warden (stack session-warden, account 123456789012, eu-central-1)
severity HIGH, kind session-terminated
"""

WOULD_TERMINATE = """\
A Session Manager session breaks the policy. The policy is in monitor mode, so it was NOT terminated.

  Who:           alice@example.com
  Identity:      arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_DBAdmin_0123456789abcdef/alice@example.com
  Target:        i-0a1b2c3d4e5f60718 (prod-db-1)
  Document:      SSM-SessionManagerRunShell
  Started:       2026-11-24 09:12:03 UTC
  Reason given:  INC-4711 replica lag
  Session:       alice@example.com-4f2kx7p9qz3m8n6r5t2v7w9y3b

Decision: deny (denied by rule no-pci)
  - denied by rule no-pci (target tag Compliance=pci)

Action: none: the policy is in monitor mode.

Session history (AWS console):
  https://eu-central-1.console.aws.amazon.com/systems-manager/session-manager/session-history?region=eu-central-1

--
Session Warden (stack session-warden, account 123456789012, eu-central-1)
severity MEDIUM, kind would-terminate
"""

GRANT_EXPIRED = """\
A just-in-time grant expired. Open sessions that only it allowed are ended within a minute.

  Grant:       g-7h3k9m2p4q8r
  Who:         user:alice@example.com
  Targets:     Environment=prod
  From:        2026-11-24 08:00:00 UTC
  Until:       2026-11-24 10:00:00 UTC
  Duration:    2h
  Reason:      INC-4711 replica lag
  Created by:  arn:aws:iam::123456789012:user/oncall-lead

--
Session Warden (stack session-warden, account 123456789012, eu-central-1)
severity INFO, kind grant-expired
"""


def test_terminated_alert_reads_as_an_email_with_who_what_why_and_action() -> None:
    alert = session_alert(
        "session-terminated",
        CONTEXT,
        ENTRY,
        cause="grant expired",
        why=[
            "grant g-7h3k9m2p4q8r for user:alice@example.com expired at 2026-11-24 10:00:00 UTC",
            "no rule or grant allows alice@example.com on i-0a1b2c3d4e5f60718; default is deny",
        ],
        action="terminated at 2026-11-24 10:00:31 UTC; DescribeSessions confirms it is no longer active.",
    )
    assert alert.subject == "[Session Warden] TERMINATED alice@example.com on i-0a1b2c3d4e5f60718 (prod-db-1)"
    assert alert.body == TERMINATED
    assert alert.attributes == {"severity": "HIGH", "kind": "session-terminated"}


def test_monitor_mode_alert_says_it_was_not_terminated() -> None:
    alert = session_alert(
        "would-terminate",
        CONTEXT,
        ENTRY,
        cause="denied by rule no-pci",
        why=["denied by rule no-pci (target tag Compliance=pci)"],
        action="none: the policy is in monitor mode.",
    )
    assert alert.subject == "[Session Warden] WOULD TERMINATE alice@example.com on i-0a1b2c3d4e5f60718 (prod-db-1)"
    assert alert.body == WOULD_TERMINATE
    assert alert.attributes == {"severity": "MEDIUM", "kind": "would-terminate"}


def test_grant_expired_alert_names_the_grant_and_its_scope() -> None:
    grant = Grant(
        id="g-7h3k9m2p4q8r",
        principal="user:alice@example.com",
        targets={"tags": {"Environment": "prod"}},  # type: ignore[arg-type]
        starts_at=datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
        expires_at=datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
        reason="INC-4711 replica lag",
        created_by="arn:aws:iam::123456789012:user/oncall-lead",
    )
    alert = grant_alert("grant-expired", CONTEXT, grant)
    assert alert.subject == "[Session Warden] GRANT EXPIRED user:alice@example.com on Environment=prod"
    assert alert.body == GRANT_EXPIRED
    assert alert.attributes == {"severity": "INFO", "kind": "grant-expired"}


def test_subject_stays_within_the_sns_limit_and_ascii() -> None:
    long_entry = LedgerEntry(session_id="s", principal="ü" * 40 + "@example.com", target="i-0" + "a" * 80)
    alert = session_alert("session-terminated", CONTEXT, long_entry, cause="x", why=[], action="y")
    assert len(alert.subject) < 100
    assert alert.subject.isascii()
    assert "\n" not in alert.subject


def test_policy_rejected_alert_names_the_problem_and_what_stays_in_force() -> None:
    alert = policy_rejected_alert(
        CONTEXT,
        parameter="/session-warden/session-warden/policy",
        error="policy: line 7: rules[0].windows[0]: unknown window 'busness-hours'",
        in_force="the previous valid version (parameter version 3)",
    )
    assert alert.severity == "MEDIUM" and alert.kind == "policy-rejected"
    assert "unknown window 'busness-hours'" in alert.body
    assert "previous valid version (parameter version 3)" in alert.body


def test_a_session_alert_links_the_transcript_in_the_email_and_the_chat_card() -> None:
    from dataclasses import replace

    from warden.chat_cards import chat_notification

    link = "https://eu-central-1.console.aws.amazon.com/s3/object/audit?region=eu-central-1&prefix=x.log"
    entry = replace(ENTRY, transcript="s3://audit/x.log", transcript_links=[link])
    alert = session_alert("session-terminated", CONTEXT, entry, cause="c", why=[], action="a")
    assert f"\nTranscript: {link}\n  (s3://audit/x.log)\n" in alert.body
    card = chat_notification(alert)["content"]["description"].splitlines()
    # Slack's mrkdwn escapes "&" in the card; the link is the same.
    assert f"*Transcript:* `{link.replace('&', '&amp;')}`" in card


def test_a_session_alert_says_when_there_is_no_transcript() -> None:
    from dataclasses import replace

    entry = replace(ENTRY, transcript="not logged (port forwarding is never logged by Session Manager)")
    alert = session_alert("session-terminated", CONTEXT, entry, cause="c", why=[], action="a")
    assert "\nTranscript: not logged (port forwarding is never logged by Session Manager)\n" in alert.body
