"""Does a member's forward rule still carry every event the central warden's rules need? (pure logic, no AWS)

A member account's admin controls its forward rule ``<stack>-forward`` on the default bus: its event pattern, its
state and its targets. The canary alone cannot tell a narrowed pattern (one that still forwards the canary's
PutParameter but no longer StartSession, say) from the deployed one, so the sweep worker reads the rule and compares
it here with the central bus's own rules, the single source of truth of what the warden acts on.

The comparison is semantic and conservative: a forward pattern covers a needed pattern when every event the needed
one matches provably matches the forward one too. A wider pattern covers; anything this module cannot prove (an
unknown matcher, a malformed or oversized pattern) does not: the scope is then reported as not covered, never the
other way round.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Events only the central account produces (the AppConfig policy store lives there): no member forwards them.
# The sweep queues (aws.sqs) and the sweep worker's event source mapping are the central stack's too.
CENTRAL_ONLY_SOURCES = frozenset({"aws.appconfig", "aws.sqs"})
CENTRAL_ONLY_EVENT_PREFIXES = ("UpdateEventSourceMapping", "DeleteEventSourceMapping")
# Bounds on what a member admin can make the warden parse and expand (EventBridge's own limit is far below these).
MAX_PATTERN_CHARS = 65536
MAX_BRANCHES = 512
_MAX_DEPTH = 12
_SUPPORTED_STATE = "ENABLED"
# What losing the events of a central rule means, by the rule name's suffix (the central stack names its rules so).
_CONSEQUENCES = (
    ("-org-session-", "session events from there reach the warden only through the sweeper"),
    ("-org-tamper-watch", "tamper events from there not at all"),
    ("-org-canary", "the canary cannot come back"),
)


class PatternError(ValueError):
    """An event pattern that cannot be read (not JSON, not an object, too large, too deeply nested)."""


@dataclass(frozen=True)
class NeededRule:
    """A central bus rule whose events every forward rule must carry: its name and its EventPattern (JSON text)."""

    name: str
    pattern: str


@dataclass(frozen=True)
class ForwardTarget:
    arn: str
    role_arn: str | None
    rewrites: (
        bool  # Input, InputPath or InputTransformer: the central bus would not get the event as CloudTrail made it
    )


@dataclass(frozen=True)
class ForwardRule:
    """The forward rule as EventBridge describes it (DescribeRule, ListTargetsByRule)."""

    name: str
    state: str | None
    pattern: str | None
    targets: tuple[ForwardTarget, ...]


# ------------------------------------------------------------ parsing and expanding patterns


def parse_pattern(text: object) -> dict[str, Any]:
    """The pattern as a JSON object; raises :class:`PatternError` naming what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise PatternError("the rule has no event pattern")
    if len(text) > MAX_PATTERN_CHARS:
        raise PatternError(f"the event pattern is {len(text)} characters long (more than {MAX_PATTERN_CHARS})")
    try:
        parsed = json.loads(text, object_pairs_hook=_unique_keys)
    except PatternError:
        raise
    except (ValueError, RecursionError):
        raise PatternError("the event pattern is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise PatternError("the event pattern is not a JSON object")
    return parsed


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """One JSON object of the pattern. EventBridge files every leaf under its dotted path, so a key written twice (or a
    key with a dot, which reads as a nested path) applies all its values together, where a JSON reader keeps only the
    last: such a pattern cannot be judged here, and is refused."""
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise PatternError(f"the event pattern repeats the key {key[:60]!r} (EventBridge applies both)")
        if "." in key:
            raise PatternError(f"the event pattern has a key with a dot, {key[:60]!r} (EventBridge reads it as a path)")
        seen[key] = value
    return seen


def branches(pattern: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The pattern as the ``$or``-free patterns it is the union of (``$or`` expanded at every level).

    Raises :class:`PatternError` for a malformed ``$or``, nesting deeper than EventBridge allows, or more than
    :data:`MAX_BRANCHES` branches."""
    return _expand(pattern, 0)


def _expand(node: Mapping[str, Any], depth: int) -> list[dict[str, Any]]:
    if depth > _MAX_DEPTH:
        raise PatternError(f"the event pattern is nested deeper than {_MAX_DEPTH} levels")
    results: list[dict[str, Any]] = [{}]
    for key, value in node.items():
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2 or not all(isinstance(o, dict) for o in value):
                raise PatternError("an $or of the event pattern is not a list of at least two objects")
            options = [branch for option in value for branch in _expand(option, depth + 1)]
        elif isinstance(value, dict):
            options = [{key: branch} for branch in _expand(value, depth + 1)]
        else:
            options = [{key: value}]
        results = [_merge(left, right) for left in results for right in options]
        if len(results) > MAX_BRANCHES:
            raise PatternError(f"the event pattern expands to more than {MAX_BRANCHES} alternatives")
    return results


def _merge(left: Mapping[str, Any], right: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(left)
    for key, value in right.items():
        if key in merged and isinstance(merged[key], dict) and isinstance(value, dict):
            merged[key] = _merge(merged[key], value)
        elif key in merged:
            # The same field twice (beside and inside an $or): both must hold; kept as an unprovable conjunction.
            merged[key] = {"$and": [merged[key], value]}
        else:
            merged[key] = value
    return merged


# ------------------------------------------------------------ coverage


def covers(wide: Mapping[str, Any], narrow: Mapping[str, Any]) -> bool:
    """Whether ``wide`` matches every event ``narrow`` matches (both ``$or``-free): each field wide constrains,
    narrow constrains within it; a field only narrow constrains narrows it further."""
    for key, constraint in wide.items():
        if key not in narrow:
            return False
        inner = narrow[key]
        if isinstance(constraint, dict):
            if "$and" in constraint or not isinstance(inner, dict) or not covers(constraint, inner):
                return False
        elif not _values_covered(constraint, inner):
            return False
    return True


def _values_covered(constraint: Any, inner: Any) -> bool:
    if not (isinstance(constraint, list) and isinstance(inner, list) and inner):
        return False
    return all(value_covered(value, constraint) for value in inner)


def value_covered(value: Any, matchers: Sequence[Any]) -> bool:
    """Whether every field value that ``value`` (a value or matcher of the narrow pattern) matches is matched by
    one of ``matchers`` (the wide pattern's)."""
    return any(_one_covers(matcher, value) for matcher in matchers)


def _one_covers(matcher: Any, value: Any) -> bool:
    if matcher == value and not isinstance(matcher, list):
        return True
    kind, argument = _matcher(matcher)
    if kind is None:
        return False
    if kind == "exists":
        return argument is True and _requires_presence(value)
    if not isinstance(argument, str):
        return False
    if isinstance(value, str):
        if kind == "prefix":
            return value.startswith(argument)
        if kind == "wildcard":
            return wildcard_match(argument, value)
        return False
    value_kind, value_argument = _matcher(value)
    if value_kind not in ("prefix", "wildcard") or not isinstance(value_argument, str):
        return False
    # Every string the narrow prefix (or the literal head of its wildcard) starts with...
    head = value_argument if value_kind == "prefix" else _literal_head(value_argument)
    if head is None:
        return False
    if kind == "prefix":
        return head.startswith(argument)
    if kind == "wildcard":
        # ...a wide wildcard matches when it matches the narrow one's text with each of its ``*`` (and a prefix's
        # open end) as a character only a wide ``*`` can take: whatever that ``*`` stands for, the wide one does too.
        shape = value_argument if value_kind == "wildcard" else value_argument + "*"
        return "\\" not in shape and wildcard_match(argument, shape)
    return False


def _matcher(node: Any) -> tuple[str | None, Any]:
    if isinstance(node, dict) and len(node) == 1:
        [(kind, argument)] = node.items()
        return str(kind), argument
    return None, None


def _requires_presence(value: Any) -> bool:
    if isinstance(value, str):
        return True
    kind, argument = _matcher(value)
    return kind in ("prefix", "wildcard") and isinstance(argument, str)


def _literal_head(wildcard: str) -> str | None:
    """The text before the first ``*`` of an EventBridge wildcard; None when it has escapes (not provable here)."""
    if "\\" in wildcard:
        return None
    return wildcard.split("*", 1)[0]


def wildcard_match(wildcard: str, value: str) -> bool:
    """EventBridge's wildcard: ``*`` matches any run of characters; nothing else is special. A wildcard with a
    backslash (EventBridge's escapes) is not judged: no match. Linear-time greedy matching (no regex backtracking)."""
    if "\\" in wildcard:
        return False
    w = v = 0
    star, resume = -1, 0
    while v < len(value):
        if w < len(wildcard) and wildcard[w] != "*" and wildcard[w] == value[v]:
            w, v = w + 1, v + 1
        elif w < len(wildcard) and wildcard[w] == "*":
            star, resume, w = w, v, w + 1
        elif star >= 0:
            resume += 1
            w, v = star + 1, resume
        else:
            return False
    while w < len(wildcard) and wildcard[w] == "*":
        w += 1
    return w == len(wildcard)


def uncovered(forward: Mapping[str, Any], needed: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The branches of ``needed`` (each of its event names apart) that ``forward`` does not provably cover."""
    wide = branches(forward)
    return [narrow for narrow in _per_event_name(branches(needed)) if not any(covers(w, narrow) for w in wide)]


def _per_event_name(patterns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    split: list[dict[str, Any]] = []
    for pattern in patterns:
        detail = pattern.get("detail")
        names = detail.get("eventName") if isinstance(detail, dict) else None
        if not isinstance(detail, dict) or not isinstance(names, list) or len(names) < 2:
            split.append(pattern)
            continue
        split += [{**pattern, "detail": {**detail, "eventName": [name]}} for name in names]
    return split


def event_label(pattern: Mapping[str, Any]) -> str:
    """A person's name for what a needed branch matches: its event name (``Prefix*`` for a prefix), or its source."""
    detail = pattern.get("detail")
    names = detail.get("eventName") if isinstance(detail, dict) else None
    if isinstance(names, list) and names:
        labels = []
        for name in names:
            kind, argument = _matcher(name)
            labels.append(f"{argument}*" if kind == "prefix" else str(name if kind is None else argument))
        return "/".join(labels)
    source = pattern.get("source")
    return "/".join(str(s) for s in source) if isinstance(source, list) else "some events"


# ------------------------------------------------------------ the forward rule as a whole


def forward_rule_problem(
    rule: ForwardRule | None,
    *,
    rule_name: str,
    needed: Sequence[NeededRule],
    central_bus_arn: str,
    account: str,
    region: str,
    central_only: Collection[str] = (),
) -> str | None:
    """None when the forward rule forwards every needed event, enabled, to the central bus with a role of the
    member account and unchanged; else what a person reads: which rule, where, what it no longer does, what it
    means. *central_only*: names of the central account's own resources in the central rules (its warning document):
    no member has them, so no member need forward their events. A needed pattern that cannot be read is the central
    stack's problem: it raises :class:`PatternError`."""
    where = f"forward rule {rule_name} in account {account} region {region}"
    lost_everything = (
        "no event from there reaches the warden: sessions there are adopted only by the sweeper; tamper events are lost"
    )
    if rule is None:
        return f"{where} is missing: {lost_everything}"
    problems: list[str] = []
    if rule.state != _SUPPORTED_STATE:
        problems.append(f"is {rule.state or 'in no state'} (not ENABLED): {lost_everything}")
    problems += _target_problems(rule.targets, central_bus_arn, account)
    try:
        forward = parse_pattern(rule.pattern)
        lost = _lost_events(forward, needed, central_only)
    except PatternError as error:
        problems.append(f"has an event pattern the warden cannot read ({error}): treated as forwarding nothing")
    else:
        if lost:
            names = ", ".join(dict.fromkeys(name for _, name in lost))
            meanings = [meaning for suffix, meaning in _CONSEQUENCES if any(suffix in name for name, _ in lost)]
            problems.append(f"no longer forwards {names}" + (f": {'; '.join(meanings)}" if meanings else ""))
    return f"{where} " + "; it ".join(problems) if problems else None


def _lost_events(
    forward: Mapping[str, Any], needed: Sequence[NeededRule], central_only: Collection[str]
) -> list[tuple[str, str]]:
    lost: list[tuple[str, str]] = []
    for central in needed:
        pattern = parse_pattern(central.pattern)
        for branch in uncovered(forward, pattern):
            sources = branch.get("source")
            if isinstance(sources, list) and sources and set(sources) <= CENTRAL_ONLY_SOURCES:
                continue
            if _central_only_events(branch):
                continue
            member_part = _without(branch, central_only)
            if member_part is None or any(covers(wide, member_part) for wide in branches(forward)):
                continue  # what is left is about the central account's own resources only
            lost.append((central.name, event_label(branch)))
    return lost


def _central_only_events(branch: Mapping[str, Any]) -> bool:
    """Whether the branch names only calls on resources of the central stack alone (the sweep worker's mapping)."""
    detail = branch.get("detail")
    names = detail.get("eventName") if isinstance(detail, Mapping) else None
    if not isinstance(names, list) or not names:
        return False
    for name in names:
        kind, argument = _matcher(name)
        text = name if isinstance(name, str) else argument if kind == "prefix" else None
        if not isinstance(text, str) or not text.startswith(CENTRAL_ONLY_EVENT_PREFIXES):
            return False
    return True


def _without(pattern: Mapping[str, Any], central_only: Collection[str]) -> dict[str, Any] | None:
    """The pattern with the central account's own resource names taken out of its value lists; None when a list is
    left empty (the pattern matches the central account's resources only: no member has them)."""
    reduced: dict[str, Any] = {}
    for key, value in pattern.items():
        if isinstance(value, dict):
            inner = _without(value, central_only)
            if inner is None:
                return None
            reduced[key] = inner
        elif isinstance(value, list):
            kept = [item for item in value if not (isinstance(item, str) and item in central_only)]
            if not kept:
                return None
            reduced[key] = kept
        else:
            reduced[key] = value
    return reduced


def _target_problems(targets: Sequence[ForwardTarget], central_bus_arn: str, account: str) -> list[str]:
    central = [target for target in targets if target.arn == central_bus_arn]
    if not central:
        shown = ", ".join(target.arn[:200] for target in targets[:3]) or "none"
        return [f"no longer targets the central bus {central_bus_arn} (its targets: {shown}): every event is lost"]
    problems: list[str] = []
    if not any(_own_role(target.role_arn, account) for target in central):
        problems.append(
            "targets the central bus without a role of this account (the member stack's forward role): EventBridge "
            "cannot put events there"
        )
    if all(target.rewrites for target in central):
        problems.append(
            "rewrites the events it forwards (Input, InputPath or InputTransformer on its central-bus target): the "
            "central rules no longer recognise them"
        )
    return problems


def _own_role(role_arn: str | None, account: str) -> bool:
    if not role_arn:
        return False
    parts = role_arn.split(":", 5)
    return (
        len(parts) == 6
        and parts[0] == "arn"
        and parts[2] == "iam"
        and parts[4] == account
        and (parts[5].startswith("role/"))
    )
