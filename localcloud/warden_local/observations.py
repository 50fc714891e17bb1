"""What the local cloud saw happen, for tests and ``warden local``: handler runs, failed deliveries, IAM decisions."""

from __future__ import annotations

from .iam import Authorizer, Decision
from .invocations import FunctionCode, Invocation
from .routing import EventRouter, FailedDelivery
from .runtime import LambdaRuntime


class Observations:
    """The local cloud's records (mixed into its facade)."""

    _runtime: LambdaRuntime
    _router: EventRouter | None
    _unemulated: list[tuple[str, str]]
    authorizer: Authorizer

    @property
    def invocations(self) -> list[Invocation]:
        """Every handler run so far (retries included), oldest first."""
        return self._runtime.invocations

    @property
    def failed_deliveries(self) -> list[FailedDelivery]:
        """Events EventBridge could not hand to a target (no permission, no function, throttled)."""
        assert self._router is not None
        return self._router.failed_deliveries

    @property
    def iam_decisions(self) -> list[Decision]:
        """Every call a function's role made, with the IAM outcome (see :mod:`warden_local.iam`)."""
        return self.authorizer.decisions

    @property
    def iam_denials(self) -> list[Decision]:
        """The calls of a function's role that its policies do not allow (denied when IAM is enforced)."""
        return self.authorizer.denials

    @property
    def unemulated_resources(self) -> list[tuple[str, str]]:
        """(logical id, type) of template resources neither moto nor the local cloud creates."""
        return list(self._unemulated)

    @property
    def functions(self) -> dict[str, FunctionCode]:
        """Function name -> the local code that runs when it is invoked."""
        return self._runtime.registered()
