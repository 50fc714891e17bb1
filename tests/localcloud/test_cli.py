"""`warden local ...`: the foreground cloud as a subprocess, and the commands that drive it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from warden_cli.main import main

pytestmark = pytest.mark.functional

REPO = Path(__file__).resolve().parents[2]


def warden(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "warden_cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def first_lines(process: subprocess.Popen[str], count: int, *, timeout: float) -> list[str]:
    """The first lines the process prints, or a failure after ``timeout`` seconds (never a hung test)."""
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for _ in range(count):
            lines.append(process.stdout.readline().strip())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if len(lines) < count:
        process.kill()
        pytest.fail(f"`warden local up` printed {lines} within {timeout}s")
    return lines


@pytest.fixture
def running() -> Iterator[tuple[subprocess.Popen[str], str, dict[str, str]]]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "warden_cli.main", "local", "up", "--port", "0", "--at", "2026-11-24T08:00:00Z"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "PYTHONUNBUFFERED": "1"},
        cwd=REPO,
    )
    try:
        ready, export = first_lines(process, 2, timeout=120)
        match = re.fullmatch(r"ready (http://127\.0\.0\.1:\d+)", ready)
        assert match, (ready, process.stderr.read() if process.poll() is not None else "")
        endpoint = match.group(1)
        assert export == (
            f"export AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
            "AWS_DEFAULT_REGION=us-east-1"
        )
        yield (
            process,
            endpoint,
            {
                **env,
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
            },
        )
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_local_up_serves_the_stack_and_stops_cleanly_on_sigterm(
    running: tuple[subprocess.Popen[str], str, dict[str, str]],
) -> None:
    process, _endpoint, env = running

    clock = warden("local", "clock", env=env)
    advanced = warden("local", "advance", "3m", env=env)
    unknown = warden("local", "end-session", "nobody-aaaaaaaaaaaaaaaaaaaaaaaaaa", env=env)
    process.send_signal(signal.SIGTERM)
    began = time.monotonic()
    code = process.wait(15)

    assert clock.returncode == 0
    assert clock.stdout.startswith("2026-11-24T08:0")
    assert advanced.returncode == 0
    fired = re.fullmatch(r"2026-11-24T08:0\d:\S+Z  fired (\d) scheduled runs\n", advanced.stdout)
    # 08:01, 08:02 and 08:03 fall due; the ticker may have fired 08:01 itself on a slow machine.
    assert fired and fired.group(1) in ("2", "3"), advanced.stdout
    assert unknown.returncode == 2
    assert "no session nobody-aaaaaaaaaaaaaaaaaaaaaaaaaa" in unknown.stderr
    assert code == 0
    assert time.monotonic() - began < 10


def test_local_up_ends_a_session_started_through_the_api(
    running: tuple[subprocess.Popen[str], str, dict[str, str]],
) -> None:
    import boto3

    _, endpoint, env = running
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    ec2 = session.client("ec2", endpoint_url=endpoint)
    ssm = session.client("ssm", endpoint_url=endpoint)
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    session_id = ssm.start_session(Target=instance)["SessionId"]

    ended = warden("local", "end-session", session_id, env=env)

    assert ended.returncode == 0, ended.stderr
    assert ended.stdout.startswith(f"ended {session_id} at 2026-11-24T08:0")
    assert ssm.describe_sessions(State="History", Filters=[{"key": "SessionId", "value": session_id}])["Sessions"]


def test_commands_name_aws_endpoint_url_when_there_is_no_local_cloud(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert main(["local", "clock"]) == 2
    assert "AWS_ENDPOINT_URL is not set" in capsys.readouterr().err

    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://ssm.us-east-1.amazonaws.com")
    assert main(["local", "advance", "10m"]) == 2
    assert "is not the local cloud" in capsys.readouterr().err

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert main(["local", "end-session", "x"]) == 1
    assert "cannot reach the local cloud at http://127.0.0.1:9 (AWS_ENDPOINT_URL)" in capsys.readouterr().err


def test_bad_input_to_local_up_is_refused_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["local", "up", "--at", "next tuesday"]) == 2
    assert "--at: invalid time 'next tuesday'" in capsys.readouterr().err
    assert main(["local", "up", "--policy", str(tmp_path / "missing.yaml")]) == 2
    assert "--policy: cannot read" in capsys.readouterr().err
    assert main(["local", "advance", "soon"]) == 2
    assert "DURATION: invalid duration 'soon'" in capsys.readouterr().err


def test_local_up_org_serves_the_organization_and_its_members_users() -> None:
    import json
    import urllib.request

    import boto3

    # GIVEN `warden local up --org`
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "warden_cli.main", "local", "up", "--port", "0", "--org"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "PYTHONUNBUFFERED": "1"},
        cwd=REPO,
    )
    try:
        ready, _export = first_lines(process, 2, timeout=120)
        endpoint = ready.removeprefix("ready ")

        # WHEN a user of prod-web is asked for through the control API, and the organization through Organizations
        request = urllib.request.Request(
            f"{endpoint}/_warden/identity",
            data=json.dumps({"kind": "user", "name": "dora", "account": "222222222222"}).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            keys = json.loads(answer.read())
        session = boto3.session.Session(
            aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
            region_name="eu-west-1",
        )
        caller = session.client("sts", endpoint_url=endpoint).get_caller_identity()
        described = session.client("organizations", endpoint_url=endpoint).describe_organization()
        process.send_signal(signal.SIGTERM)
        code = process.wait(15)

        # THEN the user acts in prod-web, inside organization o-warden0001, and the cloud stops cleanly
        assert caller["Arn"] == "arn:aws:iam::222222222222:user/dora"
        assert described["Organization"]["Id"] == "o-warden0001"
        assert code == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
