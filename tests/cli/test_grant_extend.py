"""`warden grant extend` through the real console script against the local cloud: the table, the cap, the alert."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.cli.conftest import alert_inbox, cli_env, local_cloud, run_warden
from tests.cli.test_grant import CAPPED_POLICY, START, caller_arn, iso, now, stored_grant

# CAPPED_POLICY caps grants at 4h, counted from each grant's start.


@pytest.fixture(scope="module")
def cloud() -> Iterator[Any]:
    with local_cloud(START, policy=CAPPED_POLICY) as running:
        yield running


@pytest.fixture(scope="module")
def inbox(cloud: Any) -> Any:
    return alert_inbox(cloud)


@pytest.fixture
def env(cloud: Any) -> dict[str, str]:
    return cli_env(cloud)


def new_grant(env: dict[str, str], duration: str = "2h") -> str:
    result = run_warden(
        "grant", "create", "--principal", "user:alice", "--target", "i-0abc", "--for", duration, "--reason", "INC-7",
        env=env,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    return result.stdout.strip()


def extend(env: dict[str, str], grant_id: str, duration: str, *more: str, reason: str = "INC-7 still failing") -> Any:
    return run_warden("grant", "extend", grant_id, "--for", duration, "--reason", reason, *more, env=env)


def test_extend_moves_the_expiry_records_who_and_why_and_alerts(cloud: Any, env: dict[str, str], inbox: Any) -> None:
    # GIVEN a 2h grant created now
    moment = now(cloud)
    grant_id = new_grant(env)
    # WHEN it is extended by 30m with --json
    result = extend(env, grant_id, "30m", "--json")
    # THEN it exits 0 and prints the stored grant: the new expiry and the extension's who, when, why, from, to
    assert result.code == 0, result.stderr
    printed = result.json
    assert printed["id"] == grant_id and printed["state"] == "active"
    assert printed["expires_at"] == iso(moment + timedelta(hours=2, minutes=30))
    assert printed["extensions"] == [
        {
            "by": caller_arn(cloud),
            "at": iso(moment),
            "reason": "INC-7 still failing",
            "previous_expires_at": iso(moment + timedelta(hours=2)),
            "expires_at": iso(moment + timedelta(hours=2, minutes=30)),
        }
    ]
    # AND the table holds what the functions will read: the grant with the new expiry
    stored = stored_grant(cloud, grant_id)
    assert stored.expires_at == moment + timedelta(hours=2, minutes=30)
    # AND an INFO grant-extended alert says until when it was and why it was extended
    extended = [mail for mail in inbox.about(grant_id) if mail.kind == "grant-extended"]
    assert len(extended) == 1 and extended[0].severity == "INFO"
    assert extended[0].subject == "[Session Warden] GRANT EXTENDED user:alice on i-0abc"
    assert f"  Was until:     {(moment + timedelta(hours=2)).strftime('%Y-%m-%d %H:%M:%S')} UTC" in extended[0].body
    assert "  Extended for:  INC-7 still failing" in extended[0].body


def test_a_second_extension_adds_to_the_history(cloud: Any, env: dict[str, str]) -> None:
    grant_id = new_grant(env, "1h")
    assert extend(env, grant_id, "30m").code == 0
    result = extend(env, grant_id, "1h", "--json", reason="INC-7 needs a reboot")
    assert result.code == 0, result.stderr
    history = result.json["extensions"]
    assert [entry["reason"] for entry in history] == ["INC-7 still failing", "INC-7 needs a reboot"]
    assert history[1]["previous_expires_at"] == history[0]["expires_at"]


def test_text_output_says_until_when_and_that_sessions_follow_at_the_next_sweep(
    cloud: Any, env: dict[str, str]
) -> None:
    grant_id = new_grant(env, "1h")
    result = extend(env, grant_id, "15m")
    assert result.code == 0, result.stderr
    assert result.lines[0].startswith(f"extended {grant_id} until ")
    assert "1h15m in all" in result.lines[0]
    assert "next sweep" in result.lines[1]


def test_extension_past_the_policy_cap_is_refused_and_says_how_much_is_left(cloud: Any, env: dict[str, str]) -> None:
    # GIVEN a 3h grant under a 4h cap
    grant_id = new_grant(env, "3h")
    before = stored_grant(cloud, grant_id)
    # WHEN it is extended by 2h THEN it is refused (exit 1), the message names the cap and the room left
    result = extend(env, grant_id, "2h")
    assert result.code == 1
    assert "the grant would last 5h from its start" in result.stderr
    assert "past the policy's grants.max_duration of 4h" in result.stderr
    assert "it can be extended by at most 1h" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    # AND the grant is unchanged
    assert stored_grant(cloud, grant_id) == before
    # AND up to the cap it is allowed
    assert extend(env, grant_id, "1h").code == 0
    assert "it is at the cap already" in extend(env, grant_id, "1m").stderr


def test_a_revoked_grant_is_not_extended_and_the_error_says_it_was_revoked(cloud: Any, env: dict[str, str]) -> None:
    grant_id = new_grant(env)
    assert run_warden("grant", "revoke", grant_id, env=env).code == 0
    result = extend(env, grant_id, "30m")
    assert result.code == 1
    assert f"grant {grant_id} was revoked at " in result.stderr
    assert "a revoked grant cannot be extended" in result.stderr
    assert stored_grant(cloud, grant_id).state == "revoked"


def test_an_expired_grant_is_not_extended_and_the_error_says_it_expired(cloud: Any, env: dict[str, str]) -> None:
    # GIVEN a 30m grant whose time is up (the sweeper may or may not have marked it expired yet)
    grant_id = new_grant(env, "30m")
    expiry = stored_grant(cloud, grant_id).expires_at
    cloud.advance("31m")
    # WHEN it is extended THEN it is refused as expired, and stays so
    result = extend(env, grant_id, "30m")
    assert result.code == 1
    assert f"grant {grant_id} expired at {iso(expiry)}: an expired grant cannot be extended" in result.stderr
    assert stored_grant(cloud, grant_id).expires_at == expiry


def test_an_unknown_grant_is_a_refused_outcome(env: dict[str, str]) -> None:
    result = extend(env, "g-000000000000", "30m")
    assert result.code == 1
    assert "no grant g-000000000000" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("g-bad", "--for", "30m", "--reason", "R"), "ID: 'g-bad' is not a grant id"),
        (("g-000000000000", "--for", "soon", "--reason", "R"), "--for: "),
        (("g-000000000000", "--for", "0m", "--reason", "R"), "--for"),
        (("g-000000000000", "--for", "30m", "--reason", "   "), "--reason: must not be empty"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_field(
    env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    result = run_warden("grant", "extend", *args, env=env)
    assert result.code == 2, result.stderr
    assert result.stderr.startswith("warden: error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
