"""The policy in force, from Parameter Store through Powertools Parameters; an unusable document never wins.

Whatever goes wrong with the stored document (it does not parse or validate, it is nested thousands deep, the
parameter was deleted, the functions lost access to it), the last valid policy stays in force: the one this
container last validated, else the newest valid version in the parameter's history, else the durable copy the
warden keeps of the last document it validated (it survives cold starts, a deleted parameter and more than
the 100 versions Parameter Store's history keeps). Only when none exists does it raise: fail closed, loudly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

from warden.adapters.aws import aws_call
from warden.errors import AwsCallFailed, PolicyUnavailable, describe
from warden.observability import count, logger
from warden.policy import Policy, PolicyError, PolicyIssue, load_policy
from warden.policy_versions import newest_valid_version
from warden.ports import Clock, PolicyCopy
from warden.timefmt import utc_seconds

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

# (digest, error, in_force): the stored document was rejected.
RejectHandler = Callable[[str, PolicyError, str], None]
# (problem, in_force): the parameter could not be read at all.
MissingHandler = Callable[[str, str], None]
# The newest valid version the store itself keeps, described ("parameter version 7"), or None.
History = Callable[[], "tuple[str, Policy] | None"]

NO_VALID_POLICY = (
    "none: no valid policy exists, so nothing is decided. Every session event fails and is retried "
    "(the Errors alarms fire) until a valid policy is stored"
)


class PolicyKeeper:
    """What every policy source shares: the stored text becomes the policy in force, or the last valid one stays.

    A source reads its store and hands the text to :meth:`accept`, or the failure to :meth:`missing`. An invalid
    text calls ``on_reject(digest, error, in_force)``; an unreadable store ``on_missing(problem, in_force)``. What
    stays in force: the policy this container last validated, else what ``history`` finds in the store's own
    versions (when it keeps any), else the durable copy; each validated document is saved to ``copy``.
    """

    def __init__(
        self,
        source: str,
        *,
        on_reject: RejectHandler,
        on_missing: MissingHandler | None = None,
        copy: PolicyCopy | None = None,
        clock: Clock | None = None,
        history: History | None = None,
    ) -> None:
        self._source = source
        self._on_reject = on_reject
        self._on_missing = on_missing
        self._copy = copy
        self._clock = clock
        self._history = history
        self._parsed: dict[str, Policy] = {}
        self._last_valid: tuple[str, Policy] | None = None
        self._saved_digest: str | None = None

    def accept(self, text: str) -> Policy:
        """The policy of ``text`` when it validates, else the last valid one (after one ``on_reject``)."""
        digest = _digest(text)
        if digest in self._parsed:
            return self._parsed[digest]
        try:
            policy = _load(text, self._source)
        except PolicyError as error:
            fallback = self._fallback()
            self._on_reject(digest, error, _in_force(fallback))
            if fallback is None:
                raise PolicyUnavailable(f"{self._source}: no valid policy in force: {error}") from error
            return fallback[1]
        self._parsed = {digest: policy}
        self._last_valid = (f"sha256 {digest}", policy)
        self._save(text, digest)
        return policy

    def missing(self, error: Exception) -> Policy:
        """The store could not be read: the last valid policy (after ``on_missing``), else PolicyUnavailable."""
        problem = describe(error.__cause__ if error.__cause__ and not isinstance(error, AwsCallFailed) else error)
        count("PolicyMissing")
        logger.error("policy store could not be read", extra={"problem": problem, "source": self._source})
        fallback = self._last_valid or self._from_copy()
        if self._on_missing is not None:
            self._on_missing(problem, _in_force(fallback))
        if fallback is None:
            raise PolicyUnavailable(f"{self._source}: cannot be read and no valid policy is kept: {problem}")
        return fallback[1]

    def _fallback(self) -> tuple[str, Policy] | None:
        if self._last_valid:
            return self._last_valid
        # The store's own history first (AWS keeps it; every write to it is in CloudTrail), then the copy.
        found = None
        if self._history is not None:
            try:
                found = self._history()
            except AwsCallFailed:  # history unreadable: the durable copy still answers
                logger.exception("policy store history could not be read")
        if found is not None:
            self._last_valid = found
            return found
        return self._from_copy()

    def _from_copy(self) -> tuple[str, Policy] | None:
        if self._copy is None:
            return None
        try:
            stored = self._copy.load()
        except AwsCallFailed:
            logger.exception("durable policy copy could not be read")
            return None
        if stored is None:
            return None
        try:
            policy = _load(stored.text, f"{self._source} (kept copy)")
        except PolicyError:
            logger.error("durable policy copy does not validate; ignored")
            count("PolicyCopyRejected")
            return None
        self._last_valid = (
            f"the kept copy of the last valid document (sha256 {_digest(stored.text)}, "
            f"validated {utc_seconds(stored.saved_at)})",
            policy,
        )
        self._saved_digest = _digest(stored.text)
        return self._last_valid

    def _save(self, text: str, digest: str) -> None:
        if self._copy is None or self._clock is None or digest == self._saved_digest:
            return
        try:
            stored = self._copy.load()
            if stored is None or _digest(stored.text) != digest:
                self._copy.save(text, digest, self._clock.now())
            self._saved_digest = digest
        except AwsCallFailed:
            # Enforcement goes on with the valid document; the next invocation tries to keep the copy again.
            logger.exception("could not keep the durable copy of the policy")


class ParameterPolicySource:
    """Reads the policy parameter (cached ``max_age`` seconds) and keeps the last valid document in force.

    When the stored document is invalid, ``on_reject(digest, error, in_force)`` is called; when the parameter
    cannot be read, ``on_missing(problem, in_force)``. Each validated document is saved to ``copy``. While the
    stored one is invalid, the newest valid version in the parameter's history stays in force (before the copy).
    """

    def __init__(
        self,
        ssm: SSMClient,
        parameter: str,
        *,
        max_age: int,
        on_reject: RejectHandler,
        on_missing: MissingHandler | None = None,
        copy: PolicyCopy | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._ssm = ssm
        self._provider = SSMProvider(boto3_client=ssm)
        self._parameter = parameter
        self._max_age = max_age
        self._keeper = PolicyKeeper(
            parameter, on_reject=on_reject, on_missing=on_missing, copy=copy, clock=clock, history=self._from_history
        )

    def current(self) -> Policy:
        try:
            text = str(self._provider.get(self._parameter, max_age=self._max_age, force_fetch=self._max_age <= 0))
        except (GetParameterError, TransformParameterError) as error:  # deleted, access denied, throttled, ...
            # Powertools wraps whatever the read raised in GetParameterError: every failure of the read lands here.
            return self._keeper.missing(error)
        return self._keeper.accept(text)

    def _from_history(self) -> tuple[str, Policy] | None:
        versions = []
        paginator = self._ssm.get_paginator("get_parameter_history")
        with aws_call("GetParameterHistory"):
            for page in paginator.paginate(Name=self._parameter):
                versions.extend(page.get("Parameters", []))
        # One implementation, shared with the CLI; each version is loaded as the stored one is (any failure of a
        # hostile version is its rejection, never a stop).
        found = newest_valid_version(versions, source=self._parameter, load=_load)
        if found is None:
            return None
        return (f"parameter version {found.version}", found.policy)


# No policy nests anywhere near this deep; a document that does is refused before the parser recurses through it
# (PyYAML takes seconds to hit RecursionError on a few thousand levels, on every invocation that reads it).
MAX_NESTING = 64


def load_document(text: str, source: str) -> Policy:
    """Load a policy; any failure at all (RecursionError from deep nesting, MemoryError, ...) is a PolicyError.

    What every stored document goes through: the functions' read, the durable copy, AppConfig's validator."""
    depth = _nesting(text)
    if depth > MAX_NESTING:
        raise PolicyError(
            [PolicyIssue("", None, f"the document nests deeper than {MAX_NESTING} levels (at least {depth})")],
            source=source,
        )
    try:
        return load_policy(text, source=source)
    except PolicyError:
        raise
    except Exception as error:
        # Not chained: a RecursionError's traceback is thousands of frames in every log line that prints it.
        raise PolicyError(
            [PolicyIssue("", None, f"the document cannot be read as a policy ({type(error).__name__})")],
            source=source,
        ) from None


_load = load_document


def _nesting(text: str) -> int:
    """An upper bound of the document's nesting: open flow brackets, or block indentation (two columns a level)."""
    deepest = depth = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}" and depth:
            depth -= 1
    for line in text.splitlines():
        stripped = line.lstrip(" -")
        deepest = max(deepest, (len(line) - len(stripped)) // 2)
    return deepest


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _in_force(fallback: tuple[str, Policy] | None) -> str:
    return f"the previous valid version ({fallback[0]})" if fallback else NO_VALID_POLICY
