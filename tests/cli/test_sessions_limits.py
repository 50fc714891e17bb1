"""`warden sessions`: a session denied by a concurrent-session limit says which limit decided."""

from __future__ import annotations

import pytest

from warden.records import LedgerEntry
from warden_cli.sessions import decided_by


@pytest.mark.parametrize(
    ("rule", "shown"),
    [("ops", "limit of ops"), (None, "limit per target")],
)
def test_a_limit_denial_names_the_limit_in_the_decided_by_column(rule: str | None, shown: str) -> None:
    entry = LedgerEntry(session_id="bob-1", status="open", basis="session-limit", rule=rule, decision="deny")
    assert decided_by(entry) == shown
