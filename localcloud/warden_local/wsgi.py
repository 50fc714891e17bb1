"""Reading a WSGI request (its parameters, body, action and signer) and writing AWS-shaped JSON and XML answers."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from .cloudtrail import RequestInfo
from .identity import access_key_from_authorization

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def request_info(environ: dict[str, Any]) -> RequestInfo:
    return RequestInfo(
        request_id=str(uuid.uuid4()),
        access_key_id=access_key_from_authorization(environ.get("HTTP_AUTHORIZATION")),
        source_ip=str(environ.get("REMOTE_ADDR") or "127.0.0.1"),
        user_agent=str(environ.get("HTTP_USER_AGENT") or ""),
        region=signing_region(environ.get("HTTP_AUTHORIZATION")),
    )


def _credential_scope(authorization: str | None) -> list[str]:
    # Credential=AKID/20261124/us-east-1/ssm/aws4_request
    if not authorization or "Credential=" not in authorization:
        return []
    return authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")


def signing_service(authorization: str | None) -> str | None:
    scope = _credential_scope(authorization)
    return str(scope[3]).lower() if len(scope) >= 5 else None


def signing_region(authorization: str | None) -> str | None:
    """The region of a SigV4 credential scope: the region the request acts in."""
    scope = _credential_scope(authorization)
    return str(scope[2]) if len(scope) >= 5 and scope[2] else None


def json_params(environ: dict[str, Any]) -> dict[str, Any]:
    try:
        params = json.loads(read_body(environ) or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return params if isinstance(params, dict) else {}


def query_params(environ: dict[str, Any]) -> dict[str, Any]:
    """A query-protocol request's parameters (query string and form body), the first value of each."""
    params = {key: values[0] for key, values in parse_qs(str(environ.get("QUERY_STRING", ""))).items()}
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qs(read_body(environ).decode("utf-8", "replace"))
        params.update({key: values[0] for key, values in form.items()})
    return params


def read_body(environ: dict[str, Any]) -> bytes:
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


def query_action(environ: dict[str, Any]) -> str | None:
    query = parse_qs(str(environ.get("QUERY_STRING", "")))
    if "Action" in query:
        return query["Action"][0]
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qs(read_body(environ).decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0]
    return None


def json_response(
    start_response: StartResponse, status: int, payload: Any, *, request_id: str | None = None
) -> Iterable[bytes]:
    body = json.dumps(payload).encode()
    headers = [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))]
    if request_id:
        headers.append(("x-amzn-RequestId", request_id))
    start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
    return [body]


def json_error(
    start_response: StartResponse,
    request_id: str,
    code: str,
    message: str,
    status: int,
    *,
    query_error: str | None = None,
) -> Iterable[bytes]:
    body = json.dumps({"__type": code, "message": message}).encode()
    headers = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", request_id),
        ("x-amzn-ErrorType", code),
    ]
    if query_error:
        headers.append(("x-amzn-query-error", query_error))
    start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
    return [body]


def xml_error(
    start_response: StartResponse, request_id: str, code: str, message: str, status: int, *, ec2: bool
) -> Iterable[bytes]:
    code, message = escape(code), escape(message)
    if ec2:
        text = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        )
    else:
        kind = "Receiver" if status >= 500 else "Sender"
        text = (
            f'<ErrorResponse xmlns="https://aws.amazon.com/"><Error><Type>{kind}</Type><Code>{code}</Code>'
            f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    body = text.encode()
    start_response(
        f"{status} {_REASONS.get(status, 'Error')}",
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
