"""AWS access for a command: where calls go and as whom, one boto3 session, the stack's outputs, failures as errors."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from warden_cli.clock import local_endpoint
from warden_cli.errors import EXIT_BAD_INPUT, EXIT_DENIED, CliError
from warden_cli.options import DEFAULT_STACK, STACK_VARIABLE

if TYPE_CHECKING:
    import boto3

OUTPUT_KEYS = ("AlertsTopicArn", "GrantsTableName", "LedgerTableName", "PolicyParameterName")
ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL"
NO_REGION = "no AWS region: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION)"


@dataclass(frozen=True)
class Connection:
    """Where the command's AWS calls go, and as whom.

    From the environment (what a user runs), the endpoint (also for the local cloud's clock), ``AWS_REGION`` and
    ``WARDEN_STACK`` are read here; boto3 finds the credentials, and the region when AWS_REGION is unset, its usual
    way. Given explicitly (the demo runs the CLI in its own process), the endpoint, region and keys are passed to
    every client and the environment's are not used.
    """

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    stack: str | None = None  # the default for --stack

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Connection:
        return cls(
            endpoint_url=environ.get(ENDPOINT_VARIABLE, "").strip() or None,
            # boto3 reads only AWS_DEFAULT_REGION; AWS_REGION comes first, as in the AWS CLI (and Lambda sets it).
            region=environ.get("AWS_REGION", "").strip() or None,
            stack=environ.get(STACK_VARIABLE, "").strip() or None,
        )

    @property
    def explicit(self) -> bool:
        return self.access_key_id is not None


@dataclass(frozen=True)
class StackOutputs:
    """What the CLI needs from the stack (section 1 of the spec)."""

    stack: str
    region: str
    alerts_topic_arn: str
    grants_table: str
    ledger_table: str
    policy_parameter: str
    state_table: str | None = None  # older stacks lack it: `warden policy push` then records no push
    policy_store: AppConfigStore | None = None  # organization mode: the policy lives in AWS AppConfig
    # Organization mode: the regions the stack guards besides its own (output GuardedRegionList; none otherwise).
    guarded_regions: tuple[str, ...] = ()
    organization_id: str | None = None  # output OrganizationId: set in organization mode only

    @property
    def account(self) -> str:
        """The stack's own account: the one its alerts topic is in."""
        parts = self.alerts_topic_arn.split(":")
        return parts[4] if len(parts) > 4 else ""


class StackMissing(CliError):
    """No Session Warden stack of that name in the region asked."""


@dataclass(frozen=True)
class AppConfigStore:
    """The organization's policy in AppConfig (the stack's Policy* outputs in organization mode)."""

    application: str
    environment: str
    profile: str
    strategy: str

    @property
    def label(self) -> str:
        return f"AppConfig application {self.application}, environment {self.environment}, profile {self.profile}"


@dataclass(frozen=True)
class Caller:
    arn: str
    account: str


@dataclass
class Aws:
    """One boto3 session for a command; clients and stack outputs are created on first use."""

    profile: str | None
    region: str | None
    stack: str
    connection: Connection = field(default_factory=Connection)
    _clients: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Aws:
        connection = connection_of(args)
        stack = args.stack or connection.stack or DEFAULT_STACK
        return cls(profile=args.profile, region=getattr(args, "region", None), stack=stack, connection=connection)

    @property
    def endpoint_url(self) -> str | None:
        return self.connection.endpoint_url

    @cached_property
    def session(self) -> boto3.session.Session:
        from botocore.exceptions import ProfileNotFound

        from warden.adapters.aws import new_session

        connection = self.connection
        try:
            if connection.explicit:
                session = new_session(
                    access_key_id=connection.access_key_id,
                    secret_access_key=connection.secret_access_key,
                    session_token=connection.session_token,
                    region=self.region or connection.region,
                )
            else:
                session = new_session(profile=self.profile, region=self.region or connection.region)
        except ProfileNotFound:
            raise CliError(f"--profile: no AWS profile named {self.profile!r}") from None
        if not session.region_name:
            raise CliError(NO_REGION)
        return session

    @property
    def region_name(self) -> str:
        return str(self.session.region_name)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            from warden.adapters.aws import RETRY_CONFIG, client

            try:
                if self.connection.explicit:
                    self._clients[service] = self.session.client(
                        service,  # type: ignore[call-overload]
                        config=RETRY_CONFIG,
                        endpoint_url=self.connection.endpoint_url,
                    )
                else:
                    self._clients[service] = client(self.session, service)
            except ValueError as error:  # botocore: "Invalid endpoint: ..."
                endpoint = self.connection.endpoint_url
                where = f"{ENDPOINT_VARIABLE}={endpoint!r}" if endpoint else "the endpoint"
                raise CliError(
                    f"{where} is not a URL ({error}); write it like http://127.0.0.1:4566, or unset it for AWS"
                ) from None
        return self._clients[service]

    @cached_property
    def outputs(self) -> StackOutputs:
        from botocore.exceptions import ClientError

        try:
            response = self.client("cloudformation").describe_stacks(StackName=self.stack)
        except ClientError as error:
            if _is_missing_stack(error):
                raise StackMissing(
                    f"--stack: no stack {self.stack!r} in {self.region_name}; deploy it with `sam deploy`, "
                    "or name yours with --stack (and --region)"
                ) from None
            raise
        stacks = response.get("Stacks") or []
        if not stacks:
            raise StackMissing(f"--stack: no stack {self.stack!r} in {self.region_name}")
        outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs") or []}
        missing = [key for key in OUTPUT_KEYS if not outputs.get(key)]
        if missing:
            status = stacks[0].get("StackStatus", "unknown status")
            raise CliError(
                f"--stack: stack {self.stack!r} ({status}) lacks the outputs {', '.join(missing)}: "
                "is it Session Warden?",
                code=EXIT_DENIED,
            )
        return StackOutputs(
            stack=self.stack,
            region=self.region_name,
            alerts_topic_arn=outputs["AlertsTopicArn"],
            grants_table=outputs["GrantsTableName"],
            ledger_table=outputs["LedgerTableName"],
            policy_parameter=outputs["PolicyParameterName"],
            state_table=outputs.get("StateTableName") or None,
            policy_store=_policy_store(outputs),
            guarded_regions=tuple(
                region.strip() for region in (outputs.get("GuardedRegionList") or "").split(",") if region.strip()
            ),
            organization_id=outputs.get("OrganizationId") or None,
        )

    @classmethod
    def central(cls, args: argparse.Namespace, region: str | None) -> Aws:
        """For a command whose ``--region`` also names where sessions or grants are (organization mode).

        The stack is read in ``region`` (the one ``--region`` names) as always. When it is not there but the default
        region (``AWS_REGION``, ``AWS_DEFAULT_REGION``, the profile's) holds the organization's central stack, that
        one is used: the organization's ledger and grants are in the central stack, in the home region only.
        """
        home = cls.from_args(args)
        if region is None:
            return home
        aws = cls(profile=args.profile, region=region, stack=home.stack, connection=home.connection)
        try:
            aws.outputs  # noqa: B018  # read now: is the stack in --region?
        except StackMissing:
            home = cls(profile=args.profile, region=None, stack=aws.stack, connection=aws.connection)
            try:
                central = home.region_name != aws.region_name and home.outputs.organization_id is not None
            except CliError:
                central = False
            if not central:
                raise
            return home
        return aws

    @cached_property
    def caller(self) -> Caller:
        identity = self.client("sts").get_caller_identity()
        return Caller(arn=str(identity["Arn"]), account=str(identity["Account"]))


def _policy_store(outputs: Mapping[str, str]) -> AppConfigStore | None:
    keys = ("PolicyApplicationId", "PolicyEnvironmentId", "PolicyProfileId", "PolicyDeploymentStrategyId")
    if not all(outputs.get(key) for key in keys):
        return None
    application, environment, profile, strategy = (outputs[key] for key in keys)
    return AppConfigStore(application, environment, profile, strategy)


def _is_missing_stack(error: Any) -> bool:
    from warden.adapters.aws import error_code

    message = str(error.response.get("Error", {}).get("Message", ""))
    return error_code(error) == "ValidationError" and "does not exist" in message


@contextlib.contextmanager
def aws_errors(endpoint: str | None = None) -> Iterator[None]:
    """Turn botocore's failures into one-line CLI errors: exit 1 when the call failed, 2 when the input was wrong.

    ``endpoint`` is where the calls went (``AWS_ENDPOINT_URL``), named when it cannot be reached. The layer's
    adapters raise :class:`~warden.errors.AwsCallFailed` with the botocore error as its cause: read as that cause.
    """
    from warden.errors import AwsCallFailed

    try:
        with _botocore_errors(endpoint):
            yield
    except AwsCallFailed as failed:
        if failed.__cause__ is None:
            raise
        with _botocore_errors(endpoint):  # one it does not know goes on as itself, as before the adapters wrapped it
            raise failed.__cause__ from None


@contextlib.contextmanager
def _botocore_errors(endpoint: str | None) -> Iterator[None]:
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )
    from botocore.exceptions import (
        ConnectionError as BotoConnectionError,
    )

    try:
        yield
    except ClientError as error:
        details = error.response.get("Error", {})
        code = details.get("Code") or "error"
        message = " ".join(str(details.get("Message") or "").split())
        operation = getattr(error, "operation_name", "AWS call")
        raise CliError(f"{operation} failed: {code}: {message}".rstrip(": "), code=EXIT_DENIED) from None
    except NoRegionError:
        raise CliError(NO_REGION, code=EXIT_BAD_INPUT) from None
    except (NoCredentialsError, PartialCredentialsError):
        raise CliError(
            "no AWS credentials: configure them (aws configure, AWS_PROFILE) or pass --profile", code=EXIT_BAD_INPUT
        ) from None
    except (EndpointConnectionError, BotoConnectionError) as error:
        raise CliError(f"cannot reach AWS: {error}{_endpoint_hint(endpoint)}", code=EXIT_DENIED) from None


def _endpoint_hint(endpoint: str | None) -> str:
    if not endpoint:
        return f" ({ENDPOINT_VARIABLE} is not set: this is AWS itself; check the network and --region)"
    if local_endpoint(endpoint):
        return f" ({ENDPOINT_VARIABLE}={endpoint} is the local cloud: is `warden local up` running?)"
    return f" ({ENDPOINT_VARIABLE}={endpoint})"


def connection_of(args: argparse.Namespace) -> Connection:
    """The connection ``main`` attached to the parsed arguments (the environment's when none was given)."""
    connection = getattr(args, "connection", None)
    return connection if isinstance(connection, Connection) else Connection()


def active_session_ids(ssm: Any) -> set[str]:
    """The ids of every session DescribeSessions lists as Active, all pages of them."""
    found: set[str] = set()
    request: dict[str, Any] = {"State": "Active", "MaxResults": 200}
    while True:
        page = ssm.describe_sessions(**request)
        found.update(str(session["SessionId"]) for session in page.get("Sessions", []))
        if not page.get("NextToken"):
            return found
        request["NextToken"] = page["NextToken"]
