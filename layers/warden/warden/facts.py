"""What a session is, as AWS vouches for it: the facts every decision after StartSession is made on.

The event path decides a StartSession on its CloudTrail record. Every later decision (a ResumeSession, each
sweep) is made on what AWS says about the session now: DescribeSessions' Target, DocumentName, Reason, StartDate
and Owner, the issuer role's path from IAM GetRole, the document's session type from GetDocument. The ledger is
a record of what was decided, never an input: anyone with write access to the table could edit it. The one
exception is the remote host of a remote-port session, which only the StartSession event carries (see
:func:`recorded_host`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from warden.errors import AwsCallFailed, IdentityUnresolved, describe
from warden.policy import Decision, OpenSession, Policy, Principal, SessionRequest, principal_from_arn
from warden.ports import IssuerRoles, SessionDocuments
from warden.records import LedgerEntry, LiveSession


def owner_principal(owner: str, roles: IssuerRoles, *, account: str | None) -> Principal:
    """The principal behind DescribeSessions' ``Owner``, with the issuer role's path for an assumed role.

    Parameters
    ----------
    owner : str
        ``arn:aws:iam::A:user/NAME``, ``arn:aws:sts::A:assumed-role/ROLE/SESSION``, ...
    roles : IssuerRoles
        IAM GetRole (cached per sweep).
    account : str or None
        The warden's account: only its own roles can be looked up.

    Raises
    ------
    IdentityUnresolved
        The owner is not an ARN, or it is an assumed role whose role IAM cannot give (GetRole failed, the role is
        gone, or it lives in another account): the same session judged without the path could be an IAM Identity
        Center user judged as an ordinary role session, or the other way round.
    """
    try:
        base = principal_from_arn(owner)
    except ValueError as error:
        raise IdentityUnresolved(f"session owner {owner!r}: {error}") from error
    if base.kind != "AssumedRole" or base.user is None or base.role is None:
        return base
    if account is not None and base.account != account:
        raise IdentityUnresolved(f"session owner {owner} is a role of account {base.account}: its path is unknown")
    try:
        return principal_from_arn(owner, role_arn=roles.role_arn(base.role))
    except AwsCallFailed as error:
        raise IdentityUnresolved(f"IAM GetRole {base.role} failed: {describe(error)}") from error
    except ValueError as error:
        raise IdentityUnresolved(f"session owner {owner}: {error}") from error


def recorded_principal(owner: str, row: LedgerEntry | None) -> Principal | None:
    """The owner with the issuer role's path the ledger recorded from the session's StartSession event, if any.

    Only a fallback when IAM cannot answer, and only ever for a denial (see the sweeper): the row is a record that
    someone with write access to the table could edit. None when the row names no role ARN of the owner's role.
    """
    role_arn = (row.identity or {}).get("role_arn") if row is not None else None
    if not isinstance(role_arn, str) or row is None or row.principal_arn != owner:
        return None
    try:
        base = principal_from_arn(owner)
        if base.role is None or not role_arn.endswith(f"/{base.role}") or f":{base.account}:" not in role_arn:
            return None
        return principal_from_arn(owner, role_arn=role_arn)
    except ValueError:
        return None


def recorded_host(row: LedgerEntry | None) -> str | None:
    """The remote host of a session, as the ledger recorded it from the StartSession event.

    DescribeSessions lists no parameters, so once StartSession has been decided the host is known only from its
    event, which the warden keeps in the ledger. Residual risk, accepted and documented: someone who can write to
    the ledger table can change the host a later decision sees; the StartSession itself was decided on the real
    host (a tunnel to a host no rule allows was ended then), so the edit can only keep alive a session that was
    allowed when it started, against a later narrowing of ``hosts``. A session with no row (its event was lost)
    has no host: unknown, which no ``hosts`` rule allows.
    """
    return row.host if row is not None else None


def live_request(
    session: LiveSession,
    principal: Principal,
    tags: dict[str, str] | None,
    *,
    documents: SessionDocuments,
    account: str | None,
    host: str | None,
    region: str | None = None,
    account_path: str | None = None,
) -> SessionRequest:
    """The decision input of an open session from DescribeSessions (never from the ledger).

    *region* and *account_path* (the account's OU path, organization mode) say where the session runs."""
    document = session.document or "SSM-SessionManagerRunShell"
    return SessionRequest(
        principal=principal,
        target=session.target,
        tags=tags or {},
        document=document,
        reason=session.reason,
        started=session.started_at,
        session_type=documents.session_type(document),
        host=host,
        account=account,
        session_id=session.session_id,
        logging=documents.session_logging(document),
        region=region,
        account_path=account_path,
    )


def open_session(session: LiveSession, tags: Mapping[str, str]) -> OpenSession:
    """A listed session as the session limits count it: AWS's owner, target, start and status.

    A session DescribeSessions lists with no status is counted (as ``Connected``): fail closed.
    """
    return OpenSession(
        session_id=session.session_id,
        owner=session.owner,
        target=session.target,
        started=session.started_at,
        status=session.status or "Connected",
        tags=dict(tags),
    )


def denies_everyone(policy: Policy, decision: Decision) -> bool:
    """Whether the decision is a deny rule that names no principal, so no identity could have changed it."""
    if decision.basis != "deny-rule":
        return False
    rule = next((rule for rule in policy.rules if rule.name == decision.rule), None)
    return rule is not None and "*" in rule.principals


def keep_record(entry: LedgerEntry, row: LedgerEntry | None) -> LedgerEntry:
    """A re-decision's row keeps what the ledger recorded where it agrees with AWS's facts, else says AWS's.

    A ResumeSession names no document, and DescribeSessions may list a document ARN by its name: the row keeps
    the document as StartSession gave it when it is the same document, its start time when within a minute of
    DescribeSessions' StartDate, and its host (which only the event carries). Anything that disagrees with AWS
    (an edited row) is replaced by what AWS says, so alerts and the ledger show the facts the decision was made on.
    """
    if row is None:
        return entry
    if row.document and entry.document and same_document(row.document, entry.document):
        entry.document = row.document
    if row.started_at and entry.started_at and abs(row.started_at - entry.started_at) <= START_SKEW:
        entry.started_at = row.started_at
    entry.host = entry.host or row.host
    if row.transcript and not row.transcript.startswith("unknown"):
        # Where the agent writes is settled when the session starts; a later change of preferences moves nothing.
        entry.transcript, entry.transcript_links = row.transcript, list(row.transcript_links)
    return entry


START_SKEW = timedelta(minutes=1)


def same_document(recorded: str, listed: str) -> bool:
    """Whether a document as StartSession named it (a name or an ARN) is the one DescribeSessions lists by name."""
    return recorded == listed or (recorded.startswith("arn:") and recorded.endswith(f":document/{listed}"))
