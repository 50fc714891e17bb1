"""The shared CLI plumbing: where "now" comes from, input parsing, AWS failures as one-line errors, a light `--help`."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.cli.conftest import ROOT, run_warden
from warden_cli.clock import local_endpoint
from warden_cli.errors import CliError
from warden_cli.inputs import parse_tags, parse_time
from warden_cli.output import relative
from warden_cli.sessions import days_between

NO_CREDENTIALS = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent/config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.mark.parametrize(
    ("endpoint", "local"),
    [
        ("http://127.0.0.1:4566", "http://127.0.0.1:4566"),
        ("http://localhost:4566/", "http://localhost:4566"),
        ("http://[::1]:4566", "http://[::1]:4566"),
        ("https://ssm.eu-central-1.amazonaws.com", None),
        ("http://10.0.0.5:4566", None),
        ("", None),
    ],
)
def test_only_a_loopback_endpoint_is_the_local_cloud(endpoint: str, local: str | None) -> None:
    assert local_endpoint(endpoint) == local


def test_tags_are_key_value_pairs_and_the_value_may_hold_an_equals_sign() -> None:
    assert parse_tags(["Env=prod", "Query=a=b", "Empty="]) == {"Env": "prod", "Query": "a=b", "Empty": ""}


@pytest.mark.parametrize("tag", ["Env", "=prod", " =x"])
def test_a_tag_without_key_or_equals_is_rejected_naming_it(tag: str) -> None:
    with pytest.raises(CliError, match="--tag") as caught:
        parse_tags([tag])
    assert caught.value.code == 2


def test_times_need_an_offset_and_come_back_in_utc() -> None:
    assert parse_time("2026-11-24T10:00:00+01:00", option="--at") == datetime(2026, 11, 24, 9, tzinfo=UTC)
    with pytest.raises(CliError, match=r"--at: .*offset"):
        parse_time("2026-11-24T10:00:00", option="--at")


def test_relative_times_read_like_a_person_says_them() -> None:
    base = datetime(2026, 11, 24, 10, tzinfo=UTC)
    assert relative(base + timedelta(hours=1, minutes=20, seconds=30), base) == "in 1h20m"
    assert relative(base - timedelta(minutes=3), base) == "3m ago"
    assert relative(base + timedelta(seconds=20), base) == "in 20s"
    assert relative(base, base) == "now"


def test_the_days_of_a_span_are_listed_newest_first_in_utc() -> None:
    start = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    assert days_between(start, datetime(2026, 11, 24, 0, 10, tzinfo=UTC)) == ["2026-11-24", "2026-11-23", "2026-11-22"]


def test_help_imports_neither_boto3_nor_the_policy_engine() -> None:
    probe = (
        "import sys\n"
        "from warden_cli.main import build_parser\n"
        "build_parser().format_help()\n"
        "print(sorted(name for name in ('boto3', 'botocore', 'pydantic', 'warden.policy') if name in sys.modules))\n"
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert completed.stdout.strip() == "[]"


def test_help_lists_the_commands() -> None:
    result = run_warden("--help")
    assert result.code == 0
    for command in ("policy", "explain", "grant", "sessions"):
        assert command in result.stdout


def test_missing_credentials_are_a_one_line_error() -> None:
    result = run_warden("sessions", env=NO_CREDENTIALS)
    assert result.code == 2  # bad input: the credentials are the user's to give
    assert result.stderr.strip() == (
        "warden: error: no AWS credentials: configure them (aws configure, AWS_PROFILE) or pass --profile"
    )


def test_an_unknown_profile_is_named() -> None:
    result = run_warden("grant", "list", "--profile", "nobody", env=NO_CREDENTIALS)
    assert result.code == 2
    assert result.stderr.strip() == "warden: error: --profile: no AWS profile named 'nobody'"


def test_a_missing_region_is_named() -> None:
    env = {key: value for key, value in NO_CREDENTIALS.items() if key != "AWS_DEFAULT_REGION"}
    result = run_warden("policy", "show", env=env)
    assert result.code == 2
    assert "--region" in result.stderr


def test_an_unreachable_endpoint_is_a_one_line_error() -> None:
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}
    result = run_warden("grant", "list", env={**NO_CREDENTIALS, **env})
    assert result.code == 1
    assert result.stderr.startswith("warden: error: cannot reach AWS")
    assert len(result.stderr.strip().splitlines()) == 1
