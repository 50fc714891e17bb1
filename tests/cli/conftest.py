"""CLI test helpers: run the real `warden` console script in a subprocess and read what it printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
_SCRIPT = Path(sys.executable).parent / "warden"
WARDEN = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "warden_cli.main"]

# 2026-11-24 is a Tuesday; Berlin is on CET (UTC+1), so 08:00-18:00 Berlin is 07:00-17:00 UTC.
POLICY = textwrap.dedent(
    """\
    version: 1
    mode: enforce
    default: deny
    timezone: UTC

    windows:
      business-hours:
        timezone: Europe/Berlin
        weekly:
          - days: [mon, tue, wed, thu, fri]
            from: "08:00"
            to: "18:00"

    rules:
      - name: alice-in-business-hours
        principals: ["user:alice"]
        windows: [business-hours]
        max_duration: 2h
      - name: ops-admins
        principals: ["role:OpsAdmin"]
      - name: no-pci
        effect: deny
        targets: {tags: {Compliance: pci}}
    """
)


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


def run_warden(*args: str, env: Mapping[str, str] | None = None, extra_env: Mapping[str, str] | None = None) -> Result:
    """Run `warden ARGS...` as a user would; the environment is scrubbed of real AWS settings."""
    # COLUMNS too: a table's width is the terminal's only when a test says so.
    base = {key: value for key, value in os.environ.items() if not key.startswith("AWS_") and key != "COLUMNS"}
    base.update(env or {})
    base.update(extra_env or {})
    completed = subprocess.run(
        [*WARDEN, *args], capture_output=True, text=True, env=base, cwd=ROOT, timeout=120, check=False
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], str]:
    """Write a file under tmp_path and return its path as a string."""

    def _write(name: str, text: str) -> str:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    return _write


@pytest.fixture
def policy_file(write: Callable[[str, str], str]) -> str:
    return write("policy.yaml", POLICY)


# --- the local cloud -------------------------------------------------------------------------------------------------


def cli_env(cloud: Any) -> dict[str, str]:
    """What a person sets to point `warden` at the local cloud."""
    return {
        "AWS_ENDPOINT_URL": cloud.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


@contextmanager
def local_cloud(start_at: datetime, policy: str | None = None) -> Iterator[Any]:
    """A deployed local cloud on a frozen clock; the tests skip only while warden_local is not importable."""
    warden_local = pytest.importorskip("warden_local")
    with warden_local.LocalCloud(port=0, start_at=start_at, frozen=True, deploy=True, policy=policy) as cloud:
        yield cloud


def alert_inbox(cloud: Any) -> Any:
    """The security team's mailbox: an SQS queue subscribed to the stack's alerts topic (warden_local.inbox)."""
    return pytest.importorskip("warden_local.inbox").Inbox(cloud)
