"""Write an x86_64 copy of template.yaml, so this machine can build and run the stack that deploys on arm64.

Usage: ``python -m tests.artifact.x86_template template.yaml .aws-sam/x86/template.yaml``; build the copy with
``sam build --template-file COPY --base-dir .`` (its CodeUri paths stay relative to the repository).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# Each architecture setting of template.yaml, exactly once: a template that moved or added one fails here rather
# than building a mixed-architecture copy.
_SETTINGS = (
    re.compile(r"^(\s+Architectures: \[)arm64(\])$", re.MULTILINE),
    re.compile(r"^(\s+CompatibleArchitectures: \[)arm64(\])$", re.MULTILINE),
    re.compile(r"^(\s+BuildArchitecture: )arm64()$", re.MULTILINE),
)


class TemplateShapeError(ValueError):
    """The template's architecture settings are not the ones this copy knows how to change."""


def x86_copy(text: str) -> str:
    """``text`` with every arm64 setting turned to x86_64; raise ``TemplateShapeError`` if one is not found once."""
    for setting in _SETTINGS:
        text, count = setting.subn(r"\g<1>x86_64\g<2>", text)
        if count != 1:
            raise TemplateShapeError(f"expected one line matching {setting.pattern!r} in the template, found {count}")
    if "arm64" in text:
        line = next(number for number, content in enumerate(text.splitlines(), 1) if "arm64" in content)
        raise TemplateShapeError(f"arm64 is still named at line {line}: teach tests/artifact/x86_template.py about it")
    return text


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tests.artifact.x86_template TEMPLATE OUTPUT", file=sys.stderr)
        return 2
    source, target = Path(argv[0]), Path(argv[1])
    try:
        copy = x86_copy(source.read_text(encoding="utf-8"))
    except TemplateShapeError as error:
        print(f"{source}: {error}", file=sys.stderr)
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(copy, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
