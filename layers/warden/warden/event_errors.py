"""Why the warden will not act on an event: each error's ``str()`` is one line a person can read."""

from __future__ import annotations

from typing import ClassVar

from warden.errors import WardenError

__all__ = ["EventError", "MalformedEvent", "UnsupportedEvent", "UntrustedEvent"]


class EventError(WardenError, ValueError):
    """An event the warden cannot act on; ``str()`` is a one-line reason a person can read (a ``ValueError`` too)."""


class MalformedEvent(EventError):
    """Not the shape of an EventBridge event or CloudTrail record, or a field of the wrong type.

    Parameters
    ----------
    field
        Dotted path of the offending field as it appears in the input, e.g. ``detail.eventTime``.
    reason
        What is wrong with it, e.g. ``missing``.
    """

    _lead: ClassVar[str] = ""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{self._lead}{field}: {reason}")
        self.field = field
        self.reason = reason

    def __reduce__(self) -> tuple[type[MalformedEvent], tuple[str, str]]:
        return type(self), (self.field, self.reason)


class UntrustedEvent(MalformedEvent):
    """An event that is not what EventBridge delivers for a CloudTrail-recorded Session Manager call.

    Raised by :func:`require_eventbridge_envelope` for a bare CloudTrail record, a Lambda on-failure
    record replayed whole, or a hand-made event: its envelope ``source`` or ``detail-type`` is not the
    one AWS sets, or its ``detail.eventSource`` is not ``ssm.amazonaws.com``. ``str()`` is
    ``not delivered by EventBridge from CloudTrail: FIELD: REASON``.

    Parameters
    ----------
    field
        The envelope field that is wrong: ``source``, ``detail-type`` or ``detail.eventSource``.
    reason
        What is wrong with it, e.g. ``expected 'aws.ssm', got 'warden.test'``.
    """

    _lead: ClassVar[str] = "not delivered by EventBridge from CloudTrail: "


class UnsupportedEvent(EventError):
    """A well-formed event that is not a Session Manager API call (another service, API or detail-type).

    Parameters
    ----------
    source
        The CloudTrail ``eventSource`` (or, for a non-CloudTrail event, the EventBridge ``source``).
    name
        The CloudTrail ``eventName`` (or, for a non-CloudTrail event, the EventBridge ``detail-type``).
    """

    def __init__(self, source: str, name: str) -> None:
        super().__init__(f"not a Session Manager API call: {source} {name}")
        self.source = source
        self.name = name

    def __reduce__(self) -> tuple[type[UnsupportedEvent], tuple[str, str]]:
        return type(self), (self.source, self.name)
