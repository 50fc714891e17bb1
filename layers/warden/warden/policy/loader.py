"""Load a policy document from YAML or JSON text, reporting every problem with its path and line."""

from __future__ import annotations

import difflib
import json
import re
import types
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from warden.policy.errors import PolicyError, PolicyIssue
from warden.policy.models import Policy, cross_reference_issues

__all__ = ["MAX_POLICY_BYTES", "MAX_POLICY_DEPTH", "issues_from_validation_error", "load_policy"]

_MAX_NODES = 20_000
# Parameter Store holds at most 8 KB in one value (advanced tier; 4 KB standard), so a stored policy
# is far below this. Files given to `warden policy validate` or `warden explain` are not stored:
# 1 MiB holds a policy of a thousand rules with room to spare, and bounds what the parser is fed.
MAX_POLICY_BYTES = 1024 * 1024
# Nesting levels (block indentation, "- " items, "[", "{") that any document may have. A real policy
# needs about 7; PyYAML's composer and ``json`` recurse once per level and a few thousand levels
# raise RecursionError, so the text is scanned before either parser sees it.
MAX_POLICY_DEPTH = 32
_REPR_LIMIT = 60


class _PolicyLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 scalars: ``18:00`` stays a string, ``on``/``yes`` stay strings.

    PyYAML follows YAML 1.1, where an unquoted ``to: 18:00`` is the base-60 integer 1080 and a
    tag value ``yes`` is ``True``; in a policy both are always meant as text.
    """


_PolicyLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag.rsplit(":", 1)[-1] not in {"bool", "int", "float"}]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_PolicyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_PolicyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
_PolicyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _construct_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    # An impossible date such as 2026-02-30 raises a bare ValueError in PyYAML; give it a line.
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as error:
        raise yaml.constructor.ConstructorError(
            None, None, f"invalid date {node.value!r}: {error}", node.start_mark
        ) from None


_PolicyLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def _join(path: str, segment: str | int) -> str:
    if isinstance(segment, int):
        return f"{path}[{segment}]"
    return f"{path}.{segment}" if path else segment


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _REPR_LIMIT else f"{text[: _REPR_LIMIT - 3]}..."


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, date):
        return "date"
    return type(value).__name__


def _index_lines(root: yaml.Node) -> tuple[dict[str, int], list[PolicyIssue]]:
    """Map every field path to its source line and find duplicate keys.

    Mapping entries get the line of their key, list items the line they start on.
    """
    lines: dict[str, int] = {"": root.start_mark.line + 1}
    issues: list[PolicyIssue] = []
    stack: list[tuple[yaml.Node, str, int]] = [(root, "", 1)]
    visited = 0
    while stack:
        node, path, depth = stack.pop()
        visited += 1
        # Aliases share nodes, so a small document can expand enormously ("billion laughs").
        if visited > _MAX_NODES:
            raise PolicyError([PolicyIssue("", None, f"document too large (more than {_MAX_NODES} values)", 1)])
        # Aliases also nest without nesting the text (each anchor holding the previous one).
        if depth > MAX_POLICY_DEPTH:
            raise PolicyError([_too_deep_issue(node.start_mark.line + 1)])
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                child = _join(path, key)
                line = key_node.start_mark.line + 1
                if key in seen:
                    issues.append(PolicyIssue(child, key, f"duplicate key {key!r}", line))
                seen.add(key)
                lines.setdefault(child, line)
                stack.append((value_node, child, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            for position, item in enumerate(node.value):
                child = _join(path, position)
                lines.setdefault(child, item.start_mark.line + 1)
                stack.append((item, child, depth + 1))
    return lines, issues


def _too_deep_issue(line: int | None) -> PolicyIssue:
    return PolicyIssue("", None, f"the document nests more than {MAX_POLICY_DEPTH} levels deep", line)


_BLOCK_SCALAR = re.compile(r"(?:^|[\s:-])[|>][-+0-9]*\s*(?:#.*)?$")
_OPENERS = "[{"
_CLOSERS = "]}"
_QUOTE_STARTS = " \t[{,:-?"


def _nesting_too_deep(text: str) -> int | None:
    """Return the 1-based line where the text nests deeper than MAX_POLICY_DEPTH, or None.

    A conservative scan, linear and without recursion: block indentation levels, ``- `` and ``? ``
    indicators, and ``[``/``{`` outside quoted scalars, comments and block scalars all count.
    It may count a level too many (an unusual plain scalar), never one too few for the parsers
    run after it; anything it misjudges still fails safely in the parser as a PolicyError.
    """
    flow = 0
    quote = ""
    indents: list[int] = []
    block_scalar: int | None = None  # indentation of the line that opened a block scalar
    for number, line in enumerate(text.splitlines(), 1):
        content = line.lstrip(" ")
        column = len(line) - len(content)
        if block_scalar is not None:
            if not content.strip() or column > block_scalar:
                continue  # a line of the literal or folded text
            block_scalar = None
        if not quote and flow == 0 and content and not content.startswith("#"):
            while indents and indents[-1] >= column:
                indents.pop()
            indents.append(column)
            rest = content
            while rest[:2] in ("- ", "? ") or rest in ("-", "?"):
                column += 2
                indents.append(column)
                rest = rest[2:].lstrip(" ")
        previous = " "
        position = 0
        while position < len(line):
            char = line[position]
            if quote == '"':
                if char == "\\":
                    position += 1
                elif char == '"':
                    quote = ""
            elif quote == "'":
                if char == "'" and line[position + 1 : position + 2] == "'":
                    position += 1  # '' is a quote inside single quotes
                elif char == "'":
                    quote = ""
            elif char == "#" and previous in " \t":
                break
            elif char in "\"'" and previous in _QUOTE_STARTS:
                quote = char
            elif char in _OPENERS:
                flow += 1
                if len(indents) + flow > MAX_POLICY_DEPTH:
                    return number
            elif char in _CLOSERS:
                flow = max(flow - 1, 0)
            previous = char
            position += 1
        if len(indents) + flow > MAX_POLICY_DEPTH:
            return number
        if not quote and flow == 0 and _BLOCK_SCALAR.search(line.split(" #", 1)[0]):
            block_scalar = len(line) - len(line.lstrip(" "))
    return None


def _line_of(path: str, lines: Mapping[str, int]) -> int | None:
    # Fall back to the nearest enclosing field: a missing field is reported on its parent's line.
    while True:
        if path in lines:
            return lines[path]
        if not path:
            return None
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""


def _syntax_issue(error: yaml.YAMLError, text: str) -> PolicyIssue:
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "invalid document"
        return PolicyIssue("", None, f"YAML syntax error: {problem}", mark.line + 1 if mark is not None else None)
    position = getattr(error, "position", None)
    line = text[:position].count("\n") + 1 if isinstance(position, int) else None
    reason = getattr(error, "reason", None) or str(error)
    return PolicyIssue("", None, f"YAML syntax error: {reason}", line)


def _parse_json(text: str) -> tuple[object, list[PolicyIssue]]:
    issues: list[PolicyIssue] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, value in items:
            if key in found:
                issues.append(PolicyIssue("", key, f"duplicate key {key!r}"))
            found[key] = value
        return found

    return json.loads(text, object_pairs_hook=pairs), issues


def _compose(text: str) -> tuple[object, dict[str, int], list[PolicyIssue]]:
    loader = _PolicyLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise PolicyError([PolicyIssue("", None, "empty policy document", 1)])
        lines, issues = _index_lines(node)
        return loader.construct_document(node), lines, issues
    finally:
        loader.dispose()


def _parse(text: str) -> tuple[object, dict[str, int], list[PolicyIssue]]:
    try:
        return _compose(text)
    except yaml.YAMLError as error:
        if not text.lstrip().startswith("{"):
            raise PolicyError([_syntax_issue(error, text)]) from None
    # JSON is YAML, except that YAML forbids the tabs JSON allows as whitespace; a JSON string
    # cannot hold a raw tab, so spaces change nothing and keep the lines for error messages.
    try:
        return _compose(text.replace("\t", " "))
    except yaml.YAMLError:
        pass
    try:
        data, issues = _parse_json(text)
    except json.JSONDecodeError as error:
        raise PolicyError([PolicyIssue("", None, f"JSON syntax error: {error.msg}", error.lineno)]) from None
    return data, {}, issues


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
        detail = str(error).splitlines()[0][:_REPR_LIMIT] if str(error) else ""
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
    too_deep = _nesting_too_deep(text)
    if too_deep is not None:
        raise PolicyError([_too_deep_issue(too_deep)])
    data, lines, issues = _parse(text)
    if not isinstance(data, Mapping):
        message = f"a policy must be a mapping (version, rules, ...), got {_kind(data)}"
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
        line = issue.line if issue.line is not None else _line_of(issue.path, lines)
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


def issues_from_validation_error(error: ValidationError, model: type[BaseModel] | None = None) -> list[PolicyIssue]:
    """Translate a pydantic ``ValidationError`` into policy issues with readable paths and messages.

    Parameters
    ----------
    error : ValidationError
        Raised while validating a :class:`Policy`, :class:`Grant` or one of their parts.
    model : type[BaseModel] or None
        The model that was validated, used to suggest the intended name of an unknown field.

    Returns
    -------
    list[PolicyIssue]
        One issue per problem (a check that reports several problems gives several), without lines.
    """
    issues: list[PolicyIssue] = []
    for detail in error.errors():
        loc = detail["loc"]
        path = ""
        for segment in loc:
            if segment != "[key]":
                path = _join(path, segment)
        nested = detail.get("ctx", {}).get("error")
        if isinstance(nested, PolicyError):
            for issue in nested.issues:
                joined = path if not issue.path else issue.path if not path else f"{path}.{issue.path}"
                issues.append(PolicyIssue(joined, issue.value, issue.message, issue.line))
            continue
        value, message = _message(detail, model)
        issues.append(PolicyIssue(path, value, message))
    # pydantic checks a list's length on the items that validated, so a list whose items are all
    # wrong is also "too short": that says nothing the item errors do not already say.
    return [
        issue
        for issue in issues
        if issue.message != _TOO_SHORT
        or not any(other.path.startswith((f"{issue.path}[", f"{issue.path}.")) for other in issues)
    ]


_TOO_SHORT = "must not be empty"
_TYPE_MESSAGES = {
    "string_type": "expected a string",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "dict_type": "expected a mapping",
    "mapping_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "timezone_aware": "expected a date-time with a UTC offset",
    "datetime_type": "expected an ISO 8601 date-time with a UTC offset",
    "datetime_parsing": "expected an ISO 8601 date-time with a UTC offset",
    "datetime_from_date_parsing": "expected an ISO 8601 date-time with a UTC offset",
}


def _message(detail: ErrorDetails, model: type[BaseModel] | None) -> tuple[object, str]:
    kind = detail["type"]
    value = detail.get("input")
    loc = detail["loc"]
    ctx = detail.get("ctx", {})
    if kind == "missing":
        return None, "missing required field"
    if kind == "extra_forbidden":
        name = str(loc[-1])
        known = _field_names(model, loc[:-1]) if model is not None else []
        close = difflib.get_close_matches(name, known, n=1)
        return name, f"unknown field {name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return value, str(ctx["error"])
    if "[key]" in loc:
        return value, f"names must be strings, got {_kind(value)} {_short(value)}"
    if kind == "too_short":
        return value, _TOO_SHORT
    if kind in _TYPE_MESSAGES:
        return value, f"{_TYPE_MESSAGES[kind]}, got {_kind(value)} {_short(value)}"
    if kind == "literal_error":
        return value, f"unknown value {_short(value)}: expected {ctx.get('expected', 'another value')}"
    return value, f"{detail['msg']}, got {_short(value)}"


def _field_names(model: type[BaseModel] | None, loc: Sequence[str | int]) -> list[str]:
    """Return the field names (as spelled in the document) of the model found at ``loc``."""
    skip = 0
    for segment in loc:
        if skip:
            skip -= 1
            continue
        if model is None:
            return []
        field = next(
            (info for name, info in model.model_fields.items() if segment in (name, info.alias)),
            None,
        )
        if field is None:
            return []
        model, skip = _inner_model(field.annotation)
    if model is None or skip:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _inner_model(annotation: Any) -> tuple[type[BaseModel] | None, int]:
    """Find the model inside an annotation and how many list or mapping levels wrap it."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        return _inner_model(args[0])
    if origin in (Union, types.UnionType):
        for arg in args:
            model, depth = _inner_model(arg)
            if model is not None:
                return model, depth
        return None, 0
    if origin is not None and args and isinstance(origin, type) and issubclass(origin, Sequence | Mapping):
        model, depth = _inner_model(args[-1] if issubclass(origin, Mapping) else args[0])
        return model, depth + 1
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, 0
    return None, 0
