"""The one HTTP endpoint: the ``/_warden`` control API, IAM for the functions, faults, the session and STS
extensions, and moto behind them.

The server knows the running cloud only through :class:`Backend`; the cloud builds one and hands it over, so
the server never imports the facade.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from . import appconfig_http, control_plane, sts_ext
from .accounts import AccountRegion
from .cloudtrail import RequestInfo
from .control_plane import ControlCall
from .faults import ApiFault, Faults
from .iam import Authorizer, Decision, account_of_arn
from .identity import IdentityResolver
from .resources import required
from .session_model import SsmApiError
from .sessions import HANDLED_ACTIONS
from .wsgi import (
    StartResponse,
    WsgiApp,
    json_error,
    json_params,
    json_response,
    query_action,
    query_params,
    read_body,
    request_info,
    signing_service,
    xml_error,
)

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

logger = logging.getLogger("warden_local")


class Backend(Protocol):
    """What the HTTP endpoint needs of the running local cloud."""

    @property
    def faults(self) -> Faults: ...

    @property
    def authorizer(self) -> Authorizer: ...

    @property
    def identities(self) -> IdentityResolver: ...

    def now(self) -> datetime: ...

    def scope(self, request: RequestInfo) -> AccountRegion:
        """The account and region a request acts in: their sessions, CloudTrail recorder, trails and ARNs."""
        ...

    def assume_role_refusal(self, access_key_id: str | None, role_arn: str) -> str | None:
        """Why STS refuses this AssumeRole (the role's trust policy), or None to let moto answer it."""
        ...

    def control(self, method: str, route: str, body: dict[str, Any]) -> dict[str, Any]:
        """Answer ``/_warden/<route>``: ValueError or TypeError is a bad request, LookupError an unknown thing,
        TimeoutError a cloud that did not settle in time."""
        ...


class _AppConfigScope:
    """The running cloud as the AppConfig endpoint needs it, for the account and region a request acts in."""

    def __init__(self, backend: Backend, scope: AccountRegion) -> None:
        self._backend = backend
        self._scope = scope

    @property
    def authorizer(self) -> Authorizer:
        return self._backend.authorizer

    def now(self) -> datetime:
        return self._backend.now()

    def trails_deliver(self) -> bool:
        return self._scope.trails_deliver()

    def record_control_call(
        self, call: ControlCall, request: RequestInfo, status: int, body: bytes, *, recorded: bool
    ) -> None:
        self._scope.trail.control_call(call, request, status, body, recorded=recorded)


class WardenApp:
    """WSGI middleware in front of moto's dispatcher."""

    def __init__(self, backend: Backend, moto_app: WsgiApp) -> None:
        self._backend = backend
        self._moto = moto_app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_warden/"):
            return self._control(environ, start_response, path[len("/_warden/") :])
        backend = self._backend
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        action = target.rpartition(".")[2] if target else query_action(environ)
        service = signing_service(environ.get("HTTP_AUTHORIZATION"))
        request = request_info(environ)
        if service == "appconfig":  # AppConfig and AppConfig Data (REST; both sign as appconfig)
            scope = backend.scope(request)
            return appconfig_http.serve(
                _AppConfigScope(backend, scope),
                self._moto,
                environ,
                start_response,
                request,
                scope.arns.account,
                scope.arns.region,
            )
        denied = self._authorize(environ, service, action, target, request)
        if denied is not None:
            return self._deny(environ, start_response, denied, service, action, target, request)
        if backend.faults.armed():
            fault = backend.faults.take_api_fault(service, action)
            if fault is not None:
                return self._fault(environ, start_response, fault, service, action, target, request)
        if target.startswith("AmazonSSM.") and action in HANDLED_ACTIONS:
            return self._session_api(environ, start_response, str(action), request)
        if service == "sts" and action == "AssumeRole":
            refused = backend.assume_role_refusal(request.access_key_id, str(query_params(environ).get("RoleArn", "")))
            if refused is not None:
                return xml_error(start_response, request.request_id, "AccessDenied", refused, 403, ec2=False)
            if backend.authorizer.is_checked(request.access_key_id):
                return self._function_assumes_role(environ, start_response, request)
        if service == "sts" and action in sts_ext.HANDLED:
            caller = backend.identities.resolve(request.access_key_id)
            if sts_ext.handles(action, caller):
                return self._sts(environ, start_response, str(action), caller, request)
        if action == "AssumeRoleWithWebIdentity" and not target:  # unsigned: no signing service to go by
            return self._web_identity(environ, start_response)
        call = _control_call(environ, service, action, target)
        if call is not None:
            return self._recorded(environ, start_response, call, request)
        return self._moto(environ, start_response)

    # -- control-plane calls CloudTrail records ----------------------------------------------------------

    def _recorded(
        self, environ: dict[str, Any], start_response: StartResponse, call: ControlCall, request: RequestInfo
    ) -> Iterable[bytes]:
        scope = self._backend.scope(request)
        # The call that stops the last trail is still recorded by it: decide before the call takes effect.
        before = scope.trails_deliver() if call.action in control_plane.TRAIL_CHANGES else None
        status, body = self._moto_answer(environ, start_response)
        recorded = before if before is not None else scope.trails_deliver()
        scope.trail.control_call(call, request, status, body, recorded=recorded)
        return [body]

    def _moto_answer(self, environ: dict[str, Any], start_response: StartResponse) -> tuple[int, bytes]:
        """moto's answer to the request, passed on to the client, with its HTTP status for the caller to act on."""
        captured: dict[str, Any] = {}

        def keep(status: str, headers: Any, *rest: Any) -> Any:
            captured["status"] = status
            return start_response(status, headers, *rest)

        body = b"".join(self._moto(environ, keep))
        try:
            return int(str(captured.get("status", "500")).split(" ", 1)[0]), body
        except ValueError:
            return 500, body

    # -- IAM for the functions' roles ------------------------------------------------------------------

    def _authorize(
        self, environ: dict[str, Any], service: str | None, action: str | None, target: str, request: RequestInfo
    ) -> Decision | None:
        authorizer = self._backend.authorizer
        if not authorizer.is_checked(request.access_key_id):
            return None
        if not service or not action:
            return authorizer.check(request.access_key_id, None, service or "unknown")
        params = json_params(environ) if target else query_params(environ)
        arns = self._backend.scope(request).arns
        return authorizer.check(request.access_key_id, required(service, action, params, arns), service)

    def _deny(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        denied: Decision,
        service: str | None,
        action: str | None,
        target: str,
        request: RequestInfo,
    ) -> Iterable[bytes]:
        message = denied.message()
        if target.startswith("AmazonSSM.") and action:
            sessions = self._backend.scope(request).sessions
            sessions.record_failure(action, json_params(environ), request, "AccessDenied", message)
        if target:
            if service == "dynamodb":
                code = "com.amazonaws.dynamodb.v20120810#AccessDeniedException"
            elif service == "sqs":
                # SQS speaks JSON but keeps its query-protocol error code in a header.
                return json_error(
                    start_response, request.request_id, "AccessDenied", message, 403, query_error="AccessDenied;Sender"
                )
            else:
                code = "AccessDeniedException"
            return json_error(start_response, request.request_id, code, message, 400)
        if service == "ec2":
            text = f"You are not authorized to perform this operation. {message}"
            return xml_error(start_response, request.request_id, "UnauthorizedOperation", text, 403, ec2=True)
        code = "AuthorizationError" if service == "sns" else "AccessDenied"
        return xml_error(start_response, request.request_id, code, message, 403, ec2=False)

    # -- Session Manager and STS ------------------------------------------------------------------------

    def _session_api(
        self, environ: dict[str, Any], start_response: StartResponse, action: str, request: RequestInfo
    ) -> Iterable[bytes]:
        try:
            params = json.loads(read_body(environ) or b"{}")
            if not isinstance(params, dict):
                raise SsmApiError("SerializationException", "Start of structure or map found where not expected.")
            response = self._backend.scope(request).sessions.handle(action, params, request)
        except json.JSONDecodeError:
            return json_error(start_response, request.request_id, "SerializationException", "Malformed JSON", 400)
        except SsmApiError as error:
            status = 500 if error.server_fault else 400
            return json_error(start_response, request.request_id, error.code, error.message, status)
        return json_response(start_response, 200, response, request_id=request.request_id)

    def _sts(
        self, environ: dict[str, Any], start_response: StartResponse, action: str, caller: Any, request: RequestInfo
    ) -> Iterable[bytes]:
        backend = self._backend
        try:
            text = sts_ext.answer(
                action, query_params(environ), caller, backend.identities, request.request_id, backend.now()
            )
        except sts_ext.StsError as error:
            return xml_error(start_response, request.request_id, error.code, error.message, error.status, ec2=False)
        body = text.encode()
        start_response("200 OK", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
        return [body]

    def _web_identity(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        params = query_params(environ)
        status, body = self._moto_answer(environ, start_response)
        if status == 200:
            backend = self._backend
            account = account_of_arn(str(params.get("RoleArn", "")), backend.identities.account_of(""))
            sts_ext.note_web_identity(params, body, backend.identities, account)
        return [body]

    def _function_assumes_role(
        self, environ: dict[str, Any], start_response: StartResponse, request: RequestInfo
    ) -> Iterable[bytes]:
        """A function's role assumes another role (a member account's): the new keys' calls are checked against
        that role's policies, in its account, as the same function's."""
        params = query_params(environ)
        status, body = self._moto_answer(environ, start_response)
        key = sts_ext.issued_key(body) if status == 200 else None
        authorizer = self._backend.authorizer
        function = authorizer.function_of(request.access_key_id)
        if key is not None and function is not None:
            authorizer.register(key, str(params.get("RoleArn", "")), function, str(params.get("RoleSessionName", "")))
        return [body]

    def _fault(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        fault: ApiFault,
        service: str | None,
        action: str | None,
        target: str,
        request: RequestInfo,
    ) -> Iterable[bytes]:
        if target.startswith("AmazonSSM.") and action:
            # A throttled StartSession is still an API call CloudTrail records (with its errorCode).
            sessions = self._backend.scope(request).sessions
            sessions.record_failure(action, json_params(environ), request, fault.code, fault.message)
        if target or "json" in environ.get("CONTENT_TYPE", ""):
            return json_error(start_response, request.request_id, fault.code, fault.message, fault.status)
        return xml_error(
            start_response, request.request_id, fault.code, fault.message, fault.status, ec2=service == "ec2"
        )

    # -- /_warden control API ----------------------------------------------------------------------------

    def _control(self, environ: dict[str, Any], start_response: StartResponse, route: str) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            body: dict[str, Any] = {}
            if method == "POST":
                raw = read_body(environ)
                body = json.loads(raw) if raw.strip() else {}
                if not isinstance(body, dict):
                    return json_response(start_response, 400, {"error": "the request body must be a JSON object"})
            result = self._backend.control(method, route.strip("/"), body)
        except json.JSONDecodeError as error:
            return json_response(start_response, 400, {"error": f"the request body is not JSON: {error}"})
        except (ValueError, TypeError) as error:
            return json_response(start_response, 400, {"error": str(error)})
        except LookupError as error:
            message = error.args[0] if error.args else str(error)
            return json_response(start_response, 404, {"error": str(message)})
        except TimeoutError as error:
            return json_response(start_response, 504, {"error": str(error)})
        return json_response(start_response, 200, result)


_MOTO_APP: Any = None
_MOTO_APP_LOCK = threading.Lock()


def moto_application() -> WsgiApp:
    """moto's dispatcher, shared by every cloud of the process: it builds one Flask app per service on first use."""
    global _MOTO_APP
    with _MOTO_APP_LOCK:
        if _MOTO_APP is None:
            from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

            _MOTO_APP = DomainDispatcherApplication(create_backend_app)
        return _MOTO_APP  # type: ignore[no-any-return]


class ServerThread:
    """A threaded werkzeug server on 127.0.0.1, quiet (request logs are noise in tests and the CLI)."""

    def __init__(self, app: WsgiApp, port: int) -> None:
        from moto.moto_server.werkzeug_app import MotoRequestHandler
        from werkzeug.serving import make_server

        class QuietHandler(MotoRequestHandler):
            def log_request(self, code: Any = "-", size: Any = "-") -> None:
                pass

            def log(self, type: str, message: str, *args: Any) -> None:
                logger.debug("http %s: " + message, type, *args)

        self._server: BaseWSGIServer = make_server("127.0.0.1", port, app, threaded=True, request_handler=QuietHandler)
        # A short poll interval: shutdown() waits for it, and tests start and stop many clouds.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="warden-local-http", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(10)
        self._server.server_close()


def _control_call(environ: dict[str, Any], service: str | None, action: str | None, target: str) -> ControlCall | None:
    """The watched control-plane call this request makes, with its parameters; None for any other request."""
    if service == "lambda" and not target:
        found = control_plane.lambda_operation(
            str(environ.get("REQUEST_METHOD", "")), str(environ.get("PATH_INFO", ""))
        )
        if found is None:
            return None
        action, path_params = found
        params = {**json_params(environ), **path_params}
    else:
        params = json_params(environ) if target else query_params(environ)
    event_name = control_plane.watched(service, action)
    if event_name is None or service is None or action is None:
        return None
    return ControlCall(service=service, action=action, event_name=event_name, params=params)
