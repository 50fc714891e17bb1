"""The demo's timeline: ``--json-to FILE`` writes exactly the lines ``--json`` prints, and leaves the text as it is."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from tests.cli.conftest import run_warden
from warden_cli.timeline import Event, Timeline

AT = datetime(2026, 11, 24, 13, 40, tzinfo=UTC)


def _perform(timeline: Timeline) -> None:
    timeline.text("Setup")
    timeline.emit(Event(AT, "session-start", ["alice starts a session", "  ALLOWED"], {"outcome": "allowed"}))
    timeline.emit(Event(AT, "canary", [], {"round_trip_ms": 12}))  # no lines for people, data for --json
    timeline.emit(Event(AT, "summary", ["", "Summary"], {"as_scripted": True}, stamped=False))


def test_json_to_gets_the_lines_json_prints_and_the_text_is_unchanged() -> None:
    # GIVEN the same events told three ways: text, --json, and text with --json-to
    text, as_json, text_with_copy, copy = io.StringIO(), io.StringIO(), io.StringIO(), io.StringIO()
    _perform(Timeline(text, as_json=False))
    _perform(Timeline(as_json, as_json=True))
    _perform(Timeline(text_with_copy, as_json=False, json_copy=copy))

    # THEN the copy is what --json prints, line for line, and the text on the terminal did not change
    assert copy.getvalue() == as_json.getvalue()
    assert as_json.getvalue().count("\n") == 3
    assert text_with_copy.getvalue() == text.getvalue()
    assert text.getvalue().startswith("Setup\n14:40 Berlin  alice starts a session\n  ALLOWED\n")


def test_json_with_json_to_prints_and_writes_the_same_lines() -> None:
    stdout, copy = io.StringIO(), io.StringIO()
    _perform(Timeline(stdout, as_json=True, json_copy=copy))
    assert stdout.getvalue() == copy.getvalue() != ""


def test_a_json_to_file_that_cannot_be_written_is_named_before_the_demo_starts(tmp_path: Path) -> None:
    # WHEN the file's folder does not exist
    missing = tmp_path / "no-such-folder" / "timeline.jsonl"
    result = run_warden("demo", "--json-to", str(missing))

    # THEN the demo does not run: one line names the option and the file, no traceback
    assert result.code != 0
    assert result.stdout == ""
    assert f"--json-to: cannot write {missing}" in result.stderr
    assert "Traceback" not in result.stderr
