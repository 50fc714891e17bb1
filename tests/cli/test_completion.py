"""`warden completion bash|zsh`: the script completes commands and options as bash runs it."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.cli.conftest import run_warden


def complete(script: str, *words: str) -> list[str]:
    """What bash offers for the last of ``words`` after ``warden``, with the script loaded."""
    quoted = " ".join(f"'{word}'" for word in ("warden", *words))
    probe = f'{script}\nCOMP_WORDS=({quoted}); COMP_CWORD={len(words)}; _warden; printf "%s\\n" "${{COMPREPLY[@]}}"\n'
    completed = subprocess.run(["bash", "--norc", "-c", probe], capture_output=True, text=True, check=True)
    assert completed.stderr == ""
    return [line for line in completed.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def bash_script() -> str:
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    result = run_warden("completion", "bash")
    assert result.code == 0, result.stderr
    return result.stdout


def test_commands_complete_at_each_level(bash_script: str) -> None:
    assert complete(bash_script, "gr") == ["grant"]
    assert complete(bash_script, "local", "") == [
        "advance", "alerts", "clock", "end-session", "instance", "session", "sso", "up", "user",
    ]  # fmt: skip
    assert complete(bash_script, "completion", "") == ["bash", "zsh"]


def test_options_complete_for_the_command_typed_so_far(bash_script: str) -> None:
    assert complete(bash_script, "grant", "create", "--pr") == ["--principal", "--profile"]
    # option values typed in between do not confuse it
    assert complete(bash_script, "grant", "create", "--principal", "user:bob", "--re") == ["--reason", "--region"]


def test_a_file_argument_is_left_to_the_shell(bash_script: str) -> None:
    assert complete(bash_script, "policy", "validate", "") == []
    assert "complete -o default -F _warden warden" in bash_script


def test_zsh_loads_the_same_function_through_bashcompinit() -> None:
    result = run_warden("completion", "zsh")
    assert result.code == 0
    assert "bashcompinit" in result.stdout and "_warden()" in result.stdout


def test_an_unknown_shell_is_bad_input() -> None:
    result = run_warden("completion", "fish")
    assert result.code == 2
    assert "usage: warden completion" in result.stderr
