"""One convention for failures, through the real console script: exit 2 for bad input, one line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version

import pytest

from tests.cli.conftest import ROOT, WARDEN, run_warden

NO_CREDENTIALS = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent/config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
    "AWS_DEFAULT_REGION": "us-east-1",
}
KEYS = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}
NOTHING_LISTENS = "http://127.0.0.1:9"  # the discard port: connections are refused at once


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("warden: error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


# --- the command line itself -----------------------------------------------------------------------------------------


def test_warden_alone_prints_the_help() -> None:
    result = run_warden()
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("usage: warden")
    for command in ("policy", "explain", "grant", "sessions", "local", "demo"):
        assert command in result.stdout


def test_version_prints_the_installed_version() -> None:
    result = run_warden("--version")
    assert (result.code, result.stdout.strip()) == (0, f"warden {version('session-warden')}")


def test_a_mistyped_option_shows_the_usage_of_that_subcommand() -> None:
    result = run_warden("policy", "validate", "--json", "x")
    assert result.code == 2
    assert result.stderr.startswith("usage: warden policy validate ")
    assert result.stderr.strip().splitlines()[-1] == "warden: error: unrecognized arguments: --json"


def test_the_help_names_the_environment_variables_boto3_and_warden_read() -> None:
    result = run_warden("grant", "list", "--help")
    assert result.code == 0
    text = " ".join(result.stdout.split())
    assert "AWS_REGION" in text and "AWS_DEFAULT_REGION" in text
    assert "WARDEN_STACK" in text


def test_a_command_whose_module_fails_to_import_is_listed_and_says_why() -> None:
    # GIVEN an install where warden_cli.demo cannot be imported
    probe = (
        "import sys\n"
        "sys.modules['warden_cli.demo'] = None  # makes `import warden_cli.demo` raise ImportError\n"
        "from warden_cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, cwd=ROOT, check=False
        )

    # WHEN the help is asked for, and the command is run
    listed, ran = run("--help"), run("demo")
    # THEN the help still lists it as unavailable, and running it says why in one line, exit 1
    assert listed.returncode == 0
    assert "demo" in listed.stdout and "unavailable" in listed.stdout
    assert ran.returncode == 1
    assert "the demo command is unavailable" in one_error_line(ran.stderr)


# --- bad input exits 2 -------------------------------------------------------------------------------------------------


def test_missing_credentials_are_bad_input() -> None:
    result = run_warden("grant", "list", env=NO_CREDENTIALS)
    assert result.code == 2
    assert "no AWS credentials" in one_error_line(result.stderr)


def test_an_endpoint_that_is_not_a_url_is_one_line_naming_it() -> None:
    result = run_warden("grant", "list", env={**NO_CREDENTIALS, **KEYS, "AWS_ENDPOINT_URL": "not-a-url"})
    assert result.code == 2
    assert "AWS_ENDPOINT_URL='not-a-url' is not a URL" in one_error_line(result.stderr)


def test_a_malformed_grant_id_is_refused_before_any_aws_call() -> None:
    result = run_warden("grant", "revoke", "g-../../x", env=NO_CREDENTIALS)
    assert result.code == 2
    assert "'g-../../x' is not a grant id" in one_error_line(result.stderr)


def test_a_negative_duration_is_refused_saying_so() -> None:
    result = run_warden("local", "advance", "-1h", env={"AWS_ENDPOINT_URL": NOTHING_LISTENS})
    assert result.code == 2
    assert one_error_line(result.stderr) == (
        "warden: error: DURATION: '-1h': a duration cannot be negative (the clock only moves forward)"
    )


@pytest.mark.parametrize(
    "command",
    [
        ("grant", "create", "--principal", "user:a", "--target", "i-1", "--for", "1h", "--reason", "R-1", "--starts"),
        (
            "explain",
            "--policy",
            "policies/demo.yaml",
            "--principal",
            "arn:aws:iam::123456789012:user/a",
            "--target",
            "i-1",
            "--at",
        ),
        ("local", "up", "--at"),
    ],
    ids=["grant-create", "explain", "local-up"],
)
def test_a_bad_time_is_worded_the_same_everywhere_with_one_hint(command: tuple[str, ...]) -> None:
    option = command[-1]
    for text, why in (("tomorrow", "not ISO 8601"), ("2026-11-24T10:00:00", "no UTC offset")):
        result = run_warden(*command, text, env=NO_CREDENTIALS)
        assert result.code == 2
        assert one_error_line(result.stderr) == (
            f"warden: error: {option}: invalid time {text!r}: {why}; "
            "write it like 2026-11-24T10:00:00Z or 2026-11-24T11:00:00+01:00"
        )


# --- failures of the outcome exit 1 ----------------------------------------------------------------------------------


def test_an_unreachable_local_cloud_asks_whether_it_is_running() -> None:
    result = run_warden("sessions", env={**NO_CREDENTIALS, **KEYS, "AWS_ENDPOINT_URL": NOTHING_LISTENS})
    assert result.code == 1
    line = one_error_line(result.stderr)
    assert line.startswith("warden: error: cannot reach AWS")
    assert f"AWS_ENDPOINT_URL={NOTHING_LISTENS} is the local cloud: is `warden local up` running?" in line


# --- output into a closed pipe ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ("policy", "validate", "policies/example.yaml"),
        ("explain", "--policy", "policies/demo.yaml", "--principal", "arn:aws:iam::123456789012:user/a",
         "--target", "i-1", "--at", "2026-11-24T10:00:00Z"),
        ("--help",),
    ],
    ids=["validate", "explain", "help"],
)  # fmt: skip
def test_output_into_a_pipe_nobody_reads_prints_nothing_on_stderr(command: tuple[str, ...]) -> None:
    # GIVEN a pipe whose reader is gone (`warden ... | head -0`)
    reader, writer = os.pipe()
    os.close(reader)
    try:
        # WHEN the command writes to it
        completed = subprocess.run(
            [*WARDEN, *command], stdout=writer, stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=60, check=False
        )
    finally:
        os.close(writer)
    # THEN it stops without a traceback or a broken-pipe warning (the policy's own warnings are its output: the
    # example names user:alice@example.com, which `policy validate` explains matches no ordinary role session)
    assert [line for line in completed.stderr.splitlines() if not line.startswith("warden: warning: ")] == []
    assert completed.returncode in (0, 141)
