"""Extensions to moto, installed once per process: routing hooks, managed nodes, CloudFormation resource types."""

from __future__ import annotations

import datetime
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import appconfig, appconfig_http, sns_ext, stacksets_api
from .cfn_models import EMULATED_TYPES, install_cloudformation_models

__all__ = ["EMULATED_TYPES", "Hooks", "activate", "deactivate", "install", "original_send_to_targets"]

logger = logging.getLogger("warden_local")

_INSTALL_LOCK = threading.Lock()
_installed = False


class Hooks(Protocol):
    """What the running local cloud lends the patched moto code."""

    def route_rule(self, rule: Any, event: dict[str, Any]) -> None: ...

    def put_on_other_bus(self, sender: str, region: str, entry: dict[str, Any]) -> dict[str, Any]: ...

    def now_epoch(self) -> float: ...

    def record_unemulated(self, logical_id: str, resource_type: str, properties: dict[str, Any]) -> None: ...


@dataclass
class _Active:
    hooks: Hooks | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


_ACTIVE = _Active()
_ORIGINAL_SEND: Any = None


class _CommandVersion(threading.local):
    value: str | None = None


# The DocumentVersion of the SendCommand this thread is serving (moto's backend is not handed it).
_COMMAND_VERSION = _CommandVersion()


def activate(hooks: Hooks) -> None:
    """Make ``hooks`` the process's local cloud; moto's backends are process-global, so there is only one."""
    with _ACTIVE.lock:
        if _ACTIVE.hooks is not None:
            raise RuntimeError(
                "a LocalCloud is already running in this process: moto's state is process-wide, "
                "so stop it first (pytest-xdist runs each worker in its own process)"
            )
        _ACTIVE.hooks = hooks


def deactivate(hooks: Hooks) -> None:
    with _ACTIVE.lock:
        if _ACTIVE.hooks is hooks:
            _ACTIVE.hooks = None


def original_send_to_targets() -> Any:
    return _ORIGINAL_SEND


