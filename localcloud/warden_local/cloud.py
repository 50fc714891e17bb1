"""``LocalCloud``: moto in-process on loopback, with Session Manager, CloudTrail, routing to real handlers, a clock."""

from __future__ import annotations

import itertools
import logging
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from warden.errors import WardenError
from warden.policy import parse_duration

from . import appconfig_http, fastpaths, inventory, moto_ext, organizations_ext, out_of_band, sqs_triggers
from .accounts import AccountRegion, LocalOrganization, Scopes
from .clients import Clients
from .clock import EmulatedClock
from .cloudtrail import RequestInfo
from .control import ControlApi
from .dispatch import Dispatcher
from .faults import Faults
from .fidelity import Fidelity
from .iam import Authorizer
from .identity import Credentials, IdentityResolver
from .observations import Observations
from .organization import organization_of
from .people import People, PeopleMethods
from .routing import EventRouter
from .runtime import LambdaRuntime
from .scheduler import Scheduler
from .session_model import UnknownSessionError
from .trail_recorder import create_account_trail

logger = logging.getLogger("warden_local")

ACCOUNT_ID = "123456789012"
TEST_CREDENTIALS = Credentials("testing", "testing")
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
_instances = itertools.count(1)
_USE_DEFAULT_TEMPLATE: Any = object()


class LocalCloudError(WardenError):
    """The local cloud could not start, deploy, or do what was asked (the message says why)."""


