"""The process-wide state a handler runs in: os.environ, sys.path, stdout/stderr capture, boto3's default session.

Each Lambda function has its own processes; here all functions share one. os.environ, sys.path and sys.stdout are
process-wide, so only invocations that need the very same environment (the same function) run at the same time;
an invocation of another function waits until they are done. Output is captured per thread.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import logging
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

# Variables a Lambda execution environment would not inherit from the test process.
SCRUBBED_PREFIXES = ("AWS_", "POWERTOOLS_", "WARDEN_", "_X_AMZN_", "LAMBDA_", "_HANDLER")

# thread id -> what that thread's invocation printed or logged
_BUFFERS: dict[int, io.StringIO] = {}


class _ThreadRouted(io.TextIOBase):
    """A stream that sends an invoking thread's writes to its capture and every other thread's to ``fallback``.

    sys.stdout is process-wide: a plain redirect would also swallow what the test thread prints meanwhile. A
    logger built during an invocation (Powertools binds sys.stdout when it is created) keeps this stream, and it
    keeps routing by thread afterwards.
    """

    def __init__(self, fallback: Any) -> None:
        super().__init__()
        self.fallback = fallback

    def _target(self) -> Any:
        return _BUFFERS.get(threading.get_ident(), self.fallback)

    def write(self, text: str) -> int:
        target = self._target()
        if target is None:
            return len(text)
        return int(target.write(text))

    def flush(self) -> None:
        target = self._target()
        if target is not None:
            # The fallback may be a stream someone else has closed since (pytest's capture, say).
            with contextlib.suppress(ValueError, OSError):
                target.flush()

    def close(self) -> None:
        # The streams behind belong to others; closing (or being collected) must not close or flush them.
        pass

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.fallback, "encoding", None) or "utf-8")


def _unwrap(stream: Any) -> Any:
    return stream.fallback if isinstance(stream, _ThreadRouted) else stream


class _Episode:
    """One stretch of time during which one environment is in force; undone when its last invocation ends."""

    def __init__(self, env: dict[str, str], paths: tuple[str, ...]) -> None:
        self.env = env
        self.paths = paths
        self._saved_env: dict[str, str] = {}
        self._added_paths: list[str] = []
        self._saved_streams: tuple[Any, Any] = (None, None)
        self._swapped: list[tuple[logging.StreamHandler[Any], Any]] = []
        self._saved_boto3: Any = None

    def enter(self) -> None:
        self._saved_env = {
            key: value for key, value in os.environ.items() if key.startswith(SCRUBBED_PREFIXES) or key in self.env
        }
        # Keys that stay are overwritten, never deleted first: another thread (the test's) may be reading
        # os.environ meanwhile, and a key missing between its listing and its lookup is a KeyError there.
        os.environ.update(self.env)
        for key in [key for key in os.environ if key.startswith(SCRUBBED_PREFIXES) and key not in self.env]:
            os.environ.pop(key, None)
        # Lambda puts the function's directory first and the layers' python/ folders after it.
        self._added_paths = [path for path in self.paths if path not in sys.path]
        for position, path in enumerate(self._added_paths):
            sys.path.insert(position, path)
        saved_out, saved_err = sys.stdout, sys.stderr
        self._saved_streams = (saved_out, saved_err)
        originals = {id(stream) for stream in (saved_out, saved_err, sys.__stdout__, sys.__stderr__) if stream}
        loggers: list[Any] = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
        for candidate in loggers:
            for handler in getattr(candidate, "handlers", ()):
                if not isinstance(handler, logging.StreamHandler) or isinstance(handler, logging.FileHandler):
                    continue
                if id(handler.stream) in originals:
                    self._swapped.append((handler, handler.setStream(_ThreadRouted(handler.stream))))
        sys.stdout = _ThreadRouted(_unwrap(saved_out))
        sys.stderr = _ThreadRouted(_unwrap(saved_err))
        # boto3's default session caches the first credentials it resolves; a handler must resolve its own role's.
        import boto3

        self._saved_boto3 = boto3.DEFAULT_SESSION
        boto3.DEFAULT_SESSION = None

    def exit(self) -> None:
        import boto3

        boto3.DEFAULT_SESSION = self._saved_boto3
        sys.stdout, sys.stderr = self._saved_streams
        for handler, previous in self._swapped:
            handler.setStream(previous)
        for path in self._added_paths:
            with contextlib.suppress(ValueError):
                sys.path.remove(path)
        os.environ.update(self._saved_env)
        for key in list(os.environ):
            if (key.startswith(SCRUBBED_PREFIXES) or key in self.env) and key not in self._saved_env:
                os.environ.pop(key, None)


def _atomic_metric_flush() -> None:
    """Make Powertools' metric flush atomic across threads.

    Lambda runs concurrent invocations in separate processes, each with its own Metrics singleton; here they share
    one, and a flush that found metrics could find them cleared by another invocation's flush an instant later
    (Powertools then raises "Must contain at least one metric"). Idempotent.
    """
    try:
        from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider
    except ImportError:
        return
    if getattr(AmazonCloudWatchEMFProvider.flush_metrics, "_warden_local_atomic", False):
        return
    original = AmazonCloudWatchEMFProvider.flush_metrics
    lock = threading.Lock()

    def flush_metrics(self: Any, raise_on_empty_metrics: bool = False) -> None:
        with lock:
            original(self, raise_on_empty_metrics)

    flush_metrics._warden_local_atomic = True  # type: ignore[attr-defined]
    AmazonCloudWatchEMFProvider.flush_metrics = flush_metrics  # type: ignore[method-assign]


class ProcessSandbox:
    """Lends the process to invocations: any number at once for the same environment, one environment at a time."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._episode: _Episode | None = None
        self._holders = 0
        self._last_env: dict[str, str] | None = None
        _atomic_metric_flush()

    @contextlib.contextmanager
    def enter(self, env: dict[str, str], paths: tuple[str, ...], buffer: io.StringIO) -> Iterator[None]:
        """Run the body with ``env`` and ``paths`` in force and this thread's output going to ``buffer``."""
        me = threading.get_ident()
        with self._condition:
            while self._episode is not None and (self._episode.env, self._episode.paths) != (env, paths):
                self._condition.wait()
            if self._episode is None:
                episode = _Episode(env, paths)
                episode.enter()
                self._episode = episode
                if env != self._last_env:
                    # The layer's cached composition root (clients, settings, providers) belongs to another function.
                    _reset_layer_caches()
                    self._last_env = dict(env)
            self._holders += 1
        _BUFFERS[me] = buffer
        try:
            yield
        finally:
            _BUFFERS.pop(me, None)
            with self._condition:
                self._holders -= 1
                if self._holders == 0 and self._episode is not None:
                    self._episode.exit()
                    self._episode = None
                    self._condition.notify_all()


SANDBOX = ProcessSandbox()


def _reset_layer_caches() -> None:
    if importlib.util.find_spec("warden") is not None:
        try:
            wiring = importlib.import_module("warden.wiring")
        except ImportError:
            wiring = None
        reset = getattr(wiring, "reset", None)
        if callable(reset):
            reset()
    try:
        from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
    except ImportError:
        return
    DEFAULT_PROVIDERS.clear()
