"""The Lambda stand-in: runs a function's real handler in-process with its template environment and async retries."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import datetime
from types import ModuleType
from typing import Any

from .clock import EmulatedClock
from .destinations import Destinations
from .dispatch import Dispatcher
from .identity import IdentityResolver
from .invocations import FunctionCode, FunctionError, Invocation, LambdaContext
from .sandbox import SANDBOX

logger = logging.getLogger("warden_local")

DEFAULT_MAX_RETRIES = 2
# Lambda retries a failed asynchronous invocation after about a minute, then about two.
AWS_RETRY_DELAYS = (60.0, 120.0)
# How long two deliveries of one event wait for each other to start together.
_TOGETHER_SECONDS = 10.0


class LambdaRuntime:
    """Asynchronous invocations of the stack's functions, one at a time on the dispatcher thread."""

    def __init__(
        self,
        *,
        account_id: str,
        region: str,
        endpoint: Callable[[], str],
        clock: EmulatedClock,
        identities: IdentityResolver,
        dispatcher: Dispatcher,
        instance_tag: str,
        retry_delays: tuple[float, ...] = (0.0, 0.0),
        on_role_session: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self._account_id = account_id
        self._region = region
        self._endpoint = endpoint
        self._clock = clock
        self._identities = identities
        self._dispatcher = dispatcher
        self._tag = instance_tag
        self._code: dict[str, FunctionCode] = {}
        self._code_at: dict[str, FunctionCode] = {}  # s3://bucket/key of a zip -> its code
        self._modules: dict[str, ModuleType] = {}
        self._credentials: dict[str, dict[str, str]] = {}
        self._records: list[Invocation] = []
        self._records_lock = threading.Lock()
        self._retry_delays = retry_delays
        self._on_role_session = on_role_session
        self._load_lock = threading.Lock()
        # Read once: while a handler runs, os.environ holds the handler's environment, not the machine's.
        self._no_proxy = os.environ.get("NO_PROXY", "")
        self._destinations = Destinations(account_id=account_id, region=region, clock=clock, invoke=self.invoke_async)

    # -- registry ---------------------------------------------------------------------------------------

    def register(self, function_name: str, code: FunctionCode) -> None:
        self._code[function_name] = code
        self._modules.pop(function_name, None)

    def register_artifact(self, location: str, code: FunctionCode) -> None:
        """The code of the zip at ``location`` (``s3://bucket/key``): a function created from it runs it, even before
        :meth:`register` names the function (while CloudFormation still creates the stack)."""
        self._code_at[location] = code

    def registered(self) -> dict[str, FunctionCode]:
        return dict(self._code)

    @property
    def invocations(self) -> list[Invocation]:
        with self._records_lock:
            return list(self._records)

    # -- invocation ---------------------------------------------------------------------------------------

    def invoke_async(
        self,
        function_name: str,
        payload: Any,
        *,
        attempt: int = 1,
        request_id: str | None = None,
        delay: float = 0.0,
        copies: int = 1,
    ) -> None:
        """Queue an asynchronous invocation (``InvocationType=Event``): the caller never waits for the handler.

        ``copies`` > 1 delivers the same event that many times at once (each with its own request id), the way
        Lambda's at-least-once delivery sometimes does: the handlers start together on separate workers.
        """
        together = threading.Barrier(copies) if copies > 1 and self._dispatcher.workers >= copies else None
        if copies > 1 and together is None:
            logger.warning("%d copies of one event need %d workers: delivered one after the other", copies, copies)
        for copy in range(copies):
            rid = request_id if request_id and copy == 0 else str(uuid.uuid4())
            self._dispatcher.submit(
                f"invoke {function_name} (attempt {attempt}{f', copy {copy + 1}' if copies > 1 else ''})",
                lambda rid=rid: self._run(function_name, payload, attempt, rid, together),  # type: ignore[misc]
                delay=delay,
            )

    def invoke_sync(self, function_name: str, payload: Any) -> Any:
        """A synchronous invocation (``RequestResponse``, as AppConfig runs a validator): the handler's result, or
        what it raised (a FunctionError when it cannot run); recorded with the other invocations."""
        function = self._function(function_name)
        started_at, started, buffer = self._clock.now(), time.perf_counter(), io.StringIO()
        wall_started: list[float] = []
        result: Any = None
        error: BaseException | None = None
        try:
            result = self._call_handler(function, payload, str(uuid.uuid4()), buffer, None, wall_started)
        except Exception as caught:
            error = caught
        self._record(
            function, str(uuid.uuid4()), 1, payload, (started_at, started, buffer), result, error, wall_started
        )
        if error is not None:
            raise error
        return result

    def _function(self, function_name: str) -> Any:
        from moto.awslambda.models import lambda_backends

        return lambda_backends[self._account_id][self._region].get_function(function_name)

    def _run(
        self, function_name: str, payload: Any, attempt: int, request_id: str, together: threading.Barrier | None
    ) -> None:
        function = self._function(function_name)
        started_at = self._clock.now()
        started = time.perf_counter()
        buffer = io.StringIO()
        wall_started: list[float] = []
        result: Any = None
        error: BaseException | None = None
        try:
            result = self._call_handler(function, payload, request_id, buffer, together, wall_started)
        except KeyboardInterrupt:
            raise
        except BaseException as caught:
            error = caught
            buffer.write(f"[ERROR] {type(caught).__name__}: {caught}\n{traceback.format_exc()}")
        record = self._record(
            function, request_id, attempt, payload, (started_at, started, buffer), result, error, wall_started
        )
        if error is None:
            self._destinations.success(function, self._invoke_config(function), payload, result, request_id, attempt)
            return
        max_retries = self._invoke_config(function).get("MaximumRetryAttempts", DEFAULT_MAX_RETRIES)
        if attempt <= max_retries:
            # Lambda retries an async event after about a minute, then two, while other events go first; here the
            # delays are wall seconds (``retry_delays``), scaled down so that tests need not wait minutes.
            delays = self._retry_delays or (0.0,)
            delay = delays[min(attempt - 1, len(delays) - 1)]
            self.invoke_async(function.function_name, payload, attempt=attempt + 1, request_id=request_id, delay=delay)
            return
        self._destinations.failure(function, self._invoke_config(function), payload, record, attempt)

    def _record(
        self,
        function: Any,
        request_id: str,
        attempt: int,
        payload: Any,
        began: tuple[datetime, float, io.StringIO],
        result: Any,
        error: BaseException | None,
        wall_started: list[float],
    ) -> Invocation:
        started_at, started, buffer = began
        record = Invocation(
            function_name=function.function_name,
            request_id=request_id,
            attempt=attempt,
            event_id=_event_id(payload),
            detail_type=payload.get("detail-type") if isinstance(payload, dict) else None,
            outcome="ok" if error is None else "error",
            error=None if error is None else str(error),
            error_type=None if error is None else _error_type(error),
            logs=tuple(line for line in buffer.getvalue().splitlines() if line.strip()),
            at=started_at,
            duration_ms=(time.perf_counter() - started) * 1000,
            result=result,
            event=payload,
            envelope_id=payload.get("id") if isinstance(payload, dict) else None,
            wall_started=wall_started[0] if wall_started else time.monotonic(),
            wall_ended=time.monotonic(),
        )
        with self._records_lock:
            self._records.append(record)
        return record

    def _call_handler(
        self,
        function: Any,
        payload: Any,
        request_id: str,
        buffer: io.StringIO,
        together: threading.Barrier | None,
        wall_started: list[float],
    ) -> Any:
        code = self._code.get(function.function_name) or self._code_at.get(_code_location(function))
        if code is None:
            raise FunctionError(
                "Runtime.ImportModuleError",
                f"the local cloud has no code for function {function.function_name} "
                "(only functions created from the template run locally)",
            )
        env = self._environment(function, code)
        context = LambdaContext(
            function_name=function.function_name,
            function_arn=function.function_arn,
            memory_limit_in_mb=int(function.memory_size),
            timeout_seconds=int(function.timeout),
            aws_request_id=request_id,
        )
        paths = tuple(str(path) for path in (code.code_dir, *code.layer_dirs))
        with SANDBOX.enter(env, paths, buffer):
            with self._load_lock:
                handler = self._load_handler(function.function_name, code)
            if together is not None:
                # Both copies are inside the handler's environment before either runs: they overlap for real.
                with contextlib.suppress(threading.BrokenBarrierError):
                    together.wait(_TOGETHER_SECONDS)
            wall_started.append(time.monotonic())
            result = handler(payload, context)
            try:
                json.dumps(result)
            except (TypeError, ValueError) as error:
                raise FunctionError("Runtime.MarshalError", f"Unable to marshal response: {error}") from None
            return result

    def _load_handler(self, function_name: str, code: FunctionCode) -> Callable[[Any, Any], Any]:
        module_path, _, attribute = code.handler.rpartition(".")
        if not module_path or not attribute:
            raise FunctionError("Runtime.MalformedHandlerName", f"Bad handler '{code.handler}'")
        module = self._modules.get(function_name)
        if module is None:
            source = code.code_dir / (module_path.replace(".", "/") + ".py")
            if not source.is_file():
                raise FunctionError(
                    "Runtime.ImportModuleError", f"Unable to import module '{module_path}': no file {source}"
                )
            # Every function's module is called handler.py: a name per cloud and function keeps them apart.
            name = f"_warden_local_{self._tag}_{_identifier(function_name)}"
            spec = importlib.util.spec_from_file_location(name, source)
            if spec is None or spec.loader is None:
                raise FunctionError("Runtime.ImportModuleError", f"Unable to import module '{module_path}'")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(name, None)
                raise
            self._modules[function_name] = module
        handler = getattr(module, attribute, None)
        if not callable(handler):
            raise FunctionError("Runtime.HandlerNotFound", f"Handler '{attribute}' missing on module '{module_path}'")
        return handler  # type: ignore[no-any-return]

    def forget_modules(self) -> None:
        for function_name in list(self._modules):
            self._modules.pop(function_name)
        for name in [name for name in sys.modules if name.startswith(f"_warden_local_{self._tag}_")]:
            sys.modules.pop(name, None)

    # -- environment -------------------------------------------------------------------------------------

    def _environment(self, function: Any, code: FunctionCode) -> dict[str, str]:
        endpoint = self._endpoint()
        env = {str(key): str(value) for key, value in (function.environment_vars or {}).items()}
        env.update(self._role_credentials(function))
        env.update(
            {
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_REGION": self._region,
                "AWS_DEFAULT_REGION": self._region,
                "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.function_name}",
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.run_time or 'python3.13'}",
                "LAMBDA_TASK_ROOT": str(code.code_dir),
                "_HANDLER": code.handler,
                # No shared config or instance metadata: a function sees only its role's credentials.
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "WARDEN_CLOCK_URL": f"{endpoint}/_warden/clock",
                # SPEC section 5: in the local cloud a pushed policy is in force for the next event.
                "WARDEN_POLICY_CACHE_SECONDS": "0",
            }
        )
        # The endpoint is on loopback: a proxy configured for the machine must not see the handler's calls.
        bypass = ",".join(filter(None, [self._no_proxy, "127.0.0.1", "localhost"]))
        env["NO_PROXY"] = env["no_proxy"] = bypass
        return env

    def _role_credentials(self, function: Any) -> dict[str, str]:
        # One set per function: two concurrent first invocations must not each assume the role (their
        # environments would differ, so they could not run at the same time).
        with self._load_lock:
            cached = self._credentials.get(function.function_name)
            if cached is None:
                cached = self._credentials[function.function_name] = self._assume_role(function)
            return cached

    def _assume_role(self, function: Any) -> dict[str, str]:
        from moto.sts.models import sts_backends

        # Lambda assumes the execution role with the function name as the session name, so the warden's own calls
        # appear in CloudTrail as assumed-role/<role>/<function>.
        assumed = sts_backends[self._account_id]["aws"].assume_role(
            region_name=self._region,
            role_session_name=function.function_name[:64],
            role_arn=function.role,
            policy="",
            duration=43200,
            external_id="",
        )
        self._identities.note_session_created(assumed.access_key_id, self._clock.now())
        if self._on_role_session is not None:
            self._on_role_session(assumed.access_key_id, str(function.role), function.function_name)
        return {
            "AWS_ACCESS_KEY_ID": assumed.access_key_id,
            "AWS_SECRET_ACCESS_KEY": assumed.secret_access_key,
            "AWS_SESSION_TOKEN": assumed.session_token,
        }

    # -- outcomes -------------------------------------------------------------------------------------

    def _invoke_config(self, function: Any) -> dict[str, Any]:
        configs = getattr(function, "event_invoke_config", None) or []
        return dict(configs[0].config) if configs else {}


def _code_location(function: Any) -> str:
    """Where the function's zip was taken from (``s3://bucket/key``), as Lambda keeps it."""
    code = getattr(function, "code", None) or {}
    return f"s3://{code.get('S3Bucket', '')}/{code.get('S3Key', '')}" if isinstance(code, dict) else ""


def _event_id(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return None
    detail = payload.get("detail")
    if isinstance(detail, dict) and isinstance(detail.get("eventID"), str):
        return str(detail["eventID"])
    envelope_id = payload.get("id")
    return envelope_id if isinstance(envelope_id, str) else None


def _error_type(error: BaseException) -> str:
    if isinstance(error, FunctionError):
        return error.error_type
    return type(error).__name__


def _identifier(text: str) -> str:
    return "".join(char if char.isalnum() else "_" for char in text)
