"""Why a session no longer holds: a pure function of the facts read before it (no ports, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from warden.causes import explain, grant_to_look_up
from warden.policy import Decision, Grant, Lapse, load_policy
from warden.records import LedgerEntry, TargetInfo

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
POLICY = load_policy("version: 1\nmode: enforce\ndefault: deny\nrules: []\n")
INFO = TargetInfo("i-0prod00000000001", {"Environment": "prod"})
ROW = LedgerEntry(session_id="bob-1", decision="allow", grant="g-1", tags={"Environment": "prod"})
DEFAULT_DENY = Decision(
    allowed=False, basis="default-deny", rule=None, grant=None, reasons=("no rule or grant allows bob",), deadline=None
)


def stored(**update: object) -> Grant:
    grant = Grant(
        id="g-1",
        principal="user:bob",
        targets={"tags": {"Environment": "prod"}},  # type: ignore[arg-type]
        starts_at=NOW - timedelta(hours=2),
        expires_at=NOW + timedelta(hours=2),
        reason="INC-42",
        created_by="arn:aws:iam::123456789012:user/oncall-lead",
    )
    return grant.model_copy(update=update)


def test_a_grant_the_decision_already_calls_expired_needs_no_look_up() -> None:
    lapse = Lapse(kind="grant", name="g-1", why="grant-expired", at=NOW, detail="grant g-1 expired at 10:00")
    decision = Decision(False, "default-deny", None, None, DEFAULT_DENY.reasons, None, (lapse,))
    assert grant_to_look_up(ROW, decision) is None
    assert explain(ROW, decision, INFO, POLICY, stored_grant=None, now=NOW) == (
        "grant expired",
        ["grant g-1 expired at 10:00"],
    )


def test_a_grant_that_vanished_from_the_decision_is_looked_up_and_its_revocation_explained() -> None:
    assert grant_to_look_up(ROW, DEFAULT_DENY) == "g-1"
    revoked = stored(state="revoked", revoked_at=NOW, revoked_by="carol")
    assert explain(ROW, DEFAULT_DENY, INFO, POLICY, stored_grant=revoked, now=NOW) == (
        "grant revoked",
        ["grant g-1 was revoked at 2026-11-24 10:00:00 UTC by carol"],
    )


def test_a_grant_the_store_no_longer_holds_counts_as_revoked() -> None:
    assert explain(ROW, DEFAULT_DENY, INFO, POLICY, stored_grant=None, now=NOW) == (
        "grant revoked",
        ["grant g-1 no longer exists"],
    )