def install() -> None:
    """Patch moto (idempotent). Without an active local cloud every patch falls back to moto's behaviour."""
    global _installed, _ORIGINAL_SEND
    with _INSTALL_LOCK:
        if _installed:
            return
        from moto.events import models as events_models
        from moto.iam import models as iam_models
        from moto.iam.utils import generate_access_key_id_from_account_id
        from moto.ssm import models as ssm_models

        _ORIGINAL_SEND = events_models.Rule.send_to_targets
        original_put_events = events_models.EventsBackend.put_events
        original_validate = ssm_models.SimpleSystemManagerBackend._validate_resource_type_and_id
        original_user_init = iam_models.User.__init__

        def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
            hooks = _ACTIVE.hooks
            if hooks is None:
                _ORIGINAL_SEND(self, original_event, transform_input)
                return
            # moto would deliver synchronously and raise NotImplementedError for Lambda targets.
            hooks.route_rule(self, dict(original_event))

        def put_events(self: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
            hooks = _ACTIVE.hooks
            if hooks is not None:
                if any(_reserved_source(event) for event in events):
                    return _refusing_reserved_sources(self, events, put_events)
                now = hooks.now_epoch()
                # An entry without Time is stamped by EventBridge on receipt: with the emulated clock here.
                events = [event if event.get("Time") else {**event, "Time": now} for event in events]
                if len(events) <= 10 and any(_other_bus(self, event) for event in events):
                    return _put_events_across(self, hooks, events, original_put_events)
            return original_put_events(self, events)

        def validate_resource(self: Any, resource_type: str, resource_id: str) -> str:
            if resource_type == "ManagedInstance":
                from .sessions import managed_nodes_of

                if resource_id in managed_nodes_of(self):
                    return resource_id
            return original_validate(self, resource_type, resource_id)

        def user_init(self: Any, account_id: str, region_name: str, name: str, path: str | None = None) -> None:
            original_user_init(self, account_id, region_name, name, path)
            # AWS user ids are AIDA + 17 characters (GetUser's UserId, CloudTrail's principalId); moto's are not.
            self.id = generate_access_key_id_from_account_id(account_id, prefix="AIDA", total_length=21)

        _install_send_command()
        _list_only_created_resources()
        setattr(iam_models.User, "__init__", user_init)  # noqa: B010
        _complete_dynamodb_tables()
        setattr(events_models.Rule, "send_to_targets", send_to_targets)  # noqa: B010 - patching moto's class
        setattr(events_models.EventsBackend, "put_events", put_events)  # noqa: B010
        setattr(ssm_models.SimpleSystemManagerBackend, "_validate_resource_type_and_id", validate_resource)  # noqa: B010
        install_cloudformation_models(lambda: _ACTIVE.hooks)
        appconfig.install_cloudformation_models(now=_now, validators=appconfig_http.bound_validators)
        sns_ext.install(lambda: _ACTIVE.hooks)
        stacksets_api.install(_now_epoch)
        _installed = True


def _now() -> datetime.datetime:
    """The running cloud's clock; the host's when none runs."""
    epoch = _now_epoch()
    return (
        datetime.datetime.now(datetime.UTC) if epoch is None else datetime.datetime.fromtimestamp(epoch, datetime.UTC)
    )


def _now_epoch() -> float | None:
    hooks = _ACTIVE.hooks
    return None if hooks is None else hooks.now_epoch()


def _other_bus(backend: Any, entry: dict[str, Any]) -> bool:
    """Whether a PutEvents entry names, by ARN, a bus of another account than the caller's (moto would look the
    name up in the caller's own account)."""
    name = str(entry.get("EventBusName") or "")
    return name.startswith("arn:") and name.count(":") >= 5 and name.split(":")[4] != backend.account_id


def _reserved_source(event: dict[str, Any]) -> bool:
    return str(event.get("Source") or "").startswith("aws.")


def _refusing_reserved_sources(backend: Any, events: list[dict[str, Any]], put: Any) -> list[dict[str, Any]]:
    """PutEvents as AWS answers an entry whose Source starts with ``aws.`` (reserved for AWS services): that entry
    fails with NotAuthorizedForSourceException and goes nowhere; the others are put; the answers keep the order."""
    refused = {"ErrorCode": "NotAuthorizedForSourceException", "ErrorMessage": "Not authorized for the source."}
    allowed = [event for event in events if not _reserved_source(event)]
    answers = iter(put(backend, allowed) if allowed else [])
    return [dict(refused) if _reserved_source(event) else next(answers) for event in events]


def _put_events_across(backend: Any, hooks: Hooks, events: list[dict[str, Any]], original: Any) -> list[dict[str, Any]]:
    """PutEvents with entries for other accounts' buses: those go through the local cloud (the bus's policy
    decides), the others through moto; the answers keep the entries' order."""
    results: list[dict[str, Any]] = [{} for _ in events]
    own = [index for index, event in enumerate(events) if not _other_bus(backend, event)]
    for index, result in zip(own, original(backend, [events[index] for index in own]) if own else [], strict=True):
        results[index] = result
    for index, event in enumerate(events):
        if index not in own:
            results[index] = hooks.put_on_other_bus(backend.account_id, backend.region_name, event)
    return results


def _install_send_command() -> None:
    """SendCommand as AWS runs it: the emulated clock, and the document version asked for (else the default)."""
    from moto.ssm import models as ssm_models
    from moto.ssm import responses as ssm_responses

    original_send_command = ssm_models.SimpleSystemManagerBackend.send_command

    def send_command(self: Any, *args: Any, **kwargs: Any) -> Any:
        command = original_send_command(self, *args, **kwargs)
        # The version SSM runs: the one asked for, else the document's default (moto ignores DocumentVersion).
        documents = self._documents.get(command.document_name)
        asked = _COMMAND_VERSION.value
        if documents is not None:
            if asked in (None, "", "$DEFAULT"):
                asked = documents.default_version
            elif asked == "$LATEST":
                asked = documents.latest_version
        command.document_version = asked  # type: ignore[attr-defined]
        hooks = _ACTIVE.hooks
        if hooks is not None:
            # moto stamps a command with the host's clock; AWS with its own: the emulated clock here.

            requested = datetime.datetime.fromtimestamp(hooks.now_epoch(), datetime.UTC).replace(tzinfo=None)
            command.expires_after = requested + (command.expires_after - command.requested_date_time)
            command.requested_date_time = requested
        return command

    original_command_object = ssm_models.Command.response_object
    original_send_response = ssm_responses.SimpleSystemManagerResponse.send_command

    def command_object(self: Any) -> dict[str, Any]:
        return {**original_command_object(self), "DocumentVersion": getattr(self, "document_version", None)}

    def send_response(self: Any) -> Any:
        _COMMAND_VERSION.value = self._get_param("DocumentVersion")
        try:
            return original_send_response(self)
        finally:
            _COMMAND_VERSION.value = None

    setattr(ssm_models.SimpleSystemManagerBackend, "send_command", send_command)  # noqa: B010
    setattr(ssm_models.Command, "response_object", command_object)  # noqa: B010
    setattr(ssm_responses.SimpleSystemManagerResponse, "send_command", send_response)  # noqa: B010


def _list_only_created_resources() -> None:
    """A resource whose Condition is false is not part of the stack: AWS never lists it. moto lists it as an entry
    with no logical id, type or physical id (organization mode's resources in a single-account stack)."""
    from moto.cloudformation.models import Stack

    original = Stack.stack_resources

    def stack_resources(self: Any) -> Any:
        return [resource for resource in original.fget(self) if resource is not None]  # type: ignore[attr-defined]

    setattr(Stack, "stack_resources", property(stack_resources))  # noqa: B010


def _complete_dynamodb_tables() -> None:
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.table import Table

    original = Table.create_from_cloudformation_json

    def create(
        cls: Any, /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        table = original(resource_name, cloudformation_json, account_id, region_name, **kwargs)
        properties = cloudformation_json.get("Properties", {})
        backend = dynamodb_backends[account_id][region_name]
        # moto's CloudFormation drops both; the template relies on them (retention by TTL, recovery by PITR).
        ttl = properties.get("TimeToLiveSpecification")
        if ttl and "AttributeName" in ttl:
            backend.update_time_to_live(
                table.name, {"AttributeName": ttl["AttributeName"], "Enabled": _true(ttl.get("Enabled", False))}
            )
        pitr = properties.get("PointInTimeRecoverySpecification")
        if pitr:
            backend.update_continuous_backups(
                table.name, {"PointInTimeRecoveryEnabled": _true(pitr.get("PointInTimeRecoveryEnabled", False))}
            )
        return table

    setattr(Table, "create_from_cloudformation_json", classmethod(create))  # noqa: B010


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"
