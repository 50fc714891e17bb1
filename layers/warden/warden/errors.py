"""The warden's one error family: what went wrong, typed, so callers catch what they mean."""

from __future__ import annotations


class WardenError(RuntimeError):
    """Base of every error the warden raises on purpose (a ``RuntimeError``, as each of them was before)."""


class RetryableError(WardenError):
    """Raise to have Lambda retry the invocation: the condition is expected to clear."""


class AwsCallFailed(WardenError):
    """An AWS call failed after botocore's own retries; adapters raise it with the botocore error as the cause.

    The message is the botocore error's, so logs and operator output read as before.
    """

    def __init__(self, operation: str, cause: BaseException, *, code: str | None = None) -> None:
        super().__init__(str(cause))
        self.operation = operation
        self.code = code


class MemberUnreachable(AwsCallFailed):
    """The member role of an account could not be assumed in a region (organization mode).

    The message names the account, region and role, and the botocore error: the member stack is missing there,
    its role was changed or deleted, or STS refused or throttled the call.
    """

    def __init__(self, account: str, region: str, role_arn: str, cause: BaseException, *, code: str | None) -> None:
        super().__init__("AssumeRole", cause, code=code)
        self.account = account
        self.region = region
        self.role_arn = role_arn
        self.args = (
            f"cannot assume {role_arn} (account {account}, region {region}): {cause}; is the member stack "
            "deployed there, with its role unchanged?",
        )


class OrganizationUnreadable(AwsCallFailed):
    """AWS Organizations could not be read (throttled, or the central account may not read it)."""

    def __init__(self, operation: str, cause: BaseException, *, code: str | None) -> None:
        super().__init__(operation, cause, code=code)
        hint = (
            "the central account must be the organization's management account or a delegated administrator "
            "for AWS Organizations"
            if code in ("AccessDeniedException", "AWSOrganizationsNotInUseException", "AccessDenied")
            else "retried on the next event or sweep"
        )
        self.args = (f"cannot read AWS Organizations ({operation}): {cause}; {hint}",)


class TerminationError(RetryableError):
    """TerminateSession kept failing; the session may still be open."""


class SessionAlreadyEnded(WardenError):
    """TerminateSession answered that the session had already ended."""


class TargetUnknown(RetryableError):
    """A ResumeSession whose session neither the ledger nor DescribeSessions knows yet: retried."""


class MissingSessionId(WardenError):
    """A session API event that names no session: nothing can be decided or closed."""


class SweepIncomplete(WardenError):
    """Some sessions could not be re-checked or ended this sweep; the others were. Raised to fire the alarm."""


class RejectedEvent(WardenError):
    """An event the function must not act on; raised so Lambda keeps it in the on-failure queue."""


class ForgedEvent(RejectedEvent):
    """A session event that DescribeSessions contradicts (another owner, target, document or reason; an end of a
    session that still runs): never acted on."""


class SessionNotListed(RetryableError):
    """DescribeSessions does not list the session an event names yet: retried before anything is ended."""


class PolicyUnavailable(RetryableError):
    """No valid policy could be found: the event is retried (and the sweeper re-checks within a minute)."""


class GrantConflict(WardenError):
    """The grant changed under us (created twice, already revoked or expired)."""


class SettingsError(WardenError):
    """A required environment variable is missing or malformed."""


class IdentityUnresolved(WardenError):
    """IAM could not say which role (with its path) is behind a session's owner: the session is not judged now."""


def describe(error: BaseException) -> str:
    """``Type: message`` of an error for an alert or a log line; an AWS failure is named by its botocore cause
    (unless it says more than its cause: which member account, region and role could not be reached)."""
    plain = isinstance(error, AwsCallFailed) and type(error) is AwsCallFailed
    cause = error.__cause__ if plain and error.__cause__ else error
    return f"{type(cause).__name__}: {cause}"


class DocumentNotTrusted(WardenError):
    """The warning document's version 1 is not the warden's script: whoever can delete a document and create another
    under its name (in a member account, its administrators) would otherwise have the warden run theirs as root."""
