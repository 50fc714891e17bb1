"""`warden sessions` against the local cloud: the ledger that real sessions wrote, as a table, JSON and CSV."""

from __future__ import annotations

import csv
import io
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.cli.conftest import cli_env, local_cloud, run_warden

# Monday 23:40 UTC: the sessions straddle midnight, so the ledger's by-day index holds two days.
START = datetime(2026, 11, 23, 23, 40, tzinfo=UTC)
POLICY = textwrap.dedent(
    """\
    version: 1
    default: deny
    rules:
      - name: dev-for-alice
        principals: ["user:alice"]
        targets: {tags: {Environment: dev}}
      - name: no-pci
        effect: deny
        targets: {tags: {Compliance: pci}}
    """
)
UNCONNECTED = "i-0123456789abcdef0"
TABLE_HEADER = [
    "SESSION", "WHO", "TARGET", "NAME", "DOCUMENT", "STARTED", "DEADLINE", "ENDED", "DECISION", "RULE/GRANT", "ACTION",
    "END", "REASON",
]  # fmt: skip


@dataclass(frozen=True)
class Timeline:
    cloud: Any
    env: dict[str, str]
    ended: str  # 23:40 alice on web-1, allowed, ended by alice at 23:45
    denied: str  # 23:45 alice on pay-1 (Compliance=pci), terminated by the warden
    open: str  # 00:10 alice on web-1, still open


@pytest.fixture(scope="module")
def timeline() -> Iterator[Timeline]:
    with local_cloud(START, policy=POLICY) as cloud:
        web = cloud.add_instance({"Name": "web-1", "Environment": "dev"})
        pay = cloud.add_instance({"Name": "pay-1", "Environment": "dev", "Compliance": "pci"})
        alice = cloud.client("ssm", credentials=cloud.user_credentials("alice"))

        ended = alice.start_session(Target=web, Reason="OPS-1")["SessionId"]
        cloud.settle()
        cloud.advance("5m")
        alice.terminate_session(SessionId=ended)
        denied = alice.start_session(Target=pay)["SessionId"]
        with pytest.raises(ClientError, match="TargetNotConnected"):
            alice.start_session(Target=UNCONNECTED)
        cloud.settle()
        cloud.advance("25m")
        still_open = alice.start_session(Target=web)["SessionId"]
        cloud.settle()
        yield Timeline(cloud, cli_env(cloud), ended, denied, still_open)


def rows_of(result: Any) -> dict[str, list[str]]:
    header = result.lines[0]
    starts = [match.start() for match in re.finditer(r"\S+", header)]
    assert len(starts) == len(TABLE_HEADER)
    rows: dict[str, list[str]] = {}
    for line in result.lines[1:]:
        cells = [line[start:end].strip() for start, end in zip(starts, [*starts[1:], None], strict=True)]
        rows[cells[0]] = cells
    return rows


def test_the_table_lists_every_session_of_the_last_week_newest_first(timeline: Timeline) -> None:
    # WHEN the ledger is listed with the defaults (7 days)
    result = run_warden("sessions", env=timeline.env)
    # THEN the header has the columns, and the rows come newest first: open, then the 23:45 pair, then the ended one
    assert result.code == 0, result.stderr
    assert result.lines[0].split() == TABLE_HEADER
    rows = rows_of(result)
    order = list(rows)
    assert len(order) == 4
    assert order[0] == timeline.open
    assert set(order[1:3]) == {timeline.denied, next(key for key in order if key.startswith("failed:"))}
    assert order[3] == timeline.ended


def test_each_row_says_who_where_what_was_decided_and_how_it_ended(timeline: Timeline) -> None:
    rows = rows_of(run_warden("sessions", env=timeline.env))
    column = {name: index for index, name in enumerate(TABLE_HEADER)}

    still_open = rows[timeline.open]
    assert still_open[column["WHO"]] == "alice"
    assert still_open[column["NAME"]] == "web-1"
    assert still_open[column["DOCUMENT"]] == "SSM-SessionManagerRunShell"
    assert still_open[column["STARTED"]] == "2026-11-24 00:10Z"
    assert still_open[column["ENDED"]] == "open"
    assert (still_open[column["DECISION"]], still_open[column["RULE/GRANT"]]) == ("allow", "dev-for-alice")

    denied = rows[timeline.denied]
    assert (denied[column["DECISION"]], denied[column["RULE/GRANT"]]) == ("deny", "no-pci")
    assert denied[column["ACTION"]] == "terminated"
    assert denied[column["NAME"]] == "pay-1"

    ended = rows[timeline.ended]
    assert ended[column["ENDED"]] == "2026-11-23 23:45Z"
    assert ended[column["DECISION"]] == "allow"
    assert ended[column["REASON"]] == "OPS-1"
    assert ended[column["DEADLINE"]] == "-"  # dev-for-alice has no window or max_duration: no deadline


def test_tz_shows_the_times_in_that_zone(timeline: Timeline) -> None:
    result = run_warden("sessions", "--tz", "Europe/Berlin", env=timeline.env)
    assert result.code == 0, result.stderr
    assert rows_of(result)[timeline.ended][TABLE_HEADER.index("ENDED")] == "2026-11-24 00:45 CET"


def test_an_unknown_tz_is_bad_input(timeline: Timeline) -> None:
    result = run_warden("sessions", "--tz", "Mars/Olympus", env=timeline.env)
    assert result.code == 2
    assert result.stderr == (
        "warden: error: --tz: unknown time zone 'Mars/Olympus'; use an IANA name such as Europe/Berlin or UTC\n"
    )


