"""`make bench`: one table of the numbers the issues set targets for (measured, never asserted by tests)."""

from __future__ import annotations

import argparse
import logging
import platform
import sys
import time
import warnings
from collections.abc import Callable

from bench import aws, decision, imports, org

SECTIONS: tuple[Callable[[], list[tuple[str, str, str]]], ...] = (
    decision.run,
    imports.run,
    aws.calls_per_start,
    aws.end_to_end,
    aws.sweep_cost,
    org.org_sweep,
    org.org_event_path,
)


def _name(section: Callable[..., object]) -> str:
    """``aws.sweep_cost``: the section's module and function, as ``--only`` takes it."""
    return f"{section.__module__.split('.')[-1]}.{getattr(section, '__name__', '?')}"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the 10,000-session sweep; 10 accounts in org mode")
    parser.add_argument("--org-only", action="store_true", help="only the organization figures")
    parser.add_argument(
        "--only",
        action="append",
        metavar="SECTION",
        help="run only this section (repeatable): " + ", ".join(_name(section) for section in SECTIONS),
    )
    args = parser.parse_args()
    if args.quick:
        aws.SWEEP_SIZES = (100, 1000)
        org.ACCOUNTS = 10
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    began = time.perf_counter()
    rows: list[tuple[str, str, str]] = []
    chosen = [section for section in SECTIONS if not args.org_only or section.__module__ == org.__name__]
    if args.only:
        unknown = sorted(set(args.only) - {_name(section) for section in SECTIONS})
        if unknown:
            parser.error(f"no section {', '.join(unknown)}; sections: {', '.join(map(_name, SECTIONS))}")
        chosen = [section for section in SECTIONS if _name(section) in args.only]
    for section in chosen:
        try:
            rows.extend(section())
        except Exception as error:  # one section that cannot run is reported, and the others still measured
            rows.append((_name(section), f"not measured: {error}"[:300], "-"))
        print(f"  ... {_name(section)} done", file=sys.stderr, flush=True)
    widths = [max(len(row[column]) for row in [*rows, ("measure", "result", "meets target")]) for column in range(3)]
    print(
        f"Session Warden benchmark: Python {platform.python_version()}, {platform.machine()}, "
        f"{time.perf_counter() - began:.0f} s\n"
    )
    print(f"| {'measure':<{widths[0]}} | {'result':<{widths[1]}} | {'meets target':<{widths[2]}} |")
    print(f"|{'-' * (widths[0] + 2)}|{'-' * (widths[1] + 2)}|{'-' * (widths[2] + 2)}|")
    for measure, result, target in rows:
        print(f"| {measure:<{widths[0]}} | {result:<{widths[1]}} | {target:<{widths[2]}} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
