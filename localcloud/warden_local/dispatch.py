"""One background thread that delivers events and runs handlers in order, so API calls return first."""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger("warden_local")


class SettleTimeout(TimeoutError):
    """The local cloud did not go quiet in time (a handler keeps producing work, or hangs)."""


@dataclass
class Task:
    description: str
    run: Callable[[], None]


class Dispatcher:
    """A FIFO of delivery tasks worked by a single thread.

    A task may enqueue more tasks (a handler's API call emits an event, a failed invocation is retried); the
    count of pending work only drops after a task has finished, so :meth:`settle` waits for the whole cascade.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._queue: collections.deque[Task] = collections.deque()
        self._pending = 0
        self._current: str | None = None
        self._condition = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name=f"{self._name}-dispatcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def in_dispatcher(self) -> bool:
        return threading.current_thread() is self._thread

    def submit(self, description: str, run: Callable[[], None]) -> None:
        with self._condition:
            if self._stopping:
                logger.debug("dropping %s: the local cloud is stopping", description)
                return
            self._queue.append(Task(description, run))
            self._pending += 1
            self._condition.notify_all()

    def settle(self, timeout: float = 30.0) -> None:
        """Block until no task is queued or running; raise :class:`SettleTimeout` after ``timeout`` seconds."""
        if self.in_dispatcher():
            raise RuntimeError("settle() was called from a handler: it would wait for itself")
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._pending:
                if self._failure is not None:
                    raise RuntimeError(f"the local cloud's dispatcher died: {self._failure!r}") from self._failure
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SettleTimeout(
                        f"the local cloud did not settle within {timeout:g}s: {self._pending} task(s) pending, "
                        f"running: {self._current or 'nothing'}; queued next: "
                        f"{', '.join(task.description for task in list(self._queue)[:3]) or 'nothing'}"
                    )
                self._condition.wait(remaining)

    def _work(self) -> None:
        while True:
            with self._condition:
                while not self._queue and not self._stopping:
                    self._condition.wait()
                if self._stopping:
                    return
                task = self._queue.popleft()
                self._current = task.description
            try:
                task.run()
            except Exception:
                # A delivery bug must not stop every later delivery; it is logged with its task.
                logger.exception("local cloud task failed: %s", task.description)
            except BaseException as error:  # pragma: no cover - SystemExit from a handler, say
                with self._condition:
                    self._failure = error
                    self._condition.notify_all()
                raise
            finally:
                with self._condition:
                    self._pending -= 1
                    self._current = None
                    self._condition.notify_all()
