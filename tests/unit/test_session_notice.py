"""The warning document's script, run for real: a session worker with a shell on a pseudo-terminal gets the notice."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "functions" / "sweeper" / "session_notice.sh"
SESSION = "alice-0f1e2d3c4b5a69788"  # an older-style id: name, dash, 17 hex characters
NOTICE = "Session Warden: this session ends at 18:00 Europe/Berlin (business-hours closes). Save your work."

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and /dev/pts (Linux)")


@dataclass
class Worker:
    """A process whose command line is ``ssm-session-worker SESSION``, with a child on a pseudo-terminal."""

    process: subprocess.Popen[bytes]
    master: int

    def read(self, timeout: float = 5.0) -> str:
        """What the terminal shows, read from its master side until ``timeout`` passes with nothing more."""
        seen = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if not ready:
                if seen:
                    break
                continue
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            seen += chunk
        return seen.decode(errors="replace")


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(pid):
            found.append(int(stat.parent.name))
    return found


def _start_worker(tmp_path: Path, session_id: str, child: str) -> Worker:
    """``ssm-session-worker`` is a link to sh; its argument, a file named like the session, runs ``child``."""
    master, slave = pty.openpty()
    terminal = os.ttyname(slave)
    os.close(slave)
    link = tmp_path / "ssm-session-worker"
    link.symlink_to(shutil.which("sh") or "/bin/sh")
    (tmp_path / session_id).write_text(child.replace("TERMINAL", terminal) + "\n")
    process = subprocess.Popen(
        ["ssm-session-worker", session_id],
        executable=str(link),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while not _children(process.pid):
        assert time.monotonic() < deadline, "the worker's child never started"
        time.sleep(0.05)
    time.sleep(0.2)  # the child has opened its terminal
    return Worker(process, master)


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Worker]:
    # A shell reading commands from the terminal, as a session's shell does.
    started = _start_worker(tmp_path, SESSION, "sh -i <TERMINAL >TERMINAL 2>&1")
    yield started
    _stop(started)


def _stop(worker: Worker) -> None:
    for pid in _children(worker.process.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    worker.process.kill()
    worker.process.wait()
    os.close(worker.master)


def _run(session_id: str, message: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SSM_SessionId": session_id, "SSM_Message": message}
    return subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30, check=False)


def test_the_notice_appears_on_the_session_terminal_as_one_line(worker: Worker) -> None:
    worker.read(timeout=1.0)  # the shell's prompt
    # WHEN the document's script runs with the session's id and the notice
    result = _run(SESSION, NOTICE)
    # THEN it says it wrote it, and the terminal shows exactly that line
    assert result.returncode == 0, result.stderr
    # (the terminal turns each newline into CR LF: carriage returns are left out of the comparison)
    shown = worker.read().replace("\r", "")
    assert f"\n{NOTICE}\n" in shown


def test_a_child_whose_input_is_not_the_terminal_is_found_through_its_controlling_terminal(tmp_path: Path) -> None:
    # GIVEN a session whose child reads /dev/null but has the pseudo-terminal as its controlling terminal
    child = (
        f"{sys.executable} -c 'import os, sys, time; os.setsid(); os.open(sys.argv[1], os.O_RDWR); "
        'os.dup2(os.open("/dev/null", os.O_RDONLY), 0); time.sleep(60)\' TERMINAL'
    )
    started = _start_worker(tmp_path, SESSION, child)
    try:
        result = _run(SESSION, NOTICE)
        assert result.returncode == 0, result.stderr
        assert NOTICE in started.read()
    finally:
        _stop(started)


def test_a_session_not_on_this_node_exits_3(worker: Worker) -> None:
    result = _run("alice-0f1e2d3c4b5a69789", NOTICE)
    assert result.returncode == 3
    assert "no session worker" in result.stderr


def test_a_worker_of_a_session_whose_id_merely_contains_the_one_asked_for_is_not_it(tmp_path: Path) -> None:
    # GIVEN a worker of "malice-..." (the asked-for id is a substring of its command line)
    started = _start_worker(tmp_path, "m" + SESSION, "sh -i <TERMINAL >TERMINAL 2>&1")
    try:
        started.read(timeout=1.0)
        result = _run(SESSION, NOTICE)
        assert result.returncode == 3
        assert NOTICE not in started.read(timeout=1.0)
    finally:
        _stop(started)


def test_a_session_without_a_terminal_exits_4(tmp_path: Path) -> None:
    started = _start_worker(tmp_path, SESSION, "sleep 60 </dev/null >/dev/null 2>&1")
    try:
        result = _run(SESSION, NOTICE)
        assert result.returncode == 4
        assert "no terminal" in result.stderr
    finally:
        _stop(started)


HOSTILE_SESSION_IDS = [
    "",
    "alice-0f1e2d3c4b5a69788; touch PWNED",
    "alice-0f1e2d3c4b5a69788$(touch PWNED)",
    "`touch PWNED`-0f1e2d3c4b5a69788",
    "alice-0f1e2d3c4b5a69788\ntouch PWNED",
    "../../alice-0f1e2d3c4b5a69788",
    "alice-0F1E2D3C4B5A69788X",
    "alice-short",
    "a" * 65 + "-0f1e2d3c4b5a69788",
]
HOSTILE_MESSAGES = [
    "",
    "ends $(touch PWNED)",
    "ends `touch PWNED`",
    "ends; touch PWNED",
    "\x1b]0;owned\x07 ends at 18:00",
    "ends\rSession Warden: all clear",
    "ends\ntouch PWNED",
    "100% done %s%n",
    "x" * 201,
]


@pytest.mark.parametrize("session_id", HOSTILE_SESSION_IDS)
def test_a_hostile_session_id_is_refused_and_nothing_runs(worker: Worker, tmp_path: Path, session_id: str) -> None:
    worker.read(timeout=1.0)
    result = _run(session_id, NOTICE)
    assert result.returncode == 2
    assert "session id" in result.stderr
    assert not list(tmp_path.rglob("PWNED")) and not Path("PWNED").exists()
    assert NOTICE not in worker.read(timeout=0.5)


@pytest.mark.parametrize("message", HOSTILE_MESSAGES)
def test_a_hostile_message_is_refused_and_nothing_reaches_the_terminal(
    worker: Worker, tmp_path: Path, message: str
) -> None:
    worker.read(timeout=1.0)
    result = _run(SESSION, message)
    assert result.returncode == 2
    assert "message" in result.stderr
    assert not list(tmp_path.rglob("PWNED")) and not Path("PWNED").exists()
    assert worker.read(timeout=0.5) == ""


def test_shell_syntax_allowed_by_the_pattern_is_written_as_inert_text(worker: Worker, tmp_path: Path) -> None:
    # Parentheses, slashes and plus signs are allowed; written, they stay text.
    message = "(touch PWNED) /bin/sh +x -c id"
    worker.read(timeout=1.0)
    result = _run(SESSION, message)
    assert result.returncode == 0, result.stderr
    assert message in worker.read()
    assert not list(tmp_path.rglob("PWNED")) and not Path("PWNED").exists()