def test_the_table_fits_columns_and_is_full_width_when_piped(timeline: Timeline) -> None:
    piped = run_warden("sessions", env={**timeline.env, "COLUMNS": ""})
    narrow = run_warden("sessions", env={**timeline.env, "COLUMNS": "120"})
    assert piped.code == narrow.code == 0, narrow.stderr
    assert max(len(line) for line in piped.lines) > 120
    assert timeline.open in piped.stdout  # nothing cut when piped
    assert max(len(line) for line in narrow.lines) <= 120
    assert "…" in narrow.stdout
    assert narrow.lines[0].split() == TABLE_HEADER  # headers are never cut


def test_a_failed_call_is_shown_with_its_error_code(timeline: Timeline) -> None:
    rows = rows_of(run_warden("sessions", env=timeline.env))
    failed = [row for key, row in rows.items() if key.startswith("failed:")]
    assert len(failed) == 1
    assert failed[0][TABLE_HEADER.index("TARGET")] == UNCONNECTED
    assert failed[0][TABLE_HEADER.index("DECISION")] == "failed"
    assert failed[0][TABLE_HEADER.index("ACTION")] == "TargetNotConnected"


def test_active_lists_only_the_open_sessions(timeline: Timeline) -> None:
    result = run_warden("sessions", "--active", env=timeline.env)
    assert result.code == 0, result.stderr
    assert list(rows_of(result)) == [timeline.open]


@pytest.mark.parametrize(
    ("since", "expected"),
    [("15m", {"open"}), ("25m", {"open", "denied", "failed"}), ("30m", {"open", "denied", "failed", "ended"})],
)
def test_since_keeps_the_sessions_started_within_it_across_midnight(
    timeline: Timeline, since: str, expected: set[str]
) -> None:
    # GIVEN now is Tuesday 00:10 and the sessions started at 23:40, 23:45 (two) and 00:10
    result = run_warden("sessions", "--since", since, "--json", env=timeline.env)
    assert result.code == 0, result.stderr
    names = {timeline.open: "open", timeline.denied: "denied", timeline.ended: "ended"}
    assert {names.get(row["session_id"], "failed") for row in result.json} == expected


def test_json_is_an_array_of_ledger_rows_newest_first(timeline: Timeline) -> None:
    result = run_warden("sessions", "--json", env=timeline.env)
    assert result.code == 0, result.stderr
    rows = result.json
    assert isinstance(rows, list)
    assert rows[0]["session_id"] == timeline.open
    first = rows[0]
    assert (first["status"], first["decision"], first["rule"], first["principal"]) == (
        "open",
        "allow",
        "dev-for-alice",
        "alice",
    )
    assert first["started_at"] == "2026-11-24T00:10:00Z"
    failed = next(row for row in rows if row["status"] == "failed-call")
    assert failed["error_code"] == "TargetNotConnected"
    ended = next(row for row in rows if row["session_id"] == timeline.ended)
    assert (ended["status"], ended["ended_at"], ended["reason"]) == ("ended", "2026-11-23T23:45:00Z", "OPS-1")
    # every row has every key, null where the ledger has nothing
    assert all(set(row) == set(rows[0]) for row in rows)
    assert {"grant", "deadline", "error_code", "ended_at"} <= set(first)
    assert (first["grant"], first["ended_at"], first["error_code"]) == (None, None, None)


def test_csv_has_a_header_and_one_line_per_session(timeline: Timeline) -> None:
    result = run_warden("sessions", "--csv", env=timeline.env)
    assert result.code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 4
    assert rows[0]["session_id"] == timeline.open
    assert {"session_id", "principal", "target", "started_at", "decision", "rule", "grant", "action"} <= set(rows[0])
    failed = next(row for row in rows if row["status"] == "failed-call")
    assert failed["error_code"] == "TargetNotConnected"
    denied = next(row for row in rows if row["session_id"] == timeline.denied)
    assert (denied["decision"], denied["rule"], denied["action"]) == ("deny", "no-pci", "terminated")


def test_the_ledger_is_read_day_by_day_through_the_index_never_scanned(
    timeline: Timeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN every DynamoDB request the command makes is recorded
    import warden.adapters.aws as aws_adapter
    from warden_cli.main import main

    calls: list[tuple[str, dict[str, Any]]] = []
    make_client = aws_adapter.client

    def recording_client(session: Any, service: str) -> Any:
        client = make_client(session, service)
        client.meta.events.register(
            "provide-client-params.dynamodb.*",
            lambda params, model, **_: calls.append((model.name, params)),
        )
        return client

    monkeypatch.setattr(aws_adapter, "client", recording_client)
    for name, value in timeline.env.items():
        monkeypatch.setenv(name, value)
    # WHEN two days of sessions are listed
    assert main(["sessions", "--since", "1d", "--json"]) == 0
    capsys.readouterr()
    # THEN the by-day index is queried once per UTC day, and nothing is scanned
    assert [name for name, _ in calls] == ["Query", "Query"]
    assert {params["IndexName"] for _, params in calls} == {"by-day"}
    days = [params["ExpressionAttributeValues"][":value"]["S"] for _, params in calls]
    assert days == ["2026-11-24", "2026-11-23"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [(["--since", "a week"], "--since"), (["--json", "--csv"], "not allowed with")],
)
def test_bad_options_exit_2(timeline: Timeline, args: list[str], expected: str) -> None:
    result = run_warden("sessions", *args, env=timeline.env)
    assert result.code == 2
    assert expected in result.stderr