class LocalCloud(PeopleMethods, Observations):
    """The AWS stand-in every functional test, the demo and ``warden local up`` run against.

    moto serves the AWS APIs on ``127.0.0.1`` (a free port by default), extended with the Session Manager session
    APIs, their CloudTrail events on the default bus, EventBridge delivery to the stack's real handlers, IAM for
    the handlers' calls, and an emulated clock shared by all of it. One per process: moto keeps its state in
    process-wide backends.

    Parameters
    ----------
    port : int
        TCP port on 127.0.0.1; 0 picks a free one.
    start_at : datetime, optional
        The emulated clock's first instant (UTC if naive); default: now.
    frozen : bool
        Frozen clocks move only through :meth:`advance`; otherwise the clock runs with real time and a background
        thread fires scheduled rules as they fall due.
    template : Path, optional
        The SAM template to deploy; default: the repository's ``template.yaml``. ``None`` deploys nothing.
    deploy : bool
        Whether to create the stack from ``template``.
    policy : str, optional
        Policy text to store in the stack's policy parameter once the stack exists.
    stack_name, region, alert_email : str
        Stack name, AWS region, and the ``AlertEmail`` parameter.
    fidelity : Fidelity, optional
        Timing and concurrency (see :mod:`warden_local.fidelity`); default ``Fidelity()``, quick and in order.
    organization : bool
        Emulate an AWS Organization (``cloud.org``, see :mod:`warden_local.accounts`): several accounts in two
        regions, each request acting in its signer's account and its signed region. Everything else keeps acting
        on the central account in the home region; the stack gets ``OrganizationId`` and ``GuardedRegions``.
    parameters : dict, optional
        Further stack parameters (those the template declares), over the ones above.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        start_at: datetime | None = None,
        frozen: bool = True,
        template: Path | None = _USE_DEFAULT_TEMPLATE,
        deploy: bool = True,
        policy: str | None = None,
        stack_name: str = "session-warden",
        region: str = "us-east-1",
        alert_email: str = "security@example.com",
        fidelity: Fidelity | None = None,
        organization: bool = False,
        parameters: dict[str, str] | None = None,
    ) -> None:
        if organization and region != LocalOrganization.home_region:
            raise LocalCloudError(f"the emulated organization's home region is {LocalOrganization.home_region}")
        self._port = port
        self._template: Path | None = DEFAULT_TEMPLATE if template is _USE_DEFAULT_TEMPLATE else template
        self._deploy = deploy and self._template is not None
        self._policy = policy
        self._alert_email = alert_email
        self._parameters = dict(parameters or {})
        self.stack_name = stack_name
        self.region = region
        self.account_id = ACCOUNT_ID
        self.fidelity = fidelity or Fidelity()
        self.clock = EmulatedClock(start_at, frozen=frozen)
        self.faults = Faults()
        self._tag = f"c{next(_instances)}"
        self.identities = IdentityResolver(ACCOUNT_ID, self.clock.now, any_account=organization)
        self.authorizer = Authorizer(ACCOUNT_ID, enforce=self.fidelity.enforce_iam)
        self._dispatcher = Dispatcher(f"warden-local-{self._tag}", workers=self.fidelity.workers)
        self._runtime = LambdaRuntime(
            account_id=ACCOUNT_ID,
            region=region,
            endpoint=lambda: self.endpoint,
            clock=self.clock,
            identities=self.identities,
            dispatcher=self._dispatcher,
            instance_tag=self._tag,
            retry_delays=self.fidelity.retry_delays,
            on_role_session=self.authorizer.register,
        )
        self._router: EventRouter | None = None
        self._sqs_triggers = sqs_triggers.SqsTriggers(
            account_id=ACCOUNT_ID,
            region=region,
            dispatcher=self._dispatcher,
            invoke=self._runtime.invoke_sync,
            retry_delay=self.fidelity.retry_delays[0] if self.fidelity.retry_delays else 0.0,
        )
        self._scopes = Scopes(
            home_account=ACCOUNT_ID,
            home_region=region,
            clock=self.clock,
            identities=self.identities,
            emit=self._emit,
            deliver=self._deliver,
            terminating_seconds=self.fidelity.terminating_seconds,
            multi=organization,
        )
        home = self._scopes.home
        self.sessions, self.arns, self._trail = home.sessions, home.arns, home.trail
        self._people = People(account_id=ACCOUNT_ID, client=self.client, identities=self.identities, now=self.clock.now)
        self._control = ControlApi(self)
        self._scheduler = Scheduler(
            clock=self.clock,
            account_id=ACCOUNT_ID,
            region=region,
            fire=self._fire_schedule,
            settle=lambda: self.settle(self.fidelity.settle_seconds),
        )
        self._server: Any = None
        self._clients = Clients(lambda: self.endpoint, region)
        self.org = LocalOrganization(self._clients, self._scopes, TEST_CREDENTIALS) if organization else None
        self._unemulated: list[tuple[str, str]] = []
        self._started = False
        self._stopped = False
        self.start_seconds: float | None = None

    # -- lifecycle --------------------------------------------------------------------------------------

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> LocalCloud:
        """Serve, deploy the stack and put the policy in force; return ``self``."""
        if self._started:
            return self
        if self._stopped:
            raise LocalCloudError("a stopped LocalCloud cannot start again: create a new one")
        began = time.perf_counter()
        moto_ext.install()
        fastpaths.install()
        moto_ext.activate(self)
        sqs_triggers.activate(self._sqs_triggers)
        appconfig_http.bind(self._runtime)
        try:
            from moto.moto_api._internal.models import moto_api_backend

            from .server import ServerThread, WardenApp, moto_application

            # Whatever an earlier cloud of this process left behind goes.
            moto_api_backend.reset()
            organizations_ext.forget_organizations()
            self._router = EventRouter(
                account_id=ACCOUNT_ID,
                region=self.region,
                dispatcher=self._dispatcher,
                runtime=self._runtime,
                clock=self.clock,
                faults=self.faults,
                original_send=moto_ext.original_send_to_targets(),
                org_of=organization_of,
            )
            self.faults.bind_release(self._release)
            self._server = ServerThread(WardenApp(self, moto_application()), self._port)
            self._server.start()
            self._dispatcher.start()
            self._started = True
            if self.org is not None:
                self.org.build()
            else:
                create_account_trail(ACCOUNT_ID, self.region)
            if self._deploy:
                self._deploy_stack()
            if self._policy is not None:
                self.put_policy(self._policy)
            self._scheduler.reset_watermark()
            if not self.clock.frozen:
                # The clock starts ticking from start_at when the cloud is ready, not while the stack deploys.
                self.clock.run()
                self._scheduler.start_ticking()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.perf_counter() - began
        return self

    def stop(self) -> None:
        """Stop serving and delivering; the process may start another cloud afterwards."""
        self._scheduler.stop_ticking()
        self._dispatcher.stop()
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._runtime.forget_modules()
        self._started = False
        self._stopped = True
        moto_ext.deactivate(self)
        sqs_triggers.deactivate(self._sqs_triggers)
        organizations_ext.forget_organizations()

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise LocalCloudError("the local cloud is not running: call start() first")
        return f"http://127.0.0.1:{self._server.port}"

    @property
    def port(self) -> int:
        return int(self._server.port) if self._server is not None else self._port

    # -- time and delivery -------------------------------------------------------------------------------

    def advance(self, duration: timedelta | str) -> int:
        """Move the clock minute by minute, firing each scheduled rule as it falls due; return the runs fired."""
        delta = parse_duration(duration) if isinstance(duration, str) else duration
        if delta < timedelta(0):
            raise ValueError("the emulated clock cannot go back")
        return self._scheduler.advance(delta)

    def settle(self, timeout: float = 30) -> None:
        """Block until every pending delivery, invocation and retry (delayed ones too) is done; raise
        ``SettleTimeout`` otherwise."""
        self._dispatcher.settle(timeout)

    def redeliver(self, source: str, detail_type: str, detail: dict[str, Any]) -> None:
        """EventBridge delivering an ``aws.*`` event on the default bus again, as only AWS can (PutEvents refuses
        those sources): at-least-once delivery, or a recorded payload replayed, in this account and region."""
        assert self._router is not None
        self._router.publish(
            out_of_band.aws_event(source, detail_type, detail, self.account_id, self.region, self.now())
        )

    def end_session(self, session_id: str) -> None:
        """End a session like ``exit`` or an idle timeout does: History/Terminated, no API call, no event."""
        try:
            self.sessions.end_session(session_id)
        except UnknownSessionError:
            raise LocalCloudError(f"no session {session_id} in the local cloud") from None

    def set_session_status(self, session_id: str, status: str) -> None:
        """Put a session in ``Connecting``, ``Connected``, ``Disconnected`` (a dropped client; ResumeSession
        connects it again) or ``Failed`` (History), as the agent reports it: no API call, no event."""
        try:
            self.sessions.set_status(session_id, status)
        except UnknownSessionError:
            raise LocalCloudError(f"no session {session_id} in the local cloud") from None

    # -- AWS access ----------------------------------------------------------------------------------

    def client(self, service: str, *, credentials: Credentials | None = None, config: Any = None) -> Any:
        """A boto3 client for this cloud (test credentials unless others are given)."""
        return self._clients.client(service, credentials=credentials or TEST_CREDENTIALS, config=config)

    def add_instance(self, tags: dict[str, str], instance_id: str | None = None) -> str:
        """Run an EC2 instance (state ``running``) with ``tags``; return its id."""
        return inventory.add_instance(self.client("ec2"), ACCOUNT_ID, self.region, tags, instance_id)

    def add_managed_node(self, tags: dict[str, str], *, node_id: str | None = None, name: str | None = None) -> str:
        """Register a hybrid managed node (``mi-...``) with ``tags``; SSM's tagging and session APIs know it."""
        from moto.ssm.models import ssm_backends

        return inventory.add_managed_node(
            self.client("ssm"),
            lambda: ssm_backends[ACCOUNT_ID][self.region],
            self.clock.now(),
            tags,
            node_id=node_id,
            name=name,
        )

    # -- the stack ---------------------------------------------------------------------------------------

    def stack_outputs(self) -> dict[str, str]:
        """The stack's outputs (``AlertsTopicArn``, ``GrantsTableName``, ...)."""
        stacks = self.client("cloudformation").describe_stacks(StackName=self.stack_name)["Stacks"]
        return {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}

    def put_policy(self, text: str) -> None:
        """Store ``text`` in the stack's policy parameter (no validation: that is ``warden policy push``'s job).

        Written out of band, as the template's own value is: CloudTrail records no call, so the tamper watch sees
        nothing. A test that means a person's write calls ``ssm.put_parameter`` (or ``warden policy push``).
        """
        name = self.stack_outputs().get("PolicyParameterName")
        if not name:
            raise LocalCloudError(f"stack {self.stack_name} has no PolicyParameterName output")
        out_of_band.store_parameter(ACCOUNT_ID, self.region, name, text)

    def trails_deliver(self) -> bool:
        """Whether a trail is logging this region's write management events (so CloudTrail events reach EventBridge)."""
        return self._scopes.home.trails_deliver()

    def _deploy_stack(self) -> None:
        from .conditions import TemplateError
        from .stack import deploy_as_sam

        assert self._template is not None
        parameters = {"AlertEmail": self._alert_email}
        if self.org is not None:
            extra = [region for region in self.org.regions if region != self.region]  # the home region always is
            parameters |= {"OrganizationId": self.org.organization_id, "GuardedRegions": ",".join(extra)}
        try:
            deploy_as_sam(
                self._template,
                stack_name=self.stack_name,
                region=self.region,
                parameters=parameters | self._parameters,
                cloudformation=self.client("cloudformation"),
                register=self._runtime.register,
                register_artifact=self._runtime.register_artifact,
                deployed_at=self.clock.now(),
                unemulated=self._unemulated,
                record_calls=lambda resources: self._trail.stack_calls(resources, TEST_CREDENTIALS.access_key_id),
            )
        except TemplateError as error:
            raise LocalCloudError(str(error)) from error.__cause__

    # -- for moto_ext.Hooks and server.Backend ------------------------------------------------------

    def scope(self, request: RequestInfo) -> AccountRegion:
        return self._scopes.of(request)

    def assume_role_refusal(self, access_key_id: str | None, role_arn: str) -> str | None:
        return self._scopes.assume_role_refusal(access_key_id, role_arn)

    def route_rule(self, rule: Any, event: dict[str, Any]) -> None:
        if self._router is not None:
            self._router.from_moto(rule, event)

    def put_on_other_bus(self, sender: str, region: str, entry: dict[str, Any]) -> dict[str, Any]:
        assert self._router is not None
        return self._router.put_entry(sender, region, entry)

    def now_epoch(self) -> float:
        return self.clock.now().timestamp()

    def now(self) -> datetime:
        return self.clock.now()

    def record_unemulated(self, logical_id: str, resource_type: str, properties: dict[str, Any]) -> None:
        self._unemulated.append((logical_id, resource_type))

    def control(self, method: str, route: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._control.handle(method, route, body)

    # -- CloudTrail --------------------------------------------------------------------------------------

    def _emit(self, event: dict[str, Any]) -> None:
        # No trail logging management events in the event's account and region: EventBridge gets nothing, as on AWS.
        if not self._scopes.get(str(event["account"]), str(event["region"])).trails_deliver():
            return
        self._deliver(event)

    def _deliver(self, event: dict[str, Any]) -> None:
        # CloudTrail puts an account's events on that account's default bus in the region of the call.
        name = str(event.get("detail", {}).get("eventName", ""))
        if self.faults.intercept_event(name, event):
            return
        assert self._router is not None
        copies = 2 if self.faults.take_duplicate(name) else 1
        self._router.publish(event, copies=copies, account=str(event["account"]), region=str(event["region"]))

    def _release(self, events: list[Any]) -> None:
        assert self._router is not None
        for event in events:
            self._router.publish(event)

    def _fire_schedule(self, rule: Any, minute: datetime) -> None:
        assert self._router is not None
        self._router.fire_schedule(rule, minute)
