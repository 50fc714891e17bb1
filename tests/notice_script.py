"""Copies functions/sweeper/session_notice.sh into the warning documents of template.yaml and org/member.yaml.

Both documents inline the script (CloudFormation has no include); this is their one source. Run it after changing the
script: ``.venv/bin/python -m tests.notice_script``. tests/unit/test_notice_documents.py fails while a copy differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "functions" / "sweeper" / "session_notice.sh"
TEMPLATES = (ROOT / "template.yaml", ROOT / "org" / "member.yaml")
# The comment above each copy's runCommand: the block after it is rewritten.
MARKER = "# functions/sweeper/session_notice.sh, copied by `python -m tests.notice_script` (a test checks it)."
COMMAND = "python -m tests.notice_script"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def with_script(text: str, script: str) -> str:
    """*text* (a template) with every marked ``runCommand`` block holding *script*, the rest unchanged."""
    lines = text.split("\n")
    out: list[str] = []
    index = 0
    found = 0
    while index < len(lines):
        line = lines[index]
        out.append(line)
        index += 1
        if line.strip() != MARKER:
            continue
        found += 1
        head, item = lines[index], lines[index + 1]
        if head.strip() != "runCommand:" or item.strip() != "- |":
            raise ValueError(f"after the marker comment, expected 'runCommand:' and '- |', got {head!r}, {item!r}")
        out += [head, item]
        depth = _indent(item) + 2
        end = index + 2
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) >= depth):
            end += 1
        # Blank lines between the block and what follows it stay where they are.
        last = end
        while last > index + 2 and not lines[last - 1].strip():
            last -= 1
        out += [" " * depth + part if part else "" for part in script.rstrip("\n").split("\n")]
        out += lines[last:end]
        index = end
    if not found:
        raise ValueError("no marked runCommand block (the marker comment is missing)")
    return "\n".join(out)


def main() -> int:
    script = SCRIPT.read_text()
    for template in TEMPLATES:
        text = template.read_text()
        updated = with_script(text, script)
        if updated != text:
            template.write_text(updated)
            print(f"updated {template.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
