"""`warden completion bash|zsh`: a shell completion script for the commands and options of this `warden`."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Iterator
from typing import Any

from warden_cli.errors import EXIT_OK

SHELLS = ("bash", "zsh")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "completion",
        help='print a shell completion script: eval "$(warden completion bash)" (or zsh) in your shell\'s rc file',
        description="Print a completion script for commands and options. bash: add "
        '`eval "$(warden completion bash)"` to ~/.bashrc; zsh: `eval "$(warden completion zsh)"` to ~/.zshrc.',
    )
    parser.add_argument("shell", choices=SHELLS, help="the shell: bash or zsh")
    parser.set_defaults(handler=completion_command)


def completion_command(args: argparse.Namespace) -> int:
    from warden_cli.main import build_parser

    script = bash_script(build_parser())
    if args.shell == "zsh":
        # zsh runs the bash function through its bash compatibility layer.
        script = "autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n" + script
    print(script, end="")
    return EXIT_OK


def command_tree(parser: argparse.ArgumentParser, path: str = "") -> Iterator[tuple[str, list[str], list[str]]]:
    """(command path, its subcommands, its options) for the parser and every subcommand below it."""
    commands: dict[str, argparse.ArgumentParser] = {}
    options: list[str] = []
    values: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            commands.update(action.choices)
        elif action.help != argparse.SUPPRESS:
            options.extend(action.option_strings)
            if not action.option_strings and action.choices:  # a positional with fixed values (the shell)
                values.extend(str(choice) for choice in action.choices)
    yield path, sorted(commands) + values, options
    for name, sub in commands.items():
        yield from command_tree(sub, f"{path} {name}".strip())


def bash_script(parser: argparse.ArgumentParser) -> str:
    tree = list(command_tree(parser))
    known = "|".join(shlex.quote(path) for path, _, _ in tree if path)
    cases = "\n".join(_case(path, commands, options) for path, commands, options in tree)
    return f"""# warden completion for bash (and zsh through bashcompinit)
_warden() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" path="" next word i commands="" options=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${{COMP_WORDS[i]}}"
        next="${{path:+$path }}$word"
        case "$next" in
        {known}) path="$next" ;;
        esac
    done
    case "$path" in
{cases}
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$options" -- "$cur"))
    elif [[ -n "$commands" ]]; then
        COMPREPLY=($(compgen -W "$commands" -- "$cur"))
    else
        COMPREPLY=()  # a file, an id, a duration: the shell's default completion
    fi
}}
complete -o default -F _warden warden
"""


def _case(path: str, commands: list[str], options: list[str]) -> str:
    label = shlex.quote(path) if path else "''"
    return f"        {label}) commands={shlex.quote(' '.join(commands))}; options={shlex.quote(' '.join(options))} ;;"
