"""A policy document's text as data: YAML 1.2 scalars (or JSON), the line of every field, bounded depth and size."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import yaml

from warden.policy.errors import PolicyError, PolicyIssue
from warden.policy.issues import join_path

__all__ = ["MAX_POLICY_DEPTH", "line_of", "nesting_too_deep", "parse_text", "too_deep_issue"]

# Values reached again through aliases. The text bounds every other value (a policy is at most 1 MiB); aliases
# share nodes, so a few lines can expand to millions of values ("billion laughs"): those are bounded here.
_MAX_ALIASED_VALUES = 20_000
# Nesting levels (block indentation, "- " items, "[", "{") that any document may have. A real policy
# needs about 7; PyYAML's composer and ``json`` recurse once per level and a few thousand levels
# raise RecursionError, so the text is scanned before either parser sees it.
MAX_POLICY_DEPTH = 32


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

if getattr(yaml, "__with_libyaml__", False):

    class _FastPolicyLoader(yaml.CSafeLoader):
        """The same loader on libyaml's C parser: a document of hundreds of rules (64 KB and more) composes about
        ten times faster than with the pure-Python parser, with the same scalars, marks and errors."""

    _FastPolicyLoader.yaml_implicit_resolvers = _PolicyLoader.yaml_implicit_resolvers
    _FastPolicyLoader.yaml_constructors = _PolicyLoader.yaml_constructors
    _LOADER: type[yaml.SafeLoader | yaml.CSafeLoader] = _FastPolicyLoader
else:  # pragma: no cover - PyYAML's wheels ship libyaml
    _LOADER = _PolicyLoader


def _index_lines(root: yaml.Node) -> tuple[dict[str, int], list[PolicyIssue]]:
    """Map every field path to its source line and find duplicate keys.

    Mapping entries get the line of their key, list items the line they start on.
    """
    lines: dict[str, int] = {"": root.start_mark.line + 1}
    issues: list[PolicyIssue] = []
    stack: list[tuple[yaml.Node, str, int]] = [(root, "", 1)]
    seen_nodes: set[int] = set()
    aliased = 0
    while stack:
        node, path, depth = stack.pop()
        if id(node) in seen_nodes:
            aliased += 1
            if aliased > _MAX_ALIASED_VALUES:
                message = f"document too large (its aliases repeat more than {_MAX_ALIASED_VALUES} values)"
                raise PolicyError([PolicyIssue("", None, message, 1)])
        else:
            seen_nodes.add(id(node))
        # Aliases also nest without nesting the text (each anchor holding the previous one).
        if depth > MAX_POLICY_DEPTH:
            raise PolicyError([too_deep_issue(node.start_mark.line + 1)])
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                child = join_path(path, key)
                line = key_node.start_mark.line + 1
                if key in seen:
                    issues.append(PolicyIssue(child, key, f"duplicate key {key!r}", line))
                seen.add(key)
                lines.setdefault(child, line)
                stack.append((value_node, child, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            for position, item in enumerate(node.value):
                child = join_path(path, position)
                lines.setdefault(child, item.start_mark.line + 1)
                stack.append((item, child, depth + 1))
    return lines, issues


def too_deep_issue(line: int | None) -> PolicyIssue:
    return PolicyIssue("", None, f"the document nests more than {MAX_POLICY_DEPTH} levels deep", line)


_BLOCK_SCALAR = re.compile(r"(?:^|[\s:-])[|>][-+0-9]*\s*(?:#.*)?$")
_OPENERS = "[{"
_CLOSERS = "]}"
_QUOTE_STARTS = " \t[{,:-?"


def nesting_too_deep(text: str) -> int | None:
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


def line_of(path: str, lines: Mapping[str, int]) -> int | None:
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
    try:
        return _compose_with(_LOADER, text)
    except UnicodeEncodeError:
        # libyaml reads UTF-8, which a lone surrogate is not: the pure-Python parser reports it with its line.
        return _compose_with(_PolicyLoader, text)


def _compose_with(
    loader_class: type[yaml.SafeLoader | yaml.CSafeLoader], text: str
) -> tuple[object, dict[str, int], list[PolicyIssue]]:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise PolicyError([PolicyIssue("", None, "empty policy document", 1)])
        lines, issues = _index_lines(node)
        return loader.construct_document(node), lines, issues
    finally:
        loader.dispose()


def parse_text(text: str) -> tuple[object, dict[str, int], list[PolicyIssue]]:
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
