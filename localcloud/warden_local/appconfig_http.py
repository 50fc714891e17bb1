"""The AppConfig and AppConfig Data REST endpoints in front of moto: the operations moto lacks are answered by
:mod:`warden_local.appconfig`, the rest go to moto; IAM is checked for the functions' roles, and the calls that change
the policy are recorded by CloudTrail (the tamper watch's events)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs

from .appconfig import AppConfigApi, AppConfigError, Validators
from .cloudtrail import RequestInfo
from .control_plane import ControlCall
from .iam import Authorizer, Decision
from .wsgi import StartResponse, WsgiApp, json_error, read_body

# The calls that change what the functions enforce (CloudTrail records them; the tamper watch listens).
POLICY_CHANGES = (
    "CreateHostedConfigurationVersion",
    "DeleteHostedConfigurationVersion",
    "UpdateConfigurationProfile",
    "DeleteConfigurationProfile",
    "StartDeployment",
    "StopDeployment",
)

_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (method, re.compile(f"^{pattern}/?$"), operation)
    for method, pattern, operation in (
        ("POST", "/configurationsessions", "StartConfigurationSession"),
        ("GET", "/configuration", "GetLatestConfiguration"),
        ("POST", "/applications/(?P<app>[^/]+)/environments", "CreateEnvironment"),
        ("GET", "/applications/(?P<app>[^/]+)/environments", "ListEnvironments"),
        ("GET", "/applications/(?P<app>[^/]+)/environments/(?P<env>[^/]+)", "GetEnvironment"),
        ("DELETE", "/applications/(?P<app>[^/]+)/environments/(?P<env>[^/]+)", "DeleteEnvironment"),
        ("POST", "/deploymentstrategies", "CreateDeploymentStrategy"),
        ("GET", "/deploymentstrategies/(?P<strategy>[^/]+)", "GetDeploymentStrategy"),
        ("POST", "/applications/(?P<app>[^/]+)/environments/(?P<env>[^/]+)/deployments", "StartDeployment"),
        ("GET", "/applications/(?P<app>[^/]+)/environments/(?P<env>[^/]+)/deployments", "ListDeployments"),
        ("GET", "/applications/(?P<app>[^/]+)/environments/(?P<env>[^/]+)/deployments/(?P<n>[0-9]+)", "GetDeployment"),
        (
            "DELETE",
            "/applications/(?P<app>[^/]+)/environments/(?P<env>[^/]+)/deployments/(?P<n>[0-9]+)",
            "StopDeployment",
        ),
        (
            "POST",
            "/applications/(?P<app>[^/]+)/configurationprofiles/(?P<profile>[^/]+)/hostedconfigurationversions",
            "CreateHostedConfigurationVersion",
        ),
        (
            "DELETE",
            "/applications/(?P<app>[^/]+)/configurationprofiles/(?P<profile>[^/]+)/hostedconfigurationversions/"
            "(?P<version>[0-9]+)",
            "DeleteHostedConfigurationVersion",
        ),
        (
            "GET",
            "/applications/(?P<app>[^/]+)/configurationprofiles/(?P<profile>[^/]+)/hostedconfigurationversions/"
            "(?P<version>[0-9]+)",
            "GetHostedConfigurationVersion",
        ),
        (
            "PATCH",
            "/applications/(?P<app>[^/]+)/configurationprofiles/(?P<profile>[^/]+)",
            "UpdateConfigurationProfile",
        ),
        (
            "DELETE",
            "/applications/(?P<app>[^/]+)/configurationprofiles/(?P<profile>[^/]+)",
            "DeleteConfigurationProfile",
        ),
    )
)
_MOTO_SERVES = frozenset(
    {
        "GetHostedConfigurationVersion",
        "CreateHostedConfigurationVersion",
        "DeleteHostedConfigurationVersion",
        "UpdateConfigurationProfile",
        "DeleteConfigurationProfile",
    }
)


class Backend(Protocol):
    """What this endpoint needs of the running local cloud (a part of server.Backend)."""

    @property
    def authorizer(self) -> Authorizer: ...

    def now(self) -> Any: ...

    def trails_deliver(self) -> bool: ...

    def record_control_call(
        self, call: ControlCall, request: RequestInfo, status: int, body: bytes, *, recorded: bool
    ) -> None: ...


@dataclass
class _Binding:
    validators: Validators | None = None


_BOUND = _Binding()


def bind(validators: Validators) -> None:
    """The Lambda runtime that runs validators (the running local cloud's; one per process, as moto's state)."""
    _BOUND.validators = validators


def bound_validators() -> Validators | None:
    """The Lambda runtime :func:`bind` named (CloudFormation's deployments run validators with it too)."""
    return _BOUND.validators


def serve(
    backend: Backend,
    moto: WsgiApp,
    environ: dict[str, Any],
    start_response: StartResponse,
    request: RequestInfo,
    account_id: str,
    region: str,
) -> Iterable[bytes]:
    method, path = str(environ.get("REQUEST_METHOD", "GET")), str(environ.get("PATH_INFO", ""))
    operation, found = _route(method, path)
    params = dict(found or {})
    api = AppConfigApi(account_id, region, backend.now, _BOUND.validators)
    try:
        body: dict[str, Any] = {}
        if operation not in ("CreateHostedConfigurationVersion", None) and method in ("POST", "PATCH"):
            raw = read_body(environ)
            body = json.loads(raw) if raw.strip() else {}
        denied = _authorize(backend.authorizer, request, operation, params, body, environ, api, account_id, region)
        if denied is not None:
            raise AppConfigError("AccessDeniedException", denied.message(), 403)
        if operation == "CreateHostedConfigurationVersion":
            api.check_hosted_size(read_body(environ))
        if operation is None or operation in _MOTO_SERVES:
            return _through_moto(backend, moto, environ, start_response, request, operation, params)
        status, answer, headers = _answer(api, operation, params, body, environ)
    except AppConfigError as error:
        if operation in POLICY_CHANGES:
            payload = json.dumps({"__type": error.code, "message": error.message}).encode()
            _record(backend, request, str(operation), {**params, **_summary(body)}, error.status, payload)
        return json_error(start_response, request.request_id, error.code, error.message, error.status)
    except json.JSONDecodeError:
        return json_error(start_response, request.request_id, "BadRequestException", "Malformed JSON", 400)
    if operation in POLICY_CHANGES:
        _record(backend, request, operation, {**params, **_summary(body)}, status, json.dumps(answer).encode())
    if isinstance(answer, bytes):
        payload = answer
    else:
        payload = json.dumps(answer).encode()
        headers = [("Content-Type", "application/json"), *headers]
    start_response(f"{status} OK", [*headers, ("Content-Length", str(len(payload)))])
    return [payload]


def _route(method: str, path: str) -> tuple[str | None, dict[str, str] | None]:
    for route_method, pattern, operation in _ROUTES:
        if route_method == method:
            match = pattern.match(path)
            if match:
                return operation, match.groupdict()
    return None, None


def _answer(
    api: AppConfigApi, operation: str, params: dict[str, str], body: dict[str, Any], environ: dict[str, Any]
) -> tuple[int, Any, list[tuple[str, str]]]:
    app, env = params.get("app", ""), params.get("env", "")
    now = api.now()
    if operation == "StartConfigurationSession":
        return 201, {"InitialConfigurationToken": api.start_session(body)}, []
    if operation == "GetLatestConfiguration":
        token = parse_qs(str(environ.get("QUERY_STRING", ""))).get("configuration_token", [""])[0]
        content, content_type, next_token, interval = api.latest(token)
        headers = [
            ("Content-Type", content_type),
            ("Next-Poll-Configuration-Token", next_token),
            ("Next-Poll-Interval-In-Seconds", str(interval)),
        ]
        return 200, content, headers
    operations: dict[str, Callable[[], tuple[int, Any]]] = {
        "CreateEnvironment": lambda: (
            201,
            api.create_environment(app, str(body.get("Name", "")), str(body.get("Description", ""))).to_json(),
        ),
        "ListEnvironments": lambda: (200, {"Items": [e.to_json() for e in api.environments(app)]}),
        "GetEnvironment": lambda: (200, api.environment(app, env).to_json()),
        "DeleteEnvironment": lambda: _deleted(api, app, env),
        "CreateDeploymentStrategy": lambda: (201, api.create_strategy(body).to_json()),
        "GetDeploymentStrategy": lambda: (200, api.strategy(params["strategy"]).to_json()),
        "StartDeployment": lambda: (201, api.start_deployment(app, env, body).to_json(now)),
        "ListDeployments": lambda: (
            200,
            {"Items": [d.to_json(now) for d in reversed(api.deployments(app, env))]},
        ),
        "GetDeployment": lambda: (200, api.deployment(app, env, int(params["n"])).to_json(now)),
        "StopDeployment": lambda: (202, api.stop_deployment(app, env, int(params["n"])).to_json(now)),
    }
    status, answer = operations[operation]()
    return status, answer, []


def _deleted(api: AppConfigApi, app: str, env: str) -> tuple[int, Any]:
    api.delete_environment(app, env)
    return 204, {}


def _through_moto(
    backend: Backend,
    moto: WsgiApp,
    environ: dict[str, Any],
    start_response: StartResponse,
    request: RequestInfo,
    operation: str | None,
    params: dict[str, str],
) -> Iterable[bytes]:
    captured: dict[str, Any] = {}

    def keep(status: str, headers: Any, *rest: Any) -> Any:
        captured["status"], captured["headers"] = status, headers
        return start_response(status, headers, *rest)

    body = b"".join(moto(environ, keep))
    if operation in POLICY_CHANGES:
        try:
            status = int(str(captured.get("status", "500")).split(" ", 1)[0])
        except ValueError:
            status = 500
        elements = body
        if operation == "CreateHostedConfigurationVersion" and 200 <= status < 300:
            # The response's payload is the content itself; CloudTrail records the version's headers.
            headers = {str(k).lower(): str(v) for k, v in captured.get("headers") or []}
            elements = json.dumps(
                {
                    "ApplicationId": params.get("app"),
                    "ConfigurationProfileId": params.get("profile"),
                    "VersionNumber": int(headers.get("version-number", "0") or 0),
                    "ContentType": headers.get("content-type"),
                }
            ).encode()
        _record(backend, request, str(operation), params, status, elements)
    return [body]


def _record(
    backend: Backend, request: RequestInfo, operation: str, params: dict[str, Any], status: int, body: bytes
) -> None:
    names = {"app": "ApplicationId", "env": "EnvironmentId", "profile": "ConfigurationProfileId"}
    names.update({"version": "VersionNumber", "n": "DeploymentNumber"})
    request_params = {names.get(key, key): value for key, value in params.items()}
    call = ControlCall(service="appconfig", action=operation, event_name=operation, params=request_params)
    backend.record_control_call(call, request, status, body, recorded=backend.trails_deliver())


def _summary(body: dict[str, Any]) -> dict[str, Any]:
    """The request members CloudTrail keeps (never a configuration's content)."""
    keys = ("ConfigurationProfileId", "ConfigurationVersion", "DeploymentStrategyId", "Description", "Validators")
    return {key: body[key] for key in keys if key in body}


def _authorize(
    authorizer: Authorizer,
    request: RequestInfo,
    operation: str | None,
    params: dict[str, str],
    body: dict[str, Any],
    environ: dict[str, Any],
    api: AppConfigApi,
    account_id: str,
    region: str,
) -> Decision | None:
    if not authorizer.is_checked(request.access_key_id):
        return None
    base = f"arn:aws:appconfig:{region}:{account_id}:application"
    resource = "*"
    action = f"appconfig:{operation or 'Unknown'}"
    if operation == "StartConfigurationSession":
        app = api.application(str(body.get("ApplicationIdentifier", "")))
        env = api.environment(app.id, str(body.get("EnvironmentIdentifier", "")))
        profile = api.profile(app.id, str(body.get("ConfigurationProfileIdentifier", "")))
        resource = f"{base}/{app.id}/environment/{env.id}/configuration/{profile.id}"
    elif operation == "GetLatestConfiguration":
        token = parse_qs(str(environ.get("QUERY_STRING", ""))).get("configuration_token", [""])[0]
        session = api.extra.tokens.get(token)
        if session is not None:
            resource = (
                f"{base}/{session.application_id}/environment/{session.environment_id}"
                f"/configuration/{session.profile_id}"
            )
    elif "version" in params:
        resource = f"{base}/{params['app']}/configurationprofile/{params['profile']}/hostedconfigurationversion/"
        resource += params["version"]
    elif "profile" in params:
        resource = f"{base}/{params['app']}/configurationprofile/{params['profile']}"
    elif "app" in params:
        resource = f"{base}/{params['app']}"
    return authorizer.check(request.access_key_id, [(action, resource)], "appconfig")
