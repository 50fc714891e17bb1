"""ResumeSession continues the session it names (SPEC section 2): same target, document, reason; never a new shell."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.conftest import Stack

pytestmark = pytest.mark.functional

POLICY = """\
version: 1
mode: enforce
default: deny
windows:
  business-hours:
    timezone: Europe/Berlin
    weekly:
      - days: [mon, tue, wed, thu, fri]
        from: "08:00"
        to: "18:00"
rules:
  - name: alice-shell
    principals: ["user:alice"]
    targets: {tags: {Department: Analytics}}
    documents: [SSM-SessionManagerRunShell]
    require_reason: "^TICKET-[0-9]+"
  - name: dev-tunnels
    principals: ["user:alice"]
    targets: {tags: {Environment: dev}}
    session_types: [port]
    windows: [business-hours]
  - name: dev-shell-any-time
    principals: ["user:alice"]
    targets: {tags: {Environment: dev}}
    session_types: [shell]
"""

TUNNEL: dict[str, Any] = {
    "DocumentName": "AWS-StartPortForwardingSession",
    "Parameters": {"portNumber": ["5432"], "localPortNumber": ["15432"]},
}


@pytest.fixture
def alice(stack: Stack) -> Any:
    stack.cloud.put_policy(POLICY)
    return stack.person("alice")


def reconnect(stack: Stack, who: Any, session_id: str) -> None:
    """The client's connection drops and the plugin resumes the session, as it does on every network blip."""
    stack.cloud.set_session_status(session_id, "Disconnected")
    who.resume_session(SessionId=session_id)
    stack.cloud.settle()


def test_allowed_session_with_a_required_reason_stays_open_when_it_reconnects(stack: Stack, alice: Any) -> None:
    # GIVEN a session allowed because it gave the reason the rule requires
    analytics = stack.cloud.add_instance({"Department": "Analytics"})
    session = stack.start(alice, analytics, Reason="TICKET-42 rotate logs")
    assert session in stack.active()
    # WHEN it reconnects (ResumeSession names no reason)
    reconnect(stack, alice, session)
    # THEN it is decided with its own reason: still open, its row unchanged, no alert
    assert session in stack.active()
    row = stack.row(session)
    assert (row.decision, row.rule, row.reason) == ("allow", "alice-shell", "TICKET-42 rotate logs")
    assert row.document == "SSM-SessionManagerRunShell"
    assert not stack.inbox.kinds()


def test_allowed_port_forwarding_session_stays_open_when_it_reconnects(stack: Stack, alice: Any) -> None:
    # GIVEN a tunnel allowed by a rule for port sessions
    dev = stack.cloud.add_instance({"Environment": "dev"})
    session = stack.start(alice, dev, **TUNNEL)
    assert stack.row(session).rule == "dev-tunnels"
    # WHEN it reconnects
    reconnect(stack, alice, session)
    # THEN it is still the tunnel it was: open, same rule, same document in the ledger
    assert session in stack.active()
    row = stack.row(session)
    assert (row.decision, row.rule, row.document) == ("allow", "dev-tunnels", "AWS-StartPortForwardingSession")
    assert not stack.inbox.kinds()


def test_port_forwarding_session_that_reconnected_still_ends_when_its_window_closes(stack: Stack, alice: Any) -> None:
    # GIVEN a tunnel allowed in business hours only (a shell would be allowed at any time), which reconnected
    dev = stack.cloud.add_instance({"Environment": "dev"})
    session = stack.start(alice, dev, **TUNNEL)
    reconnect(stack, alice, session)
    assert stack.row(session).document == "AWS-StartPortForwardingSession"
    # WHEN the window closes (18:00 in Berlin = 17:00 UTC; the clock starts at 09:00 UTC)
    stack.cloud.advance("8h")
    # THEN the sweeper ends it as the tunnel it is: reconnecting did not turn it into a shell
    assert session not in stack.active()
    row = stack.row(session)
    assert (row.decision, row.document) == ("deny", "AWS-StartPortForwardingSession")
    assert "session-terminated" in stack.inbox.kinds()


def test_tunnel_resumed_outside_its_window_is_ended_by_the_resume(stack: Stack, alice: Any) -> None:
    # GIVEN a tunnel allowed in business hours, Disconnected when the window closes, before any sweep ran
    dev = stack.cloud.add_instance({"Environment": "dev"})
    session = stack.start(alice, dev, **TUNNEL)
    stack.cloud.set_session_status(session, "Disconnected")
    stack.cloud.clock.set(stack.cloud.now().replace(hour=20))  # 21:00 in Berlin; no scheduled sweep fires
    # WHEN it is resumed at night
    alice.resume_session(SessionId=session)
    # THEN the resume is decided as the tunnel it continues: denied and ended, the row still naming the tunnel
    assert session not in stack.active()
    row = stack.row(session)
    assert (row.decision, row.document, row.ended_by) == ("deny", "AWS-StartPortForwardingSession", "session-warden")
