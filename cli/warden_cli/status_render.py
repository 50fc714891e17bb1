"""How `warden status` prints its report: the aligned text screen, or one JSON object with `--json`."""

from __future__ import annotations

from warden_cli.output import plural, print_json
from warden_cli.status_report import Report


def print_report(report: Report) -> None:
    """Every field and the problems as one JSON object."""
    print_json({**report.fields, "healthy": not report.problems, "problems": report.problems})


def print_text(report: Report) -> None:
    width = max(len(label) for label, _ in report.lines)
    for label, text in report.lines:
        print(f"{label.ljust(width)}  {text}")
    print()
    if not report.problems:
        print("healthy: no problems found")
        return
    print(f"{plural(len(report.problems), 'problem')}:")
    for problem in report.problems:
        print(f"- {problem}")
