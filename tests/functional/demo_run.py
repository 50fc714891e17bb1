"""One run of ``warden demo`` (text on stdout, JSON lines to a file) shared by the tests that read it.

A demo run is the dearest thing in the suite. Its text and its ``--json`` lines are two renderings of the same
events (``--json-to`` writes the second while the first is printed), so each demo runs once per test session:
the first pytest-xdist worker to ask runs it under a file lock, the others read what it left.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

# Only a guard against a hung demo: how long it takes is for a benchmark to measure, not a test (a loaded
# 2-core runner shares its CPU with the other functional tests).
TIMEOUT_SECONDS = 900
_SCRIPT = Path(sys.executable).parent / "warden"
WARDEN = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "warden_cli.main"]


def run_demo(*extra: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # No AWS settings of the developer's leak in: the demo needs no account, profile or endpoint.
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    return subprocess.run(
        [*WARDEN, "demo", *extra],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


@dataclass(frozen=True)
class DemoRun:
    returncode: int
    stdout: str
    stderr: str
    json_lines: str  # what `warden demo --json` prints, written by `--json-to` during the same run


def demo_once(factory: pytest.TempPathFactory, name: str, *extra: str) -> DemoRun:
    """``warden demo EXTRA... --json-to FILE`` run once in this test session, from a fresh directory."""
    root = _session_dir(factory)
    directory = root / name
    saved = root / f"{name}.json"
    with (root / f"{name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if saved.exists():
            return DemoRun(**json.loads(saved.read_text(encoding="utf-8")))
        directory.mkdir()
        timeline = directory / "timeline.jsonl"
        completed = run_demo(*extra, "--json-to", str(timeline), cwd=directory)
        json_lines = timeline.read_text(encoding="utf-8") if timeline.exists() else ""
        run = DemoRun(completed.returncode, completed.stdout, completed.stderr, json_lines)
        saved.write_text(json.dumps(asdict(run)), encoding="utf-8")
        return run


def _session_dir(factory: pytest.TempPathFactory) -> Path:
    """A folder of this test session that every xdist worker sees (each worker's own temp folder is in it)."""
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    base = factory.getbasetemp()
    directory = base.parent / f"demo-{run_id}" if run_id else base / "demo"
    directory.mkdir(exist_ok=True)
    return directory
