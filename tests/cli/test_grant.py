"""`warden grant create|list|revoke` against the local cloud: the grants table, the alerts, the clock."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.cli.conftest import POLICY, alert_inbox, cli_env, local_cloud, run_warden

Write = Callable[[str, str], str]

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
GRANT_ID = re.compile(r"^g-[a-z0-9]{12}$")
CAPPED_POLICY = POLICY + "grants:\n  max_duration: 4h\n"


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


def now(cloud: Any) -> datetime:
    moment: datetime = cloud.clock.now()
    return moment


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stored_grant(cloud: Any, grant_id: str) -> Any:
    """The grant as the functions read it from the table."""
    from warden.adapters.grants import DynamoGrantStore

    return DynamoGrantStore(cloud.client("dynamodb"), cloud.stack_outputs()["GrantsTableName"]).get(grant_id)


def all_grants(cloud: Any) -> list[Any]:
    from warden.adapters.grants import DynamoGrantStore

    return DynamoGrantStore(cloud.client("dynamodb"), cloud.stack_outputs()["GrantsTableName"]).all()


def create(env: dict[str, str], *args: str) -> Any:
    return run_warden("grant", "create", *args, env=env)


def caller_arn(cloud: Any) -> str:
    return str(cloud.client("sts").get_caller_identity()["Arn"])


# --- create ----------------------------------------------------------------------------------------------------------


def test_create_writes_the_grant_and_prints_its_id(cloud: Any, env: dict[str, str], inbox: Any) -> None:
    # GIVEN the stack, at the emulated clock's now
    moment = now(cloud)
    # WHEN alice is granted i-0abc for 2h
    result = create(
        env, "--principal", "user:alice", "--target", "i-0abc", "--for", "2h", "--reason", "INC-7 disk full"
    )
    # THEN the id is printed, and the grant is in the table from now for 2h, created by the caller
    assert result.code == 0, result.stderr
    grant_id = result.stdout.strip()
    assert GRANT_ID.fullmatch(grant_id)
    grant = stored_grant(cloud, grant_id)
    assert grant is not None
    assert grant.principal == "user:alice"
    assert grant.targets.ids == ("i-0abc",)
    assert grant.starts_at == moment
    assert grant.expires_at == moment + timedelta(hours=2)
    assert grant.reason == "INC-7 disk full"
    assert grant.created_by == caller_arn(cloud)
    assert grant.created_at == moment
    assert grant.state == "active"
    # AND the INFO grant-created alert went to the alerts topic
    alerts = inbox.about(grant_id)
    assert [(alert.attributes["kind"], alert.attributes["severity"]) for alert in alerts] == [("grant-created", "INFO")]
    assert "user:alice" in alerts[0].subject
    assert "INC-7 disk full" in alerts[0].body


def test_create_warns_when_the_principal_pattern_matches_less_than_it_seems(cloud: Any, env: dict[str, str]) -> None:
    # GIVEN a --principal that reads like anyone's e-mail but names only an IAM or Identity Center user
    result = create(
        env, "--principal", "user:erin@example.com", "--target", "i-0abc", "--for", "1h", "--reason", "INC-8 check"
    )
    # THEN the grant is created, and stderr says what the pattern matches and how to name a role's session
    assert result.code == 0, result.stderr
    assert stored_grant(cloud, result.stdout.strip()) is not None
    warning = next(line for line in result.stderr.splitlines() if line.startswith("warden: warning: --principal: "))
    assert "'user:erin@example.com' looks like an e-mail address" in warning
    assert "'arn:aws:sts::*:assumed-role/ROLE/erin@example.com'" in warning


def test_create_json_prints_the_stored_grant(cloud: Any, env: dict[str, str]) -> None:
    result = create(
        env, "--principal", "role:AWSReservedSSO_Analyst_*", "--tag", "Department=Analytics", "--tag", "Env=dev",
        "--for", "1h30m", "--starts", "2026-11-24T12:00:00+01:00", "--reason", "OPS-9", "--json",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    printed = result.json
    assert GRANT_ID.fullmatch(printed["id"])
    assert printed == {
        "id": printed["id"],
        "principal": "role:AWSReservedSSO_Analyst_*",
        "targets": {"tags": {"Department": "Analytics", "Env": "dev"}},
        "starts_at": "2026-11-24T11:00:00Z",
        "expires_at": "2026-11-24T12:30:00Z",
        "reason": "OPS-9",
        "created_by": caller_arn(cloud),
        "created_at": iso(now(cloud)),
        "state": "active",
    }
    grant = stored_grant(cloud, printed["id"])
    assert grant is not None
    assert grant.targets.tags == {"Department": ("Analytics",), "Env": ("dev",)}


def test_a_grant_longer_than_the_policys_cap_is_refused(cloud: Any, env: dict[str, str]) -> None:
    # GIVEN a policy in force with grants.max_duration 4h
    # WHEN a 5h grant is asked for
    result = create(env, "--principal", "user:mallory", "--target", "i-0abc", "--for", "5h", "--reason", "x", "--json")
    # THEN it exits 2 naming the cap, and nothing was written
    assert result.code == 2
    assert "grants.max_duration" in result.stderr
    assert "4h" in result.stderr
    assert all(grant.principal != "user:mallory" for grant in all_grants(cloud))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--principal", "group:admins", "--target", "i-1", "--for", "1h"], "--principal"),
        (["--principal", "user:alice", "--target", "i-1", "--for", "2 hours"], "--for"),
        (["--principal", "user:alice", "--target", "i-1", "--for", "0m"], "--for"),
        (["--principal", "user:alice", "--tag", "Env", "--for", "1h"], "--tag 'Env'"),
        (["--principal", "user:alice", "--target", "i-1", "--for", "1h", "--starts", "2026-11-24T10:00"], "--starts"),
        (["--principal", "user:alice", "--target", "i-1", "--for", "1h", "--starts", "2026-11-24T07:00:00Z"], "past"),
        (["--principal", "user:alice", "--target", "i-1", "--for", "1h", "--reason", "  "], "--reason"),
    ],
    ids=["principal", "duration", "zero", "tag", "starts-without-offset", "already-over", "empty-reason"],
)
def test_bad_input_exits_2_naming_the_option_and_writes_nothing(
    cloud: Any, env: dict[str, str], args: list[str], expected: str
) -> None:
    before = all_grants(cloud)
    full = args if "--reason" in args else [*args, "--reason", "INC-1"]
    result = create(env, *full)
    assert result.code == 2
    assert result.stderr.startswith("warden: error: ")
    assert expected in result.stderr
    assert all_grants(cloud) == before


def test_targets_and_tags_are_exclusive(env: dict[str, str]) -> None:
    result = create(env, "--principal", "user:a", "--target", "i-1", "--tag", "A=b", "--for", "1h", "--reason", "r")
    assert result.code == 2
    assert "not allowed with" in result.stderr


# --- list ------------------------------------------------------------------------------------------------------------


def test_list_shows_every_grant_and_active_only_those_in_force(cloud: Any, env: dict[str, str]) -> None:
    # GIVEN one grant in force, one starting tomorrow and one revoked
    in_force = create(env, "--principal", "user:lisa", "--target", "i-0aaa", "--for", "1h", "--reason", "L-1")
    later = create(
        env, "--principal", "user:lisa", "--target", "i-0bbb", "--for", "1h", "--reason", "L-2",
        "--starts", iso(now(cloud) + timedelta(days=1)),
    )  # fmt: skip
    revoked = create(env, "--principal", "user:lisa", "--target", "i-0ccc", "--for", "1h", "--reason", "L-3")
    ids = [result.stdout.strip() for result in (in_force, later, revoked)]
    assert run_warden("grant", "revoke", ids[2], env=env).code == 0
    # WHEN they are listed, all and active only
    everything = run_warden("grant", "list", env=env)
    active = run_warden("grant", "list", "--active", env=env)
    # THEN the table has the columns and each grant's state at now; --active keeps only the one in force
    assert everything.code == 0, everything.stderr
    assert everything.lines[0].split() == ["ID", "PRINCIPAL", "TARGETS", "FROM", "UNTIL", "STATE", "REASON"]
    rows = {line.split()[0]: line for line in everything.lines[1:]}
    assert "active" in rows[ids[0]]
    assert "scheduled" in rows[ids[1]]
    assert "revoked" in rows[ids[2]]
    assert "i-0aaa" in rows[ids[0]]
    assert "L-1" in rows[ids[0]]
    active_ids = {line.split()[0] for line in active.lines[1:]}
    assert ids[0] in active_ids
    assert not active_ids & {ids[1], ids[2]}


def test_list_json_is_what_explain_reads_as_grants(cloud: Any, env: dict[str, str], write: Write) -> None:
    # GIVEN a grant for carol on her instance
    created = create(
        env, "--principal", "user:carol@example.com", "--target", "i-0c3d4e5f607182930", "--for", "2h", "--reason", "C-1"
    )  # fmt: skip
    grant_id = created.stdout.strip()
    # WHEN `grant list --json` is saved and handed to explain
    listed = run_warden("grant", "list", "--json", env=env)
    assert listed.code == 0
    assert isinstance(listed.json, list)
    assert any(grant["id"] == grant_id for grant in listed.json)
    grants = write("grants.json", listed.stdout)
    policy = write("policy.yaml", POLICY)
    explained = run_warden(
        "explain", "--policy", policy, "--event", "events/start-session-identity-center.json", "--grants", grants,
        "--at", iso(now(cloud)), "--json",
    )  # fmt: skip
    # THEN the grant allows her session
    assert explained.code == 0, explained.stderr
    assert explained.json["grant"] == grant_id


# --- revoke ----------------------------------------------------------------------------------------------------------


def test_revoke_ends_the_grant_and_alerts(cloud: Any, env: dict[str, str], inbox: Any) -> None:
    # GIVEN an active grant
    grant_id = create(env, "--principal", "user:rob", "--target", "i-0ddd", "--for", "1h", "--reason", "R-1").stdout
    grant_id = grant_id.strip()
    # WHEN it is revoked
    result = run_warden("grant", "revoke", grant_id, env=env)
    # THEN it is revoked in the table, by the caller, now; the output says when sessions end; an alert went out
    assert result.code == 0, result.stderr
    grant = stored_grant(cloud, grant_id)
    assert grant is not None
    assert (grant.state, grant.revoked_by, grant.revoked_at) == ("revoked", caller_arn(cloud), now(cloud))
    assert "next sweep" in result.stdout
    assert "within a minute" in result.stdout
    kinds = [alert.attributes["kind"] for alert in inbox.about(grant_id)]
    assert kinds == ["grant-created", "grant-revoked"]


def test_revoking_twice_exits_1_saying_it_is_already_revoked(cloud: Any, env: dict[str, str]) -> None:
    grant_id = create(env, "--principal", "user:rob", "--target", "i-0eee", "--for", "1h", "--reason", "R-2").stdout
    grant_id = grant_id.strip()
    assert run_warden("grant", "revoke", grant_id, env=env).code == 0
    again = run_warden("grant", "revoke", grant_id, env=env)
    assert again.code == 1
    assert f"grant {grant_id} is already revoked" in again.stderr


def test_revoking_an_unknown_grant_exits_1(env: dict[str, str]) -> None:
    result = run_warden("grant", "revoke", "g-000000000000", env=env)
    assert result.code == 1
    assert "no grant g-000000000000" in result.stderr


def test_revoking_an_expired_grant_exits_1(cloud: Any, env: dict[str, str]) -> None:
    # GIVEN a grant that started an hour ago and ends in a minute
    starts = now(cloud) - timedelta(minutes=59)
    grant_id = create(
        env, "--principal", "user:eve", "--target", "i-0fff", "--for", "1h", "--starts", iso(starts), "--reason", "E-1"
    ).stdout.strip()  # fmt: skip
    # WHEN the clock passes its expiry (the sweeper runs meanwhile) and it is revoked
    cloud.advance("2m")
    result = run_warden("grant", "revoke", grant_id, env=env)
    # THEN there is nothing to revoke
    assert result.code == 1
    assert f"grant {grant_id}" in result.stderr
    assert "expired" in result.stderr
    grant = stored_grant(cloud, grant_id)
    assert grant is not None
    assert grant.state in {"active", "expired"}
    assert grant.revoked_by is None


def test_a_revoked_grant_ends_the_session_it_allowed_at_the_next_sweep(cloud: Any, env: dict[str, str]) -> None:
    # GIVEN carol, whom no rule allows, with a grant on an instance and a session it allows
    instance = cloud.add_instance({"Name": "analytics-1"})
    grant_id = create(
        env, "--principal", "user:carol", "--target", instance, "--for", "2h", "--reason", "C-2"
    ).stdout.strip()  # fmt: skip
    ssm = cloud.client("ssm", credentials=cloud.user_credentials("carol"))
    session_id = ssm.start_session(Target=instance)["SessionId"]
    cloud.settle()
    assert session_id in {row["session_id"] for row in run_warden("sessions", "--active", "--json", env=env).json}
    # WHEN the grant is revoked and a minute passes
    assert run_warden("grant", "revoke", grant_id, env=env).code == 0
    cloud.advance("1m")
    cloud.settle()
    # THEN the session is no longer open, and the ledger says the warden ended it
    assert session_id not in {row["session_id"] for row in run_warden("sessions", "--active", "--json", env=env).json}
    rows = {row["session_id"]: row for row in run_warden("sessions", "--json", env=env).json}
    ended = rows[session_id]
    assert (ended["status"], ended["action"], ended["ended_by"]) == ("ended", "terminated", "session-warden")
    assert "revoked" in ended["end_reason"]


def test_after_a_revocation_the_row_still_names_the_grant_that_allowed_it(cloud: Any, env: dict[str, str]) -> None:
    instance = cloud.add_instance({"Name": "analytics-2"})
    grant_id = create(
        env, "--principal", "user:dina", "--target", instance, "--for", "2h", "--reason", "D-2"
    ).stdout.strip()  # fmt: skip
    session_id = cloud.client("ssm", credentials=cloud.user_credentials("dina")).start_session(Target=instance)[
        "SessionId"
    ]
    cloud.settle()
    assert run_warden("grant", "revoke", grant_id, env=env).code == 0
    cloud.advance("1m")
    cloud.settle()
    rows = {row["session_id"]: row for row in run_warden("sessions", "--json", env=env).json}
    assert rows[session_id]["grant"] == grant_id


def test_an_unknown_stack_is_named(env: dict[str, str]) -> None:
    result = run_warden("grant", "list", "--stack", "other-stack", env=env)
    assert result.code == 2
    assert "other-stack" in result.stderr


# --- guard rails -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--principal", "*", "--target", "i-0abc"], "--principal '*' covers every principal"),
        (["--principal", "user:bob", "--target", "*"], "--target '*' covers every target"),
        (["--principal", "user:bob", "--target", "i-*"], "--target '*' covers every target"),
    ],
)
def test_a_grant_for_everyone_or_everything_needs_yes(
    cloud: Any, env: dict[str, str], args: list[str], named: str
) -> None:
    before = len(all_grants(cloud))
    refused = create(env, *args, "--for", "1h", "--reason", "INC-1 wide")
    assert refused.code == 2
    assert named in refused.stderr and "add --yes if that is what you mean" in refused.stderr
    assert refused.stderr.count("\n") == 1
    assert len(all_grants(cloud)) == before
    confirmed = create(env, *args, "--for", "1h", "--reason", "INC-1 wide", "--yes")
    assert confirmed.code == 0, confirmed.stderr
    assert len(all_grants(cloud)) == before + 1


def test_list_table_and_json_agree_on_a_scheduled_grant(cloud: Any, env: dict[str, str]) -> None:
    starts = now(cloud) + timedelta(hours=1)
    grant_id = create(env, "--principal", "user:sched", "--target", "i-0sch", "--for", "1h", "--starts", iso(starts),
                      "--reason", "S-1").stdout.strip()  # fmt: skip
    table = run_warden("grant", "list", env=env)
    listed = run_warden("grant", "list", "--json", env=env)
    row = next(line.split() for line in table.lines if line.startswith(grant_id))
    as_json = next(grant for grant in listed.json if grant["id"] == grant_id)
    assert "scheduled" in row
    assert as_json["state"] == "scheduled"


def test_created_by_is_a_valid_arn_of_the_caller(cloud: Any, env: dict[str, str]) -> None:
    result = create(env, "--principal", "user:arn", "--target", "i-0arn", "--for", "1h", "--reason", "A-1", "--json")
    assert result.code == 0, result.stderr
    assert re.fullmatch(r"arn:aws:iam::123456789012:user/[\w+=,.@-]+", result.json["created_by"])
