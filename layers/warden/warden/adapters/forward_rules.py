"""EventBridge reads of the forward check (organization mode): a member's forward rule, and the central bus's rules.

The member's rule ``<stack>-forward`` on its default bus is read through the member role (events:DescribeRule,
events:ListTargetsByRule on that rule); the central bus's rules ``<stack>-org-*`` with the function's own
credentials (events:ListRules), kept for :data:`CENTRAL_RULES_TTL` by the clock: they change only with a deploy of the
central stack. What they say is judged in :mod:`warden.policy.forward_rule`.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from warden.adapters.aws import aws_call
from warden.errors import AwsCallFailed
from warden.policy.forward_rule import ForwardRule, ForwardTarget, NeededRule
from warden.ports import Clock

CENTRAL_RULES_TTL = timedelta(minutes=15)
# A rule has at most 5 targets; a bus a few hundred rules: these bound what a broken answer can make the worker read.
_MAX_PAGES = 20
_NOT_FOUND = "ResourceNotFoundException"


class EventsForwardRule:
    """A member account's forward rule on its default bus, as EventBridge describes it."""

    def __init__(self, events: Any, name: str) -> None:
        self._api = events
        self._name = name

    def read(self) -> ForwardRule | None:
        """The rule, its pattern and targets; None when there is no such rule. Raises
        :class:`~warden.errors.AwsCallFailed` when it cannot be read (AccessDenied included)."""
        try:
            with aws_call("DescribeRule"):
                described = self._api.describe_rule(Name=self._name, EventBusName="default")
            targets = self._targets()
        except AwsCallFailed as error:
            if error.code == _NOT_FOUND:
                return None
            raise
        return ForwardRule(
            name=str(described.get("Name") or self._name),
            state=_text(described.get("State")),
            pattern=_text(described.get("EventPattern")),
            targets=targets,
        )

    def _targets(self) -> tuple[ForwardTarget, ...]:
        found: list[ForwardTarget] = []
        token: str | None = None
        for _ in range(_MAX_PAGES):
            arguments: dict[str, Any] = {"Rule": self._name, "EventBusName": "default"}
            if token:
                arguments["NextToken"] = token
            with aws_call("ListTargetsByRule"):
                page = self._api.list_targets_by_rule(**arguments)
            for target in page.get("Targets") or []:
                found.append(
                    ForwardTarget(
                        arn=str(target.get("Arn") or ""),
                        role_arn=_text(target.get("RoleArn")),
                        rewrites=any(target.get(key) for key in ("Input", "InputPath", "InputTransformer")),
                    )
                )
            token = _text(page.get("NextToken"))
            if not token:
                break
        return tuple(found)


class CentralRules:
    """The central bus's rules (their names and patterns): what every member's forward rule must carry."""

    def __init__(
        self, events: Any, bus_name: str, prefix: str, clock: Clock, names: frozenset[str] | None = None
    ) -> None:
        self._api = events
        self._bus = bus_name
        self._prefix = prefix
        # The stack's own rules only: a rule someone else adds under the prefix asks nothing of members.
        self._names = names
        self._clock = clock
        self._lock = threading.Lock()
        self._kept: tuple[datetime, tuple[NeededRule, ...]] | None = None

    def needed(self) -> tuple[NeededRule, ...]:
        """The rules named ``<prefix>*`` on the central bus with a pattern. Raises
        :class:`~warden.errors.AwsCallFailed` when they cannot be listed, or when there is none (nothing to judge)."""
        now = self._clock.now()
        with self._lock:
            kept = self._kept
        if kept is not None and now - kept[0] < CENTRAL_RULES_TTL:
            return kept[1]
        rules = self._list()
        if not rules:
            raise AwsCallFailed(
                "ListRules",
                LookupError(f"no rule named {self._prefix}* on the central event bus {self._bus}"),
                code="NoCentralRules",
            )
        with self._lock:
            self._kept = (now, rules)
        return rules

    def _list(self) -> tuple[NeededRule, ...]:
        found: list[NeededRule] = []
        token: str | None = None
        for _ in range(_MAX_PAGES):
            arguments: dict[str, Any] = {"EventBusName": self._bus, "NamePrefix": self._prefix}
            if token:
                arguments["NextToken"] = token
            with aws_call("ListRules"):
                page = self._api.list_rules(**arguments)
            for rule in page.get("Rules") or []:
                name, pattern = _text(rule.get("Name")), _text(rule.get("EventPattern"))
                if name and pattern and (self._names is None or name in self._names):
                    found.append(NeededRule(name=name, pattern=pattern))
            token = _text(page.get("NextToken"))
            if not token:
                break
        return tuple(sorted(found, key=lambda rule: rule.name))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
