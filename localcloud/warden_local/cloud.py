"""``LocalCloud``: moto in-process on loopback, with Session Manager, CloudTrail, routing to real handlers, a clock."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from warden.policy import parse_duration

from . import fastpaths, moto_ext
from .clock import EmulatedClock, iso_z
from .dispatch import Dispatcher, SettleTimeout
from .faults import Faults
from .identity import Credentials, IdentityResolver
from .routing import EventRouter, FailedDelivery
from .runtime import FunctionCode, Invocation, LambdaRuntime
from .schedules import Schedule, ScheduleError, parse_schedule
from .sessions import ManagedNode, SessionApi, UnknownSessionError

logger = logging.getLogger("warden_local")

ACCOUNT_ID = "123456789012"
TEST_CREDENTIALS = Credentials("testing", "testing")
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
_INSTANCE_ID = re.compile(r"i-[0-9a-f]{8}(?:[0-9a-f]{9})?")
_MANAGED_NODE_ID = re.compile(r"mi-[0-9a-f]{17}")
_instances = itertools.count(1)
_USE_DEFAULT_TEMPLATE: Any = object()


class LocalCloudError(RuntimeError):
    """The local cloud could not start, deploy, or do what was asked (the message says why)."""


class LocalCloud:
    """The AWS stand-in every functional test, the demo and ``warden local up`` run against.

    moto serves the AWS APIs on ``127.0.0.1`` (a free port by default), extended with the Session Manager session
    APIs, their CloudTrail events on the default bus, EventBridge delivery to the stack's real handlers, and an
    emulated clock shared by all of it. One per process: moto keeps its state in process-wide backends.

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
    ) -> None:
        self._port = port
        self._template: Path | None = DEFAULT_TEMPLATE if template is _USE_DEFAULT_TEMPLATE else template
        self._deploy = deploy and self._template is not None
        self._policy = policy
        self._alert_email = alert_email
        self.stack_name = stack_name
        self.region = region
        self.account_id = ACCOUNT_ID
        self.clock = EmulatedClock(start_at, frozen=frozen)
        self.faults = Faults()
        self._tag = f"c{next(_instances)}"
        self._identities = IdentityResolver(ACCOUNT_ID, self.clock.now)
        self._dispatcher = Dispatcher(f"warden-local-{self._tag}")
        self._runtime = LambdaRuntime(
            account_id=ACCOUNT_ID,
            region=region,
            endpoint=lambda: self.endpoint,
            clock=self.clock,
            identities=self._identities,
            dispatcher=self._dispatcher,
            instance_tag=self._tag,
        )
        self._router: EventRouter | None = None
        self.sessions = SessionApi(
            account_id=ACCOUNT_ID, region=region, clock=self.clock, identities=self._identities, emit=self._emit
        )
        self._scheduler = _Scheduler(self)
        self._server: Any = None
        self._clients: dict[tuple[str, str], Any] = {}
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
        try:
            from moto.moto_api._internal.models import moto_api_backend

            from .server import ServerThread, WardenApp, moto_application

            # Whatever an earlier cloud of this process left behind goes.
            moto_api_backend.reset()
            self._router = EventRouter(
                account_id=ACCOUNT_ID,
                region=self.region,
                dispatcher=self._dispatcher,
                runtime=self._runtime,
                clock=self.clock,
                faults=self.faults,
                original_send=moto_ext.original_send_to_targets(),
            )
            self.faults.bind_release(self._release)
            self._server = ServerThread(WardenApp(self, moto_application()), self._port)
            self._server.start()
            self._dispatcher.start()
            self._started = True
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
        """Block until every pending delivery, invocation and retry is done; raise ``SettleTimeout`` otherwise."""
        self._dispatcher.settle(timeout)

    def end_session(self, session_id: str) -> None:
        """End a session like ``exit`` or an idle timeout does: History/Terminated, no API call, no event."""
        try:
            self.sessions.end_session(session_id)
        except UnknownSessionError:
            raise LocalCloudError(f"no session {session_id} in the local cloud") from None

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
    def unemulated_resources(self) -> list[tuple[str, str]]:
        """(logical id, type) of template resources neither moto nor the local cloud creates."""
        return list(self._unemulated)

    @property
    def functions(self) -> dict[str, FunctionCode]:
        """Function name -> the local code that runs when it is invoked."""
        return self._runtime.registered()

    # -- AWS access ----------------------------------------------------------------------------------

    def client(self, service: str, *, credentials: Credentials | None = None, config: Any = None) -> Any:
        """A boto3 client for this cloud (test credentials unless others are given)."""
        creds = credentials or TEST_CREDENTIALS
        key = (service, creds.access_key_id)
        if config is None and key in self._clients:
            return self._clients[key]
        with _BOTO_LOCK:
            client = _boto_session().client(
                service, endpoint_url=self.endpoint, region_name=self.region, config=config, **creds.client_kwargs()
            )
        if config is None:
            self._clients[key] = client
        return client

    def user_credentials(self, user_name: str) -> Credentials:
        """Create IAM user ``user_name`` (if needed) and a fresh access key; its calls are that IAMUser's."""
        iam = self.client("iam")
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_user(UserName=user_name)
        key = iam.create_access_key(UserName=user_name)["AccessKey"]
        return Credentials(key["AccessKeyId"], key["SecretAccessKey"])

    def role_credentials(self, role_name: str, session_name: str, *, path: str = "/") -> Credentials:
        """Create role ``role_name`` (if needed) and assume it; its calls are ``assumed-role/ROLE/SESSION``."""
        iam = self.client("iam")
        try:
            role_arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            trust = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
            role_arn = iam.create_role(RoleName=role_name, Path=path, AssumeRolePolicyDocument=json.dumps(trust))[
                "Role"
            ]["Arn"]
        assumed = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
        self._identities.note_session_created(assumed["AccessKeyId"], self.clock.now())
        return Credentials(assumed["AccessKeyId"], assumed["SecretAccessKey"], assumed["SessionToken"])

    def add_instance(self, tags: dict[str, str], instance_id: str | None = None) -> str:
        """Run an EC2 instance (state ``running``) with ``tags``; return its id."""
        from moto.ec2.models import ec2_backends
        from moto.ec2.models import instances as ec2_instances

        if instance_id is not None and not _INSTANCE_ID.fullmatch(instance_id):
            raise ValueError(f"invalid instance id {instance_id!r}: expected i- and 8 or 17 hex digits")
        backend = ec2_backends[ACCOUNT_ID][self.region]
        if instance_id is not None and any(instance.id == instance_id for instance in backend.all_instances()):
            raise ValueError(f"instance {instance_id} already exists")
        image = next(iter(backend.amis), "ami-12c6146b")
        request = {
            "ImageId": image,
            "MinCount": 1,
            "MaxCount": 1,
            "InstanceType": "t3.micro",
        }
        if tags:
            request["TagSpecifications"] = [
                {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
            ]
        with _INSTANCE_ID_LOCK:
            original = getattr(ec2_instances, "random_instance_id")  # noqa: B009 - not re-exported by moto
            if instance_id is not None:
                # moto draws instance ids at random; pinning one lets tests use the ids of the recorded events.
                setattr(ec2_instances, "random_instance_id", lambda: instance_id)  # noqa: B010
            try:
                reservation = self.client("ec2").run_instances(**request)
            finally:
                setattr(ec2_instances, "random_instance_id", original)  # noqa: B010
        return str(reservation["Instances"][0]["InstanceId"])

    def add_managed_node(self, tags: dict[str, str], *, node_id: str | None = None, name: str | None = None) -> str:
        """Register a hybrid managed node (``mi-...``) with ``tags``; SSM's tagging and session APIs know it."""
        if node_id is not None and not _MANAGED_NODE_ID.fullmatch(node_id):
            raise ValueError(f"invalid managed node id {node_id!r}: expected mi- and 17 hex digits")
        node_id = node_id or f"mi-{secrets.token_hex(9)[:17]}"
        nodes = self.sessions.managed_nodes()
        if node_id in nodes:
            raise ValueError(f"managed node {node_id} already exists")
        nodes[node_id] = ManagedNode(
            node_id=node_id,
            name=name or tags.get("Name") or node_id,
            registered=self.clock.now(),
            ip_address=f"192.0.2.{len(nodes) % 250 + 1}",
            activation_id=str(uuid.uuid4()),
        )
        if tags:
            self.client("ssm").add_tags_to_resource(
                ResourceType="ManagedInstance",
                ResourceId=node_id,
                Tags=[{"Key": key, "Value": value} for key, value in tags.items()],
            )
        return node_id

    # -- the stack ---------------------------------------------------------------------------------------

    def stack_outputs(self) -> dict[str, str]:
        """The stack's outputs (``AlertsTopicArn``, ``GrantsTableName``, ...)."""
        stacks = self.client("cloudformation").describe_stacks(StackName=self.stack_name)["Stacks"]
        return {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}

    def put_policy(self, text: str) -> None:
        """Store ``text`` in the stack's policy parameter (no validation: that is ``warden policy push``'s job)."""
        name = self.stack_outputs().get("PolicyParameterName")
        if not name:
            raise LocalCloudError(f"stack {self.stack_name} has no PolicyParameterName output")
        self.client("ssm").put_parameter(Name=name, Value=text, Type="String", Overwrite=True)

    def _deploy_stack(self) -> None:
        from moto.s3.models import s3_backends

        from .stack import ARTIFACT_BUCKET, TemplateError, package, parameters_for

        assert self._template is not None
        if not self._template.is_file():
            raise LocalCloudError(f"no template at {self._template}")
        parameters = {"AlertEmail": self._alert_email}
        try:
            packaged = package(
                self._template,
                stack_name=self.stack_name,
                region=self.region,
                account_id=ACCOUNT_ID,
                parameters=parameters,
            )
        except TemplateError as error:
            raise LocalCloudError(str(error)) from None
        # What `sam deploy` uploads: the code zips, in a bucket of the account.
        s3 = s3_backends[ACCOUNT_ID]["aws"]
        s3.create_bucket(ARTIFACT_BUCKET, self.region)
        for key, body in packaged.artifacts.items():
            s3.put_object(ARTIFACT_BUCKET, key, body)
        cloudformation = self.client("cloudformation")
        try:
            cloudformation.create_stack(
                StackName=self.stack_name,
                TemplateBody=json.dumps(packaged.template),
                Parameters=parameters_for(packaged.template, parameters),
                Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
            )
        except Exception as error:
            raise LocalCloudError(f"creating stack {self.stack_name} failed: {error}") from error
        stack = cloudformation.describe_stacks(StackName=self.stack_name)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            raise LocalCloudError(
                f"stack {self.stack_name} is {stack['StackStatus']}: {stack.get('StackStatusReason', 'no reason')}"
            )
        resources = cloudformation.describe_stack_resources(StackName=self.stack_name)["StackResources"]
        physical = {item["LogicalResourceId"]: item.get("PhysicalResourceId") for item in resources}
        for logical_id, code in packaged.functions.items():
            name = physical.get(logical_id)
            if name:
                self._runtime.register(name, code)
        if self._unemulated:
            logger.warning(
                "resources the local cloud does not emulate (created as placeholders): %s",
                ", ".join(f"{logical} ({kind})" for logical, kind in self._unemulated),
            )

    # -- hooks for moto_ext --------------------------------------------------------------------------

    def route_rule(self, rule: Any, event: dict[str, Any]) -> None:
        if self._router is not None:
            self._router.from_moto(rule, event)

    def now_epoch(self) -> float:
        return self.clock.now().timestamp()

    def record_unemulated(self, logical_id: str, resource_type: str, properties: dict[str, Any]) -> None:
        self._unemulated.append((logical_id, resource_type))

    # -- CloudTrail --------------------------------------------------------------------------------------

    def _emit(self, event: dict[str, Any]) -> None:
        name = str(event.get("detail", {}).get("eventName", ""))
        if self.faults.intercept_event(name, event):
            return
        assert self._router is not None
        self._router.publish(event)

    def _release(self, events: list[Any]) -> None:
        assert self._router is not None
        for event in events:
            self._router.publish(event)

    # -- the control API's payloads --------------------------------------------------------------------

    def clock_payload(self) -> dict[str, Any]:
        return {"now": iso_z(self.clock.now()), "frozen": self.clock.frozen}

    def advance_from_text(self, duration: Any) -> dict[str, Any]:
        from .server import ControlError

        if not isinstance(duration, str):
            raise ControlError(400, 'expected {"duration": "10m"}')
        try:
            fired = self.advance(duration)
        except ValueError as error:
            raise ControlError(400, str(error)) from None
        except SettleTimeout as error:
            raise ControlError(504, str(error)) from None
        return {"now": iso_z(self.clock.now()), "fired": fired}

    def end_session_payload(self, session_id: Any) -> dict[str, Any]:
        from .server import ControlError

        if not isinstance(session_id, str) or not session_id:
            raise ControlError(400, 'expected {"session_id": "..."}')
        try:
            session = self.sessions.end_session(session_id)
        except UnknownSessionError:
            raise ControlError(404, f"no session {session_id} in the local cloud") from None
        return {
            "session_id": session.session_id,
            "status": session.status,
            "end": iso_z(session.end or self.clock.now()),
        }

    def settle_payload(self, timeout: Any) -> dict[str, Any]:
        from .server import ControlError

        try:
            self.settle(float(timeout))
        except (TypeError, ValueError):
            raise ControlError(400, "timeout must be a number of seconds") from None
        except SettleTimeout as error:
            raise ControlError(504, str(error)) from None
        return {"settled": True}

    def invocations_payload(self) -> list[dict[str, Any]]:
        return [
            {
                "function_name": record.function_name,
                "request_id": record.request_id,
                "attempt": record.attempt,
                "event_id": record.event_id,
                "envelope_id": record.envelope_id,
                "detail_type": record.detail_type,
                "outcome": record.outcome,
                "error": record.error,
                "error_type": record.error_type,
                "at": iso_z(record.at),
                "logs": list(record.logs),
            }
            for record in self.invocations
        ]


_INSTANCE_ID_LOCK = threading.Lock()
_BOTO_LOCK = threading.Lock()
_BOTO_SESSION: Any = None


def _boto_session() -> Any:
    # One session for every cloud of the process: it caches the service models, so a client costs milliseconds.
    # Not the default session, which would cache whichever credentials it met first. Callers hold _BOTO_LOCK.
    global _BOTO_SESSION
    if _BOTO_SESSION is None:
        import boto3

        _BOTO_SESSION = boto3.session.Session()
    return _BOTO_SESSION


class _Scheduler:
    """Fires scheduled rules from the emulated clock: on ``advance``, and every minute while the clock ticks."""

    def __init__(self, cloud: LocalCloud) -> None:
        self._cloud = cloud
        self._lock = threading.Lock()
        self._watermark = cloud.clock.now()  # every occurrence at or before it has fired
        self._parsed: dict[str, Schedule | None] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def reset_watermark(self) -> None:
        with self._lock:
            self._watermark = self._cloud.clock.now()

    def advance(self, delta: timedelta) -> int:
        clock = self._cloud.clock
        with self._lock:
            end = clock.now() + delta
            fired = self._fire_through(end, move_clock=True, settle=self._cloud.settle)
            if end > clock.now():
                clock.set(end)
            return fired

    def start_ticking(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._tick, name="warden-local-schedules", daemon=True)
        self._thread.start()

    def stop_ticking(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _tick(self) -> None:
        while not self._stop.wait(0.25):
            with self._lock:
                try:
                    self._fire_through(self._cloud.clock.now(), move_clock=False, settle=None)
                except Exception:
                    logger.exception("scheduled rules could not fire")

    def _fire_through(self, end: datetime, *, move_clock: bool, settle: Callable[[], None] | None) -> int:
        minute = self._watermark.replace(second=0, microsecond=0) + timedelta(minutes=1)
        fired = 0
        while minute <= end:
            rules = self._due(minute)
            if rules:
                if move_clock and minute > self._cloud.clock.now():
                    self._cloud.clock.set(minute)
                router = self._cloud._router
                assert router is not None
                for rule in rules:
                    router.fire_schedule(rule, minute)
                fired += len(rules)
                if settle is not None:
                    settle()
            self._watermark = minute
            minute += timedelta(minutes=1)
        self._watermark = max(self._watermark, end)
        return fired

    def _due(self, minute: datetime) -> list[Any]:
        from moto.events.models import events_backends

        bus = events_backends[ACCOUNT_ID][self._cloud.region].event_buses.get("default")
        if bus is None:
            return []
        due = []
        for rule in list(bus.rules.values()):
            expression = rule.scheduled_expression
            if not expression or rule.state != "ENABLED":
                continue
            if expression not in self._parsed:
                try:
                    self._parsed[expression] = parse_schedule(expression)
                except ScheduleError as error:
                    logger.warning("rule %s never fires in the local cloud: %s", rule.name, error)
                    self._parsed[expression] = None
            schedule = self._parsed[expression]
            if schedule is not None and schedule.is_due(minute):
                due.append(rule)
        return due
