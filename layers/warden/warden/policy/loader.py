"""Load a policy document from YAML or JSON text, reporting every problem with its path and line.

Reading the text is :mod:`warden.policy.yaml_text`; turning pydantic's errors into issues, :mod:`warden.policy.issues`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from warden.policy.errors import PolicyError, PolicyIssue
from warden.policy.issues import REPR_LIMIT, issues_from_validation_error, value_kind
from warden.policy.models import Policy, cross_reference_issues
from warden.policy.yaml_text import line_of, nesting_too_deep, parse_text, too_deep_issue

__all__ = ["MAX_POLICY_BYTES", "load_policy"]

# Parameter Store holds at most 8 KB in one value (advanced tier; 4 KB standard), so a stored policy
# is far below this. Files given to `warden policy validate` or `warden explain` are not stored:
# 1 MiB holds a policy of a thousand rules with room to spare, and bounds what the parser is fed.
MAX_POLICY_BYTES = 1024 * 1024


def load_policy(text: str | bytes, *, source: str = "policy") -> Policy:
    """Load and validate a policy document.

    Parameters
    ----------
    text : str or bytes
        YAML or JSON (UTF-8 when bytes). Scalars follow YAML 1.2: ``18:00``, ``yes`` and ``on``
        are strings.
    source : str, default "policy"
        The file name (or another label) that error messages start with.

    Returns
    -------
    Policy
        The validated policy, compiled for :func:`decide`.

    Raises
    ------
    PolicyError
        Listing every problem found: syntax (with its line), unknown or missing fields, bad
        values (each with its field path, value and, when known, line), duplicate rule names,
        references to unknown windows.
    """
    try:
        return _load(text)
    except PolicyError as error:
        raise PolicyError(error.issues, source=source) from None
    except Exception as error:  # whatever a hostile document triggers is a rejection
        detail = str(error).splitlines()[0][:REPR_LIMIT] if str(error) else ""
        message = f"the document could not be read ({type(error).__name__}{': ' + detail if detail else ''})"
        raise PolicyError([PolicyIssue("", None, message)], source=source) from None


def _load(raw: str | bytes) -> Policy:
    if isinstance(raw, bytes | bytearray):
        if len(raw) > MAX_POLICY_BYTES:
            raise PolicyError([_too_large_issue(len(raw))])
        try:
            text = bytes(raw).decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = raw[: error.start].count(b"\n") + 1
            raise PolicyError([PolicyIssue("", None, "the document is not UTF-8 text", line)]) from None
    elif isinstance(raw, str):
        text = raw
    else:
        raise PolicyError([PolicyIssue("", None, f"expected the document's text, got {type(raw).__name__}")])
    if len(text) > MAX_POLICY_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_POLICY_BYTES:
        raise PolicyError([_too_large_issue(len(text.encode("utf-8", "surrogatepass")))])
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise PolicyError([PolicyIssue("", None, "the document is binary, not text (it contains NUL)", line)])
    too_deep = nesting_too_deep(text)
    if too_deep is not None:
        raise PolicyError([too_deep_issue(too_deep)])
    data, lines, issues = parse_text(text)
    if not isinstance(data, Mapping):
        message = f"a policy must be a mapping (version, rules, ...), got {value_kind(data)}"
        raise PolicyError([PolicyIssue("", data, message, 1)])
    try:
        policy = Policy.model_validate(data)
    except ValidationError as error:
        issues.extend(issues_from_validation_error(error, model=Policy))
        if not any(_from_policy_check(detail) for detail in error.errors()):
            # Field errors stop pydantic before the cross-reference check: run it on the raw data.
            issues.extend(_raw_cross_references(data))
    if issues:
        raise PolicyError(_finish(issues, lines))
    return policy


def _too_large_issue(size: int) -> PolicyIssue:
    return PolicyIssue("", None, f"the document is {size} bytes, more than the {MAX_POLICY_BYTES} a policy may have")


def _finish(issues: Sequence[PolicyIssue], lines: Mapping[str, int]) -> list[PolicyIssue]:
    unique: dict[tuple[str, str], PolicyIssue] = {}
    for issue in issues:
        line = issue.line if issue.line is not None else line_of(issue.path, lines)
        unique.setdefault((issue.path, issue.message), PolicyIssue(issue.path, issue.value, issue.message, line))
    ordered = list(unique.values())
    return sorted(ordered, key=lambda issue: (issue.line is None, issue.line or 0))


def _from_policy_check(detail: ErrorDetails) -> bool:
    return detail["loc"] == () and isinstance(detail.get("ctx", {}).get("error"), PolicyError)


def _raw_cross_references(data: Mapping[str, Any]) -> list[PolicyIssue]:
    rules = data.get("rules")
    windows = data.get("windows")
    pairs = [
        (rule.get("name"), rule.get("windows")) if isinstance(rule, Mapping) else (None, None)
        for rule in (rules if isinstance(rules, list) else [])
    ]
    # Windows that are not even a mapping are reported on their own; do not pile on.
    window_names = [] if windows is None else [str(name) for name in windows] if isinstance(windows, Mapping) else None
    return cross_reference_issues(pairs, window_names)
