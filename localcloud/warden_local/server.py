"""The one HTTP endpoint: the ``/_warden`` control API, faults, the session APIs, and moto behind them."""

from __future__ import annotations

import io
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from .cloudtrail import RequestInfo
from .faults import ApiFault
from .identity import access_key_from_authorization
from .sessions import HANDLED_ACTIONS, SsmApiError

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

    from .cloud import LocalCloud

logger = logging.getLogger("warden_local")

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class WardenApp:
    """WSGI middleware in front of moto's dispatcher."""

    def __init__(self, cloud: LocalCloud, moto_app: WsgiApp) -> None:
        self._cloud = cloud
        self._moto = moto_app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_warden/"):
            return self._control(environ, start_response, path[len("/_warden/") :])
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        action = target.rpartition(".")[2] if target else None
        service = _signing_service(environ.get("HTTP_AUTHORIZATION"))
        faults = self._cloud.faults
        if faults.armed():
            if action is None:
                action = _query_action(environ)
            fault = faults.take_api_fault(service, action)
            if fault is not None:
                return self._fault(environ, start_response, fault, service, action, target)
        if target.startswith("AmazonSSM.") and action in HANDLED_ACTIONS:
            return self._session_api(environ, start_response, str(action))
        return self._moto(environ, start_response)

    # -- Session Manager APIs ----------------------------------------------------------------------------

    def _session_api(self, environ: dict[str, Any], start_response: StartResponse, action: str) -> Iterable[bytes]:
        request = _request_info(environ)
        try:
            params = json.loads(_read_body(environ) or b"{}")
            if not isinstance(params, dict):
                raise SsmApiError("SerializationException", "Start of structure or map found where not expected.")
            response = self._cloud.sessions.handle(action, params, request)
        except json.JSONDecodeError:
            return _json_error(start_response, request.request_id, "SerializationException", "Malformed JSON", 400)
        except SsmApiError as error:
            return _json_error(start_response, request.request_id, error.code, error.message, error.status)
        return _json(start_response, 200, response, request_id=request.request_id)

    def _fault(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        fault: ApiFault,
        service: str | None,
        action: str | None,
        target: str,
    ) -> Iterable[bytes]:
        request = _request_info(environ)
        if target.startswith("AmazonSSM.") and action:
            # A throttled StartSession is still an API call CloudTrail records (with its errorCode).
            try:
                params = json.loads(_read_body(environ) or b"{}")
            except json.JSONDecodeError:
                params = {}
            self._cloud.sessions.record_failure(action, params, request, fault.code, fault.message)
        if target or "json" in environ.get("CONTENT_TYPE", ""):
            return _json_error(start_response, request.request_id, fault.code, fault.message, fault.status)
        return _xml_error(start_response, request.request_id, fault, ec2=service == "ec2")

    # -- /_warden control API ----------------------------------------------------------------------------

    def _control(self, environ: dict[str, Any], start_response: StartResponse, route: str) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            body: dict[str, Any] = {}
            if method == "POST":
                raw = _read_body(environ)
                body = json.loads(raw) if raw.strip() else {}
                if not isinstance(body, dict):
                    raise ControlError(400, "the request body must be a JSON object")
            result = self._route(method, route.strip("/"), body)
        except ControlError as error:
            return _json(start_response, error.status, {"error": str(error)})
        except json.JSONDecodeError as error:
            return _json(start_response, 400, {"error": f"the request body is not JSON: {error}"})
        return _json(start_response, 200, result)

    def _route(self, method: str, route: str, body: dict[str, Any]) -> dict[str, Any]:
        cloud = self._cloud
        if (method, route) == ("GET", "clock"):
            return cloud.clock_payload()
        if (method, route) == ("GET", "health"):
            return {"ok": True, "endpoint": cloud.endpoint, "region": cloud.region, "stack": cloud.stack_name}
        if (method, route) == ("POST", "advance"):
            return cloud.advance_from_text(body.get("duration"))
        if (method, route) == ("POST", "end-session"):
            return cloud.end_session_payload(body.get("session_id"))
        if (method, route) == ("POST", "settle"):
            return cloud.settle_payload(body.get("timeout", 30))
        if (method, route) == ("POST", "faults"):
            try:
                return cloud.faults.apply(body)
            except (TypeError, ValueError) as error:
                raise ControlError(400, str(error)) from None
        if (method, route) == ("GET", "invocations"):
            return {"invocations": cloud.invocations_payload()}
        raise ControlError(404, f"no such control endpoint: {method} /_warden/{route}")


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


def _request_info(environ: dict[str, Any]) -> RequestInfo:
    return RequestInfo(
        request_id=str(uuid.uuid4()),
        access_key_id=access_key_from_authorization(environ.get("HTTP_AUTHORIZATION")),
        source_ip=str(environ.get("REMOTE_ADDR") or "127.0.0.1"),
        user_agent=str(environ.get("HTTP_USER_AGENT") or ""),
    )


def _signing_service(authorization: str | None) -> str | None:
    # Credential=AKID/20261124/us-east-1/ssm/aws4_request
    if not authorization or "Credential=" not in authorization:
        return None
    scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")
    return str(scope[3]).lower() if len(scope) >= 5 else None


def _read_body(environ: dict[str, Any]) -> bytes:
    cached = environ.get("warden.body")
    if isinstance(cached, bytes):
        return cached
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    # Whoever comes next (moto) reads the body again.
    environ["wsgi.input"] = io.BytesIO(body)
    environ["warden.body"] = body
    return body


def _query_action(environ: dict[str, Any]) -> str | None:
    query = parse_qs(str(environ.get("QUERY_STRING", "")))
    if "Action" in query:
        return query["Action"][0]
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qs(_read_body(environ).decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0]
    return None


def _json(
    start_response: StartResponse, status: int, payload: Any, *, request_id: str | None = None
) -> Iterable[bytes]:
    body = json.dumps(payload).encode()
    headers = [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))]
    if request_id:
        headers.append(("x-amzn-RequestId", request_id))
    start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
    return [body]


def _json_error(
    start_response: StartResponse, request_id: str, code: str, message: str, status: int
) -> Iterable[bytes]:
    body = json.dumps({"__type": code, "message": message}).encode()
    start_response(
        f"{status} {_REASONS.get(status, 'Error')}",
        [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", code),
        ],
    )
    return [body]


def _xml_error(start_response: StartResponse, request_id: str, fault: ApiFault, *, ec2: bool) -> Iterable[bytes]:
    code, message = escape(fault.code), escape(fault.message)
    if ec2:
        text = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        )
    else:
        kind = "Receiver" if fault.status >= 500 else "Sender"
        text = (
            f'<ErrorResponse xmlns="https://aws.amazon.com/"><Error><Type>{kind}</Type><Code>{code}</Code>'
            f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    body = text.encode()
    start_response(
        f"{fault.status} {_REASONS.get(fault.status, 'Error')}",
        [("Content-Type", "text/xml"), ("Content-Length", str(len(body))), ("x-amzn-RequestId", request_id)],
    )
    return [body]


_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
