"""The README as a newcomer reads it: every shell block marked to run runs, in order, in one shell, and prints
what the README shows.

A block is marked by the HTML comment on the line before its fence: ``<!-- readme-test: run -->`` or
``<!-- readme-test: skip (why) -->``. In a ``console`` block, ``$ `` starts a command (a trailing ``\\`` continues
it) and the lines up to the next command are its output: ``…`` stands for any text within a line, a line of only
``…`` for any number of lines, and runs of spaces compare as one. ``sh`` blocks are run, their output unchecked.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.cli.conftest import ROOT

README = ROOT / "README.md"
MARK = re.compile(r"<!-- readme-test: (run|skip \(.+\)) -->")
FENCE = re.compile(r"^```(\w*)\s*$")
SHELL = {"sh", "bash", "console"}
# Sections other parts of the project keep; their blocks are checked where they are maintained.
EXEMPT = ("### How closely it plays AWS",)
MARKER = "@@readme-command"

pytestmark = pytest.mark.functional


@dataclass
class Block:
    line: int
    language: str
    mark: str | None
    section: str
    body: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Command:
    text: str
    expected: list[str] | None  # None: not checked (an sh block)
    line: int


def blocks(text: str) -> list[Block]:
    found: list[Block] = []
    lines = text.splitlines()
    section, current, previous = "", None, ""
    for number, line in enumerate(lines, start=1):
        fence = FENCE.match(line)
        if current is not None:
            if line.startswith("```"):
                found.append(current)
                current = None
            else:
                current.body.append(line)
            continue
        if line.startswith("#"):
            section = line
        if fence:
            mark = MARK.fullmatch(previous.strip())
            current = Block(number, fence.group(1), mark.group(1) if mark else None, section)
        if line.strip():
            previous = line
    return found


def exempt(block: Block) -> bool:
    return any(block.section.startswith(heading) for heading in EXEMPT)


def commands(block: Block) -> list[Command]:
    if block.language != "console":
        return [Command("\n".join(block.body), None, block.line)]
    found: list[Command] = []
    text: list[str] = []
    expected: list[str] = []
    for offset, line in enumerate(block.body, start=1):
        if line.startswith("$ ") or (text and text[-1].endswith("\\") and not expected):
            if line.startswith("$ ") and text:
                found.append(Command("\n".join(text), expected, block.line + offset))
                text, expected = [], []
            text.append(line.removeprefix("$ "))
        else:
            expected.append(line)
    if text:
        found.append(Command("\n".join(text), expected, block.line))
    return found


def _normal(line: str) -> str:
    return " ".join(line.split())


def output_pattern(expected: list[str]) -> re.Pattern[str]:
    while expected and not expected[-1].strip():
        expected = expected[:-1]
    parts = []
    for line in expected:
        if line.strip() == "…":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            pieces = [re.escape(piece) for piece in _normal(line).split("…")]
            parts.append("[^\n]*?".join(pieces) + "\n")
    return re.compile("".join(parts), re.DOTALL)


def test_every_shell_block_outside_the_exempt_sections_is_marked_run_or_skip() -> None:
    unmarked = [
        block.line
        for block in blocks(README.read_text(encoding="utf-8"))
        if block.language in SHELL and block.mark is None and not exempt(block)
    ]
    assert unmarked == [], f"README.md lines {unmarked}: mark each shell block run or skip"


def test_the_readme_blocks_marked_run_print_what_the_readme_shows(tmp_path: Path) -> None:
    if not (ROOT / ".venv" / "bin" / "activate").is_file():
        pytest.skip("no .venv in the clone (make dev)")
    runnable = [block for block in blocks(README.read_text(encoding="utf-8")) if block.mark == "run"]
    steps = [command for block in runnable for command in commands(block)]
    assert len(steps) > 10
    script = ["exec 2>&1", "trap 'kill \"${WARDEN_LOCAL_PID:-}\" 2>/dev/null || true' EXIT"]
    for index, step in enumerate(steps):
        script += [f"echo '{MARKER} {index}'", step.text]
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.pop("COLUMNS", None)
    env.pop("VIRTUAL_ENV", None)
    env.update({"WARDEN_LOCAL_PORT": "0", "PYTHONUNBUFFERED": "1", "TMPDIR": str(tmp_path)})
    completed = subprocess.run(
        ["bash", "-c", "\n".join(script)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600, check=False
    )
    outputs = re.split(rf"^{MARKER} (\d+)\n", completed.stdout, flags=re.MULTILINE)
    printed = {int(number): text for number, text in zip(outputs[1::2], outputs[2::2], strict=True)}
    assert len(printed) == len(steps), completed.stdout[-3000:]
    for index, step in enumerate(steps):
        if step.expected is None:
            continue
        actual = "".join(_normal(line) + "\n" for line in printed[index].rstrip("\n").splitlines())
        assert output_pattern(step.expected).fullmatch(actual), (
            f"README.md line {step.line}: `{step.text}` printed:\n{printed[index]}"
        )
