"""Which targets a rule or grant covers (ids and tags as globs), and their compiled matcher."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated

from pydantic import Field, PrivateAttr

from warden.policy.fields import FrozenModel, NonEmptyStr, TagGlobs
from warden.policy.globs import compile_globs

__all__ = ["TargetMatcher", "Targets"]


class TargetMatcher:
    """Compiled :class:`Targets`: one regex for the ids, one per tag key.

    Pydantic private attributes are looked up through ``__getattr__``, which costs about a
    microsecond; hot paths hold plain objects like this one instead.
    """

    __slots__ = ("_ids", "_tags")

    def __init__(self, targets: Targets) -> None:
        self._ids = compile_globs(targets.ids) if targets.ids else None
        tags: list[tuple[str, re.Pattern[str]]] = []
        for key, globs in (targets.tags or {}).items():
            compiled = compile_globs(globs)
            if compiled is not None:
                tags.append((key, compiled))
        self._tags = tuple(tags)

    def __call__(self, target: str, tags: Mapping[str, str]) -> bool:
        """Tell whether the target id and tags satisfy every constraint."""
        if self._ids is not None and self._ids.fullmatch(target) is None:
            return False
        for key, globs in self._tags:
            value = tags.get(key)
            if value is None or globs.fullmatch(value) is None:
                return False
        return True


class Targets(FrozenModel):
    """Which targets a rule or grant covers.

    Attributes
    ----------
    tags : Mapping[str, tuple[str, ...]] or None
        Per tag key, globs of which one must match the target's value; every key must match and
        a key missing on the target never matches. A single string in the document is one glob.
    ids : tuple[str, ...] or None
        Globs on instance or managed-node ids.

    Notes
    -----
    With both, a target must satisfy both; with neither, every target matches.
    """

    tags: Annotated[Mapping[NonEmptyStr, TagGlobs], Field(min_length=1)] | None = None
    ids: Annotated[tuple[NonEmptyStr, ...], Field(min_length=1)] | None = None

    # Compiled on first use: a rule's targets are matched through the policy's index, a grant's through this.
    _matcher: TargetMatcher | None = PrivateAttr(default=None)

    @property
    def matcher(self) -> TargetMatcher:
        """The compiled matcher (faster to call repeatedly than :meth:`matches`)."""
        if self._matcher is None:
            self._matcher = TargetMatcher(self)
        return self._matcher

    def matches(self, target: str, tags: Mapping[str, str]) -> bool:
        """Tell whether a target (its id and its current tags) satisfies every constraint."""
        return self.matcher(target, tags)

    @property
    def is_empty(self) -> bool:
        """Whether neither ids nor tags constrain the target."""
        return not self.ids and not self.tags

    def to_document(self) -> dict[str, object]:
        """Return the targets as plain data (a single glob per tag key as a string)."""
        document: dict[str, object] = {}
        if self.tags is not None:
            document["tags"] = {key: globs[0] if len(globs) == 1 else list(globs) for key, globs in self.tags.items()}
        if self.ids is not None:
            document["ids"] = list(self.ids)
        return document
